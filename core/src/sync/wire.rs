//! The sync wire format: a small hand-rolled binary encoding, signed and optionally compressed.
//!
//! Why hand-rolled (LEB128 varints, length-prefixed strings) rather than a serde format such as
//! postcard: the format is the contract between old and new devices during a rollout, so it is
//! written out here field by field with a version byte instead of following a derive; decoding
//! is bounds-checked everywhere (a fuzz target drives it) and needs no new dependency.
//!
//! ```text
//! frame   = "AS" version:u8 kind:u8 flags:u8 sender_key:[32] body_len:varint body signature:[64]
//! flags   = bit 0: body is zstd-compressed
//! request = msg_id vector
//! changes = msg_id batch chunk_index chunk_count since:vector sender:vector
//!           scope_count scope* slot_count slot*
//! vector  = scope_count (scope site_count (site hlc)*)*
//! slot    = scope_index collection key sub kind:u8 [owner if kind=2] value hlc site
//! value   = field: tag:u8 (0 null | 1 zigzag int | 2 text | 3 bytes) | length: varint
//!         | count: p n | stocktake: zigzag base count (site zigzag net)*
//! ```
//! The signature (Ed25519, the sender's device key) covers every byte before it, so a frame is
//! checked for framing, then signature, and only then decompressed and decoded.

use std::collections::BTreeMap;
use std::io::Read;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::crdt::{Hlc, Site, Stamp, Stocktake, Value};
use super::engine::{Slot, SlotKey, SlotValue, VersionVector};
use crate::error::Error;

/// The format this build writes and the newest it reads.
pub const FORMAT_VERSION: u8 = 1;
const MAGIC: &[u8; 2] = b"AS";
const HEADER: usize = 2 + 1 + 1 + 1 + 32;
const SIGNATURE: usize = 64;
/// A decompressed body larger than this is refused (a compression bomb, or a chunk too big).
pub const MAX_BODY: usize = 64 << 20;
const COMPRESS_ABOVE: usize = 512;
const FLAG_ZSTD: u8 = 1;
/// Most chunks in one batch (bounds the receiver's bookkeeping).
const MAX_CHUNKS: u32 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Request = 1,
    Changes = 2,
}

fn decode_err(detail: impl Into<String>) -> Error {
    Error::SyncDecode { detail: detail.into() }
}

/// A frame whose layout was checked (not yet its signature).
pub(crate) struct Frame<'a> {
    pub kind: Kind,
    pub sender: [u8; 32],
    compressed: bool,
    body: &'a [u8],
    signed: &'a [u8],
    signature: [u8; 64],
}

pub(crate) fn seal(kind: Kind, key: &SigningKey, body: &[u8]) -> Vec<u8> {
    let compressed = (body.len() > COMPRESS_ABOVE)
        .then(|| zstd::bulk::compress(body, 3).ok())
        .flatten()
        .filter(|c| c.len() < body.len());
    let (flags, payload) = match &compressed {
        Some(c) => (FLAG_ZSTD, c.as_slice()),
        None => (0, body),
    };
    let mut out = Vec::with_capacity(HEADER + 10 + payload.len() + SIGNATURE);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind as u8);
    out.push(flags);
    out.extend_from_slice(key.verifying_key().as_bytes());
    put_varint(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    let sig = key.sign(&out);
    out.extend_from_slice(&sig.to_bytes());
    out
}

/// Checks the framing: magic, version, kind, and that the body length matches exactly (a
/// truncated or padded message is `SYNC_DECODE`).
pub(crate) fn frame(bytes: &[u8]) -> Result<Frame<'_>, Error> {
    if bytes.len() < HEADER + 1 + SIGNATURE {
        return Err(decode_err(format!("{} bytes is shorter than any sync message", bytes.len())));
    }
    if &bytes[..2] != MAGIC {
        return Err(decode_err("not a sync message (bad magic)"));
    }
    if bytes[2] == 0 || bytes[2] > FORMAT_VERSION {
        return Err(Error::SyncUnsupportedVersion { found: bytes[2], supported: FORMAT_VERSION });
    }
    let kind = match bytes[3] {
        1 => Kind::Request,
        2 => Kind::Changes,
        k => return Err(decode_err(format!("unknown message kind {k}"))),
    };
    let flags = bytes[4];
    if flags & !FLAG_ZSTD != 0 {
        return Err(decode_err(format!("unknown flags {flags:#x}")));
    }
    let mut sender = [0; 32];
    sender.copy_from_slice(&bytes[5..HEADER]);
    let mut r = Reader::new(&bytes[HEADER..]);
    let len = r.varint()?;
    let start = HEADER + r.pos;
    let end = usize::try_from(len).ok().and_then(|l| start.checked_add(l)).ok_or_else(|| decode_err("body length overflows"))?;
    if end.checked_add(SIGNATURE) != Some(bytes.len()) {
        return Err(decode_err(format!(
            "body of {len} bytes and a signature do not fill the {} bytes received (truncated or padded)",
            bytes.len()
        )));
    }
    let mut signature = [0; 64];
    signature.copy_from_slice(&bytes[end..]);
    Ok(Frame { kind, sender, compressed: flags & FLAG_ZSTD != 0, body: &bytes[start..end], signed: &bytes[..end], signature })
}

impl Frame<'_> {
    /// Verifies the signature with the sender's enrolled key.
    pub fn verify(&self, key: &[u8; 32], device: &str) -> Result<(), Error> {
        let bad = || Error::SyncBadSignature { device: device.to_owned() };
        let vk = VerifyingKey::from_bytes(key).map_err(|_| bad())?;
        vk.verify_strict(self.signed, &Signature::from_bytes(&self.signature)).map_err(|_| bad())
    }

    /// The body, decompressed (at most [`MAX_BODY`] bytes).
    pub fn body(&self) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
        if !self.compressed {
            return Ok(std::borrow::Cow::Borrowed(self.body));
        }
        let mut out = Vec::new();
        let dec = zstd::stream::read::Decoder::new(self.body).map_err(|e| decode_err(format!("zstd: {e}")))?;
        dec.take(MAX_BODY as u64 + 1).read_to_end(&mut out).map_err(|e| decode_err(format!("zstd: {e}")))?;
        if out.len() > MAX_BODY {
            return Err(decode_err(format!("body decompresses to more than {MAX_BODY} bytes")));
        }
        Ok(std::borrow::Cow::Owned(out))
    }
}

/// A device asking for what it lacks: its version vector (its scopes are the keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub msg_id: u64,
    pub vector: VersionVector,
}

/// One chunk of changes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Changes {
    pub msg_id: u64,
    pub batch: u64,
    pub index: u32,
    pub count: u32,
    /// The vector the receiver sent (what these changes are relative to).
    pub since: VersionVector,
    /// The sender's vector when it made the batch.
    pub sender_vector: VersionVector,
    pub scopes: Vec<String>,
    pub slots: Vec<Slot>,
}

pub(crate) fn encode_request(r: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, r.msg_id);
    put_vector(&mut out, &r.vector);
    out
}

pub(crate) fn decode_request(body: &[u8]) -> Result<Request, Error> {
    let mut r = Reader::new(body);
    let msg_id = r.varint()?;
    let vector = r.vector()?;
    r.end()?;
    Ok(Request { msg_id, vector })
}

pub(crate) fn encode_changes(c: &Changes) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, c.msg_id);
    put_varint(&mut out, c.batch);
    put_varint(&mut out, u64::from(c.index));
    put_varint(&mut out, u64::from(c.count));
    put_vector(&mut out, &c.since);
    put_vector(&mut out, &c.sender_vector);
    put_varint(&mut out, c.scopes.len() as u64);
    for s in &c.scopes {
        put_str(&mut out, s);
    }
    let index: BTreeMap<&str, u64> = c.scopes.iter().enumerate().map(|(i, s)| (s.as_str(), i as u64)).collect();
    put_varint(&mut out, c.slots.len() as u64);
    for s in &c.slots {
        put_varint(&mut out, index.get(s.key.scope.as_str()).copied().unwrap_or(0));
        put_slot(&mut out, s);
    }
    out
}

pub(crate) fn decode_changes(body: &[u8]) -> Result<Changes, Error> {
    let mut r = Reader::new(body);
    let msg_id = r.varint()?;
    let batch = r.varint()?;
    let index = r.u32()?;
    let count = r.u32()?;
    if count == 0 || index >= count || count > MAX_CHUNKS {
        return Err(decode_err(format!("chunk {index} of {count}")));
    }
    let since = r.vector()?;
    let sender_vector = r.vector()?;
    let n = r.count(1)?;
    let mut scopes = Vec::with_capacity(n);
    for _ in 0..n {
        scopes.push(r.string()?);
    }
    let n = r.count(8)?;
    let mut slots = Vec::with_capacity(n);
    for _ in 0..n {
        let at = r.varint()?;
        let scope = usize::try_from(at).ok().and_then(|i| scopes.get(i)).ok_or_else(|| decode_err(format!("scope index {at}")))?;
        slots.push(r.slot(scope.clone())?);
    }
    r.end()?;
    Ok(Changes { msg_id, batch, index, count, since, sender_vector, scopes, slots })
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_vector(out: &mut Vec<u8>, v: &VersionVector) {
    put_varint(out, v.0.len() as u64);
    for (scope, sites) in &v.0 {
        put_str(out, scope);
        put_varint(out, sites.len() as u64);
        for (site, hlc) in sites {
            put_varint(out, *site);
            put_varint(out, hlc.0);
        }
    }
}

pub(crate) fn put_slot(out: &mut Vec<u8>, s: &Slot) {
    put_str(out, &s.key.collection);
    put_str(out, &s.key.key);
    put_str(out, &s.key.sub);
    match &s.value {
        SlotValue::Field(v) => {
            out.push(0);
            put_value(out, v);
        }
        SlotValue::Length(n) => {
            out.push(1);
            put_varint(out, *n);
        }
        SlotValue::Count { p, n } => {
            out.push(2);
            put_varint(out, s.key.owner);
            put_varint(out, *p);
            put_varint(out, *n);
        }
        SlotValue::Stocktake(t) => {
            out.push(3);
            put_zigzag(out, t.base);
            put_varint(out, t.observed.len() as u64);
            for (site, net) in &t.observed {
                put_varint(out, *site);
                put_zigzag(out, *net);
            }
        }
    }
    put_varint(out, s.stamp.hlc.0);
    put_varint(out, s.stamp.site);
}

pub(crate) fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0),
        Value::Int(i) => {
            out.push(1);
            put_zigzag(out, *i);
        }
        Value::Text(s) => {
            out.push(2);
            put_str(out, s);
        }
        Value::Bytes(b) => {
            out.push(3);
            put_bytes(out, b);
        }
    }
}

/// A bounds-checked reader: every failure is `SYNC_DECODE`.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, pos: 0 }
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let v = *self.b.get(self.pos).ok_or_else(|| decode_err("unexpected end of message"))?;
        self.pos += 1;
        Ok(v)
    }

    pub fn varint(&mut self) -> Result<u64, Error> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(decode_err("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(decode_err("varint longer than 10 bytes"))
    }

    fn zigzag(&mut self) -> Result<i64, Error> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| decode_err(format!("{v} does not fit 32 bits")))
    }

    /// A count of items each at least `min_bytes` long: bounded by what is left, so a forged
    /// count cannot make us allocate.
    fn count(&mut self, min_bytes: usize) -> Result<usize, Error> {
        let n = self.varint()?;
        let left = (self.b.len() - self.pos) / min_bytes.max(1);
        usize::try_from(n).ok().filter(|n| *n <= left).ok_or_else(|| decode_err(format!("count {n} exceeds the message")))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let n = self.count(1)?;
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn string(&mut self) -> Result<String, Error> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| decode_err("string is not UTF-8"))
    }

    fn end(&self) -> Result<(), Error> {
        if self.pos != self.b.len() {
            return Err(decode_err(format!("{} trailing bytes", self.b.len() - self.pos)));
        }
        Ok(())
    }

    fn vector(&mut self) -> Result<VersionVector, Error> {
        let mut v = VersionVector::default();
        for _ in 0..self.count(2)? {
            let scope = self.string()?;
            let mut sites = BTreeMap::new();
            for _ in 0..self.count(2)? {
                let site = self.varint()?;
                let hlc = Hlc(self.varint()?);
                sites.insert(site, hlc);
            }
            v.0.insert(scope, sites);
        }
        Ok(v)
    }

    fn value(&mut self) -> Result<Value, Error> {
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => Value::Int(self.zigzag()?),
            2 => Value::Text(self.string()?),
            3 => Value::Bytes(self.bytes()?.to_vec()),
            t => return Err(decode_err(format!("unknown value tag {t}"))),
        })
    }

    fn slot(&mut self, scope: String) -> Result<Slot, Error> {
        let collection = self.string()?;
        let key = self.string()?;
        let sub = self.string()?;
        let kind = self.byte()?;
        let mut owner: Site = 0;
        let value = match kind {
            0 => SlotValue::Field(self.value()?),
            1 => SlotValue::Length(self.varint()?),
            2 => {
                owner = self.varint()?;
                SlotValue::Count { p: self.varint()?, n: self.varint()? }
            }
            3 => {
                let base = self.zigzag()?;
                let mut observed = BTreeMap::new();
                for _ in 0..self.count(2)? {
                    let site = self.varint()?;
                    observed.insert(site, self.zigzag()?);
                }
                SlotValue::Stocktake(Stocktake { base, observed })
            }
            k => return Err(decode_err(format!("unknown slot kind {k}"))),
        };
        let stamp = Stamp::new(Hlc(self.varint()?), self.varint()?);
        if kind == 2 && owner != stamp.site {
            return Err(decode_err("a counter slot stamped by a site other than its owner"));
        }
        Ok(Slot { key: SlotKey { scope, collection, key, sub, kind, owner }, value, stamp })
    }
}

/// Encodes a value on its own (stored in `sync_slot.value`).
pub(crate) fn value_bytes(v: &SlotValue) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        SlotValue::Field(v) => put_value(&mut out, v),
        SlotValue::Length(n) => put_varint(&mut out, *n),
        SlotValue::Count { p, n } => {
            put_varint(&mut out, *p);
            put_varint(&mut out, *n);
        }
        SlotValue::Stocktake(t) => {
            put_zigzag(&mut out, t.base);
            put_varint(&mut out, t.observed.len() as u64);
            for (site, net) in &t.observed {
                put_varint(&mut out, *site);
                put_zigzag(&mut out, *net);
            }
        }
    }
    out
}

/// Decodes what [`value_bytes`] wrote for a slot of `kind`.
pub(crate) fn value_from_bytes(kind: u8, b: &[u8]) -> Result<SlotValue, Error> {
    let mut r = Reader::new(b);
    let v = match kind {
        0 => SlotValue::Field(r.value()?),
        1 => SlotValue::Length(r.varint()?),
        2 => SlotValue::Count { p: r.varint()?, n: r.varint()? },
        3 => {
            let base = r.zigzag()?;
            let mut observed = BTreeMap::new();
            for _ in 0..r.count(2)? {
                let site = r.varint()?;
                observed.insert(site, r.zigzag()?);
            }
            SlotValue::Stocktake(Stocktake { base, observed })
        }
        k => return Err(decode_err(format!("unknown slot kind {k}"))),
    };
    r.end()?;
    Ok(v)
}
