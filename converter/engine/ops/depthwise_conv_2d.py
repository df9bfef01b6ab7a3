"""DEPTHWISE_CONV_2D (int8, per-channel) -> bedside_engine::DepthwiseConv."""
import numpy as np

from ..quant import wrap32
from ._common import act_range, bias_input, check_int8, opt, out_size, pad_amount, per_channel


def lower(op, g):
    check_int8(g, op.inputs[0], op.inputs[1], op.outputs[0])
    inp, filt, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    bias = bias_input(g, op)
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
    # DSP path: multiplier 1, channels in groups of 4, constant weights.
    dsp = oc == c and oc % 4 == 0 and filt.data is not None
    if dsp:
        w = filt.data.reshape(kh * kw, oc).astype(np.int64)
        b = g.t(bias).data.astype(np.int64) if bias >= 0 else np.zeros(oc, np.int64)
        init = np.array([wrap32(int(v)) for v in b - inp.zero_point * w.sum(axis=0)], np.int32)
        # [group][tap][w0 w2 w1 w3]
        w16 = w.reshape(kh * kw, oc // 4, 4)[:, :, [0, 2, 1, 3]].transpose(1, 0, 2).astype(np.int16)
        fields += [g.const(init, f"acc{op.index}"), g.const_dsp(w16.reshape(-1), f"w16_{op.index}", "int16_t")]
    else:
        fields += ["nullptr", "nullptr"]
    fields.append(int(bool((shift <= 0).all())))
    p = g.param("DepthwiseParams", fields)
    g.macs += n * oh * ow * oc * kh * kw
    g.emit(f"bedside_engine::DepthwiseConv({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
