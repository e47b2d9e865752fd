//! Price lists: prices that override a product's base price for some stores, channels or
//! customer groups, for some time, and the one rule that decides which price applies.
//!
//! Owns the `PriceList` value, its JSON form (published as `docs/schemas/price-list.schema.json`)
//! and resolution ([`resolve_in`]), a pure function so the pricing engine, HQ tools and tests
//! get the same answer as [`super::Catalog::resolve_price`]. It must never touch the database
//! (the catalog persists lists) and never parse or print an amount through a float.
//!
//! JSON form, amounts as decimal strings in the list's currency:
//!
//! ```json
//! {
//!   "id": "members-summer",
//!   "name": "Members' summer prices",
//!   "currency": "EUR",
//!   "priority": 10,
//!   "scope": { "stores": [], "channels": ["pos"], "customer_groups": ["members"] },
//!   "valid_from": 1748736000000,
//!   "valid_to": 1756684800000,
//!   "prices": { "MILK-1L": "1.09", "BREAD-500G": "2.19" }
//! }
//! ```

use std::collections::BTreeMap;

use serde::ser::SerializeStruct;
use serde_json::{Map, Value};

use super::catalog::{Product, SoldBy, validate_sku};
use crate::error::{Error, Result};
use crate::money::{Currency, Money};

/// Longest price list id and scope entry (store, channel, customer group).
pub const MAX_PRICE_LIST_ID_LEN: usize = 64;

/// Where a price list applies. An empty dimension means "any"; a non-empty one must contain
/// the context's value (a context without a customer group never matches a list restricted
/// to customer groups).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceScope {
    pub stores: Vec<String>,
    pub channels: Vec<String>,
    pub customer_groups: Vec<String>,
}

impl PriceScope {
    /// Applies everywhere, to everyone.
    pub fn any() -> PriceScope {
        PriceScope::default()
    }

    /// Whether a sale in `context` is inside this scope.
    pub fn matches(&self, context: &PriceContext) -> bool {
        (self.stores.is_empty() || self.stores.contains(&context.store_id))
            && (self.channels.is_empty() || self.channels.contains(&context.channel))
            && (self.customer_groups.is_empty()
                || context.customer_group.as_ref().is_some_and(|g| self.customer_groups.contains(g)))
    }

    /// How narrow the scope is, for breaking priority ties: a customer-group restriction
    /// outweighs a channel restriction, which outweighs a store restriction (bits 4, 2, 1).
    pub fn specificity(&self) -> u8 {
        (u8::from(!self.customer_groups.is_empty()) << 2)
            | (u8::from(!self.channels.is_empty()) << 1)
            | u8::from(!self.stores.is_empty())
    }
}

/// A named set of prices in one currency, with where and when it applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceList {
    /// Unique id: 1–64 characters, no spaces.
    pub id: String,
    pub name: String,
    /// Every price of the list is in this currency.
    pub currency: Currency,
    /// Higher wins among lists that apply.
    pub priority: i32,
    pub scope: PriceScope,
    /// Start of validity, unix milliseconds, inclusive; `None`: since always.
    pub valid_from: Option<i64>,
    /// End of validity, unix milliseconds, exclusive; `None`: forever.
    pub valid_to: Option<i64>,
    /// Price per SKU: per piece, or per kilogram for a weighed product.
    pub prices: BTreeMap<String, Money>,
}

impl PriceList {
    /// An empty list with priority 0 that applies everywhere, always.
    pub fn new(id: &str, name: &str, currency: Currency) -> PriceList {
        PriceList {
            id: id.to_owned(),
            name: name.to_owned(),
            currency,
            priority: 0,
            scope: PriceScope::any(),
            valid_from: None,
            valid_to: None,
            prices: BTreeMap::new(),
        }
    }

    pub fn with_priority(mut self, priority: i32) -> PriceList {
        self.priority = priority;
        self
    }

    pub fn with_scope(mut self, scope: PriceScope) -> PriceList {
        self.scope = scope;
        self
    }

    pub fn for_stores(mut self, stores: &[&str]) -> PriceList {
        self.scope.stores = stores.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn for_channels(mut self, channels: &[&str]) -> PriceList {
        self.scope.channels = channels.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn for_customer_groups(mut self, groups: &[&str]) -> PriceList {
        self.scope.customer_groups = groups.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Valid in `[from_ms, to_ms)`; either end may be open.
    pub fn valid_between(mut self, from_ms: Option<i64>, to_ms: Option<i64>) -> PriceList {
        self.valid_from = from_ms;
        self.valid_to = to_ms;
        self
    }

    pub fn with_price(mut self, sku: &str, price: Money) -> PriceList {
        self.prices.insert(sku.to_owned(), price);
        self
    }

    /// Whether the list is valid at `at_ms` (half-open: `valid_from <= at_ms < valid_to`).
    pub fn is_valid_at(&self, at_ms: i64) -> bool {
        self.valid_from.is_none_or(|from| from <= at_ms) && self.valid_to.is_none_or(|to| at_ms < to)
    }

    /// Whether the list applies to a sale in `context`: same currency, in scope, valid then.
    /// (Whether it prices a given SKU is a separate question.)
    pub fn applies_to(&self, context: &PriceContext) -> bool {
        self.currency == context.currency && self.is_valid_at(context.at_ms) && self.scope.matches(context)
    }

    /// Checks every field: `INVALID_PRICE_LIST` naming the field, or `CURRENCY_MISMATCH` for a
    /// price in another currency than the list's.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, reason: String| Error::InvalidPriceList {
            id: self.id.clone(),
            field: field.to_owned(),
            reason,
        };
        check_identifier(&self.id).map_err(|r| bad("id", r))?;
        if self.name.trim().is_empty() {
            return Err(bad("name", "must not be empty".into()));
        }
        for (field, values) in [
            ("scope.stores", &self.scope.stores),
            ("scope.channels", &self.scope.channels),
            ("scope.customer_groups", &self.scope.customer_groups),
        ] {
            for (i, v) in values.iter().enumerate() {
                check_identifier(v).map_err(|r| bad(field, format!("{v:?}: {r}")))?;
                if values[..i].contains(v) {
                    return Err(bad(field, format!("{v:?} is listed twice")));
                }
            }
        }
        if let (Some(from), Some(to)) = (self.valid_from, self.valid_to) {
            if to <= from {
                return Err(bad("valid_to", format!("{to} must be after valid_from {from} (validity is [from, to))")));
            }
        }
        for (sku, price) in &self.prices {
            let field = format!("prices[{sku:?}]");
            validate_sku(sku).map_err(|e| match e {
                Error::InvalidProduct { reason, .. } => bad(&field, reason),
                other => other,
            })?;
            if price.currency() != self.currency {
                return Err(Error::CurrencyMismatch {
                    expected: self.currency.code().to_owned(),
                    found: price.currency().code().to_owned(),
                });
            }
            if price.is_negative() {
                return Err(bad(&field, format!("price must not be negative, got {price}")));
            }
        }
        Ok(())
    }

    /// Reads a list from its JSON form and validates it. Every problem is `INVALID_PRICE_LIST`
    /// naming the field (an amount given as a JSON number, an unknown field, a bad currency…).
    pub fn from_json(text: &str) -> Result<PriceList> {
        (|| -> Result<PriceList> {
        let value: Value = serde_json::from_str(text).map_err(|e| Error::InvalidPriceList {
            id: String::new(),
            field: "(document)".into(),
            reason: format!("not valid JSON: {e}"),
        })?;
        PriceList::from_json_value(&value)
    })().map_err(|e| crate::commerce::card_guard::scrub("price list", e))
    }

    /// The same from an already parsed JSON value.
    pub fn from_json_value(value: &Value) -> Result<PriceList> {
        let list = parse_document(value)?;
        list.validate()?;
        Ok(list)
    }

    /// The JSON form (amounts as decimal strings, e.g. `"1.19"`).
    pub fn to_json(&self) -> String {
        // Serializing strings, integers and maps of them cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Ids and scope entries: 1–64 characters, no whitespace or control characters.
fn check_identifier(value: &str) -> std::result::Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > MAX_PRICE_LIST_ID_LEN {
        return Err(format!("must be at most {MAX_PRICE_LIST_ID_LEN} characters"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(())
}

const FIELDS: &[&str] = &["$schema", "id", "name", "currency", "priority", "scope", "valid_from", "valid_to", "prices"];
const SCOPE_FIELDS: &[&str] = &["stores", "channels", "customer_groups"];

fn parse_document(value: &Value) -> Result<PriceList> {
    let doc = value.as_object().ok_or_else(|| Error::InvalidPriceList {
        id: String::new(),
        field: "(document)".into(),
        reason: "must be a JSON object".into(),
    })?;
    let id = doc.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let bad = |field: &str, reason: String| Error::InvalidPriceList { id: id.clone(), field: field.to_owned(), reason };
    if let Some(unknown) = doc.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(unknown, format!("unknown field; expected one of {}", FIELDS[1..].join(", "))));
    }
    let string = |field: &str| -> Result<String> {
        match doc.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(bad(field, format!("must be a string, got {other}"))),
            None => Err(bad(field, "is required".into())),
        }
    };
    let id_text = string("id")?;
    let name = string("name")?;
    let currency_code = string("currency")?;
    let currency = Currency::from_code(&currency_code).map_err(|e| bad("currency", e.to_string()))?;
    let priority = match doc.get("priority") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| bad("priority", format!("must be a whole number in the 32-bit range, got {v}")))?,
    };
    let timestamp = |field: &str| -> Result<Option<i64>> {
        match doc.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| bad(field, format!("must be unix milliseconds (a whole number) or null, got {v}"))),
        }
    };
    let (valid_from, valid_to) = (timestamp("valid_from")?, timestamp("valid_to")?);
    let scope = match doc.get("scope") {
        None | Some(Value::Null) => PriceScope::any(),
        Some(Value::Object(scope)) => parse_scope(scope, &bad)?,
        Some(other) => return Err(bad("scope", format!("must be an object, got {other}"))),
    };
    let mut prices = BTreeMap::new();
    match doc.get("prices") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (sku, amount) in map {
                let field = format!("prices[{sku:?}]");
                let Value::String(text) = amount else {
                    return Err(bad(
                        &field,
                        format!("amounts are decimal strings such as \"1.19\", never JSON numbers; got {amount}"),
                    ));
                };
                let money = Money::parse(text, currency).map_err(|e| bad(&field, e.to_string()))?;
                prices.insert(sku.clone(), money);
            }
        }
        Some(other) => return Err(bad("prices", format!("must be an object of SKU to amount, got {other}"))),
    }
    if let Some(schema) = doc.get("$schema") {
        if !schema.is_string() {
            return Err(bad("$schema", "must be a string".into()));
        }
    }
    Ok(PriceList { id: id_text, name, currency, priority, scope, valid_from, valid_to, prices })
}

fn parse_scope(scope: &Map<String, Value>, bad: &dyn Fn(&str, String) -> Error) -> Result<PriceScope> {
    if let Some(unknown) = scope.keys().find(|k| !SCOPE_FIELDS.contains(&k.as_str())) {
        return Err(bad(
            &format!("scope.{unknown}"),
            format!("unknown field; expected one of {}", SCOPE_FIELDS.join(", ")),
        ));
    }
    let list = |name: &str| -> Result<Vec<String>> {
        let field = format!("scope.{name}");
        match scope.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad(&field, format!("entries must be strings, got {v}")))
                })
                .collect(),
            Some(other) => Err(bad(&field, format!("must be an array of strings, got {other}"))),
        }
    };
    Ok(PriceScope { stores: list("stores")?, channels: list("channels")?, customer_groups: list("customer_groups")? })
}

impl serde::Serialize for PriceList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Scope<'a> {
            stores: &'a [String],
            channels: &'a [String],
            customer_groups: &'a [String],
        }
        let prices: BTreeMap<&str, String> =
            self.prices.iter().map(|(sku, m)| (sku.as_str(), m.to_decimal_string())).collect();
        let mut st = s.serialize_struct("PriceList", 8)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("currency", &self.currency)?;
        st.serialize_field("priority", &self.priority)?;
        st.serialize_field(
            "scope",
            &Scope {
                stores: &self.scope.stores,
                channels: &self.scope.channels,
                customer_groups: &self.scope.customer_groups,
            },
        )?;
        st.serialize_field("valid_from", &self.valid_from)?;
        st.serialize_field("valid_to", &self.valid_to)?;
        st.serialize_field("prices", &prices)?;
        st.end()
    }
}

/// Deserializes and validates; the error text is the `INVALID_PRICE_LIST` message.
impl<'de> serde::Deserialize<'de> for PriceList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        PriceList::from_json_value(&value).map_err(serde::de::Error::custom)
    }
}

/// The sale a price is wanted for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceContext {
    pub store_id: String,
    /// e.g. `"pos"`, `"web"`, `"app"`.
    pub channel: String,
    pub customer_group: Option<String>,
    /// When, in unix milliseconds.
    pub at_ms: i64,
    /// The currency the sale is in; lists in other currencies do not apply.
    pub currency: Currency,
}

impl PriceContext {
    pub fn new(store_id: &str, channel: &str, at_ms: i64, currency: Currency) -> PriceContext {
        PriceContext {
            store_id: store_id.to_owned(),
            channel: channel.to_owned(),
            customer_group: None,
            at_ms,
            currency,
        }
    }

    pub fn with_customer_group(mut self, group: &str) -> PriceContext {
        self.customer_group = Some(group.to_owned());
        self
    }
}

/// Where a resolved price came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PriceSource {
    /// The price list with this id.
    List(String),
    /// The product's own price.
    Base,
}

/// The price that applies, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPrice {
    /// Per piece, or per kilogram when `sold_by` is [`SoldBy::Weight`].
    pub amount: Money,
    pub source: PriceSource,
    pub sold_by: SoldBy,
}

/// The price of `product` in `context`, from `lists` (no database needed).
///
/// Among the lists that apply (same currency, in scope, valid at `at_ms`) and price the SKU,
/// the highest `priority` wins; ties go to the more specific scope (customer group, then
/// channel, then store — see [`PriceScope::specificity`]), then to the lexicographically
/// smallest id, so the answer never depends on the order of `lists`. With no such list, the
/// product's base price, if it is in the context's currency (else `CURRENCY_MISMATCH`).
pub fn resolve_in(lists: &[PriceList], product: &Product, context: &PriceContext) -> Result<ResolvedPrice> {
    let best = lists
        .iter()
        .filter(|l| l.applies_to(context))
        .filter_map(|l| l.prices.get(&product.sku).map(|price| (l, price)))
        .min_by(|(a, _), (b, _)| {
            b.priority.cmp(&a.priority).then(b.scope.specificity().cmp(&a.scope.specificity())).then(a.id.cmp(&b.id))
        });
    let (amount, source) = match best {
        Some((list, price)) => (*price, PriceSource::List(list.id.clone())),
        None => (product.price, PriceSource::Base),
    };
    if amount.currency() != context.currency {
        return Err(Error::CurrencyMismatch {
            expected: context.currency.code().to_owned(),
            found: amount.currency().code().to_owned(),
        });
    }
    Ok(ResolvedPrice { amount, source, sold_by: product.sold_by })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    fn milk() -> Product {
        Product::new("MILK-1L", "Milk 1 l", eur(119), "reduced")
    }

    fn ctx() -> PriceContext {
        PriceContext::new("store-1", "pos", 1_000, Currency::EUR)
    }

    #[test]
    fn base_price_without_lists() {
        let r = resolve_in(&[], &milk(), &ctx()).unwrap();
        assert_eq!((r.amount, r.source, r.sold_by), (eur(119), PriceSource::Base, SoldBy::Unit));
        let usd = PriceContext::new("store-1", "pos", 0, Currency::USD);
        assert_eq!(resolve_in(&[], &milk(), &usd).unwrap_err().code(), "CURRENCY_MISMATCH");
    }

    #[test]
    fn priority_then_specificity_then_id() {
        let l = |id: &str, prio: i32, minor: i64| {
            PriceList::new(id, id, Currency::EUR).with_priority(prio).with_price("MILK-1L", eur(minor))
        };
        let lists = [
            l("b-global", 5, 100),
            l("a-global", 5, 101),
            l("store", 5, 102).for_stores(&["store-1"]),
            l("channel", 5, 103).for_channels(&["pos"]),
            l("low-group", 4, 104).for_customer_groups(&["members"]),
        ];
        let resolve = |lists: &[PriceList], c: &PriceContext| resolve_in(lists, &milk(), c).unwrap().source;
        // channel beats store beats global at equal priority.
        assert_eq!(resolve(&lists, &ctx()), PriceSource::List("channel".into()));
        assert_eq!(resolve(&lists[..3], &ctx()), PriceSource::List("store".into()));
        assert_eq!(resolve(&lists[..2], &ctx()), PriceSource::List("a-global".into()));
        // Priority beats specificity.
        assert_eq!(resolve(&lists, &ctx().with_customer_group("members")), PriceSource::List("channel".into()));
        let group = l("group", 5, 105).for_customer_groups(&["members"]);
        let mut more = lists.to_vec();
        more.push(group);
        assert_eq!(resolve(&more, &ctx().with_customer_group("members")), PriceSource::List("group".into()));
        // A group-only list beats a store+channel list (group outweighs both).
        let sc = l("store-channel", 5, 106).for_stores(&["store-1"]).for_channels(&["pos"]);
        more.push(sc);
        assert_eq!(resolve(&more, &ctx().with_customer_group("members")), PriceSource::List("group".into()));
        assert_eq!(resolve(&more, &ctx()), PriceSource::List("store-channel".into()));
        // Order of the input does not matter.
        more.reverse();
        assert_eq!(resolve(&more, &ctx()), PriceSource::List("store-channel".into()));
    }

    #[test]
    fn validity_is_half_open_and_scope_filters() {
        let list = PriceList::new("p", "Promo", Currency::EUR)
            .valid_between(Some(1_000), Some(2_000))
            .with_price("MILK-1L", eur(99));
        let at = |ms: i64| {
            resolve_in(std::slice::from_ref(&list), &milk(), &PriceContext { at_ms: ms, ..ctx() }).unwrap().amount
        };
        assert_eq!((at(999), at(1_000), at(1_999), at(2_000)), (eur(119), eur(99), eur(99), eur(119)));
        let other_store = list.clone().for_stores(&["store-2"]);
        assert_eq!(resolve_in(&[other_store], &milk(), &ctx()).unwrap().source, PriceSource::Base);
        let group = list.clone().for_customer_groups(&["staff"]);
        assert_eq!(resolve_in(std::slice::from_ref(&group), &milk(), &ctx()).unwrap().source, PriceSource::Base);
        assert_eq!(
            resolve_in(&[group], &milk(), &ctx().with_customer_group("staff")).unwrap().source,
            PriceSource::List("p".into())
        );
        // A list in another currency is ignored, and then the base price must match.
        let usd = PriceList::new("u", "USD", Currency::USD).with_price("MILK-1L", Money::new(1, Currency::USD));
        assert_eq!(resolve_in(&[usd.clone()], &milk(), &ctx()).unwrap().source, PriceSource::Base);
        let c = PriceContext { currency: Currency::USD, ..ctx() };
        assert_eq!(resolve_in(&[usd], &milk(), &c).unwrap().amount, Money::new(1, Currency::USD));
    }

    #[test]
    fn weighed_products_resolve_per_kilogram() {
        let cheese = Product::new("CHEESE", "Cheese", eur(1990), "reduced").sold_by_weight();
        let r = resolve_in(&[], &cheese, &ctx()).unwrap();
        assert_eq!((r.amount, r.sold_by), (eur(1990), SoldBy::Weight));
        // 250 g at 19.90/kg = 4.975 → 4.98 half-up.
        assert_eq!(r.sold_by.amount(r.amount, 250, crate::money::RoundingMode::HalfUp).unwrap(), eur(498));
    }

    #[test]
    fn validation_names_the_field() {
        let ok = PriceList::new("p", "Promo", Currency::EUR).with_price("MILK-1L", eur(99));
        ok.validate().unwrap();
        let field = |l: PriceList| match l.validate().unwrap_err() {
            Error::InvalidPriceList { field, .. } => field,
            other => panic!("{other}"),
        };
        assert_eq!(field(PriceList { id: "a b".into(), ..ok.clone() }), "id");
        assert_eq!(field(PriceList { name: " ".into(), ..ok.clone() }), "name");
        assert_eq!(field(ok.clone().for_stores(&[""])), "scope.stores");
        assert_eq!(field(ok.clone().for_channels(&["pos", "pos"])), "scope.channels");
        assert_eq!(field(ok.clone().for_customer_groups(&["a\tb"])), "scope.customer_groups");
        assert_eq!(field(ok.clone().valid_between(Some(5), Some(5))), "valid_to");
        assert_eq!(field(ok.clone().with_price("X", eur(-1))), r#"prices["X"]"#);
        assert_eq!(field(ok.clone().with_price("", eur(1))), r#"prices[""]"#);
        let e = ok.clone().with_price("X", Money::new(1, Currency::USD)).validate().unwrap_err();
        assert_eq!(e.to_string(), "CURRENCY_MISMATCH: expected EUR, got USD");
    }

    #[test]
    fn json_round_trip_with_decimal_strings() {
        let list = PriceList::new("members", "Members", Currency::EUR)
            .with_priority(-3)
            .for_customer_groups(&["members"])
            .valid_between(Some(1_748_736_000_000), None)
            .with_price("MILK-1L", eur(109))
            .with_price("BREAD", eur(5));
        let json = list.to_json();
        assert!(json.contains(r#""MILK-1L": "1.09""#), "{json}");
        assert!(json.contains(r#""BREAD": "0.05""#), "{json}");
        assert_eq!(PriceList::from_json(&json).unwrap(), list);
        let via_serde: PriceList = serde_json::from_str(&json).unwrap();
        assert_eq!(via_serde, list);
        // Minimal document: defaults for everything optional.
        let min = PriceList::from_json(r#"{"id":"x","name":"X","currency":"JPY","prices":{"A":"120"}}"#).unwrap();
        assert_eq!(min.prices["A"], Money::new(120, Currency::JPY));
        assert_eq!((min.priority, min.scope, min.valid_from), (0, PriceScope::any(), None));
    }

    #[test]
    fn json_errors_name_the_field() {
        let field = |json: &str| match PriceList::from_json(json).unwrap_err() {
            Error::InvalidPriceList { field, reason, .. } => format!("{field}: {reason}"),
            other => panic!("{other}"),
        };
        let base = |extra: &str| format!(r#"{{"id":"x","name":"X","currency":"EUR"{extra}}}"#);
        assert!(field(&base(r#","prices":{"A":1.19}"#)).starts_with(r#"prices["A"]: amounts are decimal strings"#));
        assert!(field(&base(r#","prices":{"A":"1.191"}"#)).starts_with(r#"prices["A"]: INVALID_AMOUNT"#));
        assert!(field(&base(r#","priority":1.5"#)).starts_with("priority:"));
        assert!(field(&base(r#","priority":"high""#)).starts_with("priority:"));
        assert!(field(&base(r#","valid_from":"2025-01-01""#)).starts_with("valid_from:"));
        assert!(field(&base(r#","valid_form":1"#)).starts_with("valid_form: unknown field"));
        assert!(field(&base(r#","scope":{"store":["a"]}"#)).starts_with("scope.store: unknown field"));
        assert!(field(&base(r#","scope":{"stores":[1]}"#)).starts_with("scope.stores:"));
        assert!(field(r#"{"id":"x","name":"X","currency":"EURO"}"#).starts_with("currency: UNKNOWN_CURRENCY"));
        assert!(field(r#"{"id":"x","currency":"EUR"}"#).starts_with("name: is required"));
        assert!(field("[1]").starts_with("(document):"));
        assert!(field("{").starts_with("(document): not valid JSON"));
        // Validation runs too.
        assert!(field(&base(r#","valid_from":10,"valid_to":5"#)).starts_with("valid_to:"));
        let e = serde_json::from_str::<PriceList>(&base(r#","prices":{"A":-1}"#)).unwrap_err();
        assert!(e.to_string().starts_with("INVALID_PRICE_LIST"), "{e}");
    }
}
