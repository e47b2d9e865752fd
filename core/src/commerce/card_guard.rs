//! Card guard: keeps full card numbers (PANs) out of everything Aisle stores.
//!
//! Owns one rule: free text that is about to be stored (a payment token, a card brand, an
//! authorisation code, a note) must not contain a run of 13–19 digits that passes the Luhn
//! check, typed the way people type card numbers (`4111111111111111`, `4111 1111 1111 1111`,
//! `5555-5555-5555-4444`, `3782 822463 10005`). Such text is refused with
//! `CARD_NUMBER_REFUSED` naming the field. It must never echo the digits back: the error
//! carries the last four only, which is what a receipt may print anyway.
//!
//! How a run is found: digits, with at most [`MAX_SEPARATOR_RUN`] spaces or dashes between
//! groups of digits. Any contiguous sequence of whole groups with 13–19 digits in total is a
//! candidate (so `card 4111111111111111 exp 1234` is caught even though the 16 digits are
//! followed by more digits); a group is never split, so one unbroken run of 20 digits is not a
//! card number. Letters end a run, but digits glued to letters still count
//! (`tok_4111111111111111` is refused). Only ASCII digits are looked at.
//!
//! The check errs on the side of refusing: about one in ten 13–19 digit numbers passes Luhn by
//! chance (a phone number, a GTIN-13), and those are refused too in the fields this guards.

use crate::error::{Error, Result};

/// Fewest digits of a card number (old 13-digit Visa).
pub const MIN_PAN_DIGITS: usize = 13;
/// Most digits of a card number (ISO/IEC 7812).
pub const MAX_PAN_DIGITS: usize = 19;
/// Most separator characters (spaces, no-break spaces, tabs, dashes) allowed between two
/// groups of digits of one number.
pub const MAX_SEPARATOR_RUN: usize = 3;

/// Refuses `text` if it contains what looks like a full card number; `field` names where the
/// text was going (e.g. `"tenders[0].card.token"`) for the error message.
pub fn check_free_text(field: &str, text: &str) -> Result<()> {
    match find_card_number(text) {
        Some(last4) => Err(Error::CardNumberRefused { field: field.to_owned(), last4 }),
        None => Ok(()),
    }
}

/// Passes `err` through unless its message quotes what looks like a card number (a decoder
/// echoing the bad value, e.g. `invalid type: integer 4111111111111111`), which becomes
/// `CARD_NUMBER_REFUSED` for `field`. Every JSON decoder of the public API ends with this, so
/// no error message can carry a card number back to a log.
pub fn scrub(field: &str, err: Error) -> Error {
    // Only errors that quote the input can leak it; others (e.g. an offline limit naming a
    // timestamp) are left alone so their code stays true.
    const QUOTING: &[&str] = &[
        "INVALID_ARGUMENT",
        "INVALID_AMOUNT",
        "PROMO_INVALID_RULE",
        "INVALID_TAX_REGIME",
        "INVALID_PRICE_LIST",
        "INVALID_TENDER",
        "INVALID_TENDER_POLICY",
    ];
    if !QUOTING.contains(&err.code()) {
        return err;
    }
    match find_card_number(&err.to_string()) {
        Some(last4) => Error::CardNumberRefused { field: field.to_owned(), last4 },
        None => err,
    }
}

/// Whether `text` contains what looks like a full card number (see the module docs).
pub fn contains_card_number(text: &str) -> bool {
    find_card_number(text).is_some()
}

/// Whether `digits` (ASCII digits only) passes the Luhn (mod 10) check. Empty or non-digit
/// input does not pass.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\t' | '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}')
}

/// The last four digits of the first card-number-like run in `text`, if any.
fn find_card_number(text: &str) -> Option<String> {
    // Split the text into "numbers": sequences of digit groups joined by short separator runs.
    let mut number: Vec<Vec<u8>> = Vec::new(); // groups of the number being read
    let mut group: Vec<u8> = Vec::new();
    let mut separators = 0usize; // separator chars since the last digit
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !group.is_empty() && separators > 0 {
                number.push(std::mem::take(&mut group));
            }
            separators = 0;
            // `c` is an ASCII digit, so it is one byte.
            group.push(c as u8);
        } else if is_separator(c) && !group.is_empty() && separators < MAX_SEPARATOR_RUN {
            separators += 1;
        } else {
            // Anything else (or too many separators) ends the number.
            if !group.is_empty() {
                number.push(std::mem::take(&mut group));
            }
            if let Some(found) = scan_number(&number) {
                return Some(found);
            }
            number.clear();
            separators = 0;
        }
    }
    if !group.is_empty() {
        number.push(group);
    }
    scan_number(&number)
}

/// Tries every contiguous sequence of whole groups with 13–19 digits.
fn scan_number(groups: &[Vec<u8>]) -> Option<String> {
    let mut candidate: Vec<u8> = Vec::with_capacity(MAX_PAN_DIGITS);
    for start in 0..groups.len() {
        candidate.clear();
        for g in &groups[start..] {
            if candidate.len() + g.len() > MAX_PAN_DIGITS {
                break;
            }
            candidate.extend_from_slice(g);
            if candidate.len() >= MIN_PAN_DIGITS && luhn_valid(&candidate) {
                let tail = &candidate[candidate.len() - 4..];
                return Some(String::from_utf8_lossy(tail).into_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod scrub_tests {
    use super::*;

    #[test]
    fn decoder_errors_never_quote_a_card_number() {
        let leaky = Error::InvalidArgument("invalid type: integer 4111111111111111, expected a string".into());
        let e = scrub("pricing request", leaky);
        assert_eq!(e.code(), "CARD_NUMBER_REFUSED");
        assert!(!e.to_string().contains("4111111111111111"));
        let fine = Error::InvalidArgument("invalid type: integer 12, expected a string".into());
        assert_eq!(scrub("x", fine.clone()), fine);
        // Errors that do not quote input keep their code even with a long number in them.
        let limit = Error::Store("at 1764201600000 ms".into());
        assert_eq!(scrub("x", limit.clone()), limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> bool {
        match check_free_text("note", text) {
            Ok(()) => false,
            Err(e) => {
                assert_eq!(e.code(), "CARD_NUMBER_REFUSED");
                true
            }
        }
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid(b"4111111111111111"));
        assert!(luhn_valid(b"5555555555554444"));
        assert!(luhn_valid(b"378282246310005"));
        assert!(luhn_valid(b"79927398713"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(!luhn_valid(b""));
        assert!(!luhn_valid(b"4111-1111"));
    }

    #[test]
    fn refuses_test_pans_as_people_type_them() {
        for text in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "5555-5555-5555-4444",
            "378282246310005",
            "3782 822463 10005",
            "4111  1111  1111  1111",
            "4111 - 1111 - 1111 - 1111",
            "4111\u{a0}1111\u{a0}1111\u{a0}1111",
            "card: 4111 1111 1111 1111, thanks",
            "tok_4111111111111111",
            "4111111111111111 1234",
            "exp 12 cvv 123 4111 1111 1111 1111",
            "6011111111111117", // Discover
            "4222222222222",    // 13-digit Visa test number
            "6759649826438453", // Maestro
        ] {
            assert!(refused(text), "{text:?} was accepted");
        }
    }

    #[test]
    fn the_error_names_the_field_and_shows_the_last_four_only() {
        let err = check_free_text("tenders[0].card.token", "4111 1111 1111 1111").unwrap_err();
        assert_eq!(err.code(), "CARD_NUMBER_REFUSED");
        let text = err.to_string();
        assert!(text.starts_with("CARD_NUMBER_REFUSED: tenders[0].card.token"), "{text}");
        assert!(text.contains("1111"), "{text}");
        assert!(!text.contains("4111"), "{text}");
        assert!(!text.contains("1111 1111"), "{text}");
        let err = check_free_text("brand", "5555-5555-5555-4444").unwrap_err();
        assert!(err.to_string().contains("4444"));
        assert!(!err.to_string().contains("5555"));
    }

    #[test]
    fn near_misses_pass() {
        for text in [
            "",
            "VISA",
            "4111111111111112",     // Luhn-invalid
            "4111 1111 1111 1112",  // Luhn-invalid, grouped
            "411111111117",         // 12 digits (Luhn-valid)
            "41111111111111111115", // 20 digits (Luhn-valid as a whole)
            "4006381333931",        // a GTIN-13 (EAN), not Luhn-valid
            "+44 20 7946 0958",     // a phone number
            "+1 (415) 555-2671",
            "auth 123456",
            "2025-03-14 10:15",
            "4111 1111 1111 1111".replace(' ', "/").as_str(),
            "4111.1111.1111.1111",          // dots are not card-number separators
            "4111    1111    1111    1111", // four spaces: separate numbers
            "4111, 1111, 1111, 1111",       // a list, not a card number
            "tok_a1b2c3d4e5f6",
        ] {
            assert!(!refused(text), "{text:?} was refused");
        }
        assert!(luhn_valid(b"411111111117"));
        assert!(luhn_valid(b"41111111111111111115"));
        assert!(!luhn_valid(b"4006381333931"));
    }

    #[test]
    fn a_number_split_over_many_groups_is_found_in_any_window() {
        // A 16-digit card number preceded by an unrelated group.
        assert!(refused("12 4111 1111 1111 1111"));
        assert!(refused("ref 99-5555-5555-5555-4444"));
        // Nineteen digits is the longest card number.
        let mut nineteen = b"411111111111111111".to_vec();
        nineteen.push(b'0');
        for d in b'0'..=b'9' {
            nineteen[18] = d;
            if luhn_valid(&nineteen) {
                break;
            }
        }
        let text = String::from_utf8(nineteen).unwrap();
        assert!(refused(&text), "{text}");
    }

    #[test]
    fn multibyte_text_does_not_confuse_the_scan() {
        assert!(refused("Crème brûlée 4111 1111 1111 1111 ✓"));
        assert!(!refused("Crème brûlée ✓ 1234"));
        assert!(!contains_card_number("日本 0120-444-444"));
    }
}
