//! Gift cards and store credit: the ledger on its own, redemption inside a sale's transaction,
//! refunds that credit it, and exchanges (return + new sale) in one call.

use aisle::commerce::settings::StoreSettings;
use aisle::commerce::tender::{CardAuth, CashRounding, TenderInput, TenderKind, TenderPolicy};
use aisle::commerce::{EntryType, RefundTo, ReturnItem, Sale, StoredValueKind};
use aisle::{Currency, Edge, EdgeConfig, Money, Product, RoundingMode};
use proptest::prelude::*;

const GC: StoredValueKind = StoredValueKind::GiftCard;
const SC: StoredValueKind = StoredValueKind::StoreCredit;

fn chf(m: i64) -> Money {
    Money::new(m, Currency::CHF)
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn t0() -> jiff::Timestamp {
    at("2026-11-27T10:00:00Z")
}

fn settings(cash_rounding: bool) -> StoreSettings {
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
        cash_rounding: cash_rounding.then_some(CashRounding { increment: 5, mode: RoundingMode::HalfUp }),
        offline: None,
    };
    settings.returns.return_days = Some(30);
    settings
}

fn products(edge: &Edge) {
    edge.catalog()
        .upsert_all(&[
            Product::new("BREAD", "Zopf 500 g", chf(495), "reduced"),
            Product::new("CHOC", "Chocolate 100 g", chf(233), "reduced"),
            Product::new("WINE", "Fendant 75 cl", chf(1690), "standard"),
            Product::new("GIFT", "Gift box", chf(5000), "standard"),
        ])
        .unwrap();
}

fn store(dir: &std::path::Path) -> Edge {
    let edge = Edge::open(dir.join("store.db"), EdgeConfig::new("store-7", "till-1", Currency::CHF)).unwrap();
    edge.set_settings(&settings(true)).unwrap();
    products(&edge);
    edge
}

fn card(amount: i64) -> TenderInput {
    TenderInput::card(
        chf(amount),
        CardAuth {
            token: "tok_abc".into(),
            brand: "visa".into(),
            last4: "1111".into(),
            auth_code: Some("A1".into()),
            offline: false,
            authorized_at_ms: t0().as_millisecond(),
        },
    )
}

fn sell(edge: &Edge, items: &[(&str, i64)], tenders: &[TenderInput]) -> aisle::Result<Sale> {
    let cart = edge.new_cart().unwrap();
    for (sku, n) in items {
        cart.add(sku, *n).unwrap();
    }
    cart.complete_at(tenders, t0())
}

/// The account's entries add up to its balance, each `balance_after` follows from the one
/// before, and nothing is negative.
fn assert_ledger_consistent(edge: &Edge, kind: StoredValueKind, id: &str) {
    let account = edge.stored_value().account(kind, id).unwrap();
    let history = edge.stored_value().history(kind, id).unwrap();
    let mut running = 0i64;
    for e in &history {
        running += e.amount.minor();
        assert_eq!(e.balance_after.minor(), running, "{e:?}");
        assert!(running >= 0);
    }
    assert_eq!(account.balance.minor(), running, "{kind} {id}");
}

fn types(edge: &Edge, kind: StoredValueKind, id: &str) -> Vec<(EntryType, i64, Option<String>)> {
    edge.stored_value()
        .history(kind, id)
        .unwrap()
        .into_iter()
        .map(|e| (e.entry_type, e.amount.minor(), e.receipt_no))
        .collect()
}

#[test]
fn a_gift_card_from_issue_to_close() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let sv = edge.stored_value();
    let t = t0();
    let year = at("2027-11-27T10:00:00Z").as_millisecond();
    let a = sv.issue_at(GC, "GC-0001", chf(5000), Some(year), "sold at the till", t).unwrap();
    assert_eq!((a.balance, a.status, a.expires_at_ms), (chf(5000), aisle::commerce::AccountStatus::Active, Some(year)));
    assert_eq!(sv.load_at(GC, "GC-0001", chf(2000), "", t).unwrap().balance, chf(7000));
    assert_eq!(sv.balance(GC, "GC-0001").unwrap(), chf(7000));
    // Ids are per kind: a store credit may carry the same id.
    sv.issue_at(SC, "GC-0001", chf(100), None, "", t).unwrap();
    assert_eq!(sv.balance(GC, "GC-0001").unwrap(), chf(7000));
    assert_eq!(sv.issue_at(GC, "GC-0001", chf(100), None, "", t).unwrap_err().code(), "STORED_VALUE_EXISTS");

    // Frozen: no loads (nor redemptions, below) until unfrozen; a manager may still adjust.
    sv.freeze_at(GC, "GC-0001", "reported stolen", t).unwrap();
    assert_eq!(sv.freeze_at(GC, "GC-0001", "again", t).unwrap().status, aisle::commerce::AccountStatus::Frozen);
    assert_eq!(sv.load_at(GC, "GC-0001", chf(100), "", t).unwrap_err().code(), "STORED_VALUE_FROZEN");
    assert_eq!(sv.adjust_at(GC, "GC-0001", chf(-500), "goodwill reversal", t).unwrap().balance, chf(6500));
    sv.unfreeze_at(GC, "GC-0001", "found", t).unwrap();
    // Never below zero.
    let err = sv.adjust_at(GC, "GC-0001", chf(-6501), "too much", t).unwrap_err();
    assert_eq!(err.code(), "STORED_VALUE_INSUFFICIENT");
    assert!(err.to_string().contains("65.00 CHF") && err.to_string().contains("65.01 CHF"), "{err}");
    // Closing needs an empty account: the ledger must say where the money went.
    assert_eq!(sv.close_at(GC, "GC-0001", "customer request", t).unwrap_err().code(), "INVALID_ARGUMENT");
    sv.adjust_at(GC, "GC-0001", chf(-6500), "paid out in cash", t).unwrap();
    let closed = sv.close_at(GC, "GC-0001", "customer request", t).unwrap();
    assert_eq!((closed.status, closed.balance), (aisle::commerce::AccountStatus::Closed, chf(0)));
    assert_eq!(sv.load_at(GC, "GC-0001", chf(100), "", t).unwrap_err().code(), "STORED_VALUE_CLOSED");
    assert_eq!(sv.unfreeze_at(GC, "GC-0001", "x", t).unwrap_err().code(), "STORED_VALUE_CLOSED");
    assert_eq!(sv.adjust_at(GC, "GC-0001", chf(1), "x", t).unwrap_err().code(), "STORED_VALUE_CLOSED");

    let history = sv.history(GC, "GC-0001").unwrap();
    let kinds: Vec<(EntryType, i64)> = history.iter().map(|e| (e.entry_type, e.amount.minor())).collect();
    assert_eq!(
        kinds,
        [
            (EntryType::Issue, 5000),
            (EntryType::Load, 2000),
            (EntryType::Freeze, 0),
            (EntryType::Adjust, -500),
            (EntryType::Unfreeze, 0),
            (EntryType::Adjust, -6500),
            (EntryType::Close, 0),
        ]
    );
    assert_eq!(history[0].reason.as_deref(), Some("sold at the till"));
    assert_eq!(history[1].reason, None);
    assert_ledger_consistent(&edge, GC, "GC-0001");
    assert_eq!(sv.accounts(GC).unwrap().len(), 1);
    assert_eq!(sv.accounts(SC).unwrap()[0].id, "GC-0001");
}

#[test]
fn bad_input_is_refused_and_card_numbers_are_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let sv = edge.stored_value();
    let t = t0();
    let code = |r: aisle::Result<aisle::commerce::StoredValueAccount>| r.unwrap_err().code();
    assert_eq!(code(sv.account(GC, "nope")), "STORED_VALUE_NOT_FOUND");
    assert_eq!(code(sv.load_at(GC, "nope", chf(1), "", t)), "STORED_VALUE_NOT_FOUND");
    assert_eq!(code(sv.issue_at(GC, "GC-1", chf(0), None, "", t)), "INVALID_ARGUMENT");
    assert_eq!(code(sv.issue_at(GC, "GC-1", chf(-1), None, "", t)), "INVALID_ARGUMENT");
    assert_eq!(code(sv.issue_at(GC, " GC-1", chf(1), None, "", t)), "INVALID_ARGUMENT");
    assert_eq!(code(sv.issue_at(GC, "", chf(1), None, "", t)), "INVALID_ARGUMENT");
    assert_eq!(code(sv.issue_at(GC, "GC\n1", chf(1), None, "", t)), "INVALID_ARGUMENT");
    assert_eq!(code(sv.issue_at(GC, &"9".repeat(129), chf(1), None, "", t)), "INVALID_ARGUMENT");
    assert_eq!(code(sv.issue_at(GC, "GC-1", chf(1), Some(t.as_millisecond()), "", t)), "INVALID_ARGUMENT");
    sv.issue_at(GC, "GC-1", chf(100), None, "", t).unwrap();
    assert_eq!(code(sv.adjust_at(GC, "GC-1", chf(0), "zero", t)), "INVALID_ARGUMENT");
    assert_eq!(code(sv.adjust_at(GC, "GC-1", chf(5), "  ", t)), "INVALID_ARGUMENT");
    assert_eq!(code(sv.freeze_at(GC, "GC-1", "", t)), "INVALID_ARGUMENT");
    let err = sv.load_at(GC, "GC-1", Money::new(100, Currency::EUR), "", t).unwrap_err();
    assert_eq!(err.code(), "STORED_VALUE_CURRENCY_MISMATCH");
    assert!(err.to_string().contains("CHF") && err.to_string().contains("EUR"), "{err}");
    // A payment card number as an id or in a reason: refused, never echoed.
    for id in ["4111111111111111", "4111 1111 1111 1111", "GC-5555-5555-5555-4444"] {
        let err = sv.issue_at(GC, id, chf(100), None, "", t).unwrap_err();
        assert_eq!(err.code(), "CARD_NUMBER_REFUSED", "{id}");
        assert!(!err.to_string().contains("4111 1111") && !err.to_string().contains("411111111111"), "{err}");
        assert_eq!(sv.account(GC, id).unwrap_err().code(), "CARD_NUMBER_REFUSED");
    }
    let err = sv.adjust_at(GC, "GC-1", chf(5), "card 4111 1111 1111 1111", t).unwrap_err();
    assert_eq!(err.code(), "CARD_NUMBER_REFUSED");
    // Nothing of it was written.
    assert_eq!(types(&edge, GC, "GC-1"), [(EntryType::Issue, 100, None)]);
    assert_eq!(sv.accounts(GC).unwrap().len(), 1);
}

#[test]
fn the_schema_itself_keeps_the_ledger_append_only_and_balances_non_negative() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    edge.stored_value().issue_at(GC, "GC-1", chf(100), None, "", t0()).unwrap();
    let db = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    for sql in [
        "UPDATE stored_value_entry SET amount_minor = 999",
        "DELETE FROM stored_value_entry",
        // A redemption past the balance, bypassing the code.
        "INSERT INTO stored_value_entry (kind, account_id, type, amount_minor, balance_minor, at_ms)
         VALUES ('gift_card', 'GC-1', 'redeem', -101, 0, 0)",
        // A balance_after that is not the sum of the entries.
        "INSERT INTO stored_value_entry (kind, account_id, type, amount_minor, balance_minor, at_ms)
         VALUES ('gift_card', 'GC-1', 'load', 5, 999, 0)",
        // A redemption recorded as a positive amount.
        "INSERT INTO stored_value_entry (kind, account_id, type, amount_minor, balance_minor, at_ms)
         VALUES ('gift_card', 'GC-1', 'redeem', 5, 105, 0)",
        // An entry for an account that does not exist.
        "INSERT INTO stored_value_entry (kind, account_id, type, amount_minor, balance_minor, at_ms)
         VALUES ('gift_card', 'GC-2', 'load', 5, 5, 0)",
    ] {
        assert!(db.execute(sql, []).is_err(), "{sql}");
    }
    drop(db);
    assert_eq!(edge.stored_value().balance(GC, "GC-1").unwrap(), chf(100));
    assert_ledger_consistent(&edge, GC, "GC-1");
}

#[test]
fn a_sale_redeems_in_its_own_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let sv = edge.stored_value();
    let t = t0();
    sv.issue_at(GC, "GC-42", chf(2000), None, "", t).unwrap();
    // WINE 16.90 + BREAD 4.95 = 21.85: 20.00 from the card, 1.85 in cash.
    let sale =
        sell(&edge, &[("WINE", 1), ("BREAD", 1)], &[TenderInput::gift_card(chf(2000), "GC-42"), TenderInput::cash(chf(500))])
            .unwrap();
    assert_eq!(sale.settlement.change, chf(315));
    assert_eq!(sv.balance(GC, "GC-42").unwrap(), chf(0));
    assert_eq!(sale.stored_value.len(), 1);
    let m = &sale.stored_value[0];
    assert_eq!((m.tender_index, m.kind, m.account_id.as_str(), m.amount, m.balance_after), (0, GC, "GC-42", chf(-2000), chf(0)));
    assert_eq!(
        types(&edge, GC, "GC-42"),
        [(EntryType::Issue, 2000, None), (EntryType::Redeem, -2000, Some(sale.receipt_no.clone()))]
    );
    // The stored record carries the movements; the receipt prints the balance.
    assert_eq!(edge.sales().get(&sale.receipt_no).unwrap(), sale);
    let receipt = edge.sales().receipt(&sale.receipt_no).unwrap();
    assert_eq!(receipt.tenders[0].balance, Some(chf(0)));
    assert_eq!(receipt.tenders[1].balance, None);
    assert!(receipt.render_text(48).contains("  Balance"));

    // Every refusal writes nothing: no entry, no receipt number, the cart stays open.
    sv.issue_at(GC, "GC-5", chf(500), Some(at("2026-12-01T00:00:00Z").as_millisecond()), "", t).unwrap();
    sv.issue_at(GC, "GC-F", chf(5000), None, "", t).unwrap();
    sv.freeze_at(GC, "GC-F", "fraud check", t).unwrap();
    sv.issue_at(GC, "GC-X", chf(5000), None, "", t).unwrap();
    sv.adjust_at(GC, "GC-X", chf(-5000), "void", t).unwrap();
    sv.close_at(GC, "GC-X", "void", t).unwrap();
    sv.issue_at(GC, "GC-EUR", Money::new(5000, Currency::EUR), None, "", t).unwrap();
    let cart = edge.new_cart().unwrap();
    cart.add("WINE", 1).unwrap();
    let before = edge.sales().receipt_numbers().unwrap();
    let cases: Vec<(Vec<TenderInput>, &str, jiff::Timestamp)> = vec![
        (vec![TenderInput::gift_card(chf(1000), "GC-5"), TenderInput::cash(chf(700))], "STORED_VALUE_INSUFFICIENT", t),
        (
            vec![TenderInput::gift_card(chf(300), "GC-5"), TenderInput::gift_card(chf(300), "GC-5"), TenderInput::cash(chf(1090))],
            "STORED_VALUE_INSUFFICIENT",
            t,
        ),
        (vec![TenderInput::gift_card(chf(500), "GC-5"), TenderInput::cash(chf(1190))], "STORED_VALUE_EXPIRED", at("2026-12-01T00:00:00Z")),
        (vec![TenderInput::gift_card(chf(1690), "GC-NONE")], "STORED_VALUE_NOT_FOUND", t),
        (vec![TenderInput::store_credit(chf(1690), "GC-5")], "STORED_VALUE_NOT_FOUND", t),
        (vec![TenderInput::gift_card(chf(1690), "GC-F")], "STORED_VALUE_FROZEN", t),
        (vec![TenderInput::gift_card(chf(1690), "GC-X")], "STORED_VALUE_CLOSED", t),
        (vec![TenderInput::gift_card(chf(1690), "GC-EUR")], "STORED_VALUE_CURRENCY_MISMATCH", t),
        (vec![TenderInput::gift_card(chf(1690), "6006491234567890126")], "CARD_NUMBER_REFUSED", t),
    ];
    for (tenders, code, when) in cases {
        let err = cart.complete_at(&tenders, when).unwrap_err();
        assert_eq!(err.code(), code, "{tenders:?}: {err}");
        assert!(!err.to_string().contains("6006491234567890126"), "{err}");
    }
    assert_eq!(edge.sales().receipt_numbers().unwrap(), before);
    assert_eq!(sv.balance(GC, "GC-5").unwrap(), chf(500));
    assert_eq!(types(&edge, GC, "GC-5").len(), 1);
    assert_eq!(types(&edge, GC, "GC-F").len(), 2);
    // The same cart then completes, with the next receipt number (gap-free).
    let ok = cart.complete_at(&[TenderInput::gift_card(chf(500), "GC-5"), TenderInput::cash(chf(1190))], t).unwrap();
    assert_eq!(ok.receipt_no, "till-1-000002");
    assert_eq!(sv.balance(GC, "GC-5").unwrap(), chf(0));
    for id in ["GC-42", "GC-5", "GC-F", "GC-X", "GC-EUR"] {
        assert_ledger_consistent(&edge, GC, id);
    }
}

#[test]
fn refunds_credit_the_card_or_new_store_credit() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let sv = edge.stored_value();
    let sales = edge.sales();
    let t = t0();
    sv.issue_at(GC, "GC-7", chf(10_000), None, "", t).unwrap();
    // 3 × WINE = 50.70: 30.00 gift card, 20.70 card.
    let sale = sell(&edge, &[("WINE", 3)], &[TenderInput::gift_card(chf(3000), "GC-7"), card(2070)]).unwrap();
    assert_eq!(sv.balance(GC, "GC-7").unwrap(), chf(7000));
    // Return one: non-cash first in their original order: the gift card gets 16.90 back.
    let r1 = sales.return_items_at(&sale.receipt_no, &[ReturnItem { line_no: 1, quantity: 1 }], "too many", RefundTo::OriginalTenders, t).unwrap();
    assert_eq!(r1.settlement.tenders.len(), 1);
    assert_eq!((r1.settlement.tenders[0].kind, r1.settlement.tenders[0].amount), (TenderKind::GiftCard, chf(-1690)));
    assert_eq!(sv.balance(GC, "GC-7").unwrap(), chf(8690));
    assert_eq!(r1.stored_value[0].balance_after, chf(8690));
    assert_eq!(types(&edge, GC, "GC-7").last().unwrap(), &(EntryType::Refund, 1690, Some(r1.receipt_no.clone())));
    let refund_entry = sv.history(GC, "GC-7").unwrap().pop().unwrap();
    assert_eq!(refund_entry.reason.as_deref(), Some("too many"));

    // The card is closed now: the rest of its share goes to new store credit instead.
    sv.adjust_at(GC, "GC-7", chf(-8690), "paid out", t).unwrap();
    sv.close_at(GC, "GC-7", "done", t).unwrap();
    let r2 = sales.return_items_at(&sale.receipt_no, &[ReturnItem { line_no: 1, quantity: 1 }], "gift", RefundTo::OriginalTenders, t).unwrap();
    // 16.90 more: 13.10 left on the gift card's share → store credit, 3.80 to the card.
    let parts: Vec<(TenderKind, i64)> = r2.settlement.tenders.iter().map(|t| (t.kind, t.amount.minor())).collect();
    assert_eq!(parts, [(TenderKind::StoreCredit, -1310), (TenderKind::Card, -380)]);
    let credit_id = format!("SC-{}", r2.receipt_no);
    assert_eq!(r2.store_credit_id(), Some(credit_id.as_str()));
    assert_eq!(r2.settlement.tenders[0].reference.as_deref(), Some(credit_id.as_str()));
    assert_eq!(sv.balance(SC, &credit_id).unwrap(), chf(1310));
    assert_eq!(sv.balance(GC, "GC-7").unwrap(), chf(0));

    // The last one, as new store credit.
    let r3 = sales.return_items_at(&sale.receipt_no, &[ReturnItem { line_no: 1, quantity: 1 }], "x", RefundTo::StoreCredit, t).unwrap();
    let id3 = r3.store_credit_id().unwrap().to_owned();
    assert_eq!(id3, format!("SC-{}", r3.receipt_no));
    assert_eq!(sv.balance(SC, &id3).unwrap(), chf(1690));
    // Which pays for a new sale.
    let s2 = sell(&edge, &[("WINE", 1)], &[TenderInput::store_credit(chf(1690), id3.clone())]).unwrap();
    assert_eq!(s2.stored_value[0].balance_after, chf(0));
    // A refund to an account the app names: it must exist and be usable.
    sv.issue_at(SC, "CUST-9", chf(100), None, "customer account", t).unwrap();
    let items = [ReturnItem { line_no: 1, quantity: 1 }];
    let err = sales.return_items_to_account_at(&s2.receipt_no, &items, "x", SC, "CUST-NONE", t).unwrap_err();
    assert_eq!(err.code(), "STORED_VALUE_NOT_FOUND");
    sv.freeze_at(SC, "CUST-9", "check", t).unwrap();
    let err = sales.return_items_to_account_at(&s2.receipt_no, &items, "x", SC, "CUST-9", t).unwrap_err();
    assert_eq!(err.code(), "STORED_VALUE_FROZEN");
    assert!(sales.returned_units(&s2.receipt_no).unwrap().is_empty(), "a refused refund returns nothing");
    sv.unfreeze_at(SC, "CUST-9", "ok", t).unwrap();
    let r4 = sales.return_items_to_account_at(&s2.receipt_no, &items, "x", SC, "CUST-9", t).unwrap();
    assert_eq!(r4.settlement.tenders[0].reference.as_deref(), Some("CUST-9"));
    assert_eq!(sv.balance(SC, "CUST-9").unwrap(), chf(1790));
    assert_eq!(r4.store_credit_id(), Some("CUST-9"));
    // A frozen original gift card refuses the refund (it may be stolen): use store credit.
    sv.issue_at(GC, "GC-8", chf(1000), None, "", t).unwrap();
    let s3 = sell(&edge, &[("CHOC", 1)], &[TenderInput::gift_card(chf(233), "GC-8")]).unwrap();
    sv.freeze_at(GC, "GC-8", "stolen", t).unwrap();
    let one = [ReturnItem { line_no: 1, quantity: 1 }];
    let err = sales.return_items_at(&s3.receipt_no, &one, "x", RefundTo::OriginalTenders, t).unwrap_err();
    assert_eq!(err.code(), "STORED_VALUE_FROZEN");
    assert!(sales.return_items_at(&s3.receipt_no, &one, "x", RefundTo::StoreCredit, t).is_ok());
    // Blind returns to store credit open an account too.
    let mut s = edge.settings().unwrap();
    s.returns.blind_returns = true;
    edge.set_settings(&s).unwrap();
    let b = sales.blind_return_at(&[("CHOC".to_string(), 2)], "no receipt", RefundTo::StoreCredit, t).unwrap();
    assert_eq!(sv.balance(SC, b.store_credit_id().unwrap()).unwrap(), chf(466));
    for a in sv.accounts(GC).unwrap().iter().chain(&sv.accounts(SC).unwrap()) {
        assert_ledger_consistent(&edge, a.kind, &a.id);
    }
}

#[test]
fn an_exchange_for_something_dearer_is_two_linked_receipts_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let sales = edge.sales();
    let t = t0();
    // 2 × WINE = 33.80 by card.
    let original = sell(&edge, &[("WINE", 2)], &[card(3380)]).unwrap();
    // Swap one wine (16.90) for a gift box (50.00): 33.10 to pay, 33.10 in cash → 33.10.
    let cart = edge.new_cart().unwrap();
    cart.add("GIFT", 1).unwrap();
    let x = sales
        .exchange_at(
            &original.receipt_no,
            &[ReturnItem { line_no: 1, quantity: 1 }],
            &cart,
            &[TenderInput::cash(chf(4000))],
            "wrong wine",
            RefundTo::OriginalTenders,
            t,
        )
        .unwrap();
    assert_eq!((x.refund.receipt_no.as_str(), x.sale.receipt_no.as_str()), ("till-1-000002", "till-1-000003"));
    assert_eq!(x.refund.exchange_with.as_deref(), Some("till-1-000003"));
    assert_eq!(x.sale.exchange_with.as_deref(), Some("till-1-000002"));
    assert_eq!(x.refund.original.as_deref(), Some(original.receipt_no.as_str()));
    assert_eq!(x.refund.total, chf(-1690));
    assert_eq!(x.sale.total, chf(5000));
    // The credit pays first; the customer's cash covers the rest (cash-rounded), with change.
    let credit_id = "SC-till-1-000002";
    let tenders: Vec<(TenderKind, i64, Option<&str>)> =
        x.sale.settlement.tenders.iter().map(|t| (t.kind, t.amount.minor(), t.reference.as_deref())).collect();
    assert_eq!(tenders, [(TenderKind::StoreCredit, 1690, Some(credit_id)), (TenderKind::Cash, 3310, None)]);
    assert_eq!(x.sale.settlement.change, chf(690));
    assert_eq!(x.difference, chf(3310));
    let refund_tenders: Vec<(TenderKind, i64)> = x.refund.settlement.tenders.iter().map(|t| (t.kind, t.amount.minor())).collect();
    assert_eq!(refund_tenders, [(TenderKind::StoreCredit, -1690)]);
    // The credit passed through the ledger and is spent.
    assert_eq!(
        types(&edge, SC, credit_id),
        [
            (EntryType::Refund, 1690, Some("till-1-000002".into())),
            (EntryType::Redeem, -1690, Some("till-1-000003".into()))
        ]
    );
    assert_eq!(edge.stored_value().balance(SC, credit_id).unwrap(), chf(0));
    // Stored as returned, both records readable, linked in the table too, cart closed.
    assert_eq!(sales.returned_units(&original.receipt_no).unwrap(), [(1, 1)]);
    assert_eq!(sales.get("till-1-000002").unwrap(), x.refund);
    assert_eq!(sales.get("till-1-000003").unwrap(), x.sale);
    assert_eq!(cart.complete_at(&[TenderInput::cash(chf(5000))], t).unwrap_err().code(), "CART_CLOSED");
    let db = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
    let links: Vec<(String, Option<String>)> = db
        .prepare("SELECT receipt_no, exchange_with FROM sale ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        links,
        [
            ("till-1-000001".into(), None),
            ("till-1-000002".into(), Some("till-1-000003".into())),
            ("till-1-000003".into(), Some("till-1-000002".into()))
        ]
    );
    let events: Vec<String> =
        db.prepare("SELECT type FROM event_log ORDER BY seq").unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(events, ["SaleCompleted", "RefundCompleted", "SaleCompleted"]);
    // Receipts name each other.
    assert!(sales.receipt("till-1-000002").unwrap().render_text(48).contains("Exchanged for receipt"));
    assert!(sales.receipt("till-1-000003").unwrap().render_text(48).contains("Exchange of receipt"));

    // Returning the gift box later: the credit part goes back as store credit, the cash as cash.
    let back = sales.return_items_at("till-1-000003", &[ReturnItem { line_no: 1, quantity: 1 }], "changed mind", RefundTo::OriginalTenders, t).unwrap();
    let parts: Vec<(TenderKind, i64)> = back.settlement.tenders.iter().map(|t| (t.kind, t.amount.minor())).collect();
    assert_eq!(parts, [(TenderKind::StoreCredit, -1690), (TenderKind::Cash, -3310)]);
    assert_eq!(edge.stored_value().balance(SC, credit_id).unwrap(), chf(1690));
    // And the other wine of the original sale still refunds to the card.
    let last = sales.return_items_at(&original.receipt_no, &[ReturnItem { line_no: 1, quantity: 1 }], "x", RefundTo::OriginalTenders, t).unwrap();
    assert_eq!(last.settlement.tenders[0].kind, TenderKind::Card);
    assert_eq!(last.settlement.due, chf(-1690));
    assert_ledger_consistent(&edge, SC, credit_id);
}

#[test]
fn an_exchange_for_something_cheaper_refunds_the_excess_or_keeps_it_as_credit() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let sales = edge.sales();
    let sv = edge.stored_value();
    let t = t0();
    // 2 × WINE = 33.80: 10.00 card, 23.80 cash.
    let original = sell(&edge, &[("WINE", 2)], &[card(1000), TenderInput::cash(chf(2380))]).unwrap();
    let one_wine = [ReturnItem { line_no: 1, quantity: 1 }];
    // Wine (16.90) for bread (4.95): 11.95 excess, to the original tenders: card first
    // (10.00), then cash 1.95.
    let cart = edge.new_cart().unwrap();
    cart.add("BREAD", 1).unwrap();
    let x = sales.exchange_at(&original.receipt_no, &one_wine, &cart, &[], "swap", RefundTo::OriginalTenders, t).unwrap();
    let parts: Vec<(TenderKind, i64)> = x.refund.settlement.tenders.iter().map(|t| (t.kind, t.amount.minor())).collect();
    assert_eq!(parts, [(TenderKind::StoreCredit, -495), (TenderKind::Card, -1000), (TenderKind::Cash, -195)]);
    let sale_parts: Vec<(TenderKind, i64)> = x.sale.settlement.tenders.iter().map(|t| (t.kind, t.amount.minor())).collect();
    assert_eq!(sale_parts, [(TenderKind::StoreCredit, 495)]);
    assert_eq!(x.difference, chf(-1195));
    assert_eq!(sv.balance(SC, &format!("SC-{}", x.refund.receipt_no)).unwrap(), chf(0));

    // The other wine for a chocolate (2.33), the excess kept as store credit.
    let cart = edge.new_cart().unwrap();
    cart.add("CHOC", 1).unwrap();
    let y = sales.exchange_at(&original.receipt_no, &one_wine, &cart, &[], "swap", RefundTo::StoreCredit, t).unwrap();
    let id = format!("SC-{}", y.refund.receipt_no);
    assert_eq!(y.refund.settlement.tenders.len(), 1);
    assert_eq!(y.refund.settlement.tenders[0].amount, chf(-1690));
    assert_eq!(y.refund.store_credit_id(), Some(id.as_str()));
    assert_eq!(sv.balance(SC, &id).unwrap(), chf(1457));
    assert_eq!(y.difference, chf(-1457));
    assert_eq!(
        types(&edge, SC, &id),
        [(EntryType::Refund, 1690, Some(y.refund.receipt_no.clone())), (EntryType::Redeem, -233, Some(y.sale.receipt_no.clone()))]
    );
    // Everything of the original is returned; the card and cash got back exactly what the
    // exchanges did not spend.
    assert_eq!(sales.returned_units(&original.receipt_no).unwrap(), [(1, 2)]);
    let numbers = sales.receipt_numbers().unwrap();
    assert_eq!(numbers, ["till-1-000001", "till-1-000002", "till-1-000003", "till-1-000004", "till-1-000005"]);
}

#[test]
fn a_refused_exchange_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let sales = edge.sales();
    let t = t0();
    let original = sell(&edge, &[("WINE", 1)], &[card(1690)]).unwrap();
    let one = [ReturnItem { line_no: 1, quantity: 1 }];
    edge.stored_value().issue_at(GC, "GC-1", chf(100), None, "", t).unwrap();
    let dear = edge.new_cart().unwrap();
    dear.add("GIFT", 1).unwrap();
    let cheap = edge.new_cart().unwrap();
    cheap.add("CHOC", 1).unwrap();
    let empty = edge.new_cart().unwrap();
    let two = [ReturnItem { line_no: 1, quantity: 2 }];
    let nine = [ReturnItem { line_no: 9, quantity: 1 }];
    let cases: Vec<(&[ReturnItem], &aisle::Cart, Vec<TenderInput>, &str, &str)> = vec![
        (&one[..], &dear, vec![], "x", "INSUFFICIENT_TENDER"),
        (&one[..], &dear, vec![TenderInput::cash(chf(100))], "x", "INSUFFICIENT_TENDER"),
        (&one[..], &dear, vec![TenderInput::gift_card(chf(3310), "GC-1")], "x", "STORED_VALUE_INSUFFICIENT"),
        (&one[..], &dear, vec![card(4000)], "x", "TENDER_EXCEEDS_DUE"),
        (&one[..], &cheap, vec![TenderInput::cash(chf(100))], "x", "TENDER_EXCEEDS_DUE"),
        (&two[..], &cheap, vec![], "x", "RETURN_REFUSED"),
        (&nine[..], &cheap, vec![], "x", "RETURN_REFUSED"),
        (&[][..], &cheap, vec![], "x", "INVALID_ARGUMENT"),
        (&one[..], &cheap, vec![], "", "INVALID_ARGUMENT"),
        (&one[..], &cheap, vec![], "card 4111 1111 1111 1111", "CARD_NUMBER_REFUSED"),
        (&one[..], &empty, vec![], "x", "INVALID_ARGUMENT"),
    ];
    for (items, cart, tenders, reason, code) in cases {
        let err = sales.exchange_at(&original.receipt_no, items, cart, &tenders, reason, RefundTo::OriginalTenders, t).unwrap_err();
        assert_eq!(err.code(), code, "{items:?} {tenders:?}: {err}");
    }
    let err = sales.exchange_at("till-1-999999", &one, &cheap, &[], "x", RefundTo::OriginalTenders, t).unwrap_err();
    assert_eq!(err.code(), "UNKNOWN_RECEIPT");
    // Outside the return window.
    let late = at("2027-01-27T10:00:00Z");
    let err = sales.exchange_at(&original.receipt_no, &one, &cheap, &[], "x", RefundTo::OriginalTenders, late).unwrap_err();
    assert_eq!(err.code(), "RETURN_REFUSED");
    // A cart of another store.
    let other = Edge::open_in_memory(EdgeConfig::new("store-8", "till-1", Currency::CHF)).unwrap();
    other.set_settings(&settings(true)).unwrap();
    products(&other);
    let foreign = other.new_cart().unwrap();
    foreign.add("CHOC", 1).unwrap();
    let err = sales.exchange_at(&original.receipt_no, &one, &foreign, &[], "x", RefundTo::OriginalTenders, t).unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    // Nothing was written by any of them.
    assert_eq!(sales.receipt_numbers().unwrap(), ["till-1-000001"]);
    assert!(sales.returned_units(&original.receipt_no).unwrap().is_empty());
    assert!(edge.stored_value().accounts(SC).unwrap().is_empty());
    assert_eq!(edge.stored_value().balance(GC, "GC-1").unwrap(), chf(100));
    // The carts are still open: the exchange goes through, numbered right after.
    let x = sales
        .exchange_at(&original.receipt_no, &one, &dear, &[TenderInput::cash(chf(3310))], "x", RefundTo::OriginalTenders, t)
        .unwrap();
    assert_eq!(x.refund.receipt_no, "till-1-000002");
    assert_eq!(x.sale.receipt_no, "till-1-000003");
}

// ---- properties ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Issue(usize, i64),
    Load(usize, i64),
    Adjust(usize, i64),
    Freeze(usize),
    Unfreeze(usize),
    Close(usize),
    /// Buy the 50.00 gift box paying `amount` from the account, the rest in cash.
    Pay(usize, i64),
    /// Return the gift box of the n-th successful payment, to its original tenders.
    Return(usize),
}

fn op() -> impl Strategy<Value = Op> {
    // Two accounts and weights that make issue → pay → freeze/close → return sequences common.
    let acc = 0usize..2;
    prop_oneof![
        3 => (acc.clone(), 1i64..6000).prop_map(|(a, m)| Op::Issue(a, m)),
        2 => (acc.clone(), 1i64..3000).prop_map(|(a, m)| Op::Load(a, m)),
        2 => (acc.clone(), -4000i64..4000).prop_filter("not zero", |(_, m)| *m != 0).prop_map(|(a, m)| Op::Adjust(a, m)),
        2 => acc.clone().prop_map(Op::Freeze),
        2 => acc.clone().prop_map(Op::Unfreeze),
        1 => acc.clone().prop_map(Op::Close),
        4 => (acc.clone(), 1i64..5001).prop_map(|(a, m)| Op::Pay(a, m)),
        4 => (0usize..2).prop_map(Op::Return),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Missing,
    Active,
    Frozen,
    Closed,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Against a model of every account: each operation succeeds or fails as the rules say
    /// (with the predicted code), a failure changes nothing, and after every step each
    /// account's balance is the sum of its entries and never negative.
    #[test]
    fn the_balance_is_always_the_sum_of_the_entries(ops in prop::collection::vec(op(), 1..60)) {
        let edge = Edge::open_in_memory(EdgeConfig::new("store-7", "till-1", Currency::CHF)).unwrap();
        edge.set_settings(&settings(false)).unwrap();
        products(&edge);
        let sv = edge.stored_value();
        let t = t0();
        let ids = ["GC-A", "GC-B"];
        let mut status = [Status::Missing; 2];
        let mut balance = [0i64; 2];
        let mut entries = [0usize; 2];
        let mut paid: Vec<(String, usize, i64, bool)> = Vec::new(); // receipt, account, amount, returned
        for op in &ops {
            // The payment a return takes back: (receipt, account, amount from the card).
            let target = match *op {
                Op::Return(n) => match paid.iter().filter(|p| !p.3).nth(n).cloned() {
                    None => continue,
                    some => some,
                },
                _ => None,
            };
            let result: Result<(), String> = match *op {
                Op::Issue(a, m) => sv.issue_at(GC, ids[a], chf(m), None, "", t).map(|_| ()).map_err(|e| e.code().into()),
                Op::Load(a, m) => sv.load_at(GC, ids[a], chf(m), "", t).map(|_| ()).map_err(|e| e.code().into()),
                Op::Adjust(a, m) => sv.adjust_at(GC, ids[a], chf(m), "fix", t).map(|_| ()).map_err(|e| e.code().into()),
                Op::Freeze(a) => sv.freeze_at(GC, ids[a], "r", t).map(|_| ()).map_err(|e| e.code().into()),
                Op::Unfreeze(a) => sv.unfreeze_at(GC, ids[a], "r", t).map(|_| ()).map_err(|e| e.code().into()),
                Op::Close(a) => sv.close_at(GC, ids[a], "r", t).map(|_| ()).map_err(|e| e.code().into()),
                Op::Pay(a, m) => {
                    let mut tenders = vec![TenderInput::gift_card(chf(m), ids[a])];
                    if m < 5000 { tenders.push(TenderInput::cash(chf(5000 - m))); }
                    match sell(&edge, &[("GIFT", 1)], &tenders) {
                        Ok(sale) => { paid.push((sale.receipt_no, a, m, false)); Ok(()) }
                        Err(e) => Err(e.code().into()),
                    }
                }
                Op::Return(_) => {
                    let receipt = target.as_ref().map(|p| p.0.clone()).unwrap_or_default();
                    edge.sales()
                        .return_items_at(&receipt, &[ReturnItem { line_no: 1, quantity: 1 }], "r", RefundTo::OriginalTenders, t)
                        .map(|_| { if let Some(p) = paid.iter_mut().find(|p| p.0 == receipt) { p.3 = true; } })
                        .map_err(|e| e.code().into())
                }
            };
            // What the rules say should have happened.
            let expected: Result<Option<(usize, i64, Option<Status>)>, &str> = match *op {
                Op::Issue(a, m) => match status[a] {
                    Status::Missing => Ok(Some((a, m, Some(Status::Active)))),
                    _ => Err("STORED_VALUE_EXISTS"),
                },
                Op::Load(a, m) => match status[a] {
                    Status::Missing => Err("STORED_VALUE_NOT_FOUND"),
                    Status::Frozen => Err("STORED_VALUE_FROZEN"),
                    Status::Closed => Err("STORED_VALUE_CLOSED"),
                    Status::Active => Ok(Some((a, m, None))),
                },
                Op::Adjust(a, m) => match status[a] {
                    Status::Missing => Err("STORED_VALUE_NOT_FOUND"),
                    Status::Closed => Err("STORED_VALUE_CLOSED"),
                    _ if balance[a] + m < 0 => Err("STORED_VALUE_INSUFFICIENT"),
                    _ => Ok(Some((a, m, None))),
                },
                Op::Freeze(a) => match status[a] {
                    Status::Missing => Err("STORED_VALUE_NOT_FOUND"),
                    Status::Closed => Err("STORED_VALUE_CLOSED"),
                    Status::Frozen => Ok(None),
                    Status::Active => Ok(Some((a, 0, Some(Status::Frozen)))),
                },
                Op::Unfreeze(a) => match status[a] {
                    Status::Missing => Err("STORED_VALUE_NOT_FOUND"),
                    Status::Closed => Err("STORED_VALUE_CLOSED"),
                    Status::Active => Ok(None),
                    Status::Frozen => Ok(Some((a, 0, Some(Status::Active)))),
                },
                Op::Close(a) => match status[a] {
                    Status::Missing => Err("STORED_VALUE_NOT_FOUND"),
                    Status::Closed => Ok(None),
                    _ if balance[a] != 0 => Err("INVALID_ARGUMENT"),
                    _ => Ok(Some((a, 0, Some(Status::Closed)))),
                },
                Op::Pay(a, m) => match status[a] {
                    Status::Missing => Err("STORED_VALUE_NOT_FOUND"),
                    Status::Frozen => Err("STORED_VALUE_FROZEN"),
                    Status::Closed => Err("STORED_VALUE_CLOSED"),
                    Status::Active if balance[a] < m => Err("STORED_VALUE_INSUFFICIENT"),
                    Status::Active => Ok(Some((a, -m, None))),
                },
                Op::Return(_) => {
                    // Non-cash first: the gift card gets back all it paid.
                    let (_, a, m, _) = target.clone().unwrap_or_default();
                    match status[a] {
                        Status::Frozen => Err("STORED_VALUE_FROZEN"),
                        // A closed card: new store credit instead, the card is untouched.
                        Status::Closed => Ok(None),
                        _ => Ok(Some((a, m, None))),
                    }
                }
            };
            match (&result, expected) {
                (Ok(()), Ok(change)) => {
                    if let Some((a, m, s)) = change {
                        balance[a] += m;
                        entries[a] += 1;
                        if let Some(s) = s { status[a] = s; }
                    }
                }
                (Err(code), Err(want)) => prop_assert_eq!(code.as_str(), want, "{:?}", op),
                (got, want) => prop_assert!(false, "{:?}: got {:?}, the rules say {:?}", op, got, want),
            }
            for (a, id) in ids.iter().enumerate() {
                if status[a] == Status::Missing {
                    prop_assert_eq!(sv.account(GC, id).unwrap_err().code(), "STORED_VALUE_NOT_FOUND");
                    continue;
                }
                let account = sv.account(GC, id).unwrap();
                let history = sv.history(GC, id).unwrap();
                prop_assert_eq!(account.balance.minor(), balance[a], "{} after {:?}", id, op);
                prop_assert_eq!(history.iter().map(|e| e.amount.minor()).sum::<i64>(), balance[a]);
                prop_assert_eq!(history.len(), entries[a], "{} after {:?}", id, op);
                prop_assert!(history.iter().all(|e| !e.balance_after.is_negative()));
                prop_assert_eq!(history.last().map(|e| e.balance_after.minor()), Some(balance[a]));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// An exchange followed by returning everything that is left of the original sale: the
    /// original card and cash never get back more than they paid; without cash rounding,
    /// everything given back (credit included) is exactly what was paid, and with it, off by
    /// at most one increment per piece; the exchange's credit account never goes negative
    /// and ends with what the new sale did not use (kept as credit) or nothing.
    #[test]
    fn exchanges_never_give_back_more_than_was_paid(
        choc in 1i64..5, wine in 1i64..3, card_part in 0i64..3000,
        back_choc in 0i64..5, back_wine in 0i64..3, bread in 1i64..5,
        keep_credit in any::<bool>(), rounding in any::<bool>(),
    ) {
        let edge = Edge::open_in_memory(EdgeConfig::new("store-7", "till-1", Currency::CHF)).unwrap();
        edge.set_settings(&settings(rounding)).unwrap();
        products(&edge);
        let t = t0();
        let cart = edge.new_cart().unwrap();
        cart.add("CHOC", choc).unwrap();
        cart.add("WINE", wine).unwrap();
        let total = cart.price_at(t).unwrap().total.minor();
        let card_part = card_part.min(total);
        let mut tenders = vec![];
        if card_part > 0 { tenders.push(card(card_part)); }
        if card_part < total { tenders.push(TenderInput::cash(chf(total))); }
        let original = cart.complete_at(&tenders, t).unwrap();
        let paid = |kind: TenderKind| original.settlement.tenders.iter().filter(|t| t.kind == kind).map(|t| t.amount.minor()).sum::<i64>();
        let (card_paid, cash_paid) = (paid(TenderKind::Card), paid(TenderKind::Cash));

        let mut items = vec![];
        let (back_choc, back_wine) = (back_choc.min(choc), back_wine.min(wine));
        if back_choc > 0 { items.push(ReturnItem { line_no: 1, quantity: back_choc }); }
        if back_wine > 0 { items.push(ReturnItem { line_no: 2, quantity: back_wine }); }
        prop_assume!(!items.is_empty());
        let new_cart = edge.new_cart().unwrap();
        new_cart.add("BREAD", bread).unwrap();
        let new_total = new_cart.price_at(t).unwrap().total.minor();
        let excess_to = if keep_credit { RefundTo::StoreCredit } else { RefundTo::OriginalTenders };
        // Pay the difference in cash (rounded up generously), or nothing.
        let attempt = |tenders: &[TenderInput]| edge.sales().exchange_at(&original.receipt_no, &items, &new_cart, tenders, "swap", excess_to, t);
        let x = match attempt(&[]) {
            Ok(x) => x,
            Err(e) => {
                prop_assert_eq!(e.code(), "INSUFFICIENT_TENDER");
                prop_assert_eq!(edge.sales().receipt_numbers().unwrap().len(), 1);
                attempt(&[TenderInput::cash(chf(new_total))]).unwrap()
            }
        };
        prop_assert_eq!(x.difference, x.sale.settlement.due.checked_add(x.refund.settlement.due).unwrap());
        let credit_id = format!("SC-{}", x.refund.receipt_no);
        let credit_left = edge.stored_value().account(SC, &credit_id).map(|a| a.balance.minor()).unwrap_or(0);
        let credited: i64 = x.refund.settlement.tenders.iter().filter(|t| t.kind == TenderKind::StoreCredit).map(|t| -t.amount.minor()).sum();
        let used: i64 = x.sale.settlement.tenders.iter().filter(|t| t.kind == TenderKind::StoreCredit).map(|t| t.amount.minor()).sum();
        prop_assert_eq!(credit_left, credited - used);
        prop_assert!(keep_credit || credit_left == 0);
        if credited > 0 { assert_ledger_consistent(&edge, SC, &credit_id); }

        // Return what is left of the original.
        let rest: Vec<ReturnItem> = [(1u32, choc - back_choc), (2, wine - back_wine)]
            .into_iter().filter(|(_, n)| *n > 0).map(|(line_no, quantity)| ReturnItem { line_no, quantity }).collect();
        let mut refunds = vec![x.refund.clone()];
        if !rest.is_empty() {
            refunds.push(edge.sales().return_items_at(&original.receipt_no, &rest, "rest", RefundTo::OriginalTenders, t).unwrap());
        }
        let back = |kind: TenderKind| refunds.iter().flat_map(|r| &r.settlement.tenders).filter(|t| t.kind == kind).map(|t| -t.amount.minor()).sum::<i64>();
        prop_assert!(back(TenderKind::Card) <= card_paid, "card {} of {}", back(TenderKind::Card), card_paid);
        prop_assert!(back(TenderKind::Cash) <= cash_paid, "cash {} of {}", back(TenderKind::Cash), cash_paid);
        let given_back: i64 = refunds.iter().map(|r| -r.settlement.due.minor()).sum();
        let paid_total = card_paid + cash_paid;
        if rounding {
            prop_assert!((given_back - paid_total).abs() <= 5 * refunds.len() as i64, "{} vs {}", given_back, paid_total);
        } else {
            prop_assert_eq!(given_back, paid_total);
        }
        // Receipt numbers: original, refund, sale, (rest): gap-free.
        let numbers = edge.sales().receipt_numbers().unwrap();
        let expected: Vec<String> = (1..=numbers.len()).map(|i| format!("till-1-{i:06}")).collect();
        prop_assert_eq!(numbers, expected);
    }
}
