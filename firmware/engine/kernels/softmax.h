// SOFTMAX, int8 -> int8 (output scale 1/256, zero point -128) or int8 -> int16
// (1/65536, -32768): TFLM reference_ops::Softmax<int8_t, OutputT>, gemmlowp fixed
// point (Q5.26 diffs, Q12.19 sum of exps, one_over_one_plus_x reciprocal).
// exp(beta * scale * diff) depends on the int8 difference to the row maximum
// only, so the generator evaluates TFLM's exp_on_negative_values for every
// difference that passes diff_min and the device looks it up
// (exp_table[d] for d = max - x < table_size).
#ifndef BEDSIDE_ENGINE_KERNELS_SOFTMAX_H_
#define BEDSIDE_ENGINE_KERNELS_SOFTMAX_H_

#include "common.h"

namespace bedside_engine {

struct SoftmaxParams {
  int32_t outer, depth;   // rows, row length (last dimension)
  int32_t table_size;     // -diff_min + 1, at most 256
};

// gemmlowp SaturatingRoundingMultiplyByPOT<exponent> (exponent > 0) on int32.
inline int32_t SaturatingShiftLeft(int32_t x, int exponent) {
  const int32_t threshold = static_cast<int32_t>((INT64_C(1) << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return static_cast<int32_t>(static_cast<uint32_t>(x) << exponent);
}

// gemmlowp one_over_one_plus_x_for_x_in_0_1 on raw Q0.31 values (Newton-Raphson, 3 steps).
inline int32_t OneOverOnePlusX(int32_t a) {
  const int64_t sum = static_cast<int64_t>(a) + INT32_MAX;           // RoundingHalfSum(a, One)
  const int32_t half_denominator = static_cast<int32_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
  int32_t x = 1515870810 + SaturatingRoundingDoublingHighMul(half_denominator, -1010580540);  // Q2.29
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = SaturatingRoundingDoublingHighMul(half_denominator, x);
    const int32_t one_minus = (1 << 29) - half_denominator_times_x;
    x = x + SaturatingShiftLeft(SaturatingRoundingDoublingHighMul(x, one_minus), 2);
  }
  return SaturatingShiftLeft(x, 1);   // Rescale<0>(ExactMulByPot<-1>(x))
}

template <typename OutputT, int32_t kMin, int32_t kMax>
inline void SoftmaxRows(const SoftmaxParams &p, const int32_t *exp_table, const int8_t *input,
                        OutputT *output) {
  for (int32_t row = 0; row < p.outer; ++row) {
    const int8_t *in = input + row * p.depth;
    OutputT *out = output + row * p.depth;
    int32_t max_in_row = -128;
    for (int32_t c = 0; c < p.depth; ++c) max_in_row = in[c] > max_in_row ? in[c] : max_in_row;
    // FixedPointAccum (Q12.19) sum of Rescale<12>(exp); int32 wrap like TFLM, kept defined.
    uint32_t sum = 0;
    for (int32_t c = 0; c < p.depth; ++c) {
      const int32_t d = max_in_row - in[c];
      if (d < p.table_size) sum += static_cast<uint32_t>(RoundingDivideByPOT(exp_table[d], 12));
    }
    // GetReciprocal(sum, 12): sum >= exp(0) > 0, so the leading-zero count is defined.
    const int headroom_plus_one = __builtin_clz(sum);
    const int num_bits_over_unit = 12 - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        static_cast<int32_t>((sum << headroom_plus_one) - (UINT32_C(1) << 31));
    const int32_t shifted_scale = OneOverOnePlusX(shifted_sum_minus_one);
    const int exponent = num_bits_over_unit + 31 - static_cast<int>(8 * sizeof(OutputT));
    for (int32_t c = 0; c < p.depth; ++c) {
      const int32_t d = max_in_row - in[c];
      if (d < p.table_size) {
        const int32_t unsat = RoundingDivideByPOT(
            SaturatingRoundingDoublingHighMul(shifted_scale, exp_table[d]), exponent);
        out[c] = static_cast<OutputT>(Clamp(unsat + kMin, kMin, kMax));
      } else {
        out[c] = static_cast<OutputT>(kMin);
      }
    }
  }
}

inline void Softmax(const SoftmaxParams &p, const int32_t *exp_table, const int8_t *input, int8_t *output) {
  SoftmaxRows<int8_t, -128, 127>(p, exp_table, input, output);
}

inline void Softmax(const SoftmaxParams &p, const int32_t *exp_table, const int8_t *input, int16_t *output) {
  SoftmaxRows<int16_t, -32768, 32767>(p, exp_table, input, output);
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_SOFTMAX_H_
