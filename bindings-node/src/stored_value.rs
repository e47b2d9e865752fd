//! Gift cards and store credit: `edge.storedValue()`, a view over the device's ledger.
//!
//! Glue only: kinds and amounts are read with the core's serde types, accounts and entries
//! leave as the core's JSON documents. Every rule (positive amounts, no negative balance,
//! frozen/closed/expired accounts, card numbers refused as ids) is the core's.

use napi::bindgen_prelude::Unknown;
use napi_derive::napi;

use crate::error::{Code, to_napi_err};
use crate::json::{Document, decode, from_js};
use crate::money::Money;
use crate::number::integer_arg;
use crate::store::Edge;

/// `"gift_card"` or `"store_credit"`: the two kinds of stored value (a gift card and a store
/// credit may share an id).
#[napi(string_enum)]
pub enum StoredValueKind {
    #[napi(value = "gift_card")]
    GiftCard,
    #[napi(value = "store_credit")]
    StoreCredit,
}

/// Reads a kind name with the core's serde names (`INVALID_ARGUMENT` for another one).
pub(crate) fn parse_kind(name: String) -> napi::Result<aisle::StoredValueKind, Code> {
    decode(&serde_json::Value::String(name).to_string(), "kind")
}

fn amount(value: Unknown) -> napi::Result<aisle::Money, Code> {
    from_js(value, "amount")
}

fn account(value: aisle::Result<aisle::commerce::StoredValueAccount>) -> napi::Result<Document, Code> {
    Document::of(&value.map_err(to_napi_err)?, "the account")
}

/// Gift cards and store credit of one store file. Accounts are created with `issue` (or by a
/// refund to new store credit), spent by `gift_card` / `store_credit` tenders of a sale in the
/// sale's own transaction, and credited back by refunds.
#[napi]
pub struct StoredValue {
    inner: aisle::StoredValue,
}

#[napi]
impl Edge {
    /// The store's gift cards and store credit.
    #[napi]
    pub fn stored_value(&self) -> StoredValue {
        StoredValue { inner: self.inner.stored_value() }
    }
}

#[napi]
impl StoredValue {
    /// Issues a new account with `amount` (> 0) on it, in that amount's currency, expiring at
    /// `expiresAtMs` (Unix ms, in the future) or never. `STORED_VALUE_EXISTS` if the id is
    /// taken for this kind; `CARD_NUMBER_REFUSED` if the id or reason looks like a card number.
    #[napi(ts_return_type = "StoredValueAccount")]
    pub fn issue(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
        #[napi(ts_arg_type = "MoneyInput")] amount: Unknown,
        expires_at_ms: Option<f64>,
        reason: Option<String>,
    ) -> napi::Result<Document, Code> {
        let expires = expires_at_ms.map(|ms| integer_arg("expiresAtMs", ms)).transpose()?;
        let (kind, amount) = (parse_kind(kind)?, self::amount(amount)?);
        account(self.inner.issue(kind, &id, amount, expires, reason.as_deref().unwrap_or("")))
    }

    /// Puts `amount` (> 0) more on an active, unexpired account.
    #[napi(ts_return_type = "StoredValueAccount")]
    pub fn load(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
        #[napi(ts_arg_type = "MoneyInput")] amount: Unknown,
        reason: Option<String>,
    ) -> napi::Result<Document, Code> {
        let (kind, amount) = (parse_kind(kind)?, self::amount(amount)?);
        account(self.inner.load(kind, &id, amount, reason.as_deref().unwrap_or("")))
    }

    /// A manager's correction by `amount` (positive or negative, not zero), with a reason.
    /// Allowed on frozen and expired accounts, not on closed ones; `STORED_VALUE_INSUFFICIENT`
    /// if it would take the balance below zero.
    #[napi(ts_return_type = "StoredValueAccount")]
    pub fn adjust(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
        #[napi(ts_arg_type = "MoneyInput")] amount: Unknown,
        reason: String,
    ) -> napi::Result<Document, Code> {
        let (kind, amount) = (parse_kind(kind)?, self::amount(amount)?);
        account(self.inner.adjust(kind, &id, amount, &reason))
    }

    /// Holds an account (e.g. reported stolen): no loads, redemptions or refunds until
    /// `unfreeze`.
    #[napi(ts_return_type = "StoredValueAccount")]
    pub fn freeze(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
        reason: String,
    ) -> napi::Result<Document, Code> {
        account(self.inner.freeze(parse_kind(kind)?, &id, &reason))
    }

    /// Releases a frozen account.
    #[napi(ts_return_type = "StoredValueAccount")]
    pub fn unfreeze(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
        reason: String,
    ) -> napi::Result<Document, Code> {
        account(self.inner.unfreeze(parse_kind(kind)?, &id, &reason))
    }

    /// Closes an account for good; only an empty one (adjust the balance to zero first, so
    /// the ledger says where the money went).
    #[napi(ts_return_type = "StoredValueAccount")]
    pub fn close(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
        reason: String,
    ) -> napi::Result<Document, Code> {
        account(self.inner.close(parse_kind(kind)?, &id, &reason))
    }

    /// The account; `STORED_VALUE_NOT_FOUND` if there is none.
    #[napi(ts_return_type = "StoredValueAccount")]
    pub fn account(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
    ) -> napi::Result<Document, Code> {
        account(self.inner.account(parse_kind(kind)?, &id))
    }

    /// The account's balance.
    #[napi]
    pub fn balance(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
    ) -> napi::Result<Money, Code> {
        self.inner.balance(parse_kind(kind)?, &id).map(Money::from).map_err(to_napi_err)
    }

    /// The account's ledger entries, oldest first.
    #[napi(ts_return_type = "StoredValueEntry[]")]
    pub fn history(
        &self,
        #[napi(ts_arg_type = "StoredValueKind")] kind: String,
        id: String,
    ) -> napi::Result<Document, Code> {
        Document::of(&self.inner.history(parse_kind(kind)?, &id).map_err(to_napi_err)?, "the history")
    }

    /// Every account of `kind`, oldest first.
    #[napi(ts_return_type = "StoredValueAccount[]")]
    pub fn accounts(&self, #[napi(ts_arg_type = "StoredValueKind")] kind: String) -> napi::Result<Document, Code> {
        Document::of(&self.inner.accounts(parse_kind(kind)?).map_err(to_napi_err)?, "the accounts")
    }
}
