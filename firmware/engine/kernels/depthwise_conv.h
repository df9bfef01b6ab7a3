// DEPTHWISE_CONV_2D, int8 per-channel: TFLM reference_integer_ops::DepthwiseConvPerChannel.
#ifndef BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_
#define BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_

#include "common.h"
#include "dot.h"

namespace bedside_engine {

struct DepthwiseParams {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, depth_multiplier;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  const int8_t *filter;       // [1][k_h][k_w][out_c]
  const int32_t *bias;        // [out_c] or nullptr
  const int32_t *multiplier;  // [out_c]
  const int32_t *shift;       // [out_c]
  const int32_t *acc_init;    // [out_c]: bias + input_offset * sum over taps of w (DSP path)
  const int16_t *filter16;    // DSP builds, multiplier 1, out_c % 4 == 0: per tap, per group of
                              // 4 channels, int16 w0 w2 w1 w3 (pairs SXTB16's lanes)
  int32_t right_shift_only;   // 1 when every shift <= 0
};

#if BEDSIDE_ENGINE_DSP
// Four channels per input word: SXTB16 splits bytes (c, c+2) and (c+1, c+3); SMLABB/SMLATT
// accumulate each lane into its own channel. Taps outside the image read the input zero
// point, whose (x + input_offset) is 0, so acc_init can hold input_offset * sum(all taps).
inline void DepthwiseConvDsp(const DepthwiseParams &p, const int8_t *input, int8_t *output) {
  const uint8_t zp = static_cast<uint8_t>(-p.input_offset);
  const uint32_t pad_word = zp * 0x01010101u;
  const int32_t c_n = p.in_c, taps = p.k_h * p.k_w;
  const int32_t *const init = p.acc_init, *const mult = p.multiplier, *const shift = p.shift;
  const int32_t out_off = p.output_offset, lo = p.act_min, hi = p.act_max;
  const bool right_shift_only = p.right_shift_only != 0;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *image = input + b * p.in_h * p.in_w * c_n;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_h;
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int32_t x0 = ox * p.stride_w - p.pad_w;
        int8_t *out = output + ((b * p.out_h + oy) * p.out_w + ox) * c_n;
        for (int32_t c = 0; c < c_n; c += 4) {
          int32_t a0 = init[c], a1 = init[c + 1], a2 = init[c + 2], a3 = init[c + 3];
          const int16_t *w = p.filter16 + c * taps;
          for (int32_t ky = 0; ky < p.k_h; ++ky) {
            const int32_t y = y0 + p.dil_h * ky;
            for (int32_t kx = 0; kx < p.k_w; ++kx, w += 4) {
              const int32_t x = x0 + p.dil_w * kx;
              const uint32_t xv = (y < 0 || y >= p.in_h || x < 0 || x >= p.in_w)
                                      ? pad_word : Load32(image + (y * p.in_w + x) * c_n + c);
              const uint32_t xe = __sxtb16(xv), xo = Sxtb16Odd(xv);
              const uint32_t we = LoadW(w), wo = LoadW(w + 2);
              a0 = __smlabb(xe, we, a0);
              a2 = __smlatt(xe, we, a2);
              a1 = __smlabb(xo, wo, a1);
              a3 = __smlatt(xo, wo, a3);
            }
          }
          const int32_t a[4] = {a0, a1, a2, a3};
          for (int32_t k = 0; k < 4; ++k) {
            const int32_t v = right_shift_only
                                  ? MultiplyByQuantizedMultiplierRightShift(a[k], mult[c + k], -shift[c + k])
                                  : MultiplyByQuantizedMultiplier(a[k], mult[c + k], shift[c + k]);
            out[c + k] = static_cast<int8_t>(Clamp(v + out_off, lo, hi));
          }
        }
      }
    }
  }
}
#endif

inline void DepthwiseConv(const DepthwiseParams &p, const int8_t *input, int8_t *output) {
#if BEDSIDE_ENGINE_DSP
  if (p.filter16 != nullptr && p.acc_init != nullptr) {
    DepthwiseConvDsp(p, input, output);
    return;
  }
#endif
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
