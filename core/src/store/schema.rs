//! The schema, versioned with `PRAGMA user_version`, and one upgrade step per version.
//!
//! Adding a table or column: bump [`VERSION`], add an `upgrade_from(n)` arm that takes a file
//! at version `n` to `n + 1`. Steps run inside one transaction, so a failed upgrade leaves the
//! file as it was. A file newer than [`VERSION`] is refused, never downgraded.

use std::path::Path;

use rusqlite::Connection;

use super::classify;
use crate::error::{Error, Result};

/// The schema version this build writes.
pub const VERSION: i64 = 1;

pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let found = super::schema_version(conn).map_err(|e| classify(path, e))?;
    if found > VERSION {
        return Err(Error::StoreSchemaTooNew { path: path.to_owned(), found, supported: VERSION });
    }
    if found == VERSION {
        return Ok(());
    }
    if found < 0 {
        return Err(Error::StoreCorrupt {
            path: path.to_owned(),
            detail: format!("negative schema version {found}"),
        });
    }
    let tx = conn.unchecked_transaction().map_err(|e| classify(path, e))?;
    if found == 0 {
        refuse_foreign_database(&tx, path)?;
    }
    for version in found..VERSION {
        upgrade_from(&tx, version).map_err(|e| classify(path, e))?;
    }
    tx.pragma_update(None, "user_version", VERSION).map_err(|e| classify(path, e))?;
    tx.commit().map_err(|e| classify(path, e))
}

/// A version-0 file with tables of its own is some other application's database: refuse it
/// rather than mixing our tables into it.
fn refuse_foreign_database(conn: &Connection, path: &Path) -> Result<()> {
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    if tables > 0 {
        return Err(Error::StoreNotADatabase {
            path: path.to_owned(),
            detail: format!("a SQLite database with {tables} table(s) that Aisle did not create"),
        });
    }
    Ok(())
}

fn upgrade_from(conn: &Connection, version: i64) -> rusqlite::Result<()> {
    match version {
        0 => conn.execute_batch(
            "CREATE TABLE meta (
                 key   TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             ) STRICT;
             CREATE TABLE product (
                 sku          TEXT PRIMARY KEY,
                 name         TEXT NOT NULL,
                 price_minor  INTEGER NOT NULL CHECK (price_minor >= 0),
                 currency     TEXT NOT NULL,
                 tax_category TEXT NOT NULL
             ) STRICT;
             CREATE TABLE cart (
                 id         TEXT PRIMARY KEY,
                 currency   TEXT NOT NULL,
                 created_ms INTEGER NOT NULL,
                 next_pos   INTEGER NOT NULL DEFAULT 0
             ) STRICT;
             CREATE TABLE cart_line (
                 cart_id  TEXT NOT NULL REFERENCES cart(id) ON DELETE CASCADE,
                 sku      TEXT NOT NULL REFERENCES product(sku),
                 quantity INTEGER NOT NULL CHECK (quantity > 0),
                 position INTEGER NOT NULL,
                 PRIMARY KEY (cart_id, sku)
             ) STRICT;",
        ),
        _ => Ok(()),
    }
}
