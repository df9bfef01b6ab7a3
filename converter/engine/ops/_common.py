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
    """PopulateConvolutionQuantizationParams: per-channel (multiplier, shift) arrays."""
    if any(z != 0 for z in filt_t.zero_points):
        g.fail("filter zero point must be 0 (symmetric int8 weights)")
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


def acc_init(g, op, filt, bias: int, input_offset: int) -> np.ndarray:
    """bias + input_offset * sum(w) per output channel (int32 wrap, as the C sum would)."""
    w = filt.data.reshape(filt.shape[0], -1).astype(np.int64)
    b = g.t(bias).data.astype(np.int64) if bias >= 0 else np.zeros(filt.shape[0], np.int64)
    return np.array([wrap32(int(v)) for v in b + input_offset * w.sum(axis=1)], dtype=np.int32)
