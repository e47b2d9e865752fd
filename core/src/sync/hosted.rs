//! A replica whose state lives outside the device's SQLite file: the HQ hub keeps it in
//! PostgreSQL (or a server-side SQLite file), behind [`SyncStorage`], and runs this module's
//! [`HostedReplica`] — the same engine, the same protocol, the same checks as `edge.sync()`.
//!
//! Owns the bridge between a host's storage and the engine. Must never add protocol of its own:
//! a hub that used it answers exactly like a store device's `Replication` would.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;

use super::clock::{Clock, Hlc};
use super::crdt::Site;
use super::engine::{ApplyReport, Ctx, DEFAULT_CHUNK_SLOTS, Device, Identity, R, Role, Slot, SlotKey, SlotStore, SlotValue, VersionVector};
use super::service::{PushReport, frame_messages, unframe_messages};
use super::wire;
use crate::edge::Failure;
use crate::error::{Error, Result};

/// Where a hosted replica keeps its state. One call of [`HostedReplica`] uses one storage
/// value from start to end: run it inside one database transaction, so a refused message
/// changes nothing and two servers sharing the database never interleave half-merges (lock
/// what you read: slots, vector rows and the clock row, e.g. `SELECT … FOR UPDATE`).
///
/// The methods mirror the engine's own storage of a store file; see the SQLite implementation
/// in `core/src/sync/sql.rs` for the reference semantics.
pub trait SyncStorage {
    /// Slots of one entity (all its fields, its causal length, counter shares, …).
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> Result<Vec<Slot>>;
    fn get(&mut self, key: &SlotKey) -> Result<Option<Slot>>;
    /// Stores `slot`, replacing the slot with the same key.
    fn put(&mut self, slot: Slot) -> Result<()>;
    fn remove(&mut self, key: &SlotKey) -> Result<()>;
    /// Every slot of `scope` (all if `None`), in key order; with `since`, only slots whose
    /// stamp that vector does not cover (the storage may use it to read less).
    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> Result<()>;
    /// Per scope and site, the newest stamp this replica has with everything before it.
    fn vector(&mut self) -> Result<VersionVector>;
    /// Raises one entry of the vector (never lowers it).
    fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) -> Result<()>;
    fn peer_vectors(&mut self) -> Result<BTreeMap<Site, VersionVector>>;
    /// Merges (entry-wise max) what `peer` reported into what is known of it.
    fn note_peer_vector(&mut self, peer: Site, v: &VersionVector) -> Result<()>;
    /// Whether message `msg` from `sender` was seen, or is older than the replay window
    /// ([`super::REPLAY_WINDOW`] newest ids per sender are kept).
    fn seen(&mut self, sender: Site, msg: u64) -> Result<bool>;
    fn mark_seen(&mut self, sender: Site, msg: u64) -> Result<()>;
    /// Records chunk `index` of `count` of a batch; true once every chunk was received (and
    /// the batch is then forgotten).
    fn batch_chunk(&mut self, sender: Site, batch: u64, count: u32, index: u32) -> Result<bool>;
    fn device(&mut self, public_key: &[u8; 32]) -> Result<Option<Device>>;
    fn devices(&mut self) -> Result<Vec<Device>>;
    /// Adds or replaces a device.
    fn enroll(&mut self, device: &Device) -> Result<()>;
    /// The replica's hybrid clock: the highest timestamp it used or saw (`Clock::new(last)`).
    fn clock(&mut self) -> Result<Clock>;
    fn save_clock(&mut self, clock: &Clock) -> Result<()>;
    /// A new timestamp for a local event (message ids, batch ids), later than every one used or
    /// seen. Servers that share the storage must make it one atomic step, so two of them never
    /// hand out the same id (e.g. `UPDATE … SET last = GREATEST(last + 1, $wall) RETURNING last`).
    fn tick(&mut self, now_ms: u64) -> Result<Hlc> {
        let mut clock = self.clock()?;
        let hlc = clock.tick(now_ms);
        self.save_clock(&clock)?;
        Ok(hlc)
    }
}

/// A slot's value as bytes (what [`SlotValue::from_bytes`] reads back), for storages that
/// keep it in a column.
impl SlotValue {
    pub fn to_bytes(&self) -> Vec<u8> {
        wire::value_bytes(self)
    }

    /// Reads a value written by [`SlotValue::to_bytes`] for slot kind `kind` (`SlotKey::kind`).
    pub fn from_bytes(kind: u8, bytes: &[u8]) -> Result<SlotValue> {
        wire::value_from_bytes(kind, bytes)
    }
}

struct Adapter<'a>(&'a mut dyn SyncStorage);

fn lift<T>(r: Result<T>) -> R<T> {
    r.map_err(Failure::Domain)
}

impl SlotStore for Adapter<'_> {
    fn entity_slots(&mut self, scope: &str, collection: &str, key: &str) -> R<Vec<Slot>> {
        lift(self.0.entity_slots(scope, collection, key))
    }
    fn get(&mut self, key: &SlotKey) -> R<Option<Slot>> {
        lift(self.0.get(key))
    }
    fn put(&mut self, slot: Slot) -> R<()> {
        lift(self.0.put(slot))
    }
    fn remove(&mut self, key: &SlotKey) -> R<()> {
        lift(self.0.remove(key))
    }
    fn scan(&mut self, scope: Option<&str>, since: Option<&VersionVector>, f: &mut dyn FnMut(Slot)) -> R<()> {
        lift(self.0.scan(scope, since, f))
    }
    fn vector(&mut self) -> R<VersionVector> {
        lift(self.0.vector())
    }
    fn raise(&mut self, scope: &str, site: Site, hlc: Hlc) -> R<()> {
        lift(self.0.raise(scope, site, hlc))
    }
    fn peer_vectors(&mut self) -> R<BTreeMap<Site, VersionVector>> {
        lift(self.0.peer_vectors())
    }
    fn note_peer_vector(&mut self, peer: Site, v: &VersionVector) -> R<()> {
        lift(self.0.note_peer_vector(peer, v))
    }
    fn seen(&mut self, sender: Site, msg: u64) -> R<bool> {
        lift(self.0.seen(sender, msg))
    }
    fn mark_seen(&mut self, sender: Site, msg: u64) -> R<()> {
        lift(self.0.mark_seen(sender, msg))
    }
    fn batch_chunk(&mut self, sender: Site, batch: u64, count: u32, index: u32) -> R<bool> {
        lift(self.0.batch_chunk(sender, batch, count, index))
    }
    fn device(&mut self, public_key: &[u8; 32]) -> R<Option<Device>> {
        lift(self.0.device(public_key))
    }
    fn devices(&mut self) -> R<Vec<Device>> {
        lift(self.0.devices())
    }
    fn enroll(&mut self, device: &Device) -> R<()> {
        lift(self.0.enroll(device))
    }
    fn clock(&mut self) -> R<Clock> {
        lift(self.0.clock())
    }
    fn save_clock(&mut self, clock: &Clock) -> R<()> {
        lift(self.0.save_clock(clock))
    }
    fn tick(&mut self, now_ms: u64) -> R<Hlc> {
        lift(self.0.tick(now_ms))
    }
}

fn finish<T>(r: R<T>) -> Result<T> {
    r.map_err(|f| match f {
        Failure::Domain(e) => e,
        Failure::Sql(e) => Error::Store(e.to_string()),
    })
}

/// The HQ replica of a hub: an identity (Ed25519 key, `store/device`, role) and the engine,
/// run against whatever [`SyncStorage`] the host passes to each call.
pub struct HostedReplica {
    me: Identity,
    chunk_slots: usize,
}

impl HostedReplica {
    /// A replica with the key derived from `secret` (keep it secret and the same on every
    /// instance of the hub: stores enrol its public key once).
    pub fn new(secret: [u8; 32], store_id: &str, device_id: &str, role: Role) -> HostedReplica {
        let key = SigningKey::from_bytes(&secret);
        let device = Device {
            public_key: key.verifying_key().to_bytes(),
            store_id: store_id.to_owned(),
            device_id: device_id.to_owned(),
            role,
            delegated: Vec::new(),
        };
        HostedReplica { me: Identity { key, device }, chunk_slots: DEFAULT_CHUNK_SLOTS }
    }

    /// A fresh secret from the operating system's generator.
    pub fn generate_secret() -> Result<[u8; 32]> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| Error::Store(format!("no randomness for a device key: {e}")))?;
        Ok(secret)
    }

    /// This replica's card, for stores to enrol.
    pub fn card(&self) -> Device {
        self.me.device.clone()
    }

    /// Slots per chunk of an answer (default [`DEFAULT_CHUNK_SLOTS`]).
    pub fn set_chunk_slots(&mut self, slots: usize) {
        self.chunk_slots = slots.max(1);
    }

    fn ctx<'a>(&'a self, store: &'a mut Adapter<'a>, now_ms: u64) -> Ctx<'a> {
        Ctx { store, me: &self.me, now_ms, chunk_slots: self.chunk_slots }
    }

    /// Makes sure this replica's own card is enrolled in `storage` (call once at start-up).
    pub fn enroll_self(&self, storage: &mut dyn SyncStorage) -> Result<()> {
        storage.enroll(&self.me.device)
    }

    /// A signed request for what this replica lacks.
    pub fn request(&self, storage: &mut dyn SyncStorage, now_ms: u64) -> Result<Vec<u8>> {
        let mut a = Adapter(storage);
        finish(self.ctx(&mut a, now_ms).request())
    }

    /// Answers a peer's request (signature, device, replay, scope and clock checked).
    pub fn changes_since(&self, storage: &mut dyn SyncStorage, request: &[u8], now_ms: u64) -> Result<Vec<Vec<u8>>> {
        let mut a = Adapter(storage);
        finish(self.ctx(&mut a, now_ms).changes_since(request))
    }

    /// Applies one chunk from a peer (every check before anything is written).
    pub fn apply(&self, storage: &mut dyn SyncStorage, message: &[u8], now_ms: u64) -> Result<ApplyReport> {
        let mut a = Adapter(storage);
        finish(self.ctx(&mut a, now_ms).apply(message))
    }

    /// Serving half of a round, first trip (see `Replication::serve_exchange`): our request,
    /// then the chunks the peer lacks, framed.
    pub fn serve_exchange(&self, storage: &mut dyn SyncStorage, request: &[u8], now_ms: u64) -> Result<Vec<u8>> {
        let chunks = self.changes_since(storage, request, now_ms)?;
        let mine = self.request(storage, now_ms)?;
        let mut out: Vec<&[u8]> = Vec::with_capacity(chunks.len() + 1);
        out.push(&mine);
        out.extend(chunks.iter().map(Vec::as_slice));
        Ok(frame_messages(&out))
    }

    /// Serving half, second trip: applies the pushed chunks; duplicates are counted. The
    /// first refused chunk stops it with its error (run it in one transaction and roll back on
    /// error, so the refusal changes nothing).
    pub fn serve_push(&self, storage: &mut dyn SyncStorage, body: &[u8], now_ms: u64) -> Result<(PushReport, Vec<ApplyReport>)> {
        let chunks = unframe_messages(body)?;
        let mut report = PushReport { chunks: chunks.len(), ..PushReport::default() };
        let mut applied = Vec::new();
        for chunk in chunks {
            match self.apply(storage, chunk, now_ms) {
                Ok(r) => {
                    report.applied += 1;
                    report.changed += r.changed;
                    applied.push(r);
                }
                Err(Error::SyncReplay { .. }) => report.duplicates += 1,
                Err(e) => return Err(e),
            }
        }
        Ok((report, applied))
    }
}
