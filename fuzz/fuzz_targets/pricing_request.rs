//! Decoder + pricing: arbitrary pricing-request JSON (seed the corpus with tests/vectors/*.json).
//! Never panics; totals always equal the sum of their lines.
#![no_main]

use aisle::commerce::pricing::price_request_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = price_request_json(text) {
        let total: i64 = p.lines.iter().map(|l| l.gross.minor()).sum();
        assert_eq!(total, p.total.minor());
        assert_eq!(p.net.minor() + p.tax.minor(), p.total.minor());
    }
});
