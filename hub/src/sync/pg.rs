//! The HQ replica's state in PostgreSQL: the core's `SyncStorage` over one transaction.
//!
//! Concurrency between instances (and requests of one instance):
//! - the hub's clock is kept in its own short, autocommitted statements on a second connection:
//!   a tick is one `UPDATE … GREATEST(last + 1, wall) RETURNING`, so no two requests anywhere
//!   hand out the same message id, and no request holds the clock row for its duration;
//! - pushes (applies, enrolments) take a transaction-scoped advisory lock first, so merges of
//!   the same slot and raises of the vector never interleave;
//! - exchanges run in parallel, each in one REPEATABLE READ snapshot, so the chunks they send
//!   and the vector they claim come from the same instant.

use std::collections::BTreeMap;

use aisle::sync::{Clock, Device, Hlc, REPLAY_WINDOW, Role, Site, Slot, SlotKey, SlotValue, Stamp, SyncStorage, VersionVector};
use postgres::{NoTls, Transaction};
use r2d2::Pool;
use r2d2_postgres::PostgresConnectionManager;

/// A small pool of its own for the clock's statements: each takes a connection for one
/// statement only, so a request holding its transaction's connection never waits for a second
/// one from the same pool (no pool-exhaustion deadlock).
pub struct ClockPool(Option<Pool<PostgresConnectionManager<NoTls>>>);

impl ClockPool {
    pub fn open(url: &str) -> crate::error::Result<ClockPool> {
        let config: postgres::Config = url.parse().map_err(|e| crate::error::HubError::Config(format!("database URL: {e}")))?;
        let pool = Pool::builder()
            .max_size(2)
            .min_idle(Some(1))
            .connection_timeout(std::time::Duration::from_secs(10))
            .build(PostgresConnectionManager::new(config, NoTls))?;
        Ok(ClockPool(Some(pool)))
    }

    fn get(&self) -> aisle::Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
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

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
fn u(v: i64) -> u64 {
    v.max(0).unsigned_abs()
}

fn db(e: postgres::Error) -> aisle::Error {
    aisle::Error::Store(format!("hub database: {e}"))
}

const SLOT_COLUMNS: &str = "scope, collection, key, sub, kind, owner, value, hlc, site";

fn to_slot(r: &postgres::Row) -> aisle::Result<Slot> {
    let kind: i64 = r.get(4);
    let kind = u8::try_from(kind).map_err(|_| aisle::Error::Store(format!("hub_sync_slot: bad kind {kind}")))?;
    let value: Vec<u8> = r.get(6);
    Ok(Slot {
        key: SlotKey { scope: r.get(0), collection: r.get(1), key: r.get(2), sub: r.get(3), kind, owner: u(r.get(5)) },
        value: SlotValue::from_bytes(kind, &value)?,
        stamp: Stamp::new(Hlc(u(r.get(7))), u(r.get(8))),
    })
}

fn to_device(r: &postgres::Row) -> aisle::Result<Device> {
    let damaged = |what: &str| aisle::Error::Store(format!("hub_sync_device holds a damaged {what}"));
    let key: Vec<u8> = r.get(0);
    let role: String = r.get(3);
    let delegated: String = r.get(4);
    Ok(Device {
        public_key: key.try_into().map_err(|_| damaged("public key"))?,
        store_id: r.get(1),
        device_id: r.get(2),
        role: Role::parse(&role).ok_or_else(|| damaged("role"))?,
        delegated: serde_json::from_str(&delegated).map_err(|_| damaged("delegation"))?,
    })
}

/// One sync operation's view of the database.
pub struct PgStorage<'t, 'c> {
    pub tx: &'t mut Transaction<'c>,
    /// The change sequence this transaction's slot writes carry (taken at the first write).
    pub seq: Option<i64>,
    /// Where the clock is read and moved (autocommit, outside `tx`).
    clock: &'t ClockPool,
}

impl<'t, 'c> PgStorage<'t, 'c> {
    pub fn new(tx: &'t mut Transaction<'c>, clock: &'t ClockPool) -> Self {
        PgStorage { tx, seq: None, clock }
    }

    fn change_seq(&mut self) -> aisle::Result<i64> {
        if let Some(s) = self.seq {
            return Ok(s);
        }
        let s: i64 = self.tx.query_one("UPDATE hub_sync_change SET seq = seq + 1 WHERE id = 1 RETURNING seq", &[]).map_err(db)?.get(0);
        self.seq = Some(s);
        Ok(s)
    }
}

impl SyncStorage for PgStorage<'_, '_> {
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> aisle::Result<Vec<Slot>> {
        let rows = self
            .tx
            .query(
                &format!("SELECT {SLOT_COLUMNS} FROM hub_sync_slot WHERE scope = $1 AND collection = $2 AND key = $3 ORDER BY sub, kind, owner"),
                &[&scope, &collection, &key],
            )
            .map_err(db)?;
        rows.iter().map(to_slot).collect()
    }

    fn get(&mut self, k: &SlotKey) -> aisle::Result<Option<Slot>> {
        let row = self
            .tx
            .query_opt(
                &format!(
                    "SELECT {SLOT_COLUMNS} FROM hub_sync_slot
                     WHERE scope = $1 AND collection = $2 AND key = $3 AND sub = $4 AND kind = $5 AND owner = $6"
                ),
                &[&k.scope, &k.collection, &k.key, &k.sub, &i64::from(k.kind), &i(k.owner)],
            )
            .map_err(db)?;
        row.as_ref().map(to_slot).transpose()
    }

    fn put(&mut self, s: Slot) -> aisle::Result<()> {
        let seq = self.change_seq()?;
        let k = &s.key;
        self.tx
            .execute(
                "INSERT INTO hub_sync_slot (scope, collection, key, sub, kind, owner, value, hlc, site, seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (scope, collection, key, sub, kind, owner)
                 DO UPDATE SET value = excluded.value, hlc = excluded.hlc, site = excluded.site, seq = excluded.seq",
                &[&k.scope, &k.collection, &k.key, &k.sub, &i64::from(k.kind), &i(k.owner), &s.value.to_bytes(), &i(s.stamp.hlc.0), &i(s.stamp.site), &seq],
            )
            .map_err(db)?;
        Ok(())
    }

    fn remove(&mut self, k: &SlotKey) -> aisle::Result<()> {
        self.change_seq()?;
        self.tx
            .execute(
                "DELETE FROM hub_sync_slot WHERE scope = $1 AND collection = $2 AND key = $3 AND sub = $4 AND kind = $5 AND owner = $6",
                &[&k.scope, &k.collection, &k.key, &k.sub, &i64::from(k.kind), &i(k.owner)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> aisle::Result<()> {
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {SLOT_COLUMNS} FROM hub_sync_slot WHERE $1::text IS NULL OR scope = $1
                     ORDER BY scope, collection, key, sub, kind, owner"
                ),
                &[&scope],
            )
            .map_err(db)?;
        for r in &rows {
            if let Some(v) = since {
                let scope: &str = r.get(0);
                if v.covers(scope, Stamp::new(Hlc(u(r.get(7))), u(r.get(8)))) {
                    continue;
                }
            }
            f(to_slot(r)?);
        }
        Ok(())
    }

    fn vector(&mut self) -> aisle::Result<VersionVector> {
        let mut v = VersionVector::default();
        for r in self.tx.query("SELECT scope, site, hlc FROM hub_sync_vector", &[]).map_err(db)? {
            let scope: String = r.get(0);
            v.raise(&scope, u(r.get(1)), Hlc(u(r.get(2))));
        }
        Ok(v)
    }

    fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) -> aisle::Result<()> {
        self.tx
            .execute(
                "INSERT INTO hub_sync_vector (scope, site, hlc) VALUES ($1, $2, $3)
                 ON CONFLICT (scope, site) DO UPDATE SET hlc = GREATEST(hub_sync_vector.hlc, excluded.hlc)",
                &[&scope, &i(site), &i(hlc.0)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn peer_vectors(&mut self) -> aisle::Result<BTreeMap<Site, VersionVector>> {
        let mut out: BTreeMap<Site, VersionVector> = BTreeMap::new();
        for r in self.tx.query("SELECT peer, scope, site, hlc FROM hub_sync_peer_vector", &[]).map_err(db)? {
            let scope: String = r.get(1);
            out.entry(u(r.get(0))).or_default().raise(&scope, u(r.get(2)), Hlc(u(r.get(3))));
        }
        Ok(out)
    }

    fn note_peer_vector(&mut self, peer: Site, v: &VersionVector) -> aisle::Result<()> {
        for (scope, sites) in &v.0 {
            for (site, hlc) in sites {
                self.tx
                    .execute(
                        "INSERT INTO hub_sync_peer_vector (peer, scope, site, hlc) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (peer, scope, site) DO UPDATE SET hlc = GREATEST(hub_sync_peer_vector.hlc, excluded.hlc)",
                        &[&i(peer), scope, &i(*site), &i(hlc.0)],
                    )
                    .map_err(db)?;
            }
        }
        Ok(())
    }

    fn seen(&mut self, sender: Site, msg: u64) -> aisle::Result<bool> {
        let r = self
            .tx
            .query_one(
                "SELECT count(*), min(msg), count(*) FILTER (WHERE msg = $2) FROM hub_sync_seen WHERE sender = $1",
                &[&i(sender), &i(msg)],
            )
            .map_err(db)?;
        let (n, min, hit): (i64, Option<i64>, i64) = (r.get(0), r.get(1), r.get(2));
        Ok(hit > 0 || (u(n) >= REPLAY_WINDOW as u64 && min.is_some_and(|m| i(msg) < m)))
    }

    fn mark_seen(&mut self, sender: Site, msg: u64) -> aisle::Result<()> {
        self.tx
            .execute("INSERT INTO hub_sync_seen (sender, msg) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&i(sender), &i(msg)])
            .map_err(db)?;
        self.tx
            .execute(
                "DELETE FROM hub_sync_seen WHERE sender = $1 AND msg < (
                     SELECT msg FROM hub_sync_seen WHERE sender = $1 ORDER BY msg DESC LIMIT 1 OFFSET $2)",
                &[&i(sender), &(REPLAY_WINDOW as i64 - 1)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn batch_chunk(&mut self, sender: Site, batch: u64, count: u32, index: u32) -> aisle::Result<bool> {
        if count == 1 {
            return Ok(true);
        }
        let got: Option<String> = self
            .tx
            .query_opt("SELECT received FROM hub_sync_batch WHERE sender = $1 AND batch = $2", &[&i(sender), &i(batch)])
            .map_err(db)?
            .map(|r| r.get(0));
        let (done, received) = super::mark_chunk(got.as_deref(), count, index);
        if done {
            self.tx.execute("DELETE FROM hub_sync_batch WHERE sender = $1 AND batch = $2", &[&i(sender), &i(batch)]).map_err(db)?;
        } else {
            self.tx
                .execute(
                    "INSERT INTO hub_sync_batch (sender, batch, total, received) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (sender, batch) DO UPDATE SET received = excluded.received",
                    &[&i(sender), &i(batch), &i64::from(count), &received],
                )
                .map_err(db)?;
        }
        Ok(done)
    }

    fn device(&mut self, public_key: &[u8; 32]) -> aisle::Result<Option<Device>> {
        let row = self
            .tx
            .query_opt(
                "SELECT public_key, store_id, device_id, role, delegated FROM hub_sync_device WHERE public_key = $1",
                &[&&public_key[..]],
            )
            .map_err(db)?;
        row.as_ref().map(to_device).transpose()
    }

    fn devices(&mut self) -> aisle::Result<Vec<Device>> {
        let rows = self
            .tx
            .query("SELECT public_key, store_id, device_id, role, delegated FROM hub_sync_device ORDER BY public_key", &[])
            .map_err(db)?;
        rows.iter().map(to_device).collect()
    }

    fn enroll(&mut self, d: &Device) -> aisle::Result<()> {
        let delegated = serde_json::to_string(&d.delegated).map_err(|e| aisle::Error::Store(e.to_string()))?;
        self.tx
            .execute(
                "INSERT INTO hub_sync_device (public_key, store_id, device_id, role, delegated, enrolled_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (public_key) DO UPDATE SET store_id = excluded.store_id, device_id = excluded.device_id,
                   role = excluded.role, delegated = excluded.delegated",
                &[&&d.public_key[..], &d.store_id, &d.device_id, &d.role.as_str(), &delegated, &super::now_ms()],
            )
            .map_err(db)?;
        Ok(())
    }

    fn clock(&mut self) -> aisle::Result<Clock> {
        let last: i64 = self.clock.get()?.query_one("SELECT last_hlc FROM hub_sync_identity WHERE id = 1", &[]).map_err(db)?.get(0);
        Ok(Clock::new(Hlc(u(last))))
    }

    fn save_clock(&mut self, clock: &Clock) -> aisle::Result<()> {
        self.clock
            .get()?
            .execute("UPDATE hub_sync_identity SET last_hlc = GREATEST(last_hlc, $1) WHERE id = 1", &[&i(clock.last().0)])
            .map_err(db)?;
        Ok(())
    }

    fn tick(&mut self, now_ms: u64) -> aisle::Result<Hlc> {
        let wall = Hlc::from_parts(now_ms.min(u64::MAX >> 16), 0);
        let hlc: i64 = self
            .clock
            .get()?
            .query_one("UPDATE hub_sync_identity SET last_hlc = GREATEST(last_hlc + 1, $1) WHERE id = 1 RETURNING last_hlc", &[&i(wall.0)])
            .map_err(db)?
            .get(0);
        Ok(Hlc(u(hlc)))
    }
}
