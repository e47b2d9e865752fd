//! Exact decimal percentages (tax rates, discount percentages) and their application to money.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Money, RoundingMode, div_round};
use crate::error::{Error, Result};

/// Most decimal places a percentage may have (8.875 % has 3).
const MAX_SCALE: u32 = 6;

/// An exact percentage, e.g. `20`, `8.875`, `5.5`, `100`: `mantissa / 10^scale` percent.
/// Parsed from its decimal text, never from a float, so `7.7` is exactly 7.7 %.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Percent {
    mantissa: i64,
    scale: u32,
}

impl Percent {
    pub const ZERO: Percent = Percent { mantissa: 0, scale: 0 };
    pub const HUNDRED: Percent = Percent { mantissa: 100, scale: 0 };

    /// `whole` percent, e.g. `Percent::whole(20)` = 20 %.
    pub const fn whole(whole: i64) -> Percent {
        Percent { mantissa: whole, scale: 0 }
    }

    /// Parses a decimal percentage: `"20"`, `"8.875"`, `"0.5"`. Negative or more than six
    /// decimal places is `INVALID_ARGUMENT`.
    pub fn parse(text: &str) -> Result<Percent> {
        let bad = |why: &str| Error::InvalidArgument(format!("{text:?} is not a valid percentage: {why}"));
        let t = text.trim().trim_end_matches('%').trim();
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(bad("no digits"));
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("only digits and one '.' are allowed (no sign)"));
        }
        let scale = u32::try_from(frac.len()).unwrap_or(u32::MAX);
        if scale > MAX_SCALE {
            return Err(bad("at most six decimal places"));
        }
        let mut mantissa: i64 = 0;
        for b in whole.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .filter(|m| *m <= 1_000_000_000_000)
                .ok_or_else(|| bad("too large"))?;
        }
        Ok(Percent { mantissa, scale }.normalized())
    }

    fn normalized(mut self) -> Percent {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }

    /// The percentage as the exact fraction `numerator / denominator` (20 % = 20/100).
    pub fn fraction(&self) -> (i128, i128) {
        (i128::from(self.mantissa), 10_i128.pow(self.scale + 2))
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// `amount × self`, rounded with `mode` (a 20 % tax on a net amount, 15 % off a price).
    pub fn of(&self, amount: Money, mode: RoundingMode) -> Result<Money> {
        let (n, d) = self.fraction();
        let v = div_round(i128::from(amount.minor()) * n, d, mode);
        to_money(v, amount, "percentage of")
    }

    /// The part of a tax-inclusive `gross` that is tax at this rate: `gross × r / (1 + r)`.
    pub fn included_in(&self, gross: Money, mode: RoundingMode) -> Result<Money> {
        let (n, d) = self.fraction();
        let v = div_round(i128::from(gross.minor()) * n, d + n, mode);
        to_money(v, gross, "tax included in")
    }
}

fn to_money(v: i128, like: Money, what: &str) -> Result<Money> {
    i64::try_from(v)
        .map(|minor| Money::new(minor, like.currency()))
        .map_err(|_| Error::MoneyOverflow { operation: format!("{what} {like}") })
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.mantissa);
        }
        let d = 10_i64.pow(self.scale);
        write!(f, "{}.{:0w$}", self.mantissa / d, self.mantissa % d, w = self.scale as usize)
    }
}

impl fmt::Debug for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}%")
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Percent {
    /// From a string (`"8.875"`) or an integer (`20`); floats are refused so a rate is never
    /// approximated.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(t) => Percent::parse(&t).map_err(D::Error::custom),
            serde_json::Value::Number(n) if n.is_u64() => Percent::parse(&n.to_string()).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "a percentage is a decimal string like \"12.5\" or a whole number, never a float or {}; got {other}",
                "a negative number"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn eur(m: i64) -> Money {
        Money::new(m, Currency::EUR)
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(Percent::parse("20").unwrap(), Percent::whole(20));
        assert_eq!(Percent::parse("20.000").unwrap(), Percent::whole(20));
        assert_eq!(Percent::parse("8.875").unwrap().to_string(), "8.875");
        assert_eq!(Percent::parse("7.7%").unwrap().to_string(), "7.7");
        assert_eq!(Percent::parse(".5").unwrap().to_string(), "0.5");
        for bad in ["", "-5", "1e2", "abc", "1.0000001", "1.2.3"] {
            assert_eq!(Percent::parse(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad}");
        }
    }

    #[test]
    fn applies_exactly() {
        let vat = Percent::parse("20").unwrap();
        assert_eq!(vat.of(eur(1000), RoundingMode::HalfEven).unwrap(), eur(200));
        // 1.20 gross at 20 % includes 0.20 tax.
        assert_eq!(vat.included_in(eur(120), RoundingMode::HalfEven).unwrap(), eur(20));
        let ny = Percent::parse("8.875").unwrap();
        // 9.99 × 8.875 % = 0.8866125
        assert_eq!(ny.of(eur(999), RoundingMode::HalfUp).unwrap(), eur(89));
        assert_eq!(Percent::ZERO.of(eur(999), RoundingMode::Up).unwrap(), eur(0));
    }

    #[test]
    fn serde_refuses_floats() {
        let p: Percent = serde_json::from_str("\"5.5\"").unwrap();
        assert_eq!(p.to_string(), "5.5");
        let p: Percent = serde_json::from_str("20").unwrap();
        assert_eq!(p, Percent::whole(20));
        assert!(serde_json::from_str::<Percent>("5.5").is_err());
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"20\"");
    }
}
