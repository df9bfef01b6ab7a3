// CONV_2D, int8 per-channel: TFLM reference_integer_ops::ConvPerChannel semantics.
//
// Fast path (groups == 1): per output pixel, the receptive field is gathered into `col`
// (im2col) with out-of-image taps set to the input zero point, so that (x + input_offset)
// is 0 there exactly as TFLM skips them; then acc = acc_init[oc] + col . w[oc], where the
// generator precomputed acc_init = bias + input_offset * sum(w[oc]). Same integers as the
// reference loop, fewer instructions. When the field is contiguous in the input (1-D
// convs, interior pixels) `col` is the input itself and nothing is copied.
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
  const int32_t *multiplier;  // [ceil4(out_c)]
  const int32_t *shift;       // [ceil4(out_c)]
  const int32_t *acc_init;    // [ceil4(out_c)]: bias + input_offset * sum(filter[oc]) (fast path)
  const int16_t *filter16;    // DSP builds: [ceil4(out_c)][ceil4(k_h*k_w*in_c)] int16, see Dot4x16
  int32_t right_shift_only;   // 1 when every shift <= 0 (cheaper requantization)
};

// The reference loop (grouped convolutions, and the definition the fast path must equal).
inline void ConvReference(const ConvParams &p, const int8_t *input, int8_t *output) {
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
              for (int32_t c = 0; c < p.filter_in_c; ++c) acc += w[c] * (in[c] + p.input_offset);
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

// Gathers the receptive field of one output pixel; returns where it is (col or the input).
// `readable`: bytes the dot product may read from the start of the field (n, or n rounded
// up to 4 on the DSP path), so a field pointed to in place never reads past the image.
inline const int8_t *Im2Col(const ConvParams &p, const int8_t *image, int32_t y0, int32_t x0, int8_t *col,
                            int32_t readable) {
  const int32_t row_bytes = p.k_w * p.in_c;
  const int8_t pad = static_cast<int8_t>(-p.input_offset);
  if (p.k_h == 1 && p.dil_w == 1 && y0 >= 0 && y0 < p.in_h && x0 >= 0 && x0 + p.k_w <= p.in_w &&
      (y0 * p.in_w + x0) * p.in_c + readable <= p.in_h * p.in_w * p.in_c)
    return image + (y0 * p.in_w + x0) * p.in_c;                 // contiguous: no copy
  int8_t *dst = col;
  for (int32_t ky = 0; ky < p.k_h; ++ky) {
    const int32_t y = y0 + p.dil_h * ky;
    if (y < 0 || y >= p.in_h) {
      memset(dst, pad, static_cast<size_t>(row_bytes));
      dst += row_bytes;
      continue;
    }
    if (p.dil_w == 1 && x0 >= 0 && x0 + p.k_w <= p.in_w) {   // whole row inside: one copy
      memcpy(dst, image + (y * p.in_w + x0) * p.in_c, static_cast<size_t>(row_bytes));
      dst += row_bytes;
      continue;
    }
    for (int32_t kx = 0; kx < p.k_w; ++kx) {
      const int32_t x = x0 + p.dil_w * kx;
      if (x < 0 || x >= p.in_w) memset(dst, pad, static_cast<size_t>(p.in_c));
      else memcpy(dst, image + (y * p.in_w + x) * p.in_c, static_cast<size_t>(p.in_c));
      dst += p.in_c;
    }
  }
  return col;
}

inline int8_t Requantize(const ConvParams &p, int32_t acc, int32_t oc) {
  acc = MultiplyByQuantizedMultiplier(acc, p.multiplier[oc], p.shift[oc]) + p.output_offset;
  return static_cast<int8_t>(Clamp(acc, p.act_min, p.act_max));
}

// col: scratch of ceil4(k_h * k_w * in_c) bytes (nullptr: reference loop). kN4: that
// size when the generator knows it (constant offsets in the DSP loop), else 0.
template <int32_t kN4 = 0>
inline void Conv(const ConvParams &p, const int8_t *input, int8_t *output, int8_t *col) {
  if (p.filter_in_c != p.in_c || col == nullptr || p.acc_init == nullptr) {
    ConvReference(p, input, output);
    return;
  }
  const int32_t n = p.k_h * p.k_w * p.in_c;
#if BEDSIDE_ENGINE_DSP
  if (p.filter16 != nullptr) {
    // Hot values in locals: stores to int8 outputs may alias anything, which would make the
    // compiler reload every field of `p` after each store.
    const int32_t n4 = kN4 > 0 ? kN4 : ((n + 3) & ~3), out_c = p.out_c;
    const int32_t *const mult = p.multiplier, *const shift = p.shift, *const init = p.acc_init;
    const int32_t out_off = p.output_offset, lo = p.act_min, hi = p.act_max;
    const int16_t *const w16 = p.filter16;
    const bool right_shift_only = p.right_shift_only != 0;
    memset(col + n, 0, static_cast<size_t>(n4 - n));   // padding taps meet zero weights
    for (int32_t b = 0; b < p.batches; ++b) {
      const int8_t *image = input + b * p.in_h * p.in_w * p.in_c;
      for (int32_t oy = 0; oy < p.out_h; ++oy) {
        for (int32_t ox = 0; ox < p.out_w; ++ox) {
          const int8_t *x = Im2Col(p, image, oy * p.stride_h - p.pad_h, ox * p.stride_w - p.pad_w, col, n4);
          int8_t *out = output + ((b * p.out_h + oy) * p.out_w + ox) * out_c;
          // acc_init/multiplier/shift have ceil4(out_c) entries (zero padded) on this path.
          for (int32_t oc = 0; oc < out_c; oc += 4) {
            int32_t a[4] = {init[oc], init[oc + 1], init[oc + 2], init[oc + 3]};
            Dot4x16<kN4>(x, w16 + oc * n4, n4, a);
            const int32_t m = out_c - oc < 4 ? out_c - oc : 4;
            if (right_shift_only) {
              for (int32_t k = 0; k < m; ++k)
                out[oc + k] = static_cast<int8_t>(Clamp(
                    MultiplyByQuantizedMultiplierRightShift(a[k], mult[oc + k], -shift[oc + k]) + out_off, lo, hi));
            } else {
              for (int32_t k = 0; k < m; ++k)
                out[oc + k] = static_cast<int8_t>(
                    Clamp(MultiplyByQuantizedMultiplier(a[k], mult[oc + k], shift[oc + k]) + out_off, lo, hi));
            }
          }
        }
      }
    }
    return;
  }
#endif
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *image = input + b * p.in_h * p.in_w * p.in_c;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      for (int32_t ox = 0; ox < p.out_w; ++ox) {
        const int8_t *x = Im2Col(p, image, oy * p.stride_h - p.pad_h, ox * p.stride_w - p.pad_w, col, n);
        int8_t *out = output + ((b * p.out_h + oy) * p.out_w + ox) * p.out_c;
        int32_t oc = 0;
        for (; oc + 4 <= p.out_c; oc += 4) {
          int32_t a[4] = {p.acc_init[oc], p.acc_init[oc + 1], p.acc_init[oc + 2], p.acc_init[oc + 3]};
          Dot4(x, p.filter + oc * n, n, a);
          for (int32_t k = 0; k < 4; ++k) out[oc + k] = Requantize(p, a[k], oc + k);
        }
        for (; oc + 2 <= p.out_c; oc += 2) {
          int32_t a0 = p.acc_init[oc], a1 = p.acc_init[oc + 1];
          Dot2(x, p.filter + oc * n, p.filter + (oc + 1) * n, n, &a0, &a1);
          out[oc] = Requantize(p, a0, oc);
          out[oc + 1] = Requantize(p, a1, oc + 1);
        }
        if (oc < p.out_c) out[oc] = Requantize(p, p.acc_init[oc] + Dot(x, p.filter + oc * n, n), oc);
      }
    }
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_CONV_H_
