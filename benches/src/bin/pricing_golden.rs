//! Differential check for pricing optimisations: prints the result of many seeded random
//! pricing scenarios (every rule type and flag, coupons, overrides, manual discounts, weighed
//! lines, every tax level/target, compound and exempt rates, both modes) plus the bench
//! workload, one line each. Run it before and after a change to the engine and diff:
//! `cargo run --release -p aisle-benches --bin pricing_golden > before.txt` … `diff before.txt after.txt`.
//! (The shared test vectors and property tests check rules; this checks "same output, cent for
//! cent" on far more carts than they hold.) `GOLDEN_CASES` sets the number of random scenarios.

use aisle::commerce::pricing::{ManualDiscount, PriceOverride, PricingContext, PricingLine, PricingRounding, Quantity, price};
use aisle::commerce::promotions::{Mode, PromoContext, PromoLine, PromotionSet};
use aisle::commerce::tax::{TaxInputLine, TaxRegime, UnitRun, compute};
use aisle::{Currency, Money, Percent, RoundingMode};
use aisle_benches::{TAX, cart_lines, products, promotions};

/// A small seeded generator (SplitMix64), so runs are repeatable without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const SKUS: [&str; 6] = ["A", "B", "C", "D", "E", "F"];
const CATS: [&str; 3] = ["food", "drink", "home"];
const TAGS: [&str; 2] = ["organic", "local"];

fn money_text(r: &mut Rng, max: u64) -> String {
    let m = r.below(max);
    format!("{}.{:02}", m / 100, m % 100)
}

fn target(r: &mut Rng) -> String {
    match r.below(6) {
        0 | 1 => {
            let n = 1 + r.below(3) as usize;
            let skus: Vec<String> = (0..n).map(|_| format!("\"{}\"", r.pick(&SKUS))).collect();
            let mut skus = skus;
            skus.sort();
            skus.dedup();
            format!(r#"{{"skus":[{}]}}"#, skus.join(","))
        }
        2 => format!(r#"{{"categories":["{}"]}}"#, r.pick(&CATS)),
        3 => format!(r#"{{"tags":["{}"]}}"#, r.pick(&TAGS)),
        4 => format!(r#"{{"skus":["{}"],"categories":["{}"]}}"#, r.pick(&SKUS), r.pick(&CATS)),
        _ => r#"{"all":true}"#.to_owned(),
    }
}

fn rule(r: &mut Rng) -> String {
    let max = |r: &mut Rng| if r.chance(40) { format!(r#","max_applications":{}"#, 1 + r.below(3)) } else { String::new() };
    match r.below(8) {
        0 => format!(r#"{{"type":"percent_off","target":{},"percent":"{}"}}"#, target(r), 1 + r.below(100)),
        1 => format!(r#"{{"type":"amount_off","target":{},"amount":"{}"}}"#, target(r), money_text(r, 1500)),
        2 => {
            let t = if r.chance(30) { format!(r#","target":{}"#, target(r)) } else { String::new() };
            format!(r#"{{"type":"order_percent_off"{t},"percent":"{}","min_spend":"{}"}}"#, 1 + r.below(40), money_text(r, 3000))
        }
        3 => {
            let t = if r.chance(30) { format!(r#","target":{}"#, target(r)) } else { String::new() };
            format!(r#"{{"type":"order_amount_off"{t},"amount":"{}","min_spend":"{}"}}"#, money_text(r, 1500), money_text(r, 3000))
        }
        4 => {
            let m = max(r);
            format!(r#"{{"type":"fixed_price","target":{},"quantity":{},"price":"{}"{m}}}"#, target(r), 1 + r.below(4), money_text(r, 3000))
        }
        5 => {
            let reward = if r.chance(50) { "cheapest" } else { "most_expensive" };
            let m = max(r);
            format!(
                r#"{{"type":"buy_x_get_y","buy":{{"target":{},"quantity":{}}},"get":{{"target":{},"quantity":{}}},"percent":"{}","reward":"{reward}"{m}}}"#,
                target(r),
                1 + r.below(3),
                target(r),
                1 + r.below(2),
                1 + r.below(100)
            )
        }
        6 => {
            let qty = r.chance(50);
            let (basis, a, b) = if qty {
                ("quantity", (1 + r.below(3)).to_string(), (4 + r.below(3)).to_string())
            } else {
                ("spend", money_text(r, 2000), format!("{}.00", 20 + r.below(30)))
            };
            let second = if r.chance(50) {
                format!(r#",{{"min":"{b}","amount":"{}"}}"#, money_text(r, 500))
            } else {
                format!(r#",{{"min":"{b}","percent":"{}"}}"#, 10 + r.below(20))
            };
            format!(r#"{{"type":"tiered","target":{},"basis":"{basis}","tiers":[{{"min":"{a}","percent":"{}"}}{second}]}}"#, target(r), 1 + r.below(10))
        }
        _ => {
            let groups = 1 + r.below(3);
            let gs: Vec<String> = (0..groups).map(|_| format!(r#"{{"target":{},"quantity":{}}}"#, target(r), 1 + r.below(2))).collect();
            let reward = if r.chance(50) { format!(r#""price":"{}""#, money_text(r, 3000)) } else { format!(r#""percent":"{}""#, 1 + r.below(60)) };
            let m = max(r);
            format!(r#"{{"type":"bundle","groups":[{}],{reward}{m}}}"#, gs.join(","))
        }
    }
}

fn promotion_set(r: &mut Rng, n: usize) -> (PromotionSet, Vec<String>) {
    let mut coupons = Vec::new();
    let mut out = Vec::new();
    for i in 0..n {
        let mut extra = String::new();
        if r.chance(15) {
            let code = format!("C{}", r.below(4));
            extra.push_str(&format!(r#","conditions":{{"coupon":"{code}"}}"#));
            if r.chance(60) {
                coupons.push(code.to_lowercase());
            }
        } else if r.chance(5) {
            extra.push_str(r#","conditions":{"window":{"from":"2020-01-01T00:00","to":"2021-01-01T00:00"}}"#);
        } else if r.chance(5) {
            extra.push_str(r#","usage_limit":{"total":1}"#);
        }
        out.push(format!(
            r#"{{"id":"P{i:02}","name":"Promo {i}","priority":{},"stackable":{},"exclusive":{},"stop_further":{}{extra},"rule":{}}}"#,
            r.below(3),
            r.chance(30),
            r.chance(5),
            r.chance(5),
            rule(r)
        ));
    }
    let json = format!("[{}]", out.join(","));
    (PromotionSet::from_json(&json, Currency::EUR).expect("generated promotions are valid"), coupons)
}

const REGIMES: [&str; 6] = [
    TAX,
    r#"{"id":"us","prices_include_tax":false,"rounding":{"mode":"half_even","level":"line"},
      "rates":[{"id":"state","name":"State","categories":["standard","reduced"],"percent":"4"},
               {"id":"city","name":"City","categories":["standard"],"percent":"4.5"},
               {"id":"mctd","name":"MCTD","categories":["standard"],"percent":"0.375"}],"exempt_categories":["exempt"]}"#,
    r#"{"id":"ca","prices_include_tax":false,"rounding":{"mode":"half_up","level":"unit"},
      "rates":[{"id":"gst","name":"GST","categories":["standard","reduced"],"percent":"5"},
               {"id":"qst","name":"QST","categories":["standard"],"percent":"9.975","compound":true}],"exempt_categories":["exempt"]}"#,
    r#"{"id":"tot","prices_include_tax":true,"rounding":{"mode":"half_down","level":"total","inclusive_target":"net"},
      "rates":[{"id":"A","name":"VAT 19%","categories":["standard"],"percent":"19"},
               {"id":"B","name":"VAT 7%","categories":["reduced"],"percent":"7"},
               {"id":"Z","name":"Zero","categories":["exempt"],"percent":"0"}]}"#,
    r#"{"id":"inc2","prices_include_tax":true,"rounding":{"mode":"half_even","level":"line","inclusive_target":"net"},
      "rates":[{"id":"A","name":"A","categories":["standard"],"percent":"10"},
               {"id":"B","name":"B","categories":["standard","reduced"],"percent":"2.5","compound":true}],"exempt_categories":["exempt"]}"#,
    r#"{"id":"exttot","prices_include_tax":false,"rounding":{"mode":"up","level":"total"},
      "rates":[{"id":"A","name":"A","categories":["standard"],"percent":"8.25"},
               {"id":"B","name":"B","categories":["reduced"],"percent":"1"}],"exempt_categories":["exempt"]}"#,
];

/// Basis points as a percent.
fn pct(bp: u64) -> Percent {
    Percent::parse(&format!("{}.{:02}", bp / 100, bp % 100)).expect("percent")
}

fn discount(r: &mut Rng) -> ManualDiscount {
    let (percent, amount) = match r.below(5) {
        0 => (None, Some(Money::new(r.below(3000) as i64, Currency::EUR))),
        1 => (Some(pct(r.below(10_001))), Some(Money::new(1, Currency::EUR))), // invalid: both
        _ => (Some(pct(r.below(5_000))), None),
    };
    ManualDiscount { percent, amount, reason: if r.chance(97) { "damaged".into() } else { " ".into() }, needs_approval: r.chance(10) }
}

fn show(r: &Result<aisle::commerce::pricing::PricedCart, aisle::Error>) -> String {
    match r {
        Ok(v) => serde_json::to_string(v).expect("serialises"),
        Err(e) => format!("ERR {} {e}", e.code()),
    }
}

fn scenario(seed: u64) -> String {
    let mut r = Rng(seed);
    let n_promos = [0usize, 1, 3, 8, 15][r.below(5) as usize];
    let (set, mut coupons) = promotion_set(&mut r, n_promos);
    if r.chance(10) {
        coupons.push("bogus".into());
    }
    let regime = TaxRegime::from_json(REGIMES[r.below(REGIMES.len() as u64) as usize]).expect("regime");
    let n_lines = 1 + r.below(7) as usize;
    let mut lines = Vec::new();
    for _ in 0..n_lines {
        let sku = r.pick(&SKUS).to_owned();
        let weighed = r.chance(8);
        let quantity = if weighed { Quantity::Grams(1 + r.below(2500) as i64) } else { Quantity::Units(1 + r.below(5) as i64) };
        let mut categories = vec![];
        if r.chance(60) {
            categories.push(r.pick(&CATS).to_owned());
        }
        let tags = if r.chance(30) { vec![r.pick(&TAGS).to_owned()] } else { vec![] };
        let tax_category = r.pick(&["standard", "standard", "reduced", "exempt"]).to_owned();
        lines.push(PricingLine {
            name: format!("{sku} item"),
            sku,
            quantity,
            unit_price: Money::new(if r.chance(5) { 0 } else { r.below(2500) as i64 }, Currency::EUR),
            tax_category,
            categories,
            tags,
            price_override: if r.chance(7) {
                Some(PriceOverride { price: Money::new(r.below(1000) as i64, Currency::EUR), reason: "match".into() })
            } else {
                None
            },
            discount: if r.chance(12) { Some(discount(&mut r)) } else { None },
        });
    }
    let mode = if r.chance(40) { Mode::BestDeal } else { Mode::Priority };
    let mut promo = PromoContext::new(jiff::Timestamp::from_second(1_795_000_000).expect("ts"), jiff::tz::TimeZone::UTC);
    promo.coupons = coupons;
    let rounding = PricingRounding {
        discounts: [RoundingMode::HalfUp, RoundingMode::HalfEven, RoundingMode::Down][r.below(3) as usize],
        weight: [RoundingMode::HalfUp, RoundingMode::Up][r.below(2) as usize],
    };
    let ctx = PricingContext {
        currency: Currency::EUR,
        promotions: &set,
        mode,
        tax_regime: &regime,
        customer_tax_exempt: r.chance(10),
        promo,
        rounding,
        approval_above_percent: if r.chance(50) { Some(pct(1000)) } else { None },
        order_discount: if r.chance(10) { Some(discount(&mut r)) } else { None },
    };
    let priced = show(&price(&lines, &ctx));
    // The promotion engine's and the tax engine's own public entry points, on the same lines.
    let promo_lines: Vec<PromoLine> = lines
        .iter()
        .map(|l| PromoLine { sku: l.sku.clone(), categories: l.categories.clone(), tags: l.tags.clone(), units: l.quantity.units(), unit_price: l.unit_price })
        .collect();
    let promos = format!("{:?}", set.evaluate(&promo_lines, &ctx.promo, mode, rounding.discounts));
    let tax_lines: Vec<TaxInputLine> = lines
        .iter()
        .map(|l| {
            let runs = (0..1 + r.below(3)).map(|_| UnitRun::new(r.below(4) as i64, Money::new(r.below(3000) as i64 - 500, Currency::EUR))).collect();
            TaxInputLine::new(&l.tax_category, runs)
        })
        .collect();
    let taxes = format!("{:?}", compute(&regime, Currency::EUR, &tax_lines, ctx.customer_tax_exempt));
    format!("{seed} {priced}\n{seed} promos {promos}\n{seed} tax {taxes}")
}

fn main() {
    let cases: u64 = std::env::var("GOLDEN_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    // The bench workload, both modes, with and without coupons.
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
    for mode in [Mode::Priority, Mode::BestDeal] {
        for coupons in [vec![], (0..1000).step_by(3).map(|i| format!("C{i}")).collect::<Vec<_>>()] {
            let mut promo = PromoContext::new(jiff::Timestamp::UNIX_EPOCH, jiff::tz::TimeZone::UTC);
            promo.coupons = coupons;
            let ctx = PricingContext {
                currency: Currency::EUR,
                promotions: &set,
                mode,
                tax_regime: &regime,
                customer_tax_exempt: false,
                promo,
                rounding: PricingRounding::default(),
                approval_above_percent: None,
                order_discount: None,
            };
            println!("bench {mode:?} {}", show(&price(&lines, &ctx)));
        }
    }
    for seed in 0..cases {
        println!("{}", scenario(seed));
    }
}
