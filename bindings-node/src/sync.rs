//! CRDT sync: `edge.sync()`, a view over the device's replica.
//!
//! Glue only: messages are `Buffer`s, reports are plain objects, device cards are the core's
//! JSON card as an object. Calls that wait on the network or on another replica's work have a
//! Promise twin (`…Async`) that runs on libuv's pool; `handleHttp` / `handleHttpAsync` make any
//! Node HTTP server (node:http, express, fastify) the HQ hub.

use std::collections::HashMap;
use std::sync::Mutex;

use aisle::sync::{ApplyReport as CoreApply, Device, PushReport as CorePush, Replication, Role, RoundReport as CoreRound, SyncLink, Value};
use aisle::transport::{HttpSyncConfig, HttpSyncLink, LanLink, PeerStatus as CoreStatus, SyncerConfig};
use napi::bindgen_prelude::{AsyncTask, Buffer, Either4, Null, Unknown};
use napi_derive::napi;

use crate::error::{Code, invalid_argument, to_napi_err};
use crate::json::{Document, to_json};
use crate::number::integer_arg;
use crate::store::Edge;
use crate::task::Job;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn millis(value: Option<f64>, default: u64, name: &str) -> napi::Result<u64, Code> {
    match value {
        None => Ok(default),
        Some(v) => {
            let ms = integer_arg(name, v)?;
            u64::try_from(ms).ok().filter(|ms| *ms > 0).ok_or_else(|| invalid_argument(format!("{name} must be > 0 ms, got {v}")))
        }
    }
}

/// What `apply` did with one chunk.
#[napi(object)]
pub struct ApplyReport {
    /// The sending device, `store/device`.
    pub from: String,
    /// Slots in the chunk.
    pub received: u32,
    /// Slots that changed this replica.
    pub changed: u32,
    /// The chunk completed its batch (and raised this replica's version vector).
    pub batch_complete: bool,
}

impl From<&CoreApply> for ApplyReport {
    fn from(r: &CoreApply) -> Self {
        ApplyReport { from: r.from.clone(), received: count(r.received), changed: count(r.changed), batch_complete: r.batch_complete }
    }
}

/// What a peer did with the chunks pushed to it.
#[napi(object)]
pub struct PushReport {
    pub chunks: u32,
    pub applied: u32,
    /// Chunks it had before: harmless.
    pub duplicates: u32,
    /// Slots that changed it.
    pub changed: u32,
}

impl From<&CorePush> for PushReport {
    fn from(r: &CorePush) -> Self {
        PushReport { chunks: count(r.chunks), applied: count(r.applied), duplicates: count(r.duplicates), changed: count(r.changed) }
    }
}

/// What one `syncWithHub` / `syncWithPeer` round did.
#[napi(object)]
pub struct RoundReport {
    pub peer: String,
    /// Chunks received and applied.
    pub pulled: u32,
    /// Slots they changed here.
    pub pulled_changed: u32,
    /// Chunks already had (relayed copies, retried rounds).
    pub duplicates: u32,
    pub pushed: PushReport,
}

impl From<&CoreRound> for RoundReport {
    fn from(r: &CoreRound) -> Self {
        RoundReport {
            peer: r.peer.clone(),
            pulled: count(r.pulled),
            pulled_changed: count(r.pulled_changed),
            duplicates: count(r.duplicates),
            pushed: PushReport::from(&r.pushed),
        }
    }
}

/// A failure of a sync round: the error's stable code and message.
#[napi(object)]
pub struct SyncFailure {
    pub code: String,
    pub message: String,
}

/// What the syncer knows of one hub or peer.
#[napi(object)]
pub struct PeerStatus {
    pub peer: String,
    pub rounds: u32,
    /// Failures since the last completed round.
    pub failures: u32,
    pub last_round: Option<RoundReport>,
    pub last_error: Option<SyncFailure>,
}

impl From<&CoreStatus> for PeerStatus {
    fn from(s: &CoreStatus) -> Self {
        PeerStatus {
            peer: s.peer.clone(),
            rounds: u32::try_from(s.rounds).unwrap_or(u32::MAX),
            failures: s.failures,
            last_round: s.last_round.as_ref().map(RoundReport::from),
            last_error: s.last_error.as_ref().map(|(code, message)| SyncFailure { code: code.clone(), message: message.clone() }),
        }
    }
}

/// An HTTP answer for `handleHttp`.
#[napi(object)]
pub struct HttpReply {
    pub status: u32,
    pub content_type: String,
    /// A `Buffer` (typed as its base class `Uint8Array`, so the typings need no `@types/node`).
    #[napi(ts_type = "Uint8Array")]
    pub body: Buffer,
}

/// A hub to sync with over HTTP(S).
#[napi(object)]
pub struct HubOptions {
    /// Extra headers (e.g. `Authorization` for a gateway in front of the hub).
    pub headers: Option<HashMap<String, String>>,
    /// PEM certificates of a private CA: the hub is then trusted by this CA alone.
    pub ca_pem: Option<String>,
    /// Budget of one request in ms (default 30 000).
    pub timeout_ms: Option<f64>,
}

/// A background syncer's peers and pace.
#[napi(object)]
pub struct SyncerOptions {
    /// Hub base URLs.
    pub hubs: Option<Vec<String>>,
    /// LAN peers, `host:port`.
    pub peers: Option<Vec<String>>,
    /// Time between rounds with a peer that answers, ms (default 5 000).
    pub interval_ms: Option<f64>,
    /// Longest wait after failures, ms (default 300 000).
    pub backoff_max_ms: Option<f64>,
    /// Budget of one request, ms (default 30 000).
    pub timeout_ms: Option<f64>,
}

/// Sizes of the replicated data and of sync's metadata.
#[napi(object)]
pub struct SyncStats {
    pub slots: i64,
    pub data_bytes: i64,
    pub metadata_bytes: i64,
}

/// What `compact` did.
#[napi(object)]
pub struct CompactReport {
    pub removed_slots: u32,
    /// Deleted records whose delete is not yet seen everywhere.
    pub waiting: u32,
}

/// A shared cart's line.
#[napi(object)]
pub struct SharedCartLine {
    pub sku: String,
    pub quantity: i64,
}

fn hub_config(url: String, options: Option<HubOptions>) -> napi::Result<HttpSyncConfig, Code> {
    let o = options.unwrap_or(HubOptions { headers: None, ca_pem: None, timeout_ms: None });
    Ok(HttpSyncConfig {
        url,
        headers: o.headers.unwrap_or_default().into_iter().collect(),
        ca_pem: o.ca_pem,
        timeout_ms: millis(o.timeout_ms, 30_000, "timeoutMs")?,
    })
}

fn round_with_hub(inner: &Replication, config: &HttpSyncConfig) -> napi::Result<RoundReport, Code> {
    let mut link = HttpSyncLink::new(config).map_err(to_napi_err)?;
    inner.sync_with(&mut link).map(|r| RoundReport::from(&r)).map_err(to_napi_err)
}

type FieldValue = Either4<Null, f64, String, Buffer>;

fn value(name: &str, v: FieldValue) -> napi::Result<Value, Code> {
    Ok(match v {
        Either4::A(_) => Value::Null,
        Either4::B(n) => Value::Int(integer_arg(name, n)?),
        Either4::C(s) => Value::Text(s),
        Either4::D(b) => Value::Bytes(b.to_vec()),
    })
}

fn to_js_value(v: &Value) -> FieldValue {
    match v {
        Value::Null => Either4::A(Null),
        // Customer integers are what JS wrote (safe integers), so they read back exactly.
        Value::Int(i) => Either4::B(*i as f64),
        Value::Text(s) => Either4::C(s.clone()),
        Value::Bytes(b) => Either4::D(Buffer::from(b.clone())),
    }
}

#[napi]
impl Edge {
    /// CRDT sync of this store: identity and enrolment, the byte protocol, hub and LAN
    /// transports, stock levels, shared carts and customers.
    #[napi]
    pub fn sync(&self) -> Sync {
        Sync { inner: self.inner.sync() }
    }
}

/// The replica of one store. Registers, handhelds and HQ converge by exchanging its signed
/// messages: `request()` → the peer's `changesSince(request)` → `apply(chunk)` for each chunk.
/// Messages are `Buffer`s (typed as their base class `Uint8Array`).
#[napi]
pub struct Sync {
    inner: Replication,
}

#[napi]
impl Sync {
    /// This device's card (`public_key` hex, `store_id`, `device_id`, `role`, `delegated`):
    /// what other replicas `enroll`.
    #[napi(ts_return_type = "DeviceCard")]
    pub fn identity(&self) -> napi::Result<Document, Code> {
        let d = self.inner.identity().map_err(to_napi_err)?;
        Document::from_text(d.to_json(), "the device card")
    }

    /// Makes this replica the HQ replica (`"hq"`) or a store device (`"store"`).
    #[napi(ts_args_type = "role: 'store' | 'hq'")]
    pub fn set_role(&self, role: String) -> napi::Result<(), Code> {
        let role = Role::parse(&role).ok_or_else(|| invalid_argument(format!("role must be \"store\" or \"hq\", got {role:?}")))?;
        self.inner.set_role(role).map_err(to_napi_err)
    }

    /// Accepts messages from (and answers) the device of this card (an object or its JSON text).
    #[napi(ts_args_type = "card: DeviceCard | string")]
    pub fn enroll(&self, card: Unknown) -> napi::Result<(), Code> {
        let text = match card.get_type().map_err(crate::error::from_napi)? {
            napi::ValueType::String => to_json(card, "card").and_then(|quoted| {
                serde_json::from_str::<String>(&quoted).map_err(|e| invalid_argument(format!("card: {e}")))
            })?,
            _ => to_json(card, "card")?,
        };
        let device = Device::from_json(&text).map_err(to_napi_err)?;
        self.inner.enroll(&device).map_err(to_napi_err)
    }

    /// Enrolled devices, this one included.
    #[napi(ts_return_type = "DeviceCard[]")]
    pub fn devices(&self) -> napi::Result<Document, Code> {
        let cards: Vec<serde_json::Value> = self
            .inner
            .devices()
            .map_err(to_napi_err)?
            .iter()
            .map(|d| serde_json::from_str(&d.to_json()).unwrap_or_default())
            .collect();
        Document::of(&cards, "the devices")
    }

    /// A signed request for what this replica lacks.
    #[napi(ts_return_type = "Uint8Array")]
    pub fn request(&self) -> napi::Result<Buffer, Code> {
        self.inner.request().map(Buffer::from).map_err(to_napi_err)
    }

    /// Answers a peer's request with signed chunks (apply them in any order).
    #[napi(ts_args_type = "request: Uint8Array", ts_return_type = "Uint8Array[]")]
    pub fn changes_since(&self, request: Buffer) -> napi::Result<Vec<Buffer>, Code> {
        let chunks = self.inner.changes_since(&request).map_err(to_napi_err)?;
        Ok(chunks.into_iter().map(Buffer::from).collect())
    }

    /// Applies one chunk from a peer; a refused one throws its `SYNC_*` error and changes nothing.
    #[napi(ts_args_type = "message: Uint8Array")]
    pub fn apply(&self, message: Buffer) -> napi::Result<ApplyReport, Code> {
        self.inner.apply(&message).map(|r| ApplyReport::from(&r)).map_err(to_napi_err)
    }

    /// Serving half of a round, first trip: our request, then the chunks the peer lacks.
    #[napi(ts_args_type = "request: Uint8Array", ts_return_type = "Uint8Array")]
    pub fn serve_exchange(&self, request: Buffer) -> napi::Result<Buffer, Code> {
        self.inner.serve_exchange(&request).map(Buffer::from).map_err(to_napi_err)
    }

    /// Serving half, second trip: applies the pushed chunks.
    #[napi(ts_args_type = "body: Uint8Array")]
    pub fn serve_push(&self, body: Buffer) -> napi::Result<PushReport, Code> {
        self.inner.serve_push(&body).map(|r| PushReport::from(&r)).map_err(to_napi_err)
    }

    /// Serves one HTTP request of the sync protocol (`POST /v1/sync/exchange`,
    /// `POST /v1/sync/push`). This is the whole hub: call it from any HTTP server. Refusals
    /// are 4xx answers with a JSON `{code, message}` body; it never throws.
    #[napi(ts_args_type = "method: string, path: string, body: Uint8Array")]
    pub fn handle_http(&self, method: String, path: String, body: Buffer) -> HttpReply {
        let r = self.inner.handle_http(&method, &path, &body);
        HttpReply { status: u32::from(r.status), content_type: r.content_type.to_owned(), body: Buffer::from(r.body) }
    }

    /// `handleHttp` on the thread pool, so the event loop keeps serving other stores.
    #[napi(ts_args_type = "method: string, path: string, body: Uint8Array", ts_return_type = "Promise<HttpReply>")]
    pub fn handle_http_async(&self, method: String, path: String, body: Buffer) -> AsyncTask<Job<HttpReply>> {
        let (inner, body) = (self.inner.clone(), body.to_vec());
        Job::spawn(move || {
            let r = inner.handle_http(&method, &path, &body);
            Ok(HttpReply { status: u32::from(r.status), content_type: r.content_type.to_owned(), body: Buffer::from(r.body) })
        })
    }

    /// One round with a hub over HTTP(S): pulls what this replica lacks, pushes what the hub
    /// lacks. Blocks the event loop: prefer `syncWithHubAsync` in a server.
    /// `SYNC_UNREACHABLE` if it cannot be reached, `SYNC_PEER_REFUSED` if it refused.
    #[napi]
    pub fn sync_with_hub(&self, url: String, options: Option<HubOptions>) -> napi::Result<RoundReport, Code> {
        round_with_hub(&self.inner, &hub_config(url, options)?)
    }

    /// `syncWithHub` as a Promise.
    #[napi(ts_return_type = "Promise<RoundReport>")]
    pub fn sync_with_hub_async(&self, url: String, options: Option<HubOptions>) -> AsyncTask<Job<RoundReport>> {
        let inner = self.inner.clone();
        Job::spawn_with(hub_config(url, options), move |config| round_with_hub(&inner, &config))
    }

    /// One round with another device of this store over the LAN (`host:port` of its `listenLan`).
    #[napi]
    pub fn sync_with_peer(&self, addr: String, timeout_ms: Option<f64>) -> napi::Result<RoundReport, Code> {
        let ms = millis(timeout_ms, 10_000, "timeoutMs")?;
        self.inner.sync_with(&mut LanLink::new(addr, ms)).map(|r| RoundReport::from(&r)).map_err(to_napi_err)
    }

    /// `syncWithPeer` as a Promise.
    #[napi(ts_return_type = "Promise<RoundReport>")]
    pub fn sync_with_peer_async(&self, addr: String, timeout_ms: Option<f64>) -> AsyncTask<Job<RoundReport>> {
        let inner = self.inner.clone();
        Job::spawn_with(millis(timeout_ms, 10_000, "timeoutMs"), move |ms| {
            inner.sync_with(&mut LanLink::new(addr, ms)).map(|r| RoundReport::from(&r)).map_err(to_napi_err)
        })
    }

    /// Serves this replica to the store's other devices on `addr` (`"0.0.0.0:7878"`;
    /// `"127.0.0.1:0"` picks a free port: see `LanServer.addr`).
    #[napi]
    pub fn listen_lan(&self, addr: String) -> napi::Result<LanServer, Code> {
        let server = aisle::transport::LanServer::start(self.inner.clone(), &addr).map_err(to_napi_err)?;
        Ok(LanServer { inner: Mutex::new(Some(server)) })
    }

    /// Starts a background thread that runs a round with each hub and LAN peer every
    /// `intervalMs`, backing off after failures. Stop it with `stop()`.
    #[napi]
    pub fn start_syncer(&self, options: SyncerOptions) -> napi::Result<Syncer, Code> {
        let timeout_ms = millis(options.timeout_ms, 30_000, "timeoutMs")?;
        let mut links: Vec<Box<dyn SyncLink + Send>> = Vec::new();
        for url in options.hubs.unwrap_or_default() {
            links.push(Box::new(HttpSyncLink::new(&HttpSyncConfig { timeout_ms, ..HttpSyncConfig::new(url) }).map_err(to_napi_err)?));
        }
        for addr in options.peers.unwrap_or_default() {
            links.push(Box::new(LanLink::new(addr, timeout_ms)));
        }
        let config = SyncerConfig {
            interval_ms: millis(options.interval_ms, 5_000, "intervalMs")?,
            backoff_max_ms: millis(options.backoff_max_ms, 300_000, "backoffMaxMs")?,
        };
        let syncer = aisle::transport::Syncer::start(self.inner.clone(), links, config).map_err(to_napi_err)?;
        Ok(Syncer { inner: Mutex::new(Some(syncer)) })
    }

    /// SHA-256 (hex) of the replicated data as applications see it, for all scopes or one
    /// (`"global"`, `"store:<id>"`): equal digests, equal data.
    #[napi]
    pub fn digest(&self, scope: Option<String>) -> napi::Result<String, Code> {
        match scope {
            Some(s) => self.inner.digest_in(&s),
            None => self.inner.digest(),
        }
        .map(|d| hex(&d))
        .map_err(to_napi_err)
    }

    /// What this replica has: scope → site (16 hex digits) → newest hybrid-clock stamp (a
    /// decimal string: the stamps are 64-bit).
    #[napi(ts_return_type = "Record<string, Record<string, string>>")]
    pub fn vector(&self) -> napi::Result<Document, Code> {
        let v = self.inner.vector().map_err(to_napi_err)?;
        let m: std::collections::BTreeMap<&str, std::collections::BTreeMap<String, String>> = v
            .0
            .iter()
            .map(|(scope, sites)| (scope.as_str(), sites.iter().map(|(s, h)| (format!("{s:016x}"), h.0.to_string())).collect()))
            .collect();
        Document::of(&m, "the version vector")
    }

    /// Garbage-collects deleted records every replica has seen.
    #[napi]
    pub fn compact(&self) -> napi::Result<CompactReport, Code> {
        let r = self.inner.compact().map_err(to_napi_err)?;
        Ok(CompactReport { removed_slots: count(r.removed_slots), waiting: count(r.waiting) })
    }

    /// Sizes of the replicated data and of sync's metadata.
    #[napi]
    pub fn stats(&self) -> napi::Result<SyncStats, Code> {
        let s = self.inner.stats().map_err(to_napi_err)?;
        let i = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Ok(SyncStats { slots: i(s.slots), data_bytes: i(s.data_bytes), metadata_bytes: i(s.metadata_bytes) })
    }

    /// Receives (positive) or takes (negative) units; returns the level this replica now sees.
    #[napi]
    pub fn stock_add(&self, sku: String, location: String, delta: f64) -> napi::Result<i64, Code> {
        let delta = integer_arg("delta", delta)?;
        self.inner.stock_add(&sku, &location, delta).map_err(to_napi_err)
    }

    /// A stocktake: "there are `count`" (moves this replica has not seen yet still count after it).
    #[napi]
    pub fn stocktake(&self, sku: String, location: String, count: f64) -> napi::Result<(), Code> {
        let count = integer_arg("count", count)?;
        self.inner.stocktake(&sku, &location, count).map_err(to_napi_err)
    }

    /// The stock level of `sku` at `location`, in this store or in `scope` (HQ reads any store).
    #[napi]
    pub fn stock_level(&self, sku: String, location: String, scope: Option<String>) -> napi::Result<i64, Code> {
        match scope {
            Some(s) => self.inner.stock_level_in(&s, &sku, &location),
            None => self.inner.stock_level(&sku, &location),
        }
        .map_err(to_napi_err)
    }

    /// Adds `quantity` of `sku` to a shared cart (concurrent adds on other devices add up).
    #[napi]
    pub fn cart_add(&self, cart: String, sku: String, quantity: f64) -> napi::Result<(), Code> {
        let q = integer_arg("quantity", quantity)?;
        self.inner.cart_add(&cart, &sku, q).map_err(to_napi_err)
    }

    /// Sets a shared cart line's quantity.
    #[napi]
    pub fn cart_set(&self, cart: String, sku: String, quantity: f64) -> napi::Result<(), Code> {
        let q = integer_arg("quantity", quantity)?;
        self.inner.cart_set(&cart, &sku, q).map_err(to_napi_err)
    }

    /// Removes a line (an add on another device at the same time wins).
    #[napi]
    pub fn cart_remove(&self, cart: String, sku: String) -> napi::Result<(), Code> {
        self.inner.cart_remove(&cart, &sku).map_err(to_napi_err)
    }

    /// The shared cart's lines with a positive quantity, by SKU.
    #[napi]
    pub fn cart_lines(&self, cart: String) -> napi::Result<Vec<SharedCartLine>, Code> {
        let lines = self.inner.cart_lines(&cart).map_err(to_napi_err)?;
        Ok(lines.into_iter().map(|(sku, quantity)| SharedCartLine { sku, quantity }).collect())
    }

    /// Adds or replaces a customer (values `null`, integer `number`, `string` or `Buffer`); a
    /// deleted one comes back.
    #[napi(ts_args_type = "id: string, fields: Record<string, SyncValue>")]
    pub fn upsert_customer(&self, id: String, fields: HashMap<String, FieldValue>) -> napi::Result<(), Code> {
        let mut owned = Vec::with_capacity(fields.len());
        for (k, v) in fields {
            let v = value(&k, v)?;
            owned.push((k, v));
        }
        owned.sort_by(|a, b| a.0.cmp(&b.0));
        let borrowed: Vec<(&str, Value)> = owned.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        self.inner.upsert_customer(&id, &borrowed).map_err(to_napi_err)
    }

    /// Changes one field of an existing customer; false if there is none.
    #[napi(ts_args_type = "id: string, field: string, value: SyncValue")]
    pub fn update_customer(&self, id: String, field: String, value: FieldValue) -> napi::Result<bool, Code> {
        let v = self::value(&field, value)?;
        self.inner.update_customer(&id, &field, v).map_err(to_napi_err)
    }

    /// Deletes a customer; false if there was none.
    #[napi]
    pub fn delete_customer(&self, id: String) -> napi::Result<bool, Code> {
        self.inner.delete_customer(&id).map_err(to_napi_err)
    }

    /// The customer's fields, or null.
    #[napi(ts_return_type = "Record<string, SyncValue> | null")]
    pub fn customer(&self, id: String) -> napi::Result<Option<HashMap<String, FieldValue>>, Code> {
        let fields = self.inner.customer(&id).map_err(to_napi_err)?;
        Ok(fields.map(|f| f.iter().map(|(k, v)| (k.clone(), to_js_value(v))).collect()))
    }
}

/// This device's LAN sync endpoint (`edge.sync().listenLan(addr)`).
#[napi]
pub struct LanServer {
    inner: Mutex<Option<aisle::transport::LanServer>>,
}

#[napi]
impl LanServer {
    /// `host:port` it listens on (the chosen port when started with port 0); null once stopped.
    #[napi(getter)]
    pub fn addr(&self) -> Option<String> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|s| s.addr().to_string())
    }

    /// Stops accepting peers (idempotent).
    #[napi]
    pub fn stop(&self) {
        let server = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = server {
            s.stop();
        }
    }
}

/// A background thread keeping this replica in sync with hubs and peers.
#[napi]
pub struct Syncer {
    inner: Mutex<Option<aisle::transport::Syncer>>,
}

#[napi]
impl Syncer {
    /// Per hub or peer: rounds, failures since the last round, the last round and error.
    #[napi]
    pub fn status(&self) -> Vec<PeerStatus> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|s| s.status()).unwrap_or_default().iter().map(PeerStatus::from).collect()
    }

    /// Runs a round with every peer now.
    #[napi]
    pub fn sync_now(&self) {
        if let Some(s) = self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            s.sync_now();
        }
    }

    /// Stops after the round in progress (idempotent).
    #[napi]
    pub fn stop(&self) {
        let syncer = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = syncer {
            s.stop();
        }
    }
}
