//! The catalog (variants, barcodes, categories, tags, weighed goods), the v1 → v2 migration and
//! price lists, through the public API only.

use std::collections::BTreeMap;

use aisle::commerce::{PriceContext, PriceList, PriceScope, PriceSource, SoldBy, resolve_in};
use aisle::{Currency, Edge, EdgeConfig, Money, Product};
use proptest::prelude::*;

fn config() -> EdgeConfig {
    EdgeConfig::new("store-1", "register-1", Currency::EUR)
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

fn edge() -> Edge {
    Edge::open_in_memory(config()).unwrap()
}

/// A T-shirt style with two variants, milk with a UPC-A barcode, cheese sold by weight.
fn seeded(edge: &Edge) {
    edge.catalog()
        .upsert_all(&[
            Product::new("TSHIRT", "T-shirt", eur(1500), "standard").with_category("apparel"),
            Product::new("TSHIRT-RED-M", "T-shirt red M", eur(1500), "standard")
                .with_parent("TSHIRT")
                .with_attribute("colour", "red")
                .with_attribute("size", "M")
                .with_barcode("4006381333931")
                .with_category("apparel")
                .with_tag("summer"),
            Product::new("TSHIRT-BLUE-L", "T-shirt blue L", eur(1500), "standard")
                .with_parent("TSHIRT")
                .with_attribute("colour", "blue")
                .with_attribute("size", "L")
                .with_barcode("96385074")
                .with_category("apparel"),
            Product::new("MILK-1L", "Milk 1 l", eur(119), "reduced")
                .with_barcode("036000291452")
                .with_category("food/dairy")
                .with_category("food")
                .with_tag("organic")
                .with_tag("local"),
            Product::new("CHEESE", "Gouda", eur(1990), "reduced").sold_by_weight().with_category("food"),
        ])
        .unwrap();
}

fn skus(products: Vec<Product>) -> Vec<String> {
    products.into_iter().map(|p| p.sku).collect()
}

#[test]
fn products_round_trip_with_all_fields() {
    let edge = edge();
    seeded(&edge);
    let catalog = edge.catalog();
    let red = catalog.get("TSHIRT-RED-M").unwrap();
    assert_eq!(red.parent_sku.as_deref(), Some("TSHIRT"));
    assert_eq!(
        red.attributes,
        BTreeMap::from([("colour".to_owned(), "red".to_owned()), ("size".to_owned(), "M".to_owned())])
    );
    let milk = catalog.get("MILK-1L").unwrap();
    assert_eq!(milk.barcodes, ["036000291452"], "barcodes come back as given");
    assert_eq!(milk.categories, ["food/dairy", "food"], "in the order given");
    assert_eq!(milk.tags, ["organic", "local"]);
    assert_eq!(catalog.get("CHEESE").unwrap().sold_by, SoldBy::Weight);
    // Every product comes back equal to what was written, by every read path.
    let listed = catalog.list().unwrap();
    assert_eq!(listed.len(), 5);
    for p in &listed {
        assert_eq!(&catalog.get(&p.sku).unwrap(), p);
    }
    // A plain Product::new keeps its defaults.
    let plain = Product::new("GUM", "Gum", eur(99), "standard");
    catalog.upsert(&plain).unwrap();
    assert_eq!(catalog.get("GUM").unwrap(), plain);
}

#[test]
fn queries_by_category_tag_and_parent() {
    let edge = edge();
    seeded(&edge);
    let c = edge.catalog();
    assert_eq!(skus(c.in_category("apparel").unwrap()), ["TSHIRT", "TSHIRT-BLUE-L", "TSHIRT-RED-M"]);
    assert_eq!(skus(c.in_category("food").unwrap()), ["CHEESE", "MILK-1L"]);
    assert_eq!(skus(c.in_category("food/dairy").unwrap()), ["MILK-1L"]);
    assert!(c.in_category("Food").unwrap().is_empty(), "exact match");
    assert_eq!(skus(c.with_tag("summer").unwrap()), ["TSHIRT-RED-M"]);
    assert_eq!(skus(c.with_tag("local").unwrap()), ["MILK-1L"]);
    assert!(c.with_tag("nope").unwrap().is_empty());
    let variants = c.variants("TSHIRT").unwrap();
    assert_eq!(skus(variants.clone()), ["TSHIRT-BLUE-L", "TSHIRT-RED-M"]);
    assert_eq!(variants[1].barcodes, ["4006381333931"], "queries return full products");
    assert!(c.variants("MILK-1L").unwrap().is_empty());
}

#[test]
fn barcode_lookup_in_every_length() {
    let edge = edge();
    seeded(&edge);
    let c = edge.catalog();
    // UPC-A as stored, its EAN-13 and GTIN-14 forms.
    for code in ["036000291452", "0036000291452", "00036000291452"] {
        assert_eq!(c.by_barcode(code).unwrap().sku, "MILK-1L", "{code}");
    }
    assert_eq!(c.by_barcode("4006381333931").unwrap().sku, "TSHIRT-RED-M");
    assert_eq!(c.by_barcode("96385074").unwrap().sku, "TSHIRT-BLUE-L");
    assert_eq!(c.by_barcode("00000096385074").unwrap().sku, "TSHIRT-BLUE-L");
    let e = c.by_barcode("5901234123457").unwrap_err();
    assert_eq!(e.to_string(), r#"UNKNOWN_BARCODE: no product with barcode "5901234123457" in catalog"#);
    let e = c.by_barcode("036000291453").unwrap_err();
    assert_eq!(e.code(), "INVALID_BARCODE");
    assert!(e.to_string().contains("check digit is 3, expected 2"), "{e}");
}

#[test]
fn upsert_replaces_barcodes_categories_and_tags() {
    let edge = edge();
    seeded(&edge);
    let c = edge.catalog();
    let milk = Product::new("MILK-1L", "Milk 1 l", eur(125), "reduced")
        .with_barcode("5901234123457")
        .with_category("drinks")
        .with_tag("local");
    c.upsert(&milk).unwrap();
    assert_eq!(c.get("MILK-1L").unwrap(), milk);
    assert_eq!(c.by_barcode("036000291452").unwrap_err().code(), "UNKNOWN_BARCODE", "old barcode released");
    assert_eq!(c.by_barcode("5901234123457").unwrap().price, eur(125));
    assert!(c.in_category("food/dairy").unwrap().is_empty());
    assert!(c.with_tag("organic").unwrap().is_empty());
    // The released barcode can go to another product now.
    let soy = Product::new("SOY-1L", "Soy drink", eur(199), "reduced").with_barcode("0036000291452");
    c.upsert(&soy).unwrap();
    assert_eq!(c.by_barcode("036000291452").unwrap().sku, "SOY-1L");
    // Barcodes may swap between products within one batch.
    let a = Product::new("SOY-1L", "Soy drink", eur(199), "reduced").with_barcode("5901234123457");
    let b = Product::new("MILK-1L", "Milk 1 l", eur(125), "reduced").with_barcode("036000291452");
    c.upsert_all(&[a, b]).unwrap();
    assert_eq!(c.by_barcode("5901234123457").unwrap().sku, "SOY-1L");
    assert_eq!(c.by_barcode("036000291452").unwrap().sku, "MILK-1L");
}

#[test]
fn duplicate_barcode_is_refused_and_nothing_is_written() {
    let edge = edge();
    seeded(&edge);
    let c = edge.catalog();
    let before = c.list().unwrap();
    // The EAN-13 form of milk's UPC-A on another product.
    let soy = Product::new("SOY-1L", "Soy drink", eur(199), "reduced")
        .with_barcode("5901234123457")
        .with_category("drinks")
        .with_barcode("0036000291452");
    let e = c.upsert(&soy).unwrap_err();
    assert_eq!(e.code(), "DUPLICATE_BARCODE");
    assert_eq!(
        e.to_string(),
        r#"DUPLICATE_BARCODE: barcode "0036000291452" already belongs to SKU "MILK-1L", cannot also give it to "SOY-1L""#
    );
    assert_eq!(c.find("SOY-1L").unwrap(), None);
    assert_eq!(c.by_barcode("5901234123457").unwrap_err().code(), "UNKNOWN_BARCODE");
    assert!(c.in_category("drinks").unwrap().is_empty());
    // An existing product changed in the same batch is rolled back too.
    let cheaper_milk = Product::new("MILK-1L", "Milk 1 l", eur(99), "reduced");
    let red = Product::new("TSHIRT-RED-M", "T-shirt red M", eur(1500), "standard").with_barcode("96385074");
    assert_eq!(c.upsert_all(&[cheaper_milk, red]).unwrap_err().code(), "DUPLICATE_BARCODE");
    // Two products of one batch with the same barcode.
    let x = Product::new("X", "X", eur(1), "standard").with_barcode("5901234123457");
    let y = Product::new("Y", "Y", eur(1), "standard").with_barcode("5901234123457");
    assert_eq!(c.upsert_all(&[x, y]).unwrap_err().code(), "DUPLICATE_BARCODE");
    assert_eq!(c.list().unwrap(), before);
}

#[test]
fn invalid_products_are_refused() {
    let c = edge().catalog();
    let p = || Product::new("A", "A", eur(1), "standard");
    let cases = [
        (p().with_barcode("123"), "INVALID_BARCODE"),
        (p().with_barcode("03600029145x"), "INVALID_BARCODE"),
        (p().with_barcode("036000291452").with_barcode("0036000291452"), "INVALID_PRODUCT"),
        (p().with_parent("A"), "INVALID_PRODUCT"),
        (p().with_parent("BAD PARENT"), "INVALID_PRODUCT"),
        (p().with_category(""), "INVALID_PRODUCT"),
        (p().with_category(" food"), "INVALID_PRODUCT"),
        (p().with_tag("x").with_tag("x"), "INVALID_PRODUCT"),
        (p().with_attribute("", "x"), "INVALID_PRODUCT"),
        (p().with_attribute("size", "M\n"), "INVALID_PRODUCT"),
    ];
    for (product, code) in cases {
        assert_eq!(c.upsert(&product).unwrap_err().code(), code, "{product:?}");
    }
    assert!(c.is_empty().unwrap());
}

#[test]
fn weighed_amounts() {
    // 1.234 kg at 19.90 EUR/kg = 24.5566 → 24.56; pieces multiply.
    assert_eq!(SoldBy::Weight.amount(eur(1990), 1234, aisle::RoundingMode::HalfEven).unwrap(), eur(2456));
    assert_eq!(SoldBy::Unit.amount(eur(119), 3, aisle::RoundingMode::HalfEven).unwrap(), eur(357));
}

/// The schema exactly as version 1 of Aisle wrote it.
const V1_DDL: &str = "
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    CREATE TABLE product (
        sku          TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        price_minor  INTEGER NOT NULL CHECK (price_minor >= 0),
        currency     TEXT NOT NULL,
        tax_category TEXT NOT NULL
    ) STRICT;
    CREATE TABLE cart (
        id         TEXT PRIMARY KEY,
        currency   TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        next_pos   INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE TABLE cart_line (
        cart_id  TEXT NOT NULL REFERENCES cart(id) ON DELETE CASCADE,
        sku      TEXT NOT NULL REFERENCES product(sku),
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        position INTEGER NOT NULL,
        PRIMARY KEY (cart_id, sku)
    ) STRICT;";

#[test]
fn a_v1_file_migrates_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(V1_DDL).unwrap();
        conn.execute_batch(
            "INSERT INTO meta VALUES ('store_id', 'store-1'), ('device_id', 'register-1'), ('currency', 'EUR'),
                                     ('cart_seq', '1');
             INSERT INTO product VALUES ('MILK-1L', 'Milk 1 l', 119, 'EUR', 'reduced'),
                                        ('BREAD', 'Bread', 249, 'EUR', 'reduced');
             INSERT INTO cart VALUES ('register-1-cart-1', 'EUR', 1700000000000, 2);
             INSERT INTO cart_line VALUES ('register-1-cart-1', 'MILK-1L', 3, 1),
                                          ('register-1-cart-1', 'BREAD', 1, 2);",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let edge = Edge::open(&path, config()).unwrap();
    assert_eq!(edge.schema_version(), aisle::store::SCHEMA_VERSION);
    let c = edge.catalog();
    assert_eq!(c.get("MILK-1L").unwrap(), Product::new("MILK-1L", "Milk 1 l", eur(119), "reduced"));
    assert_eq!(c.len().unwrap(), 2);
    let cart = edge.cart("register-1-cart-1").unwrap();
    assert_eq!(cart.subtotal().unwrap(), eur(606));
    assert_eq!(edge.new_cart().unwrap().id(), "register-1-cart-2", "meta kept");
    // The new features work on the migrated file.
    c.upsert(&c.get("MILK-1L").unwrap().with_barcode("036000291452").with_tag("local")).unwrap();
    c.upsert_price_list(&PriceList::new("promo", "Promo", Currency::EUR).with_price("BREAD", eur(199))).unwrap();
    drop(cart);
    edge.close().unwrap();
    drop(edge);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, aisle::store::SCHEMA_VERSION);
    drop(conn);
    let edge = Edge::open(&path, config()).unwrap();
    let c = edge.catalog();
    assert_eq!(c.by_barcode("0036000291452").unwrap().tags, ["local"]);
    let ctx = PriceContext::new("store-1", "pos", 0, Currency::EUR);
    assert_eq!(c.resolve_price("BREAD", &ctx).unwrap().amount, eur(199));
    assert_eq!(edge.cart("register-1-cart-1").unwrap().item_count().unwrap(), 4);
}

// ---- price lists ---------------------------------------------------------------------------

fn pos(at_ms: i64) -> PriceContext {
    PriceContext::new("store-1", "pos", at_ms, Currency::EUR)
}

#[test]
fn price_lists_persist_and_resolve() {
    let edge = edge();
    seeded(&edge);
    let c = edge.catalog();
    let summer = PriceList::new("summer", "Summer sale", Currency::EUR)
        .with_priority(10)
        .valid_between(Some(1_000), Some(2_000))
        .with_price("MILK-1L", eur(99))
        .with_price("NOT-IN-THIS-STORE", eur(1));
    let members = PriceList::new("members", "Members", Currency::EUR)
        .with_priority(10)
        .for_customer_groups(&["members"])
        .with_price("MILK-1L", eur(89));
    let web = PriceList::new("web", "Web shop", Currency::EUR)
        .with_priority(50)
        .for_channels(&["web"])
        .with_price("MILK-1L", eur(79));
    let other_store = PriceList::new("store-2", "Store 2", Currency::EUR)
        .with_priority(99)
        .for_stores(&["store-2"])
        .with_price("MILK-1L", eur(1));
    let usd = PriceList::new("usd", "US", Currency::USD)
        .with_priority(100)
        .with_price("MILK-1L", Money::new(139, Currency::USD));
    for l in [&summer, &members, &web, &other_store, &usd] {
        c.upsert_price_list(l).unwrap();
    }
    let lists = c.price_lists().unwrap();
    assert_eq!(lists.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), ["members", "store-2", "summer", "usd", "web"]);
    assert_eq!(c.price_list("summer").unwrap().as_ref(), Some(&summer));
    assert_eq!(lists[2], summer);

    let resolve = |sku: &str, ctx: &PriceContext| c.resolve_price(sku, ctx).unwrap();
    assert_eq!(resolve("MILK-1L", &pos(0)).source, PriceSource::Base);
    assert_eq!(resolve("MILK-1L", &pos(1_000)).amount, eur(99));
    assert_eq!(resolve("MILK-1L", &pos(2_000)).source, PriceSource::Base, "valid_to is exclusive");
    // Same priority: the customer-group list is more specific than the global one.
    let member = pos(1_500).with_customer_group("members");
    assert_eq!(resolve("MILK-1L", &member).source, PriceSource::List("members".into()));
    let web_ctx = PriceContext::new("store-1", "web", 1_500, Currency::EUR);
    assert_eq!(resolve("MILK-1L", &web_ctx).amount, eur(79));
    // The USD list applies to USD sales only; the base price is EUR.
    let us = PriceContext::new("store-1", "pos", 0, Currency::USD);
    assert_eq!(resolve("MILK-1L", &us).amount, Money::new(139, Currency::USD));
    assert_eq!(c.resolve_price("BREAD-X", &pos(0)).unwrap_err().code(), "UNKNOWN_SKU");
    assert_eq!(c.resolve_price("CHEESE", &us).unwrap_err().code(), "CURRENCY_MISMATCH");
    let cheese = resolve("CHEESE", &pos(0));
    assert_eq!((cheese.amount, cheese.sold_by), (eur(1990), SoldBy::Weight));

    // Replacing a list replaces its prices; removing it is idempotent.
    c.upsert_price_list(
        &PriceList::new("summer", "Summer sale", Currency::EUR).with_priority(10).with_price("CHEESE", eur(1500)),
    )
    .unwrap();
    assert_eq!(resolve("MILK-1L", &pos(1_500)).source, PriceSource::Base);
    assert_eq!(resolve("CHEESE", &pos(1_500)).amount, eur(1500));
    assert!(c.remove_price_list("summer").unwrap());
    assert!(!c.remove_price_list("summer").unwrap());
    assert_eq!(c.price_list("summer").unwrap(), None);
    assert_eq!(resolve("CHEESE", &pos(1_500)).source, PriceSource::Base);
}

#[test]
fn invalid_price_lists_are_refused() {
    let c = edge().catalog();
    let e =
        c.upsert_price_list(&PriceList::new("p", "P", Currency::EUR).valid_between(Some(10), Some(10))).unwrap_err();
    assert_eq!(e.code(), "INVALID_PRICE_LIST");
    assert!(e.to_string().contains("field valid_to"), "{e}");
    let e = c
        .upsert_price_list(&PriceList::new("p", "P", Currency::EUR).with_price("A", Money::new(1, Currency::GBP)))
        .unwrap_err();
    assert_eq!(e.code(), "CURRENCY_MISMATCH");
    assert!(c.price_lists().unwrap().is_empty());
}

#[test]
fn price_list_json_matches_the_published_schema_example() {
    let json = r#"{
        "id": "members-summer",
        "name": "Members' summer prices",
        "currency": "EUR",
        "priority": 10,
        "scope": { "stores": [], "channels": ["pos"], "customer_groups": ["members"] },
        "valid_from": 1748736000000,
        "valid_to": 1756684800000,
        "prices": { "MILK-1L": "1.09", "BREAD-500G": "2.19" }
    }"#;
    let list = PriceList::from_json(json).unwrap();
    assert_eq!(list.prices["MILK-1L"], eur(109));
    assert_eq!(
        list.scope,
        PriceScope { stores: vec![], channels: vec!["pos".into()], customer_groups: vec!["members".into()] }
    );
    assert_eq!(PriceList::from_json(&list.to_json()).unwrap(), list);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/schemas/price-list.schema.json")).unwrap();
    let required: Vec<&str> = schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(required, ["id", "name", "currency", "prices"]);
    // Every field the core writes is described by the schema, and nothing else.
    let written: serde_json::Value = serde_json::from_str(&list.to_json()).unwrap();
    let mut written_keys: Vec<&String> = written.as_object().unwrap().keys().collect();
    written_keys.sort();
    let mut schema_keys: Vec<&String> =
        schema["properties"].as_object().unwrap().keys().filter(|k| *k != "$schema").collect();
    schema_keys.sort();
    assert_eq!(written_keys, schema_keys);
}

// ---- resolution against a brute-force reference ----------------------------------------------

const STORES: [&str; 2] = ["store-1", "store-2"];
const CHANNELS: [&str; 2] = ["pos", "web"];
const GROUPS: [&str; 2] = ["members", "staff"];
const SKUS: [&str; 2] = ["MILK-1L", "CHEESE"];

fn subset(mask: u8, of: [&str; 2]) -> Vec<String> {
    of.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, s)| (*s).to_owned()).collect()
}

/// Which of the two values of a scope dimension a list names; mostly none (= any).
fn scope_mask() -> impl Strategy<Value = u8> {
    prop_oneof![2 => Just(0u8), 1 => 1u8..4]
}

prop_compose! {
    fn price_list(i: usize)(
        // Narrow ranges, so ties on priority and scope (and validity edges) are common.
        priority in -1i32..2,
        stores in scope_mask(), channels in scope_mask(), groups in scope_mask(),
        from in prop::option::weighted(0.4, 0i64..10), len in prop::option::weighted(0.4, 1i64..10),
        usd in prop::bool::weighted(0.1),
        prices in prop::collection::btree_map(prop::sample::select(SKUS.to_vec()), 0i64..500, 1..3),
    ) -> PriceList {
        let currency = if usd { Currency::USD } else { Currency::EUR };
        let mut list = PriceList::new(&format!("list-{}", (i * 3) % 5), "L", currency)
            .with_priority(priority)
            .with_scope(PriceScope { stores: subset(stores, STORES), channels: subset(channels, CHANNELS), customer_groups: subset(groups, GROUPS) });
        list.valid_from = from;
        list.valid_to = match (from, len) { (Some(f), Some(l)) => Some(f + l), (None, Some(l)) => Some(l), _ => None };
        for (sku, minor) in prices {
            list = list.with_price(sku, Money::new(minor, currency));
        }
        list
    }
}

fn price_lists() -> impl Strategy<Value = Vec<PriceList>> {
    (0usize..8).prop_flat_map(|n| (0..n).map(price_list).collect::<Vec<_>>())
}

fn context() -> impl Strategy<Value = PriceContext> {
    (0usize..2, 0usize..2, prop::option::of(0usize..2), 0i64..20).prop_map(|(s, c, g, at)| {
        let ctx = PriceContext::new(STORES[s], CHANNELS[c], at, Currency::EUR);
        match g {
            Some(g) => ctx.with_customer_group(GROUPS[g]),
            None => ctx,
        }
    })
}

/// The rules written out longhand: collect every applicable price, sort by the documented
/// order, take the first.
fn reference(lists: &[PriceList], sku: &str, base: Money, ctx: &PriceContext) -> (Money, PriceSource) {
    let in_dim = |allowed: &Vec<String>, value: Option<&String>| {
        allowed.is_empty() || value.is_some_and(|v| allowed.contains(v))
    };
    let mut candidates: Vec<(i32, u8, String, Money)> = Vec::new();
    for l in lists {
        let valid = l.valid_from.map_or(true, |f| f <= ctx.at_ms) && l.valid_to.map_or(true, |t| ctx.at_ms < t);
        let in_scope = in_dim(&l.scope.stores, Some(&ctx.store_id))
            && in_dim(&l.scope.channels, Some(&ctx.channel))
            && in_dim(&l.scope.customer_groups, ctx.customer_group.as_ref());
        if let (true, true, true, Some(price)) = (l.currency == ctx.currency, valid, in_scope, l.prices.get(sku)) {
            let specificity =
                [!l.scope.customer_groups.is_empty(), !l.scope.channels.is_empty(), !l.scope.stores.is_empty()]
                    .iter()
                    .fold(0u8, |acc, &b| acc * 2 + u8::from(b));
            candidates.push((l.priority, specificity, l.id.clone(), *price));
        }
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    match candidates.first() {
        Some((_, _, id, price)) => (*price, PriceSource::List(id.clone())),
        None => (base, PriceSource::Base),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn resolution_equals_the_reference(lists in price_lists(), contexts in prop::collection::vec(context(), 1..8)) {
        let edge = edge();
        let catalog = edge.catalog();
        let products = [
            Product::new("MILK-1L", "Milk", eur(119), "reduced"),
            Product::new("CHEESE", "Cheese", eur(1990), "reduced").sold_by_weight(),
        ];
        catalog.upsert_all(&products).unwrap();
        // Ids repeat on purpose: a later upsert replaces an earlier list.
        let mut stored: BTreeMap<String, PriceList> = BTreeMap::new();
        for l in &lists {
            catalog.upsert_price_list(l).unwrap();
            stored.insert(l.id.clone(), l.clone());
        }
        let stored: Vec<PriceList> = stored.into_values().collect();
        prop_assert_eq!(&catalog.price_lists().unwrap(), &stored);
        for ctx in &contexts {
            for p in &products {
                let expected = reference(&stored, &p.sku, p.price, ctx);
                let from_db = catalog.resolve_price(&p.sku, ctx).unwrap();
                let pure = resolve_in(&stored, p, ctx).unwrap();
                prop_assert_eq!((from_db.amount, from_db.source.clone()), expected.clone());
                prop_assert_eq!(&pure, &from_db);
                prop_assert_eq!(pure.sold_by, p.sold_by);
                // The answer does not depend on the order of the lists.
                let mut reversed = stored.clone();
                reversed.reverse();
                prop_assert_eq!(resolve_in(&reversed, p, ctx).unwrap(), pure);
            }
        }
    }
}
