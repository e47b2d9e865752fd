//! Pricing figures: a 100-line cart against 1,000 active promotions.
//! - `pricing/engine`: the pure pipeline (promotions + tax), promotions compiled once, as a
//!   register does between scans. Goal ≤ 50 µs median.
//! - `pricing/cart_price`: `cart.price()` through the store file (reads 100 lines, resolves
//!   price lists, prices) — the same call the Python and Node bindings make; compare with
//!   `scripts/bench-bindings.sh`.
//! - `pricing/best_deal`: the engine in best-deal mode.
//! Run: `cargo bench -p aisle-benches --bench pricing`.

use std::hint::black_box;

use aisle::commerce::pricing::{PricingContext, PricingLine, PricingRounding, Quantity, price};
use aisle::commerce::promotions::{Mode, PromoContext, PromotionSet};
use aisle::commerce::tax::TaxRegime;
use aisle::{Currency, Edge, EdgeConfig};
use aisle_benches::{cart_lines, products, promotions, write_store, TAX};
use criterion::{Criterion, criterion_group, criterion_main};

fn engine(c: &mut Criterion) {
    let catalog = products();
    let set = PromotionSet::new(&promotions(1000), Currency::EUR).expect("promotions");
    let regime = TaxRegime::from_json(TAX).expect("tax");
    let lines: Vec<PricingLine> = cart_lines()
        .into_iter()
        .map(|(sku, q)| {
            let p = catalog.iter().find(|p| p.sku == sku).expect("sku");
            PricingLine {
                sku,
                name: p.name.clone(),
                quantity: Quantity::Units(q),
                unit_price: p.price,
                tax_category: p.tax_category.clone(),
                categories: p.categories.clone(),
                tags: p.tags.clone(),
                price_override: None,
                discount: None,
            }
        })
        .collect();
    let ctx = |mode| PricingContext {
        currency: Currency::EUR,
        promotions: &set,
        mode,
        tax_regime: &regime,
        customer_tax_exempt: false,
        promo: PromoContext::new(jiff::Timestamp::UNIX_EPOCH, jiff::tz::TimeZone::UTC),
        rounding: PricingRounding::default(),
        approval_above_percent: None,
        order_discount: None,
    };
    let priority = ctx(Mode::Priority);
    let applied = price(&lines, &priority).expect("prices").promotions.len();
    eprintln!("pricing workload: 100 lines, 1000 promotions, {applied} applied");
    c.bench_function("pricing/engine_100_lines_1000_promos", |b| b.iter(|| price(black_box(&lines), &priority)));
    let best = ctx(Mode::BestDeal);
    c.bench_function("pricing/best_deal_100_lines_1000_promos", |b| b.iter(|| price(black_box(&lines), &best)));
}

fn cart_price(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let id = write_store(&path, 1000).expect("store");
    let edge = Edge::open(&path, EdgeConfig::new("bench-store", "bench-till", Currency::EUR)).expect("open");
    let cart = edge.cart(&id).expect("cart");
    c.bench_function("pricing/cart_price_100_lines_1000_promos", |b| b.iter(|| cart.price()));
}

criterion_group!(benches, engine, cart_price);
criterion_main!(benches);
