"""RELU / RELU6 / RELU_N1_TO_1 (int8) as a table of TFLM's ReluQuantized (activations_common)."""
import numpy as np

from ..quant import mbqm, quantize_multiplier, tflite_round
from ._lut import clamp8, lower_lut

BOUNDS = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def lower(op, g):
    inp, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    act_min, act_max = BOUNDS[op.op]
    mult, shift = quantize_multiplier(float(inp.scale) / float(out.scale))
    scale = np.float32(out.scale)
    lo = max(-128, out.zero_point + tflite_round(float(np.float32(act_min) / scale)))
    hi = 127 if act_max is None else min(127, out.zero_point + tflite_round(float(np.float32(act_max) / scale)))

    def fn(x):
        v = out.zero_point + mbqm(x - inp.zero_point, mult, shift)
        return max(lo, min(hi, v))

    lower_lut(op, g, lambda x: clamp8(fn(x)), op.op.lower())
