// PAD / PADV2, int8, up to 5-D: TFLM reference_ops::Pad (constant padding; the
// pad value is the output zero point, or PADV2's constant, copied as raw int8).
// The output is filled with the pad value, then each innermost input row is
// copied to its place.
#ifndef BEDSIDE_ENGINE_KERNELS_PAD_H_
#define BEDSIDE_ENGINE_KERNELS_PAD_H_

#include "common.h"

namespace bedside_engine {

struct PadParams {
  int32_t in_dims[5];       // input shape, extended to 5-D with leading 1s
  int32_t out_strides[5];   // output element strides
  int32_t left[5];          // leading padding per dimension
  int32_t out_size;         // output elements
  int32_t pad_value;
};

inline void Pad(const PadParams &p, const int8_t *input, int8_t *output) {
  memset(output, static_cast<uint8_t>(p.pad_value), static_cast<size_t>(p.out_size));
  const size_t row = static_cast<size_t>(p.in_dims[4]);
  for (int32_t a = 0; a < p.in_dims[0]; ++a)
    for (int32_t b = 0; b < p.in_dims[1]; ++b)
      for (int32_t c = 0; c < p.in_dims[2]; ++c)
        for (int32_t d = 0; d < p.in_dims[3]; ++d) {
          const int32_t o = (a + p.left[0]) * p.out_strides[0] + (b + p.left[1]) * p.out_strides[1] +
                            (c + p.left[2]) * p.out_strides[2] + (d + p.left[3]) * p.out_strides[3] +
                            p.left[4];
          memcpy(output + o, input, row);
          input += row;
        }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_PAD_H_
