//! Gift cards, store credit and exchanges in Kotlin: `Edge.storedValue()` (the ledger),
//! `Edge.exchange` and `Edge.returnItemsToAccount`.
//!
//! Glue only: every check (positive amounts, frozen/closed/expired accounts, balances that
//! never go negative, card numbers in ids) is the core's, reported with its `STORED_VALUE_*`
//! codes. Spending an account is an ordinary tender (`TenderInput.giftCard(amount, id)`,
//! `TenderInput.storeCredit(amount, id)`), redeemed in the sale's own transaction.

use std::sync::Arc;

use aisle::commerce::{self, AccountStatus, EntryType, RefundTo, StoredValueKind};

use crate::{Cart, Edge, Money, Result, ReturnItem, SaleSummary, TenderInput};

/// The two kinds of stored value. A gift card and a store credit may share an id.
#[uniffi::remote(Enum)]
pub enum StoredValueKind {
    /// A card sold (or given) to a customer, usually with a printed number.
    GiftCard,
    /// Credit the store owes a customer, usually from a refund.
    StoreCredit,
}

/// Whether an account can be used.
#[uniffi::remote(Enum)]
pub enum AccountStatus {
    /// Can be loaded and redeemed.
    Active,
    /// Held (e.g. reported stolen): no loads, redemptions or refunds until unfrozen; a
    /// manager can still adjust it.
    Frozen,
    /// For good: nothing moves any more.
    Closed,
}

/// What an entry of an account's ledger records.
#[uniffi::remote(Enum)]
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
    /// Status change (amount 0).
    Freeze,
    /// Status change (amount 0).
    Unfreeze,
    /// Status change (amount 0).
    Close,
}

/// A gift card or store credit account.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct StoredValueAccount {
    pub kind: StoredValueKind,
    pub id: String,
    /// ISO-4217 code of the account (the currency it was issued in).
    pub currency: String,
    /// The sum of the account's entries; never negative.
    pub balance: Money,
    pub status: AccountStatus,
    /// From this instant (Unix milliseconds) on, the account can no longer be loaded or
    /// redeemed; `null`: it does not expire.
    pub expires_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

impl From<commerce::StoredValueAccount> for StoredValueAccount {
    fn from(a: commerce::StoredValueAccount) -> Self {
        StoredValueAccount {
            kind: a.kind,
            id: a.id,
            currency: a.currency.code().to_owned(),
            balance: a.balance.into(),
            status: a.status,
            expires_at_ms: a.expires_at_ms,
            created_at_ms: a.created_at_ms,
        }
    }
}

/// One entry of an account's ledger (append-only: entries are never changed or deleted).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
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

impl From<commerce::StoredValueEntry> for StoredValueEntry {
    fn from(e: commerce::StoredValueEntry) -> Self {
        StoredValueEntry {
            seq: e.seq,
            kind: e.kind,
            account_id: e.account_id,
            entry_type: e.entry_type,
            amount: e.amount.into(),
            balance_after: e.balance_after.into(),
            at_ms: e.at_ms,
            receipt_no: e.receipt_no,
            reason: e.reason,
        }
    }
}

/// What a sale or refund did to one gift card / store credit account (`SaleSummary.storedValue`).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct StoredValueMovement {
    /// Index of the tender in the sale's settlement (`saleJson(…).settlement.tenders`).
    pub tender_index: i32,
    pub kind: StoredValueKind,
    pub account_id: String,
    /// Signed: negative for a redemption, positive for a credit.
    pub amount: Money,
    pub balance_after: Money,
}

impl From<&commerce::StoredValueMovement> for StoredValueMovement {
    fn from(m: &commerce::StoredValueMovement) -> Self {
        StoredValueMovement {
            tender_index: i32::try_from(m.tender_index).unwrap_or(i32::MAX),
            kind: m.kind,
            account_id: m.account_id.clone(),
            amount: m.amount.into(),
            balance_after: m.balance_after.into(),
        }
    }
}

/// An exchange: the return and the new sale, recorded together as two linked receipts.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct ExchangeSummary {
    /// The return (negative amounts), against the original receipt; its `exchangeWith` is the
    /// sale's receipt number.
    pub refund: SaleSummary,
    /// The new sale, numbered right after the refund; its `exchangeWith` is the refund's.
    pub sale: SaleSummary,
    /// What the customer paid on balance (positive) or was paid out (negative, store credit
    /// included): `sale.due + refund.due`.
    pub difference: Money,
}

impl From<&commerce::Exchange> for ExchangeSummary {
    fn from(x: &commerce::Exchange) -> Self {
        ExchangeSummary {
            refund: SaleSummary::from(&x.refund),
            sale: SaleSummary::from(&x.sale),
            difference: x.difference.into(),
        }
    }
}

/// Gift cards and store credit of one store file: `edge.storedValue()`. Every change is one
/// ledger entry, written in its own transaction; a sale that spends an account redeems it in
/// the sale's transaction.
#[derive(uniffi::Object)]
pub struct StoredValue {
    inner: commerce::StoredValue,
}

#[uniffi::export]
impl StoredValue {
    /// Issues a new account with `amount` (> 0) on it, in `amount`'s currency, expiring at
    /// `expiresAtMs` (Unix milliseconds, in the future) or never. `StoredValueExists` if the id
    /// is taken for this kind; `CardNumberRefused` if the id or reason looks like a card number.
    #[uniffi::method(default(expires_at_ms = None, reason = ""))]
    pub fn issue(
        &self,
        kind: StoredValueKind,
        id: String,
        amount: Money,
        expires_at_ms: Option<i64>,
        reason: String,
    ) -> Result<StoredValueAccount> {
        Ok(self.inner.issue(kind, &id, amount.to_core()?, expires_at_ms, &reason)?.into())
    }

    /// Puts `amount` (> 0) more on an active, unexpired account.
    #[uniffi::method(default(reason = ""))]
    pub fn load(&self, kind: StoredValueKind, id: String, amount: Money, reason: String) -> Result<StoredValueAccount> {
        Ok(self.inner.load(kind, &id, amount.to_core()?, &reason)?.into())
    }

    /// A manager's correction of `amount` (positive or negative, not zero), with a reason.
    /// Allowed on frozen and expired accounts, not on closed ones; `StoredValueInsufficient` if
    /// it would take the balance below zero.
    pub fn adjust(&self, kind: StoredValueKind, id: String, amount: Money, reason: String) -> Result<StoredValueAccount> {
        Ok(self.inner.adjust(kind, &id, amount.to_core()?, &reason)?.into())
    }

    /// Holds an account: no loads, redemptions or refunds until `unfreeze`.
    pub fn freeze(&self, kind: StoredValueKind, id: String, reason: String) -> Result<StoredValueAccount> {
        Ok(self.inner.freeze(kind, &id, &reason)?.into())
    }

    /// Releases a frozen account.
    pub fn unfreeze(&self, kind: StoredValueKind, id: String, reason: String) -> Result<StoredValueAccount> {
        Ok(self.inner.unfreeze(kind, &id, &reason)?.into())
    }

    /// Closes an empty account for good (`InvalidArgument` while it holds a balance: adjust
    /// it to zero first, so the ledger says where the money went).
    pub fn close(&self, kind: StoredValueKind, id: String, reason: String) -> Result<StoredValueAccount> {
        Ok(self.inner.close(kind, &id, &reason)?.into())
    }

    /// The account; `StoredValueNotFound` if there is none.
    pub fn account(&self, kind: StoredValueKind, id: String) -> Result<StoredValueAccount> {
        Ok(self.inner.account(kind, &id)?.into())
    }

    /// The account's balance.
    pub fn balance(&self, kind: StoredValueKind, id: String) -> Result<Money> {
        Ok(self.inner.balance(kind, &id)?.into())
    }

    /// The account's ledger entries, oldest first.
    pub fn history(&self, kind: StoredValueKind, id: String) -> Result<Vec<StoredValueEntry>> {
        Ok(self.inner.history(kind, &id)?.into_iter().map(StoredValueEntry::from).collect())
    }

    /// Every account of `kind`, oldest first.
    pub fn accounts(&self, kind: StoredValueKind) -> Result<Vec<StoredValueAccount>> {
        Ok(self.inner.accounts(kind)?.into_iter().map(StoredValueAccount::from).collect())
    }
}

#[uniffi::export]
impl Edge {
    /// Gift cards and store credit: issue, load, adjust, freeze, close, balances and history.
    pub fn stored_value(&self) -> Arc<StoredValue> {
        Arc::new(StoredValue { inner: self.inner.stored_value() })
    }

    /// Like `returnItems`, refunding the whole amount to an existing gift card or store credit
    /// account (e.g. the customer's store credit). The account must be active, unexpired and
    /// in the sale's currency (`StoredValue…` exceptions otherwise).
    pub fn return_items_to_account(
        &self,
        receipt_no: String,
        items: Vec<ReturnItem>,
        reason: String,
        kind: StoredValueKind,
        account_id: String,
    ) -> Result<SaleSummary> {
        let items = items.iter().map(ReturnItem::to_core).collect::<Result<Vec<_>>>()?;
        let refund = self.inner.sales().return_items_to_account(&receipt_no, &items, &reason, kind, &account_id)?;
        Ok(SaleSummary::from(&refund))
    }

    /// Exchanges: returns `items` of `originalReceipt` and sells `newCart` in one transaction,
    /// as two linked receipts (the refund, then the sale). The returned goods pay for the new
    /// sale first (as store credit passing through `SC-<refund receipt>`). If the new cart
    /// costs more, the customer pays the difference with `tenders`; if it costs less,
    /// `tenders` must be empty and the excess goes per `excessTo`: back to the original
    /// tenders, or left as store credit on that `SC-…` account. All or nothing; the cart is
    /// then completed. Errors: those of `returnItems` and `Cart.complete`.
    pub fn exchange(
        &self,
        original_receipt: String,
        items: Vec<ReturnItem>,
        new_cart: Arc<Cart>,
        tenders: Vec<TenderInput>,
        reason: String,
        excess_to: RefundTo,
    ) -> Result<ExchangeSummary> {
        let items = items.iter().map(ReturnItem::to_core).collect::<Result<Vec<_>>>()?;
        let tenders = tenders.iter().map(TenderInput::to_core).collect::<Result<Vec<_>>>()?;
        let x = self.inner.sales().exchange(&original_receipt, &items, &new_cart.inner, &tenders, &reason, excess_to)?;
        Ok(ExchangeSummary::from(&x))
    }
}
