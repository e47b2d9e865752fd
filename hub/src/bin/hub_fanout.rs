//! Load generator for the hub's sync side (figures in docs/performance.md, "HQ hub"): runs the
//! `aisle-hub` binary as its own process (its memory and file descriptors are its own) and
//!
//! 1. holds `--idle` push connections (`GET /v1/sync/events`) open at once, each having read its
//!    `hello`: the hub's resident memory before and after, per connection;
//! 2. with `--stores` simulated stores (in-memory replicas, enrolled, listening to events),
//!    publishes a price `--publishes` times through the hub as HQ's pricing tool and measures,
//!    per store, publish → `change` event, and publish → the new price applied in the store (its
//!    round: exchange + push, as a real store's syncer runs it); then reads the hub's `/metrics`
//!    (its propagation histogram of the same publishes, connected stores, the worst lag);
//! 3. a store `--catchup` changes behind pulls them all: how long.
//!
//! ```text
//! url=$(bash scripts/postgres.sh start)
//! cargo build --release -p aisle-hub --bins
//! target/<host>/release/hub_fanout --database "$url" --idle 10000 --stores 1000 --publishes 5
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aisle::sync::{Device, MemReplica, Role, SyncLink, frame_messages, unframe_messages};
use aisle::transport::{HttpSyncConfig, HttpSyncLink};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    database: String,
    idle: usize,
    stores: usize,
    publishes: usize,
    catchup: usize,
}

fn args() -> Args {
    let mut a = Args { database: String::new(), idle: 10_000, stores: 1_000, publishes: 5, catchup: 100_000 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--database" => a.database = value(),
            "--idle" => a.idle = value().parse().expect("--idle N"),
            "--stores" => a.stores = value().parse().expect("--stores N"),
            "--publishes" => a.publishes = value().parse().expect("--publishes N"),
            "--catchup" => a.catchup = value().parse().expect("--catchup N"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.database.is_empty(), "--database postgres://… or sqlite:path is required");
    a
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Opens an event stream and reads up to its `hello`.
async fn subscribe(addr: SocketAddr) -> std::io::Result<BufReader<TcpStream>> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"GET /v1/sync/events HTTP/1.1\r\nHost: hub\r\nAccept: text/event-stream\r\n\r\n").await?;
    let mut r = BufReader::new(s);
    next_event(&mut r, "hello").await?;
    Ok(r)
}

/// Reads until an event named `name`; returns its data.
async fn next_event(r: &mut BufReader<TcpStream>, name: &str) -> std::io::Result<i64> {
    let mut event = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::other("stream closed"));
        }
        let l = line.trim_end();
        if let Some(e) = l.strip_prefix("event:") {
            event = e.trim().to_owned();
        } else if let Some(d) = l.strip_prefix("data:") {
            if event == name {
                return Ok(d.trim().parse().unwrap_or(0));
            }
        }
    }
}

/// One round of a memory replica with the hub (what `Replication::sync_with` does), blocking.
fn round(store: &mut MemReplica, link: &mut HttpSyncLink) -> aisle::Result<()> {
    let answer = link.exchange(&store.request()?)?;
    let messages = unframe_messages(&answer)?;
    let (peer_request, chunks) = messages.split_first().ok_or_else(|| aisle::Error::SyncDecode { detail: "empty answer".into() })?;
    for c in chunks {
        match store.apply(c) {
            Ok(_) | Err(aisle::Error::SyncReplay { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let ours = store.changes_since(peer_request)?;
    if ours.iter().any(|c| aisle::sync::carries_slots(c)) {
        link.push(&frame_messages(&ours))?;
    }
    Ok(())
}

/// The hub's own view of the same publishes (`/metrics`): the propagation histogram (commit →
/// delivery, database clock), connected stores and the worst lag, and how long the scrape took.
fn report_metrics(base: &str, stores: usize) {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let t = Instant::now();
    let Ok(mut reply) = agent.get(&format!("{base}/metrics")).call() else {
        println!("metrics: no answer");
        return;
    };
    let text = reply.body_mut().read_to_string().unwrap_or_default();
    let took = t.elapsed();
    let value = |line: &str| line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
    let buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let le = l.strip_prefix("aisle_hub_sync_propagation_seconds_bucket{le=\"")?.split('"').next()?;
            Some((if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? }, value(l)?))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    let quantile = |q: f64| buckets.iter().find(|b| b.1 >= q * total).map_or(f64::NAN, |b| b.0);
    let connected = text.lines().find(|l| l.starts_with("aisle_hub_connected_stores ")).and_then(value).unwrap_or(f64::NAN);
    let lags: Vec<f64> = text.lines().filter(|l| l.starts_with("aisle_hub_store_sync_lag_changes{")).filter_map(value).collect();
    println!(
        "hub metrics (scrape {:.0} ms): propagation observations {total}, p50 <= {} s, p99 <= {} s (bucket bounds); connected stores {connected}; \
         store ids with a lag series {} (of {stores} simulated devices in 100 stores), worst lag {}",
        took.as_secs_f64() * 1e3,
        quantile(0.5),
        quantile(0.99),
        lags.len(),
        lags.iter().copied().fold(0.0, f64::max)
    );
}

fn enrol(base: &str, card: &Device) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let r = agent
        .post(&format!("{base}/v1/admin/devices"))
        .header("Authorization", "Bearer fanout")
        .send(card.to_json().as_bytes())
        .expect("enrol");
    assert_eq!(r.status().as_u16(), 201, "enrolment refused");
}

fn main() {
    let a = args();
    let exe = std::env::current_exe().unwrap();
    let hub_bin = exe.with_file_name("aisle-hub");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let base = format!("http://{addr}");
    let mut hub = std::process::Command::new(&hub_bin)
        .args(["--database", &a.database, "--listen", &addr.to_string(), "--admin-token", "fanout"])
        .args(["--ip-rate", "0", "--device-rate", "0", "--log", "text"])
        .env("AISLE_HUB_LOG_LEVEL", "warn")
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e} (cargo build --release -p aisle-hub --bins)", hub_bin.display()));
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the hub did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = hub.id();
    let hub_card = {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let text = agent.get(&format!("{base}/v1/sync/identity")).call().unwrap().into_body().read_to_string().unwrap();
        Device::from_json(&text).unwrap()
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("hub pid {pid} on {addr}, database {}", a.database.split('@').next_back().unwrap_or(""));

    // 1. Idle push connections.
    let rss_before = rss_kib(pid);
    let t = Instant::now();
    let idle: Vec<BufReader<TcpStream>> = rt.block_on(async {
        let mut out = Vec::with_capacity(a.idle);
        let mut pending = Vec::new();
        for i in 0..a.idle {
            pending.push(tokio::spawn(subscribe(addr)));
            if pending.len() == 500 || i + 1 == a.idle {
                for p in pending.drain(..) {
                    out.push(p.await.unwrap().expect("a push connection"));
                }
            }
        }
        out
    });
    let opened = t.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = rss_kib(pid);
    println!(
        "idle push connections: {} open (each read its hello) in {:.2} s; hub RSS {} MiB -> {} MiB ({:.1} KiB per connection)",
        idle.len(),
        opened.as_secs_f64(),
        rss_before / 1024,
        rss_after / 1024,
        (rss_after.saturating_sub(rss_before)) as f64 / idle.len().max(1) as f64
    );

    // 2. Publish → event and publish → applied, at `stores` simulated stores.
    let author_seed = [7u8; 32];
    let mut author = MemReplica::new("hq", "pricing-tool", Role::Hq, author_seed);
    author.enroll(&hub_card);
    enrol(&base, &author.card());
    let mut stores: Vec<MemReplica> = (0..a.stores)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1000).to_le_bytes());
            let mut m = MemReplica::new(&format!("s{}", i % 100), &format!("r{i}"), Role::Store, seed);
            m.enroll(&hub_card);
            m
        })
        .collect();
    for s in &stores {
        enrol(&base, &s.card());
    }
    // Every store starts in step with HQ.
    {
        let mut link = HttpSyncLink::new(&HttpSyncConfig::new(&*base)).unwrap();
        for s in stores.iter_mut() {
            round(s, &mut link).unwrap();
        }
    }
    let mut event_ms = Vec::new();
    let mut applied_ms = Vec::new();
    let shared: Vec<Arc<std::sync::Mutex<MemReplica>>> = stores.into_iter().map(|s| Arc::new(std::sync::Mutex::new(s))).collect();
    for p in 0..a.publishes {
        let streams: Vec<BufReader<TcpStream>> = rt.block_on(async {
            let mut v = Vec::new();
            for _ in 0..shared.len() {
                v.push(subscribe(addr).await.unwrap());
            }
            v
        });
        let price = 100 + p as i64;
        author.upsert("product", "TEA", &[("price_minor", aisle::sync::Value::Int(price))]).unwrap();
        let t0 = Instant::now();
        let mut link = HttpSyncLink::new(&HttpSyncConfig::new(&*base)).unwrap();
        round(&mut author, &mut link).unwrap();
        let results: Vec<(f64, f64)> = rt.block_on(async {
            let mut tasks = Vec::new();
            for (mut stream, store) in streams.into_iter().zip(shared.iter().cloned()) {
                let base = base.clone();
                tasks.push(tokio::spawn(async move {
                    next_event(&mut stream, "change").await.unwrap();
                    let heard = t0.elapsed().as_secs_f64() * 1e3;
                    let applied = tokio::task::spawn_blocking(move || {
                        let mut link = HttpSyncLink::new(&HttpSyncConfig::new(base)).unwrap();
                        let mut s = store.lock().unwrap();
                        round(&mut s, &mut link).unwrap();
                        t0.elapsed().as_secs_f64() * 1e3
                    })
                    .await
                    .unwrap();
                    (heard, applied)
                }));
            }
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
        for (h, ap) in results {
            event_ms.push(h);
            applied_ms.push(ap);
        }
        for s in &shared {
            let mut s = s.lock().unwrap();
            let got = s.record("product", "TEA").unwrap().and_then(|r| r.get("price_minor").cloned());
            assert_eq!(got, Some(aisle::sync::Value::Int(price)), "a store missed publish {p}");
        }
    }
    event_ms.sort_by(f64::total_cmp);
    applied_ms.sort_by(f64::total_cmp);
    println!(
        "publish -> change event at {} stores x {} publishes: p50 {:.0} ms, p99 {:.0} ms; publish -> price applied (event + the store's round): p50 {:.0} ms, p99 {:.0} ms",
        shared.len(),
        a.publishes,
        pct(&event_ms, 0.5),
        pct(&event_ms, 0.99),
        pct(&applied_ms, 0.5),
        pct(&applied_ms, 0.99)
    );
    drop(idle);
    report_metrics(&base, shared.len());

    // 3. Catch-up of a store `catchup` changes behind.
    if a.catchup > 0 {
        let per_push = 20_000;
        let mut written = 0;
        let mut link = HttpSyncLink::new(&HttpSyncConfig { timeout_ms: 600_000, ..HttpSyncConfig::new(&*base) }).unwrap();
        let t = Instant::now();
        while written < a.catchup {
            let n = per_push.min(a.catchup - written);
            for k in written..written + n {
                let sku = format!("SKU-{:06}", k / 4);
                let field = ["name", "price_minor", "tax_category", "category"][k % 4];
                author.upsert("product", &sku, &[(field, aisle::sync::Value::Int(k as i64))]).unwrap();
            }
            round(&mut author, &mut link).unwrap();
            written += n;
        }
        let loaded = t.elapsed();
        let mut seed = [0u8; 32];
        seed[0] = 99;
        let mut late = MemReplica::new("s-late", "r1", Role::Store, seed);
        late.enroll(&hub_card);
        enrol(&base, &late.card());
        let t = Instant::now();
        round(&mut late, &mut link).unwrap();
        let caught = t.elapsed();
        println!(
            "catch-up: {} changes pushed by HQ in {:.1} s; a store that had none pulled them in {:.2} s",
            a.catchup,
            loaded.as_secs_f64(),
            caught.as_secs_f64()
        );
    }
    let _ = hub.kill();
    let _ = hub.wait();
}
