//! The batch on the wire: what every sink sends and what [`super::Ingest`] reads back.
//!
//! JSON: `{"store","device","stream","first_seq","last_seq","records":[{"seq","at_ms","data"}]}`;
//! NDJSON: one record per line, each with `store`, `device`, `stream`. A JSON stream's payload
//! is embedded as `data`; a bytes stream's as `data_b64` (standard base64). The idempotency key
//! `store/device/stream/first-last` names the batch; the receiver deduplicates per record by
//! `(store, device, stream, seq)`, so a batch re-sent with other boundaries is still applied
//! exactly once (`docs/schemas/forward-batch.schema.json`).

use std::io::{Read, Write};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::config::{BatchFormat, Compression, PayloadFormat};
use crate::error::{Error, Result};

/// One stored record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    /// When it was appended (Unix ms, this device's clock).
    pub at_ms: i64,
    pub payload: Vec<u8>,
}

/// A run of consecutive records of one stream, as an exporter sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub store: String,
    pub device: String,
    pub stream: String,
    pub format: PayloadFormat,
    pub records: Vec<Record>,
}

impl Batch {
    pub fn first_seq(&self) -> u64 {
        self.records.first().map_or(0, |r| r.seq)
    }

    pub fn last_seq(&self) -> u64 {
        self.records.last().map_or(0, |r| r.seq)
    }

    pub fn payload_bytes(&self) -> u64 {
        self.records.iter().map(|r| r.payload.len() as u64).sum()
    }

    /// `store/device/stream/first-last`: the same records always get the same key.
    pub fn idempotency_key(&self) -> String {
        format!("{}/{}/{}/{}-{}", self.store, self.device, self.stream, self.first_seq(), self.last_seq())
    }

    pub fn encode(&self, format: BatchFormat) -> Vec<u8> {
        match format {
            BatchFormat::Json => self.to_json(),
            BatchFormat::Ndjson => self.to_ndjson(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload_bytes() as usize + 64 * self.records.len() + 128);
        out.extend_from_slice(b"{\"store\":");
        push_json_str(&mut out, &self.store);
        out.extend_from_slice(b",\"device\":");
        push_json_str(&mut out, &self.device);
        out.extend_from_slice(b",\"stream\":");
        push_json_str(&mut out, &self.stream);
        out.extend_from_slice(format!(",\"first_seq\":{},\"last_seq\":{},\"records\":[", self.first_seq(), self.last_seq()).as_bytes());
        for (i, r) in self.records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(format!("{{\"seq\":{},\"at_ms\":{},", r.seq, r.at_ms).as_bytes());
            self.push_data(&mut out, r);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        out
    }

    pub fn to_ndjson(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload_bytes() as usize + 128 * self.records.len());
        for r in &self.records {
            out.extend_from_slice(b"{\"store\":");
            push_json_str(&mut out, &self.store);
            out.extend_from_slice(b",\"device\":");
            push_json_str(&mut out, &self.device);
            out.extend_from_slice(b",\"stream\":");
            push_json_str(&mut out, &self.stream);
            out.extend_from_slice(format!(",\"seq\":{},\"at_ms\":{},", r.seq, r.at_ms).as_bytes());
            self.push_data(&mut out, r);
            out.extend_from_slice(b"}\n");
        }
        out
    }

    fn push_data(&self, out: &mut Vec<u8>, r: &Record) {
        match self.format {
            // Appends to a JSON stream were validated, so the payload is one JSON value.
            PayloadFormat::Json => {
                out.extend_from_slice(b"\"data\":");
                out.extend_from_slice(&r.payload);
            }
            PayloadFormat::Bytes => {
                out.extend_from_slice(b"\"data_b64\":\"");
                out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(&r.payload).as_bytes());
                out.push(b'"');
            }
        }
    }

    /// Reads a batch body in either format (detected: a JSON body starts with an object that
    /// has `records`; NDJSON has one record per line). Every record must name the same store,
    /// device and stream, and sequence numbers must increase.
    pub fn decode(body: &[u8]) -> Result<Batch> {
        let text = std::str::from_utf8(body).map_err(|e| bad(format!("body is not UTF-8: {e}")))?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(bad("empty body".into()));
        }
        let single: std::result::Result<JsonBatch<'_>, _> = serde_json::from_str(trimmed);
        let (store, device, stream, wire) = match single {
            Ok(b) => (b.store, b.device, b.stream, b.records),
            Err(json_err) => {
                let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty()).enumerate().peekable();
                if lines.peek().is_none() {
                    return Err(bad(format!("not a batch: {json_err}")));
                }
                let mut header: Option<(String, String, String)> = None;
                let mut wire = Vec::new();
                for (i, line) in lines {
                    let r: NdjsonRecord<'_> = serde_json::from_str(line)
                        .map_err(|e| bad(format!("line {}: {e} (and not a JSON batch: {json_err})", i + 1)))?;
                    match &header {
                        None => header = Some((r.store.clone(), r.device.clone(), r.stream.clone())),
                        Some((s, d, st)) if (s, d, st) != (&r.store, &r.device, &r.stream) => {
                            return Err(bad(format!("line {}: records of more than one store/device/stream", i + 1)));
                        }
                        Some(_) => {}
                    }
                    wire.push(WireRecord { seq: r.seq, at_ms: r.at_ms, data: r.data, data_b64: r.data_b64 });
                }
                let (s, d, st) = header.unwrap_or_default();
                (s, d, st, wire)
            }
        };
        let mut format = None;
        let mut records = Vec::with_capacity(wire.len());
        let mut last = 0u64;
        for (i, w) in wire.into_iter().enumerate() {
            if w.seq == 0 || w.seq <= last {
                return Err(bad(format!("records[{i}]: seq {} does not increase (previous {last})", w.seq)));
            }
            last = w.seq;
            let (f, payload) = match (w.data, w.data_b64) {
                (Some(d), None) => (PayloadFormat::Json, d.get().as_bytes().to_vec()),
                (None, Some(b)) => (
                    PayloadFormat::Bytes,
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .map_err(|e| bad(format!("records[{i}].data_b64: {e}")))?,
                ),
                _ => return Err(bad(format!("records[{i}]: exactly one of data and data_b64 is required"))),
            };
            if *format.get_or_insert(f) != f {
                return Err(bad(format!("records[{i}]: mixes data and data_b64")));
            }
            records.push(Record { seq: w.seq, at_ms: w.at_ms, payload });
        }
        for (what, v) in [("store", &store), ("device", &device), ("stream", &stream)] {
            if v.is_empty() {
                return Err(bad(format!("{what} is missing")));
            }
        }
        Ok(Batch { store, device, stream, format: format.unwrap_or_default(), records })
    }
}

#[derive(Deserialize)]
struct JsonBatch<'a> {
    store: String,
    device: String,
    stream: String,
    #[serde(borrow)]
    records: Vec<WireRecord<'a>>,
}

#[derive(Deserialize)]
struct WireRecord<'a> {
    seq: u64,
    at_ms: i64,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    data_b64: Option<String>,
}

#[derive(Deserialize)]
struct NdjsonRecord<'a> {
    store: String,
    device: String,
    stream: String,
    seq: u64,
    at_ms: i64,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    data_b64: Option<String>,
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly as JSON requires; names are short.
    out.extend_from_slice(serde_json::to_string(s).unwrap_or_default().as_bytes());
}

fn bad(detail: String) -> Error {
    Error::IngestRejected { detail }
}

/// Compresses a body; the `Content-Encoding` value to send with it.
pub fn compress(body: Vec<u8>, how: Compression) -> Result<(Vec<u8>, Option<&'static str>)> {
    let io = |e: std::io::Error| Error::InvalidArgument(format!("compressing a batch: {e}"));
    match how {
        Compression::None => Ok((body, None)),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
            enc.write_all(&body).map_err(io)?;
            Ok((enc.finish().map_err(io)?, Some("gzip")))
        }
        Compression::Zstd => Ok((zstd::bulk::compress(&body, 3).map_err(io)?, Some("zstd"))),
    }
}

/// Undoes [`compress`] given the `Content-Encoding` (none, `identity`, `gzip`, `zstd`), with
/// a cap on the decompressed size so a small hostile body cannot exhaust memory.
pub fn decompress(body: &[u8], encoding: Option<&str>, max_bytes: usize) -> Result<Vec<u8>> {
    let too_big = || bad(format!("decompressed body exceeds {max_bytes} bytes"));
    match encoding.map(str::trim) {
        None | Some("") | Some("identity") => {
            if body.len() > max_bytes {
                return Err(too_big());
            }
            Ok(body.to_vec())
        }
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(max_bytes as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(format!("gzip body: {e}")))?;
            if out.len() > max_bytes {
                return Err(too_big());
            }
            Ok(out)
        }
        Some("zstd") => {
            let mut out = Vec::new();
            zstd::stream::read::Decoder::new(body)
                .map_err(|e| bad(format!("zstd body: {e}")))?
                .take(max_bytes as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(format!("zstd body: {e}")))?;
            if out.len() > max_bytes {
                return Err(too_big());
            }
            Ok(out)
        }
        Some(other) => Err(bad(format!("unsupported Content-Encoding {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn batch(format: PayloadFormat, payloads: &[Vec<u8>]) -> Batch {
        Batch {
            store: "store-1".into(),
            device: "reg \"1\"".into(),
            stream: "sales".into(),
            format,
            records: payloads
                .iter()
                .enumerate()
                .map(|(i, p)| Record { seq: 10 + i as u64 * 3, at_ms: 1_700_000_000_000 + i as i64, payload: p.clone() })
                .collect(),
        }
    }

    #[test]
    fn json_and_ndjson_round_trip() {
        let b = batch(PayloadFormat::Json, &[br#"{"a":1}"#.to_vec(), b"[1,2]".to_vec(), b"\"x\"".to_vec()]);
        assert_eq!(Batch::decode(&b.to_json()).unwrap(), b);
        assert_eq!(Batch::decode(&b.to_ndjson()).unwrap(), b);
        assert_eq!(b.idempotency_key(), "store-1/reg \"1\"/sales/10-16");
    }

    #[test]
    fn rejects_bad_bodies_with_a_reason() {
        for (body, needle) in [
            (&b""[..], "empty"),
            (b"{\"store\":\"s\"}", "missing field"),
            (b"{\"store\":\"s\",\"device\":\"d\",\"stream\":\"x\",\"records\":[{\"seq\":2,\"at_ms\":0,\"data\":1},{\"seq\":2,\"at_ms\":0,\"data\":1}]}", "does not increase"),
            (b"{\"store\":\"s\",\"device\":\"d\",\"stream\":\"x\",\"records\":[{\"seq\":1,\"at_ms\":0}]}", "exactly one"),
        ] {
            let e = Batch::decode(body).unwrap_err();
            assert_eq!(e.code(), "INGEST_REJECTED");
            assert!(e.to_string().contains(needle), "{e}");
        }
    }

    #[test]
    fn compression_round_trips_and_caps() {
        let body = b"{\"x\":1}".repeat(1000);
        for how in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let (c, enc) = compress(body.clone(), how).unwrap();
            assert_eq!(decompress(&c, enc, 1 << 20).unwrap(), body);
            assert_eq!(decompress(&c, enc, 100).unwrap_err().code(), "INGEST_REJECTED");
        }
    }

    proptest! {
        #[test]
        fn bytes_batches_round_trip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..20)) {
            let b = batch(PayloadFormat::Bytes, &payloads);
            prop_assert_eq!(Batch::decode(&b.to_json()).unwrap(), b.clone());
            prop_assert_eq!(Batch::decode(&b.to_ndjson()).unwrap(), b);
        }

        #[test]
        fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Batch::decode(&body);
        }
    }
}
