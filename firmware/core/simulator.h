// Built-in deterministic vital-signs simulator: a board with no sensors runs the loop alone.
//
// Integer only, seeded xorshift32, one sample per call in the kit's signal order
// (hr bpm, sbp/dbp/map mmHg, spo2 %, rr /min, temp 0.1 degC). Each patient gets a baseline
// drawn around adult normals, a slow oscillation, noise and about 1% missing values; with
// `deteriorate`, from sample 120 a shock-like decline ramps in over 180 samples (HR and RR
// up, pressures and SpO2 down, fever). Signals past the seventh stay at their centre.
// The algorithm is documented in docs/firmware.md so a host can reproduce it.
#ifndef BEDSIDE_CORE_SIMULATOR_H_
#define BEDSIDE_CORE_SIMULATOR_H_

#include <stdint.h>

#include "preprocess.h"

namespace bedside {

constexpr int kSimSignals = 7;
constexpr uint32_t kSimOnset = 120, kSimRamp = 180;

struct Simulator {
  uint32_t seed, state, t;
  bool deteriorate;
  int32_t base[kSimSignals];
};

uint32_t sim_rand(uint32_t *state);  // xorshift32, never 0
void sim_start(Simulator *s, uint32_t seed, bool deteriorate);
// Next raw sample; n_signals values, `center` fills signals the simulator does not model.
void sim_next(Simulator *s, int16_t *raw, int n_signals, const int32_t *center, int16_t missing);

}  // namespace bedside

#endif  // BEDSIDE_CORE_SIMULATOR_H_
