//! A hosted replica (the hub's HQ) over storage the host provides: here a plain in-memory
//! implementation of `SyncStorage`, driven through the same rounds a store device runs.

use std::collections::{BTreeMap, BTreeSet};

use aisle::sync::{Clock, Device, HostedReplica, Hlc, PushReport, Role, Slot, SlotKey, SlotValue, SyncLink, SyncStorage, VersionVector};
use aisle::{Currency, Edge, EdgeConfig, Money, Product};

#[derive(Default)]
struct Tables {
    slots: BTreeMap<SlotKey, (u8, Vec<u8>, aisle::sync::Stamp)>,
    vector: VersionVector,
    peers: BTreeMap<u64, VersionVector>,
    seen: BTreeSet<(u64, u64)>,
    batches: BTreeMap<(u64, u64), BTreeSet<u32>>,
    devices: BTreeMap<[u8; 32], Device>,
    clock: u64,
}

impl Tables {
    fn slot(k: &SlotKey, v: &(u8, Vec<u8>, aisle::sync::Stamp)) -> Slot {
        // Stored as bytes, as a database column would hold it.
        Slot { key: k.clone(), value: SlotValue::from_bytes(v.0, &v.1).unwrap(), stamp: v.2 }
    }
}

impl SyncStorage for Tables {
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> aisle::Result<Vec<Slot>> {
        Ok(self.slots.iter().filter(|(k, _)| k.scope == scope && k.collection == collection && k.key == key).map(|(k, v)| Self::slot(k, v)).collect())
    }
    fn get(&mut self, key: &SlotKey) -> aisle::Result<Option<Slot>> {
        Ok(self.slots.get(key).map(|v| Self::slot(key, v)))
    }
    fn put(&mut self, slot: Slot) -> aisle::Result<()> {
        self.slots.insert(slot.key.clone(), (slot.key.kind, slot.value.to_bytes(), slot.stamp));
        Ok(())
    }
    fn remove(&mut self, key: &SlotKey) -> aisle::Result<()> {
        self.slots.remove(key);
        Ok(())
    }
    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> aisle::Result<()> {
        for (k, v) in &self.slots {
            if scope.is_some_and(|s| s != k.scope) || since.is_some_and(|since| since.covers(&k.scope, v.2)) {
                continue;
            }
            f(Self::slot(k, v));
        }
        Ok(())
    }
    fn vector(&mut self) -> aisle::Result<VersionVector> {
        Ok(self.vector.clone())
    }
    fn raise(&mut self, scope: &str, site: u64, hlc: Hlc) -> aisle::Result<()> {
        self.vector.raise(scope, site, hlc);
        Ok(())
    }
    fn peer_vectors(&mut self) -> aisle::Result<BTreeMap<u64, VersionVector>> {
        Ok(self.peers.clone())
    }
    fn note_peer_vector(&mut self, peer: u64, v: &VersionVector) -> aisle::Result<()> {
        let known = self.peers.entry(peer).or_default();
        for (scope, sites) in &v.0 {
            for (site, hlc) in sites {
                known.raise(scope, *site, *hlc);
            }
        }
        Ok(())
    }
    fn seen(&mut self, sender: u64, msg: u64) -> aisle::Result<bool> {
        Ok(self.seen.contains(&(sender, msg)))
    }
    fn mark_seen(&mut self, sender: u64, msg: u64) -> aisle::Result<()> {
        self.seen.insert((sender, msg));
        Ok(())
    }
    fn batch_chunk(&mut self, sender: u64, batch: u64, count: u32, index: u32) -> aisle::Result<bool> {
        let got = self.batches.entry((sender, batch)).or_default();
        got.insert(index);
        Ok(got.len() == count as usize)
    }
    fn device(&mut self, public_key: &[u8; 32]) -> aisle::Result<Option<Device>> {
        Ok(self.devices.get(public_key).cloned())
    }
    fn devices(&mut self) -> aisle::Result<Vec<Device>> {
        Ok(self.devices.values().cloned().collect())
    }
    fn enroll(&mut self, device: &Device) -> aisle::Result<()> {
        self.devices.insert(device.public_key, device.clone());
        Ok(())
    }
    fn clock(&mut self) -> aisle::Result<Clock> {
        Ok(Clock::new(Hlc(self.clock)))
    }
    fn save_clock(&mut self, clock: &Clock) -> aisle::Result<()> {
        self.clock = clock.last().0;
        Ok(())
    }
}

/// The hosted replica behind a link, as a hub serves it.
struct Hub<'a> {
    hq: &'a HostedReplica,
    tables: &'a mut Tables,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

impl SyncLink for Hub<'_> {
    fn peer(&self) -> String {
        "hub".into()
    }
    fn exchange(&mut self, request: &[u8]) -> aisle::Result<Vec<u8>> {
        self.hq.serve_exchange(self.tables, request, now())
    }
    fn push(&mut self, chunks: &[u8]) -> aisle::Result<PushReport> {
        self.hq.serve_push(self.tables, chunks, now()).map(|(r, _)| r)
    }
}

#[test]
fn stores_converge_through_a_hosted_hq() {
    let hq = HostedReplica::new(HostedReplica::generate_secret().unwrap(), "hq", "hub", Role::Hq);
    let mut tables = Tables::default();
    hq.enroll_self(&mut tables).unwrap();
    let eur = |s: &str| Money::parse(s, Currency::EUR).unwrap();
    let author = Edge::open_in_memory(EdgeConfig::new("hq", "hq-tool", Currency::EUR)).unwrap();
    author.sync().set_role(Role::Hq).unwrap();
    let (r1, r2) = (
        Edge::open_in_memory(EdgeConfig::new("s1", "r1", Currency::EUR)).unwrap(),
        Edge::open_in_memory(EdgeConfig::new("s1", "r2", Currency::EUR)).unwrap(),
    );
    let other = Edge::open_in_memory(EdgeConfig::new("s2", "r1", Currency::EUR)).unwrap();
    for e in [&author, &r1, &r2, &other] {
        tables.enroll(&e.sync().identity().unwrap()).unwrap();
        e.sync().enroll(&hq.card()).unwrap();
    }

    // HQ authoring is a normal replica (a script's store file) that pushes to the hub.
    author.catalog().upsert(&Product::new("TEA", "Tea", eur("2.50"), "reduced")).unwrap();
    author.sync().sync_with(&mut Hub { hq: &hq, tables: &mut tables }).unwrap();
    r1.sync().stock_add("TEA", "shelf", 10).unwrap();
    r2.sync().cart_add("cart-1", "TEA", 2).unwrap();
    other.sync().stock_add("TEA", "shelf", 99).unwrap();
    for _ in 0..2 {
        for e in [&r1, &r2, &other, &author] {
            e.sync().sync_with(&mut Hub { hq: &hq, tables: &mut tables }).unwrap();
        }
    }
    for r in [&r1, &r2] {
        assert_eq!(r.catalog().get("TEA").unwrap().price, eur("2.50"));
        assert_eq!(r.sync().stock_level("TEA", "shelf").unwrap(), 10);
        assert_eq!(r.sync().cart_lines("cart-1").unwrap(), vec![("TEA".to_owned(), 2)]);
    }
    assert_eq!(r1.sync().digest().unwrap(), r2.sync().digest().unwrap());
    assert_eq!(other.sync().stock_level("TEA", "shelf").unwrap(), 99);
    assert_eq!(other.sync().stock_level_in("store:s1", "TEA", "shelf").unwrap(), 0);
    assert!(tables.slots.keys().any(|k| k.scope == "store:s2"), "the hub holds every store");

    // A stranger is refused by the hosted replica exactly as by a store file's.
    let stranger = Edge::open_in_memory(EdgeConfig::new("s1", "r9", Currency::EUR)).unwrap();
    stranger.sync().enroll(&hq.card()).unwrap();
    let err = stranger.sync().sync_with(&mut Hub { hq: &hq, tables: &mut tables }).unwrap_err();
    assert_eq!(err.code(), "SYNC_UNKNOWN_DEVICE");
}
