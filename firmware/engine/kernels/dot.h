// Inner products of int8 vectors in int32: the MAC loops of CONV_2D, FULLY_CONNECTED and
// one-channel DEPTHWISE_CONV_2D. The input offset is folded into a per-channel constant by
// the generator (acc_init = bias + input_offset * sum(w)), so these loops are pure int8 dot
// products, four output channels at a time: each input load feeds four channels.
// Integer sums are exact, so the DSP path (__SMLAD: two 16-bit MACs per instruction,
// selected when the compiler defines __ARM_FEATURE_DSP) equals the portable loop bit for bit.
#ifndef BEDSIDE_ENGINE_KERNELS_DOT_H_
#define BEDSIDE_ENGINE_KERNELS_DOT_H_

#include "common.h"

namespace bedside_engine {

// Four bytes from any address: one LDR on cores with unaligned access (M3/M4/M7),
// byte loads where the compiler must (M0).
inline uint32_t Load32(const void *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

// Small copies (im2col rows): word moves, then the tail; `n` is a handful of bytes, where
// a library memcpy call costs more than the copy.
inline void CopySmall(int8_t *dst, const int8_t *src, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t v = Load32(src + i);
    memcpy(dst + i, &v, 4);
  }
  for (; i < n; ++i) dst[i] = src[i];
}

// Fills small runs (padding taps) without a library call: words, then the tail.
inline void FillSmall(int8_t *dst, int8_t v, int32_t n) {
  const uint32_t word = static_cast<uint8_t>(v) * 0x01010101u;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) memcpy(dst + i, &word, 4);
  for (; i < n; ++i) dst[i] = v;
}

#if BEDSIDE_ENGINE_DSP
// Bytes 1 and 3 sign-extended to two halfwords: one SXTB16 with its ROR operand (GCC does
// not fold a separate rotate into it).
inline uint32_t Sxtb16Odd(uint32_t v) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}

// acc's halfword lanes += bytes 1 and 3 of v, sign-extended (SXTAB16 with ROR #8).
inline uint32_t Sxtab16Odd(uint32_t acc, uint32_t v) {
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(v));
  return r;
}

// One group of four inputs: one LDR, two SXTB16, four LDRD and eight SMLAD (16 MACs).
#define BEDSIDE_DOT4X16_GROUP \
  "ldr %[xv], [%[x]], #4\n" \
  "sxtb16 %[xo], %[xv], ror #8\n" \
  "sxtb16 %[xv], %[xv]\n" \
  "ldrd %[w0], %[w1], [%[w]], #8\n" \
  "smlad %[a0], %[w0], %[xv], %[a0]\n" \
  "smlad %[a0], %[w1], %[xo], %[a0]\n" \
  "ldrd %[w0], %[w1], [%[w]], #8\n" \
  "smlad %[a1], %[w0], %[xv], %[a1]\n" \
  "smlad %[a1], %[w1], %[xo], %[a1]\n" \
  "ldrd %[w0], %[w1], [%[w]], #8\n" \
  "smlad %[a2], %[w0], %[xv], %[a2]\n" \
  "smlad %[a2], %[w1], %[xo], %[a2]\n" \
  "ldrd %[w0], %[w1], [%[w]], #8\n" \
  "smlad %[a3], %[w0], %[xv], %[a3]\n" \
  "smlad %[a3], %[w1], %[xo], %[a3]\n"

// acc[0..3] += x . w[k] for four output channels over n4 (a multiple of 4) int8 inputs.
// w16 is the generator's int16 copy (`dot_weights_dsp`): per group of four inputs, per
// channel, the halfwords w0 w2 w1 w3, so one LDRD gives the words that pair with SXTB16's
// even (x0, x2) and odd (x1, x3) lanes: per four inputs, one LDR, two SXTB16, four LDRD and
// eight SMLAD for 16 MACs, unrolled twice. Written in assembly because the compiler neither keeps the
// weight pointer post-incremented nor pairs the loads.
inline void Dot4x16(const int8_t *x, const int16_t *w16, int32_t n4, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  const int8_t *const end = x + n4;
  uint32_t xv, xo, w0, w1;
  // Two groups of four inputs per iteration; an odd count of groups enters at the second.
  __asm__ volatile(
      "tst %[n4], #4\n"
      "bne 2f\n"
      "1:\n"
      BEDSIDE_DOT4X16_GROUP
      "2:\n"
      BEDSIDE_DOT4X16_GROUP
      "cmp %[x], %[end]\n"
      "bne 1b\n"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w16),
        [xv] "=&r"(xv), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1)
      : [end] "r"(end), [n4] "r"(n4)
      : "cc", "memory");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#undef BEDSIDE_DOT4X16_GROUP
#endif

// The portable form: acc[0..3] += x . w[k] over n inputs, w8 interleaved by the generator
// (`dot_weights_portable`): per input, the four channels' weights side by side, so one
// input byte load feeds four MACs and every weight load is an immediate offset. Four
// inputs per iteration (16 MACs for one compare and branch), then the 0-3 left.
inline void Dot4x8(const int8_t *x, const int8_t *w8, int32_t n, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  const int8_t *const end4 = x + (n & ~3), *const end = x + n;
  while (x != end4) {
#pragma GCC unroll 4
    for (int32_t i = 0; i < 4; ++i) {
      const int32_t xi = x[i];
      a0 += xi * w8[4 * i];
      a1 += xi * w8[4 * i + 1];
      a2 += xi * w8[4 * i + 2];
      a3 += xi * w8[4 * i + 3];
    }
    x += 4;
    w8 += 16;
  }
  while (x != end) {
    const int32_t xi = *x++;
    a0 += xi * w8[0];
    a1 += xi * w8[1];
    a2 += xi * w8[2];
    a3 += xi * w8[3];
    w8 += 4;
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

// What DotRows needs besides the vectors: per-channel arrays padded to a multiple of 4
// channels (acc_init = bias + input_offset * sum(w); quant: see kQuantStride), output
// zero point and clamp.
struct RowsQuant {
  const int32_t *acc_init, *quant;
  int32_t output_offset, act_min, act_max;
};

// out[oc] = requantized (acc_init[oc] + x . w[oc]) for oc < out_c, four channels per pass.
// x must be readable for n4 = ceil4(n) bytes on the DSP path (the padding meets zero
// weights). w16 / w8: the DSP / portable weight copies (only the build's own one is read).
template <int kFast, bool kFullRange>
inline void DotRows(const int8_t *x, const int16_t *w16, const int8_t *w8, int32_t n, int32_t out_c,
                    const RowsQuant &q, int8_t *out) {
  const RowsQuant r = q;   // locals: int8 stores may alias anything, fields would be reloaded
#if BEDSIDE_ENGINE_DSP
  const int32_t n4 = (n + 3) & ~3;
  (void)w8;
#else
  (void)w16;
#endif
  const int32_t *quant = r.quant;
  const int32_t off = r.output_offset, lo = r.act_min, hi = r.act_max;
  const int32_t full = out_c & ~3;
  // Whole groups of four: the accumulators stay in registers (no runtime-indexed array).
  for (int32_t oc = 0; oc < full; oc += 4, quant += 4 * kQuantStride) {
    int32_t a[4] = {r.acc_init[oc], r.acc_init[oc + 1], r.acc_init[oc + 2], r.acc_init[oc + 3]};
#if BEDSIDE_ENGINE_DSP
    Dot4x16(x, w16 + oc * n4, n4, a);
#else
    Dot4x8(x, w8 + oc * n, n, a);
#endif
    out[oc] = RequantizeToInt8<kFast, kFullRange>(a[0], quant, off, lo, hi);
    out[oc + 1] = RequantizeToInt8<kFast, kFullRange>(a[1], quant + kQuantStride, off, lo, hi);
    out[oc + 2] = RequantizeToInt8<kFast, kFullRange>(a[2], quant + 2 * kQuantStride, off, lo, hi);
    out[oc + 3] = RequantizeToInt8<kFast, kFullRange>(a[3], quant + 3 * kQuantStride, off, lo, hi);
  }
  if (full < out_c) {   // the last 1-3 channels (their padded weights are zero)
    int32_t a[4] = {r.acc_init[full], r.acc_init[full + 1], r.acc_init[full + 2], r.acc_init[full + 3]};
#if BEDSIDE_ENGINE_DSP
    Dot4x16(x, w16 + full * n4, n4, a);
#else
    Dot4x8(x, w8 + full * n, n, a);
#endif
    for (int32_t k = 0; full + k < out_c; ++k)
      out[full + k] = RequantizeToInt8<kFast, kFullRange>(a[k], quant + k * kQuantStride, off, lo, hi);
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_DOT_H_
