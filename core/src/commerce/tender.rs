//! Tenders: how a sale is paid (or a refund paid out), and how a return is refunded.
//!
//! Owns the settlement of a priced total against the tenders the customer offers (cash,
//! cards, gift cards, store credit), cash rounding, change, the offline-card limits of a
//! device, and the split of a refund back onto the tenders that paid. Pure: no SQLite, no
//! clock (the caller passes `now_ms`), no I/O. It must never store or accept a full card
//! number (every free-text field of a card authorisation goes through [`super::card_guard`]),
//! never give change on anything but cash, and never refund more than was paid.
//!
//! ## Settlement, in order
//! 1. Non-cash tenders apply first, in the order given (wherever cash sits in the list). Each
//!    must fit in what is still due: a card is never charged more than the sale, so there is
//!    never change on a card (`TENDER_EXCEEDS_DUE`).
//! 2. The rest is due in cash. With [`CashRounding`] configured, `cash_due =
//!    round_to_increment(rest)` and `cash_rounding = cash_due − rest` is recorded. Rounding
//!    applies to the cash part only: a sale paid entirely by card pays the exact total.
//!    If the rest rounds to zero (0.02 left with a 0.05 increment, half-up) nothing is due in
//!    cash and the sale settles with a rounding of −0.02, cash tender or not.
//! 3. Cash tenders apply in order; the last one needed may exceed what is left and gets the
//!    change. A cash tender after the cash due is covered is refused (`TENDER_EXCEEDS_DUE`),
//!    so change is always less than the cash handed over. Too little is `INSUFFICIENT_TENDER`.
//!
//! A negative total is a refund and settles the same way with negative amounts (money paid
//! out). The rounding modes are symmetric around zero, so a refund rounds like the sale it
//! mirrors; a refund never gives change, so cash must match the cash due exactly.
//!
//! ## Refunds of returns
//! [`refund_split`] sends a return's value back to the original tenders: non-cash first, in
//! their original order, each up to what it paid, then cash, with cumulative rounding
//! (`round(cash returned so far) − round(cash returned before)`), so partial returns never
//! refund more than was paid and all of them together refund exactly what was paid.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::card_guard;
use crate::error::{Error, Result};
use crate::money::{Money, RoundingMode};

/// Longest token, brand, authorisation code or gift card / credit reference accepted.
pub const MAX_TENDER_TEXT_LEN: usize = 128;

/// How a customer pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenderKind {
    Cash,
    Card,
    GiftCard,
    StoreCredit,
}

impl TenderKind {
    pub const ALL: [TenderKind; 4] =
        [TenderKind::Cash, TenderKind::Card, TenderKind::GiftCard, TenderKind::StoreCredit];

    /// The name used in JSON and every binding: `"cash"`, `"card"`, `"gift_card"`, `"store_credit"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TenderKind::Cash => "cash",
            TenderKind::Card => "card",
            TenderKind::GiftCard => "gift_card",
            TenderKind::StoreCredit => "store_credit",
        }
    }

    pub fn is_cash(self) -> bool {
        self == TenderKind::Cash
    }
}

impl fmt::Display for TenderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The record of an authorisation from the app's payment terminal. Never a card number: the
/// terminal keeps the card; Aisle keeps its token, brand and last four digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardAuth {
    /// The terminal's or acquirer's reference for the payment (used to refund it).
    pub token: String,
    /// e.g. `"VISA"`, `"MASTERCARD"`.
    pub brand: String,
    /// Exactly four digits.
    pub last4: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    /// Authorised by the terminal without reaching the acquirer; must be forwarded later and
    /// is subject to the device's [`OfflinePolicy`].
    #[serde(default)]
    pub offline: bool,
    /// When the terminal authorised it (Unix milliseconds).
    pub authorized_at_ms: i64,
}

impl CardAuth {
    /// Checks the record: no card number in any text field (`CARD_NUMBER_REFUSED`), `last4`
    /// exactly four digits, token and brand present, nothing over-long
    /// ([`MAX_TENDER_TEXT_LEN`]) or with control characters (`INVALID_TENDER`). `at` names
    /// the record in messages, e.g. `"tenders[0].card"`.
    pub fn validate(&self, at: &str) -> Result<()> {
        // The card guard runs first, so a full number typed into any field (last4 included)
        // is refused as such and never echoed back in another error.
        let fields: [(&str, Option<&str>); 4] = [
            ("token", Some(&self.token)),
            ("brand", Some(&self.brand)),
            ("last4", Some(&self.last4)),
            ("auth_code", self.auth_code.as_deref()),
        ];
        for (name, text) in fields {
            if let Some(text) = text {
                card_guard::check_free_text(&format!("{at}.{name}"), text)?;
            }
        }
        if self.last4.len() != 4 || !self.last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_tender(
                format!("{at}.last4"),
                format!("must be exactly the last 4 digits of the card, got {} characters", self.last4.chars().count()),
            ));
        }
        check_text(&format!("{at}.token"), &self.token, true)?;
        check_text(&format!("{at}.brand"), &self.brand, true)?;
        if let Some(code) = &self.auth_code {
            check_text(&format!("{at}.auth_code"), code, true)?;
        }
        Ok(())
    }

    /// What a receipt prints: `"VISA ****1111"`.
    pub fn label(&self) -> String {
        format!("{} ****{}", self.brand.trim(), self.last4)
    }
}

/// One tender offered for a sale (or, with a negative amount, paid out for a refund).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenderInput {
    pub kind: TenderKind,
    /// For cash: the cash handed over. For the others: the amount charged.
    pub amount: Money,
    /// Required for a card, refused for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardAuth>,
    /// The gift card or store credit id (required for those). Optional free text for cash and
    /// cards, where it is checked for card numbers like every card field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl TenderInput {
    pub fn cash(amount: Money) -> TenderInput {
        TenderInput { kind: TenderKind::Cash, amount, card: None, reference: None }
    }

    pub fn card(amount: Money, auth: CardAuth) -> TenderInput {
        TenderInput { kind: TenderKind::Card, amount, card: Some(auth), reference: None }
    }

    pub fn gift_card(amount: Money, reference: impl Into<String>) -> TenderInput {
        TenderInput { kind: TenderKind::GiftCard, amount, card: None, reference: Some(reference.into()) }
    }

    pub fn store_credit(amount: Money, reference: impl Into<String>) -> TenderInput {
        TenderInput { kind: TenderKind::StoreCredit, amount, card: None, reference: Some(reference.into()) }
    }
}

/// Cash rounding: the cash part of a payment is rounded to a multiple of `increment` minor
/// units (5 for CHF 0.05, 10 for SEK-style 0.10) with `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CashRounding {
    pub increment: i64,
    pub mode: RoundingMode,
}

impl CashRounding {
    /// `amount` rounded to the increment (`INVALID_ARGUMENT` for an increment below 1).
    pub fn apply(&self, amount: Money) -> Result<Money> {
        amount.round_to_increment(self.increment, self.mode)
    }

    fn validate(&self, path: &str) -> Result<()> {
        if self.increment < 1 {
            return Err(invalid_policy(
                format!("{path}.increment"),
                format!("must be at least 1 minor unit, got {}", self.increment),
            ));
        }
        Ok(())
    }
}

/// Limits on card payments the terminal authorised offline (without reaching the acquirer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflinePolicy {
    /// Largest single offline card payment.
    pub floor_limit: Money,
    /// Cap on the total of offline card payments outstanding (not yet forwarded) on this device.
    pub max_exposure: Money,
    /// An offline authorisation must be forwarded within this many milliseconds of being made.
    pub expiry_ms: i64,
}

/// How a device accepts tenders. JSON (schema `docs/schemas/tender-policy.schema.json`):
///
/// ```json
/// {
///   "cash_rounding": { "increment": 5, "mode": "half_up" },
///   "offline": {
///     "floor_limit": "50.00 CHF",
///     "max_exposure": { "minor": 50000, "currency": "CHF" },
///     "expiry_ms": 86400000
///   }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenderPolicy {
    /// `None`: cash is settled to the minor unit.
    #[serde(default)]
    pub cash_rounding: Option<CashRounding>,
    /// `None`: offline card authorisations are refused (`OFFLINE_NOT_ALLOWED`).
    #[serde(default)]
    pub offline: Option<OfflinePolicy>,
}

impl TenderPolicy {
    /// Reads and validates a policy from JSON. Every problem is `INVALID_TENDER_POLICY`
    /// naming the JSON path (`$.offline.floor_limit`). A top-level `"$schema"` string is
    /// accepted and ignored.
    pub fn from_json(text: &str) -> Result<TenderPolicy> {
        (|| -> Result<TenderPolicy> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| invalid_policy("$".into(), format!("not valid JSON: {e}")))?;
        TenderPolicy::from_json_value(&value)
    })().map_err(|e| crate::commerce::card_guard::scrub("tender policy", e))
    }

    /// Like [`TenderPolicy::from_json`], from an already parsed value.
    pub fn from_json_value(value: &Value) -> Result<TenderPolicy> {
        let mut value = value.clone();
        if let Some(map) = value.as_object_mut() {
            match map.remove("$schema") {
                None | Some(Value::String(_)) => {}
                Some(_) => return Err(invalid_policy("$.$schema".into(), "must be a string".into())),
            }
        }
        let policy: TenderPolicy = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "$".to_owned() } else { format!("$.{path}") };
            invalid_policy(path, e.inner().to_string())
        })?;
        policy.validate()?;
        Ok(policy)
    }

    /// The JSON form (amounts as `{"minor", "currency"}` objects).
    pub fn to_json(&self) -> String {
        // Integers, strings and enums only: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks what the types cannot: an increment of at least 1, non-negative limits in one
    /// currency, a positive expiry. Errors are `INVALID_TENDER_POLICY`.
    pub fn validate(&self) -> Result<()> {
        if let Some(r) = &self.cash_rounding {
            r.validate("$.cash_rounding")?;
        }
        if let Some(o) = &self.offline {
            if o.floor_limit.is_negative() {
                return Err(invalid_policy(
                    "$.offline.floor_limit".into(),
                    format!("must not be negative, got {}", o.floor_limit),
                ));
            }
            if o.max_exposure.is_negative() {
                return Err(invalid_policy(
                    "$.offline.max_exposure".into(),
                    format!("must not be negative, got {}", o.max_exposure),
                ));
            }
            if o.max_exposure.currency() != o.floor_limit.currency() {
                return Err(invalid_policy(
                    "$.offline.max_exposure".into(),
                    format!("is in {}, but floor_limit is in {}", o.max_exposure.currency(), o.floor_limit.currency()),
                ));
            }
            if o.expiry_ms < 1 {
                return Err(invalid_policy(
                    "$.offline.expiry_ms".into(),
                    format!("must be a positive number of milliseconds, got {}", o.expiry_ms),
                ));
            }
        }
        Ok(())
    }
}

/// One tender as settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledTender {
    pub kind: TenderKind,
    /// What this tender contributed to the sale (negative for a refund).
    pub amount: Money,
    /// What was handed over or charged; equals `amount` except for cash that got change.
    pub tendered: Money,
    /// `tendered − amount`; non-zero only on cash.
    pub change: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl SettledTender {
    /// What a receipt prints: `"Cash"`, `"VISA ****1111"`, `"Gift card ****0123"`,
    /// `"Store credit"`.
    pub fn label(&self) -> String {
        tender_label(self.kind, self.card.as_ref(), self.reference.as_deref())
    }
}

/// An offline card authorisation accepted by [`settle`]: the caller records an event for each
/// and forwards it before `expires_at_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineAuthorization {
    /// Index into the tenders given to [`settle`] (and into [`Settlement::tenders`]).
    pub tender_index: usize,
    pub amount: Money,
    pub expires_at_ms: i64,
}

/// How a total was paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// In the order the tenders were given.
    pub tenders: Vec<SettledTender>,
    /// The total after cash rounding: the sum of the tenders' `amount`s.
    pub due: Money,
    /// `due − total`; zero without cash rounding.
    pub cash_rounding: Money,
    /// Everything handed over or charged: the sum of `tendered`.
    pub paid: Money,
    /// Cash given back: `paid − due`.
    pub change: Money,
    pub offline_authorizations: Vec<OfflineAuthorization>,
}

/// Settles `total` (a sale if ≥ 0, a refund if < 0) against `tenders` under `policy` (see the
/// module docs for the order of operations). `offline_exposure` is the total of offline card
/// payments already outstanding on this device; `now_ms` the current time, for offline
/// authorisation expiry.
///
/// Errors: `CURRENCY_MISMATCH`, `INVALID_TENDER` (zero or wrong-signed amount, card data on the
/// wrong kind, missing reference…), `CARD_NUMBER_REFUSED`, `INVALID_TENDER_POLICY`,
/// `OFFLINE_NOT_ALLOWED`, `OFFLINE_LIMIT_EXCEEDED`, `TENDER_EXCEEDS_DUE`,
/// `INSUFFICIENT_TENDER`, `MONEY_OVERFLOW`, `INVALID_ARGUMENT` (negative exposure).
pub fn settle(
    total: Money,
    tenders: &[TenderInput],
    policy: &TenderPolicy,
    offline_exposure: Money,
    now_ms: i64,
) -> Result<Settlement> {
    policy.validate()?;
    let currency = total.currency();
    let zero = Money::zero(currency);
    same_currency(total, offline_exposure)?;
    if offline_exposure.is_negative() {
        return Err(Error::InvalidArgument(format!(
            "outstanding offline exposure must not be negative, got {offline_exposure}"
        )));
    }
    if let Some(offline) = &policy.offline {
        same_currency(total, offline.floor_limit)?;
    }
    let refund = total.is_negative();
    for (i, tender) in tenders.iter().enumerate() {
        same_currency(total, tender.amount)?;
        check_tender(i, tender, refund)?;
    }
    let offline_authorizations = check_offline(tenders, policy, offline_exposure, now_ms, refund)?;

    let mut applied = vec![zero; tenders.len()];
    let mut change = vec![zero; tenders.len()];

    // 1. Non-cash tenders, in order; none may exceed what is still due.
    let mut remaining = total;
    for (i, tender) in tenders.iter().enumerate().filter(|(_, t)| !t.kind.is_cash()) {
        if magnitude(tender.amount) > magnitude(remaining) {
            return Err(Error::TenderExceedsDue {
                index: i,
                kind: tender.kind.as_str().to_owned(),
                amount: tender.amount.to_string(),
                due: remaining.to_string(),
                reason: "only cash can give change".into(),
            });
        }
        remaining = remaining.checked_sub(tender.amount)?;
        applied[i] = tender.amount;
    }

    // 2. The rest is due in cash, rounded if the policy says so.
    let rest = remaining;
    let cash_due = match &policy.cash_rounding {
        Some(r) => r.apply(rest)?,
        None => rest,
    };
    let cash_rounding = cash_due.checked_sub(rest)?;

    // 3. Cash tenders, in order; the last one needed takes the change.
    let mut cash_left = cash_due;
    for (i, tender) in tenders.iter().enumerate().filter(|(_, t)| t.kind.is_cash()) {
        let exceeds = |reason: &str| Error::TenderExceedsDue {
            index: i,
            kind: tender.kind.as_str().to_owned(),
            amount: tender.amount.to_string(),
            due: cash_left.to_string(),
            reason: reason.to_owned(),
        };
        if cash_left.is_zero() {
            return Err(exceeds(if refund {
                "no more cash is to be paid out"
            } else {
                "no more cash is due, so this cash is not needed"
            }));
        }
        if magnitude(tender.amount) <= magnitude(cash_left) {
            applied[i] = tender.amount;
        } else if refund {
            return Err(exceeds("a refund gives no change"));
        } else {
            applied[i] = cash_left;
            change[i] = tender.amount.checked_sub(cash_left)?;
        }
        cash_left = cash_left.checked_sub(applied[i])?;
    }
    if !cash_left.is_zero() {
        let cash_applied = cash_due.checked_sub(cash_left)?;
        let mut missing = rest.checked_sub(cash_applied)?;
        if missing.is_negative() != cash_left.is_negative() {
            // Cash rounded up and partly paid: nothing is missing before rounding.
            missing = zero;
        }
        return Err(Error::InsufficientTender { missing: missing.to_string(), missing_in_cash: cash_left.to_string() });
    }

    let settled: Vec<SettledTender> = tenders
        .iter()
        .zip(applied.iter().zip(&change))
        .map(|(t, (&amount, &change))| SettledTender {
            kind: t.kind,
            amount,
            tendered: t.amount,
            change,
            card: t.card.clone(),
            reference: t.reference.clone(),
        })
        .collect();
    let due = total.checked_add(cash_rounding)?;
    let paid = Money::sum(currency, tenders.iter().map(|t| t.amount))?;
    let change_total = Money::sum(currency, change)?;
    Ok(Settlement { tenders: settled, due, cash_rounding, paid, change: change_total, offline_authorizations })
}

/// One part of a refund: what goes back to which original tender (`amount` is positive,
/// the money given back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundPart {
    pub kind: TenderKind,
    pub amount: Money,
    /// The original card authorisation to refund against (its token); `None` for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardAuth>,
    /// The original gift card / store credit id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Splits a refund over the tenders of the original sale.
///
/// `paid` are the original sale's settled tenders ([`Settlement::tenders`]);
/// `cash_rounding` the rounding that sale was settled with; `returned_before` the value of
/// goods already returned from this sale (≥ 0, before cash rounding, as recorded on the sale's
/// lines) and `returned_now` the value of the goods returned now.
///
/// Returned goods are refunded against non-cash tenders first, in their original order, each
/// up to what it paid minus what earlier returns already refunded to it; the remainder goes
/// to cash. The cash part is rounded cumulatively: with `c(x)` the cash share of `x` returned
/// in total, the cash refund now is `round(c(before + now)) − round(c(before))`. Rounding is
/// monotonic, so no refund is ever negative and the cash refunded never exceeds
/// `round(c(sale total))`, which is exactly the cash the sale took; returning everything, in
/// any number of steps, refunds exactly what was paid, tender by tender.
///
/// Parts with nothing to refund are left out; cash comes last, in one part. Errors:
/// `REFUND_EXCEEDS_PAID` when the returns would refund more cash than the sale took (more
/// returned than sold), `INVALID_ARGUMENT` for negative amounts or a refund settlement as
/// `paid`, `CURRENCY_MISMATCH`, `INVALID_TENDER_POLICY` for a bad increment.
pub fn refund_split(
    paid: &[SettledTender],
    cash_rounding: Option<CashRounding>,
    returned_before: Money,
    returned_now: Money,
) -> Result<Vec<RefundPart>> {
    let currency = returned_now.currency();
    let zero = Money::zero(currency);
    same_currency(returned_now, returned_before)?;
    if returned_before.is_negative() || returned_now.is_negative() {
        return Err(Error::InvalidArgument(format!(
            "returned amounts must not be negative, got {returned_before} before and {returned_now} now"
        )));
    }
    if let Some(r) = &cash_rounding {
        r.validate("$.cash_rounding")?;
    }
    for (i, t) in paid.iter().enumerate() {
        same_currency(returned_now, t.amount)?;
        if t.amount.is_negative() {
            return Err(Error::InvalidArgument(format!(
                "paid[{i}] is {}: refund_split refunds a sale, not a refund",
                t.amount
            )));
        }
    }
    let cum_before = returned_before;
    let cum_after = returned_before.checked_add(returned_now)?;

    let mut parts = Vec::new();
    let mut offset = zero; // what the earlier non-cash tenders paid
    for t in paid.iter().filter(|t| !t.kind.is_cash()) {
        let share = |cum: Money| -> Result<Money> { Ok(clamp(cum.checked_sub(offset)?, zero, t.amount)) };
        let now = share(cum_after)?.checked_sub(share(cum_before)?)?;
        if !now.is_zero() {
            parts.push(RefundPart { kind: t.kind, amount: now, card: t.card.clone(), reference: t.reference.clone() });
        }
        offset = offset.checked_add(t.amount)?;
    }
    let non_cash_paid = offset;
    let cash_paid = Money::sum(currency, paid.iter().filter(|t| t.kind.is_cash()).map(|t| t.amount))?;

    let cash_share = |cum: Money| -> Result<Money> {
        let c = cum.checked_sub(non_cash_paid)?;
        let c = if c.is_negative() { zero } else { c };
        match &cash_rounding {
            Some(r) => r.apply(c),
            None => Ok(c),
        }
    };
    let cash_after = cash_share(cum_after)?;
    if cash_after.minor() > cash_paid.minor() {
        return Err(Error::RefundExceedsPaid {
            returned: cum_after.to_string(),
            paid: non_cash_paid.checked_add(cash_paid)?.to_string(),
        });
    }
    let cash_now = cash_after.checked_sub(cash_share(cum_before)?)?;
    if !cash_now.is_zero() {
        parts.push(RefundPart { kind: TenderKind::Cash, amount: cash_now, card: None, reference: None });
    }
    Ok(parts)
}

/// The settlement of a refund split by [`refund_split`]. `total` is the refund's total before
/// cash rounding (negative: `−returned_now`). One tender per part, its amount negated (money
/// paid out), no change, and the difference the cumulative cash rounding made recorded as
/// `cash_rounding` (unlike a sale's, it can reach up to twice the increment, as it makes up
/// for the rounding of earlier returns). No offline checks: the terminal authorises card
/// refunds itself; `card` is the original authorisation to refund against.
///
/// Errors: `INVALID_ARGUMENT` for a positive total or a negative part, `CURRENCY_MISMATCH`,
/// `MONEY_OVERFLOW`.
pub fn refund_settlement(parts: &[RefundPart], total: Money) -> Result<Settlement> {
    let currency = total.currency();
    if total.minor() > 0 {
        return Err(Error::InvalidArgument(format!("a refund's total is negative (money paid out), got {total}")));
    }
    let mut tenders = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        same_currency(total, p.amount)?;
        if p.amount.is_negative() {
            return Err(Error::InvalidArgument(format!(
                "refund part [{i}] is {}, expected a positive amount",
                p.amount
            )));
        }
        let amount = p.amount.checked_neg()?;
        tenders.push(SettledTender {
            kind: p.kind,
            amount,
            tendered: amount,
            change: Money::zero(currency),
            card: p.card.clone(),
            reference: p.reference.clone(),
        });
    }
    let due = Money::sum(currency, tenders.iter().map(|t| t.amount))?;
    Ok(Settlement {
        tenders,
        due,
        cash_rounding: due.checked_sub(total)?,
        paid: due,
        change: Money::zero(currency),
        offline_authorizations: Vec::new(),
    })
}

/// A refund of `total` (negative) paid out entirely as store credit: one `store_credit`
/// tender for the whole amount, no rounding (credit is exact), no change. The caller issues
/// the credit and records its id.
pub fn store_credit_settlement(total: Money) -> Settlement {
    stored_value_settlement(total, TenderKind::StoreCredit, None)
}

/// A refund of `total` (negative) paid out entirely to one tender of `kind` (a gift card or
/// store credit), `reference` naming the account (`None`: new store credit the caller issues).
/// Exact: no rounding, no change.
pub fn stored_value_settlement(total: Money, kind: TenderKind, reference: Option<String>) -> Settlement {
    let zero = Money::zero(total.currency());
    Settlement {
        tenders: vec![SettledTender { kind, amount: total, tendered: total, change: zero, card: None, reference }],
        due: total,
        cash_rounding: zero,
        paid: total,
        change: zero,
        offline_authorizations: Vec::new(),
    }
}

/// `rest` (a sale's settlement of what was left to pay after `first`) with `first` put in
/// front of its tenders: an exchange's credit pays first, and the customer's tenders are
/// settled against the difference (so their errors name the customer's own tender indexes).
/// Settling `total − first` and then prepending gives what settling `total` with `first` as
/// the first tender would: non-cash tenders apply first, in order, and cash rounding applies
/// to what is left for cash. `first` must be a non-cash tender in `rest`'s currency.
pub fn with_first_tender(first: SettledTender, rest: Settlement) -> Result<Settlement> {
    same_currency(rest.due, first.amount)?;
    if first.kind.is_cash() {
        return Err(Error::InvalidArgument("the first tender of an exchange is not cash".into()));
    }
    let mut tenders = Vec::with_capacity(rest.tenders.len() + 1);
    let (due, paid) = (rest.due.checked_add(first.amount)?, rest.paid.checked_add(first.tendered)?);
    tenders.push(first);
    tenders.extend(rest.tenders);
    let offline_authorizations = rest
        .offline_authorizations
        .into_iter()
        .map(|a| OfflineAuthorization { tender_index: a.tender_index + 1, ..a })
        .collect();
    Ok(Settlement { tenders, due, cash_rounding: rest.cash_rounding, paid, change: rest.change, offline_authorizations })
}

/// What a receipt prints for a tender: `"Cash"`, `"VISA ****1111"`, `"Gift card ****0123"`,
/// `"Store credit"`. Gift card and credit references show their last four characters only.
pub fn tender_label(kind: TenderKind, card: Option<&CardAuth>, reference: Option<&str>) -> String {
    let masked = |base: &str| match reference.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => {
            let tail: String = r.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
            format!("{base} ****{tail}")
        }
        None => base.to_owned(),
    };
    match kind {
        TenderKind::Cash => "Cash".to_owned(),
        TenderKind::Card => card.map_or_else(|| "Card".to_owned(), CardAuth::label),
        TenderKind::GiftCard => masked("Gift card"),
        TenderKind::StoreCredit => masked("Store credit"),
    }
}

// ---- helpers ------------------------------------------------------------------------------

fn invalid_tender(at: String, reason: String) -> Error {
    Error::InvalidTender { at, reason }
}

fn invalid_policy(path: String, reason: String) -> Error {
    Error::InvalidTenderPolicy { path, reason }
}

fn same_currency(expected: Money, found: Money) -> Result<()> {
    if expected.currency() == found.currency() {
        Ok(())
    } else {
        Err(Error::CurrencyMismatch {
            expected: expected.currency().code().to_owned(),
            found: found.currency().code().to_owned(),
        })
    }
}

fn magnitude(m: Money) -> u64 {
    m.minor().unsigned_abs()
}

/// `m` limited to `[lo, hi]` (`lo <= hi`).
fn clamp(m: Money, lo: Money, hi: Money) -> Money {
    if m.minor() < lo.minor() {
        lo
    } else if m.minor() > hi.minor() {
        hi
    } else {
        m
    }
}

/// Non-empty (if `required`), at most [`MAX_TENDER_TEXT_LEN`] characters, no control characters.
fn check_text(at: &str, text: &str, required: bool) -> Result<()> {
    if required && text.trim().is_empty() {
        return Err(invalid_tender(at.to_owned(), "must not be empty".into()));
    }
    let len = text.chars().count();
    if len > MAX_TENDER_TEXT_LEN {
        return Err(invalid_tender(
            at.to_owned(),
            format!("must be at most {MAX_TENDER_TEXT_LEN} characters, got {len}"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid_tender(at.to_owned(), "must not contain control characters".into()));
    }
    Ok(())
}

/// Checks one tender on its own, before there is a total to settle: a non-zero amount, card
/// data only on a card (and required there), a reference on gift cards and store credit, no
/// card number anywhere (`INVALID_TENDER`, `CARD_NUMBER_REFUSED`; messages name `tender.…`).
/// [`settle`] runs the same checks (naming `tenders[i].…`) plus the sign of each amount.
pub fn check_input(tender: &TenderInput) -> Result<()> {
    check_fields("tender", tender)
}

fn check_tender(i: usize, t: &TenderInput, refund: bool) -> Result<()> {
    let prefix = format!("tenders[{i}]");
    check_fields(&prefix, t)?;
    let at = |field: &str| format!("{prefix}.{field}");
    if refund && !t.amount.is_negative() {
        return Err(invalid_tender(
            at("amount"),
            format!("is {}, but a refund's tenders are negative (money paid out)", t.amount),
        ));
    }
    if !refund && t.amount.is_negative() {
        return Err(invalid_tender(
            at("amount"),
            format!("is {}, but a sale's tenders are positive (settle a refund with a negative total)", t.amount),
        ));
    }
    Ok(())
}

fn check_fields(prefix: &str, t: &TenderInput) -> Result<()> {
    let at = |field: &str| format!("{prefix}.{field}");
    if t.amount.is_zero() {
        return Err(invalid_tender(at("amount"), "a tender must not be zero".into()));
    }
    match t.kind {
        TenderKind::Card => match &t.card {
            Some(card) => card.validate(&at("card"))?,
            None => return Err(invalid_tender(at("card"), "a card tender needs the terminal's authorisation".into())),
        },
        _ if t.card.is_some() => {
            return Err(invalid_tender(at("card"), format!("a {} tender carries no card authorisation", t.kind)));
        }
        _ => {}
    }
    match (t.kind, &t.reference) {
        (TenderKind::GiftCard | TenderKind::StoreCredit, None) => {
            return Err(invalid_tender(
                at("reference"),
                format!("a {} tender needs the id it is redeemed from", t.kind),
            ));
        }
        // Gift card numbers are often Luhn-valid by design (ISO/IEC 7812) and are not payment
        // card data, so settling (pure, nothing stored) does not run them through the card
        // guard. The stored-value ledger does, when a sale redeems them: an account id never
        // looks like a card number (`stored_value.rs`).
        (TenderKind::GiftCard | TenderKind::StoreCredit, Some(r)) => check_text(&at("reference"), r, true)?,
        (TenderKind::Cash | TenderKind::Card, Some(r)) => {
            card_guard::check_free_text(&at("reference"), r)?;
            check_text(&at("reference"), r, false)?;
        }
        (TenderKind::Cash | TenderKind::Card, None) => {}
    }
    Ok(())
}

/// Checks every offline card authorisation against the policy and lists the accepted ones.
/// Refunds to an offline card are held to the floor limit and must be forwarded in time, but
/// do not add to the exposure (they are not money the store may fail to collect).
fn check_offline(
    tenders: &[TenderInput],
    policy: &TenderPolicy,
    offline_exposure: Money,
    now_ms: i64,
    refund: bool,
) -> Result<Vec<OfflineAuthorization>> {
    let mut accepted = Vec::new();
    let mut exposure = offline_exposure;
    for (i, t) in tenders.iter().enumerate() {
        let Some(card) = t.card.as_ref().filter(|c| c.offline) else { continue };
        let Some(limits) = &policy.offline else {
            return Err(Error::OfflineNotAllowed { index: i });
        };
        if magnitude(t.amount) > magnitude(limits.floor_limit) {
            return Err(Error::OfflineLimitExceeded {
                index: i,
                limit: "floor_limit".into(),
                detail: format!(
                    "{} is more than the {} allowed for one offline card payment",
                    t.amount, limits.floor_limit
                ),
            });
        }
        if !refund {
            let after = exposure.checked_add(t.amount)?;
            if after.minor() > limits.max_exposure.minor() {
                return Err(Error::OfflineLimitExceeded {
                    index: i,
                    limit: "max_exposure".into(),
                    detail: format!(
                        "{} already outstanding offline plus {} would be {}, over the cap of {}",
                        exposure, t.amount, after, limits.max_exposure
                    ),
                });
            }
            exposure = after;
        }
        let expires_at_ms = card.authorized_at_ms.checked_add(limits.expiry_ms).ok_or_else(|| {
            invalid_tender(
                format!("tenders[{i}].card.authorized_at_ms"),
                format!("{} is out of range", card.authorized_at_ms),
            )
        })?;
        if now_ms >= expires_at_ms {
            return Err(Error::OfflineLimitExceeded {
                index: i,
                limit: "expiry_ms".into(),
                detail: format!(
                    "the authorisation made at {} ms expired at {} ms (now {} ms) and can no longer be forwarded",
                    card.authorized_at_ms, expires_at_ms, now_ms
                ),
            });
        }
        accepted.push(OfflineAuthorization { tender_index: i, amount: t.amount, expires_at_ms });
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn chf(minor: i64) -> Money {
        Money::new(minor, Currency::CHF)
    }

    fn auth(last4: &str) -> CardAuth {
        CardAuth {
            token: "tok_abc123".into(),
            brand: "VISA".into(),
            last4: last4.into(),
            auth_code: Some("A1B2C3".into()),
            offline: false,
            authorized_at_ms: 1_000,
        }
    }

    fn offline_auth(at_ms: i64) -> CardAuth {
        CardAuth { offline: true, auth_code: None, authorized_at_ms: at_ms, ..auth("1111") }
    }

    fn rounding_05() -> TenderPolicy {
        TenderPolicy { cash_rounding: Some(CashRounding { increment: 5, mode: RoundingMode::HalfUp }), offline: None }
    }

    fn offline_policy() -> TenderPolicy {
        TenderPolicy {
            cash_rounding: None,
            offline: Some(OfflinePolicy { floor_limit: chf(5_000), max_exposure: chf(10_000), expiry_ms: 60_000 }),
        }
    }

    fn go(total: i64, tenders: &[TenderInput], policy: &TenderPolicy) -> Result<Settlement> {
        settle(chf(total), tenders, policy, chf(0), 2_000)
    }

    fn applied(s: &Settlement) -> Vec<i64> {
        s.tenders.iter().map(|t| t.amount.minor()).collect()
    }

    #[test]
    fn cash_exact_and_with_change() {
        let s = go(1000, &[TenderInput::cash(chf(1000))], &TenderPolicy::default()).unwrap();
        assert_eq!((s.due, s.paid, s.change, s.cash_rounding), (chf(1000), chf(1000), chf(0), chf(0)));
        let s = go(1234, &[TenderInput::cash(chf(2000))], &TenderPolicy::default()).unwrap();
        assert_eq!(s.change, chf(766));
        assert_eq!(s.tenders[0].amount, chf(1234));
        assert_eq!(s.tenders[0].tendered, chf(2000));
        assert_eq!(s.tenders[0].change, chf(766));
    }

    #[test]
    fn cash_rounding_applies_to_the_cash_part_only() {
        // All cash: 12.32 → 12.30.
        let s = go(1232, &[TenderInput::cash(chf(2000))], &rounding_05()).unwrap();
        assert_eq!((s.due, s.cash_rounding, s.change), (chf(1230), chf(-2), chf(770)));
        // Card 10.00 of 12.33: 2.33 rest → 2.35 in cash.
        let s = go(1233, &[TenderInput::card(chf(1000), auth("1111")), TenderInput::cash(chf(500))], &rounding_05())
            .unwrap();
        assert_eq!(applied(&s), [1000, 235]);
        assert_eq!((s.due, s.cash_rounding, s.change, s.paid), (chf(1235), chf(2), chf(265), chf(1500)));
        // All card: the exact total, no rounding.
        let s = go(1233, &[TenderInput::card(chf(1233), auth("1111"))], &rounding_05()).unwrap();
        assert_eq!((s.due, s.cash_rounding), (chf(1233), chf(0)));
        // A rest that rounds to nothing settles without cash.
        let s = go(1002, &[TenderInput::card(chf(1000), auth("1111"))], &rounding_05()).unwrap();
        assert_eq!((s.due, s.cash_rounding), (chf(1000), chf(-2)));
        // ... and then cash is not needed.
        let err = go(1002, &[TenderInput::card(chf(1000), auth("1111")), TenderInput::cash(chf(5))], &rounding_05())
            .unwrap_err();
        assert_eq!(err.code(), "TENDER_EXCEEDS_DUE", "{err}");
    }

    #[test]
    fn non_cash_applies_first_in_the_order_given() {
        let tenders = [
            TenderInput::cash(chf(2000)),
            TenderInput::gift_card(chf(300), "GC-0001"),
            TenderInput::card(chf(500), auth("4242")),
        ];
        let s = go(1200, &tenders, &TenderPolicy::default()).unwrap();
        assert_eq!(applied(&s), [400, 300, 500]);
        assert_eq!(s.change, chf(1600));
        assert_eq!(s.tenders[2].card.as_ref().map(CardAuth::label).as_deref(), Some("VISA ****4242"));
    }

    #[test]
    fn several_cash_tenders_change_comes_from_the_last() {
        let s =
            go(1200, &[TenderInput::cash(chf(500)), TenderInput::cash(chf(1000))], &TenderPolicy::default()).unwrap();
        assert_eq!(applied(&s), [500, 700]);
        assert_eq!(s.tenders[1].change, chf(300));
        let err = go(1000, &[TenderInput::cash(chf(1000)), TenderInput::cash(chf(500))], &TenderPolicy::default())
            .unwrap_err();
        assert_eq!(err.code(), "TENDER_EXCEEDS_DUE");
        assert!(err.to_string().contains("tenders[1]"), "{err}");
    }

    #[test]
    fn no_change_on_cards() {
        let err = go(1000, &[TenderInput::card(chf(1500), auth("1111"))], &TenderPolicy::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TENDER_EXCEEDS_DUE: tenders[0] (card, 15.00 CHF) exceeds the 10.00 CHF still due: only cash can give change"
        );
        let err = go(
            1000,
            &[TenderInput::gift_card(chf(600), "GC-1"), TenderInput::store_credit(chf(600), "SC-1")],
            &TenderPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "TENDER_EXCEEDS_DUE");
        assert!(err.to_string().contains("tenders[1] (store_credit"), "{err}");
    }

    #[test]
    fn not_enough_says_what_is_missing() {
        let err = go(1000, &[TenderInput::cash(chf(500))], &TenderPolicy::default()).unwrap_err();
        assert_eq!(err.to_string(), "INSUFFICIENT_TENDER: 5.00 CHF is still due (5.00 CHF if paid in cash)");
        let err = go(1233, &[TenderInput::card(chf(1000), auth("1111"))], &rounding_05()).unwrap_err();
        assert_eq!(err.to_string(), "INSUFFICIENT_TENDER: 2.33 CHF is still due (2.35 CHF if paid in cash)");
        let err = go(1000, &[], &TenderPolicy::default()).unwrap_err();
        assert_eq!(err.code(), "INSUFFICIENT_TENDER");
    }

    #[test]
    fn zero_total() {
        let s = go(0, &[], &rounding_05()).unwrap();
        assert_eq!((s.due, s.paid, s.change), (chf(0), chf(0), chf(0)));
        assert!(s.tenders.is_empty());
        assert_eq!(go(0, &[TenderInput::cash(chf(100))], &rounding_05()).unwrap_err().code(), "TENDER_EXCEEDS_DUE");
    }

    #[test]
    fn refunds_settle_symmetrically() {
        // −12.33 in cash with 0.05 half-up: −12.35, rounding −0.02, no change.
        let s = go(-1233, &[TenderInput::cash(chf(-1235))], &rounding_05()).unwrap();
        assert_eq!((s.due, s.cash_rounding, s.change, s.paid), (chf(-1235), chf(-2), chf(0), chf(-1235)));
        let s = go(-1232, &[TenderInput::card(chf(-1000), auth("1111")), TenderInput::cash(chf(-230))], &rounding_05())
            .unwrap();
        assert_eq!(applied(&s), [-1000, -230]);
        assert_eq!(s.cash_rounding, chf(2));
        // Paying out too much cash, or anything to a card beyond the refund, is refused.
        assert_eq!(
            go(-1233, &[TenderInput::cash(chf(-2000))], &rounding_05()).unwrap_err().code(),
            "TENDER_EXCEEDS_DUE"
        );
        assert_eq!(
            go(-1000, &[TenderInput::card(chf(-1001), auth("1111"))], &TenderPolicy::default()).unwrap_err().code(),
            "TENDER_EXCEEDS_DUE"
        );
        assert_eq!(
            go(-1000, &[TenderInput::cash(chf(-500))], &TenderPolicy::default()).unwrap_err().code(),
            "INSUFFICIENT_TENDER"
        );
        // Signs must match the direction.
        let err = go(-1000, &[TenderInput::cash(chf(1000))], &TenderPolicy::default()).unwrap_err();
        assert_eq!(err.code(), "INVALID_TENDER");
        let err = go(1000, &[TenderInput::cash(chf(-1000))], &TenderPolicy::default()).unwrap_err();
        assert_eq!(err.code(), "INVALID_TENDER");
    }

    #[test]
    fn tender_validation() {
        let p = TenderPolicy::default();
        let code = |t: TenderInput| go(1000, &[t], &p).unwrap_err().code();
        assert_eq!(code(TenderInput::cash(chf(0))), "INVALID_TENDER");
        assert_eq!(code(TenderInput { card: None, ..TenderInput::card(chf(1000), auth("1111")) }), "INVALID_TENDER");
        assert_eq!(code(TenderInput { card: Some(auth("1111")), ..TenderInput::cash(chf(1000)) }), "INVALID_TENDER");
        assert_eq!(code(TenderInput { reference: None, ..TenderInput::gift_card(chf(1000), "x") }), "INVALID_TENDER");
        assert_eq!(code(TenderInput::store_credit(chf(1000), "  ")), "INVALID_TENDER");
        assert_eq!(code(TenderInput::card(chf(1000), auth("111"))), "INVALID_TENDER");
        assert_eq!(code(TenderInput::card(chf(1000), auth("11a1"))), "INVALID_TENDER");
        assert_eq!(code(TenderInput::card(chf(1000), CardAuth { brand: "".into(), ..auth("1111") })), "INVALID_TENDER");
        assert_eq!(
            code(TenderInput::card(chf(1000), CardAuth { token: "a\nb".into(), ..auth("1111") })),
            "INVALID_TENDER"
        );
        assert_eq!(
            code(TenderInput::card(chf(1000), CardAuth { token: "x".repeat(129), ..auth("1111") })),
            "INVALID_TENDER"
        );
        assert_eq!(code(TenderInput::cash(Money::new(1000, Currency::EUR))), "CURRENCY_MISMATCH");
        let err = go(1000, &[TenderInput::cash(chf(0))], &p).unwrap_err();
        assert_eq!(err.to_string(), "INVALID_TENDER: tenders[0].amount: a tender must not be zero");
        // A gift card number may well be Luhn-valid; it is an id, not card data.
        assert!(go(1000, &[TenderInput::gift_card(chf(1000), "6006491234567890123")], &p).is_ok());
    }

    #[test]
    fn card_numbers_are_refused_everywhere_in_a_card_tender() {
        let p = TenderPolicy::default();
        let cases = [
            (CardAuth { token: "4111111111111111".into(), ..auth("1111") }, "tenders[0].card.token"),
            (CardAuth { brand: "VISA 4111 1111 1111 1111".into(), ..auth("1111") }, "tenders[0].card.brand"),
            (CardAuth { auth_code: Some("5555-5555-5555-4444".into()), ..auth("1111") }, "tenders[0].card.auth_code"),
            (CardAuth { last4: "378282246310005".into(), ..auth("1111") }, "tenders[0].card.last4"),
        ];
        for (card, field) in cases {
            let err = go(1000, &[TenderInput::card(chf(1000), card)], &p).unwrap_err();
            assert_eq!(err.code(), "CARD_NUMBER_REFUSED", "{err}");
            assert!(err.to_string().contains(field), "{err}");
        }
        let err = go(
            1000,
            &[TenderInput {
                reference: Some("4111 1111 1111 1111".into()),
                ..TenderInput::card(chf(1000), auth("1111"))
            }],
            &p,
        )
        .unwrap_err();
        assert_eq!(err.code(), "CARD_NUMBER_REFUSED");
        assert!(!err.to_string().contains("4111"), "{err}");
    }

    #[test]
    fn offline_cards() {
        let now = 2_000;
        let p = offline_policy();
        // No offline policy: refused.
        let err = go(1000, &[TenderInput::card(chf(1000), offline_auth(1_000))], &TenderPolicy::default()).unwrap_err();
        assert_eq!(err.code(), "OFFLINE_NOT_ALLOWED");
        // Accepted and listed with its expiry.
        let s = settle(chf(4000), &[TenderInput::card(chf(4000), offline_auth(1_000))], &p, chf(0), now).unwrap();
        assert_eq!(
            s.offline_authorizations,
            vec![OfflineAuthorization { tender_index: 0, amount: chf(4000), expires_at_ms: 61_000 }]
        );
        // Over the floor limit.
        let err = settle(chf(6000), &[TenderInput::card(chf(6000), offline_auth(1_000))], &p, chf(0), now).unwrap_err();
        assert_eq!(err.code(), "OFFLINE_LIMIT_EXCEEDED");
        assert!(err.to_string().contains("floor_limit"), "{err}");
        // Pushing the device's exposure over the cap.
        let err =
            settle(chf(4000), &[TenderInput::card(chf(4000), offline_auth(1_000))], &p, chf(7000), now).unwrap_err();
        assert!(
            err.to_string().starts_with("OFFLINE_LIMIT_EXCEEDED: tenders[0] exceeds the offline max_exposure"),
            "{err}"
        );
        // Two offline cards in one sale add up.
        let two =
            [TenderInput::card(chf(4000), offline_auth(1_000)), TenderInput::card(chf(4000), offline_auth(1_000))];
        let err = settle(chf(8000), &two, &p, chf(3000), now).unwrap_err();
        assert!(err.to_string().contains("tenders[1] exceeds the offline max_exposure"), "{err}");
        assert_eq!(settle(chf(8000), &two, &p, chf(2000), now).unwrap().offline_authorizations.len(), 2);
        // Too old to forward.
        let err =
            settle(chf(1000), &[TenderInput::card(chf(1000), offline_auth(1_000))], &p, chf(0), 61_000).unwrap_err();
        assert!(err.to_string().contains("expiry_ms"), "{err}");
        // Online cards are not limited.
        let s = settle(chf(90000), &[TenderInput::card(chf(90000), auth("1111"))], &p, chf(10_000), now).unwrap();
        assert!(s.offline_authorizations.is_empty());
        // Refunds to an offline card: floor limit applies, exposure does not grow.
        let s =
            settle(chf(-4000), &[TenderInput::card(chf(-4000), offline_auth(1_000))], &p, chf(10_000), now).unwrap();
        assert_eq!(s.offline_authorizations[0].amount, chf(-4000));
        assert_eq!(
            settle(chf(-6000), &[TenderInput::card(chf(-6000), offline_auth(1_000))], &p, chf(0), now)
                .unwrap_err()
                .code(),
            "OFFLINE_LIMIT_EXCEEDED"
        );
        // Exposure in another currency, or negative.
        assert_eq!(go_err_code(settle(chf(1), &[], &p, Money::new(0, Currency::EUR), now)), "CURRENCY_MISMATCH");
        assert_eq!(go_err_code(settle(chf(0), &[], &p, chf(-1), now)), "INVALID_ARGUMENT");
    }

    fn go_err_code(r: Result<Settlement>) -> &'static str {
        r.unwrap_err().code()
    }

    #[test]
    fn policy_json() {
        let p = TenderPolicy::from_json(
            r#"{"$schema": "x", "cash_rounding": {"increment": 5, "mode": "half_up"},
                "offline": {"floor_limit": "50.00 CHF", "max_exposure": {"minor": 50000, "currency": "CHF"}, "expiry_ms": 86400000}}"#,
        )
        .unwrap();
        assert_eq!(p.cash_rounding, Some(CashRounding { increment: 5, mode: RoundingMode::HalfUp }));
        assert_eq!(p.offline.map(|o| o.floor_limit), Some(chf(5000)));
        assert_eq!(TenderPolicy::from_json(&p.to_json()).unwrap(), p);
        assert_eq!(TenderPolicy::from_json("{}").unwrap(), TenderPolicy::default());
        let bad = |json: &str| TenderPolicy::from_json(json).unwrap_err().to_string();
        assert_eq!(
            bad(r#"{"cash_rounding": {"increment": 0, "mode": "half_up"}}"#),
            "INVALID_TENDER_POLICY: $.cash_rounding.increment: must be at least 1 minor unit, got 0"
        );
        assert!(
            bad(r#"{"cash_rounding": {"increment": 5, "mode": "bankers"}}"#)
                .starts_with("INVALID_TENDER_POLICY: $.cash_rounding.mode")
        );
        assert!(bad(r#"{"cash_rounding": {"increment": 5}}"#).starts_with("INVALID_TENDER_POLICY: $.cash_rounding"));
        assert!(bad(r#"{"rounding": null}"#).starts_with("INVALID_TENDER_POLICY: $"));
        assert!(
            bad(r#"{"offline": {"floor_limit": 50, "max_exposure": "1.00 CHF", "expiry_ms": 1}}"#)
                .starts_with("INVALID_TENDER_POLICY: $.offline.floor_limit")
        );
        assert!(
            bad(r#"{"offline": {"floor_limit": "-1.00 CHF", "max_exposure": "1.00 CHF", "expiry_ms": 1}}"#)
                .starts_with("INVALID_TENDER_POLICY: $.offline.floor_limit: must not be negative")
        );
        assert!(
            bad(r#"{"offline": {"floor_limit": "1.00 CHF", "max_exposure": "1.00 EUR", "expiry_ms": 1}}"#)
                .starts_with("INVALID_TENDER_POLICY: $.offline.max_exposure")
        );
        assert!(
            bad(r#"{"offline": {"floor_limit": "1.00 CHF", "max_exposure": "1.00 CHF", "expiry_ms": 0}}"#)
                .starts_with("INVALID_TENDER_POLICY: $.offline.expiry_ms")
        );
        assert!(bad("[").starts_with("INVALID_TENDER_POLICY: $: not valid JSON"));
        assert!(bad(r#"{"$schema": 1}"#).starts_with("INVALID_TENDER_POLICY: $.$schema"));
        // A policy built in code is checked when used.
        let p =
            TenderPolicy { cash_rounding: Some(CashRounding { increment: -5, mode: RoundingMode::Up }), offline: None };
        assert_eq!(go_err_code(go(100, &[], &p)), "INVALID_TENDER_POLICY");
    }

    #[test]
    fn published_schema_examples_parse() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../docs/schemas/tender-policy.schema.json")).unwrap();
        let examples = schema["examples"].as_array().unwrap();
        assert!(!examples.is_empty());
        for ex in examples {
            TenderPolicy::from_json_value(ex).unwrap();
        }
    }

    #[test]
    fn settlement_json() {
        let s = go(1233, &[TenderInput::card(chf(1000), auth("1111")), TenderInput::cash(chf(500))], &rounding_05())
            .unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["due"], serde_json::json!({"minor": 1235, "currency": "CHF"}));
        assert_eq!(json["tenders"][0]["kind"], "card");
        assert_eq!(json["tenders"][0]["card"]["last4"], "1111");
        assert_eq!(json["tenders"][1]["change"]["minor"], 265);
        let back: Settlement = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        let input: TenderInput =
            serde_json::from_str(r#"{"kind": "gift_card", "amount": "5.00 CHF", "reference": "GC-9"}"#).unwrap();
        assert_eq!(input, TenderInput::gift_card(chf(500), "GC-9"));
    }

    fn sale(total: i64, tenders: &[TenderInput], policy: &TenderPolicy) -> Settlement {
        go(total, tenders, policy).unwrap()
    }

    fn parts(p: &[RefundPart]) -> Vec<(TenderKind, i64)> {
        p.iter().map(|p| (p.kind, p.amount.minor())).collect()
    }

    #[test]
    fn refunds_go_to_non_cash_first_then_cash() {
        // 50.03 paid: card 20.00, gift card 10.00, cash 20.05 (20.03 rounded).
        let r = Some(CashRounding { increment: 5, mode: RoundingMode::HalfUp });
        let s = sale(
            5003,
            &[
                TenderInput::cash(chf(5000)),
                TenderInput::card(chf(2000), auth("1111")),
                TenderInput::gift_card(chf(1000), "GC-7"),
            ],
            &rounding_05(),
        );
        assert_eq!(applied(&s), [2005, 2000, 1000]);
        // Return 25.00: card 20.00, gift card 5.00.
        let p1 = refund_split(&s.tenders, r, chf(0), chf(2500)).unwrap();
        assert_eq!(parts(&p1), [(TenderKind::Card, 2000), (TenderKind::GiftCard, 500)]);
        assert_eq!(p1[0].card.as_ref().map(|c| c.token.as_str()), Some("tok_abc123"));
        assert_eq!(p1[1].reference.as_deref(), Some("GC-7"));
        // Return 10.01 more: gift card 5.00, cash round(5.01) = 5.00.
        let p2 = refund_split(&s.tenders, r, chf(2500), chf(1001)).unwrap();
        assert_eq!(parts(&p2), [(TenderKind::GiftCard, 500), (TenderKind::Cash, 500)]);
        // The rest, 15.02: cash round(20.03) − round(5.01) = 20.05 − 5.00.
        let p3 = refund_split(&s.tenders, r, chf(3501), chf(1502)).unwrap();
        assert_eq!(parts(&p3), [(TenderKind::Cash, 1505)]);
        // Anything more is refused.
        let err = refund_split(&s.tenders, r, chf(5003), chf(5)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "REFUND_EXCEEDS_PAID: returns totalling 50.08 CHF would refund more than the 50.05 CHF paid"
        );
        // Returning 0 refunds nothing.
        assert!(refund_split(&s.tenders, r, chf(100), chf(0)).unwrap().is_empty());
    }

    #[test]
    fn cumulative_rounding_never_loses_or_gains() {
        // 10.06 in cash → 10.05 paid; returned as 5.03 + 5.03.
        let r = Some(CashRounding { increment: 5, mode: RoundingMode::HalfUp });
        let s = sale(1006, &[TenderInput::cash(chf(1100))], &rounding_05());
        assert_eq!(s.due, chf(1005));
        let a = refund_split(&s.tenders, r, chf(0), chf(503)).unwrap();
        let b = refund_split(&s.tenders, r, chf(503), chf(503)).unwrap();
        assert_eq!(parts(&a), [(TenderKind::Cash, 505)]);
        assert_eq!(parts(&b), [(TenderKind::Cash, 500)]);
        // The refund settlements record the rounding each made.
        let sa = refund_settlement(&a, chf(-503)).unwrap();
        assert_eq!((sa.due, sa.cash_rounding, sa.tenders[0].amount), (chf(-505), chf(-2), chf(-505)));
        let sb = refund_settlement(&b, chf(-503)).unwrap();
        assert_eq!((sb.due, sb.cash_rounding), (chf(-500), chf(3)));
    }

    #[test]
    fn refund_split_validates() {
        let s = sale(1000, &[TenderInput::cash(chf(1000))], &TenderPolicy::default());
        assert_eq!(refund_split(&s.tenders, None, chf(-1), chf(1)).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(
            refund_split(&s.tenders, None, chf(0), Money::new(1, Currency::EUR)).unwrap_err().code(),
            "CURRENCY_MISMATCH"
        );
        assert_eq!(
            refund_split(&s.tenders, Some(CashRounding { increment: 0, mode: RoundingMode::Up }), chf(0), chf(1))
                .unwrap_err()
                .code(),
            "INVALID_TENDER_POLICY"
        );
        assert_eq!(refund_split(&s.tenders, None, chf(0), chf(1001)).unwrap_err().code(), "REFUND_EXCEEDS_PAID");
        let refund = go(-1000, &[TenderInput::cash(chf(-1000))], &TenderPolicy::default()).unwrap();
        assert_eq!(refund_split(&refund.tenders, None, chf(0), chf(1)).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(refund_split(&[], None, chf(0), chf(1)).unwrap_err().code(), "REFUND_EXCEEDS_PAID");
    }

    #[test]
    fn labels() {
        assert_eq!(tender_label(TenderKind::Cash, None, None), "Cash");
        assert_eq!(tender_label(TenderKind::Card, Some(&auth("1111")), None), "VISA ****1111");
        assert_eq!(tender_label(TenderKind::GiftCard, None, Some("GC-000123")), "Gift card ****0123");
        assert_eq!(tender_label(TenderKind::StoreCredit, None, None), "Store credit");
        assert_eq!(serde_json::to_string(&TenderKind::GiftCard).unwrap(), "\"gift_card\"");
        for k in TenderKind::ALL {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        }
    }

    #[test]
    fn extreme_amounts_do_not_panic() {
        let p = rounding_05();
        for total in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
            let cash = TenderInput::cash(chf(total));
            let _ = go(total, &[cash.clone()], &p);
            let _ = go(total, &[cash, TenderInput::card(chf(total.signum()), auth("1111"))], &p);
        }
        let s = sale(100, &[TenderInput::cash(chf(100))], &TenderPolicy::default());
        assert_eq!(refund_split(&s.tenders, None, chf(i64::MAX), chf(1)).unwrap_err().code(), "MONEY_OVERFLOW");
        let huge = RefundPart { kind: TenderKind::Cash, amount: chf(i64::MAX), card: None, reference: None };
        assert_eq!(refund_settlement(&[huge.clone(), huge], chf(-1)).unwrap_err().code(), "MONEY_OVERFLOW");
        assert_eq!(refund_settlement(&[], chf(1)).unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
