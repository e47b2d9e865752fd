//! Power loss, simulated on copies of the store's files.
//!
//! With WAL and `synchronous=FULL`, an acknowledged append is in a WAL frame that was fsynced
//! with its commit marker. What a power cut can leave behind is everything after that: frames of
//! a transaction still in progress (SQLite spills them to the WAL before the commit when its
//! cache is full), possibly torn or half-written. We produce exactly that state — a second
//! connection holds an uncommitted transaction big enough to spill — copy the files at that
//! point, then tear, truncate or scribble over the unsynced tail at random. Every copy must
//! open and hold every acknowledged record, byte for byte. A damaged page of the main file
//! must be a typed error (SQLite's own check or the record checksum), never wrong data.

use std::path::{Path, PathBuf};

use aisle::forward::{StreamConfig, WhenFull};
use aisle::{Currency, Edge, EdgeConfig};

fn config() -> EdgeConfig {
    EdgeConfig::new("store-1", "reg-1", Currency::EUR)
}

fn payload(i: u64) -> Vec<u8> {
    format!("{{\"n\":{i},\"pad\":\"{}\"}}", "p".repeat((i % 50) as usize)).into_bytes()
}

fn wal(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", p.display()))
}

fn copy_set(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    if wal(from).exists() {
        std::fs::copy(wal(from), wal(to)).unwrap();
    }
}

fn check_all_there(path: &Path, acked: u64) -> Result<(), String> {
    let e = Edge::open(path, config()).map_err(|e| e.to_string())?;
    let recs = e.streams().read("events", 0, acked as u32 + 10).map_err(|e| e.to_string())?;
    if recs.len() as u64 != acked {
        return Err(format!("{} of {acked} acknowledged records", recs.len()));
    }
    for (i, r) in recs.iter().enumerate() {
        if r.seq != i as u64 + 1 || r.payload != payload(i as u64 + 1) {
            return Err(format!("record {} differs", i + 1));
        }
    }
    let st = e.streams().stream_status("events").map_err(|e| e.to_string())?;
    if st.records != acked {
        return Err(format!("accounting says {} records", st.records));
    }
    Ok(())
}

#[test]
fn unsynced_tail_of_the_wal_is_lost_but_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let e = Edge::open(&live, config()).unwrap();
    let s = e.streams();
    s.create(&StreamConfig::durable("events", 1 << 30, WhenFull::Reject)).unwrap();
    let acked = 300u64;
    for i in 1..=acked {
        assert_eq!(s.append("events", &payload(i)).unwrap(), i);
    }
    let committed_wal = std::fs::metadata(wal(&live)).unwrap().len();

    // A power cut in the middle of a big transaction: its pages spilled to the WAL, no commit.
    let mut raw = rusqlite::Connection::open(&live).unwrap();
    raw.execute_batch("PRAGMA cache_size = 2; PRAGMA cache_spill = 1;").unwrap();
    let tx = raw.transaction().unwrap();
    for i in 0..2000 {
        tx.execute(
            "INSERT INTO fwd_record (stream, seq, at_ms, payload, crc) VALUES ('events', ?1, 0, zeroblob(900), 0)",
            [100_000 + i],
        )
        .unwrap();
    }
    let spilled_wal = std::fs::metadata(wal(&live)).unwrap().len();
    assert!(spilled_wal > committed_wal, "the uncommitted transaction spilled into the WAL");

    let mut rng = fastrand::Rng::with_seed(42);
    for round in 0..40 {
        let copy = dir.path().join(format!("cut{round}.db"));
        copy_set(&live, &copy);
        let w = wal(&copy);
        let mut bytes = std::fs::read(&w).unwrap();
        match round % 4 {
            0 => {} // the cut left the spilled frames intact
            1 => bytes.truncate(rng.usize(committed_wal as usize..bytes.len())), // torn write
            2 => {
                // garbage in the unsynced region
                for _ in 0..16 {
                    let at = rng.usize(committed_wal as usize..bytes.len());
                    bytes[at] ^= rng.u8(1..);
                }
            }
            _ => {
                // a half-written frame appended after the spilled ones
                let extra = rng.usize(1..5000);
                bytes.extend((0..extra).map(|_| rng.u8(..)));
            }
        }
        std::fs::write(&w, &bytes).unwrap();
        check_all_there(&copy, acked).unwrap_or_else(|e| panic!("round {round}: {e}"));
        // And it keeps working: the next append continues the sequence.
        let again = Edge::open(&copy, config()).unwrap();
        assert_eq!(again.streams().append("events", &payload(acked + 1)).unwrap(), acked + 1, "round {round}");
    }
    tx.rollback().unwrap();
}

#[test]
fn damaged_pages_are_typed_errors_never_wrong_data() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    {
        let e = Edge::open(&live, config()).unwrap();
        let s = e.streams();
        s.create(&StreamConfig::durable("events", 1 << 30, WhenFull::Reject)).unwrap();
        for i in 1..=400 {
            s.append("events", &payload(i)).unwrap();
        }
        e.close().unwrap(); // checkpoints: everything is in the main file now
    }
    let clean = std::fs::read(&live).unwrap();
    let page = 4096usize;
    let pages = clean.len() / page;
    let mut rng = fastrand::Rng::with_seed(9);
    let (mut typed, mut intact) = (0, 0);
    for round in 0..60 {
        let copy = dir.path().join(format!("bad{round}.db"));
        let mut bytes = clean.clone();
        // Scribble over a few bytes of one page (not page 1's header: that is tested in store).
        let p = rng.usize(1..pages);
        for _ in 0..rng.usize(1..8) {
            let at = p * page + rng.usize(0..page);
            bytes[at] ^= rng.u8(1..);
        }
        std::fs::write(&copy, &bytes).unwrap();
        match check_all_there(&copy, 400) {
            Ok(()) => intact += 1, // the damage hit free space or slack
            Err(msg) => {
                let typed_error = ["STORE_CORRUPT", "STORE_NOT_A_DATABASE", "STORE_ERROR"].iter().any(|c| msg.starts_with(c));
                assert!(typed_error, "round {round}: damage must surface as a typed store error, got: {msg}");
                typed += 1;
            }
        }
    }
    assert!(typed > 0, "some damage was detected ({typed} typed errors, {intact} intact)");
}
