//! The computation: prepare lines against a validated regime, compute each level, assemble.

use std::cmp::Ordering;

use super::exact::{Int, Ratio};
use super::regime::{InclusiveTarget, RegimeIndex, TaxRegime, TaxRoundingLevel};
use super::{LineTax, RateAmount, RateTotal, TaxBreakdown, TaxInputLine, UnitRun};
use crate::error::{Error, Result};
use crate::money::{Currency, Money, RoundingMode, div_round};

/// Computes the tax of an order's `lines` (amounts after discounts, in `currency`, in the
/// regime's price basis) under `regime`. See the module documentation for every rule.
///
/// Errors: `INVALID_TAX_REGIME` (the regime does not validate), `UNKNOWN_TAX_CATEGORY` (a line's
/// category is neither rated nor exempt), `CURRENCY_MISMATCH`, `INVALID_ARGUMENT` (a negative
/// count), `MONEY_OVERFLOW`.
pub fn compute(
    regime: &TaxRegime,
    currency: Currency,
    lines: &[TaxInputLine],
    customer_exempt: bool,
) -> Result<TaxBreakdown> {
    let refs: Vec<TaxLineRef<'_>> =
        lines.iter().map(|l| TaxLineRef { tax_category: &l.tax_category, runs: Runs::Money(&l.units) }).collect();
    let c = compute_lines(regime, currency, &refs, customer_exempt)?;
    let money = |v: i64| Money::new(v, currency);
    let rates = &regime.rates;
    Ok(TaxBreakdown {
        lines: lines
            .iter()
            .zip(&c.lines)
            .map(|(l, out)| LineTax {
                tax_category: l.tax_category.clone(),
                net: money(out.net),
                tax: money(out.tax),
                gross: money(out.gross),
                taxes: c.rates_of(out)
                    .iter()
                    .map(|r| RateAmount {
                        rate_id: rates[r.rate].id.clone(),
                        percent: rates[r.rate].percent,
                        base: money(r.base),
                        amount: money(r.amount),
                    })
                    .collect(),
            })
            .collect(),
        totals: c
            .totals
            .iter()
            .map(|r| RateTotal {
                rate_id: rates[r.rate].id.clone(),
                name: rates[r.rate].name.clone(),
                percent: rates[r.rate].percent,
                base: money(r.base),
                amount: money(r.amount),
            })
            .collect(),
        net: money(c.net),
        tax: money(c.tax),
        gross: money(c.gross),
    })
}

/// A line's units after discounts as (count, amount) runs: [`UnitRun`]s (checked against the
/// order's currency), or minor units already in it (what pricing passes).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Runs<'a> {
    Money(&'a [UnitRun]),
    Minor(&'a [(i64, i64)]),
}

impl Runs<'_> {
    /// (count, amount in minor units) of each run, or the currency of the first run in another.
    fn each(&self, currency: Currency) -> std::result::Result<impl Iterator<Item = (i64, i64)> + '_, Currency> {
        let (money, minor): (&[UnitRun], &[(i64, i64)]) = match *self {
            Runs::Money(m) => (m, &[]),
            Runs::Minor(m) => (&[], m),
        };
        if let Some(other) = money.iter().map(|r| r.amount.currency()).find(|&c| c != currency) {
            return Err(other);
        }
        Ok(money.iter().map(|r| (r.count, r.amount.minor())).chain(minor.iter().copied()))
    }
}

/// One line to tax, borrowed: [`TaxInputLine`] without copies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TaxLineRef<'a> {
    pub tax_category: &'a str,
    pub runs: Runs<'a>,
}

/// [`TaxBreakdown`] in minor units, with rates by index into the regime and each line's rates
/// in one flat list: what [`compute`] and pricing build their outputs from.
#[derive(Debug)]
pub(crate) struct Computed {
    pub lines: Vec<LineOut>,
    pub rates: Vec<RateOut>,
    /// One per rate that applies to at least one line, in regime order.
    pub totals: Vec<RateOut>,
    pub net: i64,
    pub tax: i64,
    pub gross: i64,
}

#[derive(Debug)]
pub(crate) struct LineOut {
    pub net: i64,
    pub tax: i64,
    pub gross: i64,
    /// This line's rates: `rates[span.0..span.1]`, in regime order.
    span: (u32, u32),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct RateOut {
    /// Index in the regime's rates.
    pub rate: usize,
    pub base: i64,
    pub amount: i64,
}

impl Computed {
    pub fn rates_of(&self, line: &LineOut) -> &[RateOut] {
        &self.rates[line.span.0 as usize..line.span.1 as usize]
    }
}

/// [`compute`] on borrowed lines.
pub(crate) fn compute_lines(
    regime: &TaxRegime,
    currency: Currency,
    lines: &[TaxLineRef<'_>],
    customer_exempt: bool,
) -> Result<Computed> {
    let index = regime.index()?;
    let mut chains: Vec<Chain> = Vec::new();
    let mut prepared: Vec<Prepared> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let amount = line_amount(i, line, currency)?;
        let category = line.tax_category;
        // The categories seen so far first: a cart has few, and most lines share them.
        let chain = if let Some(k) = chains.iter().position(|c| c.category == category) {
            Some(k)
        } else if index.exempt.contains(category) {
            None
        } else if let Some(rates) = index.by_category.get(category) {
            chains.push(Chain::new(category, rates, &index, regime.rounding.level == TaxRoundingLevel::Total));
            Some(chains.len() - 1)
        } else {
            return Err(Error::UnknownTaxCategory {
                category: category.to_owned(),
                regime: regime.id.clone(),
            });
        };
        prepared.push(Prepared { line, amount, chain });
    }

    let inclusive = regime.prices_include_tax;
    let rounding = regime.rounding;
    let chain_of = |p: &Prepared<'_>| p.chain.map(|k| &chains[k]);
    let mut sums = Assembler::new(&index, lines.len());
    if customer_exempt && !inclusive {
        for (i, p) in prepared.iter().enumerate() {
            sums.line(i, chain_of(p), p.amount, &[])?;
        }
        return sums.finish();
    }
    // Inclusive prices and an exempt customer: the customer pays the net, the tax part is
    // removed.
    let taxed = |amounts: &[i128]| -> usize { if customer_exempt { 0 } else { amounts.len() } };
    match rounding.level {
        TaxRoundingLevel::Unit | TaxRoundingLevel::Line => {
            // Every line on its own, taxed and added up in one pass. An error taxing a line
            // still comes before any error adding up (as when every line is taxed first).
            let mut amounts: Vec<i128> = Vec::with_capacity(4);
            let mut deferred = None;
            for (i, p) in prepared.iter().enumerate() {
                amounts.clear();
                let net = per_line(i, p, &chains, &index, rounding.level, rounding.mode, rounding.inclusive_target, currency, &mut amounts)?;
                if deferred.is_none() {
                    if let Err(e) = sums.line(i, chain_of(p), net, &amounts[..taxed(&amounts)]) {
                        deferred = Some(e);
                    }
                }
            }
            match deferred {
                Some(e) => Err(e),
                None => sums.finish(),
            }
        }
        TaxRoundingLevel::Total => {
            let results = order_level(&prepared, &chains, &index, rounding.mode, rounding.inclusive_target)?;
            for (i, p) in prepared.iter().enumerate() {
                let amounts = results.amounts(i);
                sums.line(i, chain_of(p), results.nets[i], &amounts[..taxed(amounts)])?;
            }
            sums.finish()
        }
    }
}

/// A line checked and summed, with the chain of rates of its category (`None`: exempt category).
struct Prepared<'a> {
    line: &'a TaxLineRef<'a>,
    amount: i128,
    chain: Option<usize>,
}

/// The rates of one category and their exact effective factors: rate `j` of the line taxes
/// `factors[j] × net` (for a compound rate that includes the rates before it), so that
/// gross = net × `one_plus_combined` (1 + the sum of the factors).
struct Chain<'a> {
    category: &'a str,
    rates: Vec<usize>,
    /// Each rate as an exact fraction, in chain order.
    rate_factors: Vec<Ratio>,
    factors: Vec<Ratio>,
    one_plus_combined: Ratio,
    /// The common case — one non-compound rate — as its exact fraction `n / d`, for the
    /// native fast path (same results as the exact path; see `simple_matches_exact`).
    simple: Option<(i128, i128)>,
}

impl<'a> Chain<'a> {
    /// The exact factors are only worked out where they are used: a chain that is not simple,
    /// or any chain at total level (`total_level`).
    fn new(category: &'a str, rates: &[usize], index: &RegimeIndex<'_>, total_level: bool) -> Chain<'a> {
        let all = &index.regime.rates;
        let simple = match rates {
            [r] if !all[*r].compound => Some(all[*r].percent.fraction()),
            _ => None,
        };
        let mut chain = Chain {
            category,
            rates: rates.to_vec(),
            rate_factors: Vec::new(),
            factors: Vec::new(),
            one_plus_combined: Ratio::one(),
            simple,
        };
        if simple.is_none() || total_level {
            let mut combined = Ratio::zero();
            for &r in rates {
                let (n, d) = all[r].percent.fraction();
                let rate = Ratio::new(n, d).unwrap_or_else(Ratio::zero); // d = 10^k > 0
                let factor = if all[r].compound { rate.mul(&Ratio::one().add(&combined)) } else { rate.clone() };
                combined = combined.add(&factor);
                chain.rate_factors.push(rate);
                chain.factors.push(factor);
            }
            chain.one_plus_combined = Ratio::one().add(&combined);
        }
        chain
    }

    fn compound(&self, index: &RegimeIndex<'_>, position: usize) -> bool {
        index.regime.rates[self.rates[position]].compound
    }
}

/// Every line's net and the tax of each rate of its chain (positions as in the chain): line
/// `i`'s are `amounts[spans[i].0..spans[i].1]` (empty: no rate).
struct Results {
    nets: Vec<i128>,
    spans: Vec<(u32, u32)>,
    amounts: Vec<i128>,
}

impl Results {
    fn amounts(&self, line: usize) -> &[i128] {
        let (a, b) = self.spans[line];
        &self.amounts[a as usize..b as usize]
    }
}

fn overflow(what: String) -> Error {
    Error::MoneyOverflow { operation: what }
}

fn to_i128(v: &Int, what: impl Fn() -> String) -> Result<i128> {
    v.to_i128().ok_or_else(|| overflow(what()))
}

fn line_amount(i: usize, line: &TaxLineRef<'_>, currency: Currency) -> Result<i128> {
    let runs = line.runs.each(currency).map_err(|found| Error::CurrencyMismatch {
        expected: currency.code().to_owned(),
        found: found.code().to_owned(),
    })?;
    let mut total: i128 = 0;
    for (k, (count, amount)) in runs.enumerate() {
        if count < 0 {
            return Err(Error::InvalidArgument(format!(
                "tax line {i} ({:?}), run {k}: count {count} is negative; a refund is negative amounts, not negative counts",
                line.tax_category
            )));
        }
        // i64 × i64 fits in i128; only the sum of very many runs could not.
        let run_total = i128::from(count) * i128::from(amount);
        total = total.checked_add(run_total).ok_or_else(|| overflow(format!("tax line {i} amount")))?;
    }
    Ok(total)
}

/// Unit or line level: every line on its own. Pushes the line's tax per rate onto `out` and
/// returns its net.
#[allow(clippy::too_many_arguments)]
fn per_line(
    i: usize,
    p: &Prepared<'_>,
    chains: &[Chain<'_>],
    index: &RegimeIndex<'_>,
    level: TaxRoundingLevel,
    mode: RoundingMode,
    target: InclusiveTarget,
    currency: Currency,
    out: &mut Vec<i128>,
) -> Result<i128> {
    let Some(chain) = p.chain.map(|k| &chains[k]) else {
        return Ok(p.amount);
    };
    let inclusive = index.regime.prices_include_tax;
    let split = |amount: i128, out: &mut Vec<i128>| -> Result<()> {
        if inclusive {
            split_inclusive(i, amount, chain, mode, target, out)
        } else {
            split_exclusive(i, amount, chain, index, mode, out)
        }
    };
    let start = out.len();
    if level == TaxRoundingLevel::Unit {
        let n = chain.rates.len();
        out.resize(start + n, 0);
        // Checked in `line_amount`.
        let runs = p.line.runs.each(currency).map_err(|_| overflow(format!("tax on line {i}")))?;
        for (count, amount) in runs {
            let count = i128::from(count);
            let unit = out.len();
            split(i128::from(amount), out)?;
            for j in 0..n {
                let unit_tax = out[unit + j];
                out[start + j] = unit_tax
                    .checked_mul(count)
                    .and_then(|t| out[start + j].checked_add(t))
                    .ok_or_else(|| overflow(format!("tax on line {i}")))?;
            }
            out.truncate(unit);
        }
    } else {
        split(p.amount, out)?;
    }
    let net = if inclusive {
        p.amount.checked_sub(checked_sum(&out[start..], i)?).ok_or_else(|| overflow(format!("tax on line {i}")))?
    } else {
        p.amount
    };
    Ok(net)
}

/// Tax-exclusive: each rate rounded on its base; a compound rate's base adds the rounded taxes
/// before it. Pushes one amount per rate of the chain.
fn split_exclusive(
    i: usize,
    net: i128,
    chain: &Chain<'_>,
    index: &RegimeIndex<'_>,
    mode: RoundingMode,
    out: &mut Vec<i128>,
) -> Result<()> {
    if let Some((n, d)) = chain.simple {
        let tax = net.checked_mul(n).map(|x| div_round(x, d, mode)).ok_or_else(|| overflow(format!("tax on line {i}")))?;
        out.push(tax);
        return Ok(());
    }
    let mut preceding: i128 = 0;
    for (position, rate) in chain.rate_factors.iter().enumerate() {
        let base = if chain.compound(index, position) {
            net.checked_add(preceding).ok_or_else(|| overflow(format!("tax on line {i}")))?
        } else {
            net
        };
        let tax = to_i128(&rate.mul_int(base).round(mode), || format!("tax on line {i}"))?;
        preceding = preceding.checked_add(tax).ok_or_else(|| overflow(format!("tax on line {i}")))?;
        out.push(tax);
    }
    Ok(())
}

/// Tax-inclusive: the line's tax rounded per `target`, split between its rates on their exact
/// shares. Pushes one amount per rate of the chain.
fn split_inclusive(
    i: usize,
    gross: i128,
    chain: &Chain<'_>,
    mode: RoundingMode,
    target: InclusiveTarget,
    out: &mut Vec<i128>,
) -> Result<()> {
    if let Some((n, d)) = chain.simple {
        // gross = net × (d + n) / d: tax = gross × n / (d + n), net = gross × d / (d + n).
        let what = || overflow(format!("tax on line {i}"));
        let tax = match target {
            InclusiveTarget::Tax => div_round(gross.checked_mul(n).ok_or_else(what)?, d + n, mode),
            InclusiveTarget::Net => gross - div_round(gross.checked_mul(d).ok_or_else(what)?, d + n, mode),
        };
        out.push(tax);
        return Ok(());
    }
    let exact_net = exact_net(gross, chain);
    let shares: Vec<Ratio> = chain.factors.iter().map(|f| exact_net.mul(f)).collect();
    let what = || format!("tax on line {i}");
    let tax = match target {
        InclusiveTarget::Tax => to_i128(&Ratio::from_i128(gross).sub(&exact_net).round(mode), what)?,
        InclusiveTarget::Net => {
            gross.checked_sub(to_i128(&exact_net.round(mode), what)?).ok_or_else(|| overflow(what()))?
        }
    };
    out.extend(apportion(tax, &shares)?);
    Ok(())
}

fn exact_net(gross: i128, chain: &Chain<'_>) -> Ratio {
    // 1 + combined >= 1, so the division cannot fail.
    Ratio::from_i128(gross).div(&chain.one_plus_combined).unwrap_or_else(Ratio::zero)
}

/// Total level: exact tax per rate over the order, rounded once per rate, allocated to lines.
fn order_level(
    prepared: &[Prepared<'_>],
    chains: &[Chain<'_>],
    index: &RegimeIndex<'_>,
    mode: RoundingMode,
    target: InclusiveTarget,
) -> Result<Results> {
    let inclusive = index.regime.prices_include_tax;
    let rate_count = index.regime.rates.len();
    // Per rate: (line, position in the line's chain, exact share).
    let mut shares_by_rate: Vec<Vec<(usize, usize, Ratio)>> = vec![Vec::new(); rate_count];
    let mut exact_total_net = Ratio::zero();
    let mut taxed_gross: i128 = 0;
    for (i, p) in prepared.iter().enumerate() {
        let Some(chain) = p.chain.map(|k| &chains[k]) else { continue };
        let net = if inclusive { exact_net(p.amount, chain) } else { Ratio::from_i128(p.amount) };
        for (position, (&r, factor)) in chain.rates.iter().zip(&chain.factors).enumerate() {
            shares_by_rate[r].push((i, position, net.mul(factor)));
        }
        exact_total_net = exact_total_net.add(&net);
        taxed_gross = taxed_gross.checked_add(p.amount).ok_or_else(|| overflow("order amount".into()))?;
    }
    let used: Vec<usize> = (0..rate_count).filter(|&r| !shares_by_rate[r].is_empty()).collect();
    let exact_totals: Vec<Ratio> = used
        .iter()
        .map(|&r| shares_by_rate[r].iter().fold(Ratio::zero(), |acc, (_, _, s)| acc.add(s)))
        .collect();
    let rounded_totals: Vec<i128> = if inclusive && target == InclusiveTarget::Net {
        let net = to_i128(&exact_total_net.round(mode), || "order net".into())?;
        apportion(taxed_gross.checked_sub(net).ok_or_else(|| overflow("order tax".into()))?, &exact_totals)?
    } else {
        exact_totals.iter().map(|t| to_i128(&t.round(mode), || "order tax".into())).collect::<Result<_>>()?
    };

    let mut results = Results { nets: Vec::with_capacity(prepared.len()), spans: Vec::with_capacity(prepared.len()), amounts: Vec::new() };
    for p in prepared {
        let start = results.amounts.len();
        let n = p.chain.map_or(0, |k| chains[k].rates.len());
        results.amounts.resize(start + n, 0);
        results.nets.push(p.amount);
        results.spans.push((start as u32, (start + n) as u32));
    }
    for (&r, &rounded) in used.iter().zip(&rounded_totals) {
        let shares: Vec<Ratio> = shares_by_rate[r].iter().map(|(_, _, s)| s.clone()).collect();
        for ((line, position, _), amount) in shares_by_rate[r].iter().zip(apportion(rounded, &shares)?) {
            results.amounts[results.spans[*line].0 as usize + position] = amount;
        }
    }
    if inclusive {
        for i in 0..results.nets.len() {
            let tax = checked_sum(results.amounts(i), i)?;
            results.nets[i] = results.nets[i].checked_sub(tax).ok_or_else(|| overflow(format!("tax on line {i}")))?;
        }
    }
    Ok(results)
}

/// Whole parts of `shares` summing to `target`, by largest remainder: start from each share
/// truncated toward zero, then move the parts with the largest fractional remainder (in the
/// direction `target` needs) one unit each, ties to the later part. `target` must lie between the
/// sums of the shares' floors and ceilings, which every caller's rounding guarantees.
fn apportion(target: i128, shares: &[Ratio]) -> Result<Vec<i128>> {
    let mut parts = Vec::with_capacity(shares.len());
    let mut fractions = Vec::with_capacity(shares.len());
    let mut sum: i128 = 0;
    for share in shares {
        let (whole, fraction) = share.split_trunc();
        let whole = to_i128(&whole, || "tax allocation".into())?;
        sum = sum.checked_add(whole).ok_or_else(|| overflow("tax allocation".into()))?;
        parts.push(whole);
        fractions.push(fraction);
    }
    let missing = target.checked_sub(sum).ok_or_else(|| overflow("tax allocation".into()))?;
    if missing == 0 {
        return Ok(parts);
    }
    let direction: i32 = if missing > 0 { 1 } else { -1 };
    let mut candidates: Vec<usize> =
        (0..shares.len()).filter(|&k| fractions[k].signum() == direction).collect();
    candidates.sort_by(|&a, &b| match fractions[b].cmp_abs(&fractions[a]) {
        Ordering::Equal => b.cmp(&a),
        other => other,
    });
    let needed = missing.unsigned_abs();
    if (candidates.len() as u128) < needed {
        return Err(Error::InvalidArgument(format!(
            "internal error: cannot allocate {target} minor units of tax over {} shares; please report this",
            shares.len()
        )));
    }
    for &k in candidates.iter().take(needed as usize) {
        parts[k] += i128::from(direction);
    }
    Ok(parts)
}

fn checked_sum(values: &[i128], line: usize) -> Result<i128> {
    values
        .iter()
        .try_fold(0i128, |acc, v| acc.checked_add(*v))
        .ok_or_else(|| overflow(format!("tax on line {line}")))
}

fn minor(v: i128, what: impl Fn() -> String) -> Result<i64> {
    i64::try_from(v).map_err(|_| overflow(what()))
}

/// Adds up the lines into [`Computed`], one line at a time, in order.
struct Assembler<'i> {
    index: &'i RegimeIndex<'i>,
    /// Per rate of the regime: (base, amount) over the lines it applies to.
    rate_sums: Vec<Option<(i128, i128)>>,
    net: i128,
    tax: i128,
    gross: i128,
    lines: Vec<LineOut>,
    rates: Vec<RateOut>,
}

impl<'i> Assembler<'i> {
    fn new(index: &'i RegimeIndex<'i>, lines: usize) -> Assembler<'i> {
        Assembler {
            index,
            rate_sums: vec![None; index.regime.rates.len()],
            net: 0,
            tax: 0,
            gross: 0,
            lines: Vec::with_capacity(lines),
            rates: Vec::with_capacity(lines),
        }
    }

    /// Line `i`: its net and its chain's taxes (`amounts`, by position; empty: untaxed).
    fn line(&mut self, i: usize, chain: Option<&Chain<'_>>, net: i128, amounts: &[i128]) -> Result<()> {
        let what = || format!("tax line {i}");
        let tax = checked_sum(amounts, i)?;
        let gross = net.checked_add(tax).ok_or_else(|| overflow(what()))?;
        let start = self.rates.len();
        if let Some(chain) = chain.filter(|_| !amounts.is_empty()) {
            let mut preceding: i128 = 0;
            for (position, (&r, &amount)) in chain.rates.iter().zip(amounts).enumerate() {
                let base = if chain.compound(self.index, position) {
                    net.checked_add(preceding).ok_or_else(|| overflow(what()))?
                } else {
                    net
                };
                preceding = preceding.checked_add(amount).ok_or_else(|| overflow(what()))?;
                let sums = self.rate_sums[r].get_or_insert((0, 0));
                sums.0 = sums.0.checked_add(base).ok_or_else(|| overflow(what()))?;
                sums.1 = sums.1.checked_add(amount).ok_or_else(|| overflow(what()))?;
                self.rates.push(RateOut { rate: r, base: minor(base, what)?, amount: minor(amount, what)? });
            }
        }
        self.net = self.net.checked_add(net).ok_or_else(|| overflow(what()))?;
        self.tax = self.tax.checked_add(tax).ok_or_else(|| overflow(what()))?;
        self.gross = self.gross.checked_add(gross).ok_or_else(|| overflow(what()))?;
        self.lines.push(LineOut {
            net: minor(net, what)?,
            tax: minor(tax, what)?,
            gross: minor(gross, what)?,
            span: (start as u32, self.rates.len() as u32),
        });
        Ok(())
    }

    fn finish(self) -> Result<Computed> {
        let mut totals = Vec::new();
        for (r, (rate, sums)) in self.index.regime.rates.iter().zip(&self.rate_sums).enumerate() {
            if let Some((base, amount)) = *sums {
                let what = || format!("total of tax rate {:?}", rate.id);
                totals.push(RateOut { rate: r, base: minor(base, what)?, amount: minor(amount, what)? });
            }
        }
        Ok(Computed {
            lines: self.lines,
            rates: self.rates,
            totals,
            net: minor(self.net, || "order net".into())?,
            tax: minor(self.tax, || "order tax".into())?,
            gross: minor(self.gross, || "order gross".into())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commerce::tax::{TaxInputLine, UnitRun};

    fn m(minor: i64) -> Money {
        Money::new(minor, Currency::GBP)
    }

    fn regime(
        inclusive: bool,
        mode: &str,
        level: &str,
        target: &str,
        rates: &str,
        exempt: &str,
    ) -> TaxRegime {
        let json = format!(
            r#"{{"id":"test","prices_include_tax":{inclusive},
                "rounding":{{"mode":"{mode}","level":"{level}","inclusive_target":"{target}"}},
                "rates":[{rates}],"exempt_categories":[{exempt}]}}"#
        );
        TaxRegime::from_json(&json).unwrap()
    }

    fn uk(mode: &str, level: &str) -> TaxRegime {
        regime(
            true,
            mode,
            level,
            "tax",
            r#"{"id":"vat-std","name":"VAT 20%","categories":["standard"],"percent":20},
               {"id":"vat-red","name":"VAT 5%","categories":["reduced"],"percent":5},
               {"id":"vat-zero","name":"VAT 0%","categories":["zero"],"percent":0}"#,
            r#""stamps""#,
        )
    }

    fn ny(level: &str) -> TaxRegime {
        regime(
            false,
            "half_up",
            level,
            "tax",
            r#"{"id":"ny","name":"NY sales tax","categories":["general"],"percent":"8.875"}"#,
            r#""groceries""#,
        )
    }

    fn line(category: &str, count: i64, amount: i64) -> TaxInputLine {
        TaxInputLine::uniform(category, count, m(amount))
    }

    /// (net, tax, gross) of each line, in minor units.
    fn line_totals(b: &TaxBreakdown) -> Vec<(i64, i64, i64)> {
        b.lines.iter().map(|l| (l.net.minor(), l.tax.minor(), l.gross.minor())).collect()
    }

    /// (rate id, base, amount) of each rate total.
    fn rate_totals(b: &TaxBreakdown) -> Vec<(&str, i64, i64)> {
        b.totals.iter().map(|t| (t.rate_id.as_str(), t.base.minor(), t.amount.minor())).collect()
    }

    fn line_rates(l: &LineTax) -> Vec<(&str, i64, i64)> {
        l.taxes.iter().map(|t| (t.rate_id.as_str(), t.base.minor(), t.amount.minor())).collect()
    }

    #[test]
    fn uk_vat_unit_and_line_level_differ() {
        let lines = [line("standard", 3, 99)];
        // Per unit: 0.99 × 20/120 = 0.165 → half-up 0.17, × 3 = 0.51.
        let unit = compute(&uk("half_up", "unit"), Currency::GBP, &lines, false).unwrap();
        assert_eq!(line_totals(&unit), [(246, 51, 297)]);
        // Per line: 2.97 × 20/120 = 0.495 → half-up 0.50.
        let per_line = compute(&uk("half_up", "line"), Currency::GBP, &lines, false).unwrap();
        assert_eq!(line_totals(&per_line), [(247, 50, 297)]);
        assert_eq!(rate_totals(&per_line), [("vat-std", 247, 50)]);
        // Half-even: 0.165 → 0.16 (×3 = 0.48); 0.495 → 0.50.
        let unit = compute(&uk("half_even", "unit"), Currency::GBP, &lines, false).unwrap();
        assert_eq!(line_totals(&unit), [(249, 48, 297)]);
        assert_eq!(compute(&uk("half_even", "line"), Currency::GBP, &lines, false).unwrap().tax, m(50));
    }

    #[test]
    fn inclusive_target_net_rounds_the_net() {
        let mut r = uk("half_even", "line");
        let lines = [line("standard", 1, 99)];
        // Tax target: 0.99/6 = 0.165 → 0.16, net 0.83.
        assert_eq!(line_totals(&compute(&r, Currency::GBP, &lines, false).unwrap()), [(83, 16, 99)]);
        // Net target: 0.99/1.2 = 0.825 → 0.82, tax 0.17.
        r.rounding.inclusive_target = InclusiveTarget::Net;
        assert_eq!(line_totals(&compute(&r, Currency::GBP, &lines, false).unwrap()), [(82, 17, 99)]);
    }

    #[test]
    fn standard_reduced_zero_rated_and_exempt_on_one_receipt() {
        let lines =
            [line("standard", 2, 120), line("reduced", 1, 299), line("zero", 1, 300), line("stamps", 1, 85)];
        let b = compute(&uk("half_up", "line"), Currency::GBP, &lines, false).unwrap();
        // 2.40 incl. 20% → 0.40; 2.99 incl. 5% → 0.142380.. → 0.14; zero-rated 3.00 → 0; stamps exempt.
        assert_eq!(line_totals(&b), [(200, 40, 240), (285, 14, 299), (300, 0, 300), (85, 0, 85)]);
        assert_eq!(line_rates(&b.lines[2]), [("vat-zero", 300, 0)]);
        assert!(b.lines[3].taxes.is_empty());
        assert_eq!(rate_totals(&b), [("vat-std", 200, 40), ("vat-red", 285, 14), ("vat-zero", 300, 0)]);
        assert_eq!(b.totals[0].name, "VAT 20%");
        assert_eq!((b.net, b.tax, b.gross), (m(870), m(54), m(924)));
    }

    #[test]
    fn us_sales_tax_total_level_rounds_once_and_allocates() {
        // Five separately scanned 1.00 items and one 100%-discounted item.
        let lines: Vec<_> = [100, 100, 100, 100, 100, 0].iter().map(|&a| line("general", 1, a)).collect();
        // Line level: 8.875 → 9 on each, 0.45.
        let b = compute(&ny("line"), Currency::GBP, &lines, false).unwrap();
        assert_eq!(b.tax, m(45));
        // Total level: 5.00 × 8.875% = 0.44375 → 0.44, allocated 8 + 9 + 9 + 9 + 9 (ties to the
        // later lines), and nothing to the zero line.
        let b = compute(&ny("total"), Currency::GBP, &lines, false).unwrap();
        assert_eq!(b.tax, m(44));
        let taxes: Vec<i64> = b.lines.iter().map(|l| l.tax.minor()).collect();
        assert_eq!(taxes, [8, 9, 9, 9, 9, 0]);
        assert_eq!(line_rates(&b.lines[5]), [("ny", 0, 0)]);
        assert_eq!(rate_totals(&b), [("ny", 500, 44)]);
        assert_eq!((b.net, b.gross), (m(500), m(544)));
        // Mixed amounts: 5.97, 4.99, 1.00 → 0.529.. + 0.442.. + 0.08875 = 1.06145 → 1.06.
        let lines = [line("general", 3, 199), line("general", 1, 499), line("general", 2, 50)];
        let b = compute(&ny("total"), Currency::GBP, &lines, false).unwrap();
        assert_eq!(line_totals(&b), [(597, 53, 650), (499, 44, 543), (100, 9, 109)]);
        assert_eq!(b.tax, m(106));
    }

    #[test]
    fn inclusive_total_level_leaves_nothing_on_a_zero_line() {
        let lines = [line("standard", 1, 99), line("standard", 1, 0), line("standard", 1, 99)];
        let b = compute(&uk("half_up", "total"), Currency::GBP, &lines, false).unwrap();
        // 1.98/6 = 0.33 exactly; each 0.99 line is 0.165 → 0.16 and 0.17 (tie to the later line).
        assert_eq!(line_totals(&b), [(83, 16, 99), (0, 0, 0), (82, 17, 99)]);
    }

    #[test]
    fn compound_rate_taxes_the_tax_before_it() {
        let r = |level: &str, inclusive: bool| {
            regime(
                inclusive,
                "half_up",
                level,
                "tax",
                r#"{"id":"gst","name":"GST 5%","categories":["general"],"percent":5},
                   {"id":"pst","name":"PST 7% on GST","categories":["general"],"percent":7,"compound":true}"#,
                "",
            )
        };
        // 10.00 net: GST 0.50; PST 7% of 10.50 = 0.735 → 0.74.
        let b = compute(&r("line", false), Currency::GBP, &[line("general", 1, 1000)], false).unwrap();
        assert_eq!(line_rates(&b.lines[0]), [("gst", 1000, 50), ("pst", 1050, 74)]);
        assert_eq!(line_totals(&b), [(1000, 124, 1124)]);
        // Two such lines: line level 2 × 1.24; total level GST 1.00, PST 7% × 1.05 × 20.00 = 1.47.
        let two = [line("general", 1, 1000), line("general", 1, 1000)];
        assert_eq!(compute(&r("line", false), Currency::GBP, &two, false).unwrap().tax, m(248));
        let b = compute(&r("total", false), Currency::GBP, &two, false).unwrap();
        assert_eq!(rate_totals(&b), [("gst", 2000, 100), ("pst", 2100, 147)]);
        assert_eq!(line_rates(&b.lines[0]), [("gst", 1000, 50), ("pst", 1050, 73)]);
        assert_eq!(line_rates(&b.lines[1]), [("gst", 1000, 50), ("pst", 1050, 74)]);
        // Inclusive 11.24: combined 12.35%, tax = 11.24 × 0.1235/1.1235 = 1.2355.. → 1.24, split on
        // exact shares 0.5002.. and 0.7353.. → 0.50 and 0.74.
        let b = compute(&r("line", true), Currency::GBP, &[line("general", 1, 1124)], false).unwrap();
        assert_eq!(line_rates(&b.lines[0]), [("gst", 1000, 50), ("pst", 1050, 74)]);
        assert_eq!(line_totals(&b), [(1000, 124, 1124)]);
    }

    #[test]
    fn several_rates_on_one_inclusive_line_split_by_largest_remainder() {
        let r = regime(
            true,
            "half_even",
            "line",
            "tax",
            r#"{"id":"a","name":"A 10%","categories":["x"],"percent":10},
               {"id":"b","name":"B 5%","categories":["x"],"percent":5}"#,
            "",
        );
        // 1.00 incl. 15%: tax 0.1304.. → 0.13; shares 0.0869.. and 0.0434.. → 0.09 and 0.04.
        let b = compute(&r, Currency::GBP, &[line("x", 1, 100)], false).unwrap();
        assert_eq!(line_rates(&b.lines[0]), [("a", 87, 9), ("b", 87, 4)]);
        assert_eq!(line_totals(&b), [(87, 13, 100)]);
    }

    #[test]
    fn exempt_customers() {
        // Exclusive: nothing is added.
        let lines = [line("general", 3, 199), line("groceries", 1, 250)];
        let b = compute(&ny("line"), Currency::GBP, &lines, true).unwrap();
        assert_eq!(line_totals(&b), [(597, 0, 597), (250, 0, 250)]);
        assert!(b.totals.is_empty() && b.lines.iter().all(|l| l.taxes.is_empty()));
        // Inclusive: the customer pays the net a taxed receipt would show (2.97 → net 2.47).
        let lines = [line("standard", 3, 99), line("stamps", 1, 85)];
        let b = compute(&uk("half_up", "line"), Currency::GBP, &lines, true).unwrap();
        assert_eq!(line_totals(&b), [(247, 0, 247), (85, 0, 85)]);
        assert!(b.totals.is_empty());
        assert_eq!((b.net, b.tax, b.gross), (m(332), m(0), m(332)));
        // A category the regime does not know is still an error.
        let err = compute(&uk("half_up", "line"), Currency::GBP, &[line("books", 1, 1)], true).unwrap_err();
        assert_eq!(err.code(), "UNKNOWN_TAX_CATEGORY");
    }

    #[test]
    fn refunds_negate_the_sale() {
        for level in ["unit", "line", "total"] {
            for (r, lines) in [
                (
                    uk("half_up", level),
                    vec![line("standard", 3, 99), line("reduced", 2, 299), line("zero", 1, 5)],
                ),
                (ny(level), vec![line("general", 3, 199), line("general", 1, 100), line("groceries", 1, 7)]),
            ] {
                let sale = compute(&r, Currency::GBP, &lines, false).unwrap();
                let negated: Vec<_> = lines
                    .iter()
                    .map(|l| {
                        let units =
                            l.units.iter().map(|u| UnitRun::new(u.count, m(-u.amount.minor()))).collect();
                        TaxInputLine::new(&l.tax_category, units)
                    })
                    .collect();
                let refund = compute(&r, Currency::GBP, &negated, false).unwrap();
                let neg =
                    |v: Vec<(i64, i64, i64)>| v.into_iter().map(|(a, b, c)| (-a, -b, -c)).collect::<Vec<_>>();
                assert_eq!(line_totals(&refund), neg(line_totals(&sale)), "{level}");
                assert_eq!(rate_totals(&refund), neg_rates(rate_totals(&sale)), "{level}");
            }
        }
        fn neg_rates(v: Vec<(&str, i64, i64)>) -> Vec<(&str, i64, i64)> {
            v.into_iter().map(|(id, b, a)| (id, -b, -a)).collect()
        }
    }

    #[test]
    fn input_errors_are_typed() {
        let r = ny("line");
        let err = compute(&r, Currency::GBP, &[line("books", 1, 100)], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"UNKNOWN_TAX_CATEGORY: tax category "books" has no rate and is not exempt in tax regime "test""#
        );
        let usd = TaxInputLine::uniform("general", 1, Money::new(1, Currency::USD));
        assert_eq!(compute(&r, Currency::GBP, &[usd], false).unwrap_err().code(), "CURRENCY_MISMATCH");
        let err = compute(&r, Currency::GBP, &[line("general", -1, 100)], false).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        // Net fits, net + tax does not.
        let err = compute(&r, Currency::GBP, &[line("general", 1, i64::MAX)], false).unwrap_err();
        assert_eq!(err.code(), "MONEY_OVERFLOW");
        let err = compute(&r, Currency::GBP, &[line("general", i64::MAX, i64::MAX)], false).unwrap_err();
        assert_eq!(err.code(), "MONEY_OVERFLOW");
        for level in ["unit", "line", "total"] {
            let r = uk("up", level);
            let huge = [line("standard", 1, i64::MAX), line("standard", 1, i64::MAX)];
            assert_eq!(
                compute(&r, Currency::GBP, &huge, false).unwrap_err().code(),
                "MONEY_OVERFLOW",
                "{level}"
            );
        }
        // An invalid regime built in code is refused too.
        let mut bad = ny("line");
        bad.rates[0].percent = crate::money::Percent::whole(101);
        assert_eq!(compute(&bad, Currency::GBP, &[], false).unwrap_err().code(), "INVALID_TAX_REGIME");
    }

    #[test]
    fn empty_orders_and_lines() {
        let b = compute(&ny("total"), Currency::GBP, &[], false).unwrap();
        assert!(b.lines.is_empty() && b.totals.is_empty());
        assert_eq!((b.net, b.tax, b.gross), (m(0), m(0), m(0)));
        let b = compute(&ny("unit"), Currency::GBP, &[TaxInputLine::new("general", vec![])], false).unwrap();
        assert_eq!(line_totals(&b), [(0, 0, 0)]);
        assert_eq!(rate_totals(&b), [("ny", 0, 0)]);
    }

    #[test]
    fn apportion_is_exact_and_symmetric() {
        let r = |n, d| Ratio::new(n, d).unwrap();
        // 0.4 + 0.4 + 0.4 + 0.4 + 0.4 = 2: two parts get a unit, the later ones.
        let shares = vec![r(2, 5); 5];
        assert_eq!(apportion(2, &shares).unwrap(), [0, 0, 0, 1, 1]);
        let negated: Vec<_> = shares.iter().map(Ratio::neg).collect();
        assert_eq!(apportion(-2, &negated).unwrap(), [0, 0, 0, -1, -1]);
        // Mixed signs (sale 1.5 and return -1.5, total 0): symmetric under negation.
        let mixed = [r(3, 2), r(-3, 2)];
        let parts = apportion(0, &mixed).unwrap();
        assert_eq!(parts.iter().sum::<i128>(), 0);
        let neg: Vec<_> = mixed.iter().map(Ratio::neg).collect();
        assert_eq!(apportion(0, &neg).unwrap(), parts.iter().map(|p| -p).collect::<Vec<_>>());
        // Whole shares stay whole; an impossible target is an error, not a panic.
        assert_eq!(apportion(3, &[r(0, 1), r(3, 1)]).unwrap(), [0, 3]);
        assert_eq!(apportion(5, &[r(0, 1), r(3, 1)]).unwrap_err().code(), "INVALID_ARGUMENT");
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;
    use crate::money::Percent;

    fn collect(split: impl FnOnce(&mut Vec<i128>) -> Result<()>) -> Vec<i128> {
        let mut out = vec![7]; // splits append: what was there stays
        split(&mut out).unwrap();
        assert_eq!(out.remove(0), 7);
        out
    }

    /// The native fast path gives exactly what the exact path gives, for every mode, target
    /// and sign, over awkward rates.
    #[test]
    fn simple_matches_exact() {
        for pct in ["20", "8.875", "7.7", "2.6", "0.000001", "99.999999", "0", "100"] {
            let json = format!(
                r#"{{"id":"x","prices_include_tax":true,"rounding":{{"mode":"half_even","level":"line"}},
                     "rates":[{{"id":"r","name":"r","categories":["c"],"percent":"{pct}"}}]}}"#
            );
            let regime = TaxRegime::from_json(&json).unwrap();
            let index = regime.index().unwrap();
            let chain = Chain::new("c", &[0], &index, false);
            let mut slow = Chain::new("c", &[0], &index, true);
            slow.simple = None;
            let p = Percent::parse(pct).unwrap();
            assert_eq!(chain.simple, Some(p.fraction()));
            for mode in RoundingMode::ALL {
                for amount in [-100_001i128, -999, -1, 0, 1, 99, 119, 999, 1_000_003, i128::from(i64::MAX)] {
                    for target in [InclusiveTarget::Tax, InclusiveTarget::Net] {
                        assert_eq!(
                            collect(|out| split_inclusive(0, amount, &chain, mode, target, out)),
                            collect(|out| split_inclusive(0, amount, &slow, mode, target, out)),
                            "{pct}% {amount} {mode} {target:?}"
                        );
                    }
                    assert_eq!(
                        collect(|out| split_exclusive(0, amount, &chain, &index, mode, out)),
                        collect(|out| split_exclusive(0, amount, &slow, &index, mode, out)),
                        "{pct}% {amount} {mode}"
                    );
                }
            }
        }
    }
}
