//! Rounding modes and the one integer division every amount computation goes through.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// How a division that does not come out even is rounded.
///
/// `Up` and `Down` are away from and toward zero (as in Java's `RoundingMode`), so a refund
/// rounds like the sale it reverses: `-x` rounds to `-(round(x))` in every mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RoundingMode {
    /// Ties to the even neighbour (banker's rounding).
    #[default]
    HalfEven,
    /// Ties away from zero (commercial rounding).
    HalfUp,
    /// Ties toward zero.
    HalfDown,
    /// Always away from zero.
    Up,
    /// Always toward zero (truncate).
    Down,
}

impl RoundingMode {
    pub const ALL: [RoundingMode; 5] = [
        RoundingMode::HalfEven,
        RoundingMode::HalfUp,
        RoundingMode::HalfDown,
        RoundingMode::Up,
        RoundingMode::Down,
    ];

    /// The name used in rules, configs and every binding: `"half_even"`, `"half_up"`, …
    pub fn as_str(self) -> &'static str {
        match self {
            RoundingMode::HalfEven => "half_even",
            RoundingMode::HalfUp => "half_up",
            RoundingMode::HalfDown => "half_down",
            RoundingMode::Up => "up",
            RoundingMode::Down => "down",
        }
    }
}

impl fmt::Display for RoundingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoundingMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        RoundingMode::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown rounding mode {s:?}; expected one of half_even, half_up, half_down, up, down"
            ))
        })
    }
}

/// `numerator ÷ denominator` rounded to an integer with `mode`. `denominator` must not be 0
/// (callers check; a zero here is a bug and yields 0 rather than a panic).
pub fn div_round(numerator: i128, denominator: i128, mode: RoundingMode) -> i128 {
    if denominator == 0 {
        return 0;
    }
    // Work on magnitudes so every mode is symmetric around zero.
    let negative = (numerator < 0) != (denominator < 0);
    let n = numerator.unsigned_abs();
    let d = denominator.unsigned_abs();
    // Amounts almost always fit in 64 bits, where one native division gives both parts (the
    // 128-bit one is two library calls).
    let (q, r) = match (u64::try_from(n), u64::try_from(d)) {
        (Ok(n), Ok(d)) => (u128::from(n / d), u128::from(n % d)),
        _ => (n / d, n % d),
    };
    let bump = if r == 0 {
        false
    } else {
        // Compare 2r with d without overflow: r < d <= 2^127, so r >= d - r is the test.
        let twice_vs_d = r.cmp(&(d - r));
        match mode {
            RoundingMode::Down => false,
            RoundingMode::Up => true,
            RoundingMode::HalfUp => twice_vs_d.is_ge(),
            RoundingMode::HalfDown => twice_vs_d.is_gt(),
            RoundingMode::HalfEven => twice_vs_d.is_gt() || (twice_vs_d.is_eq() && q % 2 == 1),
        }
    };
    let magnitude = q + u128::from(bump);
    // |numerator| <= 2^127, so magnitude <= 2^127 and only -2^127 needs the wrapping form.
    let m = magnitude as i128;
    if negative { m.wrapping_neg() } else { m }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RoundingMode::*;

    #[test]
    fn table() {
        // (numerator, denominator, [half_even, half_up, half_down, up, down])
        let cases: &[(i128, i128, [i128; 5])] = &[
            (25, 10, [2, 3, 2, 3, 2]),
            (35, 10, [4, 4, 3, 4, 3]),
            (26, 10, [3, 3, 3, 3, 2]),
            (24, 10, [2, 2, 2, 3, 2]),
            (-25, 10, [-2, -3, -2, -3, -2]),
            (-26, 10, [-3, -3, -3, -3, -2]),
            (25, -10, [-2, -3, -2, -3, -2]),
            (20, 10, [2, 2, 2, 2, 2]),
            (0, 7, [0, 0, 0, 0, 0]),
            (1, 3, [0, 0, 0, 1, 0]),
            (2, 3, [1, 1, 1, 1, 0]),
        ];
        for &(n, d, expected) in cases {
            for (mode, want) in RoundingMode::ALL.into_iter().zip(expected) {
                assert_eq!(div_round(n, d, mode), want, "{n}/{d} {mode}");
            }
        }
    }

    /// The 64-bit shortcut rounds exactly like 128-bit division, at and around its edges.
    #[test]
    fn native_division_matches_wide() {
        fn wide(numerator: i128, denominator: i128, mode: RoundingMode) -> i128 {
            let (n, d) = (numerator.unsigned_abs(), denominator.unsigned_abs());
            let (q, r) = (n / d, n % d);
            let up = r != 0
                && match mode {
                    Down => false,
                    Up => true,
                    HalfUp => r >= d - r,
                    HalfDown => r > d - r,
                    HalfEven => r > d - r || (r == d - r && q % 2 == 1),
                };
            let m = (q + u128::from(up)) as i128;
            if (numerator < 0) != (denominator < 0) { m.wrapping_neg() } else { m }
        }
        let edge = |x: i128| [x - 1, x, x + 1];
        let big = [1i128 << 63, 1 << 64, (1 << 64) + 7, i128::from(i64::MAX), i128::from(u64::MAX)];
        let mut values: Vec<i128> = vec![1, 2, 3, 7, 10, 119, 1_000_003];
        values.extend(big.iter().flat_map(|&b| edge(b)));
        for &n in &values {
            for &d in &values {
                for (n, d) in [(n, d), (-n, d), (n, -d), (-n, -d)] {
                    for mode in RoundingMode::ALL {
                        assert_eq!(div_round(n, d, mode), wide(n, d, mode), "{n}/{d} {mode}");
                    }
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for m in RoundingMode::ALL {
            assert_eq!(m.as_str().parse::<RoundingMode>().unwrap(), m);
        }
        assert_eq!("bankers".parse::<RoundingMode>().unwrap_err().code(), "INVALID_ARGUMENT");
    }

    #[test]
    fn extremes_do_not_panic() {
        assert_eq!(div_round(i128::MIN, 1, Down), i128::MIN);
        assert_eq!(div_round(i128::MAX, 1, Up), i128::MAX);
        assert_eq!(div_round(i128::MIN, -1, Down), i128::MIN); // saturates by wrapping, no panic
        assert_eq!(div_round(5, 0, HalfEven), 0);
    }
}

impl serde::Serialize for RoundingMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RoundingMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
