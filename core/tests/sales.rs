//! Selling through the store file: settings, carts with everything a till does, completing a
//! sale in one transaction, receipts, and returns that refund exactly what was paid.

use aisle::commerce::pricing::{ManualDiscount, PriceOverride};
use aisle::commerce::settings::StoreSettings;
use aisle::commerce::tender::{CardAuth, CashRounding, OfflinePolicy, TenderInput, TenderKind, TenderPolicy};
use aisle::commerce::{Customer, RefundTo, ReturnItem};
use aisle::{Currency, Edge, EdgeConfig, Money, Percent, Product, RoundingMode};
use proptest::prelude::*;

fn chf(m: i64) -> Money {
    Money::new(m, Currency::CHF)
}

fn store(dir: &std::path::Path) -> Edge {
    let edge = Edge::open(dir.join("store.db"), EdgeConfig::new("store-7", "till-1", Currency::CHF)).unwrap();
    let mut settings = StoreSettings::default();
    settings.store_name = "Aisle Zürich".into();
    settings.time_zone = "Europe/Zurich".into();
    settings.tax_regime = Some(
        aisle::commerce::tax::TaxRegime::from_json(
            r#"{"id":"ch-vat","prices_include_tax":true,"rounding":{"mode":"half_up","level":"line"},
                "rates":[{"id":"N","name":"MWST 8.1%","categories":["standard"],"percent":"8.1"},
                         {"id":"R","name":"MWST 2.6%","categories":["reduced"],"percent":"2.6"}]}"#,
        )
        .unwrap(),
    );
    settings.tender_policy = TenderPolicy {
        cash_rounding: Some(CashRounding { increment: 5, mode: RoundingMode::HalfUp }),
        offline: Some(OfflinePolicy { floor_limit: chf(5000), max_exposure: chf(8000), expiry_ms: 86_400_000 }),
    };
    settings.approval_above_percent = Some(Percent::whole(30));
    settings.returns.return_days = Some(30);
    edge.set_settings(&settings).unwrap();
    edge.catalog()
        .upsert_all(&[
            Product::new("BREAD", "Zopf 500 g", chf(495), "reduced").with_category("bakery"),
            Product::new("CHOC", "Chocolate 100 g", chf(233), "reduced").with_category("sweets"),
            Product::new("WINE", "Fendant 75 cl", chf(1690), "standard"),
            Product::new("CHEESE", "Gruyère per kg", chf(2990), "reduced").sold_by_weight(),
        ])
        .unwrap();
    edge.set_promotions_json(
        r#"[{"id":"CHOC3","name":"3 chocolates for 6.00","rule":{"type":"fixed_price","target":{"categories":["sweets"]},"quantity":3,"price":"6.00"}}]"#,
    )
    .unwrap();
    edge
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn card(amount: i64, offline: bool) -> TenderInput {
    TenderInput::card(
        chf(amount),
        CardAuth {
            token: "tok_abc".into(),
            brand: "visa".into(),
            last4: "1111".into(),
            auth_code: Some("A1".into()),
            offline,
            authorized_at_ms: at("2026-11-27T09:59:00Z").as_millisecond(),
        },
    )
}

#[test]
fn a_day_at_the_till() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let cart = edge.new_cart().unwrap();
    cart.add("CHOC", 4).unwrap();
    cart.add("BREAD", 1).unwrap();
    cart.add_weighed("CHEESE", 347).unwrap();
    assert_eq!(cart.add("CHEESE", 1).unwrap_err().code(), "INVALID_QUANTITY");
    assert_eq!(cart.add_weighed("BREAD", 100).unwrap_err().code(), "INVALID_QUANTITY");
    let t = at("2026-11-27T10:00:00Z");
    let priced = cart.price_at(t).unwrap();
    // CHOC: 3 for 6.00 + 1 × 2.33 = 8.33; BREAD 4.95; CHEESE 29.90 × 0.347 = 10.3753 → 10.38.
    assert_eq!(priced.total, chf(833 + 495 + 1038));
    // Cash: 23.66 → 23.65 (nearest 0.05); card first 10.00, cash due 13.66 → 13.65.
    let sale = cart.complete_at(&[card(1000, false), TenderInput::cash(chf(2000))], t).unwrap();
    assert_eq!(sale.receipt_no, "till-1-000001");
    assert_eq!(sale.settlement.cash_rounding, chf(-1));
    assert_eq!(sale.settlement.change, chf(2000 - 1365));
    assert_eq!(sale.total, chf(2366));
    assert_eq!(cart.add("BREAD", 1).unwrap_err().code(), "CART_CLOSED");
    assert_eq!(cart.complete(&[]).unwrap_err().code(), "CART_CLOSED");

    // The receipt prints in 48 columns.
    let text = edge.sales().receipt(&sale.receipt_no).unwrap().render_text(48);
    assert!(text.lines().all(|l| l.chars().count() <= 48), "{text}");
    assert!(text.contains("till-1-000001"));

    // Return two chocolates: the lowest-paid units first.
    let r1 = edge.sales().return_items_at(&sale.receipt_no, &[ReturnItem { line_no: 1, quantity: 2 }], "changed mind", RefundTo::OriginalTenders, t).unwrap();
    assert_eq!(r1.receipt_no, "till-1-000002");
    // The rest, in two more returns; together they refund exactly what was paid.
    let r2 = edge.sales().return_items_at(&sale.receipt_no, &[ReturnItem { line_no: 1, quantity: 2 }, ReturnItem { line_no: 2, quantity: 1 }], "stale", RefundTo::OriginalTenders, t).unwrap();
    let r3 = edge.sales().return_items_at(&sale.receipt_no, &[ReturnItem { line_no: 3, quantity: 1 }], "wrong cheese", RefundTo::OriginalTenders, t).unwrap();
    let refunded: i64 = [&r1, &r2, &r3].iter().map(|r| -r.settlement.due.minor()).sum();
    let paid: i64 = sale.settlement.tenders.iter().map(|t| t.amount.minor()).sum();
    assert_eq!(refunded, paid, "all returns refund exactly what was paid (after cash rounding)");
    // Per rate, the refunds give back exactly the sale's tax and base.
    for rate in &sale.taxes {
        let back: i64 = [&r1, &r2, &r3].iter().flat_map(|r| &r.taxes).filter(|t| t.rate_id == rate.rate_id).map(|t| -t.amount.minor()).sum();
        let base: i64 = [&r1, &r2, &r3].iter().flat_map(|r| &r.taxes).filter(|t| t.rate_id == rate.rate_id).map(|t| -t.base.minor()).sum();
        assert_eq!((back, base), (rate.amount.minor(), rate.base.minor()), "rate {}", rate.rate_id);
    }
    let card_back: i64 = [&r1, &r2, &r3].iter().flat_map(|r| &r.settlement.tenders).filter(|t| t.kind == TenderKind::Card).map(|t| -t.amount.minor()).sum();
    assert_eq!(card_back, 1000);
    // Nothing more to return.
    let err = edge.sales().return_items_at(&sale.receipt_no, &[ReturnItem { line_no: 1, quantity: 1 }], "again", RefundTo::OriginalTenders, t).unwrap_err();
    assert_eq!(err.code(), "RETURN_REFUSED");
    assert_eq!(edge.sales().get("nope").unwrap_err().code(), "UNKNOWN_RECEIPT");
    // Every fact is an event, in the same transactions.
    assert_eq!(edge.sales().receipt_numbers().unwrap().len(), 4);
    let db = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    let events: Vec<(String, i64)> = db
        .prepare("SELECT type, count(*) FROM event_log GROUP BY type ORDER BY type")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(events, vec![("RefundCompleted".to_string(), 3), ("SaleCompleted".to_string(), 1)]);
    let payload: String = db.query_row("SELECT payload FROM event_log WHERE type = 'SaleCompleted'", [], |r| r.get(0)).unwrap();
    let event: aisle::commerce::Sale = serde_json::from_str(&payload).unwrap();
    assert_eq!(event, sale);
}

#[test]
fn refund_after_cash_rounding_returns_what_was_paid() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let cart = edge.new_cart().unwrap();
    cart.add("CHOC", 1).unwrap();
    let t = at("2026-11-27T10:00:00Z");
    let sale = cart.complete_at(&[TenderInput::cash(chf(500))], t).unwrap();
    // 2.33 → 2.35 in cash.
    assert_eq!(sale.settlement.due, chf(235));
    let r = edge.sales().return_items_at(&sale.receipt_no, &[ReturnItem { line_no: 1, quantity: 1 }], "x", RefundTo::OriginalTenders, t).unwrap();
    assert_eq!(r.total, chf(-233));
    assert_eq!(r.settlement.due, chf(-235));
}

#[test]
fn offline_cards_follow_the_policy_and_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let t = at("2026-11-27T10:00:00Z");
    let sell = |amount_sku: &str, n: i64, tender: TenderInput| {
        let cart = edge.new_cart().unwrap();
        cart.add(amount_sku, n).unwrap();
        cart.complete_at(&[tender], t)
    };
    // 3 × 16.90 = 50.70 > floor limit 50.00
    assert_eq!(sell("WINE", 3, card(5070, true)).unwrap_err().code(), "OFFLINE_LIMIT_EXCEEDED");
    let s1 = sell("WINE", 2, card(3380, true)).unwrap();
    assert_eq!(s1.settlement.offline_authorizations.len(), 1);
    let s2 = sell("WINE", 2, card(3380, true)).unwrap();
    assert_eq!(s2.settlement.offline_authorizations.len(), 1);
    // Exposure 67.60 + 33.80 > 80.00 cap.
    assert_eq!(sell("WINE", 2, card(3380, true)).unwrap_err().code(), "OFFLINE_LIMIT_EXCEEDED");
    // Online still fine.
    assert!(sell("WINE", 2, card(3380, false)).is_ok());
}

#[test]
fn manual_discounts_customers_and_coupons() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let mut promos = edge.promotions().unwrap();
    promos.extend(aisle::commerce::promotions::parse_promotions(
        r#"[{"id":"WELCOME","conditions":{"coupon":"HELLO"},"usage_limit":{"per_customer":1},"rule":{"type":"order_amount_off","amount":"2.00"}}]"#,
    ).unwrap());
    edge.set_promotions(&promos).unwrap();
    let t = at("2026-11-27T10:00:00Z");
    let cart = edge.new_cart().unwrap();
    cart.add("WINE", 1).unwrap();
    cart.set_customer(Some(&Customer { id: Some("C-1".into()), group: Some("member".into()), ..Default::default() })).unwrap();
    cart.add_coupon("hello").unwrap();
    cart.add_coupon("NOPE").unwrap();
    cart.set_line_discount("WINE", Some(&ManualDiscount { percent: Some(Percent::whole(40)), amount: None, reason: "dented".into(), needs_approval: false })).unwrap();
    let p = cart.price_at(t).unwrap();
    let statuses: Vec<_> = p.coupons.iter().map(|c| (c.code.as_str(), format!("{:?}", c.status))).collect();
    assert_eq!(statuses, vec![("HELLO", "Applied".to_string()), ("NOPE", "Invalid".to_string())]);
    assert!(p.lines[0].manual_discount.as_ref().unwrap().needs_approval);
    // Promotions first (16.90 − 2.00 = 14.90), then the manual 40% (− 5.96) = 8.94.
    assert_eq!(p.total, chf(894));
    cart.complete_at(&[TenderInput::cash(chf(895))], t).unwrap();
    // Second use by the same customer: already used.
    let again = edge.new_cart().unwrap();
    again.add("WINE", 1).unwrap();
    again.set_customer(Some(&Customer { id: Some("C-1".into()), ..Default::default() })).unwrap();
    again.add_coupon("HELLO").unwrap();
    let p = again.price_at(t).unwrap();
    assert_eq!(format!("{:?}", p.coupons[0].status), "AlreadyUsed");
    // A card number typed into a reason is refused and not stored.
    let err = again
        .set_line_discount("WINE", Some(&ManualDiscount { percent: Some(Percent::whole(5)), amount: None, reason: "card 4111 1111 1111 1111".into(), needs_approval: false }))
        .unwrap_err();
    assert_eq!(err.code(), "CARD_NUMBER_REFUSED");
    assert!(!err.to_string().contains("4111 1111"));
    // Price override.
    again.set_price_override("WINE", Some(&PriceOverride { price: chf(1000), reason: "price match".into() })).unwrap();
    assert_eq!(again.lines().unwrap()[0].unit_price, chf(1000));
}

#[test]
fn receipt_numbers_are_gap_free_even_when_a_sale_fails() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let t = at("2026-11-27T10:00:00Z");
    let ok = edge.new_cart().unwrap();
    ok.add("BREAD", 1).unwrap();
    assert_eq!(ok.complete_at(&[TenderInput::cash(chf(500))], t).unwrap().receipt_no, "till-1-000001");
    let short = edge.new_cart().unwrap();
    short.add("BREAD", 1).unwrap();
    assert_eq!(short.complete_at(&[TenderInput::cash(chf(100))], t).unwrap_err().code(), "INSUFFICIENT_TENDER");
    assert_eq!(short.complete_at(&[TenderInput::cash(chf(495))], t).unwrap().receipt_no, "till-1-000002");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Any sequence of partial returns never refunds more than was paid, and returning
    /// everything refunds exactly what was paid, per tender kind.
    #[test]
    fn partial_returns_refund_exactly_what_was_paid(
        choc in 1i64..8, bread in 1i64..4, card_part in 0i64..1500,
        splits in prop::collection::vec(1i64..4, 1..10),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let edge = store(dir.path());
        let t = at("2026-11-27T10:00:00Z");
        let cart = edge.new_cart().unwrap();
        cart.add("CHOC", choc).unwrap();
        cart.add("BREAD", bread).unwrap();
        let total = cart.price_at(t).unwrap().total.minor();
        let card_part = card_part.min(total);
        let mut tenders = vec![];
        if card_part > 0 { tenders.push(card(card_part, false)); }
        if card_part < total { tenders.push(TenderInput::cash(chf(total + 100))); }
        let sale = cart.complete_at(&tenders, t).unwrap();
        let paid: i64 = sale.settlement.tenders.iter().map(|t| t.amount.minor()).sum();
        // Return unit by unit in chunks from the splits, alternating lines.
        let mut left = [choc, bread];
        let mut refunded = 0i64;
        let mut refunds = Vec::new();
        let mut k = 0;
        while left.iter().any(|l| *l > 0) {
            let line = if left[k % 2] > 0 { k % 2 } else { 1 - k % 2 };
            let n = splits[k % splits.len()].min(left[line]);
            let r = edge.sales().return_items_at(&sale.receipt_no, &[ReturnItem { line_no: line as u32 + 1, quantity: n }], "r", RefundTo::OriginalTenders, t).unwrap();
            left[line] -= n;
            refunded += -r.settlement.due.minor();
            prop_assert!(refunded <= paid, "refunded {} of {}", refunded, paid);
            refunds.push(r);
            k += 1;
        }
        prop_assert_eq!(refunded, paid);
        // And each tax rate's amount and base come back exactly.
        for rate in &sale.taxes {
            let back: i64 = refunds.iter().flat_map(|r| &r.taxes).filter(|t| t.rate_id == rate.rate_id).map(|t| -t.amount.minor()).sum();
            let base: i64 = refunds.iter().flat_map(|r| &r.taxes).filter(|t| t.rate_id == rate.rate_id).map(|t| -t.base.minor()).sum();
            prop_assert_eq!((back, base), (rate.amount.minor(), rate.base.minor()));
        }
    }
}

#[test]
fn blind_returns_follow_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let t = at("2026-11-27T10:00:00Z");
    let items = vec![("WINE".to_string(), 1)];
    assert_eq!(edge.sales().blind_return_at(&items, "no receipt", RefundTo::OriginalTenders, t).unwrap_err().code(), "RETURN_REFUSED");
    let mut settings = edge.settings().unwrap();
    settings.returns.blind_returns = true;
    settings.returns.blind_max = Some(chf(2000));
    edge.set_settings(&settings).unwrap();
    // 16.90 in cash, no rounding needed; tax extracted at the current rate.
    let r = edge.sales().blind_return_at(&items, "no receipt", RefundTo::OriginalTenders, t).unwrap();
    assert_eq!((r.total, r.settlement.due), (chf(-1690), chf(-1690)));
    assert!(r.tax.is_negative());
    assert!(r.original.is_none());
    let two = vec![("WINE".to_string(), 2)];
    assert_eq!(edge.sales().blind_return_at(&two, "no receipt", RefundTo::OriginalTenders, t).unwrap_err().code(), "RETURN_REFUSED");
    let credit = edge.sales().blind_return_at(&[("CHOC".to_string(), 1)], "gift", RefundTo::StoreCredit, t).unwrap();
    assert_eq!(credit.settlement.tenders[0].kind, TenderKind::StoreCredit);
    assert_eq!(credit.settlement.due, chf(-233));
}

#[test]
fn every_change_to_a_cart_bumps_its_revision() {
    // complete() records a sale only if the cart's revision did not move since it was priced.
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let cart = edge.new_cart().unwrap();
    let db = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    let revision = || -> i64 { db.query_row("SELECT revision FROM cart WHERE id = ?1", [cart.id()], |r| r.get(0)).unwrap() };
    let mut last = revision();
    let mut changed = |what: &str| {
        let now = revision();
        assert!(now > last, "{what} did not bump the revision");
        last = now;
    };
    cart.add("BREAD", 1).unwrap();
    changed("add");
    cart.set_quantity("BREAD", 2).unwrap();
    changed("set_quantity");
    cart.add_coupon("X").unwrap();
    changed("add_coupon");
    cart.set_customer(Some(&Customer { id: Some("C".into()), ..Default::default() })).unwrap();
    changed("set_customer");
    cart.set_order_discount(Some(&ManualDiscount { percent: Some(Percent::whole(5)), amount: None, reason: "r".into(), needs_approval: false })).unwrap();
    changed("set_order_discount");
    cart.remove_coupon("X").unwrap();
    changed("remove_coupon");
    cart.remove("BREAD").unwrap();
    changed("remove");
}
