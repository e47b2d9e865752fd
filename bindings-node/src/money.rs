//! `Money`: the core's exact amount, as a JS class.
//!
//! Amounts cross the boundary as whole minor units. A `number` must be a safe integer; a
//! `bigint` reaches the full 64-bit range. Reading `minor` of an amount beyond the safe range
//! throws instead of returning an inexact number; `minorBigInt` is always exact.

use napi::bindgen_prelude::{BigInt, Either, FromNapiValue, ValidateNapiValue};
use napi::sys;
use napi_derive::napi;

use crate::error::{Code, to_napi_err};
use crate::number::{MAX_SAFE_INTEGER, integer_arg, minor_from_bigint, minor_from_number, weight_arg};

/// How a division that does not come out even is rounded. `up`/`down` are away from/toward
/// zero, so a refund rounds like the sale it reverses.
#[napi(string_enum)]
pub enum RoundingMode {
    /// Ties to the even neighbour (banker's rounding).
    #[napi(value = "half_even")]
    HalfEven,
    /// Ties away from zero (commercial rounding).
    #[napi(value = "half_up")]
    HalfUp,
    /// Ties toward zero.
    #[napi(value = "half_down")]
    HalfDown,
    /// Always away from zero.
    #[napi(value = "up")]
    Up,
    /// Always toward zero (truncate).
    #[napi(value = "down")]
    Down,
}

fn rounding_mode(mode: &str) -> napi::Result<aisle::RoundingMode, Code> {
    mode.parse().map_err(to_napi_err)
}

/// An amount as data, the way results carry it: `{ minor: 606, currency: "EUR" }` is 6.06 EUR.
/// `minor` is always a safe integer (a result that would not be one throws `INVALID_ARGUMENT`).
/// Where an amount is an argument, a `MoneyValue` is accepted as well as a `Money`.
#[napi(object, object_from_js = false)]
pub struct MoneyValue {
    /// Whole minor units (cents, pence, yen).
    pub minor: i64,
    /// ISO-4217 code, e.g. `"EUR"`.
    pub currency: String,
}

/// An exact amount of money: whole minor units (cents, pence, yen) of one ISO-4217 currency.
/// Immutable: arithmetic returns a new `Money`. Never a float.
#[napi]
#[derive(Clone, Copy)]
pub struct Money {
    pub(crate) inner: aisle::Money,
}

impl From<aisle::Money> for Money {
    fn from(inner: aisle::Money) -> Self {
        Money { inner }
    }
}

/// Lets a `Money` be passed by value (as an argument or a field of a plain object). The value
/// is checked to be a `Money` before it is unwrapped: unwrapping another class's object as a
/// `Money` would read the wrong memory.
impl FromNapiValue for Money {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        unsafe {
            <&Money as ValidateNapiValue>::validate(env, value)?;
            let money = <&Money as FromNapiValue>::from_napi_value(env, value)?;
            Ok(*money)
        }
    }
}

#[napi]
impl Money {
    /// `new Money(606, "EUR")` is 6.06 EUR. `minor` is a whole number of minor units: a safe
    /// integer `number` (else `INVALID_AMOUNT`) or a `bigint` within 64 bits (else
    /// `MONEY_OVERFLOW`). An unknown currency code is `UNKNOWN_CURRENCY`.
    #[napi(constructor)]
    pub fn new(minor: Either<f64, BigInt>, currency: String) -> napi::Result<Self, Code> {
        let minor = match &minor {
            Either::A(number) => minor_from_number(*number)?,
            Either::B(bigint) => minor_from_bigint(bigint)?,
        };
        let currency = aisle::Currency::from_code(&currency).map_err(to_napi_err)?;
        Ok(aisle::Money::new(minor, currency).into())
    }

    /// Parses a decimal amount in major units exactly: `Money.parse("12.34", "EUR")`. More
    /// decimals than the currency has is `INVALID_AMOUNT`, never a silent rounding.
    #[napi(factory)]
    pub fn parse(amount: String, currency: String) -> napi::Result<Self, Code> {
        let currency = aisle::Currency::from_code(&currency).map_err(to_napi_err)?;
        aisle::Money::parse(&amount, currency).map(Money::from).map_err(to_napi_err)
    }

    /// The amount in minor units (606 for 6.06 EUR). Throws `INVALID_ARGUMENT` if it is beyond
    /// `Number.MAX_SAFE_INTEGER` and so has no exact `number`; use `minorBigInt` then.
    #[napi(getter)]
    pub fn minor(&self) -> napi::Result<i64, Code> {
        let minor = self.inner.minor();
        if minor.unsigned_abs() <= MAX_SAFE_INTEGER.unsigned_abs() {
            Ok(minor)
        } else {
            Err(to_napi_err(aisle::Error::InvalidArgument(format!(
                "{} is {minor} minor units, beyond what a JS number holds exactly; read minorBigInt instead",
                self.inner
            ))))
        }
    }

    /// The amount in minor units as a `bigint`, exact over the whole 64-bit range.
    #[napi(getter, js_name = "minorBigInt")]
    pub fn minor_big_int(&self) -> BigInt {
        BigInt::from(self.inner.minor())
    }

    /// The ISO-4217 code, e.g. `"EUR"`.
    #[napi(getter)]
    pub fn currency(&self) -> String {
        self.inner.currency().code().to_owned()
    }

    /// `{ minor, currency }`, so `JSON.stringify` writes a `Money` the way the core reads and
    /// writes amounts. Throws `INVALID_ARGUMENT` beyond `Number.MAX_SAFE_INTEGER`, like `minor`.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> napi::Result<MoneyValue, Code> {
        Ok(MoneyValue { minor: self.minor()?, currency: self.currency() })
    }

    /// `"12.34 EUR"`.
    #[napi(js_name = "toString")]
    pub fn to_js_string(&self) -> String {
        self.inner.to_string()
    }

    /// The amount in major units without the code, e.g. `"-12.05"`.
    #[napi]
    pub fn to_decimal_string(&self) -> String {
        self.inner.to_decimal_string()
    }

    /// Same amount and currency.
    #[napi]
    pub fn equals(&self, other: Money) -> bool {
        self.inner == other.inner
    }

    /// `this + other`; `CURRENCY_MISMATCH` across currencies, `MONEY_OVERFLOW` past 64 bits.
    #[napi]
    pub fn add(&self, other: Money) -> napi::Result<Money, Code> {
        self.inner.checked_add(other.inner).map(Money::from).map_err(to_napi_err)
    }

    /// `this - other`; `CURRENCY_MISMATCH` across currencies, `MONEY_OVERFLOW` past 64 bits.
    #[napi]
    pub fn sub(&self, other: Money) -> napi::Result<Money, Code> {
        self.inner.checked_sub(other.inner).map(Money::from).map_err(to_napi_err)
    }

    /// `this × factor` for a whole `factor` (a quantity).
    #[napi]
    pub fn mul(&self, factor: f64) -> napi::Result<Money, Code> {
        let factor = integer_arg("factor", factor)?;
        self.inner.checked_mul(factor).map(Money::from).map_err(to_napi_err)
    }

    /// `-this`.
    #[napi]
    pub fn neg(&self) -> napi::Result<Money, Code> {
        self.inner.checked_neg().map(Money::from).map_err(to_napi_err)
    }

    /// `this × numerator ÷ denominator`, rounded with `mode`: a percentage (15, 100), a
    /// weight (grams, 1000), a rate.
    #[napi]
    pub fn mul_div(
        &self,
        numerator: f64,
        denominator: f64,
        #[napi(ts_arg_type = "RoundingMode")] mode: String,
    ) -> napi::Result<Money, Code> {
        let numerator = integer_arg("numerator", numerator)?;
        let denominator = integer_arg("denominator", denominator)?;
        let mode = rounding_mode(&mode)?;
        self.inner.mul_div(numerator, denominator, mode).map(Money::from).map_err(to_napi_err)
    }

    /// Rounds to a multiple of `increment` minor units (cash rounding: 5 for CHF 0.05).
    #[napi]
    pub fn round_to_increment(
        &self,
        increment: f64,
        #[napi(ts_arg_type = "RoundingMode")] mode: String,
    ) -> napi::Result<Money, Code> {
        let increment = integer_arg("increment", increment)?;
        let mode = rounding_mode(&mode)?;
        self.inner.round_to_increment(increment, mode).map(Money::from).map_err(to_napi_err)
    }

    /// Splits this amount in proportion to whole, non-negative `weights`; the parts always sum
    /// to exactly this amount (4 cents over `[1, 1, 1]` is 1, 1, 2 cents).
    #[napi]
    pub fn allocate(&self, weights: Vec<f64>) -> napi::Result<Vec<Money>, Code> {
        let weights = weights.into_iter().map(weight_arg).collect::<napi::Result<Vec<u64>, Code>>()?;
        let parts = self.inner.allocate(&weights).map_err(to_napi_err)?;
        Ok(parts.into_iter().map(Money::from).collect())
    }
}
