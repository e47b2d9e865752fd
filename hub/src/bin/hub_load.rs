//! Load generator for the hub's ingest (figures in docs/performance.md, "HQ hub"): the same
//! forwarded sales, side by side in one run, into PostgreSQL
//!
//! 1. through the hub over HTTP (`POST /v1/ingest`, zstd NDJSON, exactly once),
//! 2. straight into the backend (`Backend::ingest`: the exactly-once transaction, no HTTP),
//! 3. re-sent over HTTP (every record a duplicate),
//! 4. as the ceiling: `COPY` of the same rows into the same tables, with no deduplication.
//!
//! ```text
//! url=$(bash scripts/postgres.sh start)
//! cargo run --release -p aisle-hub --bin hub-load -- --pg "$url" --records 200000 --clients 4
//! ```
//! Each mode gets a fresh database (dropped afterwards). Records are real `SaleCompleted`
//! envelopes rung up by the core (two lines, card + cash), each with its own receipt number.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aisle::commerce::COMMERCE_STREAM;
use aisle::forward::{Batch, Compression, PayloadFormat, Record, compress};
use aisle_hub::ingest::rows::rows;
use aisle_hub::store::Backend;
use aisle_hub::{Hub, HubConfig};

struct Args {
    pg: String,
    records: usize,
    batch: usize,
    clients: usize,
}

fn main() {
    let mut a = Args { pg: std::env::var("AISLE_PG_URL").unwrap_or_default(), records: 100_000, batch: 500, clients: 4 };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v = it.next().unwrap_or_else(|| die(&format!("{f} needs a value")));
        let n = || v.parse::<usize>().unwrap_or_else(|_| die(&format!("{f}: not a number")));
        match f.as_str() {
            "--pg" => a.pg = v.clone(),
            "--records" => a.records = n(),
            "--batch" => a.batch = n().max(1),
            "--clients" => a.clients = n().max(1),
            _ => die(&format!("unknown option {f}")),
        }
    }
    if a.pg.is_empty() {
        die("needs --pg postgres://… or AISLE_PG_URL (bash scripts/postgres.sh start prints one)");
    }
    let template = sale_template();
    let per_client = a.records / a.clients;
    let batches: Vec<Vec<Batch>> = (0..a.clients)
        .map(|c| {
            let device = format!("till-{c}");
            (0..per_client)
                .collect::<Vec<_>>()
                .chunks(a.batch)
                .map(|chunk| Batch {
                    store: "store-load".into(),
                    device: device.clone(),
                    stream: COMMERCE_STREAM.into(),
                    format: PayloadFormat::Json,
                    records: chunk
                        .iter()
                        .map(|i| Record {
                            seq: *i as u64 + 1,
                            at_ms: 1_800_000_000_000 + *i as i64,
                            payload: template.replace("\"till-1-000001\"", &format!("\"{device}-{i:08}\"")).into_bytes(),
                        })
                        .collect(),
                })
                .collect()
        })
        .collect();
    let total = per_client * a.clients;
    let bytes: usize = batches.iter().flatten().map(|b| b.payload_bytes() as usize).sum();
    println!(
        "hub-load: {total} SaleCompleted records ({} bytes each), batches of {}, {} concurrent clients, PostgreSQL {}",
        bytes / total.max(1),
        a.batch,
        a.clients,
        server_version(&a.pg)
    );

    let mut results: Vec<(&str, Duration, usize)> = Vec::new();
    // 1 + 3: over HTTP, then the same again.
    let db = Db::create(&a.pg, "http");
    let (first, again) = run_http(&db.url, &batches, a.clients);
    check(&db, total);
    results.push(("hub over HTTP, exactly once (POST /v1/ingest, zstd NDJSON)", first, total));
    results.push(("hub over HTTP, the same batches again (all duplicates)", again, total));
    drop(db);
    // 2: the backend's transaction without HTTP.
    let db = Db::create(&a.pg, "direct");
    let backend: Arc<dyn Backend> = aisle_hub::store::open(&db.url, a.clients as u32 + 1).unwrap_or_else(|e| die(&e.to_string()));
    let took = parallel(&batches, |b| {
        backend.ingest(rows(b).unwrap()).unwrap();
    });
    drop(backend);
    check(&db, total);
    results.push(("Backend::ingest, exactly once (no HTTP)", took, total));
    drop(db);
    // 4: COPY of the same rows, no deduplication: the ceiling.
    let db = Db::create(&a.pg, "copy");
    drop(aisle_hub::store::open(&db.url, 1).unwrap_or_else(|e| die(&e.to_string())));
    let url = db.url.clone();
    let took = parallel_with(&batches, || postgres::Client::connect(&url, postgres::NoTls).unwrap(), |c, b| copy(c, b));
    check_rows(&db, total);
    results.push(("ceiling: COPY of the same rows (no dedup, no HTTP)", took, total));
    drop(db);

    println!("\n| mode | records | seconds | records/s |\n|---|---:|---:|---:|");
    for (mode, took, n) in &results {
        println!("| {mode} | {n} | {:.2} | {:.0} |", took.as_secs_f64(), *n as f64 / took.as_secs_f64());
    }
}

fn die(msg: &str) -> ! {
    eprintln!("hub-load: {msg}");
    std::process::exit(2)
}

/// A real SaleCompleted envelope, rung up by the core: two lines, card + cash.
fn sale_template() -> String {
    use aisle::commerce::tender::{CardAuth, TenderInput};
    use aisle::{Currency, Edge, EdgeConfig, Money, Product};
    let dir = std::env::temp_dir().join(format!("hub-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let edge = Edge::open(dir.join("store.db"), EdgeConfig::new("store-load", "till-1", Currency::EUR)).unwrap();
    let eur = |m| Money::new(m, Currency::EUR);
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
    let cart = edge.new_cart().unwrap();
    cart.add("TEA", 2).unwrap();
    cart.add("MUG", 1).unwrap();
    let card = CardAuth {
        token: "tok_1".into(),
        brand: "VISA".into(),
        last4: "1111".into(),
        auth_code: Some("A1".into()),
        offline: false,
        authorized_at_ms: 0,
    };
    cart.complete(&[TenderInput::card(eur(1000), card), TenderInput::cash(eur(1000))]).unwrap();
    let rec = edge.streams().read(COMMERCE_STREAM, 0, 1).unwrap().remove(0);
    drop(edge);
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(rec.payload).unwrap()
}

struct Db {
    admin: String,
    name: String,
    url: String,
}

impl Db {
    fn create(admin: &str, mode: &str) -> Db {
        let name = format!("hub_load_{mode}_{}", std::process::id());
        let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap_or_else(|e| die(&format!("{admin}: {e}")));
        // Two statements: several in one call would run as one transaction, which DROP DATABASE refuses.
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap_or_else(|| die("the URL names no database"));
        Db { admin: admin.to_owned(), url: format!("{base}/{name}"), name }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

fn server_version(url: &str) -> String {
    postgres::Client::connect(url, postgres::NoTls)
        .and_then(|mut c| c.query_one("SHOW server_version", &[]))
        .map(|r| r.get::<_, String>(0))
        .unwrap_or_else(|e| die(&format!("{url}: {e}")))
}

fn count(url: &str, sql: &str) -> i64 {
    postgres::Client::connect(url, postgres::NoTls).unwrap().query_one(sql, &[]).unwrap().get(0)
}

fn check(db: &Db, total: usize) {
    assert_eq!(count(&db.url, "SELECT count(*) FROM ingest_record"), total as i64);
    check_rows(db, total);
}

fn check_rows(db: &Db, total: usize) {
    assert_eq!(count(&db.url, "SELECT count(*) FROM hub_sale"), total as i64, "every sale once");
    assert_eq!(count(&db.url, "SELECT count(*) FROM hub_payment"), 2 * total as i64);
}

/// Every client's batches in order, the clients in parallel; wall time.
fn parallel(batches: &[Vec<Batch>], f: impl Fn(&Batch) + Sync) -> Duration {
    parallel_with(batches, || (), |_, b| f(b))
}

fn parallel_with<S: Send>(batches: &[Vec<Batch>], init: impl Fn() -> S + Sync, f: impl Fn(&mut S, &Batch) + Sync) -> Duration {
    let states: Vec<S> = batches.iter().map(|_| init()).collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        for (mine, mut state) in batches.iter().zip(states) {
            let f = &f;
            s.spawn(move || {
                for b in mine {
                    f(&mut state, b);
                }
            });
        }
    });
    started.elapsed()
}

fn run_http(url: &str, batches: &[Vec<Batch>], clients: usize) -> (Duration, Duration) {
    let mut cfg = HubConfig::new(url);
    cfg.limits.device_rate = 0.0;
    cfg.limits.ip_rate = 0.0;
    cfg.pool_size = clients as u32 + 1;
    let hub = Hub::start(cfg).unwrap_or_else(|e| die(&e.to_string()));
    let endpoint = format!("{}/v1/ingest", hub.url());
    let bodies: Vec<Vec<Vec<u8>>> =
        batches.iter().map(|bs| bs.iter().map(|b| compress(b.to_ndjson(), Compression::Zstd).unwrap().0).collect()).collect();
    let send = |expect_applied: bool| {
        let started = Instant::now();
        std::thread::scope(|s| {
            for mine in &bodies {
                let endpoint = &endpoint;
                s.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
                    for body in mine {
                        let mut r = agent
                            .post(endpoint)
                            .header("Content-Encoding", "zstd")
                            .header("Content-Type", "application/x-ndjson")
                            .send(&body[..])
                            .unwrap_or_else(|e| die(&format!("POST: {e}")));
                        let answer: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                        assert_eq!(answer["applied"].as_u64().unwrap() > 0, expect_applied, "{answer}");
                    }
                });
            }
        });
        started.elapsed()
    };
    let first = send(true);
    let again = send(false);
    hub.shutdown();
    (first, again)
}

/// COPY (text format) of a batch's rows into hub_event, hub_sale, hub_payment and
/// hub_stock_movement, in one transaction.
fn copy(c: &mut postgres::Client, b: &Batch) {
    let r = rows(b).unwrap();
    let mut tx = c.transaction().unwrap();
    let key = format!("{}\t{}\t{}", esc(&r.store), esc(&r.device), esc(&r.stream));
    let mut put = |sql: &str, lines: String| {
        let mut w = tx.copy_in(sql).unwrap();
        w.write_all(lines.as_bytes()).unwrap();
        w.finish().unwrap();
    };
    let n = |v: Option<&str>| v.map_or("\\N".to_owned(), esc);
    put(
        "COPY hub_event (store, device, stream, seq, at_ms, type, version, payload) FROM STDIN",
        r.events
            .iter()
            .map(|e| {
                format!("{key}\t{}\t{}\t{}\t{}\t{}\n", e.seq, e.at_ms, n(e.kind.as_deref()), e.version.unwrap_or(1), n(e.payload.as_deref()))
            })
            .collect(),
    );
    put(
        "COPY hub_sale (store, device, stream, seq, receipt_no, kind, at_ms, currency, subtotal_minor, discount_minor, net_minor,
             tax_minor, total_minor, lines, original, customer_id, cart_id, exchange_with) FROM STDIN",
        r.sales
            .iter()
            .map(|s| {
                format!(
                    "{key}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    s.seq,
                    esc(&s.receipt_no),
                    s.kind,
                    s.at_ms,
                    s.currency,
                    s.subtotal_minor,
                    s.discount_minor,
                    s.net_minor,
                    s.tax_minor,
                    s.total_minor,
                    s.lines,
                    n(s.original.as_deref()),
                    n(s.customer_id.as_deref()),
                    n(s.cart_id.as_deref()),
                    n(s.exchange_with.as_deref())
                )
            })
            .collect(),
    );
    put(
        "COPY hub_payment (store, device, stream, seq, idx, receipt_no, at_ms, kind, currency, amount_minor, tendered_minor,
             change_minor, card_brand, card_last4, offline, reference) FROM STDIN",
        r.payments
            .iter()
            .map(|p| {
                format!(
                    "{key}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    p.seq,
                    p.idx,
                    esc(&p.receipt_no),
                    p.at_ms,
                    p.kind,
                    p.currency,
                    p.amount_minor,
                    p.tendered_minor,
                    p.change_minor,
                    n(p.card_brand.as_deref()),
                    n(p.card_last4.as_deref()),
                    p.offline,
                    n(p.reference.as_deref())
                )
            })
            .collect(),
    );
    put(
        "COPY hub_stock_movement (store, device, stream, seq, idx, receipt_no, at_ms, sku, units, grams, reason) FROM STDIN",
        r.stock
            .iter()
            .map(|m| {
                format!(
                    "{key}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    m.seq,
                    m.idx,
                    esc(&m.receipt_no),
                    m.at_ms,
                    esc(&m.sku),
                    m.units,
                    m.grams.map_or("\\N".into(), |g| g.to_string()),
                    m.reason
                )
            })
            .collect(),
    );
    tx.commit().unwrap();
}

/// COPY text-format escaping.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r")
}
