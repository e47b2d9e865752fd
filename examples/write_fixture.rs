//! Writes a small store file from Rust, for the Python, Node and Kotlin suites to read back:
//! the proof that every binding reads the same file format the native core writes.
//!
//! Usage: `write_fixture PATH` — creates store `fixture-store`, device `rust-writer`, EUR,
//! with three products and one cart `rust-writer-cart-1` (3 × MILK-1L, 1 × BREAD-500G = 6.06 EUR).

use aisle::{Currency, Edge, EdgeConfig, Money, Product};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: write_fixture PATH")?;
    if std::path::Path::new(&path).exists() {
        std::fs::remove_file(&path)?;
    }
    let edge = Edge::open(&path, EdgeConfig::new("fixture-store", "rust-writer", Currency::EUR))?;
    let eur = |s: &str| Money::parse(s, Currency::EUR);
    edge.catalog().upsert_all(&[
        Product::new("MILK-1L", "Milk 1 l", eur("1.19")?, "reduced"),
        Product::new("BREAD-500G", "Sourdough bread 500 g", eur("2.49")?, "reduced"),
        Product::new("WINE-RED", "Red wine 0.75 l", eur("8.90")?, "standard"),
    ])?;
    let cart = edge.new_cart()?;
    cart.add("MILK-1L", 3)?;
    cart.add("BREAD-500G", 1)?;
    println!("{path}: cart {} subtotal {}", cart.id(), cart.subtotal()?);
    Ok(())
}
