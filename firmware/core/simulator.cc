// Deterministic vital-signs simulator (see simulator.h).
#include "simulator.h"

namespace bedside {

namespace {
struct SimSignal {
  int32_t normal;       // typical adult value
  int32_t spread;       // patient baseline drawn in normal +- spread
  int32_t wave;         // amplitude of the slow oscillation
  int32_t noise;        // per-sample noise amplitude
  int32_t shift;        // change at full deterioration
};
constexpr SimSignal kSim[kSimSignals] = {
    {80, 10, 4, 3, 45},    // hr
    {120, 12, 5, 4, -40},  // sbp
    {65, 8, 3, 3, -22},    // dbp
    {83, 8, 3, 3, -28},    // map
    {97, 2, 1, 1, -9},     // spo2
    {16, 3, 1, 1, 12},     // rr
    {370, 4, 2, 1, 18},    // temp (0.1 degC)
};
constexpr uint32_t kWavePeriod = 96;

int32_t uniform(uint32_t *state, int32_t amp) {  // in [-amp, amp]
  return (int32_t)(sim_rand(state) % (uint32_t)(2 * amp + 1)) - amp;
}
}  // namespace

uint32_t sim_rand(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

void sim_start(Simulator *s, uint32_t seed, bool deteriorate) {
  s->seed = seed;
  s->state = seed ? seed : 0x9E3779B9u;
  s->t = 0;
  s->deteriorate = deteriorate;
  for (int i = 0; i < kSimSignals; ++i) s->base[i] = kSim[i].normal + uniform(&s->state, kSim[i].spread);
}

void sim_next(Simulator *s, int16_t *raw, int n_signals, const int32_t *center, int16_t missing) {
  // Triangle wave in [-period/4, period/4], the same phase for every signal.
  const int32_t phase = (int32_t)(s->t % kWavePeriod);
  const int32_t tri = (phase < (int32_t)kWavePeriod / 2 ? phase : (int32_t)kWavePeriod - phase) -
                      (int32_t)kWavePeriod / 4;
  uint32_t ramp = 0;
  if (s->deteriorate && s->t >= kSimOnset) ramp = s->t - kSimOnset < kSimRamp ? s->t - kSimOnset : kSimRamp;
  for (int i = 0; i < n_signals; ++i) {
    if (i >= kSimSignals) {
      raw[i] = (int16_t)center[i];
      continue;
    }
    const SimSignal &g = kSim[i];
    int32_t v = s->base[i] + g.wave * tri / ((int32_t)kWavePeriod / 4) + uniform(&s->state, g.noise) +
                g.shift * (int32_t)ramp / (int32_t)kSimRamp;
    if (sim_rand(&s->state) % 100u == 0u) v = missing;
    raw[i] = (int16_t)v;
  }
  s->t += 1;
}

}  // namespace bedside
