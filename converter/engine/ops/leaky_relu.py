"""LEAKY_RELU (int8) as a table of TFLM's QuantizeLeakyRelu (leaky_relu_common)."""
import numpy as np

from ..quant import mbqm, quantize_multiplier
from ._lut import clamp8, lower_lut


def lower(op, g):
    inp, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    alpha = op.options.alpha
    ma, sa = quantize_multiplier(float(np.float32(inp.scale) * np.float32(alpha) / np.float32(out.scale)))
    mi, si = quantize_multiplier(float(inp.scale) / float(out.scale))

    def fn(x):
        v = x - inp.zero_point
        r = mbqm(v, mi, si) if v >= 0 else mbqm(v, ma, sa)
        return clamp8(out.zero_point + r)

    lower_lut(op, g, fn, "leaky_relu")
