"""CONV_2D (int8, per-channel) -> bedside_engine::Conv (kernels/conv.h)."""
import numpy as np

from ._common import (act_range, bias_input, check_int8, dot_rows, kernel_form, out_size, pad_amount,
                      per_channel)


# most input channels ConvWinograd3 transforms on its stack (kernels/conv.h: kWinogradMaxInC)
WINOGRAD_MAX_IN_C = 32


def winograd3(geometry: dict, w2d) -> np.ndarray | None:
    """RISC-V's Winograd F(2,3) weights (kernels/conv.h: ConvWinograd3) for a 1x3
    convolution along the width with stride 1, dilation 1 and 'same' padding, else None:
    per channel pair and input channel U = [2 g0, g0 + g1 + g2, g0 - g1 + g2, 2 g2] of
    each channel's taps g, as int16 [ceil2(out_c)/2][in_c][4][2], zero padded."""
    gm = geometry
    if (w2d is None or (gm["k_h"], gm["k_w"], gm["stride_h"], gm["stride_w"], gm["dil_w"]) != (1, 3, 1, 1, 1)
            or gm["pad_h"] != 0 or gm["pad_w"] != 1 or gm["out_w"] != gm["in_w"] or gm["out_h"] != gm["in_h"]
            or gm["in_c"] > WINOGRAD_MAX_IN_C):
        return None
    oc, c = gm["out_c"], gm["in_c"]
    g = np.zeros((oc + oc % 2, 3, c), np.int16)
    g[:oc] = w2d.reshape(oc, 3, c)
    u = np.stack([2 * g[:, 0], g[:, 0] + g[:, 1] + g[:, 2], g[:, 0] - g[:, 1] + g[:, 2], 2 * g[:, 2]],
                 axis=2)                                   # [oc][c][4]
    return u.reshape(-1, 2, c, 4).transpose(0, 2, 3, 1).reshape(-1)


# im2col fields Conv's scratch holds (kernels/conv.h: RISC-V gathers up to four pixels at once)
IM2COL_FIELDS = 4


def scratch_bytes(op, model):
    """im2col buffers for IM2COL_FIELDS output pixels (fast path, ungrouped convolutions; the others
    than the first are read where the kernels work on several pixels at once: RISC-V,
    kernels/conv.h)."""
    inp, filt = model.tensors[op.inputs[0]], model.tensors[op.inputs[1]]
    if len(filt.shape) != 4 or len(inp.shape) != 4 or filt.shape[3] != inp.shape[3]:
        return 0
    return IM2COL_FIELDS * ((filt.shape[1] * filt.shape[2] * filt.shape[3] + 3) // 4 * 4)


def emit_conv(g, op, geometry: dict, w2d, bias: int, input_offset: int, mult, shift,
              out_zp: int, lo: int, hi: int, filter_ptr: str = "nullptr") -> None:
    """One Conv call. geometry: batches..pad_w; w2d: constant weights [out_c][k_h*k_w*in_c]
    for the fast path (None: the reference loop over `filter_ptr`, grouped convolutions)."""
    fields = dict(geometry, input_offset=input_offset, output_offset=out_zp, act_min=lo, act_max=hi)
    form = 0
    if w2d is not None:
        rows, form = dot_rows(g, op, w2d, bias, input_offset, mult, shift, out_zp)
        fields.update(filter="nullptr", bias="nullptr", multiplier="nullptr", shift="nullptr",
                      acc_init=rows["acc_init"], quant=rows["quant"], filter16=rows["filter16"],
                      filter8=rows["filter8"])
        u = winograd3(geometry, w2d)
        fields["wino"] = "nullptr" if u is None else g.const_riscv(u, f"wino{op.index}", "int16_t")
    else:
        fields.update(filter=filter_ptr, bias=g.ptr(bias) if bias >= 0 else "nullptr",
                      multiplier=g.const(mult, f"mult{op.index}"), shift=g.const(shift, f"shift{op.index}"),
                      acc_init="nullptr", quant="nullptr", filter16="nullptr", filter8="nullptr",
                      wino="nullptr")
    p = g.param("ConvParams", **fields)
    col = g.scratch("int8_t") if w2d is not None else "nullptr"
    targs = kernel_form(form, lo, hi)
    step, oc = geometry["stride_w"] * geometry["in_c"], geometry["out_c"]
    if (w2d is not None and form == 2 and (lo, hi) == (-128, 127) and geometry["k_h"] == 1
            and geometry["dil_w"] == 1 and oc % 4 == 0 and 4 * oc + 3 <= 2047 and 4 * step + 3 <= 2047):
        # fields of neighbouring pixels in place `step` bytes apart: RISC-V's five-pixel pass
        targs = f"{targs[:-1]} BEDSIDE_ENGINE_FIVE_PIXELS({step}, {oc})>"
    g.emit(f"bedside_engine::Conv{targs}({p}, {g.ptr(op.inputs[0], True)}, "
           f"{g.ptr(op.outputs[0])}, {col});")


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
    mult, shift = per_channel(g, inp, filt, out, oc)
    lo, hi = act_range(g, act, out)
    geometry = dict(batches=n, in_h=h, in_w=w, in_c=c, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
                    filter_in_c=fc, stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw,
                    pad_h=pad_amount(sh, dh, h, kh, oh), pad_w=pad_amount(sw, dw, w, kw, ow))
    fast = fc == c and filt.data is not None
    w2d = filt.data.reshape(oc, -1) if fast else None
    emit_conv(g, op, geometry, w2d, bias, -inp.zero_point, mult, shift, out.zero_point, lo, hi,
              "nullptr" if fast else g.ptr(op.inputs[1]))
    g.macs += n * oh * ow * oc * kh * kw * fc
