//! JS numbers to Rust integers, without napi's silent truncation and wrapping.
//!
//! napi converts a JS `number` passed for an `i64`/`u32` by truncating (`1.9` → 1) or wrapping
//! (`-1` → 4294967295). Arguments are therefore taken as `f64` and converted here: only a
//! safe integer (|n| ≤ 2^53 − 1, where every integer is exact) becomes an `i64`; the range and
//! meaning of the value (a quantity ≥ 1, an increment > 0, …) is then the core's to check.

use napi::bindgen_prelude::BigInt;

use crate::error::{Code, to_napi_err};

/// `Number.MAX_SAFE_INTEGER`.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The value as JS would print it, for error messages.
pub fn js_number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity".to_owned() } else { "-Infinity".to_owned() }
    } else {
        format!("{value}")
    }
}

fn safe_integer(value: f64) -> Option<i64> {
    // MAX_SAFE_INTEGER is exactly representable as f64, so the comparison is exact.
    (value.is_finite() && value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER as f64).then_some(value as i64)
}

/// A whole-number argument (a quantity, a factor, a divisor, an increment) as an `i64`;
/// anything else is `INVALID_ARGUMENT`.
pub fn integer_arg(name: &str, value: f64) -> napi::Result<i64, Code> {
    safe_integer(value).ok_or_else(|| {
        to_napi_err(aisle::Error::InvalidArgument(format!(
            "{name} must be a whole number between -(2^53 - 1) and 2^53 - 1, got {}",
            js_number(value)
        )))
    })
}

/// A weight for `Money.allocate` as a `u64`; anything but a non-negative whole number is
/// `INVALID_ARGUMENT`.
pub fn weight_arg(value: f64) -> napi::Result<u64, Code> {
    safe_integer(value).and_then(|w| u64::try_from(w).ok()).ok_or_else(|| {
        to_napi_err(aisle::Error::InvalidArgument(format!(
            "allocation weights must be whole numbers from 0 to 2^53 - 1, got {}",
            js_number(value)
        )))
    })
}

/// An amount in minor units given as a `number`: it must be a safe integer
/// (`INVALID_AMOUNT` otherwise; pass a `bigint` for larger amounts).
pub fn minor_from_number(value: f64) -> napi::Result<i64, Code> {
    safe_integer(value).ok_or_else(|| {
        to_napi_err(aisle::Error::InvalidAmount {
            input: js_number(value),
            reason: "minor units must be a whole number between -(2^53 - 1) and 2^53 - 1 \
                     (pass a bigint for larger amounts)"
                .to_owned(),
        })
    })
}

/// A `bigint` as an `i64`, if it fits.
pub fn bigint_to_i64(value: &BigInt) -> Option<i64> {
    let magnitude = match value.words.as_slice() {
        [] => 0,
        [word] => i128::from(*word),
        _ => return None,
    };
    i64::try_from(if value.sign_bit { -magnitude } else { magnitude }).ok()
}

/// An amount in minor units given as a `bigint`: it must fit in 64 bits (`MONEY_OVERFLOW`
/// otherwise, as for a parsed amount that does not fit).
pub fn minor_from_bigint(value: &BigInt) -> napi::Result<i64, Code> {
    bigint_to_i64(value).ok_or_else(|| {
        let operation = match (value.words.as_slice(), value.sign_bit) {
            ([], _) => "the bigint 0n".to_owned(),
            ([m], true) => format!("the bigint -{m}n"),
            ([m], false) => format!("the bigint {m}n"),
            _ => "a bigint beyond 2^64".to_owned(),
        };
        to_napi_err(aisle::Error::MoneyOverflow { operation })
    })
}
