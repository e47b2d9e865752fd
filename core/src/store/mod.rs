//! The device's one SQLite file: opening, pragmas, migrations, error classification.
//!
//! Owns the connection setup and the schema. It must never hold business rules: commerce,
//! forward and sync own their tables' meaning; this module only makes the file safe to use
//! (WAL, `synchronous=FULL`, foreign keys) and at the right schema version.

mod schema;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Error, Result};

pub use schema::VERSION as SCHEMA_VERSION;

/// Where the store lives: a file on disk, or memory (tests, notebooks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Memory,
}

impl Location {
    pub fn display_path(&self) -> PathBuf {
        match self {
            Location::File(p) => p.clone(),
            Location::Memory => PathBuf::from(":memory:"),
        }
    }
}

/// Opens (creating if needed) the store at `location`, applies the pragmas and migrates the
/// schema to [`SCHEMA_VERSION`]. A file that is not SQLite, is damaged, or was written by a
/// newer Aisle is a typed error, and the file is left untouched.
pub fn open(location: &Location) -> Result<Connection> {
    let path = location.display_path();
    let conn = match location {
        Location::File(p) => {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI;
            Connection::open_with_flags(p, flags).map_err(|e| classify(&path, e))?
        }
        Location::Memory => Connection::open_in_memory().map_err(|e| classify(&path, e))?,
    };
    configure(&conn, &path)?;
    schema::migrate(&conn, &path)?;
    Ok(conn)
}

/// Prepared statements a store connection keeps: a sale or a sync transaction runs a few dozen
/// distinct statements, and rusqlite's default of 16 made them evict and re-prepare each other.
const STATEMENT_CACHE: usize = 64;

fn configure(conn: &Connection, path: &Path) -> Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The first statement reads the header, so a non-SQLite file fails here.
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| classify(path, e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    if mode != "wal" && mode != "memory" {
        return Err(Error::StoreIo {
            path: path.to_owned(),
            detail: format!("cannot switch to WAL journal mode (got {mode})"),
        });
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA trusted_schema = OFF;",
    )
    .map_err(|e| classify(path, e))?;
    Ok(())
}

/// Turns a rusqlite error on the store at `path` into the public error.
pub(crate) fn classify(path: &Path, err: rusqlite::Error) -> Error {
    let detail = err.to_string();
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::StoreNotADatabase { path: path.to_owned(), detail },
        Some(ErrorCode::DatabaseCorrupt) => Error::StoreCorrupt { path: path.to_owned(), detail },
        Some(
            ErrorCode::CannotOpen
            | ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure,
        ) => Error::StoreIo { path: path.to_owned(), detail },
        _ => Error::Store(format!("{}: {detail}", path.display())),
    }
}

/// Reads the schema version of a store file without changing it.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_with_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&Location::File(dir.path().join("s.db"))).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn text_file_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.txt");
        std::fs::write(&p, "this is a shopping list, not a database\n".repeat(100)).unwrap();
        let err = open(&Location::File(p.clone())).unwrap_err();
        assert_eq!(err.code(), "STORE_NOT_A_DATABASE", "{err}");
        // Untouched.
        assert!(std::fs::read_to_string(&p).unwrap().starts_with("this is a shopping list"));
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(&Location::File(dir.path().join("no/such/dir/s.db"))).unwrap_err();
        assert_eq!(err.code(), "STORE_IO", "{err}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        drop(open(&Location::File(p.clone())).unwrap());
        let c = Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(c);
        let err = open(&Location::File(p)).unwrap_err();
        assert_eq!(err.code(), "STORE_SCHEMA_TOO_NEW", "{err}");
        assert!(err.to_string().contains(&format!("version {}", SCHEMA_VERSION + 1)));
    }
}
