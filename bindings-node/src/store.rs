//! `Edge` (an open store), its catalog and its carts, as JS classes and plain objects.
//! Settings, sales, receipts and the commerce side of carts are in `commerce.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::error::{Code, to_napi_err};
use crate::forward::Gate;
use crate::json::Document;
use crate::money::Money;
use crate::number::integer_arg;
use crate::task::Job;

/// Who this device is and what it sells in. A file opened with a different identity is
/// refused (`STORE_IDENTITY_MISMATCH`).
#[napi(object)]
pub struct EdgeConfig {
    /// The store this device belongs to, e.g. `"store-042"`.
    pub store_id: String,
    /// This device, unique within the store, e.g. `"register-1"`.
    pub device_id: String,
    /// The store's ISO-4217 currency, e.g. `"EUR"`: carts are priced in it.
    pub currency: String,
}

impl EdgeConfig {
    fn to_core(&self) -> napi::Result<aisle::EdgeConfig, Code> {
        let currency = aisle::Currency::from_code(&self.currency).map_err(to_napi_err)?;
        Ok(aisle::EdgeConfig::new(&self.store_id, &self.device_id, currency))
    }
}

/// How a product is counted: `"unit"` (pieces; the price is per piece) or `"weight"` (the
/// price is per kilogram and a cart takes grams: `cart.addWeighed(sku, grams)`).
#[napi(string_enum)]
pub enum SoldBy {
    #[napi(value = "unit")]
    Unit,
    #[napi(value = "weight")]
    Weight,
}

/// A product in the catalog. Only `sku`, `name`, `price` and `taxCategory` are required; the
/// catalog returns every field.
#[napi(object)]
pub struct Product {
    /// Stock-keeping unit, unique in the catalog: 1-64 printable characters, no spaces.
    pub sku: String,
    /// Name as printed on receipts.
    pub name: String,
    /// Unit price: per piece, or per kilogram when `soldBy` is `"weight"`.
    pub price: Money,
    /// Tax category the store's tax regime maps to a rate, e.g. `"standard"`, `"reduced"`.
    pub tax_category: String,
    /// GTINs (EAN-8/13, UPC-A, GTIN-14) printed on the product; each belongs to one SKU only
    /// (`DUPLICATE_BARCODE`). Default: none.
    pub barcodes: Option<Vec<String>>,
    /// Categories, matched exactly by promotions, e.g. `["dairy", "food/dairy/milk"]`.
    pub categories: Option<Vec<String>>,
    /// Free labels, matched exactly by promotions, e.g. `["organic"]`.
    pub tags: Option<Vec<String>>,
    /// `"unit"` (the default) or `"weight"`.
    #[napi(ts_type = "SoldBy")]
    pub sold_by: Option<String>,
    /// The product (style) this one is a variant of, e.g. `"TSHIRT"` for `"TSHIRT-RED-M"`.
    pub parent_sku: Option<String>,
    /// What distinguishes a variant, e.g. `{ colour: "red", size: "M" }`.
    pub attributes: Option<BTreeMap<String, String>>,
}

impl Product {
    fn to_core(&self) -> napi::Result<aisle::Product, Code> {
        let mut p = aisle::Product::new(&self.sku, &self.name, self.price.inner, &self.tax_category);
        p.barcodes = self.barcodes.clone().unwrap_or_default();
        p.categories = self.categories.clone().unwrap_or_default();
        p.tags = self.tags.clone().unwrap_or_default();
        if let Some(sold_by) = &self.sold_by {
            p.sold_by = sold_by.parse().map_err(to_napi_err)?;
        }
        p.parent_sku = self.parent_sku.clone();
        p.attributes = self.attributes.clone().unwrap_or_default();
        Ok(p)
    }
}

impl From<aisle::Product> for Product {
    fn from(p: aisle::Product) -> Self {
        Product {
            sku: p.sku,
            name: p.name,
            price: p.price.into(),
            tax_category: p.tax_category,
            barcodes: Some(p.barcodes),
            categories: Some(p.categories),
            tags: Some(p.tags),
            sold_by: Some(p.sold_by.as_str().to_owned()),
            parent_sku: p.parent_sku,
            attributes: Some(p.attributes),
        }
    }
}

/// Counts of what a store holds.
#[napi(object, object_from_js = false)]
pub struct StoreStats {
    pub products: f64,
    pub carts: f64,
    pub cart_lines: f64,
    /// Size of the main database file in bytes (WAL not included).
    pub bytes: f64,
}

/// An open store on this device: one SQLite file (or memory). Open it with `Edge.open` or
/// `Edge.openInMemory`; it stays open until `close()` or until it and all its carts are garbage-collected.
#[napi]
pub struct Edge {
    pub(crate) inner: aisle::Edge,
    /// Releases forwarding workers that wait for a JS callback when this store stops them.
    pub(crate) gate: Arc<Gate>,
}

impl Edge {
    fn wrap(inner: aisle::Edge) -> Edge {
        Edge { inner, gate: Arc::default() }
    }
}

#[napi]
impl Edge {
    /// Opens the store file at `path`, creating it if it does not exist. A file that is not a
    /// store is `STORE_NOT_A_DATABASE`; one of another store or device is
    /// `STORE_IDENTITY_MISMATCH`.
    #[napi(factory)]
    pub fn open(path: String, config: EdgeConfig) -> napi::Result<Edge, Code> {
        let inner = aisle::Edge::open(&path, config.to_core()?).map_err(to_napi_err)?;
        Ok(Edge::wrap(inner))
    }

    /// `open` as a Promise: the file is opened, checked and migrated on the thread pool.
    /// Rejects with the same errors `open` throws.
    #[napi(ts_return_type = "Promise<Edge>")]
    pub fn open_async(path: String, config: EdgeConfig) -> AsyncTask<Job<Edge>> {
        Job::spawn_with(config.to_core(), move |config| {
            let inner = aisle::Edge::open(&path, config).map_err(to_napi_err)?;
            Ok(Edge::wrap(inner))
        })
    }

    /// A store that lives in memory only, for tests and scripts: nothing survives it.
    #[napi(factory)]
    pub fn open_in_memory(config: EdgeConfig) -> napi::Result<Edge, Code> {
        let inner = aisle::Edge::open_in_memory(config.to_core()?).map_err(to_napi_err)?;
        Ok(Edge::wrap(inner))
    }

    /// Closes the store file now (instead of when it is garbage-collected). Every handle of
    /// it, carts included, then throws `STORE_CLOSED`. Closing twice is fine.
    #[napi]
    pub fn close(&self) -> napi::Result<(), Code> {
        // Closing stops forwarding: a worker waiting for a JS callback is released first.
        self.gate.stopping(|| self.inner.close()).map_err(to_napi_err)
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The file this store lives in (`":memory:"` for an in-memory store).
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.inner.path().to_string_lossy().into_owned()
    }

    /// The identity the store was opened with.
    #[napi(getter)]
    pub fn config(&self) -> EdgeConfig {
        let config = self.inner.config();
        EdgeConfig {
            store_id: config.store_id.clone(),
            device_id: config.device_id.clone(),
            currency: config.currency.code().to_owned(),
        }
    }

    /// Adds a product, or replaces the one with the same SKU (`INVALID_PRODUCT` if a field is
    /// not acceptable).
    #[napi]
    pub fn upsert_product(&self, product: Product) -> napi::Result<(), Code> {
        self.inner.catalog().upsert(&product.to_core()?).map_err(to_napi_err)
    }

    /// Adds or replaces many products in one transaction: all or none.
    #[napi]
    pub fn upsert_products(&self, products: Vec<Product>) -> napi::Result<(), Code> {
        let products = products.iter().map(Product::to_core).collect::<napi::Result<Vec<_>, Code>>()?;
        self.inner.catalog().upsert_all(&products).map_err(to_napi_err)
    }

    /// The product with this SKU; `UNKNOWN_SKU` if there is none.
    #[napi]
    pub fn product(&self, sku: String) -> napi::Result<Product, Code> {
        self.inner.catalog().get(&sku).map(Product::from).map_err(to_napi_err)
    }

    /// The product with this SKU, or `null`.
    #[napi]
    pub fn find_product(&self, sku: String) -> napi::Result<Option<Product>, Code> {
        Ok(self.inner.catalog().find(&sku).map_err(to_napi_err)?.map(Product::from))
    }

    /// Every product, ordered by SKU.
    #[napi]
    pub fn products(&self) -> napi::Result<Vec<Product>, Code> {
        let products = self.inner.catalog().list().map_err(to_napi_err)?;
        Ok(products.into_iter().map(Product::from).collect())
    }

    /// Number of products in the catalog.
    #[napi]
    pub fn product_count(&self) -> napi::Result<f64, Code> {
        self.inner.catalog().len().map(|n| n as f64).map_err(to_napi_err)
    }

    /// Starts a new, empty cart in the store's currency; it is persisted at once.
    #[napi]
    pub fn new_cart(&self) -> napi::Result<Cart, Code> {
        self.inner.new_cart().map(|inner| Cart { inner }).map_err(to_napi_err)
    }

    /// Reopens a cart by id (e.g. after a restart); `CART_NOT_FOUND` if there is none.
    #[napi]
    pub fn cart(&self, id: String) -> napi::Result<Cart, Code> {
        self.inner.cart(&id).map(|inner| Cart { inner }).map_err(to_napi_err)
    }

    /// Ids of the carts in this store, oldest first.
    #[napi]
    pub fn cart_ids(&self) -> napi::Result<Vec<String>, Code> {
        self.inner.cart_ids().map_err(to_napi_err)
    }

    /// Counts of what the store holds.
    #[napi]
    pub fn stats(&self) -> napi::Result<StoreStats, Code> {
        let s = self.inner.stats().map_err(to_napi_err)?;
        Ok(StoreStats {
            products: s.products as f64,
            carts: s.carts as f64,
            cart_lines: s.cart_lines as f64,
            bytes: s.bytes as f64,
        })
    }
}

/// One line of a cart, at its resolved price (price lists, manual override), before
/// promotions, manual discounts and tax: `cart.price()` has those.
#[napi(object, object_from_js = false)]
pub struct CartLine {
    pub sku: String,
    pub name: String,
    /// Pieces; 1 for a weighed line.
    pub quantity: i64,
    /// Weight in grams of a line sold by weight; absent otherwise.
    pub grams: Option<i64>,
    /// Per piece, or per kilogram for a weighed line (the manual price if overridden).
    pub unit_price: Money,
    /// `unitPrice × quantity`, or the weighed amount.
    pub line_total: Money,
    pub tax_category: String,
    /// The manual price set with `setPriceOverride`, if any.
    #[napi(ts_type = "PriceOverride")]
    pub price_override: Option<Document>,
    /// The manual discount set with `setLineDiscount`, if any.
    #[napi(ts_type = "ManualDiscount")]
    pub discount: Option<Document>,
}

impl CartLine {
    fn from_core(l: aisle::CartLine) -> napi::Result<Self, Code> {
        Ok(CartLine {
            price_override: l.price_override.as_ref().map(|o| Document::of(o, "the price override")).transpose()?,
            discount: l.discount.as_ref().map(|d| Document::of(d, "the line discount")).transpose()?,
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            grams: l.grams,
            unit_price: l.unit_price.into(),
            line_total: l.line_total.into(),
            tax_category: l.tax_category,
        })
    }
}

/// A cart in the store. Every change is written to the store file at once.
#[napi]
pub struct Cart {
    pub(crate) inner: aisle::Cart,
}

#[napi]
impl Cart {
    /// The cart's id, e.g. `"register-1-cart-3"`; reopen it with `edge.cart(id)`.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    /// The ISO-4217 code the cart is priced in (the store's currency).
    #[napi(getter)]
    pub fn currency(&self) -> String {
        self.inner.currency().code().to_owned()
    }

    /// Adds `quantity` (a whole number, at least 1) of `sku`: a new line, or more of an
    /// existing one. `UNKNOWN_SKU`, `INVALID_QUANTITY`, `CURRENCY_MISMATCH` (a product priced
    /// in another currency); a `quantity` that is not a whole number is `INVALID_ARGUMENT`.
    #[napi]
    pub fn add(&self, sku: String, quantity: f64) -> napi::Result<(), Code> {
        let quantity = integer_arg("quantity", quantity)?;
        self.inner.add(&sku, quantity).map_err(to_napi_err)
    }

    /// Sets the quantity of `sku`'s line, adding it if absent; 0 removes the line.
    #[napi]
    pub fn set_quantity(&self, sku: String, quantity: f64) -> napi::Result<(), Code> {
        let quantity = integer_arg("quantity", quantity)?;
        self.inner.set_quantity(&sku, quantity).map_err(to_napi_err)
    }

    /// Removes `sku`'s line; `CART_LINE_NOT_FOUND` if the cart has none.
    #[napi]
    pub fn remove(&self, sku: String) -> napi::Result<(), Code> {
        self.inner.remove(&sku).map_err(to_napi_err)
    }

    /// Removes every line.
    #[napi]
    pub fn clear(&self) -> napi::Result<(), Code> {
        self.inner.clear().map_err(to_napi_err)
    }

    /// The lines in the order they were first added, priced from the catalog.
    #[napi]
    pub fn lines(&self) -> napi::Result<Vec<CartLine>, Code> {
        let lines = self.inner.lines().map_err(to_napi_err)?;
        lines.into_iter().map(CartLine::from_core).collect()
    }

    /// Sum of the line totals, before promotions and tax.
    #[napi]
    pub fn subtotal(&self) -> napi::Result<Money, Code> {
        self.inner.subtotal().map(Money::from).map_err(to_napi_err)
    }

    /// Total number of items (sum of the quantities).
    #[napi]
    pub fn item_count(&self) -> napi::Result<i64, Code> {
        self.inner.item_count().map_err(to_napi_err)
    }
}
