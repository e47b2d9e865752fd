//! HTTP(S) sink: one `POST` per batch to an ingest endpoint, with the batch's idempotency key
//! in `Idempotency-Key`, over one kept-alive [`ureq::Agent`] per exporter (rustls for TLS).
//!
//! Owns the mapping from what the endpoint or the network did to an [`Outcome`]:
//! - 2xx → `Delivered` (the status line is the receiver's answer; a response body cut short
//!   after it does not change that);
//! - 408, 429, 5xx → `Retry`, with the `Retry-After` of a 429/503 (seconds or HTTP-date, at
//!   most [`MAX_RETRY_AFTER`]) as the delay;
//! - any other 4xx → `Refused` with the status and the start of the body;
//! - 1xx/3xx (a redirect is never followed with a batch body) → `Retry`, so a misconfigured URL
//!   shows in the status instead of sending batches to the dead-letter stream;
//! - network failures → `Retry`. `link_down` is true when no connection could be made (name
//!   lookup failed, connection refused, host or network unreachable, connect timeout): then
//!   the worker's TCP probe tells when to try again, and it fails exactly while sending
//!   would. A timeout waiting for the answer is `link_down: false`: the endpoint took the
//!   connection, it is slow, and a probe would succeed at once and hammer it, so it gets the
//!   exponential backoff. For a connection reset or closed early, the sink probes once
//!   itself: an endpoint that still takes connections is unwell (backoff), one that does not
//!   is down (probe until it is back).
//!
//! Never retries, never follows redirects, never decides to drop a batch.

use std::io::Read;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use ureq::Agent;
use ureq::http::{Response, StatusCode};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::{Outcome, Sink};
use crate::error::{Error, Result};
use crate::forward::config::{BatchFormat, HttpSink};
use crate::forward::wire::{self, Batch};

/// The longest `Retry-After` honoured: a receiver asking for more is retried after this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// How long `probe()` waits for a TCP connection.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How much of an error response is read (and kept: [`ERROR_BODY_BYTES`]).
const ERROR_BODY_BYTES: u64 = 200;
/// A 2xx body is read (up to this) only so the connection can be reused.
const OK_BODY_BYTES: u64 = 64 << 10;

pub(crate) struct HttpSender {
    agent: Agent,
    url: String,
    /// `host:port` of the URL, for the probe.
    authority: String,
    format: BatchFormat,
    compression: crate::forward::config::Compression,
    headers: Vec<(String, String)>,
}

impl HttpSender {
    pub(crate) fn new(config: &HttpSink) -> Result<HttpSender> {
        let invalid = |m: String| Error::InvalidArgument(format!("HTTP exporter: {m}"));
        let uri: ureq::http::Uri = config.url.parse().map_err(|e| invalid(format!("bad url {:?}: {e}", config.url)))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(invalid(format!("url {:?} must start with http:// or https://", config.url))),
        };
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| invalid(format!("url {:?} has no host", config.url)))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = if host.contains(':') && !host.starts_with('[') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        if config.timeout_ms == 0 {
            return Err(invalid("timeout_ms must be > 0".into()));
        }
        for (k, v) in &config.headers {
            ureq::http::HeaderName::try_from(k.as_str()).map_err(|e| invalid(format!("header name {k:?}: {e}")))?;
            ureq::http::HeaderValue::try_from(v.as_str()).map_err(|e| invalid(format!("value of header {k:?}: {e}")))?;
        }

        let timeout = Duration::from_millis(config.timeout_ms);
        // Connecting (name lookup included) gets three quarters of the budget, so a link that
        // swallows SYNs is reported as a connect timeout (link down), not as a slow endpoint.
        let connect = Duration::from_millis((config.timeout_ms * 3 / 4).max(1));
        let mut builder = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(timeout))
            .timeout_resolve(Some(connect))
            .timeout_connect(Some(connect))
            .user_agent(concat!("aisle/", env!("CARGO_PKG_VERSION")))
            // Idle connections older than this are not reused (Node's HTTP server closes them
            // after 5 s; a reused half-closed connection would cost a failed batch).
            .max_idle_age(Duration::from_secs(4));
        if let Some(pem) = &config.ca_pem {
            let certs = parse_certificates(pem).map_err(|e| invalid(format!("ca_pem: {e}")))?;
            // The endpoint is then trusted by this CA alone (a private CA pins the endpoint).
            builder = builder.tls_config(TlsConfig::builder().root_certs(RootCerts::new_with_certs(&certs)).build());
        }
        Ok(HttpSender {
            agent: builder.build().new_agent(),
            url: config.url.clone(),
            authority,
            format: config.format,
            compression: config.compression,
            headers: config.headers.clone(),
        })
    }
}

pub(crate) fn parse_certificates(pem: &str) -> std::result::Result<Vec<Certificate<'static>>, String> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem.as_bytes()) {
        match item.map_err(|e| e.to_string())? {
            PemItem::Certificate(c) => certs.push(c),
            _ => return Err("holds something other than certificates".into()),
        }
    }
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

impl Sink for HttpSender {
    fn send(&mut self, batch: &Batch) -> Outcome {
        let (body, encoding) = match wire::compress(batch.encode(self.format), self.compression) {
            Ok(b) => b,
            Err(e) => return retry(e.to_string(), None, false),
        };
        let content_type = match self.format {
            BatchFormat::Json => "application/json",
            BatchFormat::Ndjson => "application/x-ndjson",
        };
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", content_type)
            .header("Idempotency-Key", batch.idempotency_key());
        if let Some(enc) = encoding {
            request = request.header("Content-Encoding", enc);
        }
        for (k, v) in &self.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        match request.send(&body[..]) {
            Ok(response) => classify_response(response, &self.url),
            Err(e) => {
                let authority = &self.authority;
                classify_error(e, &self.url, || probe(authority))
            }
        }
    }

    fn probe(&mut self) -> bool {
        probe(&self.authority)
    }
}

/// Whether `host:port` accepts a TCP connection within [`PROBE_TIMEOUT`] (per address).
pub(crate) fn probe(authority: &str) -> bool {
    let Ok(addrs) = authority.to_socket_addrs() else { return false };
    addrs.collect::<Vec<SocketAddr>>().iter().any(|a| TcpStream::connect_timeout(a, PROBE_TIMEOUT).is_ok())
}

fn retry(error: String, after: Option<Duration>, link_down: bool) -> Outcome {
    Outcome::Retry { error, after, link_down }
}

fn classify_response(mut response: Response<ureq::Body>, url: &str) -> Outcome {
    let status = response.status();
    let code = status.as_u16();
    if status.is_success() {
        // Drain a little so the connection can be reused; what the body says (or whether it
        // arrives whole) does not matter once the status said the batch was taken.
        let _ = std::io::copy(&mut response.body_mut().as_reader().take(OK_BODY_BYTES), &mut std::io::sink());
        return Outcome::Delivered;
    }
    let after = match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, jiff::Timestamp::now())),
        _ => None,
    };
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut head = Vec::new();
    let _ = response.body_mut().as_reader().take(ERROR_BODY_BYTES).read_to_end(&mut head);
    let text = String::from_utf8_lossy(&head);
    let text = text.trim();
    let detail = if text.is_empty() { String::new() } else { format!(": {text}") };
    match code {
        408 | 429 | 500..=599 => retry(format!("HTTP {code} from {url}{detail}"), after, false),
        400..=499 => Outcome::Refused { error: format!("HTTP {code} from {url}{detail}") },
        300..=399 => retry(
            format!("HTTP {code} from {url}: redirects are not followed with a batch (Location: {})", location.as_deref().unwrap_or("none")),
            None,
            false,
        ),
        _ => retry(format!("HTTP {code} from {url}: unexpected status{detail}"), None, false),
    }
}

fn classify_error(error: ureq::Error, url: &str, probe: impl FnOnce() -> bool) -> Outcome {
    use std::io::ErrorKind as K;
    use ureq::{Error as E, Timeout as T};
    let cannot_connect = match &error {
        E::HostNotFound | E::ConnectionFailed | E::Timeout(T::Resolve | T::Connect) => Some(true),
        E::Timeout(_) => Some(false),
        E::Io(io) => match io.kind() {
            K::ConnectionRefused | K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown | K::AddrNotAvailable => Some(true),
            // A reset, an early close, a failed name lookup (an uncategorised io error): ask
            // whether the endpoint still takes connections.
            _ => None,
        },
        // TLS, protocol: the endpoint answered, wrongly.
        _ => Some(false),
    };
    let link_down = cannot_connect.unwrap_or_else(|| !probe());
    let what = match &error {
        E::Timeout(T::Resolve | T::Connect) => "timed out connecting".to_owned(),
        E::Timeout(_) => "timed out waiting for the answer".to_owned(),
        E::HostNotFound => "host not found".to_owned(),
        E::Io(io) => format!("{} ({:?})", io, io.kind()),
        other => other.to_string(),
    };
    retry(format!("POST {url}: {what}"), None, link_down)
}

/// `Retry-After` as a delay from `now`: delta-seconds or an HTTP-date, capped at
/// [`MAX_RETRY_AFTER`]; a date in the past is "now". `None` if it is neither.
pub(crate) fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is RFC 2822 with the zone GMT.
    let at = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    let ms = at.as_millisecond().saturating_sub(now.as_millisecond()).max(0) as u64;
    Some(Duration::from_millis(ms).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
#[path = "../../../tests/support/mod.rs"]
pub(super) mod support;

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::support::{FaultServer, Reply, closed_port};
    use super::*;
    use crate::forward::config::{Compression, PayloadFormat};
    use crate::forward::wire::Record;

    fn batch(n: u64) -> Batch {
        Batch {
            store: "store-1".into(),
            device: "reg-1".into(),
            stream: "sales".into(),
            format: PayloadFormat::Json,
            records: (0..n)
                .map(|i| Record { seq: 41 + i, at_ms: 1_700_000_000_000 + i as i64, payload: format!("{{\"n\":{i}}}").into_bytes() })
                .collect(),
        }
    }

    fn sink_config(url: &str) -> HttpSink {
        HttpSink {
            url: url.to_owned(),
            format: BatchFormat::Json,
            compression: Compression::None,
            headers: vec![("Authorization".into(), "Bearer t0ken".into())],
            timeout_ms: 2_000,
            ca_pem: None,
        }
    }

    fn retry_parts(o: Outcome) -> (String, Option<Duration>, bool) {
        match o {
            Outcome::Retry { error, after, link_down } => (error, after, link_down),
            other => panic!("expected Retry, got {other:?}"),
        }
    }

    #[test]
    fn delivers_each_format_and_compression_with_its_headers() {
        let server = FaultServer::start();
        let b = batch(3);
        for format in [BatchFormat::Json, BatchFormat::Ndjson] {
            for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
                let mut sink = HttpSender::new(&HttpSink { format, compression, ..sink_config(&server.url("/ingest")) }).unwrap();
                assert_eq!(sink.send(&b), Outcome::Delivered, "{format:?} {compression:?}");
                let req = server.next_request(Duration::from_secs(5)).expect("the server saw the request");
                assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/ingest"));
                assert!(req.complete);
                assert_eq!(req.header("idempotency-key"), Some("store-1/reg-1/sales/41-43"));
                assert_eq!(req.header("authorization"), Some("Bearer t0ken"));
                let ct = if format == BatchFormat::Json { "application/json" } else { "application/x-ndjson" };
                assert_eq!(req.header("content-type"), Some(ct));
                let encoding = req.header("content-encoding");
                let expected_encoding = match compression {
                    Compression::None => None,
                    Compression::Gzip => Some("gzip"),
                    Compression::Zstd => Some("zstd"),
                };
                assert_eq!(encoding, expected_encoding);
                let body = wire::decompress(&req.body, encoding, 1 << 20).unwrap();
                assert_eq!(body, b.encode(format));
                assert_eq!(Batch::decode(&body).unwrap(), b);
            }
        }
    }

    #[test]
    fn one_agent_reuses_its_connection() {
        let server = FaultServer::start();
        let mut sink = HttpSender::new(&sink_config(&server.url("/"))).unwrap();
        for _ in 0..3 {
            assert_eq!(sink.send(&batch(1)), Outcome::Delivered);
        }
        assert_eq!(server.connections(), 1, "three batches over one kept-alive connection");
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let server = FaultServer::start();
        let mut sink = HttpSender::new(&sink_config(&server.url("/in"))).unwrap();
        let b = batch(2);

        server.push(Reply::status(500));
        let (error, after, link_down) = retry_parts(sink.send(&b));
        assert!(error.contains("HTTP 500"), "{error}");
        assert_eq!((after, link_down), (None, false));

        server.push(Reply::status(503).header("Retry-After", "7"));
        assert_eq!(retry_parts(sink.send(&b)).1, Some(Duration::from_secs(7)));

        server.push(Reply::status(503));
        assert_eq!(retry_parts(sink.send(&b)).1, None, "503 without Retry-After: the worker's backoff");

        server.push(Reply::status(429).header("Retry-After", "3"));
        assert_eq!(retry_parts(sink.send(&b)).1, Some(Duration::from_secs(3)));

        server.push(Reply::status(429).header("Retry-After", "86400"));
        assert_eq!(retry_parts(sink.send(&b)).1, Some(MAX_RETRY_AFTER), "capped");

        let in_90s = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(90);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&in_90s).unwrap();
        server.push(Reply::status(429).header("Retry-After", &date));
        let after = retry_parts(sink.send(&b)).1.expect("an HTTP-date is honoured");
        assert!(after > Duration::from_secs(80) && after <= Duration::from_secs(90), "{after:?} for {date}");

        server.push(Reply::status(408));
        assert!(!retry_parts(sink.send(&b)).2);

        server.push(Reply::status(400).body(&format!("bad batch {}", "x".repeat(500))));
        match sink.send(&b) {
            Outcome::Refused { error } => {
                assert!(error.starts_with("HTTP 400 from"), "{error}");
                assert!(error.contains("bad batch xxx"), "{error}");
                assert!(error.len() < 300, "only the start of the body is kept: {} bytes", error.len());
            }
            other => panic!("expected Refused, got {other:?}"),
        }
        server.push(Reply::status(422));
        assert!(matches!(sink.send(&b), Outcome::Refused { .. }));

        server.push(Reply::status(308).header("Location", "http://elsewhere/"));
        let (error, _, link_down) = retry_parts(sink.send(&b));
        assert!(error.contains("redirects are not followed") && error.contains("elsewhere"), "{error}");
        assert!(!link_down);

        server.push(Reply::status(204));
        assert_eq!(sink.send(&b), Outcome::Delivered);
        // Every one of those requests carried the whole batch.
        let reqs = server.requests();
        assert_eq!(reqs.len(), 11);
        assert!(reqs.iter().all(|r| r.complete && Batch::decode(&r.body).unwrap() == b));
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(retry_after("99999999999999999999999", now), Some(MAX_RETRY_AFTER));
        let later = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&(now + jiff::SignedDuration::from_secs(30)))
            .unwrap();
        assert_eq!(retry_after(&later, now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn network_failures_retry_and_say_whether_the_link_is_down() {
        let b = batch(2);

        // Nobody listening: cannot connect → link down, and the probe agrees.
        let port = closed_port();
        let mut sink = HttpSender::new(&sink_config(&format!("http://127.0.0.1:{port}/in"))).unwrap();
        let (error, _, link_down) = retry_parts(sink.send(&b));
        assert!(link_down, "{error}");
        assert!(!sink.probe());

        // Unknown host (the .invalid TLD never resolves): link down.
        let mut sink = HttpSender::new(&sink_config("http://aisle-test.invalid/in")).unwrap();
        let (error, _, link_down) = retry_parts(sink.send(&b));
        assert!(link_down, "{error}");

        let server = FaultServer::start();
        let mut sink = HttpSender::new(&HttpSink { timeout_ms: 500, ..sink_config(&server.url("/in")) }).unwrap();
        assert!(sink.probe());

        // Connected, then the server hangs up without answering: reachable, so backoff.
        server.push(Reply::DropBeforeAnswer);
        let (error, _, link_down) = retry_parts(sink.send(&b));
        assert!(!link_down, "{error}");

        // Closed while the request body is still arriving.
        server.push(Reply::CloseMidRequestBody);
        let (error, _, link_down) = retry_parts(sink.send(&b));
        assert!(!link_down, "{error}");

        // Stalls past the timeout: the client gives up, after about the timeout.
        server.push(Reply::Stall);
        let t = Instant::now();
        let (error, _, link_down) = retry_parts(sink.send(&b));
        let took = t.elapsed();
        assert!(error.contains("timed out"), "{error}");
        assert!(!link_down);
        assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(3), "{took:?}");
        assert!(server.wait_stalled_released(Duration::from_secs(5)), "the client closed the stalled connection");

        // A 500 whose body is cut short is still a 500.
        server.push(Reply::CloseMidResponseBody(500));
        assert!(!retry_parts(sink.send(&b)).2);
        // A 200 whose body is cut short: the status was the receiver's answer.
        server.push(Reply::CloseMidResponseBody(200));
        assert_eq!(sink.send(&b), Outcome::Delivered);

        // And the sink recovers on the next send.
        assert_eq!(sink.send(&b), Outcome::Delivered);
        let complete: Vec<_> = server.requests().into_iter().filter(|r| r.complete).collect();
        assert!(complete.iter().all(|r| Batch::decode(&r.body).unwrap() == b));
    }

    #[cfg(feature = "mqtt")] // rustls for the test server comes with the mqtt feature
    #[test]
    fn https_to_an_endpoint_of_a_private_ca() {
        use super::support::cert;
        let server = FaultServer::start_tls(&cert("server.pem"), &cert("server.key"));
        let b = batch(2);
        let mut sink = HttpSender::new(&HttpSink { ca_pem: Some(cert("ca.pem")), ..sink_config(&server.url("/in")) }).unwrap();
        assert_eq!(sink.send(&b), Outcome::Delivered);
        let req = server.next_request(Duration::from_secs(5)).unwrap();
        assert_eq!(Batch::decode(&req.body).unwrap(), b);
        assert_eq!(req.header("idempotency-key"), Some(b.idempotency_key().as_str()));

        // Trusting another CA, or only the web PKI: the endpoint is reachable but not trusted.
        for ca in [Some(cert("other-ca.pem")), None] {
            let mut sink = HttpSender::new(&HttpSink { ca_pem: ca, ..sink_config(&server.url("/in")) }).unwrap();
            let (error, _, link_down) = retry_parts(sink.send(&b));
            assert!(!link_down, "{error}");
            assert!(error.to_lowercase().contains("certificate"), "{error}");
        }
        assert_eq!(server.requests().len(), 1, "no request went over an untrusted connection");
    }

    #[test]
    fn bad_configuration_is_an_invalid_argument() {
        for (url, ca) in [
            ("ftp://x/", None),
            ("http:///nohost", None),
            ("https://hq.example/", Some("not a certificate")),
        ] {
            let e = HttpSender::new(&HttpSink { ca_pem: ca.map(str::to_owned), ..sink_config(url) }).err().expect(url);
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{url}: {e}");
        }
        let e = HttpSender::new(&HttpSink { headers: vec![("X-Bad".into(), "line\nbreak".into())], ..sink_config("http://h/") })
            .err()
            .unwrap();
        assert!(e.to_string().contains("X-Bad"), "{e}");
    }
}
