//! Node binding of Aisle (napi-rs): glue only.
//!
//! Converts JS arguments to core types, calls the core, converts results and errors back. It
//! must never hold a business rule: every check on amounts, quantities, SKUs and stores lives
//! in the `aisle` crate, where Python and Kotlin get it too. The only checks here are the ones
//! a JS value needs to become a Rust one (a `number` that is not an exact integer cannot be an
//! `i64`), and they fail with the core's own error codes.

mod error;
mod money;
mod number;
mod store;

pub use error::Code;
pub use money::Money;
pub use store::{Cart, CartLine, Edge, EdgeConfig, Product, StoreStats};

use napi_derive::napi;

/// Every error code this build can raise as `err.code` (the core's `Error::ALL_CODES`).
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    aisle::Error::ALL_CODES.to_vec()
}
