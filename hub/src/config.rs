//! What a hub instance is told at start: where to listen, which database, secrets and limits.
//! Every instance of a fleet gets the same settings; none of them is state.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How one hub instance runs.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Address to listen on; port 0 picks a free one (see [`crate::RunningHub::addr`]).
    pub listen: SocketAddr,
    /// `postgres://user@host:port/db` (the fleet) or `sqlite:path` (one machine).
    pub database: String,
    /// Bearer token for `/v1/admin/*` (the sync side's enrolment). None: admin routes refuse.
    pub admin_token: Option<String>,
    /// Bearer token a store's exporter must send to `/v1/ingest` (its `headers` setting).
    /// None: ingest is open (a private network, or TLS client auth at the load balancer).
    pub ingest_token: Option<String>,
    /// TLS with rustls from PEM files; None: plain HTTP (behind a TLS-terminating balancer).
    pub tls: Option<TlsFiles>,
    pub limits: Limits,
    /// Connections in the PostgreSQL pool of this instance.
    pub pool_size: u32,
    /// Tokio worker threads; None: one per core.
    pub worker_threads: Option<usize>,
    /// How long a graceful shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// Take the client address for the per-IP limit from `X-Forwarded-For` (only behind a
    /// balancer that sets it; otherwise a client could pick its own bucket).
    pub trust_forwarded_for: bool,
}

/// PEM files: the certificate chain and its private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

/// Request limits. A rate of 0 turns that limit off.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body as sent (compressed); larger is 413.
    pub max_body_bytes: usize,
    /// Largest ingest body after decompression; larger is 413.
    pub max_decompressed_bytes: usize,
    /// Requests per second per device (store/device of the batch), and the burst.
    pub device_rate: f64,
    pub device_burst: f64,
    /// Requests per second per client IP, and the burst.
    pub ip_rate: f64,
    pub ip_burst: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 8 << 20,
            max_decompressed_bytes: 64 << 20,
            device_rate: 20.0,
            device_burst: 100.0,
            ip_rate: 500.0,
            ip_burst: 1000.0,
        }
    }
}

impl HubConfig {
    /// Defaults for `database`: loopback, a free port, no TLS, default limits.
    pub fn new(database: impl Into<String>) -> HubConfig {
        HubConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: database.into(),
            admin_token: None,
            ingest_token: None,
            tls: None,
            limits: Limits::default(),
            pool_size: 8,
            worker_threads: None,
            shutdown_grace: Duration::from_secs(30),
            trust_forwarded_for: false,
        }
    }
}
