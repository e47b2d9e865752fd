//! Python glue for Aisle: converts arguments, calls the core, converts results and errors.
//!
//! No business rule lives here. Errors become the exception classes defined in
//! `aisle/_errors.py` (one per code, under `aisle.AisleError`), looked up by code in one place,
//! [`to_py_err`]. Every call into the store (and into pricing) releases the GIL. Records with
//! many fields (priced carts, sales, receipts, settings) cross as the core's JSON and arrive as
//! plain dicts ([`json`]); their shapes are the `TypedDict`s in `aisle/types.py`.
//! Store-and-forward is in [`forward`], gift cards and store credit in [`stored_value`], CRDT
//! sync in [`sync`], edge vision (`aisle.vision`, cargo feature `vision`, on by default) in
//! [`vision`].

mod forward;
mod json;
mod stored_value;
mod sync;
#[cfg(feature = "vision")]
mod vision;

use std::collections::BTreeMap;

use aisle::commerce::pricing::{ManualDiscount, PriceOverride};
use aisle::commerce::price_list::PriceList;
use aisle::commerce::settings::StoreSettings;
use aisle::commerce::tender::TenderInput;
use aisle::commerce::{Customer, RefundTo, ReturnItem, SoldBy, StoredValueKind};
use aisle::{Currency, RoundingMode};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::json::{decode, encode, from_py, to_json_text};

/// The one conversion from a core error to a Python exception: the class registered for its
/// code in `aisle._errors`, constructed with `(code, message)`.
pub(crate) fn to_py_err(err: aisle::Error) -> PyErr {
    Python::attach(|py| {
        let class = py
            .import("aisle._errors")
            .and_then(|m| m.getattr("_class_for_code"))
            .and_then(|f| f.call1((err.code(),)));
        match class {
            Ok(class) => match class.call1((err.code(), err.to_string())) {
                Ok(instance) => PyErr::from_value(instance),
                Err(e) => e,
            },
            Err(e) => PyRuntimeError::new_err(format!("{err} (and aisle._errors failed: {e})")),
        }
    })
}

type Res<T> = Result<T, PyErr>;

fn currency(code: &str) -> Res<Currency> {
    Currency::from_code(code).map_err(to_py_err)
}

fn rounding(mode: &str) -> Res<RoundingMode> {
    mode.parse().map_err(to_py_err)
}

/// One of the core's named values (`"store_credit"`, `"gift_card"`, ...) as its serde enum;
/// an unknown name is `INVALID_ARGUMENT` listing the known ones.
pub(crate) fn name_value<T: serde::de::DeserializeOwned>(name: &str, what: &str) -> Res<T> {
    serde_json::from_value(serde_json::Value::from(name))
        .map_err(|e| to_py_err(aisle::Error::InvalidArgument(format!("{what}: {e}"))))
}

// ---- Money -------------------------------------------------------------------------------

/// An exact amount of money in minor units (cents) of an ISO-4217 currency.
#[pyclass(module = "aisle", frozen, eq, hash, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Money(aisle::Money);

// Python methods take `&self`, so `to_*` cannot take `self` by value as clippy would like.
#[allow(clippy::wrong_self_convention)]
#[pymethods]
impl Money {
    #[new]
    fn new(minor: i64, currency: &str) -> Res<Self> {
        Ok(Money(aisle::Money::new(minor, self::currency(currency)?)))
    }

    /// Parses a decimal amount in major units exactly, e.g. `Money.parse("12.34", "EUR")`.
    #[staticmethod]
    fn parse(amount: &str, currency: &str) -> Res<Self> {
        aisle::Money::parse(amount, self::currency(currency)?).map(Money).map_err(to_py_err)
    }

    #[getter]
    fn minor(&self) -> i64 {
        self.0.minor()
    }

    #[getter]
    fn currency(&self) -> String {
        self.0.currency().code().to_owned()
    }

    /// The amount as a decimal string in major units, e.g. `"12.34"`.
    fn to_decimal_string(&self) -> String {
        self.0.to_decimal_string()
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Money({}, {:?})", self.0.minor(), self.0.currency().code())
    }

    fn __add__(&self, other: &Money) -> Res<Money> {
        self.0.checked_add(other.0).map(Money).map_err(to_py_err)
    }

    fn __sub__(&self, other: &Money) -> Res<Money> {
        self.0.checked_sub(other.0).map(Money).map_err(to_py_err)
    }

    fn __mul__(&self, factor: i64) -> Res<Money> {
        self.0.checked_mul(factor).map(Money).map_err(to_py_err)
    }

    fn __rmul__(&self, factor: i64) -> Res<Money> {
        self.__mul__(factor)
    }

    fn __neg__(&self) -> Res<Money> {
        self.0.checked_neg().map(Money).map_err(to_py_err)
    }

    fn __bool__(&self) -> bool {
        !self.0.is_zero()
    }

    /// `self × numerator ÷ denominator`, rounded with `rounding`.
    #[pyo3(signature = (numerator, denominator, rounding = "half_even"))]
    fn mul_div(&self, numerator: i64, denominator: i64, rounding: &str) -> Res<Money> {
        self.0.mul_div(numerator, denominator, self::rounding(rounding)?).map(Money).map_err(to_py_err)
    }

    /// Rounds to a multiple of `increment` minor units (cash rounding).
    #[pyo3(signature = (increment, rounding = "half_even"))]
    fn round_to_increment(&self, increment: i64, rounding: &str) -> Res<Money> {
        self.0.round_to_increment(increment, self::rounding(rounding)?).map(Money).map_err(to_py_err)
    }

    /// Splits into parts proportional to `weights`; the parts always sum to `self`.
    fn allocate(&self, weights: Vec<u64>) -> Res<Vec<Money>> {
        Ok(self.0.allocate(&weights).map_err(to_py_err)?.into_iter().map(Money).collect())
    }

    /// The JSON form every result uses: `{"minor": 1234, "currency": "EUR"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("minor", self.0.minor())?;
        d.set_item("currency", self.0.currency().code())?;
        Ok(d)
    }

    /// An amount from a result: `Money.from_dict(sale["total"])`.
    #[staticmethod]
    fn from_dict(money: &Bound<'_, PyAny>) -> Res<Money> {
        from_py::<aisle::Money>(money, "money").map(Money)
    }
}

// ---- Catalog values -------------------------------------------------------------------------

/// A product in the catalog.
#[pyclass(module = "aisle", frozen, eq, from_py_object)]
#[derive(Clone, PartialEq)]
struct Product {
    #[pyo3(get)]
    sku: String,
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    price: Money,
    #[pyo3(get)]
    tax_category: String,
    sold_by: SoldBy,
    #[pyo3(get)]
    barcodes: Vec<String>,
    #[pyo3(get)]
    categories: Vec<String>,
    #[pyo3(get)]
    tags: Vec<String>,
    #[pyo3(get)]
    parent_sku: Option<String>,
    #[pyo3(get)]
    attributes: BTreeMap<String, String>,
}

#[pymethods]
impl Product {
    #[new]
    #[pyo3(signature = (
        sku, name, price, tax_category = "standard".to_owned(), *,
        sold_by = "unit", barcodes = Vec::new(), categories = Vec::new(), tags = Vec::new(),
        parent_sku = None, attributes = BTreeMap::new()
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        sku: String,
        name: String,
        price: Money,
        tax_category: String,
        sold_by: &str,
        barcodes: Vec<String>,
        categories: Vec<String>,
        tags: Vec<String>,
        parent_sku: Option<String>,
        attributes: BTreeMap<String, String>,
    ) -> Res<Self> {
        let sold_by = sold_by.parse::<SoldBy>().map_err(to_py_err)?;
        Ok(Product { sku, name, price, tax_category, sold_by, barcodes, categories, tags, parent_sku, attributes })
    }

    /// `"unit"` (price per piece) or `"weight"` (price per kilogram, quantities in grams).
    #[getter]
    fn sold_by(&self) -> &'static str {
        self.sold_by.as_str()
    }

    fn __repr__(&self) -> String {
        let mut extra = String::new();
        if self.sold_by != SoldBy::Unit {
            extra.push_str(&format!(", sold_by={:?}", self.sold_by.as_str()));
        }
        for (field, values) in [("barcodes", &self.barcodes), ("categories", &self.categories), ("tags", &self.tags)] {
            if !values.is_empty() {
                extra.push_str(&format!(", {field}={values:?}"));
            }
        }
        if let Some(parent) = &self.parent_sku {
            extra.push_str(&format!(", parent_sku={parent:?}"));
        }
        if !self.attributes.is_empty() {
            let pairs: Vec<String> = self.attributes.iter().map(|(k, v)| format!("{k:?}: {v:?}")).collect();
            extra.push_str(&format!(", attributes={{{}}}", pairs.join(", ")));
        }
        format!(
            "Product(sku={:?}, name={:?}, price={}, tax_category={:?}{extra})",
            self.sku,
            self.name,
            self.price.__repr__(),
            self.tax_category
        )
    }
}

impl From<aisle::Product> for Product {
    fn from(p: aisle::Product) -> Self {
        Product {
            sku: p.sku,
            name: p.name,
            price: Money(p.price),
            tax_category: p.tax_category,
            sold_by: p.sold_by,
            barcodes: p.barcodes,
            categories: p.categories,
            tags: p.tags,
            parent_sku: p.parent_sku,
            attributes: p.attributes,
        }
    }
}

impl From<&Product> for aisle::Product {
    fn from(p: &Product) -> Self {
        let mut product = aisle::Product::new(&p.sku, &p.name, p.price.0, &p.tax_category).with_sold_by(p.sold_by);
        product.barcodes = p.barcodes.clone();
        product.categories = p.categories.clone();
        product.tags = p.tags.clone();
        product.parent_sku = p.parent_sku.clone();
        product.attributes = p.attributes.clone();
        product
    }
}

/// One line of a cart at its resolved price, before promotions and tax.
#[pyclass(module = "aisle", frozen, eq)]
#[derive(Clone, PartialEq)]
struct CartLine {
    #[pyo3(get)]
    sku: String,
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    quantity: i64,
    #[pyo3(get)]
    grams: Option<i64>,
    #[pyo3(get)]
    unit_price: Money,
    #[pyo3(get)]
    line_total: Money,
    #[pyo3(get)]
    tax_category: String,
    price_override: Option<PriceOverride>,
    discount: Option<ManualDiscount>,
}

#[pymethods]
impl CartLine {
    /// The manual unit price (`{"price", "reason"}`), if the cashier set one.
    #[getter]
    fn price_override<'py>(&self, py: Python<'py>) -> Res<Option<Bound<'py, PyAny>>> {
        self.price_override.as_ref().map(|o| decode(py, &encode(o).map_err(to_py_err)?)).transpose()
    }

    /// The manual discount on the line (`{"percent" | "amount", "reason", ...}`), if any.
    #[getter]
    fn discount<'py>(&self, py: Python<'py>) -> Res<Option<Bound<'py, PyAny>>> {
        self.discount.as_ref().map(|d| decode(py, &encode(d).map_err(to_py_err)?)).transpose()
    }

    fn __repr__(&self) -> String {
        match self.grams {
            Some(g) => format!("CartLine(sku={:?}, grams={g}, line_total={})", self.sku, self.line_total.0),
            None => {
                format!("CartLine(sku={:?}, quantity={}, line_total={})", self.sku, self.quantity, self.line_total.0)
            }
        }
    }
}

impl From<aisle::CartLine> for CartLine {
    fn from(l: aisle::CartLine) -> Self {
        CartLine {
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            grams: l.grams,
            unit_price: Money(l.unit_price),
            line_total: Money(l.line_total),
            tax_category: l.tax_category,
            price_override: l.price_override,
            discount: l.discount,
        }
    }
}

/// Counts of what a store holds.
#[pyclass(module = "aisle", get_all, frozen)]
#[derive(Clone)]
struct StoreStats {
    products: u64,
    carts: u64,
    cart_lines: u64,
    bytes: u64,
}

#[pymethods]
impl StoreStats {
    fn __repr__(&self) -> String {
        format!(
            "StoreStats(products={}, carts={}, cart_lines={}, bytes={})",
            self.products, self.carts, self.cart_lines, self.bytes
        )
    }
}

/// Runs `f` (a call into the store) without the GIL, then gives its result, encoded as JSON
/// while still detached, back as plain Python values.
fn detached_json<'py, T: serde::Serialize>(
    py: Python<'py>,
    f: impl FnOnce() -> aisle::Result<T> + Send,
) -> Res<Bound<'py, PyAny>> {
    let json = py.detach(|| f().and_then(|v| encode(&v))).map_err(to_py_err)?;
    decode(py, &json)
}

// ---- Edge and Cart ----------------------------------------------------------------------------

/// An open store on this device: one SQLite file.
#[pyclass(module = "aisle", frozen)]
struct Edge {
    inner: aisle::Edge,
    /// One `Streams` object per store, so `edge.streams` is always the same object (the
    /// interpreter-exit hook in `aisle._forward` holds it weakly while forwarding runs).
    streams: Py<forward::Streams>,
}

impl Edge {
    fn wrap(py: Python<'_>, inner: aisle::Edge) -> Res<Edge> {
        let streams = Py::new(py, forward::Streams::new(inner.streams()))?;
        Ok(Edge { inner, streams })
    }
}

#[pymethods]
impl Edge {
    /// Opens (or creates) the store file at `path`.
    #[classmethod]
    #[pyo3(signature = (path, *, store_id, device_id, currency = "EUR"))]
    fn open(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        path: std::path::PathBuf,
        store_id: &str,
        device_id: &str,
        currency: &str,
    ) -> Res<Self> {
        let config = aisle::EdgeConfig::new(store_id, device_id, self::currency(currency)?);
        let inner = py.detach(|| aisle::Edge::open(path, config)).map_err(to_py_err)?;
        Edge::wrap(py, inner)
    }

    /// A store in memory only (nothing survives the process).
    #[classmethod]
    #[pyo3(signature = (*, store_id, device_id, currency = "EUR"))]
    fn in_memory(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        store_id: &str,
        device_id: &str,
        currency: &str,
    ) -> Res<Self> {
        let config = aisle::EdgeConfig::new(store_id, device_id, self::currency(currency)?);
        let inner = py.detach(|| aisle::Edge::open_in_memory(config)).map_err(to_py_err)?;
        Edge::wrap(py, inner)
    }

    /// Closes the store file now (stopping forwarding first); every handle of it then raises
    /// `StoreClosedError`.
    fn close(&self, py: Python<'_>) -> Res<()> {
        py.detach(|| self.inner.close()).map_err(to_py_err)
    }

    /// Whether `close()` was called. (It takes the store's lock, so it waits out a running write.)
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.inner.is_closed())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> Res<bool> {
        self.close(py)?;
        Ok(false)
    }

    #[getter]
    fn path(&self) -> std::path::PathBuf {
        self.inner.path().to_owned()
    }

    #[getter]
    fn store_id(&self) -> String {
        self.inner.config().store_id.clone()
    }

    #[getter]
    fn device_id(&self) -> String {
        self.inner.config().device_id.clone()
    }

    #[getter]
    fn currency(&self) -> String {
        self.inner.config().currency.code().to_owned()
    }

    #[getter]
    fn schema_version(&self) -> i64 {
        self.inner.schema_version()
    }

    // ---- catalog ----

    /// Adds a product or replaces the one with the same SKU (with its barcodes, categories
    /// and tags).
    fn upsert_product(&self, py: Python<'_>, product: Product) -> Res<()> {
        let p = aisle::Product::from(&product);
        py.detach(|| self.inner.catalog().upsert(&p)).map_err(to_py_err)
    }

    /// Adds or replaces many products in one transaction: all or none.
    fn upsert_products(&self, py: Python<'_>, products: Vec<Product>) -> Res<()> {
        let ps: Vec<aisle::Product> = products.iter().map(aisle::Product::from).collect();
        py.detach(|| self.inner.catalog().upsert_all(&ps)).map_err(to_py_err)
    }

    /// The product with this SKU; raises `UnknownSkuError` if there is none.
    fn product(&self, py: Python<'_>, sku: &str) -> Res<Product> {
        py.detach(|| self.inner.catalog().get(sku)).map(Product::from).map_err(to_py_err)
    }

    /// The product with this barcode (any GTIN length: UPC-A, EAN-13, GTIN-14 of one code all
    /// find it); `InvalidBarcodeError` for a malformed code, `UnknownBarcodeError` for none.
    fn product_by_barcode(&self, py: Python<'_>, barcode: &str) -> Res<Product> {
        py.detach(|| self.inner.catalog().by_barcode(barcode)).map(Product::from).map_err(to_py_err)
    }

    /// Every product, ordered by SKU.
    fn products(&self, py: Python<'_>) -> Res<Vec<Product>> {
        let ps = py.detach(|| self.inner.catalog().list()).map_err(to_py_err)?;
        Ok(ps.into_iter().map(Product::from).collect())
    }

    /// Adds a price list (a dict in the form of `price_lists()`) or replaces the one with its id.
    fn upsert_price_list(&self, py: Python<'_>, price_list: &Bound<'_, PyAny>) -> Res<()> {
        let json = to_json_text(price_list, "price_list")?;
        self.upsert_price_list_json(py, &json)
    }

    /// Like `upsert_price_list`, from JSON (`docs/schemas/price-list.schema.json`).
    fn upsert_price_list_json(&self, py: Python<'_>, json: &str) -> Res<()> {
        py.detach(|| self.inner.catalog().upsert_price_list(&PriceList::from_json(json)?)).map_err(to_py_err)
    }

    /// Every price list, ordered by id.
    fn price_lists<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.catalog().price_lists())
    }

    /// Every price list as a JSON array.
    fn price_lists_json(&self, py: Python<'_>) -> Res<String> {
        py.detach(|| encode(&self.inner.catalog().price_lists()?)).map_err(to_py_err)
    }

    // ---- settings and promotions ----

    /// The store's settings (defaults until set), every key present.
    fn settings<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.settings())
    }

    fn settings_json(&self, py: Python<'_>) -> Res<String> {
        py.detach(|| self.inner.settings().map(|s| s.to_json())).map_err(to_py_err)
    }

    /// Validates and stores new settings; keys left out get their defaults. A bad value is
    /// refused with its typed error naming the path, and the old settings stay.
    fn set_settings(&self, py: Python<'_>, settings: &Bound<'_, PyAny>) -> Res<()> {
        let json = to_json_text(settings, "settings")?;
        self.set_settings_json(py, &json)
    }

    fn set_settings_json(&self, py: Python<'_>, json: &str) -> Res<()> {
        py.detach(|| self.inner.set_settings(&StoreSettings::from_json(json)?)).map_err(to_py_err)
    }

    /// The store's promotions, as data.
    fn promotions<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.promotions())
    }

    fn promotions_json(&self, py: Python<'_>) -> Res<String> {
        py.detach(|| encode(&self.inner.promotions()?)).map_err(to_py_err)
    }

    /// Validates and replaces the store's promotions, all or none; a bad rule is
    /// `PromoInvalidRuleError` naming its JSON path (`[1].rule.percent`).
    fn set_promotions(&self, py: Python<'_>, promotions: &Bound<'_, PyAny>) -> Res<()> {
        let json = to_json_text(promotions, "promotions")?;
        self.set_promotions_json(py, &json)
    }

    fn set_promotions_json(&self, py: Python<'_>, json: &str) -> Res<()> {
        py.detach(|| self.inner.set_promotions_json(json)).map_err(to_py_err)
    }

    // ---- carts ----

    /// Starts a new, empty cart (persisted at once).
    fn new_cart(&self, py: Python<'_>) -> Res<Cart> {
        py.detach(|| self.inner.new_cart()).map(|inner| Cart { inner }).map_err(to_py_err)
    }

    /// Reopens a cart by id.
    fn cart(&self, py: Python<'_>, id: &str) -> Res<Cart> {
        py.detach(|| self.inner.cart(id)).map(|inner| Cart { inner }).map_err(to_py_err)
    }

    /// Ids of the carts in this store, oldest first.
    fn cart_ids(&self, py: Python<'_>) -> Res<Vec<String>> {
        py.detach(|| self.inner.cart_ids()).map_err(to_py_err)
    }

    // ---- sales, receipts, returns ----

    /// The sale or refund with this receipt number; `UnknownReceiptError` if none.
    fn sale<'py>(&self, py: Python<'py>, receipt_no: &str) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.sales().get(receipt_no))
    }

    /// Receipt numbers of every sale and refund, oldest first.
    fn receipt_numbers(&self, py: Python<'_>) -> Res<Vec<String>> {
        py.detach(|| self.inner.sales().receipt_numbers()).map_err(to_py_err)
    }

    /// The receipt of a sale or refund, as data.
    fn receipt<'py>(&self, py: Python<'py>, receipt_no: &str) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.sales().receipt(receipt_no))
    }

    fn receipt_json(&self, py: Python<'_>, receipt_no: &str) -> Res<String> {
        py.detach(|| encode(&self.inner.sales().receipt(receipt_no)?)).map_err(to_py_err)
    }

    /// The receipt as plain text for a receipt printer, no line wider than `width` characters.
    #[pyo3(signature = (receipt_no, width = 48))]
    fn receipt_text(&self, py: Python<'_>, receipt_no: &str, width: usize) -> Res<String> {
        py.detach(|| self.inner.sales().receipt(receipt_no).map(|r| r.render_text(width))).map_err(to_py_err)
    }

    /// Returns items of a sale (`[{"line_no": 1, "quantity": 2}, ...]`), refunding what those
    /// units paid, to the original tenders or as store credit. Returns the refund.
    #[pyo3(signature = (receipt_no, items, reason, *, refund_to = "original_tenders"))]
    fn return_items<'py>(
        &self,
        py: Python<'py>,
        receipt_no: &str,
        items: &Bound<'_, PyAny>,
        reason: &str,
        refund_to: &str,
    ) -> Res<Bound<'py, PyAny>> {
        let items: Vec<ReturnItem> = from_py(items, "items")?;
        let refund_to: RefundTo = name_value(refund_to, "refund_to")?;
        detached_json(py, || self.inner.sales().return_items(receipt_no, &items, reason, refund_to))
    }

    /// Like `return_items`, refunding the whole amount to an existing gift card or store
    /// credit account (`kind` `"gift_card"` or `"store_credit"`), which must be usable.
    #[pyo3(signature = (receipt_no, items, reason, *, kind, account_id))]
    fn return_items_to_account<'py>(
        &self,
        py: Python<'py>,
        receipt_no: &str,
        items: &Bound<'_, PyAny>,
        reason: &str,
        kind: &str,
        account_id: &str,
    ) -> Res<Bound<'py, PyAny>> {
        let items: Vec<ReturnItem> = from_py(items, "items")?;
        let kind: StoredValueKind = name_value(kind, "kind")?;
        detached_json(py, || self.inner.sales().return_items_to_account(receipt_no, &items, reason, kind, account_id))
    }

    /// Exchanges in one transaction: returns `items` of `original_receipt` and sells
    /// `new_cart`, as two linked receipts (the refund, then the sale). The returned goods pay
    /// first (as store credit `SC-<refund receipt>`); the customer pays any difference with
    /// `tenders`; if the new cart costs less, `tenders` must be empty and the excess goes per
    /// `excess_to`. Returns `{"refund", "sale", "difference"}`.
    #[pyo3(signature = (original_receipt, items, new_cart, tenders, reason, *, excess_to = "original_tenders"))]
    #[allow(clippy::too_many_arguments)]
    fn exchange<'py>(
        &self,
        py: Python<'py>,
        original_receipt: &str,
        items: &Bound<'_, PyAny>,
        new_cart: &Bound<'_, Cart>,
        tenders: &Bound<'_, PyAny>,
        reason: &str,
        excess_to: &str,
    ) -> Res<Bound<'py, PyAny>> {
        let items: Vec<ReturnItem> = from_py(items, "items")?;
        let tenders: Vec<TenderInput> = from_py(tenders, "tenders")?;
        let excess_to: RefundTo = name_value(excess_to, "excess_to")?;
        let cart = &new_cart.get().inner;
        detached_json(py, || self.inner.sales().exchange(original_receipt, &items, cart, &tenders, reason, excess_to))
    }

    // ---- gift cards, store credit and streams ----

    /// Gift cards and store credit: issue, load, balances, history, freeze and close.
    #[getter]
    fn stored_value(&self) -> stored_value::StoredValue {
        stored_value::StoredValue::new(self.inner.stored_value())
    }

    /// Store-and-forward streams: append records, export them, see their status.
    #[getter]
    fn streams(&self, py: Python<'_>) -> Py<forward::Streams> {
        self.streams.clone_ref(py)
    }

    /// CRDT sync: device identity and enrolment, the byte protocol, hub/LAN transports, and
    /// the replicated stock levels, shared carts and customers.
    #[getter]
    fn sync(&self) -> sync::Sync {
        sync::Sync::new(self.inner.sync())
    }

    fn stats(&self, py: Python<'_>) -> Res<StoreStats> {
        let s = py.detach(|| self.inner.stats()).map_err(to_py_err)?;
        Ok(StoreStats { products: s.products, carts: s.carts, cart_lines: s.cart_lines, bytes: s.bytes })
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!("Edge(path={:?}, store_id={:?}, device_id={:?})", self.inner.path(), c.store_id, c.device_id)
    }
}

/// A cart in the store; every change is written to the store file at once.
#[pyclass(module = "aisle", frozen)]
struct Cart {
    inner: aisle::Cart,
}

#[pymethods]
impl Cart {
    #[getter]
    fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    #[getter]
    fn currency(&self) -> String {
        self.inner.currency().code().to_owned()
    }

    /// Adds `quantity` of `sku` (a new line or more of an existing one).
    #[pyo3(signature = (sku, quantity = 1))]
    fn add(&self, py: Python<'_>, sku: &str, quantity: i64) -> Res<()> {
        py.detach(|| self.inner.add(sku, quantity)).map_err(to_py_err)
    }

    /// Sets a line's quantity; 0 removes the line.
    fn set_quantity(&self, py: Python<'_>, sku: &str, quantity: i64) -> Res<()> {
        py.detach(|| self.inner.set_quantity(sku, quantity)).map_err(to_py_err)
    }

    /// Adds a product sold by weight: `grams` from the scale, added to any weight on the line.
    fn add_weighed(&self, py: Python<'_>, sku: &str, grams: i64) -> Res<()> {
        py.detach(|| self.inner.add_weighed(sku, grams)).map_err(to_py_err)
    }

    /// Sets a weighed line's weight; 0 removes the line.
    fn set_weight(&self, py: Python<'_>, sku: &str, grams: i64) -> Res<()> {
        py.detach(|| self.inner.set_weight(sku, grams)).map_err(to_py_err)
    }

    /// Removes a line; raises `CartLineNotFoundError` if the cart has none for `sku`.
    fn remove(&self, py: Python<'_>, sku: &str) -> Res<()> {
        py.detach(|| self.inner.remove(sku)).map_err(to_py_err)
    }

    /// Removes every line, coupon and the order discount.
    fn clear(&self, py: Python<'_>) -> Res<()> {
        py.detach(|| self.inner.clear()).map_err(to_py_err)
    }

    fn lines(&self, py: Python<'_>) -> Res<Vec<CartLine>> {
        let lines = py.detach(|| self.inner.lines()).map_err(to_py_err)?;
        Ok(lines.into_iter().map(CartLine::from).collect())
    }

    /// Sum of the line totals, before promotions and tax.
    fn subtotal(&self, py: Python<'_>) -> Res<Money> {
        py.detach(|| self.inner.subtotal()).map(Money).map_err(to_py_err)
    }

    fn item_count(&self, py: Python<'_>) -> Res<i64> {
        py.detach(|| self.inner.item_count()).map_err(to_py_err)
    }

    /// Sets a manual unit price for a line (the line then takes no promotions), with the
    /// reason; `None` clears it.
    #[pyo3(signature = (sku, price, reason = None))]
    fn set_price_override(&self, py: Python<'_>, sku: &str, price: Option<Money>, reason: Option<String>) -> Res<()> {
        let over = price.map(|p| PriceOverride { price: p.0, reason: reason.unwrap_or_default() });
        py.detach(|| self.inner.set_price_override(sku, over.as_ref())).map_err(to_py_err)
    }

    /// Sets a manual discount on a line (`aisle.discount(percent="10", reason=...)` or a dict),
    /// applied after promotions; `None` clears it.
    fn set_line_discount(&self, py: Python<'_>, sku: &str, discount: Option<&Bound<'_, PyAny>>) -> Res<()> {
        let discount: Option<ManualDiscount> = discount.map(|d| from_py(d, "discount")).transpose()?;
        py.detach(|| self.inner.set_line_discount(sku, discount.as_ref())).map_err(to_py_err)
    }

    /// Sets a manual discount on the whole order, applied last; `None` clears it.
    fn set_order_discount(&self, py: Python<'_>, discount: Option<&Bound<'_, PyAny>>) -> Res<()> {
        let discount: Option<ManualDiscount> = discount.map(|d| from_py(d, "discount")).transpose()?;
        py.detach(|| self.inner.set_order_discount(discount.as_ref())).map_err(to_py_err)
    }

    /// Attaches the customer (`{"id", "group", "loyalty_id", "tax_exempt"}`, all optional);
    /// `None` detaches.
    fn set_customer(&self, py: Python<'_>, customer: Option<&Bound<'_, PyAny>>) -> Res<()> {
        let customer: Option<Customer> = customer.map(|c| from_py(c, "customer")).transpose()?;
        py.detach(|| self.inner.set_customer(customer.as_ref())).map_err(to_py_err)
    }

    /// The attached customer, or `None`.
    fn customer<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.customer())
    }

    /// Enters a coupon code (stored upper-case); whether it applies shows in `price()["coupons"]`.
    fn add_coupon(&self, py: Python<'_>, code: &str) -> Res<()> {
        py.detach(|| self.inner.add_coupon(code)).map_err(to_py_err)
    }

    fn remove_coupon(&self, py: Python<'_>, code: &str) -> Res<()> {
        py.detach(|| self.inner.remove_coupon(code)).map_err(to_py_err)
    }

    fn coupons(&self, py: Python<'_>) -> Res<Vec<String>> {
        py.detach(|| self.inner.coupons()).map_err(to_py_err)
    }

    /// `aisle.CartStatus.OPEN`, `.COMPLETED` or `.VOID` (a `str` enum: equal to `"open"`, …).
    fn status<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        let status = py.detach(|| self.inner.status()).map_err(to_py_err)?;
        py.import("aisle._enums")?.getattr("CartStatus")?.call1((status.as_str(),))
    }

    /// Prices the cart now: promotions, manual discounts and tax, per the store's settings.
    fn price<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        detached_json(py, || self.inner.price())
    }

    /// Completes the sale with `tenders` (dicts, or `aisle.cash(...)`, `aisle.card(...)`, ...):
    /// prices the cart, settles, and records the sale in one transaction. Returns the sale;
    /// the cart is then closed.
    fn complete<'py>(&self, py: Python<'py>, tenders: &Bound<'_, PyAny>) -> Res<Bound<'py, PyAny>> {
        let tenders: Vec<TenderInput> = from_py(tenders, "tenders")?;
        detached_json(py, || self.inner.complete(&tenders))
    }

    fn __repr__(&self) -> String {
        format!("Cart(id={:?})", self.inner.id())
    }
}

// ---- Pricing without a store --------------------------------------------------------------

/// Prices a self-contained JSON pricing request (lines, tax regime, promotions, optional
/// tenders) and returns the result as JSON. The shared test vectors run through this.
#[pyfunction]
fn price_json(py: Python<'_>, request: &str) -> Res<String> {
    py.detach(|| aisle::commerce::pricing::price_json(request)).map_err(to_py_err)
}

/// `price_json` for a dict: returns the priced cart (and settlement) as a dict.
#[pyfunction]
fn price<'py>(py: Python<'py>, request: &Bound<'_, PyAny>) -> Res<Bound<'py, PyAny>> {
    let request = to_json_text(request, "request")?;
    let json = py.detach(|| aisle::commerce::pricing::price_json(&request)).map_err(to_py_err)?;
    decode(py, &json)
}

/// Every error code the core can return.
#[pyfunction]
fn error_codes() -> Vec<&'static str> {
    aisle::Error::ALL_CODES.to_vec()
}

/// The error family of a code (`"value"`, `"commerce"`, `"forward"`, `"sync"`, `"vision"`, `"store"`), used by `aisle._errors`
/// to build the exception hierarchy from the core's own table.
#[pyfunction]
fn error_kinds() -> Vec<(&'static str, &'static str)> {
    aisle::Error::CODE_KINDS.iter().map(|(code, kind)| (*code, kind.as_str())).collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Money>()?;
    m.add_class::<Product>()?;
    m.add_class::<CartLine>()?;
    m.add_class::<StoreStats>()?;
    m.add_class::<Edge>()?;
    m.add_class::<Cart>()?;
    m.add_class::<stored_value::StoredValue>()?;
    m.add_class::<forward::Streams>()?;
    m.add_class::<forward::Record>()?;
    m.add_class::<forward::Batch>()?;
    m.add_class::<forward::Ingest>()?;
    m.add_class::<sync::Sync>()?;
    m.add_class::<sync::LanServer>()?;
    m.add_class::<sync::Syncer>()?;
    #[cfg(feature = "vision")]
    vision::register(m)?;
    m.add_function(wrap_pyfunction!(price_json, m)?)?;
    m.add_function(wrap_pyfunction!(price, m)?)?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(error_kinds, m)?)?;
    m.add("SCHEMA_VERSION", aisle::store::SCHEMA_VERSION)?;
    Ok(())
}
