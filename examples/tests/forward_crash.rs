//! Crash test: a child process appends and forwards; it is SIGKILLed at random points
//! (`FORWARD_CRASH_ROUNDS`, default 200; `scripts/soak-forward.sh` runs 10,000). Afterwards a
//! last child drains the stream, and every acknowledged append must have reached the receiver,
//! in order, exactly once after dedup — with the receiver also dropping connections and
//! answering 503 now and then.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aisle::forward::Ingest;
use aisle_examples::{Faults, IngestServer};

#[test]
fn acknowledged_appends_survive_sigkill_and_arrive_once_in_order() {
    let rounds: usize = std::env::var("FORWARD_CRASH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let seed: u64 = std::env::var("FORWARD_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("register.db");
    let ingest = Arc::new(Ingest::open(dir.path().join("hq.db")).unwrap());
    // What the receiver applied, by seq: the payload, and how often (must be once).
    let applied: Arc<Mutex<BTreeMap<u64, (String, u32)>>> = Arc::default();
    let order: Arc<Mutex<Vec<u64>>> = Arc::default();
    let (a, o) = (applied.clone(), order.clone());
    let faults = Faults { unavailable: 0.05, drop_after: 0.05, drop_before: 0.02, seed, ..Faults::default() };
    let server = IngestServer::start(0, ingest.clone(), faults, move |batch| {
        let mut a = a.lock().unwrap();
        for r in &batch.records {
            let e = a.entry(r.seq).or_insert_with(|| (String::from_utf8_lossy(&r.payload).into_owned(), 0));
            e.1 += 1;
            o.lock().unwrap().push(r.seq);
        }
    })
    .unwrap();

    let child = env!("CARGO_BIN_EXE_forward_child");
    let mut rng = fastrand::Rng::with_seed(seed);
    // Acknowledged: seq -> the payload number the child wrote.
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
    let mut next_n = 0u64;
    let started = Instant::now();
    for round in 0..rounds {
        let mut proc = Command::new(child)
            .args([db.to_str().unwrap(), &server.url(), "append", &next_n.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = proc.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let mut parts = line.split_whitespace().skip(1).map(|p| p.parse::<u64>().unwrap());
                    if let (Some(seq), Some(n)) = (parts.next(), parts.next()) {
                        lines.lock().unwrap().push((seq, n));
                    }
                }
            })
        };
        // Kill it at a random point: before it opened the file, mid-append, mid-send, mid-ack.
        let wait = Duration::from_micros(rng.u64(0..40_000));
        std::thread::sleep(wait);
        proc.kill().unwrap(); // SIGKILL
        let status = proc.wait().unwrap();
        assert!(!status.success(), "round {round}: the child was killed");
        reader.join().unwrap();
        for (seq, n) in lines.lock().unwrap().iter() {
            assert!(acked.insert(*seq, *n).is_none(), "round {round}: seq {seq} acknowledged twice");
            next_n = next_n.max(n + 1);
        }
        // Payload numbers never repeat across rounds, so a lost-then-reused seq would show.
        next_n += 1_000;
    }
    assert!(acked.len() > rounds, "the children did append ({} acknowledged in {rounds} rounds)", acked.len());

    let out = Command::new(child).args([db.to_str().unwrap(), &server.url(), "drain"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "DRAINED", "stderr: {}", String::from_utf8_lossy(&out.stderr));
    server.stop();

    let applied = applied.lock().unwrap();
    for (seq, n) in &acked {
        let Some((payload, times)) = applied.get(seq) else { panic!("acknowledged seq {seq} was never delivered") };
        assert_eq!(payload, &format!("{{\"n\":{n}}}"), "seq {seq} carries what was appended");
        assert_eq!(*times, 1, "seq {seq} applied {times} times");
    }
    // In order: the receiver applied seqs strictly increasing, and without gaps (nothing was
    // dropped: the stream rejects when full and was never full).
    let order = order.lock().unwrap();
    assert!(order.windows(2).all(|w| w[1] == w[0] + 1), "applied out of order or with a gap");
    assert_eq!(order.first(), Some(&1));
    assert_eq!(ingest.high_water("store-1", "reg-1", "events").unwrap(), *order.last().unwrap());
    eprintln!(
        "{rounds} SIGKILLs in {:.1} s: {} acknowledged, {} delivered (incl. appended but unacknowledged)",
        started.elapsed().as_secs_f64(),
        acked.len(),
        order.len()
    );
}
