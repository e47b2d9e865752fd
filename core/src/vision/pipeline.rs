//! Camera pipelines: one worker thread per camera takes frames from a **bounded** queue through
//! detector → tracker → analytics, and appends each closed interval's insight to a forward
//! stream.
//!
//! Owns the queue, the worker, the camera's tracker and analytics, and the counters. When
//! inference falls behind, the **oldest** queued frame is dropped for the new one and counted
//! (a live camera wants the newest picture; latency stays at most `queue_capacity` frames);
//! [`Pipeline::push_blocking`] waits for room instead, for recorded sources where every frame
//! matters. Must never queue without bound, never block a `push`, never send pixels anywhere
//! (frames are copied in, processed and freed; only aggregates reach the stream), and never let
//! a panic in a caller's callback take the worker down.
//!
//! Threads: the worker is started by [`PipelineBuilder::start`] (the application asked for a
//! camera) and joined by [`Pipeline::stop`] or on drop.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

use super::analytics::{Analytics, AnalyticsConfig, Insight};
use super::detection::Detection;
use super::detector::Detector;
use super::frame::Frame;
use super::insights::{InsightEvent, InsightStream};
use super::model::Model;
use super::tracker::{TrackedObject, Tracker, TrackerConfig, TrackerStats};

/// Frames a pipeline holds waiting by default: enough to ride out one slow frame, few enough
/// that what is analysed is at most two frames old.
pub const DEFAULT_QUEUE_CAPACITY: usize = 2;
/// Most frames a queue may hold (a 4K RGBA frame is 33 MB: the queue is memory).
pub const MAX_QUEUE_CAPACITY: usize = 256;

/// What one frame gave, handed to the `on_frame` callback on the worker thread. No pixels.
#[derive(Debug)]
pub struct FrameReport<'a> {
    pub camera: &'a str,
    pub timestamp_ms: i64,
    /// The model that ran on this frame (a replacement takes effect from the next frame).
    pub model: &'a Model,
    pub detections: &'a [Detection],
    pub tracks: &'a [TrackedObject],
    /// Intervals this frame closed (already appended to the stream, if there is one).
    pub insights: &'a [Insight],
    pub inference_ms: f64,
    /// Tracker + analytics.
    pub tracking_ms: f64,
}

/// A callback run on the worker thread after each frame.
pub type FrameCallback = Box<dyn FnMut(&FrameReport<'_>) + Send>;

/// Counters since the pipeline started. `frames_in = frames_processed + frames_failed +
/// frames_dropped + queued + (1 while a frame is being processed)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineStats {
    /// Frames accepted by a push.
    pub frames_in: u64,
    pub frames_processed: u64,
    /// Frames whose inference failed (`last_error` says why).
    pub frames_failed: u64,
    /// Frames dropped unprocessed: pushed out of a full queue, or discarded by a stop.
    pub frames_dropped: u64,
    /// Frames waiting now; never more than `queue_capacity`.
    pub queued: usize,
    pub queue_capacity: usize,
    /// The most frames ever waiting at once.
    pub queued_max: usize,
    /// Total time in inference (resize, model, decode, NMS), ms.
    pub inference_ms: f64,
    /// Total time in tracking + analytics, ms.
    pub tracking_ms: f64,
    /// Insight events appended to the stream, and their bytes.
    pub insights: u64,
    pub insight_bytes: u64,
    /// Insight events the stream refused (`last_error` says why); the pipeline goes on.
    pub insights_failed: u64,
    pub model_replacements: u64,
    pub tracker: TrackerStats,
    pub last_error: Option<String>,
}

impl PipelineStats {
    /// Mean inference time per processed frame, ms.
    pub fn inference_ms_per_frame(&self) -> f64 {
        if self.frames_processed == 0 { 0.0 } else { self.inference_ms / self.frames_processed as f64 }
    }
    /// Mean tracking + analytics time per processed frame, ms.
    pub fn tracking_ms_per_frame(&self) -> f64 {
        if self.frames_processed == 0 { 0.0 } else { self.tracking_ms / self.frames_processed as f64 }
    }
    /// Confident detections the tracker matched to a track / all confident detections.
    pub fn association_rate(&self) -> f64 {
        if self.tracker.high == 0 { 0.0 } else { self.tracker.matched_high as f64 / self.tracker.high as f64 }
    }
    /// Frames that left the queue one way or another.
    pub fn frames_settled(&self) -> u64 {
        self.frames_processed + self.frames_failed + self.frames_dropped
    }
}

/// How [`Pipeline::stop`] treats the frames still queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Process every queued frame first.
    Drain,
    /// Drop them (counted in `frames_dropped`); the frame in progress finishes.
    Discard,
}

/// What a stopped pipeline leaves: its counters and the last insight (the interval in
/// progress, flushed and appended).
#[derive(Debug, Clone, PartialEq)]
pub struct StopReport {
    pub stats: PipelineStats,
    /// Frames dropped by this stop (`StopMode::Discard`).
    pub discarded: u64,
    pub final_insight: Option<Insight>,
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// Queued, and the oldest waiting frame was dropped to make room.
    DroppedOldest,
}

struct Queue {
    frames: VecDeque<Frame<'static>>,
    stopping: bool,
    stopped: bool,
    busy: bool,
    stats: PipelineStats,
    final_insight: Option<Insight>,
}

struct Shared {
    camera: String,
    capacity: usize,
    detector: Detector,
    queue: Mutex<Queue>,
    /// The worker waits here for frames or a stop.
    work: Condvar,
    /// `push_blocking` waits here for room.
    room: Condvar,
    /// Observers (`wait_idle`, `wait_settled`) wait here for frames to settle.
    progress: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The worker never panics while holding the lock (callbacks run outside it); if a
        // thread did, the counters are still whole numbers.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Sets up a pipeline: `Pipeline::builder(model, analytics).insights_to(stream).start()`.
pub struct PipelineBuilder {
    model: Arc<Model>,
    analytics: AnalyticsConfig,
    tracker: TrackerConfig,
    queue_capacity: usize,
    sink: Option<InsightStream>,
    on_frame: Option<FrameCallback>,
}

impl PipelineBuilder {
    pub fn tracker(mut self, config: TrackerConfig) -> Self {
        self.tracker = config;
        self
    }

    /// Frames held waiting (1..=256, default 2).
    pub fn queue_capacity(mut self, frames: usize) -> Self {
        self.queue_capacity = frames;
        self
    }

    /// Where insight events go (without one they are only counted and handed to `on_frame`).
    pub fn insights_to(mut self, stream: InsightStream) -> Self {
        self.sink = Some(stream);
        self
    }

    /// Called on the worker thread after every frame (keep it short: the camera waits).
    pub fn on_frame(mut self, f: impl FnMut(&FrameReport<'_>) + Send + 'static) -> Self {
        self.on_frame = Some(Box::new(f));
        self
    }

    /// Validates the configuration and starts the worker thread.
    pub fn start(self) -> Result<Pipeline> {
        if !(1..=MAX_QUEUE_CAPACITY).contains(&self.queue_capacity) {
            return Err(Error::InvalidArgument(format!(
                "queue_capacity must be 1..={MAX_QUEUE_CAPACITY} frames, got {}",
                self.queue_capacity
            )));
        }
        let analytics = Analytics::new(self.analytics)?;
        let camera = analytics.config().camera.clone();
        let shared = Arc::new(Shared {
            camera: camera.clone(),
            capacity: self.queue_capacity,
            detector: Detector::new(self.model),
            queue: Mutex::new(Queue {
                frames: VecDeque::with_capacity(self.queue_capacity),
                stopping: false,
                stopped: false,
                busy: false,
                stats: PipelineStats { queue_capacity: self.queue_capacity, ..PipelineStats::default() },
                final_insight: None,
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            progress: Condvar::new(),
        });
        let worker = Worker {
            shared: Arc::clone(&shared),
            tracker: Tracker::new(self.tracker),
            analytics,
            sink: self.sink,
            on_frame: self.on_frame,
            dropped_reported: 0,
        };
        let handle = std::thread::Builder::new()
            .name(format!("aisle-vision-{camera}"))
            .spawn(move || worker.run())
            .map_err(|e| Error::InvalidArgument(format!("cannot start the worker of camera {camera:?}: {e}")))?;
        Ok(Pipeline { shared, worker: Mutex::new(Some(handle)) })
    }
}

/// One camera's pipeline. `push` from any thread; the worker does the rest.
pub struct Pipeline {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("camera", &self.shared.camera).field("stats", &self.stats()).finish()
    }
}

impl Pipeline {
    /// `model`: a `Model`, or an `Arc<Model>` shared with other pipelines or detectors.
    pub fn builder(model: impl Into<Arc<Model>>, analytics: AnalyticsConfig) -> PipelineBuilder {
        PipelineBuilder {
            model: model.into(),
            analytics,
            tracker: TrackerConfig::default(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            sink: None,
            on_frame: None,
        }
    }

    pub fn camera(&self) -> &str {
        &self.shared.camera
    }

    /// Queues a copy of `frame` (the caller's buffer is free when this returns). Never blocks
    /// on inference: with the queue full, the oldest waiting frame is dropped and counted.
    pub fn push(&self, frame: &Frame<'_>) -> Result<Pushed> {
        self.push_owned(frame.copied())
    }

    /// Queues an owned frame (no copy), dropping the oldest waiting one if the queue is full.
    pub fn push_owned(&self, frame: Frame<'static>) -> Result<Pushed> {
        let mut q = self.shared.lock();
        self.refuse_if_stopped(&q)?;
        q.stats.frames_in += 1;
        let mut pushed = Pushed::Queued;
        if q.frames.len() >= self.shared.capacity {
            q.frames.pop_front();
            q.stats.frames_dropped += 1;
            pushed = Pushed::DroppedOldest;
        }
        q.frames.push_back(frame);
        self.queued(&mut q);
        drop(q);
        self.shared.work.notify_one();
        if pushed == Pushed::DroppedOldest {
            self.shared.progress.notify_all();
        }
        Ok(pushed)
    }

    /// Queues an owned frame, waiting for room instead of dropping (files, recorded video):
    /// still bounded, the caller is slowed down to the pipeline's pace.
    pub fn push_blocking(&self, frame: Frame<'static>) -> Result<()> {
        let mut q = self.shared.lock();
        loop {
            self.refuse_if_stopped(&q)?;
            if q.frames.len() < self.shared.capacity {
                break;
            }
            q = self.shared.room.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        q.stats.frames_in += 1;
        q.frames.push_back(frame);
        self.queued(&mut q);
        drop(q);
        self.shared.work.notify_one();
        Ok(())
    }

    fn queued(&self, q: &mut Queue) {
        q.stats.queued = q.frames.len();
        q.stats.queued_max = q.stats.queued_max.max(q.frames.len());
    }

    fn refuse_if_stopped(&self, q: &Queue) -> Result<()> {
        if q.stopping || q.stopped {
            return Err(Error::InvalidArgument(format!("the pipeline of camera {:?} is stopped", self.shared.camera)));
        }
        Ok(())
    }

    /// The model in use now.
    pub fn model(&self) -> Arc<Model> {
        self.shared.detector.model()
    }

    /// Installs another model from the next frame on (the frame in progress finishes with the
    /// one it started with); returns the model it replaces. The camera does not stop.
    pub fn replace_model(&self, model: impl Into<Arc<Model>>) -> Arc<Model> {
        let old = self.shared.detector.replace_model(model);
        self.shared.lock().stats.model_replacements += 1;
        old
    }

    /// Loads (and verifies) a model, then installs it; a model that fails to load never
    /// replaces the working one.
    pub fn replace_model_from(&self, descriptor_path: impl AsRef<Path>) -> Result<Arc<Model>> {
        let model = Model::load(descriptor_path)?;
        Ok(self.replace_model(model))
    }

    pub fn stats(&self) -> PipelineStats {
        self.shared.lock().stats.clone()
    }

    /// Waits until at least `frames` pushed frames have settled (processed, failed or
    /// dropped), or `timeout` passes; whether they had.
    pub fn wait_settled(&self, frames: u64, timeout: Duration) -> bool {
        self.wait_for(timeout, |q| q.stats.frames_settled() >= frames || q.stopped)
    }

    /// Waits until the queue is empty and no frame is in progress, or `timeout` passes.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |q| (q.frames.is_empty() && !q.busy) || q.stopped)
    }

    fn wait_for(&self, timeout: Duration, done: impl Fn(&Queue) -> bool) -> bool {
        let q = self.shared.lock();
        let (q, _) =
            self.shared.progress.wait_timeout_while(q, timeout, |q| !done(q)).unwrap_or_else(|p| p.into_inner());
        done(&q)
    }

    /// Stops the camera: queued frames are processed (`Drain`) or dropped and counted
    /// (`Discard`), the interval in progress is flushed to the stream, the worker is joined.
    /// A second stop returns the same counters.
    pub fn stop(&self, mode: StopMode) -> StopReport {
        let mut discarded = 0;
        {
            let mut q = self.shared.lock();
            if mode == StopMode::Discard {
                discarded = q.frames.len() as u64;
                q.frames.clear();
                q.stats.frames_dropped += discarded;
                q.stats.queued = 0;
            }
            q.stopping = true;
        }
        self.shared.work.notify_all();
        self.shared.room.notify_all();
        self.shared.progress.notify_all();
        let handle = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                // Only our own code runs outside catch_unwind; record it rather than re-panic.
                let mut q = self.shared.lock();
                q.stats.last_error = Some("the worker thread panicked".into());
                q.stopped = true;
            }
        }
        let q = self.shared.lock();
        StopReport { stats: q.stats.clone(), discarded, final_insight: q.final_insight.clone() }
    }
}

impl Drop for Pipeline {
    /// A pipeline dropped without `stop` discards its queue and flushes its interval.
    fn drop(&mut self) {
        self.stop(StopMode::Discard);
    }
}

/// The worker's own state: only its thread touches it.
struct Worker {
    shared: Arc<Shared>,
    tracker: Tracker,
    analytics: Analytics,
    sink: Option<InsightStream>,
    on_frame: Option<FrameCallback>,
    /// `frames_dropped` as of the last event appended.
    dropped_reported: u64,
}

impl Worker {
    fn run(mut self) {
        while let Some(frame) = self.next_frame() {
            let model = self.shared.detector.model();
            let t0 = Instant::now();
            let detected = model.detect(&frame);
            let inference_ms = t0.elapsed().as_secs_f64() * 1e3;
            let detections = match detected {
                Ok(d) => d,
                Err(e) => {
                    self.settle(|s| {
                        s.frames_failed += 1;
                        s.last_error = Some(e.to_string());
                    });
                    continue;
                }
            };
            let t1 = Instant::now();
            let tracks = self.tracker.update(&detections, frame.timestamp_ms());
            let insights = self.analytics.update(&tracks, frame.timestamp_ms());
            let tracking_ms = t1.elapsed().as_secs_f64() * 1e3;
            for i in &insights {
                self.emit(i, model.name());
            }
            if let Some(cb) = self.on_frame.as_mut() {
                let report = FrameReport {
                    camera: &self.shared.camera,
                    timestamp_ms: frame.timestamp_ms(),
                    model: &model,
                    detections: &detections,
                    tracks: &tracks,
                    insights: &insights,
                    inference_ms,
                    tracking_ms,
                };
                if catch_unwind(AssertUnwindSafe(|| cb(&report))).is_err() {
                    self.shared.lock().stats.last_error = Some("the on_frame callback panicked".into());
                }
            }
            // Settled only now, so whoever waits for it also sees what the callback did.
            let tracker_stats = self.tracker.stats();
            self.settle(|s| {
                s.frames_processed += 1;
                s.inference_ms += inference_ms;
                s.tracking_ms += tracking_ms;
                s.tracker = tracker_stats;
            });
        }
        let last = self.analytics.flush();
        if let Some(i) = &last {
            self.emit(i, self.shared.detector.model().name());
        }
        let mut q = self.shared.lock();
        q.final_insight = last;
        q.stopped = true;
        q.busy = false;
        drop(q);
        self.shared.progress.notify_all();
        self.shared.room.notify_all();
    }

    /// The next frame, or `None` once stopping with an empty queue.
    fn next_frame(&self) -> Option<Frame<'static>> {
        let mut q = self.shared.lock();
        loop {
            if let Some(f) = q.frames.pop_front() {
                q.busy = true;
                q.stats.queued = q.frames.len();
                drop(q);
                self.shared.room.notify_one();
                return Some(f);
            }
            if q.stopping {
                return None;
            }
            q = self.shared.work.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Records a frame's outcome and wakes the observers.
    fn settle(&self, f: impl FnOnce(&mut PipelineStats)) {
        let mut q = self.shared.lock();
        f(&mut q.stats);
        q.busy = false;
        drop(q);
        self.shared.progress.notify_all();
    }

    fn emit(&mut self, insight: &Insight, model: &str) {
        let dropped_now = self.shared.lock().stats.frames_dropped;
        let event = InsightEvent::new(insight.clone(), dropped_now - self.dropped_reported, model);
        let Some(sink) = &self.sink else {
            self.dropped_reported = dropped_now;
            return;
        };
        let appended = sink.append(&event);
        let mut q = self.shared.lock();
        match appended {
            Ok((_, bytes)) => {
                self.dropped_reported = dropped_now;
                q.stats.insights += 1;
                q.stats.insight_bytes += bytes as u64;
            }
            Err(e) => {
                q.stats.insights_failed += 1;
                q.stats.last_error = Some(format!("insight not appended to {:?}: {e}", sink.name()));
            }
        }
    }
}
