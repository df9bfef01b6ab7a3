"""DEPTHWISE_CONV_2D (int8, per-channel) -> bedside_engine::DepthwiseConv."""
import numpy as np

from ..quant import wrap32
from ._common import act_range, bias_input, check_int8, out_size, pad_amount, per_channel


def lower(op, g):
    check_int8(g, op.inputs[0], op.inputs[1], op.outputs[0])
    inp, filt, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    bias = bias_input(g, op)
    o = op.options
    padding, sw, sh = o.padding, o.stride_w, o.stride_h
    act, dw, dh = o.fused_activation_function, o.dilation_w_factor, o.dilation_h_factor
    n, h, w, c = inp.shape
    _, kh, kw, oc = filt.shape
    if oc % c:
        g.fail(f"output depth {oc} is not a multiple of input depth {c}")
    oh, ow = out_size(padding, h, kh, sh, dh), out_size(padding, w, kw, sw, dw)
    if tuple(out.shape) != (n, oh, ow, oc):
        g.fail(f"output shape {out.shape} != computed {(n, oh, ow, oc)}")
    mult, shift = per_channel(g, inp, filt, out, oc)
    lo, hi = act_range(g, act, out)
    fields = dict(batches=n, in_h=h, in_w=w, in_c=c, out_h=oh, out_w=ow, out_c=oc,
                  depth_multiplier=oc // c, k_h=kh, k_w=kw, stride_h=sh, stride_w=sw, dil_h=dh,
                  dil_w=dw, pad_h=pad_amount(sh, dh, h, kh, oh), pad_w=pad_amount(sw, dw, w, kw, ow),
                  input_offset=-inp.zero_point, output_offset=out.zero_point, act_min=lo,
                  act_max=hi, filter=g.ptr(op.inputs[1]),
                  bias=g.ptr(bias) if bias >= 0 else "nullptr",
                  multiplier=g.const(mult, f"mult{op.index}"),
                  shift=g.const(shift, f"shift{op.index}"),
                  right_shift_only=int(bool((shift <= 0).all())))
    # DSP path: multiplier 1, channels in groups of 4, constant weights.
    dsp = oc == c and oc % 4 == 0 and filt.data is not None
    if dsp:
        w = filt.data.reshape(kh * kw, oc).astype(np.int64)
        b = g.t(bias).data.astype(np.int64) if bias >= 0 else np.zeros(oc, np.int64)
        init = np.array([wrap32(int(v)) for v in b - inp.zero_point * w.sum(axis=0)], np.int32)
        # [group][tap][w0 w2 w1 w3]
        w16 = w.reshape(kh * kw, oc // 4, 4)[:, :, [0, 2, 1, 3]].transpose(1, 0, 2).astype(np.int16)
        fields.update(acc_init=g.const(init, f"acc{op.index}"),
                      filter16=g.const_dsp(w16.reshape(-1), f"w16_{op.index}", "int16_t"))
    else:
        fields.update(acc_init="nullptr", filter16="nullptr")
    p = g.param("DepthwiseParams", **fields)
    g.macs += n * oh * ow * oc * kh * kw
    g.emit(f"bedside_engine::DepthwiseConv({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
