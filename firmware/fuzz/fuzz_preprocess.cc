// libFuzzer harness: integer preprocessing and the window buffer, against an int64 model.
//
// Input: n_signals, shift, per-signal constants (centre, multiplier, valid range, carry
// limit), window length/stride, then raw int16 samples. Configurations outside the
// documented contract (bedside/contract/signals.py Constants.checked: the fixed-point product fits
// int32) are skipped. Every int8 feature must equal a straightforward int64 computation of
// the rule in bedside/contract/preprocess.py, and every window the window buffer reports must end
// where window_ends says and hold the last `length` feature rows, oldest first.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "preprocess.h"
#include "window.h"

using namespace bedside;

namespace {
#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

constexpr int kMaxRows = 4096;

int64_t floor_div_pow2(int64_t v, int shift) {   // floor(v / 2^shift), no >> of negatives
  const int64_t p = (int64_t)1 << shift;
  return v >= 0 ? v / p : -((-v + p - 1) / p);
}

int16_t rd16(const uint8_t *p) { return (int16_t)(uint16_t)(p[0] | (p[1] << 8)); }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  constexpr size_t kPerSignal = 11;
  if (size < 4) return 0;
  const int n = 1 + data[0] % kMaxSignals;
  const int shift = 1 + data[1] % 24;
  const int length = 1 + data[2] % 64, stride = 1 + data[3] % 16;
  size_t at = 4;
  if (size < at + (size_t)n * kPerSignal) return 0;
  static int32_t center[kMaxSignals], mult[kMaxSignals], vmin[kMaxSignals], vmax[kMaxSignals],
      carry[kMaxSignals];
  for (int i = 0; i < n; ++i, at += kPerSignal) {
    const uint8_t *p = data + at;
    center[i] = rd16(p);
    mult[i] = (int32_t)(p[2] | (p[3] << 8) | (p[4] << 16));    // 0 .. 2^24-1
    vmin[i] = rd16(p + 5);
    vmax[i] = rd16(p + 7);
    carry[i] = (int32_t)(p[9] | ((p[10] & 0x0F) << 8));
    // the documented precondition (signals.check_ranges): no int32 overflow
    const int64_t lo = (int64_t)vmin[i] - center[i], hi = (int64_t)vmax[i] - center[i];
    const int64_t worst = lo < 0 ? (-lo > hi ? -lo : hi) : hi;
    if (worst * mult[i] + ((int64_t)1 << (shift - 1)) >= ((int64_t)1 << 31)) return 0;
  }
  const int16_t missing = -32768;
  const PreprocConfig cfg = {n, missing, shift, center, mult, vmin, vmax, carry};
  static Preprocessor pre;
  preprocess_init(&pre, &cfg);
  static int8_t storage[64 * kMaxSignals], win[64 * kMaxSignals];
  static int8_t rows[kMaxRows][kMaxSignals];
  static Window w;
  window_init(&w, storage, length, n, stride);
  int64_t last[kMaxSignals], age[kMaxSignals];
  for (int i = 0; i < n; ++i) {
    last[i] = center[i];
    age[i] = -1;   // never valid
  }
  int16_t raw[kMaxSignals];
  int8_t q[kMaxSignals];
  for (int t = 0; at + 2 * (size_t)n <= size && t < kMaxRows; ++t, at += 2 * (size_t)n) {
    for (int i = 0; i < n; ++i) raw[i] = rd16(data + at + 2 * i);
    preprocess_push(&pre, raw, q);
    for (int i = 0; i < n; ++i) {
      const bool valid = raw[i] != missing && raw[i] >= vmin[i] && raw[i] <= vmax[i];
      if (valid) {
        last[i] = raw[i];
        age[i] = 0;
      } else if (age[i] >= 0) {
        age[i] += 1;
      }
      const int64_t x = (age[i] >= 0 && age[i] <= carry[i]) ? last[i] : center[i];
      int64_t e = floor_div_pow2((x - center[i]) * mult[i] + ((int64_t)1 << (shift - 1)), shift);
      e = e < -128 ? -128 : (e > 127 ? 127 : e);
      CHECK(q[i] == (int8_t)e);
    }
    memcpy(rows[t], q, (size_t)n);
    const bool ended = window_push(&w, q);
    const bool want = t + 1 >= length && (t + 1 - length) % stride == 0;
    CHECK(ended == want);
    if (ended) {
      window_copy(&w, win);
      for (int r = 0; r < length; ++r)
        CHECK(memcmp(win + (size_t)r * n, rows[t - length + 1 + r], (size_t)n) == 0);
    }
  }
  return 0;
}
