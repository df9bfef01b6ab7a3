// FULLY_CONNECTED, int8 (per-tensor or per-channel): TFLM reference_integer_ops::FullyConnected.
// acc_init = bias + input_offset * sum(w[oc]) is precomputed by the generator (weights
// zero point 0), leaving a pure int8 dot product per output.
#ifndef BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_
#define BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_

#include "common.h"
#include "dot.h"

namespace bedside_engine {

struct FullyConnectedParams {
  int32_t batches, depth, out_c;
  int32_t output_offset, act_min, act_max;
  const int8_t *filter;       // [out_c][depth]
  const int32_t *acc_init;    // [out_c]: bias + input_offset * sum(filter[oc])
  const int32_t *multiplier;  // [out_c] (per-tensor models repeat one value)
  const int32_t *shift;       // [out_c]
};

inline void FullyConnected(const FullyConnectedParams &p, const int8_t *input, int8_t *output) {
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *in = input + b * p.depth;
    for (int32_t oc = 0; oc < p.out_c; ++oc) {
      int32_t acc = p.acc_init[oc] + Dot(in, p.filter + oc * p.depth, p.depth);
      acc = MultiplyByQuantizedMultiplier(acc, p.multiplier[oc], p.shift[oc]) + p.output_offset;
      output[b * p.out_c + oc] = static_cast<int8_t>(Clamp(acc, p.act_min, p.act_max));
    }
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_
