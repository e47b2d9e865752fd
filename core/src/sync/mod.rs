//! CRDT sync: registers, handhelds and HQ converge on catalog, price lists, promotions, store
//! settings, stock, shared carts and customers — online, offline or over the store LAN.
//!
//! Owns the hybrid logical clock, the CRDT types, the replicated state (tables `sync_*` in the
//! device's file), the device registry and the signed, versioned, chunked delta protocol:
//! [`Replication::request`] → peer's [`Replication::changes_since`] → [`Replication::apply`].
//! It must never know what a product or a cart *means* (only `domain.rs` maps collections to
//! commerce tables) and never open a socket: transports move the bytes.
//!
//! ```
//! use aisle::{Currency, Edge, EdgeConfig};
//! use aisle::sync::Role;
//!
//! let hq = Edge::open_in_memory(EdgeConfig::new("hq", "hq-1", Currency::EUR))?;
//! let reg = Edge::open_in_memory(EdgeConfig::new("store-1", "register-1", Currency::EUR))?;
//! hq.sync().set_role(Role::Hq)?;
//! // Enrolment: each side learns the other's public key (out of band in real life).
//! hq.sync().enroll(&reg.sync().identity()?)?;
//! reg.sync().enroll(&hq.sync().identity()?)?;
//!
//! reg.sync().stock_add("MILK-1L", "shelf", 24)?;
//! // HQ pulls the store's changes: request → changes_since → apply.
//! for chunk in reg.sync().changes_since(&hq.sync().request()?)? {
//!     hq.sync().apply(&chunk)?;
//! }
//! assert_eq!(hq.sync().stock_level_in("store:store-1", "MILK-1L", "shelf")?, 24);
//! # Ok::<(), aisle::Error>(())
//! ```

mod clock;
mod crdt;
mod domain;
mod engine;
mod hosted;
mod mem;
mod ops;
mod service;
mod sql;
mod wire;

use rusqlite::Transaction;

pub use clock::{Clock, DEFAULT_MAX_SKEW_MS, Hlc};
pub use crdt::{CartLines, CausalLength, LineState, Lww, Merge, PnCounter, PnSlot, Record, Site, Stamp, StockLevel, Stocktake, Value};
pub use engine::{
    ApplyReport, COLLECTIONS, CompactReport, DEFAULT_CHUNK_SLOTS, Device, GLOBAL, REPLAY_WINDOW, Role, Shape, Slot, SlotKey,
    SlotValue, Touched, VersionVector, site_of, store_scope,
};
pub use hosted::{HostedReplica, SyncStorage};
pub use mem::MemReplica;
pub use service::{
    HttpReply, PushReport, RoundReport, SYNC_CONTENT_TYPE, SyncLink, carries_slots, error_body, frame_messages, http_status,
    unframe_messages,
};
pub use wire::{FORMAT_VERSION, MAX_BODY};

pub(crate) use domain::{LocalWrite, price_list_fields, product_fields, record as record_local, settings_fields};

use crate::edge::{Failure, Shared};
use crate::error::Result;
use engine::Ctx;
use sql::SqlStore;

/// Replication of one open store: a view over the store's shared state (`edge.sync()`).
#[derive(Clone)]
pub struct Replication {
    pub(crate) shared: Shared,
}

/// How much sync keeps beside the data, in bytes of its logical encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Replicated slots (fields, causal lengths, counter shares, stocktakes).
    pub slots: u64,
    /// Keys and values the data needs anyway: collection, key, field name, value.
    pub data_bytes: u64,
    /// What sync adds: per slot its stamp (HLC + site, 16 bytes), kind, owner and scope; causal
    /// lengths; version vectors, peer vectors, replay window and open batches.
    pub metadata_bytes: u64,
}

fn sku_at(sku: &str, location: &str) -> String {
    format!("{sku}@{location}")
}

impl Replication {
    fn with<T>(&self, f: impl FnOnce(&mut Ctx<'_>, &Transaction<'_>) -> std::result::Result<T, Failure>) -> Result<T> {
        let config = self.shared.config().clone();
        self.shared.write(|tx| {
            let me = sql::identity(tx, &config)?;
            let mut store = SqlStore { conn: tx, max_skew_ms: DEFAULT_MAX_SKEW_MS };
            let mut ctx =
                Ctx { store: &mut store, me: &me, now_ms: clock::system_now_ms(), chunk_slots: DEFAULT_CHUNK_SLOTS };
            f(&mut ctx, tx)
        })
    }

    /// This device's registry entry (public key, store, device, role): what other replicas
    /// [`Replication::enroll`]. Creates the device key on first use.
    pub fn identity(&self) -> Result<Device> {
        self.with(|c, _| Ok(c.me.device.clone()))
    }

    /// Makes this replica the HQ replica (reads and writes every scope) or a store device.
    pub fn set_role(&self, role: Role) -> Result<()> {
        self.with(|c, _| {
            let mut me = c.me.device.clone();
            me.role = role;
            c.store.enroll(&me)
        })
    }

    /// Adds (or updates) a device this replica accepts messages from and answers.
    pub fn enroll(&self, device: &Device) -> Result<()> {
        self.with(|c, _| c.store.enroll(device))
    }

    /// Enrolled devices, this one included.
    pub fn devices(&self) -> Result<Vec<Device>> {
        self.with(|c, _| c.store.devices())
    }

    /// What this replica has, per scope and site.
    pub fn vector(&self) -> Result<VersionVector> {
        self.with(|c, _| c.store.vector())
    }

    /// A signed request for what this replica lacks: send it to a peer, which answers with
    /// [`Replication::changes_since`].
    pub fn request(&self) -> Result<Vec<u8>> {
        self.with(|c, _| c.request())
    }

    /// Answers a peer's request with signed, compressed chunks of one batch (apply them in any
    /// order; the peer's vector advances when all have arrived). Checks the request's
    /// signature, sender and scopes: a store never receives another store's data.
    pub fn changes_since(&self, request: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.with(|c, _| c.changes_since(request))
    }

    /// Applies one chunk from a peer: signature, sender, scope, replay and clock are checked
    /// before anything is written, and a rejected message changes nothing. Applied changes to
    /// catalog, price lists, promotions and settings reach their commerce tables in the same
    /// transaction.
    ///
    /// A store device keeps each chunk HQ sent it (the newest [`service::RELAY_BATCHES`]
    /// batches) and hands it on verbatim, HQ's signature intact, to the other devices of its
    /// store that lack it ([`Replication::serve_exchange`]): a price HQ published reaches every
    /// register over the LAN while only one of them reaches HQ.
    pub fn apply(&self, message: &[u8]) -> Result<ApplyReport> {
        let config = self.shared.config().clone();
        let (report, rules) = self.with(|c, tx| {
            let report = c.apply(message)?;
            let m = domain::materialise(tx, &config, &report.touched, c)?;
            keep_for_relay(c, tx, message)?;
            Ok((report, m.rules))
        })?;
        if rules {
            self.shared.invalidate_rules();
        }
        Ok(report)
    }

    /// Garbage-collects what every replica has seen (see [`CompactReport`]).
    pub fn compact(&self) -> Result<CompactReport> {
        self.with(|c, _| c.compact())
    }

    /// SHA-256 of the replicated state as applications see it: equal digests, equal data.
    pub fn digest(&self) -> Result<[u8; 32]> {
        self.with(|c, _| c.digest(None))
    }

    /// The same for one scope (`"global"`, `"store:<id>"`): replicas holding different sets of
    /// scopes compare the ones they share.
    pub fn digest_in(&self, scope: &str) -> Result<[u8; 32]> {
        self.with(|c, _| c.digest(Some(scope)))
    }

    /// Sizes of data and of sync's metadata.
    pub fn stats(&self) -> Result<SyncStats> {
        self.with(|_, tx| {
            let q = |sql: &str| -> rusqlite::Result<u64> { tx.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n.unsigned_abs()) };
            Ok(SyncStats {
                slots: q("SELECT count(*) FROM sync_slot")?,
                data_bytes: q("SELECT coalesce(sum(length(collection) + length(key) + length(sub) + length(value)), 0)
                               FROM sync_slot WHERE kind <> 1")?,
                metadata_bytes: q("SELECT coalesce(sum(17 + length(scope) + (CASE kind WHEN 2 THEN 8 ELSE 0 END)
                                    + (CASE kind WHEN 1 THEN length(collection) + length(key) + length(sub) + length(value) ELSE 0 END)), 0)
                                   FROM sync_slot")?
                    + q("SELECT coalesce(sum(length(scope) + 16), 0) FROM sync_vector")?
                    + q("SELECT coalesce(sum(length(scope) + 24), 0) FROM sync_peer_vector")?
                    + q("SELECT count(*) * 16 FROM sync_seen")?
                    + q("SELECT coalesce(sum(24 + length(received)), 0) FROM sync_batch")?,
            })
        })
    }

    // ---- customers (per-field LWW, causal-length deletes) ---------------------------------

    /// Adds or replaces a customer: every field is written, and a deleted customer comes back.
    pub fn upsert_customer(&self, id: &str, fields: &[(&str, Value)]) -> Result<()> {
        self.with(|c, _| {
            let scope = c.home_scope("customer")?;
            c.upsert_record(&scope, "customer", id, fields)
        })
    }

    /// Changes one field of an existing customer; false if there is none.
    pub fn update_customer(&self, id: &str, field: &str, value: Value) -> Result<bool> {
        self.with(|c, _| {
            let scope = c.home_scope("customer")?;
            c.update_field(&scope, "customer", id, field, value)
        })
    }

    /// Deletes a customer; false if there was none.
    pub fn delete_customer(&self, id: &str) -> Result<bool> {
        self.with(|c, _| {
            let scope = c.home_scope("customer")?;
            c.delete_record(&scope, "customer", id)
        })
    }

    /// The customer's fields, if present.
    pub fn customer(&self, id: &str) -> Result<Option<std::collections::BTreeMap<String, Value>>> {
        self.with(|c, _| {
            let scope = c.home_scope("customer")?;
            Ok(c.record(&scope, "customer", id)?.map(|r| r.fields.into_iter().map(|(k, f)| (k, f.value)).collect()))
        })
    }

    // ---- stock (PN-counter + stocktake) ----------------------------------------------------

    /// Adds received units (positive) or takes sold/written-off units (negative); returns the
    /// level this replica now sees.
    pub fn stock_add(&self, sku: &str, location: &str, delta: i64) -> Result<i64> {
        self.with(|c, _| {
            let scope = c.home_scope("stock")?;
            c.stock_add(&scope, &sku_at(sku, location), delta)
        })
    }

    /// A stocktake: "there are `count`". Moves this replica has not seen yet still count after it.
    pub fn stocktake(&self, sku: &str, location: &str, count: i64) -> Result<()> {
        self.with(|c, _| {
            let scope = c.home_scope("stock")?;
            c.stocktake(&scope, &sku_at(sku, location), count)
        })
    }

    /// The stock level of this store's `sku` at `location`.
    pub fn stock_level(&self, sku: &str, location: &str) -> Result<i64> {
        self.with(|c, _| {
            let scope = c.home_scope("stock")?;
            c.stock_level(&scope, &sku_at(sku, location))
        })
    }

    /// Like [`Replication::stock_level`], naming the scope (HQ reads any store's stock).
    pub fn stock_level_in(&self, scope: &str, sku: &str, location: &str) -> Result<i64> {
        self.with(|c, _| c.stock_level(scope, &sku_at(sku, location)))
    }

    // ---- shared carts (add-wins map of counter lines) -------------------------------------

    /// Adds `quantity` of `sku` to a shared cart (concurrent adds on other devices add up).
    pub fn cart_add(&self, cart: &str, sku: &str, quantity: i64) -> Result<()> {
        self.with(|c, _| {
            let scope = c.home_scope("cart")?;
            c.cart_line(&scope, cart, sku, Some(quantity), false)
        })
    }

    /// Sets a shared cart line's quantity.
    pub fn cart_set(&self, cart: &str, sku: &str, quantity: i64) -> Result<()> {
        self.with(|c, _| {
            let scope = c.home_scope("cart")?;
            c.cart_line(&scope, cart, sku, Some(quantity), true)
        })
    }

    /// Removes a shared cart line (an add on another device at the same time wins).
    pub fn cart_remove(&self, cart: &str, sku: &str) -> Result<()> {
        self.with(|c, _| {
            let scope = c.home_scope("cart")?;
            c.cart_line(&scope, cart, sku, None, false)
        })
    }

    /// A shared cart's lines with a positive quantity, by SKU.
    pub fn cart_lines(&self, cart: &str) -> Result<Vec<(String, i64)>> {
        self.with(|c, _| {
            let scope = c.home_scope("cart")?;
            c.cart_lines(&scope, cart)
        })
    }
}

/// Keeps an applied chunk from HQ on a store device, for [`Replication::serve_exchange`].
fn keep_for_relay(c: &mut Ctx<'_>, tx: &Transaction<'_>, message: &[u8]) -> std::result::Result<(), Failure> {
    if c.me.device.role != Role::Store {
        return Ok(());
    }
    let frame = wire::frame(message)?;
    let Some(sender) = c.store.device(&frame.sender)? else { return Ok(()) };
    if sender.role != Role::Hq {
        return Ok(());
    }
    let ch = wire::decode_changes(&frame.body()?)?;
    let (site, batch) = (sender.site() as i64, ch.batch as i64);
    tx.prepare_cached("INSERT OR IGNORE INTO sync_relay (sender, msg, batch, message) VALUES (?1, ?2, ?3, ?4)")?
        .execute(rusqlite::params![site, ch.msg_id as i64, batch, message])?;
    tx.prepare_cached(
        "DELETE FROM sync_relay WHERE sender = ?1 AND batch < (
             SELECT min(batch) FROM (SELECT DISTINCT batch FROM sync_relay WHERE sender = ?1 ORDER BY batch DESC LIMIT ?2))",
    )?
    .execute(rusqlite::params![site, service::RELAY_BATCHES])?;
    Ok(())
}

/// For the fuzz target: a changes frame around an arbitrary body, signed by `replica`.
#[doc(hidden)]
pub mod fuzz_support {
    pub fn sign_changes(replica: &super::MemReplica, body: &[u8]) -> Vec<u8> {
        super::wire::seal(super::wire::Kind::Changes, replica.signing_key(), body)
    }
}

impl Device {
    /// The device's card as JSON (`public_key` in hex), for enrolment by hand or by an app:
    /// `{"public_key":"…","store_id":"s1","device_id":"r1","role":"store","delegated":[]}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "public_key": self.public_key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "store_id": self.store_id,
            "device_id": self.device_id,
            "role": self.role.as_str(),
            "delegated": self.delegated,
        })
        .to_string()
    }

    /// Reads a card written by [`Device::to_json`]; a malformed one is `INVALID_ARGUMENT`.
    pub fn from_json(json: &str) -> Result<Device> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Card {
            public_key: String,
            store_id: String,
            device_id: String,
            role: String,
            #[serde(default)]
            delegated: Vec<String>,
        }
        let bad = |m: String| crate::Error::InvalidArgument(format!("device card: {m}"));
        let card: Card = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let hex = card.public_key.as_bytes();
        if hex.len() != 64 || !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad(format!("public_key must be 64 hex digits, got {:?}", card.public_key)));
        }
        let mut public_key = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).map_err(|e| bad(e.to_string()))?;
            public_key[i] = u8::from_str_radix(s, 16).map_err(|e| bad(e.to_string()))?;
        }
        if card.store_id.is_empty() || card.device_id.is_empty() {
            return Err(bad("store_id and device_id must not be empty".into()));
        }
        let role = Role::parse(&card.role).ok_or_else(|| bad(format!("role must be \"store\" or \"hq\", got {:?}", card.role)))?;
        Ok(Device { public_key, store_id: card.store_id, device_id: card.device_id, role, delegated: card.delegated })
    }
}
