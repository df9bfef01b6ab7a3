// DEPTHWISE_CONV_2D, int8 per-channel: TFLM reference_integer_ops::DepthwiseConvPerChannel.
#ifndef BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_
#define BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_

#include "common.h"

namespace bedside_engine {

struct DepthwiseParams {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, depth_multiplier;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  const int8_t *filter;       // [1][k_h][k_w][out_c]
  const int32_t *bias;        // [out_c] or nullptr
  const int32_t *multiplier;  // [out_c]
  const int32_t *shift;       // [out_c]
};

inline void DepthwiseConv(const DepthwiseParams &p, const int8_t *input, int8_t *output) {
  for (int32_t b = 0; b < p.batches; ++b) {
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_h;
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_w;
        int8_t *out = output + ((b * p.out_h + oy) * p.out_w + ox) * p.out_c;
        for (int32_t ic = 0; ic < p.in_c; ++ic) {
          for (int32_t m = 0; m < p.depth_multiplier; ++m) {
            const int32_t oc = m + ic * p.depth_multiplier;
            int32_t acc = 0;
            for (int32_t ky = 0; ky < p.k_h; ++ky) {
              const int32_t y = y0 + p.dil_h * ky;
              if (y < 0 || y >= p.in_h) continue;
              for (int32_t kx = 0; kx < p.k_w; ++kx) {
                const int32_t x = x0 + p.dil_w * kx;
                if (x < 0 || x >= p.in_w) continue;
                const int32_t v = input[((b * p.in_h + y) * p.in_w + x) * p.in_c + ic];
                const int32_t w = p.filter[(ky * p.k_w + kx) * p.out_c + oc];
                acc += w * (v + p.input_offset);
              }
            }
            if (p.bias) acc += p.bias[oc];
            acc = MultiplyByQuantizedMultiplier(acc, p.multiplier[oc], p.shift[oc]) + p.output_offset;
            out[oc] = static_cast<int8_t>(Clamp(acc, p.act_min, p.act_max));
          }
        }
      }
    }
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_
