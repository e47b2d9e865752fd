//! Camera pipelines with the real models and photos (`scripts/models.sh`) and a real store
//! file: backpressure, insights in the forward stream, model replacement between frames.
//! Every wait is on a condition the pipeline signals (a blocked callback, `wait_settled`),
//! never a sleep.
#![cfg(feature = "vision")]

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aisle::forward::{StreamConfig, WhenFull};
use aisle::vision::{
    AnalyticsConfig, Frame, INSIGHT_EVENT, InsightEvent, InsightStream, Model, PixelFormat, Pipeline, Pushed,
    StopMode, TrackerConfig,
};
use aisle::{Currency, Edge, EdgeConfig};

/// Long enough for a debug build on a busy machine; only reached if something is broken.
const PATIENCE: Duration = Duration::from_secs(120);

fn models_dir() -> PathBuf {
    let dir = std::env::var_os("AISLE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/models"));
    assert!(
        dir.join("manifest.json").is_file(),
        "no vision models in {}: run `bash scripts/models.sh` (or set AISLE_MODELS to where it put them)",
        dir.display()
    );
    dir
}

fn model(descriptor: &str) -> Model {
    Model::load(models_dir().join(descriptor)).unwrap_or_else(|e| panic!("{descriptor}: {e}"))
}

fn city() -> Frame<'static> {
    Frame::open(models_dir().join("city.jpg"), 0).unwrap()
}

/// A `w`-pixel-wide view of the photo starting at column `x0`, taken at `ts` (zero-copy).
fn window<'a>(photo: &'a Frame<'static>, x0: usize, w: u32, ts: i64) -> Frame<'a> {
    let stride = photo.stride();
    Frame::new(&photo.pixels()[x0 * 3..], w, photo.height(), stride, PixelFormat::Rgb8, ts).unwrap()
}

fn analytics(json: &str) -> AnalyticsConfig {
    serde_json::from_str(json).unwrap()
}

/// A callback gate: the worker's first callback says it has arrived, then waits to be let go.
/// Returns (arrived, release).
fn gate() -> (impl FnMut() + Send + 'static, Receiver<()>, SyncSender<()>) {
    let (arrived_tx, arrived_rx) = sync_channel::<()>(1);
    let (go_tx, go_rx) = sync_channel::<()>(1);
    let mut first = true;
    let hold = move || {
        if std::mem::take(&mut first) {
            arrived_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        }
    };
    (hold, arrived_rx, go_tx)
}

#[test]
fn a_full_queue_drops_the_oldest_frames_and_counts_them() {
    let photo = city();
    let (mut hold, arrived, go) = gate();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let pipeline = Pipeline::builder(model("person-ssdlite.model.json"), analytics(r#"{ "camera": "till-2" }"#))
        .queue_capacity(3)
        .on_frame(move |r| {
            seen2.lock().unwrap().push(r.timestamp_ms);
            hold();
        })
        .start()
        .unwrap();
    assert_eq!(pipeline.push(&window(&photo, 0, 400, 0)).unwrap(), Pushed::Queued);
    // The worker is now inside the callback of frame 0: inference cannot keep up.
    arrived.recv_timeout(PATIENCE).unwrap();
    let mut outcomes = Vec::new();
    for i in 1..=10 {
        outcomes.push(pipeline.push(&window(&photo, 10 * i, 400, i as i64 * 40)).unwrap());
    }
    // Frames 1-3 fill the queue; each of 4..10 pushes the oldest out.
    assert_eq!(outcomes.iter().filter(|&&p| p == Pushed::Queued).count(), 3);
    assert_eq!(outcomes.iter().filter(|&&p| p == Pushed::DroppedOldest).count(), 7);
    let s = pipeline.stats();
    assert_eq!((s.frames_in, s.frames_dropped, s.queued, s.queued_max, s.frames_processed), (11, 7, 3, 3, 0));
    go.send(()).unwrap();
    assert!(pipeline.wait_settled(11, PATIENCE), "{:?}", pipeline.stats());
    // The newest frames were kept: 8, 9, 10 after frame 0.
    assert_eq!(*seen.lock().unwrap(), vec![0, 320, 360, 400]);
    let s = pipeline.stats();
    assert_eq!((s.frames_processed, s.frames_dropped, s.queued, s.frames_failed), (4, 7, 0, 0));
    assert!(s.inference_ms > 0.0 && s.tracking_ms >= 0.0, "{s:?}");

    // A blocking push drops nothing: it waits for room.
    for i in 11..=20 {
        pipeline.push_blocking(window(&photo, 10 * i, 400, i as i64 * 40).copied()).unwrap();
    }
    let report = pipeline.stop(StopMode::Drain);
    assert_eq!((report.stats.frames_in, report.stats.frames_processed, report.stats.frames_dropped), (21, 14, 7));
    assert!(report.stats.queued_max <= 3);
    assert_eq!(report.discarded, 0);
    assert_eq!(report.final_insight.as_ref().map(|i| i.frames), Some(14));
    // Stopped: pushes are refused, a second stop reports the same.
    assert_eq!(pipeline.push(&window(&photo, 0, 400, 900)).unwrap_err().code(), "INVALID_ARGUMENT");
    assert_eq!(pipeline.stop(StopMode::Drain).stats, report.stats);
}

#[test]
fn stop_can_discard_the_queue_and_counts_it() {
    let photo = city();
    let (mut hold, arrived, go) = gate();
    let pipeline = Pipeline::builder(model("person-ssdlite.model.json"), analytics(r#"{ "camera": "c" }"#))
        .queue_capacity(4)
        .on_frame(move |_| hold())
        .start()
        .unwrap();
    pipeline.push(&window(&photo, 0, 300, 0)).unwrap();
    arrived.recv_timeout(PATIENCE).unwrap();
    for i in 1..=4 {
        pipeline.push(&window(&photo, 0, 300, i * 100)).unwrap();
    }
    // Stop from another thread while the worker is held, then let it go.
    let p = Arc::new(pipeline);
    let p2 = Arc::clone(&p);
    let stopper = std::thread::spawn(move || p2.stop(StopMode::Discard));
    assert!(p.wait_settled(4, PATIENCE)); // the 4 discarded frames settle at once; frame 0 is held
    go.send(()).unwrap();
    let report = stopper.join().unwrap();
    assert_eq!(report.discarded, 4);
    assert_eq!((report.stats.frames_in, report.stats.frames_processed, report.stats.frames_dropped), (5, 1, 4));
    assert_eq!(report.final_insight.map(|i| i.frames), Some(1));
}

#[test]
fn a_camera_panning_over_the_crowd_puts_insights_in_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let photo = city();
    // A 560-px window panning right by 12 px per frame at 10 fps: the people move left in the
    // picture. A counting line at x = 300 (top to bottom: crossing it leftwards is `in`), a
    // queue zone on the left.
    let config = analytics(
        r#"{ "camera": "entrance-1", "interval_ms": 1000, "track_timeout_ms": 500,
             "lines": [ { "name": "door", "from": [300, -100], "to": [300, 700], "hysteresis_px": 10 } ],
             "zones": [ { "name": "till-1", "kind": "queue", "polygon": [[0,300],[200,300],[200,564],[0,564]] } ] }"#,
    );
    let frames = 20;
    let tracks_seen = Arc::new(Mutex::new(Vec::new()));
    let ts2 = Arc::clone(&tracks_seen);
    {
        let edge = Edge::open(&path, EdgeConfig::new("store-1", "cam-box-1", Currency::EUR)).unwrap();
        let stream = InsightStream::open(edge.streams(), "vision").unwrap();
        assert_eq!(edge.streams().config("vision").unwrap(), InsightStream::default_config("vision"));
        let pipeline = Pipeline::builder(model("person-ssdlite.model.json"), config)
            .tracker(TrackerConfig { frame_interval_ms: 100.0, ..TrackerConfig::default() })
            .insights_to(stream)
            .on_frame(move |r| ts2.lock().unwrap().push((r.timestamp_ms, r.tracks.to_vec())))
            .start()
            .unwrap();
        for f in 0..frames {
            pipeline.push_blocking(window(&photo, 12 * f, 560, f as i64 * 100).copied()).unwrap();
        }
        let report = pipeline.stop(StopMode::Drain);
        let s = &report.stats;
        assert_eq!((s.frames_in, s.frames_processed, s.frames_dropped, s.frames_failed), (20, 20, 0, 0), "{s:?}");
        assert_eq!((s.insights, s.insights_failed), (2, 0), "{s:?}");
        assert!(s.association_rate() > 0.8, "{s:?}");
        edge.close().unwrap();
    }
    // The insights are in the store file: reopen it.
    let edge = Edge::open(&path, EdgeConfig::new("store-1", "cam-box-1", Currency::EUR)).unwrap();
    let records = edge.streams().read("vision", 0, 100).unwrap();
    assert_eq!(records.len(), 2);
    let events: Vec<InsightEvent> = records
        .iter()
        .map(|r| InsightEvent::from_json("vision", std::str::from_utf8(&r.payload).unwrap()).unwrap())
        .collect();
    for (e, start) in events.iter().zip([0, 1000]) {
        assert_eq!((e.kind.as_str(), e.version, e.at_ms), (INSIGHT_EVENT, 1, start + 1000));
        assert_eq!((e.data.insight.camera.as_str(), e.data.insight.start_ms), ("entrance-1", start));
        assert_eq!((e.data.insight.frames, e.data.frames_dropped), (10, 0));
        assert_eq!(e.data.model, "person-ssdlite-mobilenetv2");
    }
    // Never pixels, boxes or ids: the JSON holds aggregates only.
    let json: serde_json::Value = serde_json::from_slice(&records[0].payload).unwrap();
    let keys: Vec<&str> = json["data"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["camera", "end_ms", "frames", "frames_dropped", "lines", "model", "start_ms", "zones"]);
    let zone_keys: Vec<&str> = json["data"]["zones"][0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        zone_keys,
        ["dwell_p50_ms", "dwell_p90_ms", "entries", "kind", "name", "occupancy_max", "occupancy_mean", "visits"]
    );

    // What should have been counted, from the tracks the pipeline reported: every confirmed
    // track whose feet were right of x = 310 and later left of x = 290 (clear of the 10 px
    // band on both sides).
    let seen = tracks_seen.lock().unwrap();
    let mut xs: std::collections::BTreeMap<u64, Vec<f32>> = Default::default();
    for (_, tracks) in seen.iter() {
        for t in tracks {
            xs.entry(t.id).or_default().push((t.bbox.x0 + t.bbox.x1) / 2.0);
        }
    }
    let crossed = xs
        .values()
        .filter(|x| x.iter().position(|&v| v > 310.0).is_some_and(|i| x[i..].iter().any(|&v| v < 290.0)))
        .count() as u64;
    // The two people hand-tracked in tests/vision.rs (photo x centres 350 and 488) are among them.
    assert!(crossed >= 2, "{crossed} tracks crossed the line");
    let ins: u64 = events.iter().map(|e| e.data.insight.lines[0].in_.unwrap()).sum();
    let outs: u64 = events.iter().map(|e| e.data.insight.lines[0].out.unwrap()).sum();
    assert_eq!((ins, outs), (crossed, 0), "the scene only moves left");
    // The queue zone filled as the crowd slid into it (the woman at its left edge, then the
    // man in the white polo, then the woman in the black jacket); occupancy is time-weighted.
    let entries: u64 = events.iter().map(|e| e.data.insight.zones[0].entries.unwrap()).sum();
    assert!(entries >= 2, "{entries} entries");
    for e in &events {
        let z = &e.data.insight.zones[0];
        let (mean, max) = (z.occupancy_mean.unwrap(), z.occupancy_max.unwrap());
        assert!(max >= 1 && mean > 0.0 && mean <= max as f64, "{z:?}");
    }
}

#[test]
fn the_model_is_replaced_through_the_pipeline_between_frames() {
    let photo = city();
    let (mut hold, arrived, go) = gate();
    let labels = Arc::new(Mutex::new(Vec::new()));
    let l2 = Arc::clone(&labels);
    let pipeline = Pipeline::builder(model("person-ssdlite.model.json"), analytics(r#"{ "camera": "aisle-4" }"#))
        .on_frame(move |r| {
            let mut names: Vec<String> = r.detections.iter().map(|d| d.label.clone()).collect();
            names.dedup();
            l2.lock().unwrap().push((r.timestamp_ms, r.model.name().to_owned(), names));
            hold();
        })
        .start()
        .unwrap();
    pipeline.push(&window(&photo, 0, 800, 0)).unwrap();
    arrived.recv_timeout(PATIENCE).unwrap();
    // Frame 1 waits in the queue while the face model goes in; a model that does not verify
    // is refused and the working one stays.
    pipeline.push(&window(&photo, 0, 800, 100)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad = std::fs::read_to_string(models_dir().join("centerface.model.json"))
        .unwrap()
        .replace("\"centerface.onnx\"", &format!("{:?}", models_dir().join("centerface.onnx").display().to_string()));
    let bad = regex_free_replace_sha(&bad);
    std::fs::write(dir.path().join("bad.model.json"), bad).unwrap();
    assert_eq!(pipeline.replace_model_from(dir.path().join("bad.model.json")).unwrap_err().code(), "MODEL_HASH_MISMATCH");
    assert_eq!(pipeline.model().name(), "person-ssdlite-mobilenetv2");
    let old = pipeline.replace_model_from(models_dir().join("centerface.model.json")).unwrap();
    assert_eq!(old.name(), "person-ssdlite-mobilenetv2");
    go.send(()).unwrap();
    pipeline.push(&window(&photo, 0, 800, 200)).unwrap();
    assert!(pipeline.wait_settled(3, PATIENCE));
    let got = labels.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].1.as_str(), got[0].2.clone()), ("person-ssdlite-mobilenetv2", vec!["person".to_owned()]));
    for (_, model, names) in &got[1..] {
        assert_eq!((model.as_str(), names.clone()), ("centerface", vec!["face".to_owned()]));
    }
    let s = pipeline.stop(StopMode::Drain).stats;
    assert_eq!((s.model_replacements, s.frames_processed, s.frames_dropped), (1, 3, 0));
}

/// The descriptor with every hex digit of its sha256 turned to 0.
fn regex_free_replace_sha(descriptor: &str) -> String {
    let at = descriptor.find("\"sha256\"").unwrap();
    let start = at + descriptor[at..].find(": \"").unwrap() + 3;
    let mut s = descriptor.to_owned();
    s.replace_range(start..start + 64, &"0".repeat(64));
    s
}

#[test]
fn a_stream_that_refuses_insights_does_not_stop_the_camera() {
    let dir = tempfile::tempdir().unwrap();
    let edge = Edge::open(dir.path().join("s.db"), EdgeConfig::new("store-1", "d", Currency::EUR)).unwrap();
    // Room for one insight (about 190 bytes), and full means refuse.
    let stream = InsightStream::with_config(edge.streams(), &StreamConfig::durable("vision", 300, WhenFull::Reject)).unwrap();
    let photo = city();
    let pipeline = Pipeline::builder(model("person-ssdlite.model.json"), analytics(r#"{ "camera": "c", "interval_ms": 1000 }"#))
        .insights_to(stream)
        .start()
        .unwrap();
    for f in 0..3 {
        pipeline.push_blocking(window(&photo, 0, 300, f * 1000).copied()).unwrap();
    }
    let s = pipeline.stop(StopMode::Drain).stats;
    assert_eq!((s.frames_processed, s.insights, s.insights_failed), (3, 1, 2), "{s:?}");
    assert!(s.last_error.as_deref().unwrap_or("").contains("STREAM_FULL"), "{s:?}");
}

#[test]
fn bad_settings_are_refused() {
    let m = model("blazeface-128.model.json");
    let e = Pipeline::builder(m, analytics(r#"{ "camera": "c" }"#)).queue_capacity(0).start().unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");
    let e = Pipeline::builder(model("blazeface-128.model.json"), analytics(r#"{ "camera": "" }"#)).start().unwrap_err();
    assert_eq!(e.code(), "ANALYTICS_CONFIG_INVALID");
}
