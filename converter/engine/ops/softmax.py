"""SOFTMAX (int8 -> int8 or int16) -> bedside_engine::Softmax (kernels/softmax.h), TFLM's integer path.

SoftmaxPrepare's numbers are computed here: PreprocessSoftmaxScaling (beta * input scale
as a Q5.26 multiplier > 1, double-rounding cap 2^31 - 1) and diff_min = -CalculateInputRadius.
exp_on_negative_values of each rescaled difference 0..-diff_min (at most 256 of them)
becomes a const int32 table; the device does the max, sum, reciprocal and output rounding.
"""
import numpy as np

from ..quant import exp_on_negative_values, input_radius, mbqm, quantize_multiplier
from ._common import check_int8

SCALED_DIFF_INTEGER_BITS = 5
# GetReciprocal's output exponent must stay <= 31 (TFLM aborts otherwise): a row's sum of
# exps is at most depth * 2^19 in Q12.19, which keeps it below 2^28 for depth <= 511.
MAX_DEPTH = 511


def exp_table(input_scale: float, beta: float) -> tuple[np.ndarray, int]:
    """exp(beta * scale * -d) in Q0.31 for every int8 difference d TFLM does not skip."""
    real = min(float(beta) * float(input_scale) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               (1 << 31) - 1.0)
    if not real > 1.0:
        raise ValueError(f"beta * input scale * 2^26 = {real} must be > 1 "
                         "(QuantizeMultiplierGreaterThanOne)")
    mult, left_shift = quantize_multiplier(real)
    diff_min = -input_radius(SCALED_DIFF_INTEGER_BITS, left_shift, 31)
    n = min(256, -diff_min + 1)
    # MultiplyByQuantizedMultiplierGreaterThanOne == mbqm with a non-negative shift.
    table = [exp_on_negative_values(mbqm(-d, mult, left_shift), SCALED_DIFF_INTEGER_BITS)
             for d in range(n)]
    return np.array(table, dtype=np.int32), diff_min


def lower(op, g):
    check_int8(g, op.inputs[0])
    inp, out = g.t(op.inputs[0]), g.require_type(op.outputs[0], "int8", "int16")
    # SoftmaxPrepare's checks: int8 out exactly 1/256, -128; int16 out 1/65536 (+-0.1%), -32768.
    if out.type == "int8" and (out.zero_point != -128 or np.float32(out.scale) != np.float32(1.0 / 256)):
        g.fail(f"int8 output must have scale 1/256 and zero point -128 (TFLM), has "
               f"{out.scale} and {out.zero_point}")
    if out.type == "int16" and (out.zero_point != -32768
                                or abs(np.float32(out.scale) - np.float32(1 / 65536)) > np.float32(0.001 / 65536)):
        g.fail(f"int16 output must have scale 1/65536 and zero point -32768 (TFLM), has "
               f"{out.scale} and {out.zero_point}")
    if not inp.shape or list(inp.shape) != list(out.shape):
        g.fail(f"input shape {list(inp.shape)} and output shape {list(out.shape)} differ")
    depth = int(inp.shape[-1])
    outer = int(np.prod(inp.shape[:-1], dtype=np.int64))
    if depth > MAX_DEPTH:
        g.fail(f"rows of {depth} values: TFLM's int8 softmax supports at most {MAX_DEPTH}")
    beta = op.options.beta
    try:
        table, diff_min = exp_table(inp.scale, beta)
    except ValueError as e:
        g.fail(str(e))
    t = g.const(table, f"softmax{op.index}_exp")
    p = g.param("SoftmaxParams", outer=outer, depth=depth, table_size=len(table),
                comment=f"beta {beta}, input scale {inp.scale}, diff_min {diff_min}")
    g.emit(f"bedside_engine::Softmax({p}, {t}, {g.ptr(op.inputs[0], True)}, {g.ptr(op.outputs[0])});")
