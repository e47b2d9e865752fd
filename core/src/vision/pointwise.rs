//! Aisle's own 1×1 convolution over channel planes on AVX-512 CPUs, swapped into a model's
//! graph at load time in place of tract's matrix product where the layout allows it.
//!
//! After tract declutters a MobileNet-style graph, its pointwise convolutions are einsums
//! `IHW,OI->OHW` (input planes, constant weights) followed by a bias `Add`, and often a ReLU or
//! ReLU6 (`Max`, `Min`). That is `out[o] = bias[o] + Σᵢ w[o][i] · in[i]` over whole planes,
//! with every input plane contiguous — no packing of the activations is needed. The weights
//! are packed once at load into panels of 8 output channels; a block of 8 channels × 32
//! positions sums all input channels in 16 AVX-512 registers (the 32 positions of one input
//! plane loaded once for the 8 channels, each weight broadcast once for 32 positions) and is
//! stored once, bias added and clamp applied. Position blocks run outermost, so a block's strip
//! of every input plane stays in cache while all output panels use it.
//!
//! Only on CPUs with AVX-512F (checked at load); elsewhere tract keeps these layers.
//! `core/tests/vision.rs` checks every shipped model against tract's own kernels and
//! onnxruntime.

use std::fmt;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

use super::depthwise::{clamp_after, const_after, swap_in};

/// Output channels per packed weight panel.
const MR: usize = 8;
/// Positions per block: two AVX-512 registers.
const NR: usize = 32;

/// `out[o][p] = clamp(bias[o] + Σᵢ w[o][i] · in[i][p])` over `[I, H, W]` planes.
#[derive(Clone, PartialEq)]
pub(crate) struct PlanarPointwise {
    /// Input channels, output channels, positions per plane (H × W).
    i: usize,
    o: usize,
    n: usize,
    out_shape: TVec<usize>,
    /// Panels of `MR` output channels, `[o / MR][i][MR]`, zero rows past `o`.
    packed: Arc<Vec<f32>>,
    bias: Arc<Vec<f32>>,
    lo: f32,
    hi: f32,
}

/// Equal ops are interchangeable to tract; f32 weights compare by value.
impl Eq for PlanarPointwise {}

impl fmt::Debug for PlanarPointwise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanarPointwise {{ {} -> {} channels, {} positions, clamp [{}, {}] }}", self.i, self.o, self.n, self.lo, self.hi)
    }
}

/// Whether this CPU runs [`PlanarPointwise`].
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Replaces every `IHW,OI->OHW` einsum with constant f32 weights of a decluttered model (also
/// with a batch axis of 1 on either side), and the bias `Add`, `Max`, `Min` after it, by
/// [`PlanarPointwise`]. Returns how many.
pub(crate) fn replace_pointwise(model: &mut TypedModel) -> TractResult<usize> {
    if !available() {
        return Ok(0);
    }
    let candidates: Vec<usize> = model.nodes().iter().filter(|n| n.op_is::<EinSum>()).map(|n| n.id).collect();
    let mut replaced = 0;
    for id in candidates {
        let node = model.node(id);
        let Some(mut op) = PlanarPointwise::for_einsum(model, node)? else { continue };
        let mut last = node.id;
        if let Some((add, bias)) = bias_after(model, last, op.o) {
            op.bias = Arc::new(bias);
            (op.lo, op.hi, last) = clamp_after(model, add);
        }
        let (input, name) = (node.inputs[0], node.name.clone());
        swap_in(model, input, &name, Box::new(op), last)?;
        replaced += 1;
    }
    Ok(replaced)
}

/// When the only consumer of `node`'s output is an `Add` of it with one f32 value per output
/// channel (shape `[O, 1, 1]`, or `[1, O, 1, 1]`): that `Add` and the values.
fn bias_after(model: &TypedModel, node: usize, channels: usize) -> Option<(usize, Vec<f32>)> {
    let (add, k) = const_after(model, node, "Add")?;
    if !matches!(k.shape(), [c, 1, 1] | [1, c, 1, 1] if *c == channels) {
        return None;
    }
    Some((add, k.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?.to_vec()))
}

impl PlanarPointwise {
    fn for_einsum(model: &TypedModel, node: &TypedNode) -> TractResult<Option<PlanarPointwise>> {
        let Some(e) = node.op_as::<EinSum>() else { return Ok(None) };
        // Channel-planar in and out; a batch axis of size 1 on either side changes no layout.
        let batch_out = match e.axes.to_string().as_str() {
            "IHW,OI->OHW" | "NIHW,OI->OHW" => false,
            "IHW,OI->NOHW" | "NIHW,OI->NOHW" => true,
            _ => return Ok(None),
        };
        if e.q_params.is_some() || e.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
            return Ok(None);
        }
        let (x, w) = (model.outlet_fact(node.inputs[0])?, model.outlet_fact(node.inputs[1])?);
        let (Some(shape), Some(w)) = (x.shape.as_concrete(), w.konst.as_ref()) else { return Ok(None) };
        let shape = match shape {
            [1, i, h, w] | [i, h, w] => [*i, *h, *w],
            _ => return Ok(None),
        };
        if x.datum_type != f32::datum_type() || w.datum_type() != f32::datum_type() || w.rank() != 2 {
            return Ok(None);
        }
        let (i, n, o) = (shape[0], shape[1] * shape[2], w.shape()[0]);
        if w.shape()[1] != i || i == 0 || o == 0 || n == 0 {
            return Ok(None);
        }
        let w = w.try_as_plain_ram()?;
        let w = w.as_slice::<f32>()?;
        let panels = o.div_ceil(MR);
        let mut packed = vec![0f32; panels * i * MR];
        for row in 0..o {
            let (p, r) = (row / MR, row % MR);
            for col in 0..i {
                packed[(p * i + col) * MR + r] = w[row * i + col];
            }
        }
        Ok(Some(PlanarPointwise {
            i,
            o,
            n,
            out_shape: if batch_out { tvec![1, o, shape[1], shape[2]] } else { tvec![o, shape[1], shape[2]] },
            packed: Arc::new(packed),
            bias: Arc::new(vec![0.0; o]),
            lo: f32::NEG_INFINITY,
            hi: f32::INFINITY,
        }))
    }

    fn run(&self, input: &[f32], output: &mut [f32]) -> TractResult<()> {
        ensure!(available(), "Aisle's pointwise kernel needs AVX-512F");
        ensure!(input.len() == self.i * self.n && output.len() == self.o * self.n, "pointwise sizes do not match");
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F is there (checked above); the sizes match the geometry (checked above),
        // which is all `gemm_avx512` reads and writes within.
        unsafe {
            gemm_avx512(self, input, output)
        };
        Ok(())
    }
}

/// The whole layer. Reads `input[0 .. i·n]` and `packed`, writes `output[0 .. o·n]`.
///
/// # Safety
/// The CPU has AVX-512F; `input.len() == i·n`, `output.len() == o·n`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gemm_avx512(op: &PlanarPointwise, input: &[f32], output: &mut [f32]) {
    use std::arch::x86_64::*;
    let (k, n, m) = (op.i, op.n, op.o);
    let (lo, hi) = (_mm512_set1_ps(op.lo), _mm512_set1_ps(op.hi));
    let mut j = 0;
    while j < n {
        let cols = NR.min(n - j);
        // Lanes of the two registers that hold positions of this block.
        let mask = |from: usize| -> __mmask16 {
            let c = cols.saturating_sub(from).min(16);
            if c == 16 { 0xffff } else { ((1u32 << c) - 1) as __mmask16 }
        };
        let (m0, m1) = (mask(0), mask(16));
        for p in 0..m.div_ceil(MR) {
            let rows = MR.min(m - p * MR);
            let mut acc = [[_mm512_setzero_ps(); 2]; MR];
            for (r, a) in acc.iter_mut().enumerate().take(rows) {
                *a = [_mm512_set1_ps(op.bias[p * MR + r]); 2];
            }
            // SAFETY: x reads plane `c` at `j .. j + cols` (masked past `cols`), c < k, within
            // `input` (k·n); w reads panel p, k·MR values, within `packed`; stores write rows
            // below `m` at `j .. j + cols`, within `output` (m·n).
            unsafe {
                let mut x = input.as_ptr().add(j);
                let mut w = op.packed.as_ptr().add(p * k * MR);
                for _ in 0..k {
                    let x0 = _mm512_maskz_loadu_ps(m0, x);
                    let x1 = _mm512_maskz_loadu_ps(m1, x.add(16));
                    for (r, a) in acc.iter_mut().enumerate() {
                        let wr = _mm512_set1_ps(*w.add(r));
                        a[0] = _mm512_fmadd_ps(wr, x0, a[0]);
                        a[1] = _mm512_fmadd_ps(wr, x1, a[1]);
                    }
                    x = x.add(n);
                    w = w.add(MR);
                }
                for (r, a) in acc.iter().enumerate().take(rows) {
                    let o = output.as_mut_ptr().add((p * MR + r) * n + j);
                    _mm512_mask_storeu_ps(o, m0, _mm512_min_ps(_mm512_max_ps(a[0], lo), hi));
                    _mm512_mask_storeu_ps(o.add(16), m1, _mm512_min_ps(_mm512_max_ps(a[1], lo), hi));
                }
            }
        }
        j += NR;
    }
}

impl Op for PlanarPointwise {
    fn name(&self) -> StaticName {
        "AislePlanarPointwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{self:?}")])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for PlanarPointwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = inputs[0].try_as_plain_ram()?;
        // SAFETY: `run` writes every element (each block stores all its rows and positions).
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.out_shape)? };
        {
            let mut view = output.try_as_plain_ram_mut()?;
            self.run(input.as_slice::<f32>()?, view.as_slice_mut::<f32>()?)?;
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for PlanarPointwise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1, "pointwise takes one input");
        Ok(tvec!(f32::fact(&*self.out_shape)))
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        Ok(tvec!((Cost::FMA(f32::datum_type()), (self.i * self.o * self.n).to_dim())))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(i: usize, o: usize, (h, w): (usize, usize), clamp: bool, seed: u32) -> (PlanarPointwise, Vec<f32>) {
        let weights: Vec<f32> =
            (0..o * i).map(|v| (((v as u32).wrapping_mul(2654435761) ^ seed) % 97) as f32 / 48.0 - 1.0).collect();
        let mut packed = vec![0f32; o.div_ceil(MR) * i * MR];
        for row in 0..o {
            for col in 0..i {
                packed[((row / MR) * i + col) * MR + row % MR] = weights[row * i + col];
            }
        }
        let op = PlanarPointwise {
            i,
            o,
            n: h * w,
            out_shape: tvec![o, h, w],
            packed: Arc::new(packed),
            bias: Arc::new((0..o).map(|v| v as f32 * 0.125 - 0.5).collect()),
            lo: if clamp { 0.0 } else { f32::NEG_INFINITY },
            hi: if clamp { 1.5 } else { f32::INFINITY },
        };
        (op, weights)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Any channel counts (panels of 8 partly filled) and plane sizes (blocks of 32 partly
        /// filled) give the definition's result, within float rounding.
        #[test]
        fn matches_the_definition(i in 1usize..40, o in 1usize..30, h in 1usize..12, w in 1usize..50,
                                  clamp in proptest::bool::ANY, seed in 0u32..1000) {
            if !available() {
                return Ok(()); // Not used on this CPU (tract keeps these layers): nothing to check.
            }
            let (op, weights) = op(i, o, (h, w), clamp, seed);
            let n = h * w;
            let input: Vec<f32> = (0..i * n).map(|v| (((v as u32).wrapping_mul(40503) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect();
            let mut got = vec![f32::NAN; o * n];
            op.run(&input, &mut got).unwrap();
            for r in 0..o {
                for p in 0..n {
                    let sum: f32 = op.bias[r] + (0..i).map(|c| weights[r * i + c] * input[c * n + p]).sum::<f32>();
                    let want = sum.max(op.lo).min(op.hi);
                    let g = got[r * n + p];
                    proptest::prop_assert!((g - want).abs() <= 1e-4 * (1.0 + want.abs()), "[{r}][{p}]: {g} vs {want} ({op:?})");
                }
            }
        }
    }
}
