//! Where the hub's state lives: one [`Backend`] trait, PostgreSQL for the fleet and SQLite for
//! one machine, the same tables on both (`schema`). Backends are synchronous; the HTTP side
//! calls them on tokio's blocking pool. Nothing here holds state between requests that another
//! instance would need: the database is the only truth.

use std::sync::Arc;

use crate::error::{HubError, Result};
use crate::ingest::rows::Rows;

pub mod pg;
pub mod schema;
pub mod sqlite;

/// What one ingest batch did (the answer of `POST /v1/ingest`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestOutcome {
    /// Records stored for the first time.
    pub applied: u64,
    /// Records already stored (by this or another instance).
    pub duplicates: u64,
    /// The highest seq stored for the batch's (store, device, stream).
    pub high_seq: u64,
}

/// A hub database. The sync side (being added) extends this trait with its own calls.
pub trait Backend: Send + Sync + 'static {
    /// `postgres` or `sqlite`.
    fn kind(&self) -> &'static str;
    /// Reachable, and its schema is the one this hub writes.
    fn ready(&self) -> Result<()>;
    /// Applies a batch's rows exactly once, in one transaction: records whose
    /// `(store, device, stream, seq)` is already stored are skipped with their typed rows.
    fn ingest(&self, rows: Rows) -> Result<IngestOutcome>;
    /// For the sync side and tests that need the concrete backend.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Opens `postgres://…` or `sqlite:path` (also `sqlite://path`) and brings its schema to
/// [`schema::VERSION`].
pub fn open(database: &str, pool_size: u32) -> Result<Arc<dyn Backend>> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        Ok(Arc::new(pg::Postgres::open(database, pool_size)?))
    } else if let Some(path) = database.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(HubError::Config(
                "sqlite: needs a file path, e.g. sqlite:hub.db".into(),
            ));
        }
        Ok(Arc::new(sqlite::Sqlite::open(path)?))
    } else {
        Err(HubError::Config(format!(
            "database {database:?}: expected postgres://… or sqlite:path"
        )))
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
