// Window: the last `length` int8 feature vectors, and when the model runs.
//
// Window k covers samples [k*stride, k*stride + length) and runs when its last sample
// arrives (bedside/contract/preprocess.py window_ends). Storage is passed in: no heap.
// The rows stay in time order (a push shifts them up one row), so the storage is the
// model's input tensor as it is: no second copy of the window in RAM.
#ifndef BEDSIDE_CORE_WINDOW_H_
#define BEDSIDE_CORE_WINDOW_H_

#include <stdint.h>

namespace bedside {

struct Window {
  int8_t *storage;      // length * n_signals bytes
  int length, n_signals, stride;
  uint32_t count;       // samples pushed since reset
};

void window_init(Window *w, int8_t *storage, int length, int n_signals, int stride);
void window_reset(Window *w);
// Append one feature vector; returns true when a window ends at this sample.
bool window_push(Window *w, const int8_t *q);
// The current window, oldest sample first, row-major [length][n_signals].
inline const int8_t *window_data(const Window *w) { return w->storage; }
void window_copy(const Window *w, int8_t *out);

}  // namespace bedside

#endif  // BEDSIDE_CORE_WINDOW_H_
