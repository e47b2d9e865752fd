//! Detections and what is done to every decoder's boxes: score and size filters, class-aware
//! non-maximum suppression, a cap on the count.

use super::descriptor::FilterSpec;

/// An axis-aligned box in frame pixels: `x0 <= x1`, `y0 <= y1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl BBox {
    pub fn new(x0: f32, y0: f32, x1: f32, y1: f32) -> BBox {
        BBox { x0: x0.min(x1), y0: y0.min(y1), x1: x0.max(x1), y1: y0.max(y1) }
    }
    pub fn width(&self) -> f32 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> f32 {
        self.y1 - self.y0
    }
    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }
    pub fn centre(&self) -> (f32, f32) {
        ((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)
    }
    /// Intersection over union, 0 when either box is empty.
    pub fn iou(&self, other: &BBox) -> f32 {
        let w = (self.x1.min(other.x1) - self.x0.max(other.x0)).max(0.0);
        let h = (self.y1.min(other.y1) - self.y0.max(other.y0)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
    /// The box clipped to `[0, width] x [0, height]`.
    pub fn clipped(&self, width: f32, height: f32) -> BBox {
        BBox {
            x0: self.x0.clamp(0.0, width),
            y0: self.y0.clamp(0.0, height),
            x1: self.x1.clamp(0.0, width),
            y1: self.y1.clamp(0.0, height),
        }
    }
}

/// One object found in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Index into the model descriptor's `classes`.
    pub class_id: usize,
    /// The class name (`classes[class_id]`).
    pub label: String,
    /// Probability-like confidence in 0..=1.
    pub score: f32,
    /// Where, in frame pixels.
    pub bbox: BBox,
    /// Keypoints in frame pixels (face landmarks: eyes, nose, mouth...), if the model gives any.
    pub keypoints: Vec<(f32, f32)>,
}

/// A decoded box before filtering: class, score, box and keypoints.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub class_id: usize,
    pub score: f32,
    pub bbox: BBox,
    pub keypoints: Vec<(f32, f32)>,
}

/// Drops low scores, non-finite and small boxes, then keeps per class the best box of every
/// overlapping group (greedy NMS at `filter.iou`), best first, at most `max_detections`.
/// Ties are broken by the decoder's order, so the result does not depend on sort stability.
pub(crate) fn filter_and_suppress(mut cands: Vec<Candidate>, filter: &FilterSpec) -> Vec<Candidate> {
    cands.retain(|c| {
        c.score.is_finite()
            && c.score >= filter.min_score
            && [c.bbox.x0, c.bbox.y0, c.bbox.x1, c.bbox.y1].iter().all(|v| v.is_finite())
            && c.bbox.width() >= filter.min_size
            && c.bbox.height() >= filter.min_size
            && c.bbox.area() > 0.0
    });
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&a, &b| cands[b].score.total_cmp(&cands[a].score).then(a.cmp(&b)));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept.len() == filter.max_detections {
            break;
        }
        let c = &cands[i];
        if kept.iter().all(|&k| cands[k].class_id != c.class_id || cands[k].bbox.iou(&c.bbox) <= filter.iou) {
            kept.push(i);
        }
    }
    let mut slots: Vec<Option<Candidate>> = cands.into_iter().map(Some).collect();
    kept.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cand(class_id: usize, score: f32, x0: f32, y0: f32, x1: f32, y1: f32) -> Candidate {
        Candidate { class_id, score, bbox: BBox::new(x0, y0, x1, y1), keypoints: vec![] }
    }

    fn filter(min_score: f32, iou: f32, min_size: f32, max: usize) -> FilterSpec {
        FilterSpec { min_score, iou, min_size, max_detections: max }
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox::new(10.0, 0.0, 20.0, 10.0)), 0.0);
        // Half overlap: inter 50, union 150.
        assert!((a.iou(&BBox::new(5.0, 0.0, 15.0, 10.0)) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(a.iou(&BBox::new(3.0, 3.0, 3.0, 9.0)), 0.0);
        assert_eq!(BBox::new(5.0, 6.0, 1.0, 2.0), BBox { x0: 1.0, y0: 2.0, x1: 5.0, y1: 6.0 });
    }

    #[test]
    fn nms_is_per_class() {
        let c = vec![
            cand(1, 0.9, 0.0, 0.0, 10.0, 10.0),
            cand(1, 0.8, 1.0, 1.0, 11.0, 11.0), // same class, IoU 0.68: suppressed
            cand(2, 0.7, 1.0, 1.0, 11.0, 11.0), // other class: kept
            cand(1, 0.6, 50.0, 50.0, 60.0, 60.0), // far away: kept
            cand(1, 0.3, 80.0, 80.0, 90.0, 90.0), // below min_score
        ];
        let kept = filter_and_suppress(c, &filter(0.5, 0.5, 0.0, 10));
        let scores: Vec<f32> = kept.iter().map(|c| c.score).collect();
        assert_eq!(scores, [0.9, 0.7, 0.6]);
    }

    #[test]
    fn size_cap_and_garbage() {
        let c = vec![
            cand(0, 0.9, 0.0, 0.0, 4.0, 40.0), // too narrow for min_size 5
            cand(0, 0.8, 0.0, 0.0, f32::NAN, 10.0),
            cand(0, f32::NAN, 0.0, 0.0, 10.0, 10.0),
            cand(0, 0.7, 0.0, 0.0, 10.0, 10.0),
            cand(0, 0.6, 20.0, 0.0, 30.0, 10.0),
            cand(0, 0.5, 40.0, 0.0, 50.0, 10.0),
        ];
        let kept = filter_and_suppress(c, &filter(0.0, 0.5, 5.0, 2));
        let scores: Vec<f32> = kept.iter().map(|c| c.score).collect();
        assert_eq!(scores, [0.7, 0.6]);
    }

    #[test]
    fn equal_scores_keep_decoder_order() {
        let c = vec![cand(0, 0.5, 0.0, 0.0, 10.0, 10.0), cand(0, 0.5, 0.0, 0.0, 10.0, 10.0)];
        let kept = filter_and_suppress(c.clone(), &filter(0.0, 0.5, 0.0, 10));
        assert_eq!(kept, vec![c[0].clone()]);
    }

    proptest! {
        #[test]
        fn nms_invariants(raw in prop::collection::vec((0usize..3, 0.0f32..1.0, 0.0f32..100.0, 0.0f32..100.0, 1.0f32..50.0, 1.0f32..50.0), 0..60),
                          iou in 0.1f32..0.9, max in 1usize..20) {
            let cands: Vec<Candidate> = raw.iter().map(|&(k, s, x, y, w, h)| cand(k, s, x, y, x + w, y + h)).collect();
            let kept = filter_and_suppress(cands.clone(), &filter(0.2, iou, 0.0, max));
            prop_assert!(kept.len() <= max);
            // Sorted by score, all above the threshold, and no two of a class overlap too much.
            for w in kept.windows(2) { prop_assert!(w[0].score >= w[1].score); }
            for (i, a) in kept.iter().enumerate() {
                prop_assert!(a.score >= 0.2);
                for b in &kept[i + 1..] {
                    prop_assert!(a.class_id != b.class_id || a.bbox.iou(&b.bbox) <= iou);
                }
            }
            // Every dropped candidate above the threshold was suppressed by a better kept box of
            // its class, or the cap was reached.
            if kept.len() < max {
                for c in cands.iter().filter(|c| c.score >= 0.2) {
                    let kept_it = kept.iter().any(|k| k == c);
                    let covered = kept.iter().any(|k| k.class_id == c.class_id && k.score >= c.score && k.bbox.iou(&c.bbox) > iou);
                    prop_assert!(kept_it || covered);
                }
            }
        }
    }
}
