// Inner product sum_i w[i] * (in[i] + input_offset) in int32, the MAC loop of
// CONV_2D and FULLY_CONNECTED. Integer sums are exact, so the DSP path (two
// 16-bit MACs per __SMLAD) gives the same bits as the portable loop.
#ifndef BEDSIDE_ENGINE_KERNELS_DOT_H_
#define BEDSIDE_ENGINE_KERNELS_DOT_H_

#include "common.h"

namespace bedside_engine {

inline int32_t DotOffsetPortable(const int8_t *in, const int8_t *w, int32_t n, int32_t input_offset) {
  int32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) acc += static_cast<int32_t>(w[i]) * (static_cast<int32_t>(in[i]) + input_offset);
  return acc;
}

#if BEDSIDE_ENGINE_DSP
// sum w*(x+off) = sum w*x + off * sum w; both sums via SMLAD on sign-extended pairs.
inline uint32_t Ror8(uint32_t v) { return (v >> 8) | (v << 24); }  // folds into SXTB16's ROR

inline int32_t DotOffset(const int8_t *in, const int8_t *w, int32_t n, int32_t input_offset) {
  int32_t acc = 0, wsum = 0;
  int32_t i = 0;
  const uint32_t ones = 0x00010001u;
  for (; i + 4 <= n; i += 4) {
    uint32_t a, b;
    memcpy(&a, in + i, 4);
    memcpy(&b, w + i, 4);
    const uint32_t a_even = __sxtb16(a), a_odd = __sxtb16(Ror8(a));
    const uint32_t b_even = __sxtb16(b), b_odd = __sxtb16(Ror8(b));
    acc = __smlad(a_even, b_even, acc);
    acc = __smlad(a_odd, b_odd, acc);
    wsum = __smlad(b_even, ones, wsum);
    wsum = __smlad(b_odd, ones, wsum);
  }
  for (; i < n; ++i) {
    acc += static_cast<int32_t>(w[i]) * static_cast<int32_t>(in[i]);
    wsum += w[i];
  }
  return acc + input_offset * wsum;
}
#else
inline int32_t DotOffset(const int8_t *in, const int8_t *w, int32_t n, int32_t input_offset) {
  return DotOffsetPortable(in, w, n, input_offset);
}
#endif

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_DOT_H_
