//! CRDT sync in Kotlin: `Edge.sync()` (the `Replication` of a store), the device registry and
//! device cards, the transports (a hub over HTTP, LAN peers over TCP, the background `Syncer`)
//! and the serving half a JVM backend wires to its own HTTP server (`handleHttp`).
//!
//! Glue only: every check (signatures, enrolment, scopes, replay, clocks, framing) is the
//! core's and arrives as its `SYNC_*` code through the `aisle_errors!` table. Sync messages
//! are opaque `ByteArray`s here; nothing in this file reads them.
//!
//! Threads: every call blocks its thread (SQLite, and for `syncWithHub`/`syncWithPeer` the
//! network); `Suspending.kt` has suspend twins of the network calls. `LanServer` and `Syncer`
//! run on threads of the core, which never call into the JVM.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aisle::sync::{self as core_sync, Role};
use aisle::transport::{self, HttpSyncLink, LanLink, SyncerConfig};

use crate::{Edge, Result, count, invalid_argument};

// ---- devices ---------------------------------------------------------------------------------

/// Whether a device is one of a store's registers/handhelds or the HQ replica.
#[uniffi::remote(Enum)]
pub enum Role {
    /// Reads `global` and its own store's scope, writes its store's scope.
    Store,
    /// Reads and writes every scope; relays everything.
    Hq,
}

/// An enrolled device (its card): what other replicas `enroll`. `publicKey` is its Ed25519
/// public key as 64 lowercase hex digits, so two cards compare equal field by field.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub public_key: String,
    pub store_id: String,
    pub device_id: String,
    pub role: Role,
    /// Scopes HQ lets this device write besides its own store's (`"global"` for a device that
    /// edits the catalog).
    #[uniffi(default)]
    pub delegated: Vec<String>,
}

impl Device {
    /// Through the core's card reader, so every check of a card (key length, hex, empty ids)
    /// is the core's, as for a card read from JSON.
    fn to_core(&self) -> Result<core_sync::Device> {
        let card = serde_json::json!({
            "public_key": self.public_key,
            "store_id": self.store_id,
            "device_id": self.device_id,
            "role": self.role.as_str(),
            "delegated": self.delegated,
        });
        Ok(core_sync::Device::from_json(&card.to_string())?)
    }
}

impl From<core_sync::Device> for Device {
    fn from(d: core_sync::Device) -> Self {
        Device {
            public_key: hex(&d.public_key),
            store_id: d.store_id,
            device_id: d.device_id,
            role: d.role,
            delegated: d.delegated,
        }
    }
}

#[uniffi::export]
impl Device {
    /// The device's card as JSON (the core's `Device::to_json`), for enrolment by hand or by
    /// an app: `{"public_key":"…","store_id":"s1","device_id":"r1","role":"store","delegated":[]}`.
    pub fn to_json(&self) -> Result<String> {
        Ok(self.to_core()?.to_json())
    }
}

/// `device.toJson()` as a function.
#[uniffi::export]
pub fn device_to_json(device: Device) -> Result<String> {
    device.to_json()
}

/// Reads a device card written by `toJson` (in any language); a malformed one is
/// `InvalidArgument`. `Device.fromJson(json)` in `Idioms.kt`.
#[uniffi::export]
pub fn device_from_json(json: String) -> Result<Device> {
    Ok(core_sync::Device::from_json(&json)?.into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- values and reports ----------------------------------------------------------------------

/// A customer field's value: `SyncValue.Text("Ada")`, `SyncValue.Int(42)`,
/// `SyncValue.Bytes(…)` or `SyncValue.Null`.
#[derive(uniffi::Enum, Clone, Debug, PartialEq, Eq)]
pub enum SyncValue {
    Null,
    Int { value: i64 },
    Text { value: String },
    Bytes { value: Vec<u8> },
}

impl From<SyncValue> for core_sync::Value {
    fn from(v: SyncValue) -> Self {
        match v {
            SyncValue::Null => core_sync::Value::Null,
            SyncValue::Int { value } => core_sync::Value::Int(value),
            SyncValue::Text { value } => core_sync::Value::Text(value),
            SyncValue::Bytes { value } => core_sync::Value::Bytes(value),
        }
    }
}

impl From<core_sync::Value> for SyncValue {
    fn from(v: core_sync::Value) -> Self {
        match v {
            core_sync::Value::Null => SyncValue::Null,
            core_sync::Value::Int(value) => SyncValue::Int { value },
            core_sync::Value::Text(value) => SyncValue::Text { value },
            core_sync::Value::Bytes(value) => SyncValue::Bytes { value },
        }
    }
}

/// What `apply` did with one message.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct ApplyReport {
    /// The sending device, as `store/device`.
    pub from: String,
    /// Slots in the message.
    pub received: i64,
    /// Slots that changed this replica (the rest were known or older).
    pub changed: i64,
    /// Whether this message completed its batch (and so raised this replica's vector).
    pub batch_complete: bool,
}

impl From<core_sync::ApplyReport> for ApplyReport {
    fn from(r: core_sync::ApplyReport) -> Self {
        ApplyReport {
            from: r.from,
            received: count(r.received as u64),
            changed: count(r.changed as u64),
            batch_complete: r.batch_complete,
        }
    }
}

/// What `compact` did.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct CompactReport {
    /// Field slots of deleted records dropped because every replica has seen the delete.
    pub removed_slots: i64,
    /// Deleted records whose delete is not yet stable everywhere.
    pub waiting: i64,
}

impl From<core_sync::CompactReport> for CompactReport {
    fn from(r: core_sync::CompactReport) -> Self {
        CompactReport { removed_slots: count(r.removed_slots as u64), waiting: count(r.waiting as u64) }
    }
}

/// How much sync keeps beside the data, in bytes of its logical encoding.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct SyncStats {
    /// Replicated slots (fields, causal lengths, counter shares, stocktakes).
    pub slots: i64,
    /// Keys and values the data needs anyway.
    pub data_bytes: i64,
    /// What sync adds: stamps, causal lengths, vectors, replay window, open batches.
    pub metadata_bytes: i64,
}

impl From<core_sync::SyncStats> for SyncStats {
    fn from(s: core_sync::SyncStats) -> Self {
        SyncStats { slots: count(s.slots), data_bytes: count(s.data_bytes), metadata_bytes: count(s.metadata_bytes) }
    }
}

/// What a peer did with the chunks pushed to it (`servePush`, `RoundReport.pushed`).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct PushReport {
    /// Chunks received.
    pub chunks: i64,
    /// Chunks applied (the rest were duplicates).
    pub applied: i64,
    /// Chunks received before: harmless.
    pub duplicates: i64,
    /// Slots that changed the receiver.
    pub changed: i64,
}

impl From<core_sync::PushReport> for PushReport {
    fn from(r: core_sync::PushReport) -> Self {
        PushReport {
            chunks: count(r.chunks as u64),
            applied: count(r.applied as u64),
            duplicates: count(r.duplicates as u64),
            changed: count(r.changed as u64),
        }
    }
}

/// What one round with a hub or peer did (`syncWithHub`, `syncWithPeer`, `PeerStatus`).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct RoundReport {
    /// Where the peer was reached (the hub's URL, `tcp://host:port`).
    pub peer: String,
    /// Chunks received from the peer and applied.
    pub pulled: i64,
    /// Of those, slots that changed this replica.
    pub pulled_changed: i64,
    /// Chunks the peer had sent before (relayed copies, retried rounds): skipped.
    pub duplicates: i64,
    /// What the peer did with ours.
    pub pushed: PushReport,
}

impl From<core_sync::RoundReport> for RoundReport {
    fn from(r: core_sync::RoundReport) -> Self {
        RoundReport {
            peer: r.peer,
            pulled: count(r.pulled as u64),
            pulled_changed: count(r.pulled_changed as u64),
            duplicates: count(r.duplicates as u64),
            pushed: r.pushed.into(),
        }
    }
}

/// The answer to one HTTP request of the sync protocol (`handleHttp`): send it back as is.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    pub status: i32,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A line of a shared cart: a SKU and its quantity (always positive).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct SharedCartLine {
    pub sku: String,
    pub quantity: i64,
}

/// Where a hub is and how to talk to it: `HttpSyncConfig("https://hq.example/")`. The link
/// posts to `<url>/v1/sync/exchange` and `<url>/v1/sync/push`.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct HttpSyncConfig {
    pub url: String,
    /// Extra headers (e.g. `Authorization` for a gateway in front of the hub).
    #[uniffi(default)]
    pub headers: HashMap<String, String>,
    /// PEM certificates of a private CA: the hub is then trusted by this CA alone.
    #[uniffi(default)]
    pub ca_pem: Option<String>,
    /// Budget of one request, connect included; the core's default (30 s) when `null`.
    #[uniffi(default)]
    pub timeout_ms: Option<i64>,
}

fn millis(what: &str, v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| invalid_argument(format!("{what} must not be negative, got {v}")))
}

impl HttpSyncConfig {
    fn to_core(&self) -> Result<transport::HttpSyncConfig> {
        let mut c = transport::HttpSyncConfig::new(self.url.clone());
        // Sorted, so the link sends its headers in a stable order.
        let mut headers: Vec<(String, String)> = self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        headers.sort();
        c.headers = headers;
        c.ca_pem = self.ca_pem.clone();
        if let Some(ms) = self.timeout_ms {
            c.timeout_ms = millis("timeoutMs", ms)?;
        }
        Ok(c)
    }

    fn link(&self) -> Result<HttpSyncLink> {
        Ok(HttpSyncLink::new(&self.to_core()?)?)
    }
}

/// What the `Syncer` knows of one peer.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    pub peer: String,
    /// Rounds that completed.
    pub rounds: i64,
    /// Failures since the last completed round (0 while the peer answers).
    pub failures: i64,
    /// The last completed round.
    pub last_round: Option<RoundReport>,
    /// The last failure's error code (`SYNC_UNREACHABLE`, …) and message.
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
}

impl From<transport::PeerStatus> for PeerStatus {
    fn from(s: transport::PeerStatus) -> Self {
        let (code, message) = s.last_error.map_or((None, None), |(c, m)| (Some(c), Some(m)));
        PeerStatus {
            peer: s.peer,
            rounds: count(s.rounds),
            failures: i64::from(s.failures),
            last_round: s.last_round.map(RoundReport::from),
            last_error_code: code,
            last_error_message: message,
        }
    }
}

// ---- replication -----------------------------------------------------------------------------

/// Replication of one open store (`edge.sync()`): enrolment, the signed byte protocol
/// (`request` → peer's `changesSince` → `apply`), one round with a hub or a LAN peer, the
/// serving half of a hub (`handleHttp`), and the replicated stock, shared carts and customers.
/// Closing the `Edge` closes the store: calls then throw `StoreClosed`.
#[derive(uniffi::Object)]
pub struct Replication {
    inner: core_sync::Replication,
}

#[uniffi::export]
impl Edge {
    /// Replication of this store with HQ and the store's other devices.
    pub fn sync(&self) -> Arc<Replication> {
        Arc::new(Replication { inner: self.inner.sync() })
    }
}

#[uniffi::export]
impl Replication {
    /// This device's card (public key, store, device, role): what other replicas `enroll`.
    /// Creates the device key on first use.
    pub fn identity(&self) -> Result<Device> {
        Ok(self.inner.identity()?.into())
    }

    /// Makes this replica the HQ replica or a store device (set it before handing out the card).
    pub fn set_role(&self, role: Role) -> Result<()> {
        Ok(self.inner.set_role(role)?)
    }

    /// Adds (or updates) a device this replica accepts messages from and answers.
    pub fn enroll(&self, device: Device) -> Result<()> {
        Ok(self.inner.enroll(&device.to_core()?)?)
    }

    /// Enrolled devices, this one included.
    pub fn devices(&self) -> Result<Vec<Device>> {
        Ok(self.inner.devices()?.into_iter().map(Device::from).collect())
    }

    /// What this replica has: scope → site → the highest clock value of that site's writes it
    /// holds. Sites are 16 lowercase hex digits (the site number, zero-padded).
    pub fn vector(&self) -> Result<HashMap<String, HashMap<String, u64>>> {
        let v = self.inner.vector()?;
        Ok(v.0
            .into_iter()
            .map(|(scope, sites)| (scope, sites.into_iter().map(|(site, hlc)| (format!("{site:016x}"), hlc.0)).collect()))
            .collect())
    }

    /// A signed request for what this replica lacks: send it to a peer's `changesSince`.
    pub fn request(&self) -> Result<Vec<u8>> {
        Ok(self.inner.request()?)
    }

    /// Answers a peer's request with signed chunks (apply them in any order). The request's
    /// signature, sender and scopes are checked: a store never receives another store's data.
    pub fn changes_since(&self, request: Vec<u8>) -> Result<Vec<Vec<u8>>> {
        Ok(self.inner.changes_since(&request)?)
    }

    /// Applies one chunk from a peer; signature, sender, scope, replay and clock are checked
    /// before anything is written, and a refused message changes nothing (`SyncDecode`,
    /// `SyncUnknownDevice`, `SyncBadSignature`, `SyncReplay`, `SyncScope`, `SyncClockSkew`).
    pub fn apply(&self, message: Vec<u8>) -> Result<ApplyReport> {
        Ok(self.inner.apply(&message)?.into())
    }

    /// Serving half of a round, first trip: a client's request in, our request and the chunks
    /// it lacks out (one framed body).
    pub fn serve_exchange(&self, request: Vec<u8>) -> Result<Vec<u8>> {
        Ok(self.inner.serve_exchange(&request)?)
    }

    /// Serving half, second trip: applies the chunks a client pushed (one framed body).
    pub fn serve_push(&self, body: Vec<u8>) -> Result<PushReport> {
        Ok(self.inner.serve_push(&body)?.into())
    }

    /// Serves one HTTP request of the sync protocol (`POST /v1/sync/exchange`,
    /// `POST /v1/sync/push`): the whole hub, for any HTTP server. Never throws: a refusal is a
    /// 4xx reply whose JSON body carries the code, which the client raises as `SyncPeerRefused`.
    pub fn handle_http(&self, method: String, path: String, body: Vec<u8>) -> HttpReply {
        let r = self.inner.handle_http(&method, &path, &body);
        HttpReply { status: i32::from(r.status), content_type: r.content_type.to_owned(), body: r.body }
    }

    /// One round with a hub over HTTP(S): pull what we lack, push what it lacks. Blocks for
    /// the network (`syncWithHubAsync` suspends instead). `SyncUnreachable` when the hub cannot
    /// be reached, `SyncPeerRefused` (with the hub's code) when it refuses.
    pub fn sync_with_hub(&self, config: HttpSyncConfig) -> Result<RoundReport> {
        let mut link = config.link()?;
        Ok(self.inner.sync_with(&mut link)?.into())
    }

    /// One round with another device of the store over the LAN (`host:port` of its
    /// `listenLan`); `timeoutMs` bounds connecting and each read or write.
    pub fn sync_with_peer(&self, addr: String, timeout_ms: i64) -> Result<RoundReport> {
        let mut link = LanLink::new(addr, millis("timeoutMs", timeout_ms)?);
        Ok(self.inner.sync_with(&mut link)?.into())
    }

    /// Serves LAN peers on `addr` (`"0.0.0.0:7878"`, or `"127.0.0.1:0"` for any free port)
    /// until `stop()`/`close()`. The same checks apply as over HTTP: the LAN is not trusted.
    pub fn listen_lan(&self, addr: String) -> Result<Arc<LanServer>> {
        let server = transport::LanServer::start(self.inner.clone(), &addr)?;
        Ok(Arc::new(LanServer { addr: server.addr().to_string(), inner: Mutex::new(Some(server)) }))
    }

    /// Starts a background worker that runs a round with each hub and LAN peer every
    /// `intervalMs`, backing off (with jitter) up to `backoffMaxMs` after failures; the first
    /// round runs at once. `null` takes the core's defaults (5 s, 5 min); LAN peers use
    /// `peerTimeoutMs`, else the HTTP link's default budget.
    #[uniffi::method(default(interval_ms = None, backoff_max_ms = None, peer_timeout_ms = None))]
    pub fn start_syncer(
        &self,
        hubs: Vec<HttpSyncConfig>,
        peers: Vec<String>,
        interval_ms: Option<i64>,
        backoff_max_ms: Option<i64>,
        peer_timeout_ms: Option<i64>,
    ) -> Result<Arc<Syncer>> {
        let mut config = SyncerConfig::default();
        if let Some(ms) = interval_ms {
            config.interval_ms = millis("intervalMs", ms)?;
        }
        if let Some(ms) = backoff_max_ms {
            config.backoff_max_ms = millis("backoffMaxMs", ms)?;
        }
        let peer_timeout = match peer_timeout_ms {
            Some(ms) => millis("peerTimeoutMs", ms)?,
            None => transport::HttpSyncConfig::new("").timeout_ms,
        };
        let mut links: Vec<Box<dyn core_sync::SyncLink + Send>> = Vec::with_capacity(hubs.len() + peers.len());
        for hub in &hubs {
            links.push(Box::new(hub.link()?));
        }
        for peer in peers {
            links.push(Box::new(LanLink::new(peer, peer_timeout)));
        }
        let syncer = transport::Syncer::start(self.inner.clone(), links, config)?;
        Ok(Arc::new(Syncer { inner: Mutex::new(Some(syncer)), last: Mutex::new(Vec::new()) }))
    }

    /// Garbage-collects what every replica has seen.
    pub fn compact(&self) -> Result<CompactReport> {
        Ok(self.inner.compact()?.into())
    }

    /// SHA-256 of the replicated state as applications see it, 64 hex digits: equal digests,
    /// equal data.
    pub fn digest(&self) -> Result<String> {
        Ok(hex(&self.inner.digest()?))
    }

    /// The same for one scope (`"global"`, `"store:<id>"`).
    pub fn digest_in(&self, scope: String) -> Result<String> {
        Ok(hex(&self.inner.digest_in(&scope)?))
    }

    /// Sizes of the data and of sync's metadata.
    pub fn stats(&self) -> Result<SyncStats> {
        Ok(self.inner.stats()?.into())
    }

    // ---- stock ---------------------------------------------------------------------------

    /// Adds received units (positive) or takes sold/written-off units (negative); the level
    /// this replica now sees.
    pub fn stock_add(&self, sku: String, location: String, delta: i64) -> Result<i64> {
        Ok(self.inner.stock_add(&sku, &location, delta)?)
    }

    /// A stocktake: "there are `count`". Moves this replica has not seen yet still count after it.
    pub fn stocktake(&self, sku: String, location: String, count: i64) -> Result<()> {
        Ok(self.inner.stocktake(&sku, &location, count)?)
    }

    /// This store's stock level of `sku` at `location`.
    pub fn stock_level(&self, sku: String, location: String) -> Result<i64> {
        Ok(self.inner.stock_level(&sku, &location)?)
    }

    /// The stock level in a named scope (`"store:<id>"`): HQ reads any store's stock.
    pub fn stock_level_in(&self, scope: String, sku: String, location: String) -> Result<i64> {
        Ok(self.inner.stock_level_in(&scope, &sku, &location)?)
    }

    // ---- shared carts --------------------------------------------------------------------

    /// Adds `quantity` of `sku` to a shared cart (concurrent adds on other devices add up).
    pub fn cart_add(&self, cart: String, sku: String, quantity: i64) -> Result<()> {
        Ok(self.inner.cart_add(&cart, &sku, quantity)?)
    }

    /// Sets a shared cart line's quantity.
    pub fn cart_set(&self, cart: String, sku: String, quantity: i64) -> Result<()> {
        Ok(self.inner.cart_set(&cart, &sku, quantity)?)
    }

    /// Removes a shared cart line (an add on another device at the same time wins).
    pub fn cart_remove(&self, cart: String, sku: String) -> Result<()> {
        Ok(self.inner.cart_remove(&cart, &sku)?)
    }

    /// A shared cart's lines with a positive quantity, by SKU.
    pub fn cart_lines(&self, cart: String) -> Result<Vec<SharedCartLine>> {
        Ok(self.inner.cart_lines(&cart)?.into_iter().map(|(sku, quantity)| SharedCartLine { sku, quantity }).collect())
    }

    // ---- customers -----------------------------------------------------------------------

    /// Adds or replaces a customer: every field is written, and a deleted customer comes back.
    pub fn upsert_customer(&self, id: String, fields: HashMap<String, SyncValue>) -> Result<()> {
        // Sorted by name, so the same map always makes the same writes.
        let mut fields: Vec<(String, core_sync::Value)> = fields.into_iter().map(|(k, v)| (k, v.into())).collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let fields: Vec<(&str, core_sync::Value)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        Ok(self.inner.upsert_customer(&id, &fields)?)
    }

    /// Changes one field of an existing customer; false if there is none.
    pub fn update_customer(&self, id: String, field: String, value: SyncValue) -> Result<bool> {
        Ok(self.inner.update_customer(&id, &field, value.into())?)
    }

    /// Deletes a customer; false if there was none.
    pub fn delete_customer(&self, id: String) -> Result<bool> {
        Ok(self.inner.delete_customer(&id)?)
    }

    /// The customer's fields, or `null` if there is none (or it was deleted).
    pub fn customer(&self, id: String) -> Result<Option<HashMap<String, SyncValue>>> {
        Ok(self.inner.customer(&id)?.map(|fields| fields.into_iter().map(|(k, v)| (k, v.into())).collect()))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ---- LAN server and syncer ------------------------------------------------------------------

/// A store device's LAN sync endpoint (`sync.listenLan(addr)`): a thread of the core that
/// serves peers' rounds until `stop()` or `close()`.
#[derive(uniffi::Object)]
pub struct LanServer {
    addr: String,
    inner: Mutex<Option<transport::LanServer>>,
}

#[uniffi::export]
impl LanServer {
    /// The address it listens on, `host:port` (the port chosen when started with port 0):
    /// what peers pass to `syncWithPeer`.
    pub fn addr(&self) -> String {
        self.addr.clone()
    }

    /// Stops accepting and waits for the listener thread (rounds in progress finish).
    /// Stopping twice is fine.
    pub fn stop(&self) {
        let server = lock(&self.inner).take();
        if let Some(server) = server {
            server.stop();
        }
    }

    /// Whether it still serves.
    pub fn is_running(&self) -> bool {
        lock(&self.inner).is_some()
    }
}

/// A background worker keeping this replica in sync with hubs and LAN peers
/// (`sync.startSyncer(…)`), until `stop()` or `close()`.
#[derive(uniffi::Object)]
pub struct Syncer {
    inner: Mutex<Option<transport::Syncer>>,
    /// The status when it was stopped.
    last: Mutex<Vec<PeerStatus>>,
}

#[uniffi::export]
impl Syncer {
    /// Each peer's status, hubs first, in the order given (after `stop()`: as it was then).
    pub fn status(&self) -> Vec<PeerStatus> {
        match lock(&self.inner).as_ref() {
            Some(s) => s.status().into_iter().map(PeerStatus::from).collect(),
            None => lock(&self.last).clone(),
        }
    }

    /// Runs a round with every peer now, e.g. after a write that should travel at once.
    pub fn sync_now(&self) {
        if let Some(s) = lock(&self.inner).as_ref() {
            s.sync_now();
        }
    }

    /// Stops after the round in progress, if any. Stopping twice is fine.
    pub fn stop(&self) {
        let syncer = lock(&self.inner).take();
        if let Some(syncer) = syncer {
            *lock(&self.last) = syncer.status().into_iter().map(PeerStatus::from).collect();
            syncer.stop();
        }
    }

    /// Whether the worker is running.
    pub fn is_running(&self) -> bool {
        lock(&self.inner).is_some()
    }
}
