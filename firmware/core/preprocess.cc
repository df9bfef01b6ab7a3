// Streaming integer preprocessing (see preprocess.h and bedside/contract/preprocess.py).
#include "preprocess.h"

namespace bedside {

namespace {
constexpr uint32_t kAgeNever = 0x7FFFFFFFu;  // "no valid value since reset"
}

void preprocess_init(Preprocessor *p, const PreprocConfig *cfg) {
  p->cfg = cfg;
  preprocess_reset(p);
}

void preprocess_reset(Preprocessor *p) {
  for (int i = 0; i < p->cfg->n_signals; ++i) {
    p->last_value[i] = p->cfg->center[i];
    p->age[i] = kAgeNever;
  }
}

void preprocess_push(Preprocessor *p, const int16_t *raw, int8_t *q_out) {
  preprocess_push_centered(p, raw, p->cfg->center, q_out);
}

void preprocess_push_centered(Preprocessor *p, const int16_t *raw, const int32_t *center,
                              int8_t *q_out) {
  const PreprocConfig &c = *p->cfg;
  for (int i = 0; i < c.n_signals; ++i) {
    if (sample_valid(c, i, raw[i])) {
      p->last_value[i] = raw[i];
      p->age[i] = 0;
    } else if (p->age[i] < kAgeNever) {
      p->age[i] += 1;
    }
    const bool usable = p->age[i] <= (uint32_t)c.carry_limit[i];
    q_out[i] = scale_value_at(c, i, usable ? p->last_value[i] : center[i], center[i]);
  }
}

void personal_init(Personalizer *z, const PreprocConfig *pre, const PersonalConfig *cfg) {
  z->pre = pre;
  z->cfg = cfg;
  personal_reset(z);
}

void personal_reset(Personalizer *z) {
  z->n = 0;
  z->calibrated = false;
  for (int i = 0; i < z->pre->n_signals; ++i) {
    z->block_sum[i] = 0;
    z->block_count[i] = 0;
    z->n_means[i] = 0;
    z->center[i] = z->pre->center[i];
    z->baseline[i] = z->pre->missing_value;
  }
}

namespace {

// Median of m >= 1 non-negative values (sorted in place): odd m the middle one, even m
// the floor of the mean of the two middle ones.
int32_t median(int16_t *v, int m) {
  for (int a = 1; a < m; ++a) {  // insertion sort: m <= kMaxBlocks
    const int16_t x = v[a];
    int b = a - 1;
    while (b >= 0 && v[b] > x) {
      v[b + 1] = v[b];
      --b;
    }
    v[b + 1] = x;
  }
  return (m % 2) ? v[m / 2] : ((int32_t)v[m / 2 - 1] + v[m / 2]) / 2;
}

}  // namespace

void personal_push(Personalizer *z, const int16_t *raw) {
  if (z->cfg == nullptr || z->calibrated) return;
  const PreprocConfig &c = *z->pre;
  const PersonalConfig &k = *z->cfg;
  for (int i = 0; i < c.n_signals; ++i) {
    if (sample_valid(c, i, raw[i])) {  // valid raw values are > 0: sums stay non-negative
      z->block_sum[i] += raw[i];
      z->block_count[i] += 1;
    }
  }
  z->n += 1;
  const uint32_t block_len = (uint32_t)(k.calib_samples / k.blocks);
  if (z->n % block_len == 0) {  // a block ends: keep its rounded integer mean
    for (int i = 0; i < c.n_signals; ++i) {
      const int32_t cnt = z->block_count[i];
      if (cnt >= k.block_min_valid && z->n_means[i] < kMaxBlocks) {
        z->means[i][z->n_means[i]++] = (int16_t)((z->block_sum[i] + cnt / 2) / cnt);
      }
      z->block_sum[i] = 0;
      z->block_count[i] = 0;
    }
  }
  if (z->n == (uint32_t)k.calib_samples) {
    for (int i = 0; i < c.n_signals; ++i) {
      if (z->n_means[i] < k.min_blocks) continue;  // too little data: population centre
      const int32_t b = median(z->means[i], z->n_means[i]);
      int32_t off = b - c.center[i];
      if (off < -k.limit_lo[i]) off = -k.limit_lo[i];
      if (off > k.limit_hi[i]) off = k.limit_hi[i];
      z->baseline[i] = (int16_t)b;
      z->center[i] = c.center[i] + off;
    }
    z->calibrated = true;
  }
}

}  // namespace bedside
