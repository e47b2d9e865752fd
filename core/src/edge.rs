//! `Edge`: the one handle an application opens, and the shared state its views use.
//!
//! Owns the connection and the device's identity. Views (`catalog()`, `cart()`, …) are cheap
//! clones over the same state. One writer connection behind a mutex: SQLite serialises writers
//! anyway, and one connection keeps transactions simple and statement caches warm.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::commerce::promotions::Promotion;
use crate::commerce::settings::StoreSettings;
use crate::commerce::{Cart, Catalog};
use crate::error::{Error, Result};
use crate::money::Currency;
use crate::store::{self, Location};

/// Who this device is and what it sells in. Written into a new store file; a file opened with
/// a different identity is refused (`STORE_IDENTITY_MISMATCH`), so two registers can never
/// share one file by accident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeConfig {
    /// The store this device belongs to, e.g. `"store-042"`.
    pub store_id: String,
    /// This device, unique within the store, e.g. `"register-1"`.
    pub device_id: String,
    /// The store's currency: carts are priced in it.
    pub currency: Currency,
}

impl EdgeConfig {
    pub fn new(store_id: &str, device_id: &str, currency: Currency) -> EdgeConfig {
        EdgeConfig { store_id: store_id.to_owned(), device_id: device_id.to_owned(), currency }
    }

    fn validate(&self) -> Result<()> {
        for (field, value) in [("store_id", &self.store_id), ("device_id", &self.device_id)] {
            if value.is_empty() || value.len() > 64 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::InvalidArgument(format!(
                    "{field} must be 1-64 characters without spaces, got {value:?}"
                )));
            }
        }
        Ok(())
    }
}

/// An open store on this device.
#[derive(Clone)]
pub struct Edge {
    shared: Shared,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge").field("path", &self.shared.0.path).field("config", &self.shared.0.config).finish()
    }
}

impl Edge {
    /// Opens the store file at `path`, creating it (and its schema) if it does not exist.
    pub fn open(path: impl AsRef<Path>, config: EdgeConfig) -> Result<Edge> {
        Edge::open_at(Location::File(path.as_ref().to_owned()), config)
    }

    /// A store that lives in memory only: for tests and notebooks. Nothing survives `drop`.
    pub fn open_in_memory(config: EdgeConfig) -> Result<Edge> {
        Edge::open_at(Location::Memory, config)
    }

    fn open_at(location: Location, config: EdgeConfig) -> Result<Edge> {
        config.validate()?;
        let conn = store::open(&location)?;
        let path = location.display_path();
        claim_identity(&conn, &path, &config)?;
        // The commerce outbox exists from the start, so exporters can be added to it at once.
        crate::forward::ensure_stream_in(&conn, &crate::commerce::sale::commerce_stream()).map_err(|f| match f {
            Failure::Sql(e) => store::classify(&path, e),
            Failure::Domain(e) => e,
        })?;
        Ok(Edge {
            shared: Shared(Arc::new(Inner {
                conn: Mutex::new(Some(conn)),
                path,
                config,
                rules: Mutex::new(None),
                forward: crate::forward::State::new(),
            })),
        })
    }

    pub fn config(&self) -> &EdgeConfig {
        &self.shared.0.config
    }

    /// Closes the store file now (checkpointing the WAL) instead of when the last handle is
    /// dropped. Every handle of this store (clones, catalogs, carts) then fails with
    /// `STORE_CLOSED`. Closing twice is fine.
    pub fn close(&self) -> Result<()> {
        self.streams().stop();
        let mut guard = self.shared.lock();
        if let Some(conn) = guard.take() {
            if let Err((conn, e)) = conn.close() {
                *guard = Some(conn);
                return Err(store::classify(&self.shared.0.path, e));
            }
        }
        Ok(())
    }

    /// Whether [`Edge::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().is_none()
    }

    /// The file this store lives in (`":memory:"` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.shared.0.path
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> i64 {
        store::SCHEMA_VERSION
    }

    /// The store's settings (defaults until set).
    pub fn settings(&self) -> Result<StoreSettings> {
        Ok(self.shared.rules()?.settings.clone())
    }

    /// Validates and stores new settings (tax regime, time zone, tender and return policy).
    pub fn set_settings(&self, settings: &StoreSettings) -> Result<()> {
        crate::commerce::settings::save_settings(&self.shared, settings)
    }

    /// The store's promotions, as data.
    pub fn promotions(&self) -> Result<Vec<Promotion>> {
        crate::commerce::settings::load_promotions(&self.shared)
    }

    /// Validates and replaces the store's promotions (all or none).
    pub fn set_promotions(&self, promotions: &[Promotion]) -> Result<()> {
        crate::commerce::settings::save_promotions(&self.shared, promotions)
    }

    /// Like [`Edge::set_promotions`] from a JSON array (`docs/schemas/promotion.schema.json`).
    pub fn set_promotions_json(&self, json: &str) -> Result<()> {
        self.set_promotions(&crate::commerce::promotions::parse_promotions(json)?)
    }

    /// Completed sales, refunds, returns and receipts.
    pub fn sales(&self) -> crate::commerce::Sales {
        crate::commerce::Sales { shared: self.shared.clone() }
    }

    /// Gift cards and store credit: issue, load, balances, history, freeze and close.
    pub fn stored_value(&self) -> crate::commerce::StoredValue {
        crate::commerce::StoredValue { shared: self.shared.clone() }
    }

    /// Store-and-forward streams: append records, export them, see their status.
    pub fn streams(&self) -> crate::forward::Streams {
        crate::forward::Streams { shared: self.shared.clone() }
    }

    /// Replication: device identity and registry, signed deltas, stock, shared carts, customers.
    pub fn sync(&self) -> crate::sync::Replication {
        crate::sync::Replication { shared: self.shared.clone() }
    }

    #[cfg(test)]
    pub(crate) fn shared_for_tests(&self) -> &Shared {
        &self.shared
    }

    /// The product catalog.
    pub fn catalog(&self) -> Catalog {
        Catalog { shared: self.shared.clone() }
    }

    /// Starts a new, empty cart in the store's currency. It is persisted at once.
    pub fn new_cart(&self) -> Result<Cart> {
        Cart::create(self.shared.clone())
    }

    /// Reopens a cart by id (e.g. after a restart).
    pub fn cart(&self, id: &str) -> Result<Cart> {
        Cart::open(self.shared.clone(), id)
    }

    /// Ids of the carts in this store, oldest first.
    pub fn cart_ids(&self) -> Result<Vec<String>> {
        Cart::ids(&self.shared)
    }

    /// Counts of what is stored, for summaries and health checks.
    pub fn stats(&self) -> Result<StoreStats> {
        self.shared.read(|conn| {
            let count = |table: &str| -> rusqlite::Result<u64> {
                conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
                    .map(|n| n.unsigned_abs())
            };
            let pragma = |name: &str| -> rusqlite::Result<u64> {
                conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0)).map(|n| n.unsigned_abs())
            };
            let (page_count, page_size) = (pragma("page_count")?, pragma("page_size")?);
            Ok(StoreStats {
                products: count("product")?,
                carts: count("cart")?,
                cart_lines: count("cart_line")?,
                bytes: page_count * page_size,
            })
        })
    }
}

/// What a store holds, by count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreStats {
    pub products: u64,
    pub carts: u64,
    pub cart_lines: u64,
    /// Size of the main database file in bytes (pages × page size, WAL not included).
    pub bytes: u64,
}

/// Writes the identity into a new file, or checks it against an existing one.
fn claim_identity(conn: &Connection, path: &Path, config: &EdgeConfig) -> Result<()> {
    let wanted = [
        ("store_id", config.store_id.as_str()),
        ("device_id", config.device_id.as_str()),
        ("currency", config.currency.code()),
    ];
    for (key, value) in wanted {
        let stored: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| store::classify(path, e))?;
        match stored {
            Some(stored) if stored != value => {
                return Err(Error::StoreIdentityMismatch {
                    path: path.to_owned(),
                    field: key.to_owned(),
                    stored,
                    requested: value.to_owned(),
                });
            }
            Some(_) => {}
            None => {
                conn.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", [key, value])
                    .map_err(|e| store::classify(path, e))?;
            }
        }
    }
    Ok(())
}

/// The state every view of one open store shares.
#[derive(Clone)]
pub(crate) struct Shared(Arc<Inner>);

struct Inner {
    /// `None` once the store was closed.
    conn: Mutex<Option<Connection>>,
    path: PathBuf,
    config: EdgeConfig,
    /// Settings and compiled promotions, loaded on first use and dropped when they change.
    rules: Mutex<Option<Arc<Rules>>>,
    /// Streams' group commit, memory streams and forwarding workers.
    forward: crate::forward::State,
}

/// A handle that does not keep the store open (held by background workers).
#[derive(Clone)]
pub(crate) struct WeakShared(std::sync::Weak<Inner>);

impl WeakShared {
    pub(crate) fn upgrade(&self) -> Option<Shared> {
        self.0.upgrade().map(Shared)
    }
}

/// What pricing needs from the store's settings, compiled once.
pub(crate) struct Rules {
    pub settings: crate::commerce::settings::StoreSettings,
    pub promotions: crate::commerce::promotions::PromotionSet,
}

/// Why a unit of store work failed: SQLite itself, or a rule of the caller's.
pub(crate) enum Failure {
    Sql(rusqlite::Error),
    Domain(Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Domain(e)
    }
}

impl Shared {
    pub(crate) fn config(&self) -> &EdgeConfig {
        &self.0.config
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0.path
    }

    pub(crate) fn forward(&self) -> &crate::forward::State {
        &self.0.forward
    }

    pub(crate) fn downgrade(&self) -> WeakShared {
        WeakShared(Arc::downgrade(&self.0))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        // A panic while holding the lock cannot leave a half-done transaction behind (it rolls
        // back on drop), so a poisoned lock is still a usable connection.
        self.0.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The store's settings and compiled promotions (cached until they change).
    pub(crate) fn rules(&self) -> Result<Arc<Rules>> {
        let mut guard = self.0.rules.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = guard.as_ref() {
            return Ok(r.clone());
        }
        let settings = crate::commerce::settings::load_settings(self)?;
        let promos = crate::commerce::settings::load_promotions(self)?;
        let promotions = crate::commerce::promotions::PromotionSet::new(&promos, self.0.config.currency)?;
        let rules = Arc::new(Rules { settings, promotions });
        *guard = Some(rules.clone());
        Ok(rules)
    }

    pub(crate) fn invalidate_rules(&self) {
        *self.0.rules.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn closed(&self) -> Error {
        Error::StoreClosed { path: self.0.path.clone() }
    }

    fn finish<T>(&self, r: std::result::Result<T, Failure>) -> Result<T> {
        r.map_err(|f| match f {
            Failure::Sql(e) => store::classify(&self.0.path, e),
            Failure::Domain(e) => e,
        })
    }

    /// Runs `f` in one immediate write transaction: it commits if `f` succeeds, else rolls back.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let mut guard = self.lock();
        let conn = guard.as_mut().ok_or_else(|| self.closed())?;
        let r = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        drop(guard);
        if r.is_ok() {
            // The write may have appended to a stream (a sale's events): wake the forwarders.
            self.0.forward.signal.notify();
        }
        self.finish(r)
    }

    /// Runs `f` with the connection for reading.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> std::result::Result<T, Failure>) -> Result<T> {
        let guard = self.lock();
        let conn = guard.as_ref().ok_or_else(|| self.closed())?;
        let r = f(conn);
        self.finish(r)
    }
}
