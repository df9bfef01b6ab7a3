"""LOGISTIC (int8) as a table of TFLM's reference_integer_ops::Logistic (gemmlowp, Q4 input)."""
from ..quant import logistic_fixed
from ._lut import lower_gemmlowp


def lower(op, g):
    lower_gemmlowp(op, g, "logistic", logistic_fixed, out_zero_point=-128, out_shift=23)
