//! Decoder: amounts and currency codes from text. Never panics; whatever parses prints back to
//! the same amount.
#![no_main]

use aisle::{Currency, Money};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (code, amount) = text.split_at(text.len().min(3));
    let currency = Currency::from_code(code).unwrap_or(Currency::EUR);
    if let Ok(m) = Money::parse(amount, currency) {
        assert_eq!(Money::parse(&m.to_decimal_string(), currency).ok(), Some(m));
    }
});
