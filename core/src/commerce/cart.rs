//! Carts: lines of products and quantities, persisted as they change.
//!
//! Every mutation is one transaction, so a cart survives a crash or restart exactly as the
//! cashier last saw it. Prices are read from the catalog when the cart is read; pricing rules
//! (promotions, tax) build on the lines, never on a copy of them.

use rusqlite::{OptionalExtension, params};

use super::catalog::{raw_product, validate_sku};
use crate::edge::{Failure, Shared};
use crate::error::{Error, Result};
use crate::money::{Currency, Money};

/// Largest quantity of one line: far above any real basket, far below overflow.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// One line of a cart, priced from the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartLine {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub line_total: Money,
    pub tax_category: String,
}

/// A cart in the store: a handle that reads and writes it in the store file.
#[derive(Clone)]
pub struct Cart {
    shared: Shared,
    id: String,
    currency: Currency,
}

impl std::fmt::Debug for Cart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cart").field("id", &self.id).field("currency", &self.currency).finish()
    }
}

fn check_quantity(sku: &str, quantity: i64, allow_zero: bool) -> Result<()> {
    let bad = |reason: String| Error::InvalidQuantity { sku: sku.to_owned(), quantity, reason };
    let min = if allow_zero { 0 } else { 1 };
    if quantity < min {
        return Err(bad(format!("must be at least {min}")));
    }
    if quantity > MAX_QUANTITY {
        return Err(bad(format!("must be at most {MAX_QUANTITY}")));
    }
    Ok(())
}

impl Cart {
    pub(crate) fn create(shared: Shared) -> Result<Cart> {
        let currency = shared.config().currency;
        let device = shared.config().device_id.clone();
        let id = shared.write(|tx| {
            let seq: i64 = tx
                .query_row("SELECT value FROM meta WHERE key = 'cart_seq'", [], |r| r.get::<_, String>(0))
                .optional()?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
                + 1;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('cart_seq', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [seq.to_string()],
            )?;
            let id = format!("{device}-cart-{seq}");
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            tx.execute(
                "INSERT INTO cart (id, currency, created_ms) VALUES (?1, ?2, ?3)",
                params![id, currency.code(), now_ms],
            )?;
            Ok(id)
        })?;
        Ok(Cart { shared, id, currency })
    }

    pub(crate) fn open(shared: Shared, id: &str) -> Result<Cart> {
        let currency: Option<String> = shared.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT currency FROM cart WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?)
        })?;
        let currency = currency.ok_or_else(|| Error::CartNotFound { id: id.to_owned() })?;
        Ok(Cart { shared, id: id.to_owned(), currency: Currency::from_code(&currency)? })
    }

    pub(crate) fn ids(shared: &Shared) -> Result<Vec<String>> {
        shared.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT id FROM cart ORDER BY created_ms, rowid")?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Adds `quantity` of `sku`: a new line, or more of an existing one.
    pub fn add(&self, sku: &str, quantity: i64) -> Result<()> {
        validate_sku(sku)?;
        check_quantity(sku, quantity, false)?;
        self.shared.write(|tx| {
            self.check_product(tx, sku)?;
            let existing: Option<i64> = tx
                .prepare_cached("SELECT quantity FROM cart_line WHERE cart_id = ?1 AND sku = ?2")?
                .query_row([&self.id, sku], |r| r.get(0))
                .optional()?;
            match existing {
                Some(q) => {
                    let total = q.saturating_add(quantity);
                    check_quantity(sku, total, false)?;
                    tx.prepare_cached("UPDATE cart_line SET quantity = ?3 WHERE cart_id = ?1 AND sku = ?2")?
                        .execute(params![self.id, sku, total])?;
                }
                None => self.insert_line(tx, sku, quantity)?,
            }
            Ok(())
        })
    }

    /// Sets the quantity of `sku`'s line (adding it if absent); 0 removes the line.
    pub fn set_quantity(&self, sku: &str, quantity: i64) -> Result<()> {
        validate_sku(sku)?;
        check_quantity(sku, quantity, true)?;
        self.shared.write(|tx| {
            if quantity == 0 {
                tx.prepare_cached("DELETE FROM cart_line WHERE cart_id = ?1 AND sku = ?2")?
                    .execute([&self.id, sku])?;
                return Ok(());
            }
            self.check_product(tx, sku)?;
            let changed = tx
                .prepare_cached("UPDATE cart_line SET quantity = ?3 WHERE cart_id = ?1 AND sku = ?2")?
                .execute(params![self.id, sku, quantity])?;
            if changed == 0 {
                self.insert_line(tx, sku, quantity)?;
            }
            Ok(())
        })
    }

    /// Removes `sku`'s line; `CART_LINE_NOT_FOUND` if the cart has none.
    pub fn remove(&self, sku: &str) -> Result<()> {
        self.shared.write(|tx| {
            self.check_exists(tx)?;
            let n = tx
                .prepare_cached("DELETE FROM cart_line WHERE cart_id = ?1 AND sku = ?2")?
                .execute([&self.id, sku])?;
            if n == 0 {
                return Err(Error::CartLineNotFound { cart_id: self.id.clone(), sku: sku.to_owned() }.into());
            }
            Ok(())
        })
    }

    /// Removes every line.
    pub fn clear(&self) -> Result<()> {
        self.shared.write(|tx| {
            self.check_exists(tx)?;
            tx.prepare_cached("DELETE FROM cart_line WHERE cart_id = ?1")?.execute([&self.id])?;
            Ok(())
        })
    }

    /// The lines in the order they were first added, priced from the catalog.
    pub fn lines(&self) -> Result<Vec<CartLine>> {
        let rows = self.shared.read(|conn| {
            self.check_exists(conn)?;
            let mut stmt = conn.prepare_cached(
                "SELECT p.sku, p.name, p.price_minor, p.currency, p.tax_category, l.quantity
                 FROM cart_line l JOIN product p ON p.sku = l.sku
                 WHERE l.cart_id = ?1 ORDER BY l.position",
            )?;
            let rows = stmt
                .query_map([&self.id], |r| Ok((raw_product(r)?, r.get::<_, i64>(5)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(raw, quantity)| {
                let product = raw.into_product()?;
                let line_total = product.price.checked_mul(quantity)?;
                Ok(CartLine {
                    sku: product.sku,
                    name: product.name,
                    quantity,
                    unit_price: product.price,
                    line_total,
                    tax_category: product.tax_category,
                })
            })
            .collect()
    }

    /// Sum of the line totals, before promotions and tax.
    pub fn subtotal(&self) -> Result<Money> {
        Money::sum(self.currency, self.lines()?.into_iter().map(|l| l.line_total))
    }

    /// Total number of items (sum of quantities).
    pub fn item_count(&self) -> Result<i64> {
        Ok(self.lines()?.iter().map(|l| l.quantity).sum())
    }

    fn check_exists(&self, conn: &rusqlite::Connection) -> std::result::Result<(), Failure> {
        let found = conn
            .prepare_cached("SELECT 1 FROM cart WHERE id = ?1")?
            .exists([&self.id])?;
        if found { Ok(()) } else { Err(Error::CartNotFound { id: self.id.clone() }.into()) }
    }

    /// The product must exist and be priced in the cart's currency.
    fn check_product(&self, conn: &rusqlite::Connection, sku: &str) -> std::result::Result<(), Failure> {
        self.check_exists(conn)?;
        let currency: Option<String> = conn
            .prepare_cached("SELECT currency FROM product WHERE sku = ?1")?
            .query_row([sku], |r| r.get(0))
            .optional()?;
        match currency {
            None => Err(Error::UnknownSku { sku: sku.to_owned() }.into()),
            Some(c) if c != self.currency.code() => Err(Error::CurrencyMismatch {
                expected: self.currency.code().to_owned(),
                found: c,
            }
            .into()),
            Some(_) => Ok(()),
        }
    }

    fn insert_line(&self, tx: &rusqlite::Connection, sku: &str, quantity: i64) -> std::result::Result<(), Failure> {
        let pos: i64 = tx.query_row(
            "UPDATE cart SET next_pos = next_pos + 1 WHERE id = ?1 RETURNING next_pos",
            [&self.id],
            |r| r.get(0),
        )?;
        tx.prepare_cached("INSERT INTO cart_line (cart_id, sku, quantity, position) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![self.id, sku, quantity, pos])?;
        Ok(())
    }
}
