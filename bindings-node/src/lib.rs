//! Node binding of Aisle (napi-rs): glue only.
//!
//! Converts JS arguments to core types, calls the core, converts results and errors back. It
//! must never hold a business rule: every check on amounts, quantities, SKUs and stores lives
//! in the `aisle` crate, where Python and Kotlin get it too. The only checks here are the ones
//! a JS value needs to become a Rust one (a `number` that is not an exact integer cannot be an
//! `i64`), and they fail with the core's own error codes.

mod commerce;
mod error;
mod forward;
mod json;
mod money;
mod number;
mod store;
mod stored_value;
mod sync;
mod task;
#[cfg(feature = "vision")]
mod vision;

pub use commerce::{CartStatus, RefundTo};
pub use error::Code;
pub use forward::{ForwardBatch, ForwardBatchInput, ForwardRecord, ForwardRecordInput, Ingest, Streams};
pub use money::{Money, MoneyValue};
pub use store::{Cart, CartLine, Edge, EdgeConfig, Product, SoldBy, StoreStats};
pub use stored_value::{StoredValue, StoredValueKind};
pub use sync::{LanServer, Sync, Syncer};
#[cfg(feature = "vision")]
pub use vision::{BBox, Detection, Detector, Frame, Model, Pipeline, PipelineOptions, PipelineStats, Point, StopReport, TrackerStats};

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi_derive::napi;

use crate::error::to_napi_err;
use crate::json::{Document, to_json};
use crate::task::Job;

/// Every error code this build can raise as `err.code` (the core's `Error::ALL_CODES`).
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    aisle::Error::ALL_CODES.to_vec()
}

/// The family of an error code, e.g. `"value"`, `"commerce"`, `"forward"` (streams,
/// exporters, ingest) or `"store"`; `null` for a code this build does not know:
/// `errorKind(err.code) === 'forward'`.
#[napi(ts_return_type = "ErrorKind | null")]
pub fn error_kind(code: String) -> Option<&'static str> {
    aisle::Error::kind_of_code(&code).map(|kind| kind.as_str())
}

/// Prices a self-contained pricing request (lines, tax regime, promotions, context; and
/// settles its tenders, if any) given as JSON, and returns the result as JSON. The shared
/// test vectors (`tests/vectors/commerce/`) run through this. A malformed request is
/// `INVALID_ARGUMENT` naming the JSON path; a bad rule `PROMO_INVALID_RULE`, a bad regime
/// `INVALID_TAX_REGIME`, a bad tender its tender error.
#[napi]
pub fn price_json(request: String) -> napi::Result<String, Code> {
    aisle::commerce::pricing::price_json(&request).map_err(to_napi_err)
}

/// `priceJson` with objects: the request as an object, the result as an object (the same as
/// `JSON.parse(priceJson(JSON.stringify(request)))`, with every integer checked to be safe).
#[napi(ts_return_type = "PriceResult")]
pub fn price(#[napi(ts_arg_type = "PricingRequest")] request: Unknown) -> napi::Result<Document, Code> {
    let result = price_json(to_json(request, "request")?)?;
    Document::from_text(result, "the price result")
}

/// `price` as a Promise: the request is read now and priced on the thread pool.
#[napi(ts_return_type = "Promise<PriceResult>")]
pub fn price_async(#[napi(ts_arg_type = "PricingRequest")] request: Unknown) -> AsyncTask<Job<Document>> {
    Job::spawn_with(to_json(request, "request"), |request| {
        let result = price_json(request)?;
        Document::from_text(result, "the price result")
    })
}
