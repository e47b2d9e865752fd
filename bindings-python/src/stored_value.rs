//! Gift cards and store credit for Python: `edge.stored_value`, a view over the device's
//! ledger. Conversion only; accounts and entries come back as the core's JSON (dicts).

use aisle::commerce::StoredValueKind;
use pyo3::prelude::*;

use crate::{Money, Res, detached_json, name_value, to_py_err};

fn kind(kind: &str) -> Res<StoredValueKind> {
    name_value(kind, "kind")
}

/// Gift cards and store credit of one store: issue, load, adjust, freeze, close; balances and
/// history. `kind` is `"gift_card"` or `"store_credit"`; amounts are `aisle.Money`.
#[pyclass(module = "aisle", frozen)]
pub(crate) struct StoredValue {
    inner: aisle::StoredValue,
}

impl StoredValue {
    pub(crate) fn new(inner: aisle::StoredValue) -> StoredValue {
        StoredValue { inner }
    }
}

#[pymethods]
impl StoredValue {
    /// Issues a new account with `amount` (> 0) on it, in its currency, expiring at
    /// `expires_at_ms` (Unix ms, in the future) or never. `StoredValueExistsError` if the id is
    /// taken for this kind.
    #[pyo3(signature = (kind, id, amount, *, expires_at_ms = None, reason = ""))]
    fn issue<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        id: &str,
        amount: Money,
        expires_at_ms: Option<i64>,
        reason: &str,
    ) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.issue(kind, id, amount.0, expires_at_ms, reason))
    }

    /// Puts `amount` (> 0) more on an active, unexpired account.
    #[pyo3(signature = (kind, id, amount, *, reason = ""))]
    fn load<'py>(&self, py: Python<'py>, kind: &str, id: &str, amount: Money, reason: &str) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.load(kind, id, amount.0, reason))
    }

    /// A manager's correction (positive or negative, not zero), with a reason.
    fn adjust<'py>(&self, py: Python<'py>, kind: &str, id: &str, amount: Money, reason: &str) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.adjust(kind, id, amount.0, reason))
    }

    /// Holds an account (e.g. reported stolen, with that reason): no loads, redemptions or
    /// refunds until `unfreeze`.
    fn freeze<'py>(&self, py: Python<'py>, kind: &str, id: &str, reason: &str) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.freeze(kind, id, reason))
    }

    /// Releases a frozen account, with the reason.
    fn unfreeze<'py>(&self, py: Python<'py>, kind: &str, id: &str, reason: &str) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.unfreeze(kind, id, reason))
    }

    /// Closes an empty account for good, with the reason (adjust the balance to zero first).
    fn close<'py>(&self, py: Python<'py>, kind: &str, id: &str, reason: &str) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.close(kind, id, reason))
    }

    /// The account; `StoredValueNotFoundError` if there is none.
    fn account<'py>(&self, py: Python<'py>, kind: &str, id: &str) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.account(kind, id))
    }

    /// The account's balance.
    fn balance(&self, py: Python<'_>, kind: &str, id: &str) -> Res<Money> {
        let kind = self::kind(kind)?;
        py.detach(|| self.inner.balance(kind, id)).map(Money).map_err(to_py_err)
    }

    /// The account's ledger entries, oldest first.
    fn history<'py>(&self, py: Python<'py>, kind: &str, id: &str) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.history(kind, id))
    }

    /// Every account of `kind`, oldest first.
    fn accounts<'py>(&self, py: Python<'py>, kind: &str) -> Res<Bound<'py, PyAny>> {
        let kind = self::kind(kind)?;
        detached_json(py, || self.inner.accounts(kind))
    }

    fn __repr__(&self) -> String {
        "StoredValue(...)".to_owned()
    }
}
