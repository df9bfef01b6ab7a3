// FULLY_CONNECTED, int8 (per-tensor or per-channel): TFLM reference_integer_ops::FullyConnected.
#ifndef BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_
#define BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_

#include "common.h"
#include "dot.h"

namespace bedside_engine {

struct FullyConnectedParams {
  int32_t batches, depth, out_c;
  int32_t input_offset, filter_offset, output_offset, act_min, act_max;
  const int8_t *filter;       // [out_c][depth]
  const int32_t *bias;        // [out_c] or nullptr
  const int32_t *multiplier;  // [out_c] (per-tensor models repeat one value)
  const int32_t *shift;       // [out_c]
};

inline void FullyConnected(const FullyConnectedParams &p, const int8_t *input, int8_t *output) {
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *in = input + b * p.depth;
    for (int32_t oc = 0; oc < p.out_c; ++oc) {
      const int8_t *w = p.filter + oc * p.depth;
      int32_t acc;
      if (p.filter_offset == 0) {
        acc = DotOffset(in, w, p.depth, p.input_offset);
      } else {
        acc = 0;
        for (int32_t d = 0; d < p.depth; ++d)
          acc += (w[d] + p.filter_offset) * (in[d] + p.input_offset);
      }
      if (p.bias) acc += p.bias[oc];
      acc = MultiplyByQuantizedMultiplier(acc, p.multiplier[oc], p.shift[oc]) + p.output_offset;
      output[b * p.out_c + oc] = static_cast<int8_t>(Clamp(acc, p.act_min, p.act_max));
    }
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_
