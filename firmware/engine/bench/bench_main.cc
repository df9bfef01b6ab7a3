// Engine benchmark firmware for QEMU mps2-an386 (Cortex-M4), mps2-an385 (Cortex-M3),
// microbit (Cortex-M0) and virt (RISC-V rv32imc): runs the generated model on the inputs in
// bench_data.h, checks the outputs against TFLM's, counts port_cycles() ticks per inference
// (SysTick, nRF51 TIMER0 or minstret), prints one line per run on the board's UART and
// exits QEMU (bench_arch.h: semihosting on Arm, the test finisher on RISC-V). Built with
// BEDSIDE_ENGINE_PROFILE, it also sums the ticks of each op over all runs and prints one
// `OP` line per op.
#include <stdint.h>
#include <string.h>

#include "bench_arch.h"   // BenchCalibrate, BenchExit (firmware/engine/bench/<arch>/)
#include "bench_data.h"   // kBenchInputs, kBenchExpected, kBenchRuns (written by bedside/bench/engine_m4.py)
#include "model_engine.h"

extern "C" {
void port_init(void);
void port_serial_write(const uint8_t *buf, int len);
uint32_t port_cycles(void);
}

namespace {

void Print(const char *s) { port_serial_write(reinterpret_cast<const uint8_t *>(s), static_cast<int>(strlen(s))); }

void PrintU32(uint32_t v) {
  char buf[11];
  int n = 0;
  do { buf[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v);
  char out[11];
  for (int i = 0; i < n; ++i) out[i] = buf[n - 1 - i];
  port_serial_write(reinterpret_cast<const uint8_t *>(out), n);
}

alignas(16) uint8_t g_out[MODEL_ENGINE_OUTPUT_BYTES];

#ifdef BEDSIDE_ENGINE_PROFILE
uint32_t g_op_ticks[MODEL_ENGINE_OPS];
uint32_t g_op_last;
#endif

}  // namespace

#ifdef BEDSIDE_ENGINE_PROFILE
extern "C" void bedside_engine_op_done(int op_index) {
  const uint32_t t = port_cycles();
  g_op_ticks[op_index] += t - g_op_last;
  g_op_last = port_cycles();   // the hook's own cost is not charged to the next op
}
#endif

int main() {
  port_init();
  const uint32_t kCal = 1000000u;
  BenchCalibrate(1000u);   // let SysTick's first reload pass before anything is timed
  (void)port_cycles();
  uint32_t t0 = port_cycles();
  BenchCalibrate(kCal);
  uint32_t t1 = port_cycles();
  Print("CAL instructions=");
  PrintU32(2u * kCal);
  Print(" ticks=");
  PrintU32(t1 - t0);
  Print("\n");
  uint32_t failures = 0;
  for (uint32_t r = 0; r < kBenchRuns; ++r) {
    t0 = port_cycles();
#ifdef BEDSIDE_ENGINE_PROFILE
    g_op_last = t0;
#endif
    const int rc = model_engine_invoke(kBenchInputs + r * MODEL_ENGINE_INPUT_BYTES, g_out);
    t1 = port_cycles();
    const bool ok = rc == 0 && memcmp(g_out, kBenchExpected + r * MODEL_ENGINE_OUTPUT_BYTES,
                                      MODEL_ENGINE_OUTPUT_BYTES) == 0;
    failures += ok ? 0u : 1u;
    Print("RUN ");
    PrintU32(r);
    Print(" ticks=");
    PrintU32(t1 - t0);
    Print(ok ? " equal=1\n" : " equal=0\n");
  }
#ifdef BEDSIDE_ENGINE_PROFILE
  for (uint32_t i = 0; i < MODEL_ENGINE_OPS; ++i) {
    Print("OP ");
    PrintU32(i);
    Print(" ticks=");
    PrintU32(g_op_ticks[i]);
    Print("\n");
  }
#endif
  Print(failures ? "DONE FAIL\n" : "DONE OK\n");
  BenchExit(failures == 0);
  for (;;) {
  }
}
