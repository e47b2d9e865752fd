//! The shared pricing test vectors (`tests/vectors/commerce/*.json`), run against the Rust core.
//!
//! Python, Node and Kotlin run the same files with the same matcher (`tests/vectors/README.md`
//! describes the format and the matching rules), so the four languages cannot disagree by a cent.
//! Every expected number in a vector was computed by hand from the documented rules; the
//! arithmetic is in its `description`.
//!
//! Also checks that the published schemas (`docs/schemas/pricing-request.schema.json`,
//! `docs/schemas/promotion.schema.json`) describe every request the vectors send, so the schemas
//! cannot silently lag the format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every vector file in `tests/vectors/commerce`, sorted by file name, parsed.
fn load_vectors() -> Vec<(String, Value)> {
    load_folder("commerce")
}

/// Every `*.json` file in `tests/vectors/<folder>`, sorted by file name, parsed.
fn load_folder(folder: &str) -> Vec<(String, Value)> {
    let dir = repo_root().join("tests/vectors").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
            let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
            (file, value)
        })
        .collect()
}

// ---- the matcher (port this to every language) -------------------------------------------------

/// `None` if `actual` matches `expected`, else the JSON path of the first difference and why.
/// Objects: every expected key must be present with a matching value (other keys are ignored).
/// Arrays: same length, element-wise match. Anything else: equal.
fn first_mismatch(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().find_map(|(k, ev)| match a.get(k) {
            None => Some(format!("{path}.{k}: missing (expected {ev})")),
            Some(av) => first_mismatch(ev, av, &format!("{path}.{k}")),
        }),
        (Value::Array(e), Value::Array(a)) if e.len() != a.len() => {
            Some(format!("{path}: expected {} elements, got {}: {actual}", e.len(), a.len()))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.iter().zip(a).enumerate().find_map(|(i, (ev, av))| first_mismatch(ev, av, &format!("{path}[{i}]")))
        }
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// Runs one vector; `Err` says what went wrong.
fn run_vector(v: &Value) -> Result<(), String> {
    let request = v.get("request").ok_or("no \"request\"")?;
    let result = aisle::commerce::pricing::price_json(&request.to_string());
    match (v.get("expect"), v.get("error"), result) {
        (Some(expect), None, Ok(json)) => {
            let actual: Value = serde_json::from_str(&json).map_err(|e| format!("price_json returned bad JSON: {e}"))?;
            first_mismatch(expect, &actual, "$").map_or(Ok(()), Err)
        }
        (Some(_), None, Err(e)) => Err(format!("expected a result, got the error {e}")),
        (None, Some(error), Ok(_)) => Err(format!("expected the error {error}, got a result")),
        (None, Some(error), Err(e)) => {
            let code = error.get("code").and_then(Value::as_str).ok_or("error without \"code\"")?;
            if e.code() != code {
                return Err(format!("$error.code: expected {code}, got {} ({e})", e.code()));
            }
            match error.get("message_contains").and_then(Value::as_str) {
                Some(part) if !e.to_string().contains(part) => {
                    Err(format!("$error.message: expected it to contain {part:?}, got {:?}", e.to_string()))
                }
                _ => Ok(()),
            }
        }
        _ => Err("a vector needs exactly one of \"expect\" and \"error\"".into()),
    }
}

#[test]
fn every_vector_prices_as_computed_by_hand() {
    let vectors = load_vectors();
    let mut failures = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (file, v) in &vectors {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
        if name.is_empty() || v.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
            failures.push(format!("{file}: needs a \"name\" and a \"description\""));
            continue;
        }
        if format!("{name}.json") != *file {
            failures.push(format!("{file}: the file should be named after the vector, {name}.json"));
        }
        if let Some(other) = names.insert(name.clone(), file.clone()) {
            failures.push(format!("{file}: name {name:?} also used by {other}"));
        }
        if let Err(why) = run_vector(v) {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors failed:\n  {}", failures.len(), vectors.len(), failures.join("\n  "));
    assert!(vectors.len() >= 40, "only {} vectors ran; expected at least 40", vectors.len());
}

#[test]
fn the_matcher_follows_the_documented_rules() {
    let j = |s: &str| -> Value { serde_json::from_str(s).unwrap() };
    let actual = j(r#"{"a":{"minor":5,"currency":"EUR"},"b":[1,{"c":2,"d":3}],"e":"x"}"#);
    assert_eq!(first_mismatch(&j(r#"{}"#), &actual, "$"), None);
    assert_eq!(first_mismatch(&j(r#"{"b":[1,{"d":3}]}"#), &actual, "$"), None);
    assert_eq!(first_mismatch(&j(r#"{"a":{"minor":6}}"#), &actual, "$"), Some("$.a.minor: expected 6, got 5".into()));
    assert_eq!(first_mismatch(&j(r#"{"b":[1]}"#), &actual, "$").map(|m| m[..28].to_owned()), Some("$.b: expected 1 elements, go".into()));
    assert_eq!(first_mismatch(&j(r#"{"b":[1,{"z":1}]}"#), &actual, "$"), Some("$.b[1].z: missing (expected 1)".into()));
    assert_eq!(first_mismatch(&j(r#"{"e":1}"#), &actual, "$"), Some("$.e: expected 1, got \"x\"".into()));
}

// ---- the schemas keep up with the format -------------------------------------------------------

/// The schema documents of `docs/schemas`, by file name.
struct Schemas(BTreeMap<String, Value>);

impl Schemas {
    fn load() -> Schemas {
        let dir = repo_root().join("docs/schemas");
        let mut docs = BTreeMap::new();
        for name in ["pricing-request.schema.json", "promotion.schema.json", "tax-regime.schema.json", "tender-policy.schema.json"] {
            let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            docs.insert(name.to_owned(), serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}")));
        }
        Schemas(docs)
    }

    /// Resolves `"file.json"`, `"#/$defs/x"` or `"file.json#/$defs/x"` from document `doc`.
    fn resolve<'a>(&'a self, doc: &'a str, reference: &str) -> (&'a str, &'a Value) {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let (name, root) = if file.is_empty() {
            self.0.get_key_value(doc).expect("current schema")
        } else {
            self.0.get_key_value(file).unwrap_or_else(|| panic!("{doc}: $ref to unknown schema {file}"))
        };
        let node = root.pointer(pointer).unwrap_or_else(|| panic!("{doc}: $ref {reference} does not resolve"));
        (name.as_str(), node)
    }

    /// The problems with `value` (at `path`) against `schema` (in document `doc`). A subset of
    /// JSON Schema 2020-12: $ref, type, const, enum, required, properties,
    /// additionalProperties: false, items, oneOf/anyOf, minimum, minLength, minItems. Patterns
    /// are not checked (the engine's own validation is the reference).
    fn check(&self, doc: &str, schema: &Value, value: &Value, path: &str) -> Vec<String> {
        let mut errs = Vec::new();
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let (d, s) = self.resolve(doc, r);
            errs.extend(self.check(d, s, value, path));
        }
        if let Some(t) = schema.get("type") {
            let types: Vec<&str> = match t {
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                other => other.as_str().into_iter().collect(),
            };
            let is = |t: &str| match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "null" => value.is_null(),
                _ => false,
            };
            if !types.iter().any(|t| is(t)) {
                return vec![format!("{path}: {value} is not of type {t}")];
            }
        }
        if let Some(c) = schema.get("const") {
            if c != value {
                errs.push(format!("{path}: expected {c}, got {value}"));
            }
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            if !e.contains(value) {
                errs.push(format!("{path}: {value} is not one of {}", Value::Array(e.clone())));
            }
        }
        if let (Some(min), Some(v)) = (schema.get("minimum").and_then(Value::as_i64), value.as_i64()) {
            if v < min {
                errs.push(format!("{path}: {v} is below the minimum {min}"));
            }
        }
        if let (Some(min), Some(s)) = (schema.get("minLength").and_then(Value::as_u64), value.as_str()) {
            if (s.chars().count() as u64) < min {
                errs.push(format!("{path}: shorter than {min}"));
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                let results: Vec<Vec<String>> = branches.iter().map(|b| self.check(doc, b, value, path)).collect();
                let passing = results.iter().filter(|r| r.is_empty()).count();
                if passing == 0 || (key == "oneOf" && passing > 1) {
                    // Report the branch that got furthest (fewest problems).
                    let best = results.iter().min_by_key(|r| r.len()).cloned().unwrap_or_default();
                    errs.push(format!("{path}: matches {passing} branches of {key}; closest: {}", best.join("; ")));
                }
            }
        }
        if let Some(obj) = value.as_object() {
            let props = schema.get("properties").and_then(Value::as_object);
            for req in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !obj.contains_key(req) {
                    errs.push(format!("{path}.{req}: required by the schema but missing"));
                }
            }
            for (k, v) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => errs.extend(self.check(doc, s, v, &format!("{path}.{k}"))),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errs.push(format!("{path}.{k}: not in the schema"));
                    }
                    None => {}
                }
            }
        }
        if let Some(items) = value.as_array() {
            if let (Some(min), len) = (schema.get("minItems").and_then(Value::as_u64), items.len() as u64) {
                if len < min {
                    errs.push(format!("{path}: fewer than {min} items"));
                }
            }
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    errs.extend(self.check(doc, s, v, &format!("{path}[{i}]")));
                }
            }
        }
        errs
    }
}

/// Every rule type the promotion schema defines (`$defs/*/properties/type/const`).
fn schema_rule_types(promotion_schema: &Value) -> Vec<String> {
    promotion_schema["$defs"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, d)| d.pointer("/properties/type/const").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Every property name declared anywhere in `schema`.
fn schema_property_names(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            map.values().for_each(|v| schema_property_names(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| schema_property_names(v, out)),
        _ => {}
    }
}

/// Every object key used in `value`, with its path.
fn keys_used(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push((format!("{path}.{k}"), k.clone()));
                keys_used(v, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| keys_used(v, &format!("{path}[{i}]"), out)),
        _ => {}
    }
}

#[test]
fn the_schemas_describe_every_request_the_vectors_send() {
    let schemas = Schemas::load();
    let promo_schema = &schemas.0["promotion.schema.json"];
    let rule_types = schema_rule_types(promo_schema);
    let mut promo_fields = Vec::new();
    schema_property_names(promo_schema, &mut promo_fields);
    assert!(rule_types.len() >= 8, "promotion.schema.json defines only the rule types {rule_types:?}");

    let mut problems = Vec::new();
    let mut used_types = std::collections::BTreeSet::new();
    // Requests meant to fail may break the schema on purpose; every other one must follow it.
    for (_, v) in load_vectors().iter().filter(|(_, v)| v.get("expect").is_some()) {
        let name = v["name"].as_str().unwrap_or("?");
        let request = &v["request"];
        let promos = request.get("promotions").cloned().unwrap_or(Value::Array(vec![]));
        for (i, p) in promos.as_array().into_iter().flatten().enumerate() {
            let ty = p.pointer("/rule/type").and_then(Value::as_str).unwrap_or("");
            used_types.insert(ty.to_owned());
            if !rule_types.iter().any(|t| t == ty) {
                problems.push(format!("{name}: promotions[{i}].rule.type {ty:?} has no $defs entry in promotion.schema.json"));
            }
        }
        let mut keys = Vec::new();
        keys_used(&promos, "promotions", &mut keys);
        for (path, key) in keys {
            if !promo_fields.contains(&key) {
                problems.push(format!("{name}: {path}: field {key:?} does not appear in promotion.schema.json"));
            }
        }
        let doc = "pricing-request.schema.json";
        for p in schemas.check(doc, &schemas.0[doc], request, "request") {
            problems.push(format!("{name}: {p}"));
        }
    }
    // The vectors exercise every rule type the schema documents (and the schema every type used).
    for t in &rule_types {
        if !used_types.contains(t) {
            problems.push(format!("rule type {t:?} is in the schema but no vector uses it"));
        }
    }
    assert!(problems.is_empty(), "{} schema problems:\n  {}", problems.len(), problems.join("\n  "));
}


#[test]
fn the_schema_check_is_not_vacuous() {
    let schemas = Schemas::load();
    let doc = "pricing-request.schema.json";
    let check = |request: Value| schemas.check(doc, &schemas.0[doc], &request, "request");
    let good = serde_json::json!({
        "currency": "EUR", "at": "2026-11-27T16:30:00Z",
        "tax_regime": {"id": "x", "prices_include_tax": false, "rounding": {"mode": "half_up", "level": "line"}, "rates": []},
        "lines": [{"sku": "A", "quantity": 1, "unit_price": "1.00", "tax_category": "none"}],
        "promotions": [{"id": "P", "rule": {"type": "bundle", "groups": [{"target": {"all": true}, "quantity": 2}], "price": "1.00"}}]
    });
    assert_eq!(check(good.clone()), Vec::<String>::new());
    let broken = |what: &str, patch: &dyn Fn(&mut Value)| {
        let mut r = good.clone();
        patch(&mut r);
        assert!(!check(r).is_empty(), "{what} passed the schema check");
    };
    broken("a quantity as a string", &|r| r["lines"][0]["quantity"] = serde_json::json!("1"));
    broken("quantity and grams", &|r| r["lines"][0]["grams"] = serde_json::json!(5));
    broken("a bundle with price and percent", &|r| r["promotions"][0]["rule"]["percent"] = serde_json::json!(10));
    broken("an unknown rule type", &|r| r["promotions"][0]["rule"]["type"] = serde_json::json!("bogo"));
    broken("an unknown rule field", &|r| r["promotions"][0]["rule"]["max_aplications"] = serde_json::json!(1));
    broken("an empty target", &|r| r["promotions"][0]["rule"]["groups"][0]["target"] = serde_json::json!({}));
    broken("a group of 0", &|r| r["promotions"][0]["rule"]["groups"][0]["quantity"] = serde_json::json!(0));
    broken("an unknown tax level", &|r| r["tax_regime"]["rounding"]["level"] = serde_json::json!("order"));
    broken("an unknown mode", &|r| r["mode"] = serde_json::json!("cheapest"));
    broken("an unknown request field", &|r| r["coupon"] = serde_json::json!("X"));
    broken("a missing currency", &|r| {
        r.as_object_mut().map(|o| o.remove("currency"));
    });
}
