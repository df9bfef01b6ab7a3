// Integer preprocessing, raw int16 sample -> int8 model input; mirrors bedside/contract/preprocess.py.
//
// Per signal (see the docstring of bedside/contract/preprocess.py, the single definition):
//  1. validity: raw == missing or outside [valid_min, valid_max] -> missing;
//  2. imputation: a missing sample takes the last valid value if it is at most carry_limit
//     samples old, else the centre (a new patient starts empty);
//  3. scaling: q = clamp(((x - center) * multiplier + 2^(shift-1)) >> shift, -128, 127),
//     in int32 (signals.check_ranges proves no overflow) with an arithmetic shift (floor).
// The constants are passed in (PreprocConfig) so unit tests need no generated header.
// Personalization (bedside/contract/personalize.py, docs/personalization.md): a Personalizer
// turns the first calib_samples after a reset into per-signal centres, which
// preprocess_push_centered uses in place of the population centres.
#ifndef BEDSIDE_CORE_PREPROCESS_H_
#define BEDSIDE_CORE_PREPROCESS_H_

#include <stdint.h>

namespace bedside {

// State arrays hold this many signals (and personalization blocks, below); a board short
// of RAM builds with smaller limits (-DBEDSIDE_MAX_SIGNALS=8, firmware/boards.toml).
#ifndef BEDSIDE_MAX_SIGNALS
#define BEDSIDE_MAX_SIGNALS 16
#endif
#ifndef BEDSIDE_MAX_BLOCKS
#define BEDSIDE_MAX_BLOCKS 16
#endif
constexpr int kMaxSignals = BEDSIDE_MAX_SIGNALS;

struct PreprocConfig {
  int n_signals;
  int16_t missing_value;
  int shift;
  const int32_t *center;
  const int32_t *multiplier;
  const int32_t *valid_min;
  const int32_t *valid_max;
  const int32_t *carry_limit;
};

// StreamingPreprocessor of bedside/contract/preprocess.py: per-signal last valid value and its age.
struct Preprocessor {
  const PreprocConfig *cfg;
  int32_t last_value[kMaxSignals];
  uint32_t age[kMaxSignals];  // samples since the last valid one, saturating
};

// Arithmetic (flooring) right shift, written so it does not depend on the compiler's
// implementation-defined >> of negative values.
inline int32_t floor_shift(int32_t v, int shift) {
  return v >= 0 ? (v >> shift) : -(int32_t)((((uint32_t)(-(v + 1))) >> shift) + 1u);
}

inline bool sample_valid(const PreprocConfig &c, int i, int16_t raw) {
  return raw != c.missing_value && raw >= c.valid_min[i] && raw <= c.valid_max[i];
}

inline int8_t scale_value_at(const PreprocConfig &c, int i, int32_t filled, int32_t center) {
  const int32_t d = filled - center;
  const int32_t q = floor_shift(d * c.multiplier[i] + (int32_t(1) << (c.shift - 1)), c.shift);
  return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

inline int8_t scale_value(const PreprocConfig &c, int i, int32_t filled) {
  return scale_value_at(c, i, filled, c.center[i]);
}

void preprocess_init(Preprocessor *p, const PreprocConfig *cfg);
void preprocess_reset(Preprocessor *p);
// One raw sample (n_signals values) in, one int8 feature vector out.
void preprocess_push(Preprocessor *p, const int16_t *raw, int8_t *q_out);
// The same with per-signal centres (a Personalizer's `center`).
void preprocess_push_centered(Preprocessor *p, const int16_t *raw, const int32_t *center,
                              int8_t *q_out);

// --- personalization (mirrors bedside/contract/personalize.py) -----------------------------------
constexpr int kMaxBlocks = BEDSIDE_MAX_BLOCKS;

struct PersonalConfig {
  int calib_samples;        // multiple of blocks
  int blocks;               // 1..kMaxBlocks
  int block_min_valid;      // valid samples for a block mean to count
  int min_blocks;           // block means needed to settle a baseline
  const int32_t *limit_lo;  // how far below / above the population centre the centre moves
  const int32_t *limit_hi;
};

// Packed to the value ranges: block means and baselines are means of valid raw int16
// values, so they fit int16; a block holds at most calib_samples / blocks samples.
struct Personalizer {
  const PreprocConfig *pre;
  const PersonalConfig *cfg;  // nullptr: personalization off (centres stay the population's)
  uint32_t n;                 // samples since reset, counted up to calib_samples
  bool calibrated;
  uint8_t n_means[kMaxSignals];
  uint16_t block_count[kMaxSignals];
  int16_t baseline[kMaxSignals];  // settled baseline, missing_value where none
  int16_t means[kMaxSignals][kMaxBlocks];
  int32_t block_sum[kMaxSignals];
  int32_t center[kMaxSignals];    // centres in use for the current sample
};

void personal_init(Personalizer *z, const PreprocConfig *pre, const PersonalConfig *cfg);
void personal_reset(Personalizer *z);
// Account one raw sample (before preprocessing it); z->center then holds its centres.
void personal_push(Personalizer *z, const int16_t *raw);

}  // namespace bedside

#endif  // BEDSIDE_CORE_PREPROCESS_H_
