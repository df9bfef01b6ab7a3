// The bedside loop: serial protocol in, samples -> preprocessing -> window -> model ->
// alarm, results out. A port's main() calls app_setup() once and app_poll() forever.
#ifndef BEDSIDE_CORE_APP_H_
#define BEDSIDE_CORE_APP_H_

#include <stdint.h>

namespace bedside {

enum class Source : uint8_t {
  kHost,       // samples arrive in SAMPLES frames (verification, monitoring)
  kSimulator,  // the built-in simulator feeds one sample every period_ms (stand-alone demo)
  kSensor,     // port_sensor_read() feeds one sample every period_ms (a real device)
};

struct AppOptions {
  Source source = Source::kHost;
  uint32_t period_ms = 1000;   // stand-alone sample period (the trend period is 60 s;
                               // a demo runs faster)
  uint32_t sim_seed = 1;
  bool sim_deteriorate = true;
  // Stand-alone only: a host that feeds the loop (RESET, SAMPLES or SIMULATE with samples)
  // pauses stand-alone feeding; this long after its last such request the device goes
  // back to stand-alone with a new patient (longer than a real-time host's 60 s gaps).
  uint32_t host_lease_ms = 120000;
};

// At most this long per SIMULATE request (plus the inference in progress): the reply's
// samples_total tells the host how far it got, so the device always answers in time.
constexpr uint32_t kSimulateBudgetMs = 100;

// Returns false if the model backend could not start (the loop still answers HELLO).
bool app_setup(const AppOptions &options);
// Handle received bytes and, in stand-alone mode, the next sample when it is due.
void app_poll();
// A new host connected (ports with connections, e.g. TCP): forget the old one's partial
// frame and cached reply.
void app_link_reset();

}  // namespace bedside

#endif  // BEDSIDE_CORE_APP_H_
