//! Edge vision for Node: models, frames, a detector, camera pipelines.
//!
//! Glue only. A frame is a plain object `{ data, width, height, stride?, format?, timestampMs? }`
//! whose `data` is a `Uint8Array` (a `Buffer` is one): the synchronous calls read it **in
//! place** (napi hands over the typed array's own memory, no copy), so a view such as
//! `photo.data.subarray(x0 * 3)` with the photo's `stride` is a crop without copying. The
//! Promise twins (`detectAsync`, `pushBlockingAsync`) copy the pixels once on the main thread
//! before they go to the thread pool: JS may reuse or detach its buffer as soon as the call
//! returns. `push` copies into the pipeline's queue (the core's contract) and never blocks.
//!
//! Pipelines run on their own worker thread and never call JS; their insights go to a forward
//! stream of the store (`edge.streams().read('vision')`), whose records are `VisionInsightEvent`
//! JSON (types.d.ts).

use std::sync::Arc;
use std::time::Duration;

use aisle::vision::{self, PixelFormat, StopMode};
use napi::bindgen_prelude::{AsyncTask, Uint8Array, Unknown};
use napi::ValueType;
use napi_derive::napi;

use crate::error::{Code, from_napi, invalid_argument, to_napi_err};
use crate::json::{Document, to_json};
use crate::number::integer_arg;
use crate::store::Edge;
use crate::task::Job;

fn frame_invalid(reason: String) -> napi::Error<Code> {
    to_napi_err(aisle::Error::FrameInvalid { reason })
}

/// A configuration given as an object or as JSON text: the JSON text either way.
fn config_text(value: Unknown<'_>, what: &str) -> napi::Result<String, Code> {
    if value.get_type().map_err(from_napi)? == ValueType::String {
        // Safety: the type was just checked.
        return unsafe { value.cast::<String>() }.map_err(from_napi);
    }
    to_json(value, what)
}

/// A whole number of milliseconds or pixels from a JS `number` (napi would wrap a `u32`).
fn whole(name: &str, value: f64) -> napi::Result<i64, Code> {
    integer_arg(name, value).map_err(|e| frame_invalid(e.reason.clone()))
}

fn dimension(name: &str, value: f64) -> napi::Result<u32, Code> {
    let n = whole(name, value)?;
    u32::try_from(n).map_err(|_| frame_invalid(format!("{name} must be 0..=4294967295, got {n}")))
}

fn pixel_format(name: Option<&str>) -> napi::Result<PixelFormat, Code> {
    match name.unwrap_or("rgb") {
        "rgb" => Ok(PixelFormat::Rgb8),
        "bgr" => Ok(PixelFormat::Bgr8),
        "rgba" => Ok(PixelFormat::Rgba8),
        "bgra" => Ok(PixelFormat::Bgra8),
        other => Err(frame_invalid(format!("format must be 'rgb', 'bgr', 'rgba' or 'bgra', not {other:?}"))),
    }
}

fn format_name(format: PixelFormat) -> &'static str {
    match format {
        PixelFormat::Rgb8 => "rgb",
        PixelFormat::Bgr8 => "bgr",
        PixelFormat::Rgba8 => "rgba",
        PixelFormat::Bgra8 => "bgra",
    }
}

// ---- frames --------------------------------------------------------------------------------

/// One picture: `height` rows of `stride` bytes (default: packed, `width × bytes per pixel`)
/// in `data`, pixels in `format` (default `'rgb'`), taken at `timestampMs` (default 0, your
/// clock). `data` is read in place by the synchronous calls.
#[napi(object)]
pub struct Frame {
    #[napi(ts_type = "Uint8Array")]
    pub data: Uint8Array,
    pub width: f64,
    pub height: f64,
    pub stride: Option<f64>,
    #[napi(ts_type = "'rgb' | 'bgr' | 'rgba' | 'bgra'")]
    pub format: Option<String>,
    pub timestamp_ms: Option<f64>,
}

impl Frame {
    /// The core's frame over `data` (no copy); `FRAME_INVALID` says which size is wrong.
    fn view(&self) -> napi::Result<vision::Frame<'_>, Code> {
        let format = pixel_format(self.format.as_deref())?;
        let width = dimension("width", self.width)?;
        let height = dimension("height", self.height)?;
        let stride = match self.stride {
            Some(s) => usize::try_from(whole("stride", s)?).map_err(|_| frame_invalid(format!("stride {s} is negative")))?,
            None => width as usize * format.bytes_per_pixel(),
        };
        let timestamp = match self.timestamp_ms {
            Some(t) => whole("timestampMs", t)?,
            None => 0,
        };
        vision::Frame::new(&self.data, width, height, stride, format, timestamp).map_err(to_napi_err)
    }

    /// An owned copy (for the thread pool).
    fn owned(&self) -> napi::Result<vision::Frame<'static>, Code> {
        Ok(self.view()?.copied())
    }
}

/// A decoded image as a frame object: its own `Buffer`, packed RGB rows.
fn frame_object(frame: vision::Frame<'static>) -> Frame {
    Frame {
        width: frame.width() as f64,
        height: frame.height() as f64,
        stride: Some(frame.stride() as f64),
        format: Some(format_name(frame.format()).to_owned()),
        timestamp_ms: Some(frame.timestamp_ms() as f64),
        data: Uint8Array::new(frame.pixels().to_vec()),
    }
}

/// Reads and decodes a JPEG or PNG file into an RGB frame (greyscale and alpha become RGB);
/// `IMAGE_INVALID` for anything else.
#[napi]
pub fn load_image(path: String, timestamp_ms: Option<f64>) -> napi::Result<Frame, Code> {
    let ts = timestamp_ms.map(|t| whole("timestampMs", t)).transpose()?.unwrap_or(0);
    vision::Frame::open(&path, ts).map(frame_object).map_err(to_napi_err)
}

/// Decodes JPEG or PNG bytes into an RGB frame.
#[napi]
pub fn decode_image(bytes: Uint8Array, timestamp_ms: Option<f64>) -> napi::Result<Frame, Code> {
    let ts = timestamp_ms.map(|t| whole("timestampMs", t)).transpose()?.unwrap_or(0);
    vision::Frame::decode(&bytes, ts).map(frame_object).map_err(to_napi_err)
}

// ---- models and detections -----------------------------------------------------------------

/// A box in frame pixels: `x0 <= x1`, `y0 <= y1`.
#[napi(object)]
pub struct BBox {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// A keypoint in frame pixels (face landmarks: eyes, nose, mouth corners).
#[napi(object)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// One object found in a frame.
#[napi(object)]
pub struct Detection {
    /// Index into the model's `classes`.
    pub class_id: u32,
    pub label: String,
    /// 0..1.
    pub score: f64,
    pub bbox: BBox,
    pub keypoints: Vec<Point>,
}

fn detections(found: Vec<vision::Detection>) -> Vec<Detection> {
    found
        .into_iter()
        .map(|d| Detection {
            class_id: d.class_id as u32,
            label: d.label,
            score: d.score as f64,
            bbox: BBox { x0: d.bbox.x0 as f64, y0: d.bbox.y0 as f64, x1: d.bbox.x1 as f64, y1: d.bbox.y1 as f64 },
            keypoints: d.keypoints.into_iter().map(|(x, y)| Point { x: x as f64, y: y as f64 }).collect(),
        })
        .collect()
}

/// A loaded, hash-verified detection model. Share it: a detector and any number of pipelines
/// can run the same one.
#[napi]
pub struct Model {
    inner: Arc<vision::Model>,
}

#[napi]
impl Model {
    /// Loads the model a descriptor file names (relative to the descriptor) and checks its
    /// SHA-256: `MODEL_DESCRIPTOR_INVALID`, `MODEL_HASH_MISMATCH`, `MODEL_IO`, `MODEL_INVALID`.
    #[napi(factory)]
    pub fn load(path: String) -> napi::Result<Model, Code> {
        let inner = vision::Model::load(&path).map_err(to_napi_err)?;
        Ok(Model { inner: Arc::new(inner) })
    }

    /// `load` as a Promise: tract reads and optimises the graph on the thread pool.
    #[napi(ts_return_type = "Promise<Model>")]
    pub fn load_async(path: String) -> AsyncTask<Job<Model>> {
        Job::spawn(move || {
            let inner = vision::Model::load(&path).map_err(to_napi_err)?;
            Ok(Model { inner: Arc::new(inner) })
        })
    }

    /// A model from its descriptor (an object or JSON text; its `model` field is not needed)
    /// and the model file's bytes.
    #[napi(factory)]
    pub fn from_bytes(
        #[napi(ts_arg_type = "Record<string, unknown> | string")] descriptor: Unknown,
        data: Uint8Array,
    ) -> napi::Result<Model, Code> {
        let json = config_text(descriptor, "descriptor")?;
        let descriptor = vision::ModelDescriptor::from_json(&json, "<descriptor>").map_err(to_napi_err)?;
        let inner = vision::Model::from_bytes(descriptor, &data).map_err(to_napi_err)?;
        Ok(Model { inner: Arc::new(inner) })
    }

    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// SHA-256 of the model file (lowercase hex), verified equal to the descriptor's.
    #[napi(getter)]
    pub fn sha256(&self) -> String {
        self.inner.sha256().to_owned()
    }

    /// Class names by index: a detection's `classId` indexes this.
    #[napi(getter)]
    pub fn classes(&self) -> Vec<String> {
        self.inner.descriptor().classes.clone()
    }

    /// What was changed in the graph at load time so tract runs it (usually empty).
    #[napi(getter)]
    pub fn fixes(&self) -> Vec<String> {
        self.inner.fixes().to_vec()
    }

    /// The descriptor (the JSON object of the `.model.json` file).
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn descriptor(&self) -> napi::Result<Document, Code> {
        Document::from_text(self.inner.descriptor().to_json(), "the model descriptor")
    }
}

/// Runs the current model on frames; the model can be replaced between frames.
#[napi]
pub struct Detector {
    inner: Arc<vision::Detector>,
}

#[napi]
impl Detector {
    #[napi(constructor)]
    pub fn new(model: &Model) -> Detector {
        Detector { inner: Arc::new(vision::Detector::new(Arc::clone(&model.inner))) }
    }

    /// The objects in one frame, best first, in frame pixels. Reads `frame.data` in place and
    /// runs on this thread (tens to hundreds of ms): `detectAsync` keeps the event loop free.
    #[napi]
    pub fn detect(&self, frame: Frame) -> napi::Result<Vec<Detection>, Code> {
        let view = frame.view()?;
        self.inner.detect(&view).map(detections).map_err(to_napi_err)
    }

    /// `detect` as a Promise: the pixels are copied now, inference runs on the thread pool.
    #[napi(ts_return_type = "Promise<Array<Detection>>")]
    pub fn detect_async(&self, frame: Frame) -> AsyncTask<Job<Vec<Detection>>> {
        let detector = Arc::clone(&self.inner);
        Job::spawn_with(frame.owned(), move |owned| detector.detect(&owned).map(detections).map_err(to_napi_err))
    }

    /// The model in use now.
    #[napi(getter)]
    pub fn model(&self) -> Model {
        Model { inner: self.inner.model() }
    }

    /// Installs `model` from the next frame on; returns the one it replaces.
    #[napi]
    pub fn replace_model(&self, model: &Model) -> Model {
        Model { inner: self.inner.replace_model(Arc::clone(&model.inner)) }
    }
}

// ---- pipelines -----------------------------------------------------------------------------

/// How a pipeline is set up besides its model and analytics.
#[napi(object)]
pub struct PipelineOptions {
    /// Frames held waiting, 1..=256 (default 2): beyond it the oldest is dropped and counted.
    pub queue_capacity: Option<f64>,
    /// The store's forward stream insights go to (default `'vision'`; created durable,
    /// drop-oldest, if missing).
    pub stream: Option<String>,
}

/// The tracker's counters.
#[napi(object)]
pub struct TrackerStats {
    pub frames: i64,
    pub confirmed: i64,
    pub evicted: i64,
    pub expired: i64,
    pub matched_high: i64,
    pub high: i64,
}

/// A pipeline's counters since it started. `framesIn = framesProcessed + framesFailed +
/// framesDropped + queued (+ 1 while a frame is being processed)`.
#[napi(object)]
pub struct PipelineStats {
    pub frames_in: i64,
    pub frames_processed: i64,
    pub frames_failed: i64,
    pub frames_dropped: i64,
    pub queued: i64,
    pub queue_capacity: i64,
    pub queued_max: i64,
    /// Total ms in inference, and in tracking + analytics.
    pub inference_ms: f64,
    pub tracking_ms: f64,
    pub insights: i64,
    pub insight_bytes: i64,
    pub insights_failed: i64,
    pub model_replacements: i64,
    pub tracker: TrackerStats,
    pub last_error: Option<String>,
}

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn stats(s: vision::PipelineStats) -> PipelineStats {
    PipelineStats {
        frames_in: n(s.frames_in),
        frames_processed: n(s.frames_processed),
        frames_failed: n(s.frames_failed),
        frames_dropped: n(s.frames_dropped),
        queued: n(s.queued as u64),
        queue_capacity: n(s.queue_capacity as u64),
        queued_max: n(s.queued_max as u64),
        inference_ms: s.inference_ms,
        tracking_ms: s.tracking_ms,
        insights: n(s.insights),
        insight_bytes: n(s.insight_bytes),
        insights_failed: n(s.insights_failed),
        model_replacements: n(s.model_replacements),
        tracker: TrackerStats {
            frames: n(s.tracker.frames),
            confirmed: n(s.tracker.confirmed),
            evicted: n(s.tracker.evicted),
            expired: n(s.tracker.expired),
            matched_high: n(s.tracker.matched_high),
            high: n(s.tracker.high),
        },
        last_error: s.last_error,
    }
}

/// What a stopped pipeline leaves.
#[napi(object, object_from_js = false)]
pub struct StopReport {
    pub stats: PipelineStats,
    /// Frames dropped by this stop (`discard: true`).
    pub discarded: i64,
    /// The interval in progress at the stop, flushed (and appended to the stream).
    #[napi(ts_type = "Insight | null")]
    pub final_insight: Option<Document>,
}

fn stop_report(r: vision::StopReport) -> napi::Result<StopReport, Code> {
    let final_insight = r.final_insight.as_ref().map(|i| Document::of(i, "the final insight")).transpose()?;
    Ok(StopReport { stats: stats(r.stats), discarded: n(r.discarded), final_insight })
}

fn timeout(ms: f64) -> napi::Result<Duration, Code> {
    let ms = integer_arg("timeoutMs", ms)?;
    u64::try_from(ms).map(Duration::from_millis).map_err(|_| invalid_argument(format!("timeoutMs must be >= 0, got {ms}")))
}

fn stop_mode(discard: Option<bool>) -> StopMode {
    if discard.unwrap_or(false) { StopMode::Discard } else { StopMode::Drain }
}

/// One camera: a worker thread runs detector → tracker → analytics on the frames pushed,
/// behind a bounded queue, and appends each interval's insight to a forward stream.
#[napi]
pub struct Pipeline {
    inner: Arc<vision::Pipeline>,
    stream: String,
}

#[napi]
impl Pipeline {
    /// Starts the pipeline of the camera `analytics.camera` (an object or JSON text; bad ones
    /// are `ANALYTICS_CONFIG_INVALID` naming the field). Insights go to the store's stream
    /// `options.stream` (default `'vision'`).
    #[napi(constructor)]
    pub fn new(
        edge: &Edge,
        model: &Model,
        #[napi(ts_arg_type = "AnalyticsConfig | string")] analytics: Unknown,
        options: Option<PipelineOptions>,
    ) -> napi::Result<Pipeline, Code> {
        let json = config_text(analytics, "analytics")?;
        // Parsed and validated by the core (errors name the JSON path).
        let config = vision::Analytics::from_json(&json).map_err(to_napi_err)?.config().clone();
        let options = options.unwrap_or(PipelineOptions { queue_capacity: None, stream: None });
        let capacity = match options.queue_capacity {
            Some(c) => usize::try_from(integer_arg("queueCapacity", c)?).unwrap_or(0),
            None => vision::DEFAULT_QUEUE_CAPACITY,
        };
        let stream = options.stream.unwrap_or_else(|| vision::INSIGHT_STREAM.to_owned());
        let sink = vision::InsightStream::open(edge.inner.streams(), &stream).map_err(to_napi_err)?;
        let inner = vision::Pipeline::builder(Arc::clone(&model.inner), config)
            .queue_capacity(capacity)
            .insights_to(sink)
            .start()
            .map_err(to_napi_err)?;
        Ok(Pipeline { inner: Arc::new(inner), stream })
    }

    #[napi(getter)]
    pub fn camera(&self) -> String {
        self.inner.camera().to_owned()
    }

    /// The forward stream insights go to.
    #[napi(getter)]
    pub fn stream(&self) -> String {
        self.stream.clone()
    }

    /// The model in use now.
    #[napi(getter)]
    pub fn model(&self) -> Model {
        Model { inner: self.inner.model() }
    }

    /// Queues a copy of the frame and returns at once: `'queued'`, or `'dropped_oldest'` when
    /// the queue was full and its oldest frame was dropped (and counted) for this one.
    #[napi(ts_return_type = "'queued' | 'dropped_oldest'")]
    pub fn push(&self, frame: Frame) -> napi::Result<&'static str, Code> {
        let view = frame.view()?;
        match self.inner.push(&view).map_err(to_napi_err)? {
            vision::Pushed::Queued => Ok("queued"),
            vision::Pushed::DroppedOldest => Ok("dropped_oldest"),
        }
    }

    /// Queues a copy of the frame, waiting for room instead of dropping (recorded video, files):
    /// blocks this thread; `pushBlockingAsync` waits on the thread pool.
    #[napi]
    pub fn push_blocking(&self, frame: Frame) -> napi::Result<(), Code> {
        let owned = frame.owned()?;
        self.inner.push_blocking(owned).map_err(to_napi_err)
    }

    /// `pushBlocking` as a Promise: the pixels are copied now, the wait for room is off the
    /// event loop. Await each before the next to keep the frames in order.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn push_blocking_async(&self, frame: Frame) -> AsyncTask<Job<()>> {
        let pipeline = Arc::clone(&self.inner);
        Job::spawn_with(frame.owned(), move |owned| pipeline.push_blocking(owned).map_err(to_napi_err))
    }

    /// Installs `model` from the next frame on (the camera does not stop); returns the old one.
    #[napi]
    pub fn replace_model(&self, model: &Model) -> Model {
        Model { inner: self.inner.replace_model(Arc::clone(&model.inner)) }
    }

    #[napi]
    pub fn stats(&self) -> PipelineStats {
        stats(self.inner.stats())
    }

    /// Waits (blocking) until the queue is empty and no frame is in progress; whether it got
    /// there within `timeoutMs`.
    #[napi]
    pub fn wait_idle(&self, timeout_ms: f64) -> napi::Result<bool, Code> {
        Ok(self.inner.wait_idle(timeout(timeout_ms)?))
    }

    /// `waitIdle` as a Promise, waiting on the thread pool.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn wait_idle_async(&self, timeout_ms: f64) -> AsyncTask<Job<bool>> {
        let pipeline = Arc::clone(&self.inner);
        Job::spawn_with(timeout(timeout_ms), move |t| Ok(pipeline.wait_idle(t)))
    }

    /// Stops the camera: queued frames are processed (or dropped and counted, `discard`), the
    /// interval in progress is flushed to the stream, the worker is joined. A second stop
    /// returns the same report. Blocks while the queue drains: `stopAsync` does not.
    #[napi]
    pub fn stop(&self, discard: Option<bool>) -> napi::Result<StopReport, Code> {
        stop_report(self.inner.stop(stop_mode(discard)))
    }

    /// `stop` as a Promise, joining the worker on the thread pool.
    #[napi(ts_return_type = "Promise<StopReport>")]
    pub fn stop_async(&self, discard: Option<bool>) -> AsyncTask<Job<StopReport>> {
        let pipeline = Arc::clone(&self.inner);
        let mode = stop_mode(discard);
        Job::spawn(move || stop_report(pipeline.stop(mode)))
    }
}
