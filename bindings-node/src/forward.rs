//! Store-and-forward for Node: `edge.streams()` (streams, exporters, status, the callback
//! exporter) and `Ingest`, the receiving side.
//!
//! Glue only: configurations are read as JSON and validated by the core's `from_json` (errors
//! name the JSON path), status and reports leave as the core's JSON documents. What is Node's
//! own is how a forwarding worker (a Rust thread) calls a JS function and waits for it without
//! ever deadlocking the event loop:
//!
//! - the function is called through a thread-safe function on the main thread, and the worker
//!   waits for its outcome (a returned Promise is awaited; a throw or a rejection retries);
//! - every call that joins the workers from JS (`stop`, `edge.close`) first releases the
//!   waiting workers through the [`Gate`] (their batch is not acknowledged and is sent again),
//!   so joining never waits for the very thread that is blocked in the join;
//! - `flush` is Promise-returning: it waits on the thread pool while the main thread runs the
//!   callbacks it is waiting for.
//!
//! While forwarding runs with a JS callback registered, the store keeps the process alive
//! (like a listening server: the callback may still be called); `streams.stop()` or
//! `edge.close()` lets it exit. Forwarding without JS callbacks does not hold the process.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use aisle::forward::{Batch, BatchFormat, Callback, ExporterConfig, PayloadFormat, Record, StreamConfig};
use napi::bindgen_prelude::{
    AsyncTask, Buffer, CallbackContext, FromNapiValue, Function, PromiseRaw, Uint8Array, Uint8ArraySlice, Unknown,
};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, JsValue, Status, ValueType, sys};
use napi_derive::napi;

use crate::error::{Code, from_napi, invalid_argument, to_napi_err};
use crate::json::{Document, decode, to_json};
use crate::number::integer_arg;
use crate::store::Edge;
use crate::task::Job;

// ---- the gate between the workers and the main thread -----------------------------------------

/// What a callback exporter's worker waits on: the outcome of one JS call, reported from the
/// main thread. Stopping (or closing the store) releases every wait at once, so a thread that
/// joins the workers never waits for a worker that waits for it.
#[derive(Default)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    /// Whether the environment's cleanup hook (which closes the gate) is registered.
    hooked: AtomicBool,
    /// Whether a JS callback was registered on this store.
    has_callbacks: AtomicBool,
    /// Held while forwarding runs with JS callbacks: keeps the event loop (the process) alive.
    keep_alive: Mutex<Option<KeepAlive>>,
}

/// A strong (ref'd) thread-safe function that is never called: while it exists, Node's event
/// loop does not end.
type KeepAlive = ThreadsafeFunction<(), (), (), Status, false, false>;

#[derive(Default)]
struct GateState {
    /// Calls in progress that join the workers: no new wait starts, running ones end.
    stopping: u32,
    /// The JS environment is gone: nothing can be called any more.
    closed: bool,
    next: u64,
    /// Calls the workers wait for: `None` until the main thread reports the outcome.
    calls: HashMap<u64, Option<Result<(), String>>>,
}

const RELEASED: &str = "forwarding stopped before the callback finished; the batch will be sent again";

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin(&self) -> Result<u64, String> {
        let mut s = self.lock();
        if s.closed {
            return Err("the JS environment of this callback is gone".to_owned());
        }
        if s.stopping > 0 {
            return Err(RELEASED.to_owned());
        }
        s.next += 1;
        let id = s.next;
        s.calls.insert(id, None);
        Ok(id)
    }

    /// Reports the outcome of call `id` (ignored if its worker stopped waiting).
    fn settle(&self, id: u64, outcome: Result<(), String>) {
        let mut s = self.lock();
        if let Some(slot) = s.calls.get_mut(&id) {
            *slot = Some(outcome);
            self.changed.notify_all();
        }
    }

    fn forget(&self, id: u64) {
        self.lock().calls.remove(&id);
    }

    /// Waits for the outcome of call `id`, or until the workers are being stopped.
    fn wait(&self, id: u64) -> Result<(), String> {
        let mut s = self.lock();
        loop {
            if let Some(Some(_)) = s.calls.get(&id) {
                return s.calls.remove(&id).flatten().unwrap_or(Ok(()));
            }
            if s.stopping > 0 || s.closed {
                s.calls.remove(&id);
                return Err(RELEASED.to_owned());
            }
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Runs `f`, which joins the workers, with every callback wait released.
    /// Afterwards the process may end: forwarding is stopped.
    pub(crate) fn stopping<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Release<'a>(&'a Gate);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                let mut s = self.0.lock();
                s.stopping = s.stopping.saturating_sub(1);
            }
        }
        self.lock().stopping += 1;
        self.changed.notify_all();
        let _release = Release(self);
        let out = f();
        self.release();
        out
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
        self.release();
    }

    /// Keeps the process alive from now on if a JS callback may be called (main thread).
    fn hold(&self, env: &Env) -> napi::Result<(), Code> {
        if !self.has_callbacks.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut keep_alive = self.keep_alive.lock().unwrap_or_else(|p| p.into_inner());
        if keep_alive.is_none() {
            let noop =
                env.create_function_from_closure::<(), (), _>("aisleForwarding", |_| Ok(())).map_err(from_napi)?;
            *keep_alive = Some(noop.build_threadsafe_function().callee_handled::<false>().build().map_err(from_napi)?);
        }
        Ok(())
    }

    /// Lets the process end (any thread).
    pub(crate) fn release(&self) {
        let held = self.keep_alive.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(held);
    }

    /// Closes the gate when the JS environment is torn down (a worker thread ends, the process
    /// exits): a call queued then would never run, and its worker must not wait for it forever.
    fn close_with(self: &Arc<Self>, env: &Env) -> napi::Result<(), Code> {
        if self.hooked.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        env.add_env_cleanup_hook(self.clone(), |gate| gate.close()).map_err(from_napi)?;
        Ok(())
    }
}

// ---- batches and records as JS objects ---------------------------------------------------------

/// One record of a stream: its sequence number (1, 2, 3 … per stream), when it was appended
/// (Unix ms, the device's clock) and its payload bytes, a `Buffer` (typed as its base class
/// `Uint8Array`, so the typings need no `@types/node`). For a JSON stream they are UTF-8 JSON
/// text: `JSON.parse(record.payload.toString())`.
#[napi(object, object_from_js = false)]
pub struct ForwardRecord {
    pub seq: i64,
    pub at_ms: i64,
    #[napi(ts_type = "Uint8Array")]
    pub payload: Buffer,
}

/// A run of consecutive records of one stream, as an exporter sends it and as `Ingest` hands
/// it to the application. `idempotencyKey` is `store/device/stream/first-last`.
#[napi(object, object_from_js = false)]
pub struct ForwardBatch {
    pub store: String,
    pub device: String,
    pub stream: String,
    /// `"json"` or `"bytes"`: the stream's payload format.
    #[napi(ts_type = "PayloadFormat")]
    pub format: String,
    pub idempotency_key: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub records: Vec<ForwardRecord>,
}

/// A batch to encode with `encodeBatch` (a `ForwardBatch` is one).
#[napi(object)]
pub struct ForwardBatchInput {
    pub store: String,
    pub device: String,
    pub stream: String,
    /// `"json"` (the default) or `"bytes"`.
    #[napi(ts_type = "PayloadFormat")]
    pub format: Option<String>,
    pub records: Vec<ForwardRecordInput>,
}

#[napi(object)]
pub struct ForwardRecordInput {
    pub seq: f64,
    pub at_ms: f64,
    pub payload: Uint8Array,
}

fn js_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A serde enum's JSON name (`PayloadFormat::Bytes` → `"bytes"`).
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn record_to_js(r: &Record) -> ForwardRecord {
    ForwardRecord { seq: js_int(r.seq), at_ms: r.at_ms, payload: Buffer::from(r.payload.clone()) }
}

impl ForwardBatch {
    fn from_core(b: &Batch) -> ForwardBatch {
        ForwardBatch {
            store: b.store.clone(),
            device: b.device.clone(),
            stream: b.stream.clone(),
            format: serde_name(&b.format),
            idempotency_key: b.idempotency_key(),
            first_seq: js_int(b.first_seq()),
            last_seq: js_int(b.last_seq()),
            records: b.records.iter().map(record_to_js).collect(),
        }
    }
}

fn non_negative(name: &str, value: f64) -> napi::Result<u64, Code> {
    let n = integer_arg(name, value)?;
    u64::try_from(n).map_err(|_| invalid_argument(format!("{name} must not be negative, got {n}")))
}

impl ForwardBatchInput {
    fn to_core(&self) -> napi::Result<Batch, Code> {
        let format = match &self.format {
            None => PayloadFormat::default(),
            Some(name) => decode(&serde_json::Value::String(name.clone()).to_string(), "batch.format")?,
        };
        let records = self
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Ok(Record {
                    seq: non_negative(&format!("batch.records[{i}].seq"), r.seq)?,
                    at_ms: integer_arg(&format!("batch.records[{i}].atMs"), r.at_ms)?,
                    payload: r.payload.to_vec(),
                })
            })
            .collect::<napi::Result<Vec<_>, Code>>()?;
        Ok(Batch {
            store: self.store.clone(),
            device: self.device.clone(),
            stream: self.stream.clone(),
            format,
            records,
        })
    }
}

/// Encodes a batch in the wire format every sink sends and `Ingest.receive` reads
/// (`docs/schemas/forward-batch.schema.json`): `"json"` (one object, the default) or
/// `"ndjson"` (one record per line). For a callback exporter that delivers batches to a
/// backend of its own: the backend can apply them exactly once with `Ingest`. A `Buffer`.
#[napi(ts_return_type = "Uint8Array")]
pub fn encode_batch(
    batch: ForwardBatchInput,
    #[napi(ts_arg_type = "'json' | 'ndjson'")] format: Option<String>,
) -> napi::Result<Buffer, Code> {
    let format: BatchFormat = match format {
        None => BatchFormat::default(),
        Some(name) => decode(&serde_json::Value::String(name).to_string(), "format")?,
    };
    Ok(Buffer::from(batch.to_core()?.encode(format)))
}

// ---- reading JS values -------------------------------------------------------------------------

/// A configuration given as an object or as JSON text: the JSON text either way.
fn config_text(value: Unknown<'_>, what: &str) -> napi::Result<String, Code> {
    if value.get_type().map_err(from_napi)? == ValueType::String {
        // Safety: the type was just checked.
        return unsafe { value.cast::<String>() }.map_err(from_napi);
    }
    to_json(value, what)
}

fn is(
    env: sys::napi_env,
    raw: sys::napi_value,
    check: unsafe extern "C" fn(sys::napi_env, sys::napi_value, *mut bool) -> sys::napi_status,
) -> bool {
    let mut yes = false;
    // Safety: `raw` is a live value of `env`; a failed check leaves `yes` false.
    unsafe { check(env, raw, &mut yes) };
    yes
}

/// The bytes of a `Uint8Array` (a `Buffer` is one), or `None` for any other value.
fn uint8_bytes(value: Unknown<'_>, what: &str) -> napi::Result<Option<Vec<u8>>, Code> {
    let (env, raw) = (value.value().env, value.raw());
    if value.get_type().map_err(from_napi)? != ValueType::Object {
        return Ok(None);
    }
    if is(env, raw, sys::napi_is_typedarray) {
        // Safety: a typed array; the slice refuses any element type but `u8`.
        let bytes = unsafe { Uint8ArraySlice::from_napi_value(env, raw) }
            .map_err(|_| invalid_argument(format!("{what}: a typed array must be a Uint8Array or a Buffer")))?;
        return Ok(Some(bytes.to_vec()));
    }
    if is(env, raw, sys::napi_is_arraybuffer) || is(env, raw, sys::napi_is_dataview) {
        return Err(invalid_argument(format!("{what}: pass the bytes as a Uint8Array or a Buffer")));
    }
    Ok(None)
}

/// A record's payload: a string (its UTF-8 bytes, as is) or a `Uint8Array`/`Buffer` (its
/// bytes), or any other JSON value, written as JSON text. A JSON stream checks the payload is
/// one JSON value (`INVALID_PAYLOAD`).
fn payload(value: Unknown<'_>, what: &str) -> napi::Result<Vec<u8>, Code> {
    match value.get_type().map_err(from_napi)? {
        ValueType::Undefined => Err(invalid_argument(format!("{what} is missing"))),
        // Safety: the type was just checked.
        ValueType::String => Ok(unsafe { value.cast::<String>() }.map_err(from_napi)?.into_bytes()),
        _ => match uint8_bytes(value, what)? {
            Some(bytes) => Ok(bytes),
            None => Ok(to_json(value, what)?.into_bytes()),
        },
    }
}

fn payloads(values: Vec<Unknown<'_>>) -> napi::Result<Vec<Vec<u8>>, Code> {
    values.into_iter().enumerate().map(|(i, v)| payload(v, &format!("payloads[{i}]"))).collect()
}

fn millis(name: &str, value: f64) -> napi::Result<Duration, Code> {
    Ok(Duration::from_millis(non_negative(name, value)?))
}

// ---- JS outcomes -------------------------------------------------------------------------------

/// Wraps an exporter callback in JS so that its outcome is always a Promise that fulfils, with
/// `null` (delivered) or the error's text (retry): a throw, a rejection, a thrown non-Error
/// never reach napi as an exception (a pending exception in a thread-safe call would be fatal).
const SETTLED: &str = r#"(fn) => {
  const describe = (e) => {
    try { return e !== null && typeof e === 'object' && typeof e.message === 'string' ? e.message : String(e) }
    catch { return 'the callback failed with a value that has no text' }
  }
  return (batch) => new Promise((resolve) => resolve(fn(batch))).then(() => null, describe)
}"#;

/// Wraps an ingest function in JS: it returns `null` (applied) or the error's text (refused).
/// A returned Promise is refused (its work would happen after the transaction) and its own
/// outcome is handled, so it cannot become an unhandled rejection.
const SYNCHRONOUS: &str = r#"(fn) => {
  const describe = (e) => {
    try { return e !== null && typeof e === 'object' && typeof e.message === 'string' ? e.message : String(e) }
    catch { return 'the function failed with a value that has no text' }
  }
  return (batch) => {
    try {
      const r = fn(batch)
      if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function') {
        Promise.resolve(r).catch(() => {})
        return 'the function returned a Promise: it must do its work before it returns, inside the transaction'
      }
      return null
    } catch (e) {
      return describe(e)
    }
  }
}"#;

/// `wrapper(function)`, where `wrapper` is one of the scripts above.
fn wrap<'env>(
    env: &'env Env,
    wrapper: &str,
    function: Function<'env, ForwardBatch, Unknown<'env>>,
) -> napi::Result<Function<'env, ForwardBatch, Unknown<'env>>, Code> {
    let factory: Function<Function<ForwardBatch, Unknown>, Function<ForwardBatch, Unknown>> =
        env.run_script(wrapper).map_err(from_napi)?;
    factory.call(function).map_err(from_napi)
}

/// What a wrapped function reported: `null` is success, a string the failure.
fn outcome(value: Unknown<'_>) -> Result<(), String> {
    match value.get_type() {
        // Safety: the type was just checked.
        Ok(ValueType::String) => Err(unsafe { value.cast::<String>() }.unwrap_or_default()),
        _ => Ok(()),
    }
}

/// Reports to the gate what the wrapped callback's Promise settled to. Runs on the main thread.
fn report(env: &Env, returned: napi::Result<Unknown<'_>>, gate: &Arc<Gate>, id: u64) {
    let promise = returned.and_then(|value| {
        // Safety: the wrapper returns a Promise.
        unsafe { PromiseRaw::<Unknown>::from_napi_value(env.raw(), value.raw()) }
    });
    let settled = gate.clone();
    let chained = promise.and_then(|p| {
        p.then(move |ctx: CallbackContext<Unknown>| {
            settled.settle(id, outcome(ctx.value));
            Ok(())
        })
    });
    if let Err(e) = chained {
        gate.settle(id, Err(format!("cannot wait for the callback: {}", e.reason)));
    }
}

/// The application's (wrapped) function as a thread-safe function: called on the main thread,
/// with a batch, by a worker thread. Weak: it does not keep the process alive by itself.
type JsCallback = ThreadsafeFunction<ForwardBatch, Unknown<'static>, ForwardBatch, Status, false, true>;

/// The core callback that calls `function` on the main thread and waits (on the worker) for
/// its outcome.
fn bridge(function: JsCallback, gate: Arc<Gate>) -> Callback {
    let function = Arc::new(function);
    Arc::new(move |batch: &Batch| {
        let id = gate.begin()?;
        let reporter = gate.clone();
        let status = function.call_with_return_value(
            ForwardBatch::from_core(batch),
            ThreadsafeFunctionCallMode::NonBlocking,
            move |returned, env| {
                // Nothing may unwind into napi (that aborts the process): a panic retries.
                let outcome = catch_unwind(AssertUnwindSafe(|| report(&env, returned, &reporter, id)));
                if outcome.is_err() {
                    reporter.settle(id, Err("aisle panicked while reading the callback's outcome".to_owned()));
                }
                Ok(())
            },
        );
        if status != Status::Ok {
            gate.forget(id);
            return Err(format!("cannot call the JS callback ({status})"));
        }
        gate.wait(id)
    })
}

// ---- Streams -----------------------------------------------------------------------------------

/// The store-and-forward streams of a store: `edge.streams()`. See `docs/forward.md`.
#[napi]
pub struct Streams {
    inner: aisle::forward::Streams,
    gate: Arc<Gate>,
}

#[napi]
impl Edge {
    /// The store's streams: append records, export them, see their status.
    #[napi]
    pub fn streams(&self) -> Streams {
        Streams { inner: self.inner.streams(), gate: self.gate.clone() }
    }
}

#[napi]
impl Streams {
    /// Creates a stream, or changes the cap, policy, TTL and priority of an existing one
    /// (changing its storage or format is `STREAM_EXISTS`). `config` is an object or JSON
    /// text (`docs/schemas/stream.schema.json`); a bad field is `INVALID_ARGUMENT` naming it.
    #[napi]
    pub fn create(&self, #[napi(ts_arg_type = "StreamConfig | string")] config: Unknown) -> napi::Result<(), Code> {
        let config = StreamConfig::from_json(&config_text(config, "config")?).map_err(to_napi_err)?;
        self.inner.create(&config).map_err(to_napi_err)
    }

    /// Deletes a stream with its records and exporters.
    #[napi]
    pub fn delete(&self, stream: String) -> napi::Result<(), Code> {
        self.inner.delete(&stream).map_err(to_napi_err)
    }

    /// Every stream's configuration, durable ones first, by name.
    #[napi(ts_return_type = "StreamConfig[]")]
    pub fn list(&self) -> napi::Result<Document, Code> {
        Document::of(&self.inner.list().map_err(to_napi_err)?, "the streams")
    }

    /// One stream's configuration; `STREAM_NOT_FOUND` if there is none.
    #[napi(ts_return_type = "StreamConfig")]
    pub fn config(&self, stream: String) -> napi::Result<Document, Code> {
        Document::of(&self.inner.config(&stream).map_err(to_napi_err)?, "the stream config")
    }

    /// Appends a record and returns its sequence number once it is committed (for a durable
    /// stream: on disk). `payload`: a string or a `Uint8Array`/`Buffer`, stored as is, or any
    /// other JSON value (object, array, number, boolean, null), stored as its JSON text.
    /// `STREAM_NOT_FOUND`, `STREAM_FULL` (a full stream whose policy is `reject`),
    /// `INVALID_PAYLOAD` (not one JSON value, for a JSON stream).
    #[napi]
    pub fn append(
        &self,
        stream: String,
        #[napi(ts_arg_type = "StreamPayload")] payload: Unknown,
    ) -> napi::Result<i64, Code> {
        let payload = self::payload(payload, "payload")?;
        self.inner.append(&stream, &payload).map(js_int).map_err(to_napi_err)
    }

    /// `append` as a Promise: the commit (an fsync) is waited for on the thread pool, and
    /// concurrent appends share commits.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn append_async(
        &self,
        stream: String,
        #[napi(ts_arg_type = "StreamPayload")] payload: Unknown,
    ) -> AsyncTask<Job<i64>> {
        let streams = self.inner.clone();
        Job::spawn_with(self::payload(payload, "payload"), move |payload| {
            streams.append(&stream, &payload).map(js_int).map_err(to_napi_err)
        })
    }

    /// Appends several records in one transaction, all or none; their sequence numbers.
    #[napi]
    pub fn append_batch(
        &self,
        stream: String,
        #[napi(ts_arg_type = "StreamPayload[]")] payloads: Vec<Unknown>,
    ) -> napi::Result<Vec<i64>, Code> {
        let payloads = self::payloads(payloads)?;
        let seqs = self.inner.append_batch(&stream, &payloads).map_err(to_napi_err)?;
        Ok(seqs.into_iter().map(js_int).collect())
    }

    /// `appendBatch` as a Promise.
    #[napi(ts_return_type = "Promise<number[]>")]
    pub fn append_batch_async(
        &self,
        stream: String,
        #[napi(ts_arg_type = "StreamPayload[]")] payloads: Vec<Unknown>,
    ) -> AsyncTask<Job<Vec<i64>>> {
        let streams = self.inner.clone();
        Job::spawn_with(self::payloads(payloads), move |payloads| {
            let seqs = streams.append_batch(&stream, &payloads).map_err(to_napi_err)?;
            Ok(seqs.into_iter().map(js_int).collect())
        })
    }

    /// Up to `max` records after sequence number `afterSeq` (0: from the oldest held).
    #[napi]
    pub fn read(&self, stream: String, after_seq: f64, max: f64) -> napi::Result<Vec<ForwardRecord>, Code> {
        let after = non_negative("afterSeq", after_seq)?;
        let max = non_negative("max", max)?;
        let max =
            u32::try_from(max).map_err(|_| invalid_argument(format!("max must be at most {}, got {max}", u32::MAX)))?;
        let records = self.inner.read(&stream, after, max).map_err(to_napi_err)?;
        Ok(records.iter().map(record_to_js).collect())
    }

    /// Adds an exporter to a stream, or replaces an exporter's configuration (it keeps its
    /// place). `config` is an object or JSON text (`docs/schemas/exporter.schema.json`).
    #[napi]
    pub fn add_exporter(
        &self,
        stream: String,
        #[napi(ts_arg_type = "ExporterConfig | string")] config: Unknown,
    ) -> napi::Result<(), Code> {
        let config = ExporterConfig::from_json(&config_text(config, "config")?).map_err(to_napi_err)?;
        self.inner.add_exporter(&stream, &config).map_err(to_napi_err)
    }

    /// Removes an exporter; the records only it was holding are freed.
    #[napi]
    pub fn remove_exporter(&self, stream: String, exporter: String) -> napi::Result<(), Code> {
        self.inner.remove_exporter(&stream, &exporter).map_err(to_napi_err)
    }

    /// Pauses (`false`) or resumes (`true`) an exporter; a paused one keeps its place.
    #[napi]
    pub fn set_exporter_enabled(&self, stream: String, exporter: String, enabled: bool) -> napi::Result<(), Code> {
        self.inner.set_exporter_enabled(&stream, &exporter, enabled).map_err(to_napi_err)
    }

    /// Registers the function a `callback` exporter delivers to. It runs on the main thread,
    /// one batch at a time, in sequence order: returning acknowledges the batch; throwing, or
    /// returning a Promise that rejects, makes the exporter retry it with backoff (the
    /// error's message becomes the exporter's `last_error`); a returned Promise is awaited.
    /// Not persisted: register it again after each open (until then the exporter waits and
    /// keeps its place). `EXPORTER_NOT_FOUND`; `INVALID_ARGUMENT` for an exporter that does
    /// not send to a callback.
    #[napi]
    pub fn set_callback(
        &self,
        env: Env,
        stream: String,
        exporter: String,
        #[napi(ts_arg_type = "(batch: ForwardBatch) => void | Promise<void>")] callback: Function<
            ForwardBatch,
            Unknown,
        >,
    ) -> napi::Result<(), Code> {
        self.gate.close_with(&env)?;
        let wrapped = wrap(&env, SETTLED, callback)?;
        // Safety: `wrapped` is a live function of `env`.
        let function = unsafe { JsCallback::from_napi_value(env.raw(), wrapped.raw()) }.map_err(from_napi)?;
        let callback = bridge(function, self.gate.clone());
        self.inner.set_callback(&stream, &exporter, callback).map_err(to_napi_err)?;
        self.gate.has_callbacks.store(true, Ordering::SeqCst);
        if self.inner.is_running() {
            self.gate.hold(&env)?;
        }
        Ok(())
    }

    /// Starts forwarding on background threads (one per link). Idempotent. With a JS callback
    /// registered, running forwarding keeps the process alive until `stop()` or
    /// `edge.close()`.
    #[napi]
    pub fn start(&self, env: Env) -> napi::Result<(), Code> {
        self.inner.start();
        self.gate.hold(&env)
    }

    /// Stops forwarding and joins the workers; nothing stored is touched. A callback that is
    /// running (or a Promise it returned) is not waited for: its batch will be sent again. A
    /// batch in flight to a network sink finishes or times out first.
    #[napi]
    pub fn stop(&self) {
        self.gate.stopping(|| self.inner.stop());
    }

    /// `stop` as a Promise: the workers are joined on the thread pool.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop_async(&self) -> AsyncTask<Job<()>> {
        let (streams, gate) = (self.inner.clone(), self.gate.clone());
        Job::spawn(move || {
            gate.stopping(|| streams.stop());
            Ok(())
        })
    }

    /// Whether forwarding is running.
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.inner.is_running()
    }

    /// Resolves to `true` once every enabled exporter has acknowledged everything its stream
    /// holds, or to `false` after `timeoutMs`. It waits on the thread pool, so callback
    /// exporters keep running on the main thread meanwhile.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn flush(&self, timeout_ms: f64) -> AsyncTask<Job<bool>> {
        let streams = self.inner.clone();
        Job::spawn_with(millis("timeoutMs", timeout_ms), move |timeout| streams.flush(timeout).map_err(to_napi_err))
    }

    /// Status of every stream and its exporters.
    #[napi(ts_return_type = "StreamStatus[]")]
    pub fn status(&self) -> napi::Result<Document, Code> {
        Document::of(&self.inner.status().map_err(to_napi_err)?, "the stream status")
    }

    /// `status()` as JSON text (the payload `emitStatus` appends).
    #[napi]
    pub fn status_json(&self) -> napi::Result<String, Code> {
        self.inner.status_json().map_err(to_napi_err)
    }

    /// Status of one stream; `STREAM_NOT_FOUND` if there is none.
    #[napi(ts_return_type = "StreamStatus")]
    pub fn stream_status(&self, stream: String) -> napi::Result<Document, Code> {
        Document::of(&self.inner.stream_status(&stream).map_err(to_napi_err)?, "the stream status")
    }

    /// Appends the current status of every stream to `stream` (e.g. every minute, so HQ sees
    /// each store's backlog); its sequence number.
    #[napi]
    pub fn emit_status(&self, stream: String) -> napi::Result<i64, Code> {
        self.inner.emit_status(&stream).map(js_int).map_err(to_napi_err)
    }

    /// How long a group commit waits for more appends before it commits (default 0).
    #[napi]
    pub fn set_group_commit_wait(&self, wait_ms: f64) -> napi::Result<(), Code> {
        self.inner.set_group_commit_wait(millis("waitMs", wait_ms)?);
        Ok(())
    }
}

// ---- Ingest ------------------------------------------------------------------------------------

/// The receiving side (e.g. an HQ backend): applies forwarded batches exactly once. Each
/// `(store, device, stream)` keeps the highest sequence number applied, in the ingest's own
/// SQLite file; records at or below it are duplicates and are skipped.
#[napi]
pub struct Ingest {
    inner: aisle::forward::Ingest,
    /// Set while `receive` runs the application's function: the ingest is locked then, and a
    /// call back into it from that function would wait for itself.
    busy: AtomicBool,
}

#[napi]
impl Ingest {
    /// Opens (creating) the ingest file at `path`.
    #[napi(factory)]
    pub fn open(path: String) -> napi::Result<Ingest, Code> {
        let inner = aisle::forward::Ingest::open(&path).map_err(to_napi_err)?;
        Ok(Ingest { inner, busy: AtomicBool::new(false) })
    }

    /// An ingest that lives in memory only (tests, scripts).
    #[napi(factory)]
    pub fn open_in_memory() -> napi::Result<Ingest, Code> {
        let inner = aisle::forward::Ingest::open_in_memory().map_err(to_napi_err)?;
        Ok(Ingest { inner, busy: AtomicBool::new(false) })
    }

    /// Applies one batch body as an exporter sent it (JSON or NDJSON; `contentEncoding`
    /// `null`, `"gzip"` or `"zstd"`). `apply` gets the records not applied before, inside the
    /// ingest's transaction: if it throws, nothing is recorded and `receive` throws
    /// `INGEST_REJECTED` with its message. It must finish its work before it returns (a
    /// returned Promise is refused the same way). A malformed body is `INGEST_REJECTED`.
    #[napi(ts_return_type = "IngestReport")]
    pub fn receive(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string")] body: Unknown,
        content_encoding: Option<String>,
        #[napi(ts_arg_type = "(batch: ForwardBatch) => void")] apply: Option<Function<ForwardBatch, Unknown>>,
    ) -> napi::Result<Document, Code> {
        let body = match body.get_type().map_err(from_napi)? {
            // Safety: the type was just checked.
            ValueType::String => unsafe { body.cast::<String>() }.map_err(from_napi)?.into_bytes(),
            _ => uint8_bytes(body, "body")?
                .ok_or_else(|| invalid_argument("body must be a Uint8Array, a Buffer or a string".to_owned()))?,
        };
        if self.busy.swap(true, Ordering::SeqCst) {
            return Err(invalid_argument("an ingest cannot be used from inside its own receive function".to_owned()));
        }
        let apply = apply.map(|f| wrap(&env, SYNCHRONOUS, f)).transpose()?;
        let report = self.inner.receive(&body, content_encoding.as_deref(), |_, batch| match &apply {
            None => Ok(()),
            Some(apply) => match apply.call(ForwardBatch::from_core(batch)) {
                Ok(returned) => outcome(returned),
                Err(e) => Err(format!("cannot call the function: {}", e.reason)),
            },
        });
        self.busy.store(false, Ordering::SeqCst);
        Document::of(&report.map_err(to_napi_err)?, "the ingest report")
    }

    /// The highest sequence number applied for `(store, device, stream)` (0: none).
    #[napi]
    pub fn high_water(&self, store: String, device: String, stream: String) -> napi::Result<i64, Code> {
        if self.busy.load(Ordering::SeqCst) {
            return Err(invalid_argument("an ingest cannot be used from inside its own receive function".to_owned()));
        }
        self.inner.high_water(&store, &device, &stream).map(js_int).map_err(to_napi_err)
    }
}
