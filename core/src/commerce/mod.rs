//! Commerce: the rules a register, a handheld and a web backend must agree on to the cent.
//!
//! Owns the catalog and carts (and, as they land, price lists, promotions, tax, tenders, sales
//! and returns). It must never format money with floats or re-price a recorded sale.

mod cart;
mod catalog;

pub use cart::{Cart, CartLine, MAX_QUANTITY};
pub use catalog::{Catalog, MAX_SKU_LEN, Product};
