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

thread_local! {
    /// The `Ingest` whose apply function this thread is running (its address), so a call back
    /// into the same `Ingest` from that function is an error instead of a deadlock.
    static APPLYING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
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

/// Marks this thread as inside `ingest`'s apply function until dropped (also on a panic).
struct Applying;

impl Applying {
    fn enter(ingest: &Ingest) -> Applying {
        APPLYING.with(|a| a.set(ingest as *const Ingest as usize));
        Applying
    }
}

impl Drop for Applying {
    fn drop(&mut self) {
        APPLYING.with(|a| a.set(0));
    }
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
        self.not_reentered()?;
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
            let applied = {
                let _mark = Applying::enter(self);
                apply(&tx, &new)
            };
            applied.map_err(|reason| Error::IngestRejected { detail: format!("the application refused it: {reason}") })?;
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
        self.not_reentered()?;
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

    fn not_reentered(&self) -> Result<()> {
        if APPLYING.with(|a| a.get()) == self as *const Ingest as usize {
            return Err(Error::InvalidArgument(
                "this Ingest was called from inside its own apply function; use the connection it passes instead".into(),
            ));
        }
        Ok(())
    }

    /// Runs `f` on the receiver's connection (queries of what the application stored there).
    pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        self.not_reentered()?;
        f(&lock(&self.conn)).map_err(|e| store::classify(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::{PayloadFormat, Record};

    fn batch(seqs: &[u64]) -> Batch {
        Batch {
            store: "s".into(),
            device: "d".into(),
            stream: "x".into(),
            format: PayloadFormat::Json,
            records: seqs.iter().map(|&seq| Record { seq, at_ms: 0, payload: b"1".to_vec() }).collect(),
        }
    }

    #[test]
    fn duplicates_are_skipped_record_by_record_and_a_refusal_changes_nothing() {
        let ingest = Ingest::open_in_memory().unwrap();
        let r = ingest.apply(&batch(&[1, 2, 3]), |_, _| Ok(())).unwrap();
        assert_eq!((r.applied, r.duplicates, r.high_seq), (3, 0, 3));
        // Re-sent with other boundaries: only 4 and 5 are new.
        let mut got = vec![];
        let r = ingest.apply(&batch(&[2, 3, 4, 5]), |_, b| {
            got = b.records.iter().map(|r| r.seq).collect();
            Ok(())
        });
        assert_eq!((r.unwrap().duplicates, got), (2, vec![4, 5]));
        let e = ingest.apply(&batch(&[6]), |_, _| Err("disk full".into())).unwrap_err();
        assert_eq!(e.code(), "INGEST_REJECTED");
        assert_eq!(ingest.high_water("s", "d", "x").unwrap(), 5, "the refused batch moved nothing");
    }

    #[test]
    fn calling_back_into_the_same_ingest_is_an_error_not_a_deadlock() {
        let ingest = Ingest::open_in_memory().unwrap();
        let mut inner = None;
        ingest
            .apply(&batch(&[1]), |_, _| {
                inner = Some(ingest.high_water("s", "d", "x"));
                Ok(())
            })
            .unwrap();
        assert_eq!(inner.unwrap().unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(ingest.high_water("s", "d", "x").unwrap(), 1, "usable again afterwards");
    }
}
