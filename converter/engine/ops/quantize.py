"""QUANTIZE: float32 -> int8 (bedside_engine::Quantize) or int8 -> int8 (a requantize table)."""
import numpy as np

from ..quant import mbqm, quantize_multiplier
from ._lut import clamp8, lower_lut


def lower(op, g):
    inp = g.require_type(op.inputs[0], "float32", "int8")
    out = g.require_type(op.outputs[0], "int8")
    if inp.type == "int8":
        m, s = quantize_multiplier(float(inp.scale) / float(out.scale))
        lower_lut(op, g, lambda x: clamp8(mbqm(x - inp.zero_point, m, s) + out.zero_point), "requant")
        return
    n = int(np.prod(inp.shape))
    g.emit(f"bedside_engine::Quantize({float(np.float32(out.scale))!r}f, {out.zero_point}, {n}, "
           f"{g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
