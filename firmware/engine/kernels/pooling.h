// AVERAGE_POOL_2D / MAX_POOL_2D, int8: TFLM reference_integer_ops::AveragePool / MaxPool.
#ifndef BEDSIDE_ENGINE_KERNELS_POOLING_H_
#define BEDSIDE_ENGINE_KERNELS_POOLING_H_

#include "common.h"

namespace bedside_engine {

struct PoolParams {
  int32_t batches, in_h, in_w, channels, out_h, out_w;
  int32_t f_h, f_w, stride_h, stride_w, pad_h, pad_w, act_min, act_max;
};

template <bool kMax>
inline void Pool(const PoolParams &p, const int8_t *input, int8_t *output) {
  for (int32_t b = 0; b < p.batches; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_h;
      const int32_t fy0 = y0 < 0 ? -y0 : 0;
      const int32_t fy1 = p.f_h < p.in_h - y0 ? p.f_h : p.in_h - y0;
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_w;
        const int32_t fx0 = x0 < 0 ? -x0 : 0;
        const int32_t fx1 = p.f_w < p.in_w - x0 ? p.f_w : p.in_w - x0;
        for (int32_t c = 0; c < p.channels; ++c) {
          int32_t acc = kMax ? -128 : 0, count = 0;
          for (int32_t fy = fy0; fy < fy1; ++fy) {
            for (int32_t fx = fx0; fx < fx1; ++fx) {
              const int32_t v = input[((b * p.in_h + y0 + fy) * p.in_w + x0 + fx) * p.channels + c];
              if (kMax) { if (v > acc) acc = v; } else { acc += v; }
              ++count;
            }
          }
          if (!kMax) {
            if (count == 0) count = 1;  // TFLM fails the op here; the generator rejects such shapes
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          }
          output[((b * p.out_h + oy) * p.out_w + ox) * p.channels + c] =
              static_cast<int8_t>(Clamp(acc, p.act_min, p.act_max));
        }
      }
    }
  }
}

inline void AveragePool(const PoolParams &p, const int8_t *in, int8_t *out) { Pool<false>(p, in, out); }
inline void MaxPool(const PoolParams &p, const int8_t *in, int8_t *out) { Pool<true>(p, in, out); }

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_POOLING_H_
