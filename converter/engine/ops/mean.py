"""MEAN (int8) -> bedside_engine::Mean: TFLM QuantizedMeanOrSum, 1/count folded in here."""
import numpy as np

from ..quant import quantize_multiplier
from ._common import check_int8, shape4


def scratch_bytes(op, model):
    return 4 * int(np.prod(model.tensors[op.outputs[0]].shape, dtype=np.int64))


def lower(op, g):
    check_int8(g, op.inputs[0], op.outputs[0])
    inp, axis_t, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if axis_t.data is None:
        g.fail("axis must be constant")
    rank = len(inp.shape)
    if rank > 4:
        g.fail("more than 4 dimensions")
    axes = sorted({int(a) + rank if a < 0 else int(a) for a in axis_t.data.reshape(-1)})
    dims = shape4(inp.shape)
    axes4 = [a + 4 - rank for a in axes]
    num_in_axis = int(np.prod([dims[a] for a in axes4])) if axes4 else 1
    strides, s = [0] * 4, 1
    for d in range(3, -1, -1):
        if d not in axes4:
            strides[d] = s
            s *= dims[d]
    num_out = s
    if num_out != int(np.prod(out.shape)):
        g.fail(f"output has {int(np.prod(out.shape))} elements, reduction gives {num_out}")
    mult, shift = quantize_multiplier(float(inp.scale) / float(out.scale))
    # QuantizedMeanOrSum: fold 1/num_elements_in_axis into the multiplier.
    n_shift = min(num_in_axis.bit_length() - 1, 32, 31 + shift)
    mult = int((mult << n_shift) // num_in_axis)
    shift -= n_shift
    p = g.param("MeanParams", dims=dims, out_stride=strides, num_outputs=num_out,
                num_in_axis=num_in_axis, input_zp=inp.zero_point, output_zp=out.zero_point,
                multiplier=mult, shift=shift)
    g.emit(f"bedside_engine::Mean({p}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])}, "
           f"{g.scratch('int32_t')});")
