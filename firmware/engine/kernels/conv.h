// CONV_2D, int8 per-channel: TFLM reference_integer_ops::ConvPerChannel semantics.
//
// Fast path (groups == 1): per output pixel, the whole kh*kw*cin receptive field is
// gathered into `col` (im2col, so one- to three-channel inputs get the same long dot
// product as deep ones) with out-of-image taps set to the input zero point, so that
// (x + input_offset) is 0 there exactly as TFLM skips them; then
// acc = acc_init[oc] + col . w[oc] (dot.h's DotRows), where the generator precomputed
// acc_init = bias + input_offset * sum(w[oc]). Same integers as the reference loop, fewer
// instructions. When the field is contiguous in the input (1-D convs, interior pixels)
// `col` is the input itself and nothing is copied. One-channel DEPTHWISE_CONV_2D (any
// depth multiplier) is the same computation and is lowered to this kernel.
#ifndef BEDSIDE_ENGINE_KERNELS_CONV_H_
#define BEDSIDE_ENGINE_KERNELS_CONV_H_

#include "common.h"
#include "dot.h"

namespace bedside_engine {

struct ConvParams {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
  int32_t k_h, k_w, filter_in_c, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  const int8_t *filter;       // reference loop: [out_c][k_h][k_w][filter_in_c]
  const int32_t *bias;        // reference loop: [out_c] or nullptr
  const int32_t *multiplier;  // reference loop: [out_c]
  const int32_t *shift;       // reference loop: [out_c]
  const int32_t *acc_init;    // fast path: [ceil4(out_c)], bias + input_offset * sum(filter[oc])
  const int32_t *quant;       // fast path: [ceil4(out_c)][kQuantStride]
  const int16_t *filter16;    // fast path, DSP builds: see Dot4x16
  const int8_t *filter8;      // fast path, portable builds: see Dot4x8
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

// Where the receptive field of the output pixel at (y0, x0) lies contiguous in the input
// (1-D convs, interior pixels), or nullptr when it must be gathered. `readable`: bytes the
// dot product may read from the start of the field (n, or n rounded up to 4 on the DSP
// path), so a field pointed to in place never reads past the image.
inline const int8_t *FieldInPlace(const ConvParams &p, const int8_t *image, int32_t y0, int32_t x0,
                                  int32_t readable) {
  const int32_t in_w = p.in_w, in_c = p.in_c;
  if (p.k_h == 1 && p.dil_w == 1 && x0 >= 0 && x0 + p.k_w <= in_w && y0 >= 0 && y0 < p.in_h &&
      (y0 * in_w + x0) * in_c + readable <= p.in_h * in_w * in_c)
    return image + (y0 * in_w + x0) * in_c;
  return nullptr;
}

// Gathers the receptive field of one output pixel; returns where it is (col or the input).
inline const int8_t *Im2Col(const ConvParams &p, const int8_t *image, int32_t y0, int32_t x0, int8_t *col,
                            int32_t readable) {
  if (const int8_t *in_place = FieldInPlace(p, image, y0, x0, readable)) return in_place;   // no copy
  const int32_t in_w = p.in_w, in_c = p.in_c, row_bytes = p.k_w * in_c;
  const int8_t pad = static_cast<int8_t>(-p.input_offset);
  const bool row_inside = p.dil_w == 1 && x0 >= 0 && x0 + p.k_w <= in_w;
  int8_t *dst = col;
  for (int32_t ky = 0; ky < p.k_h; ++ky, dst += row_bytes) {
    const int32_t y = y0 + p.dil_h * ky;
    if (y < 0 || y >= p.in_h) {
      FillSmall(dst, pad, row_bytes);
    } else if (row_inside) {                                  // whole row inside: one copy
      CopySmall(dst, image + (y * in_w + x0) * in_c, row_bytes);
    } else if (p.dil_w == 1) {                                // row clipped: pad, copy, pad
      const int32_t kx0 = x0 < 0 ? -x0 : 0, kx1 = in_w - x0 < p.k_w ? in_w - x0 : p.k_w;
      if (kx1 <= kx0) {
        FillSmall(dst, pad, row_bytes);
      } else {
        FillSmall(dst, pad, kx0 * in_c);
        CopySmall(dst + kx0 * in_c, image + (y * in_w + x0 + kx0) * in_c, (kx1 - kx0) * in_c);
        FillSmall(dst + kx1 * in_c, pad, (p.k_w - kx1) * in_c);
      }
    } else {
      for (int32_t kx = 0; kx < p.k_w; ++kx) {
        const int32_t x = x0 + p.dil_w * kx;
        if (x < 0 || x >= in_w) FillSmall(dst + kx * in_c, pad, in_c);
        else CopySmall(dst + kx * in_c, image + (y * in_w + x) * in_c, in_c);
      }
    }
  }
  return col;
}

// Whether r pixels split into groups of four and five (so a row's run of in-place fields
// takes a five-pixel pass only where the rest of the run leaves no two- or one-pixel
// remainder: 12 = 4 + 4 + 4, not 5 + 5 + 2).
inline bool FillsWithFoursAndFives(int32_t r) {
  for (int32_t fives = 0; fives < 4 && 5 * fives <= r; ++fives)
    if ((r - 5 * fives) % 4 == 0) return true;
  return false;
}

// col: scratch of 4 * ceil4(k_h * k_w * in_c) bytes (nullptr: reference loop); the first
// quarter holds a gathered field, the others more where four pixels share each weight load
// (RISC-V). kFast: the layer's requantization form (MultiplyByQuantizedMultiplierFast),
// chosen by the generator. kStep, kOutC (RISC-V, form 2, full range; 0: none): the bytes between neighbouring
// pixels' in-place fields and the output channels, for DotRows5Px's immediate offsets.
template <int kFast = 0, bool kFullRange = false, int32_t kStep = 0, int32_t kOutC = 0>
inline void Conv(const ConvParams &p, const int8_t *input, int8_t *output, int8_t *col) {
  if (p.filter_in_c != p.in_c || col == nullptr || p.acc_init == nullptr) {
    ConvReference(p, input, output);
    return;
  }
  const int32_t n = p.k_h * p.k_w * p.in_c;
#if BEDSIDE_ENGINE_DSP
  const int32_t readable = (n + 3) & ~3;
  FillSmall(col + n, 0, readable - n);   // the field's padding meets zero weights
#else
  const int32_t readable = n;
#endif
  const RowsQuant q = {p.acc_init, p.quant, p.output_offset, p.act_min, p.act_max};
  const int32_t out_c = p.out_c, image_bytes = p.in_h * p.in_w * p.in_c;
  int8_t *out = output;
#if BEDSIDE_ENGINE_TWO_PIXELS
  // RISC-V: five pixels per pass where their fields lie in place kStep apart, else four
  // (col holds four gathered fields), then two, then one; pixels in order across rows.
  const int32_t pixels = p.out_h * p.out_w;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *image = input + b * image_bytes;
    int32_t oy = 0, ox = 0, run_row = -1, run_end = 0;
    for (int32_t done = 0; done < pixels;) {
      if constexpr (kStep > 0 && kFast == 2 && kFullRange) {   // five in-place fields of one row
        const int32_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
        if (oy != run_row) {   // where the row's in-place fields end (the right border is gathered)
          run_row = oy;
          run_end = p.out_w;
          while (run_end > ox &&
                 FieldInPlace(p, image, y0, (run_end - 1) * p.stride_w - p.pad_w, readable) == nullptr)
            --run_end;
        }
        if (ox + 5 <= run_end && FillsWithFoursAndFives(run_end - ox - 5)) {
          const int8_t *const first = FieldInPlace(p, image, y0, x0, readable);
          const int8_t *const last = FieldInPlace(p, image, y0, x0 + 4 * p.stride_w, readable);
          if (first != nullptr && last != nullptr && last - first == 4 * kStep && out_c == kOutC) {
            DotRows5Px<kStep, kOutC>(first, p.filter8, n, q, out);
            out += 5 * out_c;
            done += 5;
            if ((ox += 5) == p.out_w) {
              ox = 0;
              ++oy;
            }
            continue;
          }
        }
      }
      const int8_t *x[4];
      int32_t got = 0, gathered = 0;
      while (got < 4 && done + got < pixels) {
        const int32_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
        const int8_t *field = FieldInPlace(p, image, y0, x0, readable);
        if (field == nullptr) {
          field = Im2Col(p, image, y0, x0, col + gathered * readable, readable);
          ++gathered;
        }
        x[got++] = field;
        if (++ox == p.out_w) {
          ox = 0;
          ++oy;
        }
      }
      if (got == 4) {
        DotRows4Px<kFast, kFullRange>(x, p.filter8, n, out_c, q, out);
      } else if (got >= 2) {
        DotRows2Px<kFast, kFullRange>(x[0], x[1], p.filter8, n, out_c, q, out, out + out_c);
        if (got == 3) DotRows<kFast, kFullRange>(x[2], p.filter16, p.filter8, n, out_c, q, out + 2 * out_c);
      } else {
        DotRows<kFast, kFullRange>(x[0], p.filter16, p.filter8, n, out_c, q, out);
      }
      out += got * out_c;
      done += got;
    }
  }
#else
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *image = input + b * image_bytes;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_h;
      for (int32_t ox = 0; ox < p.out_w; ++ox, out += out_c) {
        const int8_t *x = Im2Col(p, image, y0, ox * p.stride_w - p.pad_w, col, readable);
        DotRows<kFast, kFullRange>(x, p.filter16, p.filter8, n, out_c, q, out);
      }
    }
  }
#endif
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_CONV_H_
