//! The HTTP service: router, middleware (metrics, per-IP limit, logs), and the running instance
//! with its graceful shutdown. Each [`RunningHub`] owns its tokio runtime, so a test can run
//! several instances in one process and kill one of them outright ([`RunningHub::abort`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::config::{HubConfig, TlsFiles};
use crate::error::{HubError, Result};
use crate::limit::RateLimiter;
use crate::metrics::Metrics;
use crate::store::{self, Backend};

/// What every request handler shares (the sync side too).
pub struct HubState {
    pub config: HubConfig,
    pub backend: Arc<dyn Backend>,
    pub metrics: Metrics,
    pub device_limit: RateLimiter,
    pub ip_limit: RateLimiter,
    /// The sync side: the HQ replica and the change feed (`crate::sync`).
    pub sync: crate::sync::SyncState,
}

impl HubState {
    /// Checks `Authorization: Bearer <expected>`; `None` expected: open.
    pub fn check_bearer(&self, headers: &HeaderMap, expected: Option<&str>) -> Result<()> {
        let Some(expected) = expected else {
            return Ok(());
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Constant time in the token's length: no early exit on the first differing byte.
        let same = given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(HubError::Unauthorized)
        }
    }
}

pub struct Hub;

impl Hub {
    /// Opens the database (creating or upgrading its schema), binds the listener and serves on
    /// a runtime of its own. Returns once the address accepts connections.
    pub fn start(config: HubConfig) -> Result<RunningHub> {
        let mut rt = tokio::runtime::Builder::new_multi_thread();
        rt.enable_all().thread_name("aisle-hub");
        if let Some(n) = config.worker_threads {
            rt.worker_threads(n.max(1));
        }
        let rt = rt
            .build()
            .map_err(|e| HubError::Internal(format!("runtime: {e}")))?;
        let backend = store::open(&config.database, config.pool_size)?;
        let sync = crate::sync::SyncState::start(&backend, &config.database, config.pool_size)?;
        let limits = &config.limits;
        let state = Arc::new(HubState {
            device_limit: RateLimiter::new(limits.device_rate, limits.device_burst),
            ip_limit: RateLimiter::new(limits.ip_rate, limits.ip_burst),
            backend,
            sync,
            metrics: Metrics::default(),
            config: config.clone(),
        });
        let app = router(state.clone());
        let listener = std::net::TcpListener::bind(config.listen)
            .map_err(|e| HubError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| HubError::Internal(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HubError::Internal(e.to_string()))?;
        let handle = axum_server::Handle::new();
        let tls = match &config.tls {
            Some(files) => Some(tls_config(files)?),
            None => None,
        };
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let h = handle.clone();
        let task = rt.spawn(async move {
            let served = match tls {
                None => {
                    axum_server::from_tcp(listener)
                        .handle(h)
                        .serve(service)
                        .await
                }
                Some(tls) => {
                    axum_server::from_tcp_rustls(listener, tls)
                        .handle(h)
                        .serve(service)
                        .await
                }
            };
            if let Err(e) = served {
                tracing::error!(error = %e, "server stopped");
            }
        });
        rt.block_on(handle.listening());
        tracing::info!(%addr, database = state.backend.kind(), tls = config.tls.is_some(), "hub listening");
        Ok(RunningHub {
            rt: Some(rt),
            handle,
            task: Some(task),
            addr,
            state,
        })
    }
}

fn tls_config(files: &TlsFiles) -> Result<axum_server::tls_rustls::RustlsConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, e: &dyn std::fmt::Display| HubError::Config(format!("TLS {what}: {e}"));
    let certs = CertificateDer::pem_file_iter(&files.cert_pem)
        .map_err(|e| bad(&files.cert_pem.display().to_string(), &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(&files.cert_pem.display().to_string(), &e))?;
    let key = PrivateKeyDer::from_pem_file(&files.key_pem)
        .map_err(|e| bad(&files.key_pem.display().to_string(), &e))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad("protocol versions", &e))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| bad("certificate/key", &e))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(cfg),
    ))
}

/// Every route of the hub: health, metrics, ingest, and the sync side's.
pub fn router(state: Arc<HubState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/ingest", post(crate::ingest::ingest))
        .merge(crate::sync::routes())
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<HubState>>) -> Response {
    let backend = state.backend.clone();
    match tokio::task::spawn_blocking(move || backend.ready()).await {
        Ok(Ok(())) => Json(serde_json::json!({ "ready": true, "database": state.backend.kind() }))
            .into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => HubError::Internal(e.to_string()).into_response(),
    }
}

/// The instance's counters and histograms, and the fleet's gauges read from the database (two
/// statements; if the database does not answer, the instance's own metrics are still served).
async fn metrics(State(state): State<Arc<HubState>>) -> Response {
    let backend = state.backend.clone();
    let fleet = match tokio::task::spawn_blocking(move || crate::sync::fleet_status(backend.as_ref())).await {
        Ok(Ok(f)) => Some(f),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the fleet's gauges are left out");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the fleet's gauges are left out");
            None
        }
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(fleet.as_ref()),
    )
        .into_response()
}

fn client_ip(state: &HubState, req: &Request) -> Option<IpAddr> {
    if state.config.trust_forwarded_for {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Per-IP limit (probes and metrics exempt), request metrics and one log line per request.
async fn observe(State(state): State<Arc<HubState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let probe = matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics");
    let ip = client_ip(&state, &req);
    let resp = match ip {
        Some(ip) if !probe => match state.ip_limit.check(&ip.to_string()) {
            Ok(()) => next.run(req).await,
            Err(retry_after_s) => {
                state.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
                HubError::RateLimited {
                    what: format!("client {ip}"),
                    retry_after_s,
                }
                .into_response()
            }
        },
        _ => next.run(req).await,
    };
    let took = started.elapsed();
    state.metrics.observe(&route, resp.status().as_u16(), took);
    if !probe {
        tracing::info!(route, status = resp.status().as_u16(), ms = took.as_secs_f64() * 1000.0, client = ?ip, "request");
    }
    resp
}

/// A serving hub instance.
pub struct RunningHub {
    rt: Option<tokio::runtime::Runtime>,
    handle: axum_server::Handle,
    task: Option<tokio::task::JoinHandle<()>>,
    addr: SocketAddr,
    state: Arc<HubState>,
}

impl RunningHub {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr` (or `https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.state.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    pub fn state(&self) -> &Arc<HubState> {
        &self.state
    }

    /// Graceful: stop accepting, let in-flight requests finish (up to `shutdown_grace`), close
    /// idle connections, then stop.
    pub fn shutdown(mut self) {
        let grace = self.state.config.shutdown_grace;
        self.handle.graceful_shutdown(Some(grace));
        if let (Some(rt), Some(task)) = (self.rt.take(), self.task.take()) {
            let _ = rt.block_on(task);
            rt.shutdown_timeout(grace);
        }
        tracing::info!(addr = %self.addr, "hub stopped");
    }

    /// Like a crash: connections are cut where they are, nothing is finished. (A blocking
    /// storage call already running still commits or rolls back on its own thread, exactly as
    /// when a process dies mid-request and PostgreSQL sees the connection drop.)
    pub fn abort(mut self) {
        self.handle.shutdown();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully (the binary's main loop).
    pub fn run_until_signal(self) {
        if let Some(rt) = &self.rt {
            rt.block_on(async {
                let ctrl_c = tokio::signal::ctrl_c();
                #[cfg(unix)]
                {
                    let mut term = match tokio::signal::unix::signal(
                        tokio::signal::unix::SignalKind::terminate(),
                    ) {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot watch SIGTERM");
                            let _ = ctrl_c.await;
                            return;
                        }
                    };
                    tokio::select! {
                        _ = ctrl_c => tracing::info!("SIGINT: shutting down"),
                        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = ctrl_c.await;
                }
            });
        }
        self.shutdown();
    }
}

impl Drop for RunningHub {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            self.handle.shutdown();
            rt.shutdown_background();
        }
    }
}
