// ADD / SUB / MUL, int8 with 4-D broadcast: TFLM reference_integer_ops::Add/Mul
// (and BroadcastAdd4DSlow / BroadcastMul4DSlow, which do the same per element).
#ifndef BEDSIDE_ENGINE_KERNELS_ELEMENTWISE_H_
#define BEDSIDE_ENGINE_KERNELS_ELEMENTWISE_H_

#include "common.h"

namespace bedside_engine {

struct BinaryParams {
  int32_t out_dims[4];
  int32_t stride1[4], stride2[4];   // element strides, 0 where broadcast
  int32_t input1_offset, input2_offset, output_offset;
  int32_t left_shift;               // ADD/SUB only
  int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;  // ADD/SUB only
  int32_t output_multiplier, output_shift, act_min, act_max;
};

enum BinaryKind { kAdd, kSub, kMul };

template <BinaryKind kKind>
inline int32_t BinaryElement(const BinaryParams &p, int32_t a, int32_t b) {
  const int32_t x = p.input1_offset + a, y = p.input2_offset + b;
  int32_t r;
  if (kKind == kMul) {
    r = MultiplyByQuantizedMultiplier(x * y, p.output_multiplier, p.output_shift);
  } else {
    const int32_t sx = MultiplyByQuantizedMultiplier(x * (1 << p.left_shift), p.input1_multiplier, p.input1_shift);
    const int32_t sy = MultiplyByQuantizedMultiplier(y * (1 << p.left_shift), p.input2_multiplier, p.input2_shift);
    r = MultiplyByQuantizedMultiplier(kKind == kAdd ? sx + sy : sx - sy, p.output_multiplier, p.output_shift);
  }
  return Clamp(r + p.output_offset, p.act_min, p.act_max);
}

// One multiplier of the fast form (MultiplyByQuantizedMultiplierFast), extended to a
// right shift of 0: the rounding term and the sign fix are 0 there, leaving
// SaturatingRoundingDoublingHighMul alone. Valid for |x| < 2^30 and shifts in [-31, 0],
// which the generator checks (ADD/SUB: |x| <= 255 << 20; MUL: |x * y| <= 255^2).
struct FastMultiplier {
  int32_t multiplier, right_shift, round, sign_fix;
  explicit FastMultiplier(int32_t m, int32_t shift)
      : multiplier(m), right_shift(-shift), round(shift < 0 ? 1 << (-shift - 1) : 0), sign_fix(shift < 0 ? -1 : 0) {}
  int32_t Apply(int32_t x) const {
    return (HighMulRound(x, multiplier, round) + ((x >> 31) & sign_fix)) >> right_shift;
  }
};

// kFast: the generator proved the fast multipliers exact for this layer. The innermost
// dimension is walked with pointers (its strides are 0 or 1).
template <BinaryKind kKind, bool kFast = false>
inline void Binary(const BinaryParams &p, const int8_t *in1, const int8_t *in2, int8_t *out) {
  const FastMultiplier f1(p.input1_multiplier, p.input1_shift), f2(p.input2_multiplier, p.input2_shift),
      fo(p.output_multiplier, p.output_shift);
  const int32_t off1 = p.input1_offset, off2 = p.input2_offset, left = p.left_shift;
  const int32_t out_off = p.output_offset, lo = p.act_min, hi = p.act_max;
  const int32_t n = p.out_dims[3], step1 = p.stride1[3], step2 = p.stride2[3];
  for (int32_t a = 0; a < p.out_dims[0]; ++a)
    for (int32_t b = 0; b < p.out_dims[1]; ++b)
      for (int32_t c = 0; c < p.out_dims[2]; ++c) {
        const int8_t *x = in1 + a * p.stride1[0] + b * p.stride1[1] + c * p.stride1[2];
        const int8_t *y = in2 + a * p.stride2[0] + b * p.stride2[1] + c * p.stride2[2];
        for (int32_t d = 0; d < n; ++d, x += step1, y += step2) {
          int32_t r;
          if (!kFast) {
            r = BinaryElement<kKind>(p, *x, *y);
          } else if (kKind == kMul) {
            r = Clamp(fo.Apply((off1 + *x) * (off2 + *y)) + out_off, lo, hi);
          } else {
            const int32_t sx = f1.Apply((off1 + *x) * (1 << left)), sy = f2.Apply((off2 + *y) * (1 << left));
            r = Clamp(fo.Apply(kKind == kAdd ? sx + sy : sx - sy) + out_off, lo, hi);
          }
          *out++ = static_cast<int8_t>(r);
        }
      }
}

template <bool kFast = false>
inline void Add(const BinaryParams &p, const int8_t *a, const int8_t *b, int8_t *o) { Binary<kAdd, kFast>(p, a, b, o); }
template <bool kFast = false>
inline void Sub(const BinaryParams &p, const int8_t *a, const int8_t *b, int8_t *o) { Binary<kSub, kFast>(p, a, b, o); }
template <bool kFast = false>
inline void Mul(const BinaryParams &p, const int8_t *a, const int8_t *b, int8_t *o) { Binary<kMul, kFast>(p, a, b, o); }

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_ELEMENTWISE_H_
