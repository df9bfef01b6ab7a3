"""DEQUANTIZE: int8 -> float32 (bedside_engine::Dequantize)."""
import numpy as np


def lower(op, g):
    inp = g.require_type(op.inputs[0], "int8")
    g.require_type(op.outputs[0], "float32")
    n = int(np.prod(inp.shape))
    g.emit(f"bedside_engine::Dequantize({float(np.float32(inp.scale))!r}f, {inp.zero_point}, {n}, "
           f"{g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
