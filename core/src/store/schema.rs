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
pub const VERSION: i64 = 7;

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
        // Catalog for a real POS: variants, weighed goods, barcodes, categories, tags; and
        // price lists. Existing products keep their rows and become unit-priced, stand-alone
        // products with no barcodes, categories or tags.
        1 => conn.execute_batch(
            "ALTER TABLE product ADD COLUMN parent_sku TEXT;
             ALTER TABLE product ADD COLUMN sold_by TEXT NOT NULL DEFAULT 'unit'
                 CHECK (sold_by IN ('unit', 'weight'));
             ALTER TABLE product ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
             CREATE INDEX product_by_parent ON product (parent_sku) WHERE parent_sku IS NOT NULL;
             -- gtin: the GTIN-14 form, so every length of one GTIN is one key; code: as given.
             CREATE TABLE product_barcode (
                 gtin     TEXT PRIMARY KEY,
                 sku      TEXT NOT NULL REFERENCES product(sku) ON DELETE CASCADE,
                 code     TEXT NOT NULL,
                 position INTEGER NOT NULL
             ) STRICT;
             CREATE INDEX product_barcode_by_sku ON product_barcode (sku);
             CREATE TABLE product_category (
                 sku      TEXT NOT NULL REFERENCES product(sku) ON DELETE CASCADE,
                 category TEXT NOT NULL,
                 position INTEGER NOT NULL,
                 PRIMARY KEY (sku, category)
             ) STRICT, WITHOUT ROWID;
             CREATE INDEX product_category_by_category ON product_category (category);
             CREATE TABLE product_tag (
                 sku      TEXT NOT NULL REFERENCES product(sku) ON DELETE CASCADE,
                 tag      TEXT NOT NULL,
                 position INTEGER NOT NULL,
                 PRIMARY KEY (sku, tag)
             ) STRICT, WITHOUT ROWID;
             CREATE INDEX product_tag_by_tag ON product_tag (tag);
             -- stores, channels, customer_groups: JSON arrays of strings, empty = any.
             CREATE TABLE price_list (
                 id              TEXT PRIMARY KEY,
                 name            TEXT NOT NULL,
                 currency        TEXT NOT NULL,
                 priority        INTEGER NOT NULL,
                 stores          TEXT NOT NULL DEFAULT '[]',
                 channels        TEXT NOT NULL DEFAULT '[]',
                 customer_groups TEXT NOT NULL DEFAULT '[]',
                 valid_from      INTEGER,
                 valid_to        INTEGER
             ) STRICT;
             -- No foreign key to product: a list authored at HQ may price SKUs this store
             -- does not carry.
             CREATE TABLE price_list_price (
                 list_id      TEXT NOT NULL REFERENCES price_list(id) ON DELETE CASCADE,
                 sku          TEXT NOT NULL,
                 amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
                 PRIMARY KEY (list_id, sku)
             ) STRICT, WITHOUT ROWID;
             CREATE INDEX price_list_price_by_sku ON price_list_price (sku);",
        ),
        // Selling: carts with weights, manual prices and discounts, customers and coupons;
        // store settings; completed sales with everything needed to reprint and to refund
        // without re-pricing; the event log (sales, refunds, offline authorisations) that the
        // forwarder ships.
        2 => conn.execute_batch(
            "ALTER TABLE cart ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
                 CHECK (status IN ('open', 'completed', 'void'));
             ALTER TABLE cart ADD COLUMN customer TEXT;          -- JSON Customer
             ALTER TABLE cart ADD COLUMN order_discount TEXT;    -- JSON ManualDiscount
             ALTER TABLE cart_line ADD COLUMN grams INTEGER CHECK (grams IS NULL OR grams > 0);
             ALTER TABLE cart_line ADD COLUMN price_override TEXT; -- JSON PriceOverride
             ALTER TABLE cart_line ADD COLUMN discount TEXT;       -- JSON ManualDiscount
             CREATE TABLE cart_coupon (
                 cart_id TEXT NOT NULL REFERENCES cart(id) ON DELETE CASCADE,
                 code    TEXT NOT NULL,
                 PRIMARY KEY (cart_id, code)
             ) STRICT, WITHOUT ROWID;
             -- Every change to what a cart prices bumps its revision, so completing a sale can
             -- tell whether the cart changed between pricing it and recording the sale.
             ALTER TABLE cart ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
             CREATE TRIGGER cart_line_added AFTER INSERT ON cart_line BEGIN
                 UPDATE cart SET revision = revision + 1 WHERE id = NEW.cart_id; END;
             CREATE TRIGGER cart_line_changed AFTER UPDATE ON cart_line BEGIN
                 UPDATE cart SET revision = revision + 1 WHERE id = NEW.cart_id; END;
             CREATE TRIGGER cart_line_removed AFTER DELETE ON cart_line BEGIN
                 UPDATE cart SET revision = revision + 1 WHERE id = OLD.cart_id; END;
             CREATE TRIGGER cart_coupon_added AFTER INSERT ON cart_coupon BEGIN
                 UPDATE cart SET revision = revision + 1 WHERE id = NEW.cart_id; END;
             CREATE TRIGGER cart_coupon_removed AFTER DELETE ON cart_coupon BEGIN
                 UPDATE cart SET revision = revision + 1 WHERE id = OLD.cart_id; END;
             CREATE TRIGGER cart_terms_changed AFTER UPDATE OF customer, order_discount ON cart BEGIN
                 UPDATE cart SET revision = revision + 1 WHERE id = NEW.id; END;
             -- key: 'store' (StoreSettings JSON), 'promotions' (JSON array).
             CREATE TABLE setting (
                 key   TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             ) STRICT;
             CREATE TABLE sale (
                 receipt_no   TEXT PRIMARY KEY,
                 seq          INTEGER NOT NULL UNIQUE,
                 kind         TEXT NOT NULL CHECK (kind IN ('sale', 'refund')),
                 cart_id      TEXT,
                 original     TEXT REFERENCES sale(receipt_no),
                 at_ms        INTEGER NOT NULL,
                 currency     TEXT NOT NULL,
                 total_minor  INTEGER NOT NULL,
                 customer     TEXT,
                 record       TEXT NOT NULL  -- JSON SaleRecord: lines, units, adjustments, taxes, tenders
             ) STRICT;
             CREATE INDEX sale_by_original ON sale (original) WHERE original IS NOT NULL;
             -- Queryable copies of the record's lines and tenders (the record stays the truth).
             CREATE TABLE sale_line (
                 receipt_no   TEXT NOT NULL REFERENCES sale(receipt_no),
                 line_no      INTEGER NOT NULL,
                 sku          TEXT NOT NULL,
                 units        INTEGER NOT NULL,
                 grams        INTEGER,
                 amount_minor INTEGER NOT NULL,
                 tax_minor    INTEGER NOT NULL,
                 PRIMARY KEY (receipt_no, line_no)
             ) STRICT, WITHOUT ROWID;
             CREATE INDEX sale_line_by_sku ON sale_line (sku);
             CREATE TABLE sale_tender (
                 receipt_no   TEXT NOT NULL REFERENCES sale(receipt_no),
                 idx          INTEGER NOT NULL,
                 kind         TEXT NOT NULL,
                 amount_minor INTEGER NOT NULL,
                 PRIMARY KEY (receipt_no, idx)
             ) STRICT, WITHOUT ROWID;
             -- Units returned so far, per original sale line.
             CREATE TABLE sale_returned (
                 receipt_no TEXT NOT NULL REFERENCES sale(receipt_no),
                 line_no    INTEGER NOT NULL,
                 units      INTEGER NOT NULL CHECK (units >= 0),
                 PRIMARY KEY (receipt_no, line_no)
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE promotion_usage (
                 promotion_id TEXT NOT NULL,
                 customer_id  TEXT NOT NULL DEFAULT '',
                 uses         INTEGER NOT NULL,
                 PRIMARY KEY (promotion_id, customer_id)
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE event_log (
                 seq        INTEGER PRIMARY KEY AUTOINCREMENT,
                 type       TEXT NOT NULL,
                 version    INTEGER NOT NULL,
                 at_ms      INTEGER NOT NULL,
                 payload    TEXT NOT NULL
             ) STRICT;",
        ),
        // Stored value (gift cards, store credit): accounts and their append-only entries. The
        // balance is the sum of the entries, kept by a trigger (and never negative); the
        // status follows the freeze / unfreeze / close entries. Exchanges link their refund and
        // sale receipts to each other.
        3 => conn.execute_batch(
            "CREATE TABLE stored_value_account (
                 kind          TEXT NOT NULL CHECK (kind IN ('gift_card', 'store_credit')),
                 id            TEXT NOT NULL,
                 currency      TEXT NOT NULL,
                 balance_minor INTEGER NOT NULL DEFAULT 0 CHECK (balance_minor >= 0),
                 status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
                 expires_at_ms INTEGER,
                 created_ms    INTEGER NOT NULL,
                 PRIMARY KEY (kind, id)
             ) STRICT, WITHOUT ROWID;
             -- amount_minor: signed (credits > 0, redemptions < 0, status changes 0);
             -- balance_minor: the account's balance after this entry.
             CREATE TABLE stored_value_entry (
                 seq           INTEGER PRIMARY KEY AUTOINCREMENT,
                 kind          TEXT NOT NULL,
                 account_id    TEXT NOT NULL,
                 type          TEXT NOT NULL CHECK (type IN
                                   ('issue', 'load', 'redeem', 'refund', 'adjust', 'freeze', 'unfreeze', 'close')),
                 amount_minor  INTEGER NOT NULL,
                 balance_minor INTEGER NOT NULL CHECK (balance_minor >= 0),
                 at_ms         INTEGER NOT NULL,
                 receipt_no    TEXT,
                 reason        TEXT,
                 FOREIGN KEY (kind, account_id) REFERENCES stored_value_account (kind, id),
                 CHECK (CASE type
                     WHEN 'redeem' THEN amount_minor < 0
                     WHEN 'adjust' THEN amount_minor <> 0
                     WHEN 'freeze' THEN amount_minor = 0
                     WHEN 'unfreeze' THEN amount_minor = 0
                     WHEN 'close' THEN amount_minor = 0
                     ELSE amount_minor > 0 END)
             ) STRICT;
             CREATE INDEX stored_value_entry_by_account ON stored_value_entry (kind, account_id, seq);
             CREATE INDEX stored_value_entry_by_receipt ON stored_value_entry (receipt_no)
                 WHERE receipt_no IS NOT NULL;
             CREATE TRIGGER stored_value_entry_applied AFTER INSERT ON stored_value_entry BEGIN
                 UPDATE stored_value_account
                    SET balance_minor = balance_minor + NEW.amount_minor,
                        status = CASE NEW.type WHEN 'freeze' THEN 'frozen' WHEN 'unfreeze' THEN 'active'
                                               WHEN 'close' THEN 'closed' ELSE status END
                  WHERE kind = NEW.kind AND id = NEW.account_id;
                 SELECT RAISE(ABORT, 'stored_value_entry: balance_minor is not the sum of the entries')
                  WHERE NEW.balance_minor <> (SELECT balance_minor FROM stored_value_account
                                              WHERE kind = NEW.kind AND id = NEW.account_id);
             END;
             CREATE TRIGGER stored_value_entry_no_update BEFORE UPDATE ON stored_value_entry BEGIN
                 SELECT RAISE(ABORT, 'stored_value_entry is append-only'); END;
             CREATE TRIGGER stored_value_entry_no_delete BEFORE DELETE ON stored_value_entry BEGIN
                 SELECT RAISE(ABORT, 'stored_value_entry is append-only'); END;
             ALTER TABLE sale ADD COLUMN exchange_with TEXT REFERENCES sale(receipt_no);",
        ),
        // Store-and-forward: named streams of records, their exporters and how far each has
        // acknowledged, and the receiving side's per-(store, device, stream) high-water marks.
        // `bytes`/`records` are kept exact in the same transactions that insert and delete.
        4 => conn.execute_batch(
            "CREATE TABLE fwd_stream (
                 name            TEXT PRIMARY KEY,
                 config          TEXT NOT NULL,              -- JSON StreamConfig
                 next_seq        INTEGER NOT NULL DEFAULT 1,
                 bytes           INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
                 records         INTEGER NOT NULL DEFAULT 0 CHECK (records >= 0),
                 dropped_full    INTEGER NOT NULL DEFAULT 0,
                 dropped_expired INTEGER NOT NULL DEFAULT 0,
                 rejected_full   INTEGER NOT NULL DEFAULT 0,
                 created_ms      INTEGER NOT NULL
             ) STRICT;
             CREATE TABLE fwd_record (
                 stream  TEXT NOT NULL,
                 seq     INTEGER NOT NULL,
                 at_ms   INTEGER NOT NULL,
                 payload BLOB NOT NULL,
                 crc     INTEGER NOT NULL,          -- CRC-32 of payload: SQLite pages have no checksum
                 PRIMARY KEY (stream, seq)
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE fwd_exporter (
                 stream            TEXT NOT NULL REFERENCES fwd_stream(name) ON DELETE CASCADE,
                 name              TEXT NOT NULL,
                 config            TEXT NOT NULL,            -- JSON ExporterConfig
                 acked_seq         INTEGER NOT NULL,         -- every record <= this is delivered
                 last_ack_ms       INTEGER,
                 last_error        TEXT,
                 last_error_ms     INTEGER,
                 delivered_records INTEGER NOT NULL DEFAULT 0,
                 delivered_bytes   INTEGER NOT NULL DEFAULT 0,
                 dead_lettered     INTEGER NOT NULL DEFAULT 0,
                 PRIMARY KEY (stream, name)
             ) STRICT;
             CREATE TABLE fwd_ingest (
                 store       TEXT NOT NULL,
                 device      TEXT NOT NULL,
                 stream      TEXT NOT NULL,
                 high_seq    INTEGER NOT NULL,               -- highest seq applied
                 records     INTEGER NOT NULL DEFAULT 0,
                 duplicates  INTEGER NOT NULL DEFAULT 0,
                 updated_ms  INTEGER NOT NULL,
                 PRIMARY KEY (store, device, stream)
             ) STRICT, WITHOUT ROWID;",
        ),
        // Sync (CRDT replication): this device's identity and clock, the device registry, the
        // replicated state as CRDT slots beside the domain tables (a slot is one LWW field, one
        // causal length, one PN-counter slot or one stocktake, each with its (hlc, site) stamp),
        // the version vectors (ours and what peers reported, for causal stability), the replay
        // window and the chunked batches still being received.
        5 => conn.execute_batch(
            "CREATE TABLE sync_identity (
                 id         INTEGER PRIMARY KEY CHECK (id = 1),
                 site       INTEGER NOT NULL,
                 secret_key BLOB NOT NULL,
                 public_key BLOB NOT NULL,
                 last_hlc   INTEGER NOT NULL DEFAULT 0
             ) STRICT;
             CREATE TABLE sync_device (
                 public_key  BLOB PRIMARY KEY,
                 site        INTEGER NOT NULL UNIQUE,
                 store_id    TEXT NOT NULL,
                 device_id   TEXT NOT NULL,
                 role        TEXT NOT NULL CHECK (role IN ('store', 'hq')),
                 delegated   TEXT NOT NULL DEFAULT '[]',   -- JSON array of extra writable scopes
                 enrolled_ms INTEGER NOT NULL
             ) STRICT;
             -- kind: 0 field (LWW), 1 causal length, 2 PN-counter slot (owner = counting site),
             -- 3 stocktake. Key of a slot: (scope, collection, key, sub, kind, owner).
             CREATE TABLE sync_slot (
                 collection TEXT NOT NULL,
                 key        TEXT NOT NULL,
                 sub        TEXT NOT NULL,
                 kind       INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 3),
                 owner      INTEGER NOT NULL,
                 scope      TEXT NOT NULL,
                 value      BLOB NOT NULL,
                 hlc        INTEGER NOT NULL,
                 site       INTEGER NOT NULL,
                 PRIMARY KEY (scope, collection, key, sub, kind, owner)
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE sync_vector (
                 scope TEXT NOT NULL,
                 site  INTEGER NOT NULL,
                 hlc   INTEGER NOT NULL,
                 PRIMARY KEY (scope, site)
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE sync_peer_vector (
                 peer  INTEGER NOT NULL,
                 scope TEXT NOT NULL,
                 site  INTEGER NOT NULL,
                 hlc   INTEGER NOT NULL,
                 PRIMARY KEY (peer, scope, site)
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE sync_seen (
                 sender INTEGER NOT NULL,
                 msg    INTEGER NOT NULL,
                 PRIMARY KEY (sender, msg)
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE sync_batch (
                 sender   INTEGER NOT NULL,
                 batch    INTEGER NOT NULL,
                 total    INTEGER NOT NULL,
                 received BLOB NOT NULL,
                 PRIMARY KEY (sender, batch)
             ) STRICT, WITHOUT ROWID;",
        ),
        // v7: HQ's signed sync chunks a store device keeps to hand on, verbatim, to the other
        // devices of its store over the LAN (they verify HQ's signature themselves).
        6 => conn.execute_batch(
            "CREATE TABLE sync_relay (
                 sender  INTEGER NOT NULL,
                 msg     INTEGER NOT NULL,
                 batch   INTEGER NOT NULL,
                 message BLOB NOT NULL,
                 PRIMARY KEY (sender, msg)
             ) STRICT;",
        ),
        _ => Ok(()),
    }
}
