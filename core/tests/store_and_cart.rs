//! The store file and carts, through the public API only.

use aisle::{Currency, Edge, EdgeConfig, Money, Product};
use proptest::prelude::*;

fn config() -> EdgeConfig {
    EdgeConfig::new("store-1", "register-1", Currency::EUR)
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

fn seeded(edge: &Edge) {
    edge.catalog()
        .upsert_all(&[
            Product::new("MILK-1L", "Milk 1 l", eur(119), "reduced"),
            Product::new("BREAD-500G", "Bread", eur(249), "reduced"),
            Product::new("GUM-US", "Gum", Money::new(150, Currency::USD), "standard"),
        ])
        .unwrap();
}

#[test]
fn carts_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let id = {
        let edge = Edge::open(&path, config()).unwrap();
        seeded(&edge);
        let cart = edge.new_cart().unwrap();
        cart.add("MILK-1L", 3).unwrap();
        cart.add("BREAD-500G", 1).unwrap();
        cart.id().to_owned()
    };
    let edge = Edge::open(&path, config()).unwrap();
    let cart = edge.cart(&id).unwrap();
    assert_eq!(cart.subtotal().unwrap(), eur(606));
    let skus: Vec<_> = cart.lines().unwrap().into_iter().map(|l| (l.sku, l.quantity)).collect();
    assert_eq!(skus, vec![("MILK-1L".to_owned(), 3), ("BREAD-500G".to_owned(), 1)]);
    // A second cart gets a new id, never a reused one.
    assert_ne!(edge.new_cart().unwrap().id(), id);
}

#[test]
fn typed_errors_change_nothing() {
    let edge = Edge::open_in_memory(config()).unwrap();
    seeded(&edge);
    let cart = edge.new_cart().unwrap();
    cart.add("MILK-1L", 1).unwrap();
    let cases = [
        (cart.add("A-1", 1), "UNKNOWN_SKU"),
        (cart.add("MILK-1L", -1), "INVALID_QUANTITY"),
        (cart.add("MILK-1L", 0), "INVALID_QUANTITY"),
        (cart.add("MILK-1L", aisle::commerce::MAX_QUANTITY), "INVALID_QUANTITY"),
        (cart.set_quantity("MILK-1L", -3), "INVALID_QUANTITY"),
        (cart.add("GUM-US", 1), "CURRENCY_MISMATCH"),
        (cart.remove("BREAD-500G"), "CART_LINE_NOT_FOUND"),
        (cart.add("BAD SKU", 1), "INVALID_PRODUCT"),
    ];
    for (result, code) in cases {
        assert_eq!(result.unwrap_err().code(), code);
    }
    assert_eq!(cart.subtotal().unwrap(), eur(119));
    assert_eq!(edge.cart("nope").unwrap_err().code(), "CART_NOT_FOUND");
    assert_eq!(edge.catalog().get("nope").unwrap_err().to_string(), r#"UNKNOWN_SKU: no product with SKU "nope" in catalog"#);
}

#[test]
fn identity_and_config_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(Edge::open(&path, config()).unwrap());
    let other = EdgeConfig::new("store-2", "register-1", Currency::EUR);
    assert_eq!(Edge::open(&path, other).unwrap_err().code(), "STORE_IDENTITY_MISMATCH");
    let usd = EdgeConfig::new("store-1", "register-1", Currency::USD);
    assert_eq!(Edge::open(&path, usd).unwrap_err().code(), "STORE_IDENTITY_MISMATCH");
    let bad = EdgeConfig::new("", "register-1", Currency::EUR);
    assert_eq!(Edge::open_in_memory(bad).unwrap_err().code(), "INVALID_ARGUMENT");
}

#[test]
fn foreign_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);").unwrap();
    drop(c);
    let err = Edge::open(&path, config()).unwrap_err();
    assert_eq!(err.code(), "STORE_NOT_A_DATABASE", "{err}");
    let c = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 = c.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 1, "the foreign database was not touched");
}

#[test]
fn damaged_file_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let edge = Edge::open(&path, config()).unwrap();
        seeded(&edge);
    }
    // Checkpointed into the main file on close; now overwrite every page after the header page.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4096);
    for b in bytes.iter_mut().skip(4096) {
        *b = 0xA5;
    }
    // And damage the schema page's b-tree header too.
    for b in bytes.iter_mut().take(200).skip(100) {
        *b = 0xFF;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Edge::open(&path, config())
        .and_then(|e| e.catalog().list().map(|_| ()))
        .unwrap_err();
    assert!(matches!(err.code(), "STORE_CORRUPT" | "STORE_NOT_A_DATABASE"), "{err}");
}

#[test]
fn many_threads_share_one_edge() {
    let edge = Edge::open_in_memory(config()).unwrap();
    seeded(&edge);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let edge = edge.clone();
            std::thread::spawn(move || {
                let cart = edge.new_cart().unwrap();
                for _ in 0..25 {
                    cart.add("MILK-1L", 1).unwrap();
                }
                cart.subtotal().unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), eur(25 * 119));
    }
    assert_eq!(edge.cart_ids().unwrap().len(), 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sequence of cart operations leaves a cart whose subtotal is the sum of its lines and
    /// whose lines match a simple model of the operations.
    #[test]
    fn cart_matches_a_model(ops in prop::collection::vec((0u8..4, 0usize..3, -2i64..6), 1..40)) {
        let edge = Edge::open_in_memory(config()).unwrap();
        seeded(&edge);
        let skus = ["MILK-1L", "BREAD-500G", "NOPE"];
        let prices = [119i64, 249, 0];
        let cart = edge.new_cart().unwrap();
        let mut model: Vec<(usize, i64)> = Vec::new();
        for (op, i, q) in ops {
            let r = match op {
                0 => cart.add(skus[i], q),
                1 => cart.set_quantity(skus[i], q),
                2 => cart.remove(skus[i]),
                _ => cart.clear(),
            };
            let pos = model.iter().position(|(s, _)| *s == i);
            let expect_ok = match op {
                0 => i < 2 && q >= 1,
                1 => q == 0 || (i < 2 && q >= 1),
                2 => pos.is_some(),
                _ => true,
            };
            prop_assert_eq!(r.is_ok(), expect_ok, "op {} sku {} q {}: {:?}", op, skus[i], q, r);
            if expect_ok {
                match op {
                    0 => match pos { Some(p) => model[p].1 += q, None => model.push((i, q)) },
                    1 if q == 0 => { if let Some(p) = pos { model.remove(p); } }
                    1 => match pos { Some(p) => model[p].1 = q, None => model.push((i, q)) },
                    2 => { if let Some(p) = pos { model.remove(p); } }
                    _ => model.clear(),
                }
            }
        }
        let lines = cart.lines().unwrap();
        let got: Vec<_> = lines.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
        let want: Vec<_> = model.iter().map(|(i, q)| (skus[*i].to_owned(), *q)).collect();
        prop_assert_eq!(got, want);
        let expected: i64 = model.iter().map(|(i, q)| prices[*i] * q).sum();
        prop_assert_eq!(cart.subtotal().unwrap(), eur(expected));
    }
}

#[test]
fn close_releases_the_file_and_every_handle_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let edge = Edge::open(&path, config()).unwrap();
    seeded(&edge);
    let cart = edge.new_cart().unwrap();
    cart.add("MILK-1L", 2).unwrap();
    let clone = edge.clone();
    edge.close().unwrap();
    assert!(clone.is_closed());
    assert_eq!(cart.add("MILK-1L", 1).unwrap_err().code(), "STORE_CLOSED");
    assert_eq!(clone.catalog().list().unwrap_err().code(), "STORE_CLOSED");
    edge.close().unwrap(); // twice is fine
    // The WAL was checkpointed on close: the main file alone has the data.
    assert!(!dir.path().join("store.db-wal").exists());
    let again = Edge::open(&path, config()).unwrap();
    assert_eq!(again.cart(cart.id()).unwrap().subtotal().unwrap(), eur(238));
}
