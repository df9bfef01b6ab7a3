"""Generator of the shared protocol test vectors (tests/data/protocol_vectors.json).

    python -m bedside.host_tools.link.protocol_vectors > tests/data/protocol_vectors.json

`frames`: a body (version, type, seq, payload hex, plus parsed `fields` where the
payload is structured) and its exact `body` and `wire` bytes (hex). `decode_errors`: wire
bytes a receiver must drop, with the NAK (code, detail, seq) a device answers. Both the C
codec test (firmware) and tests/test_protocol.py read this file; a test checks that it
equals this generator's output.
"""
from __future__ import annotations

import json
import struct
import sys
import zlib

import numpy as np

from bedside.contract import protocol as p

GENERATOR = "bedside.host_tools.link.protocol_vectors"


def _frame(name: str, mtype: int, seq: int, payload: bytes, fields: dict | None = None,
           note: str = "", version: int = p.VERSION) -> dict:
    f = p.Frame(mtype, seq, payload, version)
    body = p.encode_body(f)
    return {"name": name, "note": note, "version": version, "type": mtype, "seq": seq,
            "payload": payload.hex(), "fields": fields or {}, "body": body.hex(),
            "wire": p.encode_frame(f).hex()}


def _info() -> p.Info:
    return p.Info(1, 1, 0, "mps2-an386", 25_000_000, bytes(range(32)),
                  bytes(range(0xE0, 0x100)), 7, 60, 5, 420, 1, 1 / 32, 0, 1 / 256, -128, 9216,
                  bytes(range(0x40, 0x60)), bytes(range(0xA0, 0xA8)), 1)


def frames() -> list[dict]:
    rng = np.random.default_rng(6)
    out = [
        _frame("hello", p.MsgType.HELLO, 1, b""),
        _frame("hello_seq_0", p.MsgType.HELLO, 0, b"", note="seq 0 gives a zero in the body"),
        _frame("reset", p.MsgType.RESET, 0x1234, b""),
        _frame("ack", p.MsgType.ACK, 0x1234, b""),
        _frame("stats", p.MsgType.STATS, 0xFFFE, b""),
    ]
    info = _info()
    out.append(_frame("info", p.MsgType.INFO, 1, p.info_payload(info), info.as_dict()))
    samples = np.array([[80, 120, 65, 82, 97, 18, 370],
                        [-32768, 0, 255, 256, -1, 18, 371]], dtype=np.int16)
    out.append(_frame("samples_2", p.MsgType.SAMPLES, 2, p.samples_payload(samples),
                      {"samples": samples.tolist()}, "payload with zeros and MISSING"))
    n = p.max_samples_per_frame(7)
    big = rng.integers(-300, 300, size=(n, 7)).astype(np.int16)
    out.append(_frame("samples_max", p.MsgType.SAMPLES, 3, p.samples_payload(big),
                      {"samples": big.tolist()}, f"{n} samples: the most one frame holds"))
    res = [p.Result(0, 59, 123456, 0, 0, bytes([0x85])),
           p.Result(1, 64, 0x01000000, 1, 1, bytes([0x7F]))]
    floor = np.array([[0, 0], [0x04, 0x14], [0x54, 0x14], [0x50, 0], [0x10, 0]], np.uint8)
    out.append(_frame("samples_ack_2", p.MsgType.SAMPLES_ACK, 3,
                      p.results_payload(65, res, floor),
                      {"samples_total": 65, "floor": floor.tolist(), "results": [
                          {"window_index": r.window_index, "sample_index": r.sample_index,
                           "cycles": r.cycles, "alarm": r.alarm, "flags": r.flags,
                           "output": list(r.output_q.tolist())} for r in res]}))
    out.append(_frame("samples_ack_0", p.MsgType.SAMPLES_ACK, 4, p.results_payload(10, []),
                      {"samples_total": 10, "results": []}))
    window = rng.integers(-128, 128, size=(60, 7)).astype(np.int8)
    out.append(_frame("infer", p.MsgType.INFER, 5, p.infer_payload(window),
                      {"window": window.tolist()}))
    out.append(_frame("infer_result", p.MsgType.INFER_RESULT, 5,
                      struct.pack("<I", 4242) + bytes([0xF0]), {"cycles": 4242, "output": [-16]}))
    stats = dict(zip(p.STATS_FIELDS, [10, 1, 2, 3, 4, 5, 600, 109, 99999, 98765]))
    out.append(_frame("stats_result", p.MsgType.STATS_RESULT, 6, p.stats_payload(stats), stats))
    out.append(_frame("simulate", p.MsgType.SIMULATE, 7, p.simulate_payload(1440, 42, True),
                      {"n_samples": 1440, "seed": 42, "deteriorate": 1}))
    fl_raw = np.array([80, 60, 30, 40, 75, 6, -32768], dtype=np.int16)
    out.append(_frame("floor", p.MsgType.FLOOR, p.UNTRUSTED_SEQ,
                      p.floor_event_payload(2, 0x14, 0, fl_raw),
                      {"sample_index": 2, "flags": 0x14, "cause": 0, "raw": fl_raw.tolist()},
                      "stand-alone: the floor record changed at sample 2 (rule 1, quality)"))
    ev = p.Result(12, 119, 777, 1, 1, bytes([0x90]))
    ev_raw = np.array([88, 131, 70, 90, 93, -32768, 372], dtype=np.int16)
    out.append(_frame("event", p.MsgType.EVENT, p.UNTRUSTED_SEQ, p.event_payload(ev, ev_raw),
                      {"window_index": 12, "sample_index": 119, "cycles": 777, "alarm": 1,
                       "flags": 1, "output": [-112], "raw": ev_raw.tolist()},
                      "stand-alone mode: RESULT record + the raw sample that ended the window"))
    out.append(_frame("nak_bad_crc", p.MsgType.NAK, 0xFFFF, p.nak_payload(p.NakCode.BAD_CRC, 0),
                      {"code": 1, "detail": 0}))
    out.append(_frame("nak_bad_payload", p.MsgType.NAK, 8,
                      p.nak_payload(p.NakCode.BAD_PAYLOAD, 420), {"code": 6, "detail": 420}))
    # COBS edge cases: runs of exactly 253/254/255 non-zero bytes, all zeros, max payload
    for run in (247, 248, 249, 250, 500):
        payload = bytes((i % 255) + 1 for i in range(run))
        out.append(_frame(f"run_{run}", p.MsgType.INFER, 0x0101, payload,
                          note="non-zero run crossing the 254-byte COBS block boundary"))
    out.append(_frame("zeros_64", p.MsgType.INFER, 0, bytes(64), note="all-zero payload"))
    full = bytes((i * 7 + 1) % 256 for i in range(p.MAX_PAYLOAD))
    out.append(_frame("max_payload", p.MsgType.INFER, 0x0202, full, note="MAX_PAYLOAD bytes"))
    # a body whose total length is an exact multiple of 254 and ends without zero
    for plen in (244, 498):
        body_len = 6 + plen + 4
        payload = bytes([0x11] * plen)
        f = _frame(f"body_{body_len}", p.MsgType.INFER, 0x0303, payload,
                   note="check body ends in a full block iff no zero in its last 254 bytes")
        out.append(f)
    return out


def decode_errors() -> list[dict]:
    def enc(body: bytes) -> str:
        return (p.cobs_encode(body) + b"\x00").hex()

    good = p.encode_body(p.Frame(p.MsgType.HELLO, 9, b""))
    bad_crc = good[:-1] + bytes([good[-1] ^ 0x01])
    bad_len = p.encode_body(p.Frame(p.MsgType.RESET, 3, b""))
    bad_len = bad_len[:4] + struct.pack("<H", 2) + bad_len[6:]
    bad_len = bad_len[:-4] + struct.pack("<I", zlib.crc32(bad_len[:-4]))
    bad_version = p.encode_body(p.Frame(p.MsgType.HELLO, 12, b"", version=1))
    too_long = bytes([0xFF] + [0x22] * 254) * 5       # 1275 encoded bytes, no delimiter inside
    return [
        {"name": "bad_crc", "wire": enc(bad_crc), "code": 1, "detail": 0, "seq": 0xFFFF},
        {"name": "short_body", "wire": enc(good[:7]), "code": 2, "detail": 7, "seq": 0xFFFF},
        {"name": "length_mismatch", "wire": enc(bad_len), "code": 2, "detail": 10,
         "seq": 0xFFFF},
        {"name": "bad_version", "wire": enc(bad_version), "code": 4, "detail": 1, "seq": 12},
        {"name": "too_long", "wire": too_long.hex() + "00", "code": 5, "detail": 0,
         "seq": 0xFFFF},
        {"name": "cobs_code_past_end", "wire": "0a0102030400", "code": 2, "detail": 0,
         "seq": 0xFFFF, "note": "a COBS code pointing past the delimiter: BAD_LENGTH, detail 0"},
    ]


def vectors() -> dict:
    return {
        "generator": GENERATOR,
        "command": "python -m bedside.host_tools.link.protocol_vectors > tests/data/protocol_vectors.json",
        "protocol_version": p.VERSION,
        "max_payload": p.MAX_PAYLOAD,
        "frames": frames(),
        "decode_errors": decode_errors(),
    }


def render() -> str:
    return json.dumps(vectors(), indent=1) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
