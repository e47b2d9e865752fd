//! The sync side's tables (schema step 2): the HQ replica's state in the hub database, the
//! same shape on PostgreSQL and SQLite. A slot row is one LWW field, causal length, per-site
//! counter share or stocktake of the core's model; `seq` is the global change sequence it was
//! last changed at (push channel, lag metrics).

pub const STEP: &str = r#"
CREATE TABLE hub_sync_slot (
    scope text NOT NULL, collection text NOT NULL, key text NOT NULL, sub text NOT NULL,
    kind bigint NOT NULL, owner bigint NOT NULL,
    value {bytes} NOT NULL, hlc bigint NOT NULL, site bigint NOT NULL, seq bigint NOT NULL,
    PRIMARY KEY (scope, collection, key, sub, kind, owner)
);
CREATE INDEX hub_sync_slot_scope_site ON hub_sync_slot (scope, site, hlc);
CREATE INDEX hub_sync_slot_seq ON hub_sync_slot (seq);
CREATE TABLE hub_sync_vector (
    scope text NOT NULL, site bigint NOT NULL, hlc bigint NOT NULL,
    PRIMARY KEY (scope, site)
);
CREATE TABLE hub_sync_peer_vector (
    peer bigint NOT NULL, scope text NOT NULL, site bigint NOT NULL, hlc bigint NOT NULL,
    PRIMARY KEY (peer, scope, site)
);
CREATE TABLE hub_sync_seen (
    sender bigint NOT NULL, msg bigint NOT NULL,
    PRIMARY KEY (sender, msg)
);
CREATE TABLE hub_sync_batch (
    sender bigint NOT NULL, batch bigint NOT NULL, total bigint NOT NULL, received text NOT NULL,
    PRIMARY KEY (sender, batch)
);
CREATE TABLE hub_sync_device (
    public_key {bytes} PRIMARY KEY, store_id text NOT NULL, device_id text NOT NULL,
    role text NOT NULL, delegated text NOT NULL, enrolled_ms bigint NOT NULL
);
CREATE TABLE hub_sync_identity (
    id bigint PRIMARY KEY CHECK (id = 1), secret {bytes} NOT NULL, last_hlc bigint NOT NULL
);
CREATE TABLE hub_sync_change (
    id bigint PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL
);
INSERT INTO hub_sync_change (id, seq) VALUES (1, 0);
"#;

/// Schema step 3: what operations metrics and per-instance caches need.
///
/// - `hub_sync_store_state`: per enrolled device, the newest change sequence it was delivered
///   in an exchange answer and when (database clock): lag and last-sync age per store.
/// - `hub_sync_change_log`: when each change sequence was committed (database clock), for the
///   propagation histogram (publish → delivery). Pruned to a week.
/// - `hub_sync_change.devices` / `.vector`: generations bumped whenever a device is enrolled or
///   the hub's version vector is raised, so an instance may keep the device registry and the
///   vector in memory between requests and knows, from its snapshot, when they are stale.
/// - `(scope, seq)`: counting what a store lacks since its delivered sequence (lag).
pub const STEP_3: &str = r#"
CREATE TABLE hub_sync_store_state (
    public_key {bytes} PRIMARY KEY, delivered_seq bigint NOT NULL, exchanged_ms bigint NOT NULL
);
CREATE TABLE hub_sync_change_log (
    seq bigint PRIMARY KEY, committed_ms bigint NOT NULL
);
ALTER TABLE hub_sync_change ADD COLUMN devices bigint NOT NULL DEFAULT 0;
ALTER TABLE hub_sync_change ADD COLUMN vector bigint NOT NULL DEFAULT 0;
CREATE INDEX hub_sync_slot_scope_seq ON hub_sync_slot (scope, seq);
"#;
