//! The forwarding workers: one thread per link (exporters that share an endpoint), serving the
//! highest-priority stream with a backlog first, in sequence order, within each exporter's
//! bandwidth cap. A failed batch is retried with capped exponential backoff and jitter; while
//! a link is down a cheap probe runs every `probe_ms`, so forwarding resumes as soon as the
//! link is back instead of after the backoff. A batch is acknowledged (and its records become
//! reclaimable) only after the sink confirmed it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::{ExporterConfig, PayloadFormat};
use super::sinks::{self, Outcome, Sink};
use super::wire::Batch;
use super::{State, Streams, db, lock, now_ms};
use crate::edge::{Shared, WeakShared};
use crate::error::Result;

/// The running threads of one store.
#[derive(Default)]
pub(crate) struct Workers {
    pub running: bool,
    stop: Arc<AtomicBool>,
    links: HashMap<String, JoinHandle<()>>,
    housekeeping: Option<JoinHandle<()>>,
}

/// Live per-exporter state (not persisted: after a restart, retries start afresh).
#[derive(Clone, Debug, Default)]
pub(crate) struct Runtime {
    pub attempts: u32,
    retry_at: Option<Instant>,
    link_down: bool,
    next_probe: Option<Instant>,
    tokens: f64,
    tokens_at: Option<Instant>,
    /// (when, records, bytes) of deliveries in the last minute.
    window: VecDeque<(Instant, u64, u64)>,
}

const WINDOW: Duration = Duration::from_secs(60);
/// The longest a worker sleeps without looking again (TTL sweeps, config changes by another
/// process on the same file).
const IDLE: Duration = Duration::from_secs(1);

impl Runtime {
    pub(crate) fn throughput(&self) -> (f64, f64) {
        let Some(first) = self.window.front() else { return (0.0, 0.0) };
        let span = first.0.elapsed().max(Duration::from_secs(1)).as_secs_f64();
        let (r, b) = self.window.iter().fold((0, 0), |(r, b), w| (r + w.1, b + w.2));
        (r as f64 / span, b as f64 / span)
    }

    fn delivered(&mut self, now: Instant, records: u64, bytes: u64) {
        self.attempts = 0;
        self.retry_at = None;
        self.link_down = false;
        self.next_probe = None;
        self.window.push_back((now, records, bytes));
        while self.window.front().is_some_and(|w| now.duration_since(w.0) > WINDOW) {
            self.window.pop_front();
        }
    }

    fn failed(&mut self, now: Instant, config: &ExporterConfig, after: Option<Duration>, link_down: bool) {
        self.attempts = self.attempts.saturating_add(1);
        let r = &config.retry;
        let delay = after.unwrap_or_else(|| {
            let exp = r.initial_ms.saturating_mul(1u64 << (self.attempts - 1).min(30)).min(r.max_ms);
            // Jitter: anywhere in the upper half, so a fleet of stores does not retry in step.
            Duration::from_millis(exp / 2 + fastrand::u64(0..=exp / 2))
        });
        self.retry_at = Some(now + delay);
        self.link_down = link_down;
        self.next_probe = Some(now + Duration::from_millis(r.probe_ms));
    }

    /// Takes `bytes` from the token bucket if they are there; otherwise how long until they are.
    fn take_tokens(&mut self, now: Instant, rate: u64, bytes: u64) -> Option<Duration> {
        let cap = rate.max(bytes) as f64;
        let last = self.tokens_at.unwrap_or_else(|| {
            self.tokens = cap;
            now
        });
        self.tokens = (self.tokens + now.duration_since(last).as_secs_f64() * rate as f64).min(cap);
        self.tokens_at = Some(now);
        if self.tokens >= bytes as f64 {
            self.tokens -= bytes as f64;
            None
        } else {
            Some(Duration::from_secs_f64((bytes as f64 - self.tokens) / rate as f64))
        }
    }
}

pub(crate) fn start(shared: &Shared) {
    {
        let mut w = lock(&shared.forward().workers);
        if w.running {
            return;
        }
        w.running = true;
        w.stop = Arc::new(AtomicBool::new(false));
        let stop = w.stop.clone();
        let weak = shared.downgrade();
        w.housekeeping = std::thread::Builder::new()
            .name("aisle-fwd-housekeeping".into())
            .spawn(move || housekeeping(weak, stop))
            .ok();
    }
    ensure_running(shared);
}

/// Starts a worker for every link that has none (when forwarding is running).
pub(crate) fn ensure_running(shared: &Shared) {
    let links = match all_exporters(shared) {
        Ok(rows) => rows.into_iter().map(|(_, r)| r.config.link()).collect::<std::collections::BTreeSet<_>>(),
        Err(_) => return,
    };
    let mut w = lock(&shared.forward().workers);
    if !w.running {
        return;
    }
    w.links.retain(|_, h| !h.is_finished());
    for link in links {
        if w.links.contains_key(&link) {
            continue;
        }
        let (weak, stop, l) = (shared.downgrade(), w.stop.clone(), link.clone());
        if let Ok(h) = std::thread::Builder::new().name(format!("aisle-fwd {link}")).spawn(move || run(weak, l, stop)) {
            w.links.insert(link, h);
        }
    }
}

pub(crate) fn stop(state: &State) {
    let (links, hk) = {
        let mut w = lock(&state.workers);
        w.running = false;
        w.stop.store(true, Ordering::SeqCst);
        (std::mem::take(&mut w.links), w.housekeeping.take())
    };
    state.signal.notify();
    let me = std::thread::current().id();
    for h in links.into_values().chain(hk) {
        // A callback that stops forwarding runs on a worker: it cannot join itself.
        if h.thread().id() != me {
            let _ = h.join();
        }
    }
}

/// Every exporter with its stream's priority and payload format, durable and memory.
fn all_exporters(shared: &Shared) -> Result<Vec<((i32, PayloadFormat), db::ExporterRow)>> {
    let collect = |c: &rusqlite::Connection| {
        let streams: HashMap<String, (i32, PayloadFormat)> =
            db::stream_names(c)?.into_iter().map(|s| (s.name, (s.priority, s.format))).collect();
        Ok(db::exporters(c, None)?
            .into_iter()
            .filter_map(|e| streams.get(&e.stream).map(|p| (*p, e)))
            .collect::<Vec<_>>())
    };
    let mut rows = shared.read(collect)?;
    if let Some(mem) = shared.forward().memory_db(collect) {
        rows.extend(mem?);
    }
    Ok(rows)
}

fn housekeeping(weak: WeakShared, stop: Arc<AtomicBool>) {
    let mut last_status: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        let Some(shared) = weak.upgrade() else { return };
        let sweep = |c: &rusqlite::Connection| {
            let mut n = 0;
            for s in db::stream_names(c)? {
                if s.max_age_ms.is_some() {
                    n += db::expire_stream(c, &s.name, now_ms())?;
                }
            }
            Ok(n)
        };
        let _ = shared.write(|tx| sweep(tx));
        let _ = shared.forward().memory_db(sweep);
        let status = lock(&shared.forward().status_events).clone();
        if let Some((stream, every)) = status {
            if last_status.is_none_or(|t| t.elapsed() >= every) {
                last_status = Some(Instant::now());
                let _ = Streams { shared: shared.clone() }.emit_status(&stream);
            }
        }
        let seen = shared.forward().signal.generation();
        let state_signal = &shared.forward().signal;
        if stop.load(Ordering::SeqCst) {
            return;
        }
        state_signal.wait(seen, IDLE);
    }
}

struct CachedSink {
    config: String,
    sink: Box<dyn Sink>,
}

fn run(weak: WeakShared, link: String, stop: Arc<AtomicBool>) {
    let mut sinks: HashMap<(String, String), CachedSink> = HashMap::new();
    while !stop.load(Ordering::SeqCst) {
        let Some(shared) = weak.upgrade() else { return };
        let seen = shared.forward().signal.generation();
        let next = match step(&shared, &link, &mut sinks, &stop) {
            Ok(Step::Worked) => continue,
            Ok(Step::Wait(d)) => d,
            Ok(Step::NoExporters) => {
                // The link is gone (exporters removed or moved): the thread ends; a new one
                // starts if an exporter names the link again.
                let mut w = lock(&shared.forward().workers);
                if let Some(h) = w.links.get(&link) {
                    if h.thread().id() == std::thread::current().id() {
                        w.links.remove(&link);
                    }
                }
                return;
            }
            Err(_) => IDLE,
        };
        if stop.load(Ordering::SeqCst) {
            return;
        }
        shared.forward().signal.wait(seen, next.min(IDLE));
    }
}

enum Step {
    Worked,
    Wait(Duration),
    NoExporters,
}

fn step(shared: &Shared, link: &str, sinks: &mut HashMap<(String, String), CachedSink>, stop: &AtomicBool) -> Result<Step> {
    let mut mine: Vec<_> = all_exporters(shared)?.into_iter().filter(|(_, e)| e.config.link() == link).collect();
    if mine.is_empty() {
        return Ok(Step::NoExporters);
    }
    // Highest priority first; ties by stream, then exporter name, so the order is stable.
    mine.sort_by(|a, b| b.0.0.cmp(&a.0.0).then_with(|| a.1.stream.cmp(&b.1.stream)).then_with(|| a.1.config.name.cmp(&b.1.config.name)));
    sinks.retain(|k, _| mine.iter().any(|(_, e)| e.stream == k.0 && e.config.name == k.1));
    let state = shared.forward();
    let streams = Streams { shared: shared.clone() };
    let mut next = IDLE;
    for ((_, format), ex) in mine {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if !ex.config.enabled {
            continue;
        }
        let key = (ex.stream.clone(), ex.config.name.clone());
        let now = Instant::now();
        let mut rt = lock(&state.runtime).get(&key).cloned().unwrap_or_default();

        let callback = lock(&state.callbacks).get(&key).cloned();
        let config_json = ex.config.sink_json();
        if !sinks.get(&key).is_some_and(|c| c.config == config_json) || callback.is_some() {
            match sinks::build(&ex.config.sink, (&shared.config().store_id, &shared.config().device_id), callback) {
                Ok(Some(sink)) => {
                    sinks.insert(key.clone(), CachedSink { config: config_json, sink });
                }
                Ok(None) => continue, // a callback exporter without its function: wait
                Err(e) => {
                    let _ = streams.with_db(&ex.stream, |c| db::record_error(c, &ex.stream, &ex.config.name, &e.to_string(), now_ms()));
                    continue;
                }
            }
        }
        let Some(cached) = sinks.get_mut(&key) else { continue };

        if let Some(at) = rt.retry_at.filter(|at| *at > now) {
            let probe_at = rt.next_probe.unwrap_or(now);
            if rt.link_down && probe_at <= now {
                if cached.sink.probe() {
                    rt.retry_at = None;
                } else {
                    rt.next_probe = Some(now + Duration::from_millis(ex.config.retry.probe_ms));
                    next = next.min(at.min(now + Duration::from_millis(ex.config.retry.probe_ms)) - now);
                    lock(&state.runtime).insert(key, rt);
                    continue;
                }
            } else {
                let until = if rt.link_down { at.min(probe_at) } else { at };
                next = next.min(until.saturating_duration_since(now));
                continue;
            }
        }

        let records = streams.with_db(&ex.stream, |c| {
            db::read_after(c, &ex.stream, ex.acked_seq, ex.config.batch_max_records, ex.config.batch_max_bytes)
        })?;
        if records.is_empty() {
            continue;
        }
        let bytes: u64 = records.iter().map(|r| r.payload.len() as u64).sum();
        let full = records.len() as u64 >= ex.config.batch_max_records as u64 || bytes >= ex.config.batch_max_bytes;
        if ex.config.batch_interval_ms > 0 && !full {
            let age = (now_ms() - records[0].at_ms).max(0) as u64;
            if age < ex.config.batch_interval_ms {
                next = next.min(Duration::from_millis(ex.config.batch_interval_ms - age));
                continue;
            }
        }
        if let Some(rate) = ex.config.max_bytes_per_sec {
            if let Some(wait) = rt.take_tokens(now, rate, bytes) {
                next = next.min(wait);
                lock(&state.runtime).insert(key, rt);
                continue;
            }
        }
        let batch = Batch {
            store: shared.config().store_id.clone(),
            device: shared.config().device_id.clone(),
            stream: ex.stream.clone(),
            format,
            records,
        };
        let outcome = cached.sink.send(&batch);
        let n = batch.records.len() as u64;
        let last = batch.last_seq();
        match outcome {
            Outcome::Delivered => {
                streams.with_db(&ex.stream, |c| db::ack(c, &ex.stream, &ex.config.name, last, n, bytes, now_ms(), false))?;
                rt.delivered(Instant::now(), n, bytes);
            }
            Outcome::Retry { error, after, link_down } => {
                let _ = streams.with_db(&ex.stream, |c| db::record_error(c, &ex.stream, &ex.config.name, &error, now_ms()));
                rt.failed(Instant::now(), &ex.config, after, link_down);
            }
            Outcome::Refused { error } => {
                let _ = streams.with_db(&ex.stream, |c| db::record_error(c, &ex.stream, &ex.config.name, &error, now_ms()));
                match &ex.config.dead_letter {
                    Some(dl) => {
                        let payloads: Vec<&[u8]> = batch.records.iter().map(|r| r.payload.as_slice()).collect();
                        streams.append_batch(dl, &payloads)?;
                        streams.with_db(&ex.stream, |c| db::ack(c, &ex.stream, &ex.config.name, last, n, bytes, now_ms(), true))?;
                        rt.delivered(Instant::now(), 0, 0);
                    }
                    // Never given up silently: retried at the longest backoff, visible in status.
                    None => rt.failed(Instant::now(), &ex.config, Some(Duration::from_millis(ex.config.retry.max_ms)), false),
                }
            }
        }
        lock(&state.runtime).insert(key, rt);
        state.signal.notify();
        return Ok(Step::Worked);
    }
    Ok(Step::Wait(next))
}

impl ExporterConfig {
    fn sink_json(&self) -> String {
        serde_json::to_string(&self.sink).unwrap_or_default()
    }
}
