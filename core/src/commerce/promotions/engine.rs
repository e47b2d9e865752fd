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

use smallvec::SmallVec;

use super::model::{CGroup, CRule, Compiled, Pick, TierBasis, TierReward};
use crate::money::{Percent, RoundingMode, allocate_minor_into, div_round};

/// One discount of a slot, in the state's list of them ([`State::adj`]): a slot holds the
/// index of its newest and each links to the one before, so splitting a slot copies an index,
/// not the history (carts with many applied promotions split slots often), and the lists of
/// the slots split from one share their tails.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Adj {
    /// Candidate index.
    pub tag: u32,
    /// The previous discount of the slot ([`NONE`]: none).
    next: u32,
    /// Discount per unit.
    pub per_unit: i64,
}

/// No slot or discount (end of a chain).
const NONE: u32 = u32::MAX;

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
    /// Discounts per unit, newest first: index in [`State::adj`] ([`NONE`]: none).
    adj: u32,
    /// The next slot of the same line ([`NONE`]: the last). Line `l`'s chain starts at slot
    /// `l`, so a rule finds a line's units without scanning the cart.
    pub next: u32,
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
    /// Number of lines (= the first slots).
    pub lines: usize,
    /// Every slot's discounts (see [`Adj`]).
    adj: Vec<Adj>,
}

impl State {
    /// One slot per line, slot `l` for line `l` (a line of no units keeps an empty slot, which
    /// no rule takes).
    pub fn new(units: impl ExactSizeIterator<Item = (i64, i64)>) -> State {
        // Room for the splits rules make, so applying them does not move every slot.
        let mut slots: Vec<Slot> = Vec::with_capacity(units.len() * 2);
        slots.extend(units.enumerate().map(|(i, (count, price))| Slot {
            line: i as u32,
            count: count.max(0),
            net: price,
            claimed: false,
            used_by: 0,
            adj: NONE,
            next: NONE,
        }));
        let total = slots.iter().map(|s| s.net.saturating_mul(s.count)).fold(0i64, i64::saturating_add);
        let adj = Vec::with_capacity(slots.len());
        State { lines: slots.len(), slots, any_applied: false, stopped: false, applied: Vec::new(), total, given: 0, adj }
    }

    /// The slots of line `line` (slot `line` first, then its splits in no particular order).
    pub fn line_slots(&self, line: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(line), |&i| {
            let next = self.slots[i].next;
            (next != NONE).then_some(next as usize)
        })
    }

    /// Slot `i`'s discounts, newest first (one candidate may appear more than once).
    pub fn adjustments(&self, i: usize) -> impl Iterator<Item = &Adj> {
        let first = self.slots[i].adj;
        std::iter::successors(self.adj.get(first as usize), |a| self.adj.get(a.next as usize))
    }
}

/// A candidate promotion with its per-line masks.
pub(crate) struct Candidate<'p> {
    pub promo: &'p Compiled,
    /// One mask per matcher of the rule, in `CRule::matcher` order (none for whole-order),
    /// `words` words each: bit `l % 64` of word `l / 64` is set when line `l` matches.
    pub masks: &'p [u64],
    pub words: usize,
}

impl Candidate<'_> {
    pub fn mask(&self, k: usize) -> &[u64] {
        &self.masks[k * self.words..(k + 1) * self.words]
    }

    pub fn matches(&self, k: usize, line: usize) -> bool {
        self.masks[k * self.words + line / 64] >> (line % 64) & 1 == 1
    }
}

/// The set bits of a bit set (bit `b % 64` of word `b / 64`), ascending: the lines of a mask.
pub(crate) fn ones(bits: &[u64]) -> impl Iterator<Item = usize> + '_ {
    bits.iter().enumerate().flat_map(|(w, &word)| {
        std::iter::successors((word != 0).then_some(word), |&rest| {
            let rest = rest & (rest - 1);
            (rest != 0).then_some(rest)
        })
        .map(move |rest| w * 64 + rest.trailing_zeros() as usize)
    })
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
type Pickd = SmallVec<[(usize, i64); 8]>;

/// Slot indices (a rule touches a few at a time: kept inline, not on the heap).
type Slots = SmallVec<[usize; 8]>;

impl Ctx<'_, '_> {
    fn item_level_claims(&self) -> bool {
        !self.cand.promo.stackable && !self.cand.promo.rule.is_order_level()
    }

    /// Slots a matcher (by mask index) may take from now, in slot order.
    fn available(&self, state: &State, mask: usize) -> Slots {
        let claims = self.item_level_claims();
        let mut out = Slots::new();
        let mut split = false;
        for line in ones(self.cand.mask(mask)) {
            for i in state.line_slots(line) {
                let s = &state.slots[i];
                if s.count > 0 && s.net > 0 && !(claims && s.claimed) && s.used_by != self.tag {
                    out.push(i);
                    split |= i >= state.lines;
                }
            }
        }
        // Lines come in order, but a line's later slots were appended after every line's
        // first one.
        if split {
            out.sort_unstable();
        }
        out
    }
}

fn order_slots(state: &State, mut idx: Slots, pick: Pick) -> Slots {
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
    let mut out = Pickd::new();
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

/// Moves `moved` of slot `i`'s units to a new slot (appended, so other indices stay valid,
/// and chained after `i` in its line) and returns the new slot's index.
fn split_off(state: &mut State, i: usize, moved: i64) -> usize {
    let new = state.slots.len();
    let s = &mut state.slots[i];
    let mut part = s.clone();
    part.count = moved;
    s.count -= moved;
    s.next = new as u32;
    state.slots.push(part);
    new
}

/// Makes each picked part its own slot and returns the slot indices holding exactly the picks.
/// `picks` must name each slot at most once (see [`merge`]); splits append, so the other
/// indices stay valid.
fn isolate(state: &mut State, picks: &Pickd) -> Slots {
    let mut out = Slots::with_capacity(picks.len());
    for &(i, n) in picks {
        let count = state.slots[i].count;
        if n < count {
            split_off(state, i, count - n);
        }
        out.push(i);
    }
    out
}

/// Merges picks so each slot appears once (summing counts).
fn merge(mut picks: Pickd) -> Pickd {
    picks.sort_by_key(|p| p.0);
    let mut out = Pickd::with_capacity(picks.len());
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
    let weights: SmallVec<[u64; 8]> = slots.iter().map(|&i| (state.slots[i].net.max(0) * state.slots[i].count.max(0)).unsigned_abs()).collect();
    let total_w: u64 = weights.iter().fold(0u64, |a, w| a.saturating_add(*w));
    let mut shares: SmallVec<[i64; 8]> = SmallVec::from_elem(0, slots.len());
    if allocate_minor_into(discount.min(i64::try_from(total_w).unwrap_or(i64::MAX)), &weights, &mut shares).is_err() {
        return;
    }
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
        let last = split_off(state, i, extra);
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
    state.adj.push(Adj { tag: tag - 1, per_unit, next: s.adj });
    s.adj = (state.adj.len() - 1) as u32;
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
fn take(state: &mut State, picks: Pickd) -> Slots {
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
                let Some(group) = pick_units(state, &ordered, *quantity, &Pickd::new()) else { break };
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
                let Some(quals) = pick_units(state, &quals_ordered, buy.quantity, &Pickd::new()) else {
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
                let mut picked = Pickd::new();
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
    let rewards = pick_units(state, &rewards_ordered, get.quantity, &Pickd::new())?;
    let quals_ordered = order_slots(state, cx.available(state, 0), Pick::MostExpensive);
    let quals = pick_units(state, &quals_ordered, buy.quantity, &rewards)?;
    Some((quals, rewards))
}

fn order_slots_for(state: &State, cx: &Ctx<'_, '_>, has_target: bool) -> Slots {
    (0..state.slots.len())
        .filter(|&i| {
            let s = &state.slots[i];
            s.count > 0 && s.net > 0 && (!has_target || cx.cand.matches(0, s.line as usize))
        })
        .collect()
}

/// An upper bound on the discount `cand` can give in any state reachable from `fresh`
/// (fewer available units, lower net prices). Used to prune the best-deal search.
pub(crate) fn upper_bound(fresh: &State, cand: &Candidate<'_>) -> i64 {
    // A fresh state has one slot per line: slot `l` is line `l`. `None`: every line.
    let units_of = |mask: Option<&[u64]>| -> Vec<(i64, i64)> {
        let slot = |l: usize| &fresh.slots[l];
        match mask {
            Some(m) => ones(m).map(slot).filter(|s| s.net > 0).map(|s| (s.net, s.count)).collect(),
            None => fresh.slots.iter().filter(|s| s.net > 0).map(|s| (s.net, s.count)).collect(),
        }
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
    match &cand.promo.rule {
        CRule::PercentOff { percent, .. } => {
            let u = units_of(Some(cand.mask(0)));
            pct_up(sum(&u), percent, count(&u)).min(sum(&u))
        }
        CRule::AmountOff { amount, .. } => units_of(Some(cand.mask(0))).iter().map(|(p, c)| (*p).min(*amount) * c).sum(),
        CRule::OrderPercentOff { m, percent, .. } => {
            let u = units_of(m.as_ref().map(|_| cand.mask(0)));
            pct_up(sum(&u), percent, 1).min(sum(&u))
        }
        CRule::OrderAmountOff { m, amount, .. } => {
            let u = units_of(m.as_ref().map(|_| cand.mask(0)));
            (*amount).min(sum(&u))
        }
        CRule::FixedPrice { quantity, price, max, .. } => {
            let u = units_of(Some(cand.mask(0)));
            let apps = (count(&u) / quantity).min(*max);
            (1..=apps).map(|a| top(&u, a.saturating_mul(*quantity)) - a.saturating_mul(*price)).max().unwrap_or(0).max(0)
        }
        CRule::BuyXGetY { buy, get, percent, max, .. } => {
            let gu = units_of(Some(cand.mask(1)));
            let bu = units_of(Some(cand.mask(0)));
            let apps = (count(&gu) / get.quantity).min(count(&bu) / buy.quantity).min(*max);
            let apps = apps.min(count(&gu).max(count(&bu))); // finite
            let k = apps.saturating_mul(get.quantity);
            pct_up(top(&gu, k), percent, 1).min(top(&gu, k))
        }
        CRule::Tiered { basis: _, tiers, .. } => {
            let u = units_of(Some(cand.mask(0)));
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
            let mut union = vec![0u64; cand.words];
            for g in 0..groups.len() {
                for (u, w) in union.iter_mut().zip(cand.mask(g)) {
                    *u |= *w;
                }
            }
            let u = units_of(Some(&union));
            let per_app: i64 = groups.iter().map(|g| g.quantity).sum();
            let apps = groups
                .iter()
                .enumerate()
                .map(|(k, g)| count(&units_of(Some(cand.mask(k)))) / g.quantity)
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
