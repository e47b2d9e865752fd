//! Decoder + engine: arbitrary promotion-rule JSON, compiled and evaluated on a fixed cart in
//! both modes. Never panics; an invalid rule is PROMO_INVALID_RULE naming a JSON path; a valid
//! one never discounts more than the cart is worth.
#![no_main]

use aisle::commerce::promotions::{Mode, PromoContext, PromoLine, PromotionSet};
use aisle::{Currency, Money, RoundingMode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let set = match PromotionSet::from_json(text, Currency::EUR) {
        Ok(set) => set,
        Err(e) => {
            // A rule error, or the card guard refusing to echo a card-number-like value.
            assert!(matches!(e.code(), "PROMO_INVALID_RULE" | "CARD_NUMBER_REFUSED"), "{e}");
            return;
        }
    };
    let line = |sku: &str, cat: &str, units, price| PromoLine {
        sku: sku.into(),
        categories: vec![cat.into()],
        tags: vec!["t".into()],
        units,
        unit_price: Money::new(price, Currency::EUR),
    };
    let lines = [line("A", "food", 3, 199), line("B", "food", 1, 1000), line("C", "drink", 2, 250), line("D", "x", 1, 0)];
    let worth: i64 = lines.iter().map(|l| l.units * l.unit_price.minor()).sum();
    let ctx = PromoContext::new(jiff::Timestamp::UNIX_EPOCH, jiff::tz::TimeZone::UTC);
    for mode in [Mode::Priority, Mode::BestDeal] {
        if let Ok(o) = set.evaluate(&lines, &ctx, mode, RoundingMode::HalfUp) {
            assert!(o.total_discount.minor() >= 0 && o.total_discount.minor() <= worth);
        }
    }
});
