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

/// What an instance keeps for the sync side: the HQ replica and the change feed.
pub struct SyncState {
    pub replica: HostedReplica,
    /// PostgreSQL: the clock's own connections (`pg::ClockPool`).
    clock: Option<pg::ClockPool>,
    /// The newest change sequence this instance knows of (its own pushes and other instances').
    pub changes: tokio::sync::watch::Sender<i64>,
    stop: Arc<AtomicBool>,
}

impl Drop for SyncState {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl SyncState {
    /// Loads (or, on the first instance, creates) the HQ identity and starts the change feed.
    pub fn start(backend: &Arc<dyn Backend>, database: &str) -> Result<SyncState> {
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
        let clock = match backend.as_any().downcast_ref::<Postgres>() {
            Some(_) => Some(pg::ClockPool::open(database)?),
            None => None,
        };
        with_storage(backend.as_ref(), clock.as_ref(), Access::Write, |st| replica.enroll_self(st))?;
        let current = current_seq(backend.as_ref())?;
        let (changes, _) = tokio::sync::watch::channel(current);
        let stop = Arc::new(AtomicBool::new(false));
        start_feed(backend, database, changes.clone(), stop.clone())?;
        Ok(SyncState { replica, clock, changes, stop })
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
/// succeeds (announcing the change sequence it wrote, if any), rolls back if it fails.
pub fn with_storage<T>(
    backend: &dyn Backend,
    clock: Option<&pg::ClockPool>,
    access: Access,
    f: impl FnOnce(&mut dyn SyncStorage) -> aisle::Result<T>,
) -> Result<(T, Option<i64>)> {
    if let Some(pg) = backend.as_any().downcast_ref::<Postgres>() {
        let clock = clock.ok_or_else(|| HubError::Internal("sync: no clock pool for PostgreSQL".into()))?;
        let mut c = pg.pool().get()?;
        let mut tx = match access {
            Access::Exchange => c.build_transaction().isolation_level(postgres::IsolationLevel::RepeatableRead).start()?,
            Access::Write => c.transaction()?,
        };
        if access == Access::Write {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        }
        let mut st = pg::PgStorage::new(&mut tx, clock);
        let out = f(&mut st).map_err(HubError::Core)?;
        let seq = st.seq;
        drop(st);
        if let Some(s) = seq {
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &s.to_string()])?;
        }
        tx.commit()?;
        Ok((out, seq))
    } else if let Some(sq) = backend.as_any().downcast_ref::<Sqlite>() {
        let mut c = sq.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut st = sqlite::SqliteStorage::new(&tx);
        let out = f(&mut st).map_err(HubError::Core)?;
        let seq = st.seq;
        tx.commit()?;
        Ok((out, seq))
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
    let s = state.clone();
    let out = blocking(move || {
        let sync = &s.sync;
        with_storage(s.backend.as_ref(), sync.clock.as_ref(), Access::Exchange, |st| sync.replica.serve_exchange(st, &body, now_u64()))
    })
    .await;
    match out {
        Ok((bytes, _)) => ([(header::CONTENT_TYPE, aisle::sync::SYNC_CONTENT_TYPE)], bytes).into_response(),
        Err(e) => refusal(e),
    }
}

async fn push(State(state): State<Arc<HubState>>, body: Bytes) -> Response {
    let s = state.clone();
    let out = blocking(move || {
        let sync = &s.sync;
        with_storage(s.backend.as_ref(), sync.clock.as_ref(), Access::Write, |st| sync.replica.serve_push(st, &body, now_u64()))
    })
    .await;
    match out {
        Ok(((report, _), seq)) => {
            if let Some(seq) = seq {
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
    let out = blocking(move || with_storage(s.backend.as_ref(), s.sync.clock.as_ref(), Access::Write, |st| st.enroll(&card)).map(|_| card)).await;
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
    with_storage(state.backend.as_ref(), state.sync.clock.as_ref(), Access::Write, |st| st.enroll(card)).map(|_| ())
}

/// The hub's device card (what `GET /v1/sync/identity` answers).
pub fn card(state: &HubState) -> Device {
    state.sync.replica.card()
}
