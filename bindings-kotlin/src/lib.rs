//! Kotlin/JVM and Android binding of Aisle (uniffi proc-macros, loaded through JNA).
//!
//! Glue only: convert arguments, call the core, convert results and errors. Every rule lives
//! in the `aisle` crate; a rule found here is a bug. Nothing here may panic on input (uniffi
//! would still catch it, but as an untyped `InternalException`): conversions that can fail
//! return the core's own error.
//!
//! Inputs are uniffi records (`TenderInput`, `ManualDiscount`, …) converted to the core's
//! types here; key results are typed records (`PriceSummary`, `SaleSummary`), and the full
//! results (priced cart, sale, receipt, settings) are the core's own JSON, so this crate never
//! re-describes them. Money is always `Money` (integer minor units) and percentages decimal
//! strings: no float reaches an amount.
//!
//! Store-and-forward (`Edge.streams()`, the callback exporter, `Ingest`) is in `forward.rs`;
//! gift cards, store credit and exchanges in `stored_value.rs`; CRDT sync (`Edge.sync()`,
//! device cards, hub/LAN transports, the `Syncer`) in `sync.rs`; edge vision (`Model`,
//! `Detector`, `Frame`, camera `Pipeline`s; cargo feature `vision`, on by default) in
//! `vision.rs`.
//!
//! Generated Kotlin lands in package `dev.aisle` (see `uniffi.toml`); the hand-written
//! `src/main/kotlin/dev/aisle/Idioms.kt` adds operators, `Money.parse`, tender constructors,
//! `SoldBy`, `AisleException.code`/`kind` and the lambda forms of `BatchHandler` on top.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use aisle::commerce::price_list::PriceList;
use aisle::commerce::pricing::{self, PricedCart};
use aisle::commerce::settings::StoreSettings;
use aisle::commerce::tender::{self, TenderKind};
use aisle::commerce::{CartStatus, RefundTo, Sale, SoldBy};
use aisle::{ErrorKind, Percent, RoundingMode};

uniffi::setup_scaffolding!("aisle");

mod forward;
mod stored_value;
mod sync;
#[cfg(feature = "vision")]
mod vision;

use stored_value::StoredValueMovement;

type Result<T, E = AisleError> = std::result::Result<T, E>;

// ---- errors ----------------------------------------------------------------------------------

/// Declares the Kotlin exception hierarchy and its mapping from one table: one subclass per
/// stable code of the core (a test compares them with `errorCodes()`).
macro_rules! aisle_errors {
    // `$doc:tt`, not `literal`: uniffi's derive reads doc comments as plain string literals,
    // and neither `concat!` nor a forwarded `literal` fragment is one.
    ($($variant:ident = $code:literal : $doc:tt,)*) => {
        /// Everything that can go wrong in Aisle. In Kotlin this is the sealed class
        /// `AisleException`; each subclass is one stable error code, and `message` is the core's
        /// text, which starts with that code (`UNKNOWN_SKU: no product with SKU "A-1" in
        /// catalog`). `AisleException.code` (in `Idioms.kt`) gives the code alone.
        ///
        /// Flat on purpose: uniffi would render a variant with fields as a field dump, while a
        /// flat error's message is the Rust `Display` text.
        #[derive(Debug, thiserror::Error, uniffi::Error)]
        #[uniffi(flat_error)]
        pub enum AisleError {
            $(
                #[doc = $doc]
                #[error("{0}")]
                $variant(String),
            )*
            /// A code this build of the binding has no subclass for yet (a newer core). The
            /// message still starts with the code, and `AisleException.code` still returns it.
            #[error("{0}")]
            Other(String),
        }

        /// The one place a core error becomes a Kotlin exception.
        impl From<aisle::Error> for AisleError {
            fn from(e: aisle::Error) -> Self {
                let message = e.to_string();
                match e.code() {
                    $($code => AisleError::$variant(message),)*
                    _ => AisleError::Other(message),
                }
            }
        }
    };
}

aisle_errors! {
    UnknownCurrency = "UNKNOWN_CURRENCY": "not an ISO-4217 code Aisle knows.",
    CurrencyMismatch = "CURRENCY_MISMATCH": "amounts or products of two currencies were combined.",
    MoneyOverflow = "MONEY_OVERFLOW": "a result does not fit 64 bits of minor units.",
    InvalidAmount = "INVALID_AMOUNT": "a decimal amount that cannot be parsed exactly.",
    InvalidArgument = "INVALID_ARGUMENT": "an argument out of its range.",
    UnknownSku = "UNKNOWN_SKU": "no product with that SKU in the catalog.",
    InvalidProduct = "INVALID_PRODUCT": "a product (or SKU) that fails validation.",
    InvalidQuantity = "INVALID_QUANTITY": "a quantity or weight out of range, or of the wrong kind.",
    CartNotFound = "CART_NOT_FOUND": "no cart with that id.",
    CartClosed = "CART_CLOSED": "the cart was completed; start a new one.",
    UnknownReceipt = "UNKNOWN_RECEIPT": "no sale with that receipt number.",
    ReturnRefused = "RETURN_REFUSED": "a return the sale or the policy does not allow.",
    CartLineNotFound = "CART_LINE_NOT_FOUND": "the cart has no line for that SKU.",
    InvalidBarcode = "INVALID_BARCODE": "not a valid GTIN-8/12/13/14.",
    UnknownBarcode = "UNKNOWN_BARCODE": "no product carries that barcode.",
    DuplicateBarcode = "DUPLICATE_BARCODE": "the barcode belongs to another SKU.",
    PromoInvalidRule = "PROMO_INVALID_RULE": "a promotion rule is invalid (the message names the JSON path).",
    InvalidPriceList = "INVALID_PRICE_LIST": "a price list field is invalid.",
    UnknownTaxCategory = "UNKNOWN_TAX_CATEGORY": "a tax category with no rate in the regime.",
    InvalidTaxRegime = "INVALID_TAX_REGIME": "a tax regime is invalid (the message names the JSON path).",
    InvalidTender = "INVALID_TENDER": "a tender is malformed.",
    InvalidTenderPolicy = "INVALID_TENDER_POLICY": "a tender policy is invalid.",
    InsufficientTender = "INSUFFICIENT_TENDER": "the tenders do not cover what is due.",
    TenderExceedsDue = "TENDER_EXCEEDS_DUE": "a tender is more than is due (no change on cards).",
    OfflineNotAllowed = "OFFLINE_NOT_ALLOWED": "offline card payments are not allowed by the policy.",
    OfflineLimitExceeded = "OFFLINE_LIMIT_EXCEEDED": "an offline card payment over the floor limit, exposure cap or expiry.",
    CardNumberRefused = "CARD_NUMBER_REFUSED": "free text that contains a card number.",
    RefundExceedsPaid = "REFUND_EXCEEDS_PAID": "a refund larger than what was paid.",
    StoredValueNotFound = "STORED_VALUE_NOT_FOUND": "no gift card or store credit account with that id on this device.",
    StoredValueExists = "STORED_VALUE_EXISTS": "an account with that kind and id already exists.",
    StoredValueInsufficient = "STORED_VALUE_INSUFFICIENT": "the account holds less than the amount asked for (balances never go negative).",
    StoredValueExpired = "STORED_VALUE_EXPIRED": "the gift card or store credit has expired.",
    StoredValueFrozen = "STORED_VALUE_FROZEN": "the account is frozen: no loads, redemptions or refunds until unfrozen.",
    StoredValueClosed = "STORED_VALUE_CLOSED": "the account is closed for good.",
    StoredValueCurrencyMismatch = "STORED_VALUE_CURRENCY_MISMATCH": "the account is in another currency than the amount.",
    StreamNotFound = "STREAM_NOT_FOUND": "no stream with that name.",
    StreamExists = "STREAM_EXISTS": "a stream with that name exists with another storage or payload format.",
    StreamFull = "STREAM_FULL": "the stream is at its byte cap and its policy is to reject new records.",
    ExporterNotFound = "EXPORTER_NOT_FOUND": "the stream has no exporter with that name.",
    InvalidPayload = "INVALID_PAYLOAD": "a payload the stream cannot take (not one JSON value for a JSON stream, too large).",
    IngestRejected = "INGEST_REJECTED": "a batch was not applied: malformed, or the application's function threw.",
    SyncBadSignature = "SYNC_BAD_SIGNATURE": "a sync message without the valid signature of the device it claims to be from.",
    SyncUnknownDevice = "SYNC_UNKNOWN_DEVICE": "a sync message from a device not enrolled on this replica.",
    SyncScope = "SYNC_SCOPE": "a device read or wrote a scope it may not.",
    SyncReplay = "SYNC_REPLAY": "a sync message received before (or older than the replay window).",
    SyncDecode = "SYNC_DECODE": "not a valid sync message.",
    SyncUnsupportedVersion = "SYNC_UNSUPPORTED_VERSION": "a sync message of a newer format version.",
    SyncClockSkew = "SYNC_CLOCK_SKEW": "a sync timestamp too far ahead of this device's clock.",
    SyncUnreachable = "SYNC_UNREACHABLE": "the sync peer could not be reached (or did not answer with sync).",
    SyncPeerRefused = "SYNC_PEER_REFUSED": "the sync peer refused the exchange; the message carries its code.",
    ModelDescriptorInvalid = "MODEL_DESCRIPTOR_INVALID": "a model descriptor that fails validation.",
    ModelHashMismatch = "MODEL_HASH_MISMATCH": "a model file whose SHA-256 is not the one its descriptor names.",
    ModelInvalid = "MODEL_INVALID": "a model file the inference engine cannot load, or of the wrong shape.",
    ModelIo = "MODEL_IO": "a model file that cannot be read.",
    FrameInvalid = "FRAME_INVALID": "a frame whose size or buffer does not match its format.",
    ImageInvalid = "IMAGE_INVALID": "not a JPEG or PNG image Aisle can decode.",
    InferenceFailed = "INFERENCE_FAILED": "the model failed on a frame.",
    AnalyticsConfigInvalid = "ANALYTICS_CONFIG_INVALID": "a camera's analytics configuration that fails validation.",
    StoreNotADatabase = "STORE_NOT_A_DATABASE": "the file is not a SQLite database (or another app's).",
    StoreCorrupt = "STORE_CORRUPT": "the file is damaged.",
    StoreSchemaTooNew = "STORE_SCHEMA_TOO_NEW": "the file was written by a newer Aisle.",
    StoreIdentityMismatch = "STORE_IDENTITY_MISMATCH": "the file belongs to another store, device or currency.",
    StoreClosed = "STORE_CLOSED": "the store was closed; open it again.",
    StoreIo = "STORE_IO": "the file cannot be read or written.",
    Store = "STORE_ERROR": "any other failure of the store file.",
}

/// Every error code this build of the core can return (`Error::ALL_CODES`).
#[uniffi::export]
pub fn error_codes() -> Vec<String> {
    aisle::Error::ALL_CODES.iter().map(|c| (*c).to_owned()).collect()
}

/// The broad family of an error code: `AisleException.kind` in Kotlin.
#[uniffi::remote(Enum)]
pub enum ErrorKind {
    /// Bad values: amounts, currencies, arguments.
    Value,
    /// Catalog, cart, sales, stored value rules.
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

/// The family of an error code, or `null` for a code this build does not know.
#[uniffi::export]
pub fn error_kind(code: String) -> Option<ErrorKind> {
    aisle::Error::kind_of_code(&code)
}

/// A value the FFI types can hold but the core's cannot (a negative weight, say), reported
/// as the core reports a bad argument.
fn invalid_argument(detail: String) -> AisleError {
    aisle::Error::InvalidArgument(detail).into()
}

/// Counts are `u64` in the core; Kotlin's `Long` holds any real count.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn currency(code: &str) -> Result<aisle::Currency> {
    Ok(aisle::Currency::from_code(code)?)
}

// ---- money -----------------------------------------------------------------------------------

/// How a division that does not come out even is rounded. `UP` and `DOWN` are away from and
/// toward zero, as in `java.math.RoundingMode`.
#[uniffi::remote(Enum)]
pub enum RoundingMode {
    /// Ties to the even neighbour (banker's rounding).
    HalfEven,
    /// Ties away from zero (commercial rounding).
    HalfUp,
    /// Ties toward zero.
    HalfDown,
    /// Always away from zero.
    Up,
    /// Always toward zero (truncate).
    Down,
}

/// An exact amount of money: `minor` units (cents, pence, yen) of an ISO-4217 `currency`.
/// `Money(119, "EUR")` is 1.19 EUR. The currency is checked when the amount is used.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
#[uniffi::export(Display)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

impl Money {
    fn to_core(&self) -> Result<aisle::Money> {
        Ok(aisle::Money::new(self.minor, currency(&self.currency)?))
    }
}

impl From<aisle::Money> for Money {
    fn from(m: aisle::Money) -> Self {
        Money { minor: m.minor(), currency: m.currency().code().to_owned() }
    }
}

/// `toString()` in Kotlin: the core's text (`"1.19 EUR"`). A currency the core does not know
/// cannot be formatted, and `toString` must not throw, so that case shows the raw fields.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_core() {
            Ok(m) => fmt::Display::fmt(&m, f),
            Err(_) => write!(f, "Money(minor={}, currency={})", self.minor, self.currency),
        }
    }
}

#[uniffi::export]
impl Money {
    /// `this + other`; `CURRENCY_MISMATCH` across currencies, `MONEY_OVERFLOW` past 64 bits.
    pub fn add(&self, other: Money) -> Result<Money> {
        Ok(self.to_core()?.checked_add(other.to_core()?)?.into())
    }

    /// `this - other`; `CURRENCY_MISMATCH` across currencies, `MONEY_OVERFLOW` past 64 bits.
    pub fn sub(&self, other: Money) -> Result<Money> {
        Ok(self.to_core()?.checked_sub(other.to_core()?)?.into())
    }

    /// `-this`; `MONEY_OVERFLOW` for the one amount whose negation does not fit.
    pub fn neg(&self) -> Result<Money> {
        Ok(self.to_core()?.checked_neg()?.into())
    }

    /// `this × factor` (a quantity); `MONEY_OVERFLOW` past 64 bits.
    pub fn mul(&self, factor: i64) -> Result<Money> {
        Ok(self.to_core()?.checked_mul(factor)?.into())
    }

    /// `this × numerator ÷ denominator`, rounded with `mode`: a percentage (15/100), a weight
    /// (grams/1000), a rate.
    pub fn mul_div(&self, numerator: i64, denominator: i64, mode: RoundingMode) -> Result<Money> {
        Ok(self.to_core()?.mul_div(numerator, denominator, mode)?.into())
    }

    /// Rounds to a multiple of `increment` minor units (cash rounding: 5 for CHF 0.05).
    pub fn round_to_increment(&self, increment: i64, mode: RoundingMode) -> Result<Money> {
        Ok(self.to_core()?.round_to_increment(increment, mode)?.into())
    }

    /// Splits this amount over `weights` (none negative) by largest remainder: the parts
    /// always sum to exactly this amount; 0.04 over `[1, 1, 1]` is 0.01, 0.01, 0.02.
    pub fn allocate(&self, weights: Vec<i64>) -> Result<Vec<Money>> {
        let weights = weights
            .into_iter()
            .map(|w| {
                u64::try_from(w).map_err(|_| {
                    invalid_argument(format!("allocation weights must not be negative, got {w}"))
                })
            })
            .collect::<Result<Vec<u64>>>()?;
        Ok(self.to_core()?.allocate(&weights)?.into_iter().map(Money::from).collect())
    }

    /// The amount in major units without the code, e.g. `"-12.05"`.
    pub fn to_decimal_string(&self) -> Result<String> {
        Ok(self.to_core()?.to_decimal_string())
    }
}

/// Parses a decimal amount in major units exactly: `parseMoney("1.19", "EUR")` is 119 cents.
/// More decimals than the currency has is `INVALID_AMOUNT`, never a silent rounding.
#[uniffi::export]
pub fn parse_money(input: String, currency: String) -> Result<Money> {
    Ok(aisle::Money::parse(&input, self::currency(&currency)?)?.into())
}

// ---- commerce records ------------------------------------------------------------------------

/// Who this device is and what it sells in. A store file remembers the identity it was
/// created with; opening it with another is `STORE_IDENTITY_MISMATCH`.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct EdgeConfig {
    /// The store this device belongs to, e.g. `"store-042"`.
    pub store_id: String,
    /// This device, unique within the store, e.g. `"register-1"`.
    pub device_id: String,
    /// The store's ISO-4217 currency, e.g. `"EUR"`: carts are priced in it.
    pub currency: String,
}

impl EdgeConfig {
    fn to_core(&self) -> Result<aisle::EdgeConfig> {
        Ok(aisle::EdgeConfig::new(&self.store_id, &self.device_id, currency(&self.currency)?))
    }
}

impl From<&aisle::EdgeConfig> for EdgeConfig {
    fn from(c: &aisle::EdgeConfig) -> Self {
        EdgeConfig {
            store_id: c.store_id.clone(),
            device_id: c.device_id.clone(),
            currency: c.currency.code().to_owned(),
        }
    }
}

/// A product in the catalog. Only the first four fields are required:
/// `Product("MILK-1L", "Milk 1 l", Money(119, "EUR"), "reduced")` is a product sold by the
/// piece with no barcodes, categories, tags or variants.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// Stock-keeping unit, unique in the catalog: 1–64 printable characters, no spaces.
    pub sku: String,
    /// Name as printed on receipts.
    pub name: String,
    /// Base price: per piece, or per kilogram when `soldBy` is `"weight"`. Price lists may
    /// override it.
    pub price: Money,
    /// Tax category the store's tax regime maps to a rate, e.g. `"standard"`, `"reduced"`.
    pub tax_category: String,
    /// GTINs (EAN-13, UPC-A, EAN-8, GTIN-14) printed on the product; each belongs to one SKU.
    #[uniffi(default)]
    pub barcodes: Vec<String>,
    /// Categories, e.g. `["dairy", "food/dairy/milk"]`; promotions and reports match them exactly.
    #[uniffi(default)]
    pub categories: Vec<String>,
    /// Free labels, e.g. `["organic", "local"]`; matched exactly.
    #[uniffi(default)]
    pub tags: Vec<String>,
    /// `"unit"` (counted in pieces) or `"weight"` (price per kg, carts take grams): the
    /// constants `SoldBy.UNIT` and `SoldBy.WEIGHT`. A string, not an enum, because uniffi
    /// cannot give an enum field a default and the four-argument constructor must keep working.
    #[uniffi(default = "unit")]
    pub sold_by: String,
    /// The product (style) this one is a variant of, e.g. `"TSHIRT"` for `"TSHIRT-RED-M"`.
    #[uniffi(default)]
    pub parent_sku: Option<String>,
    /// What distinguishes a variant, e.g. `{"colour": "red", "size": "M"}`.
    #[uniffi(default)]
    pub attributes: HashMap<String, String>,
}

impl Product {
    fn to_core(&self) -> Result<aisle::Product> {
        Ok(aisle::Product {
            sku: self.sku.clone(),
            name: self.name.clone(),
            price: self.price.to_core()?,
            tax_category: self.tax_category.clone(),
            parent_sku: self.parent_sku.clone(),
            attributes: self.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<BTreeMap<_, _>>(),
            barcodes: self.barcodes.clone(),
            categories: self.categories.clone(),
            tags: self.tags.clone(),
            sold_by: self.sold_by.parse::<SoldBy>()?,
        })
    }
}

impl From<aisle::Product> for Product {
    fn from(p: aisle::Product) -> Self {
        Product {
            sku: p.sku,
            name: p.name,
            price: p.price.into(),
            tax_category: p.tax_category,
            barcodes: p.barcodes,
            categories: p.categories,
            tags: p.tags,
            sold_by: p.sold_by.as_str().to_owned(),
            parent_sku: p.parent_sku,
            attributes: p.attributes.into_iter().collect(),
        }
    }
}

/// A manual unit price for one line, with the reason the cashier gave (required; a card
/// number in it is refused). The line then takes no promotions.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct PriceOverride {
    /// Per piece, or per kilogram for a weighed line.
    pub price: Money,
    pub reason: String,
}

impl PriceOverride {
    fn to_core(&self) -> Result<pricing::PriceOverride> {
        Ok(pricing::PriceOverride { price: self.price.to_core()?, reason: self.reason.clone() })
    }
}

impl From<pricing::PriceOverride> for PriceOverride {
    fn from(o: pricing::PriceOverride) -> Self {
        PriceOverride { price: o.price.into(), reason: o.reason }
    }
}

/// A manual discount on a line or on the whole order: exactly one of `percent` (a decimal
/// string such as `"12.5"`, never a float) or `amount`, and the reason the cashier gave.
/// `ManualDiscount(percent = "10", reason = "damaged label")`.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct ManualDiscount {
    /// Percent off, as exact decimal text: `"10"`, `"12.5"`.
    #[uniffi(default)]
    pub percent: Option<String>,
    /// Amount off, in the cart's currency.
    #[uniffi(default)]
    pub amount: Option<Money>,
    /// Why (printed on the receipt); required.
    pub reason: String,
    /// Whether a manager must approve it. Pricing sets it (in `Cart.priceJson()`) when the
    /// discount is above the store's `approval_above_percent`; pass `true` to require approval
    /// regardless. The app decides who may approve.
    #[uniffi(default = false)]
    pub needs_approval: bool,
}

impl ManualDiscount {
    fn to_core(&self) -> Result<pricing::ManualDiscount> {
        Ok(pricing::ManualDiscount {
            percent: self.percent.as_deref().map(Percent::parse).transpose()?,
            amount: self.amount.as_ref().map(Money::to_core).transpose()?,
            reason: self.reason.clone(),
            needs_approval: self.needs_approval,
        })
    }
}

impl From<pricing::ManualDiscount> for ManualDiscount {
    fn from(d: pricing::ManualDiscount) -> Self {
        ManualDiscount {
            percent: d.percent.map(|p| p.to_string()),
            amount: d.amount.map(Money::from),
            reason: d.reason,
            needs_approval: d.needs_approval,
        }
    }
}

/// The customer attached to a cart: for customer-group prices and promotions, usage limits,
/// and tax exemption.
#[derive(uniffi::Record, Clone, Debug, Default, PartialEq, Eq)]
pub struct Customer {
    #[uniffi(default)]
    pub id: Option<String>,
    /// Customer group for price lists and promotions, e.g. `"staff"`, `"member"`.
    #[uniffi(default)]
    pub group: Option<String>,
    #[uniffi(default)]
    pub loyalty_id: Option<String>,
    /// Pays no tax (diplomats, charities, resellers).
    #[uniffi(default = false)]
    pub tax_exempt: bool,
}

impl From<&Customer> for aisle::commerce::Customer {
    fn from(c: &Customer) -> Self {
        aisle::commerce::Customer {
            id: c.id.clone(),
            group: c.group.clone(),
            loyalty_id: c.loyalty_id.clone(),
            tax_exempt: c.tax_exempt,
        }
    }
}

impl From<aisle::commerce::Customer> for Customer {
    fn from(c: aisle::commerce::Customer) -> Self {
        Customer { id: c.id, group: c.group, loyalty_id: c.loyalty_id, tax_exempt: c.tax_exempt }
    }
}

/// How a customer pays.
#[uniffi::remote(Enum)]
pub enum TenderKind {
    /// The only tender that gives change (and the only one cash rounding applies to).
    Cash,
    /// Needs a `CardAuth` from the payment terminal.
    Card,
    /// Needs the gift card id as `reference`.
    GiftCard,
    /// Needs the credit id as `reference`.
    StoreCredit,
}

/// The record of an authorisation from the payment terminal. Never a card number: Aisle
/// keeps the terminal's token, the brand and the last four digits, and refuses any field
/// that looks like a full card number (`CardNumberRefused`).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct CardAuth {
    /// The terminal's or acquirer's reference for the payment (used to refund it).
    pub token: String,
    /// e.g. `"VISA"`, `"MASTERCARD"`.
    pub brand: String,
    /// Exactly four digits.
    pub last4: String,
    /// When the terminal authorised it (Unix milliseconds).
    pub authorized_at_ms: i64,
    #[uniffi(default)]
    pub auth_code: Option<String>,
    /// Authorised by the terminal without reaching the acquirer: subject to the store's
    /// offline policy, forwarded later.
    #[uniffi(default = false)]
    pub offline: bool,
}

impl From<&CardAuth> for tender::CardAuth {
    fn from(c: &CardAuth) -> Self {
        tender::CardAuth {
            token: c.token.clone(),
            brand: c.brand.clone(),
            last4: c.last4.clone(),
            auth_code: c.auth_code.clone(),
            offline: c.offline,
            authorized_at_ms: c.authorized_at_ms,
        }
    }
}

/// One tender offered for a sale: `TenderInput.cash(Money(2000, "EUR"))`,
/// `TenderInput.card(amount, auth)` (in `Idioms.kt`) or the constructor.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct TenderInput {
    pub kind: TenderKind,
    /// For cash: what was handed over (change is given from it). For the others: what is
    /// charged, never more than is due.
    pub amount: Money,
    /// Required for a card, refused for the others.
    #[uniffi(default)]
    pub card: Option<CardAuth>,
    /// The gift card or store credit id (required for those).
    #[uniffi(default)]
    pub reference: Option<String>,
}

impl TenderInput {
    fn to_core(&self) -> Result<tender::TenderInput> {
        Ok(tender::TenderInput {
            kind: self.kind,
            amount: self.amount.to_core()?,
            card: self.card.as_ref().map(tender::CardAuth::from),
            reference: self.reference.clone(),
        })
    }
}

/// One line of a cart, at its resolved price (price lists, manual price), before promotions
/// and tax.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct CartLine {
    pub sku: String,
    pub name: String,
    /// Pieces; 1 for a weighed line.
    pub quantity: i64,
    /// Per piece, or per kilogram for a weighed line (the manual price if overridden).
    pub unit_price: Money,
    /// Before discounts: `unitPrice × quantity`, or the weighed amount.
    pub line_total: Money,
    pub tax_category: String,
    /// The weight in grams of a weighed line; `null` for one counted in pieces.
    #[uniffi(default)]
    pub grams: Option<i64>,
    #[uniffi(default)]
    pub price_override: Option<PriceOverride>,
    /// The manual line discount, as set (what it comes to is in `Cart.priceJson()`).
    #[uniffi(default)]
    pub discount: Option<ManualDiscount>,
}

impl From<aisle::CartLine> for CartLine {
    fn from(l: aisle::CartLine) -> Self {
        CartLine {
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            unit_price: l.unit_price.into(),
            line_total: l.line_total.into(),
            tax_category: l.tax_category,
            grams: l.grams,
            price_override: l.price_override.map(PriceOverride::from),
            discount: l.discount.map(ManualDiscount::from),
        }
    }
}

/// The totals of a priced cart (`Cart.priceSummary()`). Lines, adjustments, taxes by rate,
/// promotions and coupon statuses are in `Cart.priceJson()`.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct PriceSummary {
    /// Sum of the lines before any discount.
    pub subtotal: Money,
    /// All discounts (promotions and manual), positive.
    pub discount: Money,
    /// The total without tax.
    pub net: Money,
    pub tax: Money,
    /// What the customer owes, before cash rounding.
    pub total: Money,
}

impl From<&PricedCart> for PriceSummary {
    fn from(p: &PricedCart) -> Self {
        PriceSummary {
            subtotal: p.subtotal.into(),
            discount: p.discount.into(),
            net: p.net.into(),
            tax: p.tax.into(),
            total: p.total.into(),
        }
    }
}

/// The key figures of a completed sale or refund (amounts of a refund are negative). The
/// whole record is `Edge.saleJson(receiptNo)`.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct SaleSummary {
    /// Gap-free per device, e.g. `"register-1-000042"`.
    pub receipt_no: String,
    /// What the goods cost, before cash rounding.
    pub total: Money,
    /// What was settled: the total after cash rounding.
    pub due: Money,
    /// Cash given back.
    pub change: Money,
    /// `due − total`; zero without cash rounding or without cash.
    pub cash_rounding: Money,
    /// What each gift card / store credit tender did to its account, in tender order (a
    /// redemption is negative, a refund to an account positive), with the balance after.
    #[uniffi(default)]
    pub stored_value: Vec<StoredValueMovement>,
    /// For the two receipts of an exchange: the other one (the refund names the sale, the
    /// sale names the refund); `null` otherwise.
    #[uniffi(default)]
    pub exchange_with: Option<String>,
    /// The store credit this refund issued or credited (`SC-<receipt number>` for new credit),
    /// to print or hand to the customer; `null` if it credited none.
    #[uniffi(default)]
    pub store_credit_id: Option<String>,
}

impl From<&Sale> for SaleSummary {
    fn from(s: &Sale) -> Self {
        SaleSummary {
            receipt_no: s.receipt_no.clone(),
            total: s.total.into(),
            due: s.settlement.due.into(),
            change: s.settlement.change.into(),
            cash_rounding: s.settlement.cash_rounding.into(),
            stored_value: s.stored_value.iter().map(StoredValueMovement::from).collect(),
            exchange_with: s.exchange_with.clone(),
            store_credit_id: s.store_credit_id().map(str::to_owned),
        }
    }
}

/// What to return from a receipt: `quantity` units of line `lineNo` (1-based, as on the
/// sale; a weighed line has one unit).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct ReturnItem {
    pub line_no: i32,
    pub quantity: i64,
}

impl ReturnItem {
    fn to_core(&self) -> Result<aisle::commerce::ReturnItem> {
        let line_no = u32::try_from(self.line_no)
            .map_err(|_| invalid_argument(format!("a return line number must not be negative, got {}", self.line_no)))?;
        Ok(aisle::commerce::ReturnItem { line_no, quantity: self.quantity })
    }
}

/// Where a refund goes.
#[uniffi::remote(Enum)]
pub enum RefundTo {
    /// Back to the tenders of the original sale: cards first, then cash.
    OriginalTenders,
    /// As store credit (exchanges: the new sale takes it as a tender).
    StoreCredit,
}

/// Where a cart is in its life: only an open cart can change or be completed (the others
/// throw `CartClosed`).
#[uniffi::remote(Enum)]
pub enum CartStatus {
    /// Being rung up: lines, discounts, customer and coupons can change.
    Open,
    /// Paid: a sale records it, and it never changes again.
    Completed,
    /// Abandoned without a sale.
    Void,
}

/// Serialises a core result for apps that want all of it. The core's types serialise from
/// integers, strings and enums only, so this does not fail in practice; if it ever did, it
/// is reported with a code like every other error.
fn to_json(what: &str, encoded: serde_json::Result<String>) -> Result<String> {
    encoded.map_err(|e| invalid_argument(format!("cannot encode {what} as JSON: {e}")))
}

/// What a store holds, by count.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct StoreStats {
    pub products: i64,
    pub carts: i64,
    pub cart_lines: i64,
    /// Size of the main database file in bytes (WAL not included).
    pub bytes: i64,
}

impl From<aisle::StoreStats> for StoreStats {
    fn from(s: aisle::StoreStats) -> Self {
        StoreStats {
            products: count(s.products),
            carts: count(s.carts),
            cart_lines: count(s.cart_lines),
            bytes: count(s.bytes),
        }
    }
}

// ---- pricing without a store -----------------------------------------------------------------

/// Prices a self-contained pricing request (lines, tax regime, promotions, context and
/// optionally tenders, as JSON: `docs/schemas/pricing-request.schema.json`) and returns the
/// result as JSON: the priced cart, plus `settlement` when tenders were given. For HQ tools,
/// web backends and the shared test vectors; a store's carts use `Cart.priceJson()`.
/// A malformed request is `InvalidArgument` naming the JSON path; a bad rule
/// `PromoInvalidRule`, a bad regime `InvalidTaxRegime`.
#[uniffi::export]
pub fn price_json(request: String) -> Result<String> {
    Ok(pricing::price_json(&request)?)
}

// ---- objects ---------------------------------------------------------------------------------

/// An open store on this device: the one handle an app opens, for the life of the app.
/// `close()` (or the end of `use {}`) closes the store file at once; carts taken from it then
/// fail with `STORE_CLOSED`, as after `close()` in Python and Node. The catalog, settings,
/// sales and returns are on the handle itself (`upsertProduct`, `setSettingsJson`,
/// `receiptText`, `returnItems`, …), as in the Python and Node bindings.
#[derive(uniffi::Object)]
pub struct Edge {
    inner: aisle::Edge,
}

/// Kotlin's `close()` frees this object, and that is the moment the store should close, not
/// when the last cart is garbage-collected. (A handle that is never closed is freed, and so
/// closed, by uniffi's cleaner after garbage collection.)
impl Drop for Edge {
    fn drop(&mut self) {
        // Drop cannot report: if closing fails, the connection stays with the carts and closes
        // when the last of them goes.
        let _ = self.inner.close();
    }
}

#[uniffi::export]
impl Edge {
    /// Opens the store file at `path`, creating it (and its schema) if it does not exist.
    #[uniffi::constructor]
    pub fn open(path: String, config: EdgeConfig) -> Result<Arc<Self>> {
        Ok(Arc::new(Edge { inner: aisle::Edge::open(path, config.to_core()?)? }))
    }

    /// A store that lives in memory only, for tests: nothing survives `close()`.
    #[uniffi::constructor]
    pub fn open_in_memory(config: EdgeConfig) -> Result<Arc<Self>> {
        Ok(Arc::new(Edge { inner: aisle::Edge::open_in_memory(config.to_core()?)? }))
    }

    /// The identity this store was opened with.
    pub fn config(&self) -> EdgeConfig {
        self.inner.config().into()
    }

    /// The file this store lives in (`":memory:"` for an in-memory store).
    pub fn path(&self) -> String {
        self.inner.path().to_string_lossy().into_owned()
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> i64 {
        self.inner.schema_version()
    }

    /// Adds a product to the catalog, or replaces the one with the same SKU.
    pub fn upsert_product(&self, product: Product) -> Result<()> {
        Ok(self.inner.catalog().upsert(&product.to_core()?)?)
    }

    /// Adds or replaces many products in one transaction: all or none.
    pub fn upsert_products(&self, products: Vec<Product>) -> Result<()> {
        let products = products.iter().map(Product::to_core).collect::<Result<Vec<_>>>()?;
        Ok(self.inner.catalog().upsert_all(&products)?)
    }

    /// The product with this SKU; `UNKNOWN_SKU` if there is none.
    pub fn product(&self, sku: String) -> Result<Product> {
        Ok(self.inner.catalog().get(&sku)?.into())
    }

    /// The product with this SKU, or `null`.
    pub fn find_product(&self, sku: String) -> Result<Option<Product>> {
        Ok(self.inner.catalog().find(&sku)?.map(Product::from))
    }

    /// Every product in the catalog, ordered by SKU.
    pub fn products(&self) -> Result<Vec<Product>> {
        Ok(self.inner.catalog().list()?.into_iter().map(Product::from).collect())
    }

    /// Number of products in the catalog.
    pub fn product_count(&self) -> Result<i64> {
        Ok(count(self.inner.catalog().len()?))
    }

    /// The product with this barcode. Any standard length finds it (`036000291452`,
    /// `0036000291452` and `00036000291452` are one GTIN). A malformed code is
    /// `InvalidBarcode`; one no product carries is `UnknownBarcode`.
    pub fn product_by_barcode(&self, code: String) -> Result<Product> {
        Ok(self.inner.catalog().by_barcode(&code)?.into())
    }

    // ---- settings, promotions, price lists (JSON, as HQ authors them) -------------------------

    /// The store's settings as JSON (`docs/schemas/store-settings.schema.json`): store name,
    /// time zone, tax regime, tender policy (cash rounding, offline cards), return policy,
    /// receipt footer. Defaults until set.
    pub fn settings_json(&self) -> Result<String> {
        Ok(self.inner.settings()?.to_json())
    }

    /// Validates and stores new settings, replacing all of them. A bad field is
    /// `InvalidArgument` (or `InvalidTaxRegime`, `InvalidTenderPolicy`) naming its JSON path,
    /// and the old settings stay.
    pub fn set_settings_json(&self, json: String) -> Result<()> {
        Ok(self.inner.set_settings(&StoreSettings::from_json(&json)?)?)
    }

    /// The store's promotions as a JSON array (`docs/schemas/promotion.schema.json`).
    pub fn promotions_json(&self) -> Result<String> {
        to_json("promotions", serde_json::to_string(&self.inner.promotions()?))
    }

    /// Validates and replaces all promotions (all or none). A bad rule is `PromoInvalidRule`
    /// naming its JSON path, e.g. `[0].rule.percent`.
    pub fn set_promotions_json(&self, json: String) -> Result<()> {
        Ok(self.inner.set_promotions_json(&json)?)
    }

    /// Adds a price list or replaces the one with the same id (`docs/schemas/price-list.schema.json`).
    /// A bad field is `InvalidPriceList` naming it.
    pub fn upsert_price_list_json(&self, json: String) -> Result<()> {
        Ok(self.inner.catalog().upsert_price_list(&PriceList::from_json(&json)?)?)
    }

    /// Every price list, ordered by id, as a JSON array.
    pub fn price_lists_json(&self) -> Result<String> {
        to_json("price lists", serde_json::to_string(&self.inner.catalog().price_lists()?))
    }

    // ---- sales, receipts, returns -------------------------------------------------------------

    /// Receipt numbers of every sale and refund, oldest first.
    pub fn receipt_numbers(&self) -> Result<Vec<String>> {
        Ok(self.inner.sales().receipt_numbers()?)
    }

    /// The key figures of the sale or refund with this receipt number; `UnknownReceipt` if
    /// there is none.
    pub fn sale_summary(&self, receipt_no: String) -> Result<SaleSummary> {
        Ok(SaleSummary::from(&self.inner.sales().get(&receipt_no)?))
    }

    /// The whole sale or refund record as JSON: lines with per-unit amounts, adjustments,
    /// taxes, promotions, the settlement (tenders, change, cash rounding), customer. The same
    /// payload as the `SaleCompleted` / `RefundCompleted` event.
    pub fn sale_json(&self, receipt_no: String) -> Result<String> {
        to_json("the sale", serde_json::to_string(&self.inner.sales().get(&receipt_no)?))
    }

    /// The receipt of a sale or refund as structured JSON, for apps that draw their own.
    pub fn receipt_json(&self, receipt_no: String) -> Result<String> {
        to_json("the receipt", serde_json::to_string(&self.inner.sales().receipt(&receipt_no)?))
    }

    /// The receipt as plain monospace text for a receipt printer: lines separated by `\n`,
    /// none longer than `width` characters (48 fits an 80 mm printer).
    #[uniffi::method(default(width = 48))]
    pub fn receipt_text(&self, receipt_no: String, width: i32) -> Result<String> {
        let width = usize::try_from(width)
            .map_err(|_| invalid_argument(format!("a receipt width must not be negative, got {width}")))?;
        Ok(self.inner.sales().receipt(&receipt_no)?.render_text(width))
    }

    /// Returns items of a sale: refunds what those units were recorded as paying (lowest-paid
    /// units of a line first; never re-priced), to the original tenders or as store credit.
    /// Every return of a receipt together refunds at most, and at last exactly, what was paid.
    /// Returns the refund's summary (negative amounts). `ReturnRefused` for more than was sold,
    /// a line the sale does not have, or outside the return period.
    pub fn return_items(
        &self,
        receipt_no: String,
        items: Vec<ReturnItem>,
        reason: String,
        refund_to: RefundTo,
    ) -> Result<SaleSummary> {
        let items = items.iter().map(ReturnItem::to_core).collect::<Result<Vec<_>>>()?;
        let refund = self.inner.sales().return_items(&receipt_no, &items, &reason, refund_to)?;
        Ok(SaleSummary::from(&refund))
    }

    /// Starts a new, empty cart in the store's currency. It is persisted at once.
    pub fn new_cart(&self) -> Result<Arc<Cart>> {
        Ok(Arc::new(Cart { inner: self.inner.new_cart()? }))
    }

    /// Reopens a cart by id (e.g. after a restart); `CART_NOT_FOUND` if there is none.
    pub fn cart(&self, id: String) -> Result<Arc<Cart>> {
        Ok(Arc::new(Cart { inner: self.inner.cart(&id)? }))
    }

    /// Ids of the carts in this store, oldest first.
    pub fn cart_ids(&self) -> Result<Vec<String>> {
        Ok(self.inner.cart_ids()?)
    }

    /// Counts of what is stored.
    pub fn stats(&self) -> Result<StoreStats> {
        Ok(self.inner.stats()?.into())
    }
}

/// A cart in the store. Every change is saved at once, so a cart survives a restart exactly
/// as it was; reopen it with `Edge.cart(id)`.
#[derive(uniffi::Object)]
pub struct Cart {
    inner: aisle::Cart,
}

#[uniffi::export]
impl Cart {
    /// The cart's id, e.g. `"register-1-cart-7"`.
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    /// The currency the cart is priced in (the store's), e.g. `"EUR"`.
    pub fn currency(&self) -> String {
        self.inner.currency().code().to_owned()
    }

    /// Adds `quantity` (at least 1) of `sku`: a new line, or more of an existing one.
    pub fn add(&self, sku: String, quantity: i64) -> Result<()> {
        Ok(self.inner.add(&sku, quantity)?)
    }

    /// Sets the quantity of `sku`'s line, adding it if absent; 0 removes the line.
    pub fn set_quantity(&self, sku: String, quantity: i64) -> Result<()> {
        Ok(self.inner.set_quantity(&sku, quantity)?)
    }

    /// Removes `sku`'s line; `CART_LINE_NOT_FOUND` if the cart has none.
    pub fn remove(&self, sku: String) -> Result<()> {
        Ok(self.inner.remove(&sku)?)
    }

    /// Removes every line.
    pub fn clear(&self) -> Result<()> {
        Ok(self.inner.clear()?)
    }

    /// The lines in the order they were first added, priced from the catalog.
    pub fn lines(&self) -> Result<Vec<CartLine>> {
        Ok(self.inner.lines()?.into_iter().map(CartLine::from).collect())
    }

    /// Sum of the line totals, before promotions and tax.
    pub fn subtotal(&self) -> Result<Money> {
        Ok(self.inner.subtotal()?.into())
    }

    /// Total number of items (sum of quantities).
    pub fn item_count(&self) -> Result<i64> {
        Ok(self.inner.item_count()?)
    }

    // ---- weighed goods, manual prices and discounts ------------------------------------------

    /// Adds a weighed product (sold by weight): `grams` from the scale, added to any weight
    /// already on its line. A product sold by the piece is `InvalidQuantity`.
    pub fn add_weighed(&self, sku: String, grams: i64) -> Result<()> {
        Ok(self.inner.add_weighed(&sku, grams)?)
    }

    /// Sets the weight of a weighed line (adding it if absent); 0 removes the line.
    pub fn set_weight(&self, sku: String, grams: i64) -> Result<()> {
        Ok(self.inner.set_weight(&sku, grams)?)
    }

    /// Sets a manual unit price on `sku`'s line, or with `null` clears it. The line then
    /// takes no promotions.
    pub fn set_price_override(&self, sku: String, price_override: Option<PriceOverride>) -> Result<()> {
        let price_override = price_override.as_ref().map(PriceOverride::to_core).transpose()?;
        Ok(self.inner.set_price_override(&sku, price_override.as_ref())?)
    }

    /// Sets a manual discount on `sku`'s line (after promotions), or with `null` clears it.
    pub fn set_line_discount(&self, sku: String, discount: Option<ManualDiscount>) -> Result<()> {
        let discount = discount.as_ref().map(ManualDiscount::to_core).transpose()?;
        Ok(self.inner.set_line_discount(&sku, discount.as_ref())?)
    }

    /// Sets a manual discount on the whole order (applied last, spread over the lines), or
    /// with `null` clears it.
    pub fn set_order_discount(&self, discount: Option<ManualDiscount>) -> Result<()> {
        let discount = discount.as_ref().map(ManualDiscount::to_core).transpose()?;
        Ok(self.inner.set_order_discount(discount.as_ref())?)
    }

    // ---- customer and coupons ---------------------------------------------------------------

    /// Attaches a customer, or with `null` detaches it.
    pub fn set_customer(&self, customer: Option<Customer>) -> Result<()> {
        let customer = customer.as_ref().map(aisle::commerce::Customer::from);
        Ok(self.inner.set_customer(customer.as_ref())?)
    }

    /// The attached customer, or `null`.
    pub fn customer(&self) -> Result<Option<Customer>> {
        Ok(self.inner.customer()?.map(Customer::from))
    }

    /// Enters a coupon code (stored upper-case). Whether it applies is decided when the cart
    /// is priced: see `coupons` in `priceJson()` (`applied`, `not_applicable`, `invalid`, …).
    pub fn add_coupon(&self, code: String) -> Result<()> {
        Ok(self.inner.add_coupon(&code)?)
    }

    pub fn remove_coupon(&self, code: String) -> Result<()> {
        Ok(self.inner.remove_coupon(&code)?)
    }

    /// The coupon codes entered, upper-case, sorted.
    pub fn coupons(&self) -> Result<Vec<String>> {
        Ok(self.inner.coupons()?)
    }

    /// `CartStatus.OPEN`, `COMPLETED` or `VOID`. Only an open cart can change or be completed.
    pub fn status(&self) -> Result<CartStatus> {
        Ok(self.inner.status()?)
    }

    // ---- pricing and completing -------------------------------------------------------------

    /// Prices the cart now (price lists, promotions, manual discounts, tax, per the store's
    /// settings) and returns the totals. `InvalidArgument` if the store has no tax regime yet.
    pub fn price_summary(&self) -> Result<PriceSummary> {
        Ok(PriceSummary::from(&self.inner.price()?))
    }

    /// Prices the cart now and returns everything as JSON: each line's base, adjustments
    /// (promotion or manual, per unit), taxes; the totals; taxes by rate; the promotions
    /// applied; each coupon's status; manual discounts with `needs_approval`.
    pub fn price_json(&self) -> Result<String> {
        to_json("the priced cart", serde_json::to_string(&self.inner.price()?))
    }

    /// Completes the sale: prices the cart now, settles `tenders` (cards and other non-cash
    /// first, then cash with the store's cash rounding; change only from cash) and records
    /// the sale, its receipt number and its event in one transaction. The cart is then
    /// closed (`CartClosed`). Typed failures: `InsufficientTender`, `TenderExceedsDue`,
    /// `InvalidTender`, `CardNumberRefused`, `OfflineNotAllowed`, `OfflineLimitExceeded`.
    pub fn complete(&self, tenders: Vec<TenderInput>) -> Result<SaleSummary> {
        let tenders = tenders.iter().map(TenderInput::to_core).collect::<Result<Vec<_>>>()?;
        Ok(SaleSummary::from(&self.inner.complete(&tenders)?))
    }
}
