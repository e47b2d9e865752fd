//! A store's ear on the hub's push channel (`GET /v1/sync/events`, server-sent events): each
//! `hello` (on every connect) and `change` (a push landed at HQ, on any hub instance) calls the
//! application's function, typically [`super::SyncerWaker::wake`] so a round runs at once
//! instead of waiting for the next interval. Reconnects with backoff and jitter; a reconnect
//! sends `hello`, so whatever was published while the link was down is fetched right away (the
//! store's version vector is its cursor).

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ureq::Agent;

use crate::error::{Error, Result};

/// A thread listening to a hub's events.
pub struct HubWatch {
    stop: Arc<AtomicBool>,
    connects: Arc<AtomicU64>,
}

impl HubWatch {
    /// Listens to `<base_url>/v1/sync/events`; `on_event(sequence)` runs on the watcher's
    /// thread for every `hello` and `change`.
    pub fn start(base_url: &str, on_event: impl Fn(i64) + Send + 'static) -> Result<HubWatch> {
        let url = format!("{}/v1/sync/events", base_url.trim_end_matches('/'));
        let uri: ureq::http::Uri = url.parse().map_err(|e| Error::InvalidArgument(format!("hub events: bad url {url:?}: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(Error::InvalidArgument(format!("hub events: url {url:?} must start with http:// or https://")));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let connects = Arc::new(AtomicU64::new(0));
        let (st, cn) = (stop.clone(), connects.clone());
        std::thread::Builder::new()
            .name("aisle-hub-watch".into())
            .spawn(move || {
                // No overall timeout: the stream is meant to stay open. A read that sees nothing
                // for longer than three keep-alives means the link is dead: reconnect.
                let agent: Agent = Agent::config_builder()
                    .timeout_connect(Some(Duration::from_secs(10)))
                    .timeout_recv_body(Some(Duration::from_secs(45)))
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut backoff_ms = 500u64;
                let mut rng = fastrand::Rng::new();
                while !st.load(Ordering::SeqCst) {
                    let connected = listen(&agent, &url, &st, &cn, &on_event);
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    backoff_ms = if connected { 500 } else { (backoff_ms * 2).min(30_000) };
                    let wait = backoff_ms - backoff_ms / 4 + rng.u64(0..=backoff_ms / 2);
                    let until = std::time::Instant::now() + Duration::from_millis(wait);
                    while std::time::Instant::now() < until && !st.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })
            .map_err(|e| Error::InvalidArgument(format!("hub events: cannot start its thread: {e}")))?;
        Ok(HubWatch { stop, connects })
    }

    /// How many times the stream was (re)connected.
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::SeqCst)
    }

    /// Stops listening (the thread ends at its next event, keep-alive or reconnect attempt).
    pub fn stop(self) {}
}

impl Drop for HubWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One connection: true if it got as far as reading the stream.
fn listen(agent: &Agent, url: &str, stop: &AtomicBool, connects: &AtomicU64, on_event: &dyn Fn(i64)) -> bool {
    let Ok(response) = agent.get(url).header("Accept", "text/event-stream").call() else { return false };
    if response.status().as_u16() != 200 {
        return false;
    }
    connects.fetch_add(1, Ordering::SeqCst);
    let mut reader = BufReader::new(response.into_body().into_reader());
    let mut event = String::new();
    let mut line = String::new();
    while !stop.load(Ordering::SeqCst) {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return true,
            Ok(_) => {}
        }
        let l = line.trim_end();
        if let Some(name) = l.strip_prefix("event:") {
            event = name.trim().to_owned();
        } else if let Some(data) = l.strip_prefix("data:") {
            if matches!(event.as_str(), "hello" | "change") {
                if let Ok(seq) = data.trim().parse() {
                    on_event(seq);
                }
            }
        } else if l.is_empty() {
            event.clear();
        }
    }
    true
}
