//! The sync side of the hub (issue 7) — BEING ADDED. Owns `POST /v1/sync/exchange`,
//! `POST /v1/sync/push`, `GET /v1/sync/events` (server-sent events) and
//! `POST /v1/admin/devices` (enrolment, bearer admin token: `HubState::check_bearer` with
//! `config.admin_token`), the core's `SlotStore` over the backends (its tables are step 2 of
//! `crate::store::schema::STEPS`), and `Metrics::push_connections`.
//!
//! The seam: [`routes`] is merged into the hub's router (after the ingest routes, under the same
//! body limit, rate limits and metrics middleware); storage reaches the concrete backend through
//! `Backend::as_any` (`store::pg::Postgres::pool`, `store::sqlite::Sqlite::conn`).

use std::sync::Arc;

use axum::Router;

use crate::server::HubState;

/// The sync routes (none yet).
pub fn routes() -> Router<Arc<HubState>> {
    Router::new()
}
