"""Element-wise int8 -> int8 ops as a 256-entry table evaluated with TFLM's integer code."""
import numpy as np

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
