"""PAD / PADV2 (int8, up to 5-D) -> bedside_engine::Pad (kernels/pad.h), TFLM's constant pad.

Paddings (and PADV2's constant) must be constant tensors, as TFLM requires. The pad value
is the output zero point for PAD and the constant's raw int8 value for PADV2 (TFLM checks
the constant shares the output's quantization and copies it without requantizing).
"""
import numpy as np

from ._common import check_int8

MAX_DIMS = 5


def lower(op, g):
    check_int8(g, op.inputs[0], op.outputs[0])
    inp, pads_t, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    rank = len(inp.shape)
    if rank > MAX_DIMS or len(out.shape) != rank:
        g.fail(f"input rank {rank}, output rank {len(out.shape)} (at most {MAX_DIMS}, equal)")
    if pads_t.data is None or pads_t.type != "int32":
        g.fail("paddings must be a constant int32 tensor")
    pads = pads_t.data.reshape(-1).astype(np.int64)
    if pads.size != 2 * rank:
        g.fail(f"paddings has {pads.size} values for {rank} dimensions")
    pads = pads.reshape(rank, 2)
    if (pads < 0).any():
        g.fail(f"negative paddings {pads.tolist()}")
    for i in range(rank):
        if out.shape[i] != inp.shape[i] + pads[i, 0] + pads[i, 1]:
            g.fail(f"output dimension {i} is {out.shape[i]}, input + paddings give "
                   f"{inp.shape[i] + pads[i, 0] + pads[i, 1]}")
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        c = g.require_type(op.inputs[2], "int8")
        if c.data is None or c.data.size != 1:
            g.fail("constant_values must be a constant int8 scalar")
        if c.zero_point != out.zero_point or np.float32(c.scale) != np.float32(out.scale):
            g.fail("constant_values must share the output's scale and zero point")
        pad_value = int(c.data.reshape(-1)[0])
    else:
        pad_value = out.zero_point
    if not -128 <= pad_value <= 127:
        g.fail(f"pad value {pad_value} is outside int8")
    lead = MAX_DIMS - rank
    in_dims = [1] * lead + [int(d) for d in inp.shape]
    out_dims = [1] * lead + [int(d) for d in out.shape]
    left = [0] * lead + [int(v) for v in pads[:, 0]]
    strides, s = [0] * MAX_DIMS, 1
    for d in range(MAX_DIMS - 1, -1, -1):
        strides[d] = s
        s *= out_dims[d]
    if s == 0:
        g.emit("// (empty output)")
        return
    if int(np.prod(in_dims)) == 0:
        in_dims = [0] * MAX_DIMS           # nothing to copy: only the fill
    p = g.param("PadParams", in_dims=in_dims, out_strides=strides, left=left, out_size=s,
                pad_value=pad_value)
    g.emit(f"bedside_engine::Pad({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
