"""TANH (int8) as a table of TFLM's reference_integer_ops::Tanh (gemmlowp, Q4 input)."""
import math

from ..quant import input_radius, mbqm, rdbpot, tanh_fixed, tflite_round
from ._lut import clamp8, lower_lut


def lower(op, g):
    inp, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    if out.zero_point != 0:
        g.fail("int8 output zero point must be 0")
    q, left_shift = math.frexp(float(inp.scale) * float(1 << 27))
    mult = tflite_round(q * (1 << 31))
    radius = input_radius(4, left_shift, 31)

    def fn(x):
        v = x - inp.zero_point
        if v <= -radius:
            return -128
        if v >= radius:
            return 127
        r = tanh_fixed(mbqm(v, mult, left_shift), 4)
        return clamp8(rdbpot(r, 24))

    lower_lut(op, g, fn, "tanh")
