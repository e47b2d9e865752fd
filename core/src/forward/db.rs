//! The SQL of streams: appends with exact byte accounting, caps, TTLs, reading batches,
//! acknowledgements and reclaiming. Every function works on a connection inside the caller's
//! transaction, so an append can share a transaction with the sale it records. The same code
//! serves durable streams (the device's file) and memory streams (an in-memory database with
//! the same schema).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::config::{ExporterConfig, PayloadFormat, StartAt, StreamConfig, WhenFull};
use super::wire::Record;
use crate::edge::Failure;
use crate::error::Error;

type R<T> = std::result::Result<T, Failure>;

/// A stream's row, as appends see and update it.
#[derive(Clone, Debug)]
pub(crate) struct Meta {
    pub config: StreamConfig,
    pub next_seq: i64,
    pub bytes: i64,
    pub records: i64,
    pub dropped_full: i64,
    pub dropped_expired: i64,
    pub rejected_full: i64,
}

pub(crate) fn load_meta(conn: &Connection, stream: &str) -> R<Option<Meta>> {
    let row = conn
        .prepare_cached(
            "SELECT config, next_seq, bytes, records, dropped_full, dropped_expired, rejected_full
             FROM fwd_stream WHERE name = ?1",
        )?
        .query_row([stream], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .optional()?;
    let Some((config, next_seq, bytes, records, dropped_full, dropped_expired, rejected_full)) = row else {
        return Ok(None);
    };
    let config: StreamConfig = serde_json::from_str(&config)
        .map_err(|e| Error::Store(format!("stream {stream:?} has an unreadable config: {e}")))?;
    Ok(Some(Meta { config, next_seq, bytes, records, dropped_full, dropped_expired, rejected_full }))
}

fn save_meta(conn: &Connection, m: &Meta) -> R<()> {
    conn.prepare_cached(
        "UPDATE fwd_stream SET next_seq = ?2, bytes = ?3, records = ?4, dropped_full = ?5,
             dropped_expired = ?6, rejected_full = ?7 WHERE name = ?1",
    )?
    .execute(params![m.config.name, m.next_seq, m.bytes, m.records, m.dropped_full, m.dropped_expired, m.rejected_full])?;
    Ok(())
}

/// Creates a stream, or updates the settings of an existing one that can change in place
/// (cap, policy, TTL, priority). Storage and payload format cannot change.
pub(crate) fn create_stream(conn: &Connection, config: &StreamConfig, now_ms: i64) -> R<bool> {
    match load_meta(conn, &config.name)? {
        None => {
            conn.execute(
                "INSERT INTO fwd_stream (name, config, created_ms) VALUES (?1, ?2, ?3)",
                params![config.name, config.to_json(), now_ms],
            )?;
            Ok(true)
        }
        Some(m) => {
            if m.config.storage != config.storage || m.config.format != config.format {
                return Err(Error::StreamExists {
                    stream: config.name.clone(),
                    detail: format!(
                        "it is {:?}/{:?}, asked for {:?}/{:?} (storage and format cannot change)",
                        m.config.storage, m.config.format, config.storage, config.format
                    ),
                }
                .into());
            }
            conn.execute("UPDATE fwd_stream SET config = ?2 WHERE name = ?1", params![config.name, config.to_json()])?;
            Ok(false)
        }
    }
}

pub(crate) fn delete_stream(conn: &Connection, stream: &str) -> R<()> {
    if conn.execute("DELETE FROM fwd_stream WHERE name = ?1", [stream])? == 0 {
        return Err(Error::StreamNotFound { stream: stream.to_owned() }.into());
    }
    conn.execute("DELETE FROM fwd_record WHERE stream = ?1", [stream])?;
    Ok(())
}

pub(crate) fn stream_names(conn: &Connection) -> R<Vec<StreamConfig>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM fwd_stream ORDER BY name")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        if let Some(m) = load_meta(conn, &n)? {
            out.push(m.config);
        }
    }
    Ok(out)
}

/// Appends within one transaction: stream rows are read once and written back once by
/// [`Appender::finish`], however many records go in.
pub(crate) struct Appender<'c> {
    conn: &'c Connection,
    now_ms: i64,
    streams: HashMap<String, Meta>,
}

impl<'c> Appender<'c> {
    pub fn new(conn: &'c Connection, now_ms: i64) -> Appender<'c> {
        Appender { conn, now_ms, streams: HashMap::new() }
    }

    /// Appends one record; its sequence number. A refused record changes nothing but the
    /// stream's `rejected_full` counter.
    pub fn append(&mut self, stream: &str, payload: &[u8]) -> R<u64> {
        if !self.streams.contains_key(stream) {
            let mut m = load_meta(self.conn, stream)?.ok_or_else(|| Error::StreamNotFound { stream: stream.to_owned() })?;
            expire(self.conn, &mut m, self.now_ms)?;
            self.streams.insert(stream.to_owned(), m);
        }
        let conn = self.conn;
        let m = self.streams.get_mut(stream).ok_or_else(|| Error::StreamNotFound { stream: stream.to_owned() })?;
        let len = payload.len() as i64;
        if m.config.format == PayloadFormat::Json {
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(payload) {
                return Err(Error::InvalidPayload { stream: stream.to_owned(), reason: format!("not one JSON value: {e}") }.into());
            }
        }
        let max = m.config.max_bytes as i64;
        if len > max {
            return Err(Error::InvalidPayload {
                stream: stream.to_owned(),
                reason: format!("a record of {len} bytes is larger than the stream's max_bytes {max}"),
            }
            .into());
        }
        if m.bytes + len > max {
            match m.config.when_full {
                WhenFull::Reject => {
                    m.rejected_full += 1;
                    return Err(Error::StreamFull {
                        stream: stream.to_owned(),
                        used: m.bytes as u64,
                        max_bytes: max as u64,
                        needed: len as u64,
                    }
                    .into());
                }
                WhenFull::DropOldest => drop_oldest(conn, m, len)?,
            }
        }
        let seq = m.next_seq;
        conn.prepare_cached("INSERT INTO fwd_record (stream, seq, at_ms, payload, crc) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![stream, seq, self.now_ms, payload, crc32fast::hash(payload)])?;
        m.next_seq += 1;
        m.bytes += len;
        m.records += 1;
        Ok(seq as u64)
    }

    pub fn finish(self) -> R<()> {
        for m in self.streams.values() {
            save_meta(self.conn, m)?;
        }
        Ok(())
    }
}

/// Deletes oldest records until `incoming` more bytes fit under the cap.
fn drop_oldest(conn: &Connection, m: &mut Meta, incoming: i64) -> R<()> {
    let max = m.config.max_bytes as i64;
    while m.bytes + incoming > max && m.records > 0 {
        let mut stmt =
            conn.prepare_cached("SELECT seq, length(payload) FROM fwd_record WHERE stream = ?1 ORDER BY seq LIMIT 256")?;
        let rows = stmt
            .query_map([&m.config.name], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if rows.is_empty() {
            break;
        }
        let (mut upto, mut freed, mut n) = (0, 0, 0);
        for (seq, len) in rows {
            if m.bytes - freed + incoming <= max {
                break;
            }
            upto = seq;
            freed += len;
            n += 1;
        }
        conn.prepare_cached("DELETE FROM fwd_record WHERE stream = ?1 AND seq <= ?2")?.execute(params![m.config.name, upto])?;
        m.bytes -= freed;
        m.records -= n;
        m.dropped_full += n;
    }
    Ok(())
}

/// Deletes records older than the stream's TTL.
pub(crate) fn expire(conn: &Connection, m: &mut Meta, now_ms: i64) -> R<u64> {
    let Some(age) = m.config.max_age_ms else { return Ok(0) };
    let cutoff = now_ms.saturating_sub(age.min(i64::MAX as u64) as i64);
    let mut total = 0;
    loop {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, length(payload), at_ms FROM fwd_record WHERE stream = ?1 ORDER BY seq LIMIT 256",
        )?;
        let rows = stmt
            .query_map([&m.config.name], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let full_page = rows.len() == 256;
        let (mut upto, mut freed, mut n) = (None, 0, 0);
        for (seq, len, at) in rows {
            if at >= cutoff {
                break;
            }
            upto = Some(seq);
            freed += len;
            n += 1;
        }
        let Some(upto) = upto else { break };
        conn.prepare_cached("DELETE FROM fwd_record WHERE stream = ?1 AND seq <= ?2")?.execute(params![m.config.name, upto])?;
        m.bytes -= freed;
        m.records -= n;
        m.dropped_expired += n;
        total += n as u64;
        if !(full_page && n == 256) {
            break;
        }
    }
    Ok(total)
}

/// Expires one stream and saves its row (the housekeeping sweep).
pub(crate) fn expire_stream(conn: &Connection, stream: &str, now_ms: i64) -> R<u64> {
    let Some(mut m) = load_meta(conn, stream)? else { return Ok(0) };
    let n = expire(conn, &mut m, now_ms)?;
    if n > 0 {
        save_meta(conn, &m)?;
    }
    Ok(n)
}

/// Up to `max_records` records after `after_seq`, stopping before `max_bytes` of payload
/// (but always at least one record, so an oversized record still moves).
///
/// Records are only ever deleted from the front (acknowledged, dropped when full, expired), so
/// a stream holds exactly the seqs `next_seq - records .. next_seq`. SQLite has no page
/// checksums and a damaged b-tree page can hide rows; any hole in that run, a missing tail or
/// a payload that fails its CRC is `STORE_CORRUPT`, never a silently shorter batch.
pub(crate) fn read_after(conn: &Connection, stream: &str, after_seq: u64, max_records: u32, max_bytes: u64) -> R<Vec<Record>> {
    let m = load_meta(conn, stream)?.ok_or_else(|| Error::StreamNotFound { stream: stream.to_owned() })?;
    let last_held = (m.next_seq - 1).max(0) as u64;
    let first_held = (m.next_seq - m.records).max(1) as u64;
    let corrupt = |detail: String| -> Failure {
        Error::StoreCorrupt { path: Default::default(), detail: format!("stream {stream:?}: {detail}") }.into()
    };
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at_ms, payload, crc FROM fwd_record WHERE stream = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![stream, after_seq as i64, max_records])?;
    let mut out: Vec<Record> = Vec::new();
    let mut bytes = 0u64;
    let mut expect = (after_seq + 1).max(first_held);
    while let Some(r) = rows.next()? {
        let seq = r.get::<_, i64>(0)? as u64;
        if seq != expect {
            return Err(corrupt(format!("expected record {expect}, found {seq}")));
        }
        let payload: Vec<u8> = r.get(2)?;
        if crc32fast::hash(&payload) != r.get::<_, u32>(3)? {
            // Never forward a damaged record as if it were the real one.
            return Err(corrupt(format!("record {seq}: payload does not match its checksum")));
        }
        if !out.is_empty() && bytes + payload.len() as u64 > max_bytes {
            return Ok(out);
        }
        bytes += payload.len() as u64;
        out.push(Record { seq, at_ms: r.get(1)?, payload });
        expect += 1;
    }
    let want = (last_held.saturating_sub(after_seq.max(first_held - 1))).min(max_records as u64);
    if m.records > 0 && (out.len() as u64) < want {
        return Err(corrupt(format!("records {expect}..={last_held} are missing", )));
    }
    Ok(out)
}

/// An exporter's stored state.
#[derive(Clone, Debug)]
pub(crate) struct ExporterRow {
    pub stream: String,
    pub config: ExporterConfig,
    pub acked_seq: u64,
    pub last_ack_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub delivered_records: u64,
    pub delivered_bytes: u64,
    pub dead_lettered: u64,
}

pub(crate) fn exporters(conn: &Connection, stream: Option<&str>) -> R<Vec<ExporterRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT stream, name, config, acked_seq, last_ack_ms, last_error, last_error_ms, delivered_records,
                delivered_bytes, dead_lettered
         FROM fwd_exporter WHERE ?1 IS NULL OR stream = ?1 ORDER BY stream, name",
    )?;
    let rows = stmt
        .query_map([stream], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(stream, name, config, acked, last_ack_ms, last_error, last_error_ms, dr, db, dl)| {
            let config: ExporterConfig = serde_json::from_str(&config)
                .map_err(|e| Error::Store(format!("exporter {stream}/{name} has an unreadable config: {e}")))?;
            Ok(ExporterRow {
                stream,
                config,
                acked_seq: acked.max(0) as u64,
                last_ack_ms,
                last_error,
                last_error_ms,
                delivered_records: dr.max(0) as u64,
                delivered_bytes: db.max(0) as u64,
                dead_lettered: dl.max(0) as u64,
            })
        })
        .collect()
}

/// Adds an exporter, or replaces the configuration of an existing one (keeping its place).
pub(crate) fn put_exporter(conn: &Connection, stream: &str, config: &ExporterConfig) -> R<bool> {
    let m = load_meta(conn, stream)?.ok_or_else(|| Error::StreamNotFound { stream: stream.to_owned() })?;
    let updated = conn.execute(
        "UPDATE fwd_exporter SET config = ?3 WHERE stream = ?1 AND name = ?2",
        params![stream, config.name, config.to_json()],
    )?;
    if updated > 0 {
        return Ok(false);
    }
    let acked = match config.start_at {
        StartAt::Oldest => 0,
        StartAt::Latest => m.next_seq - 1,
        StartAt::Seq(n) => (n.min(i64::MAX as u64) as i64 - 1).max(0),
    };
    conn.execute(
        "INSERT INTO fwd_exporter (stream, name, config, acked_seq) VALUES (?1, ?2, ?3, ?4)",
        params![stream, config.name, config.to_json(), acked],
    )?;
    Ok(true)
}

pub(crate) fn remove_exporter(conn: &Connection, stream: &str, name: &str) -> R<()> {
    if conn.execute("DELETE FROM fwd_exporter WHERE stream = ?1 AND name = ?2", [stream, name])? == 0 {
        return Err(Error::ExporterNotFound { stream: stream.to_owned(), exporter: name.to_owned() }.into());
    }
    // Its hold on the stream's records is released.
    reclaim(conn, stream)?;
    Ok(())
}

/// Records a delivered batch and frees what every exporter has now acknowledged.
pub(crate) fn ack(conn: &Connection, stream: &str, exporter: &str, last_seq: u64, records: u64, bytes: u64, now_ms: i64, dead_lettered: bool) -> R<()> {
    let n = conn
        .prepare_cached(
            "UPDATE fwd_exporter SET acked_seq = max(acked_seq, ?3), last_ack_ms = ?4,
                 delivered_records = delivered_records + ?5, delivered_bytes = delivered_bytes + ?6,
                 dead_lettered = dead_lettered + ?7
             WHERE stream = ?1 AND name = ?2",
        )?
        .execute(params![
            stream,
            exporter,
            last_seq as i64,
            now_ms,
            if dead_lettered { 0 } else { records as i64 },
            if dead_lettered { 0 } else { bytes as i64 },
            if dead_lettered { records as i64 } else { 0 }
        ])?;
    if n == 0 {
        return Err(Error::ExporterNotFound { stream: stream.to_owned(), exporter: exporter.to_owned() }.into());
    }
    reclaim(conn, stream)
}

pub(crate) fn record_error(conn: &Connection, stream: &str, exporter: &str, error: &str, now_ms: i64) -> R<()> {
    // A sink's error can quote what a remote service answered; a card number must never be
    // stored, whatever it came with. (The card guard is the one commerce rule forward uses.)
    let error = if crate::commerce::card_guard::contains_card_number(error) {
        "the error text was withheld: it contained what looks like a card number"
    } else {
        error
    };
    conn.prepare_cached("UPDATE fwd_exporter SET last_error = ?3, last_error_ms = ?4 WHERE stream = ?1 AND name = ?2")?
        .execute(params![stream, exporter, error, now_ms])?;
    Ok(())
}

/// Deletes the records every exporter of the stream has acknowledged. A stream without
/// exporters keeps its records (until its TTL or cap says otherwise).
fn reclaim(conn: &Connection, stream: &str) -> R<()> {
    let min: Option<i64> = conn
        .prepare_cached("SELECT min(acked_seq) FROM fwd_exporter WHERE stream = ?1")?
        .query_row([stream], |r| r.get(0))?;
    let Some(min) = min else { return Ok(()) };
    let (n, freed): (i64, i64) = conn
        .prepare_cached("SELECT count(*), coalesce(sum(length(payload)), 0) FROM fwd_record WHERE stream = ?1 AND seq <= ?2")?
        .query_row(params![stream, min], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if n == 0 {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM fwd_record WHERE stream = ?1 AND seq <= ?2")?.execute(params![stream, min])?;
    conn.prepare_cached("UPDATE fwd_stream SET bytes = bytes - ?2, records = records - ?3 WHERE name = ?1")?
        .execute(params![stream, freed, n])?;
    Ok(())
}

/// Backlog of one exporter: records and payload bytes after its acknowledged position, and
/// when the oldest of them was appended.
pub(crate) fn backlog(conn: &Connection, stream: &str, after_seq: u64) -> R<(u64, u64, Option<i64>)> {
    let (n, bytes, oldest): (i64, i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT count(*), coalesce(sum(length(payload)), 0),
                    (SELECT at_ms FROM fwd_record WHERE stream = ?1 AND seq > ?2 ORDER BY seq LIMIT 1)
             FROM fwd_record WHERE stream = ?1 AND seq > ?2",
        )?
        .query_row(params![stream, after_seq as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok((n.max(0) as u64, bytes.max(0) as u64, oldest))
}

/// First and last sequence numbers held, and the oldest record's time.
pub(crate) fn bounds(conn: &Connection, stream: &str) -> R<(Option<u64>, Option<i64>)> {
    Ok(conn
        .prepare_cached("SELECT seq, at_ms FROM fwd_record WHERE stream = ?1 ORDER BY seq LIMIT 1")?
        .query_row([stream], |r| Ok((Some(r.get::<_, i64>(0)? as u64), Some(r.get::<_, i64>(1)?))))
        .optional()?
        .unwrap_or((None, None)))
}
