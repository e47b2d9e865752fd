//! Workloads shared by the criterion benches and the cross-language bench script, so Rust,
//! Python and Node measure exactly the same data.

use aisle::commerce::promotions::Promotion;
use aisle::commerce::settings::StoreSettings;
use aisle::commerce::tax::TaxRegime;
use aisle::{Currency, Edge, EdgeConfig, Money, Product};

/// Catalog size of the pricing workload.
pub const SKUS: usize = 2000;

pub const TAX: &str = r#"{"id":"vat","prices_include_tax":true,"rounding":{"mode":"half_up","level":"line"},
  "rates":[{"id":"A","name":"VAT 20%","categories":["standard"],"percent":"20"},
           {"id":"B","name":"VAT 5%","categories":["reduced"],"percent":"5"}]}"#;

fn sku(i: usize) -> String {
    format!("SKU-{i:05}")
}

/// The catalog: `SKUS` products in 50 categories, every third reduced-rate.
pub fn products() -> Vec<Product> {
    (0..SKUS)
        .map(|i| {
            Product::new(&sku(i), &format!("Item {i}"), Money::new(99 + (i as i64 * 37) % 2000, Currency::EUR), if i % 3 == 0 { "reduced" } else { "standard" })
                .with_category(&format!("cat-{}", i % 50))
                .with_tag(if i % 7 == 0 { "organic" } else { "regular" })
        })
        .collect()
}

/// `n` active promotions of every rule type, each targeting a few SKUs or a category, as
/// a store's promotion list would look (most do not touch any given cart).
pub fn promotions(n: usize) -> Vec<Promotion> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let a = sku((i * 7) % SKUS);
        let b = sku((i * 13 + 5) % SKUS);
        let c = sku((i * 29 + 11) % SKUS);
        let cat = format!("cat-{}", i % 50);
        let rule = match i % 8 {
            0 => format!(r#"{{"type":"percent_off","target":{{"skus":["{a}","{b}"]}},"percent":"{}"}}"#, 5 + i % 20),
            1 => format!(r#"{{"type":"amount_off","target":{{"skus":["{a}"]}},"amount":"0.{:02}"}}"#, 10 + i % 80),
            2 => format!(r#"{{"type":"fixed_price","target":{{"skus":["{a}","{b}","{c}"]}},"quantity":3,"price":"{}.00"}}"#, 5 + i % 10),
            3 => format!(
                r#"{{"type":"buy_x_get_y","buy":{{"target":{{"skus":["{a}","{b}"]}},"quantity":2}},"get":{{"target":{{"skus":["{c}"]}},"quantity":1}}}}"#
            ),
            4 => format!(
                r#"{{"type":"tiered","target":{{"skus":["{a}","{c}"]}},"basis":"quantity","tiers":[{{"min":"2","percent":"5"}},{{"min":"4","percent":"10"}}]}}"#
            ),
            5 => format!(
                r#"{{"type":"bundle","groups":[{{"target":{{"skus":["{a}"]}},"quantity":1}},{{"target":{{"skus":["{b}"]}},"quantity":1}}],"percent":"15"}}"#
            ),
            6 => format!(r#"{{"type":"percent_off","target":{{"categories":["{cat}"]}},"percent":"3"}},"coupon_gated":true"#),
            _ => format!(r#"{{"type":"order_percent_off","percent":"2","min_spend":"{}.00"}},"coupon_gated":true"#, 500 + i),
        };
        // Category- and order-wide ones are coupon-gated (as they are in stores: a thousand
        // order-wide discounts do not all apply at once), so they stay candidates only.
        let (rule, cond) = match rule.strip_suffix(r#","coupon_gated":true"#) {
            Some(r) => (r.to_owned(), format!(r#","conditions":{{"coupon":"C{i}"}}"#)),
            None => (rule, String::new()),
        };
        let json = format!(r#"{{"id":"P{i:04}","priority":{},"rule":{rule}{cond}}}"#, i % 5);
        out.push(serde_json::from_str(&json).expect("bench promotion is valid JSON"));
    }
    out
}

/// A 100-line cart: SKUs spread over the catalog, quantities 1–4.
pub fn cart_lines() -> Vec<(String, i64)> {
    (0..100).map(|i| (sku((i * 97 + 3) % SKUS), 1 + (i as i64 % 4))).collect()
}

/// A store file with the catalog, `n` promotions and one open 100-line cart; returns the cart id.
pub fn write_store(path: &std::path::Path, n_promotions: usize) -> Result<String, aisle::Error> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
    let edge = Edge::open(path, EdgeConfig::new("bench-store", "bench-till", Currency::EUR))?;
    let settings = StoreSettings { tax_regime: Some(TaxRegime::from_json(TAX)?), ..StoreSettings::default() };
    edge.set_settings(&settings)?;
    edge.catalog().upsert_all(&products())?;
    edge.set_promotions(&promotions(n_promotions))?;
    let cart = edge.new_cart()?;
    for (sku, q) in cart_lines() {
        cart.add(&sku, q)?;
    }
    let id = cart.id().to_owned();
    edge.close()?;
    Ok(id)
}
