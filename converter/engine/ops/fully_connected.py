"""FULLY_CONNECTED (int8, per-tensor or per-channel) -> bedside_engine::FullyConnected."""
import numpy as np

from ..quant import fc_multiplier, quantize_multiplier
from ._common import acc_init, act_range, bias_input, check_int8, opt, per_channel


def lower(op, g):
    check_int8(g, op.inputs[0], op.inputs[1], op.outputs[0])
    inp, filt, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    bias = bias_input(g, op)
    if opt(op, 1, "b", 0) != 0:
        g.fail("only the DEFAULT weights format is supported")
    if filt.data is None:
        g.fail("weights must be constant")
    act = opt(op, 0, "b", 0)
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
    fields = [batches, depth, oc, out.zero_point, lo, hi, g.ptr(op.inputs[1]),
              g.const(acc_init(g, op, filt, bias, -inp.zero_point), f"acc{op.index}"),
              g.const(mult, f"mult{op.index}"), g.const(shift, f"shift{op.index}")]
    p = g.param("FullyConnectedParams", fields)
    g.macs += batches * oc * depth
    g.emit(f"bedside_engine::FullyConnected({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
