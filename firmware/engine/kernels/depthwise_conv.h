// DEPTHWISE_CONV_2D, int8 per-channel: TFLM reference_integer_ops::DepthwiseConvPerChannel.
//
// Fast path (constant weights): per output pixel the taps are read in place for interior
// pixels of multiplier-1 layers, and otherwise from `col` (the receptive field gathered with
// out-of-image taps set to the input zero point, whose x + input_offset is 0, exactly as
// TFLM skips them, and each input channel repeated depth_multiplier times), so the tap
// loop has no bounds checks and the generator folds input_offset * sum(w) into acc_init. Four channels per pass: on DSP cores one word
// of input feeds four channels through SXTB16 and SMLABB/SMLATT. One-channel inputs (any
// depth multiplier, e.g. micro_speech's first layer) are lowered to CONV_2D's kernel.
#ifndef BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_
#define BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_

#include "common.h"
#include "dot.h"

namespace bedside_engine {

struct DepthwiseParams {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, depth_multiplier;
  int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  const int8_t *filter;       // reference loop: [1][k_h][k_w][out_c]
  const int32_t *bias;        // reference loop: [out_c] or nullptr
  const int32_t *multiplier;  // reference loop: [out_c]
  const int32_t *shift;       // reference loop: [out_c]
  const int32_t *acc_init;    // fast path: [ceil4(out_c)], bias + input_offset * sum over taps of w
  const int32_t *quant;       // fast path: [ceil4(out_c)][kQuantStride]
  const int16_t *filter16;    // fast path, DSP builds, channels % 4 == 0: per 4 channels, per tap,
                              // int16 w0 w2 w1 w3 (pairs SXTB16's lanes)
  const int8_t *filter8;      // fast path otherwise: per 4 channels, per tap, w0 w1 w2 w3
};

// The reference loop (non-constant weights).
inline void DepthwiseConvReference(const DepthwiseParams &p, const int8_t *input, int8_t *output) {
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

// Gathers a pixel's taps into col ([k_h][k_w][out_c]), padding with the zero point; with a
// depth multiplier M each input channel is repeated M times (output channel ic * M + m
// reads input channel ic), so the tap loop below is the same for every multiplier.
inline void DepthwiseGather(const DepthwiseParams &p, const int8_t *image, int32_t y0, int32_t x0, int8_t *col) {
  const int32_t c_n = p.in_c, mult = p.depth_multiplier, out_c = p.out_c;
  const int8_t pad = static_cast<int8_t>(-p.input_offset);
  for (int32_t ky = 0; ky < p.k_h; ++ky) {
    const int32_t y = y0 + p.dil_h * ky;
    for (int32_t kx = 0; kx < p.k_w; ++kx, col += out_c) {
      const int32_t x = x0 + p.dil_w * kx;
      if (y < 0 || y >= p.in_h || x < 0 || x >= p.in_w) {
        FillSmall(col, pad, out_c);
      } else if (mult == 1) {
        CopySmall(col, image + (y * p.in_w + x) * c_n, c_n);
      } else {
        const int8_t *src = image + (y * p.in_w + x) * c_n;
        int8_t *dst = col;
        for (int32_t ic = 0; ic < c_n; ++ic, dst += mult) FillSmall(dst, src[ic], mult);
      }
    }
  }
}

// One output pixel, all channels. src: the first tap of channel 0; taps at
// src + ky * row_step + kx * tap_step. kKw: the kernel width when the generator fixed it
// (the tap loop is then unrolled), else 0.
template <bool kFast, bool kFullRange, int32_t kKw>
inline void DepthwisePixel(const DepthwiseParams &p, const int8_t *src, int32_t row_step, int32_t tap_step,
                           int8_t *out) {
  const int32_t c_n = p.out_c, k_h = p.k_h, k_w = kKw > 0 ? kKw : p.k_w, taps = k_h * k_w;
  const int32_t *const init = p.acc_init, *const quant = p.quant;
  const int32_t out_off = p.output_offset, lo = p.act_min, hi = p.act_max;
#if BEDSIDE_ENGINE_DSP
  if (p.filter16 != nullptr) {
    const int16_t *w = p.filter16;
    for (int32_t c = 0; c < c_n; c += 4) {
      int32_t a0 = init[c], a1 = init[c + 1], a2 = init[c + 2], a3 = init[c + 3];
      const int8_t *row = src + c;
      for (int32_t ky = 0; ky < k_h; ++ky, row += row_step) {
        const int8_t *tap = row;
        for (int32_t kx = 0; kx < k_w; ++kx, tap += tap_step, w += 4) {
          const uint32_t xv = Load32(tap);
          const uint32_t xe = __sxtb16(xv), xo = Sxtb16Odd(xv);
          uint32_t we, wo;   // one LDRD: the tap's four int16 weights (8-byte aligned)
          __asm__("ldrd %0, %1, [%2]" : "=r"(we), "=r"(wo) : "r"(w), "m"(*reinterpret_cast<const int16_t(*)[4]>(w)));
          a0 = __smlabb(xe, we, a0);
          a2 = __smlatt(xe, we, a2);
          a1 = __smlabb(xo, wo, a1);
          a3 = __smlatt(xo, wo, a3);
        }
      }
      out[c] = RequantizeToInt8<kFast, kFullRange>(a0, quant + c * kQuantStride, out_off, lo, hi);
      out[c + 1] = RequantizeToInt8<kFast, kFullRange>(a1, quant + (c + 1) * kQuantStride, out_off, lo, hi);
      out[c + 2] = RequantizeToInt8<kFast, kFullRange>(a2, quant + (c + 2) * kQuantStride, out_off, lo, hi);
      out[c + 3] = RequantizeToInt8<kFast, kFullRange>(a3, quant + (c + 3) * kQuantStride, out_off, lo, hi);
    }
    return;
  }
#endif
  const int8_t *w = p.filter8;
  for (int32_t c = 0; c < c_n; c += 4, w += 4 * taps) {
    int32_t a[4] = {init[c], init[c + 1], init[c + 2], init[c + 3]};
    const int32_t m = c_n - c < 4 ? c_n - c : 4;
    const int8_t *row = src + c;
    const int8_t *wt = w;
    if (m == 4) {
      for (int32_t ky = 0; ky < k_h; ++ky, row += row_step) {
        const int8_t *tap = row;
        for (int32_t kx = 0; kx < k_w; ++kx, tap += tap_step, wt += 4) {
          a[0] += tap[0] * wt[0];
          a[1] += tap[1] * wt[1];
          a[2] += tap[2] * wt[2];
          a[3] += tap[3] * wt[3];
        }
      }
    } else {   // the last, partial group of channels: stay inside the input
      for (int32_t ky = 0; ky < k_h; ++ky, row += row_step) {
        const int8_t *tap = row;
        for (int32_t kx = 0; kx < k_w; ++kx, tap += tap_step, wt += 4)
          for (int32_t k = 0; k < m; ++k) a[k] += tap[k] * wt[k];
      }
    }
    for (int32_t k = 0; k < m; ++k)
      out[c + k] = RequantizeToInt8<kFast, kFullRange>(a[k], quant + (c + k) * kQuantStride, out_off, lo, hi);
  }
}

// col: scratch of ceil4(k_h * k_w * out_c) bytes for gathered pixels (nullptr: reference
// loop). kFast, kFullRange: the layer's requantization form; kKw: k_w or 0.
template <bool kFast = false, bool kFullRange = false, int32_t kKw = 0>
inline void DepthwiseConv(const DepthwiseParams &p, const int8_t *input, int8_t *output, int8_t *col) {
  if (p.acc_init == nullptr || col == nullptr) {
    DepthwiseConvReference(p, input, output);
    return;
  }
  const int32_t c_n = p.in_c, out_c = p.out_c, in_h = p.in_h, in_w = p.in_w;
  const bool in_place = p.depth_multiplier == 1;   // else every pixel is gathered (channels repeated)
  const int32_t span_h = (p.k_h - 1) * p.dil_h, span_w = (p.k_w - 1) * p.dil_w;
  int8_t *out = output;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *image = input + b * in_h * in_w * c_n;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_h;
      const bool rows_inside = y0 >= 0 && y0 + span_h < in_h;
      for (int32_t ox = 0; ox < p.out_w; ++ox, out += out_c) {
        const int32_t x0 = ox * p.stride_w - p.pad_w;
        if (in_place && rows_inside && x0 >= 0 && x0 + span_w < in_w) {
          DepthwisePixel<kFast, kFullRange, kKw>(p, image + (y0 * in_w + x0) * c_n, p.dil_h * in_w * c_n, p.dil_w * c_n, out);
        } else {
          DepthwiseGather(p, image, y0, x0, col);
          DepthwisePixel<kFast, kFullRange, kKw>(p, col, p.k_w * out_c, out_c, out);
        }
      }
    }
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_
