// Serial protocol, device side: COBS framing, CRC-32, frame decoder, request checks.
//
// docs/protocol.md is the specification; protocol_spec.h (generated) holds its constants.
// Buffers are fixed-size (no heap); a malformed frame produces a NAK event and the decoder
// resynchronises at the next 0x00. RAM is what the smallest boards lack, so the decoder
// un-COBSes bytes as they arrive (it holds the body only) and a reply is encoded in place
// in the buffer that built it (frame_encode_in_place): one body-sized buffer each way.
#ifndef BEDSIDE_CORE_PROTOCOL_H_
#define BEDSIDE_CORE_PROTOCOL_H_

#include <stddef.h>
#include <stdint.h>

#include "protocol_spec.h"  // message types, NAK codes, sizes: generated from the Python spec

namespace bedside {

constexpr size_t kMinBody = kHeaderBytes + kCrcBytes;    // 10
constexpr size_t kMaxBody = kMinBody + kMaxPayload;      // 1034
// Longest frame: COBS bytes plus the 0x00 delimiter; a longer frame is TOO_LONG.
constexpr size_t kMaxEncoded = 2 + kMaxBody + kMaxBody / 254;  // 1040
constexpr size_t kMaxFrame = kMaxEncoded;                // largest frame we send, with 0x00
// Encoded frame size, with the 0x00, of a payload of n bytes (n <= kMaxPayload).
constexpr size_t frame_bytes(size_t n) { return 2 + kMinBody + n + (kMinBody + n) / 254; }
// In-place encoding: the body (header, payload, CRC) starts kFrameBodyAt bytes into a
// kMaxFrame buffer, the COBS output from byte 0. COBS adds one byte per 254 and one
// more, so the output never overtakes the body bytes still to be read.
constexpr size_t kFrameBodyAt = 2 + kMaxBody / 254;             // 6
constexpr size_t kFramePayloadAt = kFrameBodyAt + kHeaderBytes;  // where a reply's payload goes
static_assert(kFrameBodyAt + kMaxBody <= kMaxFrame, "in-place frame buffer");

uint32_t crc32(const uint8_t *data, size_t len, uint32_t crc = 0);  // == zlib.crc32
// COBS (canonical: no trailing 0x01 code after a final full 254-byte block, like
// bedside/contract/protocol.py). encode: out needs len + len/254 + 1 bytes; returns bytes
// written (no delimiter). out may also lie before in, at least 2 + len/254 bytes before
// it (the in-place case): every output byte is written after the input bytes it covers
// have been read.
size_t cobs_encode(const uint8_t *in, size_t len, uint8_t *out);
// decode: returns bytes written, or -1 if the input is not valid COBS (or out is too small).
long cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap);

// Build a whole frame (COBS(body) 0x00) into out (kMaxFrame bytes, or frame_bytes(len));
// returns its size, or 0 if the payload is longer than kMaxPayload.
size_t frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                    uint8_t *out);
// The same for a payload already at frame + kFramePayloadAt (frame: kMaxFrame bytes);
// the frame replaces it, from frame[0].
size_t frame_encode_in_place(uint8_t type, uint16_t seq, size_t len, uint8_t *frame);

struct Frame {
  uint8_t version, type;
  uint16_t seq;
  const uint8_t *payload;  // points into the decoder's body buffer
  uint16_t length;
  uint32_t crc;            // CRC of the received body (identifies a retransmission)
};

struct Nak {
  uint8_t code;
  uint16_t detail;
  uint16_t seq;
};

enum class RxEvent { kNone, kFrame, kNak };

// Receive state: the body decoded so far from the COBS bytes since the last 0x00.
struct Decoder {
  uint8_t body[kMaxBody];
  size_t n;         // COBS bytes since the last 0x00
  size_t size;      // body bytes decoded (counted on past kMaxBody, to report the size)
  uint8_t left;     // data bytes left in the current COBS block
  bool zero;        // the current block stands for a 0x00 if another block follows
  bool overflow;    // more than kMaxEncoded - 1 COBS bytes: TOO_LONG at the 0x00
};

void decoder_reset(Decoder *d);
// Feed one received byte. On a 0x00 that ends a frame, returns kFrame (frame filled,
// valid until the next push) or kNak (nak filled: too long, bad length, bad CRC; a
// frame that is not valid COBS is BAD_LENGTH with detail 0).
// An empty frame (0x00 0x00) is ignored, so a host may send 0x00 to flush garbage.
RxEvent decoder_push(Decoder *d, uint8_t byte, Frame *frame, Nak *nak);

// Which requests exist and what payload they carry, given the model's dimensions.
// Returns true if the request is well formed; else fills nak (bad version, unknown type,
// bad payload) with the frame's seq.
bool request_check(const Frame &f, int n_signals, int input_bytes, Nak *nak);

inline void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
inline void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
inline uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

}  // namespace bedside

#endif  // BEDSIDE_CORE_PROTOCOL_H_
