//! Frames in: raw 8-bit pixel buffers (borrowed, so a camera buffer or a numpy array is not
//! copied) with width, height, row stride and a timestamp; JPEG/PNG files decoded into one.
//! And the one thing done to pixels before inference: a bilinear resize straight into the
//! model's normalised input tensor.

use std::borrow::Cow;
use std::path::Path;

use crate::error::{Error, Result};

use super::descriptor::{ColourOrder, InputSpec, Layout, ResizeKind};

/// Byte layout of one pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    Rgb8,
    Bgr8,
    Rgba8,
    Bgra8,
}

impl PixelFormat {
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb8 | PixelFormat::Bgr8 => 3,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
        }
    }

    /// Byte offsets of red, green and blue within a pixel.
    fn rgb_offsets(self) -> [usize; 3] {
        match self {
            PixelFormat::Rgb8 | PixelFormat::Rgba8 => [0, 1, 2],
            PixelFormat::Bgr8 | PixelFormat::Bgra8 => [2, 1, 0],
        }
    }
}

/// One camera frame or photo. Pixels are borrowed when they come from the caller.
#[derive(Debug, Clone)]
pub struct Frame<'a> {
    pixels: Cow<'a, [u8]>,
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
    timestamp_ms: i64,
}

/// Largest frame side accepted (16K video is 15360 wide).
const MAX_SIDE: u32 = 16384;

impl<'a> Frame<'a> {
    /// A frame over `pixels`: `height` rows of `stride` bytes each (the last row may stop after
    /// its `width` pixels), in `format`, taken at `timestamp_ms` (the caller's clock, in ms).
    pub fn new(
        pixels: &'a [u8],
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
        timestamp_ms: i64,
    ) -> Result<Frame<'a>> {
        Frame::checked(Cow::Borrowed(pixels), width, height, stride, format, timestamp_ms)
    }

    /// A tightly packed frame (`stride = width * bytes per pixel`).
    pub fn packed(pixels: &'a [u8], width: u32, height: u32, format: PixelFormat, timestamp_ms: i64) -> Result<Frame<'a>> {
        let stride = width as usize * format.bytes_per_pixel();
        Frame::new(pixels, width, height, stride, format, timestamp_ms)
    }

    fn checked(
        pixels: Cow<'a, [u8]>,
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
        timestamp_ms: i64,
    ) -> Result<Frame<'a>> {
        let bad = |reason: String| Err(Error::FrameInvalid { reason });
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return bad(format!("a frame must be 1..={MAX_SIDE} pixels on each side, got {width}x{height}"));
        }
        let row = width as usize * format.bytes_per_pixel();
        if stride < row {
            return bad(format!("stride {stride} is shorter than a row of {width} {format:?} pixels ({row} bytes)"));
        }
        let Some(needed) = stride.checked_mul(height as usize - 1).and_then(|n| n.checked_add(row)) else {
            return bad(format!("stride {stride} x {height} rows does not fit in memory"));
        };
        if pixels.len() < needed {
            return bad(format!(
                "{width}x{height} {format:?} with stride {stride} needs {needed} bytes, the buffer has {}",
                pixels.len()
            ));
        }
        Ok(Frame { pixels, width, height, stride, format, timestamp_ms })
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn stride(&self) -> usize {
        self.stride
    }
    pub fn format(&self) -> PixelFormat {
        self.format
    }
    pub fn timestamp_ms(&self) -> i64 {
        self.timestamp_ms
    }
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// An owned copy of this frame (rows packed, padding dropped), for a queue that outlives
    /// the caller's buffer: what a camera pipeline keeps of a pushed frame.
    pub fn copied(&self) -> Frame<'static> {
        let row = self.width as usize * self.format.bytes_per_pixel();
        let mut pixels = Vec::with_capacity(row * self.height as usize);
        for y in 0..self.height as usize {
            pixels.extend_from_slice(&self.pixels[y * self.stride..y * self.stride + row]);
        }
        Frame {
            pixels: Cow::Owned(pixels),
            width: self.width,
            height: self.height,
            stride: row,
            format: self.format,
            timestamp_ms: self.timestamp_ms,
        }
    }

    /// The same pixels with another timestamp.
    pub fn with_timestamp(mut self, timestamp_ms: i64) -> Frame<'a> {
        self.timestamp_ms = timestamp_ms;
        self
    }

    /// The `(r, g, b)` of pixel `(x, y)`, or `None` outside the frame.
    pub fn rgb_at(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let p = y as usize * self.stride + x as usize * self.format.bytes_per_pixel();
        let [r, g, b] = self.format.rgb_offsets();
        Some([self.pixels[p + r], self.pixels[p + g], self.pixels[p + b]])
    }
}

impl Frame<'static> {
    /// A frame that owns `pixels` (checked as [`Frame::new`] checks them, not copied): for a
    /// buffer handed over whole, e.g. across an FFI boundary into a pipeline's queue.
    pub fn from_vec(
        pixels: Vec<u8>,
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
        timestamp_ms: i64,
    ) -> Result<Frame<'static>> {
        Frame::checked(Cow::Owned(pixels), width, height, stride, format, timestamp_ms)
    }

    /// Decodes a JPEG or PNG (greyscale and alpha become RGB) into an owned RGB frame.
    pub fn decode(bytes: &[u8], timestamp_ms: i64) -> Result<Frame<'static>> {
        Frame::decode_named(bytes, "image bytes", timestamp_ms)
    }

    /// Reads and decodes a JPEG or PNG file.
    pub fn open(path: impl AsRef<Path>, timestamp_ms: i64) -> Result<Frame<'static>> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::ImageInvalid {
            source_name: path.display().to_string(),
            detail: format!("cannot read it: {e}"),
        })?;
        Frame::decode_named(&bytes, &path.display().to_string(), timestamp_ms)
    }

    fn decode_named(bytes: &[u8], name: &str, timestamp_ms: i64) -> Result<Frame<'static>> {
        let invalid = |detail: String| Error::ImageInvalid { source_name: name.to_owned(), detail };
        let format = image::guess_format(bytes).map_err(|e| invalid(e.to_string()))?;
        if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png) {
            return Err(invalid(format!("{format:?} is not supported, only JPEG and PNG")));
        }
        let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
        // Refuse images that would take more memory than a frame may (decompression bombs).
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(1 << 30);
        reader.limits(limits);
        let img = reader.decode().map_err(|e| invalid(e.to_string()))?.into_rgb8();
        let (w, h) = img.dimensions();
        Frame::checked(Cow::Owned(img.into_raw()), w, h, w as usize * 3, PixelFormat::Rgb8, timestamp_ms)
    }
}

/// Source sampling positions for one axis: `(index0, index1, weight of index1)`.
fn axis_taps(src: u32, dst: u32, kind: ResizeKind) -> Vec<(usize, usize, f32)> {
    let scale = src as f32 / dst as f32;
    let last = src as usize - 1;
    (0..dst)
        .map(|d| {
            let s = match kind {
                ResizeKind::Bilinear => ((d as f32 + 0.5) * scale - 0.5).max(0.0),
                ResizeKind::TfLegacy => d as f32 * scale,
            };
            let i0 = (s.floor() as usize).min(last);
            let i1 = (i0 + 1).min(last);
            (i0, i1, s - i0 as f32)
        })
        .collect()
}

/// Resizes `frame` to the model input and writes `(pixel - mean) / std` per channel into `out`
/// (length `3 * width * height`) in the input's layout and colour order.
pub(crate) fn to_input_tensor(frame: &Frame<'_>, spec: &InputSpec, out: &mut [f32]) {
    let (w, h) = (spec.width as usize, spec.height as usize);
    debug_assert_eq!(out.len(), 3 * w * h);
    let xs = axis_taps(frame.width, spec.width, spec.resize);
    let ys = axis_taps(frame.height, spec.height, spec.resize);
    let bpp = frame.format.bytes_per_pixel();
    let rgb = frame.format.rgb_offsets();
    // Source byte offset of each model channel.
    let src_channel = match spec.colour {
        ColourOrder::Rgb => rgb,
        ColourOrder::Bgr => [rgb[2], rgb[1], rgb[0]],
    };
    let scale: [f32; 3] = [1.0 / spec.std[0], 1.0 / spec.std[1], 1.0 / spec.std[2]];
    let px = &frame.pixels;
    for (y, &(y0, y1, fy)) in ys.iter().enumerate() {
        let row0 = &px[y0 * frame.stride..];
        let row1 = &px[y1 * frame.stride..];
        for (x, &(x0, x1, fx)) in xs.iter().enumerate() {
            for c in 0..3 {
                let o = src_channel[c];
                let p00 = row0[x0 * bpp + o] as f32;
                let p01 = row0[x1 * bpp + o] as f32;
                let p10 = row1[x0 * bpp + o] as f32;
                let p11 = row1[x1 * bpp + o] as f32;
                // Same order of operations as TF's kernel: lerp along x on both rows, then y.
                let top = p00 + (p01 - p00) * fx;
                let bottom = p10 + (p11 - p10) * fx;
                let v = top + (bottom - top) * fy;
                let at = match spec.layout {
                    Layout::Nhwc => (y * w + x) * 3 + c,
                    Layout::Nchw => c * w * h + y * w + x,
                };
                out[at] = (v - spec.mean[c]) * scale[c];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(w: u32, h: u32, layout: Layout, colour: ColourOrder, resize: ResizeKind) -> InputSpec {
        InputSpec { name: None, width: w, height: h, layout, colour, mean: [0.0; 3], std: [1.0; 3], resize }
    }

    #[test]
    fn frames_are_checked() {
        let buf = vec![0u8; 10 * 4 * 3];
        assert!(Frame::packed(&buf, 10, 4, PixelFormat::Rgb8, 0).is_ok());
        let e = Frame::packed(&buf, 10, 5, PixelFormat::Rgb8, 0).unwrap_err();
        assert_eq!(e.code(), "FRAME_INVALID");
        assert!(e.to_string().contains("needs 150 bytes, the buffer has 120"), "{e}");
        assert_eq!(Frame::new(&buf, 10, 4, 20, PixelFormat::Rgb8, 0).unwrap_err().code(), "FRAME_INVALID");
        assert_eq!(Frame::packed(&buf, 0, 4, PixelFormat::Rgb8, 0).unwrap_err().code(), "FRAME_INVALID");
        assert_eq!(Frame::new(&buf, 10, 4, usize::MAX / 2, PixelFormat::Rgb8, 0).unwrap_err().code(), "FRAME_INVALID");
        // A padded stride: the last row only needs its own pixels.
        let padded = vec![0u8; 32 * 3 + 30];
        let f = Frame::new(&padded, 10, 4, 32, PixelFormat::Rgb8, 7).unwrap();
        assert_eq!((f.width(), f.height(), f.stride(), f.timestamp_ms()), (10, 4, 32, 7));
        // Its owned copy is packed and has the same pixels.
        let mut padded = padded;
        padded[32 * 3 + 29] = 9;
        let f = Frame::new(&padded, 10, 4, 32, PixelFormat::Rgb8, 7).unwrap();
        let c = f.copied();
        assert_eq!((c.width(), c.height(), c.stride(), c.timestamp_ms(), c.pixels().len()), (10, 4, 30, 7, 120));
        assert_eq!(c.rgb_at(9, 3), Some([0, 0, 9]));
    }

    #[test]
    fn colour_orders_and_layouts() {
        // One BGRA pixel (b=10, g=20, r=30, a=255), upscaled to 2x1.
        let px = [10u8, 20, 30, 255];
        let f = Frame::packed(&px, 1, 1, PixelFormat::Bgra8, 0).unwrap();
        assert_eq!(f.rgb_at(0, 0), Some([30, 20, 10]));
        let mut out = vec![0.0; 6];
        to_input_tensor(&f, &spec(2, 1, Layout::Nhwc, ColourOrder::Rgb, ResizeKind::Bilinear), &mut out);
        assert_eq!(out, [30.0, 20.0, 10.0, 30.0, 20.0, 10.0]);
        to_input_tensor(&f, &spec(2, 1, Layout::Nchw, ColourOrder::Bgr, ResizeKind::Bilinear), &mut out);
        assert_eq!(out, [10.0, 10.0, 20.0, 20.0, 30.0, 30.0]);
    }

    #[test]
    fn normalisation() {
        let px = [255u8, 0, 127];
        let f = Frame::packed(&px, 1, 1, PixelFormat::Rgb8, 0).unwrap();
        let mut s = spec(1, 1, Layout::Nhwc, ColourOrder::Rgb, ResizeKind::Bilinear);
        s.mean = [127.5; 3];
        s.std = [127.5; 3];
        let mut out = vec![0.0; 3];
        to_input_tensor(&f, &s, &mut out);
        assert_eq!(out[0], 1.0);
        assert_eq!(out[1], -1.0);
        assert!((out[2] - (-0.5 / 127.5)).abs() < 1e-6);
    }

    #[test]
    fn resize_sampling_positions() {
        // A 4-pixel gradient 0, 10, 20, 30 on one row, halved to 2 pixels.
        let px: Vec<u8> = [0u8, 10, 20, 30].iter().flat_map(|&v| [v, v, v]).collect();
        let f = Frame::packed(&px, 4, 1, PixelFormat::Rgb8, 0).unwrap();
        let mut out = vec![0.0; 6];
        // TF legacy: dst x samples src x*2 -> 0 and 20.
        to_input_tensor(&f, &spec(2, 1, Layout::Nchw, ColourOrder::Rgb, ResizeKind::TfLegacy), &mut out);
        assert_eq!(&out[..2], &[0.0, 20.0]);
        // Half-pixel centres: (x+0.5)*2-0.5 = 0.5, 2.5 -> 5 and 25.
        to_input_tensor(&f, &spec(2, 1, Layout::Nchw, ColourOrder::Rgb, ResizeKind::Bilinear), &mut out);
        assert_eq!(&out[..2], &[5.0, 25.0]);
        // Upscaling 4 -> 8 with TF legacy: x*0.5 -> 0, 5, 10, ..., 30, 30 (clamped at the edge).
        let mut up = vec![0.0; 24];
        to_input_tensor(&f, &spec(8, 1, Layout::Nchw, ColourOrder::Rgb, ResizeKind::TfLegacy), &mut up);
        assert_eq!(&up[..8], &[0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 30.0]);
    }

    #[test]
    fn decode_png_and_reject_garbage() {
        // A 2x1 greyscale PNG made by the image crate itself.
        let mut png = Vec::new();
        image::GrayImage::from_raw(2, 1, vec![0, 200])
            .unwrap()
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let f = Frame::decode(&png, 5).unwrap();
        assert_eq!((f.width(), f.height(), f.format()), (2, 1, PixelFormat::Rgb8));
        assert_eq!(f.rgb_at(1, 0), Some([200, 200, 200]));
        let e = Frame::decode(b"not an image at all", 0).unwrap_err();
        assert_eq!(e.code(), "IMAGE_INVALID");
        let e = Frame::decode(&png[..png.len() / 2], 0).unwrap_err();
        assert_eq!(e.code(), "IMAGE_INVALID");
    }
}
