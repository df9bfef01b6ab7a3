"""TFLite Micro's quantization arithmetic in Python, for generation-time precomputation.

QuantizeMultiplier, activation ranges, and the integer fixed-point primitives
(gemmlowp's SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, logistic, tanh) with
C int32 semantics, so lookup tables computed here equal what TFLM computes on the device.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def wrap32(x: int) -> int:
    """Two's complement int32 wrap-around (what C int32 arithmetic does in practice)."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def tflite_round(x: float) -> int:
    """TfLiteRound / std::round: half away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


# How the real value of a FULLY_CONNECTED per-tensor multiplier is derived from the float32
# scales (every other multiplier is derived in double by every TFLM version we know of):
# "float64": input x filter / output, each scale widened to double first. The pinned
#   `tflite-micro` wheel does this (established by tests/test_engine_reference.py).
# "float32-product": the input x filter product is taken in float32, then divided in
#   double, as TFLM's C++ GetQuantizedConvolutionMultipler does at its commit of 2026-08-20.
FLOAT64, FLOAT32_PRODUCT = "float64", "float32-product"
DERIVATIONS = (FLOAT64, FLOAT32_PRODUCT)
# Requantization rounding of every kernel: gemmlowp's SaturatingRoundingDoublingHighMul then
# RoundingDivideByPOT, each rounding half away from zero (TFLM without TFLITE_SINGLE_ROUNDING).
ROUNDING = "double"


def reference(derivation: str = FLOAT64) -> dict:
    """The manifest's `reference` block: which interpreter the generated engine matches."""
    if derivation == FLOAT64:
        from bedside.reference.tflm import reference_version
        package, version = "tflite-micro", reference_version()
    elif derivation == FLOAT32_PRODUCT:
        package, version = "tflite-micro C++ sources", "2026-08-20"
    else:
        raise ValueError(f"multiplier derivation {derivation!r}: choose one of {', '.join(DERIVATIONS)}")
    return {"package": package, "version": version, "multiplier_derivation": derivation,
            "rounding": ROUNDING}


def fc_multiplier(input_scale: float, filter_scale: float, output_scale: float,
                  derivation: str = FLOAT64) -> float:
    """GetQuantizedConvolutionMultipler's real multiplier under `derivation` (see above)."""
    if derivation == FLOAT32_PRODUCT:
        return float(np.float32(input_scale) * np.float32(filter_scale)) / float(output_scale)
    if derivation != FLOAT64:
        raise ValueError(f"multiplier derivation {derivation!r}: choose one of {', '.join(DERIVATIONS)}")
    return float(input_scale) * float(filter_scale) / float(output_scale)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier (double-rounding build): (int32 multiplier, shift)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: TFLM aborts unless 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"requantization multiplier {real!r} must be in (0, 1) "
                         "(TFLM's QuantizeMultiplierSmallerThanOneExp)")
    return quantize_multiplier(real)


def quantize_float(scale: float, zero_point: int, value: float) -> int:
    """kernel_util Quantize(): zero_point + round(f / scale), in float32 like TFLM."""
    tmp = np.float32(value) / np.float32(scale)
    return zero_point + tflite_round(float(tmp))


def activation_range(activation: int, scale: float, zero_point: int,
                     qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for NONE/RELU/RELU_N1_TO_1/RELU6 (codes 0..3)."""
    if activation == 1:
        return max(qmin, quantize_float(scale, zero_point, 0.0)), qmax
    if activation == 3:
        return (max(qmin, quantize_float(scale, zero_point, 0.0)),
                min(qmax, quantize_float(scale, zero_point, 6.0)))
    if activation == 2:
        return (max(qmin, quantize_float(scale, zero_point, -1.0)),
                min(qmax, quantize_float(scale, zero_point, 1.0)))
    if activation == 0:
        return qmin, qmax
    raise ValueError(f"fused activation {activation} is not supported on int8")


# --- gemmlowp fixed-point primitives with int32 semantics -------------------------------

def srdhm(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
    num = ab + nudge
    q = abs(num) // (1 << 31)                   # C division truncates toward zero
    return wrap32(q if num >= 0 else -q)


def rdbpot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier, double-rounding variant."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbpot(srdhm(wrap32(x * (1 << left)), multiplier), right)


def _srmpot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT<exponent> on int32."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rdbpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return wrap32(x << exponent)


def _exp_on_interval(a: int) -> int:
    """exp(x) for x in [-1/4, 0), F0 -> F0."""
    constant_term, one_third = 1895147668, 715827883
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = _srmpot(x4, -2)
    poly = _srmpot(wrap32(srdhm(wrap32(x4_over_4 + x3), one_third) + x2), -1)
    return wrap32(constant_term + srdhm(constant_term, wrap32(x + poly)))


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    mask = one_quarter - 1
    a_mod = wrap32((a & mask) - one_quarter)
    result = _exp_on_interval(_srmpot(a_mod, integer_bits))   # Rescale<0>
    remainder = wrap32(a_mod - a)
    for exponent, mult in ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                           (2, 39332535), (3, 720401), (4, 242)):
        if integer_bits > exponent:
            if remainder & (1 << (frac + exponent)):
                result = srdhm(result, mult)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        if a < clamp:
            result = 0
    return INT32_MAX if a == 0 else result


def _newton_one_over_one_plus_x(a: int) -> int:
    """gemmlowp's 1/(1+x) for x in [0, 1): three Newton-Raphson steps, Q2.29 result."""
    s = a + INT32_MAX
    half_den = wrap32(_trunc_div(s + (1 if s >= 0 else -1), 2))
    x = wrap32(1515870810 + srdhm(half_den, -1010580540))
    for _ in range(3):
        hdx = srdhm(half_den, x)
        one_minus = wrap32((1 << 29) - hdx)
        x = wrap32(x + _srmpot(srdhm(x, one_minus), 2))
    return x


def _one_over_one_plus_x(a: int) -> int:
    return _srmpot(_newton_one_over_one_plus_x(a), 1)


def _one_minus_x_over_one_plus_x(a: int) -> int:
    return _srmpot(wrap32(_newton_one_over_one_plus_x(a) - (1 << 29)), 2)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def logistic_fixed(a: int, integer_bits: int) -> int:
    """gemmlowp::logistic(FixedPoint<int32, integer_bits>) -> raw F0."""
    if a == 0:
        return 1 << 30
    if a > 0:
        return _one_over_one_plus_x(exp_on_negative_values(wrap32(-a), integer_bits))
    r = _one_over_one_plus_x(exp_on_negative_values(a, integer_bits))
    return wrap32(INT32_MAX - r)


def tanh_fixed(a: int, integer_bits: int) -> int:
    """gemmlowp::tanh(FixedPoint<int32, integer_bits>) -> raw F0."""
    if a == 0:
        return 0
    n = a if a < 0 else wrap32(-a)
    t = _one_minus_x_over_one_plus_x(exp_on_negative_values(n, integer_bits + 1))
    return wrap32(-t) if a < 0 else t


def input_radius(integer_bits: int, left_shift: int, total_bits: int = 31) -> int:
    """CalculateInputRadius."""
    value = 1.0 * ((1 << integer_bits) - 1) * (1 << (total_bits - integer_bits)) / (1 << left_shift)
    return int(math.floor(value))
