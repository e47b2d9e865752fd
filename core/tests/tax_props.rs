//! Property tests for the tax engine: over random regimes and orders, every invariant the module
//! promises holds, for every rounding mode, level and inclusive target, on inclusive and
//! exclusive prices, for taxed and exempt customers.

use aisle::commerce::tax::compute;
use aisle::commerce::{
    InclusiveTarget, TaxBreakdown, TaxInputLine, TaxRate, TaxRegime, TaxRounding, TaxRoundingLevel, UnitRun,
};
use aisle::{Currency, Money, Percent, RoundingMode};
use proptest::prelude::*;

const CUR: Currency = Currency::EUR;
/// Categories rates may use; one not rated by any rate becomes exempt. "e" is always exempt.
const POOL: [&str; 4] = ["a", "b", "c", "d"];
const ALWAYS_EXEMPT: &str = "e";

fn percent_of(mantissa: i64, scale: u32) -> Percent {
    let d = 10_i64.pow(scale);
    let text = if scale == 0 {
        mantissa.to_string()
    } else {
        format!("{}.{:0w$}", mantissa / d, mantissa % d, w = scale as usize)
    };
    Percent::parse(&text).unwrap()
}

fn percent() -> impl Strategy<Value = Percent> {
    prop_oneof![
        3 => prop::sample::select(vec!["0", "2.5", "5", "7.7", "8.875", "9.975", "13.5", "20", "100"])
            .prop_map(|s| Percent::parse(s).unwrap()),
        2 => (0u32..=6).prop_flat_map(|scale| (0..=100 * 10_i64.pow(scale)).prop_map(move |m| percent_of(m, scale))),
    ]
}

fn mode() -> impl Strategy<Value = RoundingMode> {
    prop::sample::select(RoundingMode::ALL.to_vec())
}

fn level() -> impl Strategy<Value = TaxRoundingLevel> {
    prop::sample::select(vec![TaxRoundingLevel::Unit, TaxRoundingLevel::Line, TaxRoundingLevel::Total])
}

fn target() -> impl Strategy<Value = InclusiveTarget> {
    prop::sample::select(vec![InclusiveTarget::Tax, InclusiveTarget::Net])
}

fn regime() -> impl Strategy<Value = TaxRegime> {
    let rate = (
        prop::collection::vec(any::<bool>(), POOL.len()),
        0..POOL.len(),
        percent(),
        prop::bool::weighted(0.3),
    );
    (any::<bool>(), mode(), level(), target(), prop::collection::vec(rate, 0..=5)).prop_map(
        |(inclusive, mode, level, inclusive_target, rates)| {
            let rates: Vec<TaxRate> = rates
                .into_iter()
                .enumerate()
                .map(|(i, (mut mask, always, percent, compound))| {
                    mask[always] = true; // at least one category
                    let categories: Vec<&str> =
                        POOL.iter().zip(&mask).filter(|(_, on)| **on).map(|(c, _)| *c).collect();
                    let rate = TaxRate::new(&format!("r{i}"), &format!("Rate {i}"), &categories, percent);
                    if compound { rate.compounding() } else { rate }
                })
                .collect();
            let mut exempt_categories = vec![ALWAYS_EXEMPT.to_owned()];
            for c in POOL {
                if !rates.iter().any(|r| r.categories.iter().any(|x| x == c)) {
                    exempt_categories.push(c.to_owned());
                }
            }
            TaxRegime {
                id: "prop".into(),
                prices_include_tax: inclusive,
                rounding: TaxRounding { mode, level, inclusive_target },
                rates,
                exempt_categories,
            }
        },
    )
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => Just(0_i64),
        4 => -2_000_i64..2_000,
        3 => -10_000_000_i64..10_000_000,
        1 => -1_000_000_000_000_i64..1_000_000_000_000,
    ]
}

fn line() -> impl Strategy<Value = TaxInputLine> {
    let categories: Vec<&'static str> = POOL.iter().copied().chain([ALWAYS_EXEMPT]).collect();
    let run = (0_i64..5, amount()).prop_map(|(count, a)| UnitRun::new(count, Money::new(a, CUR)));
    (prop::sample::select(categories), prop::collection::vec(run, 0..4))
        .prop_map(|(category, units)| TaxInputLine::new(category, units))
}

fn lines() -> impl Strategy<Value = Vec<TaxInputLine>> {
    prop::collection::vec(line(), 0..8)
}

fn input_total(line: &TaxInputLine) -> i64 {
    line.units.iter().map(|u| u.count * u.amount.minor()).sum()
}

fn negate(lines: &[TaxInputLine]) -> Vec<TaxInputLine> {
    lines
        .iter()
        .map(|l| {
            let units =
                l.units.iter().map(|u| UnitRun::new(u.count, Money::new(-u.amount.minor(), CUR))).collect();
            TaxInputLine::new(&l.tax_category, units)
        })
        .collect()
}

fn m(v: i64) -> Money {
    Money::new(v, CUR)
}

/// Every invariant of one computed breakdown.
fn check(
    regime: &TaxRegime,
    lines: &[TaxInputLine],
    exempt: bool,
    b: &TaxBreakdown,
) -> Result<(), TestCaseError> {
    let inclusive = regime.prices_include_tax;
    let level = regime.rounding.level;
    prop_assert_eq!(b.lines.len(), lines.len());
    let (mut net, mut tax, mut gross) = (0_i64, 0_i64, 0_i64);
    let mut rate_sums: Vec<Option<(i64, i64)>> = vec![None; regime.rates.len()];
    for (input, out) in lines.iter().zip(&b.lines) {
        let total = input_total(input);
        prop_assert_eq!(&out.tax_category, &input.tax_category);
        prop_assert_eq!(out.net.checked_add(out.tax).unwrap(), out.gross, "net + tax = gross on a line");
        prop_assert_eq!(out.tax, Money::sum(CUR, out.taxes.iter().map(|t| t.amount)).unwrap());
        if inclusive && !exempt {
            prop_assert_eq!(out.gross, m(total), "inclusive: the customer pays the shelf price");
        }
        if !inclusive {
            prop_assert_eq!(out.net, m(total), "exclusive: net is the input");
        }
        if exempt {
            prop_assert_eq!(out.tax, m(0));
            prop_assert!(out.taxes.is_empty());
        }
        // Zero amounts never carry tax: all units zero at any level, a zero line above unit level.
        let all_units_zero = input.units.iter().all(|u| u.count == 0 || u.amount.is_zero());
        if all_units_zero || (total == 0 && level != TaxRoundingLevel::Unit) {
            prop_assert_eq!(out.tax, m(0), "zero line has zero tax");
            prop_assert!(out.taxes.iter().all(|t| t.amount.is_zero()));
        }
        // The rates listed are exactly the category's, in regime order, with the right bases.
        let expected: Vec<usize> = if exempt {
            vec![]
        } else {
            (0..regime.rates.len())
                .filter(|&r| regime.rates[r].categories.contains(&input.tax_category))
                .collect()
        };
        prop_assert_eq!(out.taxes.len(), expected.len());
        let mut preceding = 0_i64;
        for (t, &r) in out.taxes.iter().zip(&expected) {
            let rate = &regime.rates[r];
            prop_assert_eq!(&t.rate_id, &rate.id);
            prop_assert_eq!(t.percent, rate.percent);
            let base = if rate.compound { out.net.minor() + preceding } else { out.net.minor() };
            prop_assert_eq!(t.base, m(base));
            preceding += t.amount.minor();
            let sums = rate_sums[r].get_or_insert((0, 0));
            sums.0 += t.base.minor();
            sums.1 += t.amount.minor();
        }
        net += out.net.minor();
        tax += out.tax.minor();
        gross += out.gross.minor();
    }
    prop_assert_eq!((b.net, b.tax, b.gross), (m(net), m(tax), m(gross)), "lines sum to the order");
    prop_assert_eq!(b.net.checked_add(b.tax).unwrap(), b.gross);
    // Per rate, the lines sum to the total; totals list the used rates in regime order.
    let expected_totals: Vec<(String, String, Percent, i64, i64)> = regime
        .rates
        .iter()
        .zip(&rate_sums)
        .filter_map(|(r, s)| s.map(|(base, amount)| (r.id.clone(), r.name.clone(), r.percent, base, amount)))
        .collect();
    let totals: Vec<(String, String, Percent, i64, i64)> = b
        .totals
        .iter()
        .map(|t| (t.rate_id.clone(), t.name.clone(), t.percent, t.base.minor(), t.amount.minor()))
        .collect();
    prop_assert_eq!(totals, expected_totals);
    if !exempt {
        check_close_to_exact(regime, lines, b)?;
    }
    Ok(())
}

/// Where the exact tax is easy to state (non-compound rates on exclusive prices; one-rate
/// inclusive lines), the rounded tax is within one minor unit of it.
fn check_close_to_exact(
    regime: &TaxRegime,
    lines: &[TaxInputLine],
    b: &TaxBreakdown,
) -> Result<(), TestCaseError> {
    let level = regime.rounding.level;
    if !regime.prices_include_tax {
        for rate in regime.rates.iter().filter(|r| !r.compound) {
            let (n, d) = rate.percent.fraction();
            let mut exact_sum: i128 = 0; // × d
            let mut rounded_sum: i128 = 0;
            for (input, out) in lines.iter().zip(&b.lines) {
                let Some(t) = out.taxes.iter().find(|t| t.rate_id == rate.id) else { continue };
                let exact = i128::from(input_total(input)) * n;
                if level == TaxRoundingLevel::Line {
                    prop_assert!(
                        (i128::from(t.amount.minor()) * d - exact).abs() < d,
                        "line tax within one unit"
                    );
                }
                exact_sum += exact;
                rounded_sum += i128::from(t.amount.minor());
            }
            if level == TaxRoundingLevel::Total {
                prop_assert!(
                    (rounded_sum * d - exact_sum).abs() < d,
                    "order tax of {} within one unit",
                    rate.id
                );
            }
        }
    } else if level == TaxRoundingLevel::Line {
        for (input, out) in lines.iter().zip(&b.lines) {
            let [t] = out.taxes.as_slice() else { continue };
            let (n, d) = t.percent.fraction();
            let g = i128::from(input_total(input));
            let (value, exact) = match regime.rounding.inclusive_target {
                InclusiveTarget::Tax => (i128::from(out.tax.minor()), g * n),
                InclusiveTarget::Net => (i128::from(out.net.minor()), g * d),
            };
            prop_assert!((value * (d + n) - exact).abs() < d + n, "inclusive line within one unit");
        }
    }
    Ok(())
}

fn negated(b: &TaxBreakdown) -> TaxBreakdown {
    let neg = |x: Money| x.checked_neg().unwrap();
    let mut b = b.clone();
    for l in &mut b.lines {
        (l.net, l.tax, l.gross) = (neg(l.net), neg(l.tax), neg(l.gross));
        for t in &mut l.taxes {
            (t.base, t.amount) = (neg(t.base), neg(t.amount));
        }
    }
    for t in &mut b.totals {
        (t.base, t.amount) = (neg(t.base), neg(t.amount));
    }
    (b.net, b.tax, b.gross) = (neg(b.net), neg(b.tax), neg(b.gross));
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_invariant_holds(regime in regime(), lines in lines(), exempt in any::<bool>()) {
        let b = compute(&regime, CUR, &lines, exempt).unwrap();
        check(&regime, &lines, exempt, &b)?;
        // Exempt customers: exclusive pays the input; inclusive pays the net a taxed customer sees.
        if exempt {
            let taxed = compute(&regime, CUR, &lines, false).unwrap();
            check(&regime, &lines, false, &taxed)?;
            for (e, t) in b.lines.iter().zip(&taxed.lines) {
                prop_assert_eq!(e.net, t.net);
                prop_assert_eq!(e.gross, e.net);
            }
        }
    }

    #[test]
    fn refunds_mirror_sales(regime in regime(), lines in lines(), exempt in any::<bool>()) {
        let sale = compute(&regime, CUR, &lines, exempt).unwrap();
        let refund = compute(&regime, CUR, &negate(&lines), exempt).unwrap();
        prop_assert_eq!(refund, negated(&sale));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// With one unit per line, rounding per unit is rounding per line; with one such line, the
    /// order level agrees too (but for the two documented differences below).
    #[test]
    fn levels_agree_on_single_units(regime in regime(), lines in lines(), exempt in any::<bool>()) {
        let single: Vec<TaxInputLine> = lines
            .iter()
            .map(|l| TaxInputLine::uniform(&l.tax_category, 1, l.units.first().map_or(m(0), |u| u.amount)))
            .collect();
        let at = |level| {
            let mut r = regime.clone();
            r.rounding.level = level;
            compute(&r, CUR, &single, exempt).unwrap()
        };
        let unit = at(TaxRoundingLevel::Unit);
        prop_assert_eq!(&unit, &at(TaxRoundingLevel::Line));
        // Where order level legitimately differs from line level on a one-line order: inclusive
        // "tax" target with several rates (rounded per rate vs combined), and exclusive compound
        // rates after another rate (compounded on exact vs rounded preceding taxes).
        let differs = single.iter().any(|l| {
            let chain: Vec<&TaxRate> = regime.rates.iter().filter(|r| r.categories.contains(&l.tax_category)).collect();
            if regime.prices_include_tax {
                regime.rounding.inclusive_target == InclusiveTarget::Tax && chain.len() > 1
            } else {
                chain.iter().skip(1).any(|r| r.compound)
            }
        });
        if single.len() == 1 && !differs {
            prop_assert_eq!(&unit, &at(TaxRoundingLevel::Total));
        }
    }

    #[test]
    fn json_round_trips_and_unknown_categories_are_refused(regime in regime(), lines in lines()) {
        let text = serde_json::to_string(&regime).unwrap();
        prop_assert_eq!(&TaxRegime::from_json(&text).unwrap(), &regime);
        let mut with_unknown = lines.clone();
        with_unknown.push(TaxInputLine::uniform("unknown", 1, m(100)));
        let err = compute(&regime, CUR, &with_unknown, false).unwrap_err();
        prop_assert_eq!(err.code(), "UNKNOWN_TAX_CATEGORY");
    }
}

/// The published schema's examples are regimes the core reads, and its property names are the
/// format's: the schema cannot drift from the code silently.
#[test]
fn schema_matches_the_format() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schemas/tax-regime.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().filter(|k| *k != "$schema").cloned().collect();
        k.sort();
        k
    };
    let examples = schema["examples"].as_array().unwrap();
    assert!(examples.len() >= 2);
    for example in examples {
        let regime = TaxRegime::from_value(example).unwrap();
        let written = serde_json::to_value(&regime).unwrap();
        assert_eq!(keys(&schema["properties"]), keys(&written));
        assert_eq!(keys(&schema["$defs"]["rounding"]["properties"]), keys(&written["rounding"]));
        for rate in written["rates"].as_array().unwrap() {
            assert_eq!(keys(&schema["$defs"]["rate"]["properties"]), keys(rate));
        }
    }
    let us = TaxRegime::from_value(&examples[1]).unwrap();
    let lines = [TaxInputLine::uniform("general", 2, Money::new(1999, Currency::USD))];
    let b = compute(&us, Currency::USD, &lines, false).unwrap();
    // 39.98 × (4% + 4.5% + 0.375%): 1.5992 → 1.60, 1.7991 → 1.80, 0.149925 → 0.15.
    let amounts: Vec<i64> = b.totals.iter().map(|t| t.amount.minor()).collect();
    assert_eq!(amounts, [160, 180, 15]);
    assert_eq!(b.gross, Money::new(4353, Currency::USD));
}
