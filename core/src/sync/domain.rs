//! The one place sync meets the domain tables. Commerce records its local writes here (in its
//! own transaction), and changes applied from other replicas are written back into the
//! commerce tables (`product`, `price_list`, `setting`) so the rest of Aisle reads them as
//! before. Everything else in `sync` is domain-free: collections are names with a shape.
//!
//! Field mapping (all values are sync [`Value`]s; lists and maps as JSON text):
//! - `product/<sku>`: name, price_minor, currency, tax_category, parent_sku, sold_by,
//!   attributes, barcodes, categories, tags — per-field LWW, so HQ's price change and a
//!   concurrent rename both survive;
//! - `price_list/<id>`: name, currency, priority, stores, channels, customer_groups,
//!   valid_from, valid_to, prices;
//! - `promotions/all`: json (the whole rule set is one document: rules refer to each other);
//! - `setting/store`: one field per top-level member of the store settings JSON;
//! - `customer`, `stock`, `cart`: no commerce table; read them through [`super::Sync`].

use std::collections::BTreeMap;

use rusqlite::{Connection, Transaction};

use super::clock::system_now_ms;
use super::crdt::{Record, Value};
use super::engine::{Ctx, DEFAULT_CHUNK_SLOTS, Entity, R, Touched, store_scope};
use super::sql::{SqlStore, identity};
use crate::commerce::price_list::{PriceList, PriceScope};
use crate::commerce::settings::StoreSettings;
use crate::commerce::{Catalog, Product, SoldBy};
use crate::edge::EdgeConfig;
use crate::money::{Currency, Money};

/// A local write of commerce data, recorded for sync in the caller's transaction.
pub(crate) enum LocalWrite<'a> {
    Upsert(&'a [(&'a str, Value)]),
    Delete,
}

pub(crate) fn record(conn: &Connection, config: &EdgeConfig, collection: &str, key: &str, write: LocalWrite<'_>) -> R<()> {
    let me = identity(conn, config)?;
    let mut store = SqlStore { conn, max_skew_ms: super::clock::DEFAULT_MAX_SKEW_MS };
    let mut ctx = Ctx { store: &mut store, me: &me, now_ms: system_now_ms(), chunk_slots: DEFAULT_CHUNK_SLOTS };
    let scope = ctx.home_scope(collection)?;
    match write {
        LocalWrite::Upsert(fields) => ctx.upsert_record(&scope, collection, key, fields),
        LocalWrite::Delete => ctx.delete_record(&scope, collection, key).map(|_| ()),
    }
}

fn json<T: serde::Serialize>(v: &T) -> Value {
    Value::Text(serde_json::to_string(v).unwrap_or_default())
}

fn from_json<T: serde::de::DeserializeOwned>(fields: &BTreeMap<String, Value>, name: &str) -> Option<T> {
    serde_json::from_str(fields.get(name)?.as_text()?).ok()
}

pub(crate) fn product_fields(p: &Product) -> Vec<(&'static str, Value)> {
    vec![
        ("name", p.name.as_str().into()),
        ("price_minor", p.price.minor().into()),
        ("currency", p.price.currency().code().into()),
        ("tax_category", p.tax_category.as_str().into()),
        ("parent_sku", p.parent_sku.clone().into()),
        ("sold_by", p.sold_by.as_str().into()),
        ("attributes", json(&p.attributes)),
        ("barcodes", json(&p.barcodes)),
        ("categories", json(&p.categories)),
        ("tags", json(&p.tags)),
    ]
}

fn product_from(sku: &str, f: &BTreeMap<String, Value>) -> Option<Product> {
    let currency = Currency::from_code(f.get("currency")?.as_text()?).ok()?;
    Some(Product {
        sku: sku.to_owned(),
        name: f.get("name")?.as_text()?.to_owned(),
        price: Money::new(f.get("price_minor")?.as_int()?, currency),
        tax_category: f.get("tax_category")?.as_text()?.to_owned(),
        parent_sku: f.get("parent_sku").and_then(Value::as_text).map(str::to_owned),
        attributes: from_json(f, "attributes")?,
        barcodes: from_json(f, "barcodes")?,
        categories: from_json(f, "categories")?,
        tags: from_json(f, "tags")?,
        sold_by: f.get("sold_by")?.as_text()?.parse::<SoldBy>().ok()?,
    })
}

pub(crate) fn price_list_fields(l: &PriceList) -> Vec<(&'static str, Value)> {
    let prices: BTreeMap<&str, i64> = l.prices.iter().map(|(k, m)| (k.as_str(), m.minor())).collect();
    vec![
        ("name", l.name.as_str().into()),
        ("currency", l.currency.code().into()),
        ("priority", i64::from(l.priority).into()),
        ("stores", json(&l.scope.stores)),
        ("channels", json(&l.scope.channels)),
        ("customer_groups", json(&l.scope.customer_groups)),
        ("valid_from", l.valid_from.into()),
        ("valid_to", l.valid_to.into()),
        ("prices", json(&prices)),
    ]
}

fn price_list_from(id: &str, f: &BTreeMap<String, Value>) -> Option<PriceList> {
    let currency = Currency::from_code(f.get("currency")?.as_text()?).ok()?;
    let prices: BTreeMap<String, i64> = from_json(f, "prices")?;
    Some(PriceList {
        id: id.to_owned(),
        name: f.get("name")?.as_text()?.to_owned(),
        currency,
        priority: i32::try_from(f.get("priority")?.as_int()?).ok()?,
        scope: PriceScope {
            stores: from_json(f, "stores")?,
            channels: from_json(f, "channels")?,
            customer_groups: from_json(f, "customer_groups")?,
        },
        valid_from: f.get("valid_from").and_then(Value::as_int),
        valid_to: f.get("valid_to").and_then(Value::as_int),
        prices: prices.into_iter().map(|(k, v)| (k, Money::new(v, currency))).collect(),
    })
}

/// Store settings as one field per top-level JSON member.
pub(crate) fn settings_fields(s: &StoreSettings) -> Vec<(String, Value)> {
    match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(m)) => m.into_iter().map(|(k, v)| (k, Value::Text(v.to_string()))).collect(),
        _ => Vec::new(),
    }
}

fn visible(r: &Record) -> Option<BTreeMap<String, Value>> {
    r.exists.present().then(|| r.fields.iter().map(|(k, f)| (k.clone(), f.value.clone())).collect())
}

/// What materialising changed beyond plain rows.
#[derive(Default)]
pub(crate) struct Materialised {
    /// Settings or promotions changed: cached rules must be dropped.
    pub rules: bool,
    /// Entities whose state could not be turned into a valid commerce row (kept in sync's
    /// tables; a later change may complete them).
    pub skipped: Vec<String>,
}

/// Writes applied changes into the commerce tables.
pub(crate) fn materialise(tx: &Transaction<'_>, config: &EdgeConfig, touched: &[Touched], ctx: &mut Ctx<'_>) -> R<Materialised> {
    let mut out = Materialised::default();
    let own = store_scope(&config.store_id);
    for t in touched {
        let Some(Entity::Record(r)) = ctx.read(&t.scope, &t.collection, &t.key)? else { continue };
        let fields = visible(&r);
        let label = format!("{}/{}", t.collection, t.key);
        match t.collection.as_str() {
            "product" => match fields.as_ref().map(|f| product_from(&t.key, f)) {
                Some(Some(p)) if p.validate().is_ok() => Catalog::write_synced_product(tx, &p)?,
                // No API deletes products (sales and carts refer to them): a delete stays in sync.
                None => {}
                Some(_) => out.skipped.push(label),
            },
            "price_list" => match fields.as_ref().map(|f| price_list_from(&t.key, f)) {
                Some(Some(l)) if l.validate().is_ok() => Catalog::write_synced_price_list(tx, &l)?,
                None => Catalog::delete_synced_price_list(tx, &t.key)?,
                Some(_) => out.skipped.push(label),
            },
            "promotions" if t.key == "all" => {
                let json = fields.as_ref().and_then(|f| f.get("json")).and_then(Value::as_text).map(str::to_owned);
                match json {
                    Some(j) if crate::commerce::promotions::parse_promotions(&j).is_ok() => {
                        crate::commerce::settings::write_synced_setting(tx, "promotions", &j)?;
                        out.rules = true;
                    }
                    _ => out.skipped.push(label),
                }
            }
            "setting" if t.key == "store" && t.scope == own => {
                let mut obj = serde_json::Map::new();
                for (k, v) in fields.iter().flatten() {
                    if let Some(parsed) = v.as_text().and_then(|s| serde_json::from_str(s).ok()) {
                        obj.insert(k.clone(), parsed);
                    }
                }
                let json = serde_json::Value::Object(obj).to_string();
                match StoreSettings::from_json(&json) {
                    Ok(s) => {
                        crate::commerce::settings::write_synced_setting(tx, "store", &s.to_json())?;
                        out.rules = true;
                    }
                    Err(_) => out.skipped.push(label),
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

