//! Store-and-forward for Python: `edge.streams`, records and batches, and the receiving side
//! (`Ingest`). Conversion only: configurations go to the core's `from_json` (whose errors name
//! the JSON path), status and reports come back as the core's JSON.
//!
//! Threads. Forwarding runs on the core's worker threads, which call a callback exporter's
//! Python function with the GIL taken for that call only (`Python::try_attach`: never while the
//! interpreter shuts down, where attaching could hang the worker). Every call here that can
//! wait — `append` (group commit and fsync), `flush`, `stop` (joins the workers), `receive` —
//! releases the GIL, so a worker that needs it for a callback is never stuck behind the thread
//! that waits for that worker. Workers are stopped at interpreter exit (`aisle._forward`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aisle::forward::{ExporterConfig, StreamConfig};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyMapping, PyString, PyTuple, PyType};

use crate::json::{decode, encode, to_json_text};
use crate::{Res, detached_json, to_py_err};

fn invalid(message: String) -> PyErr {
    to_py_err(aisle::Error::InvalidArgument(message))
}

/// Seconds as Python passes them (`flush(5.0)`) to a `Duration`; negative, NaN or absurd values
/// are `InvalidArgumentError`.
fn seconds(value: f64, what: &str) -> Res<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| invalid(format!("{what} must be a number of seconds >= 0, got {value}")))
}

static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A record's payload as given: `bytes`/`bytearray` as they are, `str` as its UTF-8 text, and a
/// `dict` or `list` (a JSON stream's usual payload) as `json.dumps` writes it, compact and in
/// the dict's own key order (`TypeError` / `ValueError` from `json.dumps` for what JSON cannot
/// hold). The core checks that a JSON stream's payload is one JSON value (`InvalidPayloadError`).
fn payload(obj: &Bound<'_, PyAny>, at: &str) -> Res<Vec<u8>> {
    if let Ok(bytes) = obj.extract::<PyBackedBytes>() {
        return Ok(bytes.to_vec());
    }
    if let Ok(text) = obj.cast::<PyString>() {
        return Ok(text.to_cow()?.as_bytes().to_vec());
    }
    if obj.is_instance_of::<PyDict>()
        || obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.cast::<PyMapping>().is_ok()
    {
        let py = obj.py();
        let options = PyDict::new(py);
        options.set_item("separators", (",", ":"))?;
        options.set_item("ensure_ascii", false)?;
        options.set_item("allow_nan", false)?;
        let text = DUMPS.import(py, "json", "dumps")?.call((obj,), Some(&options))?;
        return Ok(text.cast::<PyString>()?.to_cow()?.as_bytes().to_vec());
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    Err(PyTypeError::new_err(format!(
        "{at}: a payload is bytes, str, or a dict or list (encoded as JSON), not {type_name}"
    )))
}

/// A config passed as a dict, or as JSON text.
fn config_text(obj: &Bound<'_, PyAny>, what: &str) -> Res<String> {
    match obj.cast::<PyString>() {
        Ok(text) => Ok(text.to_cow()?.into_owned()),
        Err(_) => to_json_text(obj, what),
    }
}

// ---- records and batches ----------------------------------------------------------------------

/// One stored record of a stream: its sequence number, when it was appended (Unix ms, this
/// device's clock) and its payload bytes (`json.loads(record.payload)` for a JSON stream).
#[pyclass(module = "aisle", frozen, get_all)]
pub(crate) struct Record {
    seq: u64,
    at_ms: i64,
    payload: Py<PyBytes>,
}

impl Record {
    fn new(py: Python<'_>, r: &aisle::forward::Record) -> Record {
        Record { seq: r.seq, at_ms: r.at_ms, payload: PyBytes::new(py, &r.payload).unbind() }
    }
}

#[pymethods]
impl Record {
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<Record>() {
            Ok(o) => {
                let o = o.get();
                self.seq == o.seq && self.at_ms == o.at_ms && self.payload.as_bytes(py) == o.payload.as_bytes(py)
            }
            Err(_) => false,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let bytes = self.payload.bind(py);
        let shown = bytes.repr().map(|r| r.to_string()).unwrap_or_default();
        format!("Record(seq={}, at_ms={}, payload={shown})", self.seq, self.at_ms)
    }
}

/// A run of consecutive records of one stream, as an exporter sends it (and as `Ingest`
/// hands it to the application).
#[pyclass(module = "aisle", frozen)]
pub(crate) struct Batch {
    inner: aisle::forward::Batch,
    records: Vec<Py<Record>>,
}

impl Batch {
    pub(crate) fn new(py: Python<'_>, inner: aisle::forward::Batch) -> Res<Batch> {
        let records = inner.records.iter().map(|r| Py::new(py, Record::new(py, r))).collect::<Res<Vec<_>>>()?;
        Ok(Batch { inner, records })
    }
}

#[pymethods]
impl Batch {
    /// Reads a batch body as sinks send it (JSON or NDJSON, not compressed);
    /// `IngestRejectedError` says what is wrong with one that is not.
    #[staticmethod]
    fn decode(py: Python<'_>, body: PyBackedBytes) -> Res<Batch> {
        let inner = py.detach(|| aisle::forward::Batch::decode(&body)).map_err(to_py_err)?;
        Batch::new(py, inner)
    }

    #[getter]
    fn store(&self) -> &str {
        &self.inner.store
    }

    #[getter]
    fn device(&self) -> &str {
        &self.inner.device
    }

    #[getter]
    fn stream(&self) -> &str {
        &self.inner.stream
    }

    /// `"json"` or `"bytes"`: the stream's payload format.
    #[getter]
    fn format(&self) -> Res<String> {
        serde_json::to_value(self.inner.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| invalid("unknown payload format".into()))
    }

    /// `store/device/stream/first-last`: the same records always get the same key.
    #[getter]
    fn idempotency_key(&self) -> String {
        self.inner.idempotency_key()
    }

    #[getter]
    fn first_seq(&self) -> u64 {
        self.inner.first_seq()
    }

    #[getter]
    fn last_seq(&self) -> u64 {
        self.inner.last_seq()
    }

    #[getter]
    fn records(&self, py: Python<'_>) -> Vec<Py<Record>> {
        self.records.iter().map(|r| r.clone_ref(py)).collect()
    }

    /// The batch as an HTTP sink sends it: one JSON object (the header and a `records` array).
    fn to_json<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_json())
    }

    /// The batch as the directory sink writes it: one JSON object per record and line.
    fn to_ndjson<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_ndjson())
    }

    fn __len__(&self) -> usize {
        self.records.len()
    }

    fn __repr__(&self) -> String {
        format!("Batch({:?}, records={})", self.inner.idempotency_key(), self.records.len())
    }
}

/// The core's callback exporter calling a Python function on a forwarding worker thread:
/// returning acknowledges the batch, raising retries it (the exception's text becomes the
/// exporter's `last_error`).
fn callback(function: Py<PyAny>) -> aisle::forward::Callback {
    Arc::new(move |batch: &aisle::forward::Batch| {
        Python::try_attach(|py| {
            let batch = Batch::new(py, batch.clone()).map_err(|e| e.to_string())?;
            function.call1(py, (batch,)).map(|_| ()).map_err(|e| e.to_string())
        })
        .unwrap_or_else(|| Err("the Python interpreter is shutting down".into()))
    })
}

// ---- streams ------------------------------------------------------------------------------------

/// The store-and-forward streams of one store: `edge.streams`.
#[pyclass(module = "aisle", frozen, weakref)]
pub(crate) struct Streams {
    inner: aisle::forward::Streams,
}

impl Streams {
    pub(crate) fn new(inner: aisle::forward::Streams) -> Streams {
        Streams { inner }
    }
}

#[pymethods]
impl Streams {
    /// Creates a stream (a dict as `docs/schemas/stream.schema.json`, or its JSON text), or
    /// changes the cap, policy, TTL and priority of an existing one.
    fn create(&self, py: Python<'_>, config: &Bound<'_, PyAny>) -> Res<()> {
        let json = config_text(config, "config")?;
        py.detach(|| self.inner.create(&StreamConfig::from_json(&json)?)).map_err(to_py_err)
    }

    /// Deletes a stream with its records and exporters.
    fn delete(&self, py: Python<'_>, stream: &str) -> Res<()> {
        py.detach(|| self.inner.delete(stream)).map_err(to_py_err)
    }

    /// Every stream's configuration, durable ones first, by name.
    fn list<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.list())
    }

    /// One stream's configuration.
    fn config<'py>(&self, py: Python<'py>, stream: &str) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.config(stream))
    }

    /// Appends a record; returns its sequence number once it is committed (for a durable
    /// stream: on disk). Concurrent appends from several threads share one commit.
    fn append(&self, py: Python<'_>, stream: &str, payload: &Bound<'_, PyAny>) -> Res<u64> {
        let payload = self::payload(payload, "payload")?;
        py.detach(|| self.inner.append(stream, &payload)).map_err(to_py_err)
    }

    /// Appends several records in one transaction, all or none; their sequence numbers.
    fn append_batch(&self, py: Python<'_>, stream: &str, payloads: &Bound<'_, PyAny>) -> Res<Vec<u64>> {
        let payloads = payloads
            .try_iter()?
            .enumerate()
            .map(|(i, p)| self::payload(&p?, &format!("payloads[{i}]")))
            .collect::<Res<Vec<_>>>()?;
        py.detach(|| self.inner.append_batch(stream, &payloads)).map_err(to_py_err)
    }

    /// Up to `max_records` records after `after_seq`, oldest first.
    #[pyo3(signature = (stream, after_seq = 0, max_records = 100))]
    fn read(&self, py: Python<'_>, stream: &str, after_seq: u64, max_records: u32) -> Res<Vec<Record>> {
        let records = py.detach(|| self.inner.read(stream, after_seq, max_records)).map_err(to_py_err)?;
        Ok(records.iter().map(|r| Record::new(py, r)).collect())
    }

    /// Adds an exporter to a stream (a dict as `docs/schemas/exporter.schema.json`, or its
    /// JSON text), or replaces an existing exporter's configuration; it keeps its position.
    fn add_exporter(&self, py: Python<'_>, stream: &str, config: &Bound<'_, PyAny>) -> Res<()> {
        let json = config_text(config, "config")?;
        py.detach(|| self.inner.add_exporter(stream, &ExporterConfig::from_json(&json)?)).map_err(to_py_err)
    }

    /// Removes an exporter; the records it alone was holding are freed.
    fn remove_exporter(&self, py: Python<'_>, stream: &str, exporter: &str) -> Res<()> {
        py.detach(|| self.inner.remove_exporter(stream, exporter)).map_err(to_py_err)
    }

    /// Pauses or resumes an exporter (a paused one keeps its place and holds its records).
    fn set_exporter_enabled(&self, py: Python<'_>, stream: &str, exporter: &str, enabled: bool) -> Res<()> {
        py.detach(|| self.inner.set_exporter_enabled(stream, exporter, enabled)).map_err(to_py_err)
    }

    /// Registers the function a callback exporter delivers to: `function(batch)` runs on a
    /// forwarding thread; returning acknowledges the batch, raising retries it with backoff.
    /// Not persisted: register it again after each open (until then the exporter waits).
    fn set_callback(&self, py: Python<'_>, stream: &str, exporter: &str, function: Bound<'_, PyAny>) -> Res<()> {
        if !function.is_callable() {
            return Err(PyTypeError::new_err("set_callback needs a function: function(batch) -> None"));
        }
        let cb = callback(function.unbind());
        py.detach(|| self.inner.set_callback(stream, exporter, cb)).map_err(to_py_err)
    }

    /// Starts forwarding in background threads (one per link). Idempotent.
    fn start(slf: &Bound<'_, Self>) -> Res<()> {
        // Stopped again at interpreter exit, before a worker could wait for a GIL that never
        // comes back.
        slf.py().import("aisle._forward")?.getattr("_started")?.call1((slf,))?;
        let this = slf.get();
        slf.py().detach(|| this.inner.start());
        Ok(())
    }

    /// Stops forwarding and joins the workers (a batch in flight finishes first).
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.inner.stop())
    }

    /// Whether forwarding is running.
    fn is_running(&self, py: Python<'_>) -> bool {
        py.detach(|| self.inner.is_running())
    }

    /// Waits up to `timeout` seconds until every enabled exporter has acknowledged everything
    /// its stream holds; whether it drained. Releases the GIL, so callbacks run meanwhile.
    fn flush(&self, py: Python<'_>, timeout: f64) -> Res<bool> {
        let timeout = seconds(timeout, "timeout")?;
        py.detach(|| self.inner.flush(timeout)).map_err(to_py_err)
    }

    /// Status of every stream and its exporters.
    fn status<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.status())
    }

    /// Every stream's status as one JSON document.
    fn status_json(&self, py: Python<'_>) -> Res<String> {
        py.detach(|| self.inner.status_json()).map_err(to_py_err)
    }

    /// Status of one stream and its exporters.
    fn stream_status<'py>(&self, py: Python<'py>, stream: &str) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.stream_status(stream))
    }

    /// Appends the current status document to `stream`; its sequence number.
    fn emit_status(&self, py: Python<'_>, stream: &str) -> Res<u64> {
        py.detach(|| self.inner.emit_status(stream)).map_err(to_py_err)
    }

    /// While forwarding runs, appends the status document to `stream` every `interval`
    /// seconds (at least 1); `None` stops it.
    #[pyo3(signature = (stream, interval = 60.0))]
    fn emit_status_every(&self, py: Python<'_>, stream: Option<String>, interval: f64) -> Res<()> {
        let interval = seconds(interval, "interval")?;
        py.detach(|| self.inner.emit_status_every(stream.as_deref().map(|s| (s, interval)))).map_err(to_py_err)
    }

    /// How long (seconds) a group-commit leader waits for more appends before committing
    /// (default 0: at once; the core caps it at 0.1 s).
    fn set_group_commit_wait(&self, py: Python<'_>, wait: f64) -> Res<()> {
        let wait = seconds(wait, "wait")?;
        py.detach(|| self.inner.set_group_commit_wait(wait));
        Ok(())
    }

    fn __repr__(&self) -> String {
        "Streams(...)".to_owned()
    }
}

// ---- ingest -------------------------------------------------------------------------------------

/// The receiving side (e.g. an HQ backend): applies forwarded batches exactly once, keeping
/// the highest sequence number applied per `(store, device, stream)` in its own SQLite file.
#[pyclass(module = "aisle", frozen)]
pub(crate) struct Ingest {
    inner: aisle::forward::Ingest,
}

#[pymethods]
impl Ingest {
    /// Opens (creating) the receiver's file.
    #[classmethod]
    fn open(_cls: &Bound<'_, PyType>, py: Python<'_>, path: std::path::PathBuf) -> Res<Ingest> {
        py.detach(|| aisle::forward::Ingest::open(path)).map(|inner| Ingest { inner }).map_err(to_py_err)
    }

    /// A receiver in memory only (its marks do not survive the process).
    #[classmethod]
    fn in_memory(_cls: &Bound<'_, PyType>, py: Python<'_>) -> Res<Ingest> {
        py.detach(aisle::forward::Ingest::open_in_memory).map(|inner| Ingest { inner }).map_err(to_py_err)
    }

    /// Decodes a batch body (JSON or NDJSON; `content_encoding` `None`, `"gzip"` or `"zstd"`)
    /// and hands the records not applied before to `apply(batch)`, inside the transaction
    /// that moves the mark. If `apply` raises, nothing is recorded and this raises
    /// `IngestRejectedError` (with the exception as its `__cause__`). Returns the report.
    #[pyo3(signature = (body, apply = None, *, content_encoding = None))]
    fn receive<'py>(
        &self,
        py: Python<'py>,
        body: PyBackedBytes,
        apply: Option<Bound<'py, PyAny>>,
        content_encoding: Option<String>,
    ) -> Res<Bound<'py, PyAny>> {
        if apply.as_ref().is_some_and(|f| !f.is_callable()) {
            return Err(PyTypeError::new_err("apply must be a function: apply(batch) -> None"));
        }
        let apply = apply.map(Bound::unbind);
        let raised: Mutex<Option<PyErr>> = Mutex::new(None);
        let result = py.detach(|| {
            self.inner
                .receive(&body, content_encoding.as_deref(), |_conn, batch| {
                    let Some(apply) = &apply else { return Ok(()) };
                    Python::attach(|py| {
                        let outcome = Batch::new(py, batch.clone()).and_then(|b| apply.call1(py, (b,)));
                        outcome.map(|_| ()).map_err(|e| {
                            let text = e.to_string();
                            *raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            text
                        })
                    })
                })
                .and_then(|report| encode(&report))
        });
        match result {
            Ok(json) => decode(py, &json),
            Err(e) => {
                let err = to_py_err(e);
                if let Some(cause) = raised.into_inner().unwrap_or_else(|p| p.into_inner()) {
                    err.set_cause(py, Some(cause));
                }
                Err(err)
            }
        }
    }

    /// The highest sequence number applied for a `(store, device, stream)` (0: none).
    fn high_water(&self, py: Python<'_>, store: &str, device: &str, stream: &str) -> Res<u64> {
        py.detach(|| self.inner.high_water(store, device, stream)).map_err(to_py_err)
    }

    fn __repr__(&self) -> String {
        "Ingest(...)".to_owned()
    }
}
