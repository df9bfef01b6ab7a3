// libFuzzer harness: the device's frame decoder and request checks on arbitrary bytes.
//
// Checks, besides "no crash, no sanitizer finding, no hang": every decoded frame is
// consistent (length, payload inside the body buffer), request_check accepts only the
// documented payload sizes, a decoded frame re-encodes to a frame that decodes to the same
// fields, every NAK carries a documented code, and COBS round-trips the raw input.
// Build and run: firmware/fuzz/CMakeLists.txt, `bedside bench reliability`.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol.h"

using namespace bedside;

namespace {
constexpr int kSignals = 7;          // the kit's signal table (any value works)
constexpr int kInputBytes = 60 * 7;  // one int8 [1, 60, 7] window

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

void check_frame(const Decoder &d, const Frame &f) {
  CHECK(f.length <= kMaxPayload);
  CHECK(f.payload == d.body + kHeaderBytes);
  Nak nak;
  if (request_check(f, kSignals, kInputBytes, &nak)) {
    CHECK(f.version == kProtocolVersion);
    long want = -1;
    switch (f.type) {
      case kHello: want = f.length == 1 ? 1 : 0; break;
      case kReset: case kStats: want = 0; break;
      case kInfer: want = kInputBytes; break;
      case kSimulate: want = 9; break;
      case kSamples: want = 1 + (long)f.payload[0] * 2 * kSignals; break;
      default: break;  // a request type added later: its size is request_check's business
    }
    if (want >= 0) CHECK(f.length == want);
    CHECK(f.type < 0x80 && f.type != kNak);  // replies are never accepted as requests
  } else {
    CHECK(nak.seq == f.seq);
    CHECK(nak.code == kNakBadVersion || nak.code == kNakUnknownType || nak.code == kNakBadPayload);
  }
  // Re-encode and decode again: same type, seq and payload.
  static uint8_t wire[kMaxFrame];
  static uint8_t payload[kMaxPayload];
  memcpy(payload, f.payload, f.length);
  const size_t n = frame_encode(f.type, f.seq, payload, f.length, wire);
  CHECK(n >= 2 && n <= kMaxFrame && wire[n - 1] == 0);
  for (size_t i = 0; i + 1 < n; ++i) CHECK(wire[i] != 0);
  static Decoder again;
  decoder_reset(&again);
  Frame g;
  Nak gn;
  for (size_t i = 0; i + 1 < n; ++i) CHECK(decoder_push(&again, wire[i], &g, &gn) == RxEvent::kNone);
  CHECK(decoder_push(&again, 0, &g, &gn) == RxEvent::kFrame);
  CHECK(g.type == f.type && g.seq == f.seq && g.length == f.length && g.version == kProtocolVersion);
  CHECK(memcmp(g.payload, payload, f.length) == 0);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static Decoder d;
  decoder_reset(&d);
  for (size_t i = 0; i < size; ++i) {
    Frame f;
    Nak nak;
    switch (decoder_push(&d, data[i], &f, &nak)) {
      case RxEvent::kFrame: check_frame(d, f); break;
      case RxEvent::kNak:
        CHECK(nak.code >= kNakBadCrc && nak.code <= kNakTooLong);
        CHECK(nak.seq == kSeqUntrusted);
        break;
      case RxEvent::kNone: break;
    }
  }
  // COBS round trip of the raw input (bounded like a frame body).
  static uint8_t enc[kMaxBody + kMaxBody / 254 + 2], dec[kMaxBody];
  const size_t len = size < kMaxBody ? size : kMaxBody;
  const size_t n = cobs_encode(data, len, enc);
  CHECK(n <= len + len / 254 + 1);
  for (size_t i = 0; i < n; ++i) CHECK(enc[i] != 0);
  const long m = cobs_decode(enc, n, dec, sizeof(dec));
  CHECK(m == (long)len && memcmp(dec, data, len) == 0);
  // Decoding arbitrary bytes never writes past the output buffer.
  static uint8_t small[16];
  (void)cobs_decode(data, len, small, sizeof(small));
  return 0;
}
