// DEPTHWISE_CONV_2D, int8 per-channel: TFLM reference_integer_ops::DepthwiseConvPerChannel.
//
// Constant weights take a fast path with no bounds checks in the tap loop and four
// channels per pass (on DSP cores one word of input feeds four channels through SXTB16
// and SMLABB/SMLATT):
//  - depth multiplier 1 (DepthwiseConvM1): taps are read in place. Interior pixels start
//    from acc_init = bias + input_offset * sum(w) (folded by the generator) and add x * w;
//    border pixels clip the kernel window to the image, start from the bias and add
//    (x + input_offset) * w over the taps inside, exactly TFLM's sum.
//  - depth multiplier > 1 (DepthwiseConv): each pixel's field is gathered into `col` with
//    every input channel repeated depth_multiplier times and out-of-image taps set to the
//    input zero point (whose x + input_offset is 0, as TFLM skips them).
// One-channel inputs (any depth multiplier, e.g. micro_speech's first layer) are lowered
// to CONV_2D's kernel.
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
  const int16_t *filter16;    // fast path, DSP builds, channels % 4 == 0: per 4
                              // channels (zero padded), per tap, int16 w0 w2 w1 w3 (SXTB16's lanes)
  const int8_t *filter8;      // fast path otherwise: per 4 channels, per tap, w0 w1 w2 w3
  const int32_t *block16;     // multiplier-1 fast path, DSP builds: per 4 channels, a DepthwiseBlock
  const int32_t *block8;      // multiplier-1 fast path, portable builds: the same, int8 weights
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
template <int kFast, bool kFullRange, int32_t kKw>
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
template <int kFast = 0, bool kFullRange = false, int32_t kKw = 0>
inline void DepthwiseConv(const DepthwiseParams &p, const int8_t *input, int8_t *output, int8_t *col) {
  if (p.acc_init == nullptr || col == nullptr) {
    DepthwiseConvReference(p, input, output);
    return;
  }
  const int32_t c_n = p.in_c, out_c = p.out_c, in_h = p.in_h, in_w = p.in_w;
  int8_t *out = output;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *image = input + b * in_h * in_w * c_n;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_h;
      for (int32_t ox = 0; ox < p.out_w; ++ox, out += out_c) {
        DepthwiseGather(p, image, y0, ox * p.stride_w - p.pad_w, col);
        DepthwisePixel<kFast, kFullRange, kKw>(p, col, p.k_w * out_c, out_c, out);
      }
    }
  }
}

// --- depth multiplier 1 ------------------------------------------------------------------

// The kernel taps [*k0, *k1) along one axis whose input index i0 + dil * k lies in [0, size).
inline void DepthwiseTapRange(int32_t i0, int32_t dil, int32_t k, int32_t size, int32_t *k0, int32_t *k1) {
  const int32_t lo = i0 < 0 ? (-i0 + dil - 1) / dil : 0;
  const int32_t last = size - 1 - i0;   // the largest dil * k inside the image
  int32_t hi = last < 0 ? 0 : (last / dil + 1 < k ? last / dil + 1 : k);
  *k0 = lo;
  *k1 = hi < lo ? lo : hi;
}

#if BEDSIDE_ENGINE_DSP
using DepthwiseWeight = int16_t;   // per tap w0 w2 w1 w3 (SXTB16's lanes)
#else
using DepthwiseWeight = int8_t;    // per tap w0 w1 w2 w3
#endif

// Multiplier 1: everything one group of four channels needs, in one generator-made block of
// int32 words, so a single pointer walks the groups: acc_init[4] (bias + input_offset *
// sum(w)), bias[4], quant[4][kQuantStride], then per tap the four weights (two words of
// int16 on DSP builds, one word of int8 otherwise). Channels past out_c are zero.
constexpr int32_t kDwBias = 4, kDwQuant = 8, kDwWeights = 8 + 4 * kQuantStride;
constexpr int32_t kDwTapWords = static_cast<int32_t>(4 * sizeof(DepthwiseWeight) / 4);

// One tap of four channels: acc += x * w, or with kOffset (x + input_offset) * w.
template <bool kOffset>
inline void DepthwiseTap4(const int8_t *tap, const DepthwiseWeight *wt, uint32_t off, int32_t &a0, int32_t &a1,
                          int32_t &a2, int32_t &a3) {
#if BEDSIDE_ENGINE_DSP
  // off: the input offset in both halfwords; SXTAB16 adds it while sign-extending
  // (x + offset fits 16 bits).
  const uint32_t xv = Load32(tap);
  const uint32_t xe = kOffset ? __sxtab16(off, xv) : __sxtb16(xv);
  const uint32_t xo = kOffset ? Sxtab16Odd(off, xv) : Sxtb16Odd(xv);
  uint64_t w64;   // the tap's four int16 weights, word aligned: one LDRD
  memcpy(&w64, __builtin_assume_aligned(wt, 4), 8);
  const uint32_t we = static_cast<uint32_t>(w64), wo = static_cast<uint32_t>(w64 >> 32);
  a0 = __smlabb(xe, we, a0);
  a2 = __smlatt(xe, we, a2);
  a1 = __smlabb(xo, wo, a1);
  a3 = __smlatt(xo, wo, a3);
#else
  const int32_t o = kOffset ? static_cast<int32_t>(off) : 0;
  a0 += (tap[0] + o) * wt[0];
  a1 += (tap[1] + o) * wt[1];
  a2 += (tap[2] + o) * wt[2];
  a3 += (tap[3] + o) * wt[3];
#endif
}

// acc[0..3] += the taps of four channels over an nh x nw window (kOffset: see above). row:
// channel 0 of the window's first tap; taps at row + ky * row_step + kx * tap_step; w: that
// tap's four weights, w_row apart per kernel row.
template <bool kOffset>
inline void DepthwiseTaps4(const int8_t *row, int32_t row_step, int32_t tap_step, const DepthwiseWeight *w,
                           int32_t w_row, int32_t nh, int32_t nw, uint32_t off, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (int32_t ky = 0; ky < nh; ++ky, row += row_step, w += w_row) {
    const int8_t *tap = row;
    const DepthwiseWeight *wt = w;
    for (int32_t kx = 0; kx < nw; ++kx, tap += tap_step, wt += 4) DepthwiseTap4<kOffset>(tap, wt, off, a0, a1, a2, a3);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

// The whole kH x kW kernel, fixed at compile time: fully unrolled, weights at constant
// offsets, and when the generator also fixes the input steps (kTap, kRow: bytes between
// taps and kernel rows, 0: runtime) every tap is an immediate offset from `row`. On DSP
// cores each tap is one assembly block (LDR, two SXTB16, LDRD, four SMLAxy): written out,
// the compiler hoists every load ahead and spills the accumulators.
// blk: the group's block (the weights at kDwWeights words), so one register addresses both
// the weights and, afterwards, the requantization constants.
template <int32_t kH, int32_t kW, int32_t kTap, int32_t kRow>
inline void DepthwiseTaps4Fixed(const int8_t *row, int32_t row_step, int32_t tap_step, const int32_t *blk,
                                int32_t *acc) {
  constexpr bool kImm = kTap > 0 && kRow > 0;
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#pragma GCC unroll 5
  for (int32_t ky = 0; ky < kH; ++ky) {
#pragma GCC unroll 5
    for (int32_t kx = 0; kx < kW; ++kx) {
#if BEDSIDE_ENGINE_DSP
      uint32_t xv, xo, we, wo;
#define BEDSIDE_DW_TAP(LOAD, ...)                                                                              \
  __asm__ volatile(LOAD                                                                                        \
                   "sxtb16 %[xo], %[xv], ror #8\n"                                                             \
                   "sxtb16 %[xv], %[xv]\n"                                                                     \
                   "ldrd %[we], %[wo], [%[w], #%c[o]]\n"                                                       \
                   "smlabb %[a0], %[xv], %[we], %[a0]\n"                                                       \
                   "smlatt %[a2], %[xv], %[we], %[a2]\n"                                                       \
                   "smlabb %[a1], %[xo], %[wo], %[a1]\n"                                                       \
                   "smlatt %[a3], %[xo], %[wo], %[a3]\n"                                                       \
                   : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xv] "=&r"(xv),               \
                     [xo] "=&r"(xo), [we] "=&r"(we), [wo] "=&r"(wo)                                            \
                   : [t] "r"(row), [w] "r"(blk), [o] "n"(4 * kDwWeights + 8 * (ky * kW + kx)), ##__VA_ARGS__   \
                   : "memory")
      if (kImm)
        BEDSIDE_DW_TAP("ldr %[xv], [%[t], #%c[i]]\n", [i] "n"(kImm ? ky * kRow + kx * kTap : 0));
      else if (kx == 0)   // the row's first tap in place, the others at a register offset
        BEDSIDE_DW_TAP("ldr %[xv], [%[t]]\n");
      else
        BEDSIDE_DW_TAP("ldr %[xv], [%[t], %[i]]\n", [i] "r"(kx * tap_step));
#undef BEDSIDE_DW_TAP
#else
      DepthwiseTap4<false>(row + (kImm ? ky * kRow + kx * kTap : kx * tap_step),
                           reinterpret_cast<const DepthwiseWeight *>(blk + kDwWeights) + 4 * (ky * kW + kx), 0, a0, a1,
                           a2, a3);
#endif
    }
    if (!kImm) row += row_step;
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

#if BEDSIDE_ENGINE_TWO_PIXELS && !BEDSIDE_ENGINE_DSP
// Two interior pixels at once (RISC-V, see dot.h's Dot2x8): r0 and r1 are their windows'
// first taps, so each weight byte feeds two MACs (3.5 instructions per MAC against 4);
// acc: [pixel][4]. The kernel as in DepthwiseTaps4Fixed; each tap is one assembly block
// (written out in C, GCC loads every tap ahead and spills). Taps at immediate offsets
// when the generator fixed the input steps and they fit RISC-V's signed 12 bits.
#define BEDSIDE_RV_DW_MAC(k)                                                                                 \
  "lb %[w], %c[wo]+" #k "(%[blk])\n"                                                                          \
  "lb %[x], %c[xo]+" #k "(%[p0])\n"                                                                           \
  "mul %[x], %[x], %[w]\n"                                                                                    \
  "add %[a" #k "], %[a" #k "], %[x]\n"                                                                        \
  "lb %[x], %c[xo]+" #k "(%[p1])\n"                                                                           \
  "mul %[x], %[x], %[w]\n"                                                                                    \
  "add %[b" #k "], %[b" #k "], %[x]\n"
template <int32_t kH, int32_t kW, int32_t kTap, int32_t kRow>
inline void DepthwiseTaps4Fixed2Px(const int8_t *r0, const int8_t *r1, int32_t row_step, int32_t tap_step,
                                   const int32_t *blk, int32_t *acc) {
  constexpr bool kImm = kTap > 0 && kRow > 0 && (kH - 1) * kRow + (kW - 1) * kTap + 3 <= 2047;
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int32_t b0 = acc[4], b1 = acc[5], b2 = acc[6], b3 = acc[7];
#pragma GCC unroll 5
  for (int32_t ky = 0; ky < kH; ++ky) {
#pragma GCC unroll 5
    for (int32_t kx = 0; kx < kW; ++kx) {
      const int32_t at = kImm ? 0 : kx * tap_step;
      int32_t wv, xv;
      __asm__ volatile(BEDSIDE_RV_DW_MAC(0) BEDSIDE_RV_DW_MAC(1) BEDSIDE_RV_DW_MAC(2) BEDSIDE_RV_DW_MAC(3)
                       : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b0] "+r"(b0), [b1] "+r"(b1),
                         [b2] "+r"(b2), [b3] "+r"(b3), [w] "=&r"(wv), [x] "=&r"(xv)
                       : [p0] "r"(r0 + at), [p1] "r"(r1 + at), [blk] "r"(blk),
                         [wo] "n"(4 * kDwWeights + 4 * (ky * kW + kx)), [xo] "n"(kImm ? ky * kRow + kx * kTap : 0)
                       : "memory");
    }
    if (!kImm) {
      r0 += row_step;
      r1 += row_step;
    }
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
  acc[4] = b0;
  acc[5] = b1;
  acc[6] = b2;
  acc[7] = b3;
}
#undef BEDSIDE_RV_DW_MAC
#endif

// Four requantized outputs of one group (q: its four channels' kQuantStride words).
template <int kFast, bool kFullRange>
inline void DepthwiseStore4(const int32_t *a, const int32_t *q, int32_t out_off, int32_t lo, int32_t hi, int8_t *o) {
  o[0] = RequantizeToInt8<kFast, kFullRange>(a[0], q, out_off, lo, hi);
  o[1] = RequantizeToInt8<kFast, kFullRange>(a[1], q + kQuantStride, out_off, lo, hi);
  o[2] = RequantizeToInt8<kFast, kFullRange>(a[2], q + 2 * kQuantStride, out_off, lo, hi);
  o[3] = RequantizeToInt8<kFast, kFullRange>(a[3], q + 3 * kQuantStride, out_off, lo, hi);
}

// The same for two pixels (a: [pixel][4]), each channel's constants loaded once for both
// (as int8 stores may alias them, the compiler would reload them per output).
template <int kFast, bool kFullRange>
inline void DepthwiseStore4x2(const int32_t *a, const int32_t *q, int32_t out_off, int32_t lo, int32_t hi, int8_t *o0,
                              int8_t *o1) {
#pragma GCC unroll 4
  for (int32_t k = 0; k < 4; ++k, q += kQuantStride) {
    const int32_t qk[kQuantStride] = {q[0], q[1], q[2]};
    const int8_t v0 = RequantizeToInt8<kFast, kFullRange>(a[k], qk, out_off, lo, hi);
    const int8_t v1 = RequantizeToInt8<kFast, kFullRange>(a[4 + k], qk, out_off, lo, hi);
    o0[k] = v0;
    o1[k] = v1;
  }
}

#if BEDSIDE_ENGINE_TWO_PIXELS && !BEDSIDE_ENGINE_DSP
// Largest window (bytes from a pixel's first tap to past its last) gathered on the stack,
// four times, by DepthwiseConvM1Quads.
constexpr int32_t kDwMaxWindow = 1024;

// n bytes (a multiple of 4) from a word-aligned src to a word-aligned dst, two words per
// iteration (the tail word alone).
inline void CopyWords(int8_t *dst, const int8_t *src, int32_t n) {
  uint32_t *d = static_cast<uint32_t *>(__builtin_assume_aligned(dst, 4));
  const uint32_t *q = static_cast<const uint32_t *>(__builtin_assume_aligned(src, 4));
  const uint32_t *const end = q + (n >> 2);
  for (; q + 2 <= end; q += 2, d += 2) {
    const uint32_t v0 = q[0], v1 = q[1];
    d[0] = v0;
    d[1] = v1;
  }
  if (q != end) *d = *q;
}

// One tap of two channels (c, c + 1 of the group) for four pixels (p0-p3: their windows'
// first taps, the tap at immediate offset xo; the group's weights at wo in blk): each
// weight byte feeds four MACs (per channel one weight load, then per pixel a load, `mul`
// and `add`: 3.25 instructions per MAC against 3.5 for two pixels).
#define BEDSIDE_RV_DW_TAP2X4 \
  "lb %[w], %c[wo]+%c[c]+0(%[blk])\n" \
  "lb %[x], %c[xo]+%c[c]+0(%[p0])\n" "mul %[x], %[x], %[w]\n" "add %[a00], %[a00], %[x]\n" \
  "lb %[x], %c[xo]+%c[c]+0(%[p1])\n" "mul %[x], %[x], %[w]\n" "add %[a10], %[a10], %[x]\n" \
  "lb %[x], %c[xo]+%c[c]+0(%[p2])\n" "mul %[x], %[x], %[w]\n" "add %[a20], %[a20], %[x]\n" \
  "lb %[x], %c[xo]+%c[c]+0(%[p3])\n" "mul %[x], %[x], %[w]\n" "add %[a30], %[a30], %[x]\n" \
  "lb %[w], %c[wo]+%c[c]+1(%[blk])\n" \
  "lb %[x], %c[xo]+%c[c]+1(%[p0])\n" "mul %[x], %[x], %[w]\n" "add %[a01], %[a01], %[x]\n" \
  "lb %[x], %c[xo]+%c[c]+1(%[p1])\n" "mul %[x], %[x], %[w]\n" "add %[a11], %[a11], %[x]\n" \
  "lb %[x], %c[xo]+%c[c]+1(%[p2])\n" "mul %[x], %[x], %[w]\n" "add %[a21], %[a21], %[x]\n" \
  "lb %[x], %c[xo]+%c[c]+1(%[p3])\n" "mul %[x], %[x], %[w]\n" "add %[a31], %[a31], %[x]\n"
// Four pixels' outputs of one channel (o[p] + k), its constants read once (RequantizeRv).
template <int kFast, bool kFullRange>
inline void DepthwiseStoreChannel4(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *q, int32_t out_off,
                                   int32_t lo, int32_t hi, int8_t *const *o, int32_t k) {
  const ChannelQuantRv c = LoadChannelQuantRv(q);
  const int8_t v0 = RequantizeRv<kFast, kFullRange>(a0, c, q, out_off, lo, hi);
  const int8_t v1 = RequantizeRv<kFast, kFullRange>(a1, c, q, out_off, lo, hi);
  const int8_t v2 = RequantizeRv<kFast, kFullRange>(a2, c, q, out_off, lo, hi);
  const int8_t v3 = RequantizeRv<kFast, kFullRange>(a3, c, q, out_off, lo, hi);
  o[0][k] = v0;
  o[1][k] = v1;
  o[2][k] = v2;
  o[3][k] = v3;
}

// One group of four channels for four pixels: from acc_init (blk[0..3]) through every tap
// of the kH x kW kernel (two assembly blocks of two channels per tap: one asm takes at
// most 30 operands) to the requantized outputs o[p][0..3], the 16 accumulators in
// registers throughout.
template <int kFast, bool kFullRange, int32_t kH, int32_t kW, int32_t kTap, int32_t kRow>
inline void DepthwiseGroup4Px(const int8_t *p0, const int8_t *p1, const int8_t *p2, const int8_t *p3,
                              const int32_t *blk, int32_t out_off, int32_t lo, int32_t hi, int8_t *const *o) {
  static_assert((kH - 1) * kRow + (kW - 1) * kTap + 3 <= 2047, "taps must be immediate offsets");
  int32_t a00 = blk[0], a10 = a00, a20 = a00, a30 = a00;
  int32_t a01 = blk[1], a11 = a01, a21 = a01, a31 = a01;
  int32_t a02 = blk[2], a12 = a02, a22 = a02, a32 = a02;
  int32_t a03 = blk[3], a13 = a03, a23 = a03, a33 = a03;
#pragma GCC unroll 5
  for (int32_t ky = 0; ky < kH; ++ky) {
#pragma GCC unroll 5
    for (int32_t kx = 0; kx < kW; ++kx) {
      int32_t wv, xv;
      __asm__ volatile(BEDSIDE_RV_DW_TAP2X4
                       : [a00] "+r"(a00), [a01] "+r"(a01),
                         [a10] "+r"(a10), [a11] "+r"(a11),
                         [a20] "+r"(a20), [a21] "+r"(a21),
                         [a30] "+r"(a30), [a31] "+r"(a31),
                         [w] "=&r"(wv), [x] "=&r"(xv)
                       : [p0] "r"(p0), [p1] "r"(p1), [p2] "r"(p2), [p3] "r"(p3), [blk] "r"(blk), [c] "n"(0),
                         [wo] "n"(4 * kDwWeights + 4 * (ky * kW + kx)), [xo] "n"(ky * kRow + kx * kTap)
                       : "memory");
      __asm__ volatile(BEDSIDE_RV_DW_TAP2X4
                       : [a00] "+r"(a02), [a01] "+r"(a03),
                         [a10] "+r"(a12), [a11] "+r"(a13),
                         [a20] "+r"(a22), [a21] "+r"(a23),
                         [a30] "+r"(a32), [a31] "+r"(a33),
                         [w] "=&r"(wv), [x] "=&r"(xv)
                       : [p0] "r"(p0), [p1] "r"(p1), [p2] "r"(p2), [p3] "r"(p3), [blk] "r"(blk), [c] "n"(2),
                         [wo] "n"(4 * kDwWeights + 4 * (ky * kW + kx)), [xo] "n"(ky * kRow + kx * kTap)
                       : "memory");
    }
  }
  const int32_t *const q = blk + kDwQuant;
  DepthwiseStoreChannel4<kFast, kFullRange>(a00, a10, a20, a30, q, out_off, lo, hi, o, 0);
  DepthwiseStoreChannel4<kFast, kFullRange>(a01, a11, a21, a31, q + 1 * kQuantStride, out_off, lo, hi, o, 1);
  DepthwiseStoreChannel4<kFast, kFullRange>(a02, a12, a22, a32, q + 2 * kQuantStride, out_off, lo, hi, o, 2);
  DepthwiseStoreChannel4<kFast, kFullRange>(a03, a13, a23, a33, q + 3 * kQuantStride, out_off, lo, hi, o, 3);
}
#undef BEDSIDE_RV_DW_TAP2X4

// RISC-V, multiplier 1, kernel and input steps fixed (taps at immediate offsets), a
// multiple of 4 channels: every pixel, border ones too, four at a time through
// DepthwiseGroup4Px (pixels taken in order across rows), each channel's
// requantization constants read once for the four (RequantizeRv). A border pixel's window
// is gathered into `win` with the image's own tap and row steps, taps outside the image
// set to the input zero point, so (x + input_offset) is 0 there exactly as TFLM skips them
// and the folded acc_init holds (in place of the clipped loop that added the offset per
// tap). The last pixels, if fewer than four, are repeated (equal results, written again).
template <int kFast, bool kFullRange, int32_t kKh, int32_t kKw, int32_t kTap, int32_t kRow>
inline void DepthwiseConvM1Quads(const DepthwiseParams &p, const int8_t *input, int8_t *output) {
  constexpr int32_t kWindow = (kKh - 1) * kRow + kKw * kTap;
  static_assert(kWindow <= kDwMaxWindow, "window too large for the stack");
  alignas(4) int8_t win[4][kWindow];
  const int32_t c_n = p.in_c, in_h = p.in_h, in_w = p.in_w, out_w = p.out_w, pixels = p.out_h * out_w;
  const int32_t dil_h = p.dil_h, dil_w = p.dil_w;
  const int32_t out_off = p.output_offset, lo = p.act_min, hi = p.act_max;
  const int8_t pad = static_cast<int8_t>(-p.input_offset);
  const int32_t block_words = kDwWeights + kDwTapWords * kKh * kKw;
  int8_t *out = output;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *const image = input + b * in_h * in_w * c_n;
    // every tap starts a multiple of c_n (of 4) bytes in: word copies if the image is aligned
    // (RISC-V compilers copy unaligned words a byte at a time)
    const bool aligned = (reinterpret_cast<uintptr_t>(image) & 3) == 0;
    int32_t oy = 0, ox = 0;
    for (int32_t done = 0; done < pixels; done += 4) {
      const int8_t *r[4];
      int8_t *o[4];
      for (int32_t k = 0; k < 4; ++k) {
        if (done + k >= pixels) {   // past the last pixel: repeat it
          r[k] = r[k - 1];
          o[k] = o[k - 1];
          continue;
        }
        o[k] = out + k * c_n;
        const int32_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
        if (y0 >= 0 && x0 >= 0 && y0 + (kKh - 1) * dil_h < in_h && x0 + (kKw - 1) * dil_w < in_w) {
          r[k] = image + (y0 * in_w + x0) * c_n;
        } else {
          for (int32_t ky = 0; ky < kKh; ++ky) {
            const int32_t y = y0 + ky * dil_h;
            for (int32_t kx = 0; kx < kKw; ++kx) {
              const int32_t x = x0 + kx * dil_w;
              int8_t *const dst = win[k] + ky * kRow + kx * kTap;
              if (y < 0 || y >= in_h || x < 0 || x >= in_w) FillSmall(dst, pad, c_n);
              else if (aligned) CopyWords(dst, image + (y * in_w + x) * c_n, c_n);
              else CopySmall(dst, image + (y * in_w + x) * c_n, c_n);
            }
          }
          r[k] = win[k];
        }
        if (++ox == out_w) {
          ox = 0;
          ++oy;
        }
      }
      const int32_t *blk = p.block8;
      for (int32_t c = 0; c < c_n; c += 4, blk += block_words) {
        int8_t *const oc[4] = {o[0] + c, o[1] + c, o[2] + c, o[3] + c};
        DepthwiseGroup4Px<kFast, kFullRange, kKh, kKw, kTap, kRow>(r[0] + c, r[1] + c, r[2] + c, r[3] + c, blk, out_off,
                                                                  lo, hi, oc);
      }
      out += (pixels - done < 4 ? pixels - done : 4) * c_n;
    }
  }
}
#endif

#if BEDSIDE_ENGINE_TWO_PIXELS && !BEDSIDE_ENGINE_DSP
// --- 3x3, stride 1, 'same' padding, channel outer (rv32imc) -------------------------------
//
// Per channel its nine weights, acc_init and requantization constants are loaded once;
// then each output column is walked down the rows with the 3x3 window in registers. Going
// down one row loads only the new row's three inputs (at immediate offsets), and the walk
// is unrolled by three rows so the window turns by renaming, not moves: per output three
// `lb`, nine `mul`, nine `add` and the requantization. Taps outside the image are not
// multiplied: acc_init = bias + input_offset * sum(w) counted them as (0 + input_offset) * w,
// TFLM skips them, so each border case starts from acc_init - input_offset * (their
// weights), computed once per column (int32 wrap, as the sums).

// One input row's three taps of a window (x - 1, x, x + 1); an absent column reads nothing.
struct DwRow3 {
  int32_t l, m, r;
};

// One channel's constants for the column walk.
struct DwChannel3x3 {
  int32_t w0, w1, w2, w3, w4, w5, w6, w7, w8;
  uint32_t init, zp;   // acc_init, the input zero point (-input_offset)
  ChannelQuantRv cq;
  const int32_t *q;    // the channel's kQuantStride words (form 0 reads them)
  int32_t out_off, lo, hi;
};

// One column of one channel: x and o are row 0 of the column (channel c at x = ox) in the
// input and the output; h >= 2 rows. kL, kR: the columns x - 1 and x + 1 are inside the
// image.
template <int kFast, bool kFullRange, int32_t kTap, int32_t kRow, bool kL, bool kR>
__attribute__((always_inline)) inline void DwColumn3x3(const int8_t *x, int8_t *o, int32_t h, const DwChannel3x3 &k) {
  const int32_t w0 = k.w0, w1 = k.w1, w2 = k.w2, w3 = k.w3, w4 = k.w4, w5 = k.w5, w6 = k.w6, w7 = k.w7, w8 = k.w8;
  const ChannelQuantRv cq = k.cq;
  const int32_t *const q = k.q;
  const int32_t out_off = k.out_off, lo = k.lo, hi = k.hi;
  const uint32_t zp = k.zp;
  uint32_t missing = 0;   // the weights of taps outside the image in every row of this column
  if (!kL) missing += static_cast<uint32_t>(w0 + w3 + w6);
  if (!kR) missing += static_cast<uint32_t>(w2 + w5 + w8);
  const uint32_t init = k.init + zp * missing;
  const uint32_t top = init + zp * static_cast<uint32_t>((kL ? w0 : 0) + w1 + (kR ? w2 : 0));
  const uint32_t bottom = init + zp * static_cast<uint32_t>((kL ? w6 : 0) + w7 + (kR ? w8 : 0));
  const auto load = [](const int8_t *r) { return DwRow3{kL ? r[-kTap] : 0, r[0], kR ? r[kTap] : 0}; };
  const auto dot = [](const DwRow3 &r, int32_t a, int32_t b, int32_t c) {
    return static_cast<uint32_t>((kL ? r.l * a : 0) + r.m * b + (kR ? r.r * c : 0));
  };
  const auto put = [&](uint32_t acc, int8_t *dst) {
    if (kFast == 0 || !kFullRange) {
      *dst = RequantizeRv<kFast, kFullRange>(static_cast<int32_t>(acc), cq, q, out_off, lo, hi);
      return;
    }
    // [-128, 127] with no constants in registers: v + 128 fits 8 bits, else the bound of
    // v's sign (as Dot5Px4Requant); in assembly, as GCC sign-extends the stored byte
    int32_t v = ScaleRv<kFast>(static_cast<int32_t>(acc), cq, out_off), t;
    __asm__("addi %[t], %[v], 128\n"
            "srli %[t], %[t], 8\n"
            "beqz %[t], 1f\n"
            "srai %[v], %[v], 31\n"
            "xori %[v], %[v], 127\n"
            "1:\n"
            "sb %[v], %[d]\n"
            : [v] "+r"(v), [t] "=&r"(t), [d] "=m"(*dst));
  };
  DwRow3 ra = load(x), rb = load(x + kRow), rc;
  put(top + dot(ra, w3, w4, w5) + dot(rb, w6, w7, w8), o);
  const int8_t *r = x + 2 * kRow;
  o += kRow;
  const int32_t inner = h - 2;
  // Three rows per pass, the window's rows turning a b c -> b c a -> c a b. A count, not an
  // end pointer: GCC then keeps both pointers without recomputing them after the loop.
  for (int32_t n = inner / 3; n > 0; --n, r += 3 * kRow, o += 3 * kRow) {
    rc = load(r);
    put(init + dot(ra, w0, w1, w2) + dot(rb, w3, w4, w5) + dot(rc, w6, w7, w8), o);
    ra = load(r + kRow);
    put(init + dot(rb, w0, w1, w2) + dot(rc, w3, w4, w5) + dot(ra, w6, w7, w8), o + kRow);
    rb = load(r + 2 * kRow);
    put(init + dot(rc, w0, w1, w2) + dot(ra, w3, w4, w5) + dot(rb, w6, w7, w8), o + 2 * kRow);
  }
  switch (inner - inner / 3 * 3) {   // the last one or two inner rows, then the bottom row
    case 0:
      put(bottom + dot(ra, w0, w1, w2) + dot(rb, w3, w4, w5), o);
      break;
    case 1:
      rc = load(r);
      put(init + dot(ra, w0, w1, w2) + dot(rb, w3, w4, w5) + dot(rc, w6, w7, w8), o);
      put(bottom + dot(rb, w0, w1, w2) + dot(rc, w3, w4, w5), o + kRow);
      break;
    default:
      rc = load(r);
      put(init + dot(ra, w0, w1, w2) + dot(rb, w3, w4, w5) + dot(rc, w6, w7, w8), o);
      ra = load(r + kRow);
      put(init + dot(rb, w0, w1, w2) + dot(rc, w3, w4, w5) + dot(ra, w6, w7, w8), o + kRow);
      put(bottom + dot(rc, w0, w1, w2) + dot(ra, w3, w4, w5), o + 2 * kRow);
      break;
  }
}

// Whether DepthwiseConv3x3Columns computes this layer (3x3 kernel already fixed by the
// caller): stride 1, no dilation, 'same' padding, at least two rows and input steps that
// are the generator's kTap, kRow.
template <int32_t kTap, int32_t kRow>
inline bool DwColumnsFit(const DepthwiseParams &p) {
  return p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 && p.pad_h == 1 && p.pad_w == 1 &&
         p.in_h >= 2 && p.out_h == p.in_h && p.out_w == p.in_w && kTap == p.in_c && kRow == p.in_w * p.in_c;
}

// Multiplier 1, 3x3, stride 1, 'same' (DwColumnsFit): channel outer, each column walked
// down by DwColumn3x3. Not inlined: it is instantiated once per layer shape and form.
template <int kFast, bool kFullRange, int32_t kTap, int32_t kRow>
__attribute__((noinline)) void DepthwiseConv3x3Columns(const DepthwiseParams &p, const int8_t *input,
                                                       int8_t *output) {
  constexpr int32_t kBlockWords = kDwWeights + kDwTapWords * 9;
  const int32_t c_n = p.in_c, h = p.in_h, w = p.in_w, image_bytes = h * kRow;
  for (int32_t b = 0; b < p.batches; ++b, input += image_bytes, output += image_bytes) {
    for (int32_t c = 0; c < c_n; ++c) {
      const int32_t *const blk = p.block8 + (c >> 2) * kBlockWords;
      const int8_t *const wt = reinterpret_cast<const int8_t *>(blk + kDwWeights) + (c & 3);   // tap t at 4 * t
      const int32_t *const q = blk + kDwQuant + (c & 3) * kQuantStride;
      const DwChannel3x3 k = {wt[0],  wt[4],  wt[8],  wt[12],
                              wt[16], wt[20], wt[24], wt[28],
                              wt[32], static_cast<uint32_t>(blk[c & 3]),
                              static_cast<uint32_t>(-p.input_offset), LoadChannelQuantRv(q),
                              q,      p.output_offset, p.act_min, p.act_max};
      const int8_t *x = input + c;
      int8_t *o = output + c;
      if (w == 1) {
        DwColumn3x3<kFast, kFullRange, kTap, kRow, false, false>(x, o, h, k);
        continue;
      }
      DwColumn3x3<kFast, kFullRange, kTap, kRow, false, true>(x, o, h, k);
      for (int32_t ox = 1; ox + 1 < w; ++ox)
        DwColumn3x3<kFast, kFullRange, kTap, kRow, true, true>(x + ox * kTap, o + ox * kTap, h, k);
      DwColumn3x3<kFast, kFullRange, kTap, kRow, true, false>(x + (w - 1) * kTap, o + (w - 1) * kTap, h, k);
    }
  }
}
#endif

// Multiplier-1 DEPTHWISE_CONV_2D with constant weights: taps read in place, interior
// pixels (whole kernel inside the image) with the folded acc_init and an unrolled tap loop
// when the generator fixes the kernel size (kKh, kKw; 0: runtime), border pixels over the
// clipped window from bias_init with the input offset added per tap. No scratch. kTap,
// kRow: the input steps when fixed (see DepthwiseTaps4Fixed).
template <int kFast = 0, bool kFullRange = false, int32_t kKh = 0, int32_t kKw = 0, int32_t kTap = 0,
          int32_t kRow = 0>
inline void DepthwiseConvM1(const DepthwiseParams &p, const int8_t *input, int8_t *output) {
  const int32_t c_n = p.in_c, in_h = p.in_h, in_w = p.in_w, out_h = p.out_h, out_w = p.out_w;
  const int32_t k_h = kKh > 0 ? kKh : p.k_h, k_w = kKw > 0 ? kKw : p.k_w, taps = k_h * k_w;
  const int32_t dil_h = p.dil_h, dil_w = p.dil_w, stride_h = p.stride_h, stride_w = p.stride_w;
  const int32_t tap_step = dil_w * c_n, row_step = dil_h * in_w * c_n, w_row = 4 * k_w;
  const int32_t in_off = p.input_offset, out_off = p.output_offset, lo = p.act_min, hi = p.act_max;
#if BEDSIDE_ENGINE_DSP
  const uint32_t off = (static_cast<uint32_t>(in_off) & 0xffffu) * 0x10001u;   // both halfwords
#else
  const uint32_t off = static_cast<uint32_t>(in_off);
#endif
#if BEDSIDE_ENGINE_DSP
  const int32_t *const blocks = p.block16;
  static constexpr int32_t kLane[4] = {0, 2, 1, 3};   // where channel k's weight sits in a tap's four
#else
  const int32_t *const blocks = p.block8;
  static constexpr int32_t kLane[4] = {0, 1, 2, 3};
#endif
  const int32_t block_words = kDwWeights + kDwTapWords * taps;
  const int32_t groups4 = c_n & ~3;
#if BEDSIDE_ENGINE_TWO_PIXELS && !BEDSIDE_ENGINE_DSP
  if constexpr (kKh == 3 && kKw == 3 && kTap > 0 && kRow > 0 && 2 * kRow + kTap <= 2047) {
    if (DwColumnsFit<kTap, kRow>(p)) {
      DepthwiseConv3x3Columns<kFast, kFullRange, kTap, kRow>(p, input, output);
      return;
    }
  }
  if constexpr (kKh > 0 && kKw > 0 && kTap > 0 && kRow > 0 && (kKh - 1) * kRow + kKw * kTap <= kDwMaxWindow &&
                (kKh - 1) * kRow + (kKw - 1) * kTap + 3 <= 2047) {
    if (groups4 == c_n) {
      DepthwiseConvM1Quads<kFast, kFullRange, kKh, kKw, kTap, kRow>(p, input, output);
      return;
    }
  }
#endif
  int8_t *out = output;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *const image = input + b * in_h * in_w * c_n;
    for (int32_t oy = 0; oy < out_h; ++oy) {
      const int32_t y0 = oy * stride_h - p.pad_h;
      int32_t ky0, ky1;
      DepthwiseTapRange(y0, dil_h, k_h, in_h, &ky0, &ky1);
      for (int32_t ox = 0; ox < out_w; ++ox, out += c_n) {
        const int32_t x0 = ox * stride_w - p.pad_w;
        int32_t kx0, kx1;
        DepthwiseTapRange(x0, dil_w, k_w, in_w, &kx0, &kx1);
        const bool full = ky0 == 0 && ky1 == k_h && kx0 == 0 && kx1 == k_w;
        const int32_t nh = ky1 - ky0, nw = kx1 - kx0, first = ky0 * k_w + kx0;
        const int8_t *const src = image + ((y0 + ky0 * dil_h) * in_w + x0 + kx0 * dil_w) * c_n;
        const int8_t *s = src;
        const int8_t *const s_end = src + groups4;
        int8_t *o = out;
        const int32_t *blk = blocks;
#if BEDSIDE_ENGINE_TWO_PIXELS && !BEDSIDE_ENGINE_DSP
        // This interior pixel and the next one, if it is interior too, in one pass.
        if constexpr (kKh > 0) {
          if (full && groups4 == c_n && ox + 1 < out_w && x0 + stride_w + (k_w - 1) * dil_w < in_w) {
            const int8_t *s1 = s + stride_w * c_n;
            int8_t *o1 = o + c_n;
            for (; s != s_end; s += 4, s1 += 4, o += 4, o1 += 4, blk += block_words) {
              int32_t a[8] = {blk[0], blk[1], blk[2], blk[3], blk[0], blk[1], blk[2], blk[3]};
              DepthwiseTaps4Fixed2Px<kKh, kKw, kTap, kRow>(s, s1, row_step, tap_step, blk, a);
              DepthwiseStore4x2<kFast, kFullRange>(a, blk + kDwQuant, out_off, lo, hi, o, o1);
            }
            ++ox;
            out += c_n;
            continue;
          }
        }
#endif
        // Interior and border pixels in separate loops: the unrolled interior loop then
        // keeps its pointers in registers.
        if (full) {
          for (; s != s_end; s += 4, o += 4, blk += block_words) {
            int32_t a[4] = {blk[0], blk[1], blk[2], blk[3]};
            if constexpr (kKh > 0)
              DepthwiseTaps4Fixed<kKh, kKw, kTap, kRow>(s, row_step, tap_step, blk, a);
            else
              DepthwiseTaps4<false>(s, row_step, tap_step, reinterpret_cast<const DepthwiseWeight *>(blk + kDwWeights),
                                    w_row, k_h, k_w, 0, a);
            DepthwiseStore4<kFast, kFullRange>(a, blk + kDwQuant, out_off, lo, hi, o);
          }
        } else {
          for (; s != s_end; s += 4, o += 4, blk += block_words) {
            int32_t a[4] = {blk[kDwBias], blk[kDwBias + 1], blk[kDwBias + 2], blk[kDwBias + 3]};
            DepthwiseTaps4<true>(s, row_step, tap_step,
                                 reinterpret_cast<const DepthwiseWeight *>(blk + kDwWeights) + 4 * first, w_row, nh, nw,
                                 off, a);
            DepthwiseStore4<kFast, kFullRange>(a, blk + kDwQuant, out_off, lo, hi, o);
          }
        }
        for (int32_t k = 0; groups4 + k < c_n; ++k) {   // the last 1-3 channels: stay inside the pixel
          int32_t acc = blk[kDwBias + k];
          const int8_t *row = s + k;
          const DepthwiseWeight *wr = reinterpret_cast<const DepthwiseWeight *>(blk + kDwWeights) + 4 * first + kLane[k];
          for (int32_t ky = 0; ky < nh; ++ky, row += row_step, wr += w_row) {
            for (int32_t kx = 0; kx < nw; ++kx) {
              DepthwiseWeight wv;   // memcpy: the weights live in an int32 array
              memcpy(&wv, wr + 4 * kx, sizeof wv);
              acc += (row[kx * tap_step] + in_off) * wv;
            }
          }
          o[k] = RequantizeToInt8<kFast, kFullRange>(acc, blk + kDwQuant + k * kQuantStride, out_off, lo, hi);
        }
      }
    }
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_DEPTHWISE_CONV_H_
