//! Products: what the store sells, at what price, under which tax category.

use rusqlite::{OptionalExtension, params};

use crate::edge::Shared;
use crate::error::{Error, Result};
use crate::money::{Currency, Money};

/// Longest SKU accepted; longer ones are almost always a scanner or paste accident.
pub const MAX_SKU_LEN: usize = 64;

/// A product in the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// Stock-keeping unit, unique in the catalog: 1–64 printable characters, no spaces.
    pub sku: String,
    /// Name as printed on receipts.
    pub name: String,
    /// Unit price (tax treatment comes from the price list's tax regime).
    pub price: Money,
    /// Tax category the store's tax regime maps to a rate, e.g. `"standard"`, `"reduced"`.
    pub tax_category: String,
}

impl Product {
    pub fn new(sku: &str, name: &str, price: Money, tax_category: &str) -> Product {
        Product { sku: sku.to_owned(), name: name.to_owned(), price, tax_category: tax_category.to_owned() }
    }

    /// Checks the product's fields; [`Catalog::upsert`] calls this before writing.
    pub fn validate(&self) -> Result<()> {
        validate_sku(&self.sku)?;
        let bad = |reason: &str| Error::InvalidProduct { sku: self.sku.clone(), reason: reason.to_owned() };
        if self.name.trim().is_empty() {
            return Err(bad("name must not be empty"));
        }
        if self.price.is_negative() {
            return Err(bad(&format!("price must not be negative, got {}", self.price)));
        }
        if self.tax_category.trim().is_empty() {
            return Err(bad("tax category must not be empty"));
        }
        Ok(())
    }
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

impl Catalog {
    /// Adds a product or replaces the one with the same SKU.
    pub fn upsert(&self, product: &Product) -> Result<()> {
        product.validate()?;
        self.shared.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO product (sku, name, price_minor, currency, tax_category)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (sku) DO UPDATE SET
                   name = excluded.name, price_minor = excluded.price_minor,
                   currency = excluded.currency, tax_category = excluded.tax_category",
            )?
            .execute(params![
                product.sku,
                product.name,
                product.price.minor(),
                product.price.currency().code(),
                product.tax_category
            ])?;
            Ok(())
        })
    }

    /// Adds or replaces many products in one transaction: all or none.
    pub fn upsert_all(&self, products: &[Product]) -> Result<()> {
        for p in products {
            p.validate()?;
        }
        self.shared.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO product (sku, name, price_minor, currency, tax_category)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (sku) DO UPDATE SET
                   name = excluded.name, price_minor = excluded.price_minor,
                   currency = excluded.currency, tax_category = excluded.tax_category",
            )?;
            for p in products {
                stmt.execute(params![p.sku, p.name, p.price.minor(), p.price.currency().code(), p.tax_category])?;
            }
            Ok(())
        })
    }

    /// The product with this SKU, or `UNKNOWN_SKU`.
    pub fn get(&self, sku: &str) -> Result<Product> {
        self.find(sku)?.ok_or_else(|| Error::UnknownSku { sku: sku.to_owned() })
    }

    /// The product with this SKU, if any.
    pub fn find(&self, sku: &str) -> Result<Option<Product>> {
        self.shared.read(|conn| {
            let row = conn
                .prepare_cached(
                    "SELECT sku, name, price_minor, currency, tax_category FROM product WHERE sku = ?1",
                )?
                .query_row([sku], raw_product)
                .optional()?;
            Ok(row)
        })?
        .map(RawProduct::into_product)
        .transpose()
    }

    /// Every product, ordered by SKU.
    pub fn list(&self) -> Result<Vec<Product>> {
        let rows = self.shared.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT sku, name, price_minor, currency, tax_category FROM product ORDER BY sku",
            )?;
            let rows = stmt.query_map([], raw_product)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?;
        rows.into_iter().map(RawProduct::into_product).collect()
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
}

/// A product row as stored; the currency is checked when it becomes a [`Product`].
pub(crate) struct RawProduct {
    sku: String,
    name: String,
    price_minor: i64,
    currency: String,
    tax_category: String,
}

pub(crate) fn raw_product(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawProduct> {
    Ok(RawProduct {
        sku: row.get(0)?,
        name: row.get(1)?,
        price_minor: row.get(2)?,
        currency: row.get(3)?,
        tax_category: row.get(4)?,
    })
}

impl RawProduct {
    pub(crate) fn into_product(self) -> Result<Product> {
        let currency = Currency::from_code(&self.currency)?;
        Ok(Product {
            sku: self.sku,
            name: self.name,
            price: Money::new(self.price_minor, currency),
            tax_category: self.tax_category,
        })
    }
}
