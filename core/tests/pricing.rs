//! The pricing pipeline end to end (promotions → manual discounts → tax), including the classic
//! traps, and property tests that totals equal the sum of their parts.

use aisle::commerce::pricing::{ManualDiscount, PriceOverride, PricedCart, PricingContext, PricingLine, PricingRounding, Quantity, price};
use aisle::commerce::promotions::{Mode, PromoContext, PromotionSet};
use aisle::commerce::tax::TaxRegime;
use aisle::{Currency, Money, Percent};
use proptest::prelude::*;

fn eur(m: i64) -> Money {
    Money::new(m, Currency::EUR)
}

fn vat(level: &str) -> TaxRegime {
    TaxRegime::from_json(&format!(
        r#"{{"id":"vat","prices_include_tax":true,"rounding":{{"mode":"half_up","level":"{level}"}},
            "rates":[{{"id":"std","name":"VAT 20%","categories":["standard"],"percent":"20"}},
                     {{"id":"red","name":"VAT 5%","categories":["reduced"],"percent":"5"}},
                     {{"id":"zero","name":"VAT 0%","categories":["zero"],"percent":"0"}}]}}"#
    ))
    .unwrap()
}

fn sales_tax(level: &str) -> TaxRegime {
    TaxRegime::from_json(&format!(
        r#"{{"id":"ny","prices_include_tax":false,"rounding":{{"mode":"half_up","level":"{level}"}},
            "rates":[{{"id":"ny","name":"NY 8.875%","categories":["standard","reduced"],"percent":"8.875"}}],
            "exempt_categories":["zero"]}}"#
    ))
    .unwrap()
}

fn line(sku: &str, units: i64, price: i64, cat: &str) -> PricingLine {
    PricingLine {
        sku: sku.into(),
        name: sku.into(),
        quantity: Quantity::Units(units),
        unit_price: eur(price),
        tax_category: cat.into(),
        categories: vec![],
        tags: vec![],
        price_override: None,
        discount: None,
    }
}

fn ctx<'a>(promos: &'a PromotionSet, regime: &'a TaxRegime) -> PricingContext<'a> {
    PricingContext {
        currency: Currency::EUR,
        promotions: promos,
        mode: Mode::Priority,
        tax_regime: regime,
        customer_tax_exempt: false,
        promo: PromoContext::new(jiff::Timestamp::UNIX_EPOCH, jiff::tz::TimeZone::UTC),
        rounding: PricingRounding::default(),
        approval_above_percent: None,
        order_discount: None,
    }
}

fn promos(json: &str) -> PromotionSet {
    PromotionSet::from_json(json, Currency::EUR).unwrap()
}

fn assert_sums(p: &PricedCart) {
    let sum = |f: fn(&aisle::commerce::pricing::PricedLine) -> Money| p.lines.iter().map(|l| f(l).minor()).sum::<i64>();
    assert_eq!(sum(|l| l.base), p.subtotal.minor());
    assert_eq!(sum(|l| l.discount), p.discount.minor());
    assert_eq!(sum(|l| l.net), p.net.minor());
    assert_eq!(sum(|l| l.tax), p.tax.minor());
    assert_eq!(sum(|l| l.gross), p.total.minor());
    assert_eq!(p.net.minor() + p.tax.minor(), p.total.minor());
    assert_eq!(p.taxes.iter().map(|t| t.amount.minor()).sum::<i64>(), p.tax.minor());
    for l in &p.lines {
        assert_eq!(l.base.minor() - l.discount.minor(), l.amount.minor());
        assert_eq!(l.adjustments.iter().map(|a| a.amount.minor()).sum::<i64>(), l.discount.minor());
        assert_eq!(l.units.iter().map(|r| r.count * r.amount.minor()).sum::<i64>(), l.amount.minor());
        assert_eq!(l.units.iter().map(|r| r.count).sum::<i64>(), l.quantity.units());
    }
}

#[test]
fn hundred_percent_discount_leaves_no_residual_cent_under_total_rounding() {
    let regime = vat("total");
    let p = promos(r#"[{"id":"FREE","rule":{"type":"percent_off","target":{"skus":["GIFT"]},"percent":"100"}}]"#);
    let lines = [line("GIFT", 3, 333, "standard"), line("MILK", 3, 119, "standard")];
    let priced = price(&lines, &ctx(&p, &regime)).unwrap();
    assert_sums(&priced);
    assert_eq!(priced.lines[0].gross, eur(0));
    assert_eq!(priced.lines[0].tax, eur(0), "a free line carries no tax cent");
    assert_eq!(priced.total, eur(357));
}

#[test]
fn tax_inclusive_buy_x_get_y_discounts_the_gross_price() {
    let regime = vat("line");
    let p = promos(r#"[{"id":"B1G1","rule":{"type":"buy_x_get_y","buy":{"target":{"skus":["WINE"]},"quantity":1},"get":{"target":{"skus":["WINE"]},"quantity":1}}}]"#);
    let priced = price(&[line("WINE", 2, 1200, "standard")], &ctx(&p, &regime)).unwrap();
    assert_sums(&priced);
    // The customer pays one shelf price, 12.00 gross, of which 2.00 VAT.
    assert_eq!(priced.total, eur(1200));
    assert_eq!(priced.tax, eur(200));
    assert_eq!(priced.lines[0].adjustments[0].amount, eur(1200));
}

#[test]
fn order_discount_propagates_to_lines_exactly() {
    let regime = sales_tax("line");
    let p = promos("[]");
    let mut c = ctx(&p, &regime);
    c.order_discount = Some(ManualDiscount { percent: None, amount: Some(eur(100)), reason: "loyal customer".into(), needs_approval: false });
    let lines = [line("A", 1, 333, "standard"), line("B", 1, 333, "standard"), line("C", 1, 334, "reduced")];
    let priced = price(&lines, &c).unwrap();
    assert_sums(&priced);
    let shares: Vec<i64> = priced.lines.iter().map(|l| l.discount.minor()).collect();
    assert_eq!(shares.iter().sum::<i64>(), 100);
    assert!(shares.iter().all(|s| (33..=34).contains(s)), "{shares:?}");
    assert_eq!(priced.net, eur(900));
    // 8.875% per line: 2.97 → 0.2636 → 0.26 (×2), 2.99 → 0.2654 → 0.27 … whatever the split,
    // the order tax is the sum of the line taxes.
    assert_eq!(priced.tax.minor(), priced.lines.iter().map(|l| l.tax.minor()).sum::<i64>());
}

#[test]
fn weighed_items_price_per_kg() {
    let regime = vat("line");
    let mut apples = line("APPLES", 1, 299, "reduced");
    apples.quantity = Quantity::Grams(1234);
    let priced = price(&[apples], &ctx(&promos("[]"), &regime)).unwrap();
    // 2.99/kg × 1.234 kg = 3.68966 → 3.69
    assert_eq!(priced.total, eur(369));
    assert_eq!(priced.lines[0].units.len(), 1);
}

#[test]
fn manual_override_and_discounts_are_recorded_with_reasons() {
    let regime = vat("line");
    let p = promos(r#"[{"id":"TEN","rule":{"type":"percent_off","target":{"all":true},"percent":"10"}}]"#);
    let mut c = ctx(&p, &regime);
    c.approval_above_percent = Some(Percent::whole(20));
    let mut damaged = line("TV", 1, 50000, "standard");
    damaged.price_override = Some(PriceOverride { price: eur(40000), reason: "display model".into() });
    let mut mug = line("MUG", 2, 500, "standard");
    mug.discount = Some(ManualDiscount { percent: Some(Percent::whole(50)), amount: None, reason: "chipped".into(), needs_approval: false });
    let priced = price(&[damaged, mug], &c).unwrap();
    assert_sums(&priced);
    // The overridden line takes no promotion.
    assert_eq!(priced.lines[0].amount, eur(40000));
    assert!(priced.lines[0].adjustments.is_empty());
    // MUG: 10% promotion (10.00 → 9.00), then 50% manual (→ 4.50): 55% off needs approval.
    assert_eq!(priced.lines[1].amount, eur(450));
    let sources: Vec<_> = priced.lines[1].adjustments.iter().map(|a| (a.source.as_str(), a.amount.minor())).collect();
    assert_eq!(sources, vec![("TEN", 100), ("manual", 450)]);
    assert!(priced.lines[1].manual_discount.as_ref().unwrap().needs_approval);
    let mut no_reason = line("MUG", 1, 500, "standard");
    no_reason.discount = Some(ManualDiscount { percent: Some(Percent::whole(5)), amount: None, reason: " ".into(), needs_approval: false });
    assert_eq!(price(&[no_reason], &c).unwrap_err().code(), "INVALID_ARGUMENT");
}

#[test]
fn exempt_customer_pays_net() {
    let regime = vat("line");
    let p = promos("[]");
    let mut c = ctx(&p, &regime);
    c.customer_tax_exempt = true;
    let priced = price(&[line("A", 1, 1200, "standard")], &c).unwrap();
    assert_eq!((priced.total, priced.tax), (eur(1000), eur(0)));
}

fn arb_lines() -> impl Strategy<Value = Vec<PricingLine>> {
    let cats = prop::sample::select(vec!["standard", "reduced", "zero"]);
    prop::collection::vec((0usize..5, 1i64..6, 0i64..5000, cats, any::<bool>(), prop::option::of(1u32..=100)), 1..8).prop_map(|v| {
        v.into_iter()
            .map(|(s, q, p, cat, weighed, disc)| {
                let mut l = line(["A", "B", "C", "D", "E"][s], q, p, cat);
                if weighed {
                    l.quantity = Quantity::Grams(q * 137);
                }
                l.discount = disc.map(|d| ManualDiscount { percent: Some(Percent::whole(d.into())), amount: None, reason: "r".into(), needs_approval: false });
                l
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn totals_equal_the_sum_of_their_parts(
        lines in arb_lines(),
        inclusive in any::<bool>(),
        level in prop::sample::select(vec!["unit", "line", "total"]),
        order_off in prop::option::of(0i64..3000),
        best in any::<bool>(),
    ) {
        let regime = if inclusive { vat(level) } else { sales_tax(level) };
        let p = promos(r#"[
            {"id":"P1","priority":2,"rule":{"type":"percent_off","target":{"skus":["A","B"]},"percent":"15"}},
            {"id":"P2","priority":1,"rule":{"type":"buy_x_get_y","buy":{"target":{"all":true},"quantity":2},"get":{"target":{"all":true},"quantity":1}}},
            {"id":"P3","rule":{"type":"order_amount_off","amount":"5.00","min_spend":"20.00"}}
        ]"#);
        let mut c = ctx(&p, &regime);
        c.mode = if best { Mode::BestDeal } else { Mode::Priority };
        c.order_discount = order_off.map(|a| ManualDiscount { percent: None, amount: Some(eur(a)), reason: "r".into(), needs_approval: false });
        let priced = price(&lines, &c).unwrap();
        assert_sums(&priced);
        if inclusive {
            // The customer pays the discounted shelf prices, exactly.
            prop_assert_eq!(priced.total.minor(), priced.lines.iter().map(|l| l.amount.minor()).sum::<i64>());
        }
    }
}

#[test]
fn an_order_beyond_64_bits_is_an_error_not_a_panic() {
    let regime = vat("line");
    let p = promos(r#"[{"id":"BIG","rule":{"type":"fixed_price","target":{"all":true},"quantity":2,"price":"92233720368547758.07"}}]"#);
    let half = i64::MAX / 2 + 1;
    let lines = [line("A", 1, half, "standard"), line("B", 1, half, "standard")];
    for mode in [Mode::Priority, Mode::BestDeal] {
        let mut c = ctx(&p, &regime);
        c.mode = mode;
        assert_eq!(price(&lines, &c).unwrap_err().code(), "MONEY_OVERFLOW");
    }
    // Just inside: prices, and the huge fixed price never goes negative.
    let lines = [line("A", 1, half - 10, "zero"), line("B", 1, half - 10, "zero")];
    let priced = price(&lines, &ctx(&p, &regime)).unwrap();
    assert_eq!(priced.discount, eur(0));
}
