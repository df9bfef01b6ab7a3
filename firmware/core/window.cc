// Window ring buffer (see window.h).
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
  w->head = 0;
  w->count = 0;
  memset(w->storage, 0, (size_t)w->length * (size_t)w->n_signals);
}

bool window_push(Window *w, const int8_t *q) {
  memcpy(w->storage + (size_t)w->head * (size_t)w->n_signals, q, (size_t)w->n_signals);
  w->head = (w->head + 1 == w->length) ? 0 : w->head + 1;
  w->count += 1;
  const uint32_t len = (uint32_t)w->length;
  return w->count >= len && (w->count - len) % (uint32_t)w->stride == 0;
}

void window_copy(const Window *w, int8_t *out) {
  // The oldest row is at head once the buffer is full.
  const size_t row = (size_t)w->n_signals;
  const size_t older = (size_t)(w->length - w->head) * row;
  memcpy(out, w->storage + (size_t)w->head * row, older);
  memcpy(out + older, w->storage, (size_t)w->head * row);
}

}  // namespace bedside
