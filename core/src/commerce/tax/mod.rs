//! Tax: what a sale owes each tax authority, computed from its lines' amounts after discounts.
//!
//! Owns the tax-regime format (JSON, schema in `docs/schemas/tax-regime.schema.json`) and the
//! pure computation [`compute`]: amounts in, a [`TaxBreakdown`] out. It must never touch the
//! store, a clock or a float, and never lose or invent a minor unit.
//!
//! # What always holds (property-tested in `core/tests/tax_props.rs`)
//! - For every rate, the lines' amounts (and bases) sum to the rate's total.
//! - The lines' net, tax and gross sum to the order's; `net + tax == gross` on every line and on
//!   the order.
//! - Tax-inclusive prices: every line's gross is its input amount — the customer pays the shelf
//!   price. Tax-exclusive prices: every line's net is its input amount.
//! - A line of zero amount has zero tax at every rounding level (a 100 %-discounted line never
//!   picks up a stray cent from order-level rounding).
//! - A refund mirrors the sale: negating every input amount negates every output amount (all
//!   rounding modes and the allocations below are symmetric around zero).
//!
//! # Decisions
//! **Which rates.** A line's rates are the regime's rates that list its tax category, in regime
//! order. Each rate is rounded on its own, because each authority (state, county, city) is
//! remitted separately; a jurisdiction that rounds a combined rate lists it as one rate. A 0 %
//! rate is *zero-rated*: listed with its base and no tax. An exempt category is listed under no
//! rate. A category that is neither rated nor exempt is `UNKNOWN_TAX_CATEGORY` — never silently
//! untaxed — and that holds for exempt customers too (it is a catalog/regime mismatch).
//!
//! **Compound rates** apply to the line's base plus the taxes of every rate before them on that
//! line. On tax-exclusive prices at unit or line level, "the taxes before" are the rounded
//! amounts printed on the receipt (how Quebec's QST on price + GST was computed); at total level
//! and when extracting tax from inclusive prices, they are exact. The base reported for a
//! compound rate is the line's net plus those preceding taxes.
//!
//! **Rounding levels.** `unit`: each unit's tax is rounded, then multiplied by the run's count.
//! `line`: each line's tax is rounded. `total`: each line's exact tax per rate (an exact
//! fraction) is summed over the order, rounded once per rate, then allocated back to the lines.
//!
//! **Allocation** (total level back to lines, and one inclusive line's tax between its rates) is
//! largest remainder on the exact shares: each part starts at its exact share truncated toward
//! zero and the missing units go, one each, to the parts with the largest fractional remainder
//! in the direction needed (ties to the later part). Every part is within one minor unit of its
//! exact share, a part whose exact share is whole — zero in particular — is exactly that, and the
//! method commutes with negation. For one rate on exclusive prices the exact shares are
//! proportional to the line bases, i.e. the usual "allocate by base"; `Money::allocate` itself is
//! not used because bases can have mixed signs (an exchange has sale and return lines) and an
//! inclusive line's rate shares are not proportional to one base.
//!
//! **Tax-inclusive prices.** With `C` the line's combined rate (compound rates compounded),
//! `inclusive_target: "tax"` rounds the tax, `round(gross × C / (1 + C))`, and the net is the
//! rest; `"net"` rounds the net, `round(gross / (1 + C))`, and the tax is the rest. The line's tax
//! is then split between its rates by allocation on their exact shares `gross × c_j / (1 + C)`.
//! At total level, `"tax"` rounds each rate's exact order total; `"net"` rounds the order's exact
//! total net once, splits the order's tax between rates on their exact totals, then each rate to
//! the lines. (So with `"tax"`, a one-line order whose line has two rates can differ by a unit
//! between line level, which rounds the line's combined tax, and total level, which rounds each
//! rate: total level is "once per rate", as each authority's remittance requires.)
//!
//! **Exempt customers** (diplomats, charities, resale certificates): on tax-exclusive prices no
//! tax is added (gross = net = input). On tax-inclusive prices the customer pays the net: the
//! same net a taxed customer's receipt would show for that line (same level, target and mode),
//! with tax 0 and gross = net. Neither case lists any rate.
//!
//! **Input.** A line is its tax category and its units after discounts as runs of identical
//! units (`count × amount`; a weighed item is one unit), in the regime's price basis (gross when
//! prices include tax, else net). Counts are never negative: a refund is negative amounts, so
//! per-unit rounding of a refund mirrors the sale's. Amounts must be in the order's currency
//! (`CURRENCY_MISMATCH`). Intermediate values are exact at any size (see `exact.rs`); an output
//! amount beyond `i64` is `MONEY_OVERFLOW`, never a panic or a wrap.

mod engine;
mod exact;
mod regime;

pub use engine::compute;
pub(crate) use engine::{RateOut, Runs, TaxLineRef, compute_lines};
pub use regime::{InclusiveTarget, TaxRate, TaxRegime, TaxRounding, TaxRoundingLevel};

use crate::money::{Money, Percent};

/// `count` identical units of `amount` each (after discounts). A weighed item is one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitRun {
    pub count: i64,
    pub amount: Money,
}

impl UnitRun {
    pub fn new(count: i64, amount: Money) -> UnitRun {
        UnitRun { count, amount }
    }
}

/// One line to tax: its tax category and its units, run-length encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxInputLine {
    pub tax_category: String,
    pub units: Vec<UnitRun>,
}

impl TaxInputLine {
    pub fn new(tax_category: &str, units: Vec<UnitRun>) -> TaxInputLine {
        TaxInputLine { tax_category: tax_category.to_owned(), units }
    }

    /// `count` units of `amount` each.
    pub fn uniform(tax_category: &str, count: i64, amount: Money) -> TaxInputLine {
        TaxInputLine::new(tax_category, vec![UnitRun::new(count, amount)])
    }
}

/// The tax of a whole order: per line, per rate, and in total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxBreakdown {
    /// One per input line, in input order.
    pub lines: Vec<LineTax>,
    /// One per rate that applies to at least one line, in regime order.
    pub totals: Vec<RateTotal>,
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
}

/// The tax of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTax {
    pub tax_category: String,
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    /// Each rate applied to this line, in regime order (empty for exempt lines and customers).
    pub taxes: Vec<RateAmount>,
}

/// One rate's share of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateAmount {
    pub rate_id: String,
    pub percent: Percent,
    /// What the rate was applied to: the line's net, plus the preceding taxes for a compound rate.
    pub base: Money,
    pub amount: Money,
}

/// One rate over the whole order, as the receipt's tax summary and the tax report list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTotal {
    pub rate_id: String,
    pub name: String,
    pub percent: Percent,
    pub base: Money,
    pub amount: Money,
}
