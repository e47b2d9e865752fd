//! What streams and exporters are configured with: plain data, serialisable as JSON
//! (`docs/schemas/stream.schema.json`, `docs/schemas/exporter.schema.json`), validated in one
//! place so every language gets the same errors.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a stream keeps its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// In the device's SQLite file: survives crashes and restarts.
    #[default]
    Durable,
    /// In memory: lost on restart (e.g. high-rate insights where the latest matter most).
    Memory,
}

/// What happens when an append would take a stream over `max_bytes`. There is no default:
/// whoever creates a stream decides whether new data or old data is the one to lose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Refuse the append with `STREAM_FULL`; nothing already stored is touched.
    Reject,
    /// Delete the oldest records (sent or not) until the new one fits; counted in the status.
    DropOldest,
}

/// How a stream's payloads are shaped: JSON values (embedded as JSON when forwarded) or
/// opaque bytes (base64 when forwarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    #[default]
    Json,
    Bytes,
}

/// A named stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// 1–64 characters of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    #[serde(default)]
    pub storage: Storage,
    /// Cap on the payload bytes the stream holds.
    pub max_bytes: u64,
    /// Records older than this are deleted (counted as expired), sent or not. `None`: no TTL.
    #[serde(default)]
    pub max_age_ms: Option<u64>,
    pub when_full: WhenFull,
    /// Higher first: on a shared link, a stream's backlog is sent before any lower one's.
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub format: PayloadFormat,
}

impl StreamConfig {
    /// A durable JSON stream.
    pub fn durable(name: &str, max_bytes: u64, when_full: WhenFull) -> StreamConfig {
        StreamConfig {
            name: name.to_owned(),
            storage: Storage::Durable,
            max_bytes,
            max_age_ms: None,
            when_full,
            priority: 0,
            format: PayloadFormat::Json,
        }
    }

    /// An in-memory JSON stream.
    pub fn memory(name: &str, max_bytes: u64, when_full: WhenFull) -> StreamConfig {
        StreamConfig { storage: Storage::Memory, ..StreamConfig::durable(name, max_bytes, when_full) }
    }

    pub fn with_priority(mut self, priority: i32) -> StreamConfig {
        self.priority = priority;
        self
    }

    pub fn with_max_age_ms(mut self, max_age_ms: u64) -> StreamConfig {
        self.max_age_ms = Some(max_age_ms);
        self
    }

    pub fn with_format(mut self, format: PayloadFormat) -> StreamConfig {
        self.format = format;
        self
    }

    pub fn from_json(text: &str) -> Result<StreamConfig> {
        let c: StreamConfig = parse_json(text, "stream config")?;
        c.validate()?;
        Ok(c)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn validate(&self) -> Result<()> {
        check_name("stream name", &self.name)?;
        if self.max_bytes == 0 || self.max_bytes > i64::MAX as u64 {
            return Err(invalid(format!("stream {:?}: max_bytes must be 1..=2^63-1, got {}", self.name, self.max_bytes)));
        }
        if self.max_age_ms == Some(0) {
            return Err(invalid(format!("stream {:?}: max_age_ms must be > 0 (omit it for no TTL)", self.name)));
        }
        Ok(())
    }
}

/// Where an exporter starts reading a stream when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "at", content = "seq")]
pub enum StartAt {
    /// Every record the stream still holds.
    #[default]
    Oldest,
    /// Only records appended after the exporter was created.
    Latest,
    /// Records with a sequence number ≥ this.
    Seq(u64),
}

/// Body encoding of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BatchFormat {
    /// One JSON object: the batch header and a `records` array.
    #[default]
    Json,
    /// One JSON object per line, each a record with its store, device and stream.
    Ndjson,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

/// An HTTP(S) endpoint that accepts batches (`POST`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSink {
    /// `http://` or `https://` (TLS with rustls and the bundled web PKI roots, or `ca_pem`).
    pub url: String,
    #[serde(default)]
    pub format: BatchFormat,
    #[serde(default)]
    pub compression: Compression,
    /// Extra headers, e.g. `["Authorization", "Bearer …"]`.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Per-request timeout (connect + send + response).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra trust anchor (PEM) for a private CA.
    #[serde(default)]
    pub ca_pem: Option<String>,
}

fn default_timeout_ms() -> u64 {
    10_000
}

/// An MQTT broker (QoS 1). One message per batch (the JSON batch body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSink {
    pub host: String,
    pub port: u16,
    /// Placeholders as in `topic`. Defaults to `aisle-{store}-{device}-{stream}`, so two
    /// exporters on one broker do not take each other's session.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Placeholders `{store}`, `{device}`, `{stream}`.
    #[serde(default = "default_topic")]
    pub topic: String,
    #[serde(default)]
    pub compression: Compression,
    /// TLS (AWS IoT Core: CA + client certificate + key, port 8883).
    #[serde(default)]
    pub tls: Option<MqttTls>,
    #[serde(default = "default_keep_alive_s")]
    pub keep_alive_s: u64,
    /// How long to wait for the broker's PUBACK.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_topic() -> String {
    "aisle/{store}/{device}/{stream}".to_owned()
}

fn default_keep_alive_s() -> u64 {
    30
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttTls {
    pub ca_pem: String,
    /// Client certificate and key (mutual TLS), both PEM.
    #[serde(default)]
    pub client_cert_pem: Option<String>,
    #[serde(default)]
    pub client_key_pem: Option<String>,
}

/// Rolling NDJSON files in a directory (USB stick, sneakernet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySink {
    pub path: String,
    /// A new file is started once the current one reaches this size.
    #[serde(default = "default_file_bytes")]
    pub max_file_bytes: u64,
}

fn default_file_bytes() -> u64 {
    16 << 20
}

/// Where an exporter sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum SinkConfig {
    Http(HttpSink),
    Mqtt(MqttSink),
    Directory(DirectorySink),
    /// A function the application registers with `Streams::set_callback` (not persisted:
    /// until it is registered again after a restart, the exporter waits and keeps its place).
    Callback,
}

impl SinkConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Http(_) => "http",
            SinkConfig::Mqtt(_) => "mqtt",
            SinkConfig::Directory(_) => "directory",
            SinkConfig::Callback => "callback",
        }
    }
}

/// Exponential backoff with jitter between retries of a failed batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    pub initial_ms: u64,
    pub max_ms: u64,
    /// While the link is down, how often a cheap probe (a TCP connect) checks whether it is
    /// back, so forwarding resumes without waiting out the backoff.
    pub probe_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { initial_ms: 200, max_ms: 60_000, probe_ms: 500 }
    }
}

/// One exporter of one stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterConfig {
    /// Unique within its stream; same rules as stream names.
    pub name: String,
    pub sink: SinkConfig,
    #[serde(default = "default_batch_records")]
    pub batch_max_records: u32,
    #[serde(default = "default_batch_bytes")]
    pub batch_max_bytes: u64,
    /// Wait up to this long for a batch to fill before sending a partial one (0: send what
    /// there is at once).
    #[serde(default)]
    pub batch_interval_ms: u64,
    /// Token bucket, payload bytes per second; `None`: unlimited.
    #[serde(default)]
    pub max_bytes_per_sec: Option<u64>,
    #[serde(default)]
    pub start_at: StartAt,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// A stream that receives batches the sink refused for good (a 4xx other than 408/429).
    /// Without one, such a batch is retried at the maximum backoff and reported in the status:
    /// nothing is given up silently.
    #[serde(default)]
    pub dead_letter: Option<String>,
}

fn default_batch_records() -> u32 {
    500
}

fn default_batch_bytes() -> u64 {
    1 << 20
}

fn yes() -> bool {
    true
}

impl ExporterConfig {
    pub fn new(name: &str, sink: SinkConfig) -> ExporterConfig {
        ExporterConfig {
            name: name.to_owned(),
            sink,
            batch_max_records: default_batch_records(),
            batch_max_bytes: default_batch_bytes(),
            batch_interval_ms: 0,
            max_bytes_per_sec: None,
            start_at: StartAt::Oldest,
            enabled: true,
            retry: RetryPolicy::default(),
            dead_letter: None,
        }
    }

    pub fn from_json(text: &str) -> Result<ExporterConfig> {
        let c: ExporterConfig = parse_json(text, "exporter config")?;
        c.validate()?;
        Ok(c)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn validate(&self) -> Result<()> {
        check_name("exporter name", &self.name)?;
        let who = &self.name;
        if self.batch_max_records == 0 || self.batch_max_records > 100_000 {
            return Err(invalid(format!("exporter {who:?}: batch_max_records must be 1..=100000")));
        }
        if self.batch_max_bytes == 0 {
            return Err(invalid(format!("exporter {who:?}: batch_max_bytes must be > 0")));
        }
        if self.max_bytes_per_sec == Some(0) {
            return Err(invalid(format!("exporter {who:?}: max_bytes_per_sec must be > 0 (omit it for no cap)")));
        }
        let r = &self.retry;
        const DAY_MS: u64 = 86_400_000;
        if r.initial_ms == 0 || r.max_ms < r.initial_ms || r.max_ms > DAY_MS || r.probe_ms == 0 || r.probe_ms > DAY_MS {
            return Err(invalid(format!(
                "exporter {who:?}: retry needs 0 < initial_ms <= max_ms <= 1 day and 0 < probe_ms <= 1 day, got {r:?}"
            )));
        }
        if self.batch_interval_ms > DAY_MS {
            return Err(invalid(format!("exporter {who:?}: batch_interval_ms must be at most 1 day")));
        }
        if let Some(dl) = &self.dead_letter {
            check_name("dead_letter stream", dl)?;
        }
        match &self.sink {
            SinkConfig::Http(h) => {
                if !(h.url.starts_with("http://") || h.url.starts_with("https://")) {
                    return Err(invalid(format!("exporter {who:?}: url must start with http:// or https://, got {:?}", h.url)));
                }
                if h.timeout_ms == 0 {
                    return Err(invalid(format!("exporter {who:?}: timeout_ms must be > 0")));
                }
                for (k, _) in &h.headers {
                    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                        return Err(invalid(format!("exporter {who:?}: bad header name {k:?}")));
                    }
                }
            }
            SinkConfig::Mqtt(m) => {
                if m.host.is_empty() || m.port == 0 {
                    return Err(invalid(format!("exporter {who:?}: MQTT host and port are required")));
                }
                if m.topic.is_empty() || m.topic.contains(['#', '+']) {
                    return Err(invalid(format!("exporter {who:?}: MQTT topic {:?} must be non-empty without wildcards", m.topic)));
                }
                if let Some(t) = &m.tls {
                    if t.client_cert_pem.is_some() != t.client_key_pem.is_some() {
                        return Err(invalid(format!("exporter {who:?}: client_cert_pem and client_key_pem go together")));
                    }
                }
            }
            SinkConfig::Directory(d) => {
                if d.path.is_empty() || d.max_file_bytes == 0 {
                    return Err(invalid(format!("exporter {who:?}: directory path and max_file_bytes > 0 are required")));
                }
            }
            SinkConfig::Callback => {}
        }
        Ok(())
    }

    /// Exporters with the same link share one worker thread, which serves higher-priority
    /// streams first: the endpoint's host and port, the directory, or the callback.
    pub(crate) fn link(&self) -> String {
        match &self.sink {
            SinkConfig::Http(h) => {
                let rest = h.url.split_once("://").map(|(_, r)| r).unwrap_or(&h.url);
                format!("http:{}", rest.split('/').next().unwrap_or(rest))
            }
            SinkConfig::Mqtt(m) => format!("mqtt:{}:{}", m.host, m.port),
            SinkConfig::Directory(d) => format!("dir:{}", d.path),
            SinkConfig::Callback => "callback".to_owned(),
        }
    }
}

pub(crate) fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(invalid(format!("{what} must be 1-64 characters of A-Z a-z 0-9 . _ -, got {name:?}"))) }
}

fn invalid(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        invalid(format!("{what} at {path}: {}", e.into_inner()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_config_round_trips_and_validates() {
        let c = StreamConfig::durable("sales", 1 << 30, WhenFull::Reject).with_priority(10);
        assert_eq!(StreamConfig::from_json(&c.to_json()).unwrap(), c);
        let bad = StreamConfig::from_json(r#"{"name":"has space","max_bytes":10,"when_full":"reject"}"#).unwrap_err();
        assert_eq!(bad.code(), "INVALID_ARGUMENT");
        assert!(bad.to_string().contains("has space"), "{bad}");
        // No silent default for the full policy.
        let missing = StreamConfig::from_json(r#"{"name":"s","max_bytes":10}"#).unwrap_err();
        assert!(missing.to_string().contains("when_full"), "{missing}");
    }

    #[test]
    fn exporter_config_from_json_names_the_bad_field() {
        let e = ExporterConfig::from_json(r#"{"name":"hq","sink":{"type":"http","url":"http://x","timeout_ms":"soon"}}"#)
            .unwrap_err();
        // Inside the tagged `sink` object serde reports the field's value and type.
        assert!(e.to_string().contains("at sink") && e.to_string().contains("\"soon\", expected u64"), "{e}");
        let ok = ExporterConfig::from_json(r#"{"name":"hq","sink":{"type":"http","url":"https://hq.example/ingest"}}"#).unwrap();
        assert_eq!(ok.link(), "http:hq.example");
        assert_eq!(ok.batch_max_records, 500);
        assert!(ok.enabled);
    }
}
