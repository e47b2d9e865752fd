//! The promotion engine: runs compiled promotions over the units of a cart.
//!
//! A cart is seen as *slots*: runs of identical units of one line (same current net price,
//! same adjustments). Rules pick units (cheapest or most expensive first), splitting slots when
//! they take part of one, and record every discount per unit. A discount spread over several
//! units is split by largest remainder weighted by their net prices, so the parts always sum
//! exactly to the discount and no unit goes below zero.
//!
//! Stacking: promotions run in order (priority high → low, then id). A non-stackable item
//! promotion *claims* the units it uses (qualifiers and rewards); a claimed unit is not
//! available to other non-stackable item promotions. Stackable promotions and order-level
//! promotions work on the current net prices of any unit and claim nothing. Within one
//! promotion a unit serves one application only.

use std::rc::Rc;

use super::model::{CGroup, CRule, Compiled, Pick, TierBasis, TierReward};
use crate::money::{Percent, RoundingMode, allocate_minor, div_round};

/// A slot's discounts as a shared, immutable list: splitting a slot copies a pointer, not the
/// history (carts with many applied promotions split slots often).
#[derive(Debug)]
pub(crate) struct Adj {
    /// Candidate index.
    pub tag: u32,
    /// Discount per unit.
    pub per_unit: i64,
    pub next: Option<Rc<Adj>>,
}

/// Iterates a slot's discounts (newest first; one candidate may appear more than once).
pub(crate) fn adjustments(head: &Option<Rc<Adj>>) -> impl Iterator<Item = &Adj> {
    std::iter::successors(head.as_deref(), |a| a.next.as_deref())
}

/// A run of `count` identical units of line `line`.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub line: u32,
    pub count: i64,
    /// Current net price per unit, minor units.
    pub net: i64,
    /// Used by a non-stackable item promotion.
    pub claimed: bool,
    /// Last promotion (candidate index + 1) that used this run in one of its applications.
    pub used_by: u32,
    /// Discounts per unit, newest first.
    pub adj: Option<Rc<Adj>>,
}

/// The running state of one evaluation.
#[derive(Clone, Debug)]
pub(crate) struct State {
    pub slots: Vec<Slot>,
    pub any_applied: bool,
    pub stopped: bool,
    /// Per candidate: (applications, discount) for those that applied.
    pub applied: Vec<(u32, i64, i64)>,
    pub total: i64,
    /// Discount given so far (kept as it happens, so no pass over all slots is needed).
    pub given: i64,
}

impl State {
    pub fn new(units: &[(i64, i64)]) -> State {
        let slots: Vec<Slot> = units
            .iter()
            .enumerate()
            .filter(|(_, (count, _))| *count > 0)
            .map(|(i, &(count, price))| Slot {
                line: i as u32,
                count,
                net: price,
                claimed: false,
                used_by: 0,
                adj: None,
            })
            .collect();
        let total = slots.iter().map(|s| s.net.saturating_mul(s.count)).fold(0i64, i64::saturating_add);
        State { slots, any_applied: false, stopped: false, applied: Vec::new(), total, given: 0 }
    }
}

/// A candidate promotion with its per-line masks.
pub(crate) struct Candidate<'p> {
    pub promo: &'p Compiled,
    /// One mask per matcher of the rule, in `CRule::matchers` order (empty for whole-order).
    pub masks: Vec<Vec<bool>>,
}

struct Ctx<'a, 'p> {
    cand: &'a Candidate<'p>,
    tag: u32,
    rounding: RoundingMode,
}

/// Applies candidate `index` to `state` (respecting exclusive / stop-further), returns the
/// discount it gave.
pub(crate) fn apply(state: &mut State, cand: &Candidate<'_>, index: u32, rounding: RoundingMode) -> i64 {
    let p = cand.promo;
    if state.stopped || (p.exclusive && state.any_applied) {
        return 0;
    }
    let cx = Ctx { cand, tag: index + 1, rounding };
    let (apps, discount) = run_rule(state, &cx);
    if discount > 0 {
        state.any_applied = true;
        state.applied.push((index, apps, discount));
        state.total -= discount;
        if p.exclusive || p.stop_further {
            state.stopped = true;
        }
    }
    discount
}

/// A selection of units: (slot index, count).
type Pickd = Vec<(usize, i64)>;

impl Ctx<'_, '_> {
    fn item_level_claims(&self) -> bool {
        !self.cand.promo.stackable && !self.cand.promo.rule.is_order_level()
    }

    /// Slots a matcher (by mask index) may take from now.
    fn available(&self, state: &State, mask: usize) -> Vec<usize> {
        let m = &self.cand.masks[mask];
        let claims = self.item_level_claims();
        (0..state.slots.len())
            .filter(|&i| {
                let s = &state.slots[i];
                m[s.line as usize] && s.count > 0 && s.net > 0 && !(claims && s.claimed) && s.used_by != self.tag
            })
            .collect()
    }
}

fn order_slots(state: &State, mut idx: Vec<usize>, pick: Pick) -> Vec<usize> {
    // Deterministic: by price, then line, then slot index.
    idx.sort_by(|&a, &b| {
        let (sa, sb) = (&state.slots[a], &state.slots[b]);
        let by_price = match pick {
            Pick::Cheapest => sa.net.cmp(&sb.net),
            Pick::MostExpensive => sb.net.cmp(&sa.net),
        };
        by_price.then(sa.line.cmp(&sb.line)).then(a.cmp(&b))
    });
    idx
}

/// Picks `k` units from `ordered` slots, skipping units already in `taken`. `None` if fewer.
fn pick_units(state: &State, ordered: &[usize], k: i64, taken: &Pickd) -> Option<Pickd> {
    let mut need = k;
    let mut out = Vec::new();
    for &i in ordered {
        if need == 0 {
            break;
        }
        let already: i64 = taken.iter().filter(|(s, _)| *s == i).map(|(_, c)| *c).sum();
        let free = state.slots[i].count - already;
        if free <= 0 {
            continue;
        }
        let n = free.min(need);
        out.push((i, n));
        need -= n;
    }
    (need == 0).then_some(out)
}

/// Makes each picked part its own slot and returns the slot indices holding exactly the picks.
/// `picks` must name each slot at most once (see [`merge`]); splits append, so the other
/// indices stay valid.
fn isolate(state: &mut State, picks: &Pickd) -> Vec<usize> {
    let mut out = Vec::with_capacity(picks.len());
    for &(i, n) in picks {
        let s = &mut state.slots[i];
        if n < s.count {
            let mut rest = s.clone();
            rest.count = s.count - n;
            s.count = n;
            state.slots.push(rest);
        }
        out.push(i);
    }
    out
}

/// Merges picks so each slot appears once (summing counts).
fn merge(mut picks: Pickd) -> Pickd {
    picks.sort_by_key(|p| p.0);
    let mut out: Pickd = Vec::with_capacity(picks.len());
    for (i, n) in picks {
        match out.last_mut() {
            Some(last) if last.0 == i => last.1 += n,
            _ => out.push((i, n)),
        }
    }
    out
}

/// Spreads `discount` over the units of `slots` weighted by net price (largest remainder),
/// then evenly within each slot (splitting it when units differ by one minor unit).
fn spread(state: &mut State, slots: &[usize], discount: i64, tag: u32) {
    if discount <= 0 || slots.is_empty() {
        return;
    }
    let weights: Vec<u64> = slots.iter().map(|&i| (state.slots[i].net.max(0) * state.slots[i].count.max(0)).unsigned_abs()).collect();
    let total_w: u64 = weights.iter().fold(0u64, |a, w| a.saturating_add(*w));
    let Ok(shares) = allocate_minor(discount.min(i64::try_from(total_w).unwrap_or(i64::MAX)), &weights) else { return };
    for (k, &i) in slots.iter().enumerate() {
        give(state, i, shares[k], tag);
    }
}

/// Gives a slot `share` minor units of discount in total, evenly per unit.
fn give(state: &mut State, i: usize, share: i64, tag: u32) {
    if share <= 0 {
        return;
    }
    let count = state.slots[i].count;
    let base = share / count;
    let extra = share % count;
    if extra > 0 {
        // `extra` units get base + 1: a slot of their own (placed after the base units).
        let mut plus = state.slots[i].clone();
        plus.count = extra;
        state.slots[i].count = count - extra;
        state.slots.push(plus);
        let last = state.slots.len() - 1;
        discount_slot(state, last, base + 1, tag);
    }
    discount_slot(state, i, base, tag);
}

/// Takes `per_unit` (at most the net) off every unit of slot `i`; returns the total given.
fn discount_slot(state: &mut State, i: usize, per_unit: i64, tag: u32) -> i64 {
    let s = &mut state.slots[i];
    if per_unit <= 0 {
        return 0;
    }
    let per_unit = per_unit.min(s.net);
    s.net -= per_unit;
    s.adj = Some(Rc::new(Adj { tag: tag - 1, per_unit, next: s.adj.take() }));
    let given = per_unit * s.count;
    state.given += given;
    given
}

fn mark(state: &mut State, slots: &[usize], claim: bool, tag: u32) {
    for &i in slots {
        let s = &mut state.slots[i];
        s.used_by = tag;
        if claim {
            s.claimed = true;
        }
    }
}

fn sum_net(state: &State, slots: &[usize]) -> i64 {
    slots.iter().map(|&i| state.slots[i].net.saturating_mul(state.slots[i].count)).fold(0, i64::saturating_add)
}

fn pct(amount: i64, p: Percent, mode: RoundingMode) -> i64 {
    let (n, d) = p.fraction();
    i64::try_from(div_round(i128::from(amount) * n, d, mode)).unwrap_or(i64::MAX).min(amount.max(0))
}

/// Isolates `picks` as whole slots (each slot picked at most once after `merge`).
fn take(state: &mut State, picks: Pickd) -> Vec<usize> {
    let picks = merge(picks);
    isolate(state, &picks)
}

/// Runs the rule once over the state. Returns (applications, discount).
fn run_rule(state: &mut State, cx: &Ctx<'_, '_>) -> (i64, i64) {
    let before = state.given;
    let claims = cx.item_level_claims();
    let tag = cx.tag;
    let apps = match &cx.cand.promo.rule {
        CRule::PercentOff { percent, .. } => {
            let slots = cx.available(state, 0);
            let mut n = 0;
            for i in slots {
                let d = pct(state.slots[i].net * state.slots[i].count, *percent, cx.rounding);
                if d > 0 {
                    n += state.slots[i].count;
                    mark(state, &[i], claims, tag);
                    give(state, i, d, tag);
                }
            }
            n
        }
        CRule::AmountOff { amount, .. } => {
            let slots = cx.available(state, 0);
            let mut n = 0;
            for i in slots {
                let per_unit = (*amount).min(state.slots[i].net);
                if per_unit > 0 {
                    n += state.slots[i].count;
                    mark(state, &[i], claims, tag);
                    discount_slot(state, i, per_unit, tag);
                }
            }
            n
        }
        CRule::OrderPercentOff { m, percent, min_spend } => {
            let slots = order_slots_for(state, cx, m.is_some());
            let base = sum_net(state, &slots);
            if base <= 0 || base < *min_spend {
                0
            } else {
                let d = pct(base, *percent, cx.rounding);
                spread(state, &slots, d, tag);
                1
            }
        }
        CRule::OrderAmountOff { m, amount, min_spend } => {
            let slots = order_slots_for(state, cx, m.is_some());
            let base = sum_net(state, &slots);
            if base <= 0 || base < *min_spend {
                0
            } else {
                spread(state, &slots, (*amount).min(base), tag);
                1
            }
        }
        CRule::FixedPrice { quantity, price, max, .. } => {
            let mut apps = 0;
            while apps < *max {
                let ordered = order_slots(state, cx.available(state, 0), Pick::MostExpensive);
                let Some(group) = pick_units(state, &ordered, *quantity, &Vec::new()) else { break };
                let total: i64 = group.iter().map(|&(i, n)| state.slots[i].net * n).sum();
                if total <= *price {
                    break; // most expensive first: no later group is worth more
                }
                let slots = take(state, group);
                mark(state, &slots, claims, tag);
                spread(state, &slots, total - price, tag);
                apps += 1;
            }
            apps
        }
        CRule::BuyXGetY { buy, get, percent, reward, max } => {
            let mut apps = 0;
            while apps < *max {
                // Feasibility: rewards, and qualifiers among the other units.
                let Some((_, rewards)) = pick_bxgy(state, cx, buy, get, *reward) else { break };
                let reward_total: i64 = rewards.iter().map(|&(i, n)| state.slots[i].net * n).sum();
                let d = pct(reward_total, *percent, cx.rounding);
                if d <= 0 {
                    break;
                }
                // Take the rewards (marked as used by this promotion), then pick the qualifiers
                // again from what is left: the same units as the feasibility pick, under the
                // slot indices the split produced.
                let reward_slots = take(state, rewards);
                mark(state, &reward_slots, claims, tag);
                let quals_ordered = order_slots(state, cx.available(state, 0), Pick::MostExpensive);
                let Some(quals) = pick_units(state, &quals_ordered, buy.quantity, &Vec::new()) else {
                    // Unreachable (the feasibility pick found them); never leave a claim behind.
                    for &i in &reward_slots {
                        state.slots[i].claimed = false;
                    }
                    break;
                };
                let qual_slots = take(state, quals);
                mark(state, &qual_slots, claims, tag);
                spread(state, &reward_slots, d, tag);
                apps += 1;
            }
            apps
        }
        CRule::Tiered { basis, tiers, .. } => {
            let slots = cx.available(state, 0);
            let measure = match basis {
                TierBasis::Quantity => slots.iter().map(|&i| state.slots[i].count).sum::<i64>(),
                TierBasis::Spend => sum_net(state, &slots),
            };
            match tiers.iter().rev().find(|t| measure >= t.min) {
                None => 0,
                Some(tier) => {
                    let base = sum_net(state, &slots);
                    let d = match &tier.reward {
                        TierReward::Percent(p) => pct(base, *p, cx.rounding),
                        TierReward::Amount(a) => (*a).min(base),
                    };
                    if d <= 0 {
                        return (0, 0);
                    }
                    mark(state, &slots, claims, tag);
                    spread(state, &slots, d, tag);
                    1
                }
            }
        }
        CRule::Bundle { groups, price, percent, max } => {
            let mut apps = 0;
            while apps < *max {
                let mut picked: Pickd = Vec::new();
                let mut ok = true;
                for (g, group) in groups.iter().enumerate() {
                    let ordered = order_slots(state, cx.available(state, g), Pick::MostExpensive);
                    match pick_units(state, &ordered, group.quantity, &picked) {
                        Some(p) => picked.extend(p),
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                if !ok {
                    break;
                }
                let total: i64 = picked.iter().map(|&(i, n)| state.slots[i].net * n).sum();
                let d = match (price, percent) {
                    (Some(p), _) => total - p,
                    (None, Some(p)) => pct(total, *p, cx.rounding),
                    (None, None) => 0,
                };
                if d <= 0 {
                    break;
                }
                let slots = take(state, picked);
                mark(state, &slots, claims, tag);
                spread(state, &slots, d, tag);
                apps += 1;
            }
            apps
        }
    };
    // Every branch above marks or splits units only together with a positive discount, so a
    // promotion that gives nothing leaves no claims behind.
    (apps, state.given - before)
}

fn pick_bxgy(state: &State, cx: &Ctx<'_, '_>, buy: &CGroup, get: &CGroup, reward: Pick) -> Option<(Pickd, Pickd)> {
    // Rewards first (cheapest or most expensive of the get set), then qualifiers from the buy
    // set, most expensive first, excluding the reward units.
    let rewards_ordered = order_slots(state, cx.available(state, 1), reward);
    let rewards = pick_units(state, &rewards_ordered, get.quantity, &Vec::new())?;
    let quals_ordered = order_slots(state, cx.available(state, 0), Pick::MostExpensive);
    let quals = pick_units(state, &quals_ordered, buy.quantity, &rewards)?;
    Some((quals, rewards))
}

fn order_slots_for(state: &State, cx: &Ctx<'_, '_>, has_target: bool) -> Vec<usize> {
    (0..state.slots.len())
        .filter(|&i| {
            let s = &state.slots[i];
            s.count > 0 && s.net > 0 && (!has_target || cx.cand.masks[0][s.line as usize])
        })
        .collect()
}

/// An upper bound on the discount `cand` can give in any state reachable from `fresh`
/// (fewer available units, lower net prices). Used to prune the best-deal search.
pub(crate) fn upper_bound(fresh: &State, cand: &Candidate<'_>) -> i64 {
    let units_of = |mask: &Vec<bool>| -> Vec<(i64, i64)> {
        fresh.slots.iter().filter(|s| mask[s.line as usize] && s.net > 0).map(|s| (s.net, s.count)).collect()
    };
    let sum = |u: &[(i64, i64)]| u.iter().map(|(p, c)| p * c).sum::<i64>();
    let count = |u: &[(i64, i64)]| u.iter().map(|(_, c)| c).sum::<i64>();
    // Sum of the `k` most expensive units.
    let top = |u: &[(i64, i64)], k: i64| -> i64 {
        let mut v = u.to_vec();
        v.sort_by(|a, b| b.0.cmp(&a.0));
        let mut need = k;
        let mut s = 0;
        for (p, c) in v {
            if need <= 0 {
                break;
            }
            let n = c.min(need);
            s += p * n;
            need -= n;
        }
        s
    };
    let pct_up = |amount: i64, p: &Percent, units: i64| -> i64 {
        let (n, d) = p.fraction();
        // Exact share rounded up, plus one minor unit per unit for per-slot rounding.
        i64::try_from(div_round(i128::from(amount) * n, d, RoundingMode::Up)).unwrap_or(i64::MAX).saturating_add(units)
    };
    let all: Vec<bool> = vec![true; fresh.slots.iter().map(|s| s.line as usize + 1).max().unwrap_or(0)];
    match &cand.promo.rule {
        CRule::PercentOff { percent, .. } => {
            let u = units_of(&cand.masks[0]);
            pct_up(sum(&u), percent, count(&u)).min(sum(&u))
        }
        CRule::AmountOff { amount, .. } => units_of(&cand.masks[0]).iter().map(|(p, c)| (*p).min(*amount) * c).sum(),
        CRule::OrderPercentOff { m, percent, .. } => {
            let u = units_of(if m.is_some() { &cand.masks[0] } else { &all });
            pct_up(sum(&u), percent, 1).min(sum(&u))
        }
        CRule::OrderAmountOff { m, amount, .. } => {
            let u = units_of(if m.is_some() { &cand.masks[0] } else { &all });
            (*amount).min(sum(&u))
        }
        CRule::FixedPrice { quantity, price, max, .. } => {
            let u = units_of(&cand.masks[0]);
            let apps = (count(&u) / quantity).min(*max);
            (1..=apps).map(|a| top(&u, a.saturating_mul(*quantity)) - a.saturating_mul(*price)).max().unwrap_or(0).max(0)
        }
        CRule::BuyXGetY { buy, get, percent, max, .. } => {
            let gu = units_of(&cand.masks[1]);
            let bu = units_of(&cand.masks[0]);
            let apps = (count(&gu) / get.quantity).min(count(&bu) / buy.quantity).min(*max);
            let apps = apps.min(count(&gu).max(count(&bu))); // finite
            let k = apps.saturating_mul(get.quantity);
            pct_up(top(&gu, k), percent, 1).min(top(&gu, k))
        }
        CRule::Tiered { basis: _, tiers, .. } => {
            let u = units_of(&cand.masks[0]);
            let base = sum(&u);
            tiers
                .iter()
                .map(|t| match &t.reward {
                    TierReward::Percent(p) => pct_up(base, p, 1).min(base),
                    TierReward::Amount(a) => (*a).min(base),
                })
                .max()
                .unwrap_or(0)
        }
        CRule::Bundle { groups, price, percent, max } => {
            let mut union = vec![false; cand.masks[0].len()];
            for m in &cand.masks {
                for (k, v) in m.iter().enumerate() {
                    union[k] |= *v;
                }
            }
            let u = units_of(&union);
            let per_app: i64 = groups.iter().map(|g| g.quantity).sum();
            let apps = groups
                .iter()
                .zip(&cand.masks)
                .map(|(g, m)| count(&units_of(m)) / g.quantity)
                .min()
                .unwrap_or(0)
                .min(*max);
            (1..=apps)
                .map(|a| {
                    let t = top(&u, a.saturating_mul(per_app));
                    match (price, percent) {
                        (Some(p), _) => t - a.saturating_mul(*p),
                        (None, Some(p)) => pct_up(t, p, 1).min(t),
                        _ => 0,
                    }
                })
                .max()
                .unwrap_or(0)
                .max(0)
        }
    }
}
