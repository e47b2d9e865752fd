//! Sync rounds over real sockets on loopback: LAN peer sync between the registers of one
//! store (TCP), HQ's chunks relayed verbatim over the LAN, refusals carried back as typed
//! errors, and the background syncer with its backoff and status.

use std::time::{Duration, Instant};

use aisle::sync::{PushReport, Replication, Role, SyncLink, frame_messages, unframe_messages};
use aisle::transport::{LanLink, LanServer, PeerStatus, Syncer, SyncerConfig};
use aisle::{Currency, Edge, EdgeConfig, Error, Money, Product};


fn edge(dir: &tempfile::TempDir, store: &str, device: &str) -> Edge {
    Edge::open(dir.path().join(format!("{store}-{device}.db")), EdgeConfig::new(store, device, Currency::EUR)).unwrap()
}

fn enrol_all(edges: &[&Edge]) {
    let cards: Vec<_> = edges.iter().map(|e| e.sync().identity().unwrap()).collect();
    for e in edges {
        for c in &cards {
            e.sync().enroll(c).unwrap();
        }
    }
}

fn eur(s: &str) -> Money {
    Money::parse(s, Currency::EUR).unwrap()
}

/// A link that calls the peer's serving half in the same process (the bytes API as transport).
struct Direct(Replication, String);

impl SyncLink for Direct {
    fn peer(&self) -> String {
        self.1.clone()
    }
    fn exchange(&mut self, request: &[u8]) -> aisle::Result<Vec<u8>> {
        self.0.serve_exchange(request)
    }
    fn push(&mut self, chunks: &[u8]) -> aisle::Result<PushReport> {
        self.0.serve_push(chunks)
    }
}

fn lan(server: &LanServer) -> LanLink {
    LanLink::new(server.addr().to_string(), 10_000)
}

/// Waits for `done` on a status snapshot, up to 20 s (the syncer runs on its own thread).
fn wait_for(syncer: &Syncer, what: &str, done: impl Fn(&[PeerStatus]) -> bool) -> Vec<PeerStatus> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = syncer.status();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "syncer never reached: {what}; status {s:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn registers_sync_over_tcp_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2) = (edge(&dir, "s1", "r1"), edge(&dir, "s1", "r2"));
    enrol_all(&[&r1, &r2]);
    r1.sync().stock_add("MILK", "shelf", 24).unwrap();
    r2.sync().stock_add("MILK", "shelf", -2).unwrap();
    r2.sync().cart_add("cart-7", "MILK", 1).unwrap();

    let server = LanServer::start(r2.sync(), "127.0.0.1:0").unwrap();
    let mut link = lan(&server);
    let round = r1.sync().sync_with(&mut link).unwrap();
    assert_eq!(round.pulled, 1);
    assert!(round.pulled_changed >= 2, "{round:?}");
    assert_eq!(round.pushed.applied, 1);
    for r in [&r1, &r2] {
        assert_eq!(r.sync().stock_level("MILK", "shelf").unwrap(), 22);
        assert_eq!(r.sync().cart_lines("cart-7").unwrap(), vec![("MILK".to_owned(), 1)]);
    }
    assert_eq!(r1.sync().digest().unwrap(), r2.sync().digest().unwrap());

    // The same connection serves the next round; nothing new travels twice.
    r1.sync().cart_add("cart-7", "MILK", 2).unwrap();
    let again = r1.sync().sync_with(&mut link).unwrap();
    assert_eq!(again.pulled_changed, 0);
    assert!(again.pushed.changed >= 1);
    assert_eq!(r2.sync().cart_lines("cart-7").unwrap(), vec![("MILK".to_owned(), 3)]);
    server.stop();
}

#[test]
fn a_price_from_hq_reaches_a_register_that_only_has_the_lan() {
    let dir = tempfile::tempdir().unwrap();
    let (hq, r1, r2) = (edge(&dir, "hq", "hq-1"), edge(&dir, "s1", "r1"), edge(&dir, "s1", "r2"));
    hq.sync().set_role(Role::Hq).unwrap();
    enrol_all(&[&hq, &r1, &r2]);
    hq.catalog().upsert(&Product::new("BEER", "Beer 0.5 l", eur("1.20"), "standard")).unwrap();
    hq.set_promotions_json(r#"[{"id":"HALF","rule":{"type":"percent_off","target":{"skus":["BEER"]},"percent":50}}]"#).unwrap();

    // r1 reaches HQ; r2's uplink is down, it has only the LAN to r1.
    r1.sync().sync_with(&mut Direct(hq.sync(), "hq".into())).unwrap();
    assert_eq!(r1.catalog().get("BEER").unwrap().price, eur("1.20"));
    let server = LanServer::start(r1.sync(), "127.0.0.1:0").unwrap();
    let round = r2.sync().sync_with(&mut lan(&server)).unwrap();
    assert!(round.pulled >= 1, "HQ's chunk was relayed: {round:?}");
    assert_eq!(r2.catalog().get("BEER").unwrap().price, eur("1.20"));
    assert_eq!(r2.promotions().unwrap().len(), 1);
    assert_eq!(r2.sync().digest_in("global").unwrap(), hq.sync().digest_in("global").unwrap());

    // HQ changes the price; again only r1 hears it, and r2 gets it on its next LAN round.
    hq.catalog().upsert(&Product::new("BEER", "Beer 0.5 l", eur("1.35"), "standard")).unwrap();
    r1.sync().sync_with(&mut Direct(hq.sync(), "hq".into())).unwrap();
    let round = r2.sync().sync_with(&mut lan(&server)).unwrap();
    assert!(round.pulled_changed >= 1, "{round:?}");
    assert_eq!(r2.catalog().get("BEER").unwrap().price, eur("1.35"));
    // Nothing left to relay: the chunks r2 has are not sent again.
    let round = r2.sync().sync_with(&mut lan(&server)).unwrap();
    assert_eq!((round.pulled_changed, round.duplicates), (0, 0), "{round:?}");

    // When r2 reaches HQ itself later, it agrees with everyone.
    r2.sync().sync_with(&mut Direct(hq.sync(), "hq".into())).unwrap();
    r1.sync().sync_with(&mut Direct(hq.sync(), "hq".into())).unwrap();
    assert_eq!(r1.sync().digest().unwrap(), r2.sync().digest().unwrap());
    assert_eq!(hq.sync().digest_in("store:s1").unwrap(), r2.sync().digest_in("store:s1").unwrap());
    server.stop();
}

#[test]
fn relayed_chunks_never_reach_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let (hq, r1, other) = (edge(&dir, "hq", "hq-1"), edge(&dir, "s1", "r1"), edge(&dir, "s2", "r1"));
    hq.sync().set_role(Role::Hq).unwrap();
    enrol_all(&[&hq, &r1, &other]);
    r1.sync().stock_add("MILK", "shelf", 5).unwrap();
    r1.sync().sync_with(&mut Direct(hq.sync(), "hq".into())).unwrap();
    hq.catalog().upsert(&Product::new("BEER", "Beer", eur("1.20"), "standard")).unwrap();
    r1.sync().sync_with(&mut Direct(hq.sync(), "hq".into())).unwrap();

    // A device of store s2 syncs with r1 over the LAN: the round completes, and carries nothing
    // (r1 sends only what it may write, its own store's data, and relays HQ only within s1).
    let server = LanServer::start(r1.sync(), "127.0.0.1:0").unwrap();
    let round = other.sync().sync_with(&mut lan(&server)).unwrap();
    assert_eq!((round.pulled_changed, round.pushed.changed), (0, 0), "{round:?}");
    assert!(other.catalog().get("BEER").is_err(), "nothing was relayed to another store");
    assert_eq!(other.sync().stock_level_in("store:s1", "MILK", "shelf").unwrap(), 0);
    server.stop();
}

#[test]
fn refusals_and_dead_peers_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2, stranger) = (edge(&dir, "s1", "r1"), edge(&dir, "s1", "r2"), edge(&dir, "s1", "r9"));
    enrol_all(&[&r1, &r2]);
    let server = LanServer::start(r2.sync(), "127.0.0.1:0").unwrap();
    stranger.sync().enroll(&r2.sync().identity().unwrap()).unwrap();
    let err = stranger.sync().sync_with(&mut lan(&server)).unwrap_err();
    assert_eq!(err.code(), "SYNC_PEER_REFUSED");
    assert!(err.to_string().contains("SYNC_UNKNOWN_DEVICE"), "{err}");

    // Garbage on the socket is answered with a refusal, and the server keeps serving.
    let mut garbage = lan(&server);
    let err = garbage.exchange(b"not a sync request").unwrap_err();
    assert!(matches!(&err, Error::SyncPeerRefused { code, .. } if code == "SYNC_DECODE"), "{err}");
    assert!(err.to_string().contains("SYNC_DECODE"), "{err}");
    let err = garbage.push(&frame_messages(&[b"\x00\x01".as_slice()])).unwrap_err();
    assert!(err.to_string().contains("SYNC_DECODE"), "{err}");
    assert!(r1.sync().sync_with(&mut lan(&server)).is_ok());

    let port = server.addr().port();
    server.stop();
    let err = r1.sync().sync_with(&mut LanLink::new(format!("127.0.0.1:{port}"), 2_000)).unwrap_err();
    assert_eq!(err.code(), "SYNC_UNREACHABLE", "{err}");
}

#[test]
fn framing_rejects_truncation() {
    let body = frame_messages(&[b"abc".as_slice(), b"de".as_slice()]);
    assert_eq!(unframe_messages(&body).unwrap(), vec![b"abc".as_slice(), b"de".as_slice()]);
    for cut in 0..body.len() {
        assert_eq!(unframe_messages(&body[..cut]).unwrap_err().code(), "SYNC_DECODE", "cut at {cut}");
    }
    let mut padded = body.clone();
    padded.push(0);
    assert_eq!(unframe_messages(&padded).unwrap_err().code(), "SYNC_DECODE");
    assert_eq!(unframe_messages(&frame_messages::<&[u8]>(&[])).unwrap(), Vec::<&[u8]>::new());
}

#[test]
fn syncer_keeps_peers_in_step_and_backs_off_from_a_dead_one() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2) = (edge(&dir, "s1", "r1"), edge(&dir, "s1", "r2"));
    enrol_all(&[&r1, &r2]);
    let server = LanServer::start(r2.sync(), "127.0.0.1:0").unwrap();
    // A port with nothing behind it: bind, note it, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let links: Vec<Box<dyn SyncLink + Send>> =
        vec![Box::new(lan(&server)), Box::new(LanLink::new(dead.to_string(), 1_000))];
    let syncer = Syncer::start(r1.sync(), links, SyncerConfig { interval_ms: 60_000, backoff_max_ms: 600_000 }).unwrap();

    let s = wait_for(&syncer, "a round with each peer", |s| s[0].rounds >= 1 && s[1].failures >= 1);
    assert_eq!(s[1].last_error.as_ref().unwrap().0, "SYNC_UNREACHABLE");
    assert_eq!(s[1].rounds, 0);

    // A write, then sync_now: it reaches r2 without waiting out the minute.
    r1.sync().stock_add("MILK", "shelf", 7).unwrap();
    syncer.sync_now();
    wait_for(&syncer, "a second round", |s| s[0].rounds >= 2);
    assert_eq!(r2.sync().stock_level("MILK", "shelf").unwrap(), 7);
    let s = syncer.status();
    assert!(s[1].failures >= 2, "the dead peer was tried again on demand: {s:?}");
    syncer.stop();
    server.stop();

    assert_eq!(
        Syncer::start(r1.sync(), Vec::new(), SyncerConfig { interval_ms: 0, backoff_max_ms: 1 }).err().map(|e| e.code()),
        Some("INVALID_ARGUMENT")
    );
}

#[test]
fn device_cards_round_trip_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r1 = edge(&dir, "s1", "r1");
    let card = r1.sync().identity().unwrap();
    assert_eq!(aisle::sync::Device::from_json(&card.to_json()).unwrap(), card);
    for bad in [
        "{}",
        r#"{"public_key":"00","store_id":"s","device_id":"d","role":"store"}"#,
        &card.to_json().replace("\"store\"", "\"boss\""),
        &card.to_json().replace("\"s1\"", "\"\""),
        &card.to_json().replace("}", ",\"extra\":1}"),
    ] {
        assert_eq!(aisle::sync::Device::from_json(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad}");
    }
}
