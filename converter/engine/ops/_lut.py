"""Element-wise int8 -> int8 ops as a 256-entry table evaluated with TFLM's integer code."""
import math

import numpy as np

from ..quant import input_radius, mbqm, rdbpot, tflite_round
from ._common import check_int8


def lower_lut(op, g, fn, name: str):
    """fn(q: int) -> int8 result for each int8 input value q."""
    check_int8(g, op.inputs[0], op.outputs[0])
    table = np.array([fn(q) for q in range(-128, 128)], dtype=np.int8)
    n = int(np.prod(g.t(op.inputs[0]).shape))
    lut = g.const(table, f"lut{op.index}_{name}")
    g.emit(f"bedside_engine::Lut({lut}, {n}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")


def clamp8(v: int) -> int:
    return max(-128, min(127, v))


def lower_gemmlowp(op, g, name: str, fixed, out_zero_point: int, out_shift: int):
    """LOGISTIC/TANH as tables of TFLM's reference_integer_ops (gemmlowp, Q4 input):
    `fixed` is the fixed-point function, its result shifted by out_shift, plus the zero point."""
    inp, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    if out.zero_point != out_zero_point:
        g.fail(f"int8 output zero point must be {out_zero_point}")
    q, left_shift = math.frexp(float(inp.scale) * float(1 << 27))
    mult = tflite_round(q * (1 << 31))
    radius = input_radius(4, left_shift, 31)

    def fn(x):
        v = x - inp.zero_point
        if v <= -radius:
            return -128
        if v >= radius:
            return 127
        return clamp8(rdbpot(fixed(mbqm(v, mult, left_shift), 4), out_shift) + out_zero_point)

    lower_lut(op, g, fn, name)
