//! Property tests for money: allocation, rounding and parsing never lose or invent a cent.

use aisle::money::div_round;
use aisle::{Currency, Money, RoundingMode};
use proptest::prelude::*;

fn mode() -> impl Strategy<Value = RoundingMode> {
    prop::sample::select(RoundingMode::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn allocation_sums_exactly_and_each_part_is_within_one_unit(
        amount in any::<i64>(),
        weights in prop::collection::vec(0u64..1_000_000, 1..40),
    ) {
        prop_assume!(weights.iter().any(|&w| w > 0));
        let m = Money::new(amount, Currency::EUR);
        let parts = m.allocate(&weights).unwrap();
        prop_assert_eq!(parts.len(), weights.len());
        let sum: i128 = parts.iter().map(|p| i128::from(p.minor())).sum();
        prop_assert_eq!(sum, i128::from(amount));
        let total_w: i128 = weights.iter().map(|&w| i128::from(w)).sum();
        for (p, &w) in parts.iter().zip(&weights) {
            // |part × total_w − amount × w| < total_w, i.e. within one minor unit of the exact share.
            let diff = i128::from(p.minor()) * total_w - i128::from(amount) * i128::from(w);
            prop_assert!(diff.abs() < total_w, "part {} weight {} diff {}", p.minor(), w, diff);
            if w == 0 { prop_assert_eq!(p.minor(), 0); }
            prop_assert_eq!(p.minor().signum() * amount.signum() >= 0, true);
        }
    }

    #[test]
    fn rounding_is_within_one_and_symmetric(n in -1_000_000_000_000i128..1_000_000_000_000, d in 1i128..100_000, mode in mode()) {
        let q = div_round(n, d, mode);
        // q is one of the two integers around n/d.
        let floor = n.div_euclid(d);
        prop_assert!(q == floor || q == floor + 1, "{} / {} -> {}", n, d, q);
        // Rounding a negated value gives the negated result (refunds mirror sales).
        prop_assert_eq!(div_round(-n, d, mode), -q);
        if n % d == 0 { prop_assert_eq!(q, n / d); }
    }

    #[test]
    fn half_modes_pick_the_nearest(n in -1_000_000i128..1_000_000, d in 1i128..1000, mode in prop::sample::select(vec![RoundingMode::HalfEven, RoundingMode::HalfUp, RoundingMode::HalfDown])) {
        let q = div_round(n, d, mode);
        // |q·d − n| ≤ d/2
        prop_assert!(2 * (q * d - n).abs() <= d);
    }

    #[test]
    fn parse_display_round_trip(minor in any::<i64>(), code in prop::sample::select(vec!["EUR", "JPY", "KWD", "CLF"])) {
        prop_assume!(minor != i64::MIN);
        let c = Currency::from_code(code).unwrap();
        let m = Money::new(minor, c);
        prop_assert_eq!(Money::parse(&m.to_decimal_string(), c).unwrap(), m);
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,30}") {
        let _ = Money::parse(&s, Currency::EUR);
    }

    #[test]
    fn checked_arithmetic_matches_wide_arithmetic(a in any::<i64>(), b in any::<i64>()) {
        let (ma, mb) = (Money::new(a, Currency::EUR), Money::new(b, Currency::EUR));
        match ma.checked_add(mb) {
            Ok(s) => prop_assert_eq!(i128::from(s.minor()), i128::from(a) + i128::from(b)),
            Err(e) => {
                prop_assert_eq!(e.code(), "MONEY_OVERFLOW");
                prop_assert!(i64::try_from(i128::from(a) + i128::from(b)).is_err());
            }
        }
        match ma.checked_mul(b) {
            Ok(s) => prop_assert_eq!(i128::from(s.minor()), i128::from(a) * i128::from(b)),
            Err(_) => prop_assert!(i64::try_from(i128::from(a) * i128::from(b)).is_err()),
        }
    }
}
