//! Tax regimes: the published JSON format, its decoding with JSON-path errors, and validation.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::money::{Percent, RoundingMode};

/// The tax rules of one jurisdiction (or one store's tax registration): which rates apply to
/// which tax categories, whether shelf prices include them, and how tax is rounded.
///
/// Authored as JSON (schema: `docs/schemas/tax-regime.schema.json`) and read with
/// [`TaxRegime::from_json`], which validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxRegime {
    /// Stable id of the regime, e.g. `"gb-vat-2024"`, `"us-ny-nyc"`.
    pub id: String,
    /// `true`: shelf prices are gross, tax is extracted from them (VAT, GST). `false`: prices
    /// are net and tax is added at the till (US sales tax).
    pub prices_include_tax: bool,
    pub rounding: TaxRounding,
    /// Every rate, in the order they apply: compound rates apply to the base plus the taxes of
    /// the rates listed before them (on the same line).
    pub rates: Vec<TaxRate>,
    /// Categories that are outside the tax (not zero-rated: they appear under no rate).
    #[serde(default)]
    pub exempt_categories: Vec<String>,
}

/// How and where tax is rounded to the currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxRounding {
    pub mode: RoundingMode,
    pub level: TaxRoundingLevel,
    /// For tax-inclusive prices: whether the tax (and the net is what is left) or the net (and
    /// the tax is what is left) is the rounded amount. Ignored for tax-exclusive prices.
    #[serde(default)]
    pub inclusive_target: InclusiveTarget,
}

/// Where tax is rounded: on each unit, on each line, or once per rate for the whole order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxRoundingLevel {
    Unit,
    Line,
    Total,
}

/// For tax-inclusive prices, the amount that is rounded (the other one is the rest of the gross).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InclusiveTarget {
    /// tax = round(gross × r / (1 + r)), net = gross − tax.
    #[default]
    Tax,
    /// net = round(gross / (1 + r)), tax = gross − net.
    Net,
}

/// One tax rate: a percentage applied to the lines of some tax categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxRate {
    /// Stable id, unique in the regime, e.g. `"vat-standard"`, `"ny-state"`.
    pub id: String,
    /// What the receipt prints, e.g. `"VAT 20%"`.
    pub name: String,
    /// Tax categories (of products) this rate applies to.
    pub categories: Vec<String>,
    /// 0 to 100; 0 is zero-rated (listed on the receipt with its base and no tax).
    pub percent: Percent,
    /// Applies to the base plus the taxes of the rates before it on the line.
    #[serde(default)]
    pub compound: bool,
}

impl TaxRate {
    pub fn new(id: &str, name: &str, categories: &[&str], percent: Percent) -> TaxRate {
        TaxRate {
            id: id.to_owned(),
            name: name.to_owned(),
            categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            percent,
            compound: false,
        }
    }

    /// The same rate, compounding on the rates listed before it.
    pub fn compounding(mut self) -> TaxRate {
        self.compound = true;
        self
    }
}

fn invalid(path: &str, reason: impl Into<String>) -> Error {
    Error::InvalidTaxRegime { path: path.to_owned(), reason: reason.into() }
}

const TOP_FIELDS: &[&str] = &["id", "prices_include_tax", "rounding", "rates", "exempt_categories"];
const TOP_REQUIRED: &[&str] = &["id", "prices_include_tax", "rounding", "rates"];
const ROUNDING_FIELDS: &[&str] = &["mode", "level", "inclusive_target"];
const ROUNDING_REQUIRED: &[&str] = &["mode", "level"];
const RATE_FIELDS: &[&str] = &["id", "name", "categories", "percent", "compound"];
const RATE_REQUIRED: &[&str] = &["id", "name", "categories", "percent"];

impl TaxRegime {
    /// Reads and validates a regime from its JSON text. Any problem is `INVALID_TAX_REGIME`
    /// naming the JSON path (`$.rates[2].percent`) and what is wrong there.
    pub fn from_json(text: &str) -> Result<TaxRegime> {
        (|| -> Result<TaxRegime> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| invalid("$", format!("not valid JSON: {e}")))?;
        TaxRegime::from_value(&value)
    })().map_err(|e| crate::commerce::card_guard::scrub("tax regime", e))
    }

    /// Like [`TaxRegime::from_json`], from an already parsed JSON value. A top-level
    /// `"$schema"` string (for editors) is accepted and ignored.
    pub fn from_value(value: &Value) -> Result<TaxRegime> {
        let mut value = value.clone();
        if let Some(map) = value.as_object_mut() {
            match map.remove("$schema") {
                None | Some(Value::String(_)) => {}
                Some(_) => return Err(invalid("$.$schema", "must be a string")),
            }
        }
        let value = &value;
        let regime = match TaxRegime::deserialize(value) {
            Ok(regime) => regime,
            // serde says what is wrong but not where; walk the value to name the path.
            Err(e) => return Err(locate(value).err().unwrap_or_else(|| invalid("$", e.to_string()))),
        };
        regime.validate()?;
        Ok(regime)
    }

    /// Checks what the JSON shape cannot: non-empty ids and names, unique rate ids, percentages
    /// of at most 100, no category both exempt and taxed. Errors are `INVALID_TAX_REGIME`.
    pub fn validate(&self) -> Result<()> {
        self.index().map(|_| ())
    }

    /// Validates and builds the lookup the engine uses.
    pub(super) fn index(&self) -> Result<RegimeIndex<'_>> {
        if self.id.trim().is_empty() {
            return Err(invalid("$.id", "the regime id must not be empty"));
        }
        let mut rate_ids: HashMap<&str, usize> = HashMap::new();
        let mut by_category: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, rate) in self.rates.iter().enumerate() {
            let at = |field: &str| format!("$.rates[{i}].{field}");
            if rate.id.trim().is_empty() {
                return Err(invalid(&at("id"), "a rate id must not be empty"));
            }
            if let Some(first) = rate_ids.insert(&rate.id, i) {
                return Err(invalid(
                    &at("id"),
                    format!("duplicate rate id {:?} (also $.rates[{first}].id)", rate.id),
                ));
            }
            if rate.name.trim().is_empty() {
                return Err(invalid(&at("name"), format!("rate {:?} needs a name for the receipt", rate.id)));
            }
            if rate.categories.is_empty() {
                return Err(invalid(&at("categories"), format!("rate {:?} applies to no category", rate.id)));
            }
            let (n, d) = rate.percent.fraction();
            if n > d {
                return Err(invalid(
                    &at("percent"),
                    format!("rate {:?} is {}%, more than 100%", rate.id, rate.percent),
                ));
            }
            let mut seen = HashSet::new();
            for (k, category) in rate.categories.iter().enumerate() {
                if category.trim().is_empty() {
                    return Err(invalid(
                        &at(&format!("categories[{k}]")),
                        "a tax category must not be empty",
                    ));
                }
                if !seen.insert(category.as_str()) {
                    return Err(invalid(
                        &at(&format!("categories[{k}]")),
                        format!("category {category:?} is listed twice for rate {:?}", rate.id),
                    ));
                }
                by_category.entry(category).or_default().push(i);
            }
        }
        let mut exempt = HashSet::new();
        for (k, category) in self.exempt_categories.iter().enumerate() {
            let at = format!("$.exempt_categories[{k}]");
            if category.trim().is_empty() {
                return Err(invalid(&at, "a tax category must not be empty"));
            }
            if !exempt.insert(category.as_str()) {
                return Err(invalid(&at, format!("category {category:?} is listed twice")));
            }
            if let Some(rates) = by_category.get(category.as_str()) {
                let taxing = rates.first().map_or("", |&i| self.rates[i].id.as_str());
                return Err(invalid(
                    &at,
                    format!(
                        "category {category:?} is exempt but rate {taxing:?} taxes it; zero-rate it or exempt it, not both"
                    ),
                ));
            }
        }
        Ok(RegimeIndex { regime: self, by_category, exempt })
    }
}

/// A validated regime with its lookups: rate indices per category (in regime order).
pub(super) struct RegimeIndex<'a> {
    pub(super) regime: &'a TaxRegime,
    pub(super) by_category: HashMap<&'a str, Vec<usize>>,
    pub(super) exempt: HashSet<&'a str>,
}

// ---- locating a decoding error -----------------------------------------------------------------

/// Walks `value` with the shape of a regime and returns the first problem with its path. Used
/// only after serde refused the value, to say where; it accepts what serde accepts.
fn locate(value: &Value) -> Result<()> {
    let top = object(value, "$", TOP_FIELDS, TOP_REQUIRED)?;
    leaf::<String>(&top["id"], "$.id")?;
    leaf::<bool>(&top["prices_include_tax"], "$.prices_include_tax")?;
    let rounding = object(&top["rounding"], "$.rounding", ROUNDING_FIELDS, ROUNDING_REQUIRED)?;
    for field in ROUNDING_FIELDS {
        let path = format!("$.rounding.{field}");
        match (*field, rounding.get(*field)) {
            (_, None) => {}
            ("mode", Some(v)) => leaf::<RoundingMode>(v, &path)?,
            ("level", Some(v)) => leaf::<TaxRoundingLevel>(v, &path)?,
            (_, Some(v)) => leaf::<InclusiveTarget>(v, &path)?,
        }
    }
    let rates =
        top["rates"].as_array().ok_or_else(|| invalid("$.rates", expected("an array", &top["rates"])))?;
    for (i, rate) in rates.iter().enumerate() {
        let at = format!("$.rates[{i}]");
        let fields = object(rate, &at, RATE_FIELDS, RATE_REQUIRED)?;
        leaf::<String>(&fields["id"], &format!("{at}.id"))?;
        leaf::<String>(&fields["name"], &format!("{at}.name"))?;
        strings(&fields["categories"], &format!("{at}.categories"))?;
        percent(&fields["percent"], &format!("{at}.percent"))?;
        if let Some(v) = fields.get("compound") {
            leaf::<bool>(v, &format!("{at}.compound"))?;
        }
    }
    if let Some(v) = top.get("exempt_categories") {
        strings(v, "$.exempt_categories")?;
    }
    Ok(())
}

fn object<'v>(
    value: &'v Value,
    path: &str,
    known: &[&str],
    required: &[&str],
) -> Result<&'v Map<String, Value>> {
    let map = value.as_object().ok_or_else(|| invalid(path, expected("an object", value)))?;
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(invalid(
            &format!("{path}.{unknown}"),
            format!("unknown field; expected one of {}", known.join(", ")),
        ));
    }
    if let Some(missing) = required.iter().find(|k| !map.contains_key(**k)) {
        return Err(invalid(&format!("{path}.{missing}"), "missing required field"));
    }
    Ok(map)
}

fn leaf<T: DeserializeOwned>(value: &Value, path: &str) -> Result<()> {
    T::deserialize(value).map(|_| ()).map_err(|e| invalid(path, without_code(&e.to_string())))
}

fn strings(value: &Value, path: &str) -> Result<()> {
    let items = value.as_array().ok_or_else(|| invalid(path, expected("an array of strings", value)))?;
    for (k, item) in items.iter().enumerate() {
        if !item.is_string() {
            return Err(invalid(&format!("{path}[{k}]"), expected("a string", item)));
        }
    }
    Ok(())
}

fn percent(value: &Value, path: &str) -> Result<()> {
    match value {
        Value::String(text) => {
            Percent::parse(text).map(|_| ()).map_err(|e| invalid(path, without_code(&e.to_string())))
        }
        Value::Number(n) if n.is_u64() => Ok(()),
        Value::Number(n) => Err(invalid(
            path,
            format!(
                "{n} is not a whole non-negative number; write a percentage with decimals as a string (\"8.875\"), never a float"
            ),
        )),
        other => Err(invalid(path, expected("a percentage (\"8.875\" or 20)", other))),
    }
}

fn expected(what: &str, found: &Value) -> String {
    let kind = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("expected {what}, found {kind}")
}

/// Inner errors of `Percent`/`RoundingMode` start with their own code; the path says enough.
fn without_code(message: &str) -> String {
    message.strip_prefix("INVALID_ARGUMENT: ").unwrap_or(message).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UK: &str = r#"{
        "id": "gb-vat",
        "prices_include_tax": true,
        "rounding": { "mode": "half_up", "level": "line", "inclusive_target": "tax" },
        "rates": [
            { "id": "vat-standard", "name": "VAT 20%", "categories": ["standard"], "percent": 20 },
            { "id": "vat-reduced", "name": "VAT 5%", "categories": ["reduced"], "percent": "5" },
            { "id": "vat-zero", "name": "VAT 0%", "categories": ["zero"], "percent": "0" }
        ],
        "exempt_categories": ["stamps"]
    }"#;

    fn err_of(json: &str) -> String {
        let e = TaxRegime::from_json(json).unwrap_err();
        assert_eq!(e.code(), "INVALID_TAX_REGIME", "{e}");
        e.to_string()
    }

    fn with(patch: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(UK).unwrap();
        patch(&mut v);
        v.to_string()
    }

    #[test]
    fn reads_and_round_trips() {
        let regime = TaxRegime::from_json(UK).unwrap();
        assert_eq!(regime.rates.len(), 3);
        assert_eq!(regime.rates[0].percent, Percent::whole(20));
        assert!(!regime.rates[0].compound);
        assert_eq!(regime.rounding.level, TaxRoundingLevel::Line);
        let text = serde_json::to_string(&regime).unwrap();
        assert_eq!(TaxRegime::from_json(&text).unwrap(), regime);
        // Defaults: inclusive_target tax, no exempt categories, not compound.
        let minimal = r#"{"id":"x","prices_include_tax":false,"rounding":{"mode":"half_even","level":"total"},
            "rates":[{"id":"s","name":"State","categories":["general"],"percent":"4.5"}]}"#;
        let regime = TaxRegime::from_json(minimal).unwrap();
        assert_eq!(regime.rounding.inclusive_target, InclusiveTarget::Tax);
        assert!(regime.exempt_categories.is_empty());
        // "$schema" is for editors: accepted when a string.
        let with_schema = minimal.replacen('{', r#"{"$schema":"tax-regime.schema.json","#, 1);
        assert_eq!(TaxRegime::from_json(&with_schema).unwrap(), regime);
        let bad_schema = minimal.replacen('{', r#"{"$schema":1,"#, 1);
        assert!(err_of(&bad_schema).starts_with("INVALID_TAX_REGIME: $.$schema: must be a string"));
    }

    #[test]
    fn decoding_errors_name_the_path() {
        let cases: Vec<(String, &str)> = vec![
            ("{".into(), "$: not valid JSON"),
            ("[]".into(), "$: expected an object, found an array"),
            (
                with(|v| v["rates"][1]["percent"] = serde_json::json!(5.5)),
                "$.rates[1].percent: 5.5 is not a whole",
            ),
            (
                with(|v| v["rates"][1]["percent"] = serde_json::json!("5,5")),
                "$.rates[1].percent: \"5,5\" is not a valid percentage",
            ),
            (
                with(|v| v["rates"][2]["compund"] = serde_json::json!(true)),
                "$.rates[2].compund: unknown field",
            ),
            (
                with(|v| {
                    v["rates"][0].as_object_mut().unwrap().remove("name");
                }),
                "$.rates[0].name: missing required field",
            ),
            (
                with(|v| v["rounding"]["level"] = serde_json::json!("order")),
                "$.rounding.level: unknown variant `order`",
            ),
            (
                with(|v| v["rounding"]["mode"] = serde_json::json!("bankers")),
                "$.rounding.mode: unknown rounding mode \"bankers\"",
            ),
            (
                with(|v| v["prices_include_tax"] = serde_json::json!("yes")),
                "$.prices_include_tax: invalid type",
            ),
            (
                with(|v| v["exempt_categories"] = serde_json::json!(["a", 3])),
                "$.exempt_categories[1]: expected a string",
            ),
            (with(|v| v["rates"] = serde_json::json!({})), "$.rates: expected an array, found an object"),
            (
                with(|v| {
                    v.as_object_mut().unwrap().remove("prices_include_tax");
                }),
                "$.prices_include_tax: missing required field",
            ),
        ];
        for (json, want) in cases {
            let msg = err_of(&json);
            assert!(msg.starts_with(&format!("INVALID_TAX_REGIME: {want}")), "{msg}\n  wanted: {want}");
        }
    }

    #[test]
    fn validation_errors_name_the_field() {
        let cases: Vec<(String, &str)> = vec![
            (with(|v| v["id"] = serde_json::json!(" ")), "$.id: the regime id must not be empty"),
            (
                with(|v| v["rates"][2]["id"] = serde_json::json!("vat-standard")),
                "$.rates[2].id: duplicate rate id \"vat-standard\" (also $.rates[0].id)",
            ),
            (
                with(|v| v["rates"][1]["id"] = serde_json::json!("")),
                "$.rates[1].id: a rate id must not be empty",
            ),
            (
                with(|v| v["rates"][1]["name"] = serde_json::json!("")),
                "$.rates[1].name: rate \"vat-reduced\" needs a name",
            ),
            (
                with(|v| v["rates"][0]["percent"] = serde_json::json!("100.5")),
                "$.rates[0].percent: rate \"vat-standard\" is 100.5%, more than 100%",
            ),
            (
                with(|v| v["rates"][0]["categories"] = serde_json::json!([])),
                "$.rates[0].categories: rate \"vat-standard\" applies to no category",
            ),
            (
                with(|v| v["rates"][0]["categories"] = serde_json::json!(["a", "a"])),
                "$.rates[0].categories[1]: category \"a\" is listed twice",
            ),
            (
                with(|v| v["rates"][0]["categories"] = serde_json::json!([""])),
                "$.rates[0].categories[0]: a tax category must not be empty",
            ),
            (
                with(|v| v["exempt_categories"] = serde_json::json!(["stamps", "reduced"])),
                "$.exempt_categories[1]: category \"reduced\" is exempt but rate \"vat-reduced\" taxes it",
            ),
            (
                with(|v| v["exempt_categories"] = serde_json::json!(["stamps", "stamps"])),
                "$.exempt_categories[1]: category \"stamps\" is listed twice",
            ),
        ];
        for (json, want) in cases {
            let msg = err_of(&json);
            assert!(msg.starts_with(&format!("INVALID_TAX_REGIME: {want}")), "{msg}\n  wanted: {want}");
        }
        // 100% exactly is allowed; so is a regime with no rates (everything exempt).
        assert!(TaxRegime::from_json(&with(|v| v["rates"][0]["percent"] = serde_json::json!(100))).is_ok());
        assert!(TaxRegime::from_json(&with(|v| v["rates"] = serde_json::json!([]))).is_ok());
    }
}
