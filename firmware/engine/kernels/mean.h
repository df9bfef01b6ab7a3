// MEAN, int8: TFLM reference_ops::QuantizedMeanOrSum (compute_sum=false). The
// 1/count factor is folded into multiplier/shift by the generator, as TFLM does.
#ifndef BEDSIDE_ENGINE_KERNELS_MEAN_H_
#define BEDSIDE_ENGINE_KERNELS_MEAN_H_

#include "common.h"

namespace bedside_engine {

struct MeanParams {
  int32_t dims[4];        // input shape, extended to 4-D
  int32_t out_stride[4];  // output stride per input dim, 0 on reduced dims
  int32_t num_outputs, num_in_axis;
  int32_t input_zp, output_zp, multiplier, shift;
};

inline void Mean(const MeanParams &p, const int8_t *input, int8_t *output, int32_t *scratch) {
  for (int32_t i = 0; i < p.num_outputs; ++i) scratch[i] = 0;
  const int8_t *in = input;
  for (int32_t a = 0; a < p.dims[0]; ++a)
    for (int32_t b = 0; b < p.dims[1]; ++b)
      for (int32_t c = 0; c < p.dims[2]; ++c)
        for (int32_t d = 0; d < p.dims[3]; ++d) {
          const int32_t o = a * p.out_stride[0] + b * p.out_stride[1] + c * p.out_stride[2] + d * p.out_stride[3];
          // TFLM sums with wrap-around (AddTensorValuesWithExpectedOverflow).
          scratch[o] = static_cast<int32_t>(static_cast<uint32_t>(scratch[o]) + static_cast<uint32_t>(*in++));
        }
  for (int32_t i = 0; i < p.num_outputs; ++i) {
    const int32_t shifted = static_cast<int32_t>(static_cast<int64_t>(scratch[i]) -
                                                 static_cast<int64_t>(p.input_zp) * p.num_in_axis);
    const int32_t v = MultiplyByQuantizedMultiplier(shifted, p.multiplier, p.shift) + p.output_zp;
    output[i] = static_cast<int8_t>(Clamp(v, -128, 127));
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_MEAN_H_
