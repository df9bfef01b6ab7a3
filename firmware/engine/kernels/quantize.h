// QUANTIZE (float32 -> int8) and DEQUANTIZE (int8 -> float32): TFLM reference
// AffineQuantize / Dequantize. Only these two kernels touch floating point.
#ifndef BEDSIDE_ENGINE_KERNELS_QUANTIZE_H_
#define BEDSIDE_ENGINE_KERNELS_QUANTIZE_H_

#include <math.h>

#include "common.h"

namespace bedside_engine {

inline void Quantize(float scale, int32_t zero_point, int32_t n, const float *input, int8_t *output) {
  for (int32_t i = 0; i < n; ++i) {
    const float r = roundf(input[i] / scale);   // TfLiteRound: half away from zero
    int64_t v;
    if (!(r > -2147483648.0f)) v = INT32_MIN;    // NaN and overflow saturate
    else if (r >= 2147483648.0f) v = INT32_MAX;
    else v = static_cast<int32_t>(r);
    v += zero_point;
    v = v < -128 ? -128 : (v > 127 ? 127 : v);
    output[i] = static_cast<int8_t>(v);
  }
}

inline void Dequantize(float scale, int32_t zero_point, int32_t n, const int8_t *input, float *output) {
  for (int32_t i = 0; i < n; ++i)
    output[i] = scale * static_cast<float>(static_cast<int32_t>(input[i]) - zero_point);
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_QUANTIZE_H_
