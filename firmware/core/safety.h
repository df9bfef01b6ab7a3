// Safety floor: integer hard limits beside the model and a data-quality flag, on every
// sample from the first one after a reset; mirrors bedside/contract/safety.py (the
// definition, with the rule numbering and the per-sample floor record). docs/safety.md.
//
// Per rule: a valid value beyond the bound opens a run (or keeps it open); the run spans the
// samples since that first reading; a beyond reading whose run spans `sustain` samples
// (`slow_sustain` when the run opened with a step of at least `step` from one of the
// signal's last `lookback` valid values while it is not stale, or after a stale gap when
// `after_gap` (a probe re-applied: the last valid values before the gap), or when, before it is
// confirmed, a reading came with a jump of at least `jump_bound` in signal `jump` since the
// previous sample: probe-off or motion artefacts) confirms the rule, which stays active
// until a valid value within the bound. A missing or implausible value lets time pass
// and neither confirms nor clears. Quality: a quality signal without a valid value for more
// than its `stale` samples, or a frozen signal reading one value (inside its valid range)
// for more than `frozen` valid readings. Agreement: a rule with `agree` counts a reading
// beyond its bound only while that signal's valid value at the same sample is beyond
// `agree_bound` too (no valid value: the rule stands alone). Deadband: an active rule with
// `clear` > 0 holds at a valid value within its bound by less than `clear` (neither clears
// nor confirms), so a value hovering at the bound is one alarm. State: 3 bytes per rule, 8
// per signal (agreement and jump read the current sample and the signal state: no more).
#ifndef BEDSIDE_CORE_SAFETY_H_
#define BEDSIDE_CORE_SAFETY_H_

#include <stdint.h>

#include "preprocess.h"
#include "protocol_spec.h"

namespace bedside {

constexpr int kMaxSafetyRules = 15;  // the reason has 4 bits in RESULT flags
constexpr uint16_t kSafetyMax = 0xFFFF;  // counters saturate here
constexpr uint8_t kCauseStale = 1, kCauseFrozen = 2;  // floor record cause, bits 4-5

struct SafetyConfig {
  int rules;                 // 0 and quality nullptr: safety floor off
  uint16_t sustain;          // samples a run must span to confirm a rule
  uint16_t slow_sustain;     // the same for a run that opened with an artefact step
  uint16_t frozen;           // valid readings of one value before a signal is frozen
  const uint8_t *signal;     // [rules] signal index
  const uint8_t *high;       // [rules] 1: value > bound, 0: value < bound
  const int32_t *bound;      // [rules] raw units
  const int16_t *step;       // [rules] artefact step in raw units, 0: none
  const uint8_t *quality;    // [n_signals] 1: checked for staleness
  const uint8_t *frozen_signal;  // [n_signals] 1: checked for a frozen value
  const uint16_t *stale;     // [n_signals] samples without a valid value before stale
  const uint8_t *agree;      // [rules] signal that must agree (kNoAgree: none); nullptr: none
  const int32_t *agree_bound;  // [rules] the agreeing signal's bound, raw units
  uint8_t lookback;          // 1 or 2: the step is measured from the last 1 or 2 valid values
  const uint8_t *jump;       // [rules] signal whose jump makes a run slow (kNoAgree: none)
  const int16_t *jump_bound;  // [rules] that signal's jump in raw units; nullptr: none
  uint8_t after_gap;         // 1: the step is also measured across a stale gap
  const int16_t *clear;      // [rules] deadband in raw units, 0: none; nullptr: none
};

constexpr uint8_t kNoAgree = 255;

struct SafetySignal {
  uint16_t age;              // samples since the last valid value (or reset), saturating
  int16_t last;              // last valid value
  int16_t prev;              // the valid value before `last`
  uint16_t same;             // valid readings equal to `last` in a row, saturating
};

struct Safety {
  const SafetyConfig *cfg;
  uint16_t run[kMaxSafetyRules];   // samples since the run's first reading, 0: no run
  uint8_t state[kMaxSafetyRules];  // bit 0 active, bit 1 the run opened with an artefact step
  SafetySignal sig[kMaxSignals];
};

// The floor record of one sample: flags (RESULT bits: quality, reason << 4) and cause.
struct FloorRecord {
  uint8_t flags, cause;
};

inline void safety_reset(Safety *s, int16_t missing) {
  for (int r = 0; r < kMaxSafetyRules; ++r) s->run[r] = s->state[r] = 0;
  for (int i = 0; i < kMaxSignals; ++i) s->sig[i] = SafetySignal{0, missing, missing, 0};
}

inline void safety_init(Safety *s, const SafetyConfig *cfg, int16_t missing) {
  s->cfg = cfg;
  safety_reset(s, missing);
}

inline uint16_t safety_inc(uint16_t v) { return v == kSafetyMax ? v : (uint16_t)(v + 1); }

// v is at least `step` beyond one of the signal's last `lookback` valid values.
inline bool safety_stepped(const SafetySignal &g, int lookback, int32_t v, bool high,
                           int32_t step, int16_t missing) {
  const int16_t refs[2] = {g.last, g.prev};
  for (int n = 0; n < lookback && n < 2; ++n)
    if (refs[n] != missing && (high ? v - refs[n] : refs[n] - v) >= step) return true;
  return false;
}

// One raw sample; returns its floor record.
inline FloorRecord safety_push(Safety *s, const PreprocConfig &pc, const int16_t *raw) {
  const SafetyConfig &c = *s->cfg;
  if (c.rules == 0 && c.quality == nullptr) return FloorRecord{0, 0};
  uint8_t reason = 0;
  for (int r = 0; r < c.rules; ++r) {  // reads the previous sample's signal state
    uint16_t &run = s->run[r];
    uint8_t &state = s->state[r];
    const int i = c.signal[r];
    const SafetySignal &g = s->sig[i];
    if (run != 0) run = safety_inc(run);
    if (sample_valid(pc, i, raw[i])) {
      const int32_t v = raw[i];
      bool beyond = c.high[r] ? v > c.bound[r] : v < c.bound[r];
      const int j = c.agree != nullptr ? c.agree[r] : kNoAgree;
      if (beyond && j != kNoAgree && sample_valid(pc, j, raw[j]))  // the other must agree
        beyond = c.high[r] ? raw[j] > c.agree_bound[r] : raw[j] < c.agree_bound[r];
      if (!beyond) {
        const int32_t m = c.clear != nullptr ? c.clear[r] : 0;  // deadband near the bound
        const bool held = (state & 1) && m > 0 &&
                          (c.high[r] ? v > c.bound[r] - m && v <= c.bound[r]
                                     : v >= c.bound[r] && v < c.bound[r] + m);
        if (!held) run = state = 0;
      } else {
        if (run == 0 || g.age > c.stale[i]) {  // a new run (also after a stale gap)
          const bool slow = c.step[r] > 0 && (g.age <= c.stale[i] || c.after_gap) &&
                            safety_stepped(g, c.lookback, v, c.high[r], c.step[r],
                                           pc.missing_value);
          run = 1;
          state = (uint8_t)((state & 1) | (slow ? 2 : 0));
        }
        const int jr = c.jump != nullptr ? c.jump[r] : kNoAgree;  // motion: the other jumps
        if (jr != kNoAgree && sample_valid(pc, jr, raw[jr]) && s->sig[jr].age == 0 &&
            s->sig[jr].last != pc.missing_value) {  // valid at the previous sample and now
          const int32_t d = (int32_t)raw[jr] - s->sig[jr].last;
          if ((d < 0 ? -d : d) >= c.jump_bound[r]) state |= 2;
        }
        if (run >= ((state & 2) ? c.slow_sustain : c.sustain)) state |= 1;
      }
    }
    if ((state & 1) && reason == 0) reason = (uint8_t)(r + 1);
  }
  uint8_t cause = 0;
  for (int i = 0; i < pc.n_signals; ++i) {
    SafetySignal &g = s->sig[i];
    if (sample_valid(pc, i, raw[i])) {
      const bool inside = raw[i] > pc.valid_min[i] && raw[i] < pc.valid_max[i];
      g.same = !inside ? 0 : raw[i] == g.last ? safety_inc(g.same) : 1;
      g.prev = g.last;
      g.last = raw[i];
      g.age = 0;
    } else {
      g.age = safety_inc(g.age);
    }
    if (cause == 0) {
      if (c.quality != nullptr && c.quality[i] && g.age > c.stale[i])
        cause = (uint8_t)(kCauseStale << 4 | i);
      else if (c.frozen_signal != nullptr && c.frozen_signal[i] && g.same > c.frozen)
        cause = (uint8_t)(kCauseFrozen << 4 | i);
    }
  }
  return FloorRecord{(uint8_t)((reason << kResultReasonShift) | (cause ? kResultFlagQuality : 0)),
                     cause};
}

}  // namespace bedside

#endif  // BEDSIDE_CORE_SAFETY_H_
