//! Exact integers and fractions of any size, for the tax engine's intermediate values only.
//!
//! Tax extracted from a tax-inclusive price is a fraction such as `gross × 71/871` (8.875 %);
//! summing those over lines of different categories multiplies their denominators, and with
//! compound rates and rates of six decimals that outgrows `i128` for regimes a store really
//! uses. Rather than answer MONEY_OVERFLOW for a valid receipt, intermediate values are exact at
//! any size; only a final amount is narrowed to `i64` (and that is MONEY_OVERFLOW if it does not
//! fit). The common case — everything within `u128` — takes the native fast paths.
//!
//! This module must never round implicitly: the only rounding is [`Ratio::round`], which follows
//! `money::div_round` mode for mode (symmetric around zero).

use std::cmp::Ordering;

use smallvec::{SmallVec, smallvec};

use crate::money::RoundingMode;

/// Magnitude limbs, inline up to 256 bits: tax fractions almost always fit, so arithmetic
/// allocates only for the rare huge value.
type Mag = SmallVec<[u32; 8]>;

/// A signed integer of any size: sign and magnitude, magnitude in little-endian 32-bit limbs
/// with no high zero limbs (zero is the empty magnitude and is never negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Int {
    negative: bool,
    mag: Mag,
}

impl Int {
    pub(crate) fn zero() -> Int {
        Int { negative: false, mag: Mag::new() }
    }

    pub(crate) fn from_i128(v: i128) -> Int {
        Int { negative: v < 0, mag: mag_from_u128(v.unsigned_abs()) }
    }

    fn from_parts(negative: bool, mut mag: Mag) -> Int {
        trim(&mut mag);
        let negative = negative && !mag.is_empty();
        Int { negative, mag }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.mag.is_empty()
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.negative
    }

    /// -1, 0 or 1.
    pub(crate) fn signum(&self) -> i32 {
        if self.is_zero() {
            0
        } else if self.negative {
            -1
        } else {
            1
        }
    }

    /// The value as an `i128`, or `None` when it does not fit.
    pub(crate) fn to_i128(&self) -> Option<i128> {
        let m = mag_to_u128(&self.mag)?;
        if self.negative {
            if m <= i128::MIN.unsigned_abs() { Some((m as i128).wrapping_neg()) } else { None }
        } else {
            i128::try_from(m).ok()
        }
    }

    pub(crate) fn neg(&self) -> Int {
        Int::from_parts(!self.negative, self.mag.clone())
    }

    fn abs(&self) -> Int {
        Int { negative: false, mag: self.mag.clone() }
    }

    pub(crate) fn add(&self, other: &Int) -> Int {
        if self.negative == other.negative {
            return Int::from_parts(self.negative, mag_add(&self.mag, &other.mag));
        }
        match mag_cmp(&self.mag, &other.mag) {
            Ordering::Equal => Int::zero(),
            Ordering::Greater => Int::from_parts(self.negative, mag_sub(&self.mag, &other.mag)),
            Ordering::Less => Int::from_parts(other.negative, mag_sub(&other.mag, &self.mag)),
        }
    }

    pub(crate) fn mul(&self, other: &Int) -> Int {
        Int::from_parts(self.negative != other.negative, mag_mul(&self.mag, &other.mag))
    }

    /// Quotient truncated toward zero and the remainder (with the sign of `self`). `None` when
    /// `divisor` is zero.
    pub(crate) fn div_rem(&self, divisor: &Int) -> Option<(Int, Int)> {
        if divisor.is_zero() {
            return None;
        }
        let (q, r) = mag_div_rem(&self.mag, &divisor.mag);
        Some((Int::from_parts(self.negative != divisor.negative, q), Int::from_parts(self.negative, r)))
    }

    /// Greatest common divisor of the magnitudes (`gcd(0, 0) = 0`).
    fn gcd(&self, other: &Int) -> Int {
        let mut a = self.mag.clone();
        let mut b = other.mag.clone();
        while !b.is_empty() {
            let (_, r) = mag_div_rem(&a, &b);
            a = std::mem::replace(&mut b, r);
        }
        Int { negative: false, mag: a }
    }

    fn is_one(&self) -> bool {
        !self.negative && self.mag[..] == [1]
    }

    fn is_odd(&self) -> bool {
        self.mag.first().is_some_and(|l| l & 1 == 1)
    }
}

impl PartialOrd for Int {
    fn partial_cmp(&self, other: &Int) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Int {
    fn cmp(&self, other: &Int) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => mag_cmp(&self.mag, &other.mag),
            (true, true) => mag_cmp(&other.mag, &self.mag),
        }
    }
}

/// An exact fraction `num / den` with `den > 0` (not always in lowest terms).
#[derive(Clone, Debug)]
pub(crate) struct Ratio {
    num: Int,
    den: Int,
}

impl Ratio {
    pub(crate) fn zero() -> Ratio {
        Ratio::from_int(Int::zero())
    }

    pub(crate) fn one() -> Ratio {
        Ratio::from_i128(1)
    }

    pub(crate) fn from_int(num: Int) -> Ratio {
        Ratio { num, den: Int::from_i128(1) }
    }

    pub(crate) fn from_i128(v: i128) -> Ratio {
        Ratio::from_int(Int::from_i128(v))
    }

    /// `numerator / denominator`; `None` when the denominator is zero.
    pub(crate) fn new(numerator: i128, denominator: i128) -> Option<Ratio> {
        if denominator == 0 {
            return None;
        }
        let (num, den) = if denominator < 0 {
            (Int::from_i128(numerator).neg(), Int::from_i128(denominator).neg())
        } else {
            (Int::from_i128(numerator), Int::from_i128(denominator))
        };
        Some(Ratio { num, den }.reduced())
    }

    fn reduced(self) -> Ratio {
        let g = self.num.gcd(&self.den);
        if g.is_zero() || g.is_one() {
            return self;
        }
        // g divides both exactly and is non-zero, so the divisions cannot fail.
        match (self.num.div_rem(&g), self.den.div_rem(&g)) {
            (Some((num, _)), Some((den, _))) => Ratio { num, den },
            _ => self,
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.num.is_zero()
    }

    pub(crate) fn signum(&self) -> i32 {
        self.num.signum()
    }

    pub(crate) fn add(&self, other: &Ratio) -> Ratio {
        if self.den == other.den {
            return Ratio { num: self.num.add(&other.num), den: self.den.clone() };
        }
        // Over the least common denominator, so sums over many lines of a few categories keep
        // a denominator no larger than the lcm of those categories'.
        let g = self.den.gcd(&other.den);
        let (Some((a, _)), Some((b, _))) = (self.den.div_rem(&g), other.den.div_rem(&g)) else {
            return self.clone(); // unreachable: denominators are positive
        };
        Ratio { num: self.num.mul(&b).add(&other.num.mul(&a)), den: a.mul(&other.den) }
    }

    pub(crate) fn neg(&self) -> Ratio {
        Ratio { num: self.num.neg(), den: self.den.clone() }
    }

    pub(crate) fn sub(&self, other: &Ratio) -> Ratio {
        self.add(&other.neg())
    }

    pub(crate) fn mul(&self, other: &Ratio) -> Ratio {
        Ratio { num: self.num.mul(&other.num), den: self.den.mul(&other.den) }.reduced()
    }

    pub(crate) fn mul_int(&self, factor: i128) -> Ratio {
        Ratio { num: self.num.mul(&Int::from_i128(factor)), den: self.den.clone() }.reduced()
    }

    /// `self / other`; `None` when `other` is zero.
    pub(crate) fn div(&self, other: &Ratio) -> Option<Ratio> {
        if other.is_zero() {
            return None;
        }
        let num = self.num.mul(&other.den);
        let den = self.den.mul(&other.num);
        let (num, den) = if den.is_negative() { (num.neg(), den.neg()) } else { (num, den) };
        Some(Ratio { num, den }.reduced())
    }

    /// The integer part, truncated toward zero, and what is left (same sign as `self`,
    /// magnitude below one).
    pub(crate) fn split_trunc(&self) -> (Int, Ratio) {
        match self.num.div_rem(&self.den) {
            Some((q, r)) => (q, Ratio { num: r, den: self.den.clone() }),
            None => (Int::zero(), Ratio::zero()), // unreachable: den > 0
        }
    }

    /// Compares magnitudes: `|self|` against `|other|`.
    pub(crate) fn cmp_abs(&self, other: &Ratio) -> Ordering {
        let left = mag_mul(&self.num.mag, &other.den.mag);
        let right = mag_mul(&other.num.mag, &self.den.mag);
        mag_cmp(&left, &right)
    }

    /// Rounds to an integer with `mode`, exactly as `money::div_round(num, den, mode)` would.
    pub(crate) fn round(&self, mode: RoundingMode) -> Int {
        let (q, r) = mag_div_rem(&self.num.mag, &self.den.mag);
        let q = Int { negative: false, mag: q };
        let bump = if r.is_empty() {
            false
        } else {
            let twice_vs_d = mag_cmp(&r, &mag_sub(&self.den.mag, &r));
            match mode {
                RoundingMode::Down => false,
                RoundingMode::Up => true,
                RoundingMode::HalfUp => twice_vs_d.is_ge(),
                RoundingMode::HalfDown => twice_vs_d.is_gt(),
                RoundingMode::HalfEven => twice_vs_d.is_gt() || (twice_vs_d.is_eq() && q.is_odd()),
            }
        };
        let magnitude = if bump { q.add(&Int::from_i128(1)) } else { q };
        if self.num.is_negative() { magnitude.neg() } else { magnitude.abs() }
    }
}

impl PartialEq for Ratio {
    fn eq(&self, other: &Ratio) -> bool {
        self.num.mul(&other.den) == other.num.mul(&self.den)
    }
}

// ---- magnitudes ------------------------------------------------------------------------------

fn trim(v: &mut Mag) {
    while v.last() == Some(&0) {
        v.pop();
    }
}

fn mag_from_u128(mut x: u128) -> Mag {
    let mut v = Mag::with_capacity(4);
    while x > 0 {
        v.push(x as u32); // keeps the low 32 bits, on purpose
        x >>= 32;
    }
    v
}

fn mag_to_u128(m: &[u32]) -> Option<u128> {
    if m.len() > 4 {
        return None;
    }
    Some(m.iter().rev().fold(0u128, |acc, &l| (acc << 32) | u128::from(l)))
}

fn mag_cmp(a: &[u32], b: &[u32]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

fn mag_add(a: &[u32], b: &[u32]) -> Mag {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut out = Mag::with_capacity(long.len() + 1);
    let mut carry = 0u64;
    for (i, &l) in long.iter().enumerate() {
        let s = u64::from(l) + u64::from(short.get(i).copied().unwrap_or(0)) + carry;
        out.push(s as u32);
        carry = s >> 32;
    }
    if carry > 0 {
        out.push(carry as u32);
    }
    out
}

/// `a - b` for `a >= b`.
fn mag_sub(a: &[u32], b: &[u32]) -> Mag {
    let mut out = Mag::with_capacity(a.len());
    let mut borrow = 0i64;
    for (i, &l) in a.iter().enumerate() {
        let mut d = i64::from(l) - i64::from(b.get(i).copied().unwrap_or(0)) - borrow;
        borrow = 0;
        if d < 0 {
            d += 1 << 32;
            borrow = 1;
        }
        out.push(d as u32);
    }
    trim(&mut out);
    out
}

fn mag_mul(a: &[u32], b: &[u32]) -> Mag {
    if a.is_empty() || b.is_empty() {
        return Mag::new();
    }
    let mut out = smallvec![0u32; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            // x·y + out + carry <= (2^32-1)^2 + 2(2^32-1) < 2^64
            let t = u64::from(x) * u64::from(y) + u64::from(out[i + j]) + carry;
            out[i + j] = t as u32;
            carry = t >> 32;
        }
        out[i + b.len()] = carry as u32;
    }
    trim(&mut out);
    out
}

/// Quotient and remainder of magnitudes; `b` must be non-zero (callers check).
fn mag_div_rem(a: &[u32], b: &[u32]) -> (Mag, Mag) {
    if b.is_empty() {
        return (Mag::new(), Mag::new());
    }
    if let (Some(x), Some(y)) = (mag_to_u128(a), mag_to_u128(b)) {
        return (mag_from_u128(x / y), mag_from_u128(x % y));
    }
    if mag_cmp(a, b).is_lt() {
        return (Mag::new(), Mag::from_slice(a));
    }
    if let [d] = b {
        let d = u64::from(*d);
        let mut q = smallvec![0u32; a.len()];
        let mut r = 0u64;
        for i in (0..a.len()).rev() {
            let cur = (r << 32) | u64::from(a[i]);
            q[i] = (cur / d) as u32;
            r = cur % d;
        }
        trim(&mut q);
        return (q, mag_from_u128(u128::from(r)));
    }
    // Shift-and-subtract, one bit at a time: slow per bit, but these numbers are a few limbs.
    let mut q = smallvec![0u32; a.len()];
    let mut r: Mag = Mag::with_capacity(b.len() + 1);
    for bit in (0..a.len() * 32).rev() {
        let mut carry = (a[bit / 32] >> (bit % 32)) & 1;
        for limb in r.iter_mut() {
            let out = *limb >> 31;
            *limb = (*limb << 1) | carry;
            carry = out;
        }
        if carry != 0 {
            r.push(carry);
        }
        if mag_cmp(&r, b).is_ge() {
            r = mag_sub(&r, b);
            q[bit / 32] |= 1 << (bit % 32);
        }
    }
    trim(&mut q);
    (q, r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::div_round;

    fn int(v: i128) -> Int {
        Int::from_i128(v)
    }

    #[test]
    fn small_values_match_native_arithmetic() {
        let values =
            [0, 1, -1, 7, -7, 1 << 40, -(1 << 40), i64::MAX as i128, i64::MIN as i128, 123_456_789_012];
        for &a in &values {
            for &b in &values {
                assert_eq!(int(a).add(&int(b)).to_i128(), Some(a + b), "{a} + {b}");
                assert_eq!(int(a).add(&int(b).neg()).to_i128(), Some(a - b), "{a} - {b}");
                assert_eq!(int(a).mul(&int(b)).to_i128(), Some(a * b), "{a} * {b}");
                assert_eq!(int(a).cmp(&int(b)), a.cmp(&b));
                if b != 0 {
                    let (q, r) = int(a).div_rem(&int(b)).unwrap();
                    assert_eq!((q.to_i128(), r.to_i128()), (Some(a / b), Some(a % b)), "{a} / {b}");
                }
            }
        }
        assert!(int(5).div_rem(&int(0)).is_none());
        assert_eq!(int(i128::MIN).to_i128(), Some(i128::MIN));
        assert_eq!(int(i128::MAX).add(&int(1)).to_i128(), None);
        assert_eq!(int(i128::MIN).add(&int(-1)).to_i128(), None);
    }

    #[test]
    fn big_values_divide_back_exactly() {
        // (a·b + r) / b = a rem r, far beyond 128 bits, through the bit-by-bit path.
        let a = int(i128::MAX).mul(&int(987_654_321_987_654_321)).mul(&int(3));
        let b = int(i128::MAX - 12_345).mul(&int(1_000_000_007));
        let r = int(424_242);
        let (q, rem) = a.mul(&b).add(&r).div_rem(&b).unwrap();
        assert_eq!((q, rem), (a.clone(), r.clone()));
        // Negative dividend: truncated quotient, remainder with the dividend's sign.
        let n = a.neg().mul(&b).add(&r);
        let (q2, r2) = n.div_rem(&b).unwrap();
        assert_eq!(q2, a.neg().add(&int(1)));
        assert_eq!(r2, r.add(&b.neg()));
        assert_eq!(q2.mul(&b).add(&r2), n);
        // Single-limb divisor path.
        let (q3, r3) = n.div_rem(&int(97)).unwrap();
        assert_eq!(q3.mul(&int(97)).add(&r3), n);
    }

    #[test]
    fn rounding_matches_div_round() {
        let cases = [
            (25, 10),
            (35, 10),
            (-25, 10),
            (-26, 10),
            (1, 3),
            (2, 3),
            (-2, 3),
            (0, 7),
            (-15, 6),
            (999, 1000),
        ];
        for (n, d) in cases {
            for mode in RoundingMode::ALL {
                let r = Ratio::new(n, d).unwrap().round(mode);
                assert_eq!(r.to_i128(), Some(div_round(n, d, mode)), "{n}/{d} {mode}");
            }
        }
        // Beyond 128 bits: (2^200 + 1) / 2 rounds like 1/2 on top of 2^199.
        let two_200 = (0..200).fold(int(1), |acc, _| acc.mul(&int(2)));
        let half = Ratio { num: two_200.add(&int(1)), den: int(2) };
        let two_199 = (0..199).fold(int(1), |acc, _| acc.mul(&int(2)));
        assert_eq!(half.round(RoundingMode::HalfEven), two_199);
        assert_eq!(half.round(RoundingMode::HalfUp), two_199.add(&int(1)));
        assert_eq!(half.neg().round(RoundingMode::HalfUp), two_199.add(&int(1)).neg());
    }

    #[test]
    fn fractions_add_and_compare() {
        let third = Ratio::new(1, 3).unwrap();
        let sixth = Ratio::new(1, 6).unwrap();
        assert_eq!(third.add(&sixth), Ratio::new(1, 2).unwrap());
        assert_eq!(third.sub(&third), Ratio::zero());
        assert_eq!(third.mul(&sixth), Ratio::new(1, 18).unwrap());
        assert_eq!(third.div(&sixth).unwrap(), Ratio::from_i128(2));
        assert!(third.div(&Ratio::zero()).is_none());
        assert_eq!(Ratio::new(-7, 2).unwrap().split_trunc().0, int(-3));
        assert_eq!(Ratio::new(-7, 2).unwrap().split_trunc().1, Ratio::new(-1, 2).unwrap());
        assert!(Ratio::new(-2, 3).unwrap().cmp_abs(&Ratio::new(1, 2).unwrap()).is_gt());
        assert_eq!(Ratio::new(3, -6).unwrap(), Ratio::new(-1, 2).unwrap());
        assert!(Ratio::new(1, 0).is_none());
        assert_eq!(Ratio::one().signum(), 1);
    }
}
