//! Sales, refunds and their events: the moment a cart becomes a fact.
//!
//! Completing a cart prices it, settles its tenders and writes — in ONE SQLite transaction —
//! the sale record (lines, per-unit amounts, adjustments, taxes, tenders), queryable copies of
//! its lines and tenders, the redemption of its gift card and store credit tenders
//! ([`super::stored_value`]), promotion usage, a gap-free receipt number, and the events
//! (`SaleCompleted`, `OfflineCardAuthorized`) the forwarder ships. Either all of it is in the
//! file or none of it is. An exchange ([`Sales::exchange`]) writes its refund and its sale the
//! same way, together.
//!
//! Returns never re-price: each unit's paid amount and tax are recorded at sale time (the
//! line's gross and tax split over its units by largest remainder), and a return refunds the
//! lowest-paid units of a line first (so returning the free unit of a "buy one get one" gives
//! back nothing, as the customer paid nothing for it). All partial returns of a line together
//! refund exactly what the line cost; the tender split uses cumulative cash rounding (see
//! [`super::tender::refund_split`]).

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::cart::{Cart, Customer};
use super::pricing::{AppliedOut, LineAdjustment, PricedCart, Quantity, TaxOut};
use super::receipt::{Receipt, ReceiptLine, ReceiptTax, ReceiptTender};
use super::stored_value::{self, CreditMode, StoredValueKind, StoredValueMovement};
use super::tender::{self, SettledTender, Settlement, TenderInput, TenderKind};
use crate::edge::{Failure, Shared};
use crate::error::{Error, Result};
use crate::money::{Currency, Money, RoundingMode, allocate_minor, div_round, split_over_runs};

/// Version of the `SaleCompleted` / `RefundCompleted` event payload (`docs/schemas/`).
pub const SALE_EVENT_VERSION: i64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleKind {
    Sale,
    Refund,
}

/// `count` units that each paid `gross` (tax included) of which `tax` is tax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidUnits {
    pub count: i64,
    pub gross: Money,
    pub tax: Money,
}

/// One line of a sale (or refund: amounts negative).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    /// 1-based position on the receipt.
    pub line_no: u32,
    pub sku: String,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub base: Money,
    pub adjustments: Vec<LineAdjustment>,
    pub discount: Money,
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    pub taxes: Vec<TaxOut>,
    /// What each unit paid, lowest first: the amounts a return refunds.
    pub units: Vec<PaidUnits>,
    /// For a refund line: the original line it returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns_line: Option<u32>,
}

/// A completed sale or refund: the stored record and the event payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    pub receipt_no: String,
    pub kind: SaleKind,
    pub store_id: String,
    pub device_id: String,
    /// RFC 3339 instant.
    pub at: String,
    pub at_ms: i64,
    pub currency: Currency,
    pub cart_id: Option<String>,
    pub customer: Option<Customer>,
    pub lines: Vec<SaleLine>,
    pub subtotal: Money,
    pub discount: Money,
    pub net: Money,
    pub tax: Money,
    pub total: Money,
    pub taxes: Vec<TaxOut>,
    pub promotions: Vec<AppliedOut>,
    pub settlement: Settlement,
    /// For a refund: the receipt it returns against (None for a blind return).
    pub original: Option<String>,
    pub reason: Option<String>,
    /// What each gift card / store credit tender did to its account, in tender order: the
    /// account (for a refund to new store credit, the id it was given) and its balance after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored_value: Vec<StoredValueMovement>,
    /// For the two receipts of an exchange: the other one (the refund names the sale, the
    /// sale names the refund).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_with: Option<String>,
}

impl Sale {
    /// The store credit this refund issued or credited (the first one), e.g. to print or hand
    /// to the customer: `SC-<receipt number>` for new credit.
    pub fn store_credit_id(&self) -> Option<&str> {
        self.stored_value
            .iter()
            .find(|m| m.kind == StoredValueKind::StoreCredit && m.amount.minor() > 0)
            .map(|m| m.account_id.as_str())
    }
}

/// An exchange: the returned items and the new sale, recorded together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The return (kind `refund`, against the original receipt); its `exchange_with` is the
    /// sale's receipt number.
    pub refund: Sale,
    /// The new sale, numbered right after the refund; its `exchange_with` is the refund's.
    pub sale: Sale,
    /// What the customer paid on balance (positive) or was paid out (negative, incl. store
    /// credit): `sale.settlement.due + refund.settlement.due`.
    pub difference: Money,
}

/// What to return from a receipt: `quantity` units of line `line_no` (a weighed line: 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItem {
    pub line_no: u32,
    pub quantity: i64,
}

/// Where a refund goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundTo {
    /// Back to the tenders of the original sale (cards and gift cards first, then cash).
    #[default]
    OriginalTenders,
    /// As new store credit: an account `SC-<refund receipt number>` is opened with it.
    StoreCredit,
}

/// Where a refund is paid, inside this module: [`RefundTo`], or an account the app names.
#[derive(Clone, Copy, Debug)]
enum Payout<'a> {
    Original,
    NewCredit,
    Account(StoredValueKind, &'a str),
}

impl From<RefundTo> for Payout<'_> {
    fn from(r: RefundTo) -> Self {
        match r {
            RefundTo::OriginalTenders => Payout::Original,
            RefundTo::StoreCredit => Payout::NewCredit,
        }
    }
}

pub(crate) fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// Splits each line's gross and tax over its units (largest remainder by unit amount), lowest
/// paid first.
fn paid_units(runs: &[(i64, i64)], gross: i64, tax: i64, currency: Currency) -> Vec<PaidUnits> {
    // Refine runs by the gross split, then by the tax split.
    let split = |runs: &[(i64, i64, Vec<i64>)], total: i64| -> Vec<(i64, i64, Vec<i64>)> {
        let mut weights: Vec<(i64, u64)> = runs.iter().map(|(c, w, _)| (*c, (c * w).unsigned_abs())).collect();
        if weights.iter().all(|w| w.1 == 0) {
            weights = runs.iter().map(|(c, _, _)| (*c, c.unsigned_abs())).collect();
        }
        let Ok(parts) = split_over_runs(&weights, total) else { return runs.to_vec() };
        runs.iter()
            .zip(parts)
            .flat_map(|((_, w, vals), parts)| {
                parts.into_iter().map(move |(count, each)| {
                    let mut v = vals.clone();
                    v.push(each);
                    (count, *w, v)
                })
            })
            .collect()
    };
    let start: Vec<(i64, i64, Vec<i64>)> = runs.iter().filter(|(c, _)| *c > 0).map(|&(c, a)| (c, a, Vec::new())).collect();
    let refined = split(&split(&start, gross), tax);
    let mut out: Vec<PaidUnits> = refined
        .into_iter()
        .map(|(count, _, v)| PaidUnits {
            count,
            gross: Money::new(v.first().copied().unwrap_or(0), currency),
            tax: Money::new(v.get(1).copied().unwrap_or(0), currency),
        })
        .collect();
    out.sort_by(|a, b| a.gross.minor().cmp(&b.gross.minor()).then(a.tax.minor().cmp(&b.tax.minor())));
    // Merge equal neighbours.
    let mut merged: Vec<PaidUnits> = Vec::with_capacity(out.len());
    for u in out {
        match merged.last_mut() {
            Some(m) if m.gross == u.gross && m.tax == u.tax => m.count += u.count,
            _ => merged.push(u),
        }
    }
    merged
}

fn rfc3339(at: jiff::Timestamp) -> String {
    at.to_string()
}

impl Cart {
    /// Completes the sale: prices the cart now, settles `tenders`, and records everything in
    /// one transaction. Returns the sale; the cart is then closed.
    pub fn complete(&self, tenders: &[TenderInput]) -> Result<Sale> {
        self.complete_at(tenders, now())
    }

    /// [`Cart::complete`] as at `at` (for replays and tests).
    pub fn complete_at(&self, tenders: &[TenderInput], at: jiff::Timestamp) -> Result<Sale> {
        // Priced outside the write lock; recorded only if the cart did not change meanwhile
        // (another handle adding a line), else priced again.
        for _ in 0..3 {
            if let Some(sale) = self.try_complete(tenders, at)? {
                return Ok(sale);
            }
        }
        Err(Error::Store(format!("cart {:?} kept changing while it was being completed", self.id())))
    }

    fn try_complete(&self, tenders: &[TenderInput], at: jiff::Timestamp) -> Result<Option<Sale>> {
        let shared = self.shared().clone();
        let rules = shared.rules()?;
        let loaded = self.load(at.as_millisecond())?;
        if loaded.status != "open" {
            return Err(Error::CartClosed { id: self.id().to_owned(), status: loaded.status });
        }
        if loaded.lines.is_empty() {
            return Err(Error::InvalidArgument(format!("cart {:?} is empty: nothing to sell", self.id())));
        }
        let priced = self.price_loaded(&loaded, at, &rules)?;
        let policy = &rules.settings.tender_policy;
        let at_ms = at.as_millisecond();
        let exposure = offline_exposure(&shared, at_ms, self.currency())?;
        let settlement = tender::settle(priced.total, tenders, policy, exposure, at_ms)?;
        let cart_id = self.id().to_owned();
        let customer = loaded.customer.clone();
        shared.write(|tx| {
            let (status, revision): (String, i64) =
                tx.query_row("SELECT status, revision FROM cart WHERE id = ?1", [&cart_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if status != "open" {
                return Err(Error::CartClosed { id: cart_id.clone(), status }.into());
            }
            if revision != loaded.revision {
                return Ok(None);
            }
            let (seq, receipt_no) = next_receipt(tx, &shared)?;
            let mut sale = build_sale(&shared, receipt_no, at, Some(cart_id.clone()), customer.clone(), &priced, settlement.clone());
            post_stored_value(tx, &mut sale, CreditMode::Strict)?;
            insert_sale(tx, seq, &sale)?;
            record_sale_effects(tx, &sale)?;
            tx.prepare_cached("UPDATE cart SET status = 'completed' WHERE id = ?1")?.execute([&cart_id])?;
            Ok(Some(sale))
        })
    }
}

/// What a completed sale changes besides its own rows: promotion usage counts, and an
/// `OfflineCardAuthorized` event per offline card authorisation.
fn record_sale_effects(tx: &rusqlite::Connection, sale: &Sale) -> std::result::Result<(), Failure> {
    for p in &sale.promotions {
        let cust = sale.customer.as_ref().and_then(|c| c.id.clone()).unwrap_or_default();
        tx.prepare_cached(
            "INSERT INTO promotion_usage (promotion_id, customer_id, uses) VALUES (?1, ?2, 1)
             ON CONFLICT (promotion_id, customer_id) DO UPDATE SET uses = uses + 1",
        )?
        .execute(params![p.id, cust])?;
    }
    for auth in &sale.settlement.offline_authorizations {
        let payload = serde_json::json!({
            "receipt_no": sale.receipt_no,
            "store_id": sale.store_id,
            "device_id": sale.device_id,
            "authorization": auth,
            "card": sale.settlement.tenders.get(auth.tender_index).and_then(|t| t.card.clone()),
        });
        log_event(tx, "OfflineCardAuthorized", 1, sale.at_ms, &payload.to_string())?;
    }
    Ok(())
}

/// Moves the money of `sale`'s gift card and store credit tenders on the ledger, in the
/// caller's transaction, and records each movement on the sale. A positive tender redeems
/// its account (it must exist, be active, unexpired, in the currency and hold enough). A
/// negative one (a refund) credits its account per `mode`; one without an account (a refund
/// to new store credit), or whose original account cannot take it, opens or credits the
/// store credit `SC-<receipt number>`, and the tender is rewritten to name it. Zero tenders
/// move nothing.
fn post_stored_value(tx: &rusqlite::Connection, sale: &mut Sale, mode: CreditMode) -> std::result::Result<(), Failure> {
    let new_credit = format!("SC-{}", sale.receipt_no);
    let reason = sale.reason.clone();
    let mut movements = Vec::new();
    for i in 0..sale.settlement.tenders.len() {
        let t = &sale.settlement.tenders[i];
        let Some(kind) = StoredValueKind::of_tender(t.kind) else { continue };
        if t.amount.is_zero() {
            continue;
        }
        let amount = t.amount;
        let moved = amount.checked_neg()?;
        let (kind, account_id, balance_after) = if !amount.is_negative() {
            let id = t.reference.clone().ok_or_else(|| Error::InvalidTender {
                at: format!("tenders[{i}].reference"),
                reason: format!("a {} tender needs the id it is redeemed from", t.kind),
            })?;
            let field = format!("tenders[{i}].reference");
            let after = stored_value::redeem_in(tx, kind, &id, amount, sale.at_ms, &sale.receipt_no, &field)?;
            (kind, id, after)
        } else {
            let credited = match t.reference.clone() {
                Some(id) => stored_value::refund_in(tx, kind, &id, moved, sale.at_ms, &sale.receipt_no, reason.as_deref(), mode)?
                    .map(|after| (kind, id, after)),
                None => None,
            };
            match credited {
                Some(done) => done,
                None => {
                    let after =
                        stored_value::credit_new_store_credit(tx, &new_credit, moved, sale.at_ms, &sale.receipt_no, reason.as_deref())?;
                    let t = &mut sale.settlement.tenders[i];
                    t.kind = TenderKind::StoreCredit;
                    t.reference = Some(new_credit.clone());
                    (StoredValueKind::StoreCredit, new_credit.clone(), after)
                }
            }
        };
        movements.push(StoredValueMovement { tender_index: i, kind, account_id, amount: moved, balance_after });
    }
    sale.stored_value = movements;
    Ok(())
}

fn build_sale(
    shared: &Shared,
    receipt_no: String,
    at: jiff::Timestamp,
    cart_id: Option<String>,
    customer: Option<Customer>,
    priced: &PricedCart,
    settlement: Settlement,
) -> Sale {
    let cur = priced.currency;
    let lines = priced
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let runs: Vec<(i64, i64)> = l.units.iter().map(|r| (r.count, r.amount.minor())).collect();
            SaleLine {
                line_no: i as u32 + 1,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                base: l.base,
                adjustments: l.adjustments.clone(),
                discount: l.discount,
                net: l.net,
                tax: l.tax,
                gross: l.gross,
                taxes: l.taxes.clone(),
                units: paid_units(&runs, l.gross.minor(), l.tax.minor(), cur),
                returns_line: None,
            }
        })
        .collect();
    Sale {
        receipt_no,
        kind: SaleKind::Sale,
        store_id: shared.config().store_id.clone(),
        device_id: shared.config().device_id.clone(),
        at: rfc3339(at),
        at_ms: at.as_millisecond(),
        currency: cur,
        cart_id,
        customer,
        lines,
        subtotal: priced.subtotal,
        discount: priced.discount,
        net: priced.net,
        tax: priced.tax,
        total: priced.total,
        taxes: priced.taxes.clone(),
        promotions: priced.promotions.clone(),
        settlement,
        original: None,
        reason: None,
        stored_value: Vec::new(),
        exchange_with: None,
    }
}

fn next_receipt(tx: &rusqlite::Connection, shared: &Shared) -> std::result::Result<(i64, String), Failure> {
    let seq: i64 = tx
        .query_row("SELECT value FROM meta WHERE key = 'receipt_seq'", [], |r| r.get::<_, String>(0))
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        + 1;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('receipt_seq', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [seq.to_string()],
    )?;
    Ok((seq, format!("{}-{seq:06}", shared.config().device_id)))
}

fn insert_sale(tx: &rusqlite::Connection, seq: i64, sale: &Sale) -> std::result::Result<(), Failure> {
    let record = serde_json::to_string(sale).map_err(|e| Error::Store(format!("cannot encode sale: {e}")))?;
    let customer = sale.customer.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default());
    let kind = match sale.kind {
        SaleKind::Sale => "sale",
        SaleKind::Refund => "refund",
    };
    tx.prepare_cached(
        "INSERT INTO sale (receipt_no, seq, kind, cart_id, original, at_ms, currency, total_minor, customer, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        sale.receipt_no,
        seq,
        kind,
        sale.cart_id,
        sale.original,
        sale.at_ms,
        sale.currency.code(),
        sale.total.minor(),
        customer,
        record
    ])?;
    for l in &sale.lines {
        let (units, grams) = match l.quantity {
            Quantity::Units(n) => (n, None),
            Quantity::Grams(g) => (1, Some(g)),
        };
        tx.prepare_cached(
            "INSERT INTO sale_line (receipt_no, line_no, sku, units, grams, amount_minor, tax_minor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![sale.receipt_no, l.line_no, l.sku, units, grams, l.gross.minor(), l.tax.minor()])?;
    }
    for (i, t) in sale.settlement.tenders.iter().enumerate() {
        tx.prepare_cached("INSERT INTO sale_tender (receipt_no, idx, kind, amount_minor) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![sale.receipt_no, i as i64, tender_kind_str(t.kind), t.amount.minor()])?;
    }
    let event = match sale.kind {
        SaleKind::Sale => "SaleCompleted",
        SaleKind::Refund => "RefundCompleted",
    };
    log_event(tx, event, SALE_EVENT_VERSION, sale.at_ms, &record)?;
    Ok(())
}

fn tender_kind_str(k: TenderKind) -> &'static str {
    match k {
        TenderKind::Cash => "cash",
        TenderKind::Card => "card",
        TenderKind::GiftCard => "gift_card",
        TenderKind::StoreCredit => "store_credit",
    }
}

/// Records a commerce event twice in the caller's transaction: in the device's journal
/// (`event_log`, kept, read by offline-exposure checks) and in the `commerce` stream, the
/// outbox that exporters forward to HQ (and free once acknowledged). Both commit with the sale
/// or neither does.
pub(crate) fn log_event(tx: &rusqlite::Connection, kind: &str, version: i64, at_ms: i64, payload: &str) -> std::result::Result<(), Failure> {
    tx.prepare_cached("INSERT INTO event_log (type, version, at_ms, payload) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![kind, version, at_ms, payload])?;
    crate::forward::ensure_stream_in(tx, &commerce_stream())?;
    let envelope = format!(
        "{{\"type\":{},\"version\":{version},\"at_ms\":{at_ms},\"data\":{payload}}}",
        serde_json::Value::from(kind)
    );
    crate::forward::append_in(tx, COMMERCE_STREAM, envelope.as_bytes(), at_ms)?;
    Ok(())
}

/// The stream commerce events are forwarded from.
pub const COMMERCE_STREAM: &str = "commerce";

/// Its settings when commerce creates it: durable, 1 GiB, and full means *refuse the sale*
/// rather than lose a recorded one (an application may change the cap with `streams.create`).
pub(crate) fn commerce_stream() -> crate::forward::StreamConfig {
    crate::forward::StreamConfig::durable(COMMERCE_STREAM, 1 << 30, crate::forward::WhenFull::Reject).with_priority(100)
}

/// Outstanding offline card authorisations: recorded and not yet expired. (Store-and-forward
/// will also drop them once HQ confirms them.)
fn offline_exposure(shared: &Shared, now_ms: i64, currency: Currency) -> Result<Money> {
    let minor: i64 = shared.read(|c| {
        Ok(c.prepare_cached(
            "SELECT COALESCE(SUM(json_extract(payload, '$.authorization.amount.minor')), 0) FROM event_log
             WHERE type = 'OfflineCardAuthorized' AND json_extract(payload, '$.authorization.expires_at_ms') > ?1",
        )?
        .query_row([now_ms], |r| r.get(0))?)
    })?;
    Ok(Money::new(minor, currency))
}

/// Sales, refunds and returns of one store: a view over the store file.
#[derive(Clone)]
pub struct Sales {
    pub(crate) shared: Shared,
}

impl Sales {
    /// The sale or refund with this receipt number.
    pub fn get(&self, receipt_no: &str) -> Result<Sale> {
        let record: Option<String> = self.shared.read(|c| {
            Ok(c.prepare_cached("SELECT record FROM sale WHERE receipt_no = ?1")?.query_row([receipt_no], |r| r.get(0)).optional()?)
        })?;
        let record = record.ok_or_else(|| Error::UnknownReceipt { receipt_no: receipt_no.to_owned() })?;
        serde_json::from_str(&record).map_err(|e| Error::Store(format!("sale {receipt_no} is unreadable: {e}")))
    }

    /// Receipt numbers, oldest first.
    pub fn receipt_numbers(&self) -> Result<Vec<String>> {
        self.shared.read(|c| {
            Ok(c.prepare_cached("SELECT receipt_no FROM sale ORDER BY seq")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    /// Units already returned of each line of `receipt_no`.
    pub fn returned_units(&self, receipt_no: &str) -> Result<Vec<(u32, i64)>> {
        self.shared.read(|c| {
            Ok(c.prepare_cached("SELECT line_no, units FROM sale_returned WHERE receipt_no = ?1 ORDER BY line_no")?
                .query_map([receipt_no], |r| Ok((r.get::<_, u32>(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Returns items of a sale: refunds the recorded amounts of the lowest-paid units first,
    /// to the original tenders (or as new store credit), in one transaction with its event. A
    /// gift card or store credit that paid is credited back; if it is gone from this device,
    /// closed or expired, that part goes to new store credit instead (a frozen one refuses:
    /// `STORED_VALUE_FROZEN`).
    pub fn return_items(&self, receipt_no: &str, items: &[ReturnItem], reason: &str, refund_to: RefundTo) -> Result<Sale> {
        self.return_items_at(receipt_no, items, reason, refund_to, now())
    }

    pub fn return_items_at(
        &self,
        receipt_no: &str,
        items: &[ReturnItem],
        reason: &str,
        refund_to: RefundTo,
        at: jiff::Timestamp,
    ) -> Result<Sale> {
        self.refund_items(receipt_no, items, reason, refund_to.into(), at)
    }

    /// Like [`Sales::return_items`], refunding the whole amount to an existing gift card or
    /// store credit account the app names (e.g. the customer's store credit). The account must
    /// be active, unexpired and in the sale's currency (`STORED_VALUE_*` errors otherwise).
    pub fn return_items_to_account(
        &self,
        receipt_no: &str,
        items: &[ReturnItem],
        reason: &str,
        kind: StoredValueKind,
        account_id: &str,
    ) -> Result<Sale> {
        self.return_items_to_account_at(receipt_no, items, reason, kind, account_id, now())
    }

    pub fn return_items_to_account_at(
        &self,
        receipt_no: &str,
        items: &[ReturnItem],
        reason: &str,
        kind: StoredValueKind,
        account_id: &str,
        at: jiff::Timestamp,
    ) -> Result<Sale> {
        stored_value::check_id(kind, account_id)?;
        self.refund_items(receipt_no, items, reason, Payout::Account(kind, account_id), at)
    }

    fn refund_items(&self, receipt_no: &str, items: &[ReturnItem], reason: &str, payout: Payout<'_>, at: jiff::Timestamp) -> Result<Sale> {
        let (original, rules) = self.check_return(receipt_no, items, reason, at)?;
        let cur = original.currency;
        let shared = self.shared.clone();
        shared.clone().write(|tx| {
            let before = returned_before(tx, receipt_no)?;
            let (lines, refund_total, refund_tax) = take_return(tx, &original, items)?;
            let total = Money::new(-refund_total, cur);
            let (settlement, mode) = match payout {
                Payout::Original => {
                    let parts = tender::refund_split(
                        &original.settlement.tenders,
                        rules.settings.tender_policy.cash_rounding,
                        Money::new(before, cur),
                        Money::new(refund_total, cur),
                    )?;
                    (tender::refund_settlement(&parts, total)?, CreditMode::Original)
                }
                Payout::NewCredit => (tender::store_credit_settlement(total), CreditMode::Strict),
                Payout::Account(kind, id) => {
                    (tender::stored_value_settlement(total, kind.tender_kind(), Some(id.to_owned())), CreditMode::Strict)
                }
            };
            let (seq, refund_no) = next_receipt(tx, &shared)?;
            let mut refund = refund_record(&shared, refund_no, at, &original, lines, refund_total, refund_tax, settlement, reason);
            post_stored_value(tx, &mut refund, mode)?;
            insert_sale(tx, seq, &refund)?;
            Ok(refund)
        })
    }

    /// What every return against a receipt checks before writing: a reason (no card number
    /// in it), at least one item, a sale (not a refund) within the return window.
    fn check_return(
        &self,
        receipt_no: &str,
        items: &[ReturnItem],
        reason: &str,
        at: jiff::Timestamp,
    ) -> Result<(Sale, std::sync::Arc<crate::edge::Rules>)> {
        if reason.trim().is_empty() {
            return Err(Error::InvalidArgument("a return needs a reason".into()));
        }
        super::card_guard::check_free_text("return reason", reason)?;
        if items.is_empty() {
            return Err(Error::InvalidArgument("a return needs at least one item".into()));
        }
        let original = self.get(receipt_no)?;
        if original.kind != SaleKind::Sale {
            return Err(Error::ReturnRefused { receipt_no: receipt_no.to_owned(), reason: "it is itself a refund".into() });
        }
        let rules = self.shared.rules()?;
        if let Some(days) = rules.settings.returns.return_days {
            let age_ms = at.as_millisecond() - original.at_ms;
            if age_ms > i64::from(days) * 86_400_000 {
                return Err(Error::ReturnRefused { receipt_no: receipt_no.to_owned(), reason: format!("sold more than {days} days ago") });
            }
        }
        Ok((original, rules))
    }

    /// Exchanges: returns `items` of `original_receipt` and sells `new_cart` in ONE
    /// transaction, as two linked receipts numbered one after the other (the refund, then the
    /// sale; each names the other in `exchange_with`).
    ///
    /// The value of the returned goods pays for the new sale first, as store credit passing
    /// through the account `SC-<refund receipt number>` (credited by the refund, redeemed by
    /// the sale, so the ledger shows the exchange). If the new cart costs more, the customer
    /// pays the difference with `tenders` (settled like [`Cart::complete`], errors naming the
    /// customer's own tender indexes). If it costs less, `tenders` must be empty and the excess
    /// goes per `excess_to`: back to the original tenders (cards and gift cards first, then
    /// cash, cumulative cash rounding as for any return) or left as store credit on that same
    /// `SC-…` account. Either every row is written or none (receipt numbers stay gap-free).
    ///
    /// Errors: those of [`Sales::return_items`] and [`Cart::complete`];
    /// `INVALID_ARGUMENT` for a new cart of another store.
    pub fn exchange(
        &self,
        original_receipt: &str,
        items: &[ReturnItem],
        new_cart: &Cart,
        tenders: &[TenderInput],
        reason: &str,
        excess_to: RefundTo,
    ) -> Result<Exchange> {
        self.exchange_at(original_receipt, items, new_cart, tenders, reason, excess_to, now())
    }

    /// [`Sales::exchange`] as at `at`.
    #[allow(clippy::too_many_arguments)]
    pub fn exchange_at(
        &self,
        original_receipt: &str,
        items: &[ReturnItem],
        new_cart: &Cart,
        tenders: &[TenderInput],
        reason: &str,
        excess_to: RefundTo,
        at: jiff::Timestamp,
    ) -> Result<Exchange> {
        let (original, rules) = self.check_return(original_receipt, items, reason, at)?;
        if new_cart.shared().config() != self.shared.config() {
            return Err(Error::InvalidArgument(format!("cart {:?} belongs to another store", new_cart.id())));
        }
        let ask = ExchangeAsk { original: &original, items, tenders, reason, excess_to, at };
        for _ in 0..3 {
            if let Some(done) = self.try_exchange(&ask, new_cart, &rules)? {
                return Ok(done);
            }
        }
        Err(Error::Store(format!("cart {:?} kept changing while it was being completed", new_cart.id())))
    }

    fn try_exchange(&self, ask: &ExchangeAsk<'_>, cart: &Cart, rules: &crate::edge::Rules) -> Result<Option<Exchange>> {
        let shared = self.shared.clone();
        let at = ask.at;
        let at_ms = at.as_millisecond();
        let loaded = cart.load(at_ms)?;
        if loaded.status != "open" {
            return Err(Error::CartClosed { id: cart.id().to_owned(), status: loaded.status });
        }
        if loaded.lines.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "cart {:?} is empty: an exchange sells something (use return_items for a plain return)",
                cart.id()
            )));
        }
        let priced = cart.price_loaded(&loaded, at, rules)?;
        let cur = ask.original.currency;
        if priced.currency != cur {
            return Err(Error::CurrencyMismatch { expected: cur.code().to_owned(), found: priced.currency.code().to_owned() });
        }
        let exposure = offline_exposure(&shared, at_ms, cur)?;
        let policy = &rules.settings.tender_policy;
        let cart_id = cart.id().to_owned();
        let original = ask.original;
        shared.write(|tx| {
            let (status, revision): (String, i64) =
                tx.query_row("SELECT status, revision FROM cart WHERE id = ?1", [&cart_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if status != "open" {
                return Err(Error::CartClosed { id: cart_id.clone(), status }.into());
            }
            if revision != loaded.revision {
                return Ok(None);
            }
            // The return.
            let before = returned_before(tx, &original.receipt_no)?;
            let (lines, returned, returned_tax) = take_return(tx, original, ask.items)?;
            let credit = returned.min(priced.total.minor()).max(0);
            let excess = returned - credit;
            let (refund_seq, refund_no) = next_receipt(tx, &shared)?;
            let (sale_seq, sale_no) = next_receipt(tx, &shared)?;
            let credit_account = format!("SC-{refund_no}");
            let refund_total = Money::new(-returned, cur);
            let refund_settlement = match ask.excess_to {
                // All of it to the exchange's store credit; the sale takes what it needs.
                RefundTo::StoreCredit => tender::store_credit_settlement(refund_total),
                RefundTo::OriginalTenders => {
                    let mut parts = Vec::new();
                    if credit > 0 {
                        parts.push(tender::RefundPart {
                            kind: TenderKind::StoreCredit,
                            amount: Money::new(credit, cur),
                            card: None,
                            reference: None,
                        });
                    }
                    parts.extend(tender::refund_split(
                        &original.settlement.tenders,
                        policy.cash_rounding,
                        Money::new(before, cur),
                        Money::new(excess, cur),
                    )?);
                    tender::refund_settlement(&parts, refund_total)?
                }
            };
            let mut refund =
                refund_record(&shared, refund_no, at, original, lines, returned, returned_tax, refund_settlement, ask.reason);
            refund.exchange_with = Some(sale_no.clone());
            post_stored_value(tx, &mut refund, CreditMode::Original)?;

            // The sale: the credit first, the customer's tenders for the rest.
            let rest = tender::settle(priced.total.checked_sub(Money::new(credit, cur))?, ask.tenders, policy, exposure, at_ms)?;
            let settlement = if credit > 0 {
                let credit = Money::new(credit, cur);
                let first = SettledTender {
                    kind: TenderKind::StoreCredit,
                    amount: credit,
                    tendered: credit,
                    change: Money::zero(cur),
                    card: None,
                    reference: Some(credit_account),
                };
                tender::with_first_tender(first, rest)?
            } else {
                rest
            };
            let mut sale = build_sale(&shared, sale_no, at, Some(cart_id.clone()), loaded.customer.clone(), &priced, settlement);
            sale.exchange_with = Some(refund.receipt_no.clone());
            post_stored_value(tx, &mut sale, CreditMode::Strict)?;

            insert_sale(tx, refund_seq, &refund)?;
            insert_sale(tx, sale_seq, &sale)?;
            // Linked once both rows exist (each references the other).
            for (a, b) in [(&refund.receipt_no, &sale.receipt_no), (&sale.receipt_no, &refund.receipt_no)] {
                tx.prepare_cached("UPDATE sale SET exchange_with = ?2 WHERE receipt_no = ?1")?.execute(params![a, b])?;
            }
            record_sale_effects(tx, &sale)?;
            tx.prepare_cached("UPDATE cart SET status = 'completed' WHERE id = ?1")?.execute([&cart_id])?;
            let difference = sale.settlement.due.checked_add(refund.settlement.due)?;
            Ok(Some(Exchange { refund, sale, difference }))
        })
    }

    /// A return without a receipt, if the store's policy allows blind returns: each item is
    /// refunded at its current shelf price (price lists, no promotions) with the store's tax,
    /// capped by `returns.blind_max`, in cash (cash-rounded) or as store credit.
    pub fn blind_return(&self, items: &[(String, i64)], reason: &str, refund_to: RefundTo) -> Result<Sale> {
        self.blind_return_at(items, reason, refund_to, now())
    }

    pub fn blind_return_at(&self, items: &[(String, i64)], reason: &str, refund_to: RefundTo, at: jiff::Timestamp) -> Result<Sale> {
        let refused = |why: String| Error::ReturnRefused { receipt_no: "(none: blind return)".into(), reason: why };
        let rules = self.shared.rules()?;
        let policy = &rules.settings.returns;
        if !policy.blind_returns {
            return Err(refused("the store does not accept returns without a receipt".into()));
        }
        if reason.trim().is_empty() {
            return Err(Error::InvalidArgument("a return needs a reason".into()));
        }
        super::card_guard::check_free_text("return reason", reason)?;
        if items.is_empty() {
            return Err(Error::InvalidArgument("a return needs at least one item".into()));
        }
        // Price the items as a plain cart would be priced, without promotions or discounts.
        let regime = rules.settings.tax_regime.as_ref().ok_or_else(|| {
            Error::InvalidArgument("the store has no tax regime: set one in the store settings".into())
        })?;
        let cur = self.shared.config().currency;
        let catalog = super::Catalog { shared: self.shared.clone() };
        let ctx = super::price_list::PriceContext::new(&self.shared.config().store_id, &rules.settings.channel, at.as_millisecond(), cur);
        let mut lines = Vec::with_capacity(items.len());
        for (sku, quantity) in items {
            let product = catalog.get(sku)?;
            if product.sold_by != super::SoldBy::Unit {
                return Err(refused(format!("{sku} is sold by weight and cannot be returned without a receipt")));
            }
            let price = catalog.resolve_price(sku, &ctx)?;
            lines.push(super::pricing::PricingLine {
                sku: sku.clone(),
                name: product.name,
                quantity: Quantity::Units(*quantity),
                unit_price: price.amount,
                tax_category: product.tax_category,
                categories: Vec::new(),
                tags: Vec::new(),
                price_override: None,
                discount: None,
            });
        }
        let no_promotions = super::promotions::PromotionSet::new(&[], cur)?;
        let priced = super::pricing::price(
            &lines,
            &super::pricing::PricingContext {
                currency: cur,
                promotions: &no_promotions,
                mode: super::promotions::Mode::Priority,
                tax_regime: regime,
                customer_tax_exempt: false,
                promo: super::promotions::PromoContext::new(at, rules.settings.time_zone()?),
                rounding: rules.settings.rounding,
                approval_above_percent: None,
                order_discount: None,
            },
        )?;
        if let Some(max) = policy.blind_max {
            if priced.total.minor() > max.minor() {
                return Err(refused(format!("{} is more than the {} a blind return may refund", priced.total, max)));
            }
        }
        let total = priced.total.checked_neg()?;
        let settlement = match refund_to {
            RefundTo::StoreCredit => tender::store_credit_settlement(total),
            RefundTo::OriginalTenders => {
                let cash = match rules.settings.tender_policy.cash_rounding {
                    Some(r) => r.apply(priced.total)?,
                    None => priced.total,
                };
                let part = tender::RefundPart { kind: TenderKind::Cash, amount: cash, card: None, reference: None };
                tender::refund_settlement(&[part], total)?
            }
        };
        let shared = self.shared.clone();
        let reason = reason.to_owned();
        shared.clone().write(|tx| {
            let (seq, refund_no) = next_receipt(tx, &shared)?;
            let mut sale = build_sale(&shared, refund_no, at, None, None, &priced, settlement);
            sale.kind = SaleKind::Refund;
            sale.reason = Some(reason);
            for l in &mut sale.lines {
                for m in [&mut l.base, &mut l.net, &mut l.tax, &mut l.gross] {
                    *m = Money::new(-m.minor(), cur);
                }
                l.units.clear();
            }
            for m in [&mut sale.subtotal, &mut sale.net, &mut sale.tax, &mut sale.total] {
                *m = Money::new(-m.minor(), cur);
            }
            for t in &mut sale.taxes {
                t.base = Money::new(-t.base.minor(), cur);
                t.amount = Money::new(-t.amount.minor(), cur);
            }
            post_stored_value(tx, &mut sale, CreditMode::Strict)?;
            insert_sale(tx, seq, &sale)?;
            Ok(sale)
        })
    }

    /// A receipt for `receipt_no`, as structured data (render it with `render_text`).
    pub fn receipt(&self, receipt_no: &str) -> Result<Receipt> {
        let sale = self.get(receipt_no)?;
        let rules = self.shared.rules()?;
        Ok(receipt_of(&sale, &rules.settings))
    }
}

/// What an exchange was asked to do (the arguments of [`Sales::exchange_at`] but the cart).
struct ExchangeAsk<'a> {
    original: &'a Sale,
    items: &'a [ReturnItem],
    tenders: &'a [TenderInput],
    reason: &'a str,
    excess_to: RefundTo,
    at: jiff::Timestamp,
}

/// Inside a return's transaction: checks `items` against what is left to return of
/// `original`, records them as returned, and gives the refund lines (negative amounts) with
/// the refund's gross and tax (positive).
fn take_return(
    tx: &rusqlite::Connection,
    original: &Sale,
    items: &[ReturnItem],
) -> std::result::Result<(Vec<SaleLine>, i64, i64), Failure> {
    let receipt_no = original.receipt_no.as_str();
    let cur = original.currency;
    let mut lines = Vec::new();
    let mut refund_total = 0i64;
    let mut refund_tax = 0i64;
    for item in items {
        let line = original.lines.iter().find(|l| l.line_no == item.line_no).ok_or_else(|| Error::ReturnRefused {
            receipt_no: receipt_no.to_owned(),
            reason: format!("it has no line {}", item.line_no),
        })?;
        let already: i64 = tx
            .prepare_cached("SELECT units FROM sale_returned WHERE receipt_no = ?1 AND line_no = ?2")?
            .query_row(params![receipt_no, item.line_no], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let sold = line.quantity.units();
        if item.quantity < 1 || already + item.quantity > sold {
            return Err(Error::ReturnRefused {
                receipt_no: receipt_no.to_owned(),
                reason: format!(
                    "line {} sold {sold} unit(s), {already} already returned; cannot return {}",
                    item.line_no, item.quantity
                ),
            }
            .into());
        }
        // Units `already .. already + quantity` in lowest-paid-first order.
        let (gross, tax) = take_units(&line.units, already, item.quantity);
        tx.prepare_cached(
            "INSERT INTO sale_returned (receipt_no, line_no, units) VALUES (?1, ?2, ?3)
             ON CONFLICT (receipt_no, line_no) DO UPDATE SET units = excluded.units",
        )?
        .execute(params![receipt_no, item.line_no, already + item.quantity])?;
        refund_total += gross;
        refund_tax += tax;
        let quantity = match line.quantity {
            Quantity::Units(_) => Quantity::Units(item.quantity),
            q @ Quantity::Grams(_) => q,
        };
        let taxes = refund_taxes(line, already, item.quantity);
        lines.push(SaleLine {
            line_no: lines.len() as u32 + 1,
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity,
            unit_price: line.unit_price,
            base: Money::new(-gross, cur),
            adjustments: Vec::new(),
            discount: Money::zero(cur),
            net: Money::new(-(gross - tax), cur),
            tax: Money::new(-tax, cur),
            gross: Money::new(-gross, cur),
            taxes,
            units: vec![],
            returns_line: Some(line.line_no),
        });
    }
    Ok((lines, refund_total, refund_tax))
}

/// The value of goods already returned from `receipt_no` by every refund against it
/// (exchanges included), before cash rounding: the cumulative base of the tender split.
fn returned_before(tx: &rusqlite::Connection, receipt_no: &str) -> std::result::Result<i64, Failure> {
    Ok(tx
        .prepare_cached(
            "SELECT COALESCE(-SUM(l.amount_minor), 0) FROM sale_line l JOIN sale s ON s.receipt_no = l.receipt_no
             WHERE s.original = ?1",
        )?
        .query_row([receipt_no], |r| r.get(0))?)
}

/// The record of a refund against `original` of `lines` worth `total` (positive) incl. `tax`.
#[allow(clippy::too_many_arguments)]
fn refund_record(
    shared: &Shared,
    receipt_no: String,
    at: jiff::Timestamp,
    original: &Sale,
    lines: Vec<SaleLine>,
    total: i64,
    tax: i64,
    settlement: Settlement,
    reason: &str,
) -> Sale {
    let cur = original.currency;
    Sale {
        receipt_no,
        kind: SaleKind::Refund,
        store_id: shared.config().store_id.clone(),
        device_id: shared.config().device_id.clone(),
        at: rfc3339(at),
        at_ms: at.as_millisecond(),
        currency: cur,
        cart_id: None,
        customer: original.customer.clone(),
        subtotal: Money::new(-total, cur),
        discount: Money::zero(cur),
        net: Money::new(-(total - tax), cur),
        tax: Money::new(-tax, cur),
        total: Money::new(-total, cur),
        taxes: sum_taxes(&lines),
        promotions: Vec::new(),
        lines,
        settlement,
        original: Some(original.receipt_no.clone()),
        reason: Some(reason.to_owned()),
        stored_value: Vec::new(),
        exchange_with: None,
    }
}

/// The per-rate tax (and base) of returning units `already .. already + n` of `line`, negative.
/// Each rate's share of the returned tax is allocated cumulatively (share of the first
/// `already + n` units minus share of the first `already`), so all returns of a line together
/// give back exactly each rate's tax and base.
fn refund_taxes(line: &SaleLine, already: i64, n: i64) -> Vec<TaxOut> {
    let cur = line.gross.currency();
    let weights: Vec<u64> = line.taxes.iter().map(|t| t.amount.minor().unsigned_abs()).collect();
    // Cumulative (net, tax) of the first k units.
    let upto = |k: i64| {
        let (g, t) = take_units(&line.units, 0, k);
        (g - t, t)
    };
    // Each rate's tax in the first k units: the units' tax split by the rates' amounts (exact
    // at k = all, where the split reproduces each amount); its base: the rate's base scaled by
    // the units' net (exact at k = all too).
    let per_rate = |k: i64| -> Vec<(i64, i64)> {
        let (net, tax) = upto(k);
        let taxes = if weights.iter().any(|w| *w > 0) { allocate_minor(tax, &weights).unwrap_or_default() } else { Vec::new() };
        line.taxes
            .iter()
            .enumerate()
            .map(|(r, t)| {
                let base = if line.net.is_zero() {
                    0
                } else {
                    div_round(i128::from(t.base.minor()) * i128::from(net), i128::from(line.net.minor()), RoundingMode::HalfEven)
                        as i64
                };
                (base, taxes.get(r).copied().unwrap_or(0))
            })
            .collect()
    };
    let (before, after) = (per_rate(already), per_rate(already + n));
    line.taxes
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(t, ((b0, t0), (b1, t1)))| TaxOut {
            rate_id: t.rate_id.clone(),
            percent: t.percent,
            base: Money::new(-(b1 - b0), cur),
            amount: Money::new(-(t1 - t0), cur),
        })
        .collect()
}

/// A refund's tax summary: its lines' rates summed by rate id, in first-seen order.
fn sum_taxes(lines: &[SaleLine]) -> Vec<TaxOut> {
    let mut out: Vec<TaxOut> = Vec::new();
    for t in lines.iter().flat_map(|l| &l.taxes) {
        match out.iter_mut().find(|o| o.rate_id == t.rate_id) {
            Some(o) => {
                o.base = Money::new(o.base.minor() + t.base.minor(), o.base.currency());
                o.amount = Money::new(o.amount.minor() + t.amount.minor(), o.amount.currency());
            }
            None => out.push(t.clone()),
        }
    }
    out
}

/// Gross and tax of `n` units starting after the first `skip` units (lowest paid first).
fn take_units(units: &[PaidUnits], skip: i64, n: i64) -> (i64, i64) {
    let (mut skip, mut need) = (skip, n);
    let (mut gross, mut tax) = (0i64, 0i64);
    for u in units {
        let mut avail = u.count;
        let s = skip.min(avail);
        skip -= s;
        avail -= s;
        let k = avail.min(need);
        gross += k * u.gross.minor();
        tax += k * u.tax.minor();
        need -= k;
        if need == 0 {
            break;
        }
    }
    (gross, tax)
}

pub(crate) fn receipt_of(sale: &Sale, settings: &super::settings::StoreSettings) -> Receipt {
    let local = settings
        .time_zone()
        .ok()
        .and_then(|tz| jiff::Timestamp::from_millisecond(sale.at_ms).ok().map(|t| tz.to_datetime(t).to_string()))
        .unwrap_or_else(|| sale.at.clone());
    Receipt {
        store_name: settings.store_name.clone(),
        store_id: sale.store_id.clone(),
        device_id: sale.device_id.clone(),
        receipt_no: sale.receipt_no.clone(),
        at: local,
        lines: sale
            .lines
            .iter()
            .map(|l| ReceiptLine {
                name: l.name.clone(),
                quantity_text: match l.quantity {
                    Quantity::Units(n) => n.to_string(),
                    Quantity::Grams(g) => format!("{}.{:03} kg", g / 1000, g % 1000),
                },
                unit_price: l.unit_price,
                // After discounts, in the shelf-price basis (the renderer shows the discounts).
                amount: if sale.kind == SaleKind::Refund { l.gross } else { Money::new(l.base.minor() - l.discount.minor(), l.base.currency()) },
                discounts: l
                    .adjustments
                    .iter()
                    .map(|a| super::receipt::ReceiptDiscount { label: a.label.clone(), amount: a.amount })
                    .collect(),
                tax_code: l.taxes.first().map(|t| t.rate_id.clone()).unwrap_or_default(),
            })
            .collect(),
        subtotal: sale.subtotal,
        discount_total: sale.discount,
        tax_summary: sale.taxes.iter().map(|t| ReceiptTax { label: format!("{} {}%", t.rate_id, t.percent), base: t.base, amount: t.amount }).collect(),
        total: sale.total,
        cash_rounding: sale.settlement.cash_rounding,
        tenders: sale
            .settlement
            .tenders
            .iter()
            .enumerate()
            .map(|(i, t)| ReceiptTender {
                balance: sale.stored_value.iter().find(|m| m.tender_index == i).map(|m| m.balance_after),
                ..ReceiptTender::from_settled(t)
            })
            .collect(),
        change: sale.settlement.change,
        footer: settings.receipt_footer.clone(),
        is_refund: sale.kind == SaleKind::Refund,
        original_receipt_no: sale.original.clone(),
        exchange_with: sale.exchange_with.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paid_units_split_exactly_lowest_first() {
        // B1G1: one unit paid 12.00 gross incl. 2.00 tax, the other free.
        let u = paid_units(&[(1, 1200), (1, 0)], 1200, 200, Currency::EUR);
        assert_eq!(u[0].gross.minor(), 0);
        assert_eq!(u[1].gross.minor(), 1200);
        assert_eq!(u.iter().map(|x| x.tax.minor() * x.count).sum::<i64>(), 200);
        // 10.00 gross over 3 equal units: 3.33, 3.33, 3.34.
        let u = paid_units(&[(3, 333)], 1000, 167, Currency::EUR);
        assert_eq!(u.iter().map(|x| x.count * x.gross.minor()).sum::<i64>(), 1000);
        assert_eq!(u.iter().map(|x| x.count * x.tax.minor()).sum::<i64>(), 167);
        assert_eq!(take_units(&u, 0, 3), (1000, 167));
        let (a, _) = take_units(&u, 0, 1);
        let (b, _) = take_units(&u, 1, 2);
        assert_eq!(a + b, 1000);
    }
}
