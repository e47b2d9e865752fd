//! PostgreSQL: the fleet's backend. A small r2d2 pool of synchronous `postgres` connections;
//! every batch is one transaction of a handful of set-based statements (arrays unnested
//! server-side), so a 500-record batch costs a few round trips, not thousands.

use std::time::Duration;

use postgres::NoTls;
use r2d2::Pool;
use r2d2_postgres::PostgresConnectionManager;

use super::schema::{self, CREATE_VERSION_TABLE, PG_MIGRATION_LOCK, VERSION};
use super::{Backend, IngestOutcome, now_ms};
use crate::error::{HubError, Result};
use crate::ingest::rows::Rows;

pub type PgPool = Pool<Manager>;

/// A connection with the statements prepared on it (by their SQL), so a statement the sync
/// side runs on every request is parsed and planned once per connection, not per request.
pub struct HubConn {
    pub client: postgres::Client,
    pub statements: std::collections::HashMap<String, postgres::Statement>,
}

impl std::ops::Deref for HubConn {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        &self.client
    }
}

impl std::ops::DerefMut for HubConn {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        &mut self.client
    }
}

/// r2d2's PostgreSQL manager, handing out [`HubConn`]s.
pub struct Manager(PostgresConnectionManager<NoTls>);

impl Manager {
    pub fn new(config: postgres::Config) -> Manager {
        Manager(PostgresConnectionManager::new(config, NoTls))
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = HubConn;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<HubConn, postgres::Error> {
        Ok(HubConn { client: self.0.connect()?, statements: std::collections::HashMap::new() })
    }

    fn is_valid(&self, conn: &mut HubConn) -> std::result::Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut HubConn) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

pub struct Postgres {
    /// Always Some until dropped.
    pool: Option<PgPool>,
}

impl Drop for Postgres {
    /// The synchronous client closes a connection by blocking on a runtime of its own, which
    /// panics on a tokio worker thread — where the last reference to the backend may be
    /// released when a hub's runtime shuts down. So the pool is closed on a plain thread.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::Builder::new().name("aisle-hub-pg-close".into()).spawn(move || drop(pool));
        }
    }
}

impl Postgres {
    pub fn open(url: &str, pool_size: u32) -> Result<Postgres> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| HubError::Config(format!("database URL: {e}")))?;
        let manager = Manager::new(config);
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        let pg = Postgres { pool: Some(pool) };
        pg.migrate()?;
        Ok(pg)
    }

    /// The pool, for the sync side.
    pub fn pool(&self) -> &PgPool {
        self.pool.as_ref().expect("the pool lives until drop")
    }

    fn migrate(&self) -> Result<()> {
        let mut c = self.pool().get()?;
        let mut tx = c.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_MIGRATION_LOCK])?;
        tx.batch_execute(CREATE_VERSION_TABLE)?;
        let found: i64 = tx
            .query_opt("SELECT version FROM hub_schema WHERE id = 1", &[])?
            .map_or(0, |r| r.get(0));
        if found > VERSION {
            return Err(HubError::SchemaTooNew {
                found,
                known: VERSION,
            });
        }
        for i in found as usize..VERSION as usize {
            tx.batch_execute(&schema::step(i, "jsonb", "bytea"))?;
            tracing::info!(version = i + 1, "postgres schema upgraded");
        }
        tx.execute(
            "INSERT INTO hub_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            &[&VERSION],
        )?;
        tx.commit()?;
        Ok(())
    }
}

impl Backend for Postgres {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn ready(&self) -> Result<()> {
        let mut c = self.pool().get()?;
        let v: i64 = c
            .query_one("SELECT version FROM hub_schema WHERE id = 1", &[])?
            .get(0);
        if v != VERSION {
            return Err(HubError::Database(format!(
                "schema version {v}, this hub writes {VERSION}"
            )));
        }
        Ok(())
    }

    fn ingest(&self, mut rows: Rows) -> Result<IngestOutcome> {
        let total = rows.events.len() as u64;
        let mut c = self.pool().get()?;
        let mut tx = c.transaction()?;
        let (store, device, stream) =
            (rows.store.clone(), rows.device.clone(), rows.stream.clone());
        let key: [&(dyn postgres::types::ToSql + Sync); 3] = [&store, &device, &stream];
        let seqs: Vec<i64> = rows.events.iter().map(|e| e.seq).collect();
        let ats: Vec<i64> = rows.events.iter().map(|e| e.at_ms).collect();
        // A concurrent insert of the same key on another instance waits for that transaction:
        // if it commits, the record is a duplicate here; if it rolls back, it is ours.
        let mut fresh: Vec<i64> = tx
            .query(
                "INSERT INTO ingest_record (store, device, stream, seq, at_ms, received_ms)
                 SELECT $1::text, $2::text, $3::text, s, a, $6::int8 FROM unnest($4::int8[], $5::int8[]) AS t(s, a)
                 ON CONFLICT DO NOTHING RETURNING seq",
                &[key[0], key[1], key[2], &seqs, &ats, &now_ms()],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        fresh.sort_unstable();
        rows.retain_fresh(&fresh);
        if !rows.events.is_empty() {
            let e = &rows.events;
            let seq: Vec<i64> = e.iter().map(|r| r.seq).collect();
            let at: Vec<i64> = e.iter().map(|r| r.at_ms).collect();
            let kind: Vec<Option<&str>> = e.iter().map(|r| r.kind.as_deref()).collect();
            let version: Vec<Option<i64>> = e.iter().map(|r| r.version).collect();
            let payload: Vec<Option<&str>> = e.iter().map(|r| r.payload.as_deref()).collect();
            let raw: Vec<Option<&[u8]>> = e.iter().map(|r| r.raw.as_deref()).collect();
            tx.execute(
                "INSERT INTO hub_event (store, device, stream, seq, at_ms, type, version, payload, raw)
                 SELECT $1::text, $2::text, $3::text, s, a, t, v, p::jsonb, r
                 FROM unnest($4::int8[], $5::int8[], $6::text[], $7::int8[], $8::text[], $9::bytea[]) AS x(s, a, t, v, p, r)",
                &[key[0], key[1], key[2], &seq, &at, &kind, &version, &payload, &raw],
            )?;
        }
        if !rows.sales.is_empty() {
            let s = &rows.sales;
            let col_i =
                |f: fn(&crate::ingest::rows::SaleRow) -> i64| s.iter().map(f).collect::<Vec<i64>>();
            let col_s = |f: fn(&crate::ingest::rows::SaleRow) -> Option<&str>| {
                s.iter().map(f).collect::<Vec<Option<&str>>>()
            };
            tx.execute(
                "INSERT INTO hub_sale (store, device, stream, seq, receipt_no, kind, at_ms, currency, subtotal_minor,
                     discount_minor, net_minor, tax_minor, total_minor, lines, original, customer_id, cart_id, exchange_with)
                 SELECT $1::text, $2::text, $3::text, * FROM unnest($4::int8[], $5::text[], $6::text[], $7::int8[], $8::text[],
                     $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::int8[], $15::text[], $16::text[],
                     $17::text[], $18::text[])",
                &[
                    key[0],
                    key[1],
                    key[2],
                    &col_i(|r| r.seq),
                    &col_s(|r| Some(r.receipt_no.as_str())),
                    &col_s(|r| Some(r.kind)),
                    &col_i(|r| r.at_ms),
                    &col_s(|r| Some(r.currency.as_str())),
                    &col_i(|r| r.subtotal_minor),
                    &col_i(|r| r.discount_minor),
                    &col_i(|r| r.net_minor),
                    &col_i(|r| r.tax_minor),
                    &col_i(|r| r.total_minor),
                    &col_i(|r| r.lines),
                    &col_s(|r| r.original.as_deref()),
                    &col_s(|r| r.customer_id.as_deref()),
                    &col_s(|r| r.cart_id.as_deref()),
                    &col_s(|r| r.exchange_with.as_deref()),
                ],
            )?;
        }
        if !rows.payments.is_empty() {
            let p = &rows.payments;
            let col_i = |f: fn(&crate::ingest::rows::PaymentRow) -> i64| {
                p.iter().map(f).collect::<Vec<i64>>()
            };
            let col_s = |f: fn(&crate::ingest::rows::PaymentRow) -> Option<&str>| {
                p.iter().map(f).collect::<Vec<Option<&str>>>()
            };
            let offline: Vec<bool> = p.iter().map(|r| r.offline).collect();
            tx.execute(
                "INSERT INTO hub_payment (store, device, stream, seq, idx, receipt_no, at_ms, kind, currency, amount_minor,
                     tendered_minor, change_minor, card_brand, card_last4, offline, reference)
                 SELECT $1::text, $2::text, $3::text, * FROM unnest($4::int8[], $5::int8[], $6::text[], $7::int8[], $8::text[],
                     $9::text[], $10::int8[], $11::int8[], $12::int8[], $13::text[], $14::text[], $15::bool[], $16::text[])",
                &[
                    key[0],
                    key[1],
                    key[2],
                    &col_i(|r| r.seq),
                    &col_i(|r| r.idx),
                    &col_s(|r| Some(r.receipt_no.as_str())),
                    &col_i(|r| r.at_ms),
                    &col_s(|r| Some(r.kind.as_str())),
                    &col_s(|r| Some(r.currency.as_str())),
                    &col_i(|r| r.amount_minor),
                    &col_i(|r| r.tendered_minor),
                    &col_i(|r| r.change_minor),
                    &col_s(|r| r.card_brand.as_deref()),
                    &col_s(|r| r.card_last4.as_deref()),
                    &offline,
                    &col_s(|r| r.reference.as_deref()),
                ],
            )?;
        }
        if !rows.stock.is_empty() {
            let m = &rows.stock;
            let col_i = |f: fn(&crate::ingest::rows::StockRow) -> i64| {
                m.iter().map(f).collect::<Vec<i64>>()
            };
            let col_s = |f: fn(&crate::ingest::rows::StockRow) -> Option<&str>| {
                m.iter().map(f).collect::<Vec<Option<&str>>>()
            };
            let grams: Vec<Option<i64>> = m.iter().map(|r| r.grams).collect();
            tx.execute(
                "INSERT INTO hub_stock_movement (store, device, stream, seq, idx, receipt_no, at_ms, sku, units, grams, reason)
                 SELECT $1::text, $2::text, $3::text, * FROM unnest($4::int8[], $5::int8[], $6::text[], $7::int8[], $8::text[],
                     $9::int8[], $10::int8[], $11::text[])",
                &[
                    key[0],
                    key[1],
                    key[2],
                    &col_i(|r| r.seq),
                    &col_i(|r| r.idx),
                    &col_s(|r| Some(r.receipt_no.as_str())),
                    &col_i(|r| r.at_ms),
                    &col_s(|r| Some(r.sku.as_str())),
                    &col_i(|r| r.units),
                    &grams,
                    &col_s(|r| Some(r.reason)),
                ],
            )?;
        }
        if !rows.insights.is_empty() {
            let n = &rows.insights;
            let col_i = |f: fn(&crate::ingest::rows::InsightRow) -> i64| {
                n.iter().map(f).collect::<Vec<i64>>()
            };
            let col_s = |f: fn(&crate::ingest::rows::InsightRow) -> &str| {
                n.iter().map(f).collect::<Vec<&str>>()
            };
            tx.execute(
                "INSERT INTO hub_insight (store, device, stream, seq, camera, start_ms, end_ms, frames, frames_dropped, model, lines, zones)
                 SELECT $1::text, $2::text, $3::text, s, c, st, en, f, fd, m, l::jsonb, z::jsonb
                 FROM unnest($4::int8[], $5::text[], $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::text[], $11::text[], $12::text[])
                     AS x(s, c, st, en, f, fd, m, l, z)",
                &[
                    key[0],
                    key[1],
                    key[2],
                    &col_i(|r| r.seq),
                    &col_s(|r| r.camera.as_str()),
                    &col_i(|r| r.start_ms),
                    &col_i(|r| r.end_ms),
                    &col_i(|r| r.frames),
                    &col_i(|r| r.frames_dropped),
                    &col_s(|r| r.model.as_str()),
                    &col_s(|r| r.lines.as_str()),
                    &col_s(|r| r.zones.as_str()),
                ],
            )?;
        }
        let high: Option<i64> = tx
            .query_one("SELECT max(seq) FROM ingest_record WHERE store = $1 AND device = $2 AND stream = $3", &key)?
            .get(0);
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
