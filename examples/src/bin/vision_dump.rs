//! Dumps, for every shipped model, the input tensor Aisle feeds it (from a real photo) and the
//! raw outputs tract computes, as .npy files with a manifest — so another runtime
//! (onnxruntime, in `scripts/vision_ort_test.py`) can run the same model on the very same
//! tensor and compare.
//!
//! `cargo run -p aisle-examples --features vision --bin vision_dump -- OUT_DIR [MODELS_DIR]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aisle::vision::{Frame, Layout, Model};

/// (descriptor, photo) pairs: each model on a photo with what it looks for.
const CASES: [(&str, &str); 4] = [
    ("person-ssdlite.model.json", "city.jpg"),
    ("centerface.model.json", "city.jpg"),
    ("blazeface-128.model.json", "astronaut.png"),
    ("blazeface-256.model.json", "astronaut.png"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: vision_dump OUT_DIR [MODELS_DIR]");
        return ExitCode::from(2);
    };
    let models = args.get(1).map(PathBuf::from).unwrap_or_else(default_models_dir);
    match run(&out, &models) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vision_dump: {e}");
            ExitCode::FAILURE
        }
    }
}

fn default_models_dir() -> PathBuf {
    std::env::var_os("AISLE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/models"))
}

fn run(out: &Path, models: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut manifest = Vec::new();
    for (descriptor, photo) in CASES {
        let model = Model::load(models.join(descriptor)).map_err(|e| e.to_string())?;
        let frame = Frame::open(models.join(photo), 0).map_err(|e| e.to_string())?;
        let d = model.descriptor();
        let (w, h) = (d.input.width as usize, d.input.height as usize);
        let shape = match d.input.layout {
            Layout::Nhwc => vec![1, h, w, 3],
            Layout::Nchw => vec![1, 3, h, w],
        };
        let input = model.input_tensor(&frame);
        let outputs = model.run_tensor(&input).map_err(|e| e.to_string())?;
        let stem = descriptor.trim_end_matches(".model.json");
        let input_file = format!("{stem}.input.npy");
        write_npy(&out.join(&input_file), &shape, &input)?;
        let mut outs = Vec::new();
        for (i, (name, values)) in d.output_names().iter().zip(&outputs).enumerate() {
            let file = format!("{stem}.output{i}.npy");
            write_npy(&out.join(&file), &[values.len()], values)?;
            outs.push(serde_json::json!({ "name": name, "file": file }));
        }
        let detections = model.detect(&frame).map_err(|e| e.to_string())?;
        println!("{stem}: input {shape:?} from {photo}, {} outputs, {} detections", outputs.len(), detections.len());
        manifest.push(serde_json::json!({
            "model": stem,
            "onnx": models.join(d.model.as_deref().unwrap_or_default()).canonicalize().map_err(|e| e.to_string())?,
            "sha256": model.sha256(),
            "input": { "name": d.input.name, "shape": shape, "file": input_file },
            "outputs": outs,
        }));
    }
    let text = serde_json::to_string_pretty(&serde_json::json!({ "cases": manifest })).map_err(|e| e.to_string())?;
    std::fs::write(out.join("manifest.json"), text).map_err(|e| e.to_string())
}

/// A little-endian f32 array in NumPy's .npy format (version 1.0).
fn write_npy(path: &Path, shape: &[usize], values: &[f32]) -> Result<(), String> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + length (2) + header + newline: a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + values.len() * 4);
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
