//! Runs a model over a folder of images through a camera pipeline (the images are the frames,
//! in name order, at `--fps`), prints each image's detections and the insights, and writes
//! each image with its boxes drawn as a PNG for a person to look at.
//!
//! cargo run --release -p aisle-examples --features vision --bin vision_folder -- \
//!     --model target/models/person-ssdlite.model.json --input target/models --output /tmp/annotated
//!     [--analytics camera.json] [--fps 1]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use aisle::vision::{AnalyticsConfig, Detection, Frame, Insight, Model, Pipeline, StopMode, TrackedObject};

struct Args {
    model: PathBuf,
    input: PathBuf,
    output: PathBuf,
    analytics: Option<PathBuf>,
    fps: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut model, mut input, mut output, mut analytics, mut fps) = (None, None, None, None, 1.0);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--model" => model = Some(PathBuf::from(value()?)),
            "--input" => input = Some(PathBuf::from(value()?)),
            "--output" => output = Some(PathBuf::from(value()?)),
            "--analytics" => analytics = Some(PathBuf::from(value()?)),
            "--fps" => fps = value()?.parse::<f64>().map_err(|e| format!("--fps: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !(fps > 0.0 && fps <= 1000.0) {
        return Err("--fps must be in (0, 1000]".into());
    }
    Ok(Args {
        model: model.ok_or("--model DESCRIPTOR is required")?,
        input: input.ok_or("--input DIR is required")?,
        output: output.ok_or("--output DIR is required")?,
        analytics,
        fps,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vision_folder: {e}\nusage: vision_folder --model DESCRIPTOR --input DIR --output DIR [--analytics CONFIG.json] [--fps N]");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vision_folder: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the worker hands to the writer thread for one image.
struct Done {
    index: usize,
    model: String,
    detections: Vec<Detection>,
    tracks: Vec<TrackedObject>,
    insights: Vec<Insight>,
    inference_ms: f64,
}

fn run(args: &Args) -> Result<(), String> {
    let images = list_images(&args.input)?;
    if images.is_empty() {
        return Err(format!("no .jpg, .jpeg or .png files in {}", args.input.display()));
    }
    std::fs::create_dir_all(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let analytics: AnalyticsConfig = match &args.analytics {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => serde_json::from_str(r#"{ "camera": "folder" }"#).map_err(|e| e.to_string())?,
    };
    let model = Model::load(&args.model).map_err(|e| e.to_string())?;
    let frame_ms = 1000.0 / args.fps;

    // The worker's callback hands results to a writer thread over a bounded channel; the
    // writer draws and saves, so the pipeline never waits on PNG encoding for long.
    let (tx, rx) = sync_channel::<Done>(4);
    let pipeline = Pipeline::builder(model, analytics)
        .queue_capacity(2)
        .on_frame(move |r| {
            let _ = tx.send(Done {
                index: (r.timestamp_ms as f64 / frame_ms).round() as usize,
                model: r.model.name().to_owned(),
                detections: r.detections.to_vec(),
                tracks: r.tracks.to_vec(),
                insights: r.insights.to_vec(),
                inference_ms: r.inference_ms,
            });
        })
        .start()
        .map_err(|e| e.to_string())?;

    let total = images.len();
    let writer_images = images.clone();
    let output = args.output.clone();
    let writer = std::thread::spawn(move || -> Result<Vec<Insight>, String> {
        let mut bar = Progress::new(total);
        let mut insights = Vec::new();
        for done in rx {
            let path = &writer_images[done.index.min(total - 1)];
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            bar.clear();
            println!("{name}: {} detections by {} in {:.1} ms", done.detections.len(), done.model, done.inference_ms);
            for d in &done.detections {
                let id = done.tracks.iter().find(|t| t.detected == d.bbox).map(|t| format!(" track {}", t.id));
                let b = &d.bbox;
                println!(
                    "  {} {:.2} [{:.0} {:.0} {:.0} {:.0}]{}",
                    d.label,
                    d.score,
                    b.x0,
                    b.y0,
                    b.x1,
                    b.y1,
                    id.unwrap_or_default()
                );
            }
            for i in &done.insights {
                println!("  insight {}", serde_json::to_string(i).unwrap_or_default());
            }
            insights.extend(done.insights);
            annotate(path, &done.detections, &output.join(Path::new(&name).with_extension("png")))?;
            bar.step(&name);
        }
        bar.finish();
        Ok(insights)
    });

    let started = Instant::now();
    for (i, path) in images.iter().enumerate() {
        let frame = Frame::open(path, (i as f64 * frame_ms).round() as i64).map_err(|e| e.to_string())?;
        pipeline.push_blocking(frame).map_err(|e| e.to_string())?;
    }
    let report = pipeline.stop(StopMode::Drain);
    drop(pipeline); // closes the channel: the writer finishes
    let mut insights = writer.join().map_err(|_| "the writer thread panicked".to_string())??;
    insights.extend(report.final_insight);
    for i in &insights {
        println!("insight {}", serde_json::to_string(i).unwrap_or_default());
    }
    let s = &report.stats;
    println!(
        "{} images in {:.1} s: inference {:.1} ms/frame, tracking + analytics {:.3} ms/frame, {} failed{}; annotated PNGs in {}",
        s.frames_processed,
        started.elapsed().as_secs_f64(),
        s.inference_ms_per_frame(),
        s.tracking_ms_per_frame(),
        s.frames_failed,
        s.last_error.as_deref().map(|e| format!(" (last: {e})")).unwrap_or_default(),
        args.output.display()
    );
    Ok(())
}

fn list_images(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
            p.is_file() && matches!(ext.as_str(), "jpg" | "jpeg" | "png")
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Saves the image with a 3-pixel outline around every detection (a colour per class) and a
/// dot on each keypoint.
fn annotate(path: &Path, detections: &[Detection], out: &Path) -> Result<(), String> {
    let frame = Frame::open(path, 0).map_err(|e| e.to_string())?;
    let (w, h) = (frame.width(), frame.height());
    let mut img = image::RgbImage::from_raw(w, h, frame.pixels().to_vec()).ok_or("frame size mismatch")?;
    const COLOURS: [[u8; 3]; 4] = [[255, 40, 40], [40, 220, 40], [40, 120, 255], [255, 200, 0]];
    let mut put = |x: i64, y: i64, c: [u8; 3]| {
        if x >= 0 && y >= 0 && x < w as i64 && y < h as i64 {
            img.put_pixel(x as u32, y as u32, image::Rgb(c));
        }
    };
    for d in detections {
        let c = COLOURS[d.class_id % COLOURS.len()];
        let b = &d.bbox;
        let (x0, y0, x1, y1) = (b.x0.round() as i64, b.y0.round() as i64, b.x1.round() as i64, b.y1.round() as i64);
        for t in 0..3 {
            for x in x0..=x1 {
                put(x, y0 + t, c);
                put(x, y1 - t, c);
            }
            for y in y0..=y1 {
                put(x0 + t, y, c);
                put(x1 - t, y, c);
            }
        }
        for &(kx, ky) in &d.keypoints {
            for dy in -2..=2 {
                for dx in -2..=2 {
                    put(kx.round() as i64 + dx, ky.round() as i64 + dy, c);
                }
            }
        }
    }
    img.save_with_format(out, image::ImageFormat::Png).map_err(|e| format!("{}: {e}", out.display()))
}

/// A one-line progress bar on stderr (only redrawn when stderr is a terminal or 200 ms passed).
struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress { total, done: 0, started: Instant::now(), last: None }
    }

    fn step(&mut self, name: &str) {
        self.done += 1;
        let due = self.last.is_none_or(|t| t.elapsed() >= Duration::from_millis(200)) || self.done == self.total;
        if due {
            self.last = Some(Instant::now());
            let width = 30;
            let filled = width * self.done / self.total;
            let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            eprint!(
                "\r[{}{}] {}/{} {:.1} img/s {:<30.30}",
                "#".repeat(filled),
                "-".repeat(width - filled),
                self.done,
                self.total,
                rate,
                name
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn clear(&self) {
        if self.last.is_some() {
            eprint!("\r{:120}\r", "");
        }
    }

    fn finish(&self) {
        eprintln!();
    }
}
