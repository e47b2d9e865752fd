//! Sync transports: the sockets around sync's bytes.
//!
//! - [`HttpSyncLink`]: a store device's client of a hub over HTTP(S) (`POST /v1/sync/exchange`,
//!   `POST /v1/sync/push`; the server side is [`crate::sync::Replication::handle_http`], which
//!   any HTTP server in any binding can call).
//! - [`LanServer`] / [`LanLink`]: peer sync between the devices of one store over TCP, to a
//!   configured address, so a price change reaches every register without the cloud.
//! - [`Syncer`]: a worker thread that runs a round with each configured peer every interval,
//!   with backoff and jitter after a failure, and a status to show.
//! - [`HubWatch`]: listens to a hub's push channel (server-sent events) and wakes the syncer
//!   when HQ publishes, so a change arrives in about a round trip instead of an interval.
//!
//! Owns connections, framing on the socket, timeouts and retries. Must never interpret a sync
//! message: everything inside the bodies is checked by `sync` (signature, device, scope).

mod events;
mod http;
mod lan;
mod syncer;

pub use events::HubWatch;
pub use http::{HttpSyncConfig, HttpSyncLink};
pub use lan::{LanLink, LanServer};
pub use syncer::{PeerStatus, Syncer, SyncerConfig, SyncerWaker};
