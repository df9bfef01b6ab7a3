"""Write the committed seed corpus of the fuzz harnesses (small, deterministic).

    .venv/bin/python firmware/fuzz/make_corpus.py

frame_decoder/: one valid frame of each request type, a few bad ones (CRC, version,
length, too long) and a stream of two frames with junk between. preprocess/: the kit's
real signal table (bedside/contract/signals.py) with a short stream including missing and
out-of-range values, and a one-signal edge case. app/: a mode byte (0 host-driven, 1
stand-alone) then a session of every request, SIMULATE of 2^32-1 samples and stray
frames included.
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bedside.contract import protocol as p  # noqa: E402
from bedside.contract.signals import FIXED_POINT_SHIFT, MISSING, SIGNALS  # noqa: E402

HERE = Path(__file__).resolve().parent


def frames() -> dict[str, bytes]:
    enc = lambda t, s, pl=b"": p.encode_frame(p.Frame(t, s, pl))  # noqa: E731
    samples = bytes([2]) + struct.pack("<14h", *([80, 120, 65, 82, 97, 18, 370] * 2))
    out = {
        "hello": enc(p.MsgType.HELLO, 1), "reset": enc(p.MsgType.RESET, 2),
        "stats": enc(p.MsgType.STATS, 3), "samples": enc(p.MsgType.SAMPLES, 4, samples),
        "infer": enc(p.MsgType.INFER, 5, bytes(range(256)) + bytes(164)),
        "simulate": enc(p.MsgType.SIMULATE, 6, p.simulate_payload(100, 1, True)),
        "bad_version": p.encode_frame(p.Frame(p.MsgType.HELLO, 7, b"", 1)),
        "unknown_type": enc(0x42, 8), "too_long": b"\x11" * 1100 + b"\x00",
    }
    bad = bytearray(p.encode_body(p.Frame(p.MsgType.HELLO, 9)))
    bad[-1] ^= 1
    out["bad_crc"] = p.cobs_encode(bytes(bad)) + b"\x00"
    out["two_with_junk"] = out["hello"] + b"\x07\x99\xfe" + b"\x00" + out["samples"]
    return out


def app_inputs() -> dict[str, bytes]:
    f = frames()
    enc = lambda t, s, pl=b"": p.encode_frame(p.Frame(t, s, pl))  # noqa: E731
    session = (f["hello"] + f["reset"] + f["samples"] + f["samples"] + f["infer"]
               + enc(p.MsgType.CALIB, 10) + f["stats"]
               + enc(p.MsgType.SIMULATE, 11, p.simulate_payload(0xFFFFFFFF, 2, False))
               + enc(p.MsgType.SIMULATE, 11, p.simulate_payload(0xFFFFFFFF, 2, False)))
    strays = (enc(p.MsgType.SAMPLES, 12, b"\x00") + f["two_with_junk"] + f["bad_crc"]
              + enc(p.MsgType.SIMULATE, 13, p.simulate_payload(0, 1, True)))
    return {"host_session": b"\x00" + session, "standalone_strays": b"\x01" + strays,
            "standalone_reset": b"\x31" + f["reset"] + f["hello"]}


def preprocess_inputs() -> dict[str, bytes]:
    def header(n, shift, length, stride):
        return bytes([n - 1, shift - 1, length - 1, stride - 1])

    def sig(center, mult, vmin, vmax, carry):
        return struct.pack("<h", center) + mult.to_bytes(3, "little") + struct.pack(
            "<hhH", vmin, vmax, carry)
    real = header(len(SIGNALS), FIXED_POINT_SHIFT, 60, 5) + b"".join(
        sig(s.center, s.multiplier, s.valid_min, s.valid_max, s.carry_limit) for s in SIGNALS)
    rows = []
    for t in range(70):
        row = [s.center + (t % 9) - 4 for s in SIGNALS]
        if t % 11 == 3:
            row[0] = MISSING
        if t % 13 == 5:
            row[4] = 120            # SpO2 out of range
        rows.append(struct.pack(f"<{len(SIGNALS)}h", *row))
    edge = header(1, 1, 3, 2) + sig(0, 1, -32767, 32767, 0) + struct.pack(
        "<8h", 32767, -32767, MISSING, 0, 1, -1, 32767, MISSING)
    return {"signals_table": real + b"".join(rows), "one_signal_edges": edge}


def main() -> int:
    for sub, items in (("frame_decoder", frames()), ("preprocess", preprocess_inputs()),
                       ("app", app_inputs())):
        d = HERE / "corpus" / sub
        d.mkdir(parents=True, exist_ok=True)
        for name, data in items.items():
            (d / f"{name}.bin").write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
