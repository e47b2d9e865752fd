//! The one public error type of Aisle.
//!
//! Every variant has a stable machine-readable [`Error::code`] that all bindings expose
//! unchanged (Python `AisleError.code`, JS `error.code`, Kotlin `AisleException.code`), and a
//! Display text that says what was wrong and with which value. Codes never change meaning once
//! published; new failure kinds get new codes.

use std::path::PathBuf;

/// Result type used throughout the public API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in Aisle, as seen by an application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- values -------------------------------------------------------------------------
    #[error("UNKNOWN_CURRENCY: {code:?} is not an ISO-4217 currency code Aisle knows")]
    UnknownCurrency { code: String },

    #[error("CURRENCY_MISMATCH: expected {expected}, got {found}")]
    CurrencyMismatch { expected: String, found: String },

    #[error("MONEY_OVERFLOW: {operation} overflows a 64-bit amount of minor units")]
    MoneyOverflow { operation: String },

    #[error("INVALID_AMOUNT: {input:?} is not a valid amount: {reason}")]
    InvalidAmount { input: String, reason: String },

    #[error("INVALID_ARGUMENT: {0}")]
    InvalidArgument(String),

    // ---- commerce -----------------------------------------------------------------------
    #[error("UNKNOWN_SKU: no product with SKU {sku:?} in catalog")]
    UnknownSku { sku: String },

    #[error("INVALID_PRODUCT: product {sku:?}: {reason}")]
    InvalidProduct { sku: String, reason: String },

    #[error("INVALID_QUANTITY: quantity {quantity} for SKU {sku:?}: {reason}")]
    InvalidQuantity { sku: String, quantity: i64, reason: String },

    #[error("CART_NOT_FOUND: no cart with id {id:?}")]
    CartNotFound { id: String },

    #[error("CART_LINE_NOT_FOUND: cart {cart_id:?} has no line for SKU {sku:?}")]
    CartLineNotFound { cart_id: String, sku: String },

    // ---- store --------------------------------------------------------------------------
    #[error("STORE_NOT_A_DATABASE: {path} is not an Aisle store (not a SQLite database): {detail}")]
    StoreNotADatabase { path: PathBuf, detail: String },

    #[error("STORE_CORRUPT: {path} is damaged: {detail}")]
    StoreCorrupt { path: PathBuf, detail: String },

    #[error(
        "STORE_SCHEMA_TOO_NEW: {path} has schema version {found}, this build of Aisle supports up to {supported}; upgrade the library instead of opening it"
    )]
    StoreSchemaTooNew { path: PathBuf, found: i64, supported: i64 },

    #[error("STORE_IDENTITY_MISMATCH: {path} belongs to {field} {stored:?}, not {requested:?}")]
    StoreIdentityMismatch { path: PathBuf, field: String, stored: String, requested: String },

    #[error("STORE_CLOSED: {path} was closed; open it again to use it")]
    StoreClosed { path: PathBuf },

    #[error("STORE_IO: cannot use {path}: {detail}")]
    StoreIo { path: PathBuf, detail: String },

    #[error("STORE_ERROR: {0}")]
    Store(String),
}

impl Error {
    /// The stable machine-readable code of this error, e.g. `"UNKNOWN_SKU"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownCurrency { .. } => "UNKNOWN_CURRENCY",
            Error::CurrencyMismatch { .. } => "CURRENCY_MISMATCH",
            Error::MoneyOverflow { .. } => "MONEY_OVERFLOW",
            Error::InvalidAmount { .. } => "INVALID_AMOUNT",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::UnknownSku { .. } => "UNKNOWN_SKU",
            Error::InvalidProduct { .. } => "INVALID_PRODUCT",
            Error::InvalidQuantity { .. } => "INVALID_QUANTITY",
            Error::CartNotFound { .. } => "CART_NOT_FOUND",
            Error::CartLineNotFound { .. } => "CART_LINE_NOT_FOUND",
            Error::StoreNotADatabase { .. } => "STORE_NOT_A_DATABASE",
            Error::StoreCorrupt { .. } => "STORE_CORRUPT",
            Error::StoreSchemaTooNew { .. } => "STORE_SCHEMA_TOO_NEW",
            Error::StoreIdentityMismatch { .. } => "STORE_IDENTITY_MISMATCH",
            Error::StoreClosed { .. } => "STORE_CLOSED",
            Error::StoreIo { .. } => "STORE_IO",
            Error::Store(_) => "STORE_ERROR",
        }
    }

    /// The broad family of the error, used by bindings to pick an exception base class.
    pub fn kind(&self) -> ErrorKind {
        Error::kind_of_code(self.code()).unwrap_or(ErrorKind::Store)
    }

    /// The family of an error code, or `None` for a code this build does not know.
    pub fn kind_of_code(code: &str) -> Option<ErrorKind> {
        Error::CODE_KINDS.iter().find(|(c, _)| *c == code).map(|(_, k)| *k)
    }

    /// Every code with its family: bindings build their exception hierarchies from this table.
    pub const CODE_KINDS: &'static [(&'static str, ErrorKind)] = &[
        ("UNKNOWN_CURRENCY", ErrorKind::Value),
        ("CURRENCY_MISMATCH", ErrorKind::Value),
        ("MONEY_OVERFLOW", ErrorKind::Value),
        ("INVALID_AMOUNT", ErrorKind::Value),
        ("INVALID_ARGUMENT", ErrorKind::Value),
        ("UNKNOWN_SKU", ErrorKind::Commerce),
        ("INVALID_PRODUCT", ErrorKind::Commerce),
        ("INVALID_QUANTITY", ErrorKind::Commerce),
        ("CART_NOT_FOUND", ErrorKind::Commerce),
        ("CART_LINE_NOT_FOUND", ErrorKind::Commerce),
        ("STORE_NOT_A_DATABASE", ErrorKind::Store),
        ("STORE_CORRUPT", ErrorKind::Store),
        ("STORE_SCHEMA_TOO_NEW", ErrorKind::Store),
        ("STORE_IDENTITY_MISMATCH", ErrorKind::Store),
        ("STORE_CLOSED", ErrorKind::Store),
        ("STORE_IO", ErrorKind::Store),
        ("STORE_ERROR", ErrorKind::Store),
    ];

    /// Every code this build can return, for bindings that mirror them as constants and for
    /// tests that check the bindings expose all of them.
    pub const ALL_CODES: &'static [&'static str] = &[
        "UNKNOWN_CURRENCY",
        "CURRENCY_MISMATCH",
        "MONEY_OVERFLOW",
        "INVALID_AMOUNT",
        "INVALID_ARGUMENT",
        "UNKNOWN_SKU",
        "INVALID_PRODUCT",
        "INVALID_QUANTITY",
        "CART_NOT_FOUND",
        "CART_LINE_NOT_FOUND",
        "STORE_NOT_A_DATABASE",
        "STORE_CORRUPT",
        "STORE_SCHEMA_TOO_NEW",
        "STORE_IDENTITY_MISMATCH",
        "STORE_CLOSED",
        "STORE_IO",
        "STORE_ERROR",
    ];
}

/// Broad family of an [`Error`]; bindings map each to an exception base class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad values: amounts, currencies, arguments.
    Value,
    /// Catalog, cart and (later) sales rules.
    Commerce,
    /// The device's SQLite file.
    Store,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Value => "value",
            ErrorKind::Commerce => "commerce",
            ErrorKind::Store => "store",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_starts_with_code() {
        let e = Error::UnknownSku { sku: "A-1".into() };
        assert_eq!(e.to_string(), r#"UNKNOWN_SKU: no product with SKU "A-1" in catalog"#);
        assert_eq!(e.code(), "UNKNOWN_SKU");
        assert_eq!(e.kind(), ErrorKind::Commerce);
    }

    #[test]
    fn every_code_is_listed() {
        let samples = [
            Error::UnknownCurrency { code: "X".into() },
            Error::CurrencyMismatch { expected: "EUR".into(), found: "USD".into() },
            Error::MoneyOverflow { operation: "add".into() },
            Error::InvalidAmount { input: "x".into(), reason: "r".into() },
            Error::InvalidArgument("x".into()),
            Error::UnknownSku { sku: "x".into() },
            Error::InvalidProduct { sku: "x".into(), reason: "r".into() },
            Error::InvalidQuantity { sku: "x".into(), quantity: -1, reason: "r".into() },
            Error::CartNotFound { id: "x".into() },
            Error::CartLineNotFound { cart_id: "c".into(), sku: "x".into() },
            Error::StoreNotADatabase { path: "p".into(), detail: "d".into() },
            Error::StoreCorrupt { path: "p".into(), detail: "d".into() },
            Error::StoreSchemaTooNew { path: "p".into(), found: 9, supported: 1 },
            Error::StoreIdentityMismatch {
                path: "p".into(),
                field: "store_id".into(),
                stored: "a".into(),
                requested: "b".into(),
            },
            Error::StoreClosed { path: "p".into() },
            Error::StoreIo { path: "p".into(), detail: "d".into() },
            Error::Store("x".into()),
        ];
        let codes: Vec<_> = samples.iter().map(Error::code).collect();
        assert_eq!(codes, Error::ALL_CODES);
        let table: Vec<_> = Error::CODE_KINDS.iter().map(|(c, _)| *c).collect();
        assert_eq!(table, Error::ALL_CODES);
        for e in &samples {
            assert!(e.to_string().starts_with(e.code()), "{e}");
        }
    }
}
