// Fixed-point helpers with TFLite Micro's exact rounding (double-rounding
// MultiplyByQuantizedMultiplier: SaturatingRoundingDoublingHighMul, then
// RoundingDivideByPOT), as the tflite-micro interpreter we verify against uses.
#ifndef BEDSIDE_ENGINE_KERNELS_COMMON_H_
#define BEDSIDE_ENGINE_KERNELS_COMMON_H_

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_SAT) || defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>   // __ssat (Cortex-M3 and up), the DSP intrinsics
#endif

#if defined(__ARM_FEATURE_DSP) && !defined(BEDSIDE_ENGINE_NO_DSP)
#define BEDSIDE_ENGINE_DSP 1
#else
#define BEDSIDE_ENGINE_DSP 0
#endif

// Several output pixels per pass (dot.h: DotRows4Px, DotRows2Px; depthwise_conv.h:
// DepthwiseConvM1Quads and the interior pairs) on cores with registers to hold 16
// accumulators and no packed multiply: RISC-V.
#if defined(__riscv) && !defined(BEDSIDE_ENGINE_ONE_PIXEL)
#define BEDSIDE_ENGINE_TWO_PIXELS 1
#else
#define BEDSIDE_ENGINE_TWO_PIXELS 0
#endif

// Conv's template arguments for five pixels per pass (dot.h: DotRows5Px): the generator
// writes Conv<form, full BEDSIDE_ENGINE_FIVE_PIXELS(step, out_c)> where a layer's fields can
// lie in place at a fixed step; other builds instantiate Conv once per form, as before.
#if BEDSIDE_ENGINE_TWO_PIXELS
#define BEDSIDE_ENGINE_FIVE_PIXELS(step, out_c) , step, out_c
#else
#define BEDSIDE_ENGINE_FIVE_PIXELS(step, out_c)
#endif

// Generated code names constants only the RISC-V kernels read (conv.h: ConvWinograd3's
// transformed weights) through this macro.
#if BEDSIDE_ENGINE_TWO_PIXELS
#define BEDSIDE_ENGINE_RISCV_ONLY(x) x
#else
#define BEDSIDE_ENGINE_RISCV_ONLY(x) nullptr
#endif

// Generated code names DSP-only constants (e.g. int16 weight copies) through this macro.
// ... and constants only the portable kernels read (the int8 weights a DSP build replaces).
#if BEDSIDE_ENGINE_DSP
#define BEDSIDE_ENGINE_DSP_ONLY(x) x
#define BEDSIDE_ENGINE_PORTABLE_ONLY(x) nullptr
#else
#define BEDSIDE_ENGINE_DSP_ONLY(x) nullptr
#define BEDSIDE_ENGINE_PORTABLE_ONLY(x) x
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

// TFLM's MultiplyByQuantizedMultiplier (double rounding). Written so it compiles to a
// few instructions, with the same result as the gemmlowp composition above for every x
// and every multiplier TFLM produces (0 <= multiplier < 2^31, so -1*-1 never saturates):
//  - SaturatingRoundingDoublingHighMul's truncating (ab + nudge) / 2^31 equals
//    floor((ab + 2^30) / 2^31) for both signs of ab (one SMLAL, two shifts).
// tests/test_engine_kernels.py checks both against the reference definitions.
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  // x * (1 << left_shift) wraps like TFLM's int32 product; do it unsigned to stay defined.
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  const int64_t ab = static_cast<int64_t>(shifted) * multiplier;
  const int32_t high = static_cast<int32_t>((ab + (INT64_C(1) << 30)) >> 31);
  return RoundingDivideByPOT(high, right_shift);   // int32 only: cheaper than a 64-bit rounding add
}

// The literal gemmlowp composition, kept as the definition the fast form is tested against.
inline int32_t MultiplyByQuantizedMultiplierReference(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shifted, multiplier), right_shift);
}

// The same function in a cheaper form, valid when |x| < 2^30 and 1 <= right_shift <= 31
// (the generator proves both per layer: |bias| + max|input + input_offset| * sum|w| < 2^30,
// every shift in [-31, -1]). Then SaturatingRoundingDoublingHighMul(x, m) is
// h = (2x * m + 2^31) >> 32, and RoundingDivideByPOT(h, rs) is
// (h + 2^(rs-1) + (h < 0 ? -1 : 0)) >> rs without overflow (|h| < 2^30). Adding 2^(rs-1)
// inside the product's high word is exact, so h + 2^(rs-1) is one SMMLAR on DSP cores
// (one SMLAL elsewhere); and h < 0 may be replaced by x < 0: they differ only when h == 0
// and x < 0, where (2^(rs-1) - 1) >> rs and 2^(rs-1) >> rs are both 0.
// The high word of 2x * multiplier + (round << 32), rounded: one SMMLAR on DSP cores, one
// SMLAL with the rounding bit preloaded in the low word on other Thumb-2 cores (M3).
inline int32_t HighMulRound(int32_t x, int32_t multiplier, int32_t round) {
  const int32_t x2 = static_cast<int32_t>(static_cast<uint32_t>(x) << 1);
#if BEDSIDE_ENGINE_DSP
  int32_t h_round;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(h_round) : "r"(x2), "r"(multiplier), "r"(round));
  return h_round;
#elif defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
  uint32_t lo = 0x80000000u;
  int32_t hi = round;
  __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(x2), "r"(multiplier));
  return hi;
#elif defined(__ARM_ARCH_6M__) || defined(BEDSIDE_ENGINE_HIGHMUL16)
  // ARMv6-M has no 32x32->64 multiply (the library's __aeabi_lmul costs ~50
  // instructions). The result is floor((x * m + 2^30) / 2^31) + round; from 16-bit halves
  // x = xh * 2^16 + xl, m = mh * 2^16 + ml (|x| < 2^30, 0 <= m < 2^31: every product fits):
  // 2 * xh * mh + floor((xh * ml + xl * mh + (xl * ml + 2^30) / 2^16) / 2^15), where the
  // fraction dropped from the inner quotient cannot change the outer floor. The last sum
  // has 33 bits, so it is divided in two parts (high halves, then the carry of the low).
  (void)x2;
  const int32_t xh = x >> 16, mh = static_cast<int32_t>(static_cast<uint32_t>(multiplier) >> 16);
  const uint32_t xl = static_cast<uint32_t>(x) & 0xffffu, ml = static_cast<uint32_t>(multiplier) & 0xffffu;
  const int32_t p2 = xh * static_cast<int32_t>(ml);
  const uint32_t u = xl * static_cast<uint32_t>(mh) + ((xl * ml) >> 16) + (1u << 14);
  const int32_t low = static_cast<int32_t>(((static_cast<uint32_t>(p2) & 0x7fffu) + (u & 0x7fffu)) >> 15);
  return 2 * (xh * mh) + (p2 >> 15) + static_cast<int32_t>(u >> 15) + low + round;
#else
  // high word + round + the carry of adding 2^31 to the low word (its top bit): no 64-bit
  // add (RISC-V: mul, mulh, srli and two adds)
  const int64_t product = static_cast<int64_t>(x2) * multiplier;
  const uint32_t low = static_cast<uint32_t>(product);
  return static_cast<int32_t>(product >> 32) + round + static_cast<int32_t>(low >> 31);
#endif
}

inline int32_t MultiplyByQuantizedMultiplierFast(int32_t x, int32_t multiplier, int32_t right_shift,
                                                 int32_t round) {   // round = 2^(right_shift - 1)
  return (HighMulRound(x, multiplier, round) + (x >> 31)) >> right_shift;
}

inline int32_t MultiplyByQuantizedMultiplierFast(int32_t x, int32_t multiplier, int32_t right_shift) {
  return MultiplyByQuantizedMultiplierFast(x, multiplier, right_shift, 1 << (right_shift - 1));
}

inline int32_t Clamp(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// Clamp to [-128, 127]: one SSAT where the core has it (the compiler does not find it).
inline int32_t SaturateInt8(int32_t v) {
#if defined(__ARM_FEATURE_SAT)
  return __ssat(v, 8);
#else
  return Clamp(v, -128, 127);
#endif
}

// Per-channel requantization constants of the fast kernels, interleaved so one pointer
// walks them: quant[3 * oc + 0..2] = multiplier, shift, rounding term. For the fast forms
// the shift is stored as the right shift -shift (saves a negation per output) and the
// rounding term is 2^(-shift - 1), plus output_offset * 2^(-shift) in form 2; otherwise
// the shift is TFLM's and the third word 0.
constexpr int32_t kQuantStride = 3;

// One int8 output from an accumulator: the layer's requantization form kFast, chosen by
// the generator: 0 TFLM's general MultiplyByQuantizedMultiplier; 1 the fast form
// (MultiplyByQuantizedMultiplierFast); 2 the fast form with the output zero point folded
// into the rounding term, since (h + r + zp * 2^rs) >> rs == ((h + r) >> rs) + zp exactly
// (the generator allows it when every right shift is <= 22, so |h| < 2^30 plus the term
// stays inside int32). Then the output zero point and fused activation clamp (kFullRange:
// the clamp is [-128, 127], one SSAT on Arm).
template <int kFast, bool kFullRange>
inline int8_t RequantizeToInt8(int32_t acc, const int32_t *quant, int32_t output_offset, int32_t act_min,
                               int32_t act_max) {
  const int32_t v = kFast == 2 ? MultiplyByQuantizedMultiplierFast(acc, quant[0], quant[1], quant[2])
                    : kFast == 1 ? MultiplyByQuantizedMultiplierFast(acc, quant[0], quant[1], quant[2]) + output_offset
                                 : MultiplyByQuantizedMultiplier(acc, quant[0], quant[1]) + output_offset;
  return static_cast<int8_t>(kFullRange ? SaturateInt8(v) : Clamp(v, act_min, act_max));
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_COMMON_H_
