//! GTINs (the numbers behind EAN/UPC barcodes): validation and normalisation.
//!
//! Owns the GS1 rules for GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14: digits only,
//! one of those lengths, and a mod-10 check digit. Every GTIN is normalised to its 14-digit
//! form by padding with leading zeros, so a UPC-A `036000291452` and the EAN-13
//! `0036000291452` printed on the same can are the same key. It must never guess: a code that
//! fails a rule is an `INVALID_BARCODE` error saying which rule, never "fixed".
//!
//! Variable-measure codes (prefix 02/20–29, with a price or weight inside) are valid GTINs
//! here; decoding what they embed is the scale/label module's job, not this one's.

use std::fmt;

use crate::error::{Error, Result};

/// A valid GTIN, held in its normalised 14-digit form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin {
    digits: [u8; 14],
}

impl Gtin {
    /// Validates `code` (8, 12, 13 or 14 ASCII digits with a correct GS1 check digit) and
    /// normalises it. No whitespace is trimmed: strip a scanner's line ending before calling.
    pub fn parse(code: &str) -> Result<Gtin> {
        let bad = |reason: String| Error::InvalidBarcode { barcode: code.to_owned(), reason };
        if let Some((i, c)) = code.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(bad(format!("{c:?} at position {} is not a digit (a GTIN is digits only)", i + 1)));
        }
        let len = code.len();
        if !matches!(len, 8 | 12 | 13 | 14) {
            return Err(bad(format!("{len} digits; a GTIN has 8, 12, 13 or 14")));
        }
        let (body, check) = code.split_at(len - 1);
        let expected = check_digit_of(body.as_bytes());
        let found = check.as_bytes()[0] - b'0';
        if found != expected {
            return Err(bad(format!("check digit is {found}, expected {expected}")));
        }
        let mut digits = [b'0'; 14];
        digits[14 - len..].copy_from_slice(code.as_bytes());
        Ok(Gtin { digits })
    }

    /// Whether `code` is a valid GTIN.
    pub fn is_valid(code: &str) -> bool {
        Gtin::parse(code).is_ok()
    }

    /// The GS1 mod-10 check digit for `body` (the GTIN without its last digit, 1–17 digits).
    pub fn check_digit(body: &str) -> Result<u8> {
        let bad = |reason: String| Error::InvalidBarcode { barcode: body.to_owned(), reason };
        if body.is_empty() || body.len() > 17 {
            return Err(bad(format!("a GTIN body has 1 to 17 digits, got {}", body.len())));
        }
        if let Some((i, c)) = body.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(bad(format!("{c:?} at position {} is not a digit (a GTIN is digits only)", i + 1)));
        }
        Ok(check_digit_of(body.as_bytes()))
    }

    /// The 14-digit form, e.g. `"00036000291452"`: the key barcodes are stored and looked up by.
    pub fn as_gtin14(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.digits).unwrap_or("00000000000000")
    }

    /// The shortest standard form (GTIN-8, -12, -13 or -14) with the same number, e.g.
    /// `"036000291452"` for a UPC-A.
    pub fn shortest(&self) -> &str {
        let zeros = self.digits.iter().take_while(|&&d| d == b'0').count();
        let len = match zeros {
            6.. => 8,
            2 => 12,
            1 => 13,
            0 => 14,
            // 3–5 leading zeros: a GTIN-12 with zeros of its own.
            _ => 12,
        };
        &self.as_gtin14()[14 - len..]
    }
}

/// GS1 mod-10: from the rightmost body digit, weights 3, 1, 3, 1, …; the check digit brings
/// the weighted sum to a multiple of 10. Leading zeros weigh nothing, which is why padding to
/// 14 digits keeps a GTIN valid.
fn check_digit_of(body: &[u8]) -> u8 {
    let sum: u32 =
        body.iter().rev().enumerate().map(|(i, &b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    ((10 - sum % 10) % 10) as u8
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_gtin14())
    }
}

impl fmt::Debug for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gtin({})", self.as_gtin14())
    }
}

impl std::str::FromStr for Gtin {
    type Err = Error;
    fn from_str(s: &str) -> Result<Gtin> {
        Gtin::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_codes() {
        // Real-world examples from GS1 and product packaging.
        for code in ["96385074", "036000291452", "4006381333931", "0036000291452", "10012345678902"] {
            assert!(Gtin::is_valid(code), "{code}");
        }
        let upc = Gtin::parse("036000291452").unwrap();
        let ean = Gtin::parse("0036000291452").unwrap();
        assert_eq!(upc, ean);
        assert_eq!(upc.as_gtin14(), "00036000291452");
        assert_eq!(upc.shortest(), "036000291452");
        assert_eq!(Gtin::parse("96385074").unwrap().as_gtin14(), "00000096385074");
        assert_eq!(Gtin::parse("96385074").unwrap().shortest(), "96385074");
        assert_eq!(Gtin::parse("4006381333931").unwrap().shortest(), "4006381333931");
        assert_eq!(Gtin::check_digit("400638133393").unwrap(), 1);
    }

    #[test]
    fn each_rule_has_its_reason() {
        let reason = |code: &str| {
            let e = Gtin::parse(code).unwrap_err();
            assert_eq!(e.code(), "INVALID_BARCODE");
            e.to_string()
        };
        assert!(reason("4006381333932").contains("check digit is 2, expected 1"), "{}", reason("4006381333932"));
        assert!(reason("12345").contains("5 digits; a GTIN has 8, 12, 13 or 14"));
        assert!(reason("").contains("0 digits"));
        assert!(reason("40063813339x1").contains("'x' at position 12 is not a digit"));
        assert!(reason(" 4006381333931").contains("' ' at position 1"));
        assert!(reason("4006381333931\n").contains("position 14"));
        assert!(reason("４006381333931").contains("not a digit"), "full-width digits are not ASCII");
        assert_eq!(Gtin::check_digit("").unwrap_err().code(), "INVALID_BARCODE");
        assert_eq!(Gtin::check_digit("12a").unwrap_err().code(), "INVALID_BARCODE");
    }

    fn body_strategy() -> impl Strategy<Value = String> {
        prop_oneof![Just(7usize), Just(11), Just(12), Just(13)]
            .prop_flat_map(|len| proptest::collection::vec(0u8..10, len))
            .prop_map(|d| d.into_iter().map(|x| char::from(b'0' + x)).collect())
    }

    proptest! {
        #[test]
        fn computed_check_digit_validates(body in body_strategy()) {
            let check = Gtin::check_digit(&body).unwrap();
            let code = format!("{body}{check}");
            let gtin = Gtin::parse(&code).unwrap();
            prop_assert_eq!(gtin.as_gtin14().len(), 14);
            prop_assert!(gtin.as_gtin14().ends_with(&code));
            // Every padded form is the same GTIN.
            for pad in 0..=(14 - code.len()) {
                let padded = format!("{}{code}", "0".repeat(pad));
                if matches!(padded.len(), 8 | 12 | 13 | 14) {
                    prop_assert_eq!(Gtin::parse(&padded).unwrap(), gtin);
                }
            }
        }

        #[test]
        fn flipping_any_single_digit_fails(body in body_strategy(), pos in any::<prop::sample::Index>(), delta in 1u8..10) {
            let code = format!("{body}{}", Gtin::check_digit(&body).unwrap());
            let i = pos.index(code.len());
            let mut bytes = code.into_bytes();
            bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
            let flipped = String::from_utf8(bytes).unwrap();
            let err = Gtin::parse(&flipped).unwrap_err();
            prop_assert_eq!(err.code(), "INVALID_BARCODE");
            prop_assert!(err.to_string().contains("check digit"), "{}", err);
        }
    }
}
