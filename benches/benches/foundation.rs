//! Foundation figures: money arithmetic, allocation, and cart operations on a real store file.
//! Run with `make bench` (or `cargo bench -p aisle-benches --bench foundation`).

use std::hint::black_box;

use aisle::{Currency, Edge, EdgeConfig, Money, Product, RoundingMode};
use criterion::{Criterion, criterion_group, criterion_main};

fn money(c: &mut Criterion) {
    let m = Money::new(123_456, Currency::EUR);
    let weights: Vec<u64> = (1..=100).collect();
    c.bench_function("money/allocate_over_100", |b| b.iter(|| black_box(m).allocate(black_box(&weights))));
    c.bench_function("money/mul_div_half_even", |b| {
        b.iter(|| black_box(m).mul_div(black_box(15), black_box(100), RoundingMode::HalfEven))
    });
    c.bench_function("money/parse", |b| b.iter(|| Money::parse(black_box("1234.56"), Currency::EUR)));
}

fn cart(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let edge = Edge::open(dir.path().join("bench.db"), EdgeConfig::new("s", "d", Currency::EUR)).expect("open");
    let products: Vec<Product> = (0..100)
        .map(|i| Product::new(&format!("SKU-{i}"), "Item", Money::new(100 + i, Currency::EUR), "standard"))
        .collect();
    edge.catalog().upsert_all(&products).expect("catalog");
    let cart = edge.new_cart().expect("cart");
    for p in products.iter().take(20) {
        cart.add(&p.sku, 2).expect("add");
    }
    let mut q = 0;
    c.bench_function("cart/set_quantity_durable", |b| {
        b.iter(|| {
            q = q % 9 + 1;
            cart.set_quantity(black_box("SKU-1"), q)
        })
    });
    c.bench_function("cart/subtotal_20_lines", |b| b.iter(|| cart.subtotal()));
    c.bench_function("catalog/upsert_100_in_one_tx", |b| b.iter(|| edge.catalog().upsert_all(black_box(&products))));
}

criterion_group!(benches, money, cart);
criterion_main!(benches);
