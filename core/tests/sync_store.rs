//! Sync between real store files: the store day (HQ changes a price and a promotion, registers
//! pick them up; two registers sell the same SKU while partitioned and stock converges), local
//! writes recorded in their own transaction, chunked catch-up, and the metadata figures.

use aisle::commerce::PriceList;
use aisle::sync::Role;
use aisle::{Currency, Edge, EdgeConfig, Money, Product};

fn edge(store: &str, device: &str) -> Edge {
    Edge::open_in_memory(EdgeConfig::new(store, device, Currency::EUR)).unwrap()
}

fn enrol_all(edges: &[&Edge]) {
    let cards: Vec<_> = edges.iter().map(|e| e.sync().identity().unwrap()).collect();
    for e in edges {
        for c in &cards {
            e.sync().enroll(c).unwrap();
        }
    }
}

/// `into` pulls everything it lacks from `from`.
fn pull(into: &Edge, from: &Edge) -> usize {
    let msgs = from.sync().changes_since(&into.sync().request().unwrap()).unwrap();
    let n = msgs.len();
    for m in msgs {
        into.sync().apply(&m).unwrap();
    }
    n
}

fn eur(s: &str) -> Money {
    Money::parse(s, Currency::EUR).unwrap()
}

#[test]
fn store_day_prices_promotions_and_stock_converge() {
    let (hq, r1, r2) = (edge("hq", "hq-1"), edge("s1", "r1"), edge("s1", "r2"));
    hq.sync().set_role(Role::Hq).unwrap();
    enrol_all(&[&hq, &r1, &r2]);

    // HQ publishes the catalog, a price list and a promotion.
    hq.catalog().upsert(&Product::new("BEER", "Beer 0.5 l", eur("1.20"), "standard").with_category("beer")).unwrap();
    let mut list = PriceList::new("summer", "Summer", Currency::EUR);
    list.prices.insert("BEER".into(), eur("0.99"));
    hq.catalog().upsert_price_list(&list).unwrap();
    hq.set_promotions_json(r#"[{"id":"HALF","rule":{"type":"percent_off","target":{"categories":["beer"]},"percent":50}}]"#)
        .unwrap();
    for r in [&r1, &r2] {
        pull(r, &hq);
        assert_eq!(r.catalog().get("BEER").unwrap().price, eur("1.20"));
        assert_eq!(r.catalog().price_list("summer").unwrap().unwrap().prices["BEER"], eur("0.99"));
        assert_eq!(r.promotions().unwrap().len(), 1);
    }

    // HQ changes the price; the registers stock up and then lose the network.
    hq.catalog().upsert(&Product::new("BEER", "Beer 0.5 l", eur("1.30"), "standard").with_category("beer")).unwrap();
    r1.sync().stock_add("BEER", "shelf", 24).unwrap();
    pull(&r2, &r1);
    assert_eq!(r2.sync().stock_level("BEER", "shelf").unwrap(), 24);
    // Partitioned: both sell; r2 also counts the shelf (having seen only its own sales).
    r1.sync().stock_add("BEER", "shelf", -3).unwrap();
    r2.sync().stock_add("BEER", "shelf", -2).unwrap();
    r2.sync().stocktake("BEER", "shelf", 20).unwrap(); // 2 were broken: 22 expected, 20 found
    r1.sync().stock_add("BEER", "shelf", -1).unwrap();
    // Back online, through HQ only.
    for _ in 0..2 {
        pull(&hq, &r1);
        pull(&hq, &r2);
        pull(&r1, &hq);
        pull(&r2, &hq);
    }
    for r in [&r1, &r2] {
        // The count of 20 minus the 4 r1 sold that r2 had not seen.
        assert_eq!(r.sync().stock_level("BEER", "shelf").unwrap(), 16);
        assert_eq!(r.catalog().get("BEER").unwrap().price, eur("1.30"));
    }
    assert_eq!(hq.sync().stock_level_in("store:s1", "BEER", "shelf").unwrap(), 16);
    assert_eq!(r1.sync().digest().unwrap(), r2.sync().digest().unwrap());
    assert_eq!(hq.sync().digest_in("store:s1").unwrap(), r1.sync().digest_in("store:s1").unwrap());
}

#[test]
fn a_rolled_back_write_records_nothing() {
    let r1 = edge("s1", "r1");
    r1.catalog().upsert(&Product::new("A", "A", eur("1.00"), "standard").with_barcode("4006381333931")).unwrap();
    let before = r1.sync().vector().unwrap();
    // The barcode belongs to A: the upsert fails, and nothing is recorded for sync either.
    let err = r1.catalog().upsert(&Product::new("B", "B", eur("1.00"), "standard").with_barcode("4006381333931")).unwrap_err();
    assert_eq!(err.code(), "DUPLICATE_BARCODE");
    assert_eq!(r1.sync().vector().unwrap(), before);
    let (hq, r2) = (edge("hq", "hq-1"), edge("s1", "r2"));
    hq.sync().set_role(Role::Hq).unwrap();
    enrol_all(&[&hq, &r2]);
    assert!(hq.catalog().find("B").unwrap().is_none());
}

#[test]
fn customers_delete_and_readd_and_settings_reach_the_register() {
    let (hq, r1, r2) = (edge("hq", "hq-1"), edge("s1", "r1"), edge("s1", "r2"));
    hq.sync().set_role(Role::Hq).unwrap();
    enrol_all(&[&hq, &r1, &r2]);
    r1.sync().upsert_customer("C-1", &[("name", "Ada".into()), ("tier", 1i64.into())]).unwrap();
    pull(&r2, &r1);
    r2.sync().delete_customer("C-1").unwrap();
    pull(&r1, &r2);
    assert!(r1.sync().customer("C-1").unwrap().is_none());
    r1.sync().upsert_customer("C-1", &[("name", "Ada L.".into()), ("tier", 2i64.into())]).unwrap();
    pull(&r2, &r1);
    assert_eq!(r2.sync().customer("C-1").unwrap().unwrap()["name"], "Ada L.".into());

    // Settings are the store's own: r1 changes them, r2 prices with them.
    let mut s = r1.settings().unwrap();
    s.store_name = "Corner shop".into();
    r1.set_settings(&s).unwrap();
    pull(&r2, &r1);
    assert_eq!(r2.settings().unwrap().store_name, "Corner shop");
}

#[test]
fn a_large_catch_up_is_chunked_and_figures() {
    let (hq, r1) = (edge("hq", "hq-1"), edge("s1", "r1"));
    hq.sync().set_role(Role::Hq).unwrap();
    enrol_all(&[&hq, &r1]);
    let products: Vec<Product> = (0..2000)
        .map(|i| Product::new(&format!("SKU-{i:05}"), &format!("Product {i}"), eur("2.49"), "standard"))
        .collect();
    hq.catalog().upsert_all(&products).unwrap();
    let msgs = hq.sync().changes_since(&r1.sync().request().unwrap()).unwrap();
    assert!(msgs.len() > 1, "{} chunks", msgs.len());
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    // Chunks apply in any order; the vector advances with the last one.
    let started = std::time::Instant::now();
    for m in msgs.iter().rev() {
        r1.sync().apply(m).unwrap();
    }
    let took = started.elapsed();
    assert_eq!(r1.catalog().len().unwrap(), 2000);
    assert_eq!(r1.sync().digest_in("global").unwrap(), hq.sync().digest_in("global").unwrap());
    // A second pull sends nothing new.
    let again = hq.sync().changes_since(&r1.sync().request().unwrap()).unwrap();
    assert_eq!(again.len(), 1);
    let stats = r1.sync().stats().unwrap();
    eprintln!(
        "catch-up of 2000 products ({} slots): {} chunks, {bytes} bytes on the wire ({:.1} bytes/slot), applied in {took:?} (debug build); \
         metadata {} B vs data {} B = {:.2}x",
        stats.slots,
        msgs.len(),
        bytes as f64 / stats.slots as f64,
        stats.metadata_bytes,
        stats.data_bytes,
        stats.metadata_bytes as f64 / stats.data_bytes as f64
    );
    assert!(stats.metadata_bytes < 3 * stats.data_bytes, "{stats:?}");
}
