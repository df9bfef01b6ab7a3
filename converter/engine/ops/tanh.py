"""TANH (int8) as a table of TFLM's reference_integer_ops::Tanh (gemmlowp, Q4 input)."""
from ..quant import tanh_fixed
from ._lut import lower_gemmlowp


def lower(op, g):
    lower_gemmlowp(op, g, "tanh", tanh_fixed, out_zero_point=0, out_shift=24)
