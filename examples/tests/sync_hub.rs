//! Stores syncing with the example HQ hub over real HTTP on loopback: prices and promotions
//! published at HQ reach every register, partitioned sales converge, another store never sees
//! this store's data, and refusals come back as typed errors.

use aisle::sync::{Role, SyncLink};
use aisle::transport::{HttpSyncConfig, HttpSyncLink, Syncer, SyncerConfig};
use aisle::{Currency, Edge, EdgeConfig, Money, Product};
use aisle_examples::SyncHub;

fn edge(dir: &tempfile::TempDir, store: &str, device: &str) -> Edge {
    Edge::open(dir.path().join(format!("{store}-{device}.db")), EdgeConfig::new(store, device, Currency::EUR)).unwrap()
}

fn eur(s: &str) -> Money {
    Money::parse(s, Currency::EUR).unwrap()
}

/// Enrols each store device with HQ and HQ with it (what an enrolment screen does).
fn enrol(hq: &Edge, devices: &[&Edge]) {
    let hq_card = hq.sync().identity().unwrap();
    for d in devices {
        hq.sync().enroll(&d.sync().identity().unwrap()).unwrap();
        d.sync().enroll(&hq_card).unwrap();
    }
}

fn link(hub: &SyncHub) -> HttpSyncLink {
    HttpSyncLink::new(&HttpSyncConfig::new(hub.url())).unwrap()
}

#[test]
fn a_fleet_converges_through_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hq = edge(&dir, "hq", "hq-1");
    hq.sync().set_role(Role::Hq).unwrap();
    let (r1, r2, other) = (edge(&dir, "s1", "r1"), edge(&dir, "s1", "r2"), edge(&dir, "s2", "r1"));
    enrol(&hq, &[&r1, &r2, &other]);
    let hub = SyncHub::start(hq.sync(), 0, 4).unwrap();

    hq.catalog().upsert(&Product::new("BEER", "Beer 0.5 l", eur("1.20"), "standard")).unwrap();
    hq.set_promotions_json(r#"[{"id":"HALF","rule":{"type":"percent_off","target":{"skus":["BEER"]},"percent":50}}]"#).unwrap();
    for r in [&r1, &r2, &other] {
        r.sync().sync_with(&mut link(&hub)).unwrap();
        assert_eq!(r.catalog().get("BEER").unwrap().price, eur("1.20"));
        assert_eq!(r.promotions().unwrap().len(), 1);
    }

    // Partitioned registers sell, one counts the shelf; a shared cart gets lines on both.
    r1.sync().stock_add("BEER", "shelf", 24).unwrap();
    r1.sync().sync_with(&mut link(&hub)).unwrap();
    r2.sync().sync_with(&mut link(&hub)).unwrap();
    r1.sync().stock_add("BEER", "shelf", -3).unwrap();
    r2.sync().stock_add("BEER", "shelf", -2).unwrap();
    r2.sync().stocktake("BEER", "shelf", 20).unwrap();
    r1.sync().cart_add("cart-7", "BEER", 1).unwrap();
    r2.sync().cart_add("cart-7", "BEER", 1).unwrap();
    other.sync().stock_add("BEER", "shelf", 99).unwrap();
    hq.catalog().upsert(&Product::new("BEER", "Beer 0.5 l", eur("1.30"), "standard")).unwrap();
    for _ in 0..2 {
        for r in [&r1, &r2, &other] {
            r.sync().sync_with(&mut link(&hub)).unwrap();
        }
    }
    for r in [&r1, &r2] {
        assert_eq!(r.sync().stock_level("BEER", "shelf").unwrap(), 17, "20 counted, minus r1's 3 that r2 had not seen");
        assert_eq!(r.sync().cart_lines("cart-7").unwrap(), vec![("BEER".to_owned(), 2)]);
        assert_eq!(r.catalog().get("BEER").unwrap().price, eur("1.30"));
    }
    assert_eq!(r1.sync().digest().unwrap(), r2.sync().digest().unwrap());
    assert_eq!(hq.sync().digest_in("store:s1").unwrap(), r1.sync().digest_in("store:s1").unwrap());
    assert_eq!(hq.sync().digest_in("global").unwrap(), other.sync().digest_in("global").unwrap());
    // Store s2 has its own stock and none of s1's carts or stock.
    assert_eq!(other.sync().stock_level("BEER", "shelf").unwrap(), 99);
    assert_eq!(other.sync().stock_level_in("store:s1", "BEER", "shelf").unwrap(), 0);
    assert!(other.sync().vector().unwrap().scopes().all(|s| s != "store:s1"));
    assert_eq!(hq.sync().stock_level_in("store:s2", "BEER", "shelf").unwrap(), 99);
    assert_eq!(hub.seen.refused.load(std::sync::atomic::Ordering::SeqCst), 0);
    hub.stop();
}

#[test]
fn the_hub_refuses_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let hq = edge(&dir, "hq", "hq-1");
    hq.sync().set_role(Role::Hq).unwrap();
    let (r1, stranger) = (edge(&dir, "s1", "r1"), edge(&dir, "s1", "r9"));
    enrol(&hq, &[&r1]);
    stranger.sync().enroll(&hq.sync().identity().unwrap()).unwrap();
    let hub = SyncHub::start(hq.sync(), 0, 2).unwrap();

    let err = stranger.sync().sync_with(&mut link(&hub)).unwrap_err();
    assert_eq!(err.code(), "SYNC_PEER_REFUSED");
    assert!(err.to_string().contains("SYNC_UNKNOWN_DEVICE"), "{err}");
    // Garbage, and a request replayed: refused, HQ unchanged.
    let before = hq.sync().digest().unwrap();
    let mut l = link(&hub);
    assert!(l.exchange(b"garbage").unwrap_err().to_string().contains("SYNC_DECODE"));
    let request = r1.sync().request().unwrap();
    l.exchange(&request).unwrap();
    assert!(l.exchange(&request).unwrap_err().to_string().contains("SYNC_REPLAY"));
    assert_eq!(hq.sync().digest().unwrap(), before);

    // A wrong path is a 404 with a JSON body, not a sync refusal.
    let err = HttpSyncLink::new(&HttpSyncConfig::new(format!("{}/nope", hub.url()))).unwrap().exchange(&request).unwrap_err();
    assert!(err.to_string().contains("NOT_FOUND"), "{err}");
    let url = hub.url();
    hub.stop();
    let err = r1.sync().sync_with(&mut HttpSyncLink::new(&HttpSyncConfig { timeout_ms: 2_000, ..HttpSyncConfig::new(url) }).unwrap()).unwrap_err();
    assert_eq!(err.code(), "SYNC_UNREACHABLE", "{err}");
    assert_eq!(HttpSyncLink::new(&HttpSyncConfig::new("ftp://x")).err().map(|e| e.code()), Some("INVALID_ARGUMENT"));
}

#[test]
fn a_syncer_picks_up_what_hq_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let hq = edge(&dir, "hq", "hq-1");
    hq.sync().set_role(Role::Hq).unwrap();
    let r1 = edge(&dir, "s1", "r1");
    enrol(&hq, &[&r1]);
    let hub = SyncHub::start(hq.sync(), 0, 2).unwrap();
    let syncer = Syncer::start(r1.sync(), vec![Box::new(link(&hub))], SyncerConfig { interval_ms: 50, backoff_max_ms: 1_000 }).unwrap();
    hq.catalog().upsert(&Product::new("TEA", "Tea", eur("2.50"), "reduced")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // TEA is applied during a round; the round is counted when its push has finished too.
    while r1.catalog().get("TEA").is_err() || syncer.status()[0].rounds == 0 {
        assert!(std::time::Instant::now() < deadline, "the syncer never brought TEA: {:?}", syncer.status());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(r1.catalog().get("TEA").unwrap().price, eur("2.50"));
    assert_eq!(syncer.status()[0].failures, 0);
    syncer.stop();
    hub.stop();
}
