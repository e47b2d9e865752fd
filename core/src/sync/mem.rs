//! A replica that lives in memory: the same engine as a store file's, for simulations, tests
//! and tools that only relay bytes.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;

use super::clock::{Clock, Hlc};
use super::crdt::{Site, Value};
use super::engine::{
    ApplyReport, CompactReport, Ctx, DEFAULT_CHUNK_SLOTS, Device, Identity, R, REPLAY_WINDOW, Role, Slot, SlotKey,
    SlotStore, VersionVector, merge_into,
};
use crate::edge::Failure;
use crate::error::Result;

#[derive(Default)]
struct MemStore {
    slots: BTreeMap<SlotKey, Slot>,
    vector: VersionVector,
    peers: BTreeMap<Site, VersionVector>,
    seen: BTreeMap<Site, BTreeSet<u64>>,
    batches: BTreeMap<(Site, u64), BTreeSet<u32>>,
    devices: BTreeMap<[u8; 32], Device>,
    clock: Option<Clock>,
    max_skew_ms: Option<u64>,
}

impl SlotStore for MemStore {
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> R<Vec<Slot>> {
        let from = SlotKey {
            scope: scope.to_owned(),
            collection: collection.to_owned(),
            key: key.to_owned(),
            sub: String::new(),
            kind: 0,
            owner: 0,
        };
        Ok(self
            .slots
            .range(from..)
            .take_while(|(k, _)| k.scope == scope && k.collection == collection && k.key == key)
            .map(|(_, s)| s.clone())
            .collect())
    }
    fn get(&mut self, key: &SlotKey) -> R<Option<Slot>> {
        Ok(self.slots.get(key).cloned())
    }
    fn put(&mut self, slot: Slot) -> R<()> {
        self.slots.insert(slot.key.clone(), slot);
        Ok(())
    }
    fn merge_in(&mut self, incoming: Slot) -> R<bool> {
        if let Some(old) = self.slots.get_mut(&incoming.key) {
            return Ok(merge_into(old, incoming));
        }
        self.slots.insert(incoming.key.clone(), incoming);
        Ok(true)
    }
    fn remove(&mut self, key: &SlotKey) -> R<()> {
        self.slots.remove(key);
        Ok(())
    }
    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> R<()> {
        for s in self.slots.values() {
            if scope.is_none_or(|sc| sc == s.key.scope) && since.is_none_or(|v| !v.covers(&s.key.scope, s.stamp)) {
                f(s.clone());
            }
        }
        Ok(())
    }
    fn vector(&mut self) -> R<VersionVector> {
        Ok(self.vector.clone())
    }
    fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) -> R<()> {
        self.vector.raise(scope, site, hlc);
        Ok(())
    }
    fn peer_vectors(&mut self) -> R<BTreeMap<Site, VersionVector>> {
        Ok(self.peers.clone())
    }
    fn note_peer_vector(&mut self, peer: Site, v: &VersionVector) -> R<()> {
        let mine = self.peers.entry(peer).or_default();
        for (scope, sites) in &v.0 {
            for (site, hlc) in sites {
                mine.raise(scope, *site, *hlc);
            }
        }
        Ok(())
    }
    fn seen(&mut self, sender: Site, msg: u64) -> R<bool> {
        let Some(set) = self.seen.get(&sender) else { return Ok(false) };
        Ok(set.contains(&msg) || (set.len() >= REPLAY_WINDOW && set.first().is_some_and(|f| msg < *f)))
    }
    fn mark_seen(&mut self, sender: Site, msg: u64) -> R<()> {
        let set = self.seen.entry(sender).or_default();
        set.insert(msg);
        while set.len() > REPLAY_WINDOW {
            set.pop_first();
        }
        Ok(())
    }
    fn batch_chunk(&mut self, sender: Site, batch: u64, count: u32, index: u32) -> R<bool> {
        if count == 1 {
            return Ok(true);
        }
        let got = self.batches.entry((sender, batch)).or_default();
        got.insert(index);
        if got.len() == count as usize {
            self.batches.remove(&(sender, batch));
            return Ok(true);
        }
        Ok(false)
    }
    fn device(&mut self, public_key: &[u8; 32]) -> R<Option<Device>> {
        Ok(self.devices.get(public_key).cloned())
    }
    fn devices(&mut self) -> R<Vec<Device>> {
        Ok(self.devices.values().cloned().collect())
    }
    fn enroll(&mut self, device: &Device) -> R<()> {
        self.devices.insert(device.public_key, device.clone());
        Ok(())
    }
    fn clock(&mut self) -> R<Clock> {
        let c = self.clock.clone().unwrap_or_else(|| Clock::new(Hlc(0)));
        Ok(match self.max_skew_ms {
            Some(ms) => c.with_max_skew_ms(ms),
            None => c,
        })
    }
    fn save_clock(&mut self, clock: &Clock) -> R<()> {
        self.clock = Some(clock.clone());
        Ok(())
    }
}

/// An in-memory replica with its own device key. Its wall clock is set by the caller
/// (starts at the system clock; [`MemReplica::set_now_ms`] makes simulations deterministic).
pub struct MemReplica {
    store: MemStore,
    me: Identity,
    now_ms: u64,
    chunk_slots: usize,
}

fn finish<T>(r: R<T>) -> Result<T> {
    r.map_err(|f| match f {
        Failure::Domain(e) => e,
        Failure::Sql(e) => crate::error::Error::Store(e.to_string()),
    })
}

impl MemReplica {
    /// A replica for `store_id`/`device_id`, its Ed25519 key derived from `seed`.
    pub fn new(store_id: &str, device_id: &str, role: Role, seed: [u8; 32]) -> MemReplica {
        let key = SigningKey::from_bytes(&seed);
        let device = Device {
            public_key: key.verifying_key().to_bytes(),
            store_id: store_id.to_owned(),
            device_id: device_id.to_owned(),
            role,
            delegated: Vec::new(),
        };
        let mut store = MemStore::default();
        store.devices.insert(device.public_key, device.clone());
        MemReplica { store, me: Identity { key, device }, now_ms: super::clock::system_now_ms(), chunk_slots: DEFAULT_CHUNK_SLOTS }
    }

    /// This device's registry entry, for other replicas to [`MemReplica::enroll`].
    pub fn card(&self) -> Device {
        self.me.device.clone()
    }

    /// Scopes HQ delegated to this device (it then writes and sends them).
    pub fn set_delegated(&mut self, scopes: Vec<String>) {
        self.me.device.delegated = scopes;
        let _ = self.store.enroll(&self.me.device.clone());
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.me.key
    }

    pub fn site(&self) -> Site {
        self.me.site()
    }

    pub fn enroll(&mut self, device: &Device) {
        let _ = self.store.enroll(device);
    }

    pub fn set_now_ms(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    pub fn set_max_clock_skew_ms(&mut self, ms: u64) {
        self.store.max_skew_ms = Some(ms);
    }

    /// Most slots per message chunk.
    pub fn set_chunk_slots(&mut self, n: usize) {
        self.chunk_slots = n.max(1);
    }

    fn with<T>(&mut self, f: impl FnOnce(&mut Ctx<'_>) -> R<T>) -> Result<T> {
        let mut ctx = Ctx { store: &mut self.store, me: &self.me, now_ms: self.now_ms, chunk_slots: self.chunk_slots };
        finish(f(&mut ctx))
    }

    pub fn vector(&self) -> VersionVector {
        self.store.vector.clone()
    }

    pub fn request(&mut self) -> Result<Vec<u8>> {
        self.with(|c| c.request())
    }

    pub fn changes_since(&mut self, request: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.with(|c| c.changes_since(request))
    }

    /// Applies one message; a rejected message changes nothing (every check runs first).
    pub fn apply(&mut self, message: &[u8]) -> Result<ApplyReport> {
        self.with(|c| c.apply(message))
    }

    pub fn compact(&mut self) -> Result<CompactReport> {
        self.with(|c| c.compact())
    }

    /// SHA-256 of the visible state (see [`super::Replication::digest`]).
    pub fn digest(&mut self) -> [u8; 32] {
        self.with(|c| c.digest(None)).unwrap_or_default()
    }

    /// The same for one scope only.
    pub fn digest_in(&mut self, scope: &str) -> [u8; 32] {
        self.with(|c| c.digest(Some(scope))).unwrap_or_default()
    }

    /// Number of stored slots (data + metadata units).
    pub fn slot_count(&self) -> usize {
        self.store.slots.len()
    }

    /// Every stored slot, for tests that compare raw state.
    pub fn slots(&self) -> Vec<Slot> {
        self.store.slots.values().cloned().collect()
    }

    pub fn upsert(&mut self, collection: &str, key: &str, fields: &[(&str, Value)]) -> Result<()> {
        self.with(|c| {
            let scope = c.home_scope(collection)?;
            c.upsert_record(&scope, collection, key, fields)
        })
    }

    pub fn update_field(&mut self, collection: &str, key: &str, name: &str, value: Value) -> Result<bool> {
        self.with(|c| {
            let scope = c.home_scope(collection)?;
            c.update_field(&scope, collection, key, name, value)
        })
    }

    pub fn delete(&mut self, collection: &str, key: &str) -> Result<bool> {
        self.with(|c| {
            let scope = c.home_scope(collection)?;
            c.delete_record(&scope, collection, key)
        })
    }

    pub fn record(&mut self, collection: &str, key: &str) -> Result<Option<BTreeMap<String, Value>>> {
        self.with(|c| {
            let scope = c.home_scope(collection)?;
            Ok(c.record(&scope, collection, key)?.map(|r| r.fields.into_iter().map(|(k, f)| (k, f.value)).collect()))
        })
    }

    /// Adds to (or, negative, takes from) the stock of `sku_at` (`"<sku>@<location>"`).
    pub fn stock_add(&mut self, sku_at: &str, delta: i64) -> Result<i64> {
        self.with(|c| {
            let scope = c.home_scope("stock")?;
            c.stock_add(&scope, sku_at, delta)
        })
    }

    pub fn stocktake(&mut self, sku_at: &str, count: i64) -> Result<()> {
        self.with(|c| {
            let scope = c.home_scope("stock")?;
            c.stocktake(&scope, sku_at, count)
        })
    }

    pub fn stock_level(&mut self, sku_at: &str) -> Result<i64> {
        self.with(|c| {
            let scope = c.home_scope("stock")?;
            c.stock_level(&scope, sku_at)
        })
    }

    pub fn cart_add(&mut self, cart: &str, sku: &str, quantity: i64) -> Result<()> {
        self.with(|c| {
            let scope = c.home_scope("cart")?;
            c.cart_line(&scope, cart, sku, Some(quantity), false)
        })
    }

    pub fn cart_set(&mut self, cart: &str, sku: &str, quantity: i64) -> Result<()> {
        self.with(|c| {
            let scope = c.home_scope("cart")?;
            c.cart_line(&scope, cart, sku, Some(quantity), true)
        })
    }

    pub fn cart_remove(&mut self, cart: &str, sku: &str) -> Result<()> {
        self.with(|c| {
            let scope = c.home_scope("cart")?;
            c.cart_line(&scope, cart, sku, None, false)
        })
    }

    pub fn cart_lines(&mut self, cart: &str) -> Result<Vec<(String, i64)>> {
        self.with(|c| {
            let scope = c.home_scope("cart")?;
            c.cart_lines(&scope, cart)
        })
    }

    /// A write in an explicit scope (HQ writing a store's settings, say).
    pub fn upsert_in(&mut self, scope: &str, collection: &str, key: &str, fields: &[(&str, Value)]) -> Result<()> {
        self.with(|c| c.upsert_record(scope, collection, key, fields))
    }
}
