//! `POST /v1/ingest`: a batch a store's exporter forwards (docs/forward.md), decoded by the
//! core (`aisle::forward::{decompress, Batch::decode}` — the wire format is the core's, never
//! re-implemented here) and applied exactly once by the backend.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use aisle::forward::{Batch, decompress};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};

use crate::error::{HubError, Result};
use crate::server::HubState;
use crate::store::IngestOutcome;

pub mod rows;

pub async fn ingest(
    State(state): State<Arc<HubState>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<IngestOutcome>> {
    let refused = |e: HubError| {
        if !matches!(e, HubError::RateLimited { .. } | HubError::Unauthorized) {
            state
                .metrics
                .ingest_rejected
                .fetch_add(1, Ordering::Relaxed);
        }
        e
    };
    state
        .check_bearer(&headers, state.config.ingest_token.as_deref())
        .map_err(refused)?;
    let body = body.map_err(|e| {
        refused(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HubError::TooLarge(format!(
                "request body exceeds {} bytes",
                state.config.limits.max_body_bytes
            ))
        } else {
            HubError::Core(aisle::Error::IngestRejected {
                detail: e.body_text(),
            })
        })
    })?;
    let encoding = match headers.get(header::CONTENT_ENCODING) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    refused(HubError::Core(aisle::Error::IngestRejected {
                        detail: "Content-Encoding is not text".into(),
                    }))
                })?
                .to_owned(),
        ),
        None => None,
    };
    let work = state.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<IngestOutcome> {
        let max = work.config.limits.max_decompressed_bytes;
        let plain = decompress(&body, encoding.as_deref(), max).map_err(|e| match e {
            // A decompression bomb is too large, not malformed.
            aisle::Error::IngestRejected { detail } if detail.contains("exceeds") => {
                HubError::TooLarge(detail)
            }
            e => HubError::Core(e),
        })?;
        let batch = Batch::decode(&plain)?;
        if let Err(retry_after_s) = work
            .device_limit
            .check(&format!("{}\u{0}{}", batch.store, batch.device))
        {
            work.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(HubError::RateLimited {
                what: format!("device {}/{}", batch.store, batch.device),
                retry_after_s,
            });
        }
        let rows = rows::rows(&batch)?;
        let outcome = work.backend.ingest(rows)?;
        tracing::info!(
            key = %batch.idempotency_key(),
            applied = outcome.applied,
            duplicates = outcome.duplicates,
            high_seq = outcome.high_seq,
            "ingest batch"
        );
        Ok(outcome)
    })
    .await
    .map_err(|e| HubError::Internal(format!("ingest task: {e}")))?
    .map_err(|e| match e {
        e @ (HubError::Core(_) | HubError::TooLarge(_)) => refused(e),
        e => e,
    })?;
    state.metrics.ingest_batches.fetch_add(1, Ordering::Relaxed);
    state
        .metrics
        .ingest_records
        .fetch_add(outcome.applied, Ordering::Relaxed);
    state
        .metrics
        .ingest_duplicates
        .fetch_add(outcome.duplicates, Ordering::Relaxed);
    Ok(Json(outcome))
}
