//! HTTP(S) client of a sync hub (ureq with rustls, one kept-alive agent per link).

use std::io::Read;
use std::time::Duration;

use serde::Deserialize;
use ureq::Agent;
use ureq::tls::{RootCerts, TlsConfig};

use crate::error::{Error, Result};
use crate::sync::{MAX_BODY, PushReport, SYNC_CONTENT_TYPE, SyncLink};

/// Where a hub is and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSyncConfig {
    /// Base URL (`https://hq.example/`): the link posts to `<url>/v1/sync/exchange` and
    /// `<url>/v1/sync/push`.
    pub url: String,
    /// Extra headers (e.g. `Authorization` for a gateway in front of the hub).
    pub headers: Vec<(String, String)>,
    /// PEM certificates of a private CA: the hub is then trusted by this CA alone.
    pub ca_pem: Option<String>,
    /// Budget of one request, connect included.
    pub timeout_ms: u64,
}

impl HttpSyncConfig {
    pub fn new(url: impl Into<String>) -> HttpSyncConfig {
        HttpSyncConfig { url: url.into(), headers: Vec::new(), ca_pem: None, timeout_ms: 30_000 }
    }
}

/// A [`SyncLink`] to a hub over HTTP(S).
pub struct HttpSyncLink {
    agent: Agent,
    base: String,
    headers: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct Refusal {
    code: String,
    message: String,
}

impl HttpSyncLink {
    pub fn new(config: &HttpSyncConfig) -> Result<HttpSyncLink> {
        let invalid = |m: String| Error::InvalidArgument(format!("sync over HTTP: {m}"));
        let uri: ureq::http::Uri = config.url.parse().map_err(|e| invalid(format!("bad url {:?}: {e}", config.url)))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(invalid(format!("url {:?} must start with http:// or https://", config.url)));
        }
        if config.timeout_ms == 0 {
            return Err(invalid("timeout_ms must be > 0".into()));
        }
        for (k, v) in &config.headers {
            ureq::http::HeaderName::try_from(k.as_str()).map_err(|e| invalid(format!("header name {k:?}: {e}")))?;
            ureq::http::HeaderValue::try_from(v.as_str()).map_err(|e| invalid(format!("value of header {k:?}: {e}")))?;
        }
        let mut builder = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
            .user_agent(concat!("aisle/", env!("CARGO_PKG_VERSION")))
            .max_idle_age(Duration::from_secs(4));
        if let Some(pem) = &config.ca_pem {
            let certs = crate::forward::sinks::http::parse_certificates(pem).map_err(|e| invalid(format!("ca_pem: {e}")))?;
            builder = builder.tls_config(TlsConfig::builder().root_certs(RootCerts::new_with_certs(&certs)).build());
        }
        Ok(HttpSyncLink {
            agent: builder.build().new_agent(),
            base: config.url.trim_end_matches('/').to_owned(),
            headers: config.headers.clone(),
        })
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let unreachable = |detail: String| Error::SyncUnreachable { peer: url.clone(), detail };
        let mut request = self.agent.post(&url).header("Content-Type", SYNC_CONTENT_TYPE);
        for (k, v) in &self.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let response = request.send(body).map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_BODY as u64 * 2)
            .read_to_end(&mut bytes)
            .map_err(|e| unreachable(format!("reading the answer: {e}")))?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        match serde_json::from_slice::<Refusal>(&bytes) {
            Ok(r) => Err(Error::SyncPeerRefused { peer: url, code: r.code, message: r.message }),
            Err(_) => Err(unreachable(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).trim()
            ))),
        }
    }
}

impl SyncLink for HttpSyncLink {
    fn peer(&self) -> String {
        self.base.clone()
    }

    fn exchange(&mut self, request: &[u8]) -> Result<Vec<u8>> {
        self.post("/v1/sync/exchange", request)
    }

    fn push(&mut self, chunks: &[u8]) -> Result<PushReport> {
        let body = self.post("/v1/sync/push", chunks)?;
        serde_json::from_slice(&body).map_err(|e| Error::SyncUnreachable {
            peer: self.base.clone(),
            detail: format!("push answer is not a push report: {e}"),
        })
    }
}
