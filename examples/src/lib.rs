//! Pieces the examples, the end-to-end tests and the benchmarks share.
//!
//! [`IngestServer`] is what an HQ endpoint does with forwarded batches, on loopback: an
//! HTTP/1.1 server that applies each POSTed batch exactly once with [`aisle::Ingest`] and can
//! inject the faults a real network has (5xx, 429 with `Retry-After`, connections dropped
//! before or after applying, stalls), from a seeded generator so a failing run can be replayed.
//! [`SyncHub`] is the HQ sync replica served over HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aisle::forward::{Batch, Ingest};

mod hub;
pub use hub::{HubSeen, SyncHub};

/// Probabilities (0.0–1.0) of each fault per request; the rest are answered normally.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Answer 503 without applying.
    pub unavailable: f64,
    /// Answer 429 with `Retry-After: 0`.
    pub too_many: f64,
    /// Close the connection without reading the body or answering.
    pub drop_before: f64,
    /// Apply the batch, then close the connection without answering (the sender must retry
    /// and the receiver must not apply it twice).
    pub drop_after: f64,
    /// Send half a response, then close.
    pub cut_response: f64,
    /// Wait this long before answering (past the sender's timeout: it retries).
    pub stall: f64,
    pub stall_for: Duration,
    pub seed: u64,
}

/// Counters of what the server saw.
#[derive(Default)]
pub struct Seen {
    pub requests: AtomicU64,
    pub faults: AtomicU64,
    pub applied_records: AtomicU64,
    pub duplicate_records: AtomicU64,
}

type OnApply = Box<dyn Fn(&Batch) + Send + Sync>;

pub struct IngestServer {
    pub port: u16,
    pub seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl IngestServer {
    /// Starts a server on 127.0.0.1 (`port` 0: any free port). `on_apply` sees each batch's
    /// records that were not applied before, inside the ingest transaction.
    pub fn start(port: u16, ingest: Arc<Ingest>, faults: Faults, on_apply: impl Fn(&Batch) + Send + Sync + 'static) -> std::io::Result<IngestServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Seen::default());
        let rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(faults.seed)));
        let on_apply: Arc<OnApply> = Arc::new(Box::new(on_apply));
        let (st, sn) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (ingest, seen, rng, on_apply, st) = (ingest.clone(), sn.clone(), rng.clone(), on_apply.clone(), st.clone());
                        std::thread::spawn(move || serve(conn, &ingest, faults, &seen, &rng, &on_apply, &st));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Ok(IngestServer { port, seen, stop, thread: Some(thread) })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/ingest", self.port)
    }

    /// Stops accepting (connections already open finish their request and close).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for IngestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(conn: TcpStream, ingest: &Ingest, faults: Faults, seen: &Seen, rng: &Mutex<fastrand::Rng>, on_apply: &OnApply, stop: &AtomicBool) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(read_half) = conn.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut out = conn;
    while !stop.load(Ordering::SeqCst) {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let (mut len, mut encoding) = (0usize, None::<String>);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "content-encoding" => encoding = Some(v.trim().to_owned()),
                    _ => {}
                }
            }
        }
        seen.requests.fetch_add(1, Ordering::SeqCst);
        let roll = |p: f64| p > 0.0 && rng.lock().map(|mut r| r.f64() < p).unwrap_or(false);
        if roll(faults.drop_before) {
            seen.faults.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if roll(faults.unavailable) {
            seen.faults.fetch_add(1, Ordering::SeqCst);
            let _ = out.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy");
            continue;
        }
        if roll(faults.too_many) {
            seen.faults.fetch_add(1, Ordering::SeqCst);
            let _ = out.write_all(b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 0\r\ncontent-length: 0\r\n\r\n");
            continue;
        }
        if roll(faults.stall) {
            seen.faults.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(faults.stall_for);
            return;
        }
        let result = ingest.receive(&body, encoding.as_deref(), |_, batch| {
            on_apply(batch);
            Ok(())
        });
        let (status, text) = match &result {
            Ok(report) => {
                seen.applied_records.fetch_add(report.applied, Ordering::SeqCst);
                seen.duplicate_records.fetch_add(report.duplicates, Ordering::SeqCst);
                ("200 OK", serde_json_report(report.applied, report.duplicates, report.high_seq))
            }
            Err(e) => ("400 Bad Request", format!("{{\"code\":\"{}\"}}", e.code())),
        };
        if result.is_ok() && roll(faults.drop_after) {
            seen.faults.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let response = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}", text.len());
        if roll(faults.cut_response) {
            seen.faults.fetch_add(1, Ordering::SeqCst);
            let _ = out.write_all(&response.as_bytes()[..response.len() / 2]);
            return;
        }
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn serde_json_report(applied: u64, duplicates: u64, high_seq: u64) -> String {
    format!("{{\"applied\":{applied},\"duplicates\":{duplicates},\"high_seq\":{high_seq}}}")
}
