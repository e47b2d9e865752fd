//! Pricing: one pure function from a cart's lines, rules and context to the priced cart.
//!
//! The order of operations, fixed so every channel gets the same cents:
//! 1. **Base**: unit price × units, or for a weighed line price per kg × grams ÷ 1000 rounded
//!    with `rounding.weight` (a weighed line is one unit). A manual price override replaces the
//!    unit price; an overridden line takes no promotions.
//! 2. **Promotions** on the base prices ([`super::promotions`]), per unit.
//! 3. **Manual line discounts** (percent or amount, with a reason) on the line's net after
//!    promotions, spread over its units by largest remainder.
//! 4. **Manual order discount** on the order's net, spread over lines by net, then units.
//! 5. **Tax** on the final per-unit amounts ([`super::tax`]).
//!
//! Every adjustment (promotion or manual) is recorded per line and per unit; the parts always
//! sum exactly to the line's and the order's totals. Returns later refund these recorded
//! amounts and never re-price.

use serde::{Deserialize, Serialize};

use super::promotions::{self, Mode, PromoContext, PromoLineRef, PromotionSet};
use super::tax::{self, TaxLineRef, TaxRegime};
use crate::error::{Error, Result};
use crate::money::{Currency, Money, Percent, RoundingMode, split_over_runs};

/// How many units of a line: a count, or a weight from a scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    Units(i64),
    /// Grams; the line's price is per kilogram.
    Grams(i64),
}

impl Quantity {
    /// Units the engines see: the count, or one for a weighed line.
    pub fn units(&self) -> i64 {
        match self {
            Quantity::Units(n) => *n,
            Quantity::Grams(_) => 1,
        }
    }
}

/// A manual discount: `percent` or `amount` off, with the reason the cashier gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualDiscount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    pub reason: String,
    /// Set by the engine: the app must check the cashier may give it (see `PricingRules`).
    #[serde(default)]
    pub needs_approval: bool,
}

/// A manual price for a line, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    pub price: Money,
    pub reason: String,
}

/// One line to price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricingLine {
    pub sku: String,
    pub name: String,
    pub quantity: Quantity,
    /// Per unit, or per kilogram for a weighed line (resolved from price lists by the caller).
    pub unit_price: Money,
    pub tax_category: String,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub price_override: Option<PriceOverride>,
    pub discount: Option<ManualDiscount>,
}

/// Rounding choices of the pricing steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricingRounding {
    /// Percent discounts (promotions and manual).
    pub discounts: RoundingMode,
    /// Price per kg × weight.
    pub weight: RoundingMode,
}

impl Default for PricingRounding {
    fn default() -> Self {
        PricingRounding { discounts: RoundingMode::HalfUp, weight: RoundingMode::HalfUp }
    }
}

/// Everything besides the lines: rules and context.
pub struct PricingContext<'a> {
    pub currency: Currency,
    pub promotions: &'a PromotionSet,
    pub mode: Mode,
    pub tax_regime: &'a TaxRegime,
    pub customer_tax_exempt: bool,
    pub promo: PromoContext,
    pub rounding: PricingRounding,
    /// Manual discounts above this percent of the line/order need approval (flagged, not
    /// refused: the app decides who may approve).
    pub approval_above_percent: Option<Percent>,
    pub order_discount: Option<ManualDiscount>,
}

/// One adjustment on one line: a promotion's or a manual discount, per unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAdjustment {
    /// The promotion id, or `"manual"` / `"manual_order"`.
    pub source: String,
    /// Promotion name or the manual reason.
    pub label: String,
    /// Rule type (`"buy_x_get_y"`…) or `"manual_line"` / `"manual_order"`.
    pub rule: String,
    /// Total discount on the line (positive).
    pub amount: Money,
    /// Discount per unit; runs sum to `amount`.
    pub units: Vec<RunOut>,
}

/// `count` units of `amount` each (serialisable form of a unit run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOut {
    pub count: i64,
    pub amount: Money,
}

/// A priced line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub sku: String,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    /// Before any discount.
    pub base: Money,
    pub adjustments: Vec<LineAdjustment>,
    pub discount: Money,
    /// What the customer pays per unit, in the regime's price basis, runs summing to `amount`.
    pub units: Vec<RunOut>,
    /// base − discount.
    pub amount: Money,
    pub tax_category: String,
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    pub taxes: Vec<TaxOut>,
    pub price_override: Option<PriceOverride>,
    pub manual_discount: Option<ManualDiscount>,
}

/// One rate on a line or in the summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxOut {
    pub rate_id: String,
    pub percent: Percent,
    pub base: Money,
    pub amount: Money,
}

/// The priced cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    pub currency: Currency,
    pub lines: Vec<PricedLine>,
    /// Sum of line bases.
    pub subtotal: Money,
    pub discount: Money,
    pub net: Money,
    pub tax: Money,
    /// What the customer owes (before cash rounding).
    pub total: Money,
    pub taxes: Vec<TaxOut>,
    pub promotions: Vec<AppliedOut>,
    pub coupons: Vec<CouponOut>,
    pub order_discount: Option<ManualDiscount>,
    /// False only if best deal hit its search budget (see `promotions`).
    pub best_deal_exact: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedOut {
    pub id: String,
    pub name: String,
    pub rule: String,
    pub applications: i64,
    pub discount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponOut {
    pub code: String,
    pub status: promotions::CouponStatus,
}

fn needs_approval(d: &ManualDiscount, base: i64, given: i64, limit: Option<Percent>) -> bool {
    let Some(limit) = limit else { return false };
    let (n, den) = limit.fraction();
    // given / base > n / den
    base > 0 && i128::from(given) * den > i128::from(base) * n || (base == 0 && given > 0) || d.needs_approval
}

/// Every line's units as (count, net per unit) runs, in one list: line `i`'s are
/// `all[spans[i].0..spans[i].1]`. A step that changes a line's runs appends the new ones.
struct Runs {
    all: Vec<(i64, i64)>,
    spans: Vec<(u32, u32)>,
}

impl Runs {
    fn of(&self, line: usize) -> &[(i64, i64)] {
        let (a, b) = self.spans[line];
        &self.all[a as usize..b as usize]
    }

    fn replace(&mut self, line: usize, runs: &[(i64, i64)]) {
        let start = self.all.len() as u32;
        self.all.extend_from_slice(runs);
        self.spans[line] = (start, self.all.len() as u32);
    }
}

/// Prices `lines` in `ctx`. Pure: no I/O, same input → same output on every channel.
pub fn price(lines: &[PricingLine], ctx: &PricingContext<'_>) -> Result<PricedCart> {
    let cur = ctx.currency;
    let money = |m: i64| Money::new(m, cur);
    let runs_out = |runs: &[(i64, i64)]| -> Vec<RunOut> { runs.iter().map(|&(c, a)| RunOut { count: c, amount: money(a) }).collect() };
    // 1. Base.
    let mut bases: Vec<i64> = Vec::with_capacity(lines.len());
    let mut unit_bases: Vec<i64> = Vec::with_capacity(lines.len());
    for l in lines {
        let price = l.price_override.as_ref().map_or(l.unit_price, |o| o.price);
        if price.currency() != cur {
            return Err(Error::CurrencyMismatch { expected: cur.code().to_owned(), found: price.currency().code().to_owned() });
        }
        if price.is_negative() {
            return Err(Error::InvalidArgument(format!("line {:?}: price {price} is negative", l.sku)));
        }
        let (unit, base) = match l.quantity {
            Quantity::Units(n) => {
                if n < 1 {
                    return Err(Error::InvalidQuantity { sku: l.sku.clone(), quantity: n, reason: "must be at least 1".into() });
                }
                (price.minor(), price.checked_mul(n)?.minor())
            }
            Quantity::Grams(g) => {
                if g < 1 {
                    return Err(Error::InvalidQuantity { sku: l.sku.clone(), quantity: g, reason: "a weight must be at least 1 gram".into() });
                }
                let amount = price.mul_div(g, 1000, ctx.rounding.weight)?.minor();
                (amount, amount)
            }
        };
        unit_bases.push(unit);
        bases.push(base);
    }

    // The cart fits in i64, so no sum of its parts below can overflow.
    Money::sum(cur, bases.iter().map(|&b| Money::new(b, cur)))?;

    // 2. Promotions (lines with a manual price take none). The engine's results borrow the
    // promotions, so names are copied once, into the output.
    let promo_lines: Vec<PromoLineRef<'_>> = lines
        .iter()
        .zip(&unit_bases)
        .map(|(l, &unit)| PromoLineRef {
            sku: &l.sku,
            categories: &l.categories,
            tags: &l.tags,
            units: if l.price_override.is_some() { 0 } else { l.quantity.units() },
            unit_price: money(unit),
        })
        .collect();
    let outcome = ctx.promotions.evaluate_lines(&promo_lines, &ctx.promo, ctx.mode, ctx.rounding.discounts)?;
    let mut runs = Runs { all: outcome.runs, spans: outcome.line_runs };
    for (i, l) in lines.iter().enumerate() {
        if l.price_override.is_some() {
            runs.replace(i, &[(l.quantity.units(), unit_bases[i])]);
        }
    }
    let mut adjustments: Vec<Vec<LineAdjustment>> = (0..lines.len()).map(|_| Vec::new()).collect();
    for (k, a) in outcome.adjustments.iter().enumerate() {
        let list = &mut adjustments[a.line];
        if list.capacity() == 0 {
            // Room for exactly this line's: the engine lists them by line, plus the manual ones.
            let promos = outcome.adjustments[k..].iter().take_while(|b| b.line == a.line).count();
            let manual = usize::from(lines[a.line].discount.is_some()) + usize::from(ctx.order_discount.is_some());
            list.reserve_exact(promos + manual);
        }
        let (from, to) = a.runs;
        list.push(LineAdjustment {
            source: a.promo.id.clone(),
            label: a.promo.name.clone(),
            rule: a.promo.kind.to_owned(),
            amount: money(a.amount),
            units: runs_out(&outcome.adjustment_runs[from as usize..to as usize]),
        });
    }

    // 3. Manual line discounts (most carts have none: no list then).
    let mut manual_line: Vec<Option<ManualDiscount>> =
        if lines.iter().any(|l| l.discount.is_some()) { vec![None; lines.len()] } else { Vec::new() };
    for (i, l) in lines.iter().enumerate() {
        let Some(d) = &l.discount else { continue };
        let net = net_of(runs.of(i));
        let amount = manual_amount(d, net, cur, ctx.rounding.discounts, &l.sku)?;
        let mut d = d.clone();
        d.needs_approval = needs_approval(&d, bases[i], bases[i] - net + amount, ctx.approval_above_percent);
        if amount > 0 {
            let per_unit = spread_over_runs(&mut runs, i, amount);
            adjustments[i].push(LineAdjustment {
                source: "manual".into(),
                label: d.reason.clone(),
                rule: "manual_line".into(),
                amount: money(amount),
                units: runs_out(&per_unit),
            });
        }
        manual_line[i] = Some(d);
    }

    // 4. Manual order discount, spread over lines by net (largest remainder).
    let mut order_discount = None;
    if let Some(d) = &ctx.order_discount {
        let nets: Vec<i64> = (0..lines.len()).map(|i| net_of(runs.of(i))).collect();
        let total_net: i64 = nets.iter().sum();
        let amount = manual_amount(d, total_net, cur, ctx.rounding.discounts, "order")?;
        let mut d = d.clone();
        let base_total: i64 = bases.iter().sum();
        d.needs_approval = needs_approval(&d, base_total, base_total - total_net + amount, ctx.approval_above_percent);
        if amount > 0 && total_net > 0 {
            let weights: Vec<u64> = nets.iter().map(|&n| n.max(0).unsigned_abs()).collect();
            let shares = money(amount).allocate(&weights)?;
            for (i, share) in shares.iter().enumerate() {
                if share.minor() > 0 {
                    let per_unit = spread_over_runs(&mut runs, i, share.minor());
                    adjustments[i].push(LineAdjustment {
                        source: "manual_order".into(),
                        label: d.reason.clone(),
                        rule: "manual_order".into(),
                        amount: *share,
                        units: runs_out(&per_unit),
                    });
                }
            }
        }
        order_discount = Some(d);
    }

    // 5. Tax on the final per-unit amounts.
    let tax_lines: Vec<TaxLineRef<'_>> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| TaxLineRef { tax_category: &l.tax_category, runs: tax::Runs::Minor(runs.of(i)) })
        .collect();
    let taxes = tax::compute_lines(ctx.tax_regime, cur, &tax_lines, ctx.customer_tax_exempt)?;
    let rates = &ctx.tax_regime.rates;
    let tax_out = |r: &tax::RateOut| TaxOut { rate_id: rates[r.rate].id.clone(), percent: rates[r.rate].percent, base: money(r.base), amount: money(r.amount) };

    let mut out_lines = Vec::with_capacity(lines.len());
    let mut discount = 0;
    for (i, (l, adjustments)) in lines.iter().zip(adjustments).enumerate() {
        let amount = net_of(runs.of(i));
        let t = &taxes.lines[i];
        discount += bases[i] - amount;
        out_lines.push(PricedLine {
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: l.quantity,
            unit_price: l.price_override.as_ref().map_or(l.unit_price, |o| o.price),
            base: money(bases[i]),
            discount: money(bases[i] - amount),
            adjustments,
            units: merge_runs(runs.of(i), money),
            amount: money(amount),
            tax_category: l.tax_category.clone(),
            net: money(t.net),
            tax: money(t.tax),
            gross: money(t.gross),
            taxes: taxes.rates_of(t).iter().map(tax_out).collect(),
            price_override: l.price_override.clone(),
            manual_discount: manual_line.get_mut(i).and_then(Option::take),
        });
    }
    let subtotal: i64 = bases.iter().sum();
    Ok(PricedCart {
        currency: cur,
        subtotal: money(subtotal),
        discount: money(discount),
        net: money(taxes.net),
        tax: money(taxes.tax),
        total: money(taxes.gross),
        taxes: taxes.totals.iter().map(tax_out).collect(),
        promotions: outcome
            .applied
            .iter()
            .map(|a| AppliedOut {
                id: a.promo.id.clone(),
                name: a.promo.name.clone(),
                rule: a.promo.kind.to_owned(),
                applications: a.applications,
                discount: money(a.discount),
            })
            .collect(),
        coupons: outcome.coupons.into_iter().map(|c| CouponOut { code: c.code, status: c.status }).collect(),
        order_discount,
        best_deal_exact: outcome.exact,
        lines: out_lines,
    })
}

fn net_of(runs: &[(i64, i64)]) -> i64 {
    runs.iter().map(|(c, a)| c * a).sum()
}

fn manual_amount(d: &ManualDiscount, net: i64, cur: Currency, mode: RoundingMode, what: &str) -> Result<i64> {
    if d.reason.trim().is_empty() {
        return Err(Error::InvalidArgument(format!("manual discount on {what:?} needs a reason")));
    }
    let amount = match (&d.percent, &d.amount) {
        (Some(p), None) => {
            let (n, den) = p.fraction();
            if n > den {
                return Err(Error::InvalidArgument(format!("manual discount on {what:?}: {p}% is more than 100%")));
            }
            p.of(Money::new(net, cur), mode)?.minor()
        }
        (None, Some(a)) => {
            if a.currency() != cur {
                return Err(Error::CurrencyMismatch { expected: cur.code().to_owned(), found: a.currency().code().to_owned() });
            }
            if a.is_negative() {
                return Err(Error::InvalidArgument(format!("manual discount on {what:?}: {a} is negative")));
            }
            a.minor().min(net)
        }
        _ => return Err(Error::InvalidArgument(format!("manual discount on {what:?} needs exactly one of percent or amount"))),
    };
    Ok(amount.min(net).max(0))
}

/// Takes `amount` off line `line`'s runs by net weight (largest remainder), returns the
/// per-unit discount as runs.
fn spread_over_runs(runs: &mut Runs, line: usize, amount: i64) -> Vec<(i64, i64)> {
    let current = runs.of(line);
    let weights: Vec<(i64, u64)> = current.iter().map(|&(c, a)| (c, (c * a).max(0).unsigned_abs())).collect();
    let Ok(parts) = split_over_runs(&weights, amount) else { return Vec::new() };
    let mut new_runs = Vec::with_capacity(current.len() + 1);
    let mut per_unit = Vec::new();
    for (&(_, net), parts) in current.iter().zip(parts) {
        for (count, each) in parts {
            new_runs.push((count, net - each));
            if each > 0 {
                per_unit.push((count, each));
            }
        }
    }
    runs.replace(line, &new_runs);
    merge(&per_unit)
}

/// Runs with equal amounts merged, empty ones dropped, highest amount first.
fn merge(runs: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(runs.len());
    for &(c, a) in runs {
        if c == 0 {
            continue;
        }
        match out.iter_mut().find(|(_, x)| *x == a) {
            Some(r) => r.0 += c,
            None => out.push((c, a)),
        }
    }
    out.sort_by(|x, y| y.1.cmp(&x.1));
    out
}

/// [`merge`] into the output form.
fn merge_runs(runs: &[(i64, i64)], money: impl Fn(i64) -> Money) -> Vec<RunOut> {
    let mut out: Vec<RunOut> = Vec::with_capacity(runs.len());
    for &(c, a) in runs {
        if c == 0 {
            continue;
        }
        match out.iter_mut().find(|r| r.amount.minor() == a) {
            Some(r) => r.count += c,
            None => out.push(RunOut { count: c, amount: money(a) }),
        }
    }
    out.sort_by(|x, y| y.amount.minor().cmp(&x.amount.minor()));
    out
}

// ---- JSON entry point ------------------------------------------------------------------------

/// A self-contained pricing request: lines, rules and context as JSON, for HQ tools, web
/// backends and the shared test vectors (`tests/vectors/`). Amounts are decimal strings in
/// `currency`; schema: `docs/schemas/pricing-request.schema.json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingRequest {
    pub currency: Currency,
    /// RFC 3339 instant, e.g. `"2026-11-27T16:30:00Z"`.
    pub at: String,
    /// IANA time zone of the store, e.g. `"Europe/Berlin"`.
    #[serde(default = "utc")]
    pub time_zone: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub rounding: PricingRounding,
    /// A [`TaxRegime`] (decoded by its own decoder, so errors name their path in it).
    pub tax_regime: serde_json::Value,
    /// An array of [`promotions::Promotion`] (decoded by the promotion decoder).
    #[serde(default)]
    pub promotions: Option<serde_json::Value>,
    #[serde(default)]
    pub customer: Option<RequestCustomer>,
    #[serde(default)]
    pub coupons: Vec<String>,
    #[serde(default)]
    pub usage: std::collections::HashMap<String, RequestUsage>,
    #[serde(default)]
    pub approval_above_percent: Option<Percent>,
    #[serde(default)]
    pub order_discount: Option<RequestDiscount>,
    pub lines: Vec<RequestLine>,
    /// Optional: tenders to settle the total with (`TenderInput` JSON; amounts as
    /// `{"minor": 1234, "currency": "EUR"}` or `"12.34 EUR"`).
    #[serde(default)]
    pub tenders: Option<Vec<super::tender::TenderInput>>,
    /// Cash rounding and offline policy for `tenders`.
    #[serde(default)]
    pub tender_policy: Option<serde_json::Value>,
    /// Outstanding offline card amount before this sale (minor units).
    #[serde(default)]
    pub offline_exposure: i64,
    /// Free text for humans (test vectors say what they check here).
    #[serde(default, rename = "$comment")]
    pub comment: Option<String>,
}

fn utc() -> String {
    "UTC".to_owned()
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestCustomer {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub tax_exempt: bool,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestUsage {
    #[serde(default)]
    pub total: u32,
    #[serde(default)]
    pub by_this_customer: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestDiscount {
    #[serde(default)]
    pub percent: Option<Percent>,
    #[serde(default)]
    pub amount: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestLine {
    pub sku: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Units (exclusive with `grams`).
    #[serde(default)]
    pub quantity: Option<i64>,
    /// Weight from a scale; `unit_price` is then per kilogram.
    #[serde(default)]
    pub grams: Option<i64>,
    pub unit_price: String,
    pub tax_category: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub price_override: Option<RequestOverride>,
    #[serde(default)]
    pub discount: Option<RequestDiscount>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestOverride {
    pub price: String,
    pub reason: String,
}

/// Parses an amount of the request, naming its JSON path in an `INVALID_AMOUNT` error.
fn amount_at(text: &str, cur: Currency, path: &str) -> Result<Money> {
    Money::parse(text, cur).map_err(|e| match e {
        Error::InvalidAmount { input, reason } => Error::InvalidAmount { input, reason: format!("{reason} (pricing request at {path})") },
        other => other,
    })
}

impl RequestDiscount {
    fn to_manual(&self, cur: Currency, path: &str) -> Result<ManualDiscount> {
        Ok(ManualDiscount {
            percent: self.percent,
            amount: self.amount.as_deref().map(|a| amount_at(a, cur, &format!("{path}.amount"))).transpose()?,
            reason: self.reason.clone(),
            needs_approval: false,
        })
    }
}

/// What [`price_json`] returns: the priced cart, and the settlement if tenders were given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceResult {
    #[serde(flatten)]
    pub cart: PricedCart,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<super::tender::Settlement>,
}

/// Prices a JSON [`PricingRequest`] (and settles its tenders, if any) and returns the
/// [`PriceResult`] as JSON. A malformed request is `INVALID_ARGUMENT` naming the JSON path, a
/// bad amount `INVALID_AMOUNT` naming its path; a bad promotion rule `PROMO_INVALID_RULE`, a
/// bad regime `INVALID_TAX_REGIME`, a bad tender its tender error (naming `tenders[i]`).
pub fn price_json(request: &str) -> Result<String> {
    let result = price_and_settle_json(request)?;
    serde_json::to_string(&result).map_err(|e| Error::InvalidArgument(format!("cannot encode the priced cart: {e}")))
}

/// Like [`price_json`], returning the typed result.
pub fn price_and_settle_json(request: &str) -> Result<PriceResult> {
    settle_parsed(request).map_err(|e| super::card_guard::scrub("pricing request", e))
}

fn settle_parsed(request: &str) -> Result<PriceResult> {
    let (cart, req) = price_parsed(request)?;
    let settlement = match &req.tenders {
        None => None,
        Some(tenders) => {
            let policy = match &req.tender_policy {
                None => super::tender::TenderPolicy::default(),
                Some(v) => super::tender::TenderPolicy::from_json_value(v)?,
            };
            let at: jiff::Timestamp = req.at.parse().map_err(|e| Error::InvalidArgument(format!("pricing request at at: {e}")))?;
            let exposure = Money::new(req.offline_exposure, req.currency);
            Some(super::tender::settle(cart.total, tenders, &policy, exposure, at.as_millisecond())?)
        }
    };
    Ok(PriceResult { cart, settlement })
}

/// Prices a JSON [`PricingRequest`], returning the typed priced cart.
pub fn price_request_json(request: &str) -> Result<PricedCart> {
    price_parsed(request).map(|(cart, _)| cart).map_err(|e| super::card_guard::scrub("pricing request", e))
}

fn price_parsed(request: &str) -> Result<(PricedCart, PricingRequest)> {
    let de = &mut serde_json::Deserializer::from_str(request);
    let rest: PricingRequest = serde_path_to_error::deserialize(de)
        .map_err(|e| Error::InvalidArgument(format!("pricing request at {}: {}", e.path(), e.inner())))?;
    // Rules and regimes go through their own decoders, so their errors name paths inside them.
    let promos_json = rest.promotions.as_ref().map_or_else(|| "[]".to_owned(), |v| v.to_string());
    let regime_json = rest.tax_regime.to_string();
    let cur = rest.currency;
    let regime = TaxRegime::from_json(&regime_json)?;
    let promos = PromotionSet::from_json(&promos_json, cur)?;
    let at: jiff::Timestamp = rest.at.parse().map_err(|e| Error::InvalidArgument(format!("pricing request at at: {:?} is not an RFC 3339 instant: {e}", rest.at)))?;
    let tz = jiff::tz::TimeZone::get(&rest.time_zone)
        .map_err(|e| Error::InvalidArgument(format!("pricing request at time_zone: {:?} is not a time zone: {e}", rest.time_zone)))?;
    let mut promo = PromoContext::new(at, tz);
    let customer = rest.customer.clone().unwrap_or_default();
    promo.customer_group = customer.group.clone();
    promo.coupons = rest.coupons.clone();
    promo.usage = rest
        .usage
        .iter()
        .map(|(k, u)| (k.clone(), promotions::Usage { total: u.total, by_this_customer: u.by_this_customer }))
        .collect();
    let mut lines = Vec::with_capacity(rest.lines.len());
    for (i, l) in rest.lines.iter().enumerate() {
        let at = |f: &str| format!("pricing request at lines[{i}].{f}");
        let quantity = match (l.quantity, l.grams) {
            (Some(q), None) => Quantity::Units(q),
            (None, Some(g)) => Quantity::Grams(g),
            _ => return Err(Error::InvalidArgument(format!("{}: needs exactly one of quantity or grams", at("quantity")))),
        };
        let unit_price = amount_at(&l.unit_price, cur, &format!("lines[{i}].unit_price"))?;
        lines.push(PricingLine {
            sku: l.sku.clone(),
            name: l.name.clone().unwrap_or_else(|| l.sku.clone()),
            quantity,
            unit_price,
            tax_category: l.tax_category.clone(),
            categories: l.categories.clone(),
            tags: l.tags.clone(),
            price_override: l
                .price_override
                .as_ref()
                .map(|o| {
                    Ok::<_, Error>(PriceOverride {
                        price: amount_at(&o.price, cur, &format!("lines[{i}].price_override.price"))?,
                        reason: o.reason.clone(),
                    })
                })
                .transpose()?,
            discount: l.discount.as_ref().map(|d| d.to_manual(cur, &format!("lines[{i}].discount"))).transpose()?,
        });
    }
    let ctx = PricingContext {
        currency: cur,
        promotions: &promos,
        mode: rest.mode,
        tax_regime: &regime,
        customer_tax_exempt: customer.tax_exempt,
        promo,
        rounding: rest.rounding,
        approval_above_percent: rest.approval_above_percent,
        order_discount: rest.order_discount.as_ref().map(|d| d.to_manual(cur, "order_discount")).transpose()?,
    };
    let priced = price(&lines, &ctx)?;
    Ok((priced, rest))
}
