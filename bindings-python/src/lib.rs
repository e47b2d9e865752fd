//! Python glue for Aisle: converts arguments, calls the core, converts results and errors.
//!
//! No business rule lives here. Errors become the exception classes defined in
//! `aisle/_errors.py` (one per code, under `aisle.AisleError`), looked up by code in one place,
//! [`to_py_err`]. Calls that touch the store file release the GIL.

use aisle::{Currency, RoundingMode};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The one conversion from a core error to a Python exception: the class registered for its
/// code in `aisle._errors`, constructed with `(code, message)`.
fn to_py_err(err: aisle::Error) -> PyErr {
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

// ---- Money -------------------------------------------------------------------------------

/// An exact amount of money in minor units (cents) of an ISO-4217 currency.
#[pyclass(module = "aisle", frozen, eq, hash, from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Money(aisle::Money);

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
}

// ---- Catalog values -------------------------------------------------------------------------

/// A product in the catalog.
#[pyclass(module = "aisle", get_all, frozen, eq, from_py_object)]
#[derive(Clone, PartialEq)]
struct Product {
    sku: String,
    name: String,
    price: Money,
    tax_category: String,
}

#[pymethods]
impl Product {
    #[new]
    #[pyo3(signature = (sku, name, price, tax_category = "standard".to_owned()))]
    fn new(sku: String, name: String, price: Money, tax_category: String) -> Self {
        Product { sku, name, price, tax_category }
    }

    fn __repr__(&self) -> String {
        format!(
            "Product(sku={:?}, name={:?}, price={}, tax_category={:?})",
            self.sku,
            self.name,
            self.price.__repr__(),
            self.tax_category
        )
    }
}

impl From<aisle::Product> for Product {
    fn from(p: aisle::Product) -> Self {
        Product { sku: p.sku, name: p.name, price: Money(p.price), tax_category: p.tax_category }
    }
}

impl From<&Product> for aisle::Product {
    fn from(p: &Product) -> Self {
        aisle::Product::new(&p.sku, &p.name, p.price.0, &p.tax_category)
    }
}

/// One line of a cart, priced from the catalog.
#[pyclass(module = "aisle", get_all, frozen, eq)]
#[derive(Clone, PartialEq)]
struct CartLine {
    sku: String,
    name: String,
    quantity: i64,
    unit_price: Money,
    line_total: Money,
    tax_category: String,
}

#[pymethods]
impl CartLine {
    fn __repr__(&self) -> String {
        format!("CartLine(sku={:?}, quantity={}, line_total={})", self.sku, self.quantity, self.line_total.0)
    }
}

impl From<aisle::CartLine> for CartLine {
    fn from(l: aisle::CartLine) -> Self {
        CartLine {
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            unit_price: Money(l.unit_price),
            line_total: Money(l.line_total),
            tax_category: l.tax_category,
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

// ---- Edge and Cart ----------------------------------------------------------------------------

/// An open store on this device: one SQLite file.
#[pyclass(module = "aisle", frozen)]
struct Edge {
    inner: aisle::Edge,
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
        Ok(Edge { inner })
    }

    /// A store in memory only (nothing survives the process).
    #[classmethod]
    #[pyo3(signature = (*, store_id, device_id, currency = "EUR"))]
    fn in_memory(_cls: &Bound<'_, PyType>, store_id: &str, device_id: &str, currency: &str) -> Res<Self> {
        let config = aisle::EdgeConfig::new(store_id, device_id, self::currency(currency)?);
        aisle::Edge::open_in_memory(config).map(|inner| Edge { inner }).map_err(to_py_err)
    }

    /// Closes the store file now; every handle of it then raises `StoreClosedError`.
    fn close(&self, py: Python<'_>) -> Res<()> {
        py.detach(|| self.inner.close()).map_err(to_py_err)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
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

    /// Adds a product or replaces the one with the same SKU.
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

    /// Every product, ordered by SKU.
    fn products(&self, py: Python<'_>) -> Res<Vec<Product>> {
        let ps = py.detach(|| self.inner.catalog().list()).map_err(to_py_err)?;
        Ok(ps.into_iter().map(Product::from).collect())
    }

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

    /// Removes a line; raises `CartLineNotFoundError` if the cart has none for `sku`.
    fn remove(&self, py: Python<'_>, sku: &str) -> Res<()> {
        py.detach(|| self.inner.remove(sku)).map_err(to_py_err)
    }

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

    fn __repr__(&self) -> String {
        format!("Cart(id={:?})", self.inner.id())
    }
}

/// Every error code the core can return.
#[pyfunction]
fn error_codes() -> Vec<&'static str> {
    aisle::Error::ALL_CODES.to_vec()
}

/// The error family of a code (`"value"`, `"commerce"`, `"store"`), used by `aisle._errors`
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
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(error_kinds, m)?)?;
    m.add("SCHEMA_VERSION", aisle::store::SCHEMA_VERSION)?;
    Ok(())
}
