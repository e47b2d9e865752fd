//! The replicated data types, as pure values with a merge (a join: commutative, associative,
//! idempotent). They know nothing of SQLite or messages; `engine` stores them as slots.
//!
//! - [`Lww`]: a last-writer-wins register ordered by [`Stamp`] = (HLC, site id).
//! - [`CausalLength`]: whether a key exists, as a counter of adds and removes: odd = present.
//!   Adding to a present key skips to the next odd length, so an add (or edit) concurrent with
//!   a remove wins, and a remove after a re-add works.
//! - [`PnCounter`]: per site, the total added and the total taken away; the value is the sum.
//! - [`StockLevel`]: a PN-counter plus a last-writer-wins stocktake ("there are N") that records
//!   the counter it observed, so sales the stocktaker had not seen still count after it
//!   (semantics in `docs/design/sync-stock.md`).
//! - [`Record`]: a row with per-field LWW and causal-length existence (customers, products,
//!   price lists, settings).
//! - [`CartLines`]: an add-wins map of SKU → line, each line's quantity a PN-counter.

use std::collections::BTreeMap;

pub use super::clock::Hlc;

/// Which replica wrote something: derived from the device's public key.
pub type Site = u64;

/// When and where a write happened. Totally ordered: HLC first, then site id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    pub hlc: Hlc,
    pub site: Site,
}

impl Stamp {
    pub fn new(hlc: Hlc, site: Site) -> Stamp {
        Stamp { hlc, site }
    }
}

/// A state-based CRDT: `merge` is a join, so replicas that merged the same states are equal
/// whatever the order, grouping or repetition.
pub trait Merge {
    fn merge(&mut self, other: &Self);
}

/// A field value as replicated. Ordered only so that merge is total even for two different
/// values under one stamp (which honest replicas never produce).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

/// Last-writer-wins register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lww<T> {
    pub value: T,
    pub stamp: Stamp,
}

impl<T: Clone + Ord> Lww<T> {
    pub fn new(value: T, stamp: Stamp) -> Lww<T> {
        Lww { value, stamp }
    }
    /// A local write: `stamp` must be newer than everything this replica has seen.
    pub fn set(&mut self, value: T, stamp: Stamp) {
        self.merge(&Lww { value, stamp });
    }
}

impl<T: Clone + Ord> Merge for Lww<T> {
    fn merge(&mut self, other: &Self) {
        if (other.stamp, &other.value) > (self.stamp, &self.value) {
            *self = other.clone();
        }
    }
}

/// Existence of a key as a causal length: 0 never added, odd present, even removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CausalLength {
    pub len: u64,
    /// Who made the length what it is (for deltas and causal stability).
    pub stamp: Stamp,
}

impl CausalLength {
    pub fn present(&self) -> bool {
        self.len % 2 == 1
    }
    /// Adds (or touches) the key. Present → the next odd length, so it beats a concurrent remove.
    pub fn add(&mut self, stamp: Stamp) {
        self.len += if self.present() { 2 } else { 1 };
        self.stamp = self.stamp.max(stamp);
    }
    /// Removes the key if present.
    pub fn remove(&mut self, stamp: Stamp) {
        if self.present() {
            self.len += 1;
            self.stamp = self.stamp.max(stamp);
        }
    }
}

impl Merge for CausalLength {
    fn merge(&mut self, other: &Self) {
        if (other.len, other.stamp) > (self.len, self.stamp) {
            *self = *other;
        }
    }
}

/// One site's share of a PN-counter: only that site ever changes it, and only upwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PnSlot {
    pub p: u64,
    pub n: u64,
    pub stamp: Stamp,
}

impl PnSlot {
    pub fn net(&self) -> i128 {
        i128::from(self.p) - i128::from(self.n)
    }
}

impl Merge for PnSlot {
    fn merge(&mut self, other: &Self) {
        self.p = self.p.max(other.p);
        self.n = self.n.max(other.n);
        self.stamp = self.stamp.max(other.stamp);
    }
}

/// Positive-negative counter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PnCounter {
    pub slots: BTreeMap<Site, PnSlot>,
}

impl PnCounter {
    /// Adds `delta` (may be negative) as `stamp.site`.
    pub fn add(&mut self, delta: i64, stamp: Stamp) {
        let slot = self.slots.entry(stamp.site).or_default();
        if delta >= 0 {
            slot.p = slot.p.saturating_add(delta.unsigned_abs());
        } else {
            slot.n = slot.n.saturating_add(delta.unsigned_abs());
        }
        slot.stamp = slot.stamp.max(stamp);
    }
    pub fn value(&self) -> i64 {
        clamp(self.slots.values().map(PnSlot::net).sum())
    }
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

impl Merge for PnCounter {
    fn merge(&mut self, other: &Self) {
        for (site, slot) in &other.slots {
            self.slots.entry(*site).or_default().merge(slot);
        }
    }
}

/// "There are `base` units", counted when each site's net count was `observed`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stocktake {
    pub base: i64,
    pub observed: BTreeMap<Site, i64>,
}

/// Stock of one SKU at one location.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StockLevel {
    pub moves: PnCounter,
    pub stocktake: Option<Lww<Stocktake>>,
}

impl StockLevel {
    /// Receipts (+) and sales (−).
    pub fn add(&mut self, delta: i64, stamp: Stamp) {
        self.moves.add(delta, stamp);
    }
    /// A stocktake: from now on the level is `count` plus the moves this replica has not seen.
    pub fn set_to(&mut self, count: i64, stamp: Stamp) {
        let observed = self.moves.slots.iter().map(|(s, slot)| (*s, clamp(slot.net()))).collect();
        let take = Lww::new(Stocktake { base: count, observed }, stamp);
        match &mut self.stocktake {
            Some(t) => t.merge(&take),
            None => self.stocktake = Some(take),
        }
    }
    /// The level: the winning stocktake's count plus every move it did not observe.
    pub fn value(&self) -> i64 {
        match &self.stocktake {
            None => self.moves.value(),
            Some(t) => {
                let unseen: i128 = self
                    .moves
                    .slots
                    .iter()
                    .map(|(s, slot)| slot.net() - i128::from(t.value.observed.get(s).copied().unwrap_or(0)))
                    .sum();
                clamp(i128::from(t.value.base) + unseen)
            }
        }
    }
}

impl Merge for StockLevel {
    fn merge(&mut self, other: &Self) {
        self.moves.merge(&other.moves);
        match (&mut self.stocktake, &other.stocktake) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.stocktake = Some(b.clone()),
            _ => {}
        }
    }
}

/// A row: per-field LWW plus causal-length existence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub exists: CausalLength,
    pub fields: BTreeMap<String, Lww<Value>>,
}

impl Record {
    /// Writes every field and (re-)adds the row.
    pub fn upsert(&mut self, fields: &[(&str, Value)], stamp: Stamp) {
        self.exists.add(stamp);
        for (name, value) in fields {
            self.set_field(name, value.clone(), stamp);
        }
    }
    fn set_field(&mut self, name: &str, value: Value, stamp: Stamp) {
        let new = Lww::new(value, stamp);
        match self.fields.get_mut(name) {
            Some(f) => f.merge(&new),
            None => {
                self.fields.insert(name.to_owned(), new);
            }
        }
    }
    /// Changes one field of a present row (and so keeps it against a concurrent delete).
    /// Returns false (and changes nothing) if the row is not present.
    pub fn update(&mut self, name: &str, value: Value, stamp: Stamp) -> bool {
        if !self.exists.present() {
            return false;
        }
        self.exists.add(stamp);
        self.set_field(name, value, stamp);
        true
    }
    pub fn delete(&mut self, stamp: Stamp) {
        self.exists.remove(stamp);
    }
    /// The fields, if the row is present.
    pub fn visible(&self) -> Option<BTreeMap<&str, &Value>> {
        self.exists.present().then(|| self.fields.iter().map(|(k, f)| (k.as_str(), &f.value)).collect())
    }
}

impl Merge for Record {
    fn merge(&mut self, other: &Self) {
        self.exists.merge(&other.exists);
        for (name, f) in &other.fields {
            match self.fields.get_mut(name) {
                Some(mine) => mine.merge(f),
                None => {
                    self.fields.insert(name.clone(), f.clone());
                }
            }
        }
    }
}

/// One line of a shared cart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineState {
    pub exists: CausalLength,
    pub quantity: PnCounter,
}

/// A cart's lines shared between devices: add-wins map of SKU → quantity counter. Concurrent
/// "+1"s from a handheld and a register both count; a line removed on one device while another
/// adds to it stays.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CartLines {
    pub lines: BTreeMap<String, LineState>,
}

impl CartLines {
    /// Adds `quantity` of `sku` (a new line if absent; a re-added line starts from `quantity`).
    pub fn add(&mut self, sku: &str, quantity: i64, stamp: Stamp) {
        let line = self.lines.entry(sku.to_owned()).or_default();
        if line.exists.present() {
            line.exists.add(stamp);
            line.quantity.add(quantity, stamp);
        } else {
            line.exists.add(stamp);
            let reset = quantity.saturating_sub(line.quantity.value());
            line.quantity.add(reset, stamp);
        }
    }
    /// Sets the quantity of a line (adding it if absent).
    pub fn set(&mut self, sku: &str, quantity: i64, stamp: Stamp) {
        let line = self.lines.entry(sku.to_owned()).or_default();
        line.exists.add(stamp);
        let delta = quantity.saturating_sub(line.quantity.value());
        line.quantity.add(delta, stamp);
    }
    pub fn remove(&mut self, sku: &str, stamp: Stamp) {
        if let Some(line) = self.lines.get_mut(sku) {
            line.exists.remove(stamp);
        }
    }
    /// Present lines with a positive quantity, by SKU.
    pub fn visible(&self) -> BTreeMap<&str, i64> {
        self.lines
            .iter()
            .filter(|(_, l)| l.exists.present() && l.quantity.value() > 0)
            .map(|(sku, l)| (sku.as_str(), l.quantity.value()))
            .collect()
    }
}

impl Merge for CartLines {
    fn merge(&mut self, other: &Self) {
        for (sku, line) in &other.lines {
            let mine = self.lines.entry(sku.clone()).or_default();
            mine.exists.merge(&line.exists);
            mine.quantity.merge(&line.quantity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(hlc: u64, site: Site) -> Stamp {
        Stamp::new(Hlc(hlc), site)
    }

    #[test]
    fn stocktake_keeps_concurrent_sales() {
        // Two registers sell; register 1 counts 10 on the shelf having seen only its own sale.
        let (mut r1, mut r2) = (StockLevel::default(), StockLevel::default());
        r1.add(20, st(1, 1)); // receipt
        r2.merge(&r1);
        r1.add(-1, st(2, 1));
        r2.add(-2, st(3, 2)); // not yet seen by register 1
        r1.set_to(10, st(4, 1));
        r1.merge(&r2);
        r2.merge(&r1);
        assert_eq!(r1, r2);
        assert_eq!(r1.value(), 8, "the count of 10 minus the 2 sold unseen");
    }

    #[test]
    fn delete_and_readd() {
        let mut a = Record::default();
        a.upsert(&[("name", "Ada".into())], st(1, 1));
        let mut b = a.clone();
        a.delete(st(2, 1));
        assert!(a.visible().is_none());
        a.upsert(&[("name", "Ada L.".into())], st(3, 1));
        b.merge(&a);
        assert_eq!(b.visible().unwrap()["name"], &Value::from("Ada L."));
        // An edit concurrent with a delete wins.
        let mut c = b.clone();
        b.delete(st(4, 1));
        assert!(c.update("name", "Ada K.".into(), st(4, 2)));
        b.merge(&c);
        c.merge(&b);
        assert_eq!(b, c);
        assert!(b.visible().is_some());
    }

    #[test]
    fn cart_line_readded_starts_from_its_quantity_and_adds_count() {
        let mut h = CartLines::default();
        h.add("MILK", 2, st(1, 1));
        let mut r = h.clone();
        h.add("MILK", 1, st(2, 1));
        r.add("MILK", 1, st(2, 2));
        h.merge(&r);
        assert_eq!(h.visible()["MILK"], 4);
        h.remove("MILK", st(3, 1));
        assert!(h.visible().is_empty());
        h.add("MILK", 1, st(4, 1));
        assert_eq!(h.visible()["MILK"], 1);
    }
}
