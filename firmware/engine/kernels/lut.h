// Element-wise int8 -> int8 ops (LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU,
// int8 QUANTIZE): the output depends on one int8 value only, so the generator
// evaluates TFLM's integer code for all 256 inputs and the device looks it up.
#ifndef BEDSIDE_ENGINE_KERNELS_LUT_H_
#define BEDSIDE_ENGINE_KERNELS_LUT_H_

#include "common.h"

namespace bedside_engine {

inline void Lut(const int8_t *table /* [256], index = input + 128 */, int32_t n,
                const int8_t *input, int8_t *output) {
  for (int32_t i = 0; i < n; ++i) output[i] = table[static_cast<int32_t>(input[i]) + 128];
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_LUT_H_
