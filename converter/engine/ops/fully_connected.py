"""FULLY_CONNECTED (int8, per-tensor or per-channel) -> bedside_engine::FullyConnected."""
import numpy as np

from ..quant import fc_multiplier, quantize_multiplier
from ._common import act_range, bias_input, check_int8, dot_rows, kernel_form, per_channel


def scratch_bytes(op, model):
    """A zero-padded copy of one input row when its length is not a multiple of 4 (DSP path)."""
    filt = model.tensors[op.inputs[1]]
    depth = filt.shape[-1] if len(filt.shape) == 2 else 0
    return (depth + 3) // 4 * 4 if depth % 4 else 0


def lower(op, g):
    check_int8(g, op.inputs[0], op.inputs[1], op.outputs[0])
    inp, filt, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    bias = bias_input(g, op)
    if op.options.weights_format != 0:
        g.fail("only the DEFAULT weights format is supported")
    if filt.data is None:
        g.fail("weights must be constant")
    act = op.options.fused_activation_function
    oc, depth = filt.shape
    total = int(np.prod(inp.shape))
    if total % depth:
        g.fail(f"input size {total} is not a multiple of the weights' depth {depth}")
    batches = total // depth
    if len(filt.scales) > 1:
        mult, shift = per_channel(g, inp, filt, out, oc)
    else:
        m, s = quantize_multiplier(fc_multiplier(inp.scale, filt.scale, out.scale, g.derivation))
        mult, shift = np.full(oc, m, np.int32), np.full(oc, s, np.int32)
    if any(z != 0 for z in filt.zero_points):   # TFLM applies it (weights_offset)
        g.fail(f"weights zero point {filt.zero_points[0]}: asymmetric int8 weights are not implemented")
    lo, hi = act_range(g, act, out)
    rows, form = dot_rows(g, op, filt.data.reshape(oc, depth), bias, -inp.zero_point, mult, shift,
                          out.zero_point)
    p = g.param("FullyConnectedParams", batches=batches, depth=depth, out_c=oc, output_offset=out.zero_point,
                act_min=lo, act_max=hi, acc_init=rows["acc_init"], quant=rows["quant"],
                filter16=rows["filter16"], filter8=rows["filter8"])
    g.macs += batches * oc * depth
    col = g.scratch("int8_t") if depth % 4 else "nullptr"
    g.emit(f"bedside_engine::FullyConnected{kernel_form(form, lo, hi)}({p}, {g.ptr(op.inputs[0], True)}, "
           f"{g.ptr(op.outputs[0])}, {col});")
