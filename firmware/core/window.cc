// Window buffer (see window.h).
#include "window.h"

#include <string.h>

namespace bedside {

void window_init(Window *w, int8_t *storage, int length, int n_signals, int stride) {
  w->storage = storage;
  w->length = length;
  w->n_signals = n_signals;
  w->stride = stride;
  window_reset(w);
}

void window_reset(Window *w) {
  w->count = 0;
  memset(w->storage, 0, (size_t)w->length * (size_t)w->n_signals);
}

bool window_push(Window *w, const int8_t *q) {
  const size_t row = (size_t)w->n_signals, rows = (size_t)w->length;
  memmove(w->storage, w->storage + row, (rows - 1) * row);
  memcpy(w->storage + (rows - 1) * row, q, row);
  w->count += 1;
  const uint32_t len = (uint32_t)w->length;
  return w->count >= len && (w->count - len) % (uint32_t)w->stride == 0;
}

void window_copy(const Window *w, int8_t *out) {
  memcpy(out, w->storage, (size_t)w->length * (size_t)w->n_signals);
}

}  // namespace bedside
