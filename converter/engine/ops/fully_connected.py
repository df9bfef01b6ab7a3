"""FULLY_CONNECTED (int8, per-tensor or per-channel) -> bedside_engine::FullyConnected."""
import numpy as np

from ..quant import fc_multiplier, quantize_multiplier
from ._common import acc_init, act_range, bias_input, check_int8, per_channel


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
    if any(z != 0 for z in filt.zero_points):
        g.fail("weights zero point must be 0 (symmetric int8 weights)")
    lo, hi = act_range(g, act, out)
    p = g.param("FullyConnectedParams", batches=batches, depth=depth, out_c=oc,
                output_offset=out.zero_point, act_min=lo, act_max=hi, filter=g.ptr(op.inputs[1]),
                acc_init=g.const(acc_init(g, op, filt, bias, -inp.zero_point), f"acc{op.index}"),
                multiplier=g.const(mult, f"mult{op.index}"), shift=g.const(shift, f"shift{op.index}"))
    g.macs += batches * oc * depth
    g.emit(f"bedside_engine::FullyConnected({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
