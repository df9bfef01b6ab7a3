// CONV_2D, int8 per-channel: TFLM reference_integer_ops::ConvPerChannel semantics.
#ifndef BEDSIDE_ENGINE_KERNELS_CONV_H_
#define BEDSIDE_ENGINE_KERNELS_CONV_H_

#include "common.h"
#include "dot.h"

namespace bedside_engine {

struct ConvParams {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, filter_in_c, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  const int8_t *filter;       // [out_c][k_h][k_w][filter_in_c]
  const int32_t *bias;        // [out_c] or nullptr
  const int32_t *multiplier;  // [out_c]
  const int32_t *shift;       // [out_c]
};

inline void Conv(const ConvParams &p, const int8_t *input, int8_t *output) {
  const int32_t groups = p.in_c / p.filter_in_c;
  const int32_t per_group = p.out_c / groups;
  for (int32_t b = 0; b < p.batches; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_h;
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_w;
        for (int32_t oc = 0; oc < p.out_c; ++oc) {
          const int32_t g = oc / per_group;
          int32_t acc = 0;
          for (int32_t ky = 0; ky < p.k_h; ++ky) {
            const int32_t y = y0 + p.dil_h * ky;
            if (y < 0 || y >= p.in_h) continue;
            for (int32_t kx = 0; kx < p.k_w; ++kx) {
              const int32_t x = x0 + p.dil_w * kx;
              if (x < 0 || x >= p.in_w) continue;
              const int8_t *in = input + ((b * p.in_h + y) * p.in_w + x) * p.in_c + g * p.filter_in_c;
              const int8_t *w = p.filter + ((oc * p.k_h + ky) * p.k_w + kx) * p.filter_in_c;
              acc += DotOffset(in, w, p.filter_in_c, p.input_offset);
            }
          }
          if (p.bias) acc += p.bias[oc];
          acc = MultiplyByQuantizedMultiplier(acc, p.multiplier[oc], p.shift[oc]) + p.output_offset;
          output[((b * p.out_h + oy) * p.out_w + ox) * p.out_c + oc] =
              static_cast<int8_t>(Clamp(acc, p.act_min, p.act_max));
        }
      }
    }
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_CONV_H_
