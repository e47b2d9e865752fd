//! What a stream and its exporters are doing: backlog, oldest unsent age, errors, acks,
//! throughput. Read from the tables (exact, survives restarts) plus the workers' live state.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;
use serde::Serialize;

use super::config::{Storage, WhenFull};
use super::worker::Runtime;
use super::{db, now_ms};
use crate::edge::Failure;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamStatus {
    pub name: String,
    pub storage: Storage,
    pub priority: i32,
    pub when_full: WhenFull,
    /// Records and payload bytes held (unsent, or sent but not yet acknowledged by every
    /// exporter).
    pub records: u64,
    pub bytes: u64,
    pub max_bytes: u64,
    /// Sequence number of the oldest record held and of the last one appended (0: none yet).
    pub first_seq: Option<u64>,
    pub last_seq: u64,
    pub oldest_age_ms: Option<i64>,
    pub dropped_full: u64,
    pub dropped_expired: u64,
    pub rejected_full: u64,
    pub exporters: Vec<ExporterStatus>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExporterState {
    /// Nothing to send.
    Idle,
    /// Has a backlog and is sending it.
    Sending,
    /// The last send failed; waiting to retry (or probing a link that is down).
    Retrying,
    /// Paused by the application.
    Disabled,
    /// A callback exporter whose function is not registered (yet).
    WaitingForCallback,
    /// Forwarding is not started on this store (`streams.start()`).
    Stopped,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExporterStatus {
    pub stream: String,
    pub name: String,
    pub kind: &'static str,
    pub enabled: bool,
    pub state: ExporterState,
    pub acked_seq: u64,
    pub backlog_records: u64,
    pub backlog_bytes: u64,
    pub oldest_unsent_age_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub last_ack_ms: Option<i64>,
    pub delivered_records: u64,
    pub delivered_bytes: u64,
    pub dead_lettered: u64,
    /// Consecutive failed attempts of the current batch.
    pub attempts: u32,
    /// Over the last minute.
    pub records_per_sec: f64,
    pub bytes_per_sec: f64,
}

pub(crate) fn collect(
    conn: &Connection,
    only: Option<&str>,
    runtime: &HashMap<(String, String), Runtime>,
    callbacks: &HashSet<(String, String)>,
    running: bool,
) -> std::result::Result<Vec<StreamStatus>, Failure> {
    let now = now_ms();
    let names: Vec<String> = match only {
        Some(s) => vec![s.to_owned()],
        None => db::stream_names(conn)?.into_iter().map(|c| c.name).collect(),
    };
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let Some(m) = db::load_meta(conn, &name)? else { continue };
        let (first_seq, oldest_at) = db::bounds(conn, &name)?;
        let mut exporters = Vec::new();
        for row in db::exporters(conn, Some(&name))? {
            let (backlog_records, backlog_bytes, oldest) = db::backlog(conn, &name, row.acked_seq)?;
            let key = (name.clone(), row.config.name.clone());
            let rt = runtime.get(&key);
            let state = if !row.config.enabled {
                ExporterState::Disabled
            } else if !running {
                ExporterState::Stopped
            } else if row.config.sink == super::SinkConfig::Callback && !callbacks.contains(&key) {
                ExporterState::WaitingForCallback
            } else if rt.is_some_and(|r| r.attempts > 0) {
                ExporterState::Retrying
            } else if backlog_records > 0 {
                ExporterState::Sending
            } else {
                ExporterState::Idle
            };
            let (records_per_sec, bytes_per_sec) = rt.map(Runtime::throughput).unwrap_or((0.0, 0.0));
            exporters.push(ExporterStatus {
                stream: name.clone(),
                name: row.config.name.clone(),
                kind: row.config.sink.kind(),
                enabled: row.config.enabled,
                state,
                acked_seq: row.acked_seq,
                backlog_records,
                backlog_bytes,
                oldest_unsent_age_ms: oldest.map(|at| (now - at).max(0)),
                last_error: row.last_error,
                last_error_ms: row.last_error_ms,
                last_ack_ms: row.last_ack_ms,
                delivered_records: row.delivered_records,
                delivered_bytes: row.delivered_bytes,
                dead_lettered: row.dead_lettered,
                attempts: rt.map_or(0, |r| r.attempts),
                records_per_sec,
                bytes_per_sec,
            });
        }
        out.push(StreamStatus {
            name: name.clone(),
            storage: m.config.storage,
            priority: m.config.priority,
            when_full: m.config.when_full,
            records: m.records.max(0) as u64,
            bytes: m.bytes.max(0) as u64,
            max_bytes: m.config.max_bytes,
            first_seq,
            last_seq: (m.next_seq - 1).max(0) as u64,
            oldest_age_ms: oldest_at.map(|at| (now - at).max(0)),
            dropped_full: m.dropped_full.max(0) as u64,
            dropped_expired: m.dropped_expired.max(0) as u64,
            rejected_full: m.rejected_full.max(0) as u64,
            exporters,
        });
    }
    Ok(out)
}
