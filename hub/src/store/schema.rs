//! The hub's tables, one versioned list of steps for both backends (application-services'
//! `open_database.rs` pattern). `STEPS[i]` upgrades a database from version `i` to `i + 1`;
//! `hub_schema` holds the version. A database newer than this hub is refused
//! (`SCHEMA_TOO_NEW`), never downgraded. Several instances starting at once are serialised:
//! PostgreSQL by an advisory transaction lock, SQLite by `BEGIN IMMEDIATE`.
//!
//! The sync side (`crate::sync::tables`) adds its tables as steps 2 and 3.
//!
//! `{json}` is `jsonb` on PostgreSQL and `text` on SQLite; `{bytes}` is `bytea` / `blob`.

pub const VERSION: i64 = STEPS.len() as i64;

/// The key PostgreSQL's advisory lock takes while migrating ("AISLEHUB").
pub const PG_MIGRATION_LOCK: i64 = 0x4149_534c_4548_5542;

pub const STEPS: &[&str] = &[
    // 1: ingest. The primary key of ingest_record is what makes a forwarded record land once,
    // whichever instance receives it and however often the store re-sends it.
    r#"
CREATE TABLE ingest_record (
    store text NOT NULL, device text NOT NULL, stream text NOT NULL, seq bigint NOT NULL,
    at_ms bigint NOT NULL, received_ms bigint NOT NULL,
    PRIMARY KEY (store, device, stream, seq)
);
CREATE TABLE hub_event (
    store text NOT NULL, device text NOT NULL, stream text NOT NULL, seq bigint NOT NULL,
    at_ms bigint NOT NULL, type text, version bigint, payload {json}, raw {bytes},
    PRIMARY KEY (store, device, stream, seq)
);
CREATE INDEX hub_event_type_at ON hub_event (type, at_ms);
CREATE TABLE hub_sale (
    store text NOT NULL, device text NOT NULL, stream text NOT NULL, seq bigint NOT NULL,
    receipt_no text NOT NULL, kind text NOT NULL, at_ms bigint NOT NULL, currency text NOT NULL,
    subtotal_minor bigint NOT NULL, discount_minor bigint NOT NULL, net_minor bigint NOT NULL,
    tax_minor bigint NOT NULL, total_minor bigint NOT NULL, lines bigint NOT NULL,
    original text, customer_id text, cart_id text, exchange_with text,
    PRIMARY KEY (store, device, stream, seq)
);
CREATE INDEX hub_sale_store_at ON hub_sale (store, at_ms);
CREATE INDEX hub_sale_receipt ON hub_sale (store, receipt_no);
CREATE TABLE hub_payment (
    store text NOT NULL, device text NOT NULL, stream text NOT NULL, seq bigint NOT NULL, idx bigint NOT NULL,
    receipt_no text NOT NULL, at_ms bigint NOT NULL, kind text NOT NULL, currency text NOT NULL,
    amount_minor bigint NOT NULL, tendered_minor bigint NOT NULL, change_minor bigint NOT NULL,
    card_brand text, card_last4 text, offline boolean NOT NULL, reference text,
    PRIMARY KEY (store, device, stream, seq, idx)
);
CREATE INDEX hub_payment_store_at ON hub_payment (store, at_ms);
CREATE TABLE hub_stock_movement (
    store text NOT NULL, device text NOT NULL, stream text NOT NULL, seq bigint NOT NULL, idx bigint NOT NULL,
    receipt_no text, at_ms bigint NOT NULL, sku text NOT NULL, units bigint NOT NULL, grams bigint,
    reason text NOT NULL,
    PRIMARY KEY (store, device, stream, seq, idx)
);
CREATE INDEX hub_stock_movement_sku ON hub_stock_movement (sku, store);
CREATE TABLE hub_insight (
    store text NOT NULL, device text NOT NULL, stream text NOT NULL, seq bigint NOT NULL,
    camera text NOT NULL, start_ms bigint NOT NULL, end_ms bigint NOT NULL, frames bigint NOT NULL,
    frames_dropped bigint NOT NULL, model text NOT NULL, lines {json} NOT NULL, zones {json} NOT NULL,
    PRIMARY KEY (store, device, stream, seq)
);
CREATE INDEX hub_insight_camera ON hub_insight (store, camera, start_ms);
"#,
    // 2: sync, the HQ replica's state (`crate::sync::tables`).
    crate::sync::tables::STEP,
    // 3: sync operations: per-store delivery state, commit times of changes, cache generations.
    crate::sync::tables::STEP_3,
];

/// `STEPS[i]` in the dialect of a backend.
pub fn step(i: usize, json: &str, bytes: &str) -> String {
    STEPS[i].replace("{json}", json).replace("{bytes}", bytes)
}

pub const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS hub_schema (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)";
