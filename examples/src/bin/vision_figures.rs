//! The vision figures of docs/performance.md, Aisle's side (scripts/vision-figures.sh runs this
//! and onnxruntime in one go and prints them side by side). One JSON object per line:
//!
//! - `latency OUT_DIR RUNS`: per shipped model, the input tensor Aisle makes from a real photo,
//!   run through the model `runs` times after 3 warm-ups (tract, one thread: the plan runs on
//!   the calling thread): each run's ms of the model alone and of a whole `detect` (resize +
//!   model + decode + NMS). The tensor is also written as .npy so onnxruntime times the very
//!   same input. The script calls this in rounds alternating with onnxruntime, so both see the
//!   same machine load.
//! - `camera-hour`: one camera for an hour at 10 fps: the person detector on a window panning
//!   back and forth over city.jpg (real detections, 40 distinct frames, each one's detect timed),
//!   replayed through the tracker and a store's analytics (2 lines, 3 zones, 1-minute
//!   intervals) for 36,000 frames: tracking + analytics per frame against inference,
//!   association rate, insight bytes.
//!
//! `cargo run --release -p aisle-examples --features vision --bin vision_figures -- latency OUT_DIR 30`

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use aisle::vision::{
    Analytics, AnalyticsConfig, Detection, Frame, InsightEvent, Kernels, Layout, Model, ModelDescriptor, PixelFormat, Tracker, TrackerConfig,
};

const CASES: [(&str, &str); 4] = [
    ("person-ssdlite.model.json", "city.jpg"),
    ("centerface.model.json", "city.jpg"),
    ("blazeface-128.model.json", "astronaut.png"),
    ("blazeface-256.model.json", "astronaut.png"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let models = std::env::var_os("AISLE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/models"));
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("latency"), Some(out)) => {
            let runs = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(30usize).max(1);
            latency(Path::new(out), &models, runs)
        }
        (Some("camera-hour"), _) => camera_hour(&models),
        (Some("profile"), _) => profile(&models),
        _ => {
            eprintln!("usage: vision_figures latency OUT_DIR [RUNS] | vision_figures camera-hour");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vision_figures: {e}");
            ExitCode::FAILURE
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn latency(out: &Path, models: &Path, runs: usize) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    for (descriptor, photo) in CASES {
        let model = Model::load(models.join(descriptor)).map_err(|e| e.to_string())?;
        let frame = Frame::open(models.join(photo), 0).map_err(|e| e.to_string())?;
        let input = model.input_tensor(&frame);
        let d = model.descriptor();
        let (w, h) = (d.input.width as usize, d.input.height as usize);
        let shape = match d.input.layout {
            Layout::Nhwc => vec![1, h, w, 3],
            Layout::Nchw => vec![1, 3, h, w],
        };
        let stem = descriptor.trim_end_matches(".model.json");
        write_npy(&out.join(format!("{stem}.input.npy")), &shape, &input)?;
        // The same graph with tract's kernels everywhere: what Aisle's own kernels change.
        let (desc, onnx) = ModelDescriptor::from_file(models.join(descriptor)).map_err(|e| e.to_string())?;
        let bytes = std::fs::read(&onnx).map_err(|e| e.to_string())?;
        let tract_only = Model::from_bytes_with(desc, &bytes, Kernels::Tract).map_err(|e| e.to_string())?;
        for _ in 0..3 {
            model.run_tensor(&input).map_err(|e| e.to_string())?;
            tract_only.run_tensor(&input).map_err(|e| e.to_string())?;
        }
        // Alternating run by run, so both see the same load.
        let (mut model_ms, mut tract_ms) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        for _ in 0..runs {
            let t = Instant::now();
            model.run_tensor(&input).map_err(|e| e.to_string())?;
            model_ms.push(ms(t));
            let t = Instant::now();
            tract_only.run_tensor(&input).map_err(|e| e.to_string())?;
            tract_ms.push(ms(t));
        }
        let detect_ms: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                model.detect(&frame).map(|_| ms(t))
            })
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        println!(
            "{}",
            serde_json::json!({
                "figure": "latency", "model": stem,
                "onnx": models.join(d.model.as_deref().unwrap_or_default()).canonicalize().map_err(|e| e.to_string())?,
                "input": format!("{stem}.input.npy"), "input_name": d.input.name, "threads": 1,
                "model_ms": model_ms, "tract_kernels_ms": tract_ms, "detect_ms": detect_ms,
                "own_kernel_layers": model.own_kernel_layers(),
            })
        );
    }
    Ok(())
}

/// Where tract spends each model's time, by kind of operation (ms per run, share).
fn profile(models: &Path) -> Result<(), String> {
    for (descriptor, photo) in CASES {
        let model = Model::load(models.join(descriptor)).map_err(|e| e.to_string())?;
        let frame = Frame::open(models.join(photo), 0).map_err(|e| e.to_string())?;
        let ops = model.profile_ops(&model.input_tensor(&frame), 5).map_err(|e| e.to_string())?;
        let total: f64 = ops.iter().map(|o| o.2).sum();
        let top: Vec<String> =
            ops.iter().take(6).map(|(op, n, ms)| format!("{op} x{n} {ms:.1} ms ({:.0}%)", 100.0 * ms / total)).collect();
        println!("{}: {total:.1} ms: {}", descriptor.trim_end_matches(".model.json"), top.join(", "));
    }
    Ok(())
}

/// One camera-hour of tracking + analytics on real detections; see the module comment.
fn camera_hour(models: &Path) -> Result<(), String> {
    let model = Model::load(models.join("person-ssdlite.model.json")).map_err(|e| e.to_string())?;
    let city = Frame::open(models.join("city.jpg"), 0).map_err(|e| e.to_string())?;
    let (w, h) = (city.width() as usize, city.height());
    // Offsets 0, 12, ..., 228 and back: a camera panning to and fro over the crowd.
    let offsets: Vec<usize> = (0..20).map(|f| 12 * f).chain((0..20).rev().map(|f| 12 * f)).collect();
    let mut detect_ms = Vec::new();
    let detections: Vec<Vec<Detection>> = offsets
        .iter()
        .map(|&x0| {
            let view = Frame::new(&city.pixels()[x0 * 3..], 560, h, w * 3, PixelFormat::Rgb8, 0)?;
            let t = Instant::now();
            let d = model.detect(&view);
            detect_ms.push(ms(t));
            d
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let detect_ms = median(&detect_ms);
    let config: AnalyticsConfig = serde_json::from_str(
        r#"{ "camera": "entrance-1", "interval_ms": 60000, "min_count": 0, "track_timeout_ms": 2000,
             "lines": [ { "name": "door", "from": [300, -100], "to": [300, 700] },
                        { "name": "aisle-3", "from": [0, 420], "to": [560, 420] } ],
             "zones": [ { "name": "till-1", "kind": "queue", "polygon": [[0,300],[200,300],[200,564],[0,564]] },
                        { "name": "promo-shelf", "kind": "interaction", "polygon": [[380,80],[560,80],[560,260],[380,260]] },
                        { "name": "floor", "kind": "area", "polygon": [[0,0],[560,0],[560,564],[0,564]] } ] }"#,
    )
    .map_err(|e| e.to_string())?;
    let mut tracker = Tracker::new(TrackerConfig { frame_interval_ms: 100.0, ..TrackerConfig::default() });
    let mut analytics = Analytics::new(config).map_err(|e| e.to_string())?;
    let frames = 36_000usize; // an hour at 10 fps
    let (mut bytes, mut events) = (0usize, 0usize);
    let mut tracking_ms = 0.0;
    for f in 0..frames {
        let ts = f as i64 * 100;
        let t = Instant::now();
        let tracks = tracker.update(&detections[f % detections.len()], ts);
        let closed = analytics.update(&tracks, ts);
        tracking_ms += ms(t);
        for i in closed {
            bytes += InsightEvent::new(i, 0, model.name()).to_json().len();
            events += 1;
        }
    }
    if let Some(i) = analytics.flush() {
        bytes += InsightEvent::new(i, 0, model.name()).to_json().len();
        events += 1;
    }
    let s = tracker.stats();
    let per_frame = tracking_ms / frames as f64;
    println!(
        "{}",
        serde_json::json!({
            "figure": "camera_hour", "frames": frames, "fps": 10,
            "detections_per_frame": detections.iter().map(Vec::len).sum::<usize>() as f64 / detections.len() as f64,
            "tracking_analytics_ms_per_frame": per_frame,
            "person_detect_ms_per_frame": detect_ms,
            "tracking_share_of_inference": if detect_ms > 0.0 { per_frame / detect_ms } else { 0.0 },
            "association_rate": s.matched_high as f64 / s.high.max(1) as f64,
            "tracks_confirmed": s.confirmed,
            "insight_events": events, "insight_bytes": bytes,
        })
    );
    Ok(())
}

/// A little-endian f32 array in NumPy's .npy format (version 1.0).
fn write_npy(path: &Path, shape: &[usize], values: &[f32]) -> Result<(), String> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + values.len() * 4);
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
