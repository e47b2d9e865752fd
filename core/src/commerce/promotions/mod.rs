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

use std::collections::{BTreeMap, HashMap};

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

/// Compiled promotions of one store currency, indexed for fast candidate lookup.
#[derive(Clone, Debug)]
pub struct PromotionSet {
    currency: Currency,
    promos: Vec<Compiled>,
    /// Promotion indices in evaluation order.
    order_pos: Vec<u32>,
    /// (promotion, matcher index) by what a matcher lists.
    by_sku: HashMap<String, Vec<(u32, u8)>>,
    by_category: HashMap<String, Vec<(u32, u8)>>,
    by_tag: HashMap<String, Vec<(u32, u8)>>,
    /// Promotions that can touch any line (targets with `all`, whole-order rules).
    global: Vec<u32>,
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
        let mut order: Vec<u32> = (0..promos.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (pa, pb) = (&promos[a as usize], &promos[b as usize]);
            pb.priority.cmp(&pa.priority).then_with(|| pa.id.cmp(&pb.id))
        });
        let mut order_pos = vec![0u32; promos.len()];
        for (pos, &i) in order.iter().enumerate() {
            order_pos[i as usize] = pos as u32;
        }
        let (mut by_sku, mut by_category, mut by_tag) = (HashMap::new(), HashMap::new(), HashMap::new());
        let mut global = Vec::new();
        for (i, p) in promos.iter().enumerate() {
            let i = i as u32;
            let matchers = p.rule.matchers();
            if matchers.is_empty() || matchers.iter().any(|m| m.all) {
                global.push(i);
            }
            for (k, m) in matchers.into_iter().enumerate() {
                let k = k as u8;
                for s in &m.skus {
                    by_sku.entry(s.clone()).or_insert_with(Vec::new).push((i, k));
                }
                for c in &m.categories {
                    by_category.entry(c.clone()).or_insert_with(Vec::new).push((i, k));
                }
                for t in &m.tags {
                    by_tag.entry(t.clone()).or_insert_with(Vec::new).push((i, k));
                }
            }
        }
        Ok(PromotionSet { currency, promos, order_pos, by_sku, by_category, by_tag, global })
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
        // come from the hits instead of testing every matcher against every line.
        let mut hit = vec![false; self.promos.len()];
        let mut cands: Vec<u32> = Vec::new();
        let mut hits: Vec<(u32, u8, u32)> = Vec::new();
        for &i in &self.global {
            if !std::mem::replace(&mut hit[i as usize], true) {
                cands.push(i);
            }
        }
        for (li, l) in lines.iter().enumerate() {
            let li = li as u32;
            let found = self
                .by_sku
                .get(l.sku)
                .into_iter()
                .chain(l.categories.iter().filter_map(|c| self.by_category.get(c)))
                .chain(l.tags.iter().filter_map(|t| self.by_tag.get(t)))
                .flatten();
            for &(i, k) in found {
                hits.push((i, k, li));
                if !std::mem::replace(&mut hit[i as usize], true) {
                    cands.push(i);
                }
            }
        }
        cands.retain(|&i| self.blocked(&self.promos[i as usize], ctx, &coupons).is_none());
        cands.sort_by_key(|&i| self.order_pos[i as usize]);

        // Candidate slot of each promotion, then its masks.
        let mut slot_of = vec![u32::MAX; self.promos.len()];
        for (k, &i) in cands.iter().enumerate() {
            slot_of[i as usize] = k as u32;
        }
        let mut candidates: Vec<Candidate<'_>> = cands
            .iter()
            .map(|&i| {
                let promo = &self.promos[i as usize];
                let masks = promo.rule.matchers().into_iter().map(|m| vec![m.all; lines.len()]).collect();
                Candidate { promo, masks }
            })
            .collect();
        for (i, k, li) in hits {
            let c = slot_of[i as usize];
            if c != u32::MAX {
                candidates[c as usize].masks[usize::from(k)][li as usize] = true;
            }
        }
        let units: Vec<(i64, i64)> = lines.iter().map(|l| (l.units, l.unit_price.minor())).collect();
        let fresh = State::new(&units);

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
        Ok(self.outcome(lines, ctx, &coupons, &candidates, state, exact))
    }

    fn outcome(
        &self,
        lines: &[PromoLineRef<'_>],
        ctx: &PromoContext,
        coupons: &[String],
        cands: &[Candidate<'_>],
        mut state: State,
        exact: bool,
    ) -> PromoOutcome {
        let cur = self.currency;
        let money = |m: i64| Money::new(m, cur);
        // Slots in line order, then by net price descending (discounted units last).
        state.slots.sort_by(|a, b| a.line.cmp(&b.line).then(b.net.cmp(&a.net)));
        let mut out_lines: Vec<LineOutcome> = lines
            .iter()
            .map(|_| LineOutcome { units: Vec::new(), discount: money(0), net: money(0) })
            .collect();
        // (line, candidate) → runs
        let mut adj: BTreeMap<(usize, u32), Vec<UnitRun>> = BTreeMap::new();
        for s in &state.slots {
            let lo = &mut out_lines[s.line as usize];
            push_run(&mut lo.units, s.count, money(s.net));
            // Sum this slot's discounts per promotion (a promotion may have given twice).
            let mut per_tag: Vec<(u32, i64)> = Vec::new();
            for a in engine::adjustments(&s.adj) {
                match per_tag.iter_mut().find(|(t, _)| *t == a.tag) {
                    Some(e) => e.1 += a.per_unit,
                    None => per_tag.push((a.tag, a.per_unit)),
                }
            }
            for (c, per_unit) in per_tag {
                push_run(adj.entry((s.line as usize, c)).or_default(), s.count, money(per_unit));
            }
        }
        for (i, lo) in out_lines.iter_mut().enumerate() {
            let gross = lines[i].unit_price.minor() * lines[i].units;
            let net: i64 = lo.units.iter().map(|r| r.count * r.amount.minor()).sum();
            lo.net = money(net);
            lo.discount = money(gross - net);
        }
        // Adjustments ordered by line, then by evaluation order of the promotion.
        let adjustments: Vec<Adjustment> = adj
            .into_iter()
            .map(|((line, c), units)| {
                let p = cands[c as usize].promo;
                let amount: i64 = units.iter().map(|r| r.count * r.amount.minor()).sum();
                Adjustment {
                    promotion_id: p.id.clone(),
                    promotion_name: p.name.clone(),
                    rule: p.kind.to_owned(),
                    line,
                    amount: money(amount),
                    units,
                }
            })
            .collect();
        let mut applied_sorted = state.applied.clone();
        applied_sorted.sort_by_key(|a| a.0);
        let applied: Vec<AppliedPromotion> = applied_sorted
            .iter()
            .map(|&(c, apps, d)| {
                let p = cands[c as usize].promo;
                AppliedPromotion { id: p.id.clone(), name: p.name.clone(), rule: p.kind.to_owned(), applications: apps, discount: money(d) }
            })
            .collect();
        let total_discount = money(out_lines.iter().map(|l| l.discount.minor()).sum());

        let mut coupon_results = Vec::new();
        for (k, code) in coupons.iter().enumerate() {
            if coupons[..k].contains(code) {
                continue;
            }
            let unlocks: Vec<&Compiled> = self.promos.iter().filter(|p| p.coupon.as_ref() == Some(code)).collect();
            let status = if unlocks.is_empty() {
                CouponStatus::Invalid
            } else if applied.iter().any(|a| unlocks.iter().any(|p| p.id == a.id)) {
                CouponStatus::Applied
            } else {
                // The most telling reason among its promotions.
                let reasons: Vec<CouponStatus> = unlocks.iter().filter_map(|p| self.blocked(p, ctx, coupons)).collect();
                [CouponStatus::AlreadyUsed, CouponStatus::Expired, CouponStatus::NotYetValid]
                    .into_iter()
                    .find(|r| !reasons.is_empty() && reasons.iter().all(|x| x == r))
                    .unwrap_or(CouponStatus::NotApplicable)
            };
            coupon_results.push(CouponResult { code: code.clone(), status });
        }
        PromoOutcome { lines: out_lines, adjustments, applied, coupons: coupon_results, total_discount, exact }
    }
}

fn push_run(runs: &mut Vec<UnitRun>, count: i64, amount: Money) {
    if count <= 0 {
        return;
    }
    match runs.last_mut() {
        Some(r) if r.amount == amount => r.count += count,
        _ => runs.push(UnitRun { count, amount }),
    }
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
    let lines = cands.first().and_then(|c| c.masks.first()).map_or(0, Vec::len);
    let mut first_on_line: Vec<Option<usize>> = vec![None; lines];
    for (k, c) in cands.iter().enumerate() {
        for mask in &c.masks {
            for (line, &on) in mask.iter().enumerate() {
                if !on {
                    continue;
                }
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
