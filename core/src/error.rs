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

    #[error("CART_CLOSED: cart {id:?} is {status}; start a new cart")]
    CartClosed { id: String, status: String },

    #[error("UNKNOWN_RECEIPT: no sale with receipt number {receipt_no:?}")]
    UnknownReceipt { receipt_no: String },

    #[error("RETURN_REFUSED: cannot return against receipt {receipt_no:?}: {reason}")]
    ReturnRefused { receipt_no: String, reason: String },

    #[error("CART_LINE_NOT_FOUND: cart {cart_id:?} has no line for SKU {sku:?}")]
    CartLineNotFound { cart_id: String, sku: String },

    #[error("INVALID_BARCODE: {barcode:?} is not a valid GTIN: {reason}")]
    InvalidBarcode { barcode: String, reason: String },

    #[error("UNKNOWN_BARCODE: no product with barcode {barcode:?} in catalog")]
    UnknownBarcode { barcode: String },

    #[error("DUPLICATE_BARCODE: barcode {barcode:?} already belongs to SKU {existing_sku:?}, cannot also give it to {sku:?}")]
    DuplicateBarcode { barcode: String, existing_sku: String, sku: String },

    #[error("PROMO_INVALID_RULE: promotion rules at {path}: {reason}")]
    PromoInvalidRule { path: String, reason: String },

    #[error("INVALID_PRICE_LIST: price list {id:?}, field {field}: {reason}")]
    InvalidPriceList { id: String, field: String, reason: String },

    #[error("UNKNOWN_TAX_CATEGORY: tax category {category:?} has no rate and is not exempt in tax regime {regime:?}")]
    UnknownTaxCategory { category: String, regime: String },

    #[error("INVALID_TAX_REGIME: {path}: {reason}")]
    InvalidTaxRegime { path: String, reason: String },

    #[error("INVALID_TENDER: {at}: {reason}")]
    InvalidTender { at: String, reason: String },

    #[error("INVALID_TENDER_POLICY: {path}: {reason}")]
    InvalidTenderPolicy { path: String, reason: String },

    #[error("INSUFFICIENT_TENDER: {missing} is still due ({missing_in_cash} if paid in cash)")]
    InsufficientTender { missing: String, missing_in_cash: String },

    #[error("TENDER_EXCEEDS_DUE: tenders[{index}] ({kind}, {amount}) exceeds the {due} still due: {reason}")]
    TenderExceedsDue { index: usize, kind: String, amount: String, due: String, reason: String },

    #[error("OFFLINE_NOT_ALLOWED: tenders[{index}] is an offline card authorisation, and this tender policy accepts none")]
    OfflineNotAllowed { index: usize },

    #[error("OFFLINE_LIMIT_EXCEEDED: tenders[{index}] exceeds the offline {limit}: {detail}")]
    OfflineLimitExceeded { index: usize, limit: String, detail: String },

    #[error("CARD_NUMBER_REFUSED: {field} contains what looks like a full card number (ending {last4}); card numbers must never be stored")]
    CardNumberRefused { field: String, last4: String },

    #[error("REFUND_EXCEEDS_PAID: returns totalling {returned} would refund more than the {paid} paid")]
    RefundExceedsPaid { returned: String, paid: String },

    #[error("STORED_VALUE_NOT_FOUND: no {kind} account {id:?} on this device")]
    StoredValueNotFound { kind: String, id: String },

    #[error("STORED_VALUE_EXISTS: a {kind} account {id:?} already exists")]
    StoredValueExists { kind: String, id: String },

    #[error("STORED_VALUE_INSUFFICIENT: {kind} {id:?} holds {balance}, less than the {requested} asked for")]
    StoredValueInsufficient { kind: String, id: String, balance: String, requested: String },

    #[error("STORED_VALUE_EXPIRED: {kind} {id:?} expired at {expired_at}")]
    StoredValueExpired { kind: String, id: String, expired_at: String },

    #[error("STORED_VALUE_FROZEN: {kind} {id:?} is frozen; unfreeze it before moving money on it")]
    StoredValueFrozen { kind: String, id: String },

    #[error("STORED_VALUE_CLOSED: {kind} {id:?} is closed")]
    StoredValueClosed { kind: String, id: String },

    #[error("STORED_VALUE_CURRENCY_MISMATCH: {kind} {id:?} is in {account}, not {found}")]
    StoredValueCurrencyMismatch { kind: String, id: String, account: String, found: String },

    // ---- forward ------------------------------------------------------------------------
    #[error("STREAM_NOT_FOUND: no stream named {stream:?}")]
    StreamNotFound { stream: String },

    #[error("STREAM_EXISTS: stream {stream:?} already exists with another configuration: {detail}")]
    StreamExists { stream: String, detail: String },

    #[error("STREAM_FULL: stream {stream:?} holds {used} of its {max_bytes} bytes; {needed} more do not fit and its policy is to reject new data")]
    StreamFull { stream: String, used: u64, max_bytes: u64, needed: u64 },

    #[error("EXPORTER_NOT_FOUND: stream {stream:?} has no exporter named {exporter:?}")]
    ExporterNotFound { stream: String, exporter: String },

    #[error("INVALID_PAYLOAD: cannot append to stream {stream:?}: {reason}")]
    InvalidPayload { stream: String, reason: String },

    #[error("INGEST_REJECTED: batch not applied: {detail}")]
    IngestRejected { detail: String },

    // ---- sync ---------------------------------------------------------------------------
    #[error("SYNC_BAD_SIGNATURE: sync message claiming to be from device {device} does not carry its valid signature")]
    SyncBadSignature { device: String },

    #[error("SYNC_UNKNOWN_DEVICE: device {device} is not enrolled on this replica")]
    SyncUnknownDevice { device: String },

    #[error("SYNC_SCOPE: device {device} may not {action} scope {scope:?}")]
    SyncScope { device: String, action: String, scope: String },

    #[error("SYNC_REPLAY: message {message} from device {device} was already received (or is older than the replay window)")]
    SyncReplay { device: String, message: u64 },

    #[error("SYNC_DECODE: not a valid sync message: {detail}")]
    SyncDecode { detail: String },

    #[error("SYNC_UNSUPPORTED_VERSION: sync format version {found}; this build reads up to {supported}")]
    SyncUnsupportedVersion { found: u8, supported: u8 },

    #[error("SYNC_CLOCK_SKEW: a timestamp from device {device} is {ahead_ms} ms ahead of this clock (at most {max_ms} ms allowed)")]
    SyncClockSkew { device: String, ahead_ms: u64, max_ms: u64 },

    #[error("SYNC_UNREACHABLE: cannot sync with {peer}: {detail}")]
    SyncUnreachable { peer: String, detail: String },

    #[error("SYNC_PEER_REFUSED: sync peer {peer} refused the exchange: {code}: {message}")]
    SyncPeerRefused { peer: String, code: String, message: String },

    // ---- vision -------------------------------------------------------------------------
    #[error("MODEL_DESCRIPTOR_INVALID: model descriptor {source_name}: {reason}")]
    ModelDescriptorInvalid { source_name: String, reason: String },

    #[error("MODEL_HASH_MISMATCH: model file {path} has SHA-256 {found}, its descriptor {model:?} expects {expected}")]
    ModelHashMismatch { model: String, path: String, expected: String, found: String },

    #[error("MODEL_INVALID: model {model:?}: {reason}")]
    ModelInvalid { model: String, reason: String },

    #[error("MODEL_IO: cannot read {path}: {detail}")]
    ModelIo { path: PathBuf, detail: String },

    #[error("FRAME_INVALID: {reason}")]
    FrameInvalid { reason: String },

    #[error("IMAGE_INVALID: {source_name} is not a JPEG or PNG image Aisle can decode: {detail}")]
    ImageInvalid { source_name: String, detail: String },

    #[error("INFERENCE_FAILED: model {model:?} failed on a frame: {detail}")]
    InferenceFailed { model: String, detail: String },

    #[error("ANALYTICS_CONFIG_INVALID: camera analytics configuration: {reason}")]
    AnalyticsConfigInvalid { reason: String },

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
            Error::CartClosed { .. } => "CART_CLOSED",
            Error::UnknownReceipt { .. } => "UNKNOWN_RECEIPT",
            Error::ReturnRefused { .. } => "RETURN_REFUSED",
            Error::CartLineNotFound { .. } => "CART_LINE_NOT_FOUND",
            Error::InvalidBarcode { .. } => "INVALID_BARCODE",
            Error::UnknownBarcode { .. } => "UNKNOWN_BARCODE",
            Error::DuplicateBarcode { .. } => "DUPLICATE_BARCODE",
            Error::PromoInvalidRule { .. } => "PROMO_INVALID_RULE",
            Error::InvalidPriceList { .. } => "INVALID_PRICE_LIST",
            Error::UnknownTaxCategory { .. } => "UNKNOWN_TAX_CATEGORY",
            Error::InvalidTaxRegime { .. } => "INVALID_TAX_REGIME",
            Error::InvalidTender { .. } => "INVALID_TENDER",
            Error::InvalidTenderPolicy { .. } => "INVALID_TENDER_POLICY",
            Error::InsufficientTender { .. } => "INSUFFICIENT_TENDER",
            Error::TenderExceedsDue { .. } => "TENDER_EXCEEDS_DUE",
            Error::OfflineNotAllowed { .. } => "OFFLINE_NOT_ALLOWED",
            Error::OfflineLimitExceeded { .. } => "OFFLINE_LIMIT_EXCEEDED",
            Error::CardNumberRefused { .. } => "CARD_NUMBER_REFUSED",
            Error::RefundExceedsPaid { .. } => "REFUND_EXCEEDS_PAID",
            Error::StoredValueNotFound { .. } => "STORED_VALUE_NOT_FOUND",
            Error::StoredValueExists { .. } => "STORED_VALUE_EXISTS",
            Error::StoredValueInsufficient { .. } => "STORED_VALUE_INSUFFICIENT",
            Error::StoredValueExpired { .. } => "STORED_VALUE_EXPIRED",
            Error::StoredValueFrozen { .. } => "STORED_VALUE_FROZEN",
            Error::StoredValueClosed { .. } => "STORED_VALUE_CLOSED",
            Error::StoredValueCurrencyMismatch { .. } => "STORED_VALUE_CURRENCY_MISMATCH",
            Error::StreamNotFound { .. } => "STREAM_NOT_FOUND",
            Error::StreamExists { .. } => "STREAM_EXISTS",
            Error::StreamFull { .. } => "STREAM_FULL",
            Error::ExporterNotFound { .. } => "EXPORTER_NOT_FOUND",
            Error::InvalidPayload { .. } => "INVALID_PAYLOAD",
            Error::IngestRejected { .. } => "INGEST_REJECTED",
            Error::SyncBadSignature { .. } => "SYNC_BAD_SIGNATURE",
            Error::SyncUnknownDevice { .. } => "SYNC_UNKNOWN_DEVICE",
            Error::SyncScope { .. } => "SYNC_SCOPE",
            Error::SyncReplay { .. } => "SYNC_REPLAY",
            Error::SyncDecode { .. } => "SYNC_DECODE",
            Error::SyncUnsupportedVersion { .. } => "SYNC_UNSUPPORTED_VERSION",
            Error::SyncClockSkew { .. } => "SYNC_CLOCK_SKEW",
            Error::SyncUnreachable { .. } => "SYNC_UNREACHABLE",
            Error::SyncPeerRefused { .. } => "SYNC_PEER_REFUSED",
            Error::ModelDescriptorInvalid { .. } => "MODEL_DESCRIPTOR_INVALID",
            Error::ModelHashMismatch { .. } => "MODEL_HASH_MISMATCH",
            Error::ModelInvalid { .. } => "MODEL_INVALID",
            Error::ModelIo { .. } => "MODEL_IO",
            Error::FrameInvalid { .. } => "FRAME_INVALID",
            Error::ImageInvalid { .. } => "IMAGE_INVALID",
            Error::InferenceFailed { .. } => "INFERENCE_FAILED",
            Error::AnalyticsConfigInvalid { .. } => "ANALYTICS_CONFIG_INVALID",
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
        ("CART_CLOSED", ErrorKind::Commerce),
        ("UNKNOWN_RECEIPT", ErrorKind::Commerce),
        ("RETURN_REFUSED", ErrorKind::Commerce),
        ("CART_LINE_NOT_FOUND", ErrorKind::Commerce),
        ("INVALID_BARCODE", ErrorKind::Commerce),
        ("UNKNOWN_BARCODE", ErrorKind::Commerce),
        ("DUPLICATE_BARCODE", ErrorKind::Commerce),
        ("PROMO_INVALID_RULE", ErrorKind::Commerce),
        ("INVALID_PRICE_LIST", ErrorKind::Commerce),
        ("UNKNOWN_TAX_CATEGORY", ErrorKind::Commerce),
        ("INVALID_TAX_REGIME", ErrorKind::Commerce),
        ("INVALID_TENDER", ErrorKind::Commerce),
        ("INVALID_TENDER_POLICY", ErrorKind::Commerce),
        ("INSUFFICIENT_TENDER", ErrorKind::Commerce),
        ("TENDER_EXCEEDS_DUE", ErrorKind::Commerce),
        ("OFFLINE_NOT_ALLOWED", ErrorKind::Commerce),
        ("OFFLINE_LIMIT_EXCEEDED", ErrorKind::Commerce),
        ("CARD_NUMBER_REFUSED", ErrorKind::Commerce),
        ("REFUND_EXCEEDS_PAID", ErrorKind::Commerce),
        ("STORED_VALUE_NOT_FOUND", ErrorKind::Commerce),
        ("STORED_VALUE_EXISTS", ErrorKind::Commerce),
        ("STORED_VALUE_INSUFFICIENT", ErrorKind::Commerce),
        ("STORED_VALUE_EXPIRED", ErrorKind::Commerce),
        ("STORED_VALUE_FROZEN", ErrorKind::Commerce),
        ("STORED_VALUE_CLOSED", ErrorKind::Commerce),
        ("STORED_VALUE_CURRENCY_MISMATCH", ErrorKind::Commerce),
        ("STREAM_NOT_FOUND", ErrorKind::Forward),
        ("STREAM_EXISTS", ErrorKind::Forward),
        ("STREAM_FULL", ErrorKind::Forward),
        ("EXPORTER_NOT_FOUND", ErrorKind::Forward),
        ("INVALID_PAYLOAD", ErrorKind::Forward),
        ("INGEST_REJECTED", ErrorKind::Forward),
        ("SYNC_BAD_SIGNATURE", ErrorKind::Sync),
        ("SYNC_UNKNOWN_DEVICE", ErrorKind::Sync),
        ("SYNC_SCOPE", ErrorKind::Sync),
        ("SYNC_REPLAY", ErrorKind::Sync),
        ("SYNC_DECODE", ErrorKind::Sync),
        ("SYNC_UNSUPPORTED_VERSION", ErrorKind::Sync),
        ("SYNC_CLOCK_SKEW", ErrorKind::Sync),
        ("SYNC_UNREACHABLE", ErrorKind::Sync),
        ("SYNC_PEER_REFUSED", ErrorKind::Sync),
        ("MODEL_DESCRIPTOR_INVALID", ErrorKind::Vision),
        ("MODEL_HASH_MISMATCH", ErrorKind::Vision),
        ("MODEL_INVALID", ErrorKind::Vision),
        ("MODEL_IO", ErrorKind::Vision),
        ("FRAME_INVALID", ErrorKind::Vision),
        ("IMAGE_INVALID", ErrorKind::Vision),
        ("INFERENCE_FAILED", ErrorKind::Vision),
        ("ANALYTICS_CONFIG_INVALID", ErrorKind::Vision),
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
        "CART_CLOSED",
        "UNKNOWN_RECEIPT",
        "RETURN_REFUSED",
        "CART_LINE_NOT_FOUND",
        "INVALID_BARCODE",
        "UNKNOWN_BARCODE",
        "DUPLICATE_BARCODE",
        "PROMO_INVALID_RULE",
        "INVALID_PRICE_LIST",
        "UNKNOWN_TAX_CATEGORY",
        "INVALID_TAX_REGIME",
        "INVALID_TENDER",
        "INVALID_TENDER_POLICY",
        "INSUFFICIENT_TENDER",
        "TENDER_EXCEEDS_DUE",
        "OFFLINE_NOT_ALLOWED",
        "OFFLINE_LIMIT_EXCEEDED",
        "CARD_NUMBER_REFUSED",
        "REFUND_EXCEEDS_PAID",
        "STORED_VALUE_NOT_FOUND",
        "STORED_VALUE_EXISTS",
        "STORED_VALUE_INSUFFICIENT",
        "STORED_VALUE_EXPIRED",
        "STORED_VALUE_FROZEN",
        "STORED_VALUE_CLOSED",
        "STORED_VALUE_CURRENCY_MISMATCH",
        "STREAM_NOT_FOUND",
        "STREAM_EXISTS",
        "STREAM_FULL",
        "EXPORTER_NOT_FOUND",
        "INVALID_PAYLOAD",
        "INGEST_REJECTED",
        "SYNC_BAD_SIGNATURE",
        "SYNC_UNKNOWN_DEVICE",
        "SYNC_SCOPE",
        "SYNC_REPLAY",
        "SYNC_DECODE",
        "SYNC_UNSUPPORTED_VERSION",
        "SYNC_CLOCK_SKEW",
        "SYNC_UNREACHABLE",
        "SYNC_PEER_REFUSED",
        "MODEL_DESCRIPTOR_INVALID",
        "MODEL_HASH_MISMATCH",
        "MODEL_INVALID",
        "MODEL_IO",
        "FRAME_INVALID",
        "IMAGE_INVALID",
        "INFERENCE_FAILED",
        "ANALYTICS_CONFIG_INVALID",
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
    /// Streams, exporters and ingest (store-and-forward).
    Forward,
    /// Replication: messages, signatures, scopes, clocks.
    Sync,
    /// Edge vision: model descriptors and files, frames, inference.
    Vision,
    /// The device's SQLite file.
    Store,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Value => "value",
            ErrorKind::Commerce => "commerce",
            ErrorKind::Forward => "forward",
            ErrorKind::Sync => "sync",
            ErrorKind::Vision => "vision",
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
            Error::CartClosed { id: "c".into(), status: "completed".into() },
            Error::UnknownReceipt { receipt_no: "r".into() },
            Error::ReturnRefused { receipt_no: "r".into(), reason: "x".into() },
            Error::CartLineNotFound { cart_id: "c".into(), sku: "x".into() },
            Error::InvalidBarcode { barcode: "x".into(), reason: "r".into() },
            Error::UnknownBarcode { barcode: "x".into() },
            Error::DuplicateBarcode { barcode: "x".into(), existing_sku: "a".into(), sku: "b".into() },
            Error::PromoInvalidRule { path: "p".into(), reason: "r".into() },
            Error::InvalidPriceList { id: "x".into(), field: "f".into(), reason: "r".into() },
            Error::UnknownTaxCategory { category: "x".into(), regime: "r".into() },
            Error::InvalidTaxRegime { path: "$.id".into(), reason: "r".into() },
            Error::InvalidTender { at: "tenders[0].amount".into(), reason: "r".into() },
            Error::InvalidTenderPolicy { path: "$.offline".into(), reason: "r".into() },
            Error::InsufficientTender { missing: "1.00 EUR".into(), missing_in_cash: "1.00 EUR".into() },
            Error::TenderExceedsDue {
                index: 0,
                kind: "card".into(),
                amount: "2.00 EUR".into(),
                due: "1.00 EUR".into(),
                reason: "r".into(),
            },
            Error::OfflineNotAllowed { index: 0 },
            Error::OfflineLimitExceeded { index: 0, limit: "floor_limit".into(), detail: "d".into() },
            Error::CardNumberRefused { field: "f".into(), last4: "1111".into() },
            Error::RefundExceedsPaid { returned: "2.00 EUR".into(), paid: "1.00 EUR".into() },
            Error::StoredValueNotFound { kind: "gift_card".into(), id: "GC-1".into() },
            Error::StoredValueExists { kind: "gift_card".into(), id: "GC-1".into() },
            Error::StoredValueInsufficient {
                kind: "gift_card".into(),
                id: "GC-1".into(),
                balance: "1.00 EUR".into(),
                requested: "2.00 EUR".into(),
            },
            Error::StoredValueExpired { kind: "gift_card".into(), id: "GC-1".into(), expired_at: "t".into() },
            Error::StoredValueFrozen { kind: "gift_card".into(), id: "GC-1".into() },
            Error::StoredValueClosed { kind: "gift_card".into(), id: "GC-1".into() },
            Error::StoredValueCurrencyMismatch {
                kind: "gift_card".into(),
                id: "GC-1".into(),
                account: "EUR".into(),
                found: "CHF".into(),
            },
            Error::StreamNotFound { stream: "s".into() },
            Error::StreamExists { stream: "s".into(), detail: "d".into() },
            Error::StreamFull { stream: "s".into(), used: 1, max_bytes: 2, needed: 3 },
            Error::ExporterNotFound { stream: "s".into(), exporter: "e".into() },
            Error::InvalidPayload { stream: "s".into(), reason: "r".into() },
            Error::IngestRejected { detail: "d".into() },
            Error::SyncBadSignature { device: "d".into() },
            Error::SyncUnknownDevice { device: "d".into() },
            Error::SyncScope { device: "d".into(), action: "write".into(), scope: "store:s".into() },
            Error::SyncReplay { device: "d".into(), message: 1 },
            Error::SyncDecode { detail: "d".into() },
            Error::SyncUnsupportedVersion { found: 9, supported: 1 },
            Error::SyncClockSkew { device: "d".into(), ahead_ms: 2, max_ms: 1 },
            Error::SyncUnreachable { peer: "http://127.0.0.1:1".into(), detail: "connection refused".into() },
            Error::SyncPeerRefused { peer: "p".into(), code: "SYNC_SCOPE".into(), message: "m".into() },
            Error::ModelDescriptorInvalid { source_name: "m.json".into(), reason: "r".into() },
            Error::ModelHashMismatch {
                model: "m".into(),
                path: "m.onnx".into(),
                expected: "00".into(),
                found: "11".into(),
            },
            Error::ModelInvalid { model: "m".into(), reason: "r".into() },
            Error::ModelIo { path: "m.onnx".into(), detail: "d".into() },
            Error::FrameInvalid { reason: "r".into() },
            Error::ImageInvalid { source_name: "a.png".into(), detail: "d".into() },
            Error::InferenceFailed { model: "m".into(), detail: "d".into() },
            Error::AnalyticsConfigInvalid { reason: "r".into() },
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
