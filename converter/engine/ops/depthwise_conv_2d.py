"""DEPTHWISE_CONV_2D (int8, per-channel) -> bedside_engine::DepthwiseConv, or, for a
one-channel input (any depth multiplier), the same computation as a CONV_2D with in_c 1
-> bedside_engine::Conv (im2col over the kh*kw field, four output channels per pass)."""
import numpy as np

from ..quant import wrap32
from ._common import (act_range, bias_input, channel_quant, check_int8, fast_requant, kernel_form,
                      out_size, pad4, pad_amount, per_channel, requant_form)
from .conv_2d import IM2COL_FIELDS, emit_conv


def scratch_bytes(op, model):
    """A gathered receptive field (kh*kw*out_channels), or Conv's im2col fields in the
    1-channel case; multiplier-1 layers read their taps in place."""
    inp, filt = model.tensors[op.inputs[0]], model.tensors[op.inputs[1]]
    if len(filt.shape) != 4 or len(inp.shape) != 4 or filt.data is None:
        return 0
    if inp.shape[3] > 1 and filt.shape[3] == inp.shape[3]:
        return 0
    if inp.shape[3] == 1:     # Conv's im2col: IM2COL_FIELDS pixels' fields (kernels/conv.h)
        return IM2COL_FIELDS * ((filt.shape[1] * filt.shape[2] + 3) // 4 * 4)
    return (filt.shape[1] * filt.shape[2] * filt.shape[3] + 3) // 4 * 4


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
    pad_h, pad_w = pad_amount(sh, dh, h, kh, oh), pad_amount(sw, dw, w, kw, ow)
    g.macs += n * oh * ow * oc * kh * kw
    geometry = dict(batches=n, in_h=h, in_w=w, in_c=c, out_h=oh, out_w=ow, out_c=oc)
    strides = dict(stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw, pad_h=pad_h, pad_w=pad_w)
    const = filt.data is not None
    if c == 1 and const:
        emit_conv(g, op, dict(geometry, k_h=kh, k_w=kw, filter_in_c=1, **strides),
                  filt.data.reshape(kh * kw, oc).T, bias, -inp.zero_point, mult, shift, out.zero_point, lo, hi)
        return
    fields = dict(geometry, depth_multiplier=oc // c, k_h=kh, k_w=kw, **strides,
                  input_offset=-inp.zero_point, output_offset=out.zero_point, act_min=lo, act_max=hi)
    form = 0
    m1 = const and oc == c   # depth multiplier 1: DepthwiseConvM1, taps in place
    if const:
        wt = filt.data.reshape(kh * kw, oc).astype(np.int64)          # [tap][channel]
        b = g.t(bias).data.astype(np.int64) if bias >= 0 else np.zeros(oc, np.int64)
        form = requant_form(fast_requant(wt.T, b, -inp.zero_point, shift), shift)
        init = np.array([wrap32(int(v)) for v in b - inp.zero_point * wt.sum(axis=0)], np.int32)
        c4 = (oc + 3) // 4 * 4
        w4 = np.zeros((kh * kw, c4), np.int64)
        w4[:, :oc] = wt
        quant = channel_quant(mult, shift, form, out.zero_point)
        fields.update(filter="nullptr", bias="nullptr", multiplier="nullptr", shift="nullptr")
        if m1:   # one block per four channels (kernels/depthwise_conv.h: kDwWeights)
            head = np.concatenate([pad4(init).reshape(-1, 4), pad4(b.astype(np.int32)).reshape(-1, 4),
                                   quant.reshape(-1, 12)], axis=1).astype(np.int32)
            taps = w4.reshape(kh * kw, c4 // 4, 4).transpose(1, 0, 2)          # [group][tap][4]
            w16 = np.ascontiguousarray(taps[:, :, [0, 2, 1, 3]].astype("<i2")).view("<i4").reshape(c4 // 4, -1)
            w8 = np.ascontiguousarray(taps.astype(np.int8)).view("<i4").reshape(c4 // 4, -1)
            fields.update(acc_init="nullptr", quant="nullptr", filter16="nullptr", filter8="nullptr",
                          block16=g.const_dsp(np.concatenate([head, w16], axis=1).reshape(-1), f"blk16_{op.index}",
                                              "int32_t"),
                          block8=g.const_portable(np.concatenate([head, w8], axis=1).reshape(-1),
                                                  f"blk8_{op.index}"))
            col = "nullptr"
        else:
            w8 = w4.reshape(kh * kw, c4 // 4, 4).transpose(1, 0, 2).astype(np.int8).reshape(-1)
            fields.update(acc_init=g.const(pad4(init), f"acc{op.index}"), quant=g.const(quant, f"quant{op.index}"),
                          block16="nullptr", block8="nullptr")
            if oc % 4 == 0:   # DSP: [group][tap][w0 w2 w1 w3] int16; portable builds read w8
                w16 = w4.reshape(kh * kw, c4 // 4, 4)[:, :, [0, 2, 1, 3]].transpose(1, 0, 2).astype(np.int16)
                fields.update(filter16=g.const_dsp(w16.reshape(-1), f"w16_{op.index}", "int16_t"),
                              filter8=g.const_portable(w8, f"w8_{op.index}"))
            else:
                fields.update(filter16="nullptr", filter8=g.const(w8, f"w8_{op.index}"))
            col = g.scratch("int8_t")
    else:
        fields.update(filter=g.ptr(op.inputs[1]), bias=g.ptr(bias) if bias >= 0 else "nullptr",
                      multiplier=g.const(mult, f"mult{op.index}"), shift=g.const(shift, f"shift{op.index}"),
                      acc_init="nullptr", quant="nullptr", filter16="nullptr", filter8="nullptr",
                      block16="nullptr", block8="nullptr")
        col = "nullptr"
    p = g.param("DepthwiseParams", **fields)
    form = kernel_form(form, lo, hi)[:-1]
    if m1:   # small kernels: the interior tap loops unroll, taps at immediate offsets if they fit
        small = kh <= 5 and kw <= 5
        tap, row = dw * c, dh * w * c
        imm = small and (kh - 1) * row + (kw - 1) * tap + 3 <= 4095   # LDR/LDRSB imm12
        g.emit(f"bedside_engine::DepthwiseConvM1{form}, {kh if small else 0}, {kw if small else 0}, "
               f"{tap if imm else 0}, {row if imm else 0}>({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
        return
    g.emit(f"bedside_engine::DepthwiseConv{form}, {kw if kw <= 5 else 0}>({p}, {g.ptr(op.inputs[0], True)}, "
           f"{g.ptr(op.outputs[0])}, {col});")
