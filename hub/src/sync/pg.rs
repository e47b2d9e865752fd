//! The HQ replica's state in PostgreSQL: the core's `SyncStorage` over one transaction.
//!
//! Concurrency between instances (and requests of one instance):
//! - the hub's clock is kept in its own short, autocommitted statements on a second connection:
//!   a tick is one `UPDATE … GREATEST(last + n, wall) RETURNING`, so no two requests anywhere
//!   hand out the same message id, and no request holds the clock row for its duration;
//! - pushes (applies, enrolments) take a transaction-scoped advisory lock first, so merges of
//!   the same slot and raises of the vector never interleave;
//! - exchanges run in parallel, each in one REPEATABLE READ snapshot, so the chunks they send
//!   and the vector they claim come from the same instant.
//!
//! Round trips (an exchange is ≈ 7 of them, it was ≈ 40):
//! - every statement is prepared once per connection (with its parameter types) and then
//!   runs in one round trip, parsed and planned once (`run`);
//! - the first statement of a request reads the sender's device row together with the change
//!   sequence, the clock and the generations of the device registry and of the vector;
//! - the registry (the list of every device, for the scopes HQ holds) and the vector are kept
//!   per instance ([`Caches`]) and used only when the snapshot's generation equals the cached
//!   one (enrolments and raises bump them in the same transaction), so a cached fact is exactly
//!   what the snapshot would read; a device's own requests always read its row;
//! - writes whose results nothing reads back in the request (replay window, peer vector,
//!   delivery state, the commit time of a change, the notification) are kept and sent in one
//!   statement just before the commit; a read of a table with pending writes sends them first;
//! - the clock's observation is folded into the next tick, and an exchange reserves its two
//!   ticks (batch id, request id) in one statement;
//! - the changes scan reads the `(scope, site, hlc)` index per site of the scope, from the
//!   peer's vector entry on (a skip scan), for every scope of the request in one statement; a
//!   scope the peer has nothing of is read whole in key order (no sort).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use aisle::sync::{Clock, Device, Hlc, REPLAY_WINDOW, Role, Site, Slot, SlotKey, SlotValue, Stamp, SyncStorage, VersionVector};
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Row, Statement, Transaction};
use r2d2::Pool;

use crate::store::pg::Manager;

use super::{CHANGE_LOG_KEEP_MS, Done, Enrolled, propagation};

/// A small pool of its own for the clock's statements: each takes a connection for one
/// statement only, so a request holding its transaction's connection never waits for a second
/// one from the same pool (no pool-exhaustion deadlock).
pub struct ClockPool(Option<Pool<Manager>>);

impl ClockPool {
    pub fn open(url: &str) -> crate::error::Result<ClockPool> {
        let mut config: postgres::Config = url.parse().map_err(|e| crate::error::HubError::Config(format!("database URL: {e}")))?;
        // A tick holds the clock row until its commit; waiting for the WAL flush there would
        // serialise every request of every instance on the disk. Only a crash of PostgreSQL or
        // its machine loses such a commit (the last < 1 s of them), and a tick is at least the
        // wall clock, so the clock restarts past every id it handed out unless it ran ahead of
        // the wall clock (it observed a store up to the allowed skew ahead) by more than the
        // outage. Then an id may be handed out twice: the store refuses that message as a
        // replay and its next round, with new ids, fetches the same changes — nothing is lost.
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} -c synchronous_commit=off"),
            _ => "-c synchronous_commit=off".to_owned(),
        };
        config.options(&options);
        let pool = Pool::builder()
            .max_size(2)
            .min_idle(Some(1))
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(Manager::new(config))?;
        Ok(ClockPool(Some(pool)))
    }

    fn get(&self) -> aisle::Result<r2d2::PooledConnection<Manager>> {
        self.0
            .as_ref()
            .ok_or_else(|| aisle::Error::Store("hub clock pool closed".into()))?
            .get()
            .map_err(|e| aisle::Error::Store(format!("hub database: no connection for the clock: {e}")))
    }
}

impl Drop for ClockPool {
    /// Closed on a plain thread: the synchronous client must not be dropped on a tokio worker.
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let _ = std::thread::Builder::new().name("aisle-hub-clock-close".into()).spawn(move || drop(pool));
        }
    }
}

/// What an instance keeps between requests: the device registry and the hub's version vector,
/// each with the generation (`hub_sync_change.devices` / `.vector`) it was read at.
#[derive(Default)]
pub struct Caches {
    devices: Mutex<Option<Arc<DeviceCache>>>,
    vector: Mutex<Option<Arc<VectorCache>>>,
}

struct DeviceCache {
    generation: i64,
    all: Vec<Device>,
}

struct VectorCache {
    generation: i64,
    vector: VersionVector,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The PostgreSQL side of an instance: the clock's pool and the caches.
pub struct PgSide {
    pub clock: ClockPool,
    pub caches: Caches,
}

impl PgSide {
    pub fn open(url: &str) -> crate::error::Result<PgSide> {
        Ok(PgSide { clock: ClockPool::open(url)?, caches: Caches::default() })
    }
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
fn u(v: i64) -> u64 {
    v.max(0).unsigned_abs()
}

fn db(e: postgres::Error) -> aisle::Error {
    aisle::Error::Store(format!("hub database: {e}"))
}

/// Runs `sql` with `params` as a statement prepared on this connection (kept in `statements`
/// by its text). A failed statement is forgotten, so a plan a migration invalidated is
/// prepared again on the next request.
fn run(
    c: &mut impl GenericClient,
    statements: &mut HashMap<String, Statement>,
    sql: &str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> Result<Vec<Row>, postgres::Error> {
    let st = match statements.get(sql) {
        Some(st) => st.clone(),
        None => {
            let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
            let st = c.prepare_typed(sql, &types)?;
            statements.insert(sql.to_owned(), st.clone());
            st
        }
    };
    let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
    c.query(&st, &values).inspect_err(|_| {
        statements.remove(sql);
    })
}

/// `(value, type)` for `run`.
macro_rules! p {
    ($v:expr, $t:ident) => {
        (&$v as &(dyn ToSql + Sync), Type::$t)
    };
}

/// The database's clock in milliseconds since the epoch (the same on every instance).
pub(crate) const DB_NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::int8";

const SLOT_COLUMNS: &str = "scope, collection, key, sub, kind, owner, value, hlc, site, seq";

fn to_slot(r: &Row) -> aisle::Result<Slot> {
    let kind: i64 = r.get(4);
    let kind = u8::try_from(kind).map_err(|_| aisle::Error::Store(format!("hub_sync_slot: bad kind {kind}")))?;
    let value: Vec<u8> = r.get(6);
    Ok(Slot {
        key: SlotKey { scope: r.get(0), collection: r.get(1), key: r.get(2), sub: r.get(3), kind, owner: u(r.get(5)) },
        value: SlotValue::from_bytes(kind, &value)?,
        stamp: Stamp::new(Hlc(u(r.get(7))), u(r.get(8))),
    })
}


/// Reads `public_key, store_id, device_id, role, delegated, enrolled_ms` from column `at` on.
fn to_enrolled(r: &Row, at: usize) -> aisle::Result<Enrolled> {
    let damaged = |what: &str| aisle::Error::Store(format!("hub_sync_device holds a damaged {what}"));
    let key: Vec<u8> = r.get(at);
    let role: String = r.get(at + 3);
    let delegated: String = r.get(at + 4);
    Ok(Enrolled {
        device: Device {
            public_key: key.try_into().map_err(|_| damaged("public key"))?,
            store_id: r.get(at + 1),
            device_id: r.get(at + 2),
            role: Role::parse(&role).ok_or_else(|| damaged("role"))?,
            delegated: serde_json::from_str(&delegated).map_err(|_| damaged("delegation"))?,
        },
        enrolled_ms: r.get(at + 5),
    })
}

const DEVICE_COLUMNS: &str = "d.public_key, d.store_id, d.device_id, d.role, d.delegated, d.enrolled_ms";

/// What the first statement of a request reads.
struct Snap {
    seq: i64,
    devices: i64,
    vector: i64,
    last_hlc: i64,
}

/// The changes scan: per scope, each site's slots newer than the peer's entry for it, through
/// the `(scope, site, hlc)` index (the sites of a scope are found by a skip scan of the same
/// index: one probe per site, and a scope has a handful of writers).
const SCAN_SINCE: &str = "
WITH RECURSIVE sites (scope, site) AS (
    SELECT sc, (SELECT s.site FROM hub_sync_slot s WHERE s.scope = sc ORDER BY s.site LIMIT 1)
    FROM unnest($1::text[]) AS sc
  UNION ALL
    SELECT sites.scope, (SELECT s.site FROM hub_sync_slot s WHERE s.scope = sites.scope AND s.site > sites.site ORDER BY s.site LIMIT 1)
    FROM sites WHERE sites.site IS NOT NULL
), since (scope, site, hlc) AS (
    SELECT * FROM unnest($2::text[], $3::int8[], $4::int8[])
)
SELECT s.scope, s.collection, s.key, s.sub, s.kind, s.owner, s.value, s.hlc, s.site, s.seq
FROM sites
JOIN LATERAL (
    SELECT * FROM hub_sync_slot s
    WHERE s.scope = sites.scope AND s.site = sites.site
      AND s.hlc > COALESCE((SELECT v.hlc FROM since v WHERE v.scope = sites.scope AND v.site = sites.site), 0)
) s ON true
WHERE sites.site IS NOT NULL
ORDER BY s.scope COLLATE \"C\", s.collection COLLATE \"C\", s.key COLLATE \"C\", s.sub COLLATE \"C\", s.kind, s.owner";

/// The writes kept until the end of a request, in one statement (see the module comment); it
/// answers the database's clock, the commit times of the change sequences delivered, and
/// sends the notification of a push (delivered at commit).
const FLUSH: &str = "
WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8 AS ms),
seen AS (
    INSERT INTO hub_sync_seen (sender, msg) SELECT * FROM unnest($1::int8[], $2::int8[]) ON CONFLICT DO NOTHING
), keep AS (
    SELECT x.sender, (SELECT msg FROM hub_sync_seen WHERE sender = x.sender ORDER BY msg DESC OFFSET $4 LIMIT 1) AS low
    FROM (SELECT DISTINCT sender FROM unnest($1::int8[]) AS sender) x WHERE $3
), trim AS (
    DELETE FROM hub_sync_seen s USING keep WHERE s.sender = keep.sender AND s.msg < keep.low
), peer AS (
    INSERT INTO hub_sync_peer_vector (peer, scope, site, hlc) SELECT * FROM unnest($5::int8[], $6::text[], $7::int8[], $8::int8[])
    ON CONFLICT (peer, scope, site) DO UPDATE SET hlc = excluded.hlc WHERE hub_sync_peer_vector.hlc < excluded.hlc
), state AS (
    INSERT INTO hub_sync_store_state (public_key, delivered_seq, exchanged_ms)
    SELECT k, $10, now.ms FROM unnest($9::bytea[]) AS k, now
    ON CONFLICT (public_key) DO UPDATE SET
        delivered_seq = GREATEST(hub_sync_store_state.delivered_seq, excluded.delivered_seq),
        exchanged_ms = GREATEST(hub_sync_store_state.exchanged_ms, excluded.exchanged_ms)
), log AS (
    INSERT INTO hub_sync_change_log (seq, committed_ms) SELECT $11::int8, now.ms FROM now WHERE $11::int8 IS NOT NULL
    ON CONFLICT (seq) DO NOTHING
), prune AS (
    DELETE FROM hub_sync_change_log WHERE $12 AND committed_ms < (SELECT ms FROM now) - $13
)
SELECT now.ms, d.seqs, d.committed, CASE WHEN $11::int8 IS NOT NULL THEN pg_notify($14, $11::int8::text) END
FROM now CROSS JOIN LATERAL (
    SELECT array_agg(l.seq ORDER BY l.seq) AS seqs, array_agg(l.committed_ms ORDER BY l.seq) AS committed
    FROM hub_sync_change_log l WHERE l.seq = ANY($15::int8[])
) d";



/// Per scope, the slots of one scan with the change sequence of each.
type Scanned = BTreeMap<String, Vec<(Slot, i64)>>;

/// One sync operation's view of the database.
pub struct PgStorage<'t, 'c> {
    pub tx: &'t mut Transaction<'c>,
    /// The statements prepared on the transaction's connection.
    statements: &'t mut HashMap<String, Statement>,
    /// The change sequence this transaction's slot writes carry (taken at the first write).
    pub seq: Option<i64>,
    /// Where the clock is moved (autocommit, outside `tx`).
    clock: &'t ClockPool,
    caches: &'t Caches,
    /// An exchange: the first device asked for is the peer, whose delivery state is recorded.
    exchange: bool,
    snap: Option<Snap>,
    /// Devices read in this transaction (when the registry is not cached).
    fetched: HashMap<[u8; 32], Option<Enrolled>>,
    /// The registry as of this snapshot (`None` until needed, or after an enrolment here).
    devices: Option<Arc<DeviceCache>>,
    enrolled_here: bool,
    vector: Option<VersionVector>,
    raised_here: bool,
    pending_seen: BTreeSet<(i64, i64)>,
    pending_peer: BTreeMap<(i64, String, i64), i64>,
    /// The clock's newest observation not yet written (folded into the next tick).
    observed: Option<Hlc>,
    ticks: VecDeque<Hlc>,
    /// The slots of every scope of one `since` vector, read in one statement.
    scanned: Option<(VersionVector, Scanned)>,
    peer: Option<Enrolled>,
    /// Change sequences delivered in this exchange's answer.
    delivered: BTreeSet<i64>,
}

impl<'t, 'c> PgStorage<'t, 'c> {
    pub fn new(tx: &'t mut Transaction<'c>, statements: &'t mut HashMap<String, Statement>, side: &'t PgSide, exchange: bool) -> Self {
        PgStorage {
            tx,
            statements,
            seq: None,
            clock: &side.clock,
            caches: &side.caches,
            exchange,
            snap: None,
            fetched: HashMap::new(),
            devices: None,
            enrolled_here: false,
            vector: None,
            raised_here: false,
            pending_seen: BTreeSet::new(),
            pending_peer: BTreeMap::new(),
            observed: None,
            ticks: VecDeque::new(),
            scanned: None,
            peer: None,
            delivered: BTreeSet::new(),
        }
    }

    fn q(&mut self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> aisle::Result<Vec<Row>> {
        run(&mut *self.tx, &mut *self.statements, sql, params).map_err(db)
    }

    fn q_opt(&mut self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> aisle::Result<Option<Row>> {
        Ok(self.q(sql, params)?.into_iter().next())
    }

    fn q_one(&mut self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> aisle::Result<Row> {
        self.q_opt(sql, params)?.ok_or_else(|| aisle::Error::Store(format!("hub database: no row from {sql}")))
    }

    /// A statement on the clock's own connection (autocommitted).
    fn clock_one(&mut self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> aisle::Result<Option<Row>> {
        let mut c = self.clock.get()?;
        let conn = &mut *c;
        Ok(run(&mut conn.client, &mut conn.statements, sql, params).map_err(db)?.into_iter().next())
    }

    /// The request's first read: change sequence, generations and clock (with the device row
    /// of `key`, if given, in the same statement).
    fn load_snap(&mut self, key: Option<&[u8; 32]>) -> aisle::Result<()> {
        let k: &[u8] = key.map_or(&[], |k| &k[..]);
        let r = self.q_one(
            &format!(
                "SELECT c.seq, c.devices, c.vector, i.last_hlc, {DEVICE_COLUMNS}
                 FROM hub_sync_change c CROSS JOIN hub_sync_identity i LEFT JOIN hub_sync_device d ON d.public_key = $1
                 WHERE c.id = 1 AND i.id = 1"
            ),
            &[p!(k, BYTEA)],
        )?;
        self.snap = Some(Snap { seq: r.get(0), devices: r.get(1), vector: r.get(2), last_hlc: r.get(3) });
        if let Some(key) = key {
            let found = if r.get::<_, Option<Vec<u8>>>(4).is_some() { Some(to_enrolled(&r, 4)?) } else { None };
            self.fetched.insert(*key, found);
        }
        Ok(())
    }

    fn snap(&mut self) -> aisle::Result<&Snap> {
        if self.snap.is_none() {
            self.load_snap(None)?;
        }
        self.snap.as_ref().ok_or_else(|| aisle::Error::Store("hub: no snapshot".into()))
    }

    /// The registry as this transaction sees it: the instance's copy if it is of this
    /// snapshot's generation, else read (and kept, if newer than the kept one).
    fn registry(&mut self) -> aisle::Result<Arc<DeviceCache>> {
        if let Some(d) = &self.devices {
            return Ok(d.clone());
        }
        let generation = self.snap()?.devices;
        let kept = lock(&self.caches.devices).as_ref().filter(|c| c.generation == generation).cloned();
        if let (false, Some(c)) = (self.enrolled_here, kept) {
            self.devices = Some(c.clone());
            return Ok(c);
        }
        let rows = self.q(&format!("SELECT {DEVICE_COLUMNS} FROM hub_sync_device d ORDER BY d.public_key"), &[])?;
        let all = rows.iter().map(|r| to_enrolled(r, 0).map(|e| e.device)).collect::<aisle::Result<Vec<_>>>()?;
        let cache = Arc::new(DeviceCache { generation, all });
        if !self.enrolled_here {
            let mut kept = lock(&self.caches.devices);
            if kept.as_ref().is_none_or(|k| k.generation < generation) {
                *kept = Some(cache.clone());
            }
        }
        self.devices = Some(cache.clone());
        Ok(cache)
    }

    /// A device as this transaction reads it. Never from the instance's copy of the registry:
    /// a device's requests are checked against its row as it is now (the first statement of a
    /// request reads it, later lookups read it on their own).
    fn enrolled(&mut self, key: &[u8; 32]) -> aisle::Result<Option<Enrolled>> {
        if self.snap.is_none() {
            self.load_snap(Some(key))?;
        }
        if let Some(hit) = self.fetched.get(key) {
            return Ok(hit.clone());
        }
        let row = self.q_opt(&format!("SELECT {DEVICE_COLUMNS} FROM hub_sync_device d WHERE d.public_key = $1"), &[p!(&key[..], BYTEA)])?;
        let found = row.as_ref().map(|r| to_enrolled(r, 0)).transpose()?;
        self.fetched.insert(*key, found.clone());
        Ok(found)
    }

    fn change_seq(&mut self) -> aisle::Result<i64> {
        if let Some(s) = self.seq {
            return Ok(s);
        }
        let s: i64 = self.q_one("UPDATE hub_sync_change SET seq = seq + 1 WHERE id = 1 RETURNING seq", &[])?.get(0);
        self.seq = Some(s);
        Ok(s)
    }

    /// Sends the pending writes (and, at the end of a request, the delivery state, the commit
    /// time and notification of a push); answers the database clock and the commit times of
    /// the delivered change sequences.
    fn flush(&mut self, end: Option<&str>) -> aisle::Result<(i64, Vec<i64>)> {
        let (senders, msgs): (Vec<i64>, Vec<i64>) = std::mem::take(&mut self.pending_seen).into_iter().unzip();
        let mut peers = Vec::new();
        let mut scopes = Vec::new();
        let mut sites = Vec::new();
        let mut hlcs = Vec::new();
        for ((peer, scope, site), hlc) in std::mem::take(&mut self.pending_peer) {
            peers.push(peer);
            scopes.push(scope);
            sites.push(site);
            hlcs.push(hlc);
        }
        // The window is trimmed now and then, not on every message: more than
        // REPLAY_WINDOW ids kept only means more of them can be told apart (`seen`).
        let trim = !senders.is_empty() && fastrand::u32(..16) == 0;
        let window = REPLAY_WINDOW as i64 - 1;
        let (states, delivered_seq): (Vec<Vec<u8>>, i64) = match (&end, self.exchange, &self.peer, &self.snap) {
            (Some(_), true, Some(p), Some(s)) => (vec![p.device.public_key.to_vec()], s.seq),
            _ => (Vec::new(), 0),
        };
        let log_seq: Option<i64> = if end.is_some() { self.seq } else { None };
        let prune = log_seq.is_some() && fastrand::u32(..64) == 0;
        let channel = end.unwrap_or("");
        let wanted: Vec<i64> = if end.is_some() { self.delivered.iter().copied().collect() } else { Vec::new() };
        let r = self.q_one(
            FLUSH,
            &[
                p!(senders, INT8_ARRAY),
                p!(msgs, INT8_ARRAY),
                p!(trim, BOOL),
                p!(window, INT8),
                p!(peers, INT8_ARRAY),
                p!(scopes, TEXT_ARRAY),
                p!(sites, INT8_ARRAY),
                p!(hlcs, INT8_ARRAY),
                p!(states, BYTEA_ARRAY),
                p!(delivered_seq, INT8),
                p!(log_seq, INT8),
                p!(prune, BOOL),
                p!(CHANGE_LOG_KEEP_MS, INT8),
                p!(channel, TEXT),
                p!(wanted, INT8_ARRAY),
            ],
        )?;
        let committed: Option<Vec<i64>> = r.get(2);
        Ok((r.get(0), committed.unwrap_or_default()))
    }

    /// Ends the request before its commit: sends what is pending; `channel` is where a push
    /// announces its change sequence.
    pub fn finish(&mut self, channel: &str) -> aisle::Result<Done> {
        if let Some(h) = self.observed.take() {
            self.clock_one("UPDATE hub_sync_identity SET last_hlc = GREATEST(last_hlc, $1) WHERE id = 1", &[p!(i(h.0), INT8)])?;
        }
        let needed = !self.pending_seen.is_empty() || !self.pending_peer.is_empty() || self.seq.is_some() || (self.exchange && self.peer.is_some());
        if !needed {
            return Ok(Done { seq: self.seq, propagation: Vec::new() });
        }
        let (now_ms, committed) = self.flush(Some(channel))?;
        Ok(Done { seq: self.seq, propagation: propagation(self.peer.as_ref(), now_ms, committed) })
    }
}

impl SyncStorage for PgStorage<'_, '_> {
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> aisle::Result<Vec<Slot>> {
        let rows = self.q(
            &format!("SELECT {SLOT_COLUMNS} FROM hub_sync_slot WHERE scope = $1 AND collection = $2 AND key = $3 ORDER BY sub, kind, owner"),
            &[p!(scope, TEXT), p!(collection, TEXT), p!(key, TEXT)],
        )?;
        rows.iter().map(to_slot).collect()
    }

    fn get(&mut self, k: &SlotKey) -> aisle::Result<Option<Slot>> {
        let row = self.q_opt(
            &format!(
                "SELECT {SLOT_COLUMNS} FROM hub_sync_slot
                 WHERE scope = $1 AND collection = $2 AND key = $3 AND sub = $4 AND kind = $5 AND owner = $6"
            ),
            &[p!(k.scope, TEXT), p!(k.collection, TEXT), p!(k.key, TEXT), p!(k.sub, TEXT), p!(i64::from(k.kind), INT8), p!(i(k.owner), INT8)],
        )?;
        row.as_ref().map(to_slot).transpose()
    }

    fn put(&mut self, s: Slot) -> aisle::Result<()> {
        let seq = self.change_seq()?;
        self.scanned = None;
        let k = &s.key;
        self.q(
            "INSERT INTO hub_sync_slot (scope, collection, key, sub, kind, owner, value, hlc, site, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (scope, collection, key, sub, kind, owner)
             DO UPDATE SET value = excluded.value, hlc = excluded.hlc, site = excluded.site, seq = excluded.seq",
            &[
                p!(k.scope, TEXT),
                p!(k.collection, TEXT),
                p!(k.key, TEXT),
                p!(k.sub, TEXT),
                p!(i64::from(k.kind), INT8),
                p!(i(k.owner), INT8),
                p!(s.value.to_bytes(), BYTEA),
                p!(i(s.stamp.hlc.0), INT8),
                p!(i(s.stamp.site), INT8),
                p!(seq, INT8),
            ],
        )?;
        Ok(())
    }

    fn remove(&mut self, k: &SlotKey) -> aisle::Result<()> {
        self.change_seq()?;
        self.scanned = None;
        self.q(
            "DELETE FROM hub_sync_slot WHERE scope = $1 AND collection = $2 AND key = $3 AND sub = $4 AND kind = $5 AND owner = $6",
            &[p!(k.scope, TEXT), p!(k.collection, TEXT), p!(k.key, TEXT), p!(k.sub, TEXT), p!(i64::from(k.kind), INT8), p!(i(k.owner), INT8)],
        )?;
        Ok(())
    }

    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> aisle::Result<()> {
        let (Some(scope), Some(since)) = (scope, since) else {
            let rows = self.q(
                &format!("SELECT {SLOT_COLUMNS} FROM hub_sync_slot WHERE $1::text IS NULL OR scope = $1 ORDER BY scope, collection, key, sub, kind, owner"),
                &[p!(scope, TEXT)],
            )?;
            for r in &rows {
                if let Some(v) = since {
                    let scope: &str = r.get(0);
                    if v.covers(scope, Stamp::new(Hlc(u(r.get(7))), u(r.get(8)))) {
                        continue;
                    }
                }
                f(to_slot(r)?);
            }
            return Ok(());
        };
        // Every scope of the vector at once: an exchange scans each of them with this vector.
        // A scope the peer has nothing of (a new store) is read whole in key order (the
        // primary key: no sort); the others through the index, from the peer's entries on.
        if self.scanned.as_ref().is_none_or(|(v, _)| v != since) {
            let mut scopes: BTreeSet<&str> = since.scopes().collect();
            scopes.insert(scope);
            let (fresh, known): (Vec<&str>, Vec<&str>) = scopes.into_iter().partition(|sc| since.0.get(*sc).is_none_or(|m| m.is_empty()));
            let mut by_scope: Scanned = BTreeMap::new();
            for sc in fresh {
                let rows = self.q(
                    &format!("SELECT {SLOT_COLUMNS} FROM hub_sync_slot WHERE scope = $1 ORDER BY collection, key, sub, kind, owner"),
                    &[p!(sc, TEXT)],
                )?;
                let mut slots = Vec::with_capacity(rows.len());
                for r in &rows {
                    if !since.covers(sc, Stamp::new(Hlc(u(r.get(7))), u(r.get(8)))) {
                        slots.push((to_slot(r)?, r.get(9)));
                    }
                }
                by_scope.insert(sc.to_owned(), slots);
            }
            if !known.is_empty() {
                let (mut vs, mut vsite, mut vh) = (Vec::new(), Vec::new(), Vec::new());
                for (sc, sites) in &since.0 {
                    for (site, hlc) in sites {
                        vs.push(sc.as_str());
                        vsite.push(i(*site));
                        vh.push(i(hlc.0));
                    }
                }
                let rows = self.q(SCAN_SINCE, &[p!(known, TEXT_ARRAY), p!(vs, TEXT_ARRAY), p!(vsite, INT8_ARRAY), p!(vh, INT8_ARRAY)])?;
                for r in &rows {
                    let slot = to_slot(r)?;
                    by_scope.entry(slot.key.scope.clone()).or_default().push((slot, r.get(9)));
                }
            }
            self.scanned = Some((since.clone(), by_scope));
        }
        let slots = self.scanned.as_mut().and_then(|(_, m)| m.remove(scope)).unwrap_or_default();
        for (slot, seq) in slots {
            if self.exchange {
                self.delivered.insert(seq);
            }
            f(slot);
        }
        Ok(())
    }

    fn vector(&mut self) -> aisle::Result<VersionVector> {
        if let Some(v) = &self.vector {
            return Ok(v.clone());
        }
        let generation = self.snap()?.vector;
        let kept = lock(&self.caches.vector).as_ref().filter(|c| c.generation == generation).cloned();
        if let (false, Some(c)) = (self.raised_here, kept) {
            self.vector = Some(c.vector.clone());
            return Ok(c.vector.clone());
        }
        let mut v = VersionVector::default();
        for r in self.q("SELECT scope, site, hlc FROM hub_sync_vector", &[])? {
            let scope: String = r.get(0);
            v.raise(&scope, u(r.get(1)), Hlc(u(r.get(2))));
        }
        if !self.raised_here {
            let mut kept = lock(&self.caches.vector);
            if kept.as_ref().is_none_or(|k| k.generation < generation) {
                *kept = Some(Arc::new(VectorCache { generation, vector: v.clone() }));
            }
        }
        self.vector = Some(v.clone());
        Ok(v)
    }

    fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) -> aisle::Result<()> {
        // The first raise of a transaction bumps the vector's generation (instances drop their copy).
        let bump = !self.raised_here;
        self.q(
            "WITH g AS (UPDATE hub_sync_change SET vector = vector + 1 WHERE id = 1 AND $4)
             INSERT INTO hub_sync_vector (scope, site, hlc) VALUES ($1, $2, $3)
             ON CONFLICT (scope, site) DO UPDATE SET hlc = GREATEST(hub_sync_vector.hlc, excluded.hlc)",
            &[p!(scope, TEXT), p!(i(site), INT8), p!(i(hlc.0), INT8), p!(bump, BOOL)],
        )?;
        self.raised_here = true;
        if let Some(v) = &mut self.vector {
            v.raise(scope, site, hlc);
        }
        Ok(())
    }

    fn peer_vectors(&mut self) -> aisle::Result<BTreeMap<Site, VersionVector>> {
        if !self.pending_peer.is_empty() {
            self.flush(None)?;
        }
        let mut out: BTreeMap<Site, VersionVector> = BTreeMap::new();
        for r in self.q("SELECT peer, scope, site, hlc FROM hub_sync_peer_vector", &[])? {
            let scope: String = r.get(1);
            out.entry(u(r.get(0))).or_default().raise(&scope, u(r.get(2)), Hlc(u(r.get(3))));
        }
        Ok(out)
    }

    fn note_peer_vector(&mut self, peer: Site, v: &VersionVector) -> aisle::Result<()> {
        for (scope, sites) in &v.0 {
            for (site, hlc) in sites {
                let e = self.pending_peer.entry((i(peer), scope.clone(), i(*site))).or_default();
                *e = (*e).max(i(hlc.0));
            }
        }
        Ok(())
    }

    fn seen(&mut self, sender: Site, msg: u64) -> aisle::Result<bool> {
        if self.pending_seen.iter().any(|(s, _)| *s == i(sender)) {
            self.flush(None)?;
        }
        // Two index probes; the window's size is only needed for an id below the oldest kept.
        let r = self.q_one(
            "SELECT EXISTS (SELECT 1 FROM hub_sync_seen WHERE sender = $1 AND msg = $2),
                    (SELECT min(msg) FROM hub_sync_seen WHERE sender = $1)",
            &[p!(i(sender), INT8), p!(i(msg), INT8)],
        )?;
        let (hit, min): (bool, Option<i64>) = (r.get(0), r.get(1));
        if hit {
            return Ok(true);
        }
        match min {
            Some(m) if i(msg) < m => {
                let n: i64 = self.q_one("SELECT count(*) FROM hub_sync_seen WHERE sender = $1", &[p!(i(sender), INT8)])?
                    .get(0);
                Ok(u(n) >= REPLAY_WINDOW as u64)
            }
            _ => Ok(false),
        }
    }

    fn mark_seen(&mut self, sender: Site, msg: u64) -> aisle::Result<()> {
        self.pending_seen.insert((i(sender), i(msg)));
        Ok(())
    }

    fn batch_chunk(&mut self, sender: Site, batch: u64, count: u32, index: u32) -> aisle::Result<bool> {
        if count == 1 {
            return Ok(true);
        }
        let got: Option<String> = self.q_opt("SELECT received FROM hub_sync_batch WHERE sender = $1 AND batch = $2", &[p!(i(sender), INT8), p!(i(batch), INT8)])?
            .map(|r| r.get(0));
        let (done, received) = super::mark_chunk(got.as_deref(), count, index);
        if done {
            self.q("DELETE FROM hub_sync_batch WHERE sender = $1 AND batch = $2", &[p!(i(sender), INT8), p!(i(batch), INT8)])?;
        } else {
            self.q(
                "INSERT INTO hub_sync_batch (sender, batch, total, received) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sender, batch) DO UPDATE SET received = excluded.received",
                &[p!(i(sender), INT8), p!(i(batch), INT8), p!(i64::from(count), INT8), p!(received, TEXT)],
            )?;
        }
        Ok(done)
    }

    fn device(&mut self, public_key: &[u8; 32]) -> aisle::Result<Option<Device>> {
        let found = self.enrolled(public_key)?;
        if self.exchange && self.peer.is_none() {
            self.peer = found.clone();
        }
        Ok(found.map(|e| e.device))
    }

    fn devices(&mut self) -> aisle::Result<Vec<Device>> {
        Ok(self.registry()?.all.clone())
    }

    fn enroll(&mut self, d: &Device) -> aisle::Result<()> {
        let delegated = serde_json::to_string(&d.delegated).map_err(|e| aisle::Error::Store(e.to_string()))?;
        // Bumps the registry's generation: every instance drops its copy.
        self.q(
            &format!(
                "WITH g AS (UPDATE hub_sync_change SET devices = devices + 1 WHERE id = 1)
                 INSERT INTO hub_sync_device (public_key, store_id, device_id, role, delegated, enrolled_ms)
                 VALUES ($1, $2, $3, $4, $5, {DB_NOW_MS})
                 ON CONFLICT (public_key) DO UPDATE SET store_id = excluded.store_id, device_id = excluded.device_id,
                   role = excluded.role, delegated = excluded.delegated"
            ),
            &[p!(&d.public_key[..], BYTEA), p!(d.store_id, TEXT), p!(d.device_id, TEXT), p!(d.role.as_str(), TEXT), p!(delegated, TEXT)],
        )?;
        self.enrolled_here = true;
        self.devices = None;
        self.fetched.clear();
        Ok(())
    }

    fn clock(&mut self) -> aisle::Result<Clock> {
        // The snapshot's reading is a lower bound; writes take the greatest (`save_clock`, `tick`).
        let last = self.snap()?.last_hlc;
        Ok(Clock::new(Hlc(u(last).max(self.observed.map_or(0, |h| h.0)))))
    }

    fn save_clock(&mut self, clock: &Clock) -> aisle::Result<()> {
        self.observed = Some(self.observed.map_or(clock.last(), |h| h.max(clock.last())));
        Ok(())
    }

    fn tick(&mut self, now_ms: u64) -> aisle::Result<Hlc> {
        if let Some(h) = self.ticks.pop_front() {
            return Ok(h);
        }
        // An exchange uses two ids (its answer's batch, its own request): one statement for both.
        let n: i64 = if self.exchange { 2 } else { 1 };
        let wall = Hlc::from_parts(now_ms.min(u64::MAX >> 16), 0);
        let observed = self.observed.take().map_or(0, |h| i(h.0));
        let last: i64 = self
            .clock_one(
                "UPDATE hub_sync_identity SET last_hlc = GREATEST(GREATEST(last_hlc, $2) + $3, $1 + $3 - 1) WHERE id = 1 RETURNING last_hlc",
                &[p!(i(wall.0), INT8), p!(observed, INT8), p!(n, INT8)],
            )?
            .ok_or_else(|| aisle::Error::Store("hub database: no clock row".into()))?
            .get(0);
        let first = last - (n - 1);
        for h in first + 1..=last {
            self.ticks.push_back(Hlc(u(h)));
        }
        Ok(Hlc(u(first)))
    }
}
