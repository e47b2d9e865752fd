//! A ByteTrack-style multi-object tracker: Kalman motion model (constant velocity on centre,
//! aspect ratio and height), two-stage association (confident detections first, then the
//! weak ones — often the occluded — to the tracks still unmatched), ids only for confirmed
//! tracks, and bounded memory (lost tracks expire by the frames' clock; a hard cap evicts).

use super::detection::{BBox, Detection};

/// Tracker settings. Times are in the frames' own clock (`Frame::timestamp_ms`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Detections at or above this score take part in the first association.
    pub high_score: f32,
    /// Detections from here up to `high_score` only extend existing tracks (second stage).
    pub low_score: f32,
    /// An unmatched detection starts a track only from this score.
    pub new_track_score: f32,
    /// Minimum IoU between a track's predicted box and a confident detection.
    pub match_iou: f32,
    /// Minimum IoU in the second stage (weak detections).
    pub low_match_iou: f32,
    /// Consecutive matched frames before a track is confirmed and gets an id.
    pub confirm_hits: u32,
    /// A track not seen for longer than this is dropped.
    pub max_lost_ms: i64,
    /// The nominal frame interval: the unit of the motion model's velocities.
    pub frame_interval_ms: f64,
    /// Hard cap on tracks held (confirmed, lost and tentative).
    pub max_tracks: usize,
    /// Match only detections of the track's class.
    pub class_aware: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            high_score: 0.5,
            low_score: 0.1,
            new_track_score: 0.6,
            match_iou: 0.2,
            low_match_iou: 0.5,
            confirm_hits: 2,
            max_lost_ms: 1_000,
            frame_interval_ms: 1000.0 / 30.0,
            max_tracks: 1_024,
            class_aware: true,
        }
    }
}

/// A confirmed track seen in the current frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedObject {
    /// Stable for the life of the track, never reused, never shared.
    pub id: u64,
    pub class_id: usize,
    pub label: String,
    /// The score of this frame's detection.
    pub score: f32,
    /// The Kalman-filtered box.
    pub bbox: BBox,
    /// The detection's own box this frame.
    pub detected: BBox,
    pub first_seen_ms: i64,
}

/// Counters since the tracker was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackerStats {
    pub frames: u64,
    pub confirmed: u64,
    /// Tracks dropped by the `max_tracks` cap (not by expiry).
    pub evicted: u64,
    /// Tracks dropped after `max_lost_ms` unseen.
    pub expired: u64,
    /// Confident detections matched to a track / all confident detections.
    pub matched_high: u64,
    pub high: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Tentative,
    Tracked,
    Lost,
}

#[derive(Debug, Clone)]
struct Track {
    id: Option<u64>,
    state: State,
    class_id: usize,
    label: String,
    kf: Kalman,
    hits: u32,
    score: f32,
    detected: BBox,
    first_seen_ms: i64,
    last_seen_ms: i64,
}

/// The tracker of one camera. Not thread-safe by itself: one camera, one thread.
#[derive(Debug)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
    last_ms: Option<i64>,
    stats: TrackerStats,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Tracker {
        Tracker { config, tracks: Vec::new(), next_id: 1, last_ms: None, stats: TrackerStats::default() }
    }

    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// Tracks held now (every state): bounded by `max_tracks`.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Feeds one frame's detections; returns the confirmed tracks seen in it. A timestamp
    /// older than the previous frame's is treated as the same instant (no motion).
    pub fn update(&mut self, detections: &[Detection], timestamp_ms: i64) -> Vec<TrackedObject> {
        let c = self.config.clone();
        self.stats.frames += 1;
        let dt = match self.last_ms {
            Some(last) => ((timestamp_ms - last).max(0) as f64 / c.frame_interval_ms).min(1e4),
            None => 0.0,
        };
        let now = self.last_ms.map_or(timestamp_ms, |l| l.max(timestamp_ms));
        self.last_ms = Some(now);
        for t in &mut self.tracks {
            t.kf.predict(dt);
        }

        let high: Vec<usize> = (0..detections.len()).filter(|&i| detections[i].score >= c.high_score).collect();
        let low: Vec<usize> = (0..detections.len())
            .filter(|&i| detections[i].score >= c.low_score && detections[i].score < c.high_score)
            .collect();
        self.stats.high += high.len() as u64;

        // Stage 1: confirmed (tracked or lost) tracks against confident detections.
        let pool: Vec<usize> = (0..self.tracks.len()).filter(|&t| self.tracks[t].state != State::Tentative).collect();
        let (m1, pool_left, high_left) = self.associate(&pool, &high, detections, c.match_iou);
        // Stage 2: tracks seen last frame and still unmatched, against weak detections.
        let tracked_left: Vec<usize> =
            pool_left.iter().copied().filter(|&t| self.tracks[t].state == State::Tracked).collect();
        let (m2, _, _) = self.associate(&tracked_left, &low, detections, c.low_match_iou);
        // Stage 3: tentative tracks against the confident detections left.
        let tentative: Vec<usize> = (0..self.tracks.len()).filter(|&t| self.tracks[t].state == State::Tentative).collect();
        let (m3, _, high_left) = self.associate(&tentative, &high_left, detections, c.match_iou);
        self.stats.matched_high += (m1.len() + m3.len()) as u64;

        let mut matched = vec![false; self.tracks.len()];
        for &(t, d) in m1.iter().chain(&m2).chain(&m3) {
            matched[t] = true;
            let det = &detections[d];
            let tr = &mut self.tracks[t];
            tr.kf.update(det.bbox);
            tr.hits += 1;
            tr.score = det.score;
            tr.detected = det.bbox;
            tr.last_seen_ms = now;
            match tr.state {
                State::Lost => tr.state = State::Tracked,
                State::Tentative if tr.hits >= c.confirm_hits => {
                    tr.state = State::Tracked;
                    tr.id = Some(self.next_id);
                    self.next_id += 1;
                    self.stats.confirmed += 1;
                }
                _ => {}
            }
        }
        // Unmatched: a tentative track dies, a confirmed one is lost until it expires.
        let mut keep = Vec::with_capacity(self.tracks.len());
        for (i, mut t) in std::mem::take(&mut self.tracks).into_iter().enumerate() {
            if !matched[i] {
                if t.state == State::Tentative {
                    continue;
                }
                t.state = State::Lost;
                if now - t.last_seen_ms > c.max_lost_ms {
                    self.stats.expired += 1;
                    continue;
                }
            }
            keep.push(t);
        }
        self.tracks = keep;
        // New tracks from confident detections no track took.
        for &d in &high_left {
            let det = &detections[d];
            if det.score < c.new_track_score {
                continue;
            }
            let mut t = Track {
                id: None,
                state: State::Tentative,
                class_id: det.class_id,
                label: det.label.clone(),
                kf: Kalman::new(det.bbox),
                hits: 1,
                score: det.score,
                detected: det.bbox,
                first_seen_ms: now,
                last_seen_ms: now,
            };
            if c.confirm_hits <= 1 {
                t.state = State::Tracked;
                t.id = Some(self.next_id);
                self.next_id += 1;
                self.stats.confirmed += 1;
            }
            self.tracks.push(t);
        }
        self.enforce_cap();

        self.tracks
            .iter()
            .filter(|t| t.state == State::Tracked && t.last_seen_ms == now)
            .filter_map(|t| {
                Some(TrackedObject {
                    id: t.id?,
                    class_id: t.class_id,
                    label: t.label.clone(),
                    score: t.score,
                    bbox: t.kf.bbox(),
                    detected: t.detected,
                    first_seen_ms: t.first_seen_ms,
                })
            })
            .collect()
    }

    /// Drops tracks beyond `max_tracks`: lost ones first (longest unseen first), then
    /// tentative ones, then the oldest seen.
    fn enforce_cap(&mut self) {
        let over = self.tracks.len().saturating_sub(self.config.max_tracks);
        if over == 0 {
            return;
        }
        let rank = |t: &Track| match t.state {
            State::Lost => 0,
            State::Tentative => 1,
            State::Tracked => 2,
        };
        let mut order: Vec<usize> = (0..self.tracks.len()).collect();
        order.sort_by_key(|&i| (rank(&self.tracks[i]), self.tracks[i].last_seen_ms, i));
        let mut drop = vec![false; self.tracks.len()];
        for &i in &order[..over] {
            drop[i] = true;
        }
        let mut i = 0;
        self.tracks.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
        self.stats.evicted += over as u64;
    }

    /// Optimal one-to-one assignment (Hungarian) maximising IoU between the tracks' predicted
    /// boxes and the detections, keeping pairs with IoU >= `min_iou`. Returns the pairs
    /// `(track, detection)` and the tracks and detections left.
    fn associate(
        &self,
        tracks: &[usize],
        dets: &[usize],
        detections: &[Detection],
        min_iou: f32,
    ) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
        if tracks.is_empty() || dets.is_empty() {
            return (Vec::new(), tracks.to_vec(), dets.to_vec());
        }
        let iou: Vec<Vec<f64>> = tracks
            .iter()
            .map(|&t| {
                let tr = &self.tracks[t];
                let pred = tr.kf.bbox();
                dets.iter()
                    .map(|&d| {
                        let det = &detections[d];
                        if self.config.class_aware && det.class_id != tr.class_id {
                            0.0
                        } else {
                            pred.iou(&det.bbox) as f64
                        }
                    })
                    .collect()
            })
            .collect();
        // Pairs below the threshold cost more than leaving both unmatched.
        let cost: Vec<Vec<f64>> =
            iou.iter().map(|row| row.iter().map(|&v| if v >= min_iou as f64 { 1.0 - v } else { 2.0 }).collect()).collect();
        let assignment = hungarian(&cost);
        let mut pairs = Vec::new();
        let mut t_used = vec![false; tracks.len()];
        let mut d_used = vec![false; dets.len()];
        for (ti, di) in assignment {
            if iou[ti][di] >= min_iou as f64 && iou[ti][di] > 0.0 {
                pairs.push((tracks[ti], dets[di]));
                t_used[ti] = true;
                d_used[di] = true;
            }
        }
        let t_left = tracks.iter().zip(&t_used).filter(|(_, u)| !**u).map(|(t, _)| *t).collect();
        let d_left = dets.iter().zip(&d_used).filter(|(_, u)| !**u).map(|(d, _)| *d).collect();
        (pairs, t_left, d_left)
    }
}

/// Minimum-cost assignment of rows to columns (Kuhn-Munkres with potentials, O(n^2 m)).
/// Works on any rectangular matrix; returns `(row, column)` pairs, one per row when
/// rows <= columns, one per column otherwise.
fn hungarian(cost: &[Vec<f64>]) -> Vec<(usize, usize)> {
    let rows = cost.len();
    let cols = cost.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    // The algorithm wants rows <= columns: transpose if needed.
    let transposed = rows > cols;
    let (n, m) = if transposed { (cols, rows) } else { (rows, cols) };
    let a = |i: usize, j: usize| if transposed { cost[j][i] } else { cost[i][j] };
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut p = vec![0usize; m + 1]; // p[j]: row matched to column j (1-based; 0 = none)
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let cur = a(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    (1..=m)
        .filter(|&j| p[j] != 0)
        .map(|j| if transposed { (j - 1, p[j] - 1) } else { (p[j] - 1, j - 1) })
        .collect()
}

/// Constant-velocity Kalman filter on (centre x, centre y, aspect w/h, height), as in
/// SORT/ByteTrack, with noise proportional to the box height.
#[derive(Debug, Clone)]
struct Kalman {
    x: [f64; 8],
    p: [[f64; 8]; 8],
}

const W_POS: f64 = 1.0 / 20.0;
const W_VEL: f64 = 1.0 / 160.0;

fn xyah(b: BBox) -> [f64; 4] {
    let h = (b.height() as f64).max(1e-3);
    let (cx, cy) = b.centre();
    [cx as f64, cy as f64, b.width() as f64 / h, h]
}

// Index loops read as the matrix formulas they implement.
#[allow(clippy::needless_range_loop)]
impl Kalman {
    fn new(b: BBox) -> Kalman {
        let z = xyah(b);
        let h = z[3];
        let std = [2.0 * W_POS * h, 2.0 * W_POS * h, 1e-2, 2.0 * W_POS * h, 10.0 * W_VEL * h, 10.0 * W_VEL * h, 1e-5, 10.0 * W_VEL * h];
        let mut p = [[0.0; 8]; 8];
        for i in 0..8 {
            p[i][i] = std[i] * std[i];
        }
        Kalman { x: [z[0], z[1], z[2], z[3], 0.0, 0.0, 0.0, 0.0], p }
    }

    /// Advances by `dt` nominal frames.
    fn predict(&mut self, dt: f64) {
        if dt <= 0.0 {
            return;
        }
        let h = self.x[3].max(1e-3);
        for i in 0..4 {
            self.x[i] += dt * self.x[i + 4];
        }
        // P = F P F^T with F = I + dt on (i, i + 4).
        let mut fp = self.p;
        for i in 0..4 {
            for j in 0..8 {
                fp[i][j] += dt * self.p[i + 4][j];
            }
        }
        let mut fpf = fp;
        for i in 0..8 {
            for j in 0..4 {
                fpf[i][j] += dt * fp[i][j + 4];
            }
        }
        let q = [W_POS * h, W_POS * h, 1e-2, W_POS * h, W_VEL * h, W_VEL * h, 1e-5, W_VEL * h];
        for i in 0..8 {
            fpf[i][i] += q[i] * q[i] * dt;
        }
        self.p = fpf;
        self.x[3] = self.x[3].max(1e-3);
    }

    fn update(&mut self, b: BBox) {
        let z = xyah(b);
        let h = self.x[3].max(1e-3);
        let r = [W_POS * h, W_POS * h, 1e-1, W_POS * h];
        // S = H P H^T + R (the top-left 4x4 block of P plus R).
        let mut s = [[0.0; 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                s[i][j] = self.p[i][j];
            }
            s[i][i] += r[i] * r[i];
        }
        let Some(si) = invert4(s) else { return };
        // K = P H^T S^-1: 8x4.
        let mut k = [[0.0; 4]; 8];
        for i in 0..8 {
            for j in 0..4 {
                k[i][j] = (0..4).map(|l| self.p[i][l] * si[l][j]).sum();
            }
        }
        let y: Vec<f64> = (0..4).map(|i| z[i] - self.x[i]).collect();
        for i in 0..8 {
            self.x[i] += (0..4).map(|j| k[i][j] * y[j]).sum::<f64>();
        }
        // P = (I - K H) P.
        let old = self.p;
        for i in 0..8 {
            for j in 0..8 {
                self.p[i][j] = old[i][j] - (0..4).map(|l| k[i][l] * old[l][j]).sum::<f64>();
            }
        }
        self.x[3] = self.x[3].max(1e-3);
    }

    fn bbox(&self) -> BBox {
        let (cx, cy, a, h) = (self.x[0], self.x[1], self.x[2], self.x[3]);
        let w = a * h;
        BBox::new((cx - w / 2.0) as f32, (cy - h / 2.0) as f32, (cx + w / 2.0) as f32, (cy + h / 2.0) as f32)
    }
}

/// Inverse of a 4x4 matrix by Gauss-Jordan with partial pivoting; `None` if singular.
fn invert4(m: [[f64; 4]; 4]) -> Option<[[f64; 4]; 4]> {
    let mut a = m;
    let mut inv = [[0.0; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let d = a[col][col];
        for j in 0..4 {
            a[col][j] /= d;
            inv[col][j] /= d;
        }
        for r in 0..4 {
            if r != col {
                let f = a[r][col];
                for j in 0..4 {
                    a[r][j] -= f * a[col][j];
                    inv[r][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn det(class_id: usize, score: f32, x: f32, y: f32, w: f32, h: f32) -> Detection {
        Detection { class_id, label: format!("c{class_id}"), score, bbox: BBox::new(x, y, x + w, y + h), keypoints: vec![] }
    }

    const FRAME: i64 = 33;

    #[test]
    fn hungarian_finds_the_optimum() {
        // Greedy would take (0,0)=0.1 and then be forced into (1,1)=0.9: total 1.0.
        // The optimum is (0,1)+(1,0) = 0.2 + 0.3 = 0.5.
        let cost = vec![vec![0.1, 0.2], vec![0.3, 0.9]];
        let mut a = hungarian(&cost);
        a.sort();
        assert_eq!(a, vec![(0, 1), (1, 0)]);
        // Rectangular both ways.
        let wide = vec![vec![5.0, 1.0, 3.0]];
        assert_eq!(hungarian(&wide), vec![(0, 1)]);
        let tall = vec![vec![5.0], vec![1.0], vec![3.0]];
        assert_eq!(hungarian(&tall), vec![(1, 0)]);
        assert!(hungarian(&[]).is_empty());
    }

    #[test]
    fn ids_only_for_confirmed_tracks_and_stable_while_moving() {
        let mut t = Tracker::new(TrackerConfig::default());
        // Frame 1: a new person: tentative, no id yet.
        assert!(t.update(&[det(1, 0.9, 100.0, 100.0, 50.0, 120.0)], 0).is_empty());
        let mut id = None;
        for f in 1..30 {
            let x = 100.0 + 6.0 * f as f32;
            let out = t.update(&[det(1, 0.9, x, 100.0, 50.0, 120.0)], f * FRAME);
            assert_eq!(out.len(), 1, "frame {f}");
            assert_eq!(*id.get_or_insert(out[0].id), out[0].id);
            assert_eq!(out[0].first_seen_ms, 0);
        }
        assert_eq!(id, Some(1));
        // A one-frame false positive never gets an id and is forgotten.
        let out = t.update(&[det(1, 0.9, 280.0, 100.0, 50.0, 120.0), det(1, 0.9, 600.0, 50.0, 40.0, 40.0)], 30 * FRAME);
        assert_eq!(out.iter().map(|o| o.id).collect::<Vec<_>>(), [1]);
        t.update(&[det(1, 0.9, 286.0, 100.0, 50.0, 120.0)], 31 * FRAME);
        assert_eq!(t.len(), 1);
        assert_eq!(t.stats().confirmed, 1);
    }

    #[test]
    fn crossing_people_keep_their_ids() {
        let mut t = Tracker::new(TrackerConfig::default());
        let mut ids = (0, 0);
        for f in 0..40 {
            // A walks right, B walks left on the same line; they overlap around frame 20.
            let a = det(1, 0.9, 100.0 + 10.0 * f as f32, 100.0, 50.0, 120.0);
            let b = det(1, 0.9, 500.0 - 10.0 * f as f32, 105.0, 50.0, 120.0);
            let out = t.update(&[b, a], f * FRAME);
            if f == 1 {
                let left = out.iter().min_by(|x, y| x.bbox.x0.total_cmp(&y.bbox.x0)).unwrap();
                let right = out.iter().max_by(|x, y| x.bbox.x0.total_cmp(&y.bbox.x0)).unwrap();
                ids = (left.id, right.id);
            }
            if f == 39 {
                // A is now on the right.
                let right = out.iter().max_by(|x, y| x.bbox.x0.total_cmp(&y.bbox.x0)).unwrap();
                let left = out.iter().min_by(|x, y| x.bbox.x0.total_cmp(&y.bbox.x0)).unwrap();
                assert_eq!((right.id, left.id), ids, "ids switched while crossing");
            }
        }
        assert_eq!(t.stats().confirmed, 2);
    }

    #[test]
    fn weak_detections_extend_tracks_but_start_none() {
        let mut t = Tracker::new(TrackerConfig::default());
        for f in 0..5 {
            t.update(&[det(1, 0.9, 100.0 + 5.0 * f as f32, 100.0, 50.0, 120.0)], f * FRAME);
        }
        // Partly occluded: 0.3, below high_score, still the same person (second stage).
        let out = t.update(&[det(1, 0.3, 125.0, 100.0, 50.0, 120.0), det(1, 0.3, 500.0, 100.0, 50.0, 120.0)], 5 * FRAME);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].id, 1);
        assert_eq!(out[0].score, 0.3);
        assert_eq!(t.len(), 1, "a weak detection alone starts no track");
    }

    #[test]
    fn occlusion_and_dropped_frames_by_the_clock() {
        let cfg = TrackerConfig { max_lost_ms: 500, ..TrackerConfig::default() };
        let mut t = Tracker::new(cfg);
        for f in 0..10 {
            t.update(&[det(1, 0.9, 100.0 + 6.0 * f as f32, 100.0, 50.0, 120.0)], f * FRAME);
        }
        // Hidden for 300 ms (frames arrive, nobody in them), then back where motion predicts.
        for f in 10..19 {
            assert!(t.update(&[], f * FRAME).is_empty());
        }
        let out = t.update(&[det(1, 0.9, 100.0 + 6.0 * 19.0, 100.0, 50.0, 120.0)], 19 * FRAME);
        assert_eq!(out.iter().map(|o| o.id).collect::<Vec<_>>(), [1]);
        // Dropped frames: the next frame comes 5 intervals later; the prediction spans them.
        let out = t.update(&[det(1, 0.9, 100.0 + 6.0 * 24.0, 100.0, 50.0, 120.0)], 24 * FRAME);
        assert_eq!(out.iter().map(|o| o.id).collect::<Vec<_>>(), [1]);
        // Gone for longer than max_lost_ms: dropped; a person there later is someone new.
        t.update(&[], 24 * FRAME + 501);
        assert_eq!(t.len(), 0);
        assert_eq!(t.stats().expired, 1);
        t.update(&[det(1, 0.9, 250.0, 100.0, 50.0, 120.0)], 24 * FRAME + 600);
        let out = t.update(&[det(1, 0.9, 256.0, 100.0, 50.0, 120.0)], 24 * FRAME + 633);
        assert_eq!(out.iter().map(|o| o.id).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn classes_do_not_mix() {
        let mut t = Tracker::new(TrackerConfig::default());
        t.update(&[det(1, 0.9, 100.0, 100.0, 50.0, 120.0)], 0);
        t.update(&[det(1, 0.9, 100.0, 100.0, 50.0, 120.0)], FRAME);
        // Same place, other class: not the same track.
        let out = t.update(&[det(2, 0.9, 100.0, 100.0, 50.0, 120.0)], 2 * FRAME);
        assert!(out.is_empty());
    }

    proptest! {
        #[test]
        fn memory_stays_bounded(frames in prop::collection::vec(prop::collection::vec((0.0f32..1.0, 0.0f32..600.0, 0.0f32..400.0), 0..40), 1..40)) {
            let cfg = TrackerConfig { max_tracks: 16, confirm_hits: 1, ..TrackerConfig::default() };
            let mut t = Tracker::new(cfg);
            let mut seen = std::collections::HashSet::new();
            for (f, dets) in frames.iter().enumerate() {
                let dets: Vec<Detection> = dets.iter().map(|&(s, x, y)| det(0, s, x, y, 30.0, 60.0)).collect();
                let out = t.update(&dets, f as i64 * FRAME);
                prop_assert!(t.len() <= 16);
                // Ids in one frame are distinct, and an id is never given to two tracks.
                let ids: std::collections::HashSet<u64> = out.iter().map(|o| o.id).collect();
                prop_assert_eq!(ids.len(), out.len());
                seen.extend(ids);
                prop_assert!(seen.iter().all(|&id| id < t.next_id));
            }
        }
    }
}
