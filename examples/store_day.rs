//! The store day: Aisle's main job, end to end on an embedded SQLite file.
//!
//! Opens a store in a fresh file, loads a small catalog, rings up a few baskets, reopens the
//! file to show what was stored, and prints a readable summary. Each capability adds its part
//! (promotions and tax, forwarding, sync, vision) as it lands.
//!
//! Usage: `store_day [PATH]` (default `target/store-day/store.db`, recreated on every run).

use std::path::PathBuf;

use aisle::{Currency, Edge, EdgeConfig, Money, Product};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("store day failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> AnyResult<()> {
    let path = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target/store-day/store.db"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }

    let config = EdgeConfig::new("store-042", "register-1", Currency::EUR);
    let edge = Edge::open(&path, config.clone())?;
    println!("== Aisle store day ==");
    println!("store {} · device {} · {} · file {}", config.store_id, config.device_id, config.currency, path.display());

    let eur = |s: &str| Money::parse(s, Currency::EUR);
    let catalog = [
        Product::new("MILK-1L", "Milk 1 l", eur("1.19")?, "reduced"),
        Product::new("BREAD-500G", "Sourdough bread 500 g", eur("2.49")?, "reduced"),
        Product::new("APPLE-KG", "Apples 1 kg", eur("2.99")?, "reduced"),
        Product::new("COFFEE-250", "Coffee beans 250 g", eur("6.45")?, "reduced"),
        Product::new("WINE-RED", "Red wine 0.75 l", eur("8.90")?, "standard"),
        Product::new("SOAP", "Hand soap", eur("1.75")?, "standard"),
    ];
    edge.catalog().upsert_all(&catalog)?;
    println!("catalog: {} products loaded", edge.catalog().len()?);

    let baskets: &[&[(&str, i64)]] = &[
        &[("MILK-1L", 2), ("BREAD-500G", 1), ("APPLE-KG", 1)],
        &[("COFFEE-250", 2), ("WINE-RED", 1), ("SOAP", 3)],
        &[("MILK-1L", 1), ("MILK-1L", 1), ("SOAP", 1)],
    ];
    let mut day_total = Money::zero(Currency::EUR);
    for basket in baskets {
        let cart = edge.new_cart()?;
        for &(sku, qty) in *basket {
            cart.add(sku, qty)?;
        }
        println!();
        println!("cart {}", cart.id());
        for line in cart.lines()? {
            println!("  {:<24} {:>3} × {:>6}  {:>8}", line.name, line.quantity, line.unit_price.to_decimal_string(), line.line_total.to_decimal_string());
        }
        let subtotal = cart.subtotal()?;
        println!("  {:<24} {:>22}", "subtotal", subtotal.to_string());
        day_total = day_total.checked_add(subtotal)?;
    }

    // Bad input gets a typed error with a stable code, and changes nothing.
    let cart = edge.new_cart()?;
    for (what, result) in [
        ("unknown SKU", cart.add("A-1", 1)),
        ("negative quantity", cart.add("SOAP", -2)),
    ] {
        match result {
            Err(e) => println!("\nrefused {what} ({}): {e}", e.code()),
            Ok(()) => return Err(format!("{what} was accepted").into()),
        }
    }
    cart.add("SOAP", 1)?;
    cart.set_quantity("SOAP", 0)?;

    // Close and reopen: everything above is in the file.
    let cart_ids = edge.cart_ids()?;
    drop(cart);
    drop(edge);
    let reopened = Edge::open(&path, config)?;
    let stats = reopened.stats()?;
    let mut stored_total = Money::zero(Currency::EUR);
    for id in &cart_ids {
        stored_total = stored_total.checked_add(reopened.cart(id)?.subtotal()?)?;
    }
    println!();
    println!("== summary ==");
    println!("baskets rung up: {}  ·  day subtotal {}", baskets.len(), day_total);
    println!(
        "stored: {} products, {} carts, {} cart lines, {} KiB ({}), schema v{}",
        stats.products,
        stats.carts,
        stats.cart_lines,
        stats.bytes / 1024,
        path.display(),
        reopened.schema_version()
    );
    println!("reopened file: carts sum to {stored_total} ({})", if stored_total == day_total { "matches" } else { "MISMATCH" });
    if stored_total != day_total {
        return Err("stored carts do not sum to the day subtotal".into());
    }
    Ok(())
}
