//! The HQ replica's state in a SQLite file (one machine): the core's `SyncStorage` over one
//! `BEGIN IMMEDIATE` transaction, so sync operations (of this and any other hub process on the
//! file) run one at a time. The same statements as `pg.rs`, in SQLite's dialect.

use std::collections::{BTreeMap, BTreeSet};

use aisle::sync::{Clock, Device, Hlc, REPLAY_WINDOW, Role, Site, Slot, SlotKey, SlotValue, Stamp, SyncStorage, VersionVector};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{CHANGE_LOG_KEEP_MS, Done, Enrolled, propagation};

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
fn u(v: i64) -> u64 {
    v.max(0).unsigned_abs()
}

fn db(e: rusqlite::Error) -> aisle::Error {
    aisle::Error::Store(format!("hub database: {e}"))
}

const SLOT_COLUMNS: &str = "scope, collection, key, sub, kind, owner, value, hlc, site, seq";

type SlotRow = (String, String, String, String, i64, i64, Vec<u8>, i64, i64, i64);

fn slot_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SlotRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?))
}

fn to_slot(r: SlotRow) -> aisle::Result<Slot> {
    let (scope, collection, key, sub, kind, owner, value, hlc, site, _seq) = r;
    let kind = u8::try_from(kind).map_err(|_| aisle::Error::Store(format!("hub_sync_slot: bad kind {kind}")))?;
    Ok(Slot {
        key: SlotKey { scope, collection, key, sub, kind, owner: u(owner) },
        value: SlotValue::from_bytes(kind, &value)?,
        stamp: Stamp::new(Hlc(u(hlc)), u(site)),
    })
}

type DeviceRow = (Vec<u8>, String, String, String, String, i64);

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn to_enrolled(r: DeviceRow) -> aisle::Result<Enrolled> {
    let damaged = |what: &str| aisle::Error::Store(format!("hub_sync_device holds a damaged {what}"));
    let (key, store_id, device_id, role, delegated, enrolled_ms) = r;
    Ok(Enrolled {
        device: Device {
            public_key: key.try_into().map_err(|_| damaged("public key"))?,
            store_id,
            device_id,
            role: Role::parse(&role).ok_or_else(|| damaged("role"))?,
            delegated: serde_json::from_str(&delegated).map_err(|_| damaged("delegation"))?,
        },
        enrolled_ms,
    })
}

const DEVICE_COLUMNS: &str = "public_key, store_id, device_id, role, delegated, enrolled_ms";

/// One sync operation's view of the database.
pub struct SqliteStorage<'t, 'c> {
    pub tx: &'t Transaction<'c>,
    /// The change sequence this transaction's slot writes carry (taken at the first write).
    pub seq: Option<i64>,
    /// An exchange: the first device asked for is the peer, whose delivery state is recorded.
    exchange: bool,
    peer: Option<Enrolled>,
    /// Change sequences delivered in this exchange's answer.
    delivered: BTreeSet<i64>,
}

impl<'t, 'c> SqliteStorage<'t, 'c> {
    pub fn new(tx: &'t Transaction<'c>, exchange: bool) -> Self {
        SqliteStorage { tx, seq: None, exchange, peer: None, delivered: BTreeSet::new() }
    }

    /// Ends the request before its commit: the peer's delivery state (an exchange), the commit
    /// time of a push's change sequence, and the propagation of what was delivered. SQLite is
    /// one machine: its clock is this process's.
    pub fn finish(&mut self) -> aisle::Result<Done> {
        let now = super::now_ms();
        if let Some(seq) = self.seq {
            self.tx
                .prepare_cached("INSERT OR IGNORE INTO hub_sync_change_log (seq, committed_ms) VALUES (?1, ?2)")
                .map_err(db)?
                .execute(params![seq, now])
                .map_err(db)?;
            if fastrand::u32(..64) == 0 {
                self.tx
                    .prepare_cached("DELETE FROM hub_sync_change_log WHERE committed_ms < ?1")
                    .map_err(db)?
                    .execute([now - CHANGE_LOG_KEEP_MS])
                    .map_err(db)?;
            }
        }
        let mut committed = Vec::new();
        if let (true, Some(peer)) = (self.exchange, &self.peer) {
            let delivered: i64 = self.tx.query_row("SELECT seq FROM hub_sync_change WHERE id = 1", [], |r| r.get(0)).map_err(db)?;
            self.tx
                .prepare_cached(
                    "INSERT INTO hub_sync_store_state (public_key, delivered_seq, exchanged_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (public_key) DO UPDATE SET delivered_seq = max(delivered_seq, excluded.delivered_seq),
                       exchanged_ms = max(exchanged_ms, excluded.exchanged_ms)",
                )
                .map_err(db)?
                .execute(params![&peer.device.public_key[..], delivered, now])
                .map_err(db)?;
            let mut stmt = self.tx.prepare_cached("SELECT committed_ms FROM hub_sync_change_log WHERE seq = ?1").map_err(db)?;
            for seq in &self.delivered {
                if let Some(c) = stmt.query_row([seq], |r| r.get::<_, i64>(0)).optional().map_err(db)? {
                    committed.push(c);
                }
            }
        }
        Ok(Done { seq: self.seq, propagation: propagation(self.peer.as_ref(), now, committed) })
    }

    fn change_seq(&mut self) -> aisle::Result<i64> {
        if let Some(s) = self.seq {
            return Ok(s);
        }
        let s: i64 = self.tx.query_row("UPDATE hub_sync_change SET seq = seq + 1 WHERE id = 1 RETURNING seq", [], |r| r.get(0)).map_err(db)?;
        self.seq = Some(s);
        Ok(s)
    }
}

impl SyncStorage for SqliteStorage<'_, '_> {
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> aisle::Result<Vec<Slot>> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {SLOT_COLUMNS} FROM hub_sync_slot WHERE scope = ?1 AND collection = ?2 AND key = ?3 ORDER BY sub, kind, owner"
            ))
            .map_err(db)?;
        let rows = stmt.query_map(params![scope, collection, key], slot_row).map_err(db)?.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?;
        rows.into_iter().map(to_slot).collect()
    }

    fn get(&mut self, k: &SlotKey) -> aisle::Result<Option<Slot>> {
        let row = self
            .tx
            .prepare_cached(&format!(
                "SELECT {SLOT_COLUMNS} FROM hub_sync_slot
                 WHERE scope = ?1 AND collection = ?2 AND key = ?3 AND sub = ?4 AND kind = ?5 AND owner = ?6"
            ))
            .map_err(db)?
            .query_row(params![k.scope, k.collection, k.key, k.sub, i64::from(k.kind), i(k.owner)], slot_row)
            .optional()
            .map_err(db)?;
        row.map(to_slot).transpose()
    }

    fn put(&mut self, s: Slot) -> aisle::Result<()> {
        let seq = self.change_seq()?;
        let k = &s.key;
        self.tx
            .prepare_cached(
                "INSERT INTO hub_sync_slot (scope, collection, key, sub, kind, owner, value, hlc, site, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (scope, collection, key, sub, kind, owner)
                 DO UPDATE SET value = excluded.value, hlc = excluded.hlc, site = excluded.site, seq = excluded.seq",
            )
            .map_err(db)?
            .execute(params![k.scope, k.collection, k.key, k.sub, i64::from(k.kind), i(k.owner), s.value.to_bytes(), i(s.stamp.hlc.0), i(s.stamp.site), seq])
            .map_err(db)?;
        Ok(())
    }

    fn remove(&mut self, k: &SlotKey) -> aisle::Result<()> {
        self.change_seq()?;
        self.tx
            .prepare_cached(
                "DELETE FROM hub_sync_slot WHERE scope = ?1 AND collection = ?2 AND key = ?3 AND sub = ?4 AND kind = ?5 AND owner = ?6",
            )
            .map_err(db)?
            .execute(params![k.scope, k.collection, k.key, k.sub, i64::from(k.kind), i(k.owner)])
            .map_err(db)?;
        Ok(())
    }

    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> aisle::Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "SELECT {SLOT_COLUMNS} FROM hub_sync_slot WHERE ?1 IS NULL OR scope = ?1 ORDER BY scope, collection, key, sub, kind, owner"
            ))
            .map_err(db)?;
        let mut rows = stmt.query([scope]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let row = slot_row(r).map_err(db)?;
            if since.is_some_and(|v| v.covers(&row.0, Stamp::new(Hlc(u(row.7)), u(row.8)))) {
                continue;
            }
            if self.exchange {
                self.delivered.insert(row.9);
            }
            f(to_slot(row)?);
        }
        Ok(())
    }

    fn vector(&mut self) -> aisle::Result<VersionVector> {
        let mut v = VersionVector::default();
        let mut stmt = self.tx.prepare_cached("SELECT scope, site, hlc FROM hub_sync_vector").map_err(db)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))).map_err(db)?;
        for row in rows {
            let (scope, site, hlc) = row.map_err(db)?;
            v.raise(&scope, u(site), Hlc(u(hlc)));
        }
        Ok(v)
    }

    fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) -> aisle::Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO hub_sync_vector (scope, site, hlc) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope, site) DO UPDATE SET hlc = max(hlc, excluded.hlc)",
            )
            .map_err(db)?
            .execute(params![scope, i(site), i(hlc.0)])
            .map_err(db)?;
        Ok(())
    }

    fn peer_vectors(&mut self) -> aisle::Result<BTreeMap<Site, VersionVector>> {
        let mut out: BTreeMap<Site, VersionVector> = BTreeMap::new();
        let mut stmt = self.tx.prepare_cached("SELECT peer, scope, site, hlc FROM hub_sync_peer_vector").map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?)))
            .map_err(db)?;
        for row in rows {
            let (peer, scope, site, hlc) = row.map_err(db)?;
            out.entry(u(peer)).or_default().raise(&scope, u(site), Hlc(u(hlc)));
        }
        Ok(out)
    }

    fn note_peer_vector(&mut self, peer: Site, v: &VersionVector) -> aisle::Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO hub_sync_peer_vector (peer, scope, site, hlc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (peer, scope, site) DO UPDATE SET hlc = max(hlc, excluded.hlc)",
            )
            .map_err(db)?;
        for (scope, sites) in &v.0 {
            for (site, hlc) in sites {
                stmt.execute(params![i(peer), scope, i(*site), i(hlc.0)]).map_err(db)?;
            }
        }
        Ok(())
    }

    fn seen(&mut self, sender: Site, msg: u64) -> aisle::Result<bool> {
        let (n, min, hit): (i64, Option<i64>, i64) = self
            .tx
            .prepare_cached("SELECT count(*), min(msg), coalesce(sum(msg = ?2), 0) FROM hub_sync_seen WHERE sender = ?1")
            .map_err(db)?
            .query_row(params![i(sender), i(msg)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db)?;
        Ok(hit > 0 || (u(n) >= REPLAY_WINDOW as u64 && min.is_some_and(|m| i(msg) < m)))
    }

    fn mark_seen(&mut self, sender: Site, msg: u64) -> aisle::Result<()> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO hub_sync_seen (sender, msg) VALUES (?1, ?2)")
            .map_err(db)?
            .execute(params![i(sender), i(msg)])
            .map_err(db)?;
        self.tx
            .prepare_cached(
                "DELETE FROM hub_sync_seen WHERE sender = ?1 AND msg < (
                     SELECT msg FROM hub_sync_seen WHERE sender = ?1 ORDER BY msg DESC LIMIT 1 OFFSET ?2)",
            )
            .map_err(db)?
            .execute(params![i(sender), REPLAY_WINDOW as i64 - 1])
            .map_err(db)?;
        Ok(())
    }

    fn batch_chunk(&mut self, sender: Site, batch: u64, count: u32, index: u32) -> aisle::Result<bool> {
        if count == 1 {
            return Ok(true);
        }
        let got: Option<String> = self
            .tx
            .prepare_cached("SELECT received FROM hub_sync_batch WHERE sender = ?1 AND batch = ?2")
            .map_err(db)?
            .query_row(params![i(sender), i(batch)], |r| r.get(0))
            .optional()
            .map_err(db)?;
        let (done, received) = super::mark_chunk(got.as_deref(), count, index);
        if done {
            self.tx
                .prepare_cached("DELETE FROM hub_sync_batch WHERE sender = ?1 AND batch = ?2")
                .map_err(db)?
                .execute(params![i(sender), i(batch)])
                .map_err(db)?;
        } else {
            self.tx
                .prepare_cached(
                    "INSERT INTO hub_sync_batch (sender, batch, total, received) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (sender, batch) DO UPDATE SET received = excluded.received",
                )
                .map_err(db)?
                .execute(params![i(sender), i(batch), i64::from(count), received])
                .map_err(db)?;
        }
        Ok(done)
    }

    fn device(&mut self, public_key: &[u8; 32]) -> aisle::Result<Option<Device>> {
        let row = self
            .tx
            .prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM hub_sync_device WHERE public_key = ?1"))
            .map_err(db)?
            .query_row([&public_key[..]], device_row)
            .optional()
            .map_err(db)?;
        let found = row.map(to_enrolled).transpose()?;
        if self.exchange && self.peer.is_none() {
            self.peer = found.clone();
        }
        Ok(found.map(|e| e.device))
    }

    fn devices(&mut self) -> aisle::Result<Vec<Device>> {
        let mut stmt = self.tx.prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM hub_sync_device ORDER BY public_key")).map_err(db)?;
        let rows = stmt.query_map([], device_row).map_err(db)?.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?;
        rows.into_iter().map(|r| to_enrolled(r).map(|e| e.device)).collect()
    }

    fn enroll(&mut self, d: &Device) -> aisle::Result<()> {
        let delegated = serde_json::to_string(&d.delegated).map_err(|e| aisle::Error::Store(e.to_string()))?;
        self.tx
            .prepare_cached(
                "INSERT INTO hub_sync_device (public_key, store_id, device_id, role, delegated, enrolled_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (public_key) DO UPDATE SET store_id = excluded.store_id, device_id = excluded.device_id,
                   role = excluded.role, delegated = excluded.delegated",
            )
            .map_err(db)?
            .execute(params![&d.public_key[..], d.store_id, d.device_id, d.role.as_str(), delegated, super::now_ms()])
            .map_err(db)?;
        Ok(())
    }

    fn clock(&mut self) -> aisle::Result<Clock> {
        let last: i64 = self.tx.query_row("SELECT last_hlc FROM hub_sync_identity WHERE id = 1", [], |r| r.get(0)).map_err(db)?;
        Ok(Clock::new(Hlc(u(last))))
    }

    fn save_clock(&mut self, clock: &Clock) -> aisle::Result<()> {
        self.tx
            .execute("UPDATE hub_sync_identity SET last_hlc = max(last_hlc, ?1) WHERE id = 1", [i(clock.last().0)])
            .map_err(db)?;
        Ok(())
    }
}
