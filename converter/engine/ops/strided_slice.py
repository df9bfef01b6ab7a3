"""STRIDED_SLICE (int8, up to 4-D) -> bedside_engine::StridedSlice (kernels/strided_slice.h).

Replicates TFLM: begin/end/strides must be constant; ellipsis_mask, new_axis_mask and
offset are ignored (TFLM's BuildStridedSliceParams sets them to 0); indices are padded to
5-D (StridedSlicePadIndices) and resolved per axis with StridedSliceStartForAxis /
StridedSliceEndForAxis. The output shape is checked like TFLM's CheckOutputSize.
"""
import math

import numpy as np

from ._common import check_int8

MAX_DIMS = 4          # TFLM: "input dim should not exceed 4"


def _clamp(v, lo, hi):
    return hi if hi < v else (lo if v < lo else v)


def resolve(shape, begin, end, strides, begin_mask, end_mask, shrink_mask):
    """Per 5-D axis (start, count, stride) as TFLM's reference StridedSlice iterates."""
    pad = 5 - len(shape)
    dims = [1] * pad + list(shape)
    begin = [0] * pad + list(begin)
    end = [1] * pad + list(end)
    strides = [1] * pad + list(strides)
    begin_mask = (begin_mask << pad) | ((1 << pad) - 1)
    end_mask = (end_mask << pad) | ((1 << pad) - 1)
    shrink_mask <<= pad
    out = []
    for ax in range(5):
        n, stride = dims[ax], strides[ax]
        start = begin[ax] + n if begin[ax] < 0 else begin[ax]
        start = _clamp(start, 0, n) if stride > 0 else _clamp(start, -1, n - 1)
        if begin_mask & (1 << ax):
            start = 0 if stride > 0 else n - 1
        if shrink_mask & (1 << ax):
            stop = start if start >= n else start + 1
        else:
            stop = end[ax] + n if end[ax] < 0 else end[ax]
            stop = _clamp(stop, 0, n) if stride > 0 else _clamp(stop, -1, n - 1)
            if end_mask & (1 << ax):
                stop = n if stride > 0 else -1
        count = -(-(stop - start) // stride) if stride > 0 else -(-(start - stop) // -stride)
        out.append((start, max(count, 0), stride))
    return out


def _tflm_out_shape(shape, begin, end, strides, begin_mask, end_mask, shrink_mask):
    """CheckOutputSize: StartForAxis / StopForAxis (mask first, then clamp), float ceil."""
    dims = []
    for ax, n in enumerate(shape):
        stride = strides[ax]
        start = begin[ax]
        if begin_mask & (1 << ax):
            start = -(1 << 31) if stride > 0 else (1 << 31) - 1
        if n == 0:
            start = 0
        else:
            start = start + n if start < 0 else start
            start = _clamp(start, 0, n) if stride > 0 else _clamp(start, -1, n - 1)
        shrink = bool(shrink_mask & (1 << ax))
        if shrink:
            stop = start + 1
        else:
            stop = end[ax]
            if end_mask & (1 << ax):
                stop = (1 << 31) - 1 if stride > 0 else -(1 << 31)
            if n == 0:
                stop = 0
            else:
                stop = stop + n if stop < 0 else stop
                stop = _clamp(stop, 0, n) if stride > 0 else _clamp(stop, -1, n - 1)
        d = max(math.ceil(np.float32(stop - start) / np.float32(stride)), 0)
        if not shrink:
            dims.append(int(d))
    return dims


def lower(op, g):
    check_int8(g, op.inputs[0], op.outputs[0])
    inp, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    vecs = []
    for i, what in zip(op.inputs[1:4], ("begin", "end", "strides")):
        t = g.t(i)
        if t.data is None or t.type != "int32":
            g.fail(f"{what} must be a constant int32 tensor")
        vecs.append([int(v) for v in t.data.reshape(-1)])
    begin, end, strides = vecs
    rank = len(inp.shape)
    if rank > MAX_DIMS:
        g.fail(f"{rank}-D input (TFLM supports at most {MAX_DIMS})")
    if not len(begin) == len(end) == len(strides) == rank:
        g.fail(f"begin/end/strides have {len(begin)}/{len(end)}/{len(strides)} values, input rank {rank}")
    if any(s == 0 for s in strides):
        g.fail("stride value has to be non-zero")
    o = op.options
    bm, em, sm = o.begin_mask, o.end_mask, o.shrink_axis_mask
    want = _tflm_out_shape(inp.shape, begin, end, strides, bm, em, sm)
    if want != list(out.shape):
        g.fail(f"output shape {list(out.shape)} differs from the slice's {want} (TFLM ignores "
               f"ellipsis/new-axis masks)")
    axes = resolve(inp.shape, begin, end, strides, bm, em, sm)
    counts = [c for _, c, _ in axes]
    if int(np.prod(counts)) != int(np.prod(out.shape, dtype=np.int64)):
        g.fail(f"slice gives {int(np.prod(counts))} elements, output has {int(np.prod(out.shape))}")
    if int(np.prod(counts)) == 0:
        g.emit("// (empty output)")
        return
    dims = [1] * (5 - rank) + [int(d) for d in inp.shape]
    elem, s = [0] * 5, 1
    for d in range(4, -1, -1):
        elem[d] = s
        s *= dims[d]
    start = sum(st * e for (st, _, _), e in zip(axes, elem))
    steps = [stride * e for (_, _, stride), e in zip(axes, elem)]
    p = g.param("StridedSliceParams", count=counts, step=steps, start=start)
    g.emit(f"bedside_engine::StridedSlice({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
