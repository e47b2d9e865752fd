//! Store analytics from tracks: footfall over finite lines (with direction and hysteresis),
//! zones (time-weighted occupancy, entries, dwell by the frames' clock; queue and interaction
//! zones are zones with a kind), aggregated into one insight per interval, and one report for a
//! stretch of intervals without frames. Only these aggregates leave: no boxes, no ids, no
//! pixels.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::detection::BBox;
use super::tracker::TrackedObject;

/// Analytics of one camera, as JSON (docs/vision.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsConfig {
    pub camera: String,
    #[serde(default)]
    pub lines: Vec<LineConfig>,
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
    /// Length of an insight interval (aligned to multiples of it on the frames' clock).
    #[serde(default = "minute")]
    pub interval_ms: i64,
    /// Counts from 1 to `min_count - 1` are reported as `null` (small-number suppression).
    #[serde(default)]
    pub min_count: u64,
    /// Which point of a box is where the person is.
    #[serde(default)]
    pub anchor: Anchor,
    /// Only these classes count (empty: all).
    #[serde(default)]
    pub classes: Vec<usize>,
    /// A track unseen this long is over: its zone visits end at its last sighting.
    #[serde(default = "two_seconds")]
    pub track_timeout_ms: i64,
}

fn minute() -> i64 {
    60_000
}
fn two_seconds() -> i64 {
    2_000
}
fn ten() -> f32 {
    10.0
}

/// A counting line: a finite segment from `from` to `to` (frame pixels). Walking across it
/// from its left to its right (looking from `from` to `to`, y down) is `in`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    pub name: String,
    pub from: [f32; 2],
    pub to: [f32; 2],
    /// A side only counts once the anchor is this far (pixels) from the line: a box
    /// flickering on the line is not counted again and again.
    #[serde(default = "ten")]
    pub hysteresis_px: f32,
}

/// A polygon zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    pub name: String,
    /// At least 3 vertices, frame pixels.
    pub polygon: Vec<[f32; 2]>,
    #[serde(default)]
    pub kind: ZoneKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    #[default]
    Area,
    /// Occupancy is the queue length.
    Queue,
    /// A shelf or display: visits and dwell are interactions.
    Interaction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Bottom centre: the feet, for cameras looking down at a floor.
    #[default]
    BottomCentre,
    Centre,
}

/// One interval's aggregates for one camera. With `frames == 0` it reports a gap: no frame
/// arrived from `start_ms` to `end_ms` (one report for any number of intervals), and every
/// count is `null` (unknown, not zero).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insight {
    pub camera: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub frames: u64,
    pub lines: Vec<LineInsight>,
    pub zones: Vec<ZoneInsight>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineInsight {
    pub name: String,
    /// `None`: suppressed (below `min_count`).
    #[serde(rename = "in")]
    pub in_: Option<u64>,
    pub out: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneInsight {
    pub name: String,
    pub kind: ZoneKind,
    pub entries: Option<u64>,
    /// Time-weighted mean of the people in the zone (each frame's count holds until the next
    /// frame, at most `track_timeout_ms`), to 0.001. `None`: no frames, or suppressed along
    /// with `occupancy_max`. For a queue zone: the mean queue length.
    pub occupancy_mean: Option<f64>,
    /// Most people in the zone in one frame. `None` when no frames, or from 1 to `min_count - 1`.
    pub occupancy_max: Option<u64>,
    /// Visits that ended in this interval.
    pub visits: Option<u64>,
    pub dwell_p50_ms: Option<i64>,
    pub dwell_p90_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct TrackState {
    last_seen_ms: i64,
    /// Per line: the last side the anchor was clearly on, and where.
    sides: Vec<Option<(bool, [f32; 2])>>,
    /// Per zone: since when the track is inside.
    inside_since: Vec<Option<i64>>,
}

#[derive(Debug, Default, Clone)]
struct ZoneAcc {
    entries: u64,
    occupancy_sum: u64,
    occupancy_max: u64,
    /// Sum of occupancy x milliseconds it held, and the milliseconds covered.
    occupancy_ms: f64,
    covered_ms: i64,
    dwells: Vec<i64>,
}

/// The last frame's zone counts, still holding until the next frame: taken at `at`, counted
/// up to `from` so far.
#[derive(Debug)]
struct Held {
    at: i64,
    from: i64,
    occupancy: Vec<u64>,
}

/// Most dwell samples kept per zone and interval (memory bound; percentiles of the first ones).
const MAX_DWELLS: usize = 65_536;

/// The analytics of one camera: feed it each frame's tracks.
#[derive(Debug)]
pub struct Analytics {
    config: AnalyticsConfig,
    tracks: HashMap<u64, TrackState>,
    interval_start: Option<i64>,
    frames: u64,
    line_counts: Vec<(u64, u64)>,
    zones: Vec<ZoneAcc>,
    held: Option<Held>,
}

impl Analytics {
    pub fn new(config: AnalyticsConfig) -> Result<Analytics> {
        config.validate()?;
        let (nl, nz) = (config.lines.len(), config.zones.len());
        Ok(Analytics {
            config,
            tracks: HashMap::new(),
            interval_start: None,
            frames: 0,
            line_counts: vec![(0, 0); nl],
            zones: vec![ZoneAcc::default(); nz],
            held: None,
        })
    }

    pub fn from_json(json: &str) -> Result<Analytics> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let config: AnalyticsConfig = serde_path_to_error::deserialize(de)
            .map_err(|e| Error::AnalyticsConfigInvalid { reason: format!("at {}: {}", e.path(), e.inner()) })?;
        Analytics::new(config)
    }

    pub fn config(&self) -> &AnalyticsConfig {
        &self.config
    }

    /// Tracks whose state is held (bounded: tracks unseen for `track_timeout_ms` are dropped).
    pub fn tracks_held(&self) -> usize {
        self.tracks.len()
    }

    /// Feeds one frame's tracks (frames in timestamp order; an older timestamp counts as the
    /// interval in progress). Returns what this frame closed: nothing, the interval before it,
    /// and after a stretch of intervals without frames, one gap report covering them.
    pub fn update(&mut self, tracks: &[TrackedObject], timestamp_ms: i64) -> Vec<Insight> {
        let interval = self.config.interval_ms;
        let start = timestamp_ms.div_euclid(interval) * interval;
        let mut closed = Vec::new();
        match self.interval_start {
            Some(s) if start > s => {
                let end = s + interval;
                self.hold_until(timestamp_ms.min(end));
                self.expire(timestamp_ms, end);
                closed.push(self.take_insight(s, end));
                if start > end {
                    // No frame from `end` to `start`: one report says so; counts held by the
                    // last frame do not reach across it.
                    closed.push(self.take_insight(end, start));
                }
                if let Some(h) = &mut self.held {
                    h.from = start;
                }
                self.interval_start = Some(start);
            }
            None => self.interval_start = Some(start),
            _ => {}
        }
        self.hold_until(timestamp_ms);
        self.expire(timestamp_ms, i64::MAX);
        self.frames += 1;

        let (nl, nz) = (self.config.lines.len(), self.config.zones.len());
        let mut occupancy = vec![0u64; nz];
        for t in tracks {
            if !self.config.classes.is_empty() && !self.config.classes.contains(&t.class_id) {
                continue;
            }
            let p = anchor_point(&t.bbox, self.config.anchor);
            let st = self.tracks.entry(t.id).or_insert_with(|| TrackState {
                last_seen_ms: timestamp_ms,
                sides: vec![None; nl],
                inside_since: vec![None; nz],
            });
            st.last_seen_ms = timestamp_ms;
            for (l, line) in self.config.lines.iter().enumerate() {
                let d = signed_distance(line, p);
                if d.abs() < line.hysteresis_px {
                    continue; // on the line: no side yet, nothing changes
                }
                let side = d > 0.0;
                match st.sides[l] {
                    Some((prev, at)) if prev != side => {
                        if segments_cross(at, p, line.from, line.to) {
                            if side {
                                self.line_counts[l].0 += 1;
                            } else {
                                self.line_counts[l].1 += 1;
                            }
                        }
                        st.sides[l] = Some((side, p));
                    }
                    Some(_) => st.sides[l] = Some((side, p)),
                    None => st.sides[l] = Some((side, p)),
                }
            }
            for (z, zone) in self.config.zones.iter().enumerate() {
                let inside = point_in_polygon(p, &zone.polygon);
                match (inside, st.inside_since[z]) {
                    (true, None) => {
                        st.inside_since[z] = Some(timestamp_ms);
                        self.zones[z].entries += 1;
                    }
                    (false, Some(since)) => {
                        st.inside_since[z] = None;
                        push_dwell(&mut self.zones[z], timestamp_ms - since);
                    }
                    _ => {}
                }
                if inside {
                    occupancy[z] += 1;
                }
            }
        }
        for (acc, &n) in self.zones.iter_mut().zip(&occupancy) {
            acc.occupancy_sum += n;
            acc.occupancy_max = acc.occupancy_max.max(n);
        }
        self.held = Some(Held { at: timestamp_ms, from: timestamp_ms, occupancy });
        closed
    }

    /// Counts the last frame's zone occupancy as holding up to `until` (at most
    /// `track_timeout_ms` after that frame: past it, nobody is known to be there).
    fn hold_until(&mut self, until: i64) {
        let Some(h) = &mut self.held else { return };
        let end = until.min(h.at.saturating_add(self.config.track_timeout_ms));
        if end > h.from {
            let ms = end - h.from;
            for (acc, &n) in self.zones.iter_mut().zip(&h.occupancy) {
                acc.occupancy_ms += n as f64 * ms as f64;
                acc.covered_ms += ms;
            }
            h.from = end;
        }
    }

    /// Ends the tracks not seen since `timestamp_ms - track_timeout_ms`; their zone visits end
    /// at their last sighting (counted only if that is before `before`).
    fn expire(&mut self, timestamp_ms: i64, before: i64) {
        let timeout = self.config.track_timeout_ms;
        let zones = &mut self.zones;
        self.tracks.retain(|_, st| {
            if timestamp_ms - st.last_seen_ms <= timeout || st.last_seen_ms >= before {
                return true;
            }
            for (z, since) in st.inside_since.iter().enumerate() {
                if let Some(since) = since {
                    push_dwell(&mut zones[z], st.last_seen_ms - since);
                }
            }
            false
        });
    }

    fn take_insight(&mut self, start: i64, end: i64) -> Insight {
        let k = self.config.min_count;
        let frames = std::mem::take(&mut self.frames);
        // Without frames nothing is known: every count is null, not zero.
        let shown = |n: u64| if frames == 0 || (n > 0 && n < k) { None } else { Some(n) };
        let lines = self
            .config
            .lines
            .iter()
            .zip(&mut self.line_counts)
            .map(|(l, c)| {
                let (i, o) = std::mem::take(c);
                LineInsight { name: l.name.clone(), in_: shown(i), out: shown(o) }
            })
            .collect();
        let zones = self
            .config
            .zones
            .iter()
            .zip(&mut self.zones)
            .map(|(z, acc)| {
                let mut a = std::mem::take(acc);
                a.dwells.sort_unstable();
                let visits = a.dwells.len() as u64;
                let pct = |p: f64| -> Option<i64> {
                    if a.dwells.is_empty() || shown(visits).is_none() {
                        return None;
                    }
                    // Nearest rank.
                    let rank = ((p * a.dwells.len() as f64).ceil() as usize).clamp(1, a.dwells.len());
                    Some(a.dwells[rank - 1])
                };
                // A mean reveals what the max does: both go when the max is suppressed.
                let occupancy_max = shown(a.occupancy_max);
                let occupancy_mean = occupancy_max.map(|_| {
                    let mean = if a.covered_ms > 0 {
                        a.occupancy_ms / a.covered_ms as f64
                    } else {
                        a.occupancy_sum as f64 / frames as f64
                    };
                    (mean * 1000.0).round() / 1000.0
                });
                ZoneInsight {
                    name: z.name.clone(),
                    kind: z.kind,
                    entries: shown(a.entries),
                    occupancy_mean,
                    occupancy_max,
                    visits: shown(visits),
                    dwell_p50_ms: pct(0.5),
                    dwell_p90_ms: pct(0.9),
                }
            })
            .collect();
        Insight { camera: self.config.camera.clone(), start_ms: start, end_ms: end, frames, lines, zones }
    }

    /// The insight of the interval in progress, closing it (e.g. at shutdown). The last
    /// frame's occupancy has no duration yet, so it counts in the mean only when no frame did.
    pub fn flush(&mut self) -> Option<Insight> {
        let start = self.interval_start.take()?;
        self.held = None;
        Some(self.take_insight(start, start + self.config.interval_ms))
    }
}

fn push_dwell(acc: &mut ZoneAcc, ms: i64) {
    if acc.dwells.len() < MAX_DWELLS {
        acc.dwells.push(ms.max(0));
    }
}

impl AnalyticsConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::AnalyticsConfigInvalid { reason });
        if self.camera.trim().is_empty() {
            return bad("camera must not be empty".into());
        }
        if self.interval_ms < 1_000 {
            return bad(format!("interval_ms must be at least 1000, got {}", self.interval_ms));
        }
        if self.track_timeout_ms < 0 {
            return bad("track_timeout_ms must be >= 0".into());
        }
        for (i, l) in self.lines.iter().enumerate() {
            let finite = l.from.iter().chain(&l.to).all(|v| v.is_finite());
            if !finite || l.from == l.to {
                return bad(format!("lines[{i}] ({:?}) must join two distinct points", l.name));
            }
            if !(l.hysteresis_px >= 0.0 && l.hysteresis_px.is_finite()) {
                return bad(format!("lines[{i}].hysteresis_px must be >= 0"));
            }
        }
        for (i, z) in self.zones.iter().enumerate() {
            if z.polygon.len() < 3 || z.polygon.iter().flatten().any(|v| !v.is_finite()) {
                return bad(format!("zones[{i}] ({:?}) needs a polygon of at least 3 finite points", z.name));
            }
        }
        let mut names: Vec<&str> =
            self.lines.iter().map(|l| l.name.as_str()).chain(self.zones.iter().map(|z| z.name.as_str())).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!("name {:?} is used twice", w[0]));
        }
        Ok(())
    }
}

fn anchor_point(b: &BBox, anchor: Anchor) -> [f32; 2] {
    match anchor {
        Anchor::BottomCentre => [(b.x0 + b.x1) / 2.0, b.y1],
        Anchor::Centre => [(b.x0 + b.x1) / 2.0, (b.y0 + b.y1) / 2.0],
    }
}

/// Distance of `p` from the infinite line through the segment, positive on its right
/// (looking from `from` to `to`, image y pointing down).
fn signed_distance(l: &LineConfig, p: [f32; 2]) -> f32 {
    let (dx, dy) = (l.to[0] - l.from[0], l.to[1] - l.from[1]);
    let cross = dx * (p[1] - l.from[1]) - dy * (p[0] - l.from[0]);
    cross / (dx * dx + dy * dy).sqrt()
}

/// Whether segment `a`–`b` crosses segment `c`–`d` (touching counts).
fn segments_cross(a: [f32; 2], b: [f32; 2], c: [f32; 2], d: [f32; 2]) -> bool {
    let orient = |p: [f32; 2], q: [f32; 2], r: [f32; 2]| (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
    let (o1, o2, o3, o4) = (orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b));
    (o1 * o2 <= 0.0) && (o3 * o4 <= 0.0)
}

/// Even-odd rule.
fn point_in_polygon(p: [f32; 2], poly: &[[f32; 2]]) -> bool {
    let mut inside = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[j]);
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0] {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person `id` whose feet are at (x, y).
    fn at(id: u64, x: f32, y: f32) -> TrackedObject {
        let b = BBox::new(x - 20.0, y - 100.0, x + 20.0, y);
        TrackedObject { id, class_id: 1, label: "person".into(), score: 0.9, bbox: b, detected: b, first_seen_ms: 0 }
    }

    /// A door line across x = 100..300 at y = 200; walking down (increasing y) is `in`
    /// (looking from (100,200) to (300,200), its right side, y down, is below).
    fn door() -> Analytics {
        Analytics::from_json(
            r#"{ "camera": "cam-1", "interval_ms": 60000,
                 "lines": [ { "name": "door", "from": [100, 200], "to": [300, 200], "hysteresis_px": 10 } ],
                 "zones": [ { "name": "till", "kind": "queue", "polygon": [[0,300],[100,300],[100,400],[0,400]] } ] }"#,
        )
        .unwrap()
    }

    fn walk(a: &mut Analytics, id: u64, points: &[(f32, f32)], t0: i64) -> i64 {
        let mut t = t0;
        for &(x, y) in points {
            assert!(a.update(&[at(id, x, y)], t).is_empty());
            t += 100;
        }
        t
    }

    #[test]
    fn crossing_in_and_out_with_direction() {
        let mut a = door();
        let t = walk(&mut a, 1, &[(200.0, 150.0), (200.0, 180.0), (200.0, 220.0), (200.0, 260.0)], 0);
        let t = walk(&mut a, 2, &[(150.0, 260.0), (150.0, 150.0)], t);
        let i = a.flush().unwrap();
        assert_eq!((i.lines[0].in_, i.lines[0].out), (Some(1), Some(1)));
        let _ = t;
    }

    #[test]
    fn flicker_on_the_line_counts_once() {
        let mut a = door();
        // Up to the line, then 20 frames jittering +-6 px around it (inside the 10 px band),
        // then on through.
        let mut path = vec![(200.0, 150.0)];
        path.extend((0..20).map(|i| (200.0, if i % 2 == 0 { 194.0 } else { 206.0 })));
        path.push((200.0, 250.0));
        walk(&mut a, 1, &path, 0);
        let i = a.flush().unwrap();
        assert_eq!((i.lines[0].in_, i.lines[0].out), (Some(1), Some(0)));
    }

    #[test]
    fn passing_beyond_the_end_of_the_segment_is_not_a_crossing() {
        let mut a = door();
        // x = 350 is past the end of the door (100..300): walking down there crosses the
        // infinite line, not the door.
        walk(&mut a, 1, &[(350.0, 150.0), (350.0, 250.0), (200.0, 260.0)], 0);
        let i = a.flush().unwrap();
        assert_eq!((i.lines[0].in_, i.lines[0].out), (Some(0), Some(0)));
    }

    #[test]
    fn dropped_frames_and_id_switches_do_not_double_count() {
        let mut a = door();
        // One frame above, the next well below: the frames between were dropped.
        walk(&mut a, 1, &[(200.0, 150.0), (200.0, 260.0)], 0);
        // The tracker loses the person and gives them a new id below the door: no new count.
        walk(&mut a, 2, &[(200.0, 270.0), (200.0, 290.0)], 200);
        let i = a.flush().unwrap();
        assert_eq!((i.lines[0].in_, i.lines[0].out), (Some(1), Some(0)));
    }

    #[test]
    fn dwell_is_clock_time_and_occupancy_is_time_weighted() {
        let mut a = door();
        // Person 1 queues from t=1000 to t=4000 with irregular frames (4 frames for 3 s).
        a.update(&[at(1, 50.0, 250.0)], 0);
        a.update(&[at(1, 50.0, 350.0)], 1_000);
        a.update(&[at(1, 50.0, 350.0)], 2_500);
        a.update(&[at(1, 50.0, 350.0), at(2, 60.0, 350.0)], 3_900);
        a.update(&[at(1, 50.0, 450.0), at(2, 60.0, 350.0)], 4_000);
        // Person 2 vanishes inside: the visit ends at the last sighting once it times out.
        a.update(&[], 7_000);
        let i = a.flush().unwrap();
        let z = &i.zones[0];
        assert_eq!(z.kind, ZoneKind::Queue);
        assert_eq!(z.entries, Some(2));
        assert_eq!(z.visits, Some(2));
        // Dwells 3000 (person 1) and 100 (person 2: 3900..4000).
        assert_eq!((z.dwell_p50_ms, z.dwell_p90_ms), (Some(100), Some(3000)));
        assert_eq!(z.occupancy_max, Some(2));
        // Occupancy 0 from 0 to 1000, 1 to 2500, 1 to 3900, 2 to 4000, then 1 held for at most
        // the 2 s track timeout (the next frame is at 7000): 0 from 6000 to 7000 is not known,
        // and the last frame (7000) has no duration before the flush.
        // (0*1000 + 1*1500 + 1*1400 + 2*100 + 1*2000) / 6000.
        let want = (1500.0 + 1400.0 + 200.0 + 2000.0) / 6000.0;
        assert_eq!(z.occupancy_mean, Some((want * 1000.0_f64).round() / 1000.0));
        assert_eq!(a.tracks_held(), 0);
    }

    #[test]
    fn a_track_unseen_past_the_timeout_is_over() {
        let mut a = door();
        a.update(&[at(1, 50.0, 350.0)], 0);
        // 2.5 s without a sighting (timeout 2 s): the visit ended at 0 (dwell 0); seen again,
        // it is a new visit.
        a.update(&[at(1, 50.0, 350.0)], 2_500);
        let i = a.flush().unwrap();
        assert_eq!((i.zones[0].entries, i.zones[0].visits), (Some(2), Some(1)));
        assert_eq!(i.zones[0].dwell_p50_ms, Some(0));
    }

    #[test]
    fn intervals_and_small_count_suppression() {
        let mut b = Analytics::from_json(
            r#"{ "camera": "c", "interval_ms": 10000, "min_count": 3,
                 "lines": [ { "name": "door", "from": [100, 200], "to": [300, 200] } ] }"#,
        )
        .unwrap();
        let mut closed = Vec::new();
        for id in 0..4 {
            closed.extend(b.update(&[at(id, 200.0, 150.0)], 1_000 + id as i64 * 1_000));
            closed.extend(b.update(&[at(id, 200.0, 250.0)], 1_500 + id as i64 * 1_000));
        }
        closed.extend(b.update(&[at(9, 200.0, 250.0)], 12_000));
        closed.extend(b.update(&[at(9, 200.0, 150.0)], 12_500));
        closed.extend(b.update(&[], 20_000));
        assert_eq!(closed.len(), 2);
        assert_eq!((closed[0].start_ms, closed[0].end_ms, closed[0].frames), (0, 10_000, 8));
        assert_eq!((closed[1].start_ms, closed[1].end_ms, closed[1].frames), (10_000, 20_000, 2));
        assert_eq!((closed[0].lines[0].in_, closed[0].lines[0].out), (Some(4), Some(0)));
        // One person out in [10000, 20000): below k = 3, so suppressed.
        assert_eq!((closed[1].lines[0].in_, closed[1].lines[0].out), (Some(0), None));
        let json = serde_json::to_string(&closed[1]).unwrap();
        assert!(json.contains(r#""in":0,"out":null"#), "{json}");
    }

    #[test]
    fn a_stretch_without_frames_is_one_gap_report() {
        let mut a = door();
        assert!(a.update(&[at(1, 50.0, 350.0)], 59_000).is_empty());
        // The next frame comes 4 minutes later: the minute it closed, then one report for the
        // three minutes without frames, with nothing known in it.
        let closed = a.update(&[at(1, 50.0, 350.0)], 241_000);
        assert_eq!(closed.len(), 2);
        assert_eq!((closed[0].start_ms, closed[0].end_ms, closed[0].frames), (0, 60_000, 1));
        // The frame at 59 s held its count to the end of its minute (1 s, under the timeout).
        assert_eq!(closed[0].zones[0].occupancy_mean, Some(1.0));
        let gap = &closed[1];
        assert_eq!((gap.start_ms, gap.end_ms, gap.frames), (60_000, 240_000, 0));
        assert_eq!((gap.lines[0].in_, gap.lines[0].out), (None, None));
        let z = &gap.zones[0];
        assert_eq!((z.entries, z.occupancy_mean, z.occupancy_max, z.visits, z.dwell_p50_ms), (None, None, None, None, None));
        // Adjacent intervals do not make a gap report.
        let closed = a.update(&[], 300_500);
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].start_ms, closed[0].frames), (240_000, 1));
    }

    #[test]
    fn occupancy_below_k_is_suppressed_with_its_mean() {
        let mut a = Analytics::from_json(
            r#"{ "camera": "c", "min_count": 3,
                 "zones": [ { "name": "z", "polygon": [[0,0],[100,0],[100,100],[0,100]] } ] }"#,
        )
        .unwrap();
        a.update(&[at(1, 50.0, 50.0), at(2, 60.0, 50.0)], 0);
        a.update(&[at(1, 50.0, 50.0)], 1_000);
        let i = a.flush().unwrap();
        assert_eq!((i.zones[0].occupancy_max, i.zones[0].occupancy_mean), (None, None));
        a.update(&[at(1, 50.0, 50.0), at(2, 60.0, 50.0), at(3, 70.0, 50.0)], 60_000);
        a.update(&[at(1, 50.0, 50.0)], 61_000);
        let i = a.flush().unwrap();
        assert_eq!((i.zones[0].occupancy_max, i.zones[0].occupancy_mean), (Some(3), Some(3.0)));
    }

    #[test]
    fn config_errors() {
        for (json, what) in [
            (r#"{ "camera": "" }"#, "camera"),
            (r#"{ "camera": "c", "interval_ms": 10 }"#, "interval_ms"),
            (r#"{ "camera": "c", "lines": [ { "name": "l", "from": [1,1], "to": [1,1] } ] }"#, "two distinct points"),
            (r#"{ "camera": "c", "zones": [ { "name": "z", "polygon": [[0,0],[1,1]] } ] }"#, "at least 3"),
            (r#"{ "camera": "c", "zones": [ { "name": "z", "polygon": [[0,0],[1,1],[0,1]], "kind": "shelf" } ] }"#, "kind"),
            (
                r#"{ "camera": "c", "lines": [ { "name": "a", "from": [0,0], "to": [1,1] } ],
                     "zones": [ { "name": "a", "polygon": [[0,0],[1,1],[0,1]] } ] }"#,
                "used twice",
            ),
        ] {
            let e = Analytics::from_json(json).unwrap_err();
            assert_eq!(e.code(), "ANALYTICS_CONFIG_INVALID");
            assert!(e.to_string().contains(what), "{what}: {e}");
        }
    }

    #[test]
    fn geometry() {
        let sq = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        assert!(point_in_polygon([5.0, 5.0], &sq));
        assert!(!point_in_polygon([15.0, 5.0], &sq));
        assert!(segments_cross([0.0, 0.0], [10.0, 10.0], [0.0, 10.0], [10.0, 0.0]));
        assert!(!segments_cross([0.0, 0.0], [1.0, 1.0], [0.0, 10.0], [10.0, 0.0]));
    }
}
