//! Store-and-forward: named durable (or in-memory) streams that accept records while the store
//! is offline, and exporters that forward them — batched, prioritised, retried — once the link
//! is up, with an idempotency key per record so the receiver applies each exactly once.
//!
//! Owns the `fwd_*` tables and the forwarding workers. Knows nothing of commerce: commerce
//! appends its events with [`append_in`] inside its own transaction. Never drops a record
//! except by a stream's explicit policy (cap with `drop_oldest`, TTL), and counts every drop.

mod config;
mod db;
mod group;
mod ingest;
pub(crate) mod sinks;
mod status;
mod wire;
mod worker;

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

pub use config::{
    BatchFormat, Compression, DirectorySink, ExporterConfig, HttpSink, MqttSink, MqttTls, PayloadFormat, RetryPolicy,
    SinkConfig, StartAt, Storage, StreamConfig, WhenFull,
};
pub use ingest::{Ingest, IngestReport};
pub use sinks::Callback;
pub use status::{ExporterState, ExporterStatus, StreamStatus};
pub use wire::{Batch, Record, compress, decompress};

use crate::edge::{Failure, Shared};
use crate::error::{Error, Result};
use crate::store::{self, Location};

/// The streams of one open store: `edge.streams()`.
#[derive(Clone)]
pub struct Streams {
    pub(crate) shared: Shared,
}

/// What the forwarding machinery keeps per open store (in `Edge`'s shared state).
pub(crate) struct State {
    /// Memory streams live in an in-memory database with the same schema, so every rule is
    /// the same code for both kinds.
    memory: Mutex<Option<Connection>>,
    /// Which streams are memory streams (all others are durable).
    memory_names: Mutex<std::collections::HashSet<String>>,
    group: group::GroupCommit,
    /// Bumped on every append and configuration change; workers wait on it.
    pub(crate) signal: Signal,
    pub(crate) callbacks: Mutex<HashMap<(String, String), Callback>>,
    pub(crate) runtime: Mutex<HashMap<(String, String), worker::Runtime>>,
    pub(crate) workers: Mutex<worker::Workers>,
    /// Where and how often the housekeeping thread appends a status document.
    pub(crate) status_events: Mutex<Option<(String, Duration)>>,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            memory: Mutex::new(None),
            memory_names: Mutex::new(Default::default()),
            group: group::GroupCommit::default(),
            signal: Signal::default(),
            callbacks: Mutex::new(HashMap::new()),
            runtime: Mutex::new(HashMap::new()),
            workers: Mutex::new(worker::Workers::default()),
            status_events: Mutex::new(None),
        }
    }
}

/// A generation counter with a condition variable: cheap wake-ups for the workers.
#[derive(Default)]
pub(crate) struct Signal {
    generation: Mutex<u64>,
    cv: Condvar,
}

impl Signal {
    pub(crate) fn notify(&self) {
        *lock(&self.generation) += 1;
        self.cv.notify_all();
    }

    pub(crate) fn generation(&self) -> u64 {
        *lock(&self.generation)
    }

    /// Waits until the generation moves past `seen` or `timeout` passes.
    pub(crate) fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let g = lock(&self.generation);
        let (g, _) = self.cv.wait_timeout_while(g, timeout, |g| *g == seen).unwrap_or_else(|p| p.into_inner());
        *g
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Appends one record to a durable stream inside the caller's transaction (commerce records
/// its events this way, so the event commits with the sale or not at all). Call
/// [`Streams::notify`] after the commit so the workers pick it up at once.
pub(crate) fn append_in(conn: &Connection, stream: &str, payload: &[u8], at_ms: i64) -> std::result::Result<u64, Failure> {
    let mut a = db::Appender::new(conn, at_ms);
    let seq = a.append(stream, payload)?;
    a.finish()?;
    Ok(seq)
}

/// Creates a durable stream inside the caller's transaction if it does not exist yet.
pub(crate) fn ensure_stream_in(conn: &Connection, config: &StreamConfig) -> std::result::Result<(), Failure> {
    if db::load_meta(conn, &config.name)?.is_none() {
        db::create_stream(conn, config, now_ms())?;
    }
    Ok(())
}

impl Streams {
    fn state(&self) -> &State {
        self.shared.forward()
    }

    /// Runs `f` on the database that holds `stream` (its own transaction).
    pub(crate) fn with_db<T>(&self, stream: &str, f: impl FnOnce(&Connection) -> std::result::Result<T, Failure>) -> Result<T> {
        let r = if self.is_memory(stream) { self.with_memory(f) } else { self.shared.write(|tx| f(tx)) };
        // The SQL layer does not know which file it is reading: name it here.
        r.map_err(|e| match e {
            Error::StoreCorrupt { path, detail } if path.as_os_str().is_empty() => {
                Error::StoreCorrupt { path: self.shared.path().to_owned(), detail }
            }
            e => e,
        })
    }

    fn is_memory(&self, stream: &str) -> bool {
        lock(&self.state().memory_names).contains(stream)
    }

    fn with_memory<T>(&self, f: impl FnOnce(&Connection) -> std::result::Result<T, Failure>) -> Result<T> {
        let mut guard = lock(&self.state().memory);
        if guard.is_none() {
            *guard = Some(store::open(&Location::Memory)?);
        }
        let conn = guard.as_mut().ok_or_else(|| Error::Store("memory streams unavailable".into()))?;
        let tx = conn.transaction().map_err(|e| store::classify(std::path::Path::new(":memory:"), e))?;
        let r = f(&tx).and_then(|v| tx.commit().map(|_| v).map_err(Failure::from));
        r.map_err(|f| match f {
            Failure::Sql(e) => store::classify(std::path::Path::new(":memory:"), e),
            Failure::Domain(e) => e,
        })
    }

    /// Runs `f` on both databases (durable first), for listings and status.
    fn each_db<T>(&self, mut f: impl FnMut(&Connection, Storage) -> std::result::Result<Vec<T>, Failure>) -> Result<Vec<T>> {
        let mut out = self.shared.read(|c| f(c, Storage::Durable))?;
        if lock(&self.state().memory).is_some() {
            out.extend(self.with_memory(|c| f(c, Storage::Memory))?);
        }
        Ok(out)
    }

    /// Creates a stream, or changes the cap, policy, TTL and priority of an existing one.
    /// Changing its storage or payload format is `STREAM_EXISTS`.
    pub fn create(&self, config: &StreamConfig) -> Result<()> {
        config.validate()?;
        let name = &config.name;
        match config.storage {
            Storage::Durable => {
                if self.is_memory(name) {
                    return Err(Error::StreamExists { stream: name.clone(), detail: "it is a memory stream".into() });
                }
                self.shared.write(|tx| db::create_stream(tx, config, now_ms()))?;
            }
            Storage::Memory => {
                let durable = self.shared.read(|c| db::load_meta(c, name))?;
                if durable.is_some() {
                    return Err(Error::StreamExists { stream: name.clone(), detail: "it is a durable stream".into() });
                }
                self.with_memory(|c| db::create_stream(c, config, now_ms()))?;
                lock(&self.state().memory_names).insert(name.clone());
            }
        }
        self.notify();
        Ok(())
    }

    /// Deletes a stream with its records and exporters.
    pub fn delete(&self, stream: &str) -> Result<()> {
        self.with_db(stream, |c| {
            c.execute("DELETE FROM fwd_exporter WHERE stream = ?1", [stream])?;
            db::delete_stream(c, stream)
        })?;
        lock(&self.state().memory_names).remove(stream);
        self.notify();
        Ok(())
    }

    /// Every stream's configuration, durable ones first, by name.
    pub fn list(&self) -> Result<Vec<StreamConfig>> {
        self.each_db(|c, _| db::stream_names(c))
    }

    /// One stream's configuration.
    pub fn config(&self, stream: &str) -> Result<StreamConfig> {
        self.with_db(stream, |c| db::load_meta(c, stream))?
            .map(|m| m.config)
            .ok_or_else(|| Error::StreamNotFound { stream: stream.to_owned() })
    }

    /// Appends a record; returns its sequence number once it is committed (for a durable
    /// stream: on disk, `synchronous=FULL`). Concurrent appends share one commit.
    pub fn append(&self, stream: &str, payload: &[u8]) -> Result<u64> {
        let seq = if self.is_memory(stream) {
            self.with_memory(|c| append_in(c, stream, payload, now_ms()))?
        } else {
            self.state().group.append(&self.shared, stream, payload)?
        };
        self.notify();
        Ok(seq)
    }

    /// Queues an append to a durable stream without waiting for its commit: the record is
    /// acknowledged (durable, numbered) only when [`PendingAppend::wait`] returns. One thread
    /// can keep many appends in flight this way and they share commits, as concurrent
    /// [`Streams::append`] calls do. (A memory stream appends at once.)
    pub fn submit(&self, stream: &str, payload: &[u8]) -> Result<PendingAppend> {
        let pending = if self.is_memory(stream) {
            PendingAppend { streams: self.clone(), state: Pending::Done(self.append(stream, payload)) }
        } else {
            PendingAppend { streams: self.clone(), state: Pending::Queued(self.state().group.enqueue(stream, payload)) }
        };
        Ok(pending)
    }

    /// Appends several records to one stream in one transaction: all or none.
    pub fn append_batch<P: AsRef<[u8]>>(&self, stream: &str, payloads: &[P]) -> Result<Vec<u64>> {
        let run = |c: &Connection| {
            let mut a = db::Appender::new(c, now_ms());
            let seqs = payloads.iter().map(|p| a.append(stream, p.as_ref())).collect::<std::result::Result<Vec<_>, _>>()?;
            a.finish()?;
            Ok(seqs)
        };
        let seqs = if self.is_memory(stream) { self.with_memory(run)? } else { self.shared.write(|tx| run(tx))? };
        self.notify();
        Ok(seqs)
    }

    /// How long a group-commit leader waits for more appends before committing (default 0:
    /// commit at once; appends that arrive during a commit join the next one).
    pub fn set_group_commit_wait(&self, wait: Duration) {
        self.state().group.set_wait(wait);
    }

    /// Up to `max_records` records after `after_seq` (inspection, tests, pull-style readers).
    pub fn read(&self, stream: &str, after_seq: u64, max_records: u32) -> Result<Vec<Record>> {
        self.with_db(stream, |c| {
            if db::load_meta(c, stream)?.is_none() {
                return Err(Error::StreamNotFound { stream: stream.to_owned() }.into());
            }
            db::read_after(c, stream, after_seq, max_records.max(1), u64::MAX)
        })
    }

    /// Adds an exporter to a stream, or replaces an existing exporter's configuration (it
    /// keeps its acknowledged position).
    pub fn add_exporter(&self, stream: &str, config: &ExporterConfig) -> Result<()> {
        config.validate()?;
        if let Some(dl) = &config.dead_letter {
            if dl == stream {
                return Err(Error::InvalidArgument(format!("exporter {:?}: a stream cannot be its own dead-letter stream", config.name)));
            }
            self.config(dl)?;
        }
        self.with_db(stream, |c| db::put_exporter(c, stream, config))?;
        self.state().runtime_reset(stream, &config.name);
        worker::ensure_running(&self.shared);
        self.notify();
        Ok(())
    }

    /// The configurations of a stream's exporters, by name.
    pub fn exporters(&self, stream: &str) -> Result<Vec<ExporterConfig>> {
        self.config(stream)?;
        Ok(self.with_db(stream, |c| db::exporters(c, Some(stream)))?.into_iter().map(|e| e.config).collect())
    }

    /// Removes an exporter; the records it alone was holding are freed.
    pub fn remove_exporter(&self, stream: &str, exporter: &str) -> Result<()> {
        self.with_db(stream, |c| db::remove_exporter(c, stream, exporter))?;
        lock(&self.state().callbacks).remove(&(stream.to_owned(), exporter.to_owned()));
        self.notify();
        Ok(())
    }

    /// Pauses or resumes an exporter (a paused exporter keeps its place and holds its records).
    pub fn set_exporter_enabled(&self, stream: &str, exporter: &str, enabled: bool) -> Result<()> {
        let mut row = self.exporter_row(stream, exporter)?;
        row.config.enabled = enabled;
        self.with_db(stream, |c| db::put_exporter(c, stream, &row.config))?;
        self.notify();
        Ok(())
    }

    /// Registers the function a callback exporter delivers to (not persisted: register it
    /// again after each open; until then the exporter waits and keeps its place).
    pub fn set_callback(&self, stream: &str, exporter: &str, callback: Callback) -> Result<()> {
        let row = self.exporter_row(stream, exporter)?;
        if row.config.sink != SinkConfig::Callback {
            return Err(Error::InvalidArgument(format!(
                "exporter {stream}/{exporter} sends to {}, not to a callback",
                row.config.sink.kind()
            )));
        }
        lock(&self.state().callbacks).insert((stream.to_owned(), exporter.to_owned()), callback);
        self.state().runtime_reset(stream, exporter);
        self.notify();
        Ok(())
    }

    fn exporter_row(&self, stream: &str, exporter: &str) -> Result<db::ExporterRow> {
        self.with_db(stream, |c| db::exporters(c, Some(stream)))?
            .into_iter()
            .find(|e| e.config.name == exporter)
            .ok_or_else(|| Error::ExporterNotFound { stream: stream.to_owned(), exporter: exporter.to_owned() })
    }

    /// Starts forwarding in background threads (one per link: exporters that share an
    /// endpoint share a thread, which serves higher-priority streams first). Idempotent.
    pub fn start(&self) {
        worker::start(&self.shared);
    }

    /// Stops forwarding and joins the workers; nothing stored is touched. A batch in flight
    /// finishes (or times out) first; it is acknowledged only if it was delivered.
    pub fn stop(&self) {
        worker::stop(self.state());
    }

    /// Whether the workers are running.
    pub fn is_running(&self) -> bool {
        lock(&self.state().workers).running
    }

    /// Wakes the workers (after a commit that appended records inside another transaction).
    pub fn notify(&self) {
        self.state().signal.notify();
    }

    /// Waits until every enabled exporter has acknowledged everything its stream holds, or
    /// `timeout` passes; whether it drained. For tests, demos and orderly shutdowns.
    pub fn flush(&self, timeout: Duration) -> Result<bool> {
        // A huge timeout means "as long as it takes", not an overflow.
        let deadline = std::time::Instant::now().checked_add(timeout);
        loop {
            let seen = self.state().signal.generation();
            let pending = self.status()?.iter().flat_map(|s| &s.exporters).any(|e| e.enabled && e.backlog_records > 0);
            if !pending {
                return Ok(true);
            }
            let now = std::time::Instant::now();
            let left = deadline.map_or(Duration::from_millis(100), |d| d.saturating_duration_since(now));
            if left.is_zero() {
                return Ok(false);
            }
            self.state().signal.wait(seen, left.min(Duration::from_millis(100)));
        }
    }

    /// Status of every stream and its exporters.
    pub fn status(&self) -> Result<Vec<StreamStatus>> {
        let runtime = lock(&self.state().runtime).clone();
        let callbacks: std::collections::HashSet<(String, String)> = lock(&self.state().callbacks).keys().cloned().collect();
        let running = self.is_running();
        self.each_db(|c, _| status::collect(c, None, &runtime, &callbacks, running))
    }

    /// Status of one stream.
    pub fn stream_status(&self, stream: &str) -> Result<StreamStatus> {
        let runtime = lock(&self.state().runtime).clone();
        let callbacks: std::collections::HashSet<(String, String)> = lock(&self.state().callbacks).keys().cloned().collect();
        let running = self.is_running();
        self.with_db(stream, |c| status::collect(c, Some(stream), &runtime, &callbacks, running))?
            .pop()
            .ok_or_else(|| Error::StreamNotFound { stream: stream.to_owned() })
    }

    /// While forwarding runs, append the status document to `stream` every `interval` (so HQ
    /// sees each store's backlog and errors as events); `None` stops it.
    pub fn emit_status_every(&self, target: Option<(&str, Duration)>) -> Result<()> {
        if let Some((stream, interval)) = target {
            self.config(stream)?;
            if interval < Duration::from_secs(1) {
                return Err(Error::InvalidArgument(format!("status interval must be at least 1 s, got {interval:?}")));
            }
        }
        *lock(&self.state().status_events) = target.map(|(s, i)| (s.to_owned(), i));
        self.notify();
        Ok(())
    }

    /// Every stream's status as one JSON document (the `status` event's payload).
    pub fn status_json(&self) -> Result<String> {
        serde_json::to_string(&self.status()?).map_err(|e| Error::Store(format!("status to JSON: {e}")))
    }

    /// Appends the current status to `stream` (e.g. every minute, so HQ sees the backlog of
    /// every store); its sequence number.
    pub fn emit_status(&self, stream: &str) -> Result<u64> {
        let json = self.status_json()?;
        self.append(stream, json.as_bytes())
    }
}

/// An append submitted with [`Streams::submit`]; not acknowledged until [`PendingAppend::wait`]
/// returns its sequence number.
#[must_use = "an append is acknowledged only by wait()"]
pub struct PendingAppend {
    streams: Streams,
    state: Pending,
}

enum Pending {
    Queued(u64),
    Done(Result<u64>),
}

impl PendingAppend {
    /// Waits for the commit that holds this record (leading it if no commit is running).
    pub fn wait(self) -> Result<u64> {
        match self.state {
            Pending::Done(r) => r,
            Pending::Queued(ticket) => {
                let r = self.streams.state().group.wait(&self.streams.shared, ticket);
                if r.is_ok() {
                    self.streams.notify();
                }
                r
            }
        }
    }
}

impl State {
    fn runtime_reset(&self, stream: &str, exporter: &str) {
        lock(&self.runtime).remove(&(stream.to_owned(), exporter.to_owned()));
    }

    /// Memory streams' database, for the workers.
    pub(crate) fn memory_db<T>(&self, f: impl FnOnce(&Connection) -> std::result::Result<T, Failure>) -> Option<Result<T>> {
        let mut guard = lock(&self.memory);
        let conn = guard.as_mut()?;
        let r = conn
            .transaction()
            .map_err(Failure::from)
            .and_then(|tx| f(&tx).and_then(|v| tx.commit().map(|_| v).map_err(Failure::from)));
        Some(r.map_err(|f| match f {
            Failure::Sql(e) => store::classify(std::path::Path::new(":memory:"), e),
            Failure::Domain(e) => e,
        }))
    }
}

#[cfg(test)]
mod tests;
