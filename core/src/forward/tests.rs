use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::{Currency, Edge, EdgeConfig};

fn edge() -> Edge {
    Edge::open_in_memory(EdgeConfig::new("store-1", "reg-1", Currency::EUR)).unwrap()
}

fn file_edge(dir: &tempfile::TempDir) -> Edge {
    Edge::open(dir.path().join("s.db"), EdgeConfig::new("store-1", "reg-1", Currency::EUR)).unwrap()
}

fn json(i: usize) -> Vec<u8> {
    format!("{{\"n\":{i}}}").into_bytes()
}

/// A callback that records what it received and fails when told to.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, u64, Vec<u8>)>>>,
    fail_next: Arc<AtomicUsize>,
}

impl Receiver {
    fn callback(&self) -> Callback {
        let me = self.clone();
        Arc::new(move |b: &Batch| {
            if me.fail_next.load(Ordering::SeqCst) > 0 {
                me.fail_next.fetch_sub(1, Ordering::SeqCst);
                return Err("sink says no".into());
            }
            let mut got = me.got.lock().unwrap();
            for r in &b.records {
                got.push((b.stream.clone(), r.seq, r.payload.clone()));
            }
            Ok(())
        })
    }

    fn seqs(&self, stream: &str) -> Vec<u64> {
        self.got.lock().unwrap().iter().filter(|g| g.0 == stream).map(|g| g.1).collect()
    }
}

fn fast_retry(mut c: ExporterConfig) -> ExporterConfig {
    c.retry = RetryPolicy { initial_ms: 1, max_ms: 5, probe_ms: 1 };
    c
}

#[test]
fn appends_are_numbered_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let e = file_edge(&dir);
    let s = e.streams();
    s.create(&StreamConfig::durable("sales", 1 << 20, WhenFull::Reject)).unwrap();
    assert_eq!(s.append("sales", &json(1)).unwrap(), 1);
    assert_eq!(s.append_batch("sales", &[json(2), json(3)]).unwrap(), vec![2, 3]);
    e.close().unwrap();
    let e = file_edge(&dir);
    let s = e.streams();
    let recs = s.read("sales", 0, 10).unwrap();
    assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(recs[2].payload, json(3));
    let st = s.stream_status("sales").unwrap();
    assert_eq!((st.records, st.bytes, st.last_seq), (3, 21, 3));
    assert_eq!(s.append("sales", &json(4)).unwrap(), 4);
}

#[test]
fn bad_appends_are_typed_errors_and_change_nothing() {
    let e = edge();
    let s = e.streams();
    assert_eq!(s.append("nope", b"{}").unwrap_err().code(), "STREAM_NOT_FOUND");
    s.create(&StreamConfig::durable("j", 100, WhenFull::Reject)).unwrap();
    let err = s.append("j", b"{not json").unwrap_err();
    assert_eq!(err.code(), "INVALID_PAYLOAD");
    let err = s.append("j", &vec![b'1'; 101]).unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
    // All or none.
    assert_eq!(s.append_batch("j", &[b"1".to_vec(), b"x".to_vec()]).unwrap_err().code(), "INVALID_PAYLOAD");
    assert_eq!(s.stream_status("j").unwrap().records, 0);
    // Storage cannot change; memory and durable names do not collide.
    let err = s.create(&StreamConfig::memory("j", 100, WhenFull::Reject)).unwrap_err();
    assert_eq!(err.code(), "STREAM_EXISTS");
}

#[test]
fn full_stream_rejects_or_drops_oldest_exactly() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::durable("r", 30, WhenFull::Reject)).unwrap();
    for i in 0..3 {
        s.append("r", format!("\"{:0>7}\"", i).as_bytes()).unwrap(); // 9 bytes each
    }
    let err = s.append("r", b"\"xxxxxxx\"").unwrap_err();
    assert_eq!(err.code(), "STREAM_FULL");
    let st = s.stream_status("r").unwrap();
    assert_eq!((st.records, st.bytes, st.rejected_full), (3, 27, 1));

    s.create(&StreamConfig::durable("d", 30, WhenFull::DropOldest)).unwrap();
    for i in 0..10 {
        s.append("d", format!("\"{:0>7}\"", i).as_bytes()).unwrap();
    }
    let st = s.stream_status("d").unwrap();
    assert_eq!((st.records, st.bytes, st.dropped_full, st.first_seq), (3, 27, 7, Some(8)));
    assert_eq!(s.read("d", 0, 10).unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), vec![8, 9, 10]);
}

#[test]
fn ttl_expires_old_records_and_counts_them() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::durable("t", 1 << 20, WhenFull::Reject).with_max_age_ms(60_000)).unwrap();
    s.append("t", b"1").unwrap();
    // Age the record by rewriting its time (the clock is not ours to move).
    e.shared_for_tests().write(|tx| Ok(tx.execute("UPDATE fwd_record SET at_ms = at_ms - 120000", [])?)).unwrap();
    s.append("t", b"2").unwrap();
    let st = s.stream_status("t").unwrap();
    assert_eq!((st.records, st.dropped_expired, st.first_seq), (1, 1, Some(2)));
}

#[test]
fn callback_exporter_delivers_in_order_and_frees_space() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::durable("sales", 1 << 20, WhenFull::Reject)).unwrap();
    let mut cfg = fast_retry(ExporterConfig::new("app", SinkConfig::Callback));
    cfg.batch_max_records = 7;
    s.add_exporter("sales", &cfg).unwrap();
    for i in 0..50 {
        s.append("sales", &json(i)).unwrap();
    }
    let rx = Receiver::default();
    rx.fail_next.store(3, Ordering::SeqCst);
    s.start();
    // Not registered yet: waits, keeps its place.
    assert_eq!(s.stream_status("sales").unwrap().exporters[0].state, ExporterState::WaitingForCallback);
    s.set_callback("sales", "app", rx.callback()).unwrap();
    assert!(s.flush(Duration::from_secs(20)).unwrap());
    assert_eq!(rx.seqs("sales"), (1..=50).collect::<Vec<_>>());
    let st = s.stream_status("sales").unwrap();
    assert_eq!((st.records, st.bytes), (0, 0), "acknowledged records are reclaimed");
    let ex = &st.exporters[0];
    assert_eq!((ex.acked_seq, ex.delivered_records, ex.backlog_records), (50, 50, 0));
    assert_eq!(ex.last_error.as_deref(), Some("sink says no"));
    s.stop();
}

#[test]
fn two_exporters_each_get_everything_and_space_waits_for_both() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::durable("x", 1 << 20, WhenFull::Reject)).unwrap();
    s.add_exporter("x", &ExporterConfig::new("a", SinkConfig::Callback)).unwrap();
    s.add_exporter("x", &ExporterConfig::new("b", SinkConfig::Callback)).unwrap();
    for i in 0..20 {
        s.append("x", &json(i)).unwrap();
    }
    let (a, b) = (Receiver::default(), Receiver::default());
    s.set_callback("x", "a", a.callback()).unwrap();
    s.start();
    assert!(!s.flush(Duration::from_millis(300)).unwrap(), "b has not acknowledged");
    assert_eq!(a.seqs("x").len(), 20);
    assert_eq!(s.stream_status("x").unwrap().records, 20, "b still holds the records");
    s.set_callback("x", "b", b.callback()).unwrap();
    assert!(s.flush(Duration::from_secs(10)).unwrap());
    assert_eq!(b.seqs("x"), (1..=20).collect::<Vec<_>>());
    assert_eq!(s.stream_status("x").unwrap().records, 0);
}

#[test]
fn higher_priority_stream_drains_first_on_a_shared_link() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::durable("low", 1 << 20, WhenFull::Reject).with_priority(1)).unwrap();
    s.create(&StreamConfig::durable("high", 1 << 20, WhenFull::Reject).with_priority(9)).unwrap();
    for i in 0..30 {
        s.append("low", &json(i)).unwrap();
        s.append("high", &json(i)).unwrap();
    }
    let rx = Receiver::default();
    for st in ["low", "high"] {
        let mut c = ExporterConfig::new("hq", SinkConfig::Callback);
        c.batch_max_records = 5;
        s.add_exporter(st, &c).unwrap();
        s.set_callback(st, "hq", rx.callback()).unwrap();
    }
    s.start();
    assert!(s.flush(Duration::from_secs(10)).unwrap());
    let order: Vec<String> = rx.got.lock().unwrap().iter().map(|g| g.0.clone()).collect();
    let first_low = order.iter().position(|s| s == "low").unwrap();
    assert_eq!(first_low, 30, "every high record before any low one: {order:?}");
}

#[test]
fn dead_letter_must_name_another_existing_stream() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::durable("in", 1 << 20, WhenFull::Reject)).unwrap();
    s.create(&StreamConfig::durable("dead", 1 << 20, WhenFull::Reject)).unwrap();
    let mut c = ExporterConfig::new("hq", SinkConfig::Directory(DirectorySink { path: String::new(), max_file_bytes: 1 }));
    c.dead_letter = Some("nope".into());
    assert_eq!(s.add_exporter("in", &c).unwrap_err().code(), "INVALID_ARGUMENT");
    c.dead_letter = Some("dead".into());
    assert_eq!(s.add_exporter("in", &c).unwrap_err().code(), "INVALID_ARGUMENT", "empty path");
}

#[test]
fn memory_streams_forward_like_durable_ones() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::memory("insights", 1 << 20, WhenFull::DropOldest)).unwrap();
    s.add_exporter("insights", &ExporterConfig::new("app", SinkConfig::Callback)).unwrap();
    let rx = Receiver::default();
    s.set_callback("insights", "app", rx.callback()).unwrap();
    for i in 0..10 {
        s.append("insights", &json(i)).unwrap();
    }
    s.start();
    assert!(s.flush(Duration::from_secs(10)).unwrap());
    assert_eq!(rx.seqs("insights"), (1..=10).collect::<Vec<_>>());
    let names: Vec<_> = s.list().unwrap().into_iter().map(|c| (c.name, c.storage)).collect();
    assert_eq!(names, vec![("commerce".to_owned(), Storage::Durable), ("insights".to_owned(), Storage::Memory)]);
}

#[test]
fn concurrent_appends_share_commits_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = file_edge(&dir);
    let s = e.streams();
    s.create(&StreamConfig::durable("c", 1 << 30, WhenFull::Reject)).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || (0..200).map(|i| s.append("c", &json(t * 1000 + i)).unwrap()).collect::<Vec<_>>())
        })
        .collect();
    let mut seqs: Vec<u64> = threads.into_iter().flat_map(|h| h.join().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=800).collect::<Vec<_>>());
    let st = s.stream_status("c").unwrap();
    assert_eq!(st.records, 800);
    // The accounting is exact.
    let (n, bytes): (i64, i64) = e
        .shared_for_tests()
        .read(|c| Ok(c.query_row("SELECT count(*), sum(length(payload)) FROM fwd_record", [], |r| Ok((r.get(0)?, r.get(1)?)))?))
        .unwrap();
    assert_eq!((n as u64, bytes as u64), (st.records, st.bytes));
}

#[test]
fn bandwidth_cap_paces_sending() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::durable("b", 1 << 20, WhenFull::Reject)).unwrap();
    let mut c = ExporterConfig::new("slow", SinkConfig::Callback);
    c.batch_max_records = 1;
    c.max_bytes_per_sec = Some(1000);
    s.add_exporter("b", &c).unwrap();
    let rx = Receiver::default();
    s.set_callback("b", "slow", rx.callback()).unwrap();
    // 5 records of 500 bytes: the bucket starts full (1000), so the last 3 need 1.5 s.
    let payload = format!("\"{}\"", "x".repeat(498));
    for _ in 0..5 {
        s.append("b", payload.as_bytes()).unwrap();
    }
    let t = std::time::Instant::now();
    s.start();
    assert!(s.flush(Duration::from_secs(20)).unwrap());
    assert!(t.elapsed() >= Duration::from_millis(1400), "sent 2500 bytes at 1000/s in {:?}", t.elapsed());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// The forwarder's contract: whatever fails along the way, each acknowledged append is
    /// delivered, in sequence order, and after dedup by seq exactly once.
    #[test]
    fn forwarder_delivers_everything_in_order(
        batches in proptest::collection::vec(1usize..20, 1..8),
        fails in proptest::collection::vec(0usize..3, 1..8),
        max_records in 1u32..9,
    ) {
        let e = edge();
        let s = e.streams();
        s.create(&StreamConfig::durable("p", 1 << 24, WhenFull::Reject)).unwrap();
        let mut c = fast_retry(ExporterConfig::new("app", SinkConfig::Callback));
        c.batch_max_records = max_records;
        s.add_exporter("p", &c).unwrap();
        let rx = Receiver::default();
        s.set_callback("p", "app", rx.callback()).unwrap();
        s.start();
        let mut appended = Vec::new();
        for (i, n) in batches.iter().enumerate() {
            rx.fail_next.fetch_add(fails[i % fails.len()], Ordering::SeqCst);
            for k in 0..*n {
                appended.push(s.append("p", &json(i * 100 + k)).unwrap());
            }
        }
        prop_assert!(s.flush(Duration::from_secs(20)).unwrap());
        let got = rx.seqs("p");
        let mut dedup = got.clone();
        dedup.dedup();
        prop_assert!(got.windows(2).all(|w| w[0] <= w[1]), "in order: {:?}", got);
        prop_assert_eq!(dedup, appended);
    }
}

#[test]
fn submitted_appends_share_one_commit_and_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let e = file_edge(&dir);
    let s = e.streams();
    s.create(&StreamConfig::durable("q", 1 << 20, WhenFull::Reject)).unwrap();
    let pending: Vec<_> = (0..100).map(|i| s.submit("q", &json(i)).unwrap()).collect();
    let bad = s.submit("q", b"not json").unwrap();
    let seqs: Vec<u64> = pending.into_iter().map(|p| p.wait().unwrap()).collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    assert_eq!(bad.wait().unwrap_err().code(), "INVALID_PAYLOAD", "refused alone, the others committed");
    let recs = s.read("q", 0, 200).unwrap();
    assert_eq!(recs.len(), 100);
    assert_eq!(recs[41].payload, json(41));
}

#[test]
fn the_cap_under_concurrent_load_applies_the_policy_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let e = file_edge(&dir);
    let s = e.streams();
    // 10-byte records, room for 100 of them.
    s.create(&StreamConfig::durable("rej", 1000, WhenFull::Reject)).unwrap();
    s.create(&StreamConfig::durable("drop", 1000, WhenFull::DropOldest)).unwrap();
    let rx = Receiver::default();
    let mut c = ExporterConfig::new("app", SinkConfig::Callback);
    c.batch_max_records = 3;
    s.add_exporter("drop", &c).unwrap();
    s.set_callback("drop", "app", rx.callback()).unwrap();
    s.start();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                let (mut ok, mut full) = (0u64, 0u64);
                for i in 0..100 {
                    let p = format!("\"{:0>8}\"", t * 1000 + i);
                    match s.append("rej", p.as_bytes()) {
                        Ok(_) => ok += 1,
                        Err(e) if e.code() == "STREAM_FULL" => full += 1,
                        Err(e) => panic!("{e}"),
                    }
                    s.append("drop", p.as_bytes()).unwrap();
                }
                (ok, full)
            })
        })
        .collect();
    let (ok, full) = threads.into_iter().map(|h| h.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let rej = s.stream_status("rej").unwrap();
    assert_eq!((ok, full), (100, 300), "exactly the room there was");
    assert_eq!((rej.records, rej.bytes, rej.rejected_full), (100, 1000, 300));
    assert!(s.flush(Duration::from_secs(20)).unwrap());
    let drop = s.stream_status("drop").unwrap();
    let delivered = rx.seqs("drop");
    // Every record was delivered or dropped by the policy and counted: none vanished. (A record
    // dropped while its batch was in flight is both delivered and counted as dropped.)
    let undelivered = 400 - delivered.len() as u64;
    assert!(undelivered <= drop.dropped_full, "{undelivered} not delivered but only {} dropped", drop.dropped_full);
    assert!(delivered.windows(2).all(|w| w[0] < w[1]), "in order, gaps only where dropped");
    assert!(drop.bytes <= 1000);
}

#[test]
fn status_is_emitted_as_events_while_forwarding_runs() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::memory("status", 1 << 20, WhenFull::DropOldest)).unwrap();
    assert_eq!(s.emit_status_every(Some(("nope", Duration::from_secs(1)))).unwrap_err().code(), "STREAM_NOT_FOUND");
    s.emit_status_every(Some(("status", Duration::from_secs(1)))).unwrap();
    s.start();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.stream_status("status").unwrap().records == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let recs = s.read("status", 0, 10).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&recs[0].payload).unwrap();
    let names: Vec<&str> = doc.as_array().unwrap().iter().map(|st| st["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["commerce", "status"]);
    assert_eq!(doc[0]["when_full"], "reject");
}

#[test]
fn absurd_durations_are_refused_or_harmless() {
    let e = edge();
    let s = e.streams();
    let mut c = ExporterConfig::new("x", SinkConfig::Callback);
    c.retry.max_ms = u64::MAX;
    assert_eq!(c.validate().unwrap_err().code(), "INVALID_ARGUMENT");
    // A flush with "forever" as its timeout returns once drained (nothing to drain here).
    assert!(s.flush(Duration::MAX).unwrap());
}

#[test]
fn an_error_quoting_a_card_number_is_not_stored() {
    let e = edge();
    let s = e.streams();
    s.create(&StreamConfig::durable("x", 1 << 20, WhenFull::Reject)).unwrap();
    s.add_exporter("x", &fast_retry(ExporterConfig::new("app", SinkConfig::Callback))).unwrap();
    s.set_callback("x", "app", Arc::new(|_: &Batch| Err("declined: card 4111 1111 1111 1111 expired".to_owned()))).unwrap();
    s.append("x", b"1").unwrap();
    s.start();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.stream_status("x").unwrap().exporters[0].last_error.is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    s.stop();
    let err = s.stream_status("x").unwrap().exporters[0].last_error.clone().unwrap();
    assert!(!err.contains("4111"), "{err}");
    assert!(err.contains("withheld"), "{err}");
}
