//! The hub's sync side, on real PostgreSQL and on SQLite (the same tests): two hub instances
//! sharing one database serve a fleet; HQ authoring is a normal replica pushing through the
//! hub; stores connected to different instances converge; one store never sees another's data;
//! a push on one instance is announced on the other's event stream; a killed instance is
//! replaced by the other behind the balancer; refusals are typed and change nothing.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use aisle::sync::{Device, Role, SyncLink};
use aisle::transport::{HttpSyncConfig, HttpSyncLink};
use aisle::{Currency, Edge, EdgeConfig, Product};
use aisle_hub::RunningHub;
use support::{Balancer, Kind, TestDb, eur, get, post, start};

const ADMIN: &str = "admin-secret";

trait BodyText {
    fn body_text(&self) -> String;
}

impl BodyText for support::Reply {
    fn body_text(&self) -> String {
        self.body.clone()
    }
}

fn replica(dir: &std::path::Path, store: &str, device: &str) -> Edge {
    Edge::open(dir.join(format!("{store}-{device}.db")), EdgeConfig::new(store, device, Currency::EUR)).unwrap()
}

/// Enrols `edge` at the hub (admin endpoint) and the hub at `edge` (its published card).
fn enrol(base: &str, edge: &Edge) {
    let card = edge.sync().identity().unwrap().to_json();
    let r = post(&format!("{base}/v1/admin/devices"), &[("Authorization", &format!("Bearer {ADMIN}"))], card.as_bytes());
    assert_eq!(r.status, 201, "{}", r.body_text());
    let hub = get(&format!("{base}/v1/sync/identity"));
    edge.sync().enroll(&Device::from_json(&hub.body_text()).unwrap()).unwrap();
}

fn round(edge: &Edge, base: &str) -> aisle::sync::RoundReport {
    edge.sync().sync_with(&mut HttpSyncLink::new(&HttpSyncConfig::new(base)).unwrap()).unwrap()
}

/// One test database, two hub instances sharing it, and HQ's pricing tool (a replica with
/// role `hq`, enrolled): what every test below starts from.
struct Fleet {
    db: TestDb,
    a: RunningHub,
    b: RunningHub,
    ua: String,
    ub: String,
    dir: tempfile::TempDir,
    author: Edge,
}

impl Fleet {
    fn start(kind: Kind, test: &str) -> Fleet {
        let db = TestDb::new(kind, test);
        let mut config = db.config();
        config.admin_token = Some(ADMIN.into());
        let a = start(config.clone());
        let b = start(config);
        let (ua, ub) = (format!("http://{}", a.addr()), format!("http://{}", b.addr()));
        let dir = tempfile::tempdir().unwrap();
        let author = replica(dir.path(), "hq", "pricing-tool");
        author.sync().set_role(Role::Hq).unwrap();
        enrol(&ua, &author);
        Fleet { db, a, b, ua, ub, dir, author }
    }

    /// A store device, enrolled at the hub (and the hub at it).
    fn store(&self, store: &str, device: &str) -> Edge {
        let e = replica(self.dir.path(), store, device);
        enrol(&self.ua, &e);
        e
    }
}

/// Runs a test body once on PostgreSQL and once on SQLite.
macro_rules! on_both_backends {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[test]
            fn postgres() {
                super::$body(super::Kind::Postgres);
            }
            #[test]
            fn sqlite() {
                super::$body(super::Kind::Sqlite);
            }
        }
    )*};
}

on_both_backends!(fleet_converges, push_channel_and_failover, refusals_change_nothing, a_published_price_is_pushed_to_a_syncing_store);

fn fleet_converges(kind: Kind) {
    let fleet = Fleet::start(kind, "sync_fleet");
    let Fleet { db, a, b, ua, ub, author, .. } = &fleet;
    assert_eq!(get(&format!("{ua}/v1/sync/identity")).body_text(), get(&format!("{ub}/v1/sync/identity")).body_text(), "one HQ identity");
    let (r1, r2, other) = (fleet.store("s1", "r1"), fleet.store("s1", "r2"), fleet.store("s2", "r1"));

    // HQ publishes through instance A; r1 and the other store use A, r2 uses B.
    author.catalog().upsert(&Product::new("BEER", "Beer 0.5 l", eur(120), "standard")).unwrap();
    author.set_promotions_json(r#"[{"id":"HALF","rule":{"type":"percent_off","target":{"skus":["BEER"]},"percent":50}}]"#).unwrap();
    round(author, ua);
    for (e, u) in [(&r1, ua), (&r2, ub), (&other, ua)] {
        round(e, u);
        assert_eq!(e.catalog().get("BEER").unwrap().price, eur(120));
        assert_eq!(e.promotions().unwrap().len(), 1);
    }

    // Partitioned registers sell; r2 counts the shelf; a shared cart; the other store's stock.
    r1.sync().stock_add("BEER", "shelf", 24).unwrap();
    round(&r1, ua);
    round(&r2, ub);
    r1.sync().stock_add("BEER", "shelf", -3).unwrap();
    r2.sync().stock_add("BEER", "shelf", -2).unwrap();
    r2.sync().stocktake("BEER", "shelf", 20).unwrap();
    r1.sync().cart_add("cart-7", "BEER", 1).unwrap();
    r2.sync().cart_add("cart-7", "BEER", 1).unwrap();
    other.sync().stock_add("BEER", "shelf", 99).unwrap();
    author.catalog().upsert(&Product::new("BEER", "Beer 0.5 l", eur(130), "standard")).unwrap();
    for _ in 0..2 {
        round(author, ub);
        round(&r1, ua);
        round(&r2, ub);
        round(&other, ua);
    }
    for r in [&r1, &r2] {
        assert_eq!(r.sync().stock_level("BEER", "shelf").unwrap(), 17);
        assert_eq!(r.sync().cart_lines("cart-7").unwrap(), vec![("BEER".to_owned(), 2)]);
        assert_eq!(r.catalog().get("BEER").unwrap().price, eur(130));
    }
    assert_eq!(r1.sync().digest().unwrap(), r2.sync().digest().unwrap());
    assert_eq!(other.sync().digest_in("global").unwrap(), r1.sync().digest_in("global").unwrap());
    assert_eq!(other.sync().stock_level("BEER", "shelf").unwrap(), 99);
    assert_eq!(other.sync().stock_level_in("store:s1", "BEER", "shelf").unwrap(), 0, "another store's stock never leaves HQ");
    assert!(other.sync().vector().unwrap().scopes().all(|s| s != "store:s1"));
    assert!(db.scalar("SELECT count(*) FROM hub_sync_slot WHERE scope = 'store:s2'") > 0, "HQ holds every store");
    let _ = (a, b);
}

/// Reads server-sent events from `base`/v1/sync/events until `want` arrives (10 s at most).
struct Events(BufReader<TcpStream>);

impl Events {
    fn open(addr: std::net::SocketAddr) -> Events {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET /v1/sync/events HTTP/1.1\r\nHost: hub\r\nAccept: text/event-stream\r\n\r\n").unwrap();
        Events(BufReader::new(s))
    }

    /// The data of the next event named `name`.
    fn next(&mut self, name: &str) -> i64 {
        let mut current = String::new();
        loop {
            let mut line = String::new();
            assert!(self.0.read_line(&mut line).unwrap() > 0, "event stream closed");
            let line = line.trim_end();
            if let Some(ev) = line.strip_prefix("event: ").or_else(|| line.strip_prefix("event:")) {
                current = ev.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data: ").or_else(|| line.strip_prefix("data:")) {
                if current == name {
                    return data.trim().parse().unwrap();
                }
            }
        }
    }
}

fn push_channel_and_failover(kind: Kind) {
    let fleet = Fleet::start(kind, "sync_push");
    let r1 = fleet.store("s1", "r1");
    let Fleet { a, b, ua, author, .. } = fleet;

    // A store listening on instance B hears of a price published through instance A.
    let mut events = Events::open(b.addr());
    let hello = events.next("hello");
    author.catalog().upsert(&Product::new("TEA", "Tea", eur(250), "reduced")).unwrap();
    round(&author, &ua);
    let change = events.next("change");
    assert!(change > hello, "change {change} after hello {hello}");
    assert!(get(&format!("http://{}/metrics", b.addr())).body_text().contains("aisle_hub_push_connections 1"));

    // Behind a balancer, instance A dies; the store's next round is served by B.
    let lb = Balancer::start(vec![a.addr(), b.addr()]);
    let via = format!("http://{}", lb.addr);
    round(&r1, &via);
    assert_eq!(r1.catalog().get("TEA").unwrap().price, eur(250));
    a.abort();
    author.catalog().upsert(&Product::new("TEA", "Tea", eur(275), "reduced")).unwrap();
    round(&author, &via);
    round(&r1, &via);
    assert_eq!(r1.catalog().get("TEA").unwrap().price, eur(275));
    b.shutdown();
}

fn refusals_change_nothing(kind: Kind) {
    let fleet = Fleet::start(kind, "sync_refusals");
    let r1 = fleet.store("s1", "r1");
    let stranger = replica(fleet.dir.path(), "s1", "r9");
    let Fleet { db, a: hub, ua: base, .. } = fleet;
    r1.sync().stock_add("MILK", "shelf", 5).unwrap();
    round(&r1, &base);
    let slots = db.scalar("SELECT count(*) FROM hub_sync_slot");
    assert!(slots > 0);

    // Not enrolled: refused with the core's code.
    stranger.sync().enroll(&Device::from_json(&get(&format!("{base}/v1/sync/identity")).body_text()).unwrap()).unwrap();
    stranger.sync().stock_add("MILK", "shelf", 1000).unwrap();
    let err = stranger.sync().sync_with(&mut HttpSyncLink::new(&HttpSyncConfig::new(&*base)).unwrap()).unwrap_err();
    assert!(err.to_string().contains("SYNC_UNKNOWN_DEVICE"), "{err}");
    // Garbage, a forged push and a replayed request.
    let r = post(&format!("{base}/v1/sync/exchange"), &[], b"garbage");
    assert_eq!((r.status, r.json()["code"].as_str().unwrap().to_owned()), (400, "SYNC_DECODE".to_owned()));
    let r = post(&format!("{base}/v1/sync/push"), &[], &aisle::sync::frame_messages(&[b"not a chunk".as_slice()]));
    assert_eq!(r.status, 400);
    let request = r1.sync().request().unwrap();
    let mut link = HttpSyncLink::new(&HttpSyncConfig::new(&*base)).unwrap();
    link.exchange(&request).unwrap();
    let err = link.exchange(&request).unwrap_err();
    assert!(err.to_string().contains("SYNC_REPLAY"), "{err}");
    // Enrolment needs the admin token.
    let r = post(&format!("{base}/v1/admin/devices"), &[], stranger.sync().identity().unwrap().to_json().as_bytes());
    assert_eq!(r.status, 401);
    let r = post(&format!("{base}/v1/admin/devices"), &[("Authorization", &format!("Bearer {ADMIN}"))], b"{}");
    assert_eq!((r.status, r.json()["code"].as_str().unwrap().to_owned()), (400, "INVALID_ARGUMENT".to_owned()));
    assert_eq!(db.scalar("SELECT count(*) FROM hub_sync_slot"), slots, "nothing refused was written");
    hub.shutdown();
}

fn a_published_price_is_pushed_to_a_syncing_store(kind: Kind) {
    use aisle::transport::{HubWatch, Syncer, SyncerConfig};
    let fleet = Fleet::start(kind, "sync_watch");
    let r1 = fleet.store("s1", "r1");
    let Fleet { a, b, ua, ub, author, .. } = fleet;

    // The store syncs with B once a minute, and listens to B's events.
    let syncer = Syncer::start(r1.sync(), vec![Box::new(HttpSyncLink::new(&HttpSyncConfig::new(&*ub)).unwrap())], SyncerConfig {
        interval_ms: 60_000,
        backoff_max_ms: 60_000,
    })
    .unwrap();
    let waker = syncer.waker();
    let watch = HubWatch::start(&ub, move |_| waker.wake()).unwrap();
    assert!(support::wait_until(Duration::from_secs(20), || syncer.status()[0].rounds >= 1 && watch.connects() >= 1));
    let rounds = syncer.status()[0].rounds;

    // Published through A: B announces it, the store's syncer runs a round long before its minute.
    author.catalog().upsert(&Product::new("COFFEE", "Coffee", eur(899), "reduced")).unwrap();
    round(&author, &ua);
    // The price lands inside the round; the round is counted when it returns, so wait for both.
    assert!(
        support::wait_until(Duration::from_secs(20), || r1.catalog().get("COFFEE").is_ok()
            && syncer.status()[0].rounds > rounds),
        "the price never arrived: {:?}",
        syncer.status()
    );
    watch.stop();
    syncer.stop();
    b.shutdown();
    a.shutdown();
}



on_both_backends!(a_store_offline_for_a_day_catches_up);

/// A store that missed a day of HQ's publishing (many separate pushes, through both instances)
/// catches up in one round and then agrees with HQ's view of the catalog.
fn a_store_offline_for_a_day_catches_up(kind: Kind) {
    let fleet = Fleet::start(kind, "sync_offline");
    let (r1, watcher) = (fleet.store("s1", "r1"), fleet.store("s1", "r2"));
    let Fleet { a, b, ua, ub, author, .. } = fleet;
    round(&r1, &ua);
    // The day: 40 publishes of 25 products each, alternating instances; another register of the
    // store stays online and follows along.
    for publish in 0..40 {
        let products: Vec<Product> =
            (0..25).map(|k| Product::new(&format!("SKU-{:03}", (publish * 7 + k) % 300), "Item", eur(100 + publish), "standard")).collect();
        author.catalog().upsert_all(&products).unwrap();
        round(&author, if publish % 2 == 0 { &ua } else { &ub });
        round(&watcher, &ub);
    }
    let before = r1.catalog().len().unwrap();
    let caught = round(&r1, &ub);
    assert!(caught.pulled_changed > 1000, "{caught:?}");
    assert_eq!(before, 0);
    assert_eq!(r1.catalog().len().unwrap(), watcher.catalog().len().unwrap());
    assert_eq!(r1.sync().digest_in("global").unwrap(), watcher.sync().digest_in("global").unwrap());
    assert_eq!(r1.sync().digest_in("global").unwrap(), author.sync().digest_in("global").unwrap());
    // Nothing is left to fetch.
    assert_eq!(round(&r1, &ua).pulled_changed, 0);
    let _ = (a, b);
}

on_both_backends!(metrics_show_lag_propagation_and_connected_stores);

/// The value of the sample `series` (name and labels exactly as exposed) in a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

/// After a publish and a store's round the store's lag is 0, a propagation was observed by
/// the instance that served the round, and the store counts as connected; a store that has
/// not synced since shows what it lacks. The fleet's gauges come from the database: both
/// instances report them.
fn metrics_show_lag_propagation_and_connected_stores(kind: Kind) {
    let fleet = Fleet::start(kind, "sync_metrics");
    let (r1, idle) = (fleet.store("s1", "r1"), fleet.store("s2", "r1"));
    let Fleet { a, b, ua, ub, author, .. } = &fleet;
    let scrape = |base: &str| get(&format!("{base}/metrics")).body_text();
    let lag = |text: &str, store: &str| sample(text, &format!("aisle_hub_store_sync_lag_changes{{store=\"{store}\"}}"));
    let propagated = |text: &str| sample(text, "aisle_hub_sync_propagation_seconds_count").unwrap_or(0.0);

    round(&r1, ua);
    let before = scrape(ua);
    assert_eq!(lag(&before, "s1"), Some(0.0), "{before}");
    let observed_before = propagated(&before);

    author.catalog().upsert(&Product::new("TEA", "Tea", eur(250), "reduced")).unwrap();
    round(author, ub);
    let published = scrape(ua);
    assert!(lag(&published, "s1").is_some_and(|l| l > 0.0), "s1 has not pulled the publish yet: {published}");

    round(&r1, ua);
    assert_eq!(r1.catalog().get("TEA").unwrap().price, eur(250));
    let mut last = String::new();
    let settled = support::wait_until(Duration::from_secs(10), || {
        last = scrape(ua);
        lag(&last, "s1") == Some(0.0)
            && lag(&last, "s2").is_some_and(|l| l > 0.0)
            && sample(&last, "aisle_hub_connected_stores").is_some_and(|n| n >= 1.0)
            && propagated(&last) > observed_before
    });
    assert!(settled, "{last}");
    let age = sample(&last, "aisle_hub_store_last_sync_age_seconds{store=\"s1\"}").unwrap();
    assert!((0.0..60.0).contains(&age), "s1 synced just now: {age}");
    assert!(last.contains("aisle_hub_sync_propagation_seconds_bucket{le=\"+Inf\"}"), "{last}");
    // The other instance reads the same fleet from the database.
    let other = scrape(ub);
    assert_eq!(lag(&other, "s1"), Some(0.0), "{other}");
    assert!(lag(&other, "s2").is_some_and(|l| l > 0.0), "{other}");

    // The idle store catches up: its lag drops to 0 too.
    round(&idle, ub);
    let caught = scrape(ua);
    assert_eq!(lag(&caught, "s2"), Some(0.0), "{caught}");
    assert!(sample(&caught, "aisle_hub_connected_stores").is_some_and(|n| n >= 2.0), "{caught}");
    let _ = (a, b);
}

on_both_backends!(a_store_enrolled_through_one_instance_syncs_through_the_other_at_once);

/// Instances keep the device registry and the hub's vector between requests; an enrolment or
/// a push on another instance must be seen by the very next request (they are read at the
/// generation of the request's own snapshot).
fn a_store_enrolled_through_one_instance_syncs_through_the_other_at_once(kind: Kind) {
    let fleet = Fleet::start(kind, "sync_caches");
    let r1 = fleet.store("s1", "r1");
    let Fleet { db, a, b, ua, ub, author, .. } = &fleet;
    // B has served rounds, so it holds the registry and the vector as they are now.
    round(author, ub);
    round(&r1, ub);
    // Enrolled through A; its first round through B sends its stock: B asked for its scope.
    let late = fleet.store("s7", "r1");
    late.sync().stock_add("MILK", "shelf", 12).unwrap();
    round(&late, ub);
    assert!(db.scalar("SELECT count(*) FROM hub_sync_slot WHERE scope = 'store:s7'") > 0, "B asked the new store for its scope");
    // A price pushed through A reaches a store through B in one round (B's vector is current).
    author.catalog().upsert(&Product::new("OAT", "Oat milk", eur(199), "reduced")).unwrap();
    round(author, ua);
    round(&late, ub);
    assert_eq!(late.catalog().get("OAT").unwrap().price, eur(199));
    let _ = (a, b);
}
