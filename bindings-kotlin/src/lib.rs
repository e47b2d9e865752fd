//! Kotlin/JVM and Android binding of Aisle (uniffi proc-macros, loaded through JNA).
//!
//! Glue only: convert arguments, call the core, convert results and errors. Every rule lives
//! in the `aisle` crate; a rule found here is a bug. Nothing here may panic on input (uniffi
//! would still catch it, but as an untyped `InternalException`): conversions that can fail
//! return the core's own error.
//!
//! Generated Kotlin lands in package `dev.aisle` (see `uniffi.toml`); the hand-written
//! `src/main/kotlin/dev/aisle/Idioms.kt` adds operators, `Money.parse` and
//! `AisleException.code`/`kind` on top.

use std::fmt;
use std::sync::Arc;

use aisle::{ErrorKind, RoundingMode};

uniffi::setup_scaffolding!("aisle");

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
    /// Catalog, cart and (later) sales rules.
    Commerce,
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

/// A product in the catalog.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// Stock-keeping unit, unique in the catalog: 1–64 printable characters, no spaces.
    pub sku: String,
    /// Name as printed on receipts.
    pub name: String,
    /// Unit price.
    pub price: Money,
    /// Tax category the store's tax regime maps to a rate, e.g. `"standard"`, `"reduced"`.
    pub tax_category: String,
}

impl Product {
    fn to_core(&self) -> Result<aisle::Product> {
        Ok(aisle::Product::new(&self.sku, &self.name, self.price.to_core()?, &self.tax_category))
    }
}

impl From<aisle::Product> for Product {
    fn from(p: aisle::Product) -> Self {
        Product { sku: p.sku, name: p.name, price: p.price.into(), tax_category: p.tax_category }
    }
}

/// One line of a cart, priced from the catalog when the cart is read.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct CartLine {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Money,
    /// `unitPrice × quantity`.
    pub line_total: Money,
    pub tax_category: String,
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
        }
    }
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

// ---- objects ---------------------------------------------------------------------------------

/// An open store on this device: the one handle an app opens, for the life of the app.
/// `close()` (or the end of `use {}`) closes the store file at once; carts taken from it then
/// fail with `STORE_CLOSED`, as after `close()` in Python and Node. The catalog is on the
/// handle itself (`upsertProduct`, `product`, …), as in the Python and Node bindings.
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
}
