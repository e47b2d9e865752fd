//! Property tests of the promotion engine: allocation invariants on random carts and rules,
//! and best deal equal to exhaustive search over every subset of promotions.

use aisle::commerce::promotions::{Mode, PromoContext, PromoLine, PromoOutcome, PromotionSet};
use aisle::{Currency, Money, RoundingMode};
use proptest::prelude::*;

const SKUS: [&str; 4] = ["A", "B", "C", "D"];

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::subsequence(SKUS.to_vec(), 1..=3).prop_map(|s| format!(r#"{{"skus":{}}}"#, serde_json::to_string(&s).unwrap())),
        Just(r#"{"all":true}"#.to_owned()),
        Just(r#"{"categories":["food"]}"#.to_owned()),
    ]
}

fn money_text() -> impl Strategy<Value = String> {
    (0i64..2000).prop_map(|m| format!("{}.{:02}", m / 100, m % 100))
}

fn rule() -> impl Strategy<Value = String> {
    prop_oneof![
        (target(), 1u32..=100).prop_map(|(t, p)| format!(r#"{{"type":"percent_off","target":{t},"percent":"{p}"}}"#)),
        (target(), money_text()).prop_map(|(t, a)| format!(r#"{{"type":"amount_off","target":{t},"amount":"{a}"}}"#)),
        (1u32..=50, money_text()).prop_map(|(p, m)| format!(r#"{{"type":"order_percent_off","percent":"{p}","min_spend":"{m}"}}"#)),
        (money_text(), money_text()).prop_map(|(a, m)| format!(r#"{{"type":"order_amount_off","amount":"{a}","min_spend":"{m}"}}"#)),
        (target(), 1u32..4, money_text(), prop::option::of(1u32..3)).prop_map(|(t, q, p, max)| {
            let max = max.map(|m| format!(r#","max_applications":{m}"#)).unwrap_or_default();
            format!(r#"{{"type":"fixed_price","target":{t},"quantity":{q},"price":"{p}"{max}}}"#)
        }),
        (target(), 1u32..3, target(), 1u32..3, 1u32..=100, any::<bool>(), prop::option::of(1u32..3)).prop_map(
            |(bt, bq, gt, gq, p, cheap, max)| {
                let reward = if cheap { "cheapest" } else { "most_expensive" };
                let max = max.map(|m| format!(r#","max_applications":{m}"#)).unwrap_or_default();
                format!(
                    r#"{{"type":"buy_x_get_y","buy":{{"target":{bt},"quantity":{bq}}},"get":{{"target":{gt},"quantity":{gq}}},"percent":"{p}","reward":"{reward}"{max}}}"#
                )
            }
        ),
        (target(), any::<bool>(), 1u32..4, 1u32..=30).prop_map(|(t, qty, min, p)| {
            let (basis, min) = if qty { ("quantity", min.to_string()) } else { ("spend", format!("{min}.00")) };
            format!(r#"{{"type":"tiered","target":{t},"basis":"{basis}","tiers":[{{"min":"{min}","percent":"{p}"}}]}}"#)
        }),
        (target(), target(), money_text()).prop_map(|(a, b, p)| format!(
            r#"{{"type":"bundle","groups":[{{"target":{a},"quantity":1}},{{"target":{b},"quantity":1}}],"price":"{p}"}}"#
        )),
    ]
}

/// Item-level rules only, none exclusive or stop-further: best deal then searches groups of
/// promotions that share lines separately, which must still equal exhaustive search.
fn item_promotions(max: usize) -> impl Strategy<Value = Vec<String>> {
    let item_rule = rule().prop_filter("item-level", |r| !r.contains("\"order_"));
    prop::collection::vec((item_rule, 0i32..3, any::<bool>()), 1..=max).prop_map(|rules| {
        rules
            .into_iter()
            .enumerate()
            .map(|(i, (r, prio, stack))| format!(r#"{{"id":"P{i}","priority":{prio},"stackable":{stack},"rule":{r}}}"#))
            .collect()
    })
}

fn promotions(max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec((rule(), 0i32..3, any::<bool>(), any::<bool>(), any::<bool>()), 1..=max).prop_map(|rules| {
        rules
            .into_iter()
            .enumerate()
            .map(|(i, (r, prio, stack, excl, stop))| {
                format!(
                    r#"{{"id":"P{i}","priority":{prio},"stackable":{stack},"exclusive":{},"stop_further":{},"rule":{r}}}"#,
                    excl && i % 3 == 0,
                    stop && i % 4 == 1
                )
            })
            .collect()
    })
}

fn cart() -> impl Strategy<Value = Vec<PromoLine>> {
    prop::collection::vec((0usize..4, 1i64..5, 0i64..1500, any::<bool>()), 1..6).prop_map(|ls| {
        ls.into_iter()
            .map(|(s, units, price, food)| PromoLine {
                sku: SKUS[s].to_owned(),
                categories: if food { vec!["food".to_owned()] } else { vec![] },
                tags: vec![],
                units,
                unit_price: Money::new(price, Currency::EUR),
            })
            .collect()
    })
}

fn ctx() -> PromoContext {
    PromoContext::new(jiff::Timestamp::UNIX_EPOCH, jiff::tz::TimeZone::UTC)
}

fn eval(promos: &[String], lines: &[PromoLine], mode: Mode) -> PromoOutcome {
    let set = PromotionSet::from_json(&format!("[{}]", promos.join(",")), Currency::EUR).expect("valid rules");
    set.evaluate(lines, &ctx(), mode, RoundingMode::HalfUp).expect("evaluates")
}

fn check(o: &PromoOutcome, lines: &[PromoLine]) -> Result<(), TestCaseError> {
    for (i, (lo, li)) in o.lines.iter().zip(lines).enumerate() {
        prop_assert_eq!(lo.units.iter().map(|r| r.count).sum::<i64>(), li.units);
        prop_assert_eq!(lo.net.minor() + lo.discount.minor(), li.units * li.unit_price.minor());
        prop_assert!(lo.units.iter().all(|r| r.amount.minor() >= 0), "no unit below zero");
        prop_assert!(lo.discount.minor() >= 0);
        let adj: i64 = o.adjustments.iter().filter(|a| a.line == i).map(|a| a.amount.minor()).sum();
        prop_assert_eq!(adj, lo.discount.minor());
    }
    for a in &o.adjustments {
        prop_assert_eq!(a.units.iter().map(|r| r.count * r.amount.minor()).sum::<i64>(), a.amount.minor());
        prop_assert!(a.amount.minor() > 0);
    }
    prop_assert_eq!(o.applied.iter().map(|a| a.discount.minor()).sum::<i64>(), o.total_discount.minor());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn allocations_always_sum_exactly(promos in promotions(6), lines in cart()) {
        let o = eval(&promos, &lines, Mode::Priority);
        check(&o, &lines)?;
        let b = eval(&promos, &lines, Mode::BestDeal);
        check(&b, &lines)?;
        prop_assert!(b.total_discount.minor() >= o.total_discount.minor(), "best deal never worse than priority");
    }

    #[test]
    fn best_deal_by_groups_equals_exhaustive_search(promos in item_promotions(7), lines in cart()) {
        let best = eval(&promos, &lines, Mode::BestDeal);
        prop_assert!(best.exact);
        let n = promos.len();
        let mut brute = 0i64;
        for mask in 1u32..(1 << n) {
            let subset: Vec<String> = (0..n).filter(|i| mask & (1 << i) != 0).map(|i| promos[i].clone()).collect();
            brute = brute.max(eval(&subset, &lines, Mode::Priority).total_discount.minor());
        }
        prop_assert_eq!(best.total_discount.minor(), brute);
        check(&best, &lines)?;
    }

    #[test]
    fn best_deal_equals_exhaustive_search(promos in promotions(7), lines in cart()) {
        let best = eval(&promos, &lines, Mode::BestDeal);
        prop_assert!(best.exact);
        let n = promos.len();
        let mut brute = i64::MIN;
        for mask in 0u32..(1 << n) {
            let subset: Vec<String> = (0..n).filter(|i| mask & (1 << i) != 0).map(|i| promos[i].clone()).collect();
            let d = if subset.is_empty() { 0 } else { eval(&subset, &lines, Mode::Priority).total_discount.minor() };
            brute = brute.max(d);
        }
        prop_assert_eq!(best.total_discount.minor(), brute);
    }
}
