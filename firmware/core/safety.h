// Safety floor: integer hard limits beside the model and a data-quality flag; mirrors
// bedside/contract/safety.py (the definition, with the rule numbering). docs/safety.md.
//
// Per sample and rule: a valid value beyond the bound adds one to the rule's run (capped
// at `sustain`), a valid value within it clears the run, a missing or implausible value
// leaves it unchanged. The reason is the number (from 1) of the first rule whose run
// reached `sustain`; quality is set while a quality signal is older than its carry limit.
#ifndef BEDSIDE_CORE_SAFETY_H_
#define BEDSIDE_CORE_SAFETY_H_

#include <stdint.h>

#include "preprocess.h"
#include "protocol_spec.h"

namespace bedside {

constexpr int kMaxSafetyRules = 15;  // the reason has 4 bits in RESULT flags

struct SafetyConfig {
  int rules;                 // 0: safety floor off
  uint16_t sustain;          // samples
  const uint8_t *signal;     // [rules] signal index
  const uint8_t *high;       // [rules] 1: value > bound, 0: value < bound
  const int32_t *bound;      // [rules] raw units
  const uint8_t *quality;    // [n_signals] 1: required for data quality
};

struct Safety {
  const SafetyConfig *cfg;
  uint16_t run[kMaxSafetyRules];
  uint32_t age[kMaxSignals];  // samples since the last valid value, saturating
};

inline void safety_reset(Safety *s) {
  for (int r = 0; r < kMaxSafetyRules; ++r) s->run[r] = 0;
  for (int i = 0; i < kMaxSignals; ++i) s->age[i] = UINT32_MAX;
}

inline void safety_init(Safety *s, const SafetyConfig *cfg) {
  s->cfg = cfg;
  safety_reset(s);
}

// One raw sample; returns the RESULT flag bits (quality, reason << 4) after it.
inline uint8_t safety_push(Safety *s, const PreprocConfig &pc, const int16_t *raw) {
  const SafetyConfig &c = *s->cfg;
  if (c.rules == 0 && c.quality == nullptr) return 0;
  for (int i = 0; i < pc.n_signals; ++i) {
    if (sample_valid(pc, i, raw[i])) s->age[i] = 0;
    else if (s->age[i] != UINT32_MAX) ++s->age[i];
  }
  uint8_t reason = 0;
  for (int r = 0; r < c.rules; ++r) {
    const int i = c.signal[r];
    if (!sample_valid(pc, i, raw[i])) continue;  // a dropout neither confirms nor clears
    const int32_t v = raw[i];
    const bool beyond = c.high[r] ? v > c.bound[r] : v < c.bound[r];
    s->run[r] = beyond ? (uint16_t)(s->run[r] < c.sustain ? s->run[r] + 1 : c.sustain) : 0;
  }
  for (int r = 0; r < c.rules && reason == 0; ++r)
    if (s->run[r] >= c.sustain) reason = (uint8_t)(r + 1);
  bool stale = false;
  for (int i = 0; c.quality != nullptr && i < pc.n_signals; ++i)
    if (c.quality[i] && s->age[i] > (uint32_t)pc.carry_limit[i]) stale = true;
  return (uint8_t)((reason << kResultReasonShift) | (stale ? kResultFlagQuality : 0));
}

}  // namespace bedside

#endif  // BEDSIDE_CORE_SAFETY_H_
