//! CRDT sync for Python: `edge.sync`, a view over the device's replica. Conversion only:
//! messages are `bytes`, reports and device cards are dicts (their shapes are the `TypedDict`s
//! in `aisle/types.py`), customer fields are `None`, `int`, `str` or `bytes`. Every call that
//! touches the store or the network releases the GIL; a hub written with any Python HTTP
//! framework calls `handle_http` per request.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use aisle::sync::{ApplyReport, Device, PushReport, Replication, Role, RoundReport, SyncLink, Value};
use aisle::transport::{HttpSyncConfig, HttpSyncLink, LanLink, PeerStatus, SyncerConfig};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use serde_json::json;

use crate::json::{decode, to_json_text};
use crate::{Res, to_py_err};

fn invalid(message: String) -> PyErr {
    to_py_err(aisle::Error::InvalidArgument(message))
}

fn millis(seconds: f64, what: &str) -> Res<u64> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|d| u64::try_from(d.as_millis()).ok())
        .filter(|ms| *ms > 0)
        .ok_or_else(|| invalid(format!("{what} must be a number of seconds > 0, got {seconds}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn role(name: &str) -> Res<Role> {
    Role::parse(name).ok_or_else(|| invalid(format!("role must be \"store\" or \"hq\", got {name:?}")))
}

/// A device card from a dict (as `identity()` returns it) or its JSON text.
fn device(card: &Bound<'_, PyAny>) -> Res<Device> {
    let text = match card.cast::<PyString>() {
        Ok(s) => s.to_cow()?.into_owned(),
        Err(_) => to_json_text(card, "card")?,
    };
    Device::from_json(&text).map_err(to_py_err)
}

fn card<'py>(py: Python<'py>, d: &Device) -> Res<Bound<'py, PyAny>> {
    decode(py, &d.to_json())
}

fn value(obj: &Bound<'_, PyAny>, field: &str) -> Res<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!("customer field {field:?}: bool is not a sync value (use int)")));
    }
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::Text(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.extract::<PyBackedBytes>() {
        return Ok(Value::Bytes(b.to_vec()));
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    Err(PyTypeError::new_err(format!("customer field {field:?}: a sync value is None, int, str or bytes, not {type_name}")))
}

fn to_py_value<'py>(py: Python<'py>, v: &Value) -> Res<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Text(s) => PyString::new(py, s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
    })
}

fn apply_report<'py>(py: Python<'py>, r: &ApplyReport) -> Res<Bound<'py, PyAny>> {
    let touched: Vec<_> = r.touched.iter().map(|t| json!({"scope": t.scope, "collection": t.collection, "key": t.key})).collect();
    let v = json!({"from": r.from, "received": r.received, "changed": r.changed, "batch_complete": r.batch_complete, "touched": touched});
    decode(py, &v.to_string())
}

fn push_json(r: &PushReport) -> serde_json::Value {
    json!({"chunks": r.chunks, "applied": r.applied, "duplicates": r.duplicates, "changed": r.changed})
}

fn round_json(r: &RoundReport) -> serde_json::Value {
    json!({
        "peer": r.peer,
        "pulled": r.pulled,
        "pulled_changed": r.pulled_changed,
        "duplicates": r.duplicates,
        "pushed": push_json(&r.pushed),
    })
}

fn status_json(s: &PeerStatus) -> serde_json::Value {
    json!({
        "peer": s.peer,
        "rounds": s.rounds,
        "failures": s.failures,
        "last_round": s.last_round.as_ref().map(round_json),
        "last_error": s.last_error.as_ref().map(|(code, message)| json!({"code": code, "message": message})),
    })
}

fn hub_config(url: &str, headers: Option<BTreeMap<String, String>>, ca_pem: Option<String>, timeout: f64) -> Res<HttpSyncConfig> {
    Ok(HttpSyncConfig {
        url: url.to_owned(),
        headers: headers.unwrap_or_default().into_iter().collect(),
        ca_pem,
        timeout_ms: millis(timeout, "timeout")?,
    })
}

/// The replica of one store (`edge.sync`): device identity and enrolment, the byte protocol
/// (`request` → peer's `changes_since` → `apply`), transports (a hub over HTTP, peers on the
/// store LAN, a background syncer), and the replicated data that has no commerce table of its
/// own: stock levels, shared carts, customers.
#[pyclass(module = "aisle", frozen)]
pub(crate) struct Sync {
    inner: Replication,
}

impl Sync {
    pub(crate) fn new(inner: Replication) -> Sync {
        Sync { inner }
    }
}

#[pymethods]
impl Sync {
    // ---- devices ----

    /// This device's card (`public_key` hex, `store_id`, `device_id`, `role`, `delegated`): what
    /// other replicas `enroll`. Creates the device key on first use.
    fn identity<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        let d = py.detach(|| self.inner.identity()).map_err(to_py_err)?;
        card(py, &d)
    }

    /// Makes this replica the HQ replica (`"hq"`) or a store device (`"store"`).
    fn set_role(&self, py: Python<'_>, role: &str) -> Res<()> {
        let role = self::role(role)?;
        py.detach(|| self.inner.set_role(role)).map_err(to_py_err)
    }

    /// Accepts messages from (and answers) the device of this card (a dict or its JSON text).
    fn enroll(&self, py: Python<'_>, card: &Bound<'_, PyAny>) -> Res<()> {
        let d = device(card)?;
        py.detach(|| self.inner.enroll(&d)).map_err(to_py_err)
    }

    /// Enrolled devices, this one included.
    fn devices<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyList>> {
        let ds = py.detach(|| self.inner.devices()).map_err(to_py_err)?;
        let list = PyList::empty(py);
        for d in &ds {
            list.append(card(py, d)?)?;
        }
        Ok(list)
    }

    // ---- the byte protocol ----

    /// A signed request for what this replica lacks; send it to a peer's `changes_since`.
    fn request<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyBytes>> {
        let b = py.detach(|| self.inner.request()).map_err(to_py_err)?;
        Ok(PyBytes::new(py, &b))
    }

    /// Answers a peer's request with signed chunks (apply them in any order).
    fn changes_since<'py>(&self, py: Python<'py>, request: PyBackedBytes) -> Res<Vec<Bound<'py, PyBytes>>> {
        let chunks = py.detach(|| self.inner.changes_since(&request)).map_err(to_py_err)?;
        Ok(chunks.iter().map(|c| PyBytes::new(py, c)).collect())
    }

    /// Applies one chunk from a peer; a refused chunk raises its `SyncError` and changes nothing.
    fn apply<'py>(&self, py: Python<'py>, message: PyBackedBytes) -> Res<Bound<'py, PyAny>> {
        let r = py.detach(|| self.inner.apply(&message)).map_err(to_py_err)?;
        apply_report(py, &r)
    }

    /// Serving half of a round, first trip: our request, then the chunks the peer lacks.
    fn serve_exchange<'py>(&self, py: Python<'py>, request: PyBackedBytes) -> Res<Bound<'py, PyBytes>> {
        let b = py.detach(|| self.inner.serve_exchange(&request)).map_err(to_py_err)?;
        Ok(PyBytes::new(py, &b))
    }

    /// Serving half, second trip: applies the pushed chunks.
    fn serve_push<'py>(&self, py: Python<'py>, body: PyBackedBytes) -> Res<Bound<'py, PyAny>> {
        let r = py.detach(|| self.inner.serve_push(&body)).map_err(to_py_err)?;
        decode(py, &push_json(&r).to_string())
    }

    /// Serves one HTTP request of the sync protocol (`POST /v1/sync/exchange`, `POST
    /// /v1/sync/push`): returns `(status, content_type, body)`. This is the whole hub; wire it
    /// into any HTTP server. Refusals are 4xx with a JSON `{"code", "message"}` body.
    fn handle_http<'py>(&self, py: Python<'py>, method: &str, path: &str, body: PyBackedBytes) -> (u16, &'static str, Bound<'py, PyBytes>) {
        let r = py.detach(|| self.inner.handle_http(method, path, &body));
        (r.status, r.content_type, PyBytes::new(py, &r.body))
    }

    // ---- transports ----

    /// One round with a hub over HTTP(S): pulls what this replica lacks, pushes what the hub
    /// lacks. `SyncUnreachableError` if it cannot be reached, `SyncPeerRefusedError` if it
    /// refused (the message carries its code).
    #[pyo3(signature = (url, *, headers = None, ca_pem = None, timeout = 30.0))]
    fn sync_with_hub<'py>(
        &self,
        py: Python<'py>,
        url: &str,
        headers: Option<BTreeMap<String, String>>,
        ca_pem: Option<String>,
        timeout: f64,
    ) -> Res<Bound<'py, PyAny>> {
        let config = hub_config(url, headers, ca_pem, timeout)?;
        let r = py
            .detach(|| HttpSyncLink::new(&config).and_then(|mut link| self.inner.sync_with(&mut link)))
            .map_err(to_py_err)?;
        decode(py, &round_json(&r).to_string())
    }

    /// One round with another device of this store over the LAN (`"host:port"` of its
    /// `listen_lan`).
    #[pyo3(signature = (addr, *, timeout = 10.0))]
    fn sync_with_peer<'py>(&self, py: Python<'py>, addr: &str, timeout: f64) -> Res<Bound<'py, PyAny>> {
        let ms = millis(timeout, "timeout")?;
        let r = py.detach(|| self.inner.sync_with(&mut LanLink::new(addr, ms))).map_err(to_py_err)?;
        decode(py, &round_json(&r).to_string())
    }

    /// Serves this replica to the store's other devices on `addr` (`"0.0.0.0:7878"`;
    /// `"127.0.0.1:0"` picks a free port: see `LanServer.addr`).
    fn listen_lan(&self, py: Python<'_>, addr: &str) -> Res<LanServer> {
        let server = py.detach(|| aisle::transport::LanServer::start(self.inner.clone(), addr)).map_err(to_py_err)?;
        Ok(LanServer { inner: Mutex::new(Some(server)) })
    }

    /// Starts a background thread that runs a round with each hub (URLs) and LAN peer
    /// (addresses) every `interval` seconds, backing off up to `backoff_max` after failures.
    #[pyo3(signature = (*, hubs = Vec::new(), peers = Vec::new(), interval = 5.0, backoff_max = 300.0, timeout = 30.0))]
    fn start_syncer(&self, hubs: Vec<String>, peers: Vec<String>, interval: f64, backoff_max: f64, timeout: f64) -> Res<Syncer> {
        let timeout_ms = millis(timeout, "timeout")?;
        let mut links: Vec<Box<dyn SyncLink + Send>> = Vec::new();
        for url in &hubs {
            links.push(Box::new(HttpSyncLink::new(&HttpSyncConfig { timeout_ms, ..HttpSyncConfig::new(url.as_str()) }).map_err(to_py_err)?));
        }
        for addr in peers {
            links.push(Box::new(LanLink::new(addr, timeout_ms)));
        }
        let config = SyncerConfig { interval_ms: millis(interval, "interval")?, backoff_max_ms: millis(backoff_max, "backoff_max")? };
        let syncer = aisle::transport::Syncer::start(self.inner.clone(), links, config).map_err(to_py_err)?;
        Ok(Syncer { inner: Mutex::new(Some(syncer)) })
    }

    // ---- state ----

    /// SHA-256 (hex) of the replicated data as applications see it, for all scopes or one
    /// (`"global"`, `"store:<id>"`): equal digests, equal data.
    #[pyo3(signature = (scope = None))]
    fn digest(&self, py: Python<'_>, scope: Option<&str>) -> Res<String> {
        let d = py
            .detach(|| match scope {
                Some(s) => self.inner.digest_in(s),
                None => self.inner.digest(),
            })
            .map_err(to_py_err)?;
        Ok(hex(&d))
    }

    /// What this replica has: scope → site (16 hex digits) → newest hybrid-clock stamp.
    fn vector<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        let v = py.detach(|| self.inner.vector()).map_err(to_py_err)?;
        let m: BTreeMap<&str, BTreeMap<String, u64>> =
            v.0.iter().map(|(scope, sites)| (scope.as_str(), sites.iter().map(|(s, h)| (format!("{s:016x}"), h.0)).collect())).collect();
        decode(py, &serde_json::to_string(&m).map_err(|e| invalid(e.to_string()))?)
    }

    /// Garbage-collects deleted records every replica has seen: `{"removed_slots", "waiting"}`.
    fn compact<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        let r = py.detach(|| self.inner.compact()).map_err(to_py_err)?;
        decode(py, &json!({"removed_slots": r.removed_slots, "waiting": r.waiting}).to_string())
    }

    /// Sizes of the replicated data and of sync's metadata: `{"slots", "data_bytes", "metadata_bytes"}`.
    fn stats<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        let s = py.detach(|| self.inner.stats()).map_err(to_py_err)?;
        decode(py, &json!({"slots": s.slots, "data_bytes": s.data_bytes, "metadata_bytes": s.metadata_bytes}).to_string())
    }

    // ---- stock ----

    /// Receives (positive) or takes (negative) units; returns the level this replica now sees.
    fn stock_add(&self, py: Python<'_>, sku: &str, location: &str, delta: i64) -> Res<i64> {
        py.detach(|| self.inner.stock_add(sku, location, delta)).map_err(to_py_err)
    }

    /// A stocktake: "there are `count`" (moves this replica has not seen yet still count after it).
    fn stocktake(&self, py: Python<'_>, sku: &str, location: &str, count: i64) -> Res<()> {
        py.detach(|| self.inner.stocktake(sku, location, count)).map_err(to_py_err)
    }

    /// The stock level of `sku` at `location`, in this store or in `scope` (HQ reads any store).
    #[pyo3(signature = (sku, location, *, scope = None))]
    fn stock_level(&self, py: Python<'_>, sku: &str, location: &str, scope: Option<&str>) -> Res<i64> {
        py.detach(|| match scope {
            Some(s) => self.inner.stock_level_in(s, sku, location),
            None => self.inner.stock_level(sku, location),
        })
        .map_err(to_py_err)
    }

    // ---- shared carts ----

    /// Adds `quantity` of `sku` to a shared cart (concurrent adds on other devices add up).
    fn cart_add(&self, py: Python<'_>, cart: &str, sku: &str, quantity: i64) -> Res<()> {
        py.detach(|| self.inner.cart_add(cart, sku, quantity)).map_err(to_py_err)
    }

    /// Sets a shared cart line's quantity.
    fn cart_set(&self, py: Python<'_>, cart: &str, sku: &str, quantity: i64) -> Res<()> {
        py.detach(|| self.inner.cart_set(cart, sku, quantity)).map_err(to_py_err)
    }

    /// Removes a line (an add on another device at the same time wins).
    fn cart_remove(&self, py: Python<'_>, cart: &str, sku: &str) -> Res<()> {
        py.detach(|| self.inner.cart_remove(cart, sku)).map_err(to_py_err)
    }

    /// The cart's lines with a positive quantity: `[(sku, quantity), …]` by SKU.
    fn cart_lines(&self, py: Python<'_>, cart: &str) -> Res<Vec<(String, i64)>> {
        py.detach(|| self.inner.cart_lines(cart)).map_err(to_py_err)
    }

    // ---- customers ----

    /// Adds or replaces a customer (values `None`, `int`, `str` or `bytes`); a deleted one comes back.
    fn upsert_customer(&self, py: Python<'_>, id: &str, fields: &Bound<'_, PyDict>) -> Res<()> {
        let mut owned: Vec<(String, Value)> = Vec::with_capacity(fields.len());
        for (k, v) in fields.iter() {
            let k: String = k.extract().map_err(|_| PyTypeError::new_err("customer field names are str"))?;
            let v = value(&v, &k)?;
            owned.push((k, v));
        }
        py.detach(|| {
            let borrowed: Vec<(&str, Value)> = owned.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            self.inner.upsert_customer(id, &borrowed)
        })
        .map_err(to_py_err)
    }

    /// Changes one field of an existing customer; False if there is none.
    fn update_customer(&self, py: Python<'_>, id: &str, field: &str, value: &Bound<'_, PyAny>) -> Res<bool> {
        let v = self::value(value, field)?;
        py.detach(|| self.inner.update_customer(id, field, v)).map_err(to_py_err)
    }

    /// Deletes a customer; False if there was none.
    fn delete_customer(&self, py: Python<'_>, id: &str) -> Res<bool> {
        py.detach(|| self.inner.delete_customer(id)).map_err(to_py_err)
    }

    /// The customer's fields, or None.
    fn customer<'py>(&self, py: Python<'py>, id: &str) -> Res<Option<Bound<'py, PyDict>>> {
        let Some(fields) = py.detach(|| self.inner.customer(id)).map_err(to_py_err)? else { return Ok(None) };
        let d = PyDict::new(py);
        for (k, v) in &fields {
            d.set_item(k, to_py_value(py, v)?)?;
        }
        Ok(Some(d))
    }

    fn __repr__(&self) -> String {
        "Sync()".into()
    }
}

/// This device's LAN sync endpoint (`edge.sync.listen_lan`); a context manager.
#[pyclass(module = "aisle", frozen)]
pub(crate) struct LanServer {
    inner: Mutex<Option<aisle::transport::LanServer>>,
}

#[pymethods]
impl LanServer {
    /// `"host:port"` it listens on (the chosen port when started with port 0); None once stopped.
    #[getter]
    fn addr(&self) -> Option<String> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|s| s.addr().to_string())
    }

    /// Stops accepting peers (idempotent).
    fn stop(&self, py: Python<'_>) {
        let server = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = server {
            py.detach(|| s.stop());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, py: Python<'_>, _t: &Bound<'_, PyAny>, _v: &Bound<'_, PyAny>, _tb: &Bound<'_, PyAny>) {
        self.stop(py);
    }
}

/// A background thread keeping this replica in sync with hubs and peers
/// (`edge.sync.start_syncer`); a context manager.
#[pyclass(module = "aisle", frozen)]
pub(crate) struct Syncer {
    inner: Mutex<Option<aisle::transport::Syncer>>,
}

#[pymethods]
impl Syncer {
    /// Per peer: `{"peer", "rounds", "failures", "last_round", "last_error"}`.
    fn status<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        let s = self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|s| s.status()).unwrap_or_default();
        decode(py, &serde_json::Value::from(s.iter().map(status_json).collect::<Vec<_>>()).to_string())
    }

    /// Runs a round with every peer now (e.g. after a write that should travel at once).
    fn sync_now(&self) {
        if let Some(s) = self.inner.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            s.sync_now();
        }
    }

    /// Stops after the round in progress (idempotent).
    fn stop(&self, py: Python<'_>) {
        let syncer = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = syncer {
            py.detach(|| s.stop());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, py: Python<'_>, _t: &Bound<'_, PyAny>, _v: &Bound<'_, PyAny>, _tb: &Bound<'_, PyAny>) {
        self.stop(py);
    }
}
