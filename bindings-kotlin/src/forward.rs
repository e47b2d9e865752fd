//! Store-and-forward in Kotlin: `Edge.streams()`, the callback exporter and `Ingest` (the
//! receiving side).
//!
//! Glue only. Configs arrive as typed records and are written as the core's JSON, which
//! `StreamConfig::from_json` / `ExporterConfig::from_json` read: so a field left `null` takes
//! the core's default, and every check (with the JSON path in its message) is the core's.
//! `createJson` / `addExporterJson` take that same JSON as HQ tools write it
//! (`docs/schemas/stream.schema.json`, `exporter.schema.json`).
//!
//! Threads: the core calls a callback exporter's `BatchHandler` on its forwarding worker
//! thread (JNA attaches it to the JVM for the call), never on the thread that called
//! `start`/`flush`; no lock of the core is held meanwhile, so `flush` blocking one JVM thread
//! cannot keep a handler on another from running. `Ingest.receive` calls its handler on the
//! calling thread, inside the ingest transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aisle::forward::{self as fwd, BatchFormat, Compression, ExporterState, PayloadFormat, Storage, WhenFull};
use serde_json::{Map, Value};

use crate::{Edge, Result, count, invalid_argument};

// ---- enums of the core -----------------------------------------------------------------------

/// Where a stream keeps its records.
#[uniffi::remote(Enum)]
pub enum Storage {
    /// In the device's SQLite file: survives crashes and restarts.
    Durable,
    /// In memory: lost on restart (e.g. high-rate insights where the latest matter most).
    Memory,
}

/// What an append does when it would take a stream over `maxBytes`. No default: whoever
/// creates a stream decides whether new data or old data is the one to lose.
#[uniffi::remote(Enum)]
pub enum WhenFull {
    /// Refuse the append with `StreamFull`; nothing already stored is touched.
    Reject,
    /// Delete the oldest records (sent or not) until the new one fits; counted in the status.
    DropOldest,
}

/// How a stream's payloads are shaped.
#[uniffi::remote(Enum)]
pub enum PayloadFormat {
    /// Each payload is one JSON value (UTF-8), embedded as JSON when forwarded.
    Json,
    /// Opaque bytes, base64 when forwarded.
    Bytes,
}

/// Body of an HTTP batch.
#[uniffi::remote(Enum)]
pub enum BatchFormat {
    /// One JSON object: the batch header and a `records` array.
    Json,
    /// One JSON object per line, each a record with its store, device and stream.
    Ndjson,
}

#[uniffi::remote(Enum)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// What an exporter is doing (`ExporterStatus.state`).
#[uniffi::remote(Enum)]
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

// ---- configuration ---------------------------------------------------------------------------

/// A named stream: `StreamConfig("insights", 64L shl 20, WhenFull.DROP_OLDEST, priority = 1)`.
/// `null` fields take the core's defaults (durable, JSON payloads, no TTL); a stream read back
/// (`streams.config(name)`) has them filled in.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// 1–64 characters of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// Cap on the payload bytes the stream holds.
    pub max_bytes: i64,
    pub when_full: WhenFull,
    /// `Storage.DURABLE` when `null`.
    #[uniffi(default)]
    pub storage: Option<Storage>,
    /// Records older than this are deleted (counted as expired), sent or not; `null`: no TTL.
    #[uniffi(default)]
    pub max_age_ms: Option<i64>,
    /// Higher first: on a shared link, this stream's backlog goes before any lower one's.
    #[uniffi(default = 0)]
    pub priority: i32,
    /// `PayloadFormat.JSON` when `null`.
    #[uniffi(default)]
    pub format: Option<PayloadFormat>,
}

/// A JSON value of a serialisable enum of the core (a unit variant cannot fail to encode; if
/// it ever did, the core's decoder would report the `null`).
fn enc(v: serde_json::Result<Value>) -> Value {
    v.unwrap_or(Value::Null)
}

fn put<T: Into<Value>>(o: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        o.insert(key.to_owned(), v.into());
    }
}

impl StreamConfig {
    fn to_json(&self) -> String {
        let mut o = Map::new();
        o.insert("name".into(), self.name.clone().into());
        o.insert("max_bytes".into(), self.max_bytes.into());
        o.insert("when_full".into(), enc(serde_json::to_value(self.when_full)));
        put(&mut o, "storage", self.storage.map(|s| enc(serde_json::to_value(s))));
        put(&mut o, "max_age_ms", self.max_age_ms);
        o.insert("priority".into(), self.priority.into());
        put(&mut o, "format", self.format.map(|f| enc(serde_json::to_value(f))));
        Value::Object(o).to_string()
    }

    fn to_core(&self) -> Result<fwd::StreamConfig> {
        Ok(fwd::StreamConfig::from_json(&self.to_json())?)
    }
}

impl From<fwd::StreamConfig> for StreamConfig {
    fn from(c: fwd::StreamConfig) -> Self {
        StreamConfig {
            name: c.name,
            max_bytes: count(c.max_bytes),
            when_full: c.when_full,
            storage: Some(c.storage),
            max_age_ms: c.max_age_ms.map(count),
            priority: c.priority,
            format: Some(c.format),
        }
    }
}

/// TLS for an MQTT broker (AWS IoT Core: CA + client certificate + key, port 8883).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct MqttTls {
    pub ca_pem: String,
    /// Client certificate and key (mutual TLS), both PEM, or neither.
    #[uniffi(default)]
    pub client_cert_pem: Option<String>,
    #[uniffi(default)]
    pub client_key_pem: Option<String>,
}

/// Where an exporter sends: `Sink.Http(url)`, `Sink.Mqtt(host, port)`, `Sink.Directory(path)`
/// or `Sink.Callback` (a function registered with `streams.setCallback`). `null` fields take
/// the core's defaults.
#[derive(uniffi::Enum, Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    /// `POST` of each batch to an `http://` or `https://` URL, with the header
    /// `Idempotency-Key: store/device/stream/first-last`.
    Http {
        url: String,
        /// JSON when `null`.
        #[uniffi(default)]
        format: Option<BatchFormat>,
        /// None when `null`.
        #[uniffi(default)]
        compression: Option<Compression>,
        /// Extra headers, e.g. `mapOf("Authorization" to "Bearer …")`.
        #[uniffi(default)]
        headers: HashMap<String, String>,
        /// Per request (connect + send + response); 10 s when `null`.
        #[uniffi(default)]
        timeout_ms: Option<i64>,
        /// Extra trust anchor (PEM) for a private CA.
        #[uniffi(default)]
        ca_pem: Option<String>,
    },
    /// QoS 1, one message per batch, delivered on the broker's PUBACK.
    Mqtt {
        host: String,
        port: i32,
        /// `aisle-{store}-{device}-{stream}` when `null`.
        #[uniffi(default)]
        client_id: Option<String>,
        /// `aisle/{store}/{device}/{stream}` when `null`.
        #[uniffi(default)]
        topic: Option<String>,
        #[uniffi(default)]
        compression: Option<Compression>,
        #[uniffi(default)]
        tls: Option<MqttTls>,
        #[uniffi(default)]
        keep_alive_s: Option<i64>,
        /// How long to wait for the PUBACK.
        #[uniffi(default)]
        timeout_ms: Option<i64>,
    },
    /// Rolling NDJSON files in a directory (USB stick, sneakernet), synced before acknowledged.
    Directory {
        path: String,
        /// A new file is started once the current one reaches this size (16 MiB when `null`).
        #[uniffi(default)]
        max_file_bytes: Option<i64>,
    },
    /// An application function: `streams.setCallback(stream, exporter) { batch -> … }`.
    Callback,
}

impl Sink {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        match self {
            Sink::Http { url, format, compression, headers, timeout_ms, ca_pem } => {
                o.insert("type".into(), "http".into());
                o.insert("url".into(), url.clone().into());
                put(&mut o, "format", format.map(|f| enc(serde_json::to_value(f))));
                put(&mut o, "compression", compression.map(|c| enc(serde_json::to_value(c))));
                // The core keeps headers as [name, value] pairs; sorted, so a config is stable.
                let pairs: Vec<Value> = headers
                    .iter()
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .map(|(k, v)| Value::Array(vec![k.clone().into(), v.clone().into()]))
                    .collect();
                if !pairs.is_empty() {
                    o.insert("headers".into(), Value::Array(pairs));
                }
                put(&mut o, "timeout_ms", *timeout_ms);
                put(&mut o, "ca_pem", ca_pem.clone());
            }
            Sink::Mqtt { host, port, client_id, topic, compression, tls, keep_alive_s, timeout_ms } => {
                o.insert("type".into(), "mqtt".into());
                o.insert("host".into(), host.clone().into());
                o.insert("port".into(), (*port).into());
                put(&mut o, "client_id", client_id.clone());
                put(&mut o, "topic", topic.clone());
                put(&mut o, "compression", compression.map(|c| enc(serde_json::to_value(c))));
                if let Some(t) = tls {
                    let mut t_o = Map::new();
                    t_o.insert("ca_pem".into(), t.ca_pem.clone().into());
                    put(&mut t_o, "client_cert_pem", t.client_cert_pem.clone());
                    put(&mut t_o, "client_key_pem", t.client_key_pem.clone());
                    o.insert("tls".into(), Value::Object(t_o));
                }
                put(&mut o, "keep_alive_s", *keep_alive_s);
                put(&mut o, "timeout_ms", *timeout_ms);
            }
            Sink::Directory { path, max_file_bytes } => {
                o.insert("type".into(), "directory".into());
                o.insert("path".into(), path.clone().into());
                put(&mut o, "max_file_bytes", *max_file_bytes);
            }
            Sink::Callback => {
                o.insert("type".into(), "callback".into());
            }
        }
        Value::Object(o)
    }
}

/// Where a new exporter starts reading its stream.
#[derive(uniffi::Enum, Clone, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// Every record the stream still holds (the default).
    Oldest,
    /// Only records appended after the exporter was created.
    Latest,
    /// Records with a sequence number ≥ `seq`.
    Seq { seq: i64 },
}

/// Exponential backoff with jitter between retries of a failed batch; while the link is down
/// a TCP probe every `probeMs` resumes sending as soon as it is back.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial_ms: i64,
    pub max_ms: i64,
    pub probe_ms: i64,
}

/// One exporter of one stream: `ExporterConfig("hq", Sink.Http("https://hq.example/ingest"))`.
/// `null` fields take the core's defaults (500 records / 1 MiB per batch, no wait, no
/// bandwidth cap, from the oldest record, retry 200 ms → 60 s with a 500 ms probe).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct ExporterConfig {
    /// Unique within its stream; same rules as stream names.
    pub name: String,
    pub sink: Sink,
    #[uniffi(default)]
    pub batch_max_records: Option<i64>,
    #[uniffi(default)]
    pub batch_max_bytes: Option<i64>,
    /// Wait up to this long for a batch to fill before sending a partial one.
    #[uniffi(default)]
    pub batch_interval_ms: Option<i64>,
    /// Token bucket on payload bytes per second; `null`: unlimited.
    #[uniffi(default)]
    pub max_bytes_per_sec: Option<i64>,
    #[uniffi(default)]
    pub start_at: Option<StartAt>,
    /// A paused exporter keeps its place and holds its records.
    #[uniffi(default = true)]
    pub enabled: bool,
    #[uniffi(default)]
    pub retry: Option<RetryPolicy>,
    /// A stream that receives batches the sink refused for good (an HTTP 4xx other than
    /// 408/429). Without one, such a batch is retried at the longest backoff and shown in the
    /// status: nothing is given up silently.
    #[uniffi(default)]
    pub dead_letter: Option<String>,
}

impl ExporterConfig {
    fn to_json(&self) -> String {
        let mut o = Map::new();
        o.insert("name".into(), self.name.clone().into());
        o.insert("sink".into(), self.sink.to_json());
        put(&mut o, "batch_max_records", self.batch_max_records);
        put(&mut o, "batch_max_bytes", self.batch_max_bytes);
        put(&mut o, "batch_interval_ms", self.batch_interval_ms);
        put(&mut o, "max_bytes_per_sec", self.max_bytes_per_sec);
        if let Some(start) = &self.start_at {
            let mut s = Map::new();
            match start {
                StartAt::Oldest => s.insert("at".into(), "oldest".into()),
                StartAt::Latest => s.insert("at".into(), "latest".into()),
                StartAt::Seq { seq } => {
                    s.insert("at".into(), "seq".into());
                    s.insert("seq".into(), (*seq).into())
                }
            };
            o.insert("start_at".into(), Value::Object(s));
        }
        o.insert("enabled".into(), self.enabled.into());
        if let Some(r) = &self.retry {
            let mut m = Map::new();
            m.insert("initial_ms".into(), r.initial_ms.into());
            m.insert("max_ms".into(), r.max_ms.into());
            m.insert("probe_ms".into(), r.probe_ms.into());
            o.insert("retry".into(), Value::Object(m));
        }
        put(&mut o, "dead_letter", self.dead_letter.clone());
        Value::Object(o).to_string()
    }

    fn to_core(&self) -> Result<fwd::ExporterConfig> {
        Ok(fwd::ExporterConfig::from_json(&self.to_json())?)
    }
}

// ---- records, batches, status ----------------------------------------------------------------

/// One stored record of a stream. `payload` is a `ByteArray` (compared by identity in a data
/// class: compare `payload.contentEquals(…)` or `text`).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct StreamRecord {
    /// 1, 2, 3 … per stream, never reused.
    pub seq: i64,
    /// When it was appended (Unix ms, the appending device's clock).
    pub at_ms: i64,
    pub payload: Vec<u8>,
}

impl From<&fwd::Record> for StreamRecord {
    fn from(r: &fwd::Record) -> Self {
        StreamRecord { seq: count(r.seq), at_ms: r.at_ms, payload: r.payload.clone() }
    }
}

/// A run of consecutive records of one stream, as an exporter sends it and `Ingest` reads it.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub store: String,
    pub device: String,
    pub stream: String,
    pub format: PayloadFormat,
    /// `store/device/stream/first-last`: the same records always get the same key.
    pub idempotency_key: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub records: Vec<StreamRecord>,
}

impl From<&fwd::Batch> for Batch {
    fn from(b: &fwd::Batch) -> Self {
        Batch {
            store: b.store.clone(),
            device: b.device.clone(),
            stream: b.stream.clone(),
            format: b.format,
            idempotency_key: b.idempotency_key(),
            first_seq: count(b.first_seq()),
            last_seq: count(b.last_seq()),
            records: b.records.iter().map(StreamRecord::from).collect(),
        }
    }
}

/// A stream's status (`streams.status()`).
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct StreamStatus {
    pub name: String,
    pub storage: Storage,
    pub priority: i32,
    pub when_full: WhenFull,
    /// Records and payload bytes held (unsent, or sent but not yet acknowledged by every
    /// exporter).
    pub records: i64,
    pub bytes: i64,
    pub max_bytes: i64,
    /// Sequence number of the oldest record held (`null`: none held).
    pub first_seq: Option<i64>,
    /// Of the last record appended (0: none yet).
    pub last_seq: i64,
    pub oldest_age_ms: Option<i64>,
    /// Dropped by `WhenFull.DROP_OLDEST`, by the TTL, and appends refused by `WhenFull.REJECT`.
    pub dropped_full: i64,
    pub dropped_expired: i64,
    pub rejected_full: i64,
    pub exporters: Vec<ExporterStatus>,
}

/// An exporter's status.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct ExporterStatus {
    pub stream: String,
    pub name: String,
    /// `"http"`, `"mqtt"`, `"directory"` or `"callback"`.
    pub kind: String,
    pub enabled: bool,
    pub state: ExporterState,
    /// Everything up to this sequence number is delivered.
    pub acked_seq: i64,
    pub backlog_records: i64,
    pub backlog_bytes: i64,
    pub oldest_unsent_age_ms: Option<i64>,
    /// The last failure (a callback's exception text, an HTTP status, a network error).
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub last_ack_ms: Option<i64>,
    pub delivered_records: i64,
    pub delivered_bytes: i64,
    pub dead_lettered: i64,
    /// Consecutive failed attempts of the current batch.
    pub attempts: i64,
    /// Over the last minute.
    pub records_per_sec: f64,
    pub bytes_per_sec: f64,
}

impl From<fwd::StreamStatus> for StreamStatus {
    fn from(s: fwd::StreamStatus) -> Self {
        StreamStatus {
            name: s.name,
            storage: s.storage,
            priority: s.priority,
            when_full: s.when_full,
            records: count(s.records),
            bytes: count(s.bytes),
            max_bytes: count(s.max_bytes),
            first_seq: s.first_seq.map(count),
            last_seq: count(s.last_seq),
            oldest_age_ms: s.oldest_age_ms,
            dropped_full: count(s.dropped_full),
            dropped_expired: count(s.dropped_expired),
            rejected_full: count(s.rejected_full),
            exporters: s.exporters.into_iter().map(ExporterStatus::from).collect(),
        }
    }
}

impl From<fwd::ExporterStatus> for ExporterStatus {
    fn from(e: fwd::ExporterStatus) -> Self {
        ExporterStatus {
            stream: e.stream,
            name: e.name,
            kind: e.kind.to_owned(),
            enabled: e.enabled,
            state: e.state,
            acked_seq: count(e.acked_seq),
            backlog_records: count(e.backlog_records),
            backlog_bytes: count(e.backlog_bytes),
            oldest_unsent_age_ms: e.oldest_unsent_age_ms,
            last_error: e.last_error,
            last_error_ms: e.last_error_ms,
            last_ack_ms: e.last_ack_ms,
            delivered_records: count(e.delivered_records),
            delivered_bytes: count(e.delivered_bytes),
            dead_lettered: count(e.dead_lettered),
            attempts: i64::from(e.attempts),
            records_per_sec: e.records_per_sec,
            bytes_per_sec: e.bytes_per_sec,
        }
    }
}

// ---- the application's function ----------------------------------------------------------------

/// Why an application's `BatchHandler` did not take a batch. In Kotlin: throw
/// `BatchException.Failed(reason)`; the `setCallback { }` / `receive { }` lambdas of
/// `Idioms.kt` turn any `Throwable` into one.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum BatchError {
    #[error("{reason}")]
    Failed { reason: String },
}

/// Any other exception of a handler reaches Rust as uniffi's "unexpected" error with the
/// whole stack trace; its first line (`java.lang.IllegalStateException: HQ is down`) is the
/// reason worth keeping as the exporter's `lastError`.
impl From<uniffi::UnexpectedUniFFICallbackError> for BatchError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let reason = e.reason.lines().next().unwrap_or_default().trim().to_owned();
        BatchError::Failed { reason: if reason.is_empty() { "the handler failed".into() } else { reason } }
    }
}

impl BatchError {
    fn into_reason(self) -> String {
        match self {
            BatchError::Failed { reason } => reason,
        }
    }
}

/// An application function that takes batches: a callback exporter's destination
/// (`streams.setCallback`) or what `Ingest.receive` applies. Returning acknowledges the batch;
/// throwing refuses it (the exporter retries it with backoff, `Ingest` records nothing).
///
/// Prefer the lambda forms of `Idioms.kt`, which also catch a `java.lang.Error` (an
/// `AssertionError`, a `StackOverflowError`): uniffi's generated glue catches only
/// `kotlin.Exception`, and an `Error` thrown by a direct implementation would be taken as a
/// normal return.
#[uniffi::export(callback_interface)]
pub trait BatchHandler: Send + Sync {
    fn handle(&self, batch: Batch) -> std::result::Result<(), BatchError>;
}

// ---- streams -----------------------------------------------------------------------------------

fn seq_arg(what: &str, v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| invalid_argument(format!("{what} must not be negative, got {v}")))
}

/// The streams of one open store: `edge.streams()`. Append records (durable once `append`
/// returns), export them (HTTP, MQTT, directory, callback), see their status.
#[derive(uniffi::Object)]
pub struct Streams {
    inner: fwd::Streams,
}

#[uniffi::export]
impl Streams {
    /// Creates a stream, or changes the cap, policy, TTL and priority of an existing one.
    /// Changing its storage or payload format is `StreamExists`; a bad field `InvalidArgument`
    /// naming it.
    pub fn create(&self, config: StreamConfig) -> Result<()> {
        Ok(self.inner.create(&config.to_core()?)?)
    }

    /// `create` from the stream's JSON (`{"name":"insights","max_bytes":67108864,
    /// "when_full":"drop_oldest"}`); a bad field is `InvalidArgument` naming its JSON path.
    pub fn create_json(&self, json: String) -> Result<()> {
        Ok(self.inner.create(&fwd::StreamConfig::from_json(&json)?)?)
    }

    /// Deletes a stream with its records and exporters.
    pub fn delete(&self, stream: String) -> Result<()> {
        Ok(self.inner.delete(&stream)?)
    }

    /// Every stream's configuration, durable ones first, by name.
    pub fn list(&self) -> Result<Vec<StreamConfig>> {
        Ok(self.inner.list()?.into_iter().map(StreamConfig::from).collect())
    }

    /// One stream's configuration; `StreamNotFound` if there is none.
    pub fn config(&self, stream: String) -> Result<StreamConfig> {
        Ok(self.inner.config(&stream)?.into())
    }

    /// Appends a record and returns its sequence number once it is committed (for a durable
    /// stream: on disk). A JSON stream takes one JSON value (UTF-8), else `InvalidPayload`; a
    /// full stream with `WhenFull.REJECT` throws `StreamFull`.
    pub fn append(&self, stream: String, payload: Vec<u8>) -> Result<i64> {
        Ok(count(self.inner.append(&stream, &payload)?))
    }

    /// Appends several records in one transaction, all or none; their sequence numbers.
    pub fn append_batch(&self, stream: String, payloads: Vec<Vec<u8>>) -> Result<Vec<i64>> {
        Ok(self.inner.append_batch(&stream, &payloads)?.into_iter().map(count).collect())
    }

    /// Up to `maxRecords` (at least 1) records after `afterSeq`, oldest first.
    pub fn read(&self, stream: String, after_seq: i64, max_records: i32) -> Result<Vec<StreamRecord>> {
        let after_seq = seq_arg("afterSeq", after_seq)?;
        let max = u32::try_from(max_records)
            .map_err(|_| invalid_argument(format!("maxRecords must not be negative, got {max_records}")))?;
        Ok(self.inner.read(&stream, after_seq, max)?.iter().map(StreamRecord::from).collect())
    }

    /// Adds an exporter to a stream, or replaces an exporter's configuration (it keeps its
    /// acknowledged position). A bad field is `InvalidArgument` naming its JSON path.
    pub fn add_exporter(&self, stream: String, config: ExporterConfig) -> Result<()> {
        Ok(self.inner.add_exporter(&stream, &config.to_core()?)?)
    }

    /// `addExporter` from the exporter's JSON (`{"name":"hq","sink":{"type":"http","url":…}}`).
    pub fn add_exporter_json(&self, stream: String, json: String) -> Result<()> {
        Ok(self.inner.add_exporter(&stream, &fwd::ExporterConfig::from_json(&json)?)?)
    }

    /// Removes an exporter; the records it alone was holding are freed.
    pub fn remove_exporter(&self, stream: String, exporter: String) -> Result<()> {
        Ok(self.inner.remove_exporter(&stream, &exporter)?)
    }

    /// Pauses or resumes an exporter.
    pub fn set_exporter_enabled(&self, stream: String, exporter: String, enabled: bool) -> Result<()> {
        Ok(self.inner.set_exporter_enabled(&stream, &exporter, enabled)?)
    }

    /// Registers the function a `Sink.Callback` exporter delivers to, called on the forwarding
    /// worker's thread. Not persisted: register it again after each open (until then the
    /// exporter waits and keeps its place). `ExporterNotFound`; `InvalidArgument` for an
    /// exporter with another sink.
    pub fn set_callback(&self, stream: String, exporter: String, handler: Box<dyn BatchHandler>) -> Result<()> {
        let callback: fwd::Callback =
            Arc::new(move |batch: &fwd::Batch| handler.handle(Batch::from(batch)).map_err(BatchError::into_reason));
        Ok(self.inner.set_callback(&stream, &exporter, callback)?)
    }

    /// Starts forwarding in background threads (one per link). Idempotent.
    pub fn start(&self) {
        self.inner.start()
    }

    /// Stops forwarding and joins the workers (a batch in flight finishes first).
    pub fn stop(&self) {
        self.inner.stop()
    }

    /// Whether the workers are running.
    pub fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// Waits until every enabled exporter has acknowledged everything, or `timeout` passes;
    /// whether it drained. Blocks this thread only: handlers run on the workers' threads.
    pub fn flush(&self, timeout: Duration) -> Result<bool> {
        Ok(self.inner.flush(timeout)?)
    }

    /// Status of every stream and its exporters.
    pub fn status(&self) -> Result<Vec<StreamStatus>> {
        Ok(self.inner.status()?.into_iter().map(StreamStatus::from).collect())
    }

    /// Status of one stream; `StreamNotFound` if there is none.
    pub fn stream_status(&self, stream: String) -> Result<StreamStatus> {
        Ok(self.inner.stream_status(&stream)?.into())
    }

    /// Every stream's status as one JSON document (what `emitStatus` appends).
    pub fn status_json(&self) -> Result<String> {
        Ok(self.inner.status_json()?)
    }

    /// Appends the current status to `stream` (so HQ sees every store's backlog); its
    /// sequence number.
    pub fn emit_status(&self, stream: String) -> Result<i64> {
        Ok(count(self.inner.emit_status(&stream)?))
    }

    /// How long a group-commit leader waits for more appends before committing (default zero).
    pub fn set_group_commit_wait(&self, wait: Duration) {
        self.inner.set_group_commit_wait(wait)
    }
}

#[uniffi::export]
impl Edge {
    /// Store-and-forward streams: append records, export them, see their status. Commerce
    /// events are already in the durable stream `"commerce"`.
    pub fn streams(&self) -> Arc<Streams> {
        Arc::new(Streams { inner: self.inner.streams() })
    }
}

// ---- ingest ------------------------------------------------------------------------------------

/// What one batch did at the receiver.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct IngestReport {
    /// The batch's idempotency key.
    pub key: String,
    pub store: String,
    pub device: String,
    pub stream: String,
    /// Records handed to the application.
    pub applied: i64,
    /// Records skipped because they were applied before.
    pub duplicates: i64,
    /// The high-water mark after this batch.
    pub high_seq: i64,
}

impl From<fwd::IngestReport> for IngestReport {
    fn from(r: fwd::IngestReport) -> Self {
        IngestReport {
            key: r.key,
            store: r.store,
            device: r.device,
            stream: r.stream,
            applied: count(r.applied),
            duplicates: count(r.duplicates),
            high_seq: count(r.high_seq),
        }
    }
}

/// The receiving side (a backend): applies forwarded batches exactly once. For each
/// `(store, device, stream)` its own SQLite file keeps the highest sequence number applied;
/// records at or below it are skipped as duplicates.
#[derive(uniffi::Object)]
pub struct Ingest {
    inner: fwd::Ingest,
}

#[uniffi::export]
impl Ingest {
    /// Opens (creating) the receiver's SQLite file.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Ingest { inner: fwd::Ingest::open(path)? }))
    }

    /// A receiver in memory, for tests.
    #[uniffi::constructor]
    pub fn open_in_memory() -> Result<Arc<Self>> {
        Ok(Arc::new(Ingest { inner: fwd::Ingest::open_in_memory()? }))
    }

    /// Decodes a batch body (JSON or NDJSON, as an exporter sent it; `contentEncoding`
    /// `null`, `"gzip"` or `"zstd"`) and hands the records not applied before to `handler`,
    /// on this thread, inside the ingest transaction; then moves the mark. If the handler
    /// throws, nothing is recorded and this throws `IngestRejected` with its reason; a
    /// malformed body is `IngestRejected` too. The handler must not call this `Ingest` again
    /// (the transaction holds it).
    pub fn receive(&self, body: Vec<u8>, content_encoding: Option<String>, handler: Box<dyn BatchHandler>) -> Result<IngestReport> {
        let report = self.inner.receive(&body, content_encoding.as_deref(), |_conn, batch| {
            handler.handle(Batch::from(batch)).map_err(BatchError::into_reason)
        })?;
        Ok(report.into())
    }

    /// The highest sequence number applied for a `(store, device, stream)` (0: none).
    pub fn high_water(&self, store: String, device: String, stream: String) -> Result<i64> {
        Ok(count(self.inner.high_water(&store, &device, &stream)?))
    }
}
