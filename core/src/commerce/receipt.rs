//! Receipts: what a sale or refund says to the customer, as structured data and as plain text.
//!
//! Owns the [`Receipt`] record (serde, for apps that draw their own receipts and for the
//! event stream) and its plain-text rendering for receipt printers ([`Receipt::render_text`]).
//! Pure: it formats what it is given and computes no prices, taxes or tenders. The text is
//! monospace, every line at most `width` characters (counted as `char`s, so UTF-8 names such
//! as "Crème brûlée" fit), amounts are never cut: when a row is too narrow the text wraps and
//! the amount moves to its own line.
//!
//! Layout, top to bottom: store name, store/device, receipt number and time, a refund banner,
//! the other receipt of an exchange; the lines (name, then `quantity x unit price` when the
//! quantity is not 1, the amount before discounts on the right, each discount indented with a
//! minus); subtotal, discounts, total, cash rounding; tenders (a gift card or store credit
//! with its balance after) and change; the tax summary; the footer. A line's tax code is
//! printed after its amount; codes longer than two characters are replaced by letters
//! (A, B, …, in order of first use) with a legend under the tax summary.

use serde::{Deserialize, Serialize};

use super::tender::{SettledTender, tender_label};
use crate::money::Money;

/// The usual width of an 80 mm receipt printer in its normal font.
pub const DEFAULT_RECEIPT_WIDTH: usize = 48;
/// Most lines a product name takes; longer names are cut with `…`.
pub const MAX_NAME_LINES: usize = 2;
/// Tax codes up to this many characters print as they are; longer ones become letters.
pub const MAX_PRINTED_TAX_CODE: usize = 2;

/// A sale or refund receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub store_name: String,
    pub store_id: String,
    pub device_id: String,
    pub receipt_no: String,
    /// Local time of the sale, RFC 3339 (`2025-03-14T10:15:00+01:00`); printed as
    /// `2025-03-14 10:15`.
    pub at: String,
    pub lines: Vec<ReceiptLine>,
    /// Sum of the lines before discounts.
    pub subtotal: Money,
    /// Sum of all discounts, positive (printed with a minus).
    pub discount_total: Money,
    pub tax_summary: Vec<ReceiptTax>,
    /// What the goods cost, before cash rounding.
    pub total: Money,
    /// Added by cash rounding (`due − total`); printed with "To pay" when not zero.
    pub cash_rounding: Money,
    pub tenders: Vec<ReceiptTender>,
    pub change: Money,
    pub footer: Vec<String>,
    pub is_refund: bool,
    pub original_receipt_no: Option<String>,
    /// For the two receipts of an exchange: the other one (printed under the header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_with: Option<String>,
}

/// A discount printed under a receipt line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptDiscount {
    /// The promotion's name or the manual reason.
    pub label: String,
    /// Positive (printed with a minus).
    pub amount: Money,
}

/// One line of a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptLine {
    pub name: String,
    /// `"2"`, `"1.234 kg"`; a line with `"1"` prints on one row.
    pub quantity_text: String,
    pub unit_price: Money,
    /// After discounts. The row shows `amount + Σ discounts` and each discount under it, so
    /// the column adds up to the subtotal.
    pub amount: Money,
    /// `(label, amount off)`, the amount positive for a discount (printed `-0.50`).
    pub discounts: Vec<ReceiptDiscount>,
    /// e.g. `"A"`; empty for none.
    pub tax_code: String,
}

/// One rate in the tax summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptTax {
    /// e.g. `"VAT 20%"`.
    pub label: String,
    pub base: Money,
    pub amount: Money,
}

/// One tender on a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptTender {
    /// `"Cash"`, `"VISA ****1111"`.
    pub label: String,
    /// What was handed over or charged (cash before change).
    pub amount: Money,
    /// For a gift card or store credit: the account's balance after this sale or refund
    /// (printed as "Balance" under the tender).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Money>,
}

impl ReceiptTender {
    /// The receipt form of a settled tender: its label and what was tendered (for cash, the
    /// cash handed over; the change prints separately).
    pub fn from_settled(t: &SettledTender) -> ReceiptTender {
        ReceiptTender {
            label: tender_label(t.kind, t.card.as_ref(), t.reference.as_deref()),
            amount: t.tendered,
            balance: None,
        }
    }
}

impl Receipt {
    /// The receipt as plain text, `width` characters wide (use [`DEFAULT_RECEIPT_WIDTH`]):
    /// lines separated by `\n`, ending with one, none longer than `width` characters (a width
    /// of 0 is taken as 1) and none with trailing spaces.
    pub fn render_text(&self, width: usize) -> String {
        let w = width.max(1);
        let codes = TaxCodes::new(&self.lines);
        let code_w = codes.width();
        // The right part of a row: the amount text, then the tax code column.
        let right = |amount: String, code: &str| -> String {
            if code_w == 0 { amount } else { format!("{amount} {code:<code_w$}") }
        };
        let mut out: Vec<String> = Vec::new();
        let rule = "-".repeat(w);

        // Header.
        out.extend(center(&clean(&self.store_name), w));
        out.extend(center(&format!("{} / {}", clean(&self.store_id), clean(&self.device_id)), w));
        out.extend(row(&format!("Receipt {}", clean(&self.receipt_no)), &display_time(&self.at), w));
        if self.is_refund {
            out.extend(center("*** REFUND ***", w));
            if let Some(original) = &self.original_receipt_no {
                out.extend(row("Original receipt", &clean(original), w));
            }
        }
        if let Some(other) = &self.exchange_with {
            let label = if self.is_refund { "Exchanged for receipt" } else { "Exchange of receipt" };
            out.extend(row(label, &clean(other), w));
        }
        out.push(rule.clone());

        // Lines.
        for line in &self.lines {
            let code = codes.printed(&line.tax_code);
            let before_discounts = line.discounts.iter().try_fold(line.amount, |acc, d| acc.checked_add(d.amount).ok());
            // Only an overflowing (or mixed-currency) discount list lands here: print the
            // amount as given rather than a made-up one.
            let shown = before_discounts.unwrap_or(line.amount);
            let amount_text = right(amount(shown), code);
            let name = fit(&clean(&line.name), w, MAX_NAME_LINES);
            let quantity = clean(&line.quantity_text);
            if quantity.trim() == "1" {
                out.extend(attach(name, &amount_text, w));
            } else {
                out.extend(name);
                let detail = format!("  {} x {}", quantity.trim(), amount(line.unit_price));
                out.extend(row(&detail, &amount_text, w));
            }
            for ReceiptDiscount { label, amount: off } in &line.discounts {
                let text = format!("  - {}", clean(label));
                let value = off.checked_neg().map(amount).unwrap_or_else(|_| format!("-({})", amount(*off)));
                out.extend(attach(fit(&text, w, MAX_NAME_LINES), &right(value, ""), w));
            }
        }
        out.push(rule.clone());

        // Totals.
        let currency = self.total.currency();
        out.extend(row("Subtotal", &right(amount(self.subtotal), ""), w));
        if !self.discount_total.is_zero() {
            let value = self.discount_total.checked_neg().map(amount).unwrap_or_else(|_| amount(self.discount_total));
            out.extend(row("Discounts", &right(value, ""), w));
        }
        out.extend(row(&format!("TOTAL {currency}"), &right(amount(self.total), ""), w));
        if !self.cash_rounding.is_zero() {
            out.extend(row("Cash rounding", &right(amount(self.cash_rounding), ""), w));
            if let Ok(due) = self.total.checked_add(self.cash_rounding) {
                out.extend(row("To pay", &right(amount(due), ""), w));
            }
        }

        // Tenders.
        if !self.tenders.is_empty() || !self.change.is_zero() {
            out.push(rule.clone());
            for t in &self.tenders {
                out.extend(row(&clean(&t.label), &right(amount(t.amount), ""), w));
                if let Some(balance) = t.balance {
                    out.extend(row("  Balance", &right(amount(balance), ""), w));
                }
            }
            if !self.change.is_zero() {
                out.extend(row("Change", &right(amount(self.change), ""), w));
            }
        }

        // Tax summary: label, base and tax, the tax under the amount column.
        if !self.tax_summary.is_empty() {
            out.push(rule.clone());
            let bases: Vec<String> = self.tax_summary.iter().map(|t| amount(t.base)).collect();
            let taxes: Vec<String> = self.tax_summary.iter().map(|t| amount(t.amount)).collect();
            let base_w = bases.iter().map(|b| chars(b)).max().unwrap_or(0).max(4);
            let tax_w = taxes.iter().map(|b| chars(b)).max().unwrap_or(0).max(3);
            out.extend(row("Tax", &right(format!("{:>base_w$} {:>tax_w$}", "Base", "Tax"), ""), w));
            for ((t, base), tax) in self.tax_summary.iter().zip(&bases).zip(&taxes) {
                let cols = format!("{base:>base_w$} {tax:>tax_w$}");
                out.extend(row(&format!("  {}", clean(&t.label)), &right(cols, ""), w));
            }
            for (letter, code) in codes.legend() {
                out.extend(wrap(&format!("  {letter} = {}", clean(code)), w));
            }
        }

        // Footer.
        if !self.footer.is_empty() {
            out.push(rule);
            for text in &self.footer {
                out.extend(center(&clean(text), w));
            }
        }

        let mut text = String::new();
        for line in out {
            // Belt and braces: every row above fits by construction; a line that did not
            // would wrap here rather than be cut.
            for piece in hard_split(line.trim_end(), w) {
                text.push_str(piece.trim_end());
                text.push('\n');
            }
        }
        text
    }
}

/// Tax codes as printed: short codes as they are, otherwise letters with a legend.
struct TaxCodes {
    /// `(code, printed)` in order of first use.
    map: Vec<(String, String)>,
    letters: bool,
}

impl TaxCodes {
    fn new(lines: &[ReceiptLine]) -> TaxCodes {
        let mut codes: Vec<String> = Vec::new();
        for l in lines {
            let c = clean(&l.tax_code).trim().to_owned();
            if !c.is_empty() && !codes.contains(&c) {
                codes.push(c);
            }
        }
        let letters = codes.iter().any(|c| c.chars().count() > MAX_PRINTED_TAX_CODE);
        let map = codes
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let printed = if letters { letter(i) } else { c.clone() };
                (c, printed)
            })
            .collect();
        TaxCodes { map, letters }
    }

    fn width(&self) -> usize {
        self.map.iter().map(|(_, p)| p.chars().count()).max().unwrap_or(0)
    }

    fn printed(&self, code: &str) -> &str {
        let code = clean(code);
        let code = code.trim();
        self.map.iter().find(|(c, _)| c == code).map_or("", |(_, p)| p.as_str())
    }

    fn legend(&self) -> Vec<(&str, &str)> {
        if !self.letters {
            return Vec::new();
        }
        self.map.iter().map(|(c, p)| (p.as_str(), c.as_str())).collect()
    }
}

/// A, B, …, Z, AA, AB, …
fn letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(char::from(b'A' + (i % 26) as u8));
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.iter().rev().collect()
}

fn amount(m: Money) -> String {
    m.to_decimal_string()
}

/// `2025-03-14T10:15:00+01:00` → `2025-03-14 10:15`; anything else as given.
fn display_time(at: &str) -> String {
    let b = at.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let shaped = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16);
    if shaped {
        // Bytes 0..16 are all ASCII here.
        format!("{} {}", &at[..10], &at[11..16])
    } else {
        clean(at)
    }
}

/// Control characters (newlines, tabs, escapes) would break the layout: they become spaces.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Word-wraps `text` to `width` (≥ 1) characters. Leading spaces indent every line (unless
/// they would take more than half the width); a word longer than a line is split.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let lead = text.chars().take_while(|c| *c == ' ').count();
    let indent = if lead * 2 > width { 0 } else { lead };
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    let mut cur = pad.clone();
    let mut len = indent;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let sep = usize::from(len > indent);
            if len + sep + word.len() <= width {
                if sep == 1 {
                    cur.push(' ');
                }
                cur.extend(word.iter());
                len += sep + word.len();
                break;
            }
            if len > indent {
                lines.push(std::mem::replace(&mut cur, pad.clone()));
                len = indent;
                continue;
            }
            // Longer than a whole line: split it (indent ≤ width / 2, so take ≥ 1).
            let take = width - indent;
            cur.extend(word[..take].iter());
            lines.push(std::mem::replace(&mut cur, pad.clone()));
            word.drain(..take);
            if word.is_empty() {
                break;
            }
        }
    }
    if len > indent || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Wraps `text` into at most `max_lines` lines, the last one cut with `…` if it had to be.
fn fit(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines = wrap(text, width);
    if lines.len() > max_lines.max(1) {
        let keep = max_lines.max(1) - 1;
        let rest: Vec<String> = lines.drain(keep..).map(|l| l.trim().to_owned()).collect();
        let indent = if keep == 0 { String::new() } else { lines[0].chars().take_while(|c| *c == ' ').collect() };
        let mut last = format!("{indent}{}", rest.join(" "));
        let room = width.max(1).saturating_sub(1);
        last = last.chars().take(room).collect::<String>().trim_end().to_owned();
        last.push('…');
        lines.push(last);
    }
    lines
}

/// `left` wrapped to `width`, with `right` right-aligned on its last line when it fits there
/// (with at least one space between), else on a line of its own.
fn row(left: &str, right: &str, width: usize) -> Vec<String> {
    attach(wrap(left, width), right, width)
}

fn attach(mut lines: Vec<String>, right: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    // The right part keeps its trailing spaces (an empty tax code column) so amounts line up;
    // they are trimmed when the text is assembled.
    if right.trim().is_empty() {
        return lines;
    }
    let rw = chars(right);
    let last_len = lines.last().map_or(0, |l| chars(l.trim_end()));
    let last_empty = lines.last().is_none_or(|l| l.trim().is_empty());
    if last_empty && rw <= width {
        lines.pop();
        lines.push(format!("{}{right}", " ".repeat(width - rw)));
    } else if !last_empty && last_len + 1 + rw <= width {
        if let Some(last) = lines.last_mut() {
            let l = last.trim_end().to_owned();
            *last = format!("{l}{}{right}", " ".repeat(width - last_len - rw));
        }
    } else if rw <= width {
        lines.push(format!("{}{right}", " ".repeat(width - rw)));
    } else {
        lines.extend(hard_split(right.trim_end(), width));
    }
    lines
}

fn center(text: &str, width: usize) -> Vec<String> {
    wrap(text.trim(), width)
        .into_iter()
        .map(|l| {
            let l = l.trim().to_owned();
            let pad = (width.saturating_sub(chars(&l))) / 2;
            format!("{}{l}", " ".repeat(pad))
        })
        .collect()
}

/// `text` in pieces of at most `width` characters (never loses a character).
fn hard_split(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let cs: Vec<char> = text.chars().collect();
    if cs.is_empty() {
        return vec![String::new()];
    }
    cs.chunks(width).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commerce::tender::{CardAuth, TenderKind};
    use crate::money::Currency;

    fn eur(m: i64) -> Money {
        Money::new(m, Currency::EUR)
    }

    fn line(name: &str, qty: &str, unit: i64, amount: i64, discounts: &[(&str, i64)], code: &str) -> ReceiptLine {
        ReceiptLine {
            name: name.into(),
            quantity_text: qty.into(),
            unit_price: eur(unit),
            amount: eur(amount),
            discounts: discounts.iter().map(|(l, a)| ReceiptDiscount { label: (*l).to_owned(), amount: eur(*a) }).collect(),
            tax_code: code.into(),
        }
    }

    fn sample() -> Receipt {
        Receipt {
            store_name: "Corner Shop Lyon".into(),
            store_id: "store-1".into(),
            device_id: "till-2".into(),
            receipt_no: "T2-000042".into(),
            at: "2025-03-14T10:15:42+01:00".into(),
            lines: vec![
                line("Milk 1 l", "3", 119, 357, &[], "B"),
                line("Crème brûlée", "1", 450, 400, &[("Dessert week -0.50", 50)], "A"),
                line("Bananas", "1.234 kg", 199, 246, &[], "B"),
                line(
                    "Organic extra virgin olive oil from a single estate in Andalusia, cold pressed",
                    "1",
                    1299,
                    1299,
                    &[],
                    "A",
                ),
            ],
            subtotal: eur(2352),
            discount_total: eur(50),
            tax_summary: vec![
                ReceiptTax { label: "A VAT 20%".into(), base: eur(1416), amount: eur(283) },
                ReceiptTax { label: "B VAT 5.5%".into(), base: eur(571), amount: eur(32) },
            ],
            total: eur(2302),
            cash_rounding: eur(0),
            tenders: vec![
                ReceiptTender { label: "VISA ****1111".into(), amount: eur(1000), balance: None },
                ReceiptTender { label: "Cash".into(), amount: eur(2000), balance: None },
            ],
            change: eur(698),
            footer: vec!["Thank you for shopping with us!".into(), "Returns within 30 days with this receipt.".into()],
            is_refund: false,
            original_receipt_no: None,
            exchange_with: None,
        }
    }

    #[test]
    fn golden_48() {
        let text = sample().render_text(DEFAULT_RECEIPT_WIDTH);
        let expected = [
            "                Corner Shop Lyon",
            "                store-1 / till-2",
            "Receipt T2-000042               2025-03-14 10:15",
            "------------------------------------------------",
            "Milk 1 l",
            "  3 x 1.19                                3.57 B",
            "Crème brûlée                              4.50 A",
            "  - Dessert week -0.50                   -0.50",
            "Bananas",
            "  1.234 kg x 1.99                         2.46 B",
            "Organic extra virgin olive oil from a single",
            "estate in Andalusia, cold pressed        12.99 A",
            "------------------------------------------------",
            "Subtotal                                 23.52",
            "Discounts                                -0.50",
            "TOTAL EUR                                23.02",
            "------------------------------------------------",
            "VISA ****1111                            10.00",
            "Cash                                     20.00",
            "Change                                    6.98",
            "------------------------------------------------",
            "Tax                                  Base  Tax",
            "  A VAT 20%                         14.16 2.83",
            "  B VAT 5.5%                         5.71 0.32",
            "------------------------------------------------",
            "        Thank you for shopping with us!",
            "   Returns within 30 days with this receipt.",
        ];
        let got: Vec<&str> = text.lines().collect();
        for (i, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
            assert_eq!(g, e, "line {}", i + 1);
        }
        assert_eq!(got.len(), expected.len(), "{text}");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn refund_with_rounding_and_long_tax_codes() {
        let mut r = sample();
        r.is_refund = true;
        r.original_receipt_no = Some("T2-000041".into());
        r.lines = vec![
            line("Milk 1 l", "2", 119, -238, &[], "vat-reduced"),
            line("Wine", "1", 999, -999, &[], "vat-standard"),
        ];
        r.subtotal = eur(-1237);
        r.discount_total = eur(0);
        r.total = eur(-1237);
        r.cash_rounding = eur(-3);
        r.tenders = vec![ReceiptTender { label: "Cash".into(), amount: eur(-1240), balance: None }];
        r.change = eur(0);
        r.tax_summary = vec![ReceiptTax { label: "VAT 20%".into(), base: eur(-833), amount: eur(-166) }];
        r.footer = vec![];
        let text = r.render_text(40);
        let expected = [
            "            Corner Shop Lyon",
            "            store-1 / till-2",
            "Receipt T2-000042       2025-03-14 10:15",
            "             *** REFUND ***",
            "Original receipt               T2-000041",
            "----------------------------------------",
            "Milk 1 l",
            "  2 x 1.19                       -2.38 A",
            "Wine                             -9.99 B",
            "----------------------------------------",
            "Subtotal                        -12.37",
            "TOTAL EUR                       -12.37",
            "Cash rounding                    -0.03",
            "To pay                          -12.40",
            "----------------------------------------",
            "Cash                            -12.40",
            "----------------------------------------",
            "Tax                         Base   Tax",
            "  VAT 20%                  -8.33 -1.66",
            "  A = vat-reduced",
            "  B = vat-standard",
        ];
        let got: Vec<&str> = text.lines().collect();
        for (i, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
            assert_eq!(g, e, "line {}", i + 1);
        }
        assert_eq!(got.len(), expected.len(), "{text}");
    }

    #[test]
    fn exchange_and_gift_card_balance() {
        let mut r = sample();
        r.exchange_with = Some("T2-000041".into());
        r.tenders = vec![
            ReceiptTender { label: "Store credit ****0041".into(), amount: eur(1500), balance: Some(eur(0)) },
            ReceiptTender { label: "Gift card ****0123".into(), amount: eur(802), balance: Some(eur(1198)) },
        ];
        r.change = eur(0);
        r.footer = vec![];
        r.tax_summary = vec![];
        let text = r.render_text(DEFAULT_RECEIPT_WIDTH);
        let got: Vec<&str> = text.lines().collect();
        // Label left, value right: 48 columns, amounts 46 (the tax code column follows them).
        let row_w = |w: usize, l: &str, v: &str| format!("{l}{}{v}", " ".repeat(w - l.chars().count() - v.len()));
        let row48 = |l: &str, v: &str| row_w(48, l, v);
        let row46 = |l: &str, v: &str| row_w(46, l, v);
        assert_eq!(got[3], row48("Exchange of receipt", "T2-000041"));
        let tenders: Vec<&str> = got.iter().copied().skip_while(|l| !l.starts_with("Store credit")).collect();
        assert_eq!(
            tenders,
            [
                row46("Store credit ****0041", "15.00"),
                row46("  Balance", "0.00"),
                row46("Gift card ****0123", "8.02"),
                row46("  Balance", "11.98"),
            ]
        );
        r.is_refund = true;
        let text = r.render_text(DEFAULT_RECEIPT_WIDTH);
        assert!(text.contains(&format!("{}\n", row48("Exchanged for receipt", "T2-000041"))), "{text}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["exchange_with"], "T2-000041");
        assert_eq!(json["tenders"][1]["balance"]["minor"], 1198);
        assert_eq!(serde_json::from_value::<Receipt>(json).unwrap(), r);
        // Without them, the JSON is what it was.
        let plain = serde_json::to_value(sample()).unwrap();
        assert!(plain.get("exchange_with").is_none() && plain["tenders"][0].get("balance").is_none());
    }

    fn assert_fits(text: &str, width: usize) {
        for l in text.lines() {
            assert!(l.chars().count() <= width.max(1), "{:?} is {} chars, over {width}", l, l.chars().count());
            assert_eq!(l, l.trim_end(), "trailing spaces in {l:?}");
        }
    }

    #[test]
    fn every_line_fits_at_every_width() {
        let mut r = sample();
        r.lines.push(line(
            "日本のお茶 — 緑茶 ☕ Crème brûlée ÆØÅ ñ",
            "12",
            123_456_789,
            1_481_481_468,
            &[("Ünïcödé discount with a very long label text", 1)],
            "C",
        ));
        r.lines.push(line("Supercalifragilisticexpialidocious-extra-long-word-without-spaces", "1", 1, 1, &[], ""));
        r.lines.push(line("tab\there\nnewline\u{1b}[31m", "1", 1, 1, &[], "A"));
        r.store_name = "Boulangerie Pâtisserie « Chez Hélène » — Lyon 2ᵉ".into();
        r.at = "not a time".into();
        r.tenders.push(ReceiptTender { label: "Gift card ****0123".into(), amount: eur(i64::MIN), balance: None });
        for width in 0..=80 {
            let text = r.render_text(width);
            assert_fits(&text, width);
            assert!(!text.contains('\t') && !text.contains('\u{1b}'));
        }
        // Amounts are never cut, even when they cannot share a row.
        let narrow = r.render_text(12);
        assert!(narrow.contains("-92233720368"), "{narrow}");
        assert!(narrow.contains("547758.08"), "{narrow}");
    }

    #[test]
    fn json_round_trip() {
        let r = sample();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["lines"][1]["discounts"][0]["label"], "Dessert week -0.50");
        assert_eq!(json["lines"][1]["discounts"][0]["amount"]["minor"], 50);
        assert_eq!(json["total"], serde_json::json!({"minor": 2302, "currency": "EUR"}));
        let back: Receipt = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn helpers() {
        assert_eq!(display_time("2025-03-14T10:15:42+01:00"), "2025-03-14 10:15");
        assert_eq!(display_time("2025-03-14T10:15:42"), "2025-03-14 10:15");
        assert_eq!(display_time("2025-03-14"), "2025-03-14");
        assert_eq!(display_time("é2025-03-14T10:15"), "é2025-03-14T10:15");
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(27), "AB");
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("  ab cd ef", 6), vec!["  ab", "  cd", "  ef"]);
        assert_eq!(fit("one two three four", 7, 2), vec!["one two", "three…"]);
        assert_eq!(row("Total", "1.00", 12), vec!["Total   1.00"]);
        assert_eq!(row("Total", "1.00", 9), vec!["Total", "     1.00"]);
        let t = SettledTender {
            kind: TenderKind::Cash,
            amount: eur(1230),
            tendered: eur(2000),
            change: eur(770),
            card: None,
            reference: None,
        };
        assert_eq!(ReceiptTender::from_settled(&t), ReceiptTender { label: "Cash".into(), amount: eur(2000), balance: None });
        let card = CardAuth {
            token: "tok".into(),
            brand: "VISA".into(),
            last4: "1111".into(),
            auth_code: None,
            offline: false,
            authorized_at_ms: 0,
        };
        let t = SettledTender { kind: TenderKind::Card, card: Some(card), change: eur(0), tendered: eur(1230), ..t };
        assert_eq!(ReceiptTender::from_settled(&t).label, "VISA ****1111");
    }
}
