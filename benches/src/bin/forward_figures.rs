//! Store-and-forward figures, anchors side by side in one run (docs/performance.md):
//!
//! - durable appends/s and p50/p99 latency with 1, 4 and 16 writers, next to raw rusqlite
//!   INSERTs (one transaction each, the same pragmas: WAL, `synchronous=FULL`) on the same disk;
//! - `append_batch` of 100 records, next to raw rusqlite inserting 100 per transaction;
//! - drain throughput to a local HTTP sink (a loopback server applying batches with `Ingest`);
//! - time from link-up to the first delivered batch.
//!
//! `cargo run --release -p aisle-benches --bin forward_figures [seconds-per-figure]`

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use aisle::forward::{ExporterConfig, HttpSink, Ingest, SinkConfig, StreamConfig, WhenFull};
use aisle::{Currency, Edge, EdgeConfig};
use aisle_examples::{Faults, IngestServer};

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let dir = tempfile::tempdir().expect("temp dir");
    let payload = br#"{"type":"SaleCompleted","receipt":"R-000123","total":{"minor":1999,"currency":"EUR"},"lines":3}"#;
    println!("payload {} bytes, {secs} s per figure, files in {}", payload.len(), dir.path().display());
    println!("| figure | events/s | p50 | p99 | ratio |");
    println!("|---|---|---|---|---|");

    let raw1 = raw_inserts(&dir.path().join("raw1.db"), payload, 1, secs);
    row("raw rusqlite INSERT, 1 per transaction, 1 writer", &raw1, None);
    for writers in [1usize, 4, 16] {
        let r = aisle_appends(&dir.path().join(format!("a{writers}.db")), payload, writers, secs);
        row(&format!("aisle append, {writers} writer(s)"), &r, Some(raw1.rate));
    }
    for (writers, window) in [(1usize, 1000usize), (4, 250), (4, 128), (8, 64), (16, 32)] {
        let r = aisle_pipelined(&dir.path().join(format!("p{writers}.db")), payload, writers, window, secs);
        row(&format!("aisle submit + wait, {writers} writer(s), {window} in flight each"), &r, Some(raw1.rate));
    }
    let raw4 = raw_inserts(&dir.path().join("raw4.db"), payload, 4, secs);
    row("raw rusqlite INSERT, 1 per transaction, 4 writers (one connection each)", &raw4, None);
    let rawb = raw_batches(&dir.path().join("rawb.db"), payload, 100, secs);
    row("raw rusqlite, 100 INSERTs per transaction", &rawb, None);
    let ab = aisle_batches(&dir.path().join("ab.db"), payload, 100, secs);
    row("aisle append_batch of 100", &ab, Some(rawb.rate));

    let (drain_rate, mb) = drain_http(&dir.path().join("drain.db"), payload, 50_000);
    println!("| drain 50,000 records to a loopback HTTP sink (JSON, batches of 500) | {drain_rate:.0} | | | {mb:.1} MB/s |");
    let link_up = link_up_to_first_batch(&dir.path().join("link.db"), payload);
    println!("\ntime from link-up to first delivered batch: {} ms (probe every 500 ms)", link_up.as_millis());
}

struct Run {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn row(name: &str, r: &Run, anchor: Option<f64>) {
    let ratio = anchor.map_or(String::new(), |a| format!("{:.2}×", r.rate / a));
    println!("| {name} | {:.0} | {:.2} ms | {:.2} ms | {ratio} |", r.rate, ms(r.p50), ms(r.p99));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summarise(count: u64, elapsed: Duration, mut lat: Vec<Duration>) -> Run {
    lat.sort();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or_default();
    Run { rate: count as f64 / elapsed.as_secs_f64(), p50: pct(0.50), p99: pct(0.99) }
}

fn open_raw(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).expect("open");
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).expect("wal");
    c.execute_batch("PRAGMA synchronous = FULL; CREATE TABLE IF NOT EXISTS r (stream TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (stream, seq)) STRICT, WITHOUT ROWID;")
        .expect("schema");
    c.busy_timeout(Duration::from_secs(30)).expect("busy");
    c
}

/// Each writer its own connection, one INSERT per transaction (autocommit).
fn raw_inserts(path: &std::path::Path, payload: &[u8], writers: usize, secs: f64) -> Run {
    drop(open_raw(path));
    let next = Arc::new(AtomicU64::new(1));
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (path, payload, next, barrier) = (path.to_owned(), payload.to_vec(), next.clone(), barrier.clone());
            std::thread::spawn(move || {
                let c = open_raw(&path);
                let mut lat = Vec::new();
                barrier.wait();
                let start = Instant::now();
                while start.elapsed().as_secs_f64() < secs {
                    let t = Instant::now();
                    let seq = next.fetch_add(1, Ordering::SeqCst) as i64;
                    c.prepare_cached("INSERT INTO r VALUES ('s', ?1, 0, ?2)").unwrap().execute(rusqlite::params![seq, payload]).unwrap();
                    lat.push(t.elapsed());
                }
                (lat, start.elapsed())
            })
        })
        .collect();
    collect(handles)
}

fn collect(handles: Vec<std::thread::JoinHandle<(Vec<Duration>, Duration)>>) -> Run {
    let mut all = Vec::new();
    let mut elapsed = Duration::ZERO;
    for h in handles {
        let (lat, e) = h.join().expect("writer");
        all.extend(lat);
        elapsed = elapsed.max(e);
    }
    summarise(all.len() as u64, elapsed, all)
}

fn edge_at(path: &std::path::Path) -> Edge {
    let e = Edge::open(path, EdgeConfig::new("store-1", "reg-1", Currency::EUR)).expect("open");
    e.streams().create(&StreamConfig::durable("sales", 1 << 40, WhenFull::Reject)).expect("stream");
    e
}

fn aisle_appends(path: &std::path::Path, payload: &[u8], writers: usize, secs: f64) -> Run {
    let e = edge_at(path);
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (s, payload, barrier) = (e.streams(), payload.to_vec(), barrier.clone());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                barrier.wait();
                let start = Instant::now();
                while start.elapsed().as_secs_f64() < secs {
                    let t = Instant::now();
                    s.append("sales", &payload).expect("append");
                    lat.push(t.elapsed());
                }
                (lat, start.elapsed())
            })
        })
        .collect();
    collect(handles)
}

/// Each writer keeps `window` appends in flight (`submit`), then waits for them; latency is
/// from submit to acknowledgement, per record.
fn aisle_pipelined(path: &std::path::Path, payload: &[u8], writers: usize, window: usize, secs: f64) -> Run {
    let e = edge_at(path);
    let barrier = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (s, payload, barrier) = (e.streams(), payload.to_vec(), barrier.clone());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                barrier.wait();
                let start = Instant::now();
                while start.elapsed().as_secs_f64() < secs {
                    let pending: Vec<_> = (0..window).map(|_| (Instant::now(), s.submit("sales", &payload).expect("submit"))).collect();
                    for (t, p) in pending {
                        p.wait().expect("wait");
                        lat.push(t.elapsed());
                    }
                }
                (lat, start.elapsed())
            })
        })
        .collect();
    collect(handles)
}

fn raw_batches(path: &std::path::Path, payload: &[u8], n: usize, secs: f64) -> Run {
    let mut c = open_raw(path);
    let (mut seq, mut lat) = (0i64, Vec::new());
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        let t = Instant::now();
        let tx = c.transaction().unwrap();
        for _ in 0..n {
            seq += 1;
            tx.prepare_cached("INSERT INTO r VALUES ('s', ?1, 0, ?2)").unwrap().execute(rusqlite::params![seq, payload]).unwrap();
        }
        tx.commit().unwrap();
        lat.push(t.elapsed());
    }
    let elapsed = start.elapsed();
    let mut r = summarise(seq as u64, elapsed, lat);
    r.rate = seq as f64 / elapsed.as_secs_f64();
    r
}

fn aisle_batches(path: &std::path::Path, payload: &[u8], n: usize, secs: f64) -> Run {
    let e = edge_at(path);
    let s = e.streams();
    let batch: Vec<&[u8]> = vec![payload; n];
    let (mut count, mut lat) = (0u64, Vec::new());
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        let t = Instant::now();
        count += s.append_batch("sales", &batch).expect("append_batch").len() as u64;
        lat.push(t.elapsed());
    }
    let elapsed = start.elapsed();
    let mut r = summarise(count, elapsed, lat);
    r.rate = count as f64 / elapsed.as_secs_f64();
    r
}

fn http_exporter(port: u16) -> ExporterConfig {
    let mut c = ExporterConfig::new(
        "hq",
        SinkConfig::Http(HttpSink {
            url: format!("http://127.0.0.1:{port}/ingest"),
            format: Default::default(),
            compression: Default::default(),
            headers: vec![],
            timeout_ms: 5_000,
            ca_pem: None,
        }),
    );
    c.batch_max_records = 500;
    c
}

fn drain_http(path: &std::path::Path, payload: &[u8], n: usize) -> (f64, f64) {
    let e = edge_at(path);
    let s = e.streams();
    let batch: Vec<&[u8]> = vec![payload; 1000];
    for _ in 0..n / 1000 {
        s.append_batch("sales", &batch).expect("fill");
    }
    let applied = Arc::new(AtomicU64::new(0));
    let a = applied.clone();
    let hq = IngestServer::start(0, Arc::new(Ingest::open_in_memory().expect("ingest")), Faults::default(), move |b| {
        a.fetch_add(b.records.len() as u64, Ordering::SeqCst);
    })
    .expect("server");
    let port = hq.port;
    s.add_exporter("sales", &http_exporter(port)).expect("exporter");
    let t = Instant::now();
    s.start();
    assert!(s.flush(Duration::from_secs(300)).expect("flush"), "drained");
    let elapsed = t.elapsed().as_secs_f64();
    s.stop();
    hq.stop();
    assert_eq!(applied.load(Ordering::SeqCst), n as u64, "every record applied once");
    (n as f64 / elapsed, (n * payload.len()) as f64 / elapsed / 1e6)
}

fn link_up_to_first_batch(path: &std::path::Path, payload: &[u8]) -> Duration {
    let e = edge_at(path);
    let s = e.streams();
    // A port with nothing listening: the link is down.
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    s.add_exporter("sales", &http_exporter(port)).expect("exporter");
    s.append("sales", payload).expect("append");
    s.start();
    // Let it fail a few times and back off.
    while s.stream_status("sales").expect("status").exporters[0].attempts < 3 {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));
    let applied = Arc::new(AtomicU64::new(0));
    let a = applied.clone();
    let up = Instant::now();
    let hq = IngestServer::start(port, Arc::new(Ingest::open_in_memory().expect("ingest")), Faults::default(), move |b| {
        a.fetch_add(b.records.len() as u64, Ordering::SeqCst);
    })
    .expect("rebind");
    while applied.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let d = up.elapsed();
    s.stop();
    hq.stop();
    d
}
