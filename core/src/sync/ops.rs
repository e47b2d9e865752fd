//! Local writes, by shape: what the typed CRDT operations look like as engine writes. Shared by
//! the SQLite-backed [`super::Sync`] view and the in-memory [`super::MemReplica`].

use super::crdt::{Record, Value};
use super::engine::{Ctx, Entity, GLOBAL, R, collection, store_scope};
use crate::error::Error;

fn wrong_shape(collection: &str) -> crate::edge::Failure {
    Error::InvalidArgument(format!("sync: collection {collection:?} does not have this shape")).into()
}

impl Ctx<'_> {
    /// The scope this device writes `collection` in: global ones are HQ's, the rest its store's.
    pub fn home_scope(&self, coll: &str) -> R<String> {
        let (_, global) = collection(coll).ok_or_else(|| Error::InvalidArgument(format!("sync: unknown collection {coll:?}")))?;
        Ok(if global { GLOBAL.to_owned() } else { store_scope(&self.me.device.store_id) })
    }

    pub fn upsert_record(&mut self, scope: &str, coll: &str, key: &str, fields: &[(&str, Value)]) -> R<()> {
        self.write(scope, coll, key, |e, st| match e {
            Entity::Record(r) => {
                r.upsert(fields, st);
                Ok(())
            }
            _ => Err(wrong_shape(coll)),
        })?;
        Ok(())
    }

    /// Changes one field of a present record; false if it is absent or deleted.
    pub fn update_field(&mut self, scope: &str, coll: &str, key: &str, name: &str, value: Value) -> R<bool> {
        let mut done = false;
        self.write(scope, coll, key, |e, st| match e {
            Entity::Record(r) => {
                done = r.update(name, value, st);
                Ok(())
            }
            _ => Err(wrong_shape(coll)),
        })?;
        Ok(done)
    }

    /// Deletes a record; false if it was not present.
    pub fn delete_record(&mut self, scope: &str, coll: &str, key: &str) -> R<bool> {
        let mut done = false;
        self.write(scope, coll, key, |e, st| match e {
            Entity::Record(r) => {
                done = r.exists.present();
                r.delete(st);
                Ok(())
            }
            _ => Err(wrong_shape(coll)),
        })?;
        Ok(done)
    }

    pub fn record(&mut self, scope: &str, coll: &str, key: &str) -> R<Option<Record>> {
        Ok(match self.read(scope, coll, key)? {
            Some(Entity::Record(r)) if r.exists.present() => Some(r),
            _ => None,
        })
    }

    pub fn stock_add(&mut self, scope: &str, key: &str, delta: i64) -> R<i64> {
        let e = self.write(scope, "stock", key, |e, st| match e {
            Entity::Stock(s) => {
                s.add(delta, st);
                Ok(())
            }
            _ => Err(wrong_shape("stock")),
        })?;
        Ok(if let Entity::Stock(s) = e { s.value() } else { 0 })
    }

    pub fn stocktake(&mut self, scope: &str, key: &str, count: i64) -> R<()> {
        self.write(scope, "stock", key, |e, st| match e {
            Entity::Stock(s) => {
                s.set_to(count, st);
                Ok(())
            }
            _ => Err(wrong_shape("stock")),
        })?;
        Ok(())
    }

    pub fn stock_level(&mut self, scope: &str, key: &str) -> R<i64> {
        Ok(match self.read(scope, "stock", key)? {
            Some(Entity::Stock(s)) => s.value(),
            _ => 0,
        })
    }

    /// `op`: add (`Some(q)`, `false`), set (`Some(q)`, `true`) or remove (`None`).
    pub fn cart_line(&mut self, scope: &str, cart: &str, sku: &str, quantity: Option<i64>, set: bool) -> R<()> {
        self.write(scope, "cart", cart, |e, st| match e {
            Entity::Cart(c) => {
                match (quantity, set) {
                    (Some(q), false) => c.add(sku, q, st),
                    (Some(q), true) => c.set(sku, q, st),
                    (None, _) => c.remove(sku, st),
                }
                Ok(())
            }
            _ => Err(wrong_shape("cart")),
        })?;
        Ok(())
    }

    pub fn cart_lines(&mut self, scope: &str, cart: &str) -> R<Vec<(String, i64)>> {
        Ok(match self.read(scope, "cart", cart)? {
            Some(Entity::Cart(c)) => c.visible().into_iter().map(|(s, q)| (s.to_owned(), q)).collect(),
            _ => Vec::new(),
        })
    }
}
