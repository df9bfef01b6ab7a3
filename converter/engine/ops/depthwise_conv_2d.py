"""DEPTHWISE_CONV_2D (int8, per-channel) -> bedside_engine::DepthwiseConv."""
from ._common import act_range, check_int8, opt, out_size, pad_amount, per_channel


def lower(op, g):
    check_int8(g, op.inputs[0], op.inputs[1], op.outputs[0])
    inp, filt, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else -1
    if bias >= 0:
        g.require_type(bias, "int32")
    padding, sw, sh = opt(op, 0, "b", 0), opt(op, 1, "i", 1), opt(op, 2, "i", 1)
    act, dw, dh = opt(op, 4, "b", 0), opt(op, 5, "i", 1), opt(op, 6, "i", 1)
    n, h, w, c = inp.shape
    _, kh, kw, oc = filt.shape
    if oc % c:
        g.fail(f"output depth {oc} is not a multiple of input depth {c}")
    oh, ow = out_size(padding, h, kh, sh, dh), out_size(padding, w, kw, sw, dw)
    if tuple(out.shape) != (n, oh, ow, oc):
        g.fail(f"output shape {out.shape} != computed {(n, oh, ow, oc)}")
    mult, shift = per_channel(g, inp, filt, out, oc)
    lo, hi = act_range(g, act, out)
    fields = [n, h, w, c, oh, ow, oc, oc // c, kh, kw, sh, sw, dh, dw,
              pad_amount(sh, dh, h, kh, oh), pad_amount(sw, dw, w, kw, ow),
              -inp.zero_point, out.zero_point, lo, hi,
              g.ptr(op.inputs[1]), g.ptr(bias) if bias >= 0 else "nullptr",
              g.const(mult, f"mult{op.index}"), g.const(shift, f"shift{op.index}")]
    p = g.param("DepthwiseParams", fields)
    g.macs += n * oh * ow * oc * kh * kw
    g.emit(f"bedside_engine::DepthwiseConv({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
