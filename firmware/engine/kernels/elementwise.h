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

template <BinaryKind kKind>
inline void Binary(const BinaryParams &p, const int8_t *in1, const int8_t *in2, int8_t *out) {
  for (int32_t a = 0; a < p.out_dims[0]; ++a)
    for (int32_t b = 0; b < p.out_dims[1]; ++b)
      for (int32_t c = 0; c < p.out_dims[2]; ++c)
        for (int32_t d = 0; d < p.out_dims[3]; ++d) {
          const int32_t i1 = a * p.stride1[0] + b * p.stride1[1] + c * p.stride1[2] + d * p.stride1[3];
          const int32_t i2 = a * p.stride2[0] + b * p.stride2[1] + c * p.stride2[2] + d * p.stride2[3];
          *out++ = static_cast<int8_t>(BinaryElement<kKind>(p, in1[i1], in2[i2]));
        }
}

inline void Add(const BinaryParams &p, const int8_t *a, const int8_t *b, int8_t *o) { Binary<kAdd>(p, a, b, o); }
inline void Sub(const BinaryParams &p, const int8_t *a, const int8_t *b, int8_t *o) { Binary<kSub>(p, a, b, o); }
inline void Mul(const BinaryParams &p, const int8_t *a, const int8_t *b, int8_t *o) { Binary<kMul>(p, a, b, o); }

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_ELEMENTWISE_H_
