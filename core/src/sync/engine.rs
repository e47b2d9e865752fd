//! The replication engine: slots, version vectors, scopes, local writes, `changes_since`,
//! `apply` and compaction, over any [`SlotStore`] (SQLite in the device's file, or memory for
//! simulations). Knows nothing of commerce: collections are names with a shape.
//!
//! A *slot* is the unit that replicates: one LWW field, one causal length, one site's share of
//! a PN-counter, or one stocktake, each with the stamp of the write that made it what it is.
//! Slots merge with the CRDT joins of [`super::crdt`], so applying them is idempotent and
//! order-insensitive. Deltas: a replica sends every slot whose stamp its peer's version vector
//! does not cover; a peer that applied a whole batch relative to a vector it really had may
//! raise its vector to the sender's, because everything not sent was already covered.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;

use super::clock::{Clock, Hlc};
use super::crdt::{CartLines, CausalLength, LineState, Lww, PnSlot, Record, Site, Stamp, StockLevel, Stocktake, Value};
use super::wire::{self, Changes, Kind, Request};
use crate::edge::Failure;
use crate::error::Error;

pub(crate) type R<T> = std::result::Result<T, Failure>;

/// The scope HQ publishes the catalog, price lists and promotions in.
pub const GLOBAL: &str = "global";

/// The scope of one store's own data (stock, carts, customers, settings).
pub fn store_scope(store_id: &str) -> String {
    format!("store:{store_id}")
}

/// Most slots in one message; a larger catch-up is several chunks of one batch.
pub const DEFAULT_CHUNK_SLOTS: usize = 4096;

/// Message ids remembered per sender for replay detection; older ones are refused outright.
pub const REPLAY_WINDOW: usize = 4096;

/// Version vector per scope: for each site, the highest HLC of its writes this replica has
/// (together with every earlier write of that site in that scope).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionVector(pub BTreeMap<String, BTreeMap<Site, Hlc>>);

impl VersionVector {
    pub fn get(&self, scope: &str, site: Site) -> Hlc {
        self.0.get(scope).and_then(|s| s.get(&site)).copied().unwrap_or_default()
    }
    pub fn covers(&self, scope: &str, stamp: Stamp) -> bool {
        stamp.hlc <= self.get(scope, stamp.site)
    }
    pub fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) {
        let e = self.0.entry(scope.to_owned()).or_default().entry(site).or_default();
        *e = (*e).max(hlc);
    }
    /// Whether every entry of `self` in `scope` is at most `other`'s.
    pub fn le_in(&self, other: &VersionVector, scope: &str) -> bool {
        self.0.get(scope).is_none_or(|sites| sites.iter().all(|(site, hlc)| *hlc <= other.get(scope, *site)))
    }
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
    fn only(&self, scopes: &BTreeSet<String>) -> VersionVector {
        VersionVector(self.0.iter().filter(|(s, _)| scopes.contains(*s)).map(|(s, v)| (s.clone(), v.clone())).collect())
    }
}

/// Where a slot lives: `(scope, collection, key, sub, kind, owner)`. The scope is part of the
/// identity: HQ holds `customer/42` of many stores, and they are different customers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotKey {
    pub scope: String,
    pub collection: String,
    pub key: String,
    /// Field name of a record, SKU of a cart line, empty otherwise.
    pub sub: String,
    /// 0 field, 1 causal length, 2 counter share, 3 stocktake.
    pub kind: u8,
    /// The counting site of a counter share, else 0.
    pub owner: Site,
}

pub(crate) const FIELD: u8 = 0;
pub(crate) const LENGTH: u8 = 1;
pub(crate) const COUNT: u8 = 2;
pub(crate) const STOCKTAKE: u8 = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotValue {
    Field(Value),
    Length(u64),
    Count { p: u64, n: u64 },
    Stocktake(Stocktake),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub key: SlotKey,
    pub value: SlotValue,
    pub stamp: Stamp,
}

impl Slot {
    #[allow(clippy::too_many_arguments)] // one per column of the slot key
    fn new(scope: &str, collection: &str, key: &str, sub: &str, kind: u8, owner: Site, value: SlotValue, stamp: Stamp) -> Slot {
        Slot {
            key: SlotKey { scope: scope.to_owned(), collection: collection.to_owned(), key: key.to_owned(), sub: sub.to_owned(), kind, owner },
            value,
            stamp,
        }
    }
}

/// The join of two versions of one slot, or `None` if `incoming` changes nothing: the
/// reference [`merge_into`] is tested against.
#[cfg(test)]
pub(crate) fn merge_slot(old: Option<&Slot>, incoming: &Slot) -> Option<Slot> {
    use super::crdt::Merge;
    let Some(old) = old else { return Some(incoming.clone()) };
    let merged = match (&old.value, &incoming.value) {
        (SlotValue::Field(a), SlotValue::Field(b)) => {
            let mut l = Lww::new(a.clone(), old.stamp);
            l.merge(&Lww::new(b.clone(), incoming.stamp));
            (SlotValue::Field(l.value), l.stamp)
        }
        (SlotValue::Length(a), SlotValue::Length(b)) => {
            let mut l = CausalLength { len: *a, stamp: old.stamp };
            l.merge(&CausalLength { len: *b, stamp: incoming.stamp });
            (SlotValue::Length(l.len), l.stamp)
        }
        (SlotValue::Count { p, n }, SlotValue::Count { p: p2, n: n2 }) => {
            let mut s = PnSlot { p: *p, n: *n, stamp: old.stamp };
            s.merge(&PnSlot { p: *p2, n: *n2, stamp: incoming.stamp });
            (SlotValue::Count { p: s.p, n: s.n }, s.stamp)
        }
        (SlotValue::Stocktake(a), SlotValue::Stocktake(b)) => {
            let mut l = Lww::new(a.clone(), old.stamp);
            l.merge(&Lww::new(b.clone(), incoming.stamp));
            (SlotValue::Stocktake(l.value), l.stamp)
        }
        // Kinds are part of the key, so this cannot happen; keep what we have.
        _ => return None,
    };
    if merged.0 == old.value && merged.1 == old.stamp {
        return None;
    }
    Some(Slot { key: old.key.clone(), value: merged.0, stamp: merged.1 })
}

/// Joins `incoming` into `old` in place (the same join as [`merge_slot`], without copies);
/// true if `old` changed.
pub(crate) fn merge_into(old: &mut Slot, incoming: Slot) -> bool {
    merge_value(&mut old.value, &mut old.stamp, incoming.value, incoming.stamp)
}

/// [`merge_into`] on a slot's value and stamp (the key is the same on both sides).
pub(crate) fn merge_value(value: &mut SlotValue, stamp: &mut Stamp, incoming: SlotValue, incoming_stamp: Stamp) -> bool {
    fn lww<T: Ord>(a: &mut T, a_stamp: &mut Stamp, b: T, b_stamp: Stamp) -> bool {
        if (b_stamp, &b) > (*a_stamp, &*a) {
            *a = b;
            *a_stamp = b_stamp;
            return true;
        }
        false
    }
    match (value, incoming) {
        (SlotValue::Field(a), SlotValue::Field(b)) => lww(a, stamp, b, incoming_stamp),
        (SlotValue::Stocktake(a), SlotValue::Stocktake(b)) => lww(a, stamp, b, incoming_stamp),
        (SlotValue::Length(a), SlotValue::Length(b)) => {
            if (b, incoming_stamp) > (*a, *stamp) {
                *a = b;
                *stamp = incoming_stamp;
                return true;
            }
            false
        }
        (SlotValue::Count { p, n }, SlotValue::Count { p: p2, n: n2 }) => {
            let merged = ((*p).max(p2), (*n).max(n2), (*stamp).max(incoming_stamp));
            let changed = merged != (*p, *n, *stamp);
            (*p, *n, *stamp) = merged;
            changed
        }
        // Kinds are part of the key, so this cannot happen; keep what we have.
        _ => false,
    }
}

/// What a collection's slots make up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Per-field LWW row with causal-length existence.
    Record,
    /// PN-counter plus stocktake.
    Stock,
    /// Add-wins map of lines with counter quantities.
    Cart,
}

/// The collections this build replicates, their shape, and whether they are global (HQ
/// publishes them) or belong to one store.
pub const COLLECTIONS: &[(&str, Shape, bool)] = &[
    ("product", Shape::Record, true),
    ("price_list", Shape::Record, true),
    ("promotions", Shape::Record, true),
    ("setting", Shape::Record, false),
    ("customer", Shape::Record, false),
    ("stock", Shape::Stock, false),
    ("cart", Shape::Cart, false),
];

pub(crate) fn collection(name: &str) -> Option<(Shape, bool)> {
    COLLECTIONS.iter().find(|(n, _, _)| *n == name).map(|(_, s, g)| (*s, *g))
}

/// One entity (all slots of a `(collection, key)`) as its CRDT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entity {
    Record(Record),
    Stock(StockLevel),
    Cart(CartLines),
}

impl Entity {
    pub(crate) fn from_slots(shape: Shape, slots: Vec<Slot>) -> Entity {
        match shape {
            Shape::Record => {
                let mut r = Record::default();
                for s in slots {
                    match s.value {
                        SlotValue::Length(len) => r.exists = CausalLength { len, stamp: s.stamp },
                        SlotValue::Field(v) => {
                            r.fields.insert(s.key.sub, Lww::new(v, s.stamp));
                        }
                        _ => {}
                    }
                }
                Entity::Record(r)
            }
            Shape::Stock => {
                let mut st = StockLevel::default();
                for s in slots {
                    match s.value {
                        SlotValue::Count { p, n } => {
                            st.moves.slots.insert(s.key.owner, PnSlot { p, n, stamp: s.stamp });
                        }
                        SlotValue::Stocktake(t) => st.stocktake = Some(Lww::new(t, s.stamp)),
                        _ => {}
                    }
                }
                Entity::Stock(st)
            }
            Shape::Cart => {
                let mut c = CartLines::default();
                for s in slots {
                    let line: &mut LineState = c.lines.entry(s.key.sub).or_default();
                    match s.value {
                        SlotValue::Length(len) => line.exists = CausalLength { len, stamp: s.stamp },
                        SlotValue::Count { p, n } => {
                            line.quantity.slots.insert(s.key.owner, PnSlot { p, n, stamp: s.stamp });
                        }
                        _ => {}
                    }
                }
                Entity::Cart(c)
            }
        }
    }

    /// The slots of this entity whose stamp is `stamp`: after a local write with a fresh stamp
    /// (newer than anything this replica has), exactly the slots the write changed.
    pub(crate) fn slots_stamped(&self, scope: &str, collection: &str, key: &str, stamp: Stamp) -> Vec<Slot> {
        let mut out = Vec::new();
        match self {
            Entity::Record(r) => {
                if r.exists.len > 0 && r.exists.stamp == stamp {
                    out.push(Slot::new(scope, collection, key, "", LENGTH, 0, SlotValue::Length(r.exists.len), r.exists.stamp));
                }
                for (name, f) in &r.fields {
                    if f.stamp == stamp {
                        out.push(Slot::new(scope, collection, key, name, FIELD, 0, SlotValue::Field(f.value.clone()), f.stamp));
                    }
                }
            }
            Entity::Stock(st) => {
                for (owner, s) in &st.moves.slots {
                    if s.stamp == stamp {
                        out.push(Slot::new(scope, collection, key, "", COUNT, *owner, SlotValue::Count { p: s.p, n: s.n }, s.stamp));
                    }
                }
                if let Some(t) = st.stocktake.as_ref().filter(|t| t.stamp == stamp) {
                    out.push(Slot::new(scope, collection, key, "", STOCKTAKE, 0, SlotValue::Stocktake(t.value.clone()), t.stamp));
                }
            }
            Entity::Cart(c) => {
                for (sku, line) in &c.lines {
                    if line.exists.len > 0 && line.exists.stamp == stamp {
                        out.push(Slot::new(scope, collection, key, sku, LENGTH, 0, SlotValue::Length(line.exists.len), line.exists.stamp));
                    }
                    for (owner, s) in &line.quantity.slots {
                        if s.stamp == stamp {
                            out.push(Slot::new(scope, collection, key, sku, COUNT, *owner, SlotValue::Count { p: s.p, n: s.n }, s.stamp));
                        }
                    }
                }
            }
        }
        out
    }

    /// What an application sees, in a canonical byte form (for state digests).
    pub(crate) fn visible_bytes(&self, out: &mut Vec<u8>) {
        match self {
            Entity::Record(r) => {
                if let Some(fields) = r.visible() {
                    for (name, v) in fields {
                        out.extend_from_slice(name.as_bytes());
                        out.push(0);
                        wire::put_value(out, v);
                    }
                } else {
                    out.push(0xff);
                }
            }
            Entity::Stock(s) => out.extend_from_slice(&s.value().to_le_bytes()),
            Entity::Cart(c) => {
                for (sku, q) in c.visible() {
                    out.extend_from_slice(sku.as_bytes());
                    out.push(0);
                    out.extend_from_slice(&q.to_le_bytes());
                }
            }
        }
    }
}

/// Whether a device is a store's register/handheld or the HQ replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Store,
    Hq,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Store => "store",
            Role::Hq => "hq",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "store" => Some(Role::Store),
            "hq" => Some(Role::Hq),
            _ => None,
        }
    }
}

/// An enrolled device: its public key and what it may read and write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub public_key: [u8; 32],
    pub store_id: String,
    pub device_id: String,
    pub role: Role,
    /// Scopes HQ lets this device write (and read) besides its own store's, e.g. `"global"`
    /// for a device that edits the catalog.
    pub delegated: Vec<String>,
}

impl Device {
    pub fn site(&self) -> Site {
        site_of(&self.public_key)
    }
    pub fn label(&self) -> String {
        format!("{}/{}", self.store_id, self.device_id)
    }
    /// Scopes this device holds and may be sent.
    pub fn may_read(&self, scope: &str) -> bool {
        self.role == Role::Hq || scope == GLOBAL || self.may_write(scope)
    }
    /// Scopes whose data this device may send.
    pub fn may_write(&self, scope: &str) -> bool {
        self.role == Role::Hq || scope == store_scope(&self.store_id) || self.delegated.iter().any(|d| d == scope)
    }
}

/// A site id from a public key: its first 8 bytes, as a non-negative `i64` (SQLite integer).
pub fn site_of(public_key: &[u8; 32]) -> Site {
    let mut b = [0; 8];
    b.copy_from_slice(&public_key[..8]);
    u64::from_le_bytes(b) & (i64::MAX as u64)
}

/// This device: its signing key and its own registry entry.
#[derive(Clone)]
pub(crate) struct Identity {
    pub key: SigningKey,
    pub device: Device,
}

impl Identity {
    pub fn site(&self) -> Site {
        self.device.site()
    }
}

/// Storage of the replicated state and of sync's bookkeeping.
pub(crate) trait SlotStore {
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> R<Vec<Slot>>;
    fn get(&mut self, key: &SlotKey) -> R<Option<Slot>>;
    fn put(&mut self, slot: Slot) -> R<()>;
    /// Joins slots of one entity (same scope, collection and key) into the stored ones; how
    /// many changed anything.
    fn merge_entity(&mut self, incoming: Vec<Slot>) -> R<usize> {
        let mut changed = 0;
        for s in incoming {
            changed += usize::from(self.merge_in(s)?);
        }
        Ok(changed)
    }
    /// Joins `incoming` into the stored slot (or stores it); true if that changed anything.
    fn merge_in(&mut self, incoming: Slot) -> R<bool> {
        match self.get(&incoming.key)? {
            None => self.put(incoming).map(|()| true),
            Some(mut old) => {
                if !merge_into(&mut old, incoming) {
                    return Ok(false);
                }
                self.put(old).map(|()| true)
            }
        }
    }
    fn remove(&mut self, key: &SlotKey) -> R<()>;
    /// Every slot of `scope` (all scopes if `None`), ordered by key; with `since`, only those
    /// whose stamp that vector does not cover (skipped before they are decoded or copied).
    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> R<()>;
    fn vector(&mut self) -> R<VersionVector>;
    fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) -> R<()>;
    fn peer_vectors(&mut self) -> R<BTreeMap<Site, VersionVector>>;
    /// Merges (entry-wise max) what `peer` reported into what we know of it.
    fn note_peer_vector(&mut self, peer: Site, v: &VersionVector) -> R<()>;
    /// Whether `msg` from `sender` was seen, or is older than the replay window.
    fn seen(&mut self, sender: Site, msg: u64) -> R<bool>;
    fn mark_seen(&mut self, sender: Site, msg: u64) -> R<()>;
    /// Records chunk `index` of `count` of a batch; true once every chunk was received.
    fn batch_chunk(&mut self, sender: Site, batch: u64, count: u32, index: u32) -> R<bool>;
    fn device(&mut self, public_key: &[u8; 32]) -> R<Option<Device>>;
    fn devices(&mut self) -> R<Vec<Device>>;
    fn enroll(&mut self, device: &Device) -> R<()>;
    fn clock(&mut self) -> R<Clock>;
    fn save_clock(&mut self, clock: &Clock) -> R<()>;
    /// A new timestamp for a local event, later than every one used or seen. A store shared by
    /// several processes overrides it with one atomic step, so no timestamp is handed out twice.
    fn tick(&mut self, now_ms: u64) -> R<Hlc> {
        let mut clock = self.clock()?;
        let hlc = clock.tick(now_ms);
        self.save_clock(&clock)?;
        Ok(hlc)
    }
}

/// One unit of sync work: the store, who we are, and the wall clock reading.
pub(crate) struct Ctx<'a> {
    pub store: &'a mut dyn SlotStore,
    pub me: &'a Identity,
    pub now_ms: u64,
    pub chunk_slots: usize,
}

/// An entity changed by a write or an apply.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Touched {
    pub scope: String,
    pub collection: String,
    pub key: String,
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// The sending device, as `store/device`.
    pub from: String,
    /// Slots in the message.
    pub received: usize,
    /// Slots that changed local state (the rest were known or older).
    pub changed: usize,
    /// Whether this message completed its batch (and so raised our version vector).
    pub batch_complete: bool,
    /// Entities whose state changed.
    pub touched: Vec<Touched>,
}

/// What [`compact`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Field slots of deleted records dropped because every replica has seen the delete.
    pub removed_slots: usize,
    /// Deleted records whose delete is not yet stable everywhere.
    pub waiting: usize,
}

impl Ctx<'_> {
    fn tick(&mut self) -> R<Hlc> {
        self.store.tick(self.now_ms)
    }

    /// The scopes this replica holds: HQ holds the global scope and every enrolled store's.
    pub fn subscribed(&mut self) -> R<BTreeSet<String>> {
        let mut scopes: BTreeSet<String> = [GLOBAL.to_owned(), store_scope(&self.me.device.store_id)].into();
        scopes.extend(self.me.device.delegated.iter().cloned());
        if self.me.device.role == Role::Hq {
            for d in self.store.devices()? {
                scopes.insert(store_scope(&d.store_id));
            }
            scopes.extend(self.store.vector()?.0.into_keys());
        }
        Ok(scopes)
    }

    fn subscribes(&mut self, scope: &str) -> R<bool> {
        Ok(self.me.device.role == Role::Hq || self.subscribed()?.contains(scope))
    }

    /// A local write to one entity: `op` changes its CRDT with a fresh stamp; changed slots
    /// are stored and our own version-vector entry raised.
    pub fn write(&mut self, scope: &str, collection: &str, key: &str, op: impl FnOnce(&mut Entity, Stamp) -> R<()>) -> R<Entity> {
        let (shape, _) = self::collection(collection)
            .ok_or_else(|| Error::InvalidArgument(format!("sync: unknown collection {collection:?}")))?;
        let mut entity = Entity::from_slots(shape, self.store.entity_slots(scope, collection, key)?);
        let stamp = Stamp::new(self.tick()?, self.me.site());
        op(&mut entity, stamp)?;
        // The stamp is newer than every stamp this replica holds (the clock has seen them all),
        // so a slot carries it exactly when this write changed it.
        for slot in entity.slots_stamped(scope, collection, key, stamp) {
            self.store.put(slot)?;
        }
        self.store.raise(scope, self.me.site(), stamp.hlc)?;
        Ok(entity)
    }

    /// The entity as this replica has it.
    pub fn read(&mut self, scope: &str, collection: &str, key: &str) -> R<Option<Entity>> {
        let Some((shape, _)) = self::collection(collection) else { return Ok(None) };
        let slots = self.store.entity_slots(scope, collection, key)?;
        Ok((!slots.is_empty()).then(|| Entity::from_slots(shape, slots)))
    }

    /// A signed request for what this replica lacks in the scopes it holds.
    pub fn request(&mut self) -> R<Vec<u8>> {
        let msg_id = self.tick()?.0;
        let mut vector = self.store.vector()?;
        for scope in self.subscribed()? {
            vector.0.entry(scope).or_default();
        }
        Ok(wire::seal(Kind::Request, &self.me.key, &wire::encode_request(&Request { msg_id, vector })))
    }

    /// Checks a frame's sender and signature and the clock reading in its id.
    fn authenticate(&mut self, bytes: &[u8], want: Kind) -> R<(Device, Vec<u8>)> {
        let frame = wire::frame(bytes)?;
        let device = self.store.device(&frame.sender)?.ok_or_else(|| Error::SyncUnknownDevice {
            device: frame.sender[..8].iter().map(|b| format!("{b:02x}")).collect(),
        })?;
        frame.verify(&device.public_key, &device.label())?;
        if frame.kind != want {
            return Err(Error::SyncDecode { detail: format!("expected a {want:?} message, got {:?}", frame.kind) }.into());
        }
        Ok((device, frame.body()?.into_owned()))
    }

    /// Answers a peer's signed request: every slot it lacks in the scopes it may read and we
    /// may send, as signed chunks of one batch.
    pub fn changes_since(&mut self, request: &[u8]) -> R<Vec<Vec<u8>>> {
        let (peer, body) = self.authenticate(request, Kind::Request)?;
        let req = wire::decode_request(&body)?;
        let label = peer.label();
        if self.store.seen(peer.site(), req.msg_id)? {
            return Err(Error::SyncReplay { device: label, message: req.msg_id }.into());
        }
        let mut clock = self.store.clock()?;
        clock.check(Hlc(req.msg_id), self.now_ms, &label)?;
        let mut scopes = BTreeSet::new();
        for scope in req.vector.scopes() {
            if !peer.may_read(scope) {
                return Err(Error::SyncScope { device: label, action: "read".into(), scope: scope.to_owned() }.into());
            }
            if self.me.device.may_write(scope) && self.subscribes(scope)? {
                scopes.insert(scope.to_owned());
            }
        }
        self.store.mark_seen(peer.site(), req.msg_id)?;
        clock.observe(Hlc(req.msg_id));
        self.store.save_clock(&clock)?;
        self.store.note_peer_vector(peer.site(), &req.vector)?;

        let mut slots = Vec::new();
        for scope in &scopes {
            self.store.scan(Some(scope), Some(&req.vector), &mut |s| slots.push(s))?;
        }
        let since = req.vector.only(&scopes);
        let sender_vector = self.store.vector()?.only(&scopes);
        let chunk = self.chunk_slots.max(1);
        let count = slots.len().div_ceil(chunk).max(1);
        let count32 = u32::try_from(count).map_err(|_| Error::InvalidArgument("sync: too many chunks".into()))?;
        let batch = self.tick()?.0;
        let mut out = Vec::with_capacity(count);
        let mut rest = slots.into_iter();
        for index in 0..count32 {
            let part: Vec<Slot> = rest.by_ref().take(chunk).collect();
            let used: BTreeSet<String> = part.iter().map(|s| s.key.scope.clone()).chain(scopes.iter().cloned()).collect();
            let msg_id = if index == 0 { batch } else { self.tick()?.0 };
            let changes = Changes {
                msg_id,
                batch,
                index,
                count: count32,
                since: since.clone(),
                sender_vector: sender_vector.clone(),
                scopes: used.into_iter().collect(),
                slots: part,
            };
            out.push(wire::seal(Kind::Changes, &self.me.key, &wire::encode_changes(&changes)));
        }
        Ok(out)
    }

    /// Applies one signed chunk of changes. Every check runs before anything is written, so a
    /// rejected message changes nothing.
    pub fn apply(&mut self, bytes: &[u8]) -> R<ApplyReport> {
        let (sender, body) = self.authenticate(bytes, Kind::Changes)?;
        let mut ch = wire::decode_changes(&body)?;
        let label = sender.label();
        if self.store.seen(sender.site(), ch.msg_id)? {
            return Err(Error::SyncReplay { device: label, message: ch.msg_id }.into());
        }
        for scope in &ch.scopes {
            if !sender.may_write(scope) {
                return Err(Error::SyncScope { device: label, action: "write".into(), scope: scope.clone() }.into());
            }
            if !self.subscribes(scope)? {
                return Err(Error::SyncScope { device: label, action: "send this device".into(), scope: scope.clone() }.into());
            }
        }
        let mut newest = Hlc(ch.msg_id);
        for s in &ch.slots {
            let Some((_, global)) = collection(&s.key.collection) else {
                return Err(Error::SyncDecode { detail: format!("unknown collection {:?}", s.key.collection) }.into());
            };
            if global != (s.key.scope == GLOBAL) || (!global && !s.key.scope.starts_with("store:")) {
                return Err(Error::SyncScope { device: label, action: format!("put {} into", s.key.collection), scope: s.key.scope.clone() }.into());
            }
            if !ch.scopes.contains(&s.key.scope) {
                return Err(Error::SyncDecode { detail: format!("slot in undeclared scope {:?}", s.key.scope) }.into());
            }
            newest = newest.max(s.stamp.hlc);
        }
        let mut clock = self.store.clock()?;
        clock.check(newest, self.now_ms, &label)?;

        // Accepted: from here on, write.
        self.store.mark_seen(sender.site(), ch.msg_id)?;
        clock.observe(newest);
        self.store.save_clock(&clock)?;
        let vector = self.store.vector()?;
        let mut report = ApplyReport { from: label, received: ch.slots.len(), ..ApplyReport::default() };
        let mut touched = BTreeSet::new();
        // Slots arrive in key order, so an entity's slots are neighbours: they are joined
        // together (one read of the entity's stored slots) and the entity is named once.
        let mut group: Vec<Slot> = Vec::new();
        let mut slots = std::mem::take(&mut ch.slots).into_iter().filter(|s| !vector.covers(&s.key.scope, s.stamp)).peekable();
        while let Some(s) = slots.next() {
            let same = |n: &Slot| n.key.key == s.key.key && n.key.collection == s.key.collection && n.key.scope == s.key.scope;
            let mut next = Vec::new();
            while let Some(n) = slots.next_if(|n| same(n)) {
                next.push(n);
            }
            let entity = Touched { scope: s.key.scope.clone(), collection: s.key.collection.clone(), key: s.key.key.clone() };
            group.clear();
            group.push(s);
            group.append(&mut next);
            let changed = self.store.merge_entity(std::mem::take(&mut group))?;
            if changed > 0 {
                report.changed += changed;
                touched.insert(entity);
            }
        }
        self.store.note_peer_vector(sender.site(), &ch.sender_vector)?;
        report.batch_complete = self.store.batch_chunk(sender.site(), ch.batch, ch.count, ch.index)?;
        if report.batch_complete {
            let mine = self.store.vector()?;
            for scope in &ch.scopes {
                if ch.since.le_in(&mine, scope) {
                    if let Some(sites) = ch.sender_vector.0.get(scope) {
                        for (site, hlc) in sites {
                            self.store.raise(scope, *site, *hlc)?;
                        }
                    }
                }
            }
        }
        report.touched = touched.into_iter().collect();
        Ok(report)
    }

    /// Drops the field payloads of deleted records once the delete and every field write are
    /// causally stable: every replica that holds the scope reported a vector covering them, and
    /// we have everything each of those replicas had written when it reported (so no write
    /// concurrent with the delete can still arrive). Causal lengths and counters are kept.
    pub fn compact(&mut self) -> R<CompactReport> {
        let mine = self.store.vector()?;
        let peers = self.store.peer_vectors()?;
        let devices: Vec<Device> = self.store.devices()?.into_iter().filter(|d| d.site() != self.me.site()).collect();
        let stable = |scope: &str, stamp: Stamp| -> bool {
            mine.covers(scope, stamp)
                && devices.iter().filter(|d| d.may_read(scope)).all(|d| {
                    peers.get(&d.site()).is_some_and(|p| {
                        p.covers(scope, stamp) && p.get(scope, d.site()) <= mine.get(scope, d.site())
                    })
                })
        };
        let mut deleted: Vec<Slot> = Vec::new();
        self.store.scan(None, None, &mut |s| {
            if let SlotValue::Length(len) = s.value {
                if len % 2 == 0 && s.key.sub.is_empty() && collection(&s.key.collection).is_some_and(|(sh, _)| sh == Shape::Record) {
                    deleted.push(s);
                }
            }
        })?;
        let mut report = CompactReport::default();
        for length in deleted {
            let scope = length.key.scope.clone();
            let slots = self.store.entity_slots(&scope, &length.key.collection, &length.key.key)?;
            let fields: Vec<&Slot> = slots.iter().filter(|s| s.key.kind == FIELD).collect();
            if fields.is_empty() {
                continue;
            }
            if stable(&scope, length.stamp) && fields.iter().all(|f| stable(&scope, f.stamp)) {
                for f in fields {
                    self.store.remove(&f.key)?;
                    report.removed_slots += 1;
                }
            } else {
                report.waiting += 1;
            }
        }
        Ok(report)
    }

    /// SHA-256 of what applications see (visible records, stock levels, cart lines), so two
    /// replicas with the same digest show the same data.
    pub fn digest(&mut self, scope: Option<&str>) -> R<[u8; 32]> {
        use sha2::Digest;
        let mut by_entity: BTreeMap<(String, String, String), Vec<Slot>> = BTreeMap::new();
        self.store.scan(scope, None, &mut |s| {
            by_entity.entry((s.key.scope.clone(), s.key.collection.clone(), s.key.key.clone())).or_default().push(s)
        })?;
        let mut h = sha2::Sha256::new();
        let mut buf = Vec::new();
        for ((scope, coll, key), slots) in by_entity {
            let Some((shape, _)) = collection(&coll) else { continue };
            buf.clear();
            Entity::from_slots(shape, slots).visible_bytes(&mut buf);
            if buf == [0xff] {
                continue; // a deleted record looks like no record
            }
            for part in [scope.as_bytes(), coll.as_bytes(), key.as_bytes(), &buf] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
        Ok(h.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `merge_into` (in place, by value) is exactly `merge_slot` (built on the CRDT joins).
    #[test]
    fn merge_into_is_merge_slot() {
        let key = |kind| SlotKey { scope: GLOBAL.into(), collection: "product".into(), key: "A".into(), sub: "name".into(), kind, owner: 0 };
        let take = |base, site: Site, net| SlotValue::Stocktake(Stocktake { base, observed: [(site, net)].into() });
        let values = [
            SlotValue::Field(Value::Null),
            SlotValue::Field(Value::Int(3)),
            SlotValue::Field("a".into()),
            SlotValue::Field("b".into()),
            SlotValue::Length(1),
            SlotValue::Length(2),
            SlotValue::Length(3),
            SlotValue::Count { p: 5, n: 1 },
            SlotValue::Count { p: 4, n: 2 },
            SlotValue::Count { p: 5, n: 2 },
            take(10, 1, 0),
            take(10, 1, 3),
            take(7, 2, 0),
        ];
        let kind = |v: &SlotValue| match v {
            SlotValue::Field(_) => FIELD,
            SlotValue::Length(_) => LENGTH,
            SlotValue::Count { .. } => COUNT,
            SlotValue::Stocktake(_) => STOCKTAKE,
        };
        let stamps = [Stamp::new(Hlc(1), 1), Stamp::new(Hlc(1), 2), Stamp::new(Hlc(2), 1)];
        let mut checked = 0;
        for a in &values {
            for b in &values {
                for sa in stamps {
                    for sb in stamps {
                        let old = Slot { key: key(kind(a)), value: a.clone(), stamp: sa };
                        let new = Slot { key: key(kind(a)), value: b.clone(), stamp: sb };
                        let mut inplace = old.clone();
                        let changed = merge_into(&mut inplace, new.clone());
                        let reference = merge_slot(Some(&old), &new);
                        assert_eq!(changed, reference.is_some(), "{old:?} ⊔ {new:?}");
                        assert_eq!(inplace, reference.unwrap_or(old), "{a:?}@{sa:?} ⊔ {b:?}@{sb:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, values.len() * values.len() * 9);
    }
}
