//! The model descriptor: a small JSON file that says how to feed a model and how to read its
//! outputs, and which model file it describes (by SHA-256). Format: docs/vision.md.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How to feed and read one ONNX model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelDescriptor {
    /// A name for logs and errors, e.g. `"person-ssdlite-mobilenetv2"`.
    pub name: String,
    /// Free text: where the model comes from and which version it is.
    #[serde(default)]
    pub version: String,
    /// The model file, relative to the descriptor file (ignored when the bytes are given).
    #[serde(default)]
    pub model: Option<String>,
    /// SHA-256 of the model file, 64 lowercase hex digits; verified on every load.
    pub sha256: String,
    pub input: InputSpec,
    pub decoder: DecoderSpec,
    /// Class names by class index (for SSD, index 0 is usually `"background"`).
    pub classes: Vec<String>,
    #[serde(default)]
    pub filter: FilterSpec,
}

/// The input tensor of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Name of the ONNX input; `None` means the model's only input.
    #[serde(default)]
    pub name: Option<String>,
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    /// Channel order the model expects.
    pub colour: ColourOrder,
    /// Per channel (in the model's colour order): `value = (pixel - mean) / std`, pixel in 0..=255.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// How a frame is brought to `width` x `height` (stretched; aspect ratio not kept).
    #[serde(default)]
    pub resize: ResizeKind,
}

/// Tensor layout of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[1, height, width, 3]` (TensorFlow).
    Nhwc,
    /// `[1, 3, height, width]` (PyTorch, Caffe).
    Nchw,
}

/// Channel order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColourOrder {
    Rgb,
    Bgr,
}

/// Bilinear resize flavours. They differ in where a destination pixel samples the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeKind {
    /// Pixel centres aligned (`src = (dst + 0.5) * scale - 0.5`): OpenCV's `INTER_LINEAR`,
    /// TF2's `half_pixel_centers=True`, ONNX `Resize` with `half_pixel`.
    #[default]
    Bilinear,
    /// TF1's `ResizeBilinear` with `align_corners=False, half_pixel_centers=False`
    /// (`src = dst * scale`): what graphs exported by the TF Object Detection API used.
    TfLegacy,
}

/// How the model's outputs become boxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DecoderSpec {
    /// Single-shot detector with TF Object Detection API anchors and a Faster R-CNN box coder.
    Ssd {
        /// Output `[1, anchors, 4]` of `(ty, tx, th, tw)` box encodings.
        boxes: String,
        /// Output `[1, anchors, classes]` of class scores.
        scores: String,
        /// What turns a raw score into a probability.
        #[serde(default)]
        score_activation: Activation,
        /// A class column that is not a detection (TF: 0); `None` when every column is a class.
        #[serde(default)]
        background_class: Option<usize>,
        anchors: SsdAnchors,
        /// Scales of `(y, x, h, w)` in the box coder (TF: `[10, 10, 5, 5]`).
        box_coder: [f32; 4],
    },
    /// CenterFace-style heatmaps: one centre heatmap, box size and offset maps at `1/stride`.
    Centerface {
        /// `[1, 1, h, w]` centre probabilities.
        heatmap: String,
        /// `[1, 2, h, w]` log box height and width (in units of `stride`).
        scale: String,
        /// `[1, 2, h, w]` sub-cell centre offset (y, x).
        offset: String,
        /// `[1, 10, h, w]` five landmarks (y, x pairs) relative to the box; optional.
        #[serde(default)]
        landmarks: Option<String>,
        stride: u32,
    },
    /// MediaPipe BlazeFace: anchors on grids of the given strides, 16 regressors per anchor
    /// (box centre and size, six keypoints) in input pixels, logits for scores.
    Blazeface {
        /// One `[1, n, 1]` score output per stride.
        scores: Vec<String>,
        /// One `[1, n, 16]` regressor output per stride.
        boxes: Vec<String>,
        strides: Vec<u32>,
        anchors_per_cell: Vec<u32>,
    },
    /// YOLO as exported to ONNX by Ultralytics: the grid decoding is inside the graph, one
    /// output holds a row per candidate with its centre and size in input pixels.
    Yolo {
        output: String,
        /// `v5`: `[1, n, 5 + classes]` of (cx, cy, w, h, objectness, class scores), score =
        /// objectness x class score. `v8`: `[1, 4 + classes, n]` of (cx, cy, w, h, class
        /// scores), transposed, no objectness.
        version: YoloVersion,
        #[serde(default)]
        score_activation: Activation,
    },
}

/// Which YOLO output layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YoloVersion {
    V5,
    V8,
}

/// Score activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Scores are already probabilities.
    #[default]
    None,
    Sigmoid,
}

/// The TF Object Detection API `ssd_anchor_generator` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsdAnchors {
    /// Grid size of each feature map, e.g. `[19, 10, 5, 3, 2, 1]` for a 300x300 input.
    pub feature_maps: Vec<u32>,
    pub min_scale: f32,
    pub max_scale: f32,
    pub aspect_ratios: Vec<f32>,
    /// Adds a box of scale `sqrt(s_i * s_{i+1})` with this aspect ratio on every layer (0: none).
    #[serde(default = "one")]
    pub interpolated_scale_aspect_ratio: f32,
    /// The lowest layer gets 3 boxes: (0.1, 1), (s, 2), (s, 0.5).
    #[serde(default = "yes")]
    pub reduce_boxes_in_lowest_layer: bool,
}

fn one() -> f32 {
    1.0
}
fn yes() -> bool {
    true
}

/// What is kept of the decoded boxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Boxes scoring below this are dropped before NMS.
    #[serde(default = "half")]
    pub min_score: f32,
    /// Class-aware non-maximum suppression: a box overlapping a better box of the same class
    /// by more than this IoU is dropped.
    #[serde(default = "half")]
    pub iou: f32,
    /// Boxes whose width or height (in frame pixels) is below this are dropped.
    #[serde(default)]
    pub min_size: f32,
    /// At most this many detections per frame, best first.
    #[serde(default = "hundred")]
    pub max_detections: usize,
}

fn half() -> f32 {
    0.5
}
fn hundred() -> usize {
    100
}

impl Default for FilterSpec {
    fn default() -> Self {
        FilterSpec { min_score: 0.5, iou: 0.5, min_size: 0.0, max_detections: 100 }
    }
}

/// Largest input side accepted (a guard against descriptors that would allocate gigabytes).
const MAX_INPUT_SIDE: u32 = 4096;

impl ModelDescriptor {
    /// Parses and validates a descriptor. `source_name` names it in errors.
    pub fn from_json(json: &str, source_name: &str) -> Result<ModelDescriptor> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let d: ModelDescriptor = serde_path_to_error::deserialize(de).map_err(|e| Error::ModelDescriptorInvalid {
            source_name: source_name.to_owned(),
            reason: format!("at {}: {}", e.path(), e.inner()),
        })?;
        d.validate(source_name)?;
        Ok(d)
    }

    /// Reads a descriptor file; returns it with the path of the model file it names.
    pub fn from_file(path: impl AsRef<Path>) -> Result<(ModelDescriptor, PathBuf)> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::ModelIo { path: path.to_owned(), detail: e.to_string() })?;
        let name = path.display().to_string();
        let d = ModelDescriptor::from_json(&text, &name)?;
        let Some(model) = d.model.as_deref() else {
            return Err(Error::ModelDescriptorInvalid {
                source_name: name,
                reason: "\"model\" (the model file, relative to the descriptor) is required when loading from a file"
                    .into(),
            });
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let model_path = dir.join(model);
        Ok((d, model_path))
    }

    /// The JSON form (pretty-printed).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every rule a descriptor must follow; the error names the field.
    pub fn validate(&self, source_name: &str) -> Result<()> {
        let bad = |reason: String| Error::ModelDescriptorInvalid { source_name: source_name.to_owned(), reason };
        if self.name.trim().is_empty() {
            return Err(bad("name must not be empty".into()));
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(bad(format!("sha256 must be 64 lowercase hex digits, got {:?}", self.sha256)));
        }
        let i = &self.input;
        for (what, v) in [("width", i.width), ("height", i.height)] {
            if v == 0 || v > MAX_INPUT_SIDE {
                return Err(bad(format!("input.{what} must be 1..={MAX_INPUT_SIDE}, got {v}")));
            }
        }
        for c in 0..3 {
            if !i.mean[c].is_finite() {
                return Err(bad(format!("input.mean[{c}] must be finite")));
            }
            if !i.std[c].is_finite() || i.std[c] == 0.0 {
                return Err(bad(format!("input.std[{c}] must be finite and not 0, got {}", i.std[c])));
            }
        }
        if self.classes.is_empty() {
            return Err(bad("classes must name at least one class".into()));
        }
        let f = &self.filter;
        if !(0.0..=1.0).contains(&f.min_score) {
            return Err(bad(format!("filter.min_score must be within 0..=1, got {}", f.min_score)));
        }
        if !(f.iou > 0.0 && f.iou <= 1.0) {
            return Err(bad(format!("filter.iou must be within (0, 1], got {}", f.iou)));
        }
        if !(f.min_size >= 0.0 && f.min_size.is_finite()) {
            return Err(bad(format!("filter.min_size must be a size in pixels >= 0, got {}", f.min_size)));
        }
        if f.max_detections == 0 {
            return Err(bad("filter.max_detections must be at least 1".into()));
        }
        match &self.decoder {
            DecoderSpec::Ssd { background_class, anchors, box_coder, .. } => {
                let a = anchors;
                if a.feature_maps.is_empty() || a.feature_maps.iter().any(|&m| m == 0 || m > 1024) {
                    return Err(bad("decoder.anchors.feature_maps must list grid sizes 1..=1024".into()));
                }
                if !(a.min_scale > 0.0 && a.max_scale >= a.min_scale && a.max_scale.is_finite()) {
                    return Err(bad("decoder.anchors needs 0 < min_scale <= max_scale".into()));
                }
                if a.aspect_ratios.is_empty() || a.aspect_ratios.iter().any(|&r| !(r > 0.0 && r.is_finite())) {
                    return Err(bad("decoder.anchors.aspect_ratios must be positive numbers".into()));
                }
                if !(a.interpolated_scale_aspect_ratio >= 0.0 && a.interpolated_scale_aspect_ratio.is_finite()) {
                    return Err(bad("decoder.anchors.interpolated_scale_aspect_ratio must be >= 0".into()));
                }
                if box_coder.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
                    return Err(bad("decoder.box_coder scales must be positive".into()));
                }
                if let Some(bg) = background_class.filter(|&bg| bg >= self.classes.len()) {
                    return Err(bad(format!(
                        "decoder.background_class {bg} is not a class index (classes has {})",
                        self.classes.len()
                    )));
                }
            }
            DecoderSpec::Centerface { stride, .. } => {
                if *stride == 0 || i.width % stride != 0 || i.height % stride != 0 {
                    return Err(bad(format!(
                        "decoder.stride {stride} must divide input width {} and height {}",
                        i.width, i.height
                    )));
                }
                // The CenterFace backbone downsamples by 32.
                if i.width % 32 != 0 || i.height % 32 != 0 {
                    return Err(bad(format!(
                        "a centerface input must be a multiple of 32 on each side, got {}x{}",
                        i.width, i.height
                    )));
                }
            }
            DecoderSpec::Blazeface { scores, boxes, strides, anchors_per_cell } => {
                let n = strides.len();
                if n == 0 || scores.len() != n || boxes.len() != n || anchors_per_cell.len() != n {
                    return Err(bad(
                        "decoder: blazeface needs one scores output, one boxes output and one anchors_per_cell \
                         per stride"
                            .into(),
                    ));
                }
                for (&s, &k) in strides.iter().zip(anchors_per_cell.iter()) {
                    if s == 0 || i.width % s != 0 || i.height % s != 0 || k == 0 || k > 64 {
                        return Err(bad(format!(
                            "decoder: stride {s} must divide the input size and anchors_per_cell ({k}) be 1..=64"
                        )));
                    }
                }
            }
            DecoderSpec::Yolo { .. } => {}
        }
        Ok(())
    }

    /// The output names the decoder reads, in the order it reads them.
    pub fn output_names(&self) -> Vec<&str> {
        match &self.decoder {
            DecoderSpec::Ssd { boxes, scores, .. } => vec![boxes, scores],
            DecoderSpec::Centerface { heatmap, scale, offset, landmarks, .. } => {
                let mut v: Vec<&str> = vec![heatmap, scale, offset];
                if let Some(l) = landmarks {
                    v.push(l);
                }
                v
            }
            DecoderSpec::Blazeface { scores, boxes, .. } => {
                scores.iter().chain(boxes.iter()).map(String::as_str).collect()
            }
            DecoderSpec::Yolo { output, .. } => vec![output],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ssd_json() -> String {
        format!(
            r#"{{
  "name": "t", "sha256": "{}",
  "input": {{ "width": 300, "height": 300, "layout": "nhwc", "colour": "rgb",
             "mean": [127.5,127.5,127.5], "std": [127.5,127.5,127.5], "resize": "tf_legacy" }},
  "decoder": {{ "type": "ssd", "boxes": "b", "scores": "s", "background_class": 0,
    "anchors": {{ "feature_maps": [19,10,5,3,2,1], "min_scale": 0.2, "max_scale": 0.95,
                  "aspect_ratios": [1.0,2.0,0.5,3.0,0.3333] }},
    "box_coder": [10,10,5,5] }},
  "classes": ["background","person"]
}}"#,
            "ab".repeat(32)
        )
    }

    #[test]
    fn parses_with_defaults() {
        let d = ModelDescriptor::from_json(&ssd_json(), "t.json").unwrap();
        assert_eq!(d.input.resize, ResizeKind::TfLegacy);
        assert_eq!(d.filter, FilterSpec::default());
        assert_eq!(d.output_names(), ["b", "s"]);
        match &d.decoder {
            DecoderSpec::Ssd { anchors, score_activation, .. } => {
                assert!(anchors.reduce_boxes_in_lowest_layer);
                assert_eq!(anchors.interpolated_scale_aspect_ratio, 1.0);
                assert_eq!(*score_activation, Activation::None);
            }
            other => panic!("{other:?}"),
        }
        let again = ModelDescriptor::from_json(&d.to_json(), "again").unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn rejects_with_the_field_named() {
        let cases = [
            (ssd_json().replace("\"abab", "\"ABAB"), "sha256"),
            (ssd_json().replace("\"width\": 300", "\"width\": 0"), "input.width"),
            (ssd_json().replace("\"std\": [127.5,127.5,127.5]", "\"std\": [127.5,0,127.5]"), "input.std[1]"),
            (ssd_json().replace("\"layout\": \"nhwc\"", "\"layout\": \"hwc\""), "input.layout"),
            (ssd_json().replace("\"classes\": [\"background\",\"person\"]", "\"classes\": []"), "classes"),
            (ssd_json().replace("\"background_class\": 0", "\"background_class\": 2"), "background_class"),
            (ssd_json().replace("[19,10,5,3,2,1]", "[19,0]"), "feature_maps"),
            (ssd_json().replace("\"box_coder\": [10,10,5,5]", "\"box_coder\": [10,10,0,5]"), "box_coder"),
            (ssd_json().replace("\"name\": \"t\"", "\"name\": \"t\", \"extra\": 1"), "extra"),
            (
                ssd_json().replace("\"classes\"", "\"filter\": {\"min_score\": 1.5}, \"classes\""),
                "filter.min_score",
            ),
        ];
        for (json, field) in cases {
            let err = ModelDescriptor::from_json(&json, "t.json").unwrap_err();
            assert_eq!(err.code(), "MODEL_DESCRIPTOR_INVALID", "{err}");
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn centerface_sizes_must_fit_the_backbone() {
        let json = format!(
            r#"{{ "name": "c", "sha256": "{}",
  "input": {{ "width": 800, "height": 564, "layout": "nchw", "colour": "rgb", "mean": [0,0,0], "std": [1,1,1] }},
  "decoder": {{ "type": "centerface", "heatmap": "537", "scale": "538", "offset": "539", "stride": 4 }},
  "classes": ["face"] }}"#,
            "0".repeat(64)
        );
        let err = ModelDescriptor::from_json(&json, "c.json").unwrap_err();
        assert!(err.to_string().contains("multiple of 32"), "{err}");
        let ok = ModelDescriptor::from_json(&json.replace("564", "576"), "c.json").unwrap();
        assert_eq!(ok.output_names(), ["537", "538", "539"]);
    }

    #[test]
    fn yolo_descriptor() {
        let json = ssd_json().replace(
            r#""decoder": { "type": "ssd""#,
            r#""decoder": { "type": "yolo", "output": "output0", "version": "v8" }, "unused": { "type": "ssd""#,
        );
        // Unknown top-level fields are refused...
        assert_eq!(ModelDescriptor::from_json(&json, "y.json").unwrap_err().code(), "MODEL_DESCRIPTOR_INVALID");
        let d: ModelDescriptor = ModelDescriptor::from_json(
            &format!(
                r#"{{ "name": "y", "sha256": "{}", "classes": ["person", "cart"],
  "input": {{ "width": 640, "height": 640, "layout": "nchw", "colour": "rgb", "mean": [0,0,0], "std": [255,255,255] }},
  "decoder": {{ "type": "yolo", "output": "output0", "version": "v8" }} }}"#,
                "1".repeat(64)
            ),
            "y.json",
        )
        .unwrap();
        // ...and a proper one reads its single output.
        assert_eq!(d.output_names(), ["output0"]);
        assert_eq!(d.decoder, DecoderSpec::Yolo { output: "output0".into(), version: YoloVersion::V8, score_activation: Activation::None });
    }
}
