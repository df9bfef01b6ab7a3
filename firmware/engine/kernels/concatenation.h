// CONCATENATION, int8 (inputs share the output's quantization, as TFLM requires):
// reference_ops::Concatenation, a strided copy.
#ifndef BEDSIDE_ENGINE_KERNELS_CONCATENATION_H_
#define BEDSIDE_ENGINE_KERNELS_CONCATENATION_H_

#include "common.h"

namespace bedside_engine {

// copy_bytes[i]: bytes of input i per outer step (its axis extent * inner size).
inline void Concatenation(int32_t num_inputs, const int8_t *const *inputs, const int32_t *copy_bytes,
                          int32_t outer, int8_t *output) {
  for (int32_t o = 0; o < outer; ++o)
    for (int32_t i = 0; i < num_inputs; ++i) {
      memcpy(output, inputs[i] + o * copy_bytes[i], static_cast<size_t>(copy_bytes[i]));
      output += copy_bytes[i];
    }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_CONCATENATION_H_
