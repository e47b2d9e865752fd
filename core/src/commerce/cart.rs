//! Carts: lines of products and quantities, persisted as they change.
//!
//! Every mutation is one transaction, so a cart survives a crash or restart exactly as the
//! cashier last saw it. Prices are read from the catalog when the cart is read; pricing rules
//! (promotions, tax) build on the lines, never on a copy of them.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::catalog::{SoldBy, validate_sku};
use super::price_list::PriceContext;
use super::pricing::{self, ManualDiscount, PriceOverride, PricedCart, PricingContext, PricingLine, Quantity};
use super::promotions::{PromoContext, Usage};
use crate::edge::{Failure, Shared};
use crate::error::{Error, Result};
use crate::money::{Currency, Money};

/// Heaviest weighed line, in grams (a tonne: far above any scale at a till).
pub const MAX_GRAMS: i64 = 1_000_000;

/// The customer attached to a cart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Customer {
    pub id: Option<String>,
    /// Customer group for price lists and promotions, e.g. `"staff"`, `"wholesale"`.
    pub group: Option<String>,
    pub loyalty_id: Option<String>,
    /// Pays no tax (diplomats, charities, resellers).
    pub tax_exempt: bool,
}

/// Largest quantity of one line: far above any real basket, far below overflow.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// Where a cart is in its life. Only an open cart can change or be completed; the others
/// refuse with `CART_CLOSED`. Stored, serialised and spelled by every binding as `"open"`,
/// `"completed"`, `"void"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CartStatus {
    /// Being rung up: lines, discounts, customer and coupons can change.
    Open,
    /// Paid: a sale records it, and it never changes again.
    Completed,
    /// Abandoned without a sale.
    Void,
}

impl CartStatus {
    /// `"open"`, `"completed"` or `"void"`, as stored and as the bindings spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Open => "open",
            CartStatus::Completed => "completed",
            CartStatus::Void => "void",
        }
    }
}

impl std::fmt::Display for CartStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CartStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<CartStatus> {
        match s {
            "open" => Ok(CartStatus::Open),
            "completed" => Ok(CartStatus::Completed),
            "void" => Ok(CartStatus::Void),
            _ => Err(Error::InvalidArgument(format!("a cart status is \"open\", \"completed\" or \"void\", got {s:?}"))),
        }
    }
}

/// One line of a cart, at its resolved price (price lists), before promotions and tax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartLine {
    pub sku: String,
    pub name: String,
    /// Pieces; 1 for a weighed line.
    pub quantity: i64,
    /// Weight in grams for a line sold by weight.
    pub grams: Option<i64>,
    /// Per piece, or per kilogram for a weighed line (a manual price if overridden).
    pub unit_price: Money,
    /// Before discounts: quantity × unit price, or the weighed amount.
    pub line_total: Money,
    pub tax_category: String,
    pub price_override: Option<PriceOverride>,
    pub discount: Option<ManualDiscount>,
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

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Adds `quantity` of `sku`: a new line, or more of an existing one.
    pub fn add(&self, sku: &str, quantity: i64) -> Result<()> {
        validate_sku(sku)?;
        check_quantity(sku, quantity, false)?;
        self.shared.write(|tx| {
            self.check_product(tx, sku, SoldBy::Unit)?;
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
            self.check_open(tx)?;
            if quantity == 0 {
                tx.prepare_cached("DELETE FROM cart_line WHERE cart_id = ?1 AND sku = ?2")?
                    .execute([&self.id, sku])?;
                return Ok(());
            }
            self.check_product(tx, sku, SoldBy::Unit)?;
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
            self.check_open(tx)?;
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
            self.check_open(tx)?;
            tx.prepare_cached("DELETE FROM cart_line WHERE cart_id = ?1")?.execute([&self.id])?;
            tx.prepare_cached("DELETE FROM cart_coupon WHERE cart_id = ?1")?.execute([&self.id])?;
            tx.prepare_cached("UPDATE cart SET order_discount = NULL WHERE id = ?1")?.execute([&self.id])?;
            Ok(())
        })
    }

    /// The lines in the order they were first added, at their resolved prices.
    pub fn lines(&self) -> Result<Vec<CartLine>> {
        Ok(self.load(self.now_ms())?.lines.into_iter().map(|(line, _)| line).collect())
    }

    /// Sum of the line totals, before promotions and tax.
    pub fn subtotal(&self) -> Result<Money> {
        Money::sum(self.currency, self.lines()?.into_iter().map(|l| l.line_total))
    }

    /// Total number of items (sum of quantities).
    pub fn item_count(&self) -> Result<i64> {
        Ok(self.lines()?.iter().map(|l| l.quantity).sum())
    }

    /// The cart must exist and still be open.
    fn check_open(&self, conn: &rusqlite::Connection) -> std::result::Result<(), Failure> {
        let status: Option<String> =
            conn.prepare_cached("SELECT status FROM cart WHERE id = ?1")?.query_row([&self.id], |r| r.get(0)).optional()?;
        match status.as_deref() {
            None => Err(Error::CartNotFound { id: self.id.clone() }.into()),
            Some("open") => Ok(()),
            Some(other) => Err(Error::CartClosed { id: self.id.clone(), status: other.to_owned() }.into()),
        }
    }

    /// The product must exist, be priced in the cart's currency and be sold as `sold_by`.
    fn check_product(&self, conn: &rusqlite::Connection, sku: &str, sold_by: SoldBy) -> std::result::Result<(), Failure> {
        self.check_open(conn)?;
        let row: Option<(String, String)> = conn
            .prepare_cached("SELECT currency, sold_by FROM product WHERE sku = ?1")?
            .query_row([sku], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match row {
            None => Err(Error::UnknownSku { sku: sku.to_owned() }.into()),
            Some((c, _)) if c != self.currency.code() => Err(Error::CurrencyMismatch {
                expected: self.currency.code().to_owned(),
                found: c,
            }
            .into()),
            Some((_, s)) if s != sold_by.as_str() => Err(Error::InvalidQuantity {
                sku: sku.to_owned(),
                quantity: 0,
                reason: match sold_by {
                    SoldBy::Unit => "this product is sold by weight: add it with a weight in grams".to_owned(),
                    SoldBy::Weight => "this product is sold by the piece: add it with a quantity".to_owned(),
                },
            }
            .into()),
            Some(_) => Ok(()),
        }
    }

    fn insert_line(&self, tx: &rusqlite::Connection, sku: &str, quantity: i64) -> std::result::Result<(), Failure> {
        self.insert_line_with(tx, sku, quantity, None)
    }

    fn insert_line_with(
        &self,
        tx: &rusqlite::Connection,
        sku: &str,
        quantity: i64,
        grams: Option<i64>,
    ) -> std::result::Result<(), Failure> {
        let pos: i64 = tx.query_row(
            "UPDATE cart SET next_pos = next_pos + 1 WHERE id = ?1 RETURNING next_pos",
            [&self.id],
            |r| r.get(0),
        )?;
        tx.prepare_cached("INSERT INTO cart_line (cart_id, sku, quantity, position, grams) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![self.id, sku, quantity, pos, grams])?;
        Ok(())
    }

    fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }

    // ---- weights, manual prices and discounts, customer, coupons ---------------------------

    /// Adds a weighed product (sold by weight): `grams` from the scale, added to any weight
    /// already on the line.
    pub fn add_weighed(&self, sku: &str, grams: i64) -> Result<()> {
        validate_sku(sku)?;
        check_grams(sku, grams)?;
        self.shared.write(|tx| {
            self.check_product(tx, sku, SoldBy::Weight)?;
            let existing: Option<i64> = tx
                .prepare_cached("SELECT grams FROM cart_line WHERE cart_id = ?1 AND sku = ?2")?
                .query_row([&self.id, sku], |r| r.get(0))
                .optional()?;
            match existing {
                Some(g) => {
                    let total = g.saturating_add(grams);
                    check_grams(sku, total)?;
                    tx.prepare_cached("UPDATE cart_line SET grams = ?3 WHERE cart_id = ?1 AND sku = ?2")?
                        .execute(params![self.id, sku, total])?;
                }
                None => self.insert_line_with(tx, sku, 1, Some(grams))?,
            }
            Ok(())
        })
    }

    /// Sets the weight of a weighed line (adding it if absent); 0 removes the line.
    pub fn set_weight(&self, sku: &str, grams: i64) -> Result<()> {
        validate_sku(sku)?;
        if grams != 0 {
            check_grams(sku, grams)?;
        }
        self.shared.write(|tx| {
            self.check_open(tx)?;
            if grams == 0 {
                tx.prepare_cached("DELETE FROM cart_line WHERE cart_id = ?1 AND sku = ?2")?.execute([&self.id, sku])?;
                return Ok(());
            }
            self.check_product(tx, sku, SoldBy::Weight)?;
            let n = tx
                .prepare_cached("UPDATE cart_line SET grams = ?3 WHERE cart_id = ?1 AND sku = ?2")?
                .execute(params![self.id, sku, grams])?;
            if n == 0 {
                self.insert_line_with(tx, sku, 1, Some(grams))?;
            }
            Ok(())
        })
    }

    /// Sets (or with `None` clears) a manual unit price for a line. The line then takes no
    /// promotions. The reason is required and must not contain a card number.
    pub fn set_price_override(&self, sku: &str, price_override: Option<&PriceOverride>) -> Result<()> {
        if let Some(o) = price_override {
            check_reason("price override reason", &o.reason)?;
            if o.price.currency() != self.currency {
                return Err(Error::CurrencyMismatch { expected: self.currency.code().into(), found: o.price.currency().code().into() });
            }
            if o.price.is_negative() {
                return Err(Error::InvalidArgument(format!("price override for {sku:?}: {} is negative", o.price)));
            }
        }
        let json = price_override.map(to_json).transpose()?;
        self.update_line(sku, "price_override", json)
    }

    /// Sets (or clears) a manual discount on a line, applied after promotions.
    pub fn set_line_discount(&self, sku: &str, discount: Option<&ManualDiscount>) -> Result<()> {
        if let Some(d) = discount {
            check_discount(d, self.currency)?;
        }
        let json = discount.map(to_json).transpose()?;
        self.update_line(sku, "discount", json)
    }

    /// Sets (or clears) a manual discount on the whole order, applied last, spread over lines.
    pub fn set_order_discount(&self, discount: Option<&ManualDiscount>) -> Result<()> {
        if let Some(d) = discount {
            check_discount(d, self.currency)?;
        }
        let json = discount.map(to_json).transpose()?;
        self.shared.write(|tx| {
            self.check_open(tx)?;
            tx.prepare_cached("UPDATE cart SET order_discount = ?2 WHERE id = ?1")?.execute(params![self.id, json])?;
            Ok(())
        })
    }

    /// Attaches (or with `None` detaches) the customer.
    pub fn set_customer(&self, customer: Option<&Customer>) -> Result<()> {
        if let Some(c) = customer {
            for (field, v) in [("customer id", &c.id), ("customer group", &c.group), ("loyalty id", &c.loyalty_id)] {
                if let Some(v) = v {
                    check_label(field, v)?;
                }
            }
        }
        let json = customer.map(to_json).transpose()?;
        self.shared.write(|tx| {
            self.check_open(tx)?;
            tx.prepare_cached("UPDATE cart SET customer = ?2 WHERE id = ?1")?.execute(params![self.id, json])?;
            Ok(())
        })
    }

    /// The attached customer.
    pub fn customer(&self) -> Result<Option<Customer>> {
        Ok(self.load(self.now_ms())?.customer)
    }

    /// Enters a coupon code (stored upper-case). Whether it applies is decided when the cart
    /// is priced: see `PricedCart::coupons` (applied, not applicable, invalid, expired, used).
    pub fn add_coupon(&self, code: &str) -> Result<()> {
        let code = code.trim().to_ascii_uppercase();
        check_label("coupon code", &code)?;
        self.shared.write(|tx| {
            self.check_open(tx)?;
            tx.prepare_cached("INSERT OR IGNORE INTO cart_coupon (cart_id, code) VALUES (?1, ?2)")?.execute([&self.id, &code])?;
            Ok(())
        })
    }

    pub fn remove_coupon(&self, code: &str) -> Result<()> {
        let code = code.trim().to_ascii_uppercase();
        self.shared.write(|tx| {
            self.check_open(tx)?;
            tx.prepare_cached("DELETE FROM cart_coupon WHERE cart_id = ?1 AND code = ?2")?.execute([&self.id, &code])?;
            Ok(())
        })
    }

    pub fn coupons(&self) -> Result<Vec<String>> {
        Ok(self.load(self.now_ms())?.coupons)
    }

    /// Open, completed or void: only an open cart can change or be completed.
    pub fn status(&self) -> Result<CartStatus> {
        let stored = self.load(self.now_ms())?.status;
        // The schema's CHECK allows only the three names, so another one is a damaged file.
        stored.parse().map_err(|_| Error::Store(format!("cart {:?} has an unknown status {stored:?} in the store", self.id)))
    }

    /// Prices the cart now: promotions, manual discounts and tax, per the store's settings.
    pub fn price(&self) -> Result<PricedCart> {
        self.price_at(jiff::Timestamp::now())
    }

    /// Prices the cart as at `at` (price lists and promotion windows are time-dependent).
    pub fn price_at(&self, at: jiff::Timestamp) -> Result<PricedCart> {
        let rules = self.shared.rules()?;
        let loaded = self.load(at.as_millisecond())?;
        self.price_loaded(&loaded, at, &rules)
    }

    pub(crate) fn price_loaded(&self, loaded: &Loaded, at: jiff::Timestamp, rules: &crate::edge::Rules) -> Result<PricedCart> {
        let settings = &rules.settings;
        let regime = settings.tax_regime.as_ref().ok_or_else(|| {
            Error::InvalidArgument("the store has no tax regime: set one in the store settings before pricing".into())
        })?;
        let mut promo = PromoContext::new(at, settings.time_zone()?);
        let customer = loaded.customer.clone().unwrap_or_default();
        promo.customer_group = customer.group.clone();
        promo.coupons = loaded.coupons.clone();
        promo.usage = self.usage(customer.id.as_deref())?;
        let ctx = PricingContext {
            currency: self.currency,
            promotions: &rules.promotions,
            mode: settings.promotion_mode,
            tax_regime: regime,
            customer_tax_exempt: customer.tax_exempt,
            promo,
            rounding: settings.rounding,
            approval_above_percent: settings.approval_above_percent,
            order_discount: loaded.order_discount.clone(),
        };
        let lines: Vec<PricingLine> = loaded.lines.iter().map(|(_, p)| p.clone()).collect();
        pricing::price(&lines, &ctx)
    }

    fn usage(&self, customer_id: Option<&str>) -> Result<std::collections::HashMap<String, Usage>> {
        self.shared.read(|c| {
            let mut stmt = c.prepare_cached("SELECT promotion_id, customer_id, uses FROM promotion_usage")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out: std::collections::HashMap<String, Usage> = std::collections::HashMap::new();
            for (promo, cust, uses) in rows {
                let e = out.entry(promo).or_default();
                let uses = u32::try_from(uses).unwrap_or(u32::MAX);
                e.total = e.total.saturating_add(uses);
                if customer_id.is_some_and(|c| c == cust) {
                    e.by_this_customer = e.by_this_customer.saturating_add(uses);
                }
            }
            Ok(out)
        })
    }

    fn update_line(&self, sku: &str, column: &'static str, json: Option<String>) -> Result<()> {
        self.shared.write(|tx| {
            self.check_open(tx)?;
            let n = tx
                .prepare_cached(&format!("UPDATE cart_line SET {column} = ?3 WHERE cart_id = ?1 AND sku = ?2"))?
                .execute(params![self.id, sku, json])?;
            if n == 0 {
                return Err(Error::CartLineNotFound { cart_id: self.id.clone(), sku: sku.to_owned() }.into());
            }
            Ok(())
        })
    }

    /// Reads the cart with its lines resolved against the catalog and price lists at `at_ms`.
    pub(crate) fn load(&self, at_ms: i64) -> Result<Loaded> {
        let settings = self.shared.rules()?.settings.clone();
        let (status, revision, customer, order_discount, coupons, rows) = self.shared.read(|conn| {
            let head: Option<(String, i64, Option<String>, Option<String>)> = conn
                .prepare_cached("SELECT status, revision, customer, order_discount FROM cart WHERE id = ?1")?
                .query_row([&self.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            let Some((status, revision, customer, order_discount)) = head else {
                return Err(Error::CartNotFound { id: self.id.clone() }.into());
            };
            let coupons = conn
                .prepare_cached("SELECT code FROM cart_coupon WHERE cart_id = ?1 ORDER BY code")?
                .query_map([&self.id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            let rows = conn
                .prepare_cached(
                    "SELECT sku, quantity, grams, price_override, discount FROM cart_line
                     WHERE cart_id = ?1 ORDER BY position",
                )?
                .query_map([&self.id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((status, revision, customer, order_discount, coupons, rows))
        })?;
        let customer: Option<Customer> = customer.as_deref().map(from_json).transpose()?;
        let order_discount: Option<ManualDiscount> = order_discount.as_deref().map(from_json).transpose()?;
        let catalog = super::Catalog { shared: self.shared.clone() };
        let mut ctx = PriceContext::new(&self.shared.config().store_id, &settings.channel, at_ms, self.currency);
        ctx.customer_group = customer.as_ref().and_then(|c| c.group.clone());
        let mut lines = Vec::with_capacity(rows.len());
        for (sku, quantity, grams, over, disc) in rows {
            let product = catalog.get(&sku)?;
            let resolved = catalog.resolve_price(&sku, &ctx)?;
            let price_override: Option<PriceOverride> = over.as_deref().map(from_json).transpose()?;
            let discount: Option<ManualDiscount> = disc.as_deref().map(from_json).transpose()?;
            let unit_price = price_override.as_ref().map_or(resolved.amount, |o| o.price);
            let (q, line_total) = match grams {
                Some(g) => (Quantity::Grams(g), unit_price.mul_div(g, 1000, settings.rounding.weight)?),
                None => (Quantity::Units(quantity), unit_price.checked_mul(quantity)?),
            };
            let line = CartLine {
                sku: sku.clone(),
                name: product.name.clone(),
                quantity,
                grams,
                unit_price,
                line_total,
                tax_category: product.tax_category.clone(),
                price_override: price_override.clone(),
                discount: discount.clone(),
            };
            let pricing_line = PricingLine {
                sku,
                name: product.name,
                quantity: q,
                unit_price: resolved.amount,
                tax_category: product.tax_category,
                categories: product.categories,
                tags: product.tags,
                price_override,
                discount,
            };
            lines.push((line, pricing_line));
        }
        Ok(Loaded { status, revision, customer, order_discount, coupons, lines })
    }
}

/// A cart as read from the store, ready to price.
pub(crate) struct Loaded {
    pub status: String,
    /// Bumped by the store on every change to the cart (see the schema's triggers).
    pub revision: i64,
    pub customer: Option<Customer>,
    pub order_discount: Option<ManualDiscount>,
    pub coupons: Vec<String>,
    pub lines: Vec<(CartLine, PricingLine)>,
}

fn check_grams(sku: &str, grams: i64) -> Result<()> {
    if !(1..=MAX_GRAMS).contains(&grams) {
        return Err(Error::InvalidQuantity {
            sku: sku.to_owned(),
            quantity: grams,
            reason: format!("a weight must be 1 to {MAX_GRAMS} grams"),
        });
    }
    Ok(())
}

/// Free text a cashier types: required, bounded, and never a card number.
fn check_reason(field: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::InvalidArgument(format!("{field} must not be empty")));
    }
    check_label(field, text)
}

fn check_label(field: &str, text: &str) -> Result<()> {
    if text.chars().count() > 200 {
        return Err(Error::InvalidArgument(format!("{field} is longer than 200 characters")));
    }
    super::card_guard::check_free_text(field, text)
}

fn check_discount(d: &ManualDiscount, currency: Currency) -> Result<()> {
    check_reason("discount reason", &d.reason)?;
    match (&d.percent, &d.amount) {
        (Some(p), None) => {
            let (n, den) = p.fraction();
            if n > den {
                return Err(Error::InvalidArgument(format!("a discount of {p}% is more than 100%")));
            }
        }
        (None, Some(a)) => {
            if a.currency() != currency {
                return Err(Error::CurrencyMismatch { expected: currency.code().into(), found: a.currency().code().into() });
            }
            if a.is_negative() {
                return Err(Error::InvalidArgument(format!("a discount of {a} is negative")));
            }
        }
        _ => return Err(Error::InvalidArgument("a discount needs exactly one of percent or amount".into())),
    }
    Ok(())
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Store(format!("cannot encode cart data: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Store(format!("cart data in the store is unreadable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::CartStatus;

    #[test]
    fn cart_status_names_are_the_stored_ones() {
        for (status, name) in [(CartStatus::Open, "open"), (CartStatus::Completed, "completed"), (CartStatus::Void, "void")] {
            assert_eq!(status.as_str(), name);
            assert_eq!(status.to_string(), name);
            assert_eq!(name.parse::<CartStatus>().unwrap(), status);
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<CartStatus>(&format!("\"{name}\"")).unwrap(), status);
        }
        assert_eq!("Open".parse::<CartStatus>().unwrap_err().code(), "INVALID_ARGUMENT");
        assert!(serde_json::from_str::<CartStatus>("\"closed\"").is_err());
    }
}
