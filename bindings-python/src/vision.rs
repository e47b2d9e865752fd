//! Edge vision for Python (`aisle.vision`): models, frames, a detector, camera pipelines.
//!
//! Conversion only. Frames are read **without copying**: a numpy array `H×W×C` of `uint8`
//! (C = 3 or 4) through numpy's array interface (its data pointer, shape and strides; rows may
//! be padded, e.g. a crop `img[y0:y1, x0:x1]` of a bigger image: its row stride is honoured),
//! or `bytes` with `width`, `height`, `format` (and `stride`). Anything else (another dtype,
//! pixels or channels not adjacent, negative strides) is `FrameInvalidError` saying why — never
//! a silent copy. (Not the buffer protocol: the wheel is abi3 for Python 3.9, and
//! `PyObject_GetBuffer` joined the limited API only in 3.11.) A `Frame` holds the array until
//! it is dropped.
//!
//! Threads. `detect` and model loading release the GIL: the caller's buffer is then read by
//! Rust while other Python threads run (do not write to the array during the call). `push`
//! copies the frame into the pipeline's queue with the GIL held (a memcpy), `push_blocking`
//! copies it, then waits for room without the GIL. Pipeline workers never call Python.

use std::sync::Arc;
use std::time::Duration;

use aisle::vision::{self, PixelFormat, StopMode};
use pyo3::pybacked::PyBackedBytes;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::json::{decode, encode, to_json_text};
use crate::{Edge, Res, to_py_err};

fn frame_invalid(reason: String) -> PyErr {
    to_py_err(aisle::Error::FrameInvalid { reason })
}

fn invalid(message: String) -> PyErr {
    to_py_err(aisle::Error::InvalidArgument(message))
}

fn pixel_format(name: &str) -> Res<PixelFormat> {
    match name {
        "rgb" => Ok(PixelFormat::Rgb8),
        "bgr" => Ok(PixelFormat::Bgr8),
        "rgba" => Ok(PixelFormat::Rgba8),
        "bgra" => Ok(PixelFormat::Bgra8),
        other => Err(frame_invalid(format!("format must be \"rgb\", \"bgr\", \"rgba\" or \"bgra\", not {other:?}"))),
    }
}

fn format_name(format: PixelFormat) -> &'static str {
    match format {
        PixelFormat::Rgb8 => "rgb",
        PixelFormat::Bgr8 => "bgr",
        PixelFormat::Rgba8 => "rgba",
        PixelFormat::Bgra8 => "bgra",
    }
}

/// A config passed as a dict, or as JSON text.
fn config_text(obj: &Bound<'_, PyAny>, what: &str) -> Res<String> {
    match obj.cast::<PyString>() {
        Ok(text) => Ok(text.to_cow()?.into_owned()),
        Err(_) => to_json_text(obj, what),
    }
}

// ---- models --------------------------------------------------------------------------------

/// A loaded, hash-verified model (`Model.load("person.model.json")`). Share it freely: a
/// detector and any number of pipelines can run the same model.
#[pyclass(module = "aisle.vision", frozen)]
pub(crate) struct Model {
    inner: Arc<vision::Model>,
}

#[pymethods]
impl Model {
    /// Loads the model a descriptor file names (relative to the descriptor), checking its
    /// SHA-256. The GIL is released while tract reads and optimises the graph.
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> Res<Model> {
        let inner = py.detach(|| vision::Model::load(&path)).map_err(to_py_err)?;
        Ok(Model { inner: Arc::new(inner) })
    }

    /// A model from its descriptor (a dict or JSON text; its `model` field is not needed) and
    /// the model file's bytes.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, descriptor: &Bound<'_, PyAny>, data: PyBackedBytes) -> Res<Model> {
        let json = config_text(descriptor, "descriptor")?;
        let descriptor = vision::ModelDescriptor::from_json(&json, "<descriptor>").map_err(to_py_err)?;
        let inner = py.detach(|| vision::Model::from_bytes(descriptor, &data)).map_err(to_py_err)?;
        Ok(Model { inner: Arc::new(inner) })
    }

    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// SHA-256 of the model file (lowercase hex), verified equal to the descriptor's.
    #[getter]
    fn sha256(&self) -> &str {
        self.inner.sha256()
    }

    /// Class names by index: a detection's `class_id` indexes this.
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.inner.descriptor().classes.clone()
    }

    /// What was changed in the graph at load time so tract runs it (usually empty).
    #[getter]
    fn fixes(&self) -> Vec<String> {
        self.inner.fixes().to_vec()
    }

    /// The descriptor, as a dict.
    fn descriptor<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyAny>> {
        decode(py, &self.inner.descriptor().to_json())
    }

    fn __repr__(&self) -> String {
        format!("Model(name={:?}, sha256={:?})", self.inner.name(), &self.inner.sha256()[..12])
    }
}

// ---- frames --------------------------------------------------------------------------------

enum Pixels {
    /// An array's own memory (numpy's `__array_interface__` data pointer), read in place;
    /// `_owner` (the array) keeps it alive and, while referenced, unresizable.
    Array { _owner: Py<PyAny>, address: usize },
    /// `bytes` (shared, not copied) or a `bytearray` (copied once).
    Bytes(PyBackedBytes),
    /// Decoded from a JPEG/PNG: owned.
    Decoded(vision::Frame<'static>),
}

/// One picture: the caller's pixels (numpy array `H×W×C` uint8, or bytes with `width`,
/// `height`, `format`), read in place, or a decoded JPEG/PNG (`Frame.open`, `Frame.decode`).
#[pyclass(module = "aisle.vision", frozen)]
pub(crate) struct Frame {
    pixels: Pixels,
    /// Bytes from the first pixel that the frame covers.
    len: usize,
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
    timestamp_ms: i64,
}

impl Frame {
    /// The core's frame over the held pixels (no copy).
    fn view(&self) -> Res<vision::Frame<'_>> {
        let bytes: &[u8] = match &self.pixels {
            Pixels::Decoded(frame) => return Ok(frame.clone().with_timestamp(self.timestamp_ms)),
            Pixels::Bytes(bytes) => bytes,
            // SAFETY: the array is held by this frame, so its memory stays allocated (numpy
            // refuses to resize an array that is referenced) for as long as the view borrows
            // `self`; `len` bytes from `address` lie within the array: `layout` derived it from
            // the array's own shape and strides (positive, pixels adjacent). Only read.
            Pixels::Array { address, .. } => unsafe { std::slice::from_raw_parts(*address as *const u8, self.len) },
        };
        vision::Frame::new(bytes, self.width, self.height, self.stride, self.format, self.timestamp_ms).map_err(to_py_err)
    }

    fn decoded(frame: vision::Frame<'static>) -> Frame {
        Frame {
            len: frame.pixels().len(),
            width: frame.width(),
            height: frame.height(),
            stride: frame.stride(),
            format: frame.format(),
            timestamp_ms: frame.timestamp_ms(),
            pixels: Pixels::Decoded(frame),
        }
    }
}

/// What a frame's layout arguments and the array's shape settle on.
struct Layout {
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
    len: usize,
}

struct Args<'a> {
    format: Option<&'a str>,
    width: Option<u32>,
    height: Option<u32>,
    stride: Option<usize>,
}

fn side(n: usize, what: &str) -> Res<u32> {
    u32::try_from(n).map_err(|_| frame_invalid(format!("{what} {n} is too large")))
}

/// Bytes a strided image covers from its first pixel: `stride × (rows − 1) + row`.
fn covered(stride: usize, rows: usize, row: usize) -> Res<usize> {
    stride
        .checked_mul(rows.saturating_sub(1))
        .and_then(|n| n.checked_add(row))
        .ok_or_else(|| frame_invalid(format!("stride {stride} x {rows} rows does not fit in memory")))
}

/// The layout of an `H×W×C` image array with byte `strides`.
fn image_layout(shape: &[usize], strides: &[isize], args: &Args<'_>) -> Res<Layout> {
    let (h, w, c) = (shape[0], shape[1], shape[2]);
    let format = match args.format {
        Some(f) => pixel_format(f)?,
        None if c == 3 => PixelFormat::Rgb8,
        None if c == 4 => PixelFormat::Rgba8,
        None => {
            return Err(frame_invalid(format!(
                "an image array is height x width x 3 (rgb/bgr) or 4 (rgba/bgra) channels, got shape {shape:?}"
            )));
        }
    };
    if c != format.bytes_per_pixel() {
        return Err(frame_invalid(format!(
            "format {:?} has {} channels, the array has shape {shape:?}",
            format_name(format),
            format.bytes_per_pixel()
        )));
    }
    let (width, height) = (side(w, "width")?, side(h, "height")?);
    for (given, found, what) in [(args.width, width, "width"), (args.height, height, "height")] {
        if let Some(g) = given.filter(|g| *g != found) {
            return Err(frame_invalid(format!("{what}={g} was given, but the array's shape {shape:?} says {found}")));
        }
    }
    let copy_hint = "pass np.ascontiguousarray(a) (a packed copy)";
    if strides[2] != 1 || strides[1] != c as isize {
        return Err(frame_invalid(format!(
            "the channels of a pixel and the pixels of a row must be adjacent in memory (strides {strides:?} for shape \
             {shape:?}); {copy_hint}"
        )));
    }
    let row = w * c;
    if h > 1 && strides[0] < row as isize {
        return Err(frame_invalid(format!(
            "rows must follow each other in memory, top to bottom (strides {strides:?} for shape {shape:?}); {copy_hint}"
        )));
    }
    let stride = if h > 1 { strides[0] as usize } else { row };
    if let Some(s) = args.stride.filter(|s| *s != stride) {
        return Err(frame_invalid(format!("stride={s} was given, but the array's rows are {stride} bytes apart")));
    }
    Ok(Layout { width, height, stride, format, len: covered(stride, h, row)? })
}

/// The layout of a flat buffer of `len` bytes: the arguments say it all.
fn flat_layout(len: usize, args: &Args<'_>) -> Res<Layout> {
    let format = pixel_format(args.format.unwrap_or("rgb"))?;
    let (Some(width), Some(height)) = (args.width, args.height) else {
        return Err(frame_invalid(
            "flat pixels (bytes, a 1-D array) need width= and height= (and format= unless rgb, stride= unless rows are packed)"
                .into(),
        ));
    };
    let stride = args.stride.unwrap_or(width as usize * format.bytes_per_pixel());
    Ok(Layout { width, height, stride, format, len })
}

fn ints(obj: &Bound<'_, PyAny>) -> Res<Vec<isize>> {
    obj.extract::<Vec<isize>>()
}

/// An object with numpy's array interface (`__array_interface__`, version 3): its data
/// pointer, shape and strides, read without copying.
fn array_pixels(obj: &Bound<'_, PyAny>, interface: &Bound<'_, PyAny>, args: &Args<'_>) -> Res<(Pixels, Layout)> {
    let get = |key: &str| interface.get_item(key);
    let typestr: String = get("typestr")?.extract()?;
    if !matches!(typestr.as_str(), "|u1" | "<u1" | ">u1") {
        return Err(frame_invalid(format!(
            "pixels must be 8-bit unsigned (dtype uint8), the array's type is {typestr:?}"
        )));
    }
    let shape: Vec<usize> = get("shape")?.extract()?;
    let data = get("data")?;
    let Ok((address, _readonly)) = data.extract::<(usize, bool)>() else {
        // An exporter that hands a buffer object instead of a pointer (Pillow hands `bytes`).
        let packed = shape.len() == 3 && interface.get_item("strides").map(|s| s.is_none()).unwrap_or(true);
        if let (true, Ok(bytes)) = (packed, data.extract::<PyBackedBytes>()) {
            let (w, c) = (shape[1], shape[2]);
            let layout = image_layout(&shape, &[(w * c) as isize, c as isize, 1], args)?;
            return Ok((Pixels::Bytes(bytes), layout));
        }
        return Err(frame_invalid("the array interface gives no data pointer; pass bytes, or a numpy array".into()));
    };
    let strides = match get("strides") {
        Ok(s) if !s.is_none() => ints(&s)?,
        _ => {
            // C order: the last axis is adjacent.
            let mut st = vec![1isize; shape.len()];
            for i in (0..shape.len().saturating_sub(1)).rev() {
                st[i] = st[i + 1] * shape[i + 1] as isize;
            }
            st
        }
    };
    if shape.contains(&0) {
        return Err(frame_invalid(format!("an empty array (shape {shape:?}) is no frame")));
    }
    let layout = match shape.len() {
        3 => image_layout(&shape, &strides, args)?,
        1 if strides[0] == 1 => flat_layout(shape[0], args)?,
        1 => return Err(frame_invalid(format!("a 1-D pixel array must be contiguous (stride {})", strides[0]))),
        n => {
            return Err(frame_invalid(format!(
                "an image array is height x width x channels, not {n}-dimensional (shape {shape:?})"
            )));
        }
    };
    Ok((Pixels::Array { _owner: obj.clone().unbind(), address }, layout))
}

#[pymethods]
impl Frame {
    /// A frame over `pixels` without copying them: a numpy array `H×W×3` (rgb, or
    /// `format="bgr"`) or `H×W×4` (rgba/bgra) of uint8, or bytes-like pixels with `width`,
    /// `height` (and `format`, default `"rgb"`; `stride`, default packed rows).
    #[new]
    #[pyo3(signature = (pixels, *, format = None, width = None, height = None, stride = None, timestamp_ms = 0))]
    fn new(
        pixels: &Bound<'_, PyAny>,
        format: Option<&str>,
        width: Option<u32>,
        height: Option<u32>,
        stride: Option<usize>,
        timestamp_ms: i64,
    ) -> Res<Frame> {
        let args = Args { format, width, height, stride };
        let (pixels, layout) = if let Ok(interface) = pixels.getattr("__array_interface__") {
            array_pixels(pixels, &interface, &args)?
        } else if let Ok(bytes) = pixels.extract::<PyBackedBytes>() {
            let layout = flat_layout(bytes.len(), &args)?;
            (Pixels::Bytes(bytes), layout)
        } else {
            let type_name = pixels.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
            return Err(frame_invalid(format!(
                "pixels are a numpy array (uint8, height x width x channels), bytes or a bytearray, not {type_name}"
            )));
        };
        let Layout { width, height, stride, format, len } = layout;
        let frame = Frame { pixels, len, width, height, stride, format, timestamp_ms };
        frame.view()?; // the core checks the sizes now: FrameInvalidError at construction
        Ok(frame)
    }

    /// Reads and decodes a JPEG or PNG file into an RGB frame (greyscale and alpha become RGB).
    #[staticmethod]
    #[pyo3(signature = (path, timestamp_ms = 0))]
    fn open(py: Python<'_>, path: std::path::PathBuf, timestamp_ms: i64) -> Res<Frame> {
        let frame = py.detach(|| vision::Frame::open(&path, timestamp_ms)).map_err(to_py_err)?;
        Ok(Frame::decoded(frame))
    }

    /// Decodes JPEG or PNG bytes into an RGB frame.
    #[staticmethod]
    #[pyo3(signature = (data, timestamp_ms = 0))]
    fn decode(py: Python<'_>, data: &[u8], timestamp_ms: i64) -> Res<Frame> {
        let frame = py.detach(|| vision::Frame::decode(data, timestamp_ms)).map_err(to_py_err)?;
        Ok(Frame::decoded(frame))
    }

    #[getter]
    fn width(&self) -> u32 {
        self.width
    }
    #[getter]
    fn height(&self) -> u32 {
        self.height
    }
    /// Bytes from one row to the next.
    #[getter]
    fn stride(&self) -> usize {
        self.stride
    }
    /// `"rgb"`, `"bgr"`, `"rgba"` or `"bgra"`.
    #[getter]
    fn format(&self) -> &'static str {
        format_name(self.format)
    }
    #[getter]
    fn timestamp_ms(&self) -> i64 {
        self.timestamp_ms
    }

    /// Whether the frame reads the caller's buffer in place (not a decoded image).
    #[getter]
    fn borrowed(&self) -> bool {
        !matches!(self.pixels, Pixels::Decoded(_))
    }

    /// The pixels, rows packed (a copy): `numpy.frombuffer(f.to_bytes(), numpy.uint8)
    /// .reshape(f.height, f.width, -1)` gives an array.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Res<Bound<'py, pyo3::types::PyBytes>> {
        let frame = self.view()?.copied();
        Ok(pyo3::types::PyBytes::new(py, frame.pixels()))
    }

    fn __repr__(&self) -> String {
        format!(
            "Frame({}x{} {}, stride={}, timestamp_ms={})",
            self.width,
            self.height,
            format_name(self.format),
            self.stride,
            self.timestamp_ms
        )
    }
}

/// A frame argument: a `Frame`, or pixels a `Frame` can read as they are (an `H×W×C` array).
fn frame_arg<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> Res<FrameArg<'a, 'py>> {
    if let Ok(f) = obj.cast::<Frame>() {
        return Ok(FrameArg::Given(f));
    }
    let frame = Frame::new(obj, None, None, None, None, 0)?;
    Ok(FrameArg::Made(frame))
}

enum FrameArg<'a, 'py> {
    Given(&'a Bound<'py, Frame>),
    Made(Frame),
}

impl FrameArg<'_, '_> {
    fn get(&self) -> &Frame {
        match self {
            FrameArg::Given(f) => f.get(),
            FrameArg::Made(f) => f,
        }
    }
}

// ---- detections ----------------------------------------------------------------------------

fn detections<'py>(py: Python<'py>, found: &[vision::Detection]) -> Res<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for d in found {
        let item = PyDict::new(py);
        item.set_item("class_id", d.class_id)?;
        item.set_item("label", &d.label)?;
        item.set_item("score", d.score)?;
        item.set_item("bbox", PyTuple::new(py, [d.bbox.x0, d.bbox.y0, d.bbox.x1, d.bbox.y1])?)?;
        let points: Vec<(f32, f32)> = d.keypoints.clone();
        item.set_item("keypoints", points)?;
        list.append(item)?;
    }
    Ok(list)
}

/// Runs the current model on frames; the model can be replaced while other threads detect
/// (from the next frame on).
#[pyclass(module = "aisle.vision", frozen)]
pub(crate) struct Detector {
    inner: vision::Detector,
}

#[pymethods]
impl Detector {
    #[new]
    fn new(model: &Model) -> Detector {
        Detector { inner: vision::Detector::new(Arc::clone(&model.inner)) }
    }

    /// `Detector(Model.load(path))`.
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> Res<Detector> {
        let model = Model::load(py, path)?;
        Ok(Detector::new(&model))
    }

    /// The objects in one frame (a `Frame`, or an `H×W×C` uint8 array), best first: dicts
    /// `{"class_id", "label", "score", "bbox": (x0, y0, x1, y1), "keypoints": [(x, y), ...]}`
    /// in frame pixels. The GIL is released during inference; the pixels are read in place.
    fn detect<'py>(&self, py: Python<'py>, frame: &Bound<'py, PyAny>) -> Res<Bound<'py, PyList>> {
        let arg = frame_arg(frame)?;
        let view = arg.get().view()?;
        let found = py.detach(|| self.inner.detect(&view)).map_err(to_py_err)?;
        detections(py, &found)
    }

    /// The model in use now.
    #[getter]
    fn model(&self) -> Model {
        Model { inner: self.inner.model() }
    }

    /// Installs `model` from the next frame on; returns the one it replaces.
    fn replace_model(&self, model: &Model) -> Model {
        Model { inner: self.inner.replace_model(Arc::clone(&model.inner)) }
    }

    fn __repr__(&self) -> String {
        format!("Detector(model={:?})", self.inner.model().name())
    }
}

// ---- pipelines -----------------------------------------------------------------------------

fn stats<'py>(py: Python<'py>, s: &vision::PipelineStats) -> Res<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("frames_in", s.frames_in)?;
    d.set_item("frames_processed", s.frames_processed)?;
    d.set_item("frames_failed", s.frames_failed)?;
    d.set_item("frames_dropped", s.frames_dropped)?;
    d.set_item("queued", s.queued)?;
    d.set_item("queue_capacity", s.queue_capacity)?;
    d.set_item("queued_max", s.queued_max)?;
    d.set_item("inference_ms", s.inference_ms)?;
    d.set_item("tracking_ms", s.tracking_ms)?;
    d.set_item("insights", s.insights)?;
    d.set_item("insight_bytes", s.insight_bytes)?;
    d.set_item("insights_failed", s.insights_failed)?;
    d.set_item("model_replacements", s.model_replacements)?;
    let t = PyDict::new(py);
    t.set_item("frames", s.tracker.frames)?;
    t.set_item("confirmed", s.tracker.confirmed)?;
    t.set_item("evicted", s.tracker.evicted)?;
    t.set_item("expired", s.tracker.expired)?;
    t.set_item("matched_high", s.tracker.matched_high)?;
    t.set_item("high", s.tracker.high)?;
    d.set_item("tracker", t)?;
    d.set_item("last_error", &s.last_error)?;
    Ok(d)
}

fn seconds(value: f64, what: &str) -> Res<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| invalid(format!("{what} must be a number of seconds >= 0, got {value}")))
}

/// One camera: a worker thread runs detector → tracker → analytics on the frames pushed, behind
/// a bounded queue, and appends each interval's insight to a forward stream of the store.
#[pyclass(module = "aisle.vision", frozen)]
pub(crate) struct Pipeline {
    inner: vision::Pipeline,
    stream: String,
}

#[pymethods]
impl Pipeline {
    /// Starts the pipeline of the camera `analytics["camera"]` (analytics: a dict or JSON
    /// text, docs/vision.md). Insights go to the store's stream `stream` (created durable,
    /// drop-oldest, if missing). `queue_capacity`: frames held waiting (1–256).
    #[new]
    #[pyo3(signature = (edge, model, analytics, *, queue_capacity = 2, stream = "vision"))]
    fn new(
        py: Python<'_>,
        edge: &Edge,
        model: &Model,
        analytics: &Bound<'_, PyAny>,
        queue_capacity: usize,
        stream: &str,
    ) -> Res<Pipeline> {
        let json = config_text(analytics, "analytics")?;
        // Parsed and validated by the core (errors name the JSON path).
        let config = vision::Analytics::from_json(&json).map_err(to_py_err)?.config().clone();
        let streams = edge.inner.streams();
        let model = Arc::clone(&model.inner);
        let inner = py
            .detach(|| {
                let sink = vision::InsightStream::open(streams, stream)?;
                vision::Pipeline::builder(model, config).queue_capacity(queue_capacity).insights_to(sink).start()
            })
            .map_err(to_py_err)?;
        Ok(Pipeline { inner, stream: stream.to_owned() })
    }

    #[getter]
    fn camera(&self) -> &str {
        self.inner.camera()
    }

    /// The forward stream insights go to.
    #[getter]
    fn stream(&self) -> &str {
        &self.stream
    }

    /// The model in use now.
    #[getter]
    fn model(&self) -> Model {
        Model { inner: self.inner.model() }
    }

    /// Queues a copy of the frame and returns at once: `"queued"`, or `"dropped_oldest"` when
    /// the queue was full and its oldest frame was dropped (counted) for this one.
    fn push(&self, frame: &Bound<'_, PyAny>) -> Res<&'static str> {
        let arg = frame_arg(frame)?;
        let view = arg.get().view()?;
        match self.inner.push(&view).map_err(to_py_err)? {
            vision::Pushed::Queued => Ok("queued"),
            vision::Pushed::DroppedOldest => Ok("dropped_oldest"),
        }
    }

    /// Queues a copy of the frame, waiting (GIL released) for room instead of dropping: for
    /// recorded video and files, where every frame counts.
    fn push_blocking(&self, py: Python<'_>, frame: &Bound<'_, PyAny>) -> Res<()> {
        let arg = frame_arg(frame)?;
        let owned = arg.get().view()?.copied();
        py.detach(|| self.inner.push_blocking(owned)).map_err(to_py_err)
    }

    /// Installs `model` from the next frame on (the camera does not stop); returns the old one.
    fn replace_model(&self, model: &Model) -> Model {
        Model { inner: self.inner.replace_model(Arc::clone(&model.inner)) }
    }

    /// Counters since the start (a dict: frames in/processed/failed/dropped, queue, times,
    /// insights, tracker).
    fn stats<'py>(&self, py: Python<'py>) -> Res<Bound<'py, PyDict>> {
        stats(py, &self.inner.stats())
    }

    /// Waits (GIL released) until the queue is empty and no frame is in progress; whether it
    /// got there within `timeout` seconds.
    fn wait_idle(&self, py: Python<'_>, timeout: f64) -> Res<bool> {
        let timeout = seconds(timeout, "timeout")?;
        Ok(py.detach(|| self.inner.wait_idle(timeout)))
    }

    /// Waits until `frames` pushed frames have settled (processed, failed or dropped).
    fn wait_settled(&self, py: Python<'_>, frames: u64, timeout: f64) -> Res<bool> {
        let timeout = seconds(timeout, "timeout")?;
        Ok(py.detach(|| self.inner.wait_settled(frames, timeout)))
    }

    /// Stops the camera: queued frames are processed (or dropped, `discard=True`), the interval
    /// in progress is flushed to the stream, the worker is joined (GIL released). Returns
    /// `{"stats", "discarded", "final_insight"}`; a second stop returns the same.
    #[pyo3(signature = (*, discard = false))]
    fn stop<'py>(&self, py: Python<'py>, discard: bool) -> Res<Bound<'py, PyDict>> {
        let mode = if discard { StopMode::Discard } else { StopMode::Drain };
        let report = py.detach(|| self.inner.stop(mode));
        let d = PyDict::new(py);
        d.set_item("stats", stats(py, &report.stats)?)?;
        d.set_item("discarded", report.discarded)?;
        let insight = match &report.final_insight {
            Some(i) => decode(py, &encode(i).map_err(to_py_err)?)?,
            None => py.None().into_bound(py),
        };
        d.set_item("final_insight", insight)?;
        Ok(d)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> Res<bool> {
        self.stop(py, false)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Pipeline(camera={:?}, stream={:?})", self.inner.camera(), self.stream)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Frame>()?;
    m.add_class::<Detector>()?;
    m.add_class::<Pipeline>()?;
    Ok(())
}
