//! Scratch profiler for the pricing workload (not a benchmark; see benches/pricing.rs).
use aisle::commerce::pricing::{PricingContext, PricingLine, PricingRounding, Quantity, price};
use aisle::commerce::promotions::{Mode, PromoContext, PromoLine, PromotionSet};
use aisle::commerce::tax::{TaxInputLine, TaxRegime, UnitRun, compute};
use aisle::{Currency, RoundingMode};
use aisle_benches::{TAX, cart_lines, products, promotions};

fn main() {
    let catalog = products();
    let set = PromotionSet::new(&promotions(1000), Currency::EUR).unwrap();
    let regime = TaxRegime::from_json(TAX).unwrap();
    let lines: Vec<PricingLine> = cart_lines()
        .into_iter()
        .map(|(sku, q)| {
            let p = catalog.iter().find(|p| p.sku == sku).unwrap();
            PricingLine { sku, name: p.name.clone(), quantity: Quantity::Units(q), unit_price: p.price, tax_category: p.tax_category.clone(), categories: p.categories.clone(), tags: p.tags.clone(), price_override: None, discount: None }
        })
        .collect();
    let promo_lines: Vec<PromoLine> = lines.iter().map(|l| PromoLine { sku: l.sku.clone(), categories: l.categories.clone(), tags: l.tags.clone(), units: l.quantity.units(), unit_price: l.unit_price }).collect();
    let pctx = PromoContext::new(jiff::Timestamp::UNIX_EPOCH, jiff::tz::TimeZone::UTC);
    let n: u32 = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    // ONLY=promotions|tax|price|best_deal runs one loop (for a profiler).
    let only = std::env::var("ONLY").unwrap_or_default();
    let run = |what: &str| only.is_empty() || only == what;
    if run("promotions") {
        let t = std::time::Instant::now();
        for _ in 0..n { set.evaluate(&promo_lines, &pctx, Mode::Priority, RoundingMode::HalfUp).unwrap(); }
        println!("promotions evaluate: {:?}", t.elapsed() / n);
    }
    let o = set.evaluate(&promo_lines, &pctx, Mode::Priority, RoundingMode::HalfUp).unwrap();
    println!("applied {}", o.applied.len());
    let tax_lines: Vec<TaxInputLine> = lines.iter().map(|l| TaxInputLine::new(&l.tax_category, vec![UnitRun::new(l.quantity.units(), l.unit_price)])).collect();
    if run("tax") {
        let t = std::time::Instant::now();
        for _ in 0..n { compute(&regime, Currency::EUR, &tax_lines, false).unwrap(); }
        println!("tax compute: {:?}", t.elapsed() / n);
    }
    let ctx = PricingContext { currency: Currency::EUR, promotions: &set, mode: Mode::Priority, tax_regime: &regime, customer_tax_exempt: false, promo: pctx.clone(), rounding: PricingRounding::default(), approval_above_percent: None, order_discount: None };
    if run("price") {
        let t = std::time::Instant::now();
        for _ in 0..n { price(&lines, &ctx).unwrap(); }
        println!("price: {:?}", t.elapsed() / n);
    }
    if run("price_kept") {
        // The same calls with every result kept (dropped after the clock stops): what the
        // output's allocations cost apart from freeing them.
        let mut kept = Vec::with_capacity(n as usize);
        let t = std::time::Instant::now();
        for _ in 0..n { kept.push(price(&lines, &ctx).unwrap()); }
        println!("price, results kept: {:?}", t.elapsed() / n);
        drop(kept);
    }
    if run("best_deal") {
        let ctx = PricingContext { mode: Mode::BestDeal, ..ctx };
        let t = std::time::Instant::now();
        for _ in 0..n { price(&lines, &ctx).unwrap(); }
        println!("price, best deal: {:?}", t.elapsed() / n);
    }
}
