"""Helpers shared by op modules: padding, shapes, per-channel multipliers."""
from __future__ import annotations

import numpy as np

from ..quant import activation_range, quantize_multiplier, wrap32

PADDING_SAME, PADDING_VALID = 0, 1


def out_size(padding: int, in_size: int, k: int, stride: int, dilation: int) -> int:
    eff = (k - 1) * dilation + 1
    if padding == PADDING_SAME:
        return (in_size + stride - 1) // stride
    return (in_size + stride - eff) // stride


def pad_amount(stride: int, dilation: int, in_size: int, k: int, out: int) -> int:
    """TFLM ComputePaddingWithOffset (the leading pad; the odd extra pixel goes after)."""
    eff = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff - in_size, 0)
    return total // 2


def shape4(shape) -> list[int]:
    s = list(shape)
    if len(s) > 4:
        raise ValueError(f"shape {s} has more than 4 dimensions")
    return [1] * (4 - len(s)) + s


def per_channel(g, in_t, filt_t, out_t, n: int):
    """PopulateConvolutionQuantizationParams: per-channel (multiplier, shift) arrays. The
    filter's zero points are not read: TFLM's per-channel kernels ignore them (the wheel's
    output does not change with them); FULLY_CONNECTED checks its own."""
    scales = filt_t.scales
    if len(scales) not in (1, n):
        g.fail(f"filter has {len(scales)} scales for {n} channels")
    mult, shift = [], []
    for i in range(n):
        s = scales[i] if len(scales) > 1 else scales[0]
        m, sh = quantize_multiplier(float(in_t.scale) * float(s) / float(out_t.scale))
        mult.append(m)
        shift.append(sh)
    return np.array(mult, np.int32), np.array(shift, np.int32)


def act_range(g, activation: int, out_t):
    try:
        return activation_range(activation, out_t.scale, out_t.zero_point)
    except ValueError as e:
        g.fail(str(e))


def check_int8(g, *indices):
    for i in indices:
        g.require_type(i, "int8")


def bias_input(g, op) -> int:
    """Index of the op's optional int32 bias (-1 when absent); it must be a constant."""
    bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else -1
    if bias >= 0:
        g.require_type(bias, "int32")
        if g.t(bias).data is None:
            g.fail("bias must be a constant tensor")
    return bias


# --- the four-channel dot-product kernels (firmware/engine/kernels/dot.h: DotRows) -------

def pad4(a: np.ndarray, fill: int = 0) -> np.ndarray:
    """Per-channel array padded to a multiple of 4 channels (the kernels work 4 at a time)."""
    return np.concatenate([a, np.full((-len(a)) % 4, fill, a.dtype)])


def dot_weights_dsp(w: np.ndarray) -> np.ndarray:
    """int16 copy for Dot4x16: [ceil4(oc)/4][ceil4(n)/4][4 channels][w0 w2 w1 w3], zero padded."""
    oc, n = w.shape
    n4, oc4 = (n + 3) // 4 * 4, (oc + 3) // 4 * 4
    out = np.zeros((oc4, n4), np.int16)
    out[:oc, :n] = w
    out = out.reshape(oc4 // 4, 4, n4 // 4, 4)[:, :, :, [0, 2, 1, 3]]
    return out.transpose(0, 2, 1, 3).reshape(-1)


def dot_weights_portable(w: np.ndarray) -> np.ndarray:
    """int8 copy for Dot4x8: [ceil4(oc)/4][n][4 channels], zero padded."""
    oc, n = w.shape
    oc4 = (oc + 3) // 4 * 4
    out = np.zeros((oc4, n), np.int8)
    out[:oc] = w
    return out.reshape(oc4 // 4, 4, n).transpose(0, 2, 1).reshape(-1)


def fast_requant(w: np.ndarray, bias: np.ndarray, input_offset: int, shift: np.ndarray) -> bool:
    """Whether MultiplyByQuantizedMultiplierFast is exact for this layer: every shift in
    [-31, -1] and every accumulator provably below 2^30 in magnitude
    (|bias| + max|x + input_offset| * sum|w|, x over int8; padding taps add 0)."""
    x_max = max(abs(-128 + input_offset), abs(127 + input_offset))
    bound = np.abs(bias.astype(np.int64)) + x_max * np.abs(w.astype(np.int64)).sum(axis=1)
    return bool((shift <= -1).all() and (shift >= -31).all() and (bound < (1 << 30)).all())


def requant_form(fast: bool, shift: np.ndarray) -> int:
    """RequantizeToInt8's form (kernels/common.h): 0 general, 1 fast, 2 fast with the
    output zero point folded into the rounding term (every right shift <= 22)."""
    if not fast:
        return 0
    return 2 if bool((-shift.astype(np.int64) <= 22).all()) else 1


def kernel_form(form: int, lo: int, hi: int) -> str:
    """Template arguments <kFast, kFullRange> of the requantizing kernels."""
    return f"<{int(form)}, {'true' if (lo, hi) == (-128, 127) else 'false'}>"


def channel_quant(mult: np.ndarray, shift: np.ndarray, form: int, out_zp: int = 0) -> np.ndarray:
    """[ceil4(oc)][3] int32 (kernels/common.h, kQuantStride): multiplier, then for the fast
    forms the right shift -shift and the rounding term 2^(-shift-1) (+ out_zp * 2^(-shift)
    in form 2), else TFLM's shift and 0; padding channels get multiplier 0 and shift -1."""
    m, s = pad4(mult), pad4(shift, -1).astype(np.int64)
    r = np.zeros(len(s), np.int64)
    if form:
        r = np.left_shift(1, -s - 1) + (out_zp * np.left_shift(1, -s) if form == 2 else 0)
    return np.stack([m, -s if form else s, r], axis=1).astype(np.int32).reshape(-1)


def dot_rows(g, op, w: np.ndarray, bias: int, input_offset: int, mult, shift,
             out_zp: int) -> tuple[dict, int]:
    """Struct fields shared by the DotRows-based kernels for weights w [oc][n] (constant):
    padded per-channel arrays, both weight copies (each build reads only its own), and the
    layer's requantization form (requant_form; out_zp: the output zero point)."""
    oc = w.shape[0]
    b = g.t(bias).data.astype(np.int64) if bias >= 0 else np.zeros(oc, np.int64)
    form = requant_form(fast_requant(w, b, input_offset, shift), shift)
    init = np.array([wrap32(int(v)) for v in b + input_offset * w.astype(np.int64).sum(axis=1)], np.int32)
    i = op.index
    fields = {"acc_init": g.const(pad4(init), f"acc{i}"),
              "quant": g.const(channel_quant(mult, shift, form, out_zp), f"quant{i}"),
              "filter16": g.const_dsp(dot_weights_dsp(w), f"w16_{i}", "int16_t"),
              "filter8": g.const_portable(dot_weights_portable(w), f"w8_{i}")}
    return fields, form
