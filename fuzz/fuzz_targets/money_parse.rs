//! Decoder: amounts and currency codes from text. Never panics; whatever parses prints back to
//! the same amount.
#![no_main]

use aisle::{Currency, Money};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let split = text.char_indices().nth(3).map_or(text.len(), |(i, _)| i);
    let (code, amount) = text.split_at(split);
    let currency = Currency::from_code(code).unwrap_or(Currency::EUR);
    if let Ok(m) = Money::parse(amount, currency) {
        assert_eq!(Money::parse(&m.to_decimal_string(), currency).ok(), Some(m));
    }
});
