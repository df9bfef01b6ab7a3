// Inner products of int8 vectors in int32, the MAC loops of CONV_2D and FULLY_CONNECTED.
// The input offset is folded into a per-channel constant by the generator
// (acc_init = bias + input_offset * sum(w)), so these loops are pure int8 dot products.
// Integer sums are exact, so the DSP path (__SMLAD: two 16-bit MACs per instruction,
// selected when the compiler defines __ARM_FEATURE_DSP) equals the portable loop bit for bit.
#ifndef BEDSIDE_ENGINE_KERNELS_DOT_H_
#define BEDSIDE_ENGINE_KERNELS_DOT_H_

#include "common.h"

namespace bedside_engine {

#if BEDSIDE_ENGINE_DSP
inline uint32_t Load32(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);   // one LDR: Cortex-M4/M7 allow unaligned word loads
  return v;
}
// Bytes 1 and 3 sign-extended to two halfwords: one SXTB16 with its ROR operand (GCC does
// not fold a separate rotate into it).
inline uint32_t Sxtb16Odd(uint32_t v) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}

// Four output channels share each input load. w16 holds the generator's int16 copy of the
// weights, rows of n4 (n rounded up to 4, zero-padded) halfwords, each group of four in
// the order w0 w2 w1 w3 so that one word pairs with SXTB16's even (x0, x2) or odd (x1, x3)
// input bytes: two SMLADs per channel per four MACs, no unpacking of weights.
inline uint32_t LoadW(const int16_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

// kN4 > 0: the generator knows n4, so row offsets become immediates (one weight pointer).
template <int32_t kN4>
inline void Dot4x16(const int8_t *x, const int16_t *w16, int32_t n4_runtime, int32_t *acc) {
  const int32_t n4 = kN4 > 0 ? kN4 : n4_runtime;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  const int16_t *w1 = w16 + n4, *w2 = w16 + 2 * n4, *w3 = w16 + 3 * n4;
  for (int32_t i = 0; i < n4; i += 4) {
    const uint32_t xv = Load32(x + i);
    const uint32_t xe = __sxtb16(xv), xo = Sxtb16Odd(xv);
    a0 = __smlad(LoadW(w16 + i), xe, a0);
    a0 = __smlad(LoadW(w16 + i + 2), xo, a0);
    a1 = __smlad(LoadW(w1 + i), xe, a1);
    a1 = __smlad(LoadW(w1 + i + 2), xo, a1);
    a2 = __smlad(LoadW(w2 + i), xe, a2);
    a2 = __smlad(LoadW(w2 + i + 2), xo, a2);
    a3 = __smlad(LoadW(w3 + i), xe, a3);
    a3 = __smlad(LoadW(w3 + i + 2), xo, a3);
  }
  acc[0] += a0;
  acc[1] += a1;
  acc[2] += a2;
  acc[3] += a3;
}

// Four output channels share each input load (weights rows w, w + n, w + 2n, w + 3n).
inline void Dot4(const int8_t *x, const int8_t *w, int32_t n, int32_t *acc) {
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, i = 0;
  const int8_t *w1 = w + n, *w2 = w + 2 * n, *w3 = w + 3 * n;
  for (; i + 4 <= n; i += 4) {
    const uint32_t xv = Load32(x + i);
    const uint32_t xe = __sxtb16(xv), xo = Sxtb16Odd(xv);
    uint32_t v = Load32(w + i);
    a0 = __smlad(__sxtb16(v), xe, a0);
    a0 = __smlad(Sxtb16Odd(v), xo, a0);
    v = Load32(w1 + i);
    a1 = __smlad(__sxtb16(v), xe, a1);
    a1 = __smlad(Sxtb16Odd(v), xo, a1);
    v = Load32(w2 + i);
    a2 = __smlad(__sxtb16(v), xe, a2);
    a2 = __smlad(Sxtb16Odd(v), xo, a2);
    v = Load32(w3 + i);
    a3 = __smlad(__sxtb16(v), xe, a3);
    a3 = __smlad(Sxtb16Odd(v), xo, a3);
  }
  for (; i < n; ++i) {
    const int32_t xi = x[i];
    a0 += xi * w[i];
    a1 += xi * w1[i];
    a2 += xi * w2[i];
    a3 += xi * w3[i];
  }
  acc[0] += a0;
  acc[1] += a1;
  acc[2] += a2;
  acc[3] += a3;
}

// Two output channels share each input load: acc0 += x.w0, acc1 += x.w1.
inline void Dot2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
  int32_t a0 = 0, a1 = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t xv = Load32(x + i);
    const uint32_t xe = __sxtb16(xv), xo = Sxtb16Odd(xv);
    const uint32_t v0 = Load32(w0 + i), v1 = Load32(w1 + i);
    a0 = __smlad(__sxtb16(v0), xe, a0);
    a0 = __smlad(Sxtb16Odd(v0), xo, a0);
    a1 = __smlad(__sxtb16(v1), xe, a1);
    a1 = __smlad(Sxtb16Odd(v1), xo, a1);
  }
  for (; i < n; ++i) {
    a0 += static_cast<int32_t>(x[i]) * w0[i];
    a1 += static_cast<int32_t>(x[i]) * w1[i];
  }
  *acc0 += a0;
  *acc1 += a1;
}

inline int32_t Dot(const int8_t *x, const int8_t *w, int32_t n) {
  int32_t a = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t xv = Load32(x + i), v = Load32(w + i);
    a = __smlad(__sxtb16(v), __sxtb16(xv), a);
    a = __smlad(Sxtb16Odd(v), Sxtb16Odd(xv), a);
  }
  for (; i < n; ++i) a += static_cast<int32_t>(x[i]) * w[i];
  return a;
}
#else
inline int32_t Dot(const int8_t *x, const int8_t *w, int32_t n) {
  int32_t a = 0;
  for (int32_t i = 0; i < n; ++i) a += static_cast<int32_t>(x[i]) * w[i];
  return a;
}

inline void Dot4(const int8_t *x, const int8_t *w, int32_t n, int32_t *acc) {
  for (int32_t k = 0; k < 4; ++k) acc[k] += Dot(x, w + k * n, n);
}

inline void Dot2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t *acc0, int32_t *acc1) {
  *acc0 += Dot(x, w0, n);
  *acc1 += Dot(x, w1, n);
}
#endif

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_DOT_H_
