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

#if defined(__ARM_ARCH_6M__)
// Cortex-M0 (ARMv6-M): LDRSB takes only a register offset, so the offsets 1-4 live in
// r4-r7 and both pointers are biased by -1 (input u of four at [xb, r(4+u)], its four
// weights at [wb, r4..r7], wb += 4 per input); the accumulators sit in high registers
// (ADD takes them). Per four inputs: 4 + 16 loads, 16 MULS, 16 ADD, 7 pointer/loop
// instructions (3.7 per MAC, against about 5 as GCC writes Dot4x8, one MOVS per offset).
// An n that is not a multiple of 4 enters the loop at input (-n) & 3 (Duff's device;
// a second loop for the last inputs does not fit the registers).
inline void Dot4x8M0(const int8_t *x, const int8_t *w8, int32_t n, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  if (n > 0) {
    const int32_t entry = (-n) & 3;
    const int8_t *xb = x - 1 - entry, *wb = w8 - 1;
    const int8_t *const end = x - 1 + n;
    __asm__ volatile(
      ".syntax unified\n"
      "ldr r2, %[entry]\n"
      "movs r4, #1\n"
      "movs r5, #2\n"
      "movs r6, #3\n"
      "movs r7, #4\n"
      "cmp r2, #1\n"
      "beq 11f\n"
      "cmp r2, #2\n"
      "beq 12f\n"
      "cmp r2, #3\n"
      "beq 13f\n"
      "10:\n"
      "ldrsb r2, [%[xb], r4]\n"
      "ldrsb r3, [%[wb], r4]\n" "muls r3, r2, r3\n" "add %[a0], r3\n"
      "ldrsb r3, [%[wb], r5]\n" "muls r3, r2, r3\n" "add %[a1], r3\n"
      "ldrsb r3, [%[wb], r6]\n" "muls r3, r2, r3\n" "add %[a2], r3\n"
      "ldrsb r3, [%[wb], r7]\n" "muls r3, r2, r3\n" "add %[a3], r3\n"
      "adds %[wb], #4\n"
      "11:\n"
      "ldrsb r2, [%[xb], r5]\n"
      "ldrsb r3, [%[wb], r4]\n" "muls r3, r2, r3\n" "add %[a0], r3\n"
      "ldrsb r3, [%[wb], r5]\n" "muls r3, r2, r3\n" "add %[a1], r3\n"
      "ldrsb r3, [%[wb], r6]\n" "muls r3, r2, r3\n" "add %[a2], r3\n"
      "ldrsb r3, [%[wb], r7]\n" "muls r3, r2, r3\n" "add %[a3], r3\n"
      "adds %[wb], #4\n"
      "12:\n"
      "ldrsb r2, [%[xb], r6]\n"
      "ldrsb r3, [%[wb], r4]\n" "muls r3, r2, r3\n" "add %[a0], r3\n"
      "ldrsb r3, [%[wb], r5]\n" "muls r3, r2, r3\n" "add %[a1], r3\n"
      "ldrsb r3, [%[wb], r6]\n" "muls r3, r2, r3\n" "add %[a2], r3\n"
      "ldrsb r3, [%[wb], r7]\n" "muls r3, r2, r3\n" "add %[a3], r3\n"
      "adds %[wb], #4\n"
      "13:\n"
      "ldrsb r2, [%[xb], r7]\n"
      "ldrsb r3, [%[wb], r4]\n" "muls r3, r2, r3\n" "add %[a0], r3\n"
      "ldrsb r3, [%[wb], r5]\n" "muls r3, r2, r3\n" "add %[a1], r3\n"
      "ldrsb r3, [%[wb], r6]\n" "muls r3, r2, r3\n" "add %[a2], r3\n"
      "ldrsb r3, [%[wb], r7]\n" "muls r3, r2, r3\n" "add %[a3], r3\n"
      "adds %[wb], #4\n"
      "adds %[xb], #4\n"
      "cmp %[xb], %[end]\n"
      "bne 10b\n"
      : [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2), [a3] "+h"(a3), [xb] "+l"(xb), [wb] "+l"(wb)
      : [end] "r"(end), [entry] "m"(entry)
      : "r2", "r3", "r4", "r5", "r6", "r7", "cc", "memory");
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
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

#if BEDSIDE_ENGINE_TWO_PIXELS
// Two output pixels at once (RISC-V: 31 registers, no packed multiply): x0 and x1 are the
// two pixels' fields, so each weight byte (w8 as Dot4x8 reads it, wa/wb: groups of four
// channels) feeds two MACs.
// Per pixel pair and input, 2 + 4 * groups loads, then a multiply and an add per MAC
// (2.7 instructions per MAC with two groups, 2.9 with one, four inputs per iteration at
// immediate offsets, then one at a time). In assembly with the accumulators in named
// registers (s0-s7 and, for two groups, s8-s11, t3-t6; t0, t1: the two inputs, t2: a
// weight, a7: a product): as C, GCC loads all the weights ahead and spills accumulators,
// and as operands 16 read-write accumulators exceed asm's 30. Both pixels start from
// init[4 * groups]; acc: [pixel][4 * groups].
#define BEDSIDE_RV_MAC(off, wp, a, b)                                                                     \
  "lb t2, " #off "(%[" #wp "])\n"                                                                         \
  "mul a7, t0, t2\n"                                                                                      \
  "add " #a ", " #a ", a7\n"                                                                              \
  "mul a7, t1, t2\n"                                                                                      \
  "add " #b ", " #b ", a7\n"
inline void Dot2x8(const int8_t *x0, const int8_t *x1, const int8_t *wa, const int8_t *wb, int32_t n, const int32_t *init,
                   int32_t *acc) {
  const int8_t *const end4 = x0 + (n & ~3), *const end = x0 + n;
  __asm__ volatile(
      "lw s0, 0(%[init])\n"
      "lw s1, 4(%[init])\n"
      "lw s2, 8(%[init])\n"
      "lw s3, 12(%[init])\n"
      "lw s4, 16(%[init])\n"
      "lw s5, 20(%[init])\n"
      "lw s6, 24(%[init])\n"
      "lw s7, 28(%[init])\n"
      "lw s8, 0(%[init])\n"
      "lw s9, 4(%[init])\n"
      "lw s10, 8(%[init])\n"
      "lw s11, 12(%[init])\n"
      "lw t3, 16(%[init])\n"
      "lw t4, 20(%[init])\n"
      "lw t5, 24(%[init])\n"
      "lw t6, 28(%[init])\n"
      "beq %[x0], %[end4], 2f\n"
      "1:\n"
      "lb t0, 0(%[x0])\n" "lb t1, 0(%[x1])\n"
      BEDSIDE_RV_MAC(0, wa, s0, s8) BEDSIDE_RV_MAC(1, wa, s1, s9) BEDSIDE_RV_MAC(2, wa, s2, s10) BEDSIDE_RV_MAC(3, wa, s3, s11)
      BEDSIDE_RV_MAC(0, wb, s4, t3) BEDSIDE_RV_MAC(1, wb, s5, t4) BEDSIDE_RV_MAC(2, wb, s6, t5) BEDSIDE_RV_MAC(3, wb, s7, t6)
      "lb t0, 1(%[x0])\n" "lb t1, 1(%[x1])\n"
      BEDSIDE_RV_MAC(4, wa, s0, s8) BEDSIDE_RV_MAC(5, wa, s1, s9) BEDSIDE_RV_MAC(6, wa, s2, s10) BEDSIDE_RV_MAC(7, wa, s3, s11)
      BEDSIDE_RV_MAC(4, wb, s4, t3) BEDSIDE_RV_MAC(5, wb, s5, t4) BEDSIDE_RV_MAC(6, wb, s6, t5) BEDSIDE_RV_MAC(7, wb, s7, t6)
      "lb t0, 2(%[x0])\n" "lb t1, 2(%[x1])\n"
      BEDSIDE_RV_MAC(8, wa, s0, s8) BEDSIDE_RV_MAC(9, wa, s1, s9) BEDSIDE_RV_MAC(10, wa, s2, s10) BEDSIDE_RV_MAC(11, wa, s3, s11)
      BEDSIDE_RV_MAC(8, wb, s4, t3) BEDSIDE_RV_MAC(9, wb, s5, t4) BEDSIDE_RV_MAC(10, wb, s6, t5) BEDSIDE_RV_MAC(11, wb, s7, t6)
      "lb t0, 3(%[x0])\n" "lb t1, 3(%[x1])\n"
      BEDSIDE_RV_MAC(12, wa, s0, s8) BEDSIDE_RV_MAC(13, wa, s1, s9) BEDSIDE_RV_MAC(14, wa, s2, s10) BEDSIDE_RV_MAC(15, wa, s3, s11)
      BEDSIDE_RV_MAC(12, wb, s4, t3) BEDSIDE_RV_MAC(13, wb, s5, t4) BEDSIDE_RV_MAC(14, wb, s6, t5) BEDSIDE_RV_MAC(15, wb, s7, t6)
      "addi %[x0], %[x0], 4\n"
      "addi %[x1], %[x1], 4\n"
      "addi %[wa], %[wa], 16\n"
      "addi %[wb], %[wb], 16\n"
      "bne %[x0], %[end4], 1b\n"
      "2:\n"
      "beq %[x0], %[end], 4f\n"
      "3:\n"
      "lb t0, 0(%[x0])\n" "lb t1, 0(%[x1])\n"
      BEDSIDE_RV_MAC(0, wa, s0, s8) BEDSIDE_RV_MAC(1, wa, s1, s9) BEDSIDE_RV_MAC(2, wa, s2, s10) BEDSIDE_RV_MAC(3, wa, s3, s11)
      BEDSIDE_RV_MAC(0, wb, s4, t3) BEDSIDE_RV_MAC(1, wb, s5, t4) BEDSIDE_RV_MAC(2, wb, s6, t5) BEDSIDE_RV_MAC(3, wb, s7, t6)
      "addi %[x0], %[x0], 1\n"
      "addi %[x1], %[x1], 1\n"
      "addi %[wa], %[wa], 4\n"
      "addi %[wb], %[wb], 4\n"
      "bne %[x0], %[end], 3b\n"
      "4:\n"
      "sw s0, 0(%[acc])\n"
      "sw s1, 4(%[acc])\n"
      "sw s2, 8(%[acc])\n"
      "sw s3, 12(%[acc])\n"
      "sw s4, 16(%[acc])\n"
      "sw s5, 20(%[acc])\n"
      "sw s6, 24(%[acc])\n"
      "sw s7, 28(%[acc])\n"
      "sw s8, 32(%[acc])\n"
      "sw s9, 36(%[acc])\n"
      "sw s10, 40(%[acc])\n"
      "sw s11, 44(%[acc])\n"
      "sw t3, 48(%[acc])\n"
      "sw t4, 52(%[acc])\n"
      "sw t5, 56(%[acc])\n"
      "sw t6, 60(%[acc])\n"
      : [x0] "+r"(x0), [x1] "+r"(x1), [wa] "+r"(wa), [wb] "+r"(wb)
      : [end4] "r"(end4), [end] "r"(end), [init] "r"(init), [acc] "r"(acc)
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "t0", "t1", "t2", "a7", "memory");
}

inline void Dot2x4(const int8_t *x0, const int8_t *x1, const int8_t *wa, int32_t n, const int32_t *init, int32_t *acc) {
  const int8_t *const end4 = x0 + (n & ~3), *const end = x0 + n;
  __asm__ volatile(
      "lw s0, 0(%[init])\n"
      "lw s1, 4(%[init])\n"
      "lw s2, 8(%[init])\n"
      "lw s3, 12(%[init])\n"
      "lw s4, 0(%[init])\n"
      "lw s5, 4(%[init])\n"
      "lw s6, 8(%[init])\n"
      "lw s7, 12(%[init])\n"
      "beq %[x0], %[end4], 2f\n"
      "1:\n"
      "lb t0, 0(%[x0])\n" "lb t1, 0(%[x1])\n"
      BEDSIDE_RV_MAC(0, wa, s0, s4) BEDSIDE_RV_MAC(1, wa, s1, s5) BEDSIDE_RV_MAC(2, wa, s2, s6) BEDSIDE_RV_MAC(3, wa, s3, s7)
      "lb t0, 1(%[x0])\n" "lb t1, 1(%[x1])\n"
      BEDSIDE_RV_MAC(4, wa, s0, s4) BEDSIDE_RV_MAC(5, wa, s1, s5) BEDSIDE_RV_MAC(6, wa, s2, s6) BEDSIDE_RV_MAC(7, wa, s3, s7)
      "lb t0, 2(%[x0])\n" "lb t1, 2(%[x1])\n"
      BEDSIDE_RV_MAC(8, wa, s0, s4) BEDSIDE_RV_MAC(9, wa, s1, s5) BEDSIDE_RV_MAC(10, wa, s2, s6) BEDSIDE_RV_MAC(11, wa, s3, s7)
      "lb t0, 3(%[x0])\n" "lb t1, 3(%[x1])\n"
      BEDSIDE_RV_MAC(12, wa, s0, s4) BEDSIDE_RV_MAC(13, wa, s1, s5) BEDSIDE_RV_MAC(14, wa, s2, s6) BEDSIDE_RV_MAC(15, wa, s3, s7)
      "addi %[x0], %[x0], 4\n"
      "addi %[x1], %[x1], 4\n"
      "addi %[wa], %[wa], 16\n"
      "bne %[x0], %[end4], 1b\n"
      "2:\n"
      "beq %[x0], %[end], 4f\n"
      "3:\n"
      "lb t0, 0(%[x0])\n" "lb t1, 0(%[x1])\n"
      BEDSIDE_RV_MAC(0, wa, s0, s4) BEDSIDE_RV_MAC(1, wa, s1, s5) BEDSIDE_RV_MAC(2, wa, s2, s6) BEDSIDE_RV_MAC(3, wa, s3, s7)
      "addi %[x0], %[x0], 1\n"
      "addi %[x1], %[x1], 1\n"
      "addi %[wa], %[wa], 4\n"
      "bne %[x0], %[end], 3b\n"
      "4:\n"
      "sw s0, 0(%[acc])\n"
      "sw s1, 4(%[acc])\n"
      "sw s2, 8(%[acc])\n"
      "sw s3, 12(%[acc])\n"
      "sw s4, 16(%[acc])\n"
      "sw s5, 20(%[acc])\n"
      "sw s6, 24(%[acc])\n"
      "sw s7, 28(%[acc])\n"
      : [x0] "+r"(x0), [x1] "+r"(x1), [wa] "+r"(wa)
      : [end4] "r"(end4), [end] "r"(end), [init] "r"(init), [acc] "r"(acc)
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "t0", "t1", "t2", "a7", "memory");
}
#undef BEDSIDE_RV_MAC
#endif

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
#elif defined(__ARM_ARCH_6M__)
    Dot4x8M0(x, w8 + oc * n, n, a);
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
#elif defined(__ARM_ARCH_6M__)
    Dot4x8M0(x, w8 + full * n, n, a);
#else
    Dot4x8(x, w8 + full * n, n, a);
#endif
    for (int32_t k = 0; full + k < out_c; ++k)
      out[full + k] = RequantizeToInt8<kFast, kFullRange>(a[k], quant + k * kQuantStride, off, lo, hi);
  }
}

#if BEDSIDE_ENGINE_TWO_PIXELS
// DotRows for two pixels whose fields are x0 and x1 (out0, out1: their outputs): eight
// channels per pass while they last, then four at a time, the last group padded.
template <int kFast, bool kFullRange>
inline void DotRows2Px(const int8_t *x0, const int8_t *x1, const int8_t *w8, int32_t n, int32_t out_c,
                       const RowsQuant &q, int8_t *out0, int8_t *out1) {
  const RowsQuant r = q;
  const int32_t *quant = r.quant;
  const int32_t off = r.output_offset, lo = r.act_min, hi = r.act_max;
  int32_t oc = 0;
  for (; oc + 8 <= out_c; oc += 8, quant += 8 * kQuantStride) {
    int32_t a[16];
    Dot2x8(x0, x1, w8 + oc * n, w8 + (oc + 4) * n, n, r.acc_init + oc, a);
    for (int32_t k = 0; k < 8; ++k) {   // each channel's constants loaded once for both pixels
      const int32_t qk[kQuantStride] = {quant[k * kQuantStride], quant[k * kQuantStride + 1],
                                        quant[k * kQuantStride + 2]};
      const int8_t v0 = RequantizeToInt8<kFast, kFullRange>(a[k], qk, off, lo, hi);
      const int8_t v1 = RequantizeToInt8<kFast, kFullRange>(a[8 + k], qk, off, lo, hi);
      out0[oc + k] = v0;
      out1[oc + k] = v1;
    }
  }
  for (; oc < out_c; oc += 4, quant += 4 * kQuantStride) {   // fours, then the last 1-3 (zero padded weights)
    int32_t a[8];
    Dot2x4(x0, x1, w8 + oc * n, n, r.acc_init + oc, a);
    for (int32_t k = 0; k < 4 && oc + k < out_c; ++k) {
      const int32_t qk[kQuantStride] = {quant[k * kQuantStride], quant[k * kQuantStride + 1],
                                        quant[k * kQuantStride + 2]};
      const int8_t v0 = RequantizeToInt8<kFast, kFullRange>(a[k], qk, off, lo, hi);
      const int8_t v1 = RequantizeToInt8<kFast, kFullRange>(a[4 + k], qk, off, lo, hi);
      out0[oc + k] = v0;
      out1[oc + k] = v1;
    }
  }
}
#endif

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_DOT_H_
