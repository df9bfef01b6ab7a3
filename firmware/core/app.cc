// The bedside loop and the device side of the serial protocol (see app.h, docs/protocol.md).
//
// The only file of the core that reads the generated model_config.h: it turns the
// manifest constants into the configs of the portable pieces. All state is static.
#include "app.h"

#include <string.h>

#include "alarm.h"
#include "model_config.h"
#include "gen_format.h"  // after model_config.h: checks BEDSIDE_GEN_FORMAT
#include "model_runner.h"
#include "port.h"
#include "preprocess.h"
#include "protocol.h"
#include "sha256.h"
#include "safety.h"
#include "simulator.h"
#include "window.h"

namespace bedside {

namespace g = bedside_gen;

static_assert(g::kNumSignals >= 1 && g::kNumSignals <= kMaxSignals,
              "too many signals for this build (BEDSIDE_MAX_SIGNALS)");
static_assert(g::kInputBytes == g::kWindowLength * g::kNumSignals,
              "the sensing loop feeds an int8 [1, L, C] input tensor (float-interface models: "
              "use INFER only)");
static_assert(g::kOutputBytes >= 1, "model without output");

namespace {

#ifndef BEDSIDE_BUILD_ID
#define BEDSIDE_BUILD_ID 0  // not built by `bedside build`
#endif
constexpr uint64_t kBuildId = (uint64_t)BEDSIDE_BUILD_ID;

constexpr size_t kRecordBytes = kResultHeaderBytes + (size_t)g::kOutputBytes;
constexpr size_t kResultsHeader = kResultsHeadBytes;
// SAMPLES_ACK: the floor records of a full SAMPLES frame come before the RESULT records
constexpr size_t kMaxFrameSamples = (kMaxPayload - 1) / (2 * (size_t)g::kNumSignals) < 255
                                        ? (kMaxPayload - 1) / (2 * (size_t)g::kNumSignals) : 255;
constexpr size_t kMaxRecords =
    (kMaxPayload - kResultsHeader - kMaxFrameSamples * kFloorRecordBytes) / kRecordBytes;
constexpr size_t kFloorEventBytes = kFloorEventHeadBytes + 2 * (size_t)g::kNumSignals;
constexpr size_t kEventBytes = kRecordBytes + 2 * (size_t)g::kNumSignals;  // record + raw sample
static_assert(kEventBytes <= kMaxPayload, "EVENT payload too large");
constexpr size_t kMaxSimRecords = (kMaxPayload - kResultsHeader) / kRecordBytes;  // no floor
constexpr size_t kSimKeep = kMaxSimRecords < 64 ? kMaxSimRecords : 64;  // SIMULATE keeps the last 64
static_assert(kMaxRecords >= 1, "output tensor too large for one RESULT record");
// Frames that are never cached (NAK, ACK, EVENT, FLOOR) are encoded apart from the cached reply.
constexpr size_t kSmallPayload = kEventBytes > kNakBytes ? kEventBytes : kNakBytes;
static_assert(kFloorEventBytes <= kSmallPayload, "FLOOR payload larger than an EVENT's");

const PreprocConfig kPreproc = {g::kNumSignals, g::kMissingValue, g::kFixedPointShift,
                                g::kCenter, g::kMultiplier, g::kValidMin, g::kValidMax,
                                g::kCarryLimit};

// Personalization settings from the generated header; a header generated before the
// feature (or from a manifest without it) leaves personalization off.
#if defined(BEDSIDE_GEN_PERSONALIZATION) && BEDSIDE_GEN_PERSONALIZATION
static_assert(g::kPersonalBlocks >= 1 && g::kPersonalBlocks <= kMaxBlocks,
              "personalization blocks: more than this build holds (BEDSIDE_MAX_BLOCKS)");
static_assert(g::kPersonalCalibSamples % g::kPersonalBlocks == 0, "calib_samples % blocks");
const PersonalConfig kPersonalStorage = {g::kPersonalCalibSamples, g::kPersonalBlocks,
                                         g::kPersonalBlockMinValid, g::kPersonalMinBlocks,
                                         g::kPersonalLimitLo, g::kPersonalLimitHi};
const PersonalConfig *const kPersonal = &kPersonalStorage;
constexpr uint32_t kCalibSamples = (uint32_t)g::kPersonalCalibSamples;
#else
const PersonalConfig *const kPersonal = nullptr;
constexpr uint32_t kCalibSamples = 0;  // reported as "personalization off"
#endif

// Safety floor from the generated header (absent: off).
#if defined(BEDSIDE_GEN_SAFETY) && BEDSIDE_GEN_SAFETY
static_assert(g::kSafetyRules <= kMaxSafetyRules, "too many safety rules");
const SafetyConfig kSafety = {g::kSafetyRules, g::kSafetySustain, g::kSafetySlowSustain,
                              g::kSafetyFrozen, g::kSafetySignal, g::kSafetyHigh,
                              g::kSafetyBound, g::kSafetyStep, g::kSafetyQuality,
                              g::kSafetyFrozenSignal, g::kSafetyStale,
#if defined(BEDSIDE_GEN_SAFETY_AGREE) && BEDSIDE_GEN_SAFETY_AGREE
                              g::kSafetyAgree, g::kSafetyAgreeBound,
#else
                              nullptr, nullptr,
#endif
                              g::kSafetyLookback,
#if defined(BEDSIDE_GEN_SAFETY_JUMP) && BEDSIDE_GEN_SAFETY_JUMP
                              g::kSafetyJump, g::kSafetyJumpBound,
#else
                              nullptr, nullptr,
#endif
                              g::kSafetyAfterGap,
#if defined(BEDSIDE_GEN_SAFETY_CLEAR) && BEDSIDE_GEN_SAFETY_CLEAR
                              g::kSafetyClear};
#else
                              nullptr};
#endif
#else
const SafetyConfig kSafety = {0, 1, 1, 1, nullptr, nullptr, nullptr, nullptr, nullptr,
                              nullptr, nullptr, nullptr, nullptr, 1, nullptr, nullptr, 0, nullptr};
#endif

struct Stats {
  uint32_t frames_ok, bad_crc, bad_length, unknown_type, bad_version, too_long;
  uint32_t samples_total, windows_total, cycles_max, cycles_last;
};

struct Cache {  // the last executed request and its reply frame (stop-and-wait retransmission)
  bool valid;
  uint16_t seq;
  uint32_t request_crc;
  size_t frame_bytes;  // the reply, encoded, in g_frame: a retransmission gets the same bytes
};

AppOptions g_opt;
bool g_model_ok;
Preprocessor g_pre;
Personalizer g_pers;
int8_t g_window_storage[g::kWindowLength * g::kNumSignals];  // oldest sample first: the model input
Window g_window;
Alarm g_alarm;
Safety g_safety;
bool g_led;  // model alarm or safety floor
FloorRecord g_floor;  // the last sample's floor record (stand-alone: FLOOR when it changes)
Simulator g_sim;
bool g_sim_started;
bool g_host_driven;  // a host feeds the loop: stand-alone feeding pauses (see host_drives)
uint32_t g_host_last_ms;
uint32_t g_last_sample_ms;
Stats g_stats;
Cache g_cache;
Decoder g_rx;
// The last reply: its payload is built at g_reply, then encoded in place into the frame
// that stays there as the cache. Uncached frames (NAK, ACK, EVENT) use g_small.
uint8_t g_frame[kMaxFrame];
uint8_t *const g_reply = g_frame + kFramePayloadAt;
uint8_t g_small[frame_bytes(kSmallPayload)];
uint8_t g_held[32];   // held_sha256 as of the last HELLO (INFO parts after the first reuse it)
int8_t g_output[g::kOutputBytes];

// An uncached frame: NAK, ACK, EVENT, FLOOR.
void send(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len) {
  if (len > kSmallPayload) return;  // unreachable: NAK, ACK, EVENT and FLOOR payloads only
  const size_t n = frame_encode(type, seq, payload, len, g_small);
  port_serial_write(g_small, (int)n);
}

// The reply to a request, from g_reply; kept in g_frame as the cached reply.
size_t send_reply(uint8_t type, uint16_t seq, size_t len) {
  const size_t n = frame_encode_in_place(type, seq, len, g_frame);
  port_serial_write(g_frame, (int)n);
  return n;
}

void send_nak(const Nak &nak) {
  uint8_t p[kNakBytes] = {nak.code, 0, 0};
  put_u16(p + 1, nak.detail);
  send(kNak, nak.seq, p, sizeof(p));
}

// INFO, written into p (kInfoMaxBytes); returns its size.
size_t build_info(uint8_t *const info) {
  uint8_t *p = info;
  *p++ = kProtocolVersion;
  *p++ = (uint8_t)BEDSIDE_FIRMWARE_GEN_FORMAT;
  *p++ = (uint8_t)model_backend();
  const char *board = port_board_name();
  size_t n = strlen(board);
  if (n > 32) n = 32;
  *p++ = (uint8_t)n;
  memcpy(p, board, n);
  p += n;
  put_u32(p, port_core_clock_hz()); p += 4;
  memcpy(p, g::kModelSha256, 32); p += 32;
  memcpy(p, g::kPreprocSha256, 32); p += 32;
  *p++ = (uint8_t)g::kNumSignals;
  put_u16(p, (uint16_t)g::kWindowLength); p += 2;
  put_u16(p, (uint16_t)g::kStride); p += 2;
  put_u16(p, (uint16_t)g::kInputBytes); p += 2;
  put_u16(p, (uint16_t)g::kOutputBytes); p += 2;
  uint32_t bits;
  const float in_scale = g::kInputScale, out_scale = g::kOutputScale;
  memcpy(&bits, &in_scale, 4); put_u32(p, bits); p += 4;
  put_u32(p, (uint32_t)g::kInputZeroPoint); p += 4;
  memcpy(&bits, &out_scale, 4); put_u32(p, bits); p += 4;
  put_u32(p, (uint32_t)g::kOutputZeroPoint); p += 4;
  put_u32(p, model_arena_bytes()); p += 4;
  memcpy(p, g_held, 32); p += 32;  // held_sha256
  // build_id: 8 bytes that `bedside build` derives from the sources, the generated model,
  // the compiler and its flags (host_tools/builder/firmware.py; 0 when built otherwise)
  put_u32(p, (uint32_t)(kBuildId & 0xFFFFFFFFu)); p += 4;
  put_u32(p, (uint32_t)(kBuildId >> 32)); p += 4;
  *p++ = (uint8_t)model_format();
  return (size_t)(p - info);
}

bool little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  memcpy(&first, &one, 1);
  return first == 1;
}

// Hashes what the backend visits as little-endian elements, whatever the target's order.
void held_visit(void *ctx, const void *data, unsigned elem_bytes, unsigned count) {
  Sha256 *s = static_cast<Sha256 *>(ctx);
  const uint8_t *p = static_cast<const uint8_t *>(data);
  if (elem_bytes <= 1 || little_endian()) {
    sha256_update(s, p, (size_t)elem_bytes * count);
    return;
  }
  for (unsigned k = 0; k < count; ++k, p += elem_bytes)
    for (unsigned b = elem_bytes; b-- > 0;) sha256_update(s, p + b, 1);
}

// The model's part of held_sha256: the SHA-256 of the bytes the backend runs (in its own
// frame, apart from the parameters' context, so the stack holds one context at a time).
__attribute__((noinline)) void held_model_sha256(uint8_t out[32]) {
  Sha256 m;
  sha256_init(&m);
  model_held(held_visit, &m);
  sha256_final(&m, out);
}

// held_sha256 (docs/protocol.md): SHA-256 of the parameters the loop runs with and of the
// model the backend runs, read from the objects they use, not copied from the header's
// label. At boot and on every HELLO. host_tools/verify/verifier.py held_sha256 is its mirror.
void held_params_sha256(uint8_t out[32]) {
  uint8_t model[32];
  held_model_sha256(model);
  Sha256 s;
  sha256_init(&s);
  const auto i32 = [&s](int32_t v) {
    uint8_t b[4];
    put_u32(b, (uint32_t)v);
    sha256_update(&s, b, 4);
  };
  const PreprocConfig &c = kPreproc;
  i32(c.n_signals); i32(g_window.length); i32(g_window.stride);
  i32(c.missing_value); i32(c.shift);
  const int32_t *const arrays[] = {c.center, c.multiplier, c.valid_min, c.valid_max,
                                   c.carry_limit};
  for (const int32_t *a : arrays)
    for (int k = 0; k < c.n_signals; ++k) i32(a[k]);
  i32(g_alarm.on_q); i32(g_alarm.off_q); i32(g_alarm.min_duration);
  const PersonalConfig *z = g_pers.cfg;  // personalization: 0 off, else 1 and its settings
  i32(z != nullptr);
  if (z != nullptr) {
    i32(z->calib_samples); i32(z->blocks); i32(z->block_min_valid); i32(z->min_blocks);
    for (int k = 0; k < c.n_signals; ++k) i32(z->limit_lo[k]);
    for (int k = 0; k < c.n_signals; ++k) i32(z->limit_hi[k]);
  }
  const SafetyConfig &f = *g_safety.cfg;  // safety floor: 0 off, else 1 and its rule table
  i32(f.quality != nullptr);
  if (f.quality != nullptr) {
    i32(f.rules); i32(f.sustain); i32(f.slow_sustain); i32(f.frozen);
    for (int r = 0; r < f.rules; ++r) {
      i32(f.signal[r]); i32(f.high[r]); i32(f.bound[r]); i32(f.step[r]);
    }
    for (int k = 0; k < c.n_signals; ++k) {
      i32(f.quality[k]); i32(f.frozen_signal[k]); i32(f.stale[k]);
    }
    if (f.agree != nullptr)  // agreement rules only when the floor has any
      for (int r = 0; r < f.rules; ++r) {
        i32(f.agree[r]); i32(f.agree_bound[r]);
      }
    i32(f.lookback);
    i32(f.after_gap);
    if (f.jump != nullptr)  // jump rules only when the floor has any
      for (int r = 0; r < f.rules; ++r) {
        i32(f.jump[r]); i32(f.jump_bound[r]);
      }
    if (f.clear != nullptr)  // deadbands only when the floor has any
      for (int r = 0; r < f.rules; ++r) i32(f.clear[r]);
  }
  i32(model_backend());  // the model: backend, then the SHA-256 of the bytes it runs
  sha256_update(&s, model, sizeof(model));
  sha256_final(&s, out);
}

// A request that feeds the loop: stand-alone feeding pauses until the host has been quiet
// for host_lease_ms. Requests that feed nothing (SAMPLES count 0, SIMULATE n 0, queries,
// malformed frames) never take the loop over, so a stray frame cannot silence the device.
void host_drives() {
  g_host_driven = true;
  g_host_last_ms = port_millis();
}

// INFO in parts of kInfoPartBytes, for links too noisy for the whole frame to survive.
// INFO is written where the reply goes, past the part header, and the part moved down.
size_t info_parts(size_t info_len) { return (info_len + kInfoPartBytes - 1) / kInfoPartBytes; }

bool info_part(uint8_t part, size_t *len, size_t *parts) {
  const size_t info_len = build_info(g_reply + kInfoPartHeadBytes);
  *parts = info_parts(info_len);
  if (part >= *parts) return false;
  const size_t start = part * kInfoPartBytes;
  const size_t n = info_len - start < kInfoPartBytes ? info_len - start : kInfoPartBytes;
  memmove(g_reply + kInfoPartHeadBytes, g_reply + kInfoPartHeadBytes + start, n);
  g_reply[0] = part;
  g_reply[1] = (uint8_t)*parts;
  *len = kInfoPartHeadBytes + n;
  return true;
}

void new_patient() {
  preprocess_reset(&g_pre);
  personal_reset(&g_pers);  // a new patient calibrates anew
  safety_reset(&g_safety, g::kMissingValue);
  g_floor = FloorRecord{0, 0};
  window_reset(&g_window);
  alarm_reset(&g_alarm);
  g_stats.samples_total = 0;
  g_sim_started = false;
  g_led = false;
  port_alarm_led(false);
}

// The alarm LED: the model's alarm or any safety-floor rule, at the sample it changes.
void update_led() {
  const bool led = g_alarm.active || (g_floor.flags >> kResultReasonShift) != 0;
  if (led != g_led) port_alarm_led(g_led = led);
}

// One raw sample through the loop: the safety floor first (its record in g_floor, and at
// floor when given), then, when a window ends, the model; if rec is given, the window's
// RESULT record is written there. Returns true when a window ended.
bool process_sample(const int16_t *raw, uint8_t *rec, uint8_t *floor = nullptr) {
  int8_t q[g::kNumSignals];
  personal_push(&g_pers, raw);
  preprocess_push_centered(&g_pre, raw, g_pers.center, q);
  g_floor = safety_push(&g_safety, kPreproc, raw);
  const uint8_t safety = g_floor.flags;
  if (floor != nullptr) { floor[0] = g_floor.flags; floor[1] = g_floor.cause; }
  update_led();
  const uint32_t sample_index = g_stats.samples_total++;
  if (!window_push(&g_window, q)) return false;
  uint32_t cycles = 0;  // the window's storage is the model input (oldest sample first)
  const bool ok = g_model_ok && model_run(window_data(&g_window), g_output, &cycles);
  if (!ok) memset(g_output, 0, sizeof(g_output));
  // The alarm reads output element 0: the Student's single risk output. The LED also
  // shows the safety floor, which does not depend on the model.
  const bool alarm = alarm_step(&g_alarm, g_output[0]);
  update_led();
  const uint32_t window_index = (sample_index + 1 - (uint32_t)g::kWindowLength) / (uint32_t)g::kStride;
  g_stats.windows_total += 1;
  g_stats.cycles_last = cycles;
  if (cycles > g_stats.cycles_max) g_stats.cycles_max = cycles;
  if (rec != nullptr) {
    put_u32(rec, window_index);
    put_u32(rec + 4, sample_index);
    put_u32(rec + 8, cycles);
    rec[12] = alarm ? 1 : 0;
    rec[13] = (uint8_t)((ok ? 0 : kResultFlagModelError) |
                        (g_pers.calibrated ? kResultFlagCalibrated : 0) | safety);
    memcpy(rec + kResultHeaderBytes, g_output, (size_t)g::kOutputBytes);
  }
  return true;
}

// Windows that end among the next n samples.
uint32_t windows_ahead(uint32_t n) {
  const uint32_t len = (uint32_t)g::kWindowLength, stride = (uint32_t)g::kStride;
  const uint32_t before = g_window.count, after = before + n;
  auto ended = [&](uint32_t count) { return count < len ? 0u : (count - len) / stride + 1u; };
  return ended(after) - ended(before);
}

size_t handle_samples(const uint8_t *payload, bool *nak_payload, uint16_t *max_samples) {
  const uint32_t count = payload[0];
  if (windows_ahead(count) > kMaxRecords) {  // the results would not fit one reply
    *nak_payload = true;
    *max_samples = (uint16_t)(kMaxRecords * (size_t)g::kStride);
    return 0;
  }
  uint8_t n_results = 0;
  int16_t raw[g::kNumSignals];
  uint8_t *const records = g_reply + kResultsHeader + count * kFloorRecordBytes;
  for (uint32_t s = 0; s < count; ++s) {
    const uint8_t *p = payload + 1 + s * 2 * g::kNumSignals;
    for (int i = 0; i < g::kNumSignals; ++i) raw[i] = (int16_t)get_u16(p + 2 * i);
    if (process_sample(raw, records + n_results * kRecordBytes,
                       g_reply + kResultsHeader + s * kFloorRecordBytes))
      ++n_results;
  }
  put_u32(g_reply, g_stats.samples_total);
  g_reply[4] = n_results;
  g_reply[5] = (uint8_t)count;  // one floor record per sample
  return kResultsHeader + count * kFloorRecordBytes + n_results * kRecordBytes;
}

// Rotates the n bytes at p left by k (three reversals: no second buffer).
void reverse(uint8_t *a, uint8_t *b) {
  while (a < b) {
    const uint8_t t = *a;
    *a++ = *--b;
    *b = t;
  }
}

void rotate_left(uint8_t *p, size_t n, size_t k) {
  reverse(p, p + k);
  reverse(p + k, p + n);
  reverse(p, p + n);
}

void sim_sample(int16_t *raw) {
  sim_next(&g_sim, raw, g::kNumSignals, g::kCenter, g::kMissingValue);
}

size_t handle_simulate(const uint8_t *payload) {
  const uint32_t n = get_u32(payload), seed = get_u32(payload + 4);
  const bool deteriorate = payload[8] != 0;
  // Continue the running simulated patient when asked for the same one, else start anew;
  // n = 0 feeds nothing, so it changes nothing (the stand-alone patient runs on as it was).
  if (n > 0 && (!g_sim_started || g_sim.seed != seed || g_sim.deteriorate != deteriorate)) {
    sim_start(&g_sim, seed, deteriorate);
    g_sim_started = true;
  }
  // The last kSimKeep records, in a ring where the reply's records go, put in order after.
  uint8_t *const ring = g_reply + kResultsHeader;
  uint32_t windows = 0;
  int16_t raw[g::kNumSignals];
  const uint32_t t0 = port_millis();
  for (uint32_t s = 0; s < n; ++s) {
    // Bounded: stop after the time budget; samples_total in the reply says how far it got.
    if (port_millis() - t0 >= kSimulateBudgetMs) break;
    sim_sample(raw);
    if (process_sample(raw, ring + (windows % kSimKeep) * kRecordBytes)) ++windows;
  }
  const uint32_t kept = windows < kSimKeep ? windows : (uint32_t)kSimKeep;
  if (windows > kSimKeep)  // oldest first: the ring's oldest record is at windows % kSimKeep
    rotate_left(ring, kSimKeep * kRecordBytes, (windows % kSimKeep) * kRecordBytes);
  put_u32(g_reply, g_stats.samples_total);
  g_reply[4] = (uint8_t)kept;
  g_reply[5] = 0;  // SIMULATE reports windows only, no floor records
  return kResultsHeader + kept * kRecordBytes;
}

// CALIB_RESULT: calibrated u8, samples u32 (counted towards calibration), calib_samples
// u32 (0: personalization off), n_signals x i16 baseline (missing: none settled),
// n_signals x i16 centre in use.
size_t handle_calib() {
  g_reply[0] = g_pers.calibrated ? 1 : 0;
  put_u32(g_reply + 1, g_pers.n);
  put_u32(g_reply + 5, kCalibSamples);
  uint8_t *p = g_reply + kCalibHeadBytes;
  for (int i = 0; i < g::kNumSignals; ++i, p += 2) put_u16(p, (uint16_t)(int16_t)g_pers.baseline[i]);
  for (int i = 0; i < g::kNumSignals; ++i, p += 2) put_u16(p, (uint16_t)(int16_t)g_pers.center[i]);
  return (size_t)(p - g_reply);
}

size_t handle_stats() {
  const uint32_t v[kStatsFields] = {g_stats.frames_ok, g_stats.bad_crc, g_stats.bad_length,
                          g_stats.unknown_type, g_stats.bad_version, g_stats.too_long,
                          g_stats.samples_total, g_stats.windows_total, g_stats.cycles_max,
                          g_stats.cycles_last};
  for (size_t i = 0; i < kStatsFields; ++i) put_u32(g_reply + 4 * i, v[i]);
  return 4 * kStatsFields;
}

void count_nak(const Nak &nak) {
  switch (nak.code) {
    case kNakBadCrc: g_stats.bad_crc++; break;
    case kNakBadLength: case kNakBadPayload: g_stats.bad_length++; break;
    case kNakUnknownType: g_stats.unknown_type++; break;
    case kNakBadVersion: g_stats.bad_version++; break;
    case kNakTooLong: g_stats.too_long++; break;
    default: break;
  }
}

void handle_frame(const Frame &f) {
  Nak nak;
  if (!request_check(f, g::kNumSignals, g::kInputBytes, &nak)) {
    count_nak(nak);
    send_nak(nak);
    return;
  }
  g_stats.frames_ok++;
  // A retransmission of the request just executed: send the same reply, do not execute.
  if (g_cache.valid && g_cache.seq == f.seq && g_cache.request_crc == f.crc) {
    port_serial_write(g_frame, (int)g_cache.frame_bytes);  // same type, seq and payload
    return;
  }
  g_cache.valid = false;
  uint8_t type = 0;
  size_t len = 0;
  switch (f.type) {
    case kHello:
      type = kInfo;
      // on request: what memory holds now (once per HELLO: whole, or its first part)
      if (f.length == 0 || f.payload[0] == 0) held_params_sha256(g_held);
      if (f.length == 0) {
        len = build_info(g_reply);
      } else {
        size_t parts = 0;
        if (!info_part(f.payload[0], &len, &parts)) {
          send_nak(Nak{kNakBadPayload, (uint16_t)parts, f.seq});
          return;
        }
      }
      break;
    case kReset:
      host_drives();
      new_patient();
      send(kAck, f.seq, nullptr, 0);  // not cached: a repeated RESET is harmless
      return;
    case kSamples: {
      if (f.payload[0] != 0) host_drives();
      bool bad = false;
      uint16_t max_samples = 0;
      type = kSamplesAck;
      len = handle_samples(f.payload, &bad, &max_samples);
      if (bad) {
        send_nak(Nak{kNakBadPayload, max_samples, f.seq});
        return;
      }
      break;
    }
    case kInfer: {
      uint32_t cycles = 0;
      const bool ok = g_model_ok && model_run((const int8_t *)f.payload, g_output, &cycles);
      if (!ok) {
        send_nak(Nak{kNakBusy, 0, f.seq});  // the backend failed: nothing to report
        return;
      }
      type = kInferResult;
      put_u32(g_reply, cycles);
      memcpy(g_reply + kInferHeadBytes, g_output, (size_t)g::kOutputBytes);
      len = kInferHeadBytes + (size_t)g::kOutputBytes;
      break;
    }
    case kStats:
      type = kStatsResult;
      len = handle_stats();
      break;
    case kCalib:
      type = kCalibResult;
      len = handle_calib();
      break;
    case kSimulate:
      if (get_u32(f.payload) != 0) host_drives();
      type = kSimulateResult;
      len = handle_simulate(f.payload);
      break;
    default:
      return;  // unreachable: request_check knows every type
  }
  g_cache = Cache{true, f.seq, f.crc, send_reply(type, f.seq, len)};
}

void standalone_step() {
  const uint32_t now = port_millis();
  if (g_host_driven) {
    if (now - g_host_last_ms < g_opt.host_lease_ms) return;
    g_host_driven = false;  // the host left: back to stand-alone, with a new patient
    new_patient();
  }
  if (now - g_last_sample_ms < g_opt.period_ms) return;
  g_last_sample_ms = now;
  int16_t raw[g::kNumSignals];
  if (g_opt.source == Source::kSimulator) {
    if (!g_sim_started) {
      sim_start(&g_sim, g_opt.sim_seed, g_opt.sim_deteriorate);
      g_sim_started = true;
    }
    sim_sample(raw);
  } else if (!port_sensor_read(raw, g::kNumSignals)) {
    return;
  }
  // EVENT (unsolicited, seq 0xFFFF): the window's RESULT record and the raw sample that
  // completed it, so a passive monitor can show vitals and risk; FLOOR: the sample's floor
  // record, whenever it differs from the previous sample's. Only here: host-driven
  // exchanges never see one, so stop-and-wait is untouched.
  uint8_t event[kEventBytes];
  const FloorRecord before = g_floor;
  const uint32_t sample_index = g_stats.samples_total;
  const bool ended = process_sample(raw, event);
  if (g_floor.flags != before.flags || g_floor.cause != before.cause) {
    uint8_t fe[kFloorEventBytes];
    put_u32(fe, sample_index);
    fe[4] = g_floor.flags;
    fe[5] = g_floor.cause;
    for (int i = 0; i < g::kNumSignals; ++i) put_u16(fe + kFloorEventHeadBytes + 2 * i, (uint16_t)raw[i]);
    send(kFloor, kSeqUntrusted, fe, kFloorEventBytes);
  }
  if (!ended) return;
  for (int i = 0; i < g::kNumSignals; ++i) put_u16(event + kRecordBytes + 2 * i, (uint16_t)raw[i]);
  send(kEvent, kSeqUntrusted, event, kEventBytes);
}

}  // namespace

bool app_setup(const AppOptions &options) {
  g_opt = options;
  memset(&g_stats, 0, sizeof(g_stats));
  g_cache.valid = false;
  g_host_driven = false;
  decoder_reset(&g_rx);
  preprocess_init(&g_pre, &kPreproc);
  personal_init(&g_pers, &kPreproc, kPersonal);
  safety_init(&g_safety, &kSafety, g::kMissingValue);
  window_init(&g_window, g_window_storage, g::kWindowLength, g::kNumSignals, g::kStride);
  alarm_init(&g_alarm, g::kAlarmOnQ, g::kAlarmOffQ, g::kAlarmMinDuration);
  g_model_ok = model_init();
  held_params_sha256(g_held);
  new_patient();
  g_last_sample_ms = port_millis();
  return g_model_ok;
}

void app_poll() {
  uint8_t buf[64];
  const int n = port_serial_read(buf, (int)sizeof(buf));
  for (int i = 0; i < n; ++i) {
    Frame frame;
    Nak nak;
    switch (decoder_push(&g_rx, buf[i], &frame, &nak)) {
      case RxEvent::kFrame: handle_frame(frame); break;
      case RxEvent::kNak: count_nak(nak); send_nak(nak); break;
      case RxEvent::kNone: break;
    }
  }
  if (g_opt.source != Source::kHost) standalone_step();
  if (n == 0) port_idle();
}

void app_link_reset() {
  decoder_reset(&g_rx);
  g_cache.valid = false;
}

}  // namespace bedside
