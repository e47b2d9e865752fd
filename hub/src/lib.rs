//! The HQ hub (issue 7, `docs/design/hub.md`): one stateless service for a fleet of stores.
//! Stores forward their streams to `POST /v1/ingest` (applied exactly once into SQL tables for
//! HQ analytics) and sync with it (being added, `sync`). State lives in PostgreSQL (SQLite for
//! one machine), so more load means more instances behind a load balancer.
//!
//! The async runtime lives here and never in `core`; storage calls are synchronous and run on
//! tokio's blocking pool.

pub mod config;
pub mod error;
pub mod ingest;
pub mod limit;
pub mod metrics;
pub mod server;
pub mod store;
pub mod sync;

pub use config::{HubConfig, Limits, TlsFiles};
pub use error::{HubError, Result};
pub use server::{Hub, HubState, RunningHub};
pub use store::{Backend, IngestOutcome};
