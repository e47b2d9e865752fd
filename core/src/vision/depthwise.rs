//! Aisle's own depthwise convolution, swapped into a model's graph at load time in place of
//! tract's where the layout allows it.
//!
//! Depthwise convolutions (one small kernel per channel) are a third to two fifths of every
//! shipped model's time in tract 0.23 (docs/performance.md). In channel-planar layouts (CHW,
//! NCHW — what tract's decluttering gives the MobileNet-style graphs) each channel is a small
//! image: Aisle pads it once into scratch planes split by stride phase, after which every tap
//! of the kernel reads the whole plane at one fixed offset. Blocks of 64 outputs then sum all
//! taps in registers (AVX-512 or AVX2+FMA, picked at run time; plain Rust elsewhere) and are
//! stored once, with the following ReLU / ReLU6 applied as they are written.
//!
//! The op is taken only when everything is known at load: f32, two spatial axes, OIHW kernel
//! and bias as constants, explicit or no padding, no dilation, channels before the spatial axes.
//! Anything else keeps tract's op. `core/tests/vision.rs` checks every shipped model against
//! onnxruntime and against tract's own kernel.

use std::fmt;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec};

/// A depthwise 2-D convolution over channel planes, bias added, optionally clamped.
#[derive(Clone, PartialEq)]
pub(crate) struct PlanarDepthwise {
    /// Batch (1 for CHW) and channels.
    n: usize,
    c: usize,
    /// Input and output plane sizes.
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    /// Padding before the first row and column.
    pt: usize,
    pl: usize,
    /// The output's full shape (the input's with the spatial axes replaced).
    out_shape: TVec<usize>,
    /// `c × kh × kw` weights, channel-major.
    kernel: Arc<Vec<f32>>,
    /// One bias per channel.
    bias: Arc<Vec<f32>>,
    /// The `max(x, lo)` / `min(x, hi)` that followed the convolution in the graph (ReLU,
    /// ReLU6), applied as the output is written; infinite when there was none.
    lo: f32,
    hi: f32,
}

/// Equal ops are interchangeable to tract (it may merge equal nodes on equal inputs); f32
/// weights compare by value, which is what that needs.
impl Eq for PlanarDepthwise {}

impl fmt::Debug for PlanarDepthwise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PlanarDepthwise {{ n: {}, c: {}, {}x{} -> {}x{}, kernel {}x{}, stride {}x{}, pad {}x{}, clamp [{}, {}] }}",
            self.n, self.c, self.h, self.w, self.oh, self.ow, self.kh, self.kw, self.sh, self.sw, self.pt, self.pl, self.lo, self.hi
        )
    }
}

/// Replaces every depthwise convolution of a decluttered model that [`PlanarDepthwise`] can run.
/// Returns how many it replaced.
pub(crate) fn replace_depthwise(model: &mut TypedModel) -> TractResult<usize> {
    let candidates: Vec<usize> = model.nodes().iter().filter(|n| n.op_is::<Conv>()).map(|n| n.id).collect();
    let mut replaced = 0;
    for id in candidates {
        let node = model.node(id);
        let Some(conv) = node.op_as::<Conv>() else { continue };
        let Some(mut op) = PlanarDepthwise::for_conv(model, node, conv)? else { continue };
        // Fold a following max(·, lo) and then min(·, hi) (ReLU, ReLU6) into the op.
        let last;
        (op.lo, op.hi, last) = clamp_after(model, node.id);
        let (input, name) = (node.inputs[0], node.name.clone());
        swap_in(model, input, &name, Box::new(op), last)?;
        replaced += 1;
    }
    Ok(replaced)
}

/// When the only consumer of `node`'s output is the binary op `which` (`Max`, `Min`, `Add`) of
/// it with an f32 constant, leaving its shape alone (the constant only broadcasts): that
/// consumer and the constant.
pub(crate) fn const_after(model: &TypedModel, node: usize, which: &str) -> Option<(usize, Arc<Tensor>)> {
    let from = OutletId::new(node, 0);
    let [succ] = model.node(node).outputs.first()?.successors.as_slice() else { return None };
    let next = model.node(succ.node);
    let op = next.op_as::<TypedBinOp>()?;
    if op.0.name() != which || op.1.is_some() || next.inputs.len() != 2 || model.output_outlets().ok()?.contains(&from) {
        return None;
    }
    let other = if next.inputs[0] == from { next.inputs[1] } else { next.inputs[0] };
    let k = model.outlet_fact(other).ok()?.konst.clone()?;
    let same_shape = model.outlet_fact(OutletId::new(next.id, 0)).ok()?.shape == model.outlet_fact(from).ok()?.shape;
    (k.datum_type() == f32::datum_type() && same_shape).then_some((next.id, k))
}

/// A ReLU / ReLU6 after `node` — `Max` with one value, then perhaps `Min` with one — as
/// `(lo, hi, the last node folded)`; `(−∞, +∞, node)` when there is none.
pub(crate) fn clamp_after(model: &TypedModel, node: usize) -> (f32, f32, usize) {
    let bound = |node: usize, which: &str| {
        let (id, k) = const_after(model, node, which)?;
        let v = *k.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?.first()?;
        (k.len() == 1 && !v.is_nan()).then_some((id, v))
    };
    match bound(node, "Max") {
        None => (f32::NEG_INFINITY, f32::INFINITY, node),
        Some((max, lo)) => match bound(max, "Min") {
            None => (lo, f32::INFINITY, max),
            Some((min, hi)) => (lo, hi, min),
        },
    }
}

/// Wires `op` on `input` in place of the nodes from the one feeding on `input` up to `last`.
pub(crate) fn swap_in(model: &mut TypedModel, input: OutletId, name: &str, op: Box<dyn TypedOp>, last: usize) -> TractResult<()> {
    let mut patch = TypedModelPatch::default();
    let x = patch.tap_model(model, input)?;
    let y = patch.wire_node(name, op, &[x])?[0];
    patch.shunt_outside(model, OutletId::new(last, 0), y)?;
    patch.apply(model)
}

impl PlanarDepthwise {
    fn for_conv(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<PlanarDepthwise>> {
        let spec = &conv.pool_spec;
        if conv.q_params.is_some()
            || conv.group <= 1
            || conv.group != spec.input_channels
            || conv.group != spec.output_channels
            || spec.kernel_shape.len() != 2
            || spec.data_format.c_is_last()
            || conv.kernel_fmt != KernelFormat::OIHW
            || spec.dilations.as_ref().is_some_and(|d| d.iter().any(|&d| d != 1))
            || node.inputs.len() != 3
        {
            return Ok(None);
        }
        let x = model.outlet_fact(node.inputs[0])?;
        let (kernel, bias) = (model.outlet_fact(node.inputs[1])?, model.outlet_fact(node.inputs[2])?);
        let (Some(shape), Some(kernel), Some(bias)) = (x.shape.as_concrete(), kernel.konst.as_ref(), bias.konst.as_ref())
        else {
            return Ok(None);
        };
        if x.datum_type != f32::datum_type() || kernel.datum_type() != f32::datum_type() || bias.datum_type() != f32::datum_type() {
            return Ok(None);
        }
        let shaped = spec.data_format.shape(shape)?;
        let (n, c) = (*shaped.n().unwrap_or(&1), *shaped.c());
        let hw = shaped.hw_dims();
        let (h, w) = (hw[0], hw[1]);
        let (kh, kw) = (spec.kernel_shape[0], spec.kernel_shape[1]);
        let (sh, sw) = spec.strides.as_ref().map(|s| (s[0], s[1])).unwrap_or((1, 1));
        let (before, after) = match &spec.padding {
            PaddingSpec::Valid => (tvec![0, 0], tvec![0, 0]),
            PaddingSpec::Explicit(b, a) => (b.clone(), a.clone()),
            _ => return Ok(None),
        };
        if c != conv.group || kernel.len() != c * kh * kw || kh * kw > MAX_TAPS || sh == 0 || sw == 0 {
            return Ok(None);
        }
        let (ph, pw) = (h + before[0] + after[0], w + before[1] + after[1]);
        if ph < kh || pw < kw {
            return Ok(None);
        }
        let (oh, ow) = ((ph - kh) / sh + 1, (pw - kw) / sw + 1);
        // The output's shape: the input's, spatial axes replaced (the layout stays planar).
        let mut out_shape: TVec<usize> = shape.into();
        let h_axis = shaped.h_axis();
        out_shape[h_axis] = oh;
        out_shape[h_axis + 1] = ow;
        let bias: Vec<f32> = match bias.len() {
            0 => vec![0.0; c],
            1 => vec![bias.try_as_plain_ram()?.as_slice::<f32>()?[0]; c],
            l if l == c => bias.try_as_plain_ram()?.as_slice::<f32>()?.to_vec(),
            _ => return Ok(None),
        };
        Ok(Some(PlanarDepthwise {
            n,
            c,
            h,
            w,
            oh,
            ow,
            kh,
            kw,
            sh,
            sw,
            pt: before[0],
            pl: before[1],
            out_shape,
            kernel: Arc::new(kernel.try_as_plain_ram()?.as_slice::<f32>()?.to_vec()),
            bias: Arc::new(bias),
            lo: f32::NEG_INFINITY,
            hi: f32::INFINITY,
        }))
    }

    /// The geometry of the scratch planes: the padded input region the taps read,
    /// `hp × wp`, split into `sh × sw` phase planes of `hs × ws` each.
    fn scratch_geometry(&self) -> (usize, usize, usize, usize) {
        let (hp, wp) = ((self.oh - 1) * self.sh + self.kh, (self.ow - 1) * self.sw + self.kw);
        (hp, wp, hp.div_ceil(self.sh), wp.div_ceil(self.sw))
    }

    fn run(&self, input: &[f32], output: &mut [f32]) {
        self.run_with(best_kind(), input, output)
    }

    fn run_with(&self, kind: u8, input: &[f32], output: &mut [f32]) {
        let (plane_in, plane_out) = (self.h * self.w, self.oh * self.ow);
        let kernel_len = self.kh * self.kw;
        let (_, _, hs, ws) = self.scratch_geometry();
        // Scratch reused for every plane: the phase planes, and the output rows `ws` wide.
        let mut phases = vec![0f32; self.sh * self.sw * hs * ws];
        let mut wide = vec![0f32; self.oh * ws];
        for b in 0..self.n {
            for ch in 0..self.c {
                let at = b * self.c + ch;
                let (src, dst) = (&input[at * plane_in..][..plane_in], &mut output[at * plane_out..][..plane_out]);
                let (k, bias) = (&self.kernel[ch * kernel_len..][..kernel_len], self.bias[ch]);
                match kind {
                    // SAFETY: `kind` comes from `kinds_here`: the CPU has these features.
                    #[cfg(target_arch = "x86_64")]
                    AVX512 => unsafe { plane_avx512(self, src, dst, k, bias, &mut phases, &mut wide) },
                    #[cfg(target_arch = "x86_64")]
                    AVX2 => unsafe { plane_avx2(self, src, dst, k, bias, &mut phases, &mut wide) },
                    _ => plane_body::<GENERIC>(self, src, dst, k, bias, &mut phases, &mut wide),
                }
            }
        }
    }
}

/// The instruction sets this CPU can run the op with, best last.
fn kinds_here() -> Vec<u8> {
    let mut kinds = vec![GENERIC];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            kinds.push(AVX2);
            if std::arch::is_x86_feature_detected!("avx512f") {
                kinds.push(AVX512);
            }
        }
    }
    kinds
}

fn best_kind() -> u8 {
    static BEST: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *BEST.get_or_init(|| *kinds_here().last().unwrap_or(&GENERIC))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn plane_avx512(
    op: &PlanarDepthwise,
    src: &[f32],
    dst: &mut [f32],
    k: &[f32],
    bias: f32,
    phases: &mut [f32],
    wide: &mut [f32],
) {
    plane_body::<AVX512>(op, src, dst, k, bias, phases, wide)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn plane_avx2(
    op: &PlanarDepthwise,
    src: &[f32],
    dst: &mut [f32],
    k: &[f32],
    bias: f32,
    phases: &mut [f32],
    wide: &mut [f32],
) {
    plane_body::<AVX2>(op, src, dst, k, bias, phases, wide)
}

/// Outputs accumulated in registers at a time: 4 AVX-512 or 8 AVX2 vectors.
const BLOCK: usize = 64;
/// Which instructions a plane is computed with.
const GENERIC: u8 = 0;
const AVX2: u8 = 1;
const AVX512: u8 = 2;

/// One channel plane.
///
/// The padded input region (`hp × wp`, zeros in the padding) is split by stride phase: plane
/// `(py mod sh, px mod sw)` holds the points `(py, px)` at `(py div sh, px div sw)`, every phase
/// plane `ws` wide. Output `(oy, ox)` reads padded `(oy·sh + ky, ox·sw + kx)` for tap
/// `(ky, kx)`, which is phase `(ky mod sh, kx mod sw)` at `(oy + ky div sh, ox + kx div sw)`:
/// with the output rows also `ws` wide, a tap reads the whole plane at one fixed offset. So the
/// plane is a long contiguous loop, whatever its width: each block of outputs sums all taps in
/// registers and is stored once. The columns past `ow` of each wide row are never read back.
#[inline(always)]
fn plane_body<const KIND: u8>(
    op: &PlanarDepthwise,
    src: &[f32],
    dst: &mut [f32],
    k: &[f32],
    bias: f32,
    phases: &mut [f32],
    wide: &mut [f32],
) {
    let (hp, wp, hs, ws) = op.scratch_geometry();
    let (sh, sw, pt, pl) = (op.sh, op.sw, op.pt, op.pl);
    let phase_len = hs * ws;
    // The columns of a padded row that hold input: px in [lo, hi).
    let (lo, hi) = (pl.min(wp), (pl + op.w).min(wp));
    for py in 0..hp {
        let row = py.checked_sub(pt).filter(|&iy| iy < op.h).map(|iy| &src[iy * op.w..][..op.w]);
        for p in 0..sw {
            let at = ((py % sh) * sw + p) * phase_len + (py / sh) * ws;
            let line = &mut phases[at..at + ws];
            line.fill(0.0);
            let Some(row) = row else { continue };
            // Phase p holds px = p, p + sw, …; the first of those at or after `lo`.
            let first = lo + (p + sw - lo % sw) % sw;
            if first < hi {
                let count = (hi - first).div_ceil(sw);
                let (line, row) = (&mut line[first / sw..][..count], &row[first - pl..]);
                if sw == 1 {
                    line.copy_from_slice(&row[..count]);
                } else if sw == 2 && row.len() >= 2 * count {
                    // Pairs: the compiler turns this into vector shuffles.
                    for (slot, pair) in line.iter_mut().zip(row.chunks_exact(2)) {
                        *slot = pair[0];
                    }
                } else {
                    for (j, slot) in line.iter_mut().enumerate() {
                        *slot = row[j * sw];
                    }
                }
            }
        }
    }
    // Only the first `ow` columns of the last row are wanted.
    let len = (op.oh - 1) * ws + op.ow;
    let taps = op.kh * op.kw;
    let mut offsets = [0usize; MAX_TAPS];
    for (t, at) in offsets[..taps].iter_mut().enumerate() {
        let (ky, kx) = (t / op.kw, t % op.kw);
        *at = ((ky % sh) * sw + kx % sw) * phase_len + (ky / sh) * ws + kx / sw;
    }
    let offsets = &offsets[..taps];
    // Every tap reads `len` values from its offset: all inside `phases`.
    assert!(offsets.iter().all(|&at| at + len <= phases.len()), "depthwise scratch too small");
    let out = &mut wide[..len];
    let full = len / BLOCK * BLOCK;
    for start in (0..full).step_by(BLOCK) {
        let block: &mut [f32; BLOCK] = (&mut out[start..start + BLOCK]).try_into().expect("a block");
        match KIND {
            // SAFETY: the plane runs with these features (`run_with` is only given kinds from
            // `kinds_here`); every read is `offset + start + BLOCK ≤ offset + len ≤ phases.len()`.
            #[cfg(target_arch = "x86_64")]
            AVX512 => unsafe { block_avx512(phases, offsets, start, k, bias, block) },
            #[cfg(target_arch = "x86_64")]
            AVX2 => unsafe { block_avx2(phases, offsets, start, k, bias, block) },
            _ => {
                block.fill(bias);
                for (&at, &w) in offsets.iter().zip(k) {
                    madd::<false>(block, &phases[at + start..][..BLOCK], w);
                }
            }
        }
    }
    if full < len {
        let tail = &mut out[full..];
        tail.fill(bias);
        for (&at, &w) in offsets.iter().zip(k) {
            let line = &phases[at + full..][..tail.len()];
            if KIND == GENERIC { madd::<false>(tail, line, w) } else { madd::<true>(tail, line, w) }
        }
    }
    let (lo, hi) = (op.lo, op.hi);
    for oy in 0..op.oh {
        for (d, &v) in dst[oy * op.ow..][..op.ow].iter_mut().zip(&out[oy * ws..][..op.ow]) {
            *d = v.max(lo).min(hi);
        }
    }
}

/// The most taps a kernel may have for Aisle's op (11 × 11); larger ones stay with tract.
const MAX_TAPS: usize = 121;

/// One block of 64 outputs: bias plus every tap, in four AVX-512 registers, stored once.
///
/// # Safety
/// The CPU has AVX-512F, and `offset + start + BLOCK ≤ phases.len()` for every offset.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_avx512(phases: &[f32], offsets: &[usize], start: usize, k: &[f32], bias: f32, out: &mut [f32; BLOCK]) {
    use std::arch::x86_64::*;
    let b = _mm512_set1_ps(bias);
    let (mut a0, mut a1, mut a2, mut a3) = (b, b, b, b);
    for (&at, &w) in offsets.iter().zip(k) {
        let w = _mm512_set1_ps(w);
        // SAFETY: in bounds by the caller's contract.
        unsafe {
            let p = phases.as_ptr().add(at + start);
            a0 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p), a0);
            a1 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p.add(16)), a1);
            a2 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p.add(32)), a2);
            a3 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p.add(48)), a3);
        }
    }
    let o = out.as_mut_ptr();
    // SAFETY: `out` holds 64 values.
    unsafe {
        _mm512_storeu_ps(o, a0);
        _mm512_storeu_ps(o.add(16), a1);
        _mm512_storeu_ps(o.add(32), a2);
        _mm512_storeu_ps(o.add(48), a3);
    }
}

/// [`block_avx512`] with eight AVX2 registers.
///
/// # Safety
/// The CPU has AVX2 and FMA, and `offset + start + BLOCK ≤ phases.len()` for every offset.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(phases: &[f32], offsets: &[usize], start: usize, k: &[f32], bias: f32, out: &mut [f32; BLOCK]) {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(bias); 8];
    for (&at, &w) in offsets.iter().zip(k) {
        let w = _mm256_set1_ps(w);
        // SAFETY: in bounds by the caller's contract.
        unsafe {
            let p = phases.as_ptr().add(at + start);
            for (i, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(w, _mm256_loadu_ps(p.add(8 * i)), *a);
            }
        }
    }
    for (i, a) in acc.iter().enumerate() {
        // SAFETY: `out` holds 64 values.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(8 * i), *a) };
    }
}

/// `acc += w × line`, element by element.
#[inline(always)]
fn madd<const FMA: bool>(acc: &mut [f32], line: &[f32], w: f32) {
    if FMA {
        for (a, &i) in acc.iter_mut().zip(line) {
            *a = w.mul_add(i, *a);
        }
    } else {
        for (a, &i) in acc.iter_mut().zip(line) {
            *a += w * i;
        }
    }
}

impl Op for PlanarDepthwise {
    fn name(&self) -> StaticName {
        "AislePlanarDepthwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{self:?}")])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for PlanarDepthwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = inputs[0].try_as_plain_ram()?;
        let input = input.as_slice::<f32>()?;
        ensure!(
            input.len() == self.n * self.c * self.h * self.w,
            "depthwise input has {} values, expected {}",
            input.len(),
            self.n * self.c * self.h * self.w
        );
        // SAFETY: every element is written: each plane's rows start from `fill(bias)`.
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.out_shape)? };
        {
            let mut view = output.try_as_plain_ram_mut()?;
            self.run(input, view.as_slice_mut::<f32>()?);
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for PlanarDepthwise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1, "depthwise takes one input");
        Ok(tvec!(f32::fact(&*self.out_shape)))
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        Ok(tvec!((Cost::FMA(f32::datum_type()), (self.n * self.c * self.oh * self.ow * self.kh * self.kw).to_dim())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook definition, one output at a time.
    fn reference(op: &PlanarDepthwise, input: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; op.n * op.c * op.oh * op.ow];
        for b in 0..op.n {
            for ch in 0..op.c {
                let plane = (b * op.c + ch) * op.h * op.w;
                for oy in 0..op.oh {
                    for ox in 0..op.ow {
                        let mut acc = op.bias[ch];
                        for ky in 0..op.kh {
                            for kx in 0..op.kw {
                                let iy = (oy * op.sh + ky) as isize - op.pt as isize;
                                let ix = (ox * op.sw + kx) as isize - op.pl as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < op.h && (ix as usize) < op.w {
                                    acc += op.kernel[(ch * op.kh + ky) * op.kw + kx]
                                        * input[plane + iy as usize * op.w + ix as usize];
                                }
                            }
                        }
                        out[((b * op.c + ch) * op.oh + oy) * op.ow + ox] = acc.max(op.lo).min(op.hi);
                    }
                }
            }
        }
        out
    }

    fn op(c: usize, (h, w): (usize, usize), (kh, kw): (usize, usize), (sh, sw): (usize, usize), pad: [usize; 4]) -> PlanarDepthwise {
        let (ph, pw) = (h + pad[0] + pad[2], w + pad[1] + pad[3]);
        let (oh, ow) = ((ph - kh) / sh + 1, (pw - kw) / sw + 1);
        PlanarDepthwise {
            n: 1,
            c,
            h,
            w,
            oh,
            ow,
            kh,
            kw,
            sh,
            sw,
            pt: pad[0],
            pl: pad[1],
            out_shape: tvec![c, oh, ow],
            kernel: Arc::new((0..c * kh * kw).map(|i| ((i * 7919) % 23) as f32 / 11.0 - 1.0).collect()),
            bias: Arc::new((0..c).map(|i| i as f32 * 0.25 - 0.5).collect()),
            lo: f32::NEG_INFINITY,
            hi: f32::INFINITY,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Every geometry — odd sizes, planes smaller than the kernel plus padding, strides 1–3,
        /// uneven padding — gives the textbook result (within float rounding: FMA rounds once).
        #[test]
        fn matches_the_definition(
            c in 1usize..4, h in 1usize..24, w in 1usize..70, kh in 1usize..4, kw in 1usize..4,
            sh in 1usize..4, sw in 1usize..4, pad in proptest::array::uniform4(0usize..3), seed in 0u32..1000,
            relu6 in proptest::bool::ANY,
        ) {
            proptest::prop_assume!(h + pad[0] + pad[2] >= kh && w + pad[1] + pad[3] >= kw);
            let mut op = op(c, (h, w), (kh, kw), (sh, sw), pad);
            if relu6 {
                (op.lo, op.hi) = (0.0, 0.5);
            }
            let input: Vec<f32> = (0..c * h * w).map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect();
            let want = reference(&op, &input);
            // Every instruction set this CPU has (the generic one everywhere).
            for kind in kinds_here() {
                let mut got = vec![f32::NAN; c * op.oh * op.ow];
                op.run_with(kind, &input, &mut got);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    proptest::prop_assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "kind {kind}, output {i}: {g} vs {w} ({op:?})");
                }
            }
        }
    }
}
