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
  const int16_t *wino;        // RISC-V, 1x3 'same' stride-1 convs: see ConvWinograd3 (else nullptr)
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

#if BEDSIDE_ENGINE_TWO_PIXELS
// Most input channels ConvWinograd3 transforms on its stack (the generator's limit too).
constexpr int32_t kWinogradMaxInC = 32;

// One pass of ConvWinograd3: channels a, b (u: their U, [in_c][4][2]) x tiles A, B (v:
// their V, [in_c][A, B][4]); y = M0 + M1 + M2 and M1 - M2 - M3 of (a, A), (a, B), (b, A),
// (b, B). Per input channel eight `lh`, 16 `mul`, 16 `add`; accumulators s0-s11, t3-t6.
#define BEDSIDE_RV_WINO_K(k, o) \
  "lh t0, " #o "+" #k "*2(%[v])\n" "lh t1, " #o "+8+" #k "*2(%[v])\n" "lh t2, " #o "+" #k "*4(%[u])\n" \
  "lh a6, " #o "+2+" #k "*4(%[u])\n"

// Component k of one input channel (its U and V at byte offset o) added into the four
// accumulators a-d; BEDSIDE_RV_WINO_CHANNEL: all four components, the 16 accumulators.
#define BEDSIDE_RV_WINO_ACC(k, o, a, b, c, d) \
  BEDSIDE_RV_WINO_K(k, o) \
  "mul a7, t2, t0\n" "add " #a ", " #a ", a7\n" "mul ra, t2, t1\n" "add " #b ", " #b ", ra\n" \
  "mul a7, a6, t0\n" "add " #c ", " #c ", a7\n" "mul ra, a6, t1\n" "add " #d ", " #d ", ra\n"
#define BEDSIDE_RV_WINO_CHANNEL(o) \
  BEDSIDE_RV_WINO_ACC(0, o, s0, s4, s8, t3) BEDSIDE_RV_WINO_ACC(1, o, s1, s5, s9, t4) \
  BEDSIDE_RV_WINO_ACC(2, o, s2, s6, s10, t5) BEDSIDE_RV_WINO_ACC(3, o, s3, s7, s11, t6)

// the first input channel's products start the accumulators; one more channel where
// their count is even (odd: nonzero), then two per iteration
#define BEDSIDE_RV_WINO_LOOP \
      BEDSIDE_RV_WINO_K(0, 0) \
      "mul s0, t2, t0\n" "mul s4, t2, t1\n" "mul s8, a6, t0\n" "mul t3, a6, t1\n" \
      BEDSIDE_RV_WINO_K(1, 0) \
      "mul s1, t2, t0\n" "mul s5, t2, t1\n" "mul s9, a6, t0\n" "mul t4, a6, t1\n" \
      BEDSIDE_RV_WINO_K(2, 0) \
      "mul s2, t2, t0\n" "mul s6, t2, t1\n" "mul s10, a6, t0\n" "mul t5, a6, t1\n" \
      BEDSIDE_RV_WINO_K(3, 0) \
      "mul s3, t2, t0\n" "mul s7, t2, t1\n" "mul s11, a6, t0\n" "mul t6, a6, t1\n" \
      "addi %[v], %[v], 16\n" "addi %[u], %[u], 16\n" \
      "beqz %[odd], 3f\n" \
      BEDSIDE_RV_WINO_CHANNEL(0) \
      "addi %[v], %[v], 16\n" "addi %[u], %[u], 16\n" \
      "3:\n" \
      "beq %[v], %[end], 2f\n" \
      "1:\n" \
      BEDSIDE_RV_WINO_CHANNEL(0) \
      BEDSIDE_RV_WINO_CHANNEL(16) \
      "addi %[v], %[v], 32\n" "addi %[u], %[u], 32\n" \
      "bne %[v], %[end], 1b\n" \
      "2:\n"

__attribute__((always_inline)) inline void Winograd3Pass(const int16_t *v, const int16_t *u, int32_t in_c,
                                                         int32_t *y) {
  const int16_t *const end = v + 8 * in_c;
  __asm__ volatile(
      BEDSIDE_RV_WINO_LOOP
      // y0 = M0 + M1 + M2, y1 = M1 - M2 - M3 for (a, A), (a, B), (b, A), (b, B)
      "add t0, s0, s1\n" "add t0, t0, s2\n" "sw t0, 0(%[y])\n"
      "sub t0, s1, s2\n" "sub t0, t0, s3\n" "sw t0, 4(%[y])\n"
      "add t0, s4, s5\n" "add t0, t0, s6\n" "sw t0, 8(%[y])\n"
      "sub t0, s5, s6\n" "sub t0, t0, s7\n" "sw t0, 12(%[y])\n"
      "add t0, s8, s9\n" "add t0, t0, s10\n" "sw t0, 16(%[y])\n"
      "sub t0, s9, s10\n" "sub t0, t0, s11\n" "sw t0, 20(%[y])\n"
      "add t0, t3, t4\n" "add t0, t0, t5\n" "sw t0, 24(%[y])\n"
      "sub t0, t4, t5\n" "sub t0, t0, t6\n" "sw t0, 28(%[y])\n"
      : [v] "+r"(v), [u] "+r"(u)
      : [end] "r"(end), [y] "r"(y), [odd] "r"((in_c - 1) & 1)
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "t0", "t1",
        "t2", "a6", "a7", "ra", "memory");
}

// Winograd3Pass with the four pixels of both channels requantized in registers (form 2,
// full int8 range, as RequantizeRv): acc = init + y / 2, then Dot4Px4Requant's 11
// instructions; out: channel a's output of the first pixel, pixel p's at p * kOutC.
#define BEDSIDE_RV_WINO_REQ(r, off) \
  "srai " #r ", " #r ", 1\n" "add " #r ", " #r ", a7\n" \
  "mul %[v], " #r ", t0\n" "mulhsu %[u], " #r ", t0\n" "srai " #r ", " #r ", 31\n" "srli %[v], %[v], 31\n" \
  "add %[u], %[u], t2\n" "add %[u], %[u], %[v]\n" "add %[u], %[u], " #r "\n" "sra %[u], %[u], t1\n" \
  "bge %[u], s2, 5f\n" "mv %[u], s2\n" "5:\n" "bge s3, %[u], 6f\n" "mv %[u], s3\n" "6:\n" \
  "sb %[u], " #off "(a6)\n"

template <int32_t kOutC>
__attribute__((always_inline)) inline void Winograd3PassRequant(const int16_t *v, const int16_t *u, int32_t in_c,
                                                                const int32_t *init, const int32_t *quant,
                                                                int8_t *out) {
  static_assert(3 * kOutC + 1 <= 2047, "immediate offsets");
  const int16_t *end = v + 8 * in_c;
  __asm__ volatile(
      BEDSIDE_RV_WINO_LOOP
      // y0 = M0 + M1 + M2 into s0 / s4 / s8 / t3, y1 = M1 - M2 - M3 into s1 / s5 / s9 / t4
      "sub t0, s1, s2\n" "add s0, s0, s1\n" "add s0, s0, s2\n" "sub s1, t0, s3\n"
      "sub t0, s5, s6\n" "add s4, s4, s5\n" "add s4, s4, s6\n" "sub s5, t0, s7\n"
      "sub t0, s9, s10\n" "add s8, s8, s9\n" "add s8, s8, s10\n" "sub s9, t0, s11\n"
      "sub t0, t4, t5\n" "add t3, t3, t4\n" "add t3, t3, t5\n" "sub t4, t0, t6\n"
      "li s2, -128\n" "li s3, 127\n"
      "lw ra, %[quant]\n" "lw a7, %[init]\n" "lw a6, %[out]\n"
      "lw t0, 0(ra)\n" "lw t1, 4(ra)\n" "lw t2, 8(ra)\n" "slli t0, t0, 1\n" "lw a7, 0(a7)\n"
      BEDSIDE_RV_WINO_REQ(s0, 0) BEDSIDE_RV_WINO_REQ(s1, %[o1]) BEDSIDE_RV_WINO_REQ(s4, %[o2])
      BEDSIDE_RV_WINO_REQ(s5, %[o3])
      "lw a7, %[init]\n"
      "lw t0, 12(ra)\n" "lw t1, 16(ra)\n" "lw t2, 20(ra)\n" "slli t0, t0, 1\n" "lw a7, 4(a7)\n"
      BEDSIDE_RV_WINO_REQ(s8, 1) BEDSIDE_RV_WINO_REQ(s9, %[o1] + 1) BEDSIDE_RV_WINO_REQ(t3, %[o2] + 1)
      BEDSIDE_RV_WINO_REQ(t4, %[o3] + 1)
      : [v] "+r"(v), [u] "+r"(u), [end] "+r"(end)
      : [odd] "r"((in_c - 1) & 1), [init] "m"(init), [quant] "m"(quant), [out] "m"(out), [o1] "i"(kOutC), [o2] "i"(2 * kOutC),
        [o3] "i"(3 * kOutC)
      : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "t0", "t1",
        "t2", "a6", "a7", "ra", "memory");
}
#undef BEDSIDE_RV_WINO_REQ
#undef BEDSIDE_RV_WINO_LOOP
#undef BEDSIDE_RV_WINO_K
#undef BEDSIDE_RV_WINO_ACC
#undef BEDSIDE_RV_WINO_CHANNEL

// RISC-V: a 1x3 convolution along the width (k_h 1, stride 1, dilation 1, 'same' padding,
// ungrouped) by Winograd F(2,3): two neighbouring outputs of a 3-tap filter g from four
// inputs x0..x3 with four multiplies instead of six. The generator stores per channel and
// input channel U = [2 g0, g0 + g1 + g2, g0 - g1 + g2, 2 g2] (int16, |U| <= 384) as
// wino[ceil2(out_c)/2][in_c][4][2 channels]; here V = [x0 - x2, x1 + x2, x2 - x1, x1 - x3]
// (int16) per input channel and tile, M_k = sum over input channels of U_k V_k, and
// M0 + M1 + M2 and M1 - M2 - M3 are exactly twice the two raw dot products (|M_k| <=
// 32 * 384 * 255, far from overflow), so acc_init + half of them is the direct path's
// accumulator to the bit. x: the raw int8 inputs, the input zero point outside the image,
// as Im2Col pads (acc_init carries input_offset * sum(w)). Two channels x two tiles (four
// outputs) per pass: 16 accumulators, each U and V load shared by two multiplies.
template <int kFast, bool kFullRange, int32_t kOutC>
__attribute__((noinline)) void ConvWinograd3(const ConvParams &p, const int8_t *input, int8_t *output) {
  const int32_t in_c = p.in_c, out_c = p.out_c, in_w = p.in_w, out_w = p.out_w;
  const int32_t *const acc_init = p.acc_init, *const quant = p.quant;
  const int32_t off = p.output_offset, lo = p.act_min, hi = p.act_max;
  int16_t v[2 * 4 * kWinogradMaxInC];   // [in_c][tile A, tile B][4]
  int8_t pad_row[kWinogradMaxInC];      // the input zero point: columns outside the image
  FillSmall(pad_row, static_cast<int8_t>(-p.input_offset), in_c);
  const int32_t rows = p.batches * p.in_h;
  for (int32_t row = 0; row < rows; ++row) {
    const int8_t *const image = input + row * in_w * in_c;
    int8_t *const out_row = output + row * out_w * out_c;
    for (int32_t ox = 0; ox < out_w; ox += 4) {   // tiles A (ox, ox + 1) and B (ox + 2, ox + 3)
      const int8_t *col[6];                         // input columns ox - 1 .. ox + 4
      for (int32_t k = 0; k < 6; ++k)
        col[k] = ox - 1 + k >= 0 && ox - 1 + k < in_w ? image + (ox - 1 + k) * in_c : pad_row;
      const int8_t *c0 = col[0], *c1 = col[1], *c2 = col[2], *c3 = col[3], *c4 = col[4], *c5 = col[5];
      int16_t *dst = v;
      for (const int8_t *const end = c0 + in_c; c0 != end; ++c0, ++c1, ++c2, ++c3, ++c4, ++c5, dst += 8) {
        const int32_t x0 = *c0, x1 = *c1, x2 = *c2, x3 = *c3, x4 = *c4, x5 = *c5;
        dst[0] = static_cast<int16_t>(x0 - x2);   // tile A: inputs x0 .. x3
        dst[1] = static_cast<int16_t>(x1 + x2);
        dst[2] = static_cast<int16_t>(x2 - x1);
        dst[3] = static_cast<int16_t>(x1 - x3);
        dst[4] = static_cast<int16_t>(x2 - x4);   // tile B: x2 .. x5
        dst[5] = static_cast<int16_t>(x3 + x4);
        dst[6] = static_cast<int16_t>(x4 - x3);
        dst[7] = static_cast<int16_t>(x3 - x5);
      }
      const int32_t outs = out_w - ox < 4 ? out_w - ox : 4;   // the outputs this pass stores
      int32_t oc = 0;
      if (kFast == 2 && kFullRange && kOutC == out_c && outs == 4) {   // whole passes requantized in the asm
        for (; oc + 2 <= out_c; oc += 2)
          Winograd3PassRequant<kOutC>(v, p.wino + oc * in_c * 4, in_c, acc_init + oc, quant + oc * kQuantStride,
                                      out_row + ox * out_c + oc);
      }
      for (; oc < out_c; oc += 2) {
        int32_t y[8];   // twice the dot products: channel oc's four pixels, then oc + 1's
        Winograd3Pass(v, p.wino + oc * in_c * 4, in_c, y);
        for (int32_t j = 0; j < 2 && oc + j < out_c; ++j) {
          const int32_t *const qj = quant + (oc + j) * kQuantStride;
          const ChannelQuantRv cq = LoadChannelQuantRv(qj);
          const int32_t init = acc_init[oc + j];
          int8_t *o = out_row + ox * out_c + oc + j;
          for (int32_t i = 0; i < outs; ++i, o += out_c)
            *o = RequantizeRv<kFast, kFullRange>(   // int32 wraps as the direct path's sum
                static_cast<int32_t>(static_cast<uint32_t>(init) + static_cast<uint32_t>(y[4 * j + i] >> 1)), cq, qj,
                off, lo, hi);
        }
      }
    }
  }
}
#endif

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
#if BEDSIDE_ENGINE_TWO_PIXELS
  if (p.wino != nullptr) {
    ConvWinograd3<kFast, kFullRange, kOutC>(p, input, output);
    return;
  }
#endif
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
