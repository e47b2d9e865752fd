//! The receiving side: a cloud service applies forwarded batches exactly once.
//!
//! Each `(store, device, stream)` has a persisted high-water mark: the highest sequence number
//! applied. A batch's records at or below it are duplicates (a retry after a lost response, a
//! re-send with other batch boundaries) and are skipped; the rest are handed to the
//! application and the mark moves — in one SQLite transaction, so the mark and an effect
//! written to the same file commit together or not at all. No time window: the mark is kept
//! for as long as the file is.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::wire::{Batch, decompress};
use super::{lock, now_ms};
use crate::error::{Error, Result};
use crate::store::{self, Location};

/// Largest decompressed body [`Ingest::receive`] accepts by default.
pub const DEFAULT_MAX_BODY: usize = 64 << 20;

pub struct Ingest {
    conn: Mutex<Connection>,
    path: std::path::PathBuf,
}

/// What one batch did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    pub key: String,
    pub store: String,
    pub device: String,
    pub stream: String,
    /// Records handed to the application.
    pub applied: u64,
    /// Records skipped because they were applied before.
    pub duplicates: u64,
    /// The high-water mark after this batch.
    pub high_seq: u64,
}

impl Ingest {
    /// Opens (creating) the receiver's SQLite file.
    pub fn open(path: impl AsRef<Path>) -> Result<Ingest> {
        let location = Location::File(path.as_ref().to_owned());
        Ok(Ingest { conn: Mutex::new(store::open(&location)?), path: location.display_path() })
    }

    pub fn open_in_memory() -> Result<Ingest> {
        Ok(Ingest { conn: Mutex::new(store::open(&Location::Memory)?), path: ":memory:".into() })
    }

    /// Decodes an HTTP body (`Content-Encoding` none, gzip or zstd) and applies it with
    /// [`Ingest::apply`].
    pub fn receive(
        &self,
        body: &[u8],
        content_encoding: Option<&str>,
        apply: impl FnOnce(&Connection, &Batch) -> std::result::Result<(), String>,
    ) -> Result<IngestReport> {
        let plain = decompress(body, content_encoding, DEFAULT_MAX_BODY)?;
        self.apply(&Batch::decode(&plain)?, apply)
    }

    /// Hands the records of `batch` not applied before to `apply` (with the connection of the
    /// open transaction, for effects that must commit with the mark) and moves the mark. If
    /// `apply` fails, nothing changes and the error says why (`INGEST_REJECTED`).
    pub fn apply(
        &self,
        batch: &Batch,
        apply: impl FnOnce(&Connection, &Batch) -> std::result::Result<(), String>,
    ) -> Result<IngestReport> {
        let mut conn = lock(&self.conn);
        let classify = |e: rusqlite::Error| store::classify(&self.path, e);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(classify)?;
        let mark: u64 = tx
            .prepare_cached("SELECT high_seq FROM fwd_ingest WHERE store = ?1 AND device = ?2 AND stream = ?3")
            .and_then(|mut s| s.query_row(params![batch.store, batch.device, batch.stream], |r| r.get::<_, i64>(0)).optional())
            .map_err(classify)?
            .map_or(0, |m| m.max(0) as u64);
        let fresh: Vec<_> = batch.records.iter().filter(|r| r.seq > mark).cloned().collect();
        let duplicates = (batch.records.len() - fresh.len()) as u64;
        let high = fresh.last().map_or(mark, |r| r.seq);
        if !fresh.is_empty() {
            let new = Batch { records: fresh, ..batch.clone() };
            apply(&tx, &new).map_err(|reason| Error::IngestRejected { detail: format!("the application refused it: {reason}") })?;
        }
        tx.prepare_cached(
            "INSERT INTO fwd_ingest (store, device, stream, high_seq, records, duplicates, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (store, device, stream) DO UPDATE SET high_seq = max(high_seq, excluded.high_seq),
                 records = records + excluded.records, duplicates = duplicates + excluded.duplicates,
                 updated_ms = excluded.updated_ms",
        )
        .and_then(|mut s| {
            s.execute(params![
                batch.store,
                batch.device,
                batch.stream,
                high as i64,
                (batch.records.len() as u64 - duplicates) as i64,
                duplicates as i64,
                now_ms()
            ])
        })
        .map_err(classify)?;
        tx.commit().map_err(classify)?;
        Ok(IngestReport {
            key: batch.idempotency_key(),
            store: batch.store.clone(),
            device: batch.device.clone(),
            stream: batch.stream.clone(),
            applied: batch.records.len() as u64 - duplicates,
            duplicates,
            high_seq: high,
        })
    }

    /// The highest sequence number applied for a `(store, device, stream)` (0: none).
    pub fn high_water(&self, store: &str, device: &str, stream: &str) -> Result<u64> {
        let conn = lock(&self.conn);
        conn.query_row(
            "SELECT high_seq FROM fwd_ingest WHERE store = ?1 AND device = ?2 AND stream = ?3",
            params![store, device, stream],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map(|m| m.map_or(0, |m| m.max(0) as u64))
        .map_err(|e| store::classify(&self.path, e))
    }

    /// Runs `f` on the receiver's connection (queries of what the application stored there).
    pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        f(&lock(&self.conn)).map_err(|e| store::classify(&self.path, e))
    }
}
