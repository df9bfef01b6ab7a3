// AVERAGE_POOL_2D / MAX_POOL_2D, int8: TFLM reference_integer_ops::AveragePool / MaxPool.
// Per output pixel the window is clipped to the image once (TFLM counts only the taps
// inside); average pooling then takes four channels through the window together (on DSP
// cores one word load feeds two SXTAB16: four 16-bit lane sums), max pooling one channel.
#ifndef BEDSIDE_ENGINE_KERNELS_POOLING_H_
#define BEDSIDE_ENGINE_KERNELS_POOLING_H_

#include "common.h"
#include "dot.h"

namespace bedside_engine {

struct PoolParams {
  int32_t batches, in_h, in_w, channels, out_h, out_w;
  int32_t f_h, f_w, stride_h, stride_w, pad_h, pad_w, act_min, act_max;
};

// TFLM's rounding division of a window sum by the number of taps inside the image.
// A window's tap count and, where division is a library call, its reciprocal.
struct Divisor {
  int32_t count;
  uint32_t recip;   // ceil(2^24 / count), for count <= 256 (ARMv6-M)
};

#if defined(__ARM_ARCH_6M__) || defined(BEDSIDE_ENGINE_NO_DIVIDE)
constexpr bool kNoDivide = true;   // no divide instruction (__aeabi_idiv: ~100 instructions)
#else
constexpr bool kNoDivide = false;
#endif

inline Divisor MakeDivisor(int32_t count) {
  return {count, kNoDivide && count <= 256 ? ((1u << 24) + static_cast<uint32_t>(count) - 1) / static_cast<uint32_t>(count)
                                           : 0u};
}

// TFLM's rounded average. Without a divide instruction, for windows of up to 256 taps:
// |sum| <= 128 * count, and (|sum| + count / 2) / count is exactly
// (|sum| + count / 2) * ceil(2^24 / count) >> 24, since the product's excess,
// (|sum| + count / 2) * (count * ceil(2^24 / count) - 2^24) < 128.5 * count^2 <= 2^23.1,
// stays under 2^24, and the product under 2^32.
inline int32_t AverageOf(int32_t sum, const Divisor &d) {
  const int32_t count = d.count;
  if (kNoDivide && d.recip != 0) {
    const uint32_t mag = static_cast<uint32_t>(sum > 0 ? sum : -sum) + static_cast<uint32_t>(count >> 1);
    const int32_t q = static_cast<int32_t>((mag * d.recip) >> 24);
    return sum > 0 ? q : -q;
  }
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

// Average of four channels (c .. c+3) over the window rows [0, rows) x columns [0, cols).
// kClamp false: the activation range is all of int8, which an average of int8 values never
// leaves (RISC-V skips the clamp; the other builds keep their code).
template <bool kClamp = true>
inline void AverageFourPortable(const int8_t *at, int32_t rows, int32_t cols, int32_t row_step, int32_t c_n,
                                const Divisor &count, int32_t lo, int32_t hi, int8_t *out) {
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int32_t fy = 0; fy < rows; ++fy, at += row_step) {
    const int8_t *tap = at;
    for (int32_t fx = 0; fx < cols; ++fx, tap += c_n) {
      a0 += tap[0];
      a1 += tap[1];
      a2 += tap[2];
      a3 += tap[3];
    }
  }
  if (!kClamp) {
    out[0] = static_cast<int8_t>(AverageOf(a0, count));
    out[1] = static_cast<int8_t>(AverageOf(a1, count));
    out[2] = static_cast<int8_t>(AverageOf(a2, count));
    out[3] = static_cast<int8_t>(AverageOf(a3, count));
    return;
  }
  out[0] = static_cast<int8_t>(Clamp(AverageOf(a0, count), lo, hi));
  out[1] = static_cast<int8_t>(Clamp(AverageOf(a1, count), lo, hi));
  out[2] = static_cast<int8_t>(Clamp(AverageOf(a2, count), lo, hi));
  out[3] = static_cast<int8_t>(Clamp(AverageOf(a3, count), lo, hi));
}

inline void AverageFour(const int8_t *at, int32_t rows, int32_t cols, int32_t row_step, int32_t c_n, const Divisor &count,
                        int32_t lo, int32_t hi, int8_t *out) {
#if BEDSIDE_ENGINE_DSP
  if (count.count <= 256) {   // |sum| <= 128 * count fits the 16-bit lanes
    uint32_t even = 0, odd = 0;                               // halfword lanes: channels (0, 2), (1, 3)
    for (int32_t fy = 0; fy < rows; ++fy, at += row_step) {
      const int8_t *tap = at;
      for (int32_t fx = 0; fx < cols; ++fx, tap += c_n) {
        const uint32_t v = Load32(tap);
        even = __sxtab16(even, v);
        odd = Sxtab16Odd(odd, v);
      }
    }
    out[0] = static_cast<int8_t>(Clamp(AverageOf(static_cast<int16_t>(even), count), lo, hi));
    out[1] = static_cast<int8_t>(Clamp(AverageOf(static_cast<int16_t>(odd), count), lo, hi));
    out[2] = static_cast<int8_t>(Clamp(AverageOf(static_cast<int16_t>(even >> 16), count), lo, hi));
    out[3] = static_cast<int8_t>(Clamp(AverageOf(static_cast<int16_t>(odd >> 16), count), lo, hi));
    return;
  }
#endif
  AverageFourPortable(at, rows, cols, row_step, c_n, count, lo, hi, out);
}

template <bool kMax>
inline void Pool(const PoolParams &p, const int8_t *input, int8_t *output) {
  const int32_t c_n = p.channels, in_w = p.in_w, in_h = p.in_h, lo = p.act_min, hi = p.act_max;
  const int32_t row_step = in_w * c_n;
  Divisor count = MakeDivisor(1);
  int8_t *out = output;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *image = input + b * in_h * row_step;
    for (int32_t oy = 0; oy < p.out_h; ++oy) {
      const int32_t y0 = oy * p.stride_h - p.pad_h;
      const int32_t fy0 = y0 < 0 ? -y0 : 0;
      const int32_t fy1 = p.f_h < in_h - y0 ? p.f_h : in_h - y0;
      for (int32_t ox = 0; ox < p.out_w; ++ox, out += c_n) {
        const int32_t x0 = ox * p.stride_w - p.pad_w;
        const int32_t fx0 = x0 < 0 ? -x0 : 0;
        const int32_t fx1 = p.f_w < in_w - x0 ? p.f_w : in_w - x0;
        const int32_t rows = fy1 - fy0, cols = fx1 - fx0;
        const int32_t taps = rows * cols > 0 ? rows * cols : 1;   // SAME/VALID windows always hold a tap
        if (taps != count.count) count = MakeDivisor(taps);      // interior windows share one
        const int8_t *at = image + ((y0 + fy0) * in_w + x0 + fx0) * c_n;
        int32_t c = 0;
        // Max pooling is cheaper one channel at a time (measured: no four-way compare chain).
        const int32_t grouped = kMax ? 0 : c_n;
#if BEDSIDE_ENGINE_TWO_PIXELS
        if (!kMax && lo == -128 && hi == 127)
          for (; c + 4 <= grouped; c += 4)
            AverageFourPortable<false>(at + c, rows, cols, row_step, c_n, count, lo, hi, out + c);
#endif
        for (; c + 4 <= grouped; c += 4) AverageFour(at + c, rows, cols, row_step, c_n, count, lo, hi, out + c);
        for (; c < c_n; ++c) {                                    // channels beyond the last group of four
          int32_t acc = kMax ? -128 : 0;
          for (int32_t fy = 0; fy < rows; ++fy)
            for (int32_t fx = 0; fx < cols; ++fx) {
              const int32_t v = at[fy * row_step + fx * c_n + c];
              acc = kMax ? (v > acc ? v : acc) : acc + v;
            }
          out[c] = static_cast<int8_t>(Clamp(kMax ? acc : AverageOf(acc, count), lo, hi));
        }
      }
    }
  }
}

inline void AveragePool(const PoolParams &p, const int8_t *in, int8_t *out) { Pool<false>(p, in, out); }
inline void MaxPool(const PoolParams &p, const int8_t *in, int8_t *out) { Pool<true>(p, in, out); }

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_POOLING_H_
