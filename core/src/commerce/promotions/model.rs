//! Promotions as data: the JSON form HQ tools author and sync distributes
//! (schema: `docs/schemas/promotion.schema.json`), and its validation into the compiled form
//! the engine runs.
//!
//! Amounts in rules are decimal strings in the store's currency (`"10.00"`), percentages are
//! decimal strings or integers (`"12.5"`, `20`); floats are refused so a rule means exactly
//! what its author wrote. Every validation error names the JSON path of the bad field.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::money::{Currency, Money, Percent};

/// One promotion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    /// Unique id, recorded on every adjustment it makes.
    pub id: String,
    /// Shown on receipts.
    #[serde(default)]
    pub name: String,
    /// Higher applies first (ties: smaller id first).
    #[serde(default)]
    pub priority: i32,
    /// Applies only if no other promotion has, and then no other promotion applies.
    #[serde(default)]
    pub exclusive: bool,
    /// Once this applies, promotions of lower priority are not evaluated.
    #[serde(default)]
    pub stop_further: bool,
    /// May discount units another promotion already used (on their already-discounted price).
    /// Non-stackable item promotions each use units exclusively.
    #[serde(default)]
    pub stackable: bool,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_limit: Option<UsageLimit>,
    pub rule: Rule,
}

/// When a promotion may apply at all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// A coupon code the cart must carry (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
    /// The customer must be in one of these groups (empty: anyone, including no customer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_groups: Vec<String>,
    /// Local time window in the store's time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

/// A local-time window: date range, weekdays and a daily time range, all optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// First local date-time (inclusive), e.g. `"2026-12-01T00:00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// End local date-time (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Days of the week, `"mon"` … `"sun"` (empty: every day).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
    /// Daily start (inclusive), e.g. `"16:00"`; with `time_to` earlier than it the window
    /// runs over midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_from: Option<String>,
    /// Daily end (exclusive), e.g. `"18:00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to: Option<String>,
}

/// How often a promotion may be used; counts come from the store (completed sales).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_customer: Option<u32>,
}

/// Which units a rule looks at: any unit whose SKU, category or tag is listed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skus: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Every unit in the cart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

/// A group of units: `quantity` units matching `target`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub target: Target,
    pub quantity: u32,
}

/// Which units of a set get the reward first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    #[default]
    Cheapest,
    MostExpensive,
}

/// What a tier threshold counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierBasis {
    Quantity,
    Spend,
}

/// One tier: reached when the basis is at least `min` (inclusive); gives `percent` off or
/// `amount` off the matching units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// A unit count (`"3"`) or an amount (`"50.00"`), by the rule's basis.
    pub min: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

/// `percent` off every matching unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentOff {
    pub target: Target,
    pub percent: Percent,
}

/// `amount` off every matching unit (never below zero).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountOff {
    pub target: Target,
    pub amount: String,
}

/// `percent` off the order (the matching lines, or all), if it reaches `min_spend`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPercentOff {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    pub percent: Percent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_spend: Option<String>,
}

/// `amount` off the order (never below zero), if it reaches `min_spend`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderAmountOff {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    pub amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_spend: Option<String>,
}

/// `quantity` matching units for `price` ("3 for 10.00"), most expensive units first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedPrice {
    pub target: Target,
    pub quantity: u32,
    pub price: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_applications: Option<u32>,
}

/// Buy `buy.quantity` of one set, get `get.quantity` of another (or the same) set at
/// `percent` off (100 = free), per multiple.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuyXGetY {
    pub buy: Group,
    pub get: Group,
    #[serde(default = "hundred")]
    pub percent: Percent,
    #[serde(default)]
    pub reward: Pick,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_applications: Option<u32>,
}

/// Volume / spend tiers over the matching units: the highest tier reached applies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiered {
    pub target: Target,
    pub basis: TierBasis,
    pub tiers: Vec<Tier>,
}

/// Mix-and-match: one unit set per group, priced together at `price` or `percent` off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub groups: Vec<Group>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_applications: Option<u32>,
}

/// What a promotion does; in JSON an object with a `type` and that type's fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Rule {
    PercentOff(PercentOff),
    AmountOff(AmountOff),
    OrderPercentOff(OrderPercentOff),
    OrderAmountOff(OrderAmountOff),
    FixedPrice(FixedPrice),
    BuyXGetY(BuyXGetY),
    Tiered(Tiered),
    Bundle(Bundle),
}

/// Marks a nested JSON path inside a custom error message, so [`parse_promotions`] can report
/// the full path (serde cannot track paths through an internally tagged enum).
const PATH_MARK: char = '\u{1}';

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Rule, D::Error> {
        use serde::de::Error as _;
        let mut map = serde_json::Map::deserialize(d)?;
        let ty = match map.remove("type") {
            Some(serde_json::Value::String(t)) => t,
            Some(_) => return Err(D::Error::custom(format!("{PATH_MARK}type{PATH_MARK}must be a string"))),
            None => return Err(D::Error::missing_field("type")),
        };
        fn payload<T: serde::de::DeserializeOwned, E: serde::de::Error>(v: serde_json::Map<String, serde_json::Value>) -> std::result::Result<T, E> {
            serde_path_to_error::deserialize(serde_json::Value::Object(v))
                .map_err(|e| E::custom(format!("{PATH_MARK}{}{PATH_MARK}{}", e.path(), e.inner())))
        }
        Ok(match ty.as_str() {
            "percent_off" => Rule::PercentOff(payload(map)?),
            "amount_off" => Rule::AmountOff(payload(map)?),
            "order_percent_off" => Rule::OrderPercentOff(payload(map)?),
            "order_amount_off" => Rule::OrderAmountOff(payload(map)?),
            "fixed_price" => Rule::FixedPrice(payload(map)?),
            "buy_x_get_y" => Rule::BuyXGetY(payload(map)?),
            "tiered" => Rule::Tiered(payload(map)?),
            "bundle" => Rule::Bundle(payload(map)?),
            other => {
                return Err(D::Error::custom(format!(
                    "{PATH_MARK}type{PATH_MARK}unknown rule type {other:?}; expected one of percent_off, amount_off, order_percent_off, order_amount_off, fixed_price, buy_x_get_y, tiered, bundle"
                )));
            }
        })
    }
}

fn hundred() -> Percent {
    Percent::HUNDRED
}

impl Rule {
    /// The rule's type name as in JSON, recorded on adjustments.
    pub fn kind(&self) -> &'static str {
        match self {
            Rule::PercentOff(_) => "percent_off",
            Rule::AmountOff(_) => "amount_off",
            Rule::OrderPercentOff(_) => "order_percent_off",
            Rule::OrderAmountOff(_) => "order_amount_off",
            Rule::FixedPrice(_) => "fixed_price",
            Rule::BuyXGetY(_) => "buy_x_get_y",
            Rule::Tiered(_) => "tiered",
            Rule::Bundle(_) => "bundle",
        }
    }
}

/// Parses a JSON array of promotions. A bad field is `PROMO_INVALID_RULE` naming its JSON path
/// (e.g. `[2].rule.quantity`).
pub fn parse_promotions(json: &str) -> Result<Vec<Promotion>> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut path = e.path().to_string();
        if path.is_empty() || path == "." {
            path = "$".to_owned();
        }
        let mut reason = e.into_inner().to_string();
        // A nested path from a rule's payload: "\u{1}percent\u{1}reason at line …".
        let parts: Vec<&str> = reason.splitn(3, PATH_MARK).collect();
        if let [_, inner, rest] = parts[..] {
            path = format!("{path}.{inner}");
            reason = rest.to_owned();
        }
        crate::commerce::card_guard::scrub("promotion rules", invalid(&path, &reason))
    })
}

pub(crate) fn invalid(path: &str, reason: &str) -> Error {
    Error::PromoInvalidRule { path: path.to_owned(), reason: reason.to_owned() }
}

// ---- compiled form ---------------------------------------------------------------------------

/// A target ready to match lines.
#[derive(Clone, Debug, Default)]
pub(crate) struct Matcher {
    pub skus: BTreeSet<String>,
    pub categories: BTreeSet<String>,
    pub tags: BTreeSet<String>,
    pub all: bool,
}

impl Matcher {
    fn compile(t: &Target, path: &str) -> Result<Matcher> {
        if !t.all && t.skus.is_empty() && t.categories.is_empty() && t.tags.is_empty() {
            return Err(invalid(path, "a target needs skus, categories, tags or \"all\": true"));
        }
        Ok(Matcher {
            skus: t.skus.iter().cloned().collect(),
            categories: t.categories.iter().cloned().collect(),
            tags: t.tags.iter().cloned().collect(),
            all: t.all,
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct CGroup {
    pub matcher: Matcher,
    pub quantity: i64,
}

#[derive(Clone, Debug)]
pub(crate) enum TierReward {
    Percent(Percent),
    Amount(i64),
}

#[derive(Clone, Debug)]
pub(crate) struct CTier {
    pub min: i64,
    pub reward: TierReward,
}

/// The compiled rule: amounts in minor units, targets as matchers.
#[derive(Clone, Debug)]
pub(crate) enum CRule {
    PercentOff { m: Matcher, percent: Percent },
    AmountOff { m: Matcher, amount: i64 },
    OrderPercentOff { m: Option<Matcher>, percent: Percent, min_spend: i64 },
    OrderAmountOff { m: Option<Matcher>, amount: i64, min_spend: i64 },
    FixedPrice { m: Matcher, quantity: i64, price: i64, max: i64 },
    BuyXGetY { buy: CGroup, get: CGroup, percent: Percent, reward: Pick, max: i64 },
    Tiered { m: Matcher, basis: TierBasis, tiers: Vec<CTier> },
    Bundle { groups: Vec<CGroup>, price: Option<i64>, percent: Option<Percent>, max: i64 },
}

impl CRule {
    /// Order-level rules discount the order total; item-level ones use units.
    pub fn is_order_level(&self) -> bool {
        matches!(self, CRule::OrderPercentOff { .. } | CRule::OrderAmountOff { .. })
    }

    /// Every matcher that decides which lines this rule can touch (none: the whole order).
    pub fn matchers(&self) -> impl Iterator<Item = &Matcher> {
        (0..self.matcher_count()).filter_map(|k| self.matcher(k))
    }

    pub fn matcher_count(&self) -> usize {
        match self {
            CRule::PercentOff { .. } | CRule::AmountOff { .. } | CRule::FixedPrice { .. } | CRule::Tiered { .. } => 1,
            CRule::OrderPercentOff { m, .. } | CRule::OrderAmountOff { m, .. } => usize::from(m.is_some()),
            CRule::BuyXGetY { .. } => 2,
            CRule::Bundle { groups, .. } => groups.len(),
        }
    }

    /// Matcher `k`: the target, or buy (0) and get (1), or bundle group `k`.
    pub fn matcher(&self, k: usize) -> Option<&Matcher> {
        match self {
            CRule::PercentOff { m, .. }
            | CRule::AmountOff { m, .. }
            | CRule::FixedPrice { m, .. }
            | CRule::Tiered { m, .. } => (k == 0).then_some(m),
            CRule::OrderPercentOff { m, .. } | CRule::OrderAmountOff { m, .. } => m.as_ref().filter(|_| k == 0),
            CRule::BuyXGetY { buy, get, .. } => [&buy.matcher, &get.matcher].get(k).copied(),
            CRule::Bundle { groups, .. } => groups.get(k).map(|g| &g.matcher),
        }
    }
}

/// A local-time window, parsed.
#[derive(Clone, Debug, Default)]
pub(crate) struct CWindow {
    pub from: Option<jiff::civil::DateTime>,
    pub to: Option<jiff::civil::DateTime>,
    /// Bit i set: weekday i allowed (0 = Monday); 0 = every day.
    pub weekdays: u8,
    pub time_from: Option<jiff::civil::Time>,
    pub time_to: Option<jiff::civil::Time>,
}

impl CWindow {
    pub fn contains(&self, local: jiff::civil::DateTime) -> bool {
        if self.from.is_some_and(|f| local < f) || self.to.is_some_and(|t| local >= t) {
            return false;
        }
        if self.weekdays != 0 {
            let day = local.weekday().to_monday_zero_offset();
            if self.weekdays & (1 << day) == 0 {
                return false;
            }
        }
        let t = local.time();
        match (self.time_from, self.time_to) {
            (Some(a), Some(b)) if a <= b => a <= t && t < b,
            (Some(a), Some(b)) => t >= a || t < b, // over midnight
            (Some(a), None) => t >= a,
            (None, Some(b)) => t < b,
            (None, None) => true,
        }
    }
}

/// A validated promotion, ready to run.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub priority: i32,
    pub exclusive: bool,
    pub stop_further: bool,
    pub stackable: bool,
    pub coupon: Option<String>,
    pub customer_groups: Vec<String>,
    pub window: Option<CWindow>,
    pub usage_limit: Option<UsageLimit>,
    pub rule: CRule,
}

fn amount(text: &str, currency: Currency, path: &str) -> Result<i64> {
    let m = Money::parse(text, currency).map_err(|e| invalid(path, &e.to_string()))?;
    if m.is_negative() {
        return Err(invalid(path, "must not be negative"));
    }
    Ok(m.minor())
}

fn positive(q: u32, path: &str) -> Result<i64> {
    if q == 0 {
        return Err(invalid(path, "must be at least 1"));
    }
    Ok(i64::from(q))
}

fn percent_at_most_100(p: Percent, path: &str) -> Result<Percent> {
    let (n, d) = p.fraction();
    if n > d {
        return Err(invalid(path, "must be at most 100"));
    }
    Ok(p)
}

fn max_apps(m: Option<u32>, path: &str) -> Result<i64> {
    match m {
        None => Ok(i64::MAX),
        Some(v) => positive(v, path),
    }
}

fn weekday_bit(name: &str) -> Option<u8> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].iter().position(|d| d.eq_ignore_ascii_case(name)).map(|i| 1u8 << i)
}

impl Compiled {
    /// Validates `p` (at JSON path `path`) and compiles its amounts in `currency`.
    pub fn compile(p: &Promotion, currency: Currency, path: &str) -> Result<Compiled> {
        let at = |field: &str| format!("{path}.{field}");
        if p.id.trim().is_empty() {
            return Err(invalid(&at("id"), "must not be empty"));
        }
        let r = |field: &str| format!("{path}.rule.{field}");
        let rule = match &p.rule {
            Rule::PercentOff(PercentOff { target, percent }) => CRule::PercentOff {
                m: Matcher::compile(target, &r("target"))?,
                percent: percent_at_most_100(*percent, &r("percent"))?,
            },
            Rule::AmountOff(AmountOff { target, amount: a }) => CRule::AmountOff {
                m: Matcher::compile(target, &r("target"))?,
                amount: amount(a, currency, &r("amount"))?,
            },
            Rule::OrderPercentOff(OrderPercentOff { target, percent, min_spend }) => CRule::OrderPercentOff {
                m: target.as_ref().map(|t| Matcher::compile(t, &r("target"))).transpose()?,
                percent: percent_at_most_100(*percent, &r("percent"))?,
                min_spend: min_spend.as_deref().map(|s| amount(s, currency, &r("min_spend"))).transpose()?.unwrap_or(0),
            },
            Rule::OrderAmountOff(OrderAmountOff { target, amount: a, min_spend }) => CRule::OrderAmountOff {
                m: target.as_ref().map(|t| Matcher::compile(t, &r("target"))).transpose()?,
                amount: amount(a, currency, &r("amount"))?,
                min_spend: min_spend.as_deref().map(|s| amount(s, currency, &r("min_spend"))).transpose()?.unwrap_or(0),
            },
            Rule::FixedPrice(FixedPrice { target, quantity, price, max_applications }) => CRule::FixedPrice {
                m: Matcher::compile(target, &r("target"))?,
                quantity: positive(*quantity, &r("quantity"))?,
                price: amount(price, currency, &r("price"))?,
                max: max_apps(*max_applications, &r("max_applications"))?,
            },
            Rule::BuyXGetY(BuyXGetY { buy, get, percent, reward, max_applications }) => CRule::BuyXGetY {
                buy: CGroup {
                    matcher: Matcher::compile(&buy.target, &r("buy.target"))?,
                    quantity: positive(buy.quantity, &r("buy.quantity"))?,
                },
                get: CGroup {
                    matcher: Matcher::compile(&get.target, &r("get.target"))?,
                    quantity: positive(get.quantity, &r("get.quantity"))?,
                },
                percent: percent_at_most_100(*percent, &r("percent"))?,
                reward: *reward,
                max: max_apps(*max_applications, &r("max_applications"))?,
            },
            Rule::Tiered(Tiered { target, basis, tiers }) => {
                if tiers.is_empty() {
                    return Err(invalid(&r("tiers"), "needs at least one tier"));
                }
                let mut out = Vec::with_capacity(tiers.len());
                for (i, t) in tiers.iter().enumerate() {
                    let tp = |f: &str| r(&format!("tiers[{i}].{f}"));
                    let min = match basis {
                        TierBasis::Quantity => t
                            .min
                            .trim()
                            .parse::<u32>()
                            .ok()
                            .filter(|q| *q > 0)
                            .map(i64::from)
                            .ok_or_else(|| invalid(&tp("min"), "must be a whole number of units, at least 1"))?,
                        TierBasis::Spend => amount(&t.min, currency, &tp("min"))?,
                    };
                    let reward = match (t.percent, &t.amount) {
                        (Some(p), None) => TierReward::Percent(percent_at_most_100(p, &tp("percent"))?),
                        (None, Some(a)) => TierReward::Amount(amount(a, currency, &tp("amount"))?),
                        _ => return Err(invalid(&r(&format!("tiers[{i}]")), "needs exactly one of percent or amount")),
                    };
                    if out.last().is_some_and(|prev: &CTier| prev.min >= min) {
                        return Err(invalid(&tp("min"), "tiers must be in increasing order of min"));
                    }
                    out.push(CTier { min, reward });
                }
                CRule::Tiered { m: Matcher::compile(target, &r("target"))?, basis: *basis, tiers: out }
            }
            Rule::Bundle(Bundle { groups, price, percent, max_applications }) => {
                if groups.is_empty() {
                    return Err(invalid(&r("groups"), "needs at least one group"));
                }
                let groups = groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| {
                        Ok(CGroup {
                            matcher: Matcher::compile(&g.target, &r(&format!("groups[{i}].target")))?,
                            quantity: positive(g.quantity, &r(&format!("groups[{i}].quantity")))?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let (price, percent) = match (price, percent) {
                    (Some(p), None) => (Some(amount(p, currency, &r("price"))?), None),
                    (None, Some(p)) => (None, Some(percent_at_most_100(*p, &r("percent"))?)),
                    _ => return Err(invalid(&at("rule"), "a bundle needs exactly one of price or percent")),
                };
                CRule::Bundle { groups, price, percent, max: max_apps(*max_applications, &r("max_applications"))? }
            }
        };
        let window = match &p.conditions.window {
            None => None,
            Some(w) => {
                let wp = |f: &str| format!("{path}.conditions.window.{f}");
                let dt = |s: &Option<String>, f: &str| -> Result<Option<jiff::civil::DateTime>> {
                    s.as_deref()
                        .map(|s| s.parse::<jiff::civil::DateTime>().map_err(|e| invalid(&wp(f), &format!("not a local date-time like 2026-12-01T00:00: {e}"))))
                        .transpose()
                };
                let tm = |s: &Option<String>, f: &str| -> Result<Option<jiff::civil::Time>> {
                    s.as_deref()
                        .map(|s| s.parse::<jiff::civil::Time>().map_err(|e| invalid(&wp(f), &format!("not a local time like 16:00: {e}"))))
                        .transpose()
                };
                let mut weekdays = 0u8;
                for (i, d) in w.weekdays.iter().enumerate() {
                    weekdays |= weekday_bit(d).ok_or_else(|| invalid(&wp(&format!("weekdays[{i}]")), "must be one of mon, tue, wed, thu, fri, sat, sun"))?;
                }
                let cw = CWindow {
                    from: dt(&w.from, "from")?,
                    to: dt(&w.to, "to")?,
                    weekdays,
                    time_from: tm(&w.time_from, "time_from")?,
                    time_to: tm(&w.time_to, "time_to")?,
                };
                if let (Some(a), Some(b)) = (cw.from, cw.to) {
                    if a >= b {
                        return Err(invalid(&wp("to"), "must be after from"));
                    }
                }
                Some(cw)
            }
        };
        Ok(Compiled {
            id: p.id.clone(),
            name: if p.name.is_empty() { p.id.clone() } else { p.name.clone() },
            kind: p.rule.kind(),
            priority: p.priority,
            exclusive: p.exclusive,
            stop_further: p.stop_further,
            stackable: p.stackable,
            coupon: p.conditions.coupon.as_ref().map(|c| c.trim().to_ascii_uppercase()),
            customer_groups: p.conditions.customer_groups.clone(),
            window,
            usage_limit: p.usage_limit.clone(),
            rule,
        })
    }
}
