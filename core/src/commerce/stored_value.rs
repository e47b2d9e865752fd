//! Stored value: gift cards and store credit as accounts with an append-only ledger.
//!
//! Owns the accounts (keyed by kind and id: a gift card and a store credit may share an id),
//! their entries (issue, load, redeem, refund, adjust, and the freeze / unfreeze / close status
//! changes), and the checks a redemption must pass. A sale paid with a gift card or store
//! credit redeems it in the sale's own SQLite transaction (see `sale.rs`); a refund to one
//! credits it the same way. Nothing here is ever updated or deleted: the schema refuses
//! changes to an entry, keeps the account's balance as the sum of its entries (a trigger), and
//! refuses a negative balance (a `CHECK`), so the rules below hold even against a bug here.
//!
//! It must never let a balance go negative, move money on a frozen or closed account, or store
//! a card number: account ids and reasons pass the card guard, so an id that looks like a
//! payment card number (13–19 digits passing Luhn) is refused with `CARD_NUMBER_REFUSED`.
//!
//! The ledger is the device's own: see `docs/commerce.md` ("Stored value") for what that means
//! for stores with several registers before sync (issue 5) makes HQ the authority.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::card_guard;
use super::tender::TenderKind;
use crate::edge::{Failure, Shared};
use crate::error::{Error, Result};
use crate::money::{Currency, Money};

/// Longest account id (a gift card number, a store credit id).
pub const MAX_ACCOUNT_ID_LEN: usize = 128;
/// Longest reason on an entry.
pub const MAX_REASON_LEN: usize = 256;

/// The two kinds of stored value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredValueKind {
    /// A card sold (or given) to a customer, usually with a printed number.
    GiftCard,
    /// Credit the store owes a customer, usually from a refund.
    StoreCredit,
}

impl StoredValueKind {
    pub const ALL: [StoredValueKind; 2] = [StoredValueKind::GiftCard, StoredValueKind::StoreCredit];

    /// `"gift_card"` or `"store_credit"`, as stored and as tenders spell them.
    pub fn as_str(self) -> &'static str {
        match self {
            StoredValueKind::GiftCard => "gift_card",
            StoredValueKind::StoreCredit => "store_credit",
        }
    }

    /// The tender that spends this kind.
    pub fn tender_kind(self) -> TenderKind {
        match self {
            StoredValueKind::GiftCard => TenderKind::GiftCard,
            StoredValueKind::StoreCredit => TenderKind::StoreCredit,
        }
    }

    /// The stored value a tender spends, if any (`None` for cash and cards).
    pub fn of_tender(kind: TenderKind) -> Option<StoredValueKind> {
        match kind {
            TenderKind::GiftCard => Some(StoredValueKind::GiftCard),
            TenderKind::StoreCredit => Some(StoredValueKind::StoreCredit),
            TenderKind::Cash | TenderKind::Card => None,
        }
    }
}

impl std::fmt::Display for StoredValueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an account can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Can be loaded and redeemed.
    Active,
    /// Held (e.g. reported stolen): no loads, redemptions or refunds until unfrozen; a manager
    /// can still adjust it.
    Frozen,
    /// For good: nothing moves any more.
    Closed,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Frozen => "frozen",
            AccountStatus::Closed => "closed",
        }
    }

    fn parse(s: &str) -> Option<AccountStatus> {
        [AccountStatus::Active, AccountStatus::Frozen, AccountStatus::Closed].into_iter().find(|k| k.as_str() == s)
    }
}

/// What an entry of the ledger records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// The first value put on a new account (amount > 0).
    Issue,
    /// More value put on an existing account (amount > 0).
    Load,
    /// Spent as a tender of a sale (amount < 0).
    Redeem,
    /// Given back by a refund or an exchange (amount > 0).
    Refund,
    /// A manager's correction, with a reason (amount ≠ 0).
    Adjust,
    /// Status changes (amount 0).
    Freeze,
    Unfreeze,
    Close,
}

impl EntryType {
    pub const ALL: [EntryType; 8] = [
        EntryType::Issue,
        EntryType::Load,
        EntryType::Redeem,
        EntryType::Refund,
        EntryType::Adjust,
        EntryType::Freeze,
        EntryType::Unfreeze,
        EntryType::Close,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryType::Issue => "issue",
            EntryType::Load => "load",
            EntryType::Redeem => "redeem",
            EntryType::Refund => "refund",
            EntryType::Adjust => "adjust",
            EntryType::Freeze => "freeze",
            EntryType::Unfreeze => "unfreeze",
            EntryType::Close => "close",
        }
    }

    fn parse(s: &str) -> Option<EntryType> {
        EntryType::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A gift card or store credit account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValueAccount {
    pub kind: StoredValueKind,
    pub id: String,
    pub currency: Currency,
    /// The sum of the account's entries; never negative.
    pub balance: Money,
    pub status: AccountStatus,
    /// From this instant (Unix milliseconds) on, the account can no longer be loaded or
    /// redeemed; `None`: it does not expire.
    pub expires_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

impl StoredValueAccount {
    /// Whether the account has expired at `at_ms`.
    pub fn is_expired_at(&self, at_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|e| at_ms >= e)
    }
}

/// One entry of an account's ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValueEntry {
    /// Position in the device's ledger (increasing, shared by all accounts).
    pub seq: i64,
    pub kind: StoredValueKind,
    pub account_id: String,
    pub entry_type: EntryType,
    /// Signed: credits positive, redemptions negative, status changes zero.
    pub amount: Money,
    /// The balance after this entry.
    pub balance_after: Money,
    pub at_ms: i64,
    /// The sale or refund that moved the money, if any.
    pub receipt_no: Option<String>,
    pub reason: Option<String>,
}

/// What a sale or refund did to one stored-value account (one per gift card / store credit
/// tender, in tender order), as recorded on the [`super::Sale`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValueMovement {
    /// Index into the sale's `settlement.tenders`.
    pub tender_index: usize,
    pub kind: StoredValueKind,
    pub account_id: String,
    /// Signed: negative for a redemption, positive for a credit.
    pub amount: Money,
    pub balance_after: Money,
}

/// Gift cards and store credit of one store file: a view over the device's ledger.
#[derive(Clone)]
pub struct StoredValue {
    pub(crate) shared: Shared,
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

impl StoredValue {
    /// Issues a new account with `amount` (> 0) on it, in `amount`'s currency, expiring at
    /// `expires_at_ms` (Unix milliseconds, in the future) or never. `reason` may be empty.
    /// `STORED_VALUE_EXISTS` if the id is taken for this kind; `CARD_NUMBER_REFUSED` if the id or
    /// reason looks like a card number.
    pub fn issue(
        &self,
        kind: StoredValueKind,
        id: &str,
        amount: Money,
        expires_at_ms: Option<i64>,
        reason: &str,
    ) -> Result<StoredValueAccount> {
        self.issue_at(kind, id, amount, expires_at_ms, reason, now())
    }

    /// [`StoredValue::issue`] as at `at`.
    pub fn issue_at(
        &self,
        kind: StoredValueKind,
        id: &str,
        amount: Money,
        expires_at_ms: Option<i64>,
        reason: &str,
        at: jiff::Timestamp,
    ) -> Result<StoredValueAccount> {
        check_id(kind, id)?;
        let reason = check_reason(reason, false)?;
        check_positive("issue", amount)?;
        let at_ms = at.as_millisecond();
        if let Some(e) = expires_at_ms {
            if e <= at_ms {
                return Err(Error::InvalidArgument(format!(
                    "a new {kind} must expire after it is issued: expires_at_ms {e} is not after {at_ms}"
                )));
            }
        }
        self.shared.write(|tx| {
            let account = create(tx, kind, id, amount.currency(), expires_at_ms, at_ms)?;
            append(tx, &account, EntryType::Issue, amount.minor(), at_ms, None, reason.as_deref())?;
            Ok(get(tx, kind, id)?)
        })
    }

    /// Puts `amount` (> 0) more on an active, unexpired account.
    pub fn load(&self, kind: StoredValueKind, id: &str, amount: Money, reason: &str) -> Result<StoredValueAccount> {
        self.load_at(kind, id, amount, reason, now())
    }

    pub fn load_at(
        &self,
        kind: StoredValueKind,
        id: &str,
        amount: Money,
        reason: &str,
        at: jiff::Timestamp,
    ) -> Result<StoredValueAccount> {
        check_id(kind, id)?;
        let reason = check_reason(reason, false)?;
        check_positive("load", amount)?;
        let at_ms = at.as_millisecond();
        self.shared.write(|tx| {
            let account = get(tx, kind, id)?;
            check_usable(&account, at_ms)?;
            check_currency(&account, amount)?;
            append(tx, &account, EntryType::Load, amount.minor(), at_ms, None, reason.as_deref())?;
            Ok(get(tx, kind, id)?)
        })
    }

    /// A manager's correction of `amount` (positive or negative, not zero), with a reason.
    /// Allowed on frozen and expired accounts (e.g. writing off an expired balance), not on
    /// closed ones; `STORED_VALUE_INSUFFICIENT` if it would take the balance below zero.
    pub fn adjust(&self, kind: StoredValueKind, id: &str, amount: Money, reason: &str) -> Result<StoredValueAccount> {
        self.adjust_at(kind, id, amount, reason, now())
    }

    pub fn adjust_at(
        &self,
        kind: StoredValueKind,
        id: &str,
        amount: Money,
        reason: &str,
        at: jiff::Timestamp,
    ) -> Result<StoredValueAccount> {
        check_id(kind, id)?;
        let reason = check_reason(reason, true)?;
        if amount.is_zero() {
            return Err(Error::InvalidArgument("an adjustment must not be zero".into()));
        }
        let at_ms = at.as_millisecond();
        self.shared.write(|tx| {
            let account = get(tx, kind, id)?;
            if account.status == AccountStatus::Closed {
                return Err(closed(&account).into());
            }
            check_currency(&account, amount)?;
            append(tx, &account, EntryType::Adjust, amount.minor(), at_ms, None, reason.as_deref())?;
            Ok(get(tx, kind, id)?)
        })
    }

    /// Holds an account: no loads, redemptions or refunds until [`StoredValue::unfreeze`].
    /// Freezing a frozen account changes nothing; `STORED_VALUE_CLOSED` for a closed one.
    pub fn freeze(&self, kind: StoredValueKind, id: &str, reason: &str) -> Result<StoredValueAccount> {
        self.set_status(kind, id, EntryType::Freeze, reason, now())
    }

    pub fn freeze_at(&self, kind: StoredValueKind, id: &str, reason: &str, at: jiff::Timestamp) -> Result<StoredValueAccount> {
        self.set_status(kind, id, EntryType::Freeze, reason, at)
    }

    /// Releases a frozen account. Unfreezing an active account changes nothing.
    pub fn unfreeze(&self, kind: StoredValueKind, id: &str, reason: &str) -> Result<StoredValueAccount> {
        self.set_status(kind, id, EntryType::Unfreeze, reason, now())
    }

    pub fn unfreeze_at(&self, kind: StoredValueKind, id: &str, reason: &str, at: jiff::Timestamp) -> Result<StoredValueAccount> {
        self.set_status(kind, id, EntryType::Unfreeze, reason, at)
    }

    /// Closes an account for good. Only an empty account can be closed (`INVALID_ARGUMENT`
    /// otherwise): pay out or write off the balance first with an [`StoredValue::adjust`],
    /// so the ledger says where the money went. Closing a closed account changes nothing.
    pub fn close(&self, kind: StoredValueKind, id: &str, reason: &str) -> Result<StoredValueAccount> {
        self.set_status(kind, id, EntryType::Close, reason, now())
    }

    pub fn close_at(&self, kind: StoredValueKind, id: &str, reason: &str, at: jiff::Timestamp) -> Result<StoredValueAccount> {
        self.set_status(kind, id, EntryType::Close, reason, at)
    }

    fn set_status(
        &self,
        kind: StoredValueKind,
        id: &str,
        entry: EntryType,
        reason: &str,
        at: jiff::Timestamp,
    ) -> Result<StoredValueAccount> {
        check_id(kind, id)?;
        let reason = check_reason(reason, true)?;
        let at_ms = at.as_millisecond();
        self.shared.write(|tx| {
            let account = get(tx, kind, id)?;
            let target = match entry {
                EntryType::Freeze => AccountStatus::Frozen,
                EntryType::Unfreeze => AccountStatus::Active,
                _ => AccountStatus::Closed,
            };
            if account.status == target {
                return Ok(account);
            }
            if account.status == AccountStatus::Closed {
                return Err(closed(&account).into());
            }
            if entry == EntryType::Close && !account.balance.is_zero() {
                return Err(Error::InvalidArgument(format!(
                    "{kind} {id:?} still holds {}: adjust it to zero (paid out, written off) before closing it",
                    account.balance
                ))
                .into());
            }
            append(tx, &account, entry, 0, at_ms, None, reason.as_deref())?;
            Ok(get(tx, kind, id)?)
        })
    }

    /// The account (`STORED_VALUE_NOT_FOUND` if there is none).
    pub fn account(&self, kind: StoredValueKind, id: &str) -> Result<StoredValueAccount> {
        check_id(kind, id)?;
        self.shared.read(|c| get(c, kind, id))
    }

    /// The account's balance.
    pub fn balance(&self, kind: StoredValueKind, id: &str) -> Result<Money> {
        Ok(self.account(kind, id)?.balance)
    }

    /// The account's entries, oldest first.
    pub fn history(&self, kind: StoredValueKind, id: &str) -> Result<Vec<StoredValueEntry>> {
        check_id(kind, id)?;
        self.shared.read(|c| {
            let account = get(c, kind, id)?;
            Ok(c.prepare_cached(
                "SELECT seq, type, amount_minor, balance_minor, at_ms, receipt_no, reason FROM stored_value_entry
                 WHERE kind = ?1 AND account_id = ?2 ORDER BY seq",
            )?
            .query_map(params![kind.as_str(), id], |r| {
                let name: String = r.get(1)?;
                // The schema's CHECK allows only the known types: another one is a damaged file.
                let entry_type = EntryType::parse(&name).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, format!("unknown entry type {name:?}").into())
                })?;
                Ok(StoredValueEntry {
                    seq: r.get(0)?,
                    kind,
                    account_id: account.id.clone(),
                    entry_type,
                    amount: Money::new(r.get(2)?, account.currency),
                    balance_after: Money::new(r.get(3)?, account.currency),
                    at_ms: r.get(4)?,
                    receipt_no: r.get(5)?,
                    reason: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Every account of `kind`, oldest first.
    pub fn accounts(&self, kind: StoredValueKind) -> Result<Vec<StoredValueAccount>> {
        self.shared.read(|c| {
            let rows: Vec<Row> = c
                .prepare_cached(
                    "SELECT id, currency, balance_minor, status, expires_at_ms, created_ms FROM stored_value_account
                     WHERE kind = ?1 ORDER BY created_ms, id",
                )?
                .query_map([kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter().map(|row| Ok(account_of(kind, row)?)).collect()
        })
    }
}

// ---- inside a sale's transaction ------------------------------------------------------------

/// Redeems `amount` (> 0) from an account for `receipt_no`: the account must exist, be active,
/// unexpired at `at_ms`, in `amount`'s currency and hold at least `amount`. Returns the balance
/// after. `field` names the tender in a card-guard error (`"tenders[0].reference"`).
pub(crate) fn redeem_in(
    tx: &Connection,
    kind: StoredValueKind,
    id: &str,
    amount: Money,
    at_ms: i64,
    receipt_no: &str,
    field: &str,
) -> std::result::Result<Money, Failure> {
    card_guard::check_free_text(field, id)?;
    let account = get(tx, kind, id)?;
    check_usable(&account, at_ms)?;
    check_currency(&account, amount)?;
    Ok(append(tx, &account, EntryType::Redeem, amount.checked_neg()?.minor(), at_ms, Some(receipt_no), None)?)
}

/// How a refund treats the account it is asked to credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CreditMode {
    /// The app named the account: it must be usable, or the refund fails.
    Strict,
    /// The account paid for the original sale: if it is gone (unknown here, closed, expired)
    /// the refund goes to new store credit instead. A frozen one still refuses.
    Original,
}

/// Credits `amount` (> 0) to an account for a refund. `Ok(None)`: in [`CreditMode::Original`],
/// the account cannot take it (the caller issues store credit instead).
pub(crate) fn refund_in(
    tx: &Connection,
    kind: StoredValueKind,
    id: &str,
    amount: Money,
    at_ms: i64,
    receipt_no: &str,
    reason: Option<&str>,
    mode: CreditMode,
) -> std::result::Result<Option<Money>, Failure> {
    let lenient = mode == CreditMode::Original;
    if lenient && (check_id(kind, id).is_err()) {
        return Ok(None);
    }
    check_id(kind, id)?;
    let account = match find(tx, kind, id)? {
        Some(a) => a,
        None if lenient => return Ok(None),
        None => return Err(not_found(kind, id).into()),
    };
    if lenient && (account.status == AccountStatus::Closed || account.is_expired_at(at_ms)) {
        return Ok(None);
    }
    check_usable(&account, at_ms)?;
    check_currency(&account, amount)?;
    Ok(Some(append(tx, &account, EntryType::Refund, amount.minor(), at_ms, Some(receipt_no), reason)?))
}

/// Credits `amount` (≥ 0) to the store credit account `id`, creating it (no expiry) if it does
/// not exist yet. Used for refunds to new store credit (ids `SC-<receipt number>`).
pub(crate) fn credit_new_store_credit(
    tx: &Connection,
    id: &str,
    amount: Money,
    at_ms: i64,
    receipt_no: &str,
    reason: Option<&str>,
) -> std::result::Result<Money, Failure> {
    let kind = StoredValueKind::StoreCredit;
    let account = match find(tx, kind, id)? {
        Some(a) => a,
        None => create(tx, kind, id, amount.currency(), None, at_ms)?,
    };
    if amount.is_zero() {
        return Ok(account.balance);
    }
    check_currency(&account, amount)?;
    Ok(append(tx, &account, EntryType::Refund, amount.minor(), at_ms, Some(receipt_no), reason)?)
}

// ---- helpers ----------------------------------------------------------------------------------

fn create(
    tx: &Connection,
    kind: StoredValueKind,
    id: &str,
    currency: Currency,
    expires_at_ms: Option<i64>,
    at_ms: i64,
) -> std::result::Result<StoredValueAccount, Failure> {
    if find(tx, kind, id)?.is_some() {
        return Err(Error::StoredValueExists { kind: kind.as_str().into(), id: id.into() }.into());
    }
    tx.prepare_cached(
        "INSERT INTO stored_value_account (kind, id, currency, expires_at_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![kind.as_str(), id, currency.code(), expires_at_ms, at_ms])?;
    Ok(StoredValueAccount {
        kind,
        id: id.to_owned(),
        currency,
        balance: Money::zero(currency),
        status: AccountStatus::Active,
        expires_at_ms,
        created_at_ms: at_ms,
    })
}

/// Appends one entry; the schema's trigger moves the balance and the status. Returns the
/// balance after. `STORED_VALUE_INSUFFICIENT` if it would go below zero.
fn append(
    tx: &Connection,
    account: &StoredValueAccount,
    entry: EntryType,
    amount_minor: i64,
    at_ms: i64,
    receipt_no: Option<&str>,
    reason: Option<&str>,
) -> std::result::Result<Money, Failure> {
    let cur = account.currency;
    let after = account.balance.checked_add(Money::new(amount_minor, cur))?;
    if after.is_negative() {
        return Err(Error::StoredValueInsufficient {
            kind: account.kind.as_str().into(),
            id: account.id.clone(),
            balance: account.balance.to_string(),
            requested: Money::new(amount_minor, cur).checked_neg()?.to_string(),
        }
        .into());
    }
    tx.prepare_cached(
        "INSERT INTO stored_value_entry (kind, account_id, type, amount_minor, balance_minor, at_ms, receipt_no, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        account.kind.as_str(),
        account.id,
        entry.as_str(),
        amount_minor,
        after.minor(),
        at_ms,
        receipt_no,
        reason
    ])?;
    Ok(after)
}

/// An account row: id, currency, balance, status, expiry, creation time.
type Row = (String, String, i64, String, Option<i64>, i64);

fn find(c: &Connection, kind: StoredValueKind, id: &str) -> std::result::Result<Option<StoredValueAccount>, Failure> {
    let row: Option<Row> = c
        .prepare_cached(
            "SELECT id, currency, balance_minor, status, expires_at_ms, created_ms FROM stored_value_account
             WHERE kind = ?1 AND id = ?2",
        )?
        .query_row(params![kind.as_str(), id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    Ok(row.map(|row| account_of(kind, row)).transpose()?)
}

fn account_of(kind: StoredValueKind, (id, currency, balance, status, expires_at_ms, created_at_ms): Row) -> Result<StoredValueAccount> {
    let corrupt = |what: &str| Error::Store(format!("{kind} {id:?} has an unreadable {what}"));
    let currency = Currency::from_code(&currency).map_err(|_| corrupt("currency"))?;
    let status = AccountStatus::parse(&status).ok_or_else(|| corrupt("status"))?;
    Ok(StoredValueAccount { kind, id, currency, balance: Money::new(balance, currency), status, expires_at_ms, created_at_ms })
}

fn get(c: &Connection, kind: StoredValueKind, id: &str) -> std::result::Result<StoredValueAccount, Failure> {
    find(c, kind, id)?.ok_or_else(|| not_found(kind, id).into())
}

fn not_found(kind: StoredValueKind, id: &str) -> Error {
    Error::StoredValueNotFound { kind: kind.as_str().into(), id: id.into() }
}

fn closed(a: &StoredValueAccount) -> Error {
    Error::StoredValueClosed { kind: a.kind.as_str().into(), id: a.id.clone() }
}

/// Active and unexpired: what loading, redeeming and crediting need.
fn check_usable(a: &StoredValueAccount, at_ms: i64) -> Result<()> {
    match a.status {
        AccountStatus::Closed => return Err(closed(a)),
        AccountStatus::Frozen => return Err(Error::StoredValueFrozen { kind: a.kind.as_str().into(), id: a.id.clone() }),
        AccountStatus::Active => {}
    }
    if let Some(e) = a.expires_at_ms.filter(|_| a.is_expired_at(at_ms)) {
        let expired_at = jiff::Timestamp::from_millisecond(e).map_or_else(|_| e.to_string(), |t| t.to_string());
        return Err(Error::StoredValueExpired { kind: a.kind.as_str().into(), id: a.id.clone(), expired_at });
    }
    Ok(())
}

fn check_currency(a: &StoredValueAccount, amount: Money) -> Result<()> {
    if amount.currency() != a.currency {
        return Err(Error::StoredValueCurrencyMismatch {
            kind: a.kind.as_str().into(),
            id: a.id.clone(),
            account: a.currency.code().into(),
            found: amount.currency().code().into(),
        });
    }
    Ok(())
}

fn check_positive(what: &str, amount: Money) -> Result<()> {
    if amount.minor() <= 0 {
        return Err(Error::InvalidArgument(format!("the amount to {what} must be positive, got {amount}")));
    }
    Ok(())
}

/// 1–[`MAX_ACCOUNT_ID_LEN`] characters, no control characters, no leading or trailing spaces,
/// nothing that looks like a payment card number.
pub(crate) fn check_id(kind: StoredValueKind, id: &str) -> Result<()> {
    // The card guard first, so a card number is never echoed back by another error.
    card_guard::check_free_text(&format!("{kind} id"), id)?;
    let len = id.chars().count();
    if id.trim().is_empty() || id.trim() != id || len > MAX_ACCOUNT_ID_LEN || id.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "a {kind} id is 1-{MAX_ACCOUNT_ID_LEN} characters without control characters or surrounding spaces, got {id:?}"
        )));
    }
    Ok(())
}

/// The reason as stored (`None` if empty and not `required`).
fn check_reason(reason: &str, required: bool) -> Result<Option<String>> {
    card_guard::check_free_text("reason", reason)?;
    if reason.trim().is_empty() {
        if required {
            return Err(Error::InvalidArgument("this change to an account needs a reason".into()));
        }
        return Ok(None);
    }
    let len = reason.chars().count();
    if len > MAX_REASON_LEN || reason.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "a reason is at most {MAX_REASON_LEN} characters without control characters, got {len}"
        )));
    }
    Ok(Some(reason.to_owned()))
}
