//! Every rejection of a sync message, against real store files: forged signature, unknown
//! device, foreign store, a store device writing the global catalog, replay, truncated,
//! garbled, a newer format, a clock too far ahead. Each is its typed error and changes nothing.

use aisle::sync::{MemReplica, Role, Value};
use aisle::{Currency, Edge, EdgeConfig};

fn edge(store: &str, device: &str) -> Edge {
    Edge::open_in_memory(EdgeConfig::new(store, device, Currency::EUR)).unwrap()
}

/// HQ, two registers of store s1, one register of store s2, enrolled as in a real fleet.
fn fleet() -> (Edge, Edge, Edge, Edge) {
    let (hq, r1, r2, x1) = (edge("hq", "hq-1"), edge("s1", "r1"), edge("s1", "r2"), edge("s2", "x1"));
    hq.sync().set_role(Role::Hq).unwrap();
    let cards: Vec<_> = [&hq, &r1, &r2, &x1].iter().map(|e| e.sync().identity().unwrap()).collect();
    for c in &cards[1..] {
        hq.sync().enroll(c).unwrap();
        r1.sync().enroll(&cards[0]).unwrap();
        r2.sync().enroll(&cards[0]).unwrap();
        x1.sync().enroll(&cards[0]).unwrap();
    }
    r1.sync().enroll(&cards[2]).unwrap();
    r2.sync().enroll(&cards[1]).unwrap();
    (hq, r1, r2, x1)
}

fn pull(into: &Edge, from: &Edge) -> Vec<Vec<u8>> {
    from.sync().changes_since(&into.sync().request().unwrap()).unwrap()
}

/// The receiver's state before and after a rejected message must be the same.
fn unchanged(e: &Edge, f: impl FnOnce() -> aisle::Error) -> aisle::Error {
    let (d, v) = (e.sync().digest().unwrap(), e.sync().vector().unwrap());
    let err = f();
    assert_eq!((e.sync().digest().unwrap(), e.sync().vector().unwrap()), (d, v), "{err}");
    err
}

#[test]
fn good_messages_apply_and_a_replay_is_refused() {
    let (_hq, r1, r2, _) = fleet();
    r2.sync().stock_add("MILK", "shelf", 5).unwrap();
    let msgs = pull(&r1, &r2);
    for m in &msgs {
        r1.sync().apply(m).unwrap();
    }
    assert_eq!(r1.sync().stock_level("MILK", "shelf").unwrap(), 5);
    let err = unchanged(&r1, || r1.sync().apply(&msgs[0]).unwrap_err());
    assert_eq!(err.code(), "SYNC_REPLAY", "{err}");
    // A replayed request is refused too (it could make HQ answer an eavesdropper again).
    let req = r1.sync().request().unwrap();
    r2.sync().changes_since(&req).unwrap();
    assert_eq!(r2.sync().changes_since(&req).unwrap_err().code(), "SYNC_REPLAY");
}

#[test]
fn forged_truncated_garbled_and_newer_messages_are_refused() {
    let (_hq, r1, r2, _) = fleet();
    r2.sync().upsert_customer("C-1", &[("name", Value::from("Ada"))]).unwrap();
    let msg = pull(&r1, &r2).remove(0);

    let mut forged = msg.clone();
    let at = forged.len() - 70; // a body byte: the signature no longer matches
    forged[at] ^= 0x01;
    assert_eq!(unchanged(&r1, || r1.sync().apply(&forged).unwrap_err()).code(), "SYNC_BAD_SIGNATURE");

    let mut bad_sig = msg.clone();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 0x80;
    assert_eq!(unchanged(&r1, || r1.sync().apply(&bad_sig).unwrap_err()).code(), "SYNC_BAD_SIGNATURE");

    for cut in [1, 10, 64, msg.len() - 3] {
        let truncated = &msg[..msg.len() - cut];
        assert_eq!(unchanged(&r1, || r1.sync().apply(truncated).unwrap_err()).code(), "SYNC_DECODE", "cut {cut}");
    }
    let mut garbled = msg.clone();
    garbled[0] = b'X';
    assert_eq!(unchanged(&r1, || r1.sync().apply(&garbled).unwrap_err()).code(), "SYNC_DECODE");
    assert_eq!(unchanged(&r1, || r1.sync().apply(b"hello").unwrap_err()).code(), "SYNC_DECODE");

    let mut newer = msg.clone();
    newer[2] = aisle::sync::FORMAT_VERSION + 1;
    assert_eq!(unchanged(&r1, || r1.sync().apply(&newer).unwrap_err()).code(), "SYNC_UNSUPPORTED_VERSION");

    // A request is not a changes message.
    let req = r2.sync().request().unwrap();
    assert_eq!(unchanged(&r1, || r1.sync().apply(&req).unwrap_err()).code(), "SYNC_DECODE");

    // The genuine message still applies afterwards.
    r1.sync().apply(&msg).unwrap();
    assert!(r1.sync().customer("C-1").unwrap().is_some());
}

#[test]
fn unknown_devices_are_refused() {
    let (_hq, r1, _r2, _) = fleet();
    let stranger = edge("s1", "r9");
    stranger.sync().enroll(&r1.sync().identity().unwrap()).unwrap();
    stranger.sync().stock_add("MILK", "shelf", 1).unwrap();
    // r1 does not know the stranger: neither its request nor its changes are accepted.
    let err = unchanged(&r1, || r1.sync().changes_since(&stranger.sync().request().unwrap()).unwrap_err());
    assert_eq!(err.code(), "SYNC_UNKNOWN_DEVICE");
    let msgs = stranger.sync().changes_since(&r1.sync().request().unwrap());
    // The stranger answers (it enrolled r1), but r1 refuses what it sends.
    for m in msgs.unwrap() {
        assert_eq!(unchanged(&r1, || r1.sync().apply(&m).unwrap_err()).code(), "SYNC_UNKNOWN_DEVICE");
    }
}

#[test]
fn scopes_keep_stores_apart_and_the_catalog_with_hq() {
    let (hq, r1, _r2, x1) = fleet();
    r1.sync().cart_add("cart-1", "MILK", 2).unwrap();
    r1.sync().upsert_customer("C-1", &[("name", Value::from("Ada"))]).unwrap();
    for m in pull(&hq, &r1) {
        hq.sync().apply(&m).unwrap();
    }
    assert_eq!(hq.sync().digest_in("store:s1").unwrap(), r1.sync().digest_in("store:s1").unwrap());

    // Store s2 asks HQ: it gets the global scope and its own, never s1's carts or customers.
    for m in pull(&x1, &hq) {
        x1.sync().apply(&m).unwrap();
    }
    assert!(x1.sync().vector().unwrap().0.keys().all(|s| s != "store:s1"));
    assert!(x1.sync().cart_lines("cart-1").unwrap().is_empty());

    // A request for s1's scope from s2's device is refused outright.
    let mut forger = MemReplica::new("s2", "x9", Role::Hq, [9; 32]);
    let mut card = forger.card();
    card.role = Role::Store; // HQ enrolled it as a store device of s2
    hq.sync().enroll(&card).unwrap();
    forger.enroll(&hq.sync().identity().unwrap());
    let mut asks_s1 = MemReplica::new("s1", "x9", Role::Store, [9; 32]); // same key, claims s1
    asks_s1.enroll(&hq.sync().identity().unwrap());
    let err = unchanged(&hq, || hq.sync().changes_since(&asks_s1.request().unwrap()).unwrap_err());
    assert_eq!(err.code(), "SYNC_SCOPE", "{err}");

    // A store device may not write the global catalog: HQ refuses its changes.
    forger.upsert("product", "MILK", &[("name", Value::from("Free milk")), ("price_minor", Value::Int(0))]).unwrap();
    let msgs = forger.changes_since(&hq.sync().request().unwrap()).unwrap();
    let err = unchanged(&hq, || hq.sync().apply(&msgs[0]).unwrap_err());
    assert_eq!(err.code(), "SYNC_SCOPE", "{err}");

    // A foreign store's data sent to a store device: refused.
    let mut s2_hq = MemReplica::new("hq", "hq-x", Role::Hq, [11; 32]);
    r1.sync().enroll(&s2_hq.card()).unwrap();
    s2_hq.enroll(&r1.sync().identity().unwrap());
    s2_hq.upsert_in("store:s2", "customer", "C-9", &[("name", Value::from("Bob"))]).unwrap();
    // An HQ answering a store-s2 device sends s2's data; delivered to r1 (store s1), refused.
    let mut fake = MemReplica::new("s2", "r1x", Role::Store, [12; 32]);
    s2_hq.enroll(&fake.card());
    fake.enroll(&s2_hq.card());
    let req = fake.request().unwrap();
    let msgs = s2_hq.changes_since(&req);
    for m in msgs.unwrap() {
        let err = unchanged(&r1, || r1.sync().apply(&m).unwrap_err());
        assert_eq!(err.code(), "SYNC_SCOPE", "{err}");
    }
    // Delegation: HQ lets a device of s2 write the catalog; its product reaches HQ's catalog.
    let mut editor = MemReplica::new("s2", "x8", Role::Store, [13; 32]);
    editor.set_delegated(vec!["global".into()]);
    hq.sync().enroll(&editor.card()).unwrap();
    editor.enroll(&hq.sync().identity().unwrap());
    let fields = [
        ("name", Value::from("Milk 1 l")),
        ("price_minor", Value::Int(119)),
        ("currency", Value::from("EUR")),
        ("tax_category", Value::from("reduced")),
        ("parent_sku", Value::Null),
        ("sold_by", Value::from("unit")),
        ("attributes", Value::from("{}")),
        ("barcodes", Value::from("[]")),
        ("categories", Value::from("[]")),
        ("tags", Value::from("[]")),
    ];
    editor.upsert("product", "MILK", &fields).unwrap();
    for m in editor.changes_since(&hq.sync().request().unwrap()).unwrap() {
        hq.sync().apply(&m).unwrap();
    }
    assert_eq!(hq.catalog().get("MILK").unwrap().price.minor(), 119);
}

#[test]
fn a_clock_too_far_ahead_is_refused_and_does_not_move_ours() {
    let (_hq, r1, _r2, _) = fleet();
    let mut future = MemReplica::new("s1", "r7", Role::Store, [21; 32]);
    r1.sync().enroll(&future.card()).unwrap();
    future.enroll(&r1.sync().identity().unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    future.set_now_ms(now + 3_600_000); // an hour ahead
    future.stock_add("MILK@shelf", 1).unwrap();
    let msgs = future.changes_since(&r1.sync().request().unwrap()).unwrap();
    let err = unchanged(&r1, || r1.sync().apply(&msgs[0]).unwrap_err());
    assert_eq!(err.code(), "SYNC_CLOCK_SKEW", "{err}");
    // Our clock was not dragged forward: a new local write is stamped near now.
    r1.sync().stock_add("MILK", "shelf", 1).unwrap();
    let v = r1.sync().vector().unwrap();
    let mine = r1.sync().identity().unwrap();
    let hlc = v.get("store:s1", aisle::sync::site_of(&mine.public_key));
    assert!(hlc.wall_ms() < now + 60_000, "{hlc}");
}

/// What the fuzz target does, briefly, in every `cargo test`: random bytes and random signed
/// bodies are refused with a SYNC_* code (or applied) and a refusal changes nothing.
#[test]
fn random_bytes_and_signed_garbage_never_panic_or_change_state() {
    let mut hq = MemReplica::new("hq", "hq-1", Role::Hq, [1; 32]);
    let mut reg = MemReplica::new("s1", "r1", Role::Store, [2; 32]);
    hq.enroll(&reg.card());
    reg.enroll(&hq.card());
    reg.stock_add("A@shelf", 3).unwrap();
    let genuine = reg.changes_since(&hq.request().unwrap()).unwrap().remove(0);
    let mut rng = fastrand::Rng::with_seed(7);
    for k in 0..3000 {
        let mut body: Vec<u8> = (0..rng.usize(0..80)).map(|_| rng.u8(..)).collect();
        let msg = match k % 3 {
            0 => body,
            1 => aisle::sync::fuzz_support::sign_changes(&reg, &body),
            _ => {
                // The genuine message with a few bytes flipped.
                body = genuine.clone();
                for _ in 0..rng.usize(1..4) {
                    let at = rng.usize(..body.len());
                    body[at] ^= rng.u8(1..);
                }
                body
            }
        };
        let (d, v) = (hq.digest(), hq.vector());
        if let Err(e) = hq.apply(&msg) {
            assert!(e.code().starts_with("SYNC_"), "{e}");
            assert_eq!((hq.digest(), hq.vector()), (d, v));
        }
    }
}
