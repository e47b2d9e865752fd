//! Commerce documents between JS and the core: plain JS objects in, plain JS objects out.
//!
//! A document is the core's JSON form of a value (a tender, a customer, a priced cart, a sale,
//! a receipt, store settings): snake_case keys, amounts as `{"minor", "currency"}`, percents
//! as decimal text. Node gets exactly that shape, so `price()` returns the same object as
//! `JSON.parse(priceJson(...))`, and the schemas in `docs/schemas/` describe both.
//!
//! In: [`to_json`] writes a JS value as JSON text, keys in order, like JSON.stringify but
//! without its silent losses (a `Money` becomes `{minor, currency}` exactly, a `bigint` an
//! exact integer; an unsafe integer, NaN or a function is refused). The text goes to the
//! core's JSON entry points, or [`decode`] reads it with the core's own serde types. Every
//! conversion error is `INVALID_ARGUMENT` naming the path (`tenders[0].card.last4`) — or
//! `CARD_NUMBER_REFUSED` if the text of the error would contain a card number.
//! Out: [`Document`] holds the core's JSON text, checked so that every integer in it is a safe
//! JS integer (else `INVALID_ARGUMENT`), and is handed to JS through `JSON.parse`, which keeps
//! the core's key order.

use napi::bindgen_prelude::{
    Array, BigInt, FromNapiValue, Function, JsObjectValue, Object, ToNapiValue, TypeName, Unknown, ValidateNapiValue,
};
use napi::{Env, JSON, JsValue, ValueType, sys};
use serde_json::{Number, Value};

use crate::error::{Code, from_napi, invalid_argument, to_napi_err};
use crate::money::Money;
use crate::number::{MAX_SAFE_INTEGER, bigint_to_i64, js_number};

/// Deeper than any document the core reads; a cycle in a JS object ends here.
const MAX_DEPTH: usize = 64;

/// The error for a JS value that cannot become the core value at `path`. Conversion errors
/// (ours and serde's) may quote the value: one that holds a card number is refused as such,
/// with the core's own error, which never echoes more than the last four digits.
fn conversion_error(path: &str, reason: &str) -> napi::Error<Code> {
    use aisle::commerce::card_guard::{check_free_text, contains_card_number};
    let message = format!("{path}: {reason}");
    // A card number used as an object key is in the path itself: name only the argument.
    let field = if contains_card_number(path) { path.split(['.', '[']).next().unwrap_or_default() } else { path };
    if let Err(card) = check_free_text(field, &message) {
        return to_napi_err(card);
    }
    invalid_argument(message)
}

/// Reads a JS value as JSON text, keys in the object's own order (as JSON.stringify writes
/// them). `path` names the value in errors (e.g. `"tenders"`).
pub fn to_json(value: Unknown<'_>, path: &str) -> napi::Result<String, Code> {
    let mut out = String::new();
    write(value, path, 0, &mut out)?;
    Ok(out)
}

fn write(value: Unknown<'_>, path: &str, depth: usize, out: &mut String) -> napi::Result<(), Code> {
    if depth > MAX_DEPTH {
        // The path of a cycle is as long as the limit: name where it starts.
        let root = path.split(['.', '[']).next().unwrap_or(path);
        return Err(conversion_error(root, &format!("nested deeper than {MAX_DEPTH} levels (is it a cycle?)")));
    }
    let env = value.value().env;
    let raw = value.raw();
    // Safety: each cast below matches the type napi just reported.
    unsafe {
        match value.get_type().map_err(from_napi)? {
            ValueType::Null | ValueType::Undefined => out.push_str("null"),
            ValueType::Boolean => out.push_str(if value.cast::<bool>().map_err(from_napi)? { "true" } else { "false" }),
            ValueType::String => write_string(&value.cast::<String>().map_err(from_napi)?, out),
            ValueType::Number => write_number(value.cast::<f64>().map_err(from_napi)?, path, out)?,
            ValueType::BigInt => {
                let big = value.cast::<BigInt>().map_err(from_napi)?;
                let n = bigint_to_i64(&big).ok_or_else(|| conversion_error(path, "the bigint does not fit in 64 bits"))?;
                out.push_str(&n.to_string());
            }
            ValueType::Object => {
                if <&Money as ValidateNapiValue>::validate(env, raw).is_ok() {
                    let money = Money::from_napi_value(env, raw).map_err(from_napi)?.inner;
                    out.push_str(&format!(r#"{{"minor":{},"currency":"{}"}}"#, money.minor(), money.currency().code()));
                    return Ok(());
                }
                let mut is_array = false;
                if sys::napi_is_array(env, raw, &mut is_array) != sys::Status::napi_ok {
                    return Err(conversion_error(path, "cannot tell whether it is an array"));
                }
                if is_array {
                    let array = Array::from_napi_value(env, raw).map_err(from_napi)?;
                    out.push('[');
                    for i in 0..array.len() {
                        if i > 0 {
                            out.push(',');
                        }
                        match array.get::<Unknown>(i).map_err(from_napi)? {
                            Some(item) => write(item, &format!("{path}[{i}]"), depth + 1, out)?,
                            None => out.push_str("null"),
                        }
                    }
                    out.push(']');
                } else {
                    let object = Object::from_napi_value(env, raw).map_err(from_napi)?;
                    out.push('{');
                    let mut first = true;
                    for key in own_keys(env, raw)? {
                        // A property set to `undefined` is absent, as in JSON.stringify.
                        let Some(field) = object.get::<Unknown>(&key).map_err(from_napi)? else { continue };
                        if field.get_type().map_err(from_napi)? == ValueType::Undefined {
                            continue;
                        }
                        if !first {
                            out.push(',');
                        }
                        first = false;
                        write_string(&key, out);
                        out.push(':');
                        write(field, &format!("{path}.{key}"), depth + 1, out)?;
                    }
                    out.push('}');
                }
            }
            other => return Err(conversion_error(path, &format!("a {} is not data", other.to_string().to_lowercase()))),
        }
    }
    Ok(())
}

/// The object's own enumerable string keys, in order: the keys JSON.stringify writes.
unsafe fn own_keys(env: sys::napi_env, object: sys::napi_value) -> napi::Result<Vec<String>, Code> {
    let mut names = std::ptr::null_mut();
    let status = unsafe {
        sys::napi_get_all_property_names(
            env,
            object,
            sys::KeyCollectionMode::own_only,
            sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
            sys::KeyConversion::numbers_to_strings,
            &mut names,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(from_napi(napi::Error::new(napi::Status::from(status), "cannot list the keys of an object")));
    }
    let names = unsafe { Array::from_napi_value(env, names) }.map_err(from_napi)?;
    (0..names.len()).map(|i| names.get_element::<String>(i).map_err(from_napi)).collect()
}

fn write_string(text: &str, out: &mut String) {
    // Serializing a str cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// A JS number as JSON: a safe integer exactly; a fraction as a JSON float, for the core to
/// refuse with its own error where it takes no floats (amounts, percents, counts); an integer
/// beyond 2^53, NaN or ±Infinity refused, as they may not be what the caller wrote.
fn write_number(n: f64, path: &str, out: &mut String) -> napi::Result<(), Code> {
    if !n.is_finite() {
        return Err(conversion_error(path, &format!("{} is not a number JSON can carry", js_number(n))));
    }
    if n.fract() == 0.0 {
        if n.abs() > MAX_SAFE_INTEGER as f64 {
            let reason = format!(
                "{} is beyond Number.MAX_SAFE_INTEGER, so it may not be the number you wrote; pass a bigint",
                js_number(n)
            );
            return Err(conversion_error(path, &reason));
        }
        // Exact: |n| ≤ 2^53 − 1.
        out.push_str(&(n as i64).to_string());
    } else {
        let number = Number::from_f64(n).ok_or_else(|| conversion_error(path, "not a JSON number"))?;
        out.push_str(&number.to_string());
    }
    Ok(())
}

/// Turns JSON text into a core value with the core's serde rules; errors name the path under
/// `what`.
pub fn decode<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> napi::Result<T, Code> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.path().to_string();
        let path = match inner.as_str() {
            "." => what.to_owned(),
            p if p.starts_with('[') => format!("{what}{p}"),
            p => format!("{what}.{p}"),
        };
        conversion_error(&path, &strip_position(&e.inner().to_string()))
    })
}

/// serde_json ends its messages with the position in the text, which here is our own
/// rendering of a JS value, not anything the caller wrote.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}

/// Reads a JS value as the core value `T` (see [`to_json`] and [`decode`]).
pub fn from_js<T: serde::de::DeserializeOwned>(value: Unknown<'_>, what: &str) -> napi::Result<T, Code> {
    decode(&to_json(value, what)?, what)
}

/// A core value on its way to JS as a plain object (see the module docs).
pub struct Document(String);

impl Document {
    /// The core's JSON text of `what` (e.g. `"the sale"`, for errors).
    pub fn from_text(text: String, what: &str) -> napi::Result<Document, Code> {
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| invalid_argument(format!("{what} is not valid JSON: {e}")))?;
        check_safe(&value, what, &mut String::new())?;
        Ok(Document(text))
    }

    /// Serializes a core value.
    pub fn of<T: serde::Serialize>(value: &T, what: &str) -> napi::Result<Document, Code> {
        let text = serde_json::to_string(value).map_err(|e| invalid_argument(format!("cannot encode {what}: {e}")))?;
        Document::from_text(text, what)
    }
}

/// Every integer must be a safe JS integer: a `number` cannot hold the others exactly.
fn check_safe(value: &Value, what: &str, path: &mut String) -> napi::Result<(), Code> {
    match value {
        Value::Number(n) => {
            let safe = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i.unsigned_abs() <= MAX_SAFE_INTEGER.unsigned_abs(),
                (None, Some(_)) => false,
                (None, None) => true, // a float: JS reads it as JSON does
            };
            if !safe {
                let at = if path.is_empty() { "$" } else { path.as_str() };
                return Err(invalid_argument(format!(
                    "{what} at {at}: {n} is beyond Number.MAX_SAFE_INTEGER, so a JS number cannot hold it exactly"
                )));
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_safe(item, what, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                check_safe(item, what, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

impl TypeName for Document {
    fn type_name() -> &'static str {
        "Object"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Document {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from(env);
        let json: JSON = env.get_global()?.get_named_property_unchecked("JSON")?;
        let parse: Function<String, Unknown> = json.get_named_property_unchecked("parse")?;
        Ok(parse.call(val.0)?.raw())
    }
}
