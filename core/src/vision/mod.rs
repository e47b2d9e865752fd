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
//! Must never send pixels anywhere: frames go in, detections come out, and (next) only
//! aggregated insights leave through a forward stream. Starts no threads.
//!
//! Behind the cargo feature `vision` (tract is a large build). Guide: docs/vision.md.

mod analytics;
mod decode;
mod descriptor;
mod detection;
mod detector;
mod frame;
mod model;
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
pub use model::{Model, sha256_hex};
pub use tracker::{TrackedObject, Tracker, TrackerConfig, TrackerStats};
