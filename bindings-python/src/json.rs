//! Python values ⇄ the core's JSON: how dict and list inputs reach the core's serde types, and
//! how the core's records come back as plain dicts.
//!
//! Conversion only, no rules. An input becomes a `serde_json::Value` exactly as given — floats
//! too, so the core refuses a float amount or percentage with its own typed error — and an
//! `aisle.Money` becomes the core's JSON form `{"minor", "currency"}`. Results are the core's
//! JSON, parsed by Python's `json.loads` so the keys keep the core's field order.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

use crate::{Money, to_py_err};

/// `obj` as JSON. `at` names it in error messages (`tenders[1].amount`).
fn convert(obj: &Bound<'_, PyAny>, at: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // Before int: a bool is an int in Python.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyOverflowError::new_err(format!("{at}: integer does not fit in 64 bits")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        // Passed on as it is: the core's decoders refuse a float amount or percentage with
        // their own typed error, the same in every language.
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| to_py_err(aisle::Error::InvalidArgument(format!("{at}: {} is not a finite number", f.value()))));
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(Value::String(obj.extract::<String>()?));
    }
    if let Ok(m) = obj.cast::<Money>() {
        // The core's own JSON form of an amount.
        return serde_json::to_value(m.get().0)
            .map_err(|e| to_py_err(aisle::Error::InvalidArgument(format!("{at}: cannot encode {}: {e}", m.get().0))));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return object(d.iter(), at);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(convert(&item?, &format!("{at}[{i}]"))?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(m) = obj.cast::<PyMapping>() {
        let pairs = m
            .items()?
            .iter()
            .map(|pair| pair.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>())
            .collect::<PyResult<Vec<_>>>()?;
        return object(pairs.into_iter(), at);
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    Err(PyTypeError::new_err(format!(
        "{at}: cannot pass a {type_name} to Aisle; use str, int, bool, None, dict, list or aisle.Money \
         (amounts and percentages as decimal strings)"
    )))
}

fn object<'py>(
    pairs: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    at: &str,
) -> PyResult<Value> {
    let mut map = Map::new();
    for (key, value) in pairs {
        if !key.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(format!("{at}: keys must be str, got {}", key.get_type().name()?)));
        }
        let key: String = key.extract()?;
        let value = convert(&value, &format!("{at}.{key}"))?;
        map.insert(key, value);
    }
    Ok(Value::Object(map))
}

/// `obj` as a JSON document (for the core's `*_json` entry points, whose errors name paths).
pub(crate) fn to_json_text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    Ok(convert(obj, what)?.to_string())
}

/// `obj` as one of the core's serde types. A mismatch is `INVALID_ARGUMENT` naming the path,
/// e.g. `tenders[1].card.last4: invalid type: integer …`.
pub(crate) fn from_py<T: DeserializeOwned>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let value = convert(obj, what)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = match path.as_str() {
            "." | "" => what.to_owned(),
            p if p.starts_with('[') => format!("{what}{p}"),
            p => format!("{what}.{p}"),
        };
        to_py_err(conversion_error(&at, format!("{at}: {}", e.inner())))
    })
}

/// serde's messages quote the input. If the quote holds a card number, the core's card guard
/// refuses it (naming only its last four digits) so the number never reaches an exception.
fn conversion_error(at: &str, message: String) -> aisle::Error {
    match aisle::commerce::card_guard::check_free_text(at, &message) {
        Err(refused) => refused,
        Ok(()) => aisle::Error::InvalidArgument(message),
    }
}

/// A core record as JSON text (run without the GIL, next to the core call).
pub(crate) fn encode<T: Serialize>(value: &T) -> aisle::Result<String> {
    serde_json::to_string(value).map_err(|e| aisle::Error::InvalidArgument(format!("cannot encode the result: {e}")))
}

static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The core's JSON as plain Python values (`dict`, `list`, `str`, `int`, `bool`, `None`).
pub(crate) fn decode<'py>(py: Python<'py>, json: &str) -> PyResult<Bound<'py, PyAny>> {
    LOADS.import(py, "json", "loads")?.call1((json,))
}
