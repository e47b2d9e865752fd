use super::*;
use crate::money::Currency;

fn eur(m: i64) -> Money {
    Money::new(m, Currency::EUR)
}

fn line(sku: &str, units: i64, price: i64) -> PromoLine {
    PromoLine { sku: sku.into(), categories: vec![], tags: vec![], units, unit_price: eur(price) }
}

fn cat_line(sku: &str, cat: &str, units: i64, price: i64) -> PromoLine {
    PromoLine { categories: vec![cat.into()], ..line(sku, units, price) }
}

fn ctx() -> PromoContext {
    // Friday 2026-11-27 17:30 in Europe/Berlin.
    let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let at = "2026-11-27T16:30:00Z".parse::<jiff::Timestamp>().unwrap();
    PromoContext::new(at, tz)
}

fn run(json: &str, lines: &[PromoLine], mode: Mode) -> PromoOutcome {
    let set = PromotionSet::from_json(json, Currency::EUR).unwrap();
    set.evaluate(lines, &ctx(), mode, RoundingMode::HalfUp).unwrap()
}

fn nets(o: &PromoOutcome) -> Vec<i64> {
    o.lines.iter().map(|l| l.net.minor()).collect()
}

fn check_invariants(o: &PromoOutcome, lines: &[PromoLine]) {
    for (i, (lo, li)) in o.lines.iter().zip(lines).enumerate() {
        let units: i64 = lo.units.iter().map(|r| r.count).sum();
        assert_eq!(units, li.units, "line {i} unit count");
        assert_eq!(lo.net.minor() + lo.discount.minor(), li.units * li.unit_price.minor());
        assert!(lo.units.iter().all(|r| r.amount.minor() >= 0));
        let adj: i64 = o.adjustments.iter().filter(|a| a.line == i).map(|a| a.amount.minor()).sum();
        assert_eq!(adj, lo.discount.minor(), "adjustments of line {i} sum to its discount");
    }
    for a in &o.adjustments {
        assert_eq!(a.units.iter().map(|r| r.count * r.amount.minor()).sum::<i64>(), a.amount.minor());
    }
    let applied: i64 = o.applied.iter().map(|a| a.discount.minor()).sum();
    assert_eq!(applied, o.total_discount.minor());
}

#[test]
fn percent_off_line_and_allocation_per_unit() {
    let lines = [line("A", 3, 99), line("B", 1, 500)];
    let o = run(r#"[{"id":"P","rule":{"type":"percent_off","target":{"skus":["A"]},"percent":"10"}}]"#, &lines, Mode::Priority);
    // 10% of 2.97 = 0.297 → 0.30, split 0.10 per unit.
    assert_eq!(nets(&o), vec![267, 500]);
    assert_eq!(o.adjustments[0].units, vec![UnitRun { count: 3, amount: eur(10) }]);
    check_invariants(&o, &lines);
}

#[test]
fn order_discount_spreads_by_largest_remainder() {
    // 0.04 off an order of three equal units: 0.01, 0.01, 0.02.
    let lines = [line("A", 3, 100)];
    let o = run(r#"[{"id":"O","rule":{"type":"order_amount_off","amount":"0.04"}}]"#, &lines, Mode::Priority);
    let mut per_unit: Vec<i64> = o.adjustments[0].units.iter().flat_map(|r| std::iter::repeat_n(r.amount.minor(), r.count as usize)).collect();
    per_unit.sort();
    assert_eq!(per_unit, vec![1, 1, 2]);
    check_invariants(&o, &lines);
}

#[test]
fn three_for_ten() {
    let lines = [line("A", 4, 400)];
    let o = run(r#"[{"id":"M","rule":{"type":"fixed_price","target":{"skus":["A"]},"quantity":3,"price":"10.00"}}]"#, &lines, Mode::Priority);
    assert_eq!(nets(&o), vec![1000 + 400]);
    assert_eq!(o.applied[0].applications, 1);
    check_invariants(&o, &lines);
}

#[test]
fn buy_two_get_one_free_cheapest() {
    let lines = [line("A", 2, 300), line("B", 1, 100), line("C", 1, 250)];
    let json = r#"[{"id":"B2G1","rule":{"type":"buy_x_get_y","buy":{"target":{"all":true},"quantity":2},"get":{"target":{"all":true},"quantity":1}}}]"#;
    let o = run(json, &lines, Mode::Priority);
    // Cheapest unit (B, 1.00) free; A, A qualify; C left over.
    assert_eq!(nets(&o), vec![600, 0, 250]);
    check_invariants(&o, &lines);
    let json = json.replace(r#""quantity":1}}"#, r#""quantity":1},"reward":"most_expensive"}"#);
    let o = run(&json, &lines, Mode::Priority);
    // Most expensive (an A) free, qualifiers the next most expensive: A and C.
    assert_eq!(nets(&o), vec![300, 100, 250]);
}

#[test]
fn buy_x_get_y_respects_max_applications() {
    let lines = [line("A", 6, 100)];
    let json = r#"[{"id":"X","rule":{"type":"buy_x_get_y","buy":{"target":{"skus":["A"]},"quantity":1},"get":{"target":{"skus":["A"]},"quantity":1},"percent":"50","max_applications":2}}]"#;
    let o = run(json, &lines, Mode::Priority);
    assert_eq!(nets(&o), vec![600 - 100]);
    assert_eq!(o.applied[0].applications, 2);
    check_invariants(&o, &lines);
}

#[test]
fn tiers_are_inclusive() {
    let json = r#"[{"id":"T","rule":{"type":"tiered","target":{"categories":["wine"]},"basis":"quantity","tiers":[{"min":"3","percent":"5"},{"min":"6","percent":"10"}]}}]"#;
    let o = run(json, &[cat_line("W1", "wine", 2, 1000)], Mode::Priority);
    assert_eq!(o.total_discount, eur(0));
    let o = run(json, &[cat_line("W1", "wine", 2, 1000), cat_line("W2", "wine", 1, 1000)], Mode::Priority);
    assert_eq!(o.total_discount, eur(150));
    let o = run(json, &[cat_line("W1", "wine", 6, 1000)], Mode::Priority);
    assert_eq!(o.total_discount, eur(600));
    let spend = r#"[{"id":"S","rule":{"type":"tiered","target":{"all":true},"basis":"spend","tiers":[{"min":"50.00","amount":"5.00"}]}}]"#;
    assert_eq!(run(spend, &[line("A", 1, 5000)], Mode::Priority).total_discount, eur(500));
    assert_eq!(run(spend, &[line("A", 1, 4999)], Mode::Priority).total_discount, eur(0));
}

#[test]
fn bundle_mix_and_match() {
    let lines = [cat_line("SANDWICH", "main", 2, 450), cat_line("JUICE", "drink", 1, 250), cat_line("CRISPS", "snack", 1, 120)];
    let json = r#"[{"id":"MEAL","rule":{"type":"bundle","groups":[{"target":{"categories":["main"]},"quantity":1},{"target":{"categories":["drink"]},"quantity":1},{"target":{"categories":["snack"]},"quantity":1}],"price":"6.00"}}]"#;
    let o = run(json, &lines, Mode::Priority);
    assert_eq!(o.total_discount, eur(450 + 250 + 120 - 600));
    assert_eq!(o.applied[0].applications, 1);
    check_invariants(&o, &lines);
}

#[test]
fn exclusive_and_stop_further() {
    let lines = [line("A", 1, 1000)];
    let json = r#"[
        {"id":"HIGH","priority":10,"stop_further":true,"rule":{"type":"percent_off","target":{"skus":["A"]},"percent":"10"}},
        {"id":"LOW","priority":1,"stackable":true,"rule":{"type":"amount_off","target":{"skus":["A"]},"amount":"1.00"}}
    ]"#;
    assert_eq!(run(json, &lines, Mode::Priority).total_discount, eur(100));
    let json = r#"[
        {"id":"FIRST","priority":10,"rule":{"type":"amount_off","target":{"skus":["A"]},"amount":"0.50"}},
        {"id":"EXCL","priority":5,"exclusive":true,"rule":{"type":"percent_off","target":{"all":true},"percent":"30"}}
    ]"#;
    // FIRST applied, so the exclusive one does not.
    assert_eq!(run(json, &lines, Mode::Priority).total_discount, eur(50));
    // Best deal prefers the exclusive one alone.
    let o = run(json, &lines, Mode::BestDeal);
    assert_eq!(o.total_discount, eur(300));
    assert_eq!(o.applied.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["EXCL"]);
    assert!(o.exact);
}

#[test]
fn non_stackable_promotions_do_not_share_units() {
    let lines = [line("A", 2, 1000)];
    let json = r#"[
        {"id":"P1","priority":2,"rule":{"type":"percent_off","target":{"skus":["A"]},"percent":"10"}},
        {"id":"P2","priority":1,"rule":{"type":"amount_off","target":{"skus":["A"]},"amount":"3.00"}}
    ]"#;
    assert_eq!(run(json, &lines, Mode::Priority).total_discount, eur(200));
    assert_eq!(run(json, &lines, Mode::BestDeal).total_discount, eur(600));
}

#[test]
fn coupons_groups_windows_and_usage() {
    let lines = [line("A", 1, 1000)];
    let json = r#"[
        {"id":"C","conditions":{"coupon":"save10"},"rule":{"type":"order_percent_off","percent":"10"}},
        {"id":"OLD","conditions":{"coupon":"XMAS25","window":{"to":"2025-12-27T00:00"}},"rule":{"type":"order_percent_off","percent":"25"}},
        {"id":"USED","conditions":{"coupon":"ONCE"},"usage_limit":{"per_customer":1},"rule":{"type":"order_percent_off","percent":"50"}},
        {"id":"STAFF","conditions":{"customer_groups":["staff"]},"rule":{"type":"order_amount_off","amount":"1.00"}},
        {"id":"HAPPY","conditions":{"window":{"weekdays":["fri"],"time_from":"17:00","time_to":"19:00"}},"rule":{"type":"percent_off","target":{"skus":["A"]},"percent":"5"}}
    ]"#;
    let set = PromotionSet::from_json(json, Currency::EUR).unwrap();
    let mut c = ctx();
    c.coupons = vec!["Save10".into(), "XMAS25".into(), "ONCE".into(), "NOPE".into()];
    c.usage.insert("USED".into(), Usage { total: 7, by_this_customer: 1 });
    let o = set.evaluate(&lines, &c, Mode::Priority, RoundingMode::HalfUp).unwrap();
    let statuses: Vec<_> = o.coupons.iter().map(|r| (r.code.as_str(), r.status)).collect();
    assert_eq!(
        statuses,
        vec![
            ("SAVE10", CouponStatus::Applied),
            ("XMAS25", CouponStatus::Expired),
            ("ONCE", CouponStatus::AlreadyUsed),
            ("NOPE", CouponStatus::Invalid)
        ]
    );
    // Same priority, so by id: SAVE10 (10% of the order, 1.00), then happy hour (Friday 17:30
    // local, 5% of the current 9.00 = 0.45): order discounts claim no units.
    let ids: Vec<_> = o.applied.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec!["C", "HAPPY"]);
    assert_eq!(o.total_discount, eur(100 + 45));
    c.customer_group = Some("staff".into());
    let o = set.evaluate(&lines, &c, Mode::Priority, RoundingMode::HalfUp).unwrap();
    assert!(o.applied.iter().any(|a| a.id == "STAFF"));
    // An hour later, no happy hour.
    c.at = c.at + jiff::SignedDuration::from_hours(2);
    let o = set.evaluate(&lines, &c, Mode::Priority, RoundingMode::HalfUp).unwrap();
    assert!(!o.applied.iter().any(|a| a.id == "HAPPY"));
}

#[test]
fn invalid_rules_name_the_json_path() {
    let cases = [
        (r#"[{"id":"X","rule":{"type":"percent_off","target":{"skus":["A"]},"percent":5.5}}]"#, "[0].rule.percent"),
        (r#"[{"id":"X","rule":{"type":"fixed_price","target":{"skus":["A"]},"quantity":0,"price":"1.00"}}]"#, "[0].rule.quantity"),
        (r#"[{"id":"X","rule":{"type":"amount_off","target":{},"amount":"1.00"}}]"#, "[0].rule.target"),
        (r#"[{"id":"X","rule":{"type":"amount_off","target":{"all":true},"amount":"1.001"}}]"#, "[0].rule.amount"),
        (r#"[{"id":"X","rule":{"type":"teleport"}}]"#, "[0].rule.type"),
        (r#"[{"id":"A","rule":{"type":"order_percent_off","percent":"5"}},{"id":"A","rule":{"type":"order_percent_off","percent":"5"}}]"#, "[1].id"),
        (r#"[{"id":"X","conditions":{"window":{"weekdays":["funday"]}},"rule":{"type":"order_percent_off","percent":"5"}}]"#, "[0].conditions.window.weekdays[0]"),
        (r#"[{"id":"X","rule":{"type":"order_percent_off","percent":"150"}}]"#, "[0].rule.percent"),
        (r#"{"id":"X"}"#, "$"),
    ];
    for (json, path) in cases {
        let err = PromotionSet::from_json(json, Currency::EUR).unwrap_err();
        assert_eq!(err.code(), "PROMO_INVALID_RULE", "{json}");
        assert!(err.to_string().contains(&format!("at {path}:")), "{json}: {err}");
    }
}

#[test]
fn weighed_line_is_one_unit() {
    // 1.234 kg at 2.99/kg = 3.69 as one unit; 10% off.
    let lines = [line("APPLES", 1, 369)];
    let o = run(r#"[{"id":"P","rule":{"type":"percent_off","target":{"skus":["APPLES"]},"percent":"10"}}]"#, &lines, Mode::Priority);
    assert_eq!(nets(&o), vec![332]);
}

#[test]
fn round_trips_through_json() {
    let json = r#"[{"id":"B","name":"Meal deal","priority":3,"rule":{"type":"bundle","groups":[{"target":{"skus":["A"]},"quantity":1}],"percent":"20"}}]"#;
    let promos = parse_promotions(json).unwrap();
    let again = parse_promotions(&serde_json::to_string(&promos).unwrap()).unwrap();
    assert_eq!(promos, again);
}

#[test]
fn buy_x_get_y_on_one_line_uses_up_its_qualifiers() {
    // Buy 2 get 1 on 7 units of one line: two applications (6 units), 2 free.
    let lines = [line("A", 7, 250)];
    let json = r#"[{"id":"B2G1","rule":{"type":"buy_x_get_y","buy":{"target":{"skus":["A"]},"quantity":2},"get":{"target":{"skus":["A"]},"quantity":1}}}]"#;
    for mode in [Mode::Priority, Mode::BestDeal] {
        let o = run(json, &lines, mode);
        assert_eq!(o.applied[0].applications, 2);
        assert_eq!(o.total_discount, eur(500));
        check_invariants(&o, &lines);
    }
}
