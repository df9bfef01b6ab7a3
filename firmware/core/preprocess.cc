// Streaming integer preprocessing (see preprocess.h and training/preprocess.py).
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
  const PreprocConfig &c = *p->cfg;
  for (int i = 0; i < c.n_signals; ++i) {
    if (sample_valid(c, i, raw[i])) {
      p->last_value[i] = raw[i];
      p->age[i] = 0;
    } else if (p->age[i] < kAgeNever) {
      p->age[i] += 1;
    }
    const bool usable = p->age[i] <= (uint32_t)c.carry_limit[i];
    q_out[i] = scale_value(c, i, usable ? p->last_value[i] : c.center[i]);
  }
}

}  // namespace bedside
