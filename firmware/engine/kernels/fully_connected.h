// FULLY_CONNECTED, int8 (per-tensor or per-channel): TFLM reference_integer_ops::FullyConnected.
// acc_init = bias + input_offset * sum(w[oc]) is precomputed by the generator (weights
// zero point 0), leaving a pure int8 dot product per output: dot.h's DotRows, four output
// rows sharing each input word (int16 weight copy and SMLAD on DSP cores).
#ifndef BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_
#define BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_

#include "common.h"
#include "dot.h"

namespace bedside_engine {

struct FullyConnectedParams {
  int32_t batches, depth, out_c;
  int32_t output_offset, act_min, act_max;
  const int32_t *acc_init;    // [ceil4(out_c)]: bias + input_offset * sum(filter[oc])
  const int32_t *quant;       // [ceil4(out_c)][kQuantStride] (per-tensor models repeat one value)
  const int16_t *filter16;    // DSP builds: see Dot4x16
  const int8_t *filter8;      // portable builds: see Dot4x8
};

// col: ceil4(depth) bytes of scratch where a DSP build must pad the input row to a
// multiple of 4 (nullptr when depth is one already; portable builds ignore it).
template <int kFast = 0, bool kFullRange = false>
inline void FullyConnected(const FullyConnectedParams &p, const int8_t *input, int8_t *output, int8_t *col) {
  const RowsQuant q = {p.acc_init, p.quant, p.output_offset, p.act_min, p.act_max};
  const int32_t depth = p.depth, out_c = p.out_c;
  for (int32_t b = 0; b < p.batches; ++b) {
    const int8_t *x = input + b * depth;
#if BEDSIDE_ENGINE_DSP
    if (col != nullptr) {   // the row is read four bytes at a time: copy it, zero padded
      CopySmall(col, x, depth);
      FillSmall(col + depth, 0, ((depth + 3) & ~3) - depth);
      x = col;
    }
#else
    (void)col;
#endif
    DotRows<kFast, kFullRange>(x, p.filter16, p.filter8, depth, out_c, q, output + b * out_c);
  }
}

}  // namespace bedside_engine

#endif  // BEDSIDE_ENGINE_KERNELS_FULLY_CONNECTED_H_
