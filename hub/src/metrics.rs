//! Prometheus text exposition, hand-written: a few counters, gauges and two histograms do not
//! need a metrics framework. Counters and histograms are per instance (Prometheus sums over
//! instances); the fleet's gauges (connected stores, lag and last-sync age per store) are read
//! from the database at each scrape, so every instance reports the same values.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request latency histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Upper bounds (seconds) of the propagation histogram: publish → delivery at a store, from
/// well under the goal of one second (finer around it) to a store that was offline for an hour.
const PROPAGATION_BUCKETS: [f64; 17] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

#[derive(Default)]
pub struct Metrics {
    pub ingest_batches: AtomicU64,
    pub ingest_records: AtomicU64,
    pub ingest_duplicates: AtomicU64,
    pub ingest_rejected: AtomicU64,
    pub rate_limited: AtomicU64,
    /// Open push streams (server-sent events) — maintained by the sync side.
    pub push_connections: AtomicI64,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram<{ BUCKETS.len() }>>>,
    propagation: Mutex<Histogram<{ PROPAGATION_BUCKETS.len() }>>,
}

struct Histogram<const N: usize> {
    counts: [u64; N],
    count: u64,
    sum: f64,
}

impl<const N: usize> Default for Histogram<N> {
    fn default() -> Self {
        Histogram { counts: [0; N], count: 0, sum: 0.0 }
    }
}

impl<const N: usize> Histogram<N> {
    fn observe(&mut self, bounds: &[f64; N], secs: f64) {
        for (i, le) in bounds.iter().enumerate() {
            if secs <= *le {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }

    /// The `_bucket`, `_sum` and `_count` lines; `labels` is `key="value",` or empty.
    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64; N]) {
        for (i, le) in bounds.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {}", self.counts[i]);
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", self.count);
        let labels = labels.trim_end_matches(',');
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// A label value as the text format wants it (backslash, quote and newline escaped).
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    /// One answered request on `route` (the matched path, never the raw URI).
    pub fn observe(&self, route: &str, status: u16, took: Duration) {
        *lock(&self.requests)
            .entry((route.to_owned(), status))
            .or_default() += 1;
        lock(&self.latency).entry(route.to_owned()).or_default().observe(&BUCKETS, took.as_secs_f64());
    }

    /// Changes delivered to a store in an exchange answer: seconds from each one's commit.
    pub fn observe_propagation(&self, secs: &[f64]) {
        if secs.is_empty() {
            return;
        }
        let mut h = lock(&self.propagation);
        for s in secs {
            h.observe(&PROPAGATION_BUCKETS, *s);
        }
    }

    /// The exposition; `fleet` (read from the database) adds the fleet's gauges.
    pub fn render(&self, fleet: Option<&crate::sync::FleetStatus>) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "aisle_hub_ingest_batches_total",
            "Ingest batches applied (including all-duplicate ones).",
            self.ingest_batches.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "aisle_hub_ingest_records_total",
            "Forwarded records applied for the first time.",
            self.ingest_records.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "aisle_hub_ingest_duplicates_total",
            "Forwarded records skipped as already applied.",
            self.ingest_duplicates.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "aisle_hub_ingest_rejected_total",
            "Ingest batches refused as malformed or too large.",
            self.ingest_rejected.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "aisle_hub_rate_limited_total",
            "Requests refused with 429.",
            self.rate_limited.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP aisle_hub_push_connections Open push streams of this instance.\n# TYPE aisle_hub_push_connections gauge\naisle_hub_push_connections {}",
            self.push_connections.load(Ordering::Relaxed)
        );
        out.push_str("# HELP aisle_hub_http_requests_total Answered requests by route and status.\n# TYPE aisle_hub_http_requests_total counter\n");
        for ((route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "aisle_hub_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP aisle_hub_http_request_duration_seconds Request latency by route.\n# TYPE aisle_hub_http_request_duration_seconds histogram\n");
        for (route, h) in lock(&self.latency).iter() {
            let labels = format!("route=\"{}\",", label_value(route));
            h.render(&mut out, "aisle_hub_http_request_duration_seconds", &labels, &BUCKETS);
        }
        out.push_str("# HELP aisle_hub_sync_propagation_seconds Time from a change's commit at the hub to its delivery to a store in an exchange answer, per change sequence delivered (database clock).\n# TYPE aisle_hub_sync_propagation_seconds histogram\n");
        lock(&self.propagation).render(&mut out, "aisle_hub_sync_propagation_seconds", "", &PROPAGATION_BUCKETS);
        if let Some(fleet) = fleet {
            let _ = writeln!(
                out,
                "# HELP aisle_hub_connected_stores Stores with an exchange in the last {} s (any instance; from the database).\n# TYPE aisle_hub_connected_stores gauge\naisle_hub_connected_stores {}",
                crate::sync::CONNECTED_WINDOW_MS / 1000,
                fleet.connected_stores
            );
            out.push_str("# HELP aisle_hub_store_sync_lag_changes Slot changes in a store's scopes committed after the newest change its devices were delivered (worst device).\n# TYPE aisle_hub_store_sync_lag_changes gauge\n");
            for s in &fleet.stores {
                let _ = writeln!(out, "aisle_hub_store_sync_lag_changes{{store=\"{}\"}} {}", label_value(&s.store), s.lag_changes);
            }
            out.push_str("# HELP aisle_hub_store_last_sync_age_seconds Seconds since a store's devices last exchanged with the hub (worst device; never synced: since enrolment).\n# TYPE aisle_hub_store_last_sync_age_seconds gauge\n");
            for s in &fleet.stores {
                let _ = writeln!(out, "aisle_hub_store_last_sync_age_seconds{{store=\"{}\"}} {:.3}", label_value(&s.store), s.last_sync_age_seconds);
            }
        }
        out
    }
}
