"""CONV_2D (int8, per-channel) -> bedside_engine::Conv (kernels/conv.h)."""
import numpy as np

from ._common import (acc_init, act_range, bias_input, check_int8, out_size, pad_amount,
                      per_channel)


def scratch_bytes(op, model):
    """im2col buffer for one output pixel (fast path, ungrouped convolutions)."""
    inp, filt = model.tensors[op.inputs[0]], model.tensors[op.inputs[1]]
    if len(filt.shape) != 4 or len(inp.shape) != 4 or filt.shape[3] != inp.shape[3]:
        return 0
    return (filt.shape[1] * filt.shape[2] * filt.shape[3] + 3) // 4 * 4


def _pad4(arrays):
    """Per-channel arrays zero-padded to a multiple of 4 channels (the DSP path reads 4 at a time)."""
    return tuple(np.concatenate([a, np.zeros((-len(a)) % 4, a.dtype)]) for a in arrays)


def dsp_weights(w: np.ndarray) -> np.ndarray:
    """int16 copy for Dot4x16: rows padded to 4 (channels too), groups of 4 as w0 w2 w1 w3."""
    oc, n = w.shape
    n4, oc4 = (n + 3) // 4 * 4, (oc + 3) // 4 * 4
    out = np.zeros((oc4, n4), np.int16)
    out[:oc, :n] = w
    return out.reshape(oc4, n4 // 4, 4)[:, :, [0, 2, 1, 3]].reshape(-1)


def lower(op, g):
    check_int8(g, op.inputs[0], op.inputs[1], op.outputs[0])
    inp, filt, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    bias = bias_input(g, op)
    o = op.options
    padding, sw, sh = o.padding, o.stride_w, o.stride_h
    act, dw, dh = o.fused_activation_function, o.dilation_w_factor, o.dilation_h_factor
    n, h, w, c = inp.shape
    oc, kh, kw, fc = filt.shape
    oh, ow = out_size(padding, h, kh, sh, dh), out_size(padding, w, kw, sw, dw)
    if tuple(out.shape) != (n, oh, ow, oc):
        g.fail(f"output shape {out.shape} != computed {(n, oh, ow, oc)}")
    if c % fc or oc % (c // fc):
        g.fail(f"input depth {c} is not a multiple of filter depth {fc}")
    mult, shift = _pad4(per_channel(g, inp, filt, out, oc))
    lo, hi = act_range(g, act, out)
    fast = fc == c and filt.data is not None
    p = g.param(
        "ConvParams", batches=n, in_h=h, in_w=w, in_c=c, out_h=oh, out_w=ow, out_c=oc, k_h=kh,
        k_w=kw, filter_in_c=fc, stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw,
        pad_h=pad_amount(sh, dh, h, kh, oh), pad_w=pad_amount(sw, dw, w, kw, ow),
        input_offset=-inp.zero_point, output_offset=out.zero_point, act_min=lo, act_max=hi,
        # A DSP build of the fast path reads only the int16 copy of the weights.
        filter=(f"BEDSIDE_ENGINE_PORTABLE_ONLY({g.ptr(op.inputs[1])})" if fast
                else g.ptr(op.inputs[1])),
        bias=g.ptr(bias) if bias >= 0 else "nullptr",
        multiplier=g.const(mult, f"mult{op.index}"), shift=g.const(shift, f"shift{op.index}"),
        acc_init=(g.const(_pad4((acc_init(g, op, filt, bias, -inp.zero_point),))[0],
                          f"acc{op.index}") if fast else "nullptr"),
        filter16=(g.const_dsp(dsp_weights(filt.data.reshape(oc, -1)), f"w16_{op.index}", "int16_t")
                  if fast else "nullptr"),
        right_shift_only=int(bool((shift <= 0).all())))
    g.macs += n * oh * ow * oc * kh * kw * fc
    col = g.scratch("int8_t") if fast else "nullptr"
    n4 = (kh * kw * fc + 3) // 4 * 4 if fast else 0
    g.emit(f"bedside_engine::Conv<{n4}>({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])}, {col});")
