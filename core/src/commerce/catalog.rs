//! Products: what the store sells, at what price, under which tax category; how it is found
//! (barcodes, categories, tags) and how it is grouped (variants of a parent style). Also the
//! store's price lists, persisted here and resolved by [`super::price_list`].
//!
//! A product and its barcodes, categories and tags are written in one transaction: an upsert
//! replaces all of them or, if any rule fails (a barcode that belongs to another SKU), none.

use std::collections::{BTreeMap, HashMap};

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::gtin::Gtin;
use super::price_list::{self, PriceContext, PriceList, PriceScope, ResolvedPrice};
use crate::edge::{Failure, Shared};
use crate::error::{Error, Result};
use crate::money::{Currency, Money, RoundingMode};

/// Longest SKU accepted; longer ones are almost always a scanner or paste accident.
pub const MAX_SKU_LEN: usize = 64;

/// Longest category or tag (categories may be paths such as `"food/dairy/milk"`).
pub const MAX_LABEL_LEN: usize = 128;

/// Longest attribute name (`"size"`) and value (`"XL"`).
const MAX_ATTRIBUTE_KEY_LEN: usize = 64;
const MAX_ATTRIBUTE_VALUE_LEN: usize = 256;

/// How a product's quantity is counted, and so what its price is per.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SoldBy {
    /// Counted in pieces; the price is per piece and a cart quantity is a number of pieces.
    #[default]
    Unit,
    /// Weighed; the price is per kilogram and a cart quantity is grams read from a scale.
    Weight,
}

impl SoldBy {
    /// `"unit"` or `"weight"`, as stored and as the bindings spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SoldBy::Unit => "unit",
            SoldBy::Weight => "weight",
        }
    }

    /// The amount for `quantity` at `price`: pieces × price for [`SoldBy::Unit`];
    /// grams × price-per-kg ÷ 1000, rounded with `mode`, for [`SoldBy::Weight`].
    pub fn amount(self, price: Money, quantity: i64, mode: RoundingMode) -> Result<Money> {
        match self {
            SoldBy::Unit => price.checked_mul(quantity),
            SoldBy::Weight => price.mul_div(quantity, 1000, mode),
        }
    }
}

impl std::fmt::Display for SoldBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SoldBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<SoldBy> {
        match s {
            "unit" => Ok(SoldBy::Unit),
            "weight" => Ok(SoldBy::Weight),
            _ => Err(Error::InvalidArgument(format!("sold_by must be \"unit\" or \"weight\", got {s:?}"))),
        }
    }
}

/// A product in the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// Stock-keeping unit, unique in the catalog: 1–64 printable characters, no spaces.
    pub sku: String,
    /// Name as printed on receipts.
    pub name: String,
    /// Base price: per piece, or per kilogram when [`SoldBy::Weight`]. Price lists may
    /// override it (see [`Catalog::resolve_price`]); tax treatment comes from the tax regime.
    pub price: Money,
    /// Tax category the store's tax regime maps to a rate, e.g. `"standard"`, `"reduced"`.
    pub tax_category: String,
    /// The product (style) this one is a variant of, e.g. `"TSHIRT"` for `"TSHIRT-RED-M"`.
    /// The parent need not be in the catalog (a style is often not sold by itself).
    pub parent_sku: Option<String>,
    /// What distinguishes a variant, e.g. `{"colour": "red", "size": "M"}`.
    pub attributes: BTreeMap<String, String>,
    /// GTINs (EAN/UPC) printed on the product, as given; each belongs to one SKU only.
    pub barcodes: Vec<String>,
    /// Categories, in the order given, e.g. `["dairy", "food/dairy/milk"]`. Matched exactly.
    pub categories: Vec<String>,
    /// Free labels, in the order given, e.g. `["organic", "local"]`. Matched exactly.
    pub tags: Vec<String>,
    /// Counted in pieces or weighed.
    pub sold_by: SoldBy,
}

impl Product {
    /// A product sold by the piece, with no variants, barcodes, categories or tags.
    pub fn new(sku: &str, name: &str, price: Money, tax_category: &str) -> Product {
        Product {
            sku: sku.to_owned(),
            name: name.to_owned(),
            price,
            tax_category: tax_category.to_owned(),
            parent_sku: None,
            attributes: BTreeMap::new(),
            barcodes: Vec::new(),
            categories: Vec::new(),
            tags: Vec::new(),
            sold_by: SoldBy::Unit,
        }
    }

    /// Makes this a variant of `parent_sku`.
    pub fn with_parent(mut self, parent_sku: &str) -> Product {
        self.parent_sku = Some(parent_sku.to_owned());
        self
    }

    /// Sets one attribute (replacing an earlier value of the same name).
    pub fn with_attribute(mut self, name: &str, value: &str) -> Product {
        self.attributes.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Adds a barcode (a GTIN-8, -12, -13 or -14).
    pub fn with_barcode(mut self, gtin: &str) -> Product {
        self.barcodes.push(gtin.to_owned());
        self
    }

    pub fn with_category(mut self, category: &str) -> Product {
        self.categories.push(category.to_owned());
        self
    }

    pub fn with_tag(mut self, tag: &str) -> Product {
        self.tags.push(tag.to_owned());
        self
    }

    /// Weighed: the price becomes per kilogram and cart quantities are grams.
    pub fn sold_by_weight(mut self) -> Product {
        self.sold_by = SoldBy::Weight;
        self
    }

    pub fn with_sold_by(mut self, sold_by: SoldBy) -> Product {
        self.sold_by = sold_by;
        self
    }

    /// Checks the product's fields; [`Catalog::upsert`] calls this before writing.
    /// A malformed barcode is `INVALID_BARCODE`; everything else is `INVALID_PRODUCT`.
    pub fn validate(&self) -> Result<()> {
        validate_sku(&self.sku)?;
        let bad = |reason: String| Error::InvalidProduct { sku: self.sku.clone(), reason };
        if self.name.trim().is_empty() {
            return Err(bad("name must not be empty".into()));
        }
        if self.price.is_negative() {
            return Err(bad(format!("price must not be negative, got {}", self.price)));
        }
        if self.tax_category.trim().is_empty() {
            return Err(bad("tax category must not be empty".into()));
        }
        if let Some(parent) = &self.parent_sku {
            validate_sku(parent).map_err(|_| bad(format!("parent SKU {parent:?} is not a valid SKU")))?;
            if *parent == self.sku {
                return Err(bad("a product cannot be its own parent".into()));
            }
        }
        for (name, value) in &self.attributes {
            if name.trim().is_empty() || name.trim() != name || name.chars().count() > MAX_ATTRIBUTE_KEY_LEN {
                return Err(bad(format!(
                    "attribute name {name:?} must be 1-{MAX_ATTRIBUTE_KEY_LEN} characters without surrounding spaces"
                )));
            }
            if name.chars().chain(value.chars()).any(char::is_control) {
                return Err(bad(format!("attribute {name:?} must not contain control characters")));
            }
            if value.chars().count() > MAX_ATTRIBUTE_VALUE_LEN {
                return Err(bad(format!("attribute {name:?} is longer than {MAX_ATTRIBUTE_VALUE_LEN} characters")));
            }
        }
        let mut seen: HashMap<Gtin, &str> = HashMap::new();
        for code in &self.barcodes {
            let gtin = Gtin::parse(code)?;
            if let Some(first) = seen.insert(gtin, code) {
                return Err(bad(format!("barcode {code:?} is listed twice (also as {first:?})")));
            }
        }
        check_labels(&self.categories, "category").map_err(bad)?;
        check_labels(&self.tags, "tag").map_err(bad)?;
        Ok(())
    }

    fn normalised_barcodes(&self) -> Result<Vec<(Gtin, &str)>> {
        self.barcodes.iter().map(|c| Ok((Gtin::parse(c)?, c.as_str()))).collect()
    }
}

/// Categories and tags: non-empty, no surrounding spaces or control characters, each once.
fn check_labels(labels: &[String], what: &str) -> std::result::Result<(), String> {
    for (i, label) in labels.iter().enumerate() {
        if label.is_empty() || label.trim() != label || label.chars().count() > MAX_LABEL_LEN {
            return Err(format!("{what} {label:?} must be 1-{MAX_LABEL_LEN} characters without surrounding spaces"));
        }
        if label.chars().any(char::is_control) {
            return Err(format!("{what} {label:?} must not contain control characters"));
        }
        if labels[..i].contains(label) {
            return Err(format!("{what} {label:?} is listed twice"));
        }
    }
    Ok(())
}

pub(crate) fn validate_sku(sku: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidProduct { sku: sku.to_owned(), reason: reason.to_owned() };
    if sku.is_empty() {
        return Err(bad("SKU must not be empty"));
    }
    if sku.chars().count() > MAX_SKU_LEN {
        return Err(bad(&format!("SKU is longer than {MAX_SKU_LEN} characters")));
    }
    if sku.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("SKU must not contain spaces or control characters"));
    }
    Ok(())
}

/// The catalog of one store: a view over the store's shared state.
#[derive(Clone)]
pub struct Catalog {
    pub(crate) shared: Shared,
}

const PRODUCT_COLUMNS: &str = "sku, name, price_minor, currency, tax_category, parent_sku, sold_by, attributes";

impl Catalog {
    /// Adds a product or replaces the one with the same SKU, with its barcodes, categories and
    /// tags. A barcode that belongs to another SKU is `DUPLICATE_BARCODE` and nothing is written.
    pub fn upsert(&self, product: &Product) -> Result<()> {
        self.upsert_all(std::slice::from_ref(product))
    }

    /// Adds or replaces many products in one transaction: all or none. Barcodes may move
    /// between products of the same batch; if a SKU appears twice, the last one wins.
    pub fn upsert_all(&self, products: &[Product]) -> Result<()> {
        let mut normalised = Vec::with_capacity(products.len());
        for p in products {
            p.validate()?;
            normalised.push(p.normalised_barcodes()?);
        }
        // The last occurrence of each SKU is the one that is kept.
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, p) in products.iter().enumerate() {
            last.insert(p.sku.as_str(), i);
        }
        self.shared.write(|tx| {
            // First every product row, with its old barcodes, categories and tags gone, so a
            // barcode can move from one product of the batch to another.
            for (i, p) in products.iter().enumerate() {
                if last.get(p.sku.as_str()) == Some(&i) {
                    write_product_row(tx, p)?;
                    for table in ["product_barcode", "product_category", "product_tag"] {
                        tx.prepare_cached(&format!("DELETE FROM {table} WHERE sku = ?1"))?.execute([&p.sku])?;
                    }
                }
            }
            for (i, (p, barcodes)) in products.iter().zip(&normalised).enumerate() {
                if last.get(p.sku.as_str()) == Some(&i) {
                    write_children(tx, p, barcodes)?;
                    // Recorded for sync in the same transaction.
                    let fields = crate::sync::product_fields(p);
                    crate::sync::record_local(tx, self.shared.config(), "product", &p.sku, crate::sync::LocalWrite::Upsert(&fields))?;
                }
            }
            Ok(())
        })
    }

    /// Writes a product that arrived by sync. A barcode another SKU already has stays with it
    /// (the product is still written, without that barcode).
    pub(crate) fn write_synced_product(tx: &Transaction<'_>, p: &Product) -> std::result::Result<(), Failure> {
        write_product_row(tx, p)?;
        for table in ["product_barcode", "product_category", "product_tag"] {
            tx.prepare_cached(&format!("DELETE FROM {table} WHERE sku = ?1"))?.execute([&p.sku])?;
        }
        let mut owner = tx.prepare_cached("SELECT sku FROM product_barcode WHERE gtin = ?1")?;
        let mut free = Vec::new();
        for (gtin, code) in p.normalised_barcodes()? {
            if owner.query_row([gtin.as_gtin14()], |r| r.get::<_, String>(0)).optional()?.is_none() {
                free.push((gtin, code));
            }
        }
        write_children(tx, p, &free)
    }

    /// Writes a price list that arrived by sync.
    pub(crate) fn write_synced_price_list(tx: &Transaction<'_>, list: &PriceList) -> std::result::Result<(), Failure> {
        write_price_list(tx, list)
    }

    /// Removes a price list deleted on another replica.
    pub(crate) fn delete_synced_price_list(tx: &Transaction<'_>, id: &str) -> std::result::Result<(), Failure> {
        tx.prepare_cached("DELETE FROM price_list WHERE id = ?1")?.execute([id])?;
        Ok(())
    }

    /// The product with this SKU, or `UNKNOWN_SKU`.
    pub fn get(&self, sku: &str) -> Result<Product> {
        self.find(sku)?.ok_or_else(|| Error::UnknownSku { sku: sku.to_owned() })
    }

    /// The product with this SKU, if any.
    pub fn find(&self, sku: &str) -> Result<Option<Product>> {
        self.shared.read(|conn| Ok(load_one(conn, sku)?))
    }

    /// The product with this barcode. Any standard length finds it: `036000291452` (UPC-A),
    /// `0036000291452` (EAN-13) and `00036000291452` (GTIN-14) are the same GTIN. A malformed
    /// code is `INVALID_BARCODE`; a valid one no product has is `UNKNOWN_BARCODE`.
    pub fn by_barcode(&self, code: &str) -> Result<Product> {
        let gtin = Gtin::parse(code)?;
        let found = self.shared.read(|conn| {
            let sku: Option<String> = conn
                .prepare_cached("SELECT sku FROM product_barcode WHERE gtin = ?1")?
                .query_row([gtin.as_gtin14()], |r| r.get(0))
                .optional()?;
            match sku {
                Some(sku) => Ok(load_one(conn, &sku)?),
                None => Ok(None),
            }
        })?;
        found.ok_or_else(|| Error::UnknownBarcode { barcode: code.to_owned() })
    }

    /// Every product, ordered by SKU.
    pub fn list(&self) -> Result<Vec<Product>> {
        self.shared.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {PRODUCT_COLUMNS} FROM product ORDER BY sku"))?;
            let mut products = stmt.query_map([], product_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            attach_all_children(conn, &mut products)?;
            Ok(products)
        })
    }

    /// Products in `category` (exact match), ordered by SKU.
    pub fn in_category(&self, category: &str) -> Result<Vec<Product>> {
        self.load_where("sku IN (SELECT sku FROM product_category WHERE category = ?1)", category)
    }

    /// Products tagged `tag` (exact match), ordered by SKU.
    pub fn with_tag(&self, tag: &str) -> Result<Vec<Product>> {
        self.load_where("sku IN (SELECT sku FROM product_tag WHERE tag = ?1)", tag)
    }

    /// The variants of `parent_sku`, ordered by SKU (empty if it has none).
    pub fn variants(&self, parent_sku: &str) -> Result<Vec<Product>> {
        self.load_where("parent_sku = ?1", parent_sku)
    }

    fn load_where(&self, condition: &str, arg: &str) -> Result<Vec<Product>> {
        self.shared.read(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {PRODUCT_COLUMNS} FROM product WHERE {condition} ORDER BY sku"))?;
            let mut products = stmt.query_map([arg], product_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            for p in &mut products {
                attach_children(conn, p)?;
            }
            Ok(products)
        })
    }

    /// Number of products.
    pub fn len(&self) -> Result<u64> {
        self.shared.read(|conn| {
            let n: i64 = conn.query_row("SELECT count(*) FROM product", [], |r| r.get(0))?;
            Ok(n.unsigned_abs())
        })
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    // ---- price lists ----------------------------------------------------------------------

    /// Adds a price list or replaces the one with the same id (all its prices with it).
    /// Prices may name SKUs this store's catalog does not have: a list authored at HQ covers
    /// many stores.
    pub fn upsert_price_list(&self, list: &PriceList) -> Result<()> {
        list.validate()?;
        self.shared.write(|tx| {
            write_price_list(tx, list)?;
            let fields = crate::sync::price_list_fields(list);
            crate::sync::record_local(tx, self.shared.config(), "price_list", &list.id, crate::sync::LocalWrite::Upsert(&fields))
        })
    }

    /// Every price list, ordered by id.
    pub fn price_lists(&self) -> Result<Vec<PriceList>> {
        self.shared.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {PRICE_LIST_COLUMNS} FROM price_list ORDER BY id"))?;
            let mut lists = stmt.query_map([], price_list_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut prices = conn.prepare_cached(
                "SELECT p.list_id, p.sku, p.amount_minor FROM price_list_price p ORDER BY p.list_id, p.sku",
            )?;
            let mut by_list: HashMap<String, Vec<(String, i64)>> = HashMap::new();
            for row in prices.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))? {
                let (list_id, sku, minor) = row?;
                by_list.entry(list_id).or_default().push((sku, minor));
            }
            for list in &mut lists {
                for (sku, minor) in by_list.remove(&list.id).unwrap_or_default() {
                    list.prices.insert(sku, Money::new(minor, list.currency));
                }
            }
            Ok(lists)
        })
    }

    /// The price list with this id, if any.
    pub fn price_list(&self, id: &str) -> Result<Option<PriceList>> {
        self.shared.read(|conn| {
            let list = conn
                .prepare_cached(&format!("SELECT {PRICE_LIST_COLUMNS} FROM price_list WHERE id = ?1"))?
                .query_row([id], price_list_row)
                .optional()?;
            let Some(mut list) = list else { return Ok(None) };
            let mut stmt =
                conn.prepare_cached("SELECT sku, amount_minor FROM price_list_price WHERE list_id = ?1 ORDER BY sku")?;
            for row in stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (sku, minor) = row?;
                list.prices.insert(sku, Money::new(minor, list.currency));
            }
            Ok(Some(list))
        })
    }

    /// Removes a price list and its prices. Returns whether there was one: removing twice is
    /// not an error, so a removal replayed from HQ is harmless.
    pub fn remove_price_list(&self, id: &str) -> Result<bool> {
        self.shared.write(|tx| {
            let removed = tx.prepare_cached("DELETE FROM price_list WHERE id = ?1")?.execute([id])? > 0;
            crate::sync::record_local(tx, self.shared.config(), "price_list", id, crate::sync::LocalWrite::Delete)?;
            Ok(removed)
        })
    }

    /// The price of `sku` in `context`: the best price list that applies (see
    /// [`price_list::resolve_in`] for the rules), else the product's base price. For a weighed
    /// product the amount is per kilogram. `UNKNOWN_SKU` if the catalog has no such product;
    /// `CURRENCY_MISMATCH` if no list applies and the base price is in another currency.
    pub fn resolve_price(&self, sku: &str, context: &PriceContext) -> Result<ResolvedPrice> {
        let (product, lists) = self.shared.read(|conn| {
            let Some(product) = load_row(conn, sku)? else {
                return Err(Error::UnknownSku { sku: sku.to_owned() }.into());
            };
            // Only the lists that price this SKU in the context's currency can win; scope and
            // validity are decided by the pure resolver so the rules live in one place.
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {PRICE_LIST_COLUMNS_L}, p.amount_minor
                 FROM price_list_price p JOIN price_list l ON l.id = p.list_id
                 WHERE p.sku = ?1 AND l.currency = ?2"
            ))?;
            let lists = stmt
                .query_map(params![sku, context.currency.code()], |r| {
                    let mut list = price_list_row(r)?;
                    list.prices.insert(sku.to_owned(), Money::new(r.get(9)?, list.currency));
                    Ok(list)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((product, lists))
        })?;
        price_list::resolve_in(&lists, &product, context)
    }
}

const PRICE_LIST_COLUMNS: &str =
    "id, name, currency, priority, stores, channels, customer_groups, valid_from, valid_to";
const PRICE_LIST_COLUMNS_L: &str =
    "l.id, l.name, l.currency, l.priority, l.stores, l.channels, l.customer_groups, l.valid_from, l.valid_to";

fn price_list_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PriceList> {
    Ok(PriceList {
        id: row.get(0)?,
        name: row.get(1)?,
        currency: currency_column(row, 2)?,
        priority: row.get(3)?,
        scope: PriceScope {
            stores: json_column(row, 4)?,
            channels: json_column(row, 5)?,
            customer_groups: json_column(row, 6)?,
        },
        valid_from: row.get(7)?,
        valid_to: row.get(8)?,
        prices: BTreeMap::new(),
    })
}

fn write_price_list(tx: &Transaction<'_>, list: &PriceList) -> std::result::Result<(), Failure> {
    let scope = |v: &Vec<String>| serde_json::to_string(v).map_err(|e| Error::Store(e.to_string()));
    let (stores, channels, groups) =
        (scope(&list.scope.stores)?, scope(&list.scope.channels)?, scope(&list.scope.customer_groups)?);
    tx.prepare_cached(
        "INSERT INTO price_list (id, name, currency, priority, stores, channels, customer_groups, valid_from, valid_to)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET
           name = excluded.name, currency = excluded.currency, priority = excluded.priority,
           stores = excluded.stores, channels = excluded.channels,
           customer_groups = excluded.customer_groups,
           valid_from = excluded.valid_from, valid_to = excluded.valid_to",
    )?
    .execute(params![
        list.id,
        list.name,
        list.currency.code(),
        list.priority,
        stores,
        channels,
        groups,
        list.valid_from,
        list.valid_to
    ])?;
    tx.prepare_cached("DELETE FROM price_list_price WHERE list_id = ?1")?.execute([&list.id])?;
    let mut insert =
        tx.prepare_cached("INSERT INTO price_list_price (list_id, sku, amount_minor) VALUES (?1, ?2, ?3)")?;
    for (sku, amount) in &list.prices {
        insert.execute(params![list.id, sku, amount.minor()])?;
    }
    Ok(())
}

fn write_product_row(tx: &Transaction<'_>, p: &Product) -> std::result::Result<(), Failure> {
    let attributes = serde_json::to_string(&p.attributes).map_err(|e| Error::Store(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO product (sku, name, price_minor, currency, tax_category, parent_sku, sold_by, attributes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (sku) DO UPDATE SET
           name = excluded.name, price_minor = excluded.price_minor,
           currency = excluded.currency, tax_category = excluded.tax_category,
           parent_sku = excluded.parent_sku, sold_by = excluded.sold_by,
           attributes = excluded.attributes",
    )?
    .execute(params![
        p.sku,
        p.name,
        p.price.minor(),
        p.price.currency().code(),
        p.tax_category,
        p.parent_sku,
        p.sold_by.as_str(),
        attributes
    ])?;
    Ok(())
}

fn write_children(tx: &Transaction<'_>, p: &Product, barcodes: &[(Gtin, &str)]) -> std::result::Result<(), Failure> {
    let mut owner = tx.prepare_cached("SELECT sku FROM product_barcode WHERE gtin = ?1")?;
    let mut insert =
        tx.prepare_cached("INSERT INTO product_barcode (gtin, sku, code, position) VALUES (?1, ?2, ?3, ?4)")?;
    for (position, (gtin, code)) in barcodes.iter().enumerate() {
        let existing: Option<String> = owner.query_row([gtin.as_gtin14()], |r| r.get(0)).optional()?;
        if let Some(existing_sku) = existing {
            return Err(
                Error::DuplicateBarcode { barcode: (*code).to_owned(), existing_sku, sku: p.sku.clone() }.into()
            );
        }
        insert.execute(params![gtin.as_gtin14(), p.sku, code, position as i64])?;
    }
    for (table, column, labels) in [("product_category", "category", &p.categories), ("product_tag", "tag", &p.tags)] {
        let mut insert =
            tx.prepare_cached(&format!("INSERT INTO {table} (sku, {column}, position) VALUES (?1, ?2, ?3)"))?;
        for (position, label) in labels.iter().enumerate() {
            insert.execute(params![p.sku, label, position as i64])?;
        }
    }
    Ok(())
}

fn json_column<T: serde::de::DeserializeOwned>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

fn currency_column(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Currency> {
    let code: String = row.get(idx)?;
    Currency::from_code(&code).map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// A full product row (without barcodes, categories and tags).
fn product_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Product> {
    let currency = currency_column(row, 3)?;
    let sold_by: String = row.get(6)?;
    Ok(Product {
        sku: row.get(0)?,
        name: row.get(1)?,
        price: Money::new(row.get(2)?, currency),
        tax_category: row.get(4)?,
        parent_sku: row.get(5)?,
        sold_by: sold_by.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(6, Type::Text, Box::new(e)))?,
        attributes: json_column(row, 7)?,
        barcodes: Vec::new(),
        categories: Vec::new(),
        tags: Vec::new(),
    })
}

fn load_row(conn: &Connection, sku: &str) -> rusqlite::Result<Option<Product>> {
    conn.prepare_cached(&format!("SELECT {PRODUCT_COLUMNS} FROM product WHERE sku = ?1"))?
        .query_row([sku], product_row)
        .optional()
}

fn load_one(conn: &Connection, sku: &str) -> rusqlite::Result<Option<Product>> {
    let Some(mut p) = load_row(conn, sku)? else { return Ok(None) };
    attach_children(conn, &mut p)?;
    Ok(Some(p))
}

const CHILDREN: [(&str, &str); 3] =
    [("product_barcode", "code"), ("product_category", "category"), ("product_tag", "tag")];

fn children_mut(p: &mut Product, i: usize) -> &mut Vec<String> {
    match i {
        0 => &mut p.barcodes,
        1 => &mut p.categories,
        _ => &mut p.tags,
    }
}

/// Barcodes, categories and tags of one product, in the order they were given.
fn attach_children(conn: &Connection, p: &mut Product) -> rusqlite::Result<()> {
    for (i, (table, column)) in CHILDREN.iter().enumerate() {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {column} FROM {table} WHERE sku = ?1 ORDER BY position"))?;
        let values = stmt.query_map([&p.sku], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        *children_mut(p, i) = values;
    }
    Ok(())
}

/// The same for a whole catalog: one scan per table instead of three queries per product.
fn attach_all_children(conn: &Connection, products: &mut [Product]) -> rusqlite::Result<()> {
    let index: HashMap<String, usize> = products.iter().enumerate().map(|(i, p)| (p.sku.clone(), i)).collect();
    for (i, (table, column)) in CHILDREN.iter().enumerate() {
        let mut stmt = conn.prepare_cached(&format!("SELECT sku, {column} FROM {table} ORDER BY sku, position"))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let sku: String = row.get(0)?;
            if let Some(&at) = index.get(&sku) {
                children_mut(&mut products[at], i).push(row.get(1)?);
            }
        }
    }
    Ok(())
}

