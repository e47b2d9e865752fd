//! Money: exact amounts as `i64` minor units of an ISO-4217 currency.
//!
//! This module owns amounts, currencies, rounding and allocation. It must never use floating
//! point for an amount: every operation is integer arithmetic, checked for overflow (an
//! overflow is [`Error::MoneyOverflow`], never a wrap), and every division says how it rounds.

mod currency;
mod rate;
mod rounding;

use std::fmt;

use smallvec::SmallVec;

pub use currency::Currency;
pub use rate::Percent;

pub use rounding::{RoundingMode, div_round};

use crate::error::{Error, Result};

/// An exact amount of money: minor units (cents, pence, yen) of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount of `minor` units (e.g. `1234` EUR cents = 12.34 EUR).
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// Parses a decimal amount in major units, exactly: `"12.34"`, `"-0.5"`, `"1000"`.
    /// More fractional digits than the currency has is an error, never a silent rounding.
    pub fn parse(input: &str, currency: Currency) -> Result<Money> {
        let bad = |reason: &str| Error::InvalidAmount { input: input.to_owned(), reason: reason.to_owned() };
        let s = input.trim();
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(bad("no digits"));
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("only digits, one '.' and a leading sign are allowed"));
        }
        let exponent = usize::from(currency.exponent());
        if frac.len() > exponent {
            return Err(bad(&format!("{} allows at most {exponent} decimal places", currency.code())));
        }
        let overflow = || Error::MoneyOverflow { operation: format!("parse {input:?}") };
        let mut minor: i64 = 0;
        let padded = frac.bytes().chain(std::iter::repeat(b'0')).take(exponent);
        for b in whole.bytes().chain(padded) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .ok_or_else(overflow)?;
        }
        Ok(Money { minor: if negative { -minor } else { minor }, currency })
    }

    /// The amount in minor units.
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    pub const fn currency(&self) -> Currency {
        self.currency
    }

    pub const fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub const fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same_currency(&self, other: &Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::CurrencyMismatch {
                expected: self.currency.code().to_owned(),
                found: other.currency.code().to_owned(),
            })
        }
    }

    fn overflow(&self, operation: &str) -> Error {
        Error::MoneyOverflow { operation: format!("{operation} on {self}") }
    }

    pub fn checked_add(&self, other: Money) -> Result<Money> {
        self.same_currency(&other)?;
        let minor = self.minor.checked_add(other.minor).ok_or_else(|| self.overflow("add"))?;
        Ok(Money { minor, currency: self.currency })
    }

    pub fn checked_sub(&self, other: Money) -> Result<Money> {
        self.same_currency(&other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or_else(|| self.overflow("subtract"))?;
        Ok(Money { minor, currency: self.currency })
    }

    /// Multiplies by a whole factor (a quantity).
    pub fn checked_mul(&self, factor: i64) -> Result<Money> {
        let minor = self.minor.checked_mul(factor).ok_or_else(|| self.overflow("multiply"))?;
        Ok(Money { minor, currency: self.currency })
    }

    pub fn checked_neg(&self) -> Result<Money> {
        let minor = self.minor.checked_neg().ok_or_else(|| self.overflow("negate"))?;
        Ok(Money { minor, currency: self.currency })
    }

    /// `self × numerator ÷ denominator`, rounded with `mode`: a percentage (15/100), a weight
    /// (grams/1000), a rate. Computed in 128 bits, so only the result can overflow.
    pub fn mul_div(&self, numerator: i64, denominator: i64, mode: RoundingMode) -> Result<Money> {
        if denominator == 0 {
            return Err(Error::InvalidArgument(format!("cannot divide {self} by zero")));
        }
        let exact = i128::from(self.minor) * i128::from(numerator);
        let minor = div_round(exact, i128::from(denominator), mode);
        let minor = i64::try_from(minor).map_err(|_| self.overflow("mul_div"))?;
        Ok(Money { minor, currency: self.currency })
    }

    /// Rounds to a multiple of `increment` minor units (cash rounding: 5 for CHF 0.05).
    pub fn round_to_increment(&self, increment: i64, mode: RoundingMode) -> Result<Money> {
        if increment <= 0 {
            return Err(Error::InvalidArgument(format!(
                "rounding increment must be positive, got {increment}"
            )));
        }
        let units = div_round(i128::from(self.minor), i128::from(increment), mode);
        let minor = units
            .checked_mul(i128::from(increment))
            .and_then(|m| i64::try_from(m).ok())
            .ok_or_else(|| self.overflow("round_to_increment"))?;
        Ok(Money { minor, currency: self.currency })
    }

    /// Splits this amount into parts proportional to `weights` by the largest-remainder
    /// method: the parts always sum to exactly `self`, each part is within one minor unit of
    /// its exact share, and ties go to the later position (0.04 over three equal weights is
    /// 0.01, 0.01, 0.02). Negative amounts split like their absolute value, negated.
    pub fn allocate(&self, weights: &[u64]) -> Result<Vec<Money>> {
        let parts = allocate_minor(self.minor, weights)
            .map_err(|why| Error::InvalidArgument(format!("cannot allocate {self} {why}")))?;
        Ok(parts.into_iter().map(|minor| Money { minor, currency: self.currency }).collect())
    }

    /// Sums amounts of one currency; an empty iterator sums to zero in `currency`.
    pub fn sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money> {
        items.into_iter().try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// The amount in major units as a decimal string without the code, e.g. `"-12.05"`.
    pub fn to_decimal_string(&self) -> String {
        let exponent = u32::from(self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exponent == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10_u64.pow(exponent);
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = exponent as usize)
    }
}

/// Splits `total` minor units into parts proportional to `weights` by largest remainder (see
/// [`Money::allocate`]): parts sum exactly to `total`, ties go to the later position. The error
/// says why it cannot (no parts, all weights zero).
pub fn allocate_minor(total: i64, weights: &[u64]) -> std::result::Result<Vec<i64>, &'static str> {
    let mut parts = vec![0; weights.len()];
    allocate_minor_into(total, weights, &mut parts)?;
    Ok(parts)
}

/// [`allocate_minor`] into `out` (one part per weight), with no heap allocation for a few
/// parts (the promotion engine spreads every discount this way).
pub(crate) fn allocate_minor_into(total: i64, weights: &[u64], out: &mut [i64]) -> std::result::Result<(), &'static str> {
    if weights.is_empty() {
        return Err("over no parts");
    }
    let total_weight: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if total_weight == 0 {
        return Err("over weights that are all zero");
    }
    let amount = u128::from(total.unsigned_abs());
    let mut parts: SmallVec<[u128; 8]> = SmallVec::with_capacity(weights.len());
    let mut remainders: SmallVec<[(u128, usize); 8]> = SmallVec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        // amount < 2^64 and w < 2^64, so the product fits in 128 bits.
        let exact = amount * u128::from(w);
        parts.push(exact / total_weight);
        remainders.push((exact % total_weight, i));
    }
    let leftover = amount - parts.iter().sum::<u128>(); // < number of parts
    // Largest remainder first; among equal remainders the later position first.
    remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    for &(_, i) in remainders.iter().take(leftover as usize) {
        parts[i] += 1;
    }
    let negative = total < 0;
    // Each part is at most |total| <= 2^63; only i64::MIN itself needs the full magnitude.
    for (o, p) in out.iter_mut().zip(parts) {
        let p = p as i128;
        *o = (if negative { -p } else { p }) as i64;
    }
    Ok(())
}

/// Spreads `total` minor units over runs of identical units, `(count, weight)` each: every run
/// gets its largest-remainder share by weight ([`allocate_minor`]) and splits it evenly over its
/// units, so a run comes back as at most two parts `(count, each)` whose units differ by one
/// minor unit (`div_euclid`, so a negative total splits like its mirror image). The parts of
/// all runs sum exactly to `total`.
pub fn split_over_runs(runs: &[(i64, u64)], total: i64) -> std::result::Result<Vec<Vec<(i64, i64)>>, &'static str> {
    let weights: Vec<u64> = runs.iter().map(|&(_, w)| w).collect();
    let shares = allocate_minor(total, &weights)?;
    Ok(runs
        .iter()
        .zip(shares)
        .map(|(&(count, _), share)| {
            if count <= 0 {
                return Vec::new();
            }
            let (base, extra) = (share.div_euclid(count), share.rem_euclid(count));
            let mut parts = Vec::with_capacity(2);
            if count > extra {
                parts.push((count - extra, base));
            }
            if extra > 0 {
                parts.push((extra, base + 1));
            }
            parts
        })
        .collect())
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

/// JSON form: `{"minor": 1234, "currency": "EUR"}` — integers, so every language reads it
/// exactly. Reading also accepts the text form `"12.34 EUR"`.
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Money", 2)?;
        st.serialize_field("minor", &self.minor)?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        const FORMS: &str = "an amount is {\"minor\": <integer>, \"currency\": \"EUR\"} or \"12.34 EUR\", never a float";
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Object(map) => {
                let minor = map.get("minor").and_then(serde_json::Value::as_i64);
                let currency = map.get("currency").and_then(serde_json::Value::as_str);
                match (minor, currency, map.len()) {
                    (Some(minor), Some(code), 2) => {
                        Ok(Money::new(minor, Currency::from_code(code).map_err(D::Error::custom)?))
                    }
                    _ => Err(D::Error::custom(format!("{FORMS}; got {}", serde_json::Value::Object(map)))),
                }
            }
            serde_json::Value::String(t) => {
                let (amount, code) =
                    t.trim().rsplit_once(' ').ok_or_else(|| D::Error::custom(format!("{FORMS}; got {t:?}")))?;
                let currency = Currency::from_code(code).map_err(D::Error::custom)?;
                Money::parse(amount, currency).map_err(D::Error::custom)
            }
            other => Err(D::Error::custom(format!("{FORMS}; got {other}"))),
        }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    #[test]
    fn parse_and_display_round_trip() {
        assert_eq!(Money::parse("12.34", Currency::EUR).unwrap(), eur(1234));
        assert_eq!(Money::parse("-0.5", Currency::EUR).unwrap(), eur(-50));
        assert_eq!(Money::parse("7", Currency::EUR).unwrap(), eur(700));
        assert_eq!(Money::parse(".05", Currency::EUR).unwrap(), eur(5));
        assert_eq!(Money::parse("1000", Currency::JPY).unwrap().minor(), 1000);
        assert_eq!(Money::parse("1.234", Currency::KWD).unwrap().minor(), 1234);
        assert_eq!(eur(-1205).to_string(), "-12.05 EUR");
        assert_eq!(eur(5).to_string(), "0.05 EUR");
        assert_eq!(Money::new(500, Currency::JPY).to_string(), "500 JPY");
    }

    #[test]
    fn parse_refuses_what_it_cannot_represent() {
        for bad in ["", "-", ".", "1.234", "1,00", "1e3", "abc", "1.2.3", "--1", " 1 2"] {
            let err = Money::parse(bad, Currency::EUR).unwrap_err();
            assert_eq!(err.code(), "INVALID_AMOUNT", "{bad:?} gave {err}");
        }
        assert_eq!(Money::parse("1.5", Currency::JPY).unwrap_err().code(), "INVALID_AMOUNT");
        assert_eq!(
            Money::parse("92233720368547758.08", Currency::EUR).unwrap_err().code(),
            "MONEY_OVERFLOW"
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(eur(100).checked_add(eur(23)).unwrap(), eur(123));
        assert_eq!(eur(i64::MAX).checked_add(eur(1)).unwrap_err().code(), "MONEY_OVERFLOW");
        assert_eq!(eur(i64::MIN).checked_sub(eur(1)).unwrap_err().code(), "MONEY_OVERFLOW");
        assert_eq!(eur(i64::MAX / 2 + 1).checked_mul(2).unwrap_err().code(), "MONEY_OVERFLOW");
        assert_eq!(eur(i64::MIN).checked_neg().unwrap_err().code(), "MONEY_OVERFLOW");
        let err = eur(1).checked_add(Money::new(1, Currency::USD)).unwrap_err();
        assert_eq!(err.to_string(), "CURRENCY_MISMATCH: expected EUR, got USD");
    }

    #[test]
    fn mul_div_rounds_as_asked() {
        // 15% of 0.99 = 0.1485
        assert_eq!(eur(99).mul_div(15, 100, RoundingMode::HalfEven).unwrap(), eur(15));
        assert_eq!(eur(99).mul_div(15, 100, RoundingMode::Down).unwrap(), eur(14));
        // 0.125 → half-even 0.12, half-up 0.13
        assert_eq!(eur(25).mul_div(1, 2, RoundingMode::HalfEven).unwrap(), eur(12));
        assert_eq!(eur(25).mul_div(1, 2, RoundingMode::HalfUp).unwrap(), eur(13));
        assert_eq!(eur(1).mul_div(1, 0, RoundingMode::Up).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(eur(i64::MAX).mul_div(2, 1, RoundingMode::Up).unwrap_err().code(), "MONEY_OVERFLOW");
    }

    #[test]
    fn cash_rounding_to_increment() {
        let chf = |m| Money::new(m, Currency::CHF);
        assert_eq!(chf(1232).round_to_increment(5, RoundingMode::HalfUp).unwrap(), chf(1230));
        assert_eq!(chf(1233).round_to_increment(5, RoundingMode::HalfUp).unwrap(), chf(1235));
        assert_eq!(chf(-1233).round_to_increment(5, RoundingMode::HalfUp).unwrap(), chf(-1235));
        assert_eq!(chf(1249).round_to_increment(100, RoundingMode::HalfEven).unwrap(), chf(1200));
        assert_eq!(chf(1).round_to_increment(0, RoundingMode::Up).unwrap_err().code(), "INVALID_ARGUMENT");
    }

    #[test]
    fn allocate_by_largest_remainder() {
        let parts = eur(4).allocate(&[1, 1, 1]).unwrap();
        assert_eq!(parts, vec![eur(1), eur(1), eur(2)]);
        let parts = eur(-4).allocate(&[1, 1, 1]).unwrap();
        assert_eq!(parts, vec![eur(-1), eur(-1), eur(-2)]);
        let parts = eur(1000).allocate(&[3, 7]).unwrap();
        assert_eq!(parts, vec![eur(300), eur(700)]);
        // 100 over 70:30:0 — a zero weight gets nothing.
        let parts = eur(100).allocate(&[70, 30, 0]).unwrap();
        assert_eq!(parts, vec![eur(70), eur(30), eur(0)]);
        assert_eq!(eur(1).allocate(&[]).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(eur(1).allocate(&[0, 0]).unwrap_err().code(), "INVALID_ARGUMENT");
        let parts = eur(i64::MIN).allocate(&[1, 1]).unwrap();
        assert_eq!(Money::sum(Currency::EUR, parts).unwrap(), eur(i64::MIN));
    }

    #[test]
    fn split_over_runs_sums_exactly() {
        // 0.04 over one run of three units: 0.01, 0.01, 0.02.
        assert_eq!(split_over_runs(&[(3, 1)], 4).unwrap(), vec![vec![(2, 1), (1, 2)]]);
        // 1.00 over runs weighted 1:3 (e.g. 1 × 0.50 and 3 × 0.50).
        let parts = split_over_runs(&[(1, 50), (3, 150)], 100).unwrap();
        let sum: i64 = parts.iter().flatten().map(|(c, e)| c * e).sum();
        assert_eq!(sum, 100);
        let neg = split_over_runs(&[(3, 1)], -4).unwrap();
        assert_eq!(neg.iter().flatten().map(|(c, e)| c * e).sum::<i64>(), -4);
        assert!(split_over_runs(&[(1, 0)], 5).is_err());
    }

    #[test]
    fn json_forms() {
        assert_eq!(serde_json::to_string(&eur(1234)).unwrap(), r#"{"minor":1234,"currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(r#"{"minor":-5,"currency":"EUR"}"#).unwrap(), eur(-5));
        assert_eq!(serde_json::from_str::<Money>(r#""12.34 EUR""#).unwrap(), eur(1234));
        assert!(serde_json::from_str::<Money>(r#""12.345 EUR""#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"minor":1.5,"currency":"EUR"}"#).is_err());
    }

    #[test]
    fn sum_is_checked() {
        assert_eq!(Money::sum(Currency::EUR, []).unwrap(), eur(0));
        assert_eq!(Money::sum(Currency::EUR, [eur(1), eur(2)]).unwrap(), eur(3));
        assert_eq!(
            Money::sum(Currency::EUR, [Money::new(1, Currency::USD)]).unwrap_err().code(),
            "CURRENCY_MISMATCH"
        );
    }
}
