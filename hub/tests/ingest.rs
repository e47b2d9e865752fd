//! The ingest side of the hub against a real PostgreSQL on loopback (`AISLE_PG_URL`) and the
//! same body against SQLite: a real store's exporter forwarding sales, two instances behind a
//! load balancer with one killed mid-stream, refusals that change nothing, rate limits, and the
//! operational endpoints.

mod support;

use std::time::Duration;

use support::{Balancer, Kind, TestDb, batch, get, post, ring, start, store, wait_until};

fn sale_counts(db: &TestDb) -> (i64, i64, i64) {
    (db.count("hub_sale"), db.scalar("SELECT count(DISTINCT store || '/' || receipt_no) FROM hub_sale"), db.count("ingest_record"))
}

/// A store rings up sales; its exporter forwards them; each lands once in hub_sale with its
/// payments and stock movements, and re-sending changes nothing.
fn store_sales_land_exactly_once(kind: Kind, name: &str) {
    let db = TestDb::new(kind, name);
    let hub = start(db.config());
    let dir = tempfile::tempdir().unwrap();
    let edge = store(dir.path(), "store-1", "till-1", &format!("{}/v1/ingest", hub.url()));
    edge.streams().start();
    let mut tenders = 0;
    let mut lines = 0;
    for i in 0..40 {
        tenders += support::ring(&edge, i);
        lines += if i % 3 == 0 { 2 } else { 1 };
    }
    assert!(edge.streams().flush(Duration::from_secs(30)).unwrap(), "the exporter drained");
    assert_eq!(sale_counts(&db), (40, 40, 40));
    assert_eq!(db.count("hub_payment"), tenders as i64);
    assert_eq!(db.count("hub_stock_movement"), lines);
    assert_eq!(db.count("hub_event"), 40);
    assert_eq!(db.scalar("SELECT count(*) FROM hub_event WHERE type = 'SaleCompleted'"), 40);
    // Totals agree with the store's own records, to the cent.
    let store_total: i64 = edge
        .sales()
        .receipt_numbers()
        .unwrap()
        .iter()
        .map(|r| edge.sales().get(r).unwrap().total.minor())
        .sum();
    assert_eq!(db.scalar("SELECT CAST(sum(total_minor) AS bigint) FROM hub_sale"), store_total);
    assert_eq!(
        db.scalar("SELECT CAST(sum(amount_minor) AS bigint) FROM hub_payment"),
        store_total,
        "payments (after change) add up to the sales"
    );
    assert_eq!(db.scalar("SELECT count(*) FROM hub_payment WHERE kind = 'card' AND card_last4 = '1111'"), 20);
    assert_eq!(db.scalar("SELECT -CAST(sum(units) AS bigint) FROM hub_stock_movement WHERE sku = 'TEA'"), (0..40).map(|i| 1 + i % 3).sum::<i64>());

    // A refund lands as a refund, and its returned units come back into stock.
    let first = edge.sales().receipt_numbers().unwrap()[0].clone();
    let sale = edge.sales().get(&first).unwrap();
    edge.sales()
        .return_items(
            &first,
            &[aisle::commerce::ReturnItem { line_no: sale.lines[0].line_no, quantity: 1 }],
            "damaged",
            aisle::commerce::RefundTo::OriginalTenders,
        )
        .unwrap();
    assert!(edge.streams().flush(Duration::from_secs(30)).unwrap());
    assert_eq!(db.scalar("SELECT count(*) FROM hub_sale WHERE kind = 'refund' AND original IS NOT NULL"), 1);
    assert_eq!(db.scalar("SELECT CAST(sum(units) AS bigint) FROM hub_stock_movement WHERE reason = 'return'"), 1);
    edge.streams().stop();

    // The same records again (a retry after a lost answer, other batch boundaries): duplicates.
    let records = edge.streams().read(aisle::commerce::COMMERCE_STREAM, 0, 1000).unwrap();
    let before = (db.count("hub_sale"), db.count("hub_payment"), db.count("hub_event"));
    if !records.is_empty() {
        let body = aisle::forward::Batch {
            store: "store-1".into(),
            device: "till-1".into(),
            stream: "commerce".into(),
            format: aisle::forward::PayloadFormat::Json,
            records,
        }
        .to_ndjson();
        let r = post(&format!("{}/v1/ingest", hub.url()), &[], &body);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["applied"], 0);
    }
    assert_eq!((db.count("hub_sale"), db.count("hub_payment"), db.count("hub_event")), before);
    hub.shutdown();
}
both_backends!(store_sales_land_exactly_once, super::store_sales_land_exactly_once);

/// Two instances share one database behind a load balancer. Instance A is killed mid-stream;
/// the store's exporter retries through the balancer against B; every sale lands exactly once.
fn failover_between_instances_loses_nothing_and_applies_nothing_twice(kind: Kind, name: &str) {
    let db = TestDb::new(kind, name);
    let a = start(db.config());
    let b = start(db.config());
    let lb = Balancer::start(vec![a.addr(), b.addr()]);
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<_> = (0..2)
        .map(|i| store(dir.path(), &format!("store-{i}"), "till-1", &format!("http://{}/v1/ingest", lb.addr)))
        .collect();
    for s in &stores {
        s.streams().start();
    }
    const SALES: usize = 120;
    let ringers: Vec<_> = stores
        .iter()
        .map(|s| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..SALES {
                    ring(&s, i);
                    std::thread::sleep(Duration::from_millis(3));
                }
            })
        })
        .collect();
    assert!(wait_until(Duration::from_secs(60), || db.count("hub_sale") >= 40), "sales reach instance A");
    a.abort();
    for r in ringers {
        r.join().unwrap();
    }
    for s in &stores {
        assert!(s.streams().flush(Duration::from_secs(60)).unwrap(), "the exporter drained through B");
        s.streams().stop();
    }
    let total = (2 * SALES) as i64;
    assert_eq!(sale_counts(&db), (total, total, total), "every sale exactly once");
    assert_eq!(db.scalar("SELECT count(*) FROM (SELECT store, receipt_no FROM hub_sale GROUP BY store, receipt_no HAVING count(*) > 1) d"), 0);
    assert_eq!(db.count("hub_event"), total);
    assert!(lb.switches.load(std::sync::atomic::Ordering::Relaxed) >= 1, "the balancer moved to B");
    let m = get(&format!("{}/metrics", b.url())).body;
    assert!(m.contains("aisle_hub_ingest_records_total"), "{m}");
    b.shutdown();
}
both_backends!(failover_between_instances_loses_nothing_and_applies_nothing_twice, super::failover_between_instances_loses_nothing_and_applies_nothing_twice);

const SALE_OK: &str = r#"{"type":"X-Unknown","version":1,"at_ms":1,"data":{"anything":[1,2]}}"#;

/// Malformed, unreadable and oversized bodies are refused with a typed error and write nothing.
fn bad_bodies_are_refused_and_change_nothing(kind: Kind, name: &str) {
    let db = TestDb::new(kind, name);
    let mut cfg = db.config();
    cfg.limits.max_body_bytes = 64 * 1024;
    cfg.limits.max_decompressed_bytes = 256 * 1024;
    let hub = start(cfg);
    let url = format!("{}/v1/ingest", hub.url());
    let refused = |r: &support::Reply, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.json()["code"], code, "{}", r.body);
        assert!(r.json()["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    refused(&post(&url, &[], b"not json"), 400, "INGEST_REJECTED");
    refused(&post(&url, &[], b""), 400, "INGEST_REJECTED");
    refused(&post(&url, &[], br#"{"store":"s","device":"d","stream":"x","records":[{"seq":2,"at_ms":0,"data":1},{"seq":1,"at_ms":0,"data":1}]}"#), 400, "INGEST_REJECTED");
    refused(&post(&url, &[("Content-Encoding", "br")], &batch("s", "d", "x", &[(1, "1")])), 400, "INGEST_REJECTED");
    refused(&post(&url, &[("Content-Encoding", "gzip")], b"\x1f\x8bnot gzip"), 400, "INGEST_REJECTED");
    // A good record and a SaleCompleted whose data is not a sale: the whole batch is refused.
    let bad_sale = r#"{"type":"SaleCompleted","version":1,"at_ms":1,"data":{"receipt_no":"x"}}"#;
    let r = post(&url, &[], &batch("s", "d", "commerce", &[(1, SALE_OK), (2, bad_sale)]));
    refused(&r, 400, "INGEST_REJECTED");
    assert!(r.body.contains("seq 2"), "names the record: {}", r.body);
    // Too large as sent, and too large once decompressed (a zstd bomb).
    refused(&post(&url, &[], &vec![b' '; 65 * 1024]), 413, "PAYLOAD_TOO_LARGE");
    let bomb = zstd::bulk::compress(&vec![b' '; 1 << 20], 19).unwrap();
    assert!(bomb.len() < 64 * 1024);
    refused(&post(&url, &[("Content-Encoding", "zstd")], &bomb), 413, "PAYLOAD_TOO_LARGE");
    for t in ["ingest_record", "hub_event", "hub_sale", "hub_payment", "hub_stock_movement", "hub_insight"] {
        assert_eq!(db.count(t), 0, "{t} untouched");
    }

    // Good input after all that: unknown types go to hub_event only, insights to hub_insight,
    // a bytes stream's records are kept as bytes, a newer event version is kept untyped.
    let insight = r#"{"type":"VisionInsight","version":1,"at_ms":60000,"data":{"camera":"door","start_ms":0,"end_ms":60000,
        "frames":600,"frames_dropped":0,"model":"people-v1","lines":[{"name":"door","in":12,"out":9}],
        "zones":[{"name":"queue","kind":"queue","entries":5,"occupancy_mean":1.5,"occupancy_max":3,"visits":4,"dwell_p50_ms":30000,"dwell_p90_ms":90000}]}}"#;
    let future_sale = r#"{"type":"SaleCompleted","version":99,"at_ms":1,"data":{"whatever":true}}"#;
    let r = post(&url, &[], &batch("s", "d", "mixed", &[(1, SALE_OK), (2, insight), (3, future_sale)]));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!({"applied": 3, "duplicates": 0, "high_seq": 3}));
    assert_eq!((db.count("hub_event"), db.count("hub_insight"), db.count("hub_sale")), (3, 1, 0));
    assert_eq!(db.scalar("SELECT frames FROM hub_insight WHERE camera = 'door'"), 600);
    let bytes = br#"{"store":"s","device":"d","stream":"raw","records":[{"seq":5,"at_ms":0,"data_b64":"AAEC"}]}"#;
    let r = post(&url, &[("Content-Encoding", "gzip")], &gzip(bytes));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(db.scalar("SELECT count(*) FROM hub_event WHERE stream = 'raw' AND raw IS NOT NULL AND payload IS NULL"), 1);
    // Overlapping boundaries: 2..4 after 1..3 applies only 4.
    let r = post(&url, &[], &batch("s", "d", "mixed", &[(2, SALE_OK), (3, SALE_OK), (4, SALE_OK)]));
    assert_eq!(r.json(), serde_json::json!({"applied": 1, "duplicates": 2, "high_seq": 4}));
    hub.shutdown();
}
both_backends!(bad_bodies_are_refused_and_change_nothing, super::bad_bodies_are_refused_and_change_nothing);

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A device over its budget gets 429 with Retry-After (and another device does not); so does
/// a client IP over its own.
fn rate_limits_answer_429_with_retry_after(kind: Kind, name: &str) {
    let db = TestDb::new(kind, name);
    let mut cfg = db.config();
    cfg.limits.device_rate = 0.5;
    cfg.limits.device_burst = 2.0;
    cfg.limits.ip_rate = 0.0;
    let hub = start(cfg);
    let url = format!("{}/v1/ingest", hub.url());
    for seq in 1..=2 {
        assert_eq!(post(&url, &[], &batch("s", "busy", "x", &[(seq, "1")])).status, 200);
    }
    let r = post(&url, &[], &batch("s", "busy", "x", &[(3, "1")]));
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["code"], "RATE_LIMITED");
    assert!(r.retry_after.as_deref().and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s >= 1), "Retry-After: {:?}", r.retry_after);
    assert_eq!(db.scalar("SELECT count(*) FROM ingest_record WHERE device = 'busy'"), 2, "the refused batch wrote nothing");
    assert_eq!(post(&url, &[], &batch("s", "quiet", "x", &[(1, "1")])).status, 200, "buckets are per device");
    hub.shutdown();

    let mut cfg = db.config();
    cfg.limits.ip_rate = 0.5;
    cfg.limits.ip_burst = 3.0;
    let hub = start(cfg);
    let url = format!("{}/v1/ingest", hub.url());
    let statuses: Vec<u16> = (0..4).map(|i| post(&url, &[], &batch("s", &format!("d{i}"), "x", &[(1, "1")])).status).collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(get(&format!("{}/healthz", hub.url())).status, 200, "probes are not limited");
    assert!(get(&format!("{}/metrics", hub.url())).body.contains("aisle_hub_rate_limited_total 1"));
    hub.shutdown();
}
both_backends!(rate_limits_answer_429_with_retry_after, super::rate_limits_answer_429_with_retry_after);

/// Liveness, readiness, Prometheus metrics, the ingest token, and a graceful stop.
fn health_ready_metrics_and_shutdown(kind: Kind, name: &str) {
    let db = TestDb::new(kind, name);
    let mut cfg = db.config();
    cfg.ingest_token = Some("s3cret".into());
    let hub = start(cfg);
    let base = hub.url();
    let h = get(&format!("{base}/healthz"));
    assert_eq!((h.status, h.body.trim()), (200, "ok"));
    let r = get(&format!("{base}/readyz"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["ready"], true);
    let body = batch("s", "d", "x", &[(1, "1"), (2, "2")]);
    let r = post(&format!("{base}/v1/ingest"), &[], &body);
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let r = post(&format!("{base}/v1/ingest"), &[("Authorization", "Bearer s3cret")], &body);
    assert_eq!(r.status, 200, "{}", r.body);
    post(&format!("{base}/v1/ingest"), &[("Authorization", "Bearer s3cret")], &body);
    let m = get(&format!("{base}/metrics"));
    assert_eq!(m.status, 200);
    for line in [
        "aisle_hub_ingest_records_total 2",
        "aisle_hub_ingest_duplicates_total 2",
        "aisle_hub_ingest_batches_total 2",
        "aisle_hub_push_connections 0",
        "aisle_hub_http_requests_total{route=\"/v1/ingest\",status=\"401\"} 1",
        "aisle_hub_http_request_duration_seconds_count{route=\"/v1/ingest\"} 3",
    ] {
        assert!(m.body.lines().any(|l| l == line), "missing {line:?} in\n{}", m.body);
    }
    assert_eq!(get(&format!("{base}/nope")).status, 404);
    let addr = hub.addr();
    hub.shutdown();
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(), "stopped accepting");
    // A second start on the same database finds its schema and serves again.
    let again = start(db.config());
    assert_eq!(get(&format!("{}/readyz", again.url())).status, 200);
    again.shutdown();
}
both_backends!(health_ready_metrics_and_shutdown, super::health_ready_metrics_and_shutdown);
