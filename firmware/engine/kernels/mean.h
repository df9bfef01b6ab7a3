// MEAN, int8: TFLM reference_ops::QuantizedMeanOrSum (compute_sum=false). The
// 1/count factor is folded into multiplier/shift by the generator, as TFLM does.
#ifndef BEDSIDE_ENGINE_KERNELS_MEAN_H_
#define BEDSIDE_ENGINE_KERNELS_MEAN_H_

#include "common.h"

namespace bedside_engine {

struct MeanParams {
  int32_t dims[4];        // input shape, extended to 4-D
  int32_t out_stride[4];  // output stride per input dim, 0 on reduced dims
  int32_t num_outputs, num_in_axis;
  int32_t input_zp, output_zp, multiplier, shift;
};

// RISC-V: the mean over the rows of a [rows][n] input (the kept last dimension contiguous,
// e.g. a 1-D map's mean over its pixels), four columns' sums kept in registers down the
// rows: 2.5 instructions per input against about 7 in the general loop. The same sums (a
// row count times 255 is far from wrapping), so the same outputs.
inline bool MeanOfRows(const MeanParams &p, const int8_t *input, int32_t *scratch) {
#if BEDSIDE_ENGINE_TWO_PIXELS
  if (p.dims[0] != 1 || p.dims[1] != 1 || p.out_stride[2] != 0 || p.out_stride[3] != 1 || p.dims[3] % 4) return false;
  const int32_t rows = p.dims[2], n = p.dims[3];
  for (int32_t i = 0; i < n; i += 4) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const int8_t *in = input + i;
    for (const int8_t *const end = in + rows * n; in != end; in += n) {
      a0 += in[0];
      a1 += in[1];
      a2 += in[2];
      a3 += in[3];
    }
    scratch[i] = a0;
    scratch[i + 1] = a1;
    scratch[i + 2] = a2;
    scratch[i + 3] = a3;
  }
  return true;
#else
  (void)p;
  (void)input;
  (void)scratch;
  return false;
#endif
}

inline void MeanSums(const MeanParams &p, const int8_t *input, int32_t *scratch) {
  if (MeanOfRows(p, input, scratch)) return;
  for (int32_t i = 0; i < p.num_outputs; ++i) scratch[i] = 0;
  const int8_t *in = input;
  for (int32_t a = 0; a < p.dims[0]; ++a)
    for (int32_t b = 0; b < p.dims[1]; ++b)
      for (int32_t c = 0; c < p.dims[2]; ++c)
        for (int32_t d = 0; d < p.dims[3]; ++d) {
          const int32_t o = a * p.out_stride[0] + b * p.out_stride[1] + c * p.out_stride[2] + d * p.out_stride[3];
          // TFLM sums with wrap-around (AddTensorValuesWithExpectedOverflow).
          scratch[o] = static_cast<int32_t>(static_cast<uint32_t>(scratch[o]) + static_cast<uint32_t>(*in++));
        }
}

inline void Mean(const MeanParams &p, const int8_t *input, int8_t *output, int32_t *scratch) {
  MeanSums(p, input, scratch);
  for (int32_t i = 0; i < p.num_outputs; ++i) {
    const int32_t shifted = static_cast<int32_t>(static_cast<int64_t>(scratch[i]) -
                                                 static_cast<int64_t>(p.input_zp) * p.num_in_axis);
    const int32_t v = MultiplyByQuantizedMultiplier(shifted, p.multiplier, p.shift) + p.output_zp;
    output[i] = static_cast<int8_t>(Clamp(v, -128, 127));
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_MEAN_H_
