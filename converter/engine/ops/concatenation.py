"""CONCATENATION (int8) -> bedside_engine::Concatenation (TFLM copies, no requantization)."""
import numpy as np

from ._common import check_int8


def lower(op, g):
    check_int8(g, *op.inputs, op.outputs[0])
    out = g.t(op.outputs[0])
    if op.options.fused_activation_function != 0:
        g.fail("fused activation on CONCATENATION is not supported")
    rank = len(out.shape)
    axis = op.options.axis
    axis = axis + rank if axis < 0 else axis
    outer = int(np.prod(out.shape[:axis]))
    inner = int(np.prod(out.shape[axis + 1:]))
    sizes = [g.t(i).shape[axis] * inner for i in op.inputs]
    ptrs = ", ".join(g.ptr(i, True) for i in op.inputs)
    sz = g.const(np.array(sizes, np.int32), f"concat{op.index}")
    g.emit("{")
    g.emit(f"  const int8_t *const ins[] = {{{ptrs}}};")
    g.emit(f"  bedside_engine::Concatenation({len(sizes)}, ins, {sz}, {outer}, {g.ptr(op.outputs[0])});")
    g.emit("}")
