// Fixed-point helpers with TFLite Micro's exact rounding (double-rounding
// MultiplyByQuantizedMultiplier: SaturatingRoundingDoublingHighMul, then
// RoundingDivideByPOT), as the tflite-micro interpreter we verify against uses.
#ifndef BEDSIDE_ENGINE_KERNELS_COMMON_H_
#define BEDSIDE_ENGINE_KERNELS_COMMON_H_

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(BEDSIDE_ENGINE_NO_DSP)
#include <arm_acle.h>
#define BEDSIDE_ENGINE_DSP 1
#else
#define BEDSIDE_ENGINE_DSP 0
#endif

namespace bedside_engine {

static_assert(sizeof(int32_t) == 4 && sizeof(int64_t) == 8, "integer sizes");

inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return static_cast<int32_t>((ab + nudge) / (INT64_C(1) << 31));
}

inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((INT64_C(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  // x * (1 << left_shift) wraps like TFLM's int32 product; do it unsigned to stay defined.
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shifted, multiplier), right_shift);
}

inline int32_t Clamp(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_COMMON_H_
