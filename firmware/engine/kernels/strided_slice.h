// STRIDED_SLICE, int8, up to 5-D: TFLM reference_ops::StridedSlice. Begin/end/
// stride resolution (masks, negative indices, clamping) happens at generation
// time; the device walks `count[k]` elements per dimension, `step[k]` input
// elements apart (negative for reversed axes), starting at input[start].
#ifndef BEDSIDE_ENGINE_KERNELS_STRIDED_SLICE_H_
#define BEDSIDE_ENGINE_KERNELS_STRIDED_SLICE_H_

#include "common.h"

namespace bedside_engine {

struct StridedSliceParams {
  int32_t count[5];   // output extent per (5-D extended) dimension
  int32_t step[5];    // input element step per dimension
  int32_t start;      // input element index of the first output element
};

inline void StridedSlice(const StridedSliceParams &p, const int8_t *input, int8_t *output) {
  for (int32_t a = 0; a < p.count[0]; ++a)
    for (int32_t b = 0; b < p.count[1]; ++b)
      for (int32_t c = 0; c < p.count[2]; ++c)
        for (int32_t d = 0; d < p.count[3]; ++d) {
          const int8_t *in = input + p.start + a * p.step[0] + b * p.step[1] + c * p.step[2] + d * p.step[3];
          if (p.step[4] == 1) {
            memcpy(output, in, static_cast<size_t>(p.count[4]));
            output += p.count[4];
          } else {
            for (int32_t e = 0; e < p.count[4]; ++e) *output++ = in[e * p.step[4]];
          }
        }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_STRIDED_SLICE_H_
