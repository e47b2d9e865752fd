//! # Aisle
//!
//! One Rust core for retail stores, linked into every register, handheld and backend.
//!
//! Open a store with [`Edge::open`]; everything else is a view of it:
//!
//! ```
//! use aisle::{Currency, Edge, EdgeConfig, Money, Product};
//!
//! let edge = Edge::open_in_memory(EdgeConfig::new("store-1", "register-1", Currency::EUR))?;
//! edge.catalog().upsert(&Product::new("MILK-1L", "Milk 1 l", Money::parse("1.19", Currency::EUR)?, "reduced"))?;
//! let cart = edge.new_cart()?;
//! cart.add("MILK-1L", 3)?;
//! assert_eq!(cart.subtotal()?.to_string(), "3.57 EUR");
//! # Ok::<(), aisle::Error>(())
//! ```
//!
//! Layers (imports only point down): `edge` → `commerce` → `money` · `store` → `error`.

pub mod commerce;
mod edge;
pub mod error;
pub mod forward;
pub mod money;
pub mod store;
pub mod sync;
pub mod transport;
#[cfg(feature = "vision")]
pub mod vision;

pub use commerce::{Cart, CartLine, Catalog, Product, StoredValue, StoredValueKind};
pub use edge::{Edge, EdgeConfig, StoreStats};
pub use error::{Error, ErrorKind, Result};
pub use forward::{ExporterConfig, Ingest, StreamConfig, Streams};
pub use money::{Currency, Money, Percent, RoundingMode};
