//! The framing of sync bodies (several messages in one HTTP or LAN body) and the serving half
//! of a round: arbitrary bytes must unframe to messages that frame back to the same bytes, or
//! be refused with SYNC_DECODE; served as an exchange or a push they must be refused with a
//! typed error (never a panic) and change nothing.
#![no_main]

use aisle::sync::{Role, frame_messages, unframe_messages};
use aisle::{Currency, Edge, EdgeConfig};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static HQ: Edge = {
        let hq = Edge::open_in_memory(EdgeConfig::new("hq", "hq-1", Currency::EUR)).unwrap();
        let reg = Edge::open_in_memory(EdgeConfig::new("s1", "r1", Currency::EUR)).unwrap();
        hq.sync().set_role(Role::Hq).unwrap();
        hq.sync().enroll(&reg.sync().identity().unwrap()).unwrap();
        hq
    };
}

fuzz_target!(|data: &[u8]| {
    match unframe_messages(data) {
        Ok(messages) => assert_eq!(frame_messages(&messages), data, "framing is canonical"),
        Err(e) => assert_eq!(e.code(), "SYNC_DECODE", "{e}"),
    }
    HQ.with(|hq| {
        let before = hq.sync().digest().unwrap();
        let push = hq.sync().serve_push(data);
        let exchange = hq.sync().serve_exchange(data);
        for e in [push.err(), exchange.err()].into_iter().flatten() {
            assert!(e.code().starts_with("SYNC_"), "{e}");
        }
        assert_eq!(hq.sync().digest().unwrap(), before);
        let reply = hq.sync().handle_http("POST", "/v1/sync/push", data);
        assert!(reply.status == 200 || (400..500).contains(&reply.status), "{}", reply.status);
    });
});
