//! Commerce events reach the `commerce` stream in the same transaction as the sale, and only
//! then: a sale that fails leaves no event, a refused event refuses the sale.

use aisle::commerce::tender::TenderInput;
use aisle::commerce::{COMMERCE_STREAM, RefundTo, ReturnItem};
use aisle::forward::{StreamConfig, WhenFull};
use aisle::{Currency, Edge, EdgeConfig, Money, Product};

fn eur(m: i64) -> Money {
    Money::new(m, Currency::EUR)
}

fn store(dir: &std::path::Path) -> Edge {
    let edge = Edge::open(dir.join("store.db"), EdgeConfig::new("store-1", "till-1", Currency::EUR)).unwrap();
    let mut settings = edge.settings().unwrap();
    settings.tax_regime = Some(
        aisle::commerce::tax::TaxRegime::from_json(
            r#"{"id":"vat","prices_include_tax":true,"rounding":{"mode":"half_up","level":"line"},
                "rates":[{"id":"S","name":"VAT 20%","categories":["standard"],"percent":"20"}]}"#,
        )
        .unwrap(),
    );
    edge.set_settings(&settings).unwrap();
    edge.catalog().upsert(&Product::new("TEA", "Tea", eur(350), "standard")).unwrap();
    edge
}

fn events(edge: &Edge) -> Vec<serde_json::Value> {
    edge.streams()
        .read(COMMERCE_STREAM, 0, 1000)
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.payload).unwrap())
        .collect()
}

#[test]
fn sales_and_refunds_are_appended_with_the_sale() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let cart = edge.new_cart().unwrap();
    cart.add("TEA", 2).unwrap();
    let sale = cart.complete(&[TenderInput::cash(eur(1000))]).unwrap();
    let ev = events(&edge);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["type"], "SaleCompleted");
    assert_eq!(ev[0]["data"]["receipt_no"], sale.receipt_no.as_str());

    edge.sales()
        .return_items(&sale.receipt_no, &[ReturnItem { line_no: sale.lines[0].line_no, quantity: 1 }], "changed mind", RefundTo::OriginalTenders)
        .unwrap();
    let ev = events(&edge);
    assert_eq!(ev.iter().map(|e| e["type"].as_str().unwrap()).collect::<Vec<_>>(), ["SaleCompleted", "RefundCompleted"]);
    let st = edge.streams().stream_status(COMMERCE_STREAM).unwrap();
    assert_eq!((st.records, st.priority), (2, 100));
}

#[test]
fn a_failed_sale_leaves_no_event_and_a_full_stream_refuses_the_sale() {
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path());
    let cart = edge.new_cart().unwrap();
    cart.add("TEA", 1).unwrap();
    // Not enough money: nothing recorded, no event.
    assert!(cart.complete(&[TenderInput::cash(eur(100))]).is_err());
    assert!(edge.streams().list().unwrap().iter().all(|s| s.name != COMMERCE_STREAM) || events(&edge).is_empty());

    // The outbox is full and its policy is to reject: the sale is refused, not lost.
    edge.streams().create(&StreamConfig::durable(COMMERCE_STREAM, 2500, WhenFull::Reject)).unwrap();
    cart.complete(&[TenderInput::cash(eur(500))]).unwrap();
    let second = edge.new_cart().unwrap();
    second.add("TEA", 1).unwrap();
    let err = second.complete(&[TenderInput::cash(eur(500))]).unwrap_err();
    assert_eq!(err.code(), "STREAM_FULL", "{err}");
    assert_eq!(edge.sales().receipt_numbers().unwrap().len(), 1, "no sale without its event");
    assert_eq!(events(&edge).len(), 1);
    assert_eq!(edge.streams().stream_status(COMMERCE_STREAM).unwrap().rejected_full, 0, "rolled back with the sale");
}
