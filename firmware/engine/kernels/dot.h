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

// One input step k of BEDSIDE_RV_4PX_LOOP: the four pixels' inputs k, each times the
// four channels' weights k into the 16 accumulators.
#define BEDSIDE_RV_4PX_STEP(k) \
  "lb t0, " #k "(%[x0])\n" "lb t1, " #k "(%[x1])\n" "lb t2, " #k "(%[x2])\n" "lb a7, " #k "(%[x3])\n" \
  "lb a6, 4*" #k "+0(%[w])\n" "mul ra, t0, a6\n" "add s0, s0, ra\n" "mul ra, t1, a6\n" "add s4, s4, ra\n" \
  "mul ra, t2, a6\n" "add s8, s8, ra\n" "mul a6, a7, a6\n" "add t3, t3, a6\n" \
  "lb a6, 4*" #k "+1(%[w])\n" "mul ra, t0, a6\n" "add s1, s1, ra\n" "mul ra, t1, a6\n" "add s5, s5, ra\n" \
  "mul ra, t2, a6\n" "add s9, s9, ra\n" "mul a6, a7, a6\n" "add t4, t4, a6\n" \
  "lb a6, 4*" #k "+2(%[w])\n" "mul ra, t0, a6\n" "add s2, s2, ra\n" "mul ra, t1, a6\n" "add s6, s6, ra\n" \
  "mul ra, t2, a6\n" "add s10, s10, ra\n" "mul a6, a7, a6\n" "add t5, t5, a6\n" \
  "lb a6, 4*" #k "+3(%[w])\n" "mul ra, t0, a6\n" "add s3, s3, ra\n" "mul ra, t1, a6\n" "add s7, s7, ra\n" \
  "mul ra, t2, a6\n" "add s11, s11, ra\n" "mul a6, a7, a6\n" "add t6, t6, a6\n"

// Four output pixels by four channels (RISC-V): each weight byte feeds four MACs and each
// input byte four (per input 4 + 4 byte loads, 16 `mul`, 16 `add`: 2.5 instructions per
// MAC, 2.6 with the four pointer steps and the loop test per four inputs, against Dot2x8's
// 2.7). x0-x3: the pixels' fields, w: one group of four channels as Dot4x8 reads it.
// The 16 accumulators (s0-s11, t3-t6: [pixel][channel]), four inputs (t0-t2, a7), a
// weight (a6) and a product (ra) fill 22 registers and the five pointers five more, so the
// loop bounds and the other pointers are read from the stack (memory operands). Every
// pixel starts from init[0..3]. Generated text (one input: 4 + 4 loads, 16 mul, 16 add).
#define BEDSIDE_RV_4PX_LOOP \
  "lw ra, %[init]\n" \
  "lw s0, 0(ra)\n" \
  "lw s1, 4(ra)\n" \
  "lw s2, 8(ra)\n" \
  "lw s3, 12(ra)\n" \
  "lw s4, 0(ra)\n" \
  "lw s5, 4(ra)\n" \
  "lw s6, 8(ra)\n" \
  "lw s7, 12(ra)\n" \
  "lw s8, 0(ra)\n" \
  "lw s9, 4(ra)\n" \
  "lw s10, 8(ra)\n" \
  "lw s11, 12(ra)\n" \
  "lw t3, 0(ra)\n" \
  "lw t4, 4(ra)\n" \
  "lw t5, 8(ra)\n" \
  "lw t6, 12(ra)\n" \
  "lw ra, %[end4]\n" \
  "beq %[x0], ra, 2f\n" \
  "1:\n" \
  BEDSIDE_RV_4PX_STEP(0) \
  BEDSIDE_RV_4PX_STEP(1) \
  BEDSIDE_RV_4PX_STEP(2) \
  BEDSIDE_RV_4PX_STEP(3) \
  "addi %[x0], %[x0], 4\n" \
  "addi %[x1], %[x1], 4\n" \
  "addi %[x2], %[x2], 4\n" \
  "addi %[x3], %[x3], 4\n" \
  "addi %[w], %[w], 16\n" \
  "lw ra, %[end4]\n" \
  "bne %[x0], ra, 1b\n" \
  "2:\n" \
  "lw ra, %[end]\n" \
  "beq %[x0], ra, 4f\n" \
  "3:\n" \
  BEDSIDE_RV_4PX_STEP(0) \
  "addi %[x0], %[x0], 1\n" \
  "addi %[x1], %[x1], 1\n" \
  "addi %[x2], %[x2], 1\n" \
  "addi %[x3], %[x3], 1\n" \
  "addi %[w], %[w], 4\n" \
  "lw ra, %[end]\n" \
  "bne %[x0], ra, 3b\n" \
  "4:\n"

// acc[pixel][channel] (16 words) = init + the four pixels' dot products with one group.
__attribute__((always_inline)) inline void Dot4Px4(const int8_t *x0, const int8_t *x1, const int8_t *x2,
                                                   const int8_t *x3, const int8_t *w, int32_t n, const int32_t *init,
                                                   int32_t *acc) {
  const int8_t *const end4 = x0 + (n & ~3), *const end = x0 + n;
  __asm__ volatile(
      BEDSIDE_RV_4PX_LOOP
      "lw ra, %[acc]\n"
      "sw s0, 0(ra)\n"
      "sw s1, 4(ra)\n"
      "sw s2, 8(ra)\n"
      "sw s3, 12(ra)\n"
      "sw s4, 16(ra)\n"
      "sw s5, 20(ra)\n"
      "sw s6, 24(ra)\n"
      "sw s7, 28(ra)\n"
      "sw s8, 32(ra)\n"
      "sw s9, 36(ra)\n"
      "sw s10, 40(ra)\n"
      "sw s11, 44(ra)\n"
      "sw t3, 48(ra)\n"
      "sw t4, 52(ra)\n"
      "sw t5, 56(ra)\n"
      "sw t6, 60(ra)\n"
      : [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [x3] "+r"(x3), [w] "+r"(w)
      : [end4] "m"(end4), [end] "m"(end), [init] "m"(init), [acc] "m"(acc)
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "t0", "t1",
        "t2", "a6", "a7", "ra", "memory");
}

// The same group requantized in registers (form 2, MultiplyByQuantizedMultiplierFast with
// the zero point folded, as RequantizeRv; out[p]: pixel p's outputs of this group's first
// channel): per output `mul`, `mulhsu`, two shifts, three adds, the shift, two
// compare-and-branch clamps and the store (11), per channel three loads and a shift,
// against about 20 in C with the accumulators stored and reloaded.
__attribute__((always_inline)) inline void Dot4Px4Requant(const int8_t *x0, const int8_t *x1, const int8_t *x2,
                                                          const int8_t *x3, const int8_t *w, int32_t n,
                                                          const int32_t *init, const int32_t *quant, int32_t lo,
                                                          int32_t hi, int8_t *const *out) {
  const int8_t *const end4 = x0 + (n & ~3), *const end = x0 + n;
  int32_t h;
  __asm__ volatile(
      BEDSIDE_RV_4PX_LOOP
      "lw ra, %[quant]\n"
      "lw a6, %[lo]\n"
      "lw a7, %[hi]\n"
      "lw %[x0], %[o0]\n"
      "lw %[x1], %[o1]\n"
      "lw %[x2], %[o2]\n"
      "lw %[x3], %[o3]\n"
      "lw t0, 0(ra)\n" "lw t1, 4(ra)\n" "lw t2, 8(ra)\n" "slli t0, t0, 1\n"
      "mul %[w], s0, t0\n" "mulhsu %[h], s0, t0\n" "srai s0, s0, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s0\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 0(%[x0])\n"
      "mul %[w], s4, t0\n" "mulhsu %[h], s4, t0\n" "srai s4, s4, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s4\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 0(%[x1])\n"
      "mul %[w], s8, t0\n" "mulhsu %[h], s8, t0\n" "srai s8, s8, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s8\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 0(%[x2])\n"
      "mul %[w], t3, t0\n" "mulhsu %[h], t3, t0\n" "srai t3, t3, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], t3\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 0(%[x3])\n"
      "lw t0, 12(ra)\n" "lw t1, 16(ra)\n" "lw t2, 20(ra)\n" "slli t0, t0, 1\n"
      "mul %[w], s1, t0\n" "mulhsu %[h], s1, t0\n" "srai s1, s1, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s1\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 1(%[x0])\n"
      "mul %[w], s5, t0\n" "mulhsu %[h], s5, t0\n" "srai s5, s5, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s5\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 1(%[x1])\n"
      "mul %[w], s9, t0\n" "mulhsu %[h], s9, t0\n" "srai s9, s9, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s9\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 1(%[x2])\n"
      "mul %[w], t4, t0\n" "mulhsu %[h], t4, t0\n" "srai t4, t4, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], t4\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 1(%[x3])\n"
      "lw t0, 24(ra)\n" "lw t1, 28(ra)\n" "lw t2, 32(ra)\n" "slli t0, t0, 1\n"
      "mul %[w], s2, t0\n" "mulhsu %[h], s2, t0\n" "srai s2, s2, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s2\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 2(%[x0])\n"
      "mul %[w], s6, t0\n" "mulhsu %[h], s6, t0\n" "srai s6, s6, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s6\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 2(%[x1])\n"
      "mul %[w], s10, t0\n" "mulhsu %[h], s10, t0\n" "srai s10, s10, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s10\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 2(%[x2])\n"
      "mul %[w], t5, t0\n" "mulhsu %[h], t5, t0\n" "srai t5, t5, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], t5\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 2(%[x3])\n"
      "lw t0, 36(ra)\n" "lw t1, 40(ra)\n" "lw t2, 44(ra)\n" "slli t0, t0, 1\n"
      "mul %[w], s3, t0\n" "mulhsu %[h], s3, t0\n" "srai s3, s3, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s3\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 3(%[x0])\n"
      "mul %[w], s7, t0\n" "mulhsu %[h], s7, t0\n" "srai s7, s7, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s7\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 3(%[x1])\n"
      "mul %[w], s11, t0\n" "mulhsu %[h], s11, t0\n" "srai s11, s11, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], s11\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 3(%[x2])\n"
      "mul %[w], t6, t0\n" "mulhsu %[h], t6, t0\n" "srai t6, t6, 31\n" "srli %[w], %[w], 31\n"
      "add %[h], %[h], t2\n" "add %[h], %[h], %[w]\n" "add %[h], %[h], t6\n" "sra %[h], %[h], t1\n"
      "bge %[h], a6, 5f\n" "mv %[h], a6\n" "5:\n" "bge a7, %[h], 6f\n" "mv %[h], a7\n" "6:\n" "sb %[h], 3(%[x3])\n"
      : [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [x3] "+r"(x3), [w] "+r"(w), [h] "=&r"(h)
      : [end4] "m"(end4), [end] "m"(end), [init] "m"(init), [quant] "m"(quant), [lo] "m"(lo), [hi] "m"(hi),
        [o0] "m"(out[0]), [o1] "m"(out[1]), [o2] "m"(out[2]), [o3] "m"(out[3])
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "t0", "t1",
        "t2", "a6", "a7", "ra", "memory");
}
#undef BEDSIDE_RV_4PX_LOOP
#undef BEDSIDE_RV_4PX_STEP

// One input step k of Dot5Px4Requant: the four channels' weights k, then each pixel's
// input k (pixel p at p * kStep) times the four into that pixel's accumulators.
#define BEDSIDE_RV_5PX_STEP(k) \
  "lb t0, 4*" #k "+0(%[wp])\n" "lb t1, 4*" #k "+1(%[wp])\n" "lb t2, 4*" #k "+2(%[wp])\n" \
  "lb a6, 4*" #k "+3(%[wp])\n" \
  "lb a7, %c[st]*0+" #k "(%[xp])\n" \
  "mul ra, a7, t0\n" "add s0, s0, ra\n" "mul ra, a7, t1\n" "add s1, s1, ra\n" \
  "mul ra, a7, t2\n" "add s2, s2, ra\n" "mul a7, a7, a6\n" "add s3, s3, a7\n" \
  "lb a7, %c[st]*1+" #k "(%[xp])\n" \
  "mul ra, a7, t0\n" "add s4, s4, ra\n" "mul ra, a7, t1\n" "add s5, s5, ra\n" \
  "mul ra, a7, t2\n" "add s6, s6, ra\n" "mul a7, a7, a6\n" "add s7, s7, a7\n" \
  "lb a7, %c[st]*2+" #k "(%[xp])\n" \
  "mul ra, a7, t0\n" "add s8, s8, ra\n" "mul ra, a7, t1\n" "add s9, s9, ra\n" \
  "mul ra, a7, t2\n" "add s10, s10, ra\n" "mul a7, a7, a6\n" "add s11, s11, a7\n" \
  "lb a7, %c[st]*3+" #k "(%[xp])\n" \
  "mul ra, a7, t0\n" "add t3, t3, ra\n" "mul ra, a7, t1\n" "add t4, t4, ra\n" \
  "mul ra, a7, t2\n" "add t5, t5, ra\n" "mul a7, a7, a6\n" "add t6, t6, a7\n" \
  "lb a7, %c[st]*4+" #k "(%[xp])\n" \
  "mul ra, a7, t0\n" "add a2, a2, ra\n" "mul ra, a7, t1\n" "add a3, a3, ra\n" \
  "mul ra, a7, t2\n" "add a4, a4, ra\n" "mul a7, a7, a6\n" "add a5, a5, a7\n"

// Five output pixels by four channels whose fields lie in place kStep bytes apart (pointwise
// and interior 1-D convolutions), requantized in registers (form 2, full int8 range): one
// field pointer serves the five (input p at immediate offset p * kStep), which frees the
// registers for a fifth pixel: per input four weight loads, five input loads, 20 `mul`
// and 20 `add` (2.45 instructions per MAC, 2.5 with the pointer steps and the loop test,
// against Dot4Px4's 2.6). All 28 registers an `asm` block may use: 20 accumulators
// (s0-s11, t3-t6, a2-a5), four weights (t0-t2, a6), an input (a7), a product (ra) and the
// two pointers (a0, a1); then quant pointer (ra), multiplier, shift, rounding term
// (t0-t2), output (a0), the constant 256 (a1) and two temporaries (a6, a7). The clamp is
// one unsigned compare of v + 128 with 256; out-of-range values become -128 or 127 by
// (v >> 31) ^ 127. out: pixel p's outputs of this group at out + p * kOutC.
template <int32_t kStep, int32_t kOutC>
__attribute__((always_inline)) inline void Dot5Px4Requant(const int8_t *x, const int8_t *w, int32_t n,
                                                          const int32_t *init, const int32_t *quant, int8_t *out) {
  const int8_t *const end4 = x + (n & ~3), *const end = x + n;
  register const int8_t *xp asm("a0") = x;
  register const int8_t *wp asm("a1") = w;
  __asm__ volatile(
      "lw ra, %[init]\n"
      "lw s0, 0(ra)\n" "lw s1, 4(ra)\n" "lw s2, 8(ra)\n" "lw s3, 12(ra)\n"
      "lw s4, 0(ra)\n" "lw s5, 4(ra)\n" "lw s6, 8(ra)\n" "lw s7, 12(ra)\n"
      "lw s8, 0(ra)\n" "lw s9, 4(ra)\n" "lw s10, 8(ra)\n" "lw s11, 12(ra)\n"
      "lw t3, 0(ra)\n" "lw t4, 4(ra)\n" "lw t5, 8(ra)\n" "lw t6, 12(ra)\n"
      "lw a2, 0(ra)\n" "lw a3, 4(ra)\n" "lw a4, 8(ra)\n" "lw a5, 12(ra)\n"
      "lw ra, %[end4]\n" "beq %[xp], ra, 2f\n"
      "1:\n"
      BEDSIDE_RV_5PX_STEP(0)
      BEDSIDE_RV_5PX_STEP(1)
      BEDSIDE_RV_5PX_STEP(2)
      BEDSIDE_RV_5PX_STEP(3)
      "addi %[xp], %[xp], 4\n" "addi %[wp], %[wp], 16\n" "lw ra, %[end4]\n" "bne %[xp], ra, 1b\n"
      "2:\n" "lw ra, %[end]\n" "beq %[xp], ra, 4f\n"
      "3:\n"
      BEDSIDE_RV_5PX_STEP(0)
      "addi %[xp], %[xp], 1\n" "addi %[wp], %[wp], 4\n" "lw ra, %[end]\n" "bne %[xp], ra, 3b\n"
      "4:\n"
      "lw ra, %[quant]\n" "lw %[xp], %[out]\n" "li %[wp], 256\n"
      "lw t0, 0(ra)\n" "lw t1, 4(ra)\n" "lw t2, 8(ra)\n" "slli t0, t0, 1\n"
      "mul a6, s0, t0\n" "mulhsu a7, s0, t0\n" "srai s0, s0, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s0\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*0+0(%[xp])\n"
      "mul a6, s4, t0\n" "mulhsu a7, s4, t0\n" "srai s4, s4, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s4\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*1+0(%[xp])\n"
      "mul a6, s8, t0\n" "mulhsu a7, s8, t0\n" "srai s8, s8, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s8\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*2+0(%[xp])\n"
      "mul a6, t3, t0\n" "mulhsu a7, t3, t0\n" "srai t3, t3, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, t3\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*3+0(%[xp])\n"
      "mul a6, a2, t0\n" "mulhsu a7, a2, t0\n" "srai a2, a2, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, a2\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*4+0(%[xp])\n"
      "lw t0, 12(ra)\n" "lw t1, 16(ra)\n" "lw t2, 20(ra)\n" "slli t0, t0, 1\n"
      "mul a6, s1, t0\n" "mulhsu a7, s1, t0\n" "srai s1, s1, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s1\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*0+1(%[xp])\n"
      "mul a6, s5, t0\n" "mulhsu a7, s5, t0\n" "srai s5, s5, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s5\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*1+1(%[xp])\n"
      "mul a6, s9, t0\n" "mulhsu a7, s9, t0\n" "srai s9, s9, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s9\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*2+1(%[xp])\n"
      "mul a6, t4, t0\n" "mulhsu a7, t4, t0\n" "srai t4, t4, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, t4\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*3+1(%[xp])\n"
      "mul a6, a3, t0\n" "mulhsu a7, a3, t0\n" "srai a3, a3, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, a3\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*4+1(%[xp])\n"
      "lw t0, 24(ra)\n" "lw t1, 28(ra)\n" "lw t2, 32(ra)\n" "slli t0, t0, 1\n"
      "mul a6, s2, t0\n" "mulhsu a7, s2, t0\n" "srai s2, s2, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s2\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*0+2(%[xp])\n"
      "mul a6, s6, t0\n" "mulhsu a7, s6, t0\n" "srai s6, s6, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s6\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*1+2(%[xp])\n"
      "mul a6, s10, t0\n" "mulhsu a7, s10, t0\n" "srai s10, s10, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s10\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*2+2(%[xp])\n"
      "mul a6, t5, t0\n" "mulhsu a7, t5, t0\n" "srai t5, t5, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, t5\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*3+2(%[xp])\n"
      "mul a6, a4, t0\n" "mulhsu a7, a4, t0\n" "srai a4, a4, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, a4\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*4+2(%[xp])\n"
      "lw t0, 36(ra)\n" "lw t1, 40(ra)\n" "lw t2, 44(ra)\n" "slli t0, t0, 1\n"
      "mul a6, s3, t0\n" "mulhsu a7, s3, t0\n" "srai s3, s3, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s3\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*0+3(%[xp])\n"
      "mul a6, s7, t0\n" "mulhsu a7, s7, t0\n" "srai s7, s7, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s7\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*1+3(%[xp])\n"
      "mul a6, s11, t0\n" "mulhsu a7, s11, t0\n" "srai s11, s11, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, s11\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*2+3(%[xp])\n"
      "mul a6, t6, t0\n" "mulhsu a7, t6, t0\n" "srai t6, t6, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, t6\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*3+3(%[xp])\n"
      "mul a6, a5, t0\n" "mulhsu a7, a5, t0\n" "srai a5, a5, 31\n" "srli a6, a6, 31\n"
      "add a7, a7, t2\n" "add a7, a7, a6\n" "add a7, a7, a5\n" "sra a7, a7, t1\n"
      "addi a6, a7, 128\n" "bltu a6, %[wp], 7f\n" "srai a7, a7, 31\n" "xori a7, a7, 127\n" "7:\n" "sb a7, %c[oc]*4+3(%[xp])\n"
      : [xp] "+r"(xp), [wp] "+r"(wp)
      : [end4] "m"(end4), [end] "m"(end), [init] "m"(init), [quant] "m"(quant), [out] "m"(out), [st] "n"(kStep),
        [oc] "n"(kOutC)
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "a2", "a3",
        "a4", "a5", "t0", "t1", "t2", "a6", "a7", "ra", "memory");
}
#undef BEDSIDE_RV_5PX_STEP


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

#if BEDSIDE_ENGINE_TWO_PIXELS
// One channel's fast requantization (forms 1 and 2) for RISC-V, its constants read once
// for several pixels: m2 = 2 * multiplier as unsigned (< 2^32), so the high word of 2x * m
// is one `mulhsu` of x and m2 (no shift of x per output); the rest is HighMulRound's
// portable form and MultiplyByQuantizedMultiplierFast, the same integers.
struct ChannelQuantRv {
  uint32_t m2;
  int32_t right_shift, round;
};

inline ChannelQuantRv LoadChannelQuantRv(const int32_t *quant) {
  return {static_cast<uint32_t>(quant[0]) << 1, quant[1], quant[2]};
}

// The fast forms' value before the clamp (kFast 1 or 2).
template <int kFast>
inline int32_t ScaleRv(int32_t acc, const ChannelQuantRv &c, int32_t output_offset) {
  const int64_t product = static_cast<int64_t>(acc) * static_cast<int64_t>(static_cast<uint64_t>(c.m2));
  const int32_t high = static_cast<int32_t>(product >> 32) + c.round +
                       static_cast<int32_t>(static_cast<uint32_t>(product) >> 31) + (acc >> 31);
  return (high >> c.right_shift) + (kFast == 1 ? output_offset : 0);
}

template <int kFast, bool kFullRange>
inline int8_t RequantizeRv(int32_t acc, const ChannelQuantRv &c, const int32_t *quant, int32_t output_offset,
                           int32_t act_min, int32_t act_max) {
  if (kFast == 0) return RequantizeToInt8<kFast, kFullRange>(acc, quant, output_offset, act_min, act_max);
  const int32_t v = ScaleRv<kFast>(acc, c, output_offset);
  return static_cast<int8_t>(kFullRange ? Clamp(v, -128, 127) : Clamp(v, act_min, act_max));
}

// DotRows for four pixels whose fields are x[0..3] (outputs out, out + out_c, ...; the
// pixels are consecutive): four channels per pass, requantized in registers by
// Dot4Px4Requant in form 2, else by Dot4Px4 and C (and the last, padded group), each
// channel's constants read once for the four pixels. Not inlined: its asm claims
// every callee-saved register, saved once per four pixels here instead of in the caller's
// loop.
template <int kFast, bool kFullRange>
__attribute__((noinline)) void DotRows4Px(const int8_t *const *x, const int8_t *w8, int32_t n, int32_t out_c,
                                          const RowsQuant &q, int8_t *out) {
  const RowsQuant r = q;
  const int8_t *const x0 = x[0], *const x1 = x[1], *const x2 = x[2], *const x3 = x[3];
  const int32_t *quant = r.quant;
  const int32_t off = r.output_offset, lo = r.act_min, hi = r.act_max;
  int32_t oc = 0;
  if (kFast == 2) {   // whole groups requantized in the assembly
    const int32_t clamp_lo = kFullRange ? -128 : lo, clamp_hi = kFullRange ? 127 : hi;
    for (; oc + 4 <= out_c; oc += 4, quant += 4 * kQuantStride) {
      int8_t *const o[4] = {out + oc, out + out_c + oc, out + 2 * out_c + oc, out + 3 * out_c + oc};
      Dot4Px4Requant(x0, x1, x2, x3, w8 + oc * n, n, r.acc_init + oc, quant, clamp_lo, clamp_hi, o);
    }
  }
  for (; oc < out_c; oc += 4, quant += 4 * kQuantStride) {
    int32_t a[16];
    Dot4Px4(x0, x1, x2, x3, w8 + oc * n, n, r.acc_init + oc, a);
    const int32_t left = out_c - oc < 4 ? out_c - oc : 4;
    for (int32_t k = 0; k < left; ++k) {
      const int32_t *qk = quant + k * kQuantStride;
      const ChannelQuantRv c = LoadChannelQuantRv(qk);
      const int8_t v0 = RequantizeRv<kFast, kFullRange>(a[k], c, qk, off, lo, hi);
      const int8_t v1 = RequantizeRv<kFast, kFullRange>(a[4 + k], c, qk, off, lo, hi);
      const int8_t v2 = RequantizeRv<kFast, kFullRange>(a[8 + k], c, qk, off, lo, hi);
      const int8_t v3 = RequantizeRv<kFast, kFullRange>(a[12 + k], c, qk, off, lo, hi);
      out[oc + k] = v0;
      out[out_c + oc + k] = v1;
      out[2 * out_c + oc + k] = v2;
      out[3 * out_c + oc + k] = v3;
    }
  }
}

// Five pixels whose fields are x + p * kStep (outputs out + p * kOutC), all kOutC channels
// (a multiple of 4) four at a time through Dot5Px4Requant. Not inlined, as DotRows4Px.
template <int32_t kStep, int32_t kOutC>
__attribute__((noinline)) void DotRows5Px(const int8_t *x, const int8_t *w8, int32_t n, const RowsQuant &q,
                                          int8_t *out) {
  static_assert(kOutC % 4 == 0 && 3 + 4 * kStep <= 2047 && 4 * kOutC + 3 <= 2047, "immediate offsets");
  for (int32_t oc = 0; oc < kOutC; oc += 4)
    Dot5Px4Requant<kStep, kOutC>(x, w8 + oc * n, n, q.acc_init + oc, q.quant + oc * kQuantStride, out + oc);
}
#endif

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_DOT_H_
