//! The forward sinks end to end: a store's streams forwarded by the real workers to real
//! servers on loopback that fail the ways networks and brokers do, received through
//! [`aisle::Ingest`]: nothing lost, no effect twice, in order.

mod support;

use std::time::{Duration, Instant};

use aisle::forward::{
    BatchFormat, Compression, DirectorySink, ExporterConfig, ExporterState, HttpSink, RetryPolicy, SinkConfig, StreamConfig,
    WhenFull,
};
use aisle::{Currency, Edge, EdgeConfig, Ingest};
use support::{FaultServer, Reply};

fn edge(dir: &tempfile::TempDir) -> Edge {
    Edge::open(dir.path().join("store.db"), EdgeConfig::new("store-1", "reg-1", Currency::EUR)).unwrap()
}

fn record(i: u64) -> Vec<u8> {
    format!("{{\"sale\":{i}}}").into_bytes()
}

fn exporter(name: &str, sink: SinkConfig) -> ExporterConfig {
    let mut c = ExporterConfig::new(name, sink);
    c.batch_max_records = 7;
    c.retry = RetryPolicy { initial_ms: 5, max_ms: 40, probe_ms: 10 };
    c
}

/// Applies every body through an `Ingest` (exactly once by seq); the payloads applied, in
/// order, and how many records came twice.
fn ingest(bodies: &[(Vec<u8>, Option<String>)]) -> (Vec<Vec<u8>>, u64) {
    let ingest = Ingest::open_in_memory().unwrap();
    let mut applied = Vec::new();
    let mut duplicates = 0;
    for (body, encoding) in bodies {
        let report = ingest
            .receive(body, encoding.as_deref(), |_, batch| {
                applied.extend(batch.records.iter().map(|r| r.payload.clone()));
                Ok(())
            })
            .unwrap();
        duplicates += report.duplicates;
    }
    (applied, duplicates)
}

/// Waits (bounded) until `f` holds, looking again whenever it does not.
fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn http_faults_lose_nothing_and_apply_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let e = edge(&dir);
    let s = e.streams();
    s.create(&StreamConfig::durable("sales", 1 << 30, WhenFull::Reject)).unwrap();

    let server = FaultServer::start();
    for reply in [
        Reply::status(503).header("Retry-After", "1"),
        Reply::status(500),
        // The receiver applied the batch, then died before answering: the batch comes again.
        Reply::DropBeforeAnswer,
        Reply::CloseMidRequestBody,
        Reply::status(429).header("Retry-After", "0"),
        // Applied, then hung past the sender's timeout: comes again too.
        Reply::Stall,
        Reply::CloseMidResponseBody(502),
        Reply::status(200),
        Reply::status(408),
        Reply::CloseMidResponseBody(200),
    ] {
        server.push(reply);
    }
    let sink = HttpSink {
        url: server.url("/ingest"),
        format: BatchFormat::Ndjson,
        compression: Compression::Gzip,
        headers: vec![("Authorization".into(), "Bearer store-1".into())],
        timeout_ms: 400,
        ca_pem: None,
    };
    s.add_exporter("sales", &exporter("hq", SinkConfig::Http(sink))).unwrap();
    let n = 100u64;
    for i in 1..=n {
        s.append("sales", &record(i)).unwrap();
    }
    let t = Instant::now();
    s.start();
    assert!(s.flush(Duration::from_secs(60)).unwrap(), "drained");
    s.stop();
    let took = t.elapsed();
    assert!(took >= Duration::from_secs(1), "the 503's Retry-After was honoured: {took:?}");

    let requests = server.requests();
    // What a receiver applied: every body it took in, whatever happened to its answer.
    let applied_by_receiver: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.complete
                && match &r.reply {
                    Reply::Answer { status, .. } => (200..300).contains(status),
                    Reply::CloseMidResponseBody(status) => (200..300).contains(status),
                    Reply::DropBeforeAnswer | Reply::Stall => true,
                    Reply::CloseMidRequestBody => false,
                }
        })
        .map(|r| (r.body.clone(), r.header("content-encoding").map(str::to_owned)))
        .collect();
    let (applied, duplicates) = ingest(&applied_by_receiver);
    assert_eq!(applied, (1..=n).map(record).collect::<Vec<_>>(), "each record once, in order");
    assert!(duplicates >= 14, "the two batches applied without an answer came again: {duplicates}");
    for r in &requests {
        assert_eq!(r.header("authorization"), Some("Bearer store-1"));
        assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
        assert!(r.header("idempotency-key").is_some_and(|k| k.starts_with("store-1/reg-1/sales/")));
    }
    let status = s.stream_status("sales").unwrap();
    let hq = &status.exporters[0];
    assert_eq!((hq.backlog_records, hq.acked_seq, hq.delivered_records), (0, n, n));
    assert!(hq.last_error.as_deref().is_some_and(|e| e.contains("408")), "{:?}", hq.last_error);
}

#[test]
fn http_endpoint_down_then_up_resumes_by_probe() {
    let dir = tempfile::tempdir().unwrap();
    let e = edge(&dir);
    let s = e.streams();
    s.create(&StreamConfig::durable("sales", 1 << 30, WhenFull::Reject)).unwrap();
    // Nobody listens yet on the port the exporter sends to.
    let port = support::closed_port();
    let sink = HttpSink {
        url: format!("http://127.0.0.1:{port}/ingest"),
        format: BatchFormat::Json,
        compression: Compression::Zstd,
        headers: vec![],
        timeout_ms: 1_000,
        ca_pem: None,
    };
    let mut c = exporter("hq", SinkConfig::Http(sink));
    // A long backoff: only the probe can bring it back quickly.
    c.retry = RetryPolicy { initial_ms: 60_000, max_ms: 60_000, probe_ms: 20 };
    s.add_exporter("sales", &c).unwrap();
    for i in 1..=20 {
        s.append("sales", &record(i)).unwrap();
    }
    s.start();
    wait_until("the exporter failed once", Duration::from_secs(10), || {
        let st = s.stream_status("sales").unwrap();
        st.exporters[0].state == ExporterState::Retrying && st.exporters[0].last_error.is_some()
    });

    let server = FaultServer::start_on(port);
    let t = Instant::now();
    assert!(s.flush(Duration::from_secs(10)).unwrap());
    let resumed = t.elapsed();
    s.stop();
    assert!(resumed < Duration::from_secs(2), "resumed {resumed:?} after the endpoint came back, not after the 60 s backoff");
    let bodies: Vec<_> = server.requests().into_iter().map(|r| (r.body.clone(), r.header("content-encoding").map(str::to_owned))).collect();
    assert_eq!(ingest(&bodies).0, (1..=20).map(record).collect::<Vec<_>>());
    eprintln!("HTTP endpoint back → backlog of 20 drained in {resumed:?}");
}

#[test]
fn directory_exporter_writes_rolling_files_readers_can_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let e = edge(&dir);
    let s = e.streams();
    s.create(&StreamConfig::durable("sales", 1 << 30, WhenFull::Reject)).unwrap();
    let out = dir.path().join("usb").join("aisle");
    let sink = DirectorySink { path: out.to_string_lossy().into_owned(), max_file_bytes: 1_000 };
    s.add_exporter("sales", &exporter("usb", SinkConfig::Directory(sink))).unwrap();
    for i in 1..=100 {
        s.append("sales", &record(i)).unwrap();
    }
    s.start();
    assert!(s.flush(Duration::from_secs(30)).unwrap());
    s.stop();
    let mut files: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() > 3, "rolled over: {files:?}");
    let bodies: Vec<_> = files.iter().map(|f| (std::fs::read(f).unwrap(), None)).collect();
    assert_eq!(ingest(&bodies), ((1..=100).map(record).collect::<Vec<_>>(), 0));
}

#[cfg(feature = "mqtt")]
#[test]
fn mqtt_broker_killed_and_restarted_mid_stream() {
    use aisle::forward::MqttSink;
    use support::{Mosquitto, Subscriber};

    let dir = tempfile::tempdir().unwrap();
    let e = edge(&dir);
    let s = e.streams();
    s.create(&StreamConfig::durable("sales", 1 << 30, WhenFull::Reject)).unwrap();
    let mut broker = Mosquitto::start_persistent();
    let port = broker.port();
    let log_path = broker.log_path();
    let broker_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    // Messages as received, until they hold records 1..=n (a batch may come twice).
    let mut received: Vec<(Vec<u8>, Option<String>)> = Vec::new();
    let mut take = |sub: &Subscriber, n: usize| -> Vec<(Vec<u8>, Option<String>)> {
        while ingest(&received).0.len() < n {
            let (topic, payload) =
                sub.next(Duration::from_secs(10)).unwrap_or_else(|| panic!("stuck at {} records; broker log:\n{}", ingest(&received).0.len(), broker_log()));
            assert_eq!(topic, "stores/store-1/reg-1/sales");
            received.push((payload, None));
        }
        received.clone()
    };
    let sub = Subscriber::connect_session(port, "stores/#", "hq-ingest");
    let sink = MqttSink {
        host: "127.0.0.1".into(),
        port,
        client_id: None,
        topic: "stores/{store}/{device}/{stream}".into(),
        compression: Compression::None,
        tls: None,
        keep_alive_s: 30,
        timeout_ms: 2_000,
    };
    let mut c = exporter("broker", SinkConfig::Mqtt(sink));
    c.retry = RetryPolicy { initial_ms: 60_000, max_ms: 60_000, probe_ms: 20 };
    s.add_exporter("sales", &c).unwrap();
    for i in 1..=21 {
        s.append("sales", &record(i)).unwrap();
    }
    s.start();
    assert!(s.flush(Duration::from_secs(20)).unwrap());
    take(&sub, 21);
    drop(sub);

    broker.kill();
    for i in 22..=60 {
        s.append("sales", &record(i)).unwrap();
    }
    wait_until("the exporter saw the broker gone", Duration::from_secs(10), || {
        s.stream_status("sales").unwrap().exporters[0].state == ExporterState::Retrying
    });
    broker.restart();
    let t = Instant::now();
    assert!(s.flush(Duration::from_secs(20)).unwrap());
    let resumed = t.elapsed();
    s.stop();
    assert!(resumed < Duration::from_secs(3), "resumed {resumed:?} after the broker came back, not after the 60 s backoff");
    // The persistent session collected what was published while the subscriber was away.
    let sub = Subscriber::connect_session(port, "stores/#", "hq-ingest");
    let (applied, _) = ingest(&take(&sub, 60));
    assert_eq!(applied, (1..=60).map(record).collect::<Vec<_>>());
    eprintln!("MQTT broker back → backlog of 39 drained in {resumed:?}");
}

#[test]
fn a_batch_refused_for_good_goes_to_the_dead_letter_stream_or_stays_visible() {
    let dir = tempfile::tempdir().unwrap();
    let e = edge(&dir);
    let s = e.streams();
    s.create(&StreamConfig::durable("sales", 1 << 30, WhenFull::Reject)).unwrap();
    s.create(&StreamConfig::durable("sales.dead", 1 << 30, WhenFull::Reject)).unwrap();
    s.create(&StreamConfig::durable("audit", 1 << 30, WhenFull::Reject)).unwrap();
    let server = FaultServer::start();
    // The first batch of each stream is refused with a 422; everything after is accepted.
    server.push(Reply::status(422));
    let http = || {
        SinkConfig::Http(HttpSink {
            url: server.url("/ingest"),
            format: BatchFormat::Json,
            compression: Compression::None,
            headers: vec![],
            timeout_ms: 2_000,
            ca_pem: None,
        })
    };
    let mut hq = exporter("hq", http());
    hq.dead_letter = Some("sales.dead".into());
    s.add_exporter("sales", &hq).unwrap();
    for i in 1..=10 {
        s.append("sales", &record(i)).unwrap();
    }
    s.start();
    assert!(s.flush(Duration::from_secs(20)).unwrap(), "drained");
    // The refused batch (records 1..=7) is in the dead-letter stream, in order, and counted;
    // the rest was delivered.
    let dead: Vec<_> = s.read("sales.dead", 0, 100).unwrap().into_iter().map(|r| r.payload).collect();
    assert_eq!(dead, (1..=7).map(record).collect::<Vec<_>>());
    let st = s.stream_status("sales").unwrap();
    let ex = &st.exporters[0];
    assert_eq!((ex.dead_lettered, ex.delivered_records, ex.acked_seq, st.records), (7, 3, 10, 0));
    assert!(ex.last_error.as_deref().is_some_and(|m| m.contains("422")), "{:?}", ex.last_error);

    // Without a dead-letter stream nothing is given up: the batch is retried and the refusal
    // stays visible in the status.
    server.push(Reply::status(400));
    server.set_default(Reply::status(400));
    s.add_exporter("audit", &exporter("hq", http())).unwrap();
    s.append("audit", &record(1)).unwrap();
    wait_until("the refusal is reported", Duration::from_secs(10), || {
        s.stream_status("audit").unwrap().exporters[0].attempts >= 1
    });
    let st = s.stream_status("audit").unwrap();
    assert_eq!((st.records, st.exporters[0].acked_seq), (1, 0), "kept, not acknowledged");
    assert_eq!(st.exporters[0].state, ExporterState::Retrying);
    assert!(st.exporters[0].last_error.as_deref().is_some_and(|m| m.contains("400")));
    s.stop();
}
