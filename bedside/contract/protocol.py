"""The serial protocol (docs/protocol.md, version 2): spec and codec, COBS, CRC-32, messages.

The message types, NAK codes, sizes and record layouts are defined here once;
`bedside.protocol_header` generates them into `firmware/core/protocol_spec.h`, which
the firmware's C codec (`firmware/core/protocol.{h,cc}`) and `app.cc` use. The codecs are
tested against each other with `tests/data/protocol_vectors.json`. Pure Python + numpy.

COBS detail the C codec must match: the canonical encoding (Cheshire & Baker) emits no
trailing 0x01 code when the body ends with a full 254-byte block; decoders accept both.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

VERSION = 2               # 2: per-sample safety-floor records in SAMPLES_ACK, FLOOR
HEADER = struct.Struct("<BBHH")         # version, type, seq, payload length
HEADER_BYTES = HEADER.size              # 6
CRC_BYTES = 4
MAX_PAYLOAD = 1024
MIN_BODY = HEADER_BYTES + CRC_BYTES                      # 10
MAX_BODY = MIN_BODY + MAX_PAYLOAD                        # 1034
MAX_ENCODED = 2 + MAX_BODY + MAX_BODY // 254             # receive buffer, delimiter included
UNTRUSTED_SEQ = 0xFFFF

# Payload layouts (little-endian). A RESULT record is RESULT followed by the output tensor.
RESULT = struct.Struct("<IIIBB")        # window_index, sample_index, cycles, alarm, flags
RESULT_HEADER_BYTES = RESULT.size       # 14
RESULT_FLAG_CALIBRATED = 1 << 0         # personalization calibrated
RESULT_FLAG_MODEL_ERROR = 1 << 1        # the backend reported an error
RESULT_FLAG_QUALITY = 1 << 2            # a required signal is stale (contract/safety.py)
RESULT_REASON_SHIFT = 4                 # bits 4-7: safety-floor rule number, 0 = none
RESULTS_HEAD = struct.Struct("<IBB")    # SAMPLES_ACK / SIMULATE_RESULT: samples_total,
                                        # n_results, n_floor; then n_floor floor records,
                                        # then n_results RESULT records
FLOOR_RECORD = struct.Struct("<BB")     # per sample: flags (bit 2, bits 4-7 as RESULT),
FLOOR_RECORD_BYTES = FLOOR_RECORD.size  # cause (bits 0-3 signal, 4-5 kind; safety.py)
FLOOR_EVENT = struct.Struct("<IBB")     # FLOOR: sample_index, flags, cause; then raw sample
SIMULATE_REQUEST = struct.Struct("<IIB")   # n_samples, seed, deteriorate
CALIB_HEAD = struct.Struct("<BII")      # calibrated, samples, calib_samples; then 2 x C x i16
NAK = struct.Struct("<BH")              # code, detail
INFO_PART = struct.Struct("<BB")        # HELLO with a part byte -> INFO: part, parts; then
INFO_PART_BYTES = 12                    # this many bytes of the INFO payload (noisy links)
INFER_HEAD = struct.Struct("<I")        # INFER_RESULT: cycles; then the output tensor
STATS_FIELDS = ("frames_ok", "frames_bad_crc", "frames_bad_length", "frames_unknown_type",
                "frames_bad_version", "frames_too_long", "samples_total", "windows_total",
                "cycles_max", "cycles_last")
STATS = struct.Struct(f"<{len(STATS_FIELDS)}I")


class MsgType(IntEnum):
    HELLO = 0x01
    INFO = 0x81
    RESET = 0x02
    ACK = 0x82
    SAMPLES = 0x03
    SAMPLES_ACK = 0x83
    INFER = 0x04
    INFER_RESULT = 0x84
    STATS = 0x05
    STATS_RESULT = 0x85
    SIMULATE = 0x06
    SIMULATE_RESULT = 0x86
    CALIB = 0x07               # personalization state (docs/personalization.md)
    CALIB_RESULT = 0x87
    EVENT = 0x88               # unsolicited, seq 0xFFFF: stand-alone mode, one per window
    FLOOR = 0x89               # unsolicited, seq 0xFFFF: stand-alone, the floor record changed
    NAK = 0x7F


class NakCode(IntEnum):
    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_TYPE = 3
    BAD_VERSION = 4
    TOO_LONG = 5
    BAD_PAYLOAD = 6
    BUSY = 7


class ProtocolError(ValueError):
    """A payload that does not parse as the message it claims to be."""


@dataclass(frozen=True)
class FrameError:
    """A frame the decoder dropped, with the NAK a device would answer (code, detail, seq)."""
    code: NakCode
    detail: int = 0
    seq: int = UNTRUSTED_SEQ


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""
    version: int = VERSION

    @property
    def name(self) -> str:
        try:
            return MsgType(self.type).name
        except ValueError:
            return f"0x{self.type:02x}"


# ---------------------------------------------------------------- COBS and bodies

def cobs_encode(data: bytes) -> bytes:
    """COBS-encode `data` (result holds no 0x00; the delimiter is not appended)."""
    out = bytearray()
    chunks = bytes(data).split(b"\x00")
    for i, chunk in enumerate(chunks):
        pos = 0
        while len(chunk) - pos >= 254:
            out.append(0xFF)
            out += chunk[pos:pos + 254]
            pos += 254
        rest = len(chunk) - pos
        if i == len(chunks) - 1 and rest == 0 and len(chunk) > 0:
            break                       # canonical: no trailing 0x01 after a full block
        out.append(rest + 1)
        out += chunk[pos:]
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of cobs_encode; raises ProtocolError on a zero byte or a code past the end."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise ProtocolError(f"COBS: zero byte at offset {i}")
        end = i + code
        if end > n:
            raise ProtocolError(f"COBS: code {code} at offset {i} runs past the end ({n} bytes)")
        block = data[i + 1:end]
        if 0 in block:
            raise ProtocolError(f"COBS: zero byte inside block at offset {i}")
        out += block
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode_body(frame: Frame) -> bytes:
    payload = bytes(frame.payload)
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds MAX_PAYLOAD {MAX_PAYLOAD}")
    head = HEADER.pack(frame.version, frame.type, frame.seq & 0xFFFF, len(payload))
    body = head + payload
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_frame(frame: Frame) -> bytes:
    """Wire bytes of a frame: COBS(body) + 0x00."""
    return cobs_encode(encode_body(frame)) + b"\x00"


def decode_body(body: bytes) -> Frame | FrameError:
    """Check one decoded body (length, CRC, version) as the device does."""
    n = len(body)
    if n < MIN_BODY or n > MAX_BODY:
        return FrameError(NakCode.BAD_LENGTH, min(n, 0xFFFF))
    version, mtype, seq, length = HEADER.unpack_from(body)
    if HEADER_BYTES + length + CRC_BYTES != n:
        return FrameError(NakCode.BAD_LENGTH, n)
    (crc,) = struct.unpack_from("<I", body, n - CRC_BYTES)
    if zlib.crc32(body[:n - CRC_BYTES]) & 0xFFFFFFFF != crc:
        return FrameError(NakCode.BAD_CRC, 0)
    if version != VERSION:
        return FrameError(NakCode.BAD_VERSION, version, seq)
    return Frame(mtype, seq, bytes(body[HEADER_BYTES:n - CRC_BYTES]), version)


def decode_frame(encoded: bytes) -> Frame | FrameError:
    """Decode one frame's wire bytes (with or without its trailing 0x00)."""
    if encoded.endswith(b"\x00"):
        encoded = encoded[:-1]
    if len(encoded) + 1 > MAX_ENCODED:
        return FrameError(NakCode.TOO_LONG, 0)
    try:
        body = cobs_decode(encoded)
    except ProtocolError:
        return FrameError(NakCode.BAD_LENGTH, 0)
    return decode_body(body)


class FrameDecoder:
    """Streaming decoder: feed it any bytes, get frames and errors; resyncs on 0x00.

    Empty frames (0x00 0x00) are ignored, so a sender may emit a lone 0x00 to flush a
    receiver's partial frame.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._overflow = False
        self.frames_ok = 0
        self.errors = 0

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        events: list[Frame | FrameError] = []
        start = 0
        while True:
            zero = data.find(b"\x00", start)
            part = data[start:] if zero < 0 else data[start:zero]
            if not self._overflow:
                self._buf += part
                if len(self._buf) + 1 > MAX_ENCODED:
                    self._overflow = True
                    self._buf.clear()
            if zero < 0:
                return events
            event = None
            if self._overflow:
                event = FrameError(NakCode.TOO_LONG, 0)
            elif self._buf:
                event = decode_frame(bytes(self._buf))
            if event is not None:
                events.append(event)
                if isinstance(event, Frame):
                    self.frames_ok += 1
                else:
                    self.errors += 1
            self._buf.clear()
            self._overflow = False
            start = zero + 1


# ---------------------------------------------------------------- payloads (host -> device)

def max_samples_per_frame(n_signals: int) -> int:
    return min(255, (MAX_PAYLOAD - 1) // (2 * n_signals))


def samples_payload(samples: np.ndarray) -> bytes:
    """SAMPLES payload: count u8 + count x n_signals int16 little-endian."""
    samples = np.asarray(samples)
    if samples.ndim != 2:
        raise ProtocolError(f"samples must be [count, n_signals], got shape {samples.shape}")
    if len(samples) > max_samples_per_frame(samples.shape[1]):
        raise ProtocolError(f"{len(samples)} samples do not fit one SAMPLES frame")
    return bytes([len(samples)]) + samples.astype("<i2").tobytes()


def simulate_payload(n_samples: int, seed: int, deteriorate: bool) -> bytes:
    return SIMULATE_REQUEST.pack(n_samples, seed, 1 if deteriorate else 0)


def infer_payload(window: np.ndarray) -> bytes:
    return np.ascontiguousarray(window, dtype=np.int8).tobytes()


# ---------------------------------------------------------------- payloads (device -> host)

@dataclass(frozen=True)
class Info:
    protocol_version: int
    gen_format: int
    backend: int
    board: str
    core_clock_hz: int
    model_sha256: bytes
    preproc_sha256: bytes
    n_signals: int
    window_length: int
    stride: int
    input_bytes: int
    output_bytes: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    arena_bytes: int
    held_sha256: bytes      # SHA-256 the device computed over the model and constants it holds
    build_id: bytes         # 8 bytes: the build `bedside build` compiled in (0 otherwise)
    model_format: int       # generated engine format (0: tflm)

    @property
    def backend_name(self) -> str:
        return {0: "compiled", 1: "tflm"}.get(self.backend, f"unknown({self.backend})")

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["model_sha256"] = self.model_sha256.hex()
        d["preproc_sha256"] = self.preproc_sha256.hex()
        d["held_sha256"] = self.held_sha256.hex()
        d["build_id"] = self.build_id.hex()
        d["backend_name"] = self.backend_name
        return d


_INFO_HEAD = struct.Struct("<BBBB")
_INFO_TAIL = struct.Struct("<I32s32sBHHHHfifiI")
_INFO_BUILD = struct.Struct("<32s8sB")         # held_sha256, build_id, model_format
INFO_BYTES_MAX = _INFO_HEAD.size + 32 + _INFO_TAIL.size + _INFO_BUILD.size
# INFO of older firmware ended before the build block (without build_id and model_format,
# or without held_sha256 too): what it holds cannot be checked, so it is refused unread
_OLDER_INFO_TAILS = {_INFO_BUILD.size - 9: "without build_id and model_format",
                     0: "without held_sha256, build_id and model_format"}


class OlderInfoError(ProtocolError):
    """An INFO of firmware older than held_sha256 over the model (refused: exit 7)."""


def parse_info(payload: bytes) -> Info:
    if len(payload) < _INFO_HEAD.size:
        raise ProtocolError(f"INFO payload of {len(payload)} bytes is too short")
    proto, gen, backend, board_len = _INFO_HEAD.unpack_from(payload)
    off = _INFO_HEAD.size + board_len
    end = off + _INFO_TAIL.size
    extra = len(payload) - end
    want = end + _INFO_BUILD.size
    if extra in _OLDER_INFO_TAILS:
        raise OlderInfoError(f"the device's INFO ends {_OLDER_INFO_TAILS[extra]} "
                             f"({len(payload)} bytes, this kit's firmware sends {want}): its "
                             "firmware predates held_sha256 over the model, so what it holds "
                             "cannot be checked; rebuild and flash it (`bedside build RUN_DIR`)")
    if extra != _INFO_BUILD.size:
        raise ProtocolError(f"INFO payload is {len(payload)} bytes; board name of {board_len} "
                            f"bytes implies {want}")
    board = payload[_INFO_HEAD.size:off].decode("ascii", errors="replace")
    return Info(proto, gen, backend, board, *_INFO_TAIL.unpack_from(payload, off),
                *_INFO_BUILD.unpack_from(payload, end))


def parse_info_part(payload: bytes) -> tuple[int, int, bytes]:
    """INFO reply to a HELLO with a part byte -> (part, parts, bytes of the INFO payload)."""
    if len(payload) < INFO_PART.size or len(payload) > INFO_PART.size + INFO_PART_BYTES:
        raise ProtocolError(f"INFO part payload of {len(payload)} bytes (expected "
                            f"{INFO_PART.size} + at most {INFO_PART_BYTES})")
    part, parts = INFO_PART.unpack_from(payload)
    if part >= parts:
        raise ProtocolError(f"INFO part {part} of {parts}")
    return part, parts, bytes(payload[INFO_PART.size:])


def info_payload(info: Info) -> bytes:
    board = info.board.encode("ascii")
    return (_INFO_HEAD.pack(info.protocol_version, info.gen_format, info.backend, len(board))
            + board + _INFO_TAIL.pack(
                info.core_clock_hz, info.model_sha256, info.preproc_sha256, info.n_signals,
                info.window_length, info.stride, info.input_bytes, info.output_bytes,
                info.input_scale, info.input_zero_point, info.output_scale,
                info.output_zero_point, info.arena_bytes)
            + _INFO_BUILD.pack(info.held_sha256, info.build_id, info.model_format))


@dataclass(frozen=True)
class Result:
    window_index: int
    sample_index: int
    cycles: int
    alarm: int
    flags: int
    output: bytes = field(repr=False)

    @property
    def output_q(self) -> np.ndarray:
        return np.frombuffer(self.output, dtype=np.int8)


def parse_samples_ack(payload: bytes, output_bytes: int) -> tuple[int, np.ndarray, list[Result]]:
    """SAMPLES_ACK / SIMULATE_RESULT payload -> (samples_total, floor records uint8
    [n_floor, 2] (flags, cause), results)."""
    head = RESULTS_HEAD.size
    if len(payload) < head:
        raise ProtocolError(f"SAMPLES_ACK payload of {len(payload)} bytes is too short")
    samples_total, n, n_floor = RESULTS_HEAD.unpack_from(payload)
    rec = RESULT_HEADER_BYTES + output_bytes
    start = head + n_floor * FLOOR_RECORD_BYTES
    if len(payload) != start + n * rec:
        raise ProtocolError(f"SAMPLES_ACK with {n_floor} floor records and {n} results of "
                            f"{rec} bytes should be {start + n * rec} bytes, got {len(payload)}")
    floor = np.frombuffer(payload, np.uint8, n_floor * FLOOR_RECORD_BYTES, head)
    results = []
    for i in range(n):
        off = start + i * rec
        w, s, c, a, f = RESULT.unpack_from(payload, off)
        results.append(Result(w, s, c, a, f,
                              bytes(payload[off + RESULT_HEADER_BYTES:off + rec])))
    return samples_total, floor.reshape(n_floor, FLOOR_RECORD_BYTES).copy(), results


def parse_results(payload: bytes, output_bytes: int) -> tuple[int, list[Result]]:
    """SAMPLES_ACK / SIMULATE_RESULT payload -> (samples_total, results)."""
    total, _, results = parse_samples_ack(payload, output_bytes)
    return total, results


def results_payload(samples_total: int, results: list[Result],
                    floor: np.ndarray | None = None) -> bytes:
    floor = np.zeros((0, FLOOR_RECORD_BYTES), np.uint8) if floor is None else np.asarray(floor)
    out = bytearray(RESULTS_HEAD.pack(samples_total, len(results), len(floor)))
    out += floor.astype(np.uint8).tobytes()
    for r in results:
        out += RESULT.pack(r.window_index, r.sample_index, r.cycles, r.alarm, r.flags)
        out += r.output
    return bytes(out)


def parse_floor_event(payload: bytes, n_signals: int) -> tuple[int, int, int, np.ndarray]:
    """FLOOR payload -> (sample_index, flags, cause, raw sample [n_signals] int16)."""
    if len(payload) != FLOOR_EVENT.size + 2 * n_signals:
        raise ProtocolError(f"FLOOR payload is {len(payload)} bytes, expected "
                            f"{FLOOR_EVENT.size + 2 * n_signals}")
    s, f, c = FLOOR_EVENT.unpack_from(payload)
    raw = np.frombuffer(payload, "<i2", n_signals, FLOOR_EVENT.size).astype(np.int16)
    return s, f, c, raw


def floor_event_payload(sample_index: int, flags: int, cause: int, raw: np.ndarray) -> bytes:
    return FLOOR_EVENT.pack(sample_index, flags, cause) + np.asarray(raw).astype("<i2").tobytes()


def parse_infer_result(payload: bytes, output_bytes: int) -> tuple[int, bytes]:
    if len(payload) != INFER_HEAD.size + output_bytes:
        raise ProtocolError(f"INFER_RESULT payload is {len(payload)} bytes, "
                            f"expected {INFER_HEAD.size + output_bytes}")
    return INFER_HEAD.unpack_from(payload)[0], bytes(payload[INFER_HEAD.size:])


def parse_stats(payload: bytes) -> dict[str, int]:
    if len(payload) != STATS.size:
        raise ProtocolError(f"STATS_RESULT payload is {len(payload)} bytes, expected {STATS.size}")
    return dict(zip(STATS_FIELDS, STATS.unpack(payload)))


def parse_calib(payload: bytes, n_signals: int) -> dict:
    """CALIB_RESULT -> {calibrated, samples, calib_samples, baseline[C], center[C]}
    (baseline MISSING = none settled for that signal; calib_samples 0 = feature off)."""
    if len(payload) != CALIB_HEAD.size + 4 * n_signals:
        raise ProtocolError(f"CALIB_RESULT payload is {len(payload)} bytes, expected "
                            f"{CALIB_HEAD.size + 4 * n_signals}")
    calibrated, samples, calib = CALIB_HEAD.unpack_from(payload)
    vals = struct.unpack_from(f"<{2 * n_signals}h", payload, CALIB_HEAD.size)
    return {"calibrated": bool(calibrated), "samples": samples, "calib_samples": calib,
            "baseline": list(vals[:n_signals]), "center": list(vals[n_signals:])}


def parse_event(payload: bytes, output_bytes: int, n_signals: int) -> tuple[Result, np.ndarray]:
    """EVENT payload -> (the window's RESULT record, its last raw sample [n_signals] int16)."""
    rec = RESULT_HEADER_BYTES + output_bytes
    if len(payload) != rec + 2 * n_signals:
        raise ProtocolError(f"EVENT payload is {len(payload)} bytes, expected {rec + 2 * n_signals} "
                            f"(record of {rec} + {n_signals} x i16 raw sample)")
    w, s, c, a, f = RESULT.unpack_from(payload)
    raw = np.frombuffer(payload, dtype="<i2", count=n_signals, offset=rec).astype(np.int16)
    return Result(w, s, c, a, f, bytes(payload[RESULT_HEADER_BYTES:rec])), raw


def event_payload(result: Result, raw: np.ndarray) -> bytes:
    return (RESULT.pack(result.window_index, result.sample_index, result.cycles, result.alarm,
                         result.flags) + result.output
            + np.asarray(raw).astype("<i2").tobytes())


def stats_payload(stats: dict[str, int]) -> bytes:
    return STATS.pack(*(stats[k] for k in STATS_FIELDS))


def parse_nak(payload: bytes) -> tuple[NakCode | int, int]:
    if len(payload) != NAK.size:
        raise ProtocolError(f"NAK payload is {len(payload)} bytes, expected {NAK.size}")
    code, detail = NAK.unpack(payload)
    try:
        return NakCode(code), detail
    except ValueError:
        return code, detail


def nak_payload(code: int, detail: int) -> bytes:
    return NAK.pack(code, detail)
