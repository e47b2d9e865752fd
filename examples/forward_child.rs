//! The process the crash test kills: opens a store, appends records to a durable stream as
//! fast as it can while forwarding them to an HTTP sink, and prints `ACK <seq>` for every
//! append that returned (so the parent knows what was acknowledged before the SIGKILL).
//!
//! `forward_child <store.db> <sink-url> append <first-payload-number>`
//! `forward_child <store.db> <sink-url> drain` — forward what is left, print `DRAINED`, exit.

use std::io::Write;
use std::time::Duration;

use aisle::forward::{ExporterConfig, HttpSink, RetryPolicy, SinkConfig, StreamConfig, WhenFull};
use aisle::{Currency, Edge, EdgeConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: forward_child <store.db> <sink-url> append <n> | drain");
        std::process::exit(2);
    }
    if let Err(e) = run(&args[1], &args[2], &args[3], args.get(4).and_then(|n| n.parse().ok()).unwrap_or(0)) {
        eprintln!("forward_child: {e}");
        std::process::exit(1);
    }
}

fn run(path: &str, url: &str, mode: &str, first: u64) -> aisle::Result<()> {
    let edge = Edge::open(path, EdgeConfig::new("store-1", "reg-1", Currency::EUR))?;
    let streams = edge.streams();
    streams.create(&StreamConfig::durable("events", 1 << 30, WhenFull::Reject))?;
    let mut hq = ExporterConfig::new(
        "hq",
        SinkConfig::Http(HttpSink {
            url: url.to_owned(),
            format: Default::default(),
            compression: Default::default(),
            headers: vec![],
            timeout_ms: 2_000,
            ca_pem: None,
        }),
    );
    hq.batch_max_records = 1 + (first % 37) as u32;
    hq.retry = RetryPolicy { initial_ms: 5, max_ms: 50, probe_ms: 10 };
    streams.add_exporter("events", &hq)?;
    streams.start();
    let stdout = std::io::stdout();
    match mode {
        "append" => {
            for n in first.. {
                let seq = streams.append("events", format!("{{\"n\":{n}}}").as_bytes())?;
                let mut out = stdout.lock();
                // The parent reads this line only after append returned: the record is durable.
                let _ = writeln!(out, "ACK {seq} {n}");
                let _ = out.flush();
            }
            Ok(())
        }
        "drain" => {
            let drained = streams.flush(Duration::from_secs(120))?;
            println!("{}", if drained { "DRAINED" } else { "NOT DRAINED" });
            streams.stop();
            edge.close()
        }
        other => Err(aisle::Error::InvalidArgument(format!("unknown mode {other:?}"))),
    }
}
