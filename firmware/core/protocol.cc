// Serial protocol codec, device side (see protocol.h and docs/protocol.md).
#include "protocol.h"

#include <string.h>

namespace bedside {

uint32_t crc32(const uint8_t *data, size_t len, uint32_t crc) {
  // Bitwise IEEE 802.3 (reflected 0xEDB88320): small, no table in flash; frames are short.
  crc = ~crc;
  for (size_t i = 0; i < len; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

namespace {
// Streaming COBS encoder, so a frame is encoded straight from its pieces (no body copy
// on the stack). Canonical: no trailing 0x01 code after a final full 254-byte block.
struct CobsWriter {
  uint8_t *out;
  size_t code_at = 0, o = 1;
  uint8_t code = 1;
  bool after_full = false;

  explicit CobsWriter(uint8_t *dst) : out(dst) {}

  void push(uint8_t b) {
    after_full = false;
    if (b == 0) {
      close_block();
      return;
    }
    out[o++] = b;
    if (++code == 0xFF) {
      close_block();
      after_full = true;
    }
  }
  void push(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i) push(p[i]);
  }
  void close_block() {
    out[code_at] = code;
    code_at = o++;
    code = 1;
  }
  size_t finish() {
    if (after_full) return o - 1;  // drop the code slot reserved after the full block
    out[code_at] = code;
    return o;
  }
};
}  // namespace

size_t cobs_encode(const uint8_t *in, size_t len, uint8_t *out) {
  CobsWriter w(out);
  w.push(in, len);
  return w.finish();
}

long cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap) {
  size_t i = 0, o = 0;
  while (i < len) {
    const uint8_t code = in[i++];
    if (code == 0 || i + code - 1 > len) return -1;
    for (uint8_t k = 1; k < code; ++k) {
      if (o >= out_cap) return -1;
      out[o++] = in[i++];
    }
    if (code != 0xFF && i < len) {
      if (o >= out_cap) return -1;
      out[o++] = 0;
    }
  }
  return (long)o;
}

size_t frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                    uint8_t *out) {
  if (len > kMaxPayload) return 0;
  uint8_t head[kHeaderBytes] = {kProtocolVersion, type, 0, 0, 0, 0};
  put_u16(head + 2, seq);
  put_u16(head + 4, (uint16_t)len);
  uint8_t crc[kCrcBytes];
  put_u32(crc, crc32(payload, len, crc32(head, kHeaderBytes)));
  CobsWriter w(out);
  w.push(head, kHeaderBytes);
  w.push(payload, len);
  w.push(crc, kCrcBytes);
  const size_t n = w.finish();
  out[n] = 0;
  return n + 1;
}

void decoder_reset(Decoder *d) {
  d->n = 0;
  d->overflow = false;
}

namespace {
RxEvent nak_untrusted(Nak *nak, uint8_t code, uint16_t detail) {
  nak->code = code;
  nak->detail = detail;
  nak->seq = kSeqUntrusted;
  return RxEvent::kNak;
}
}  // namespace

RxEvent decoder_push(Decoder *d, uint8_t byte, Frame *frame, Nak *nak) {
  if (byte != 0) {
    if (d->n < sizeof(d->encoded)) d->encoded[d->n++] = byte;
    else d->overflow = true;
    return RxEvent::kNone;
  }
  const size_t n = d->n;
  const bool overflow = d->overflow;
  decoder_reset(d);
  if (overflow) return nak_untrusted(nak, kNakTooLong, 0);
  if (n == 0) return RxEvent::kNone;
  const long len = cobs_decode(d->encoded, n, d->body, sizeof(d->body));
  if (len < 0) return nak_untrusted(nak, kNakBadLength, 0);  // not valid COBS
  const size_t size = (size_t)len;
  if (size < kMinBody || size > kMaxBody) return nak_untrusted(nak, kNakBadLength, (uint16_t)size);
  const uint16_t length = get_u16(d->body + 4);
  if ((size_t)length + kMinBody != size) return nak_untrusted(nak, kNakBadLength, (uint16_t)size);
  const uint32_t crc = crc32(d->body, kHeaderBytes + length);
  if (crc != get_u32(d->body + kHeaderBytes + length)) return nak_untrusted(nak, kNakBadCrc, 0);
  frame->version = d->body[0];
  frame->type = d->body[1];
  frame->seq = get_u16(d->body + 2);
  frame->length = length;
  frame->payload = d->body + kHeaderBytes;
  frame->crc = crc;
  return RxEvent::kFrame;
}

bool request_check(const Frame &f, int n_signals, int input_bytes, Nak *nak) {
  nak->seq = f.seq;
  if (f.version != kProtocolVersion) {
    nak->code = kNakBadVersion;
    nak->detail = f.version;
    return false;
  }
  long expected;
  switch (f.type) {
    case kHello: expected = f.length == 1 ? 1 : 0; break;  // optional: the INFO part
    case kReset: case kStats: case kCalib: expected = 0; break;
    case kInfer: expected = input_bytes; break;
    case kSimulate: expected = (long)kSimulateRequestBytes; break;
    case kSamples:
      expected = f.length >= 1 ? 1 + (long)f.payload[0] * 2 * n_signals : 1;
      break;
    default:
      nak->code = kNakUnknownType;
      nak->detail = f.type;
      return false;
  }
  if ((long)f.length != expected) {
    nak->code = kNakBadPayload;
    nak->detail = (uint16_t)expected;
    return false;
  }
  return true;
}

}  // namespace bedside
