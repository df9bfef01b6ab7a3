// libFuzzer harness: the whole request path of a device, through its port.
//
// The fuzz input is what arrives on the serial link: app_poll() reads it through
// port_serial_read() and runs the decoder, request_check, handle_frame (HELLO, RESET,
// SAMPLES, INFER, STATS, CALIB, SIMULATE with any n, the reply cache), the
// preprocessing, window, model and alarm of the run's generated model. The first byte
// picks host-driven or stand-alone mode (the built-in simulator feeds a sample per poll,
// with the host lease). Checks, besides "no crash, no sanitizer finding, no hang": every
// reply is one complete frame within kMaxFrame bytes that decodes with a valid CRC.
// The port's clock advances 10 ms per call, so SIMULATE's budget ends after 10 samples.
// Build: firmware/fuzz/CMakeLists.txt with -DBEDSIDE_GEN_DIR=RUN_DIR/int8/gen.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "app.h"
#include "port.h"
#include "protocol.h"

using namespace bedside;

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

namespace {
const uint8_t *g_in;
size_t g_in_left;
uint32_t g_ms;
Decoder g_reply_decoder;  // the host side: every byte the device sends must decode
}  // namespace

extern "C" {

int port_serial_read(uint8_t *buf, int max_len) {
  // a few bytes per poll, so frames straddle reads as they do on a UART
  size_t n = g_in_left < 7 ? g_in_left : 7;
  if (n > (size_t)max_len) n = (size_t)max_len;
  memcpy(buf, g_in, n);
  g_in += n;
  g_in_left -= n;
  return (int)n;
}

void port_serial_write(const uint8_t *buf, int len) {
  CHECK(len > 0 && (size_t)len <= kMaxFrame && buf[len - 1] == 0);  // one whole frame
  for (int i = 0; i < len; ++i) {
    Frame f;
    Nak nak;
    const RxEvent ev = decoder_push(&g_reply_decoder, buf[i], &f, &nak);
    CHECK(ev != RxEvent::kNak);                       // never a damaged frame
    CHECK((ev == RxEvent::kFrame) == (i == len - 1));  // exactly one frame per write
  }
}

uint32_t port_cycles(void) { return g_ms * 1000u; }
uint32_t port_millis(void) { return g_ms += 10; }
bool port_sensor_read(int16_t *, int) { return false; }
void port_alarm_led(bool) {}
const char *port_board_name(void) { return "fuzz"; }
uint32_t port_core_clock_hz(void) { return 1000000u; }
void port_idle(void) {}

}  // extern "C"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  AppOptions opt;
  if (data[0] & 1) {
    opt.source = Source::kSimulator;
    opt.period_ms = (data[0] >> 4) * 10u;  // 0..150 ms: often a sample per poll
    opt.host_lease_ms = 50;
  }
  g_ms = 0;
  decoder_reset(&g_reply_decoder);
  app_setup(opt);                      // every input starts from boot: reproducible
  g_in = data + 1;
  g_in_left = size - 1;
  while (g_in_left > 0) app_poll();
  for (int i = 0; i < 16; ++i) app_poll();  // let stand-alone mode and the lease run on
  return 0;
}
