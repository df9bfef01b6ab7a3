"""AVERAGE_POOL_2D / MAX_POOL_2D lowering (shared by both op modules)."""
from ._common import act_range, check_int8, out_size, pad_amount


def lower_pool(op, g, kernel: str):
    check_int8(g, op.inputs[0], op.outputs[0])
    inp, out = g.t(op.inputs[0]), g.t(op.outputs[0])
    o = op.options
    padding, sw, sh = o.padding, o.stride_w, o.stride_h
    fw, fh, act = o.filter_width, o.filter_height, o.fused_activation_function
    n, h, w, c = inp.shape
    oh, ow = out_size(padding, h, fh, sh, 1), out_size(padding, w, fw, sw, 1)
    if tuple(out.shape) != (n, oh, ow, c):
        g.fail(f"output shape {out.shape} != computed {(n, oh, ow, c)}")
    if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
        g.fail("input and output quantization differ")
    lo, hi = act_range(g, act, out)
    p = g.param("PoolParams", batches=n, in_h=h, in_w=w, channels=c, out_h=oh, out_w=ow,
                f_h=fh, f_w=fw, stride_h=sh, stride_w=sw, pad_h=pad_amount(sh, 1, h, fh, oh),
                pad_w=pad_amount(sw, 1, w, fw, ow), act_min=lo, act_max=hi)
    g.emit(f"bedside_engine::{kernel}({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
