//! Promotions: rules as data (JSON), compiled once into a [`PromotionSet`], evaluated against
//! a cart's lines into per-unit adjustments.
//!
//! Two modes: [`Mode::Priority`] runs the eligible promotions in priority order (exclusive and
//! stop-further respected); [`Mode::BestDeal`] picks the subset of eligible promotions whose
//! priority-order evaluation gives the lowest customer total. Best deal is exact — equal to
//! trying every subset — by a depth-first search over include/exclude decisions in priority
//! order with a bound that prunes subsets that cannot beat the best found. The first leaf it
//! visits is the priority-mode result, so best deal is never worse. Beyond
//! [`BEST_DEAL_EXACT_LIMIT`] candidates or [`BEST_DEAL_NODE_BUDGET`] search nodes it returns the
//! best found so far (documented in `docs/commerce.md`).
//!
//! This module never touches SQLite: usage counts, coupons, the clock and the time zone come
//! in through [`PromoContext`].

mod engine;
mod model;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;

pub use model::{
    AmountOff, Bundle, BuyXGetY, Conditions, FixedPrice, Group, OrderAmountOff, OrderPercentOff, PercentOff, Pick,
    Promotion, Rule, Target, Tier, TierBasis, Tiered, UsageLimit, Window, parse_promotions,
};

use engine::{Candidate, State};
use model::Compiled;

use crate::error::{Error, Result};
use crate::money::{Currency, Money, RoundingMode};

/// Exact best-deal search is guaranteed for groups of up to this many interacting candidates
/// (candidates on disjoint lines form separate groups, searched one by one).
pub const BEST_DEAL_EXACT_LIMIT: usize = 20;
/// Search nodes after which best deal returns the best found so far.
/// (2^21: a full search over 20 candidates fits, so up to 20 the result is always exact.)
pub const BEST_DEAL_NODE_BUDGET: u64 = 1 << 21;

/// How promotions combine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// In priority order, respecting exclusive and stop-further.
    #[default]
    Priority,
    /// The combination with the lowest customer total.
    BestDeal,
}

/// One cart line as the promotion engine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromoLine {
    pub sku: String,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    /// Number of units (a weighed line is one unit).
    pub units: i64,
    /// Price of one unit before promotions (a weighed line: the line amount).
    pub unit_price: Money,
}

/// A [`PromoLine`] by reference: what the pricing pipeline passes, so pricing a cart copies
/// no SKUs, categories or tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PromoLineRef<'a> {
    pub sku: &'a str,
    pub categories: &'a [String],
    pub tags: &'a [String],
    pub units: i64,
    pub unit_price: Money,
}

impl PromoLine {
    pub fn as_ref(&self) -> PromoLineRef<'_> {
        PromoLineRef { sku: &self.sku, categories: &self.categories, tags: &self.tags, units: self.units, unit_price: self.unit_price }
    }
}

/// How often a promotion was used so far (from completed sales).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub total: u32,
    pub by_this_customer: u32,
}

/// Everything outside the cart that decides whether a promotion applies.
#[derive(Clone, Debug)]
pub struct PromoContext {
    /// When the cart is priced.
    pub at: jiff::Timestamp,
    /// The store's time zone: windows are in local time.
    pub time_zone: jiff::tz::TimeZone,
    pub customer_group: Option<String>,
    /// Coupon codes entered (case-insensitive).
    pub coupons: Vec<String>,
    /// Usage so far, by promotion id.
    pub usage: HashMap<String, Usage>,
}

impl PromoContext {
    pub fn new(at: jiff::Timestamp, time_zone: jiff::tz::TimeZone) -> PromoContext {
        PromoContext { at, time_zone, customer_group: None, coupons: Vec::new(), usage: HashMap::new() }
    }
}

/// What became of a coupon code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponStatus {
    /// A promotion it unlocks applied.
    Applied,
    /// Valid, but the cart does not qualify (yet).
    NotApplicable,
    /// No promotion uses this code.
    Invalid,
    /// Its promotions' windows have all ended.
    Expired,
    /// Its promotions are not valid yet.
    NotYetValid,
    /// Its promotions reached their usage limit.
    AlreadyUsed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CouponResult {
    pub code: String,
    pub status: CouponStatus,
}

/// `count` units, each with `amount`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitRun {
    pub count: i64,
    pub amount: Money,
}

/// One promotion's discount on one line, per unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjustment {
    pub promotion_id: String,
    pub promotion_name: String,
    /// The rule type, e.g. `"buy_x_get_y"`.
    pub rule: String,
    /// Index of the line in the input.
    pub line: usize,
    /// Total discount on the line (positive).
    pub amount: Money,
    /// The discount per unit; sums to `amount`. Units not discounted are not listed.
    pub units: Vec<UnitRun>,
}

/// A line after promotions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineOutcome {
    /// Net price per unit after all promotions, as runs summing to the line's units.
    pub units: Vec<UnitRun>,
    pub discount: Money,
    pub net: Money,
}

/// A promotion that applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedPromotion {
    pub id: String,
    pub name: String,
    pub rule: String,
    pub applications: i64,
    pub discount: Money,
}

/// The result of evaluating promotions on a cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromoOutcome {
    pub lines: Vec<LineOutcome>,
    pub adjustments: Vec<Adjustment>,
    pub applied: Vec<AppliedPromotion>,
    pub coupons: Vec<CouponResult>,
    pub total_discount: Money,
    /// Whether best deal was proven optimal (always true in priority mode).
    pub exact: bool,
}

/// FxHash (as in rustc): the index's keys are SKUs, categories and tags from the store's own
/// promotions, looked up a few hundred times per cart, where SipHash's flood resistance buys
/// nothing and costs a third of the lookup.
#[derive(Clone, Copy, Default)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A promotion (by index) whose matcher (by index) lists a key, and whether the promotion
/// needs a coupon.
#[derive(Clone, Copy, Debug)]
struct Entry {
    promo: u32,
    matcher: u32,
    gated: bool,
}

type Index = HashMap<String, Vec<Entry>, BuildHasherDefault<FxHasher>>;

/// Promotions by what their matchers list.
#[derive(Clone, Debug, Default)]
struct Keys {
    by_sku: Index,
    by_category: Index,
    by_tag: Index,
}

impl Keys {
    fn add(&mut self, m: &model::Matcher, e: Entry) {
        for s in &m.skus {
            self.by_sku.entry(s.clone()).or_default().push(e);
        }
        for c in &m.categories {
            self.by_category.entry(c.clone()).or_default().push(e);
        }
        for t in &m.tags {
            self.by_tag.entry(t.clone()).or_default().push(e);
        }
    }

    /// Adds (promotion, matcher, `line`) for every entry under `l`'s SKU, categories and
    /// tags that `keep` keeps.
    fn hits(&self, l: &PromoLineRef<'_>, line: u32, hits: &mut Vec<(u32, u32, u32)>, keep: impl Fn(&Entry) -> bool) {
        let mut add = |entries: Option<&Vec<Entry>>| {
            for e in entries.into_iter().flatten() {
                if keep(e) {
                    hits.push((e.promo, e.matcher, line));
                }
            }
        };
        add(self.by_sku.get(l.sku));
        // Most stores target few categories or tags: skip the lookups when none is.
        if !self.by_category.is_empty() {
            for c in l.categories {
                add(self.by_category.get(c.as_str()));
            }
        }
        if !self.by_tag.is_empty() {
            for t in l.tags {
                add(self.by_tag.get(t.as_str()));
            }
        }
    }
}

/// Compiled promotions of one store currency, indexed for fast candidate lookup.
#[derive(Clone, Debug)]
pub struct PromotionSet {
    currency: Currency,
    /// In evaluation order (priority high → low, then id), so a promotion's index is its rank.
    promos: Vec<Compiled>,
    /// (promotion, matcher index) by what a matcher lists: promotions open to every cart, and
    /// those behind a coupon (looked up only when the cart carries one).
    open: Keys,
    gated: Keys,
    /// Promotions that can touch any line (targets with `all`, whole-order rules), ascending
    /// (`matcher` unused).
    global: Vec<Entry>,
}

impl PromotionSet {
    /// Validates and compiles `promotions`; amounts are in `currency`.
    pub fn new(promotions: &[Promotion], currency: Currency) -> Result<PromotionSet> {
        let mut promos = Vec::with_capacity(promotions.len());
        let mut seen = HashMap::new();
        for (i, p) in promotions.iter().enumerate() {
            if let Some(first) = seen.insert(p.id.clone(), i) {
                return Err(model::invalid(&format!("[{i}].id"), &format!("duplicate id {:?} (also [{first}])", p.id)));
            }
            promos.push(Compiled::compile(p, currency, &format!("[{i}]"))?);
        }
        // Ids are unique, so this order is total.
        promos.sort_by(|pa, pb| pb.priority.cmp(&pa.priority).then_with(|| pa.id.cmp(&pb.id)));
        let (mut open, mut gated) = (Keys::default(), Keys::default());
        let mut global = Vec::new();
        for (i, p) in promos.iter().enumerate() {
            let entry = |matcher: usize| Entry { promo: i as u32, matcher: matcher as u32, gated: p.coupon.is_some() };
            if p.rule.matcher_count() == 0 || p.rule.matchers().any(|m| m.all) {
                global.push(entry(0));
            }
            for (k, m) in p.rule.matchers().enumerate() {
                if p.coupon.is_some() { &mut gated } else { &mut open }.add(m, entry(k));
            }
        }
        Ok(PromotionSet { currency, promos, open, gated, global })
    }

    /// Parses a JSON array of promotions and compiles it.
    pub fn from_json(json: &str, currency: Currency) -> Result<PromotionSet> {
        PromotionSet::new(&parse_promotions(json)?, currency)
    }

    pub fn len(&self) -> usize {
        self.promos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.promos.is_empty()
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Why promotion `p` may not apply in `ctx`, if it may not.
    fn blocked(&self, p: &Compiled, ctx: &PromoContext, coupons: &[String]) -> Option<CouponStatus> {
        if let Some(code) = &p.coupon {
            if !coupons.iter().any(|c| c == code) {
                return Some(CouponStatus::Invalid);
            }
        }
        if !p.customer_groups.is_empty() && !ctx.customer_group.as_ref().is_some_and(|g| p.customer_groups.contains(g)) {
            return Some(CouponStatus::NotApplicable);
        }
        if let Some(w) = &p.window {
            let local = ctx.time_zone.to_datetime(ctx.at);
            if !w.contains(local) {
                return Some(if w.to.is_some_and(|t| local >= t) {
                    CouponStatus::Expired
                } else if w.from.is_some_and(|f| local < f) {
                    CouponStatus::NotYetValid
                } else {
                    CouponStatus::NotApplicable
                });
            }
        }
        if let Some(limit) = &p.usage_limit {
            let used = ctx.usage.get(&p.id).copied().unwrap_or_default();
            if limit.total.is_some_and(|t| used.total >= t) || limit.per_customer.is_some_and(|t| used.by_this_customer >= t) {
                return Some(CouponStatus::AlreadyUsed);
            }
        }
        None
    }

    /// Evaluates the promotions against `lines`. Lines must be in the set's currency.
    pub fn evaluate(&self, lines: &[PromoLine], ctx: &PromoContext, mode: Mode, rounding: RoundingMode) -> Result<PromoOutcome> {
        let refs: Vec<PromoLineRef<'_>> = lines.iter().map(PromoLine::as_ref).collect();
        self.evaluate_refs(&refs, ctx, mode, rounding)
    }

    /// [`PromotionSet::evaluate`] on borrowed lines.
    pub fn evaluate_refs(
        &self,
        lines: &[PromoLineRef<'_>],
        ctx: &PromoContext,
        mode: Mode,
        rounding: RoundingMode,
    ) -> Result<PromoOutcome> {
        let e = self.evaluate_lines(lines, ctx, mode, rounding)?;
        let cur = self.currency;
        let money = |m: i64| Money::new(m, cur);
        let runs = |span: (u32, u32), of: &[(i64, i64)]| -> Vec<UnitRun> {
            of[span.0 as usize..span.1 as usize].iter().map(|&(count, a)| UnitRun { count, amount: money(a) }).collect()
        };
        let out_lines: Vec<LineOutcome> = lines
            .iter()
            .zip(&e.line_runs)
            .map(|(l, &span)| {
                let units = runs(span, &e.runs);
                let net: i64 = units.iter().map(|r| r.count * r.amount.minor()).sum();
                LineOutcome { units, discount: money(l.unit_price.minor() * l.units - net), net: money(net) }
            })
            .collect();
        let adjustments = e
            .adjustments
            .iter()
            .map(|a| Adjustment {
                promotion_id: a.promo.id.clone(),
                promotion_name: a.promo.name.clone(),
                rule: a.promo.kind.to_owned(),
                line: a.line,
                amount: money(a.amount),
                units: runs(a.runs, &e.adjustment_runs),
            })
            .collect();
        let applied = e
            .applied
            .iter()
            .map(|a| AppliedPromotion {
                id: a.promo.id.clone(),
                name: a.promo.name.clone(),
                rule: a.promo.kind.to_owned(),
                applications: a.applications,
                discount: money(a.discount),
            })
            .collect();
        let total_discount = money(out_lines.iter().map(|l| l.discount.minor()).sum());
        Ok(PromoOutcome { lines: out_lines, adjustments, applied, coupons: e.coupons, total_discount, exact: e.exact })
    }

    /// The evaluation itself, in minor units, borrowing the promotions' names (what pricing
    /// turns into its own output without copying twice).
    pub(crate) fn evaluate_lines(
        &self,
        lines: &[PromoLineRef<'_>],
        ctx: &PromoContext,
        mode: Mode,
        rounding: RoundingMode,
    ) -> Result<Evaluation<'_>> {
        for l in lines {
            if l.unit_price.currency() != self.currency {
                return Err(Error::CurrencyMismatch {
                    expected: self.currency.code().to_owned(),
                    found: l.unit_price.currency().code().to_owned(),
                });
            }
            if l.units < 0 || l.unit_price.is_negative() {
                return Err(Error::InvalidArgument(format!(
                    "line {:?}: units and unit price must not be negative",
                    l.sku
                )));
            }
            l.unit_price.checked_mul(l.units)?;
        }
        // The whole cart fits in i64, so every sum of its (non-negative, shrinking) parts the
        // engine forms does too.
        Money::sum(self.currency, lines.iter().map(|l| Money::new(l.unit_price.minor().saturating_mul(l.units), self.currency)))?;
        let coupons: Vec<String> = ctx.coupons.iter().map(|c| c.trim().to_ascii_uppercase()).collect();

        // Candidates: promotions indexed under something in the cart, plus global ones. The
        // index hits also say which matcher of which promotion accepts which line, so masks
        // come from the hits instead of testing every matcher against every line. Promotion
        // indices are evaluation ranks.
        // A promotion behind a coupon the cart does not carry is out before anything else
        // (stores gate many order- and category-wide promotions behind coupons).
        let unlocked = |i: u32| !coupons.is_empty() && self.promos[i as usize].coupon.as_ref().is_none_or(|c| coupons.contains(c));
        let mut hits: Vec<(u32, u32, u32)> = Vec::with_capacity(lines.len() * 2);
        for (li, l) in lines.iter().enumerate() {
            self.open.hits(l, li as u32, &mut hits, |_| true);
            if !coupons.is_empty() {
                self.gated.hits(l, li as u32, &mut hits, |e| unlocked(e.promo));
            }
        }
        // The promotions hit, as bits: read in order, they are the candidates in evaluation
        // order (no sort), and a candidate's slot is the number of candidates before it.
        let mut seen = vec![0u64; self.promos.len().div_ceil(64)];
        let mut see = |i: u32| seen[i as usize / 64] |= 1 << (i % 64);
        for &(i, ..) in &hits {
            see(i);
        }
        for e in &self.global {
            if !e.gated || unlocked(e.promo) {
                see(e.promo);
            }
        }
        let words = lines.len().div_ceil(64);
        let mut bits: Vec<u64> = Vec::with_capacity((hits.len() + 4) * words);
        // (promotion, first word of its masks), and per word of `seen` the candidates before it.
        let mut chosen: Vec<(u32, usize)> = Vec::with_capacity(hits.len() + 4);
        let mut before: Vec<u32> = Vec::with_capacity(seen.len());
        for w in 0..seen.len() {
            before.push(chosen.len() as u32);
            let word = seen[w];
            for bit in engine::ones(std::slice::from_ref(&word)) {
                let i = (w * 64 + bit) as u32;
                let promo = &self.promos[i as usize];
                if self.blocked(promo, ctx, &coupons).is_some() {
                    seen[w] &= !(1 << (i % 64));
                    continue;
                }
                let base = bits.len();
                bits.resize(base + promo.rule.matcher_count() * words, 0);
                for (k, m) in promo.rule.matchers().enumerate() {
                    if m.all {
                        let mask = &mut bits[base + k * words..base + (k + 1) * words];
                        mask.fill(u64::MAX);
                        if lines.len() % 64 != 0 {
                            mask[words - 1] = (1u64 << (lines.len() % 64)) - 1;
                        }
                    }
                }
                chosen.push((i, base));
            }
        }
        for &(i, k, li) in &hits {
            let (w, bit) = (i as usize / 64, 1u64 << (i % 64));
            if seen[w] & bit != 0 {
                let slot = before[w] + (seen[w] & (bit - 1)).count_ones();
                let li = li as usize;
                bits[chosen[slot as usize].1 + k as usize * words + li / 64] |= 1 << (li % 64);
            }
        }
        let candidates: Vec<Candidate<'_>> = chosen
            .iter()
            .map(|&(i, base)| {
                let promo = &self.promos[i as usize];
                Candidate { promo, masks: &bits[base..base + promo.rule.matcher_count() * words], words }
            })
            .collect();
        let mut fresh = State::new(lines.iter().map(|l| (l.units, l.unit_price.minor())));
        fresh.applied.reserve(candidates.len());

        let (state, exact) = match mode {
            Mode::Priority => {
                let mut s = fresh;
                for (k, c) in candidates.iter().enumerate() {
                    engine::apply(&mut s, c, k as u32, rounding);
                }
                (s, true)
            }
            Mode::BestDeal => best_deal(fresh, &candidates, rounding),
        };
        let promo_of = |c: u32| &self.promos[chosen[c as usize].0 as usize];
        Ok(self.outcome(lines.len(), ctx, coupons, promo_of, state, exact))
    }

    fn outcome<'s>(
        &'s self,
        lines: usize,
        ctx: &PromoContext,
        coupons: Vec<String>,
        promo_of: impl Fn(u32) -> &'s Compiled,
        mut state: State,
        exact: bool,
    ) -> Evaluation<'s> {
        state.applied.sort_by_key(|a| a.0);
        let mut runs: Vec<(i64, i64)> = Vec::with_capacity(state.slots.len());
        let mut line_runs: Vec<(u32, u32)> = Vec::with_capacity(lines);
        // (line, candidate, slot, count, discount per unit) for every discount of every slot.
        let mut given: Vec<(u32, u32, u32, i64, i64)> = Vec::with_capacity(state.slots.len());
        let mut order: SmallVec<[usize; 8]> = SmallVec::new();
        for line in 0..lines {
            // The line's slots by net price descending (discounted units last), ties in slot
            // order.
            order.clear();
            order.extend(state.line_slots(line));
            order.sort_unstable_by(|&a, &b| state.slots[b].net.cmp(&state.slots[a].net).then(a.cmp(&b)));
            let start = runs.len();
            for &k in &order {
                let s = &state.slots[k];
                push_run(&mut runs, start, s.count, s.net);
                given.extend(state.adjustments(k).map(|a| (line as u32, a.tag, k as u32, s.count, a.per_unit)));
            }
            line_runs.push((start as u32, runs.len() as u32));
        }
        // Adjustments ordered by line, then by evaluation order of the promotion; within one,
        // runs in slot order, a slot's discounts from one promotion summed (it may have given
        // twice).
        given.sort_by_key(|&(line, c, ..)| (line, c));
        let mut adjustments: Vec<RawAdjustment<'s>> = Vec::with_capacity(state.applied.len() * 2);
        let mut adjustment_runs: Vec<(i64, i64)> = Vec::with_capacity(given.len());
        let mut k = 0;
        while k < given.len() {
            let (line, c, ..) = given[k];
            let start = adjustment_runs.len();
            while k < given.len() && given[k].0 == line && given[k].1 == c {
                let (.., slot, count, _) = given[k];
                let mut per_unit = 0;
                while k < given.len() && given[k].0 == line && given[k].1 == c && given[k].2 == slot {
                    per_unit += given[k].4;
                    k += 1;
                }
                push_run(&mut adjustment_runs, start, count, per_unit);
            }
            let amount = adjustment_runs[start..].iter().map(|(c, a)| c * a).sum();
            adjustments.push(RawAdjustment {
                promo: promo_of(c),
                line: line as usize,
                amount,
                runs: (start as u32, adjustment_runs.len() as u32),
            });
        }
        let applied: Vec<RawApplied<'s>> = state
            .applied
            .iter()
            .map(|&(c, applications, discount)| RawApplied { promo: promo_of(c), applications, discount })
            .collect();

        let mut coupon_results = Vec::new();
        for (k, code) in coupons.iter().enumerate() {
            if coupons[..k].contains(code) {
                continue;
            }
            let unlocks: Vec<&Compiled> = self.promos.iter().filter(|p| p.coupon.as_ref() == Some(code)).collect();
            let status = if unlocks.is_empty() {
                CouponStatus::Invalid
            } else if applied.iter().any(|a| unlocks.iter().any(|p| p.id == a.promo.id)) {
                CouponStatus::Applied
            } else {
                // The most telling reason among its promotions.
                let reasons: Vec<CouponStatus> = unlocks.iter().filter_map(|p| self.blocked(p, ctx, &coupons)).collect();
                [CouponStatus::AlreadyUsed, CouponStatus::Expired, CouponStatus::NotYetValid]
                    .into_iter()
                    .find(|r| !reasons.is_empty() && reasons.iter().all(|x| x == r))
                    .unwrap_or(CouponStatus::NotApplicable)
            };
            coupon_results.push(CouponResult { code: code.clone(), status });
        }
        Evaluation { runs, line_runs, adjustments, adjustment_runs, applied, coupons: coupon_results, exact }
    }
}

/// What [`PromotionSet::evaluate_lines`] returns: [`PromoOutcome`] in minor units, with runs
/// in two flat lists and the promotions borrowed.
pub(crate) struct Evaluation<'s> {
    /// Net per unit after promotions as (count, amount) runs, highest amount first; line `i`'s
    /// are `runs[line_runs[i].0..line_runs[i].1]`, summing to its units.
    pub runs: Vec<(i64, i64)>,
    pub line_runs: Vec<(u32, u32)>,
    /// Ordered by line, then by evaluation order of the promotion.
    pub adjustments: Vec<RawAdjustment<'s>>,
    /// The adjustments' discounts per unit (see [`RawAdjustment::runs`]).
    pub adjustment_runs: Vec<(i64, i64)>,
    /// In evaluation order.
    pub applied: Vec<RawApplied<'s>>,
    pub coupons: Vec<CouponResult>,
    pub exact: bool,
}

/// One promotion's discount on one line.
pub(crate) struct RawAdjustment<'s> {
    pub promo: &'s Compiled,
    pub line: usize,
    pub amount: i64,
    /// The discount per unit: `adjustment_runs[runs.0..runs.1]`.
    pub runs: (u32, u32),
}

pub(crate) struct RawApplied<'s> {
    pub promo: &'s Compiled,
    pub applications: i64,
    pub discount: i64,
}

/// Appends `count` units of `amount` to the runs from `start`, merging with the last one.
fn push_run(runs: &mut Vec<(i64, i64)>, start: usize, count: i64, amount: i64) {
    if count <= 0 {
        return;
    }
    if runs.len() > start {
        if let Some(last) = runs.last_mut().filter(|r| r.1 == amount) {
            last.0 += count;
            return;
        }
    }
    runs.push((count, amount));
}

/// Exact best deal. Candidates that touch disjoint sets of lines — and none of which is
/// exclusive, stop-further or order-level, which act on the whole cart — cannot affect each
/// other, so the search runs per group of candidates connected through shared lines, each
/// group on the state the previous groups left; the total is then the sum of the groups'
/// optima. Within a group: DFS over include/exclude in evaluation order, pruned by bounds.
fn best_deal(fresh: State, cands: &[Candidate<'_>], rounding: RoundingMode) -> (State, bool) {
    let bounds: Vec<i64> = cands.iter().map(|c| engine::upper_bound(&fresh, c).max(0)).collect();
    let mut state = fresh;
    let mut exact = true;
    for group in independent_groups(cands) {
        let (best, group_exact) = search_group(state, cands, &group, &bounds, rounding);
        state = best;
        exact &= group_exact;
    }
    (state, exact)
}

/// Groups of candidate indices (each in evaluation order) that can only affect each other.
fn independent_groups(cands: &[Candidate<'_>]) -> Vec<Vec<usize>> {
    let whole_cart = |c: &Candidate<'_>| c.promo.exclusive || c.promo.stop_further || c.promo.rule.is_order_level();
    if cands.iter().any(whole_cart) {
        return vec![(0..cands.len()).collect()];
    }
    // Union-find over candidates, joined through every line they touch.
    let mut parent: Vec<usize> = (0..cands.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let lines = cands.first().map_or(0, |c| c.words * 64);
    let mut first_on_line: Vec<Option<usize>> = vec![None; lines];
    for (k, c) in cands.iter().enumerate() {
        for m in 0..c.promo.rule.matcher_count() {
            for line in engine::ones(c.mask(m)) {
                match first_on_line[line] {
                    None => first_on_line[line] = Some(k),
                    Some(other) => {
                        let (a, b) = (find(&mut parent, k), find(&mut parent, other));
                        parent[a] = b;
                    }
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for k in 0..cands.len() {
        let root = find(&mut parent, k);
        let g = *group_of_root.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(k);
    }
    groups
}

/// DFS over include/exclude of `group` (candidate indices in evaluation order) from `start`.
fn search_group(start: State, cands: &[Candidate<'_>], group: &[usize], bounds: &[i64], rounding: RoundingMode) -> (State, bool) {
    // suffix[k] = what candidates group[k..] could still save at most.
    let mut suffix = vec![0i64; group.len() + 1];
    for k in (0..group.len()).rev() {
        suffix[k] = suffix[k + 1].saturating_add(bounds[group[k]]);
    }
    struct Search<'a, 'p> {
        cands: &'a [Candidate<'p>],
        group: &'a [usize],
        suffix: Vec<i64>,
        rounding: RoundingMode,
        best: Option<State>,
        nodes: u64,
        exhausted: bool,
    }
    impl Search<'_, '_> {
        fn go(&mut self, k: usize, state: State) {
            self.nodes += 1;
            if self.nodes > BEST_DEAL_NODE_BUDGET {
                self.exhausted = true;
            }
            let best_total = self.best.as_ref().map_or(i64::MAX, |b| b.total);
            if k == self.group.len() || state.stopped || self.exhausted {
                if state.total < best_total {
                    self.best = Some(state);
                }
                return;
            }
            // Even if every remaining candidate gave its maximum, could this beat the best?
            if state.total.saturating_sub(self.suffix[k]) >= best_total {
                return;
            }
            let c = self.group[k];
            let mut with = state.clone();
            let d = engine::apply(&mut with, &self.cands[c], c as u32, self.rounding);
            if d > 0 {
                self.go(k + 1, with);
            }
            // Excluding k: when k changed nothing, this is the only branch.
            self.go(k + 1, state);
        }
    }
    let mut s = Search { cands, group, suffix, rounding, best: None, nodes: 0, exhausted: false };
    let fallback = start.clone();
    s.go(0, start);
    (s.best.unwrap_or(fallback), !s.exhausted)
}
