//! Edge vision in Kotlin: `Model`, `Frame`, `Detector`, camera `Pipeline`s.
//!
//! Glue only. Pixels come in two ways:
//! - a `Frame` record whose `pixels` are a `ByteArray`. uniffi passes a `ByteArray` by value
//!   (it is written into a Rust buffer at the call), so a frame costs one copy at the FFI
//!   boundary and none after it: `Pipeline.push` queues the very bytes that crossed (the core's
//!   `push_owned` over `Frame::from_vec`), and `detect` reads them in place;
//! - a direct `java.nio.ByteBuffer` (what Android's camera APIs hand out), read in place. uniffi
//!   has no type for one, so `Vision.kt` takes the buffer's address with JNA and calls the raw
//!   `unsafe…At(address, len, …)` methods here, which borrow that memory for the duration of
//!   the call ([`borrowed`]): `detect` copies nothing, `push`/`pushBlocking` copy once, into the
//!   frame the queue owns (the worker runs after the call has returned).
//!
//! Analytics configurations are JSON text (docs/vision.md), read by the core (errors name the
//! field); the final insight of a stop is the core's JSON too, like the stream records a
//! pipeline appends (`edge.streams().read("vision", …)`). Pipelines run on their own worker
//! thread and never call into the JVM. The long calls block; `Vision.kt` adds the suspend twins.

use std::sync::Arc;
use std::time::Duration;

use aisle::vision::{self, PixelFormat, Pushed, StopMode};

use crate::{Edge, Result, count};

fn frame_invalid(reason: String) -> crate::AisleError {
    aisle::Error::FrameInvalid { reason }.into()
}

/// Byte layout of one pixel.
#[uniffi::remote(Enum)]
pub enum PixelFormat {
    Rgb8,
    Bgr8,
    Rgba8,
    /// Android's `ARGB_8888` bitmaps are this order in memory on little-endian devices.
    Bgra8,
}

/// What `Pipeline.push` did.
#[uniffi::remote(Enum)]
pub enum Pushed {
    Queued,
    /// Queued, and the oldest waiting frame was dropped (and counted) to make room.
    DroppedOldest,
}

/// One picture: `height` rows of `stride` bytes (`null`: packed, `width × bytes per pixel`)
/// in `pixels`, taken at `timestampMs` (your clock, ms).
#[derive(uniffi::Record)]
pub struct Frame {
    pub pixels: Vec<u8>,
    pub width: i32,
    pub height: i32,
    pub format: PixelFormat,
    #[uniffi(default = 0)]
    pub timestamp_ms: i64,
    #[uniffi(default)]
    pub stride: Option<i32>,
}

fn non_negative(name: &str, v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| frame_invalid(format!("{name} must be >= 0, got {v}")))
}

/// `(width, height, stride)` of a frame's Kotlin sizes (`stride` `null`: packed rows).
fn layout(width: i32, height: i32, stride: Option<i32>, format: PixelFormat) -> Result<(u32, u32, usize)> {
    let (width, height) = (non_negative("width", width)?, non_negative("height", height)?);
    let stride = match stride {
        Some(s) => non_negative("stride", s)? as usize,
        None => width as usize * format.bytes_per_pixel(),
    };
    Ok((width, height, stride))
}

impl Frame {
    /// The core's frame over `pixels` (no copy); `FRAME_INVALID` says which size is wrong.
    fn view(&self) -> Result<vision::Frame<'_>> {
        let (width, height, stride) = self.layout()?;
        Ok(vision::Frame::new(&self.pixels, width, height, stride, self.format, self.timestamp_ms)?)
    }

    fn layout(&self) -> Result<(u32, u32, usize)> {
        layout(self.width, self.height, self.stride, self.format)
    }

    /// The frame as the core owns it, taking the bytes (no copy).
    fn into_owned(self) -> Result<vision::Frame<'static>> {
        let (width, height, stride) = self.layout()?;
        Ok(vision::Frame::from_vec(self.pixels, width, height, stride, self.format, self.timestamp_ms)?)
    }

    fn of(frame: vision::Frame<'static>) -> Frame {
        Frame {
            width: frame.width() as i32,
            height: frame.height() as i32,
            format: frame.format(),
            timestamp_ms: frame.timestamp_ms(),
            stride: Some(frame.stride() as i32),
            pixels: frame.pixels().to_vec(),
        }
    }
}

/// The sizes of a frame over memory the caller holds: a direct `ByteBuffer`'s remaining bytes.
struct Raw {
    address: u64,
    len: u64,
    width: i32,
    height: i32,
    format: PixelFormat,
    timestamp_ms: i64,
    stride: Option<i32>,
}

/// Calls `f` with the core's frame over the `len` bytes at `address` (no copy), checked like
/// any frame first: the sizes must fit in `len` (`FRAME_INVALID` says which one does not), so
/// nothing beyond `len` is ever read.
///
/// # Safety
/// The caller (`Vision.kt`, the only one: the exported `unsafe…At` methods are private in Rust)
/// guarantees that `address` is the first of `len` bytes it may read (a direct `ByteBuffer`'s
/// address plus its position; `len` its remaining bytes), that the memory stays allocated until
/// this returns (the buffer is kept reachable across the call, and the caller must not free it,
/// e.g. `Image.close()`, from another thread meanwhile), and that nothing writes to it meanwhile.
/// The frame cannot outlive the call: `f` takes it for any lifetime, so it cannot keep it.
unsafe fn borrowed<T>(raw: Raw, f: impl FnOnce(&vision::Frame<'_>) -> Result<T>) -> Result<T> {
    let (width, height, stride) = layout(raw.width, raw.height, raw.stride, raw.format)?;
    let len = usize::try_from(raw.len)
        .ok()
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| frame_invalid(format!("a buffer of {} bytes is larger than this process can address", raw.len)))?;
    let address = usize::try_from(raw.address)
        .ok()
        .filter(|a| a.checked_add(len).is_some())
        .ok_or_else(|| frame_invalid(format!("{len} bytes at address {:#x} run past the address space", raw.address)))?;
    let pixels: &[u8] = if len == 0 {
        &[] // the core refuses it with the sizes it needed
    } else if address == 0 {
        return Err(frame_invalid("the buffer has no address (a freed or non-direct buffer?)".into()));
    } else {
        // SAFETY: non-null, `u8` needs no alignment, `len <= isize::MAX` and the range does not
        // wrap (checked above); readable, allocated and unwritten for the whole call by this
        // function's contract, and the slice (and every frame over it) is dropped before it
        // returns: `f` gets a borrow, `Frame::new` borrows, `push` copies out of it.
        unsafe { std::slice::from_raw_parts(address as *const u8, len) }
    };
    f(&vision::Frame::new(pixels, width, height, stride, raw.format, raw.timestamp_ms)?)
}

/// Reads and decodes a JPEG or PNG file into an RGB frame (greyscale and alpha become RGB);
/// `ImageInvalid` for anything else.
#[uniffi::export(default(timestamp_ms = 0))]
pub fn load_image(path: String, timestamp_ms: i64) -> Result<Frame> {
    Ok(Frame::of(vision::Frame::open(path, timestamp_ms)?))
}

/// Decodes JPEG or PNG bytes into an RGB frame.
#[uniffi::export(default(timestamp_ms = 0))]
pub fn decode_image(bytes: Vec<u8>, timestamp_ms: i64) -> Result<Frame> {
    Ok(Frame::of(vision::Frame::decode(&bytes, timestamp_ms)?))
}

// ---- models and detections -----------------------------------------------------------------

/// A box in frame pixels: `x0 <= x1`, `y0 <= y1`.
#[derive(uniffi::Record)]
pub struct BBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

/// A keypoint in frame pixels (face landmarks).
#[derive(uniffi::Record)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
}

/// One object found in a frame.
#[derive(uniffi::Record)]
pub struct Detection {
    /// Index into the model's `classes()`.
    pub class_id: i32,
    pub label: String,
    /// 0..1.
    pub score: f32,
    pub bbox: BBox,
    pub keypoints: Vec<Keypoint>,
}

fn detections(found: Vec<vision::Detection>) -> Vec<Detection> {
    found
        .into_iter()
        .map(|d| Detection {
            class_id: i32::try_from(d.class_id).unwrap_or(i32::MAX),
            label: d.label,
            score: d.score,
            bbox: BBox { x0: d.bbox.x0, y0: d.bbox.y0, x1: d.bbox.x1, y1: d.bbox.y1 },
            keypoints: d.keypoints.into_iter().map(|(x, y)| Keypoint { x, y }).collect(),
        })
        .collect()
}

/// A loaded, hash-verified detection model. Share it: a detector and any number of pipelines
/// can run the same one.
#[derive(uniffi::Object)]
pub struct Model {
    inner: Arc<vision::Model>,
}

#[uniffi::export]
impl Model {
    /// Loads the model a descriptor file names (relative to the descriptor) and checks its
    /// SHA-256 (blocks while tract reads and optimises the graph: `Model.loadAsync`).
    #[uniffi::constructor]
    pub fn load(path: String) -> Result<Arc<Self>> {
        Ok(Arc::new(Model { inner: Arc::new(vision::Model::load(path)?) }))
    }

    /// A model from its descriptor's JSON (its `model` field is not needed) and the model
    /// file's bytes.
    #[uniffi::constructor]
    pub fn from_bytes(descriptor_json: String, bytes: Vec<u8>) -> Result<Arc<Self>> {
        let descriptor = vision::ModelDescriptor::from_json(&descriptor_json, "<descriptor>")?;
        Ok(Arc::new(Model { inner: Arc::new(vision::Model::from_bytes(descriptor, &bytes)?) }))
    }

    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// SHA-256 of the model file (lowercase hex), verified equal to the descriptor's.
    pub fn sha256(&self) -> String {
        self.inner.sha256().to_owned()
    }

    /// Class names by index: a detection's `classId` indexes this.
    pub fn classes(&self) -> Vec<String> {
        self.inner.descriptor().classes.clone()
    }

    /// What was changed in the graph at load time so tract runs it (usually empty).
    pub fn fixes(&self) -> Vec<String> {
        self.inner.fixes().to_vec()
    }

    /// The descriptor as JSON.
    pub fn descriptor_json(&self) -> String {
        self.inner.descriptor().to_json()
    }
}

/// Runs the current model on frames; the model can be replaced between frames, from any
/// thread, while others detect.
#[derive(uniffi::Object)]
pub struct Detector {
    inner: vision::Detector,
}

#[uniffi::export]
impl Detector {
    #[uniffi::constructor]
    pub fn new(model: Arc<Model>) -> Arc<Self> {
        Arc::new(Detector { inner: vision::Detector::new(Arc::clone(&model.inner)) })
    }

    /// The objects in one frame, best first, in frame pixels (blocks for the inference:
    /// `detectAsync` suspends instead).
    pub fn detect(&self, frame: Frame) -> Result<Vec<Detection>> {
        Ok(detections(self.inner.detect(&frame.view()?)?))
    }

    /// **Not for direct use**: the raw half of `detect(buffer: ByteBuffer, …)` (`Vision.kt`),
    /// which passes a direct buffer's address and remaining bytes. Reads `len` bytes at
    /// `address` in place; an address that is not `len` readable bytes is undefined
    /// behaviour (a crash at best).
    #[allow(clippy::too_many_arguments)]
    fn unsafe_detect_at(
        &self,
        address: u64,
        len: u64,
        width: i32,
        height: i32,
        format: PixelFormat,
        timestamp_ms: i64,
        stride: Option<i32>,
    ) -> Result<Vec<Detection>> {
        let raw = Raw { address, len, width, height, format, timestamp_ms, stride };
        // SAFETY: `Vision.kt` passes a direct ByteBuffer's address + position and its remaining
        // bytes, and keeps the buffer reachable until this returns (`borrowed`'s contract);
        // the frame is only read during `detect`.
        unsafe { borrowed(raw, |frame| Ok(detections(self.inner.detect(frame)?))) }
    }

    /// The model in use now.
    pub fn model(&self) -> Arc<Model> {
        Arc::new(Model { inner: self.inner.model() })
    }

    /// Installs `model` from the next frame on; returns the one it replaces.
    pub fn replace_model(&self, model: Arc<Model>) -> Arc<Model> {
        Arc::new(Model { inner: self.inner.replace_model(Arc::clone(&model.inner)) })
    }
}

// ---- pipelines -----------------------------------------------------------------------------

/// The tracker's counters.
#[derive(uniffi::Record)]
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
#[derive(uniffi::Record)]
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

impl From<vision::PipelineStats> for PipelineStats {
    fn from(s: vision::PipelineStats) -> Self {
        PipelineStats {
            frames_in: count(s.frames_in),
            frames_processed: count(s.frames_processed),
            frames_failed: count(s.frames_failed),
            frames_dropped: count(s.frames_dropped),
            queued: count(s.queued as u64),
            queue_capacity: count(s.queue_capacity as u64),
            queued_max: count(s.queued_max as u64),
            inference_ms: s.inference_ms,
            tracking_ms: s.tracking_ms,
            insights: count(s.insights),
            insight_bytes: count(s.insight_bytes),
            insights_failed: count(s.insights_failed),
            model_replacements: count(s.model_replacements),
            tracker: TrackerStats {
                frames: count(s.tracker.frames),
                confirmed: count(s.tracker.confirmed),
                evicted: count(s.tracker.evicted),
                expired: count(s.tracker.expired),
                matched_high: count(s.tracker.matched_high),
                high: count(s.tracker.high),
            },
            last_error: s.last_error,
        }
    }
}

/// What a stopped pipeline leaves.
#[derive(uniffi::Record)]
pub struct StopReport {
    pub stats: PipelineStats,
    /// Frames dropped by this stop (`discard = true`).
    pub discarded: i64,
    /// The interval in progress at the stop (flushed, and appended to the stream), as the
    /// JSON of an insight; `null` if no frame came since the last one.
    pub final_insight_json: Option<String>,
}

/// One camera: a worker thread runs detector → tracker → analytics on the frames pushed,
/// behind a bounded queue, and appends each interval's insight to a forward stream.
/// `close()` (or garbage collection) stops it, discarding what is queued.
#[derive(uniffi::Object)]
pub struct Pipeline {
    inner: vision::Pipeline,
    stream: String,
}

#[uniffi::export]
impl Pipeline {
    /// Starts the pipeline of the camera `analytics.camera` (`analyticsJson`, docs/vision.md;
    /// a bad one is `AnalyticsConfigInvalid` naming the field). Insights go to the store's
    /// stream `stream` (created durable, drop-oldest, if missing). `queueCapacity`: frames
    /// held waiting (1–256); beyond it the oldest is dropped and counted.
    #[uniffi::constructor(default(queue_capacity = 2, stream = "vision"))]
    pub fn new(
        edge: Arc<Edge>,
        model: Arc<Model>,
        analytics_json: String,
        queue_capacity: i32,
        stream: String,
    ) -> Result<Arc<Self>> {
        // Parsed and validated by the core (errors name the JSON path).
        let config = vision::Analytics::from_json(&analytics_json)?.config().clone();
        let sink = vision::InsightStream::open(edge.inner.streams(), &stream)?;
        let inner = vision::Pipeline::builder(Arc::clone(&model.inner), config)
            .queue_capacity(usize::try_from(queue_capacity).unwrap_or(0))
            .insights_to(sink)
            .start()?;
        Ok(Arc::new(Pipeline { inner, stream }))
    }

    pub fn camera(&self) -> String {
        self.inner.camera().to_owned()
    }

    /// The forward stream insights go to.
    pub fn stream(&self) -> String {
        self.stream.clone()
    }

    /// The model in use now.
    pub fn model(&self) -> Arc<Model> {
        Arc::new(Model { inner: self.inner.model() })
    }

    /// Queues the frame and returns at once (never waits for inference): `QUEUED`, or
    /// `DROPPED_OLDEST` when the queue was full and its oldest frame was dropped for this one.
    pub fn push(&self, frame: Frame) -> Result<Pushed> {
        Ok(self.inner.push_owned(frame.into_owned()?)?)
    }

    /// Queues the frame, waiting for room instead of dropping (recorded video, files).
    pub fn push_blocking(&self, frame: Frame) -> Result<()> {
        Ok(self.inner.push_blocking(frame.into_owned()?)?)
    }

    /// **Not for direct use**: the raw half of `push(buffer: ByteBuffer, …)` (`Vision.kt`).
    /// Copies the frame's rows out of the `len` bytes at `address` into the queued frame;
    /// an address that is not `len` readable bytes is undefined behaviour (a crash at best).
    #[allow(clippy::too_many_arguments)]
    fn unsafe_push_at(
        &self,
        address: u64,
        len: u64,
        width: i32,
        height: i32,
        format: PixelFormat,
        timestamp_ms: i64,
        stride: Option<i32>,
    ) -> Result<Pushed> {
        let raw = Raw { address, len, width, height, format, timestamp_ms, stride };
        // SAFETY: as in `Detector::unsafe_detect_at`; `push` copies the rows into an owned
        // frame before it returns, so the queue never refers to the caller's memory.
        unsafe { borrowed(raw, |frame| Ok(self.inner.push(frame)?)) }
    }

    /// **Not for direct use**: the raw half of `pushBlocking(buffer: ByteBuffer, …)`
    /// (`Vision.kt`). Copies the frame out of the `len` bytes at `address`, then waits for room.
    #[allow(clippy::too_many_arguments)]
    fn unsafe_push_blocking_at(
        &self,
        address: u64,
        len: u64,
        width: i32,
        height: i32,
        format: PixelFormat,
        timestamp_ms: i64,
        stride: Option<i32>,
    ) -> Result<()> {
        let raw = Raw { address, len, width, height, format, timestamp_ms, stride };
        // SAFETY: as in `Detector::unsafe_detect_at`; the frame is copied (`copied`, rows
        // packed) before the wait, and only the copy is queued.
        unsafe { borrowed(raw, |frame| Ok(self.inner.push_blocking(frame.copied())?)) }
    }

    /// Installs `model` from the next frame on (the camera does not stop); returns the old one.
    pub fn replace_model(&self, model: Arc<Model>) -> Arc<Model> {
        Arc::new(Model { inner: self.inner.replace_model(Arc::clone(&model.inner)) })
    }

    pub fn stats(&self) -> PipelineStats {
        self.inner.stats().into()
    }

    /// Waits until the queue is empty and no frame is in progress; whether it got there
    /// within `timeoutMs`.
    pub fn wait_idle(&self, timeout_ms: i64) -> Result<bool> {
        let ms = u64::try_from(timeout_ms)
            .map_err(|_| crate::invalid_argument(format!("timeoutMs must be >= 0, got {timeout_ms}")))?;
        Ok(self.inner.wait_idle(Duration::from_millis(ms)))
    }

    /// Stops the camera: queued frames are processed (or dropped and counted, `discard`), the
    /// interval in progress is flushed to the stream, the worker is joined. A second stop
    /// returns the same report.
    #[uniffi::method(default(discard = false))]
    pub fn stop(&self, discard: bool) -> StopReport {
        let r = self.inner.stop(if discard { StopMode::Discard } else { StopMode::Drain });
        StopReport {
            final_insight_json: r.final_insight.as_ref().and_then(|i| serde_json::to_string(i).ok()),
            discarded: count(r.discarded),
            stats: r.stats.into(),
        }
    }
}
