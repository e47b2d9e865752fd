//! The replicated state in the device's SQLite file (tables `sync_*`, schema version 6), used
//! inside the caller's transaction so a local write and its sync record commit together.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use rusqlite::{Connection, OptionalExtension, params};

use super::clock::{Clock, Hlc};
use super::crdt::{Site, Stamp};
use super::engine::{Device, Identity, R, REPLAY_WINDOW, Role, Slot, SlotKey, SlotStore, SlotValue, VersionVector, merge_value, site_of};
use super::wire;
use crate::edge::{EdgeConfig, Failure};
use crate::error::Error;

pub(crate) struct SqlStore<'c> {
    pub conn: &'c Connection,
    pub max_skew_ms: u64,
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
fn u(v: i64) -> u64 {
    v.max(0).unsigned_abs()
}

/// The slot columns, as a macro so the statements below are literals (no SQL string built
/// per call on the hot paths).
macro_rules! slot_columns {
    () => {
        "scope, collection, key, sub, kind, owner, value, hlc, site"
    };
}

fn slot_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(SlotKey, Vec<u8>, i64, i64)> {
    Ok((        SlotKey { scope: r.get(0)?, collection: r.get(1)?, key: r.get(2)?, sub: r.get(3)?, kind: r.get(4)?, owner: u(r.get(5)?) },
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn to_slot(row: (SlotKey, Vec<u8>, i64, i64)) -> R<Slot> {
    let (key, value, hlc, site) = row;
    let value = wire::value_from_bytes(key.kind, &value)
        .map_err(|e| Failure::Domain(Error::Store(format!("sync_slot holds a damaged value: {e}"))))?;
    Ok(Slot { key, value, stamp: Stamp::new(Hlc(u(hlc)), u(site)) })
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Vec<u8>, String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_device(row: (Vec<u8>, String, String, String, String)) -> R<Device> {
    let (key, store_id, device_id, role, delegated) = row;
    let damaged = |what: &str| Failure::Domain(Error::Store(format!("sync_device holds a damaged {what}")));
    Ok(Device {
        public_key: key.try_into().map_err(|_| damaged("public key"))?,
        store_id,
        device_id,
        role: Role::parse(&role).ok_or_else(|| damaged("role"))?,
        delegated: serde_json::from_str(&delegated).map_err(|_| damaged("delegation"))?,
    })
}

impl SqlStore<'_> {
    fn put_ref(&mut self, s: &Slot) -> R<()> {
        self.conn
            .prepare_cached(concat!("INSERT OR REPLACE INTO sync_slot (", slot_columns!(), ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"))?
            .execute(params![
                s.key.scope,
                s.key.collection,
                s.key.key,
                s.key.sub,
                s.key.kind,
                i(s.key.owner),
                wire::value_bytes(&s.value),
                i(s.stamp.hlc.0),
                i(s.stamp.site)
            ])?;
        Ok(())
    }
}

impl SlotStore for SqlStore<'_> {
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> R<Vec<Slot>> {
        let mut stmt = self
            .conn
            .prepare_cached(concat!("SELECT ", slot_columns!(), " FROM sync_slot WHERE scope = ?1 AND collection = ?2 AND key = ?3"))?;
        let rows = stmt.query_map([scope, collection, key], slot_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(to_slot).collect()
    }

    fn get(&mut self, k: &SlotKey) -> R<Option<Slot>> {
        let row = self
            .conn
            .prepare_cached(concat!(
                "SELECT ",
                slot_columns!(),
                " FROM sync_slot WHERE scope = ?1 AND collection = ?2 AND key = ?3 AND sub = ?4 AND kind = ?5 AND owner = ?6"
            ))?
            .query_row(params![k.scope, k.collection, k.key, k.sub, k.kind, i(k.owner)], slot_row)
            .optional()?;
        row.map(to_slot).transpose()
    }

    fn put(&mut self, s: Slot) -> R<()> {
        self.put_ref(&s)
    }

    fn merge_entity(&mut self, incoming: Vec<Slot>) -> R<usize> {
        /// A stored slot of the entity: as read, or as this call last wrote it.
        enum Held {
            Raw(Vec<u8>, i64, i64),
            Now(SlotValue, Stamp),
        }
        if incoming.len() < 2 {
            let mut changed = 0;
            for s in incoming {
                changed += usize::from(self.merge_in(s)?);
            }
            return Ok(changed);
        }
        // One read of what the entity has, instead of one per slot.
        let k = &incoming[0].key;
        let mut stmt = self.conn.prepare_cached(
            "SELECT sub, kind, owner, value, hlc, site FROM sync_slot WHERE scope = ?1 AND collection = ?2 AND key = ?3",
        )?;
        let mut held: Vec<(String, u8, Site, Held)> = stmt
            .query_map(params![k.scope, k.collection, k.key], |r| {
                Ok((r.get(0)?, r.get(1)?, u(r.get(2)?), Held::Raw(r.get(3)?, r.get(4)?, r.get(5)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);
        let mut changed = 0;
        for s in incoming {
            let at = held.iter().position(|(sub, kind, owner, _)| *sub == s.key.sub && *kind == s.key.kind && *owner == s.key.owner);
            let Some(at) = at else {
                self.put_ref(&s)?;
                changed += 1;
                held.push((s.key.sub, s.key.kind, s.key.owner, Held::Now(s.value, s.stamp)));
                continue;
            };
            let (mut value, mut stamp) = match std::mem::replace(&mut held[at].3, Held::Raw(Vec::new(), 0, 0)) {
                Held::Now(v, st) => (v, st),
                Held::Raw(bytes, hlc, site) => (
                    wire::value_from_bytes(s.key.kind, &bytes)
                        .map_err(|e| Failure::Domain(Error::Store(format!("sync_slot holds a damaged value: {e}"))))?,
                    Stamp::new(Hlc(u(hlc)), u(site)),
                ),
            };
            let Slot { key, value: new_value, stamp: new_stamp } = s;
            if merge_value(&mut value, &mut stamp, new_value, new_stamp) {
                let slot = Slot { key, value, stamp };
                self.put_ref(&slot)?;
                changed += 1;
                (value, stamp) = (slot.value, slot.stamp);
            }
            held[at].3 = Held::Now(value, stamp);
        }
        Ok(changed)
    }

    fn merge_in(&mut self, incoming: Slot) -> R<bool> {
        // Only the stored value and stamp are read: the key is the incoming one.
        let k = &incoming.key;
        let stored = self
            .conn
            .prepare_cached(
                "SELECT value, hlc, site FROM sync_slot
                 WHERE scope = ?1 AND collection = ?2 AND key = ?3 AND sub = ?4 AND kind = ?5 AND owner = ?6",
            )?
            .query_row(params![k.scope, k.collection, k.key, k.sub, k.kind, i(k.owner)], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
            .optional()?;
        let Some((bytes, hlc, site)) = stored else {
            self.put(incoming)?;
            return Ok(true);
        };
        let mut value = wire::value_from_bytes(k.kind, &bytes)
            .map_err(|e| Failure::Domain(Error::Store(format!("sync_slot holds a damaged value: {e}"))))?;
        let mut stamp = Stamp::new(Hlc(u(hlc)), u(site));
        let Slot { key, value: new_value, stamp: new_stamp } = incoming;
        if !merge_value(&mut value, &mut stamp, new_value, new_stamp) {
            return Ok(false);
        }
        self.put(Slot { key, value, stamp })?;
        Ok(true)
    }

    fn remove(&mut self, k: &SlotKey) -> R<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM sync_slot WHERE scope = ?1 AND collection = ?2 AND key = ?3 AND sub = ?4 AND kind = ?5 AND owner = ?6",
            )?
            .execute(params![k.scope, k.collection, k.key, k.sub, k.kind, i(k.owner)])?;
        Ok(())
    }

    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> R<()> {
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            slot_columns!(),
            " FROM sync_slot WHERE ?1 IS NULL OR scope = ?1 ORDER BY scope, collection, key, sub, kind, owner"
        ))?;
        let mut rows = stmt.query([scope])?;
        while let Some(r) = rows.next()? {
            if let Some(v) = since {
                // Read the stamp and scope in place: a covered slot is never decoded.
                let stamp = Stamp::new(Hlc(u(r.get(7)?)), u(r.get(8)?));
                let scope = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
                if v.covers(scope, stamp) {
                    continue;
                }
            }
            f(to_slot(slot_row(r)?)?);
        }
        Ok(())
    }

    fn vector(&mut self) -> R<VersionVector> {
        let mut v = VersionVector::default();
        let mut stmt = self.conn.prepare_cached("SELECT scope, site, hlc FROM sync_vector")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))? {
            let (scope, site, hlc) = row?;
            v.raise(&scope, u(site), Hlc(u(hlc)));
        }
        Ok(v)
    }

    fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) -> R<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sync_vector (scope, site, hlc) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope, site) DO UPDATE SET hlc = max(hlc, excluded.hlc)",
            )?
            .execute(params![scope, i(site), i(hlc.0)])?;
        Ok(())
    }

    fn peer_vectors(&mut self) -> R<BTreeMap<Site, VersionVector>> {
        let mut out: BTreeMap<Site, VersionVector> = BTreeMap::new();
        let mut stmt = self.conn.prepare_cached("SELECT peer, scope, site, hlc FROM sync_peer_vector")?;
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })? {
            let (peer, scope, site, hlc) = row?;
            out.entry(u(peer)).or_default().raise(&scope, u(site), Hlc(u(hlc)));
        }
        Ok(out)
    }

    fn note_peer_vector(&mut self, peer: Site, v: &VersionVector) -> R<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO sync_peer_vector (peer, scope, site, hlc) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (peer, scope, site) DO UPDATE SET hlc = max(hlc, excluded.hlc)",
        )?;
        for (scope, sites) in &v.0 {
            for (site, hlc) in sites {
                stmt.execute(params![i(peer), scope, i(*site), i(hlc.0)])?;
            }
        }
        Ok(())
    }

    fn seen(&mut self, sender: Site, msg: u64) -> R<bool> {
        let (n, min, hit): (i64, Option<i64>, i64) = self
            .conn
            .prepare_cached("SELECT count(*), min(msg), coalesce(sum(msg = ?2), 0) FROM sync_seen WHERE sender = ?1")?
            .query_row(params![i(sender), i(msg)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(hit > 0 || (u(n) >= REPLAY_WINDOW as u64 && min.is_some_and(|m| i(msg) < m)))
    }

    fn mark_seen(&mut self, sender: Site, msg: u64) -> R<()> {
        self.conn.prepare_cached("INSERT OR IGNORE INTO sync_seen (sender, msg) VALUES (?1, ?2)")?.execute(params![i(sender), i(msg)])?;
        self.conn
            .prepare_cached(
                "DELETE FROM sync_seen WHERE sender = ?1 AND msg < (
                     SELECT msg FROM sync_seen WHERE sender = ?1 ORDER BY msg DESC LIMIT 1 OFFSET ?2)",
            )?
            .execute(params![i(sender), REPLAY_WINDOW as i64 - 1])?;
        Ok(())
    }

    fn batch_chunk(&mut self, sender: Site, batch: u64, count: u32, index: u32) -> R<bool> {
        if count == 1 {
            return Ok(true);
        }
        let bytes = (count as usize).div_ceil(8);
        let mut bits: Vec<u8> = self
            .conn
            .prepare_cached("SELECT received FROM sync_batch WHERE sender = ?1 AND batch = ?2")?
            .query_row(params![i(sender), i(batch)], |r| r.get(0))
            .optional()?
            .filter(|b: &Vec<u8>| b.len() == bytes)
            .unwrap_or_else(|| vec![0; bytes]);
        bits[index as usize / 8] |= 1 << (index % 8);
        let done = (0..count).all(|k| bits[k as usize / 8] & (1 << (k % 8)) != 0);
        if done {
            self.conn.prepare_cached("DELETE FROM sync_batch WHERE sender = ?1 AND batch = ?2")?.execute(params![i(sender), i(batch)])?;
        } else {
            self.conn
                .prepare_cached("INSERT OR REPLACE INTO sync_batch (sender, batch, total, received) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![i(sender), i(batch), i64::from(count), bits])?;
        }
        Ok(done)
    }

    fn device(&mut self, public_key: &[u8; 32]) -> R<Option<Device>> {
        let row = self
            .conn
            .prepare_cached("SELECT public_key, store_id, device_id, role, delegated FROM sync_device WHERE public_key = ?1")?
            .query_row([&public_key[..]], device_row)
            .optional()?;
        row.map(to_device).transpose()
    }

    fn devices(&mut self) -> R<Vec<Device>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT public_key, store_id, device_id, role, delegated FROM sync_device ORDER BY site")?;
        let rows = stmt.query_map([], device_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(to_device).collect()
    }

    fn enroll(&mut self, d: &Device) -> R<()> {
        let delegated = serde_json::to_string(&d.delegated).map_err(|e| Error::Store(e.to_string()))?;
        self.conn
            .prepare_cached(
                "INSERT INTO sync_device (public_key, site, store_id, device_id, role, delegated, enrolled_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (public_key) DO UPDATE SET store_id = excluded.store_id, device_id = excluded.device_id,
                   role = excluded.role, delegated = excluded.delegated",
            )?
            .execute(params![
                &d.public_key[..],
                i(d.site()),
                d.store_id,
                d.device_id,
                d.role.as_str(),
                delegated,
                i(super::clock::system_now_ms())
            ])?;
        Ok(())
    }

    fn clock(&mut self) -> R<Clock> {
        let last: i64 = self.conn.prepare_cached("SELECT last_hlc FROM sync_identity WHERE id = 1")?.query_row([], |r| r.get(0))?;
        Ok(Clock::new(Hlc(u(last))).with_max_skew_ms(self.max_skew_ms))
    }

    fn save_clock(&mut self, clock: &Clock) -> R<()> {
        self.conn.prepare_cached("UPDATE sync_identity SET last_hlc = ?1 WHERE id = 1")?.execute([i(clock.last().0)])?;
        Ok(())
    }
}

/// The signing key of a stored seed. Deriving it (a curve multiplication, ≈ 20 µs) dominated
/// a small replicated write, which loads the identity every time; the last few keys this
/// process used are kept (the same secret is in the store file the process has open anyway).
fn signing_key(seed: &[u8; 32]) -> SigningKey {
    use std::sync::Mutex;
    static KEYS: Mutex<Vec<SigningKey>> = Mutex::new(Vec::new());
    let mut keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(k) = keys.iter().find(|k| k.as_bytes() == seed) {
        return k.clone();
    }
    let key = SigningKey::from_bytes(seed);
    if keys.len() >= 16 {
        keys.remove(0);
    }
    keys.push(key.clone());
    key
}

/// This device's sync identity, created (a fresh Ed25519 key from the OS, enrolled in its own
/// registry as a store device) on first use.
pub(crate) fn identity(conn: &Connection, config: &EdgeConfig) -> R<Identity> {
    let secret: Option<Vec<u8>> =
        conn.prepare_cached("SELECT secret_key FROM sync_identity WHERE id = 1")?.query_row([], |r| r.get(0)).optional()?;
    let key = match secret {
        Some(s) => {
            let bytes: [u8; 32] =
                s.try_into().map_err(|_| Failure::Domain(Error::Store("sync_identity holds a damaged key".into())))?;
            signing_key(&bytes)
        }
        None => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| Error::Store(format!("no randomness for a device key: {e}")))?;
            let key = SigningKey::from_bytes(&seed);
            let public = key.verifying_key().to_bytes();
            conn.execute(
                "INSERT INTO sync_identity (id, site, secret_key, public_key) VALUES (1, ?1, ?2, ?3)",
                params![i(site_of(&public)), &seed[..], &public[..]],
            )?;
            let me = Device {
                public_key: public,
                store_id: config.store_id.clone(),
                device_id: config.device_id.clone(),
                role: Role::Store,
                delegated: Vec::new(),
            };
            SqlStore { conn, max_skew_ms: 0 }.enroll(&me)?;
            key
        }
    };
    let public = key.verifying_key().to_bytes();
    let device = SqlStore { conn, max_skew_ms: 0 }
        .device(&public)?
        .ok_or_else(|| Failure::Domain(Error::Store("this device is missing from its own sync registry".into())))?;
    Ok(Identity { key, device })
}
