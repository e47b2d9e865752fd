//! SQLite: the single-machine backend (a demo, a small chain). Same tables and behaviour as
//! PostgreSQL; one connection, WAL, `BEGIN IMMEDIATE` per batch. Several hub processes may
//! share the file (the busy timeout makes them take turns).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::schema::{self, CREATE_VERSION_TABLE, VERSION};
use super::{Backend, IngestOutcome, now_ms};
use crate::error::{HubError, Result};
use crate::ingest::rows::Rows;

pub struct Sqlite {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Sqlite {
    pub fn open(path: impl AsRef<Path>) -> Result<Sqlite> {
        let path = path.as_ref().to_owned();
        let conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let db = Sqlite {
            conn: Mutex::new(conn),
            path,
        };
        db.migrate()?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for the sync side.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn migrate(&self) -> Result<()> {
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(CREATE_VERSION_TABLE)?;
        let found: i64 = tx
            .query_row("SELECT version FROM hub_schema WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0);
        if found > VERSION {
            return Err(HubError::SchemaTooNew {
                found,
                known: VERSION,
            });
        }
        for i in found as usize..VERSION as usize {
            tx.execute_batch(&schema::step(i, "text", "blob"))?;
            tracing::info!(version = i + 1, "sqlite schema upgraded");
        }
        tx.execute(
            "INSERT INTO hub_schema (id, version) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            [VERSION],
        )?;
        tx.commit()?;
        Ok(())
    }
}

impl Backend for Sqlite {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn ready(&self) -> Result<()> {
        let v: i64 =
            self.conn()
                .query_row("SELECT version FROM hub_schema WHERE id = 1", [], |r| {
                    r.get(0)
                })?;
        if v != VERSION {
            return Err(HubError::Database(format!(
                "schema version {v}, this hub writes {VERSION}"
            )));
        }
        Ok(())
    }

    fn ingest(&self, mut rows: Rows) -> Result<IngestOutcome> {
        let total = rows.events.len() as u64;
        let mut c = self.conn();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (st, dv, sm) = (
            &rows.store.clone(),
            &rows.device.clone(),
            &rows.stream.clone(),
        );
        let now = now_ms();
        let mut fresh = Vec::with_capacity(rows.events.len());
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO ingest_record (store, device, stream, seq, at_ms, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO NOTHING",
            )?;
            for e in &rows.events {
                if ins.execute(params![st, dv, sm, e.seq, e.at_ms, now])? == 1 {
                    fresh.push(e.seq);
                }
            }
        }
        fresh.sort_unstable();
        rows.retain_fresh(&fresh);
        {
            let mut s = tx.prepare_cached(
            "INSERT INTO hub_event (store, device, stream, seq, at_ms, type, version, payload, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
            for e in &rows.events {
                s.execute(params![
                    st, dv, sm, e.seq, e.at_ms, e.kind, e.version, e.payload, e.raw
                ])?;
            }
            let mut s = tx.prepare_cached(
            "INSERT INTO hub_sale (store, device, stream, seq, receipt_no, kind, at_ms, currency, subtotal_minor, discount_minor,
                 net_minor, tax_minor, total_minor, lines, original, customer_id, cart_id, exchange_with)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
            for r in &rows.sales {
                s.execute(params![
                    st,
                    dv,
                    sm,
                    r.seq,
                    r.receipt_no,
                    r.kind,
                    r.at_ms,
                    r.currency,
                    r.subtotal_minor,
                    r.discount_minor,
                    r.net_minor,
                    r.tax_minor,
                    r.total_minor,
                    r.lines,
                    r.original,
                    r.customer_id,
                    r.cart_id,
                    r.exchange_with
                ])?;
            }
            let mut s = tx.prepare_cached(
            "INSERT INTO hub_payment (store, device, stream, seq, idx, receipt_no, at_ms, kind, currency, amount_minor,
                 tendered_minor, change_minor, card_brand, card_last4, offline, reference)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
            for r in &rows.payments {
                s.execute(params![
                    st,
                    dv,
                    sm,
                    r.seq,
                    r.idx,
                    r.receipt_no,
                    r.at_ms,
                    r.kind,
                    r.currency,
                    r.amount_minor,
                    r.tendered_minor,
                    r.change_minor,
                    r.card_brand,
                    r.card_last4,
                    r.offline,
                    r.reference
                ])?;
            }
            let mut s = tx.prepare_cached(
            "INSERT INTO hub_stock_movement (store, device, stream, seq, idx, receipt_no, at_ms, sku, units, grams, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
            for r in &rows.stock {
                s.execute(params![
                    st,
                    dv,
                    sm,
                    r.seq,
                    r.idx,
                    r.receipt_no,
                    r.at_ms,
                    r.sku,
                    r.units,
                    r.grams,
                    r.reason
                ])?;
            }
            let mut s = tx.prepare_cached(
            "INSERT INTO hub_insight (store, device, stream, seq, camera, start_ms, end_ms, frames, frames_dropped, model, lines, zones)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
            for r in &rows.insights {
                s.execute(params![
                    st,
                    dv,
                    sm,
                    r.seq,
                    r.camera,
                    r.start_ms,
                    r.end_ms,
                    r.frames,
                    r.frames_dropped,
                    r.model,
                    r.lines,
                    r.zones
                ])?;
            }
        }
        let high: Option<i64> = tx.query_row(
            "SELECT max(seq) FROM ingest_record WHERE store = ?1 AND device = ?2 AND stream = ?3",
            params![st, dv, sm],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(IngestOutcome {
            applied: fresh.len() as u64,
            duplicates: total - fresh.len() as u64,
            high_seq: high.unwrap_or(0).max(0) as u64,
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
