"""Constant folding of shape arithmetic (SHAPE, STRIDED_SLICE, PACK, int32 CONCATENATION).

Keras' Flatten and friends compute a RESHAPE's target shape at run time from SHAPE;
every shape is static here, so those ops are evaluated at generation time and removed.
"""
from __future__ import annotations

import numpy as np

FOLDABLE = {"SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION"}


def _strided_slice_1d(x: np.ndarray, op, begin, end, strides) -> np.ndarray:
    if x.ndim != 1 or len(begin) != 1:
        raise ValueError("only 1-D constant STRIDED_SLICE is folded")
    o = op.options
    bm, em, shrink = o.begin_mask, o.end_mask, o.shrink_axis_mask
    n = len(x)
    b = 0 if bm & 1 else int(begin[0])
    e = n if em & 1 else int(end[0])
    b, e = (b + n if b < 0 else b), (e + n if e < 0 else e)
    if shrink & 1:
        return np.array(x[b], dtype=x.dtype)
    return x[b:e:int(strides[0])]


def _evaluate(op, model) -> np.ndarray | None:
    ts = model.tensors
    if op.op == "SHAPE":
        return np.array(ts[op.inputs[0]].shape, dtype=np.int32)
    args = [ts[i].data for i in op.inputs]
    if any(a is None for a in args) or any(ts[i].type != "int32" for i in op.inputs + op.outputs):
        return None
    if op.op == "STRIDED_SLICE":
        return _strided_slice_1d(*args[:1], op, *args[1:4])
    if op.op == "PACK":
        return np.stack(args, axis=op.options.axis).astype(np.int32)
    if op.op == "CONCATENATION":
        return np.concatenate(args, axis=op.options.axis).astype(np.int32)
    return None


def fold_constants(model) -> None:
    """Evaluate foldable int32 ops in place (their outputs become constants) and drop them."""
    keep = []
    for op in model.operators:
        value = _evaluate(op, model) if op.op in FOLDABLE else None
        if value is None:
            keep.append(op)
            continue
        model.tensors[op.outputs[0]].data = np.asarray(value, dtype=np.int32)
    for i, op in enumerate(keep):
        op.index = i
    model.operators[:] = keep
