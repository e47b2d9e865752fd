//! Shared by the hub's integration tests: a fresh database per test on either backend (real
//! PostgreSQL on loopback from `AISLE_PG_URL` — unset is a failure, not a skip — or a SQLite
//! file), a real store forwarding to a hub, plain HTTP calls, and a tiny TCP load balancer.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aisle::commerce::COMMERCE_STREAM;
use aisle::forward::{ExporterConfig, StreamConfig, WhenFull};
use aisle::{Currency, Edge, EdgeConfig, Money, Product};
use aisle_hub::{Hub, HubConfig, RunningHub};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Sqlite,
}

/// One test's own database (a PostgreSQL database created for it, or a SQLite file).
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: tempfile::TempDir,
}

fn pg_admin_url() -> String {
    std::env::var("AISLE_PG_URL").unwrap_or_else(|_| {
        panic!(
            "AISLE_PG_URL is not set: the hub's tests need a real PostgreSQL. Run `make test-hub`, or \
             `bash scripts/postgres.sh start` and export AISLE_PG_URL=<the URL it prints>"
        )
    })
}

impl TestDb {
    pub fn new(kind: Kind, test: &str) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("hub_{}_{}_{}", test, std::process::id(), fastrand::u32(..)).to_lowercase();
        match kind {
            Kind::Postgres => {
                let admin = pg_admin_url();
                let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to AISLE_PG_URL");
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let (base, _) = admin.rsplit_once('/').expect("AISLE_PG_URL names a database");
                TestDb { kind, url: format!("{base}/{name}"), admin_url: Some(admin), name, _dir: dir }
            }
            Kind::Sqlite => {
                let path = dir.path().join("hub.db");
                TestDb { kind, url: format!("sqlite:{}", path.display()), admin_url: None, name, _dir: dir }
            }
        }
    }

    pub fn config(&self) -> HubConfig {
        let mut c = HubConfig::new(&self.url);
        c.worker_threads = Some(2);
        c.pool_size = 4;
        c
    }

    /// A single number from `sql` (the same SQL runs on both backends).
    pub fn scalar(&self, sql: &str) -> i64 {
        match self.kind {
            Kind::Postgres => {
                let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
                c.query_one(sql, &[]).unwrap().get::<_, Option<i64>>(0).unwrap_or(0)
            }
            Kind::Sqlite => {
                let path = self.url.strip_prefix("sqlite:").unwrap();
                let c = rusqlite::Connection::open(path).unwrap();
                c.busy_timeout(Duration::from_secs(10)).unwrap();
                c.query_row(sql, [], |r| r.get::<_, Option<i64>>(0)).unwrap().unwrap_or(0)
            }
        }
    }

    pub fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT count(*) FROM {table}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(admin) = &self.admin_url
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// Runs one test body against both backends, as two tests.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[test]
            fn postgres() {
                $body(super::support::Kind::Postgres, concat!(stringify!($name), "_pg"));
            }
            #[test]
            fn sqlite() {
                $body(super::support::Kind::Sqlite, concat!(stringify!($name), "_sq"));
            }
        }
    };
}

pub fn start(config: HubConfig) -> RunningHub {
    Hub::start(config).expect("hub starts")
}

pub fn eur(m: i64) -> Money {
    Money::new(m, Currency::EUR)
}

/// A store device with a tax regime, two products and its commerce stream forwarded over HTTP
/// to `ingest_url` (the store's real exporter), in small batches.
pub fn store(dir: &std::path::Path, store_id: &str, device: &str, ingest_url: &str) -> Edge {
    let edge = Edge::open(dir.join(format!("{store_id}-{device}.db")), EdgeConfig::new(store_id, device, Currency::EUR)).unwrap();
    let mut settings = edge.settings().unwrap();
    settings.tax_regime = Some(
        aisle::commerce::tax::TaxRegime::from_json(
            r#"{"id":"vat","prices_include_tax":true,"rounding":{"mode":"half_up","level":"line"},
                "rates":[{"id":"S","name":"VAT 20%","categories":["standard"],"percent":"20"}]}"#,
        )
        .unwrap(),
    );
    edge.set_settings(&settings).unwrap();
    edge.catalog().upsert(&Product::new("TEA", "Tea", eur(350), "standard")).unwrap();
    edge.catalog().upsert(&Product::new("MUG", "Mug", eur(900), "standard")).unwrap();
    let streams = edge.streams();
    streams.create(&StreamConfig::durable(COMMERCE_STREAM, 1 << 30, WhenFull::Reject).with_priority(100)).unwrap();
    let exporter = serde_json::json!({
        "name": "hq",
        "sink": {"type": "http", "url": ingest_url, "compression": "zstd", "timeout_ms": 5000},
        "batch_max_records": 7,
        "retry": {"initial_ms": 50, "max_ms": 500, "probe_ms": 100},
    });
    streams.add_exporter(COMMERCE_STREAM, &ExporterConfig::from_json(&exporter.to_string()).unwrap()).unwrap();
    edge
}

/// Rings up sale `i`: tea (and a mug every third), paid cash, or card + cash every other one.
/// Returns the number of tenders.
pub fn ring(edge: &Edge, i: usize) -> usize {
    use aisle::commerce::tender::{CardAuth, TenderInput};
    let cart = edge.new_cart().unwrap();
    cart.add("TEA", 1 + (i % 3) as i64).unwrap();
    if i % 3 == 0 {
        cart.add("MUG", 1).unwrap();
    }
    let tenders = if i % 2 == 0 {
        vec![TenderInput::cash(eur(10_000))]
    } else {
        vec![
            TenderInput::card(
                eur(100),
                CardAuth {
                    token: format!("tok_{i}"),
                    brand: "VISA".into(),
                    last4: "1111".into(),
                    auth_code: Some("A1".into()),
                    offline: false,
                    authorized_at_ms: 0,
                },
            ),
            TenderInput::cash(eur(10_000)),
        ]
    };
    cart.complete(&tenders).unwrap();
    tenders.len()
}

pub fn wait_until(timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ok()
}

pub struct Reply {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<String>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

pub fn get(url: &str) -> Reply {
    reply(agent().get(url).call().unwrap())
}

pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.send(body).unwrap())
}

fn reply(mut r: ureq::http::Response<ureq::Body>) -> Reply {
    let status = r.status().as_u16();
    let retry_after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = r.body_mut().read_to_string().unwrap_or_default();
    Reply { status, body, retry_after }
}

/// A batch body of `records` (seq, payload JSON) for store/device/stream, as an exporter sends it.
pub fn batch(store: &str, device: &str, stream: &str, records: &[(u64, &str)]) -> Vec<u8> {
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|(seq, data)| serde_json::json!({"seq": seq, "at_ms": 1_700_000_000_000i64 + *seq as i64, "data": serde_json::from_str::<serde_json::Value>(data).unwrap()}))
        .collect();
    serde_json::json!({"store": store, "device": device, "stream": stream,
        "first_seq": records.first().map(|r| r["seq"].clone()), "last_seq": records.last().map(|r| r["seq"].clone()),
        "records": records})
    .to_string()
    .into_bytes()
}

/// A TCP load balancer on loopback: each connection goes to the current backend; when it
/// refuses, the balancer switches to the next one (like a health-checked balancer would).
pub struct Balancer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    pub switches: Arc<AtomicUsize>,
}

impl Balancer {
    pub fn start(backends: Vec<SocketAddr>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let switches = Arc::new(AtomicUsize::new(0));
        let current = Arc::new(Mutex::new(0usize));
        let (st, sw) = (stop.clone(), switches.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let client = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                client.set_nonblocking(false).unwrap();
                let mut upstream = None;
                for _ in 0..backends.len() {
                    let i = *current.lock().unwrap();
                    match TcpStream::connect_timeout(&backends[i], Duration::from_secs(1)) {
                        Ok(s) => {
                            upstream = Some(s);
                            break;
                        }
                        Err(_) => {
                            *current.lock().unwrap() = (i + 1) % backends.len();
                            sw.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let Some(up) = upstream else { continue };
                pipe(client.try_clone().unwrap(), up.try_clone().unwrap());
                pipe(up, client);
            }
        });
        Balancer { addr, stop, switches }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
        let _ = from.shutdown(std::net::Shutdown::Both);
    });
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
