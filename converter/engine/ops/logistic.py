"""LOGISTIC (int8) as a table of TFLM's reference_integer_ops::Logistic (gemmlowp, Q4 input)."""
import math

from ..quant import input_radius, logistic_fixed, mbqm, rdbpot, tflite_round
from ._lut import clamp8, lower_lut


def lower(op, g):
    inp, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    if out.zero_point != -128:
        g.fail("int8 output zero point must be -128")
    q, left_shift = math.frexp(float(inp.scale) * float(1 << 27))
    mult = tflite_round(q * (1 << 31))
    radius = input_radius(4, left_shift, 31)

    def fn(x):
        v = x - inp.zero_point
        if v <= -radius:
            return -128
        if v >= radius:
            return 127
        r = logistic_fixed(mbqm(v, mult, left_shift), 4)
        return clamp8(rdbpot(r, 23) - 128)

    lower_lut(op, g, fn, "logistic")
