//! Prometheus text exposition, hand-written: a few counters, one gauge and one histogram do
//! not need a metrics framework. Counters are per instance; Prometheus sums over instances.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request latency histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
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
    latency: Mutex<BTreeMap<String, Histogram>>,
}

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
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
        let secs = took.as_secs_f64();
        let mut lat = lock(&self.latency);
        let h = lat.entry(route.to_owned()).or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn render(&self) -> String {
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
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "aisle_hub_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "aisle_hub_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "aisle_hub_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "aisle_hub_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out
    }
}
