//! Edge vision: object detectors run in the store, on the device, with tract (pure Rust ONNX).
//!
//! Owns model descriptors (how to feed a model and read its outputs, with the model file's
//! SHA-256, verified on every load), frames (raw 8-bit buffers, borrowed; JPEG/PNG files),
//! preprocessing (a bilinear resize straight into the normalised input tensor), decoders (SSD
//! anchors + box coder, CenterFace heatmaps, BlazeFace anchors, exported YOLOv5/v8),
//! score/size filters and class-aware NMS, the [`Detector`] whose model can be replaced
//! between frames, a ByteTrack-style [`Tracker`], and per-camera [`Analytics`] (lines, zones,
//! dwell) aggregated into [`Insight`]s.
//!
//! Camera [`Pipeline`]s run that chain per camera on a worker thread behind a bounded queue and
//! append each interval's insight as a versioned event to a forward stream ([`InsightStream`]).
//!
//! Must never send pixels anywhere: frames go in, detections come out, and only aggregated
//! insights leave through a forward stream. Starts a thread only for a pipeline the
//! application starts (one per camera), and joins it on stop.
//!
//! Behind the cargo feature `vision` (tract is a large build). Guide: docs/vision.md.

mod analytics;
mod decode;
mod depthwise;
mod descriptor;
mod detection;
mod detector;
mod frame;
mod insights;
mod model;
mod pipeline;
mod pointwise;
mod tracker;

pub use analytics::{
    Analytics, AnalyticsConfig, Anchor as AnchorPoint, Insight, LineConfig, LineInsight, ZoneConfig, ZoneInsight, ZoneKind,
};
pub use decode::{Anchor, ssd_anchors};
pub use descriptor::{
    Activation, ColourOrder, DecoderSpec, FilterSpec, InputSpec, Layout, ModelDescriptor, ResizeKind, SsdAnchors,
    YoloVersion,
};
pub use detection::{BBox, Detection};
pub use detector::Detector;
pub use frame::{Frame, PixelFormat};
pub use insights::{INSIGHT_EVENT, INSIGHT_EVENT_VERSION, INSIGHT_STREAM, InsightData, InsightEvent, InsightStream};
pub use pipeline::{
    DEFAULT_QUEUE_CAPACITY, FrameCallback, FrameReport, MAX_QUEUE_CAPACITY, Pipeline, PipelineBuilder, PipelineStats,
    Pushed, StopMode, StopReport,
};
pub use model::{Kernels, Model, sha256_hex};
pub use tracker::{TrackedObject, Tracker, TrackerConfig, TrackerStats};
