// Test driver for the portable core: reads inputs on stdin, prints outputs on stdout.
// tests/test_firmware_core.py compares them with the Python definitions.
//
//   core_tool preprocess   stdin: C SHIFT MISSING, C x (center mult vmin vmax carry), T, T x C raw
//                          stdout: T lines of C int8 features
//   core_tool personal     stdin: as preprocess, then CALIB BLOCKS MIN_VALID MIN_BLOCKS,
//                          C x (limit_lo limit_hi), T, T x (OP, C raw) with OP 0 = sample,
//                          1 = reset then sample; stdout: T lines "calibrated q.. center.. baseline.."
//   core_tool window L C S stdin: T, T x C int8; stdout: "END v..." per completed window
//   core_tool alarm ON OFF MIN   stdin: N, N int8 outputs; stdout: N lines 0/1
//   core_tool protocol     stdin lines: "E TYPE SEQ HEX" (encode: prints wire hex),
//                          "D HEX" (feed bytes to one decoder: prints FRAME/NAK events),
//                          "R C INPUT_BYTES HEX" (decode one frame + request_check)
//   core_tool sim SEED DET N C   stdout: N lines of C raw samples (centres: 0)
//   core_tool safety       stdin: as preprocess, then R SUSTAIN SLOW FROZEN, R x (signal high
//                          bound step), C x (quality frozen stale), T, T x C raw;
//                          stdout: T lines "flags cause" (the floor records)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "preprocess.h"
#include "protocol.h"
#include "safety.h"
#include "sha256.h"
#include "simulator.h"
#include "window.h"

using namespace bedside;

namespace {

long read_long() {
  long v;
  if (scanf("%ld", &v) != 1) {
    fprintf(stderr, "core_tool: expected an integer on stdin\n");
    exit(2);
  }
  return v;
}

// Reads "C shift missing" and C lines of "center multiplier valid_min valid_max carry"
// into static storage; false on a bad signal count.
bool read_preproc_config(PreprocConfig *cfg) {
  static int32_t center[kMaxSignals], mult[kMaxSignals], vmin[kMaxSignals], vmax[kMaxSignals],
      carry[kMaxSignals];
  const int c = (int)read_long();
  const int shift = (int)read_long();
  const int16_t missing = (int16_t)read_long();
  if (c < 1 || c > kMaxSignals) return false;
  for (int i = 0; i < c; ++i) {
    center[i] = (int32_t)read_long();
    mult[i] = (int32_t)read_long();
    vmin[i] = (int32_t)read_long();
    vmax[i] = (int32_t)read_long();
    carry[i] = (int32_t)read_long();
  }
  *cfg = {c, missing, shift, center, mult, vmin, vmax, carry};
  return true;
}

int run_preprocess() {
  PreprocConfig cfg;
  if (!read_preproc_config(&cfg)) return 2;
  const int c = cfg.n_signals;
  Preprocessor p;
  preprocess_init(&p, &cfg);
  const long t = read_long();
  int16_t raw[kMaxSignals];
  int8_t q[kMaxSignals];
  for (long k = 0; k < t; ++k) {
    for (int i = 0; i < c; ++i) raw[i] = (int16_t)read_long();
    preprocess_push(&p, raw, q);
    for (int i = 0; i < c; ++i) printf(i ? " %d" : "%d", q[i]);
    printf("\n");
  }
  return 0;
}

int run_personal() {
  static int32_t lo[kMaxSignals], hi[kMaxSignals];
  PreprocConfig cfg;
  if (!read_preproc_config(&cfg)) return 2;
  const int c = cfg.n_signals;
  PersonalConfig pc;
  pc.calib_samples = (int)read_long();
  pc.blocks = (int)read_long();
  pc.block_min_valid = (int)read_long();
  pc.min_blocks = (int)read_long();
  if (pc.blocks < 1 || pc.blocks > kMaxBlocks || pc.calib_samples % pc.blocks) return 2;
  for (int i = 0; i < c; ++i) {
    lo[i] = (int32_t)read_long();
    hi[i] = (int32_t)read_long();
  }
  pc.limit_lo = lo;
  pc.limit_hi = hi;
  Preprocessor p;
  Personalizer z;
  preprocess_init(&p, &cfg);
  personal_init(&z, &cfg, &pc);
  const long t = read_long();
  int16_t raw[kMaxSignals];
  int8_t q[kMaxSignals];
  for (long k = 0; k < t; ++k) {
    if (read_long() == 1) {
      preprocess_reset(&p);
      personal_reset(&z);
    }
    for (int i = 0; i < c; ++i) raw[i] = (int16_t)read_long();
    personal_push(&z, raw);
    preprocess_push_centered(&p, raw, z.center, q);
    printf("%d", z.calibrated ? 1 : 0);
    for (int i = 0; i < c; ++i) printf(" %d", q[i]);
    for (int i = 0; i < c; ++i) printf(" %ld", (long)z.center[i]);
    for (int i = 0; i < c; ++i) printf(" %ld", (long)z.baseline[i]);
    printf("\n");
  }
  return 0;
}

int run_window(int length, int c, int stride) {
  static int8_t storage[4096], out[4096];
  if (length * c > 4096 || c > kMaxSignals || length < 1 || stride < 1) return 2;
  Window w;
  window_init(&w, storage, length, c, stride);
  const long t = read_long();
  int8_t q[kMaxSignals];
  for (long k = 0; k < t; ++k) {
    for (int i = 0; i < c; ++i) q[i] = (int8_t)read_long();
    if (window_push(&w, q)) {
      window_copy(&w, out);
      printf("%ld", k);
      for (int i = 0; i < length * c; ++i) printf(" %d", out[i]);
      printf("\n");
    }
  }
  return 0;
}

int run_alarm(int on, int off, int min_duration) {
  Alarm a;
  alarm_init(&a, (int8_t)on, (int8_t)off, min_duration);
  const long n = read_long();
  for (long k = 0; k < n; ++k) printf("%d\n", alarm_step(&a, (int8_t)read_long()) ? 1 : 0);
  return 0;
}

size_t parse_hex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = 0;
  while (hex[0] && hex[1] && n < cap) {
    unsigned v;
    if (sscanf(hex, "%2x", &v) != 1) break;
    out[n++] = (uint8_t)v;
    hex += 2;
  }
  return n;
}

void print_hex(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; ++i) printf("%02x", p[i]);
}

void print_event(RxEvent ev, const Frame &f, const Nak &nak) {
  if (ev == RxEvent::kFrame) {
    printf("FRAME %u %u %u ", f.version, f.type, f.seq);
    print_hex(f.payload, f.length);
    printf("\n");
  } else if (ev == RxEvent::kNak) {
    printf("NAK %u %u %u\n", nak.code, nak.detail, nak.seq);
  }
}

int run_protocol() {
  static char line[16384];
  static uint8_t bytes[8192], wire[kMaxFrame];
  static Decoder dec;
  decoder_reset(&dec);
  while (fgets(line, sizeof(line), stdin)) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    if (line[0] == 'E') {
      unsigned type, seq;
      char hex[8192 * 2 + 1] = "";
      if (sscanf(line + 1, "%u %u %16384s", &type, &seq, hex) < 2) return 2;
      const size_t n = parse_hex(hex, bytes, sizeof(bytes));
      const size_t w = frame_encode((uint8_t)type, (uint16_t)seq, bytes, n, wire);
      if (w == 0) {
        printf("TOOBIG\n");
        continue;
      }
      // the device's reply path: the payload in place in a kMaxFrame buffer, encoded there
      static uint8_t frame[kMaxFrame];
      memcpy(frame + kFramePayloadAt, bytes, n);
      const size_t v = frame_encode_in_place((uint8_t)type, (uint16_t)seq, n, frame);
      if (v != w || memcmp(frame, wire, w) != 0) printf("IN-PLACE DIFFERS ");
      print_hex(wire, w);
      printf("\n");
    } else if (line[0] == 'D') {
      const size_t n = parse_hex(line + 2, bytes, sizeof(bytes));
      for (size_t i = 0; i < n; ++i) {
        Frame f;
        Nak nak;
        print_event(decoder_push(&dec, bytes[i], &f, &nak), f, nak);
      }
      printf("END\n");
    } else if (line[0] == 'R') {
      int c, input_bytes, off = 0;
      if (sscanf(line + 1, "%d %d %n", &c, &input_bytes, &off) < 2) return 2;
      const size_t n = parse_hex(line + 1 + off, bytes, sizeof(bytes));
      Decoder d;
      decoder_reset(&d);
      for (size_t i = 0; i < n; ++i) {
        Frame f;
        Nak nak;
        const RxEvent ev = decoder_push(&d, bytes[i], &f, &nak);
        if (ev == RxEvent::kFrame) {
          if (request_check(f, c, input_bytes, &nak)) printf("OK %u\n", f.seq);
          else printf("NAK %u %u %u\n", nak.code, nak.detail, nak.seq);
        } else {
          print_event(ev, f, nak);
        }
      }
    }
    fflush(stdout);
  }
  return 0;
}

// sha256: each stdin line is hex bytes (may be empty); prints the digest in hex. The
// message is fed in uneven pieces, so block boundaries fall everywhere.
int run_sha256() {
  static char line[1 << 16];
  static uint8_t msg[1 << 15];
  while (fgets(line, sizeof(line), stdin)) {
    size_t n = 0;
    for (const char *c = line; c[0] && c[1] && c[0] != '\n'; c += 2) {
      unsigned b;
      if (sscanf(c, "%2x", &b) != 1) break;
      msg[n++] = (uint8_t)b;
    }
    Sha256 s;
    sha256_init(&s);
    for (size_t at = 0, step = 1; at < n; at += step, step = step % 97 + 1)
      sha256_update(&s, msg + at, at + step <= n ? step : n - at);
    uint8_t d[32];
    sha256_final(&s, d);
    for (int i = 0; i < 32; ++i) printf("%02x", d[i]);
    printf("\n");
  }
  return 0;
}

int run_sim(uint32_t seed, bool det, long n, int c) {
  static int32_t center[kMaxSignals];
  Simulator s;
  sim_start(&s, seed, det);
  int16_t raw[kMaxSignals];
  for (long k = 0; k < n; ++k) {
    sim_next(&s, raw, c, center, -32768);
    for (int i = 0; i < c; ++i) printf(i ? " %d" : "%d", raw[i]);
    printf("\n");
  }
  return 0;
}

int run_safety() {
  PreprocConfig pc;
  if (!read_preproc_config(&pc)) return 2;
  static uint8_t signal[kMaxSafetyRules], high[kMaxSafetyRules], quality[kMaxSignals],
      frozen[kMaxSignals];
  static int32_t bound[kMaxSafetyRules];
  static int16_t step[kMaxSafetyRules];
  static uint16_t stale[kMaxSignals];
  static uint8_t agree[kMaxSafetyRules];
  static int32_t agree_bound[kMaxSafetyRules];
  static uint8_t jump[kMaxSafetyRules];
  static int16_t jump_bound[kMaxSafetyRules];
  static int16_t clear[kMaxSafetyRules];
  const int rules = (int)read_long();
  if (rules < 0 || rules > kMaxSafetyRules) return 2;
  const uint16_t sustain = (uint16_t)read_long(), slow = (uint16_t)read_long(),
                 frozen_limit = (uint16_t)read_long();
  const uint8_t lookback = (uint8_t)read_long(), after_gap = (uint8_t)read_long();
  SafetyConfig cfg = {rules,  sustain, slow,  frozen_limit, signal,   high,
                      bound,  step,    quality, frozen,     stale,    agree,
                      agree_bound, lookback, jump, jump_bound, after_gap, clear};
  for (int r = 0; r < rules; ++r) {
    signal[r] = (uint8_t)read_long();
    high[r] = (uint8_t)read_long();
    bound[r] = (int32_t)read_long();
    step[r] = (int16_t)read_long();
    agree[r] = (uint8_t)read_long();
    agree_bound[r] = (int32_t)read_long();
    jump[r] = (uint8_t)read_long();
    jump_bound[r] = (int16_t)read_long();
    clear[r] = (int16_t)read_long();
  }
  for (int i = 0; i < pc.n_signals; ++i) {
    quality[i] = (uint8_t)read_long();
    frozen[i] = (uint8_t)read_long();
    stale[i] = (uint16_t)read_long();
  }
  Safety s;
  safety_init(&s, &cfg, pc.missing_value);
  const long t = read_long();
  int16_t raw[kMaxSignals];
  for (long k = 0; k < t; ++k) {
    for (int i = 0; i < pc.n_signals; ++i) raw[i] = (int16_t)read_long();
    const FloorRecord f = safety_push(&s, pc, raw);
    printf("%d %d\n", f.flags, f.cause);
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "preprocess")) return run_preprocess();
  if (!strcmp(mode, "personal")) return run_personal();
  if (!strcmp(mode, "window") && argc == 5) return run_window(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(mode, "alarm") && argc == 5) return run_alarm(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(mode, "protocol")) return run_protocol();
  if (!strcmp(mode, "sha256")) return run_sha256();
  if (!strcmp(mode, "safety")) return run_safety();
  if (!strcmp(mode, "sim") && argc == 6)
    return run_sim((uint32_t)strtoul(argv[2], nullptr, 0), atoi(argv[3]) != 0, atol(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: core_tool preprocess|window L C S|alarm ON OFF MIN|protocol|sha256|sim SEED DET N C\n");
  return 2;
}
