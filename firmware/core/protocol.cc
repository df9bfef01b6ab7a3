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

size_t cobs_encode(const uint8_t *in, size_t len, uint8_t *out) {
  // Each block: its code byte, then up to 254 non-zero bytes read and written in order.
  // The output runs at most 1 + i/254 bytes ahead of input position i, so with out at
  // least 2 + len/254 bytes before in, nothing is overwritten before it is read.
  size_t i = 0, o = 0;
  for (;;) {
    size_t run = 0;
    while (run < 254 && i + run < len && in[i + run] != 0) ++run;
    out[o++] = (uint8_t)(run + 1);
    for (size_t k = 0; k < run; ++k) out[o++] = in[i + k];
    i += run;
    if (i == len) return o;  // canonical: no 0x01 block after a final full block
    if (run < 254) ++i;      // the 0x00 this block ends with
  }
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

// Header and CRC around the payload already at body + kHeaderBytes, then COBS into out
// (out may overlap body: the encoding starts before the body and never overtakes it).
static size_t seal_and_encode(uint8_t type, uint16_t seq, size_t len, uint8_t *body,
                              uint8_t *out) {
  body[0] = kProtocolVersion;
  body[1] = type;
  put_u16(body + 2, seq);
  put_u16(body + 4, (uint16_t)len);
  put_u32(body + kHeaderBytes + len, crc32(body, kHeaderBytes + len));
  const size_t n = cobs_encode(body, kMinBody + len, out);
  out[n] = 0;
  return n + 1;
}

size_t frame_encode_in_place(uint8_t type, uint16_t seq, size_t len, uint8_t *frame) {
  if (len > kMaxPayload) return 0;
  return seal_and_encode(type, seq, len, frame + kFrameBodyAt, frame);
}

size_t frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                    uint8_t *out) {
  if (len > kMaxPayload) return 0;
  // The body starts past where its encoding can reach (frame_bytes(len) bytes in all).
  uint8_t *body = out + 2 + (kMinBody + len) / 254;
  if (len > 0) memmove(body + kHeaderBytes, payload, len);  // payload may be null when empty
  return seal_and_encode(type, seq, len, body, out);
}

void decoder_reset(Decoder *d) {
  d->n = 0;
  d->size = 0;
  d->left = 0;
  d->zero = false;
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
    // COBS decoded as it arrives (cobs_decode's rules): a code byte closes the previous
    // block, with the 0x00 it stands for, and opens the next one.
    if (d->overflow || ++d->n > kMaxEncoded - 1) {
      d->overflow = true;
      return RxEvent::kNone;
    }
    uint8_t out = byte;
    if (d->left == 0) {
      const bool zero = d->zero;
      d->left = (uint8_t)(byte - 1);
      d->zero = byte != 0xFF;
      if (!zero) return RxEvent::kNone;
      out = 0;
    } else {
      d->left -= 1;
    }
    if (d->size < sizeof(d->body)) d->body[d->size] = out;
    d->size += 1;
    return RxEvent::kNone;
  }
  const size_t n = d->n, size = d->size;
  const bool overflow = d->overflow, truncated = d->left != 0;
  decoder_reset(d);
  if (overflow) return nak_untrusted(nak, kNakTooLong, 0);
  if (n == 0) return RxEvent::kNone;
  if (truncated) return nak_untrusted(nak, kNakBadLength, 0);  // not valid COBS
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
