//! The sync side of the hub: the HQ replica of the whole fleet, its state in the hub database.
//!
//! - `POST /v1/sync/exchange`, `POST /v1/sync/push`: the protocol of a store's
//!   `Replication::handle_http`, served by the core's [`HostedReplica`] over [`pg::PgStorage`] or
//!   [`sqlite::SqliteStorage`] — one database transaction per request, so a refused message
//!   changes nothing; exchanges run in parallel (a snapshot each), pushes one at a time across
//!   instances (an advisory lock), so merges never interleave.
//! - `GET /v1/sync/events`: server-sent events, `change` with the newest change sequence when a
//!   push lands on any instance (PostgreSQL `LISTEN/NOTIFY`; SQLite: the file is polled), so a
//!   store runs a round at once instead of polling.
//! - `GET /v1/sync/identity`: the hub's device card, for stores to enrol.
//! - `POST /v1/admin/devices`: enrols a device card (bearer admin token).
//!
//! The HQ identity (Ed25519 secret) is created by the first instance in the database and read by
//! every other, so all instances sign as one HQ and stores enrol it once.

pub mod pg;
pub mod sqlite;
pub mod tables;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aisle::sync::{Device, HostedReplica, Role, SyncStorage, http_status};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rusqlite::TransactionBehavior;

use crate::error::{HubError, Result};
use crate::server::HubState;
use crate::store::Backend;
use crate::store::pg::Postgres;
use crate::store::sqlite::Sqlite;

/// The PostgreSQL channel pushes announce their change sequence on.
const CHANNEL: &str = "aisle_hub_sync";

pub(crate) fn now_ms() -> i64 {
    crate::store::now_ms()
}

fn now_u64() -> u64 {
    now_ms().max(0).unsigned_abs()
}

/// Marks chunk `index` of `count` in a received-list (`"0,3,4"`); returns whether all arrived
/// and the updated list.
pub(crate) fn mark_chunk(received: Option<&str>, count: u32, index: u32) -> (bool, String) {
    let mut got: std::collections::BTreeSet<u32> =
        received.unwrap_or("").split(',').filter_map(|s| s.parse().ok()).filter(|k| *k < count).collect();
    got.insert(index);
    let done = got.len() == count as usize;
    (done, got.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
}

/// A device as enrolled, with when (for the propagation histogram: changes older than the
/// enrolment are the device's initial load, not propagation).
#[derive(Clone)]
pub(crate) struct Enrolled {
    pub device: Device,
    pub enrolled_ms: i64,
}

/// How long the commit times of changes are kept (propagation of older changes is not observed).
pub(crate) const CHANGE_LOG_KEEP_MS: i64 = 7 * 24 * 3600 * 1000;

/// What a request did besides its answer: for the push channel and the metrics.
#[derive(Debug, Default)]
pub struct Done {
    /// The change sequence a push committed, if it changed anything.
    pub seq: Option<i64>,
    /// An exchange answer to a store: per change sequence delivered, seconds from its commit
    /// to this delivery (database clock).
    pub propagation: Vec<f64>,
}

/// Seconds from commit to delivery for the changes delivered to `peer` (a store device):
/// only changes committed after it was enrolled (older ones are its initial load).
pub(crate) fn propagation(peer: Option<&Enrolled>, now_ms: i64, committed: impl IntoIterator<Item = i64>) -> Vec<f64> {
    let Some(peer) = peer.filter(|p| p.device.role == Role::Store) else { return Vec::new() };
    committed
        .into_iter()
        .filter(|c| *c >= peer.enrolled_ms)
        .map(|c| (now_ms - c).max(0) as f64 / 1000.0)
        .collect()
}

/// What an instance keeps for the sync side: the HQ replica and the change feed.
pub struct SyncState {
    pub replica: HostedReplica,
    /// PostgreSQL: the clock's own connections and the instance's caches.
    pg: Option<pg::PgSide>,
    /// The newest change sequence this instance knows of (its own pushes and other instances').
    pub changes: tokio::sync::watch::Sender<i64>,
    /// One permit per database connection: requests past it wait here, in arrival order, as
    /// tasks, not as blocked threads racing for the pool (1,000 stores answering one
    /// announcement would be 500 threads woken in no order: a long tail).
    gate: tokio::sync::Semaphore,
    stop: Arc<AtomicBool>,
}

impl Drop for SyncState {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl SyncState {
    /// Loads (or, on the first instance, creates) the HQ identity and starts the change feed.
    pub fn start(backend: &Arc<dyn Backend>, database: &str, pool_size: u32) -> Result<SyncState> {
        let fresh = HostedReplica::generate_secret()?;
        let secret: Vec<u8> = if let Some(pg) = backend.as_any().downcast_ref::<Postgres>() {
            let mut c = pg.pool().get()?;
            c.execute(
                "INSERT INTO hub_sync_identity (id, secret, last_hlc) VALUES (1, $1, 0) ON CONFLICT DO NOTHING",
                &[&&fresh[..]],
            )?;
            c.query_one("SELECT secret FROM hub_sync_identity WHERE id = 1", &[])?.get(0)
        } else if let Some(sq) = backend.as_any().downcast_ref::<Sqlite>() {
            let c = sq.conn();
            c.execute("INSERT OR IGNORE INTO hub_sync_identity (id, secret, last_hlc) VALUES (1, ?1, 0)", [&fresh[..]])?;
            c.query_row("SELECT secret FROM hub_sync_identity WHERE id = 1", [], |r| r.get(0))?
        } else {
            return Err(HubError::Internal("sync: unknown backend".into()));
        };
        let secret: [u8; 32] =
            secret.try_into().map_err(|_| HubError::Database("hub_sync_identity holds a damaged secret".into()))?;
        let replica = HostedReplica::new(secret, "hq", "hub", Role::Hq);
        let pg = match backend.as_any().downcast_ref::<Postgres>() {
            Some(_) => Some(pg::PgSide::open(database)?),
            None => None,
        };
        with_storage(backend.as_ref(), pg.as_ref(), Access::Write, |st| replica.enroll_self(st))?;
        let current = current_seq(backend.as_ref())?;
        let (changes, _) = tokio::sync::watch::channel(current);
        let stop = Arc::new(AtomicBool::new(false));
        start_feed(backend, database, changes.clone(), stop.clone())?;
        let permits = if pg.is_some() { pool_size.max(1) as usize } else { 1 };
        Ok(SyncState { replica, pg, changes, gate: tokio::sync::Semaphore::new(permits), stop })
    }

    fn announce(&self, seq: i64) {
        self.changes.send_if_modified(|v| {
            let newer = seq > *v;
            if newer {
                *v = seq;
            }
            newer
        });
    }
}

fn current_seq(backend: &dyn Backend) -> Result<i64> {
    if let Some(pg) = backend.as_any().downcast_ref::<Postgres>() {
        Ok(pg.pool().get()?.query_one("SELECT seq FROM hub_sync_change WHERE id = 1", &[])?.get(0))
    } else if let Some(sq) = backend.as_any().downcast_ref::<Sqlite>() {
        Ok(sq.conn().query_row("SELECT seq FROM hub_sync_change WHERE id = 1", [], |r| r.get(0))?)
    } else {
        Err(HubError::Internal("sync: unknown backend".into()))
    }
}

/// A thread that learns of other instances' pushes: `LISTEN` on PostgreSQL, polling on SQLite.
fn start_feed(backend: &Arc<dyn Backend>, database: &str, changes: tokio::sync::watch::Sender<i64>, stop: Arc<AtomicBool>) -> Result<()> {
    let announce = move |seq: i64| {
        changes.send_if_modified(|v| {
            let newer = seq > *v;
            if newer {
                *v = seq;
            }
            newer
        });
    };
    if backend.as_any().downcast_ref::<Postgres>().is_some() {
        let url = database.to_owned();
        std::thread::Builder::new()
            .name("aisle-hub-listen".into())
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) else {
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    };
                    if client.batch_execute(&format!("LISTEN {CHANNEL}")).is_err() {
                        continue;
                    }
                    // Catch up with what landed while (re)connecting.
                    if let Ok(r) = client.query_one("SELECT seq FROM hub_sync_change WHERE id = 1", &[]) {
                        announce(r.get(0));
                    }
                    use postgres::fallible_iterator::FallibleIterator as _;
                    'conn: while !stop.load(Ordering::SeqCst) {
                        let mut notes = client.notifications();
                        let mut it = notes.timeout_iter(Duration::from_millis(500));
                        loop {
                            match it.next() {
                                Ok(Some(n)) => {
                                    if let Ok(seq) = n.payload().parse() {
                                        announce(seq);
                                    }
                                }
                                Ok(None) => break,
                                Err(_) => break 'conn,
                            }
                        }
                    }
                }
            })
            .map_err(|e| HubError::Internal(format!("sync listener: {e}")))?;
    } else if let Some(sq) = backend.as_any().downcast_ref::<Sqlite>() {
        let path = sq.path().to_owned();
        std::thread::Builder::new()
            .name("aisle-hub-poll".into())
            .spawn(move || {
                let Ok(conn) = rusqlite::Connection::open(&path) else { return };
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(seq) = conn.query_row("SELECT seq FROM hub_sync_change WHERE id = 1", [], |r| r.get(0)) {
                        announce(seq);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
            .map_err(|e| HubError::Internal(format!("sync poller: {e}")))?;
    }
    Ok(())
}

/// What a storage transaction does, for its isolation on PostgreSQL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Answers a request (reads slots, notes the peer): parallel, one consistent snapshot.
    Exchange,
    /// Applies chunks or enrols: one at a time across every instance (an advisory lock).
    Write,
}

/// The advisory lock pushes take ("AISLSYNC").
const WRITE_LOCK: i64 = 0x4149_534c_5359_4e43;

/// Runs `f` against the sync storage in one transaction of the hub database; commits if it
/// succeeds (a push notifies its change sequence at the commit), rolls back if it fails.
pub fn with_storage<T>(
    backend: &dyn Backend,
    side: Option<&pg::PgSide>,
    access: Access,
    f: impl FnOnce(&mut dyn SyncStorage) -> aisle::Result<T>,
) -> Result<(T, Done)> {
    let exchange = access == Access::Exchange;
    if let Some(pg) = backend.as_any().downcast_ref::<Postgres>() {
        let side = side.ok_or_else(|| HubError::Internal("sync: no clock pool for PostgreSQL".into()))?;
        let mut c = pg.pool().get()?;
        let conn = &mut *c;
        let mut tx = match access {
            Access::Exchange => conn.client.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).start()?,
            Access::Write => conn.client.transaction()?,
        };
        if access == Access::Write {
            tx.execute_typed("SELECT pg_advisory_xact_lock($1)", &[(&WRITE_LOCK, postgres::types::Type::INT8)])?;
        }
        let mut st = pg::PgStorage::new(&mut tx, &mut conn.statements, side, exchange);
        let out = f(&mut st).map_err(HubError::Core)?;
        let done = st.finish(CHANNEL).map_err(HubError::Core)?;
        drop(st);
        tx.commit()?;
        Ok((out, done))
    } else if let Some(sq) = backend.as_any().downcast_ref::<Sqlite>() {
        let mut c = sq.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut st = sqlite::SqliteStorage::new(&tx, exchange);
        let out = f(&mut st).map_err(HubError::Core)?;
        let done = st.finish().map_err(HubError::Core)?;
        tx.commit()?;
        Ok((out, done))
    } else {
        Err(HubError::Internal("sync: unknown backend".into()))
    }
}

/// The sync routes.
pub fn routes() -> Router<Arc<HubState>> {
    Router::new()
        .route("/v1/sync/exchange", post(exchange))
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/events", get(events))
        .route("/v1/sync/identity", get(identity))
        .route("/v1/admin/devices", post(enroll_http))
}

/// A core refusal as the protocol answers it (the status of `Replication::handle_http`).
fn refusal(e: HubError) -> Response {
    match e {
        HubError::Core(e) => {
            let status = StatusCode::from_u16(http_status(&e)).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                tracing::error!(code = e.code(), error = %e, "sync failed");
            } else {
                tracing::info!(code = e.code(), error = %e, "sync refused");
            }
            (status, axum::Json(serde_json::json!({"code": e.code(), "message": e.to_string()}))).into_response()
        }
        other => other.into_response(),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| HubError::Internal(e.to_string()))?
}

async fn exchange(State(state): State<Arc<HubState>>, body: Bytes) -> Response {
    let Ok(_turn) = state.sync.gate.acquire().await else {
        return HubError::Internal("sync: shutting down".into()).into_response();
    };
    let s = state.clone();
    let out = blocking(move || {
        let sync = &s.sync;
        with_storage(s.backend.as_ref(), sync.pg.as_ref(), Access::Exchange, |st| sync.replica.serve_exchange(st, &body, now_u64()))
    })
    .await;
    match out {
        Ok((bytes, done)) => {
            state.metrics.observe_propagation(&done.propagation);
            ([(header::CONTENT_TYPE, aisle::sync::SYNC_CONTENT_TYPE)], bytes).into_response()
        }
        Err(e) => refusal(e),
    }
}

async fn push(State(state): State<Arc<HubState>>, body: Bytes) -> Response {
    let Ok(_turn) = state.sync.gate.acquire().await else {
        return HubError::Internal("sync: shutting down".into()).into_response();
    };
    let s = state.clone();
    let out = blocking(move || {
        let sync = &s.sync;
        with_storage(s.backend.as_ref(), sync.pg.as_ref(), Access::Write, |st| sync.replica.serve_push(st, &body, now_u64()))
    })
    .await;
    match out {
        Ok(((report, _), done)) => {
            if let Some(seq) = done.seq {
                state.sync.announce(seq);
            }
            axum::Json(report).into_response()
        }
        Err(e) => refusal(e),
    }
}

async fn identity(State(state): State<Arc<HubState>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], state.sync.replica.card().to_json()).into_response()
}

async fn enroll_http(State(state): State<Arc<HubState>>, headers: HeaderMap, body: Bytes) -> Response {
    if state.config.admin_token.is_none() {
        return HubError::Unauthorized.into_response();
    }
    if let Err(e) = state.check_bearer(&headers, state.config.admin_token.as_deref()) {
        return e.into_response();
    }
    let card = match std::str::from_utf8(&body).map_err(|e| aisle::Error::InvalidArgument(format!("device card: {e}"))).and_then(Device::from_json) {
        Ok(d) => d,
        Err(e) => return HubError::Core(e).into_response(),
    };
    let s = state.clone();
    let out = blocking(move || with_storage(s.backend.as_ref(), s.sync.pg.as_ref(), Access::Write, |st| st.enroll(&card)).map(|_| card)).await;
    match out {
        Ok(card) => (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json")], card.to_json()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Counts an open push stream for as long as it lives.
struct Connected(Arc<HubState>);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.metrics.push_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `hello` with the newest change sequence at once (a store behind it runs a round), then
/// `change` with the new sequence whenever a push lands on any instance.
async fn events(State(state): State<Arc<HubState>>) -> impl IntoResponse {
    state.metrics.push_connections.fetch_add(1, Ordering::Relaxed);
    let guard = Connected(state.clone());
    let rx = state.sync.changes.subscribe();
    let stream = futures_util::stream::unfold((rx, None::<i64>, guard), |(mut rx, sent, guard)| async move {
        let Some(sent) = sent else {
            let current = *rx.borrow_and_update();
            return Some((Ok::<_, Infallible>(Event::default().event("hello").data(current.to_string())), (rx, Some(current), guard)));
        };
        let mut latest = *rx.borrow_and_update();
        while latest <= sent {
            rx.changed().await.ok()?;
            latest = *rx.borrow_and_update();
        }
        Some((Ok(Event::default().event("change").data(latest.to_string())), (rx, Some(latest), guard)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Enrols a device in the hub's database, in process (what `POST /v1/admin/devices` does):
/// for tools and demos that start a hub themselves.
pub fn enroll_device(state: &HubState, card: &Device) -> Result<()> {
    with_storage(state.backend.as_ref(), state.sync.pg.as_ref(), Access::Write, |st| st.enroll(card)).map(|_| ())
}

/// The hub's device card (what `GET /v1/sync/identity` answers).
pub fn card(state: &HubState) -> Device {
    state.sync.replica.card()
}

/// A store counts as connected while its last exchange (on any instance) is this recent.
pub const CONNECTED_WINDOW_MS: i64 = 5 * 60 * 1000;

/// The fleet as the database sees it (every instance reports the same): for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetStatus {
    /// Distinct stores with an exchange in the last [`CONNECTED_WINDOW_MS`].
    pub connected_stores: u64,
    /// One entry per store id with an enrolled store device, in store order.
    pub stores: Vec<StoreStatus>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoreStatus {
    pub store: String,
    /// Slot changes in the scopes its devices read, committed after the newest change
    /// sequence they were delivered (the store's worst device).
    pub lag_changes: i64,
    /// Seconds since its devices' last exchange (the store's worst device; a device that
    /// never synced counts from its enrolment).
    pub last_sync_age_seconds: f64,
}

/// A store device's delivery state.
struct DeviceState {
    store_id: String,
    delegated: String,
    enrolled_ms: i64,
    delivered_seq: i64,
    exchanged_ms: Option<i64>,
}

/// The scopes a store device reads (the core's `Device::may_read` for role `store`).
fn read_scopes(d: &DeviceState) -> Vec<String> {
    let mut scopes = vec![aisle::sync::GLOBAL.to_owned(), aisle::sync::store_scope(&d.store_id)];
    if let Ok(delegated) = serde_json::from_str::<Vec<String>>(&d.delegated) {
        scopes.extend(delegated);
    }
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Reads every store device's delivery state and counts, per (scope, delivered sequence)
/// pair, the slot changes after it (through the `(scope, seq)` index): two statements in one
/// snapshot, whatever the fleet's size.
pub fn fleet_status(backend: &dyn Backend) -> Result<FleetStatus> {
    const DEVICES: &str = "SELECT d.store_id, d.delegated, d.enrolled_ms, coalesce(st.delivered_seq, 0), st.exchanged_ms
         FROM hub_sync_device d LEFT JOIN hub_sync_store_state st ON st.public_key = d.public_key WHERE d.role = 'store'";
    type Pairs = Vec<Vec<(String, i64)>>;
    type Counts = BTreeMap<(String, i64), i64>;
    let (devices, pairs_of, counts, now_ms): (Vec<DeviceState>, Pairs, Counts, i64);
    let pairs = |devices: &[DeviceState]| -> Pairs {
        devices.iter().map(|d| read_scopes(d).into_iter().map(|s| (s, d.delivered_seq)).collect()).collect()
    };
    if let Some(pg) = backend.as_any().downcast_ref::<Postgres>() {
        let mut c = pg.pool().get()?;
        let mut tx = c.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).read_only(true).start()?;
        now_ms = tx.query_typed_one(&format!("SELECT {}", pg::DB_NOW_MS), &[])?.get(0);
        devices = tx
            .query_typed(DEVICES, &[])?
            .iter()
            .map(|r| DeviceState { store_id: r.get(0), delegated: r.get(1), enrolled_ms: r.get(2), delivered_seq: r.get(3), exchanged_ms: r.get(4) })
            .collect();
        pairs_of = pairs(&devices);
        let distinct: BTreeSet<(String, i64)> = pairs_of.iter().flatten().cloned().collect();
        let (scopes, since): (Vec<String>, Vec<i64>) = distinct.iter().cloned().unzip();
        let rows = tx.query_typed(
            "SELECT x.scope, x.since, (SELECT count(*) FROM hub_sync_slot s WHERE s.scope = x.scope AND s.seq > x.since)
             FROM unnest($1::text[], $2::int8[]) AS x(scope, since)",
            &[(&scopes, postgres::types::Type::TEXT_ARRAY), (&since, postgres::types::Type::INT8_ARRAY)],
        )?;
        counts = rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))).collect();
        tx.commit()?;
    } else if let Some(sq) = backend.as_any().downcast_ref::<Sqlite>() {
        let mut c = sq.conn();
        let tx = c.transaction()?;
        // One machine: the file's clock is this process's.
        now_ms = self::now_ms();
        devices = {
            let mut stmt = tx.prepare_cached(DEVICES)?;
            let rows = stmt.query_map([], |r| {
                Ok(DeviceState { store_id: r.get(0)?, delegated: r.get(1)?, enrolled_ms: r.get(2)?, delivered_seq: r.get(3)?, exchanged_ms: r.get(4)? })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        pairs_of = pairs(&devices);
        let distinct: BTreeSet<(String, i64)> = pairs_of.iter().flatten().cloned().collect();
        let mut m = BTreeMap::new();
        {
            let mut stmt = tx.prepare_cached("SELECT count(*) FROM hub_sync_slot WHERE scope = ?1 AND seq > ?2")?;
            for (scope, since) in distinct {
                let n: i64 = stmt.query_row(rusqlite::params![scope, since], |r| r.get(0))?;
                m.insert((scope, since), n);
            }
        }
        counts = m;
        tx.commit()?;
    } else {
        return Err(HubError::Internal("sync: unknown backend".into()));
    }
    let mut per_store: BTreeMap<&str, (i64, f64)> = BTreeMap::new();
    let mut connected: BTreeSet<&str> = BTreeSet::new();
    for (d, pairs) in devices.iter().zip(&pairs_of) {
        let lag: i64 = pairs.iter().map(|p| counts.get(p).copied().unwrap_or(0)).sum();
        let since_ms = d.exchanged_ms.unwrap_or(d.enrolled_ms);
        let age = (now_ms - since_ms).max(0) as f64 / 1000.0;
        let e = per_store.entry(&d.store_id).or_insert((0, 0.0));
        e.0 = e.0.max(lag);
        e.1 = e.1.max(age);
        if d.exchanged_ms.is_some_and(|x| x >= now_ms - CONNECTED_WINDOW_MS) {
            connected.insert(&d.store_id);
        }
    }
    Ok(FleetStatus {
        connected_stores: connected.len() as u64,
        stores: per_store
            .into_iter()
            .map(|(store, (lag_changes, last_sync_age_seconds))| StoreStatus { store: store.to_owned(), lag_changes, last_sync_age_seconds })
            .collect(),
    })
}
