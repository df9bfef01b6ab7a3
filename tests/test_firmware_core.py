"""C++ core unit tests: preprocessing, window, alarm, protocol codec and simulator,
compiled with -Wall -Wextra -Werror under ASan/UBSan and compared with the Python
definitions (bedside/contract/preprocess.py, bedside/contract/alarm.py, bedside/contract/protocol.py)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bedside.contract import protocol as p
from bedside.contract import preprocess, signals
from bedside.contract.alarm import alarm_sequence

VECTORS = Path(__file__).parent / "data" / "protocol_vectors.json"
SEED = 20261125


def tool(core_tool: Path, *args, stdin: str) -> str:
    proc = subprocess.run([str(core_tool), *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, f"core_tool {args} exited {proc.returncode}: {proc.stderr}"
    return proc.stdout


def c_preprocess(core_tool: Path, raw: np.ndarray) -> np.ndarray:
    head = [f"{signals.N_SIGNALS} {signals.FIXED_POINT_SHIFT} {signals.MISSING}"]
    head += [f"{s.center} {s.multiplier} {s.valid_min} {s.valid_max} {s.carry_limit}"
             for s in signals.SIGNALS]
    body = [str(len(raw))] + [" ".join(map(str, row)) for row in raw]
    out = tool(core_tool, "preprocess", stdin="\n".join(head + body) + "\n")
    return np.array([line.split() for line in out.splitlines()], dtype=np.int64).reshape(raw.shape)


def edge_values() -> np.ndarray:
    """Per signal: missing, int16 extremes, just outside/at the valid range, the centre."""
    cols = []
    for s in signals.SIGNALS:
        cols.append([signals.MISSING, -32767, 32767, 0, s.valid_min - 1, s.valid_min,
                     s.valid_max, s.valid_max + 1, s.center, s.center + 1, s.center - 1])
    return np.array(cols, dtype=np.int16).T


def test_preprocess_matches_python_on_random_streams(firmware_core_tool):
    rng = np.random.default_rng(SEED)
    t_len, c = 3000, signals.N_SIGNALS
    lo = np.array([s.valid_min for s in signals.SIGNALS]) - 20
    hi = np.array([s.valid_max for s in signals.SIGNALS]) + 20
    raw = rng.integers(lo, hi + 1, size=(t_len, c)).astype(np.int16)
    # gaps of every length around the carry limits (15 and 240 samples), random missing
    for i, s in enumerate(signals.SIGNALS):
        start = 100 + 17 * i
        for gap in (s.carry_limit - 1, s.carry_limit, s.carry_limit + 1, 2 * s.carry_limit + 3):
            raw[start:start + gap, i] = signals.MISSING
            start += gap + 40
    raw[rng.random((t_len, c)) < 0.1] = signals.MISSING
    raw[:30] = signals.MISSING          # a patient that starts with nothing
    raw[500:520] = edge_values().repeat(2, axis=0)[:20]
    expected = preprocess.preprocess_stream(raw).astype(np.int64)
    got = c_preprocess(firmware_core_tool, raw)
    bad = np.argwhere(got != expected)
    assert len(bad) == 0, f"seed {SEED}: first mismatch at (t, signal) {bad[0]}: " \
                          f"C {got[tuple(bad[0])]} vs Python {expected[tuple(bad[0])]}"


def test_preprocess_edge_values_and_streaming_twin(firmware_core_tool):
    raw = np.concatenate([edge_values(), edge_values()[::-1]])
    expected = preprocess.preprocess_stream(raw)
    twin = preprocess.StreamingPreprocessor()
    streamed = np.array([twin.push(row) for row in raw])
    got = c_preprocess(firmware_core_tool, raw)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, streamed)
    assert got.min() >= -128 and got.max() <= 127


@pytest.mark.parametrize("length,c,stride", [(60, 7, 5), (1, 3, 1), (8, 2, 3), (5, 4, 7)])
def test_window_ring_buffer_matches_python(firmware_core_tool, length, c, stride):
    rng = np.random.default_rng(SEED + length)
    q = rng.integers(-128, 128, size=(length * 3 + 11, c)).astype(np.int8)
    stdin = "\n".join([str(len(q))] + [" ".join(map(str, row)) for row in q]) + "\n"
    out = tool(firmware_core_tool, "window", length, c, stride, stdin=stdin).splitlines()
    ends = preprocess.window_ends(len(q), length, stride)
    wins = preprocess.windows(q, length, stride)
    assert [int(line.split()[0]) for line in out] == list(ends)
    got = np.array([line.split()[1:] for line in out], dtype=np.int64).reshape(wins.shape)
    np.testing.assert_array_equal(got, wins)


@pytest.mark.parametrize("on_q,off_q,min_duration", [(0, -20, 3), (50, 50, 1), (-128, -128, 2),
                                                     (127, -128, 4)])
def test_alarm_matches_python(firmware_core_tool, on_q, off_q, min_duration):
    rng = np.random.default_rng(SEED + min_duration)
    # runs of high and low outputs so the alarm turns on and off many times
    outputs = np.repeat(rng.integers(-128, 128, size=300), rng.integers(1, 6, size=300))
    stdin = "\n".join([str(len(outputs))] + [str(v) for v in outputs]) + "\n"
    got = np.array(tool(firmware_core_tool, "alarm", on_q, off_q, min_duration,
                        stdin=stdin).split(), dtype=int).astype(bool)
    expected = alarm_sequence(outputs, on_q, off_q, min_duration)
    np.testing.assert_array_equal(got, expected)
    assert expected.any() or on_q == 127


def protocol(core_tool: Path, lines: list[str]) -> list[str]:
    return tool(core_tool, "protocol", stdin="\n".join(lines) + "\n").splitlines()


def test_protocol_shared_vectors(firmware_core_tool):
    vectors = json.loads(VECTORS.read_text())
    frames = vectors["frames"]
    enc = protocol(firmware_core_tool, [f"E {f['type']} {f['seq']} {f['payload']}" for f in frames])
    for f, wire in zip(frames, enc):
        assert wire == f["wire"], f"vector {f['name']}: C encodes {wire[:60]}..."
    dec = protocol(firmware_core_tool, [f"D {f['wire']}" for f in frames])
    events = [e for e in dec if e != "END"]
    for f, ev in zip(frames, events):
        assert ev.split() == ["FRAME", str(f["version"]), str(f["type"]), str(f["seq"])] + \
            ([f["payload"]] if f["payload"] else []), f"vector {f['name']}"
    errs = vectors["decode_errors"]
    got = protocol(firmware_core_tool, [f"R 7 420 {e['wire']}" for e in errs])
    assert len(got) == len(errs)
    for e, line in zip(errs, got):
        assert line == f"NAK {e['code']} {e['detail']} {e['seq']}", f"vector {e['name']}: {line}"


def test_protocol_random_frames_match_python_codec(firmware_core_tool):
    rng = np.random.default_rng(SEED)
    frames = []
    for _ in range(300):
        n = int(rng.choice([0, 1, 253, 254, 255, 508, 1024, int(rng.integers(0, 1025))]))
        data = rng.integers(0, 256, n, dtype=np.uint8)
        data[rng.random(n) < rng.random()] = 0       # zero density from 0 to 100 %
        frames.append(p.Frame(int(rng.integers(0, 256)), int(rng.integers(0, 65536)), data.tobytes()))
    # no zero at all: COBS's largest overhead, where in-place encoding runs closest to its input
    frames += [p.Frame(0x86, 0x0101, b"\xff" * n) for n in (243, 244, 245, 497, 498, 1013, 1023)]
    enc = protocol(firmware_core_tool, [f"E {f.type} {f.seq} {f.payload.hex()}" for f in frames])
    assert enc == [p.encode_frame(f).hex() for f in frames]
    # one decoder for the whole stream (state carries over from line to line)
    dec = [e.split() for e in protocol(firmware_core_tool, [f"D {w}" for w in enc]) if e != "END"]
    assert dec == [["FRAME", str(p.VERSION), str(f.type), str(f.seq)] + ([f.payload.hex()] if f.payload else [])
                   for f in frames]


def test_protocol_garbage_resync_too_long_and_corruption(firmware_core_tool):
    hello = p.encode_frame(p.Frame(p.MsgType.HELLO, 7))
    too_long = bytes([0x22]) * 3000 + b"\x00"
    body = bytearray(p.encode_body(p.Frame(p.MsgType.STATS, 9)))
    body[-1] ^= 0x40                                     # wrong CRC
    bad_crc = p.cobs_encode(bytes(body)) + b"\x00"
    rng = np.random.default_rng(SEED)
    garbage = bytes(rng.integers(1, 256, 500, dtype=np.uint8))   # no delimiter: one long junk
    resync = garbage[:100] + bytes(1) + hello
    lines = [f"D {too_long.hex()}", f"D {hello.hex()}", f"D {bad_crc.hex()}",
             f"D {resync.hex()}", f"D {'00' * 5}{hello.hex()}",
             f"D {hello[:5].hex()}", f"D {hello.hex()}", f"D {hello.hex()}",
             f"D {garbage.hex()}00{hello.hex()}"]
    out = protocol(firmware_core_tool, lines)
    groups, cur = [], []
    for line in out:
        if line == "END":
            groups.append(cur)
            cur = []
        else:
            cur.append(line.strip())
    ok = f"FRAME {p.VERSION} 1 7"
    assert groups[0] == ["NAK 5 0 65535"]                # too long: discarded, NAKed
    assert groups[1] == [ok]                             # ...and the next frame decodes
    assert groups[2] == ["NAK 1 0 65535"]                # bad CRC, untrusted seq
    assert groups[3][-1] == ok and len(groups[3]) == 2   # garbage NAKed once, then resync
    assert groups[3][0].startswith("NAK ")
    assert groups[4] == [ok]                             # empty frames are ignored
    assert groups[5] == []                               # half a frame: nothing yet
    # a truncated frame merges with the next one (lost, NAKed: the host re-sends it) ...
    assert len(groups[6]) == 1 and groups[6][0].startswith("NAK 2 ")
    assert groups[7] == [ok]                             # ... and the link is back
    assert groups[8][0].startswith("NAK ") and groups[8][-1] == ok


@pytest.mark.parametrize("frame,expected", [
    (p.Frame(p.MsgType.HELLO, 3), "OK 3"),
    (p.Frame(p.MsgType.HELLO, 3, b"x"), "OK 3"),            # the INFO part asked for
    (p.Frame(p.MsgType.HELLO, 3, b"xy"), "NAK 6 0 3"),
    (p.Frame(0x42, 4), "NAK 3 66 4"),
    (p.Frame(p.MsgType.INFO, 4), "NAK 3 129 4"),          # device->host type sent to a device
    (p.Frame(p.MsgType.HELLO, 5, version=9), "NAK 4 9 5"),
    (p.Frame(p.MsgType.INFER, 6, bytes(420)), "OK 6"),
    (p.Frame(p.MsgType.INFER, 6, bytes(419)), "NAK 6 420 6"),
    (p.Frame(p.MsgType.SAMPLES, 8, bytes([2]) + bytes(28)), "OK 8"),
    (p.Frame(p.MsgType.SAMPLES, 8, bytes([2]) + bytes(27)), "NAK 6 29 8"),
    (p.Frame(p.MsgType.SAMPLES, 8, b""), "NAK 6 1 8"),
    (p.Frame(p.MsgType.SIMULATE, 9, p.simulate_payload(10, 1, True)), "OK 9"),
    (p.Frame(p.MsgType.SIMULATE, 9, bytes(8)), "NAK 6 9 9"),
])
def test_request_checks(firmware_core_tool, frame, expected):
    assert protocol(firmware_core_tool, [f"R 7 420 {p.encode_frame(frame).hex()}"]) == [expected]


def sim(core_tool: Path, seed: int, deteriorate: bool, n: int) -> np.ndarray:
    out = tool(core_tool, "sim", seed, int(deteriorate), n, signals.N_SIGNALS, stdin="")
    return np.array([line.split() for line in out.splitlines()], dtype=np.int64)


def test_simulator_is_deterministic_and_plausible(firmware_core_tool):
    a = sim(firmware_core_tool, 42, True, 600)
    np.testing.assert_array_equal(a, sim(firmware_core_tool, 42, True, 600))
    assert not np.array_equal(a, sim(firmware_core_tool, 43, True, 600))
    calm = sim(firmware_core_tool, 42, False, 600)
    np.testing.assert_array_equal(calm[:120], a[:120])        # same patient until the onset
    missing = a == signals.MISSING
    assert 0.002 < missing.mean() < 0.03
    ok = preprocess.valid_mask(a.astype(np.int16))
    assert ok.sum() == (~missing).sum(), "every simulated value is in its valid range"
    hr, sbp, spo2 = 0, 1, 4
    late = slice(320, 600)
    assert np.median(a[late, hr]) > np.median(calm[late, hr]) + 30
    assert np.median(a[late, sbp]) < np.median(calm[late, sbp]) - 25
    assert np.median(a[late, spo2]) < np.median(calm[late, spo2]) - 5


def test_sha256_matches_hashlib(firmware_core_tool):
    """The device's own SHA-256 (firmware/core/sha256.cc) equals hashlib on every length
    around the 64-byte block and padding boundaries, and on random messages."""
    import hashlib
    rng = np.random.default_rng(13)
    msgs = [bytes(rng.integers(0, 256, n, dtype=np.uint8)) for n in
            list(range(0, 130)) + [183, 255, 256, 1000, 4095, 4096, 10007]]
    msgs += [b"abc", b"\x00" * 64, b"\xff" * 119]
    out = tool(firmware_core_tool, "sha256", stdin="".join(m.hex() + "\n" for m in msgs))
    assert out.split() == [hashlib.sha256(m).hexdigest() for m in msgs]


def c_safety(core_tool: Path, raw: np.ndarray, cfg: dict) -> np.ndarray:
    """Floor records [T, 2] of firmware/core/safety.h for one stream from a reset."""
    from bedside.contract import safety
    k = signals.TABLE
    t = safety.timing(cfg, k)
    r = safety.rules(cfg, k)
    head = [f"{signals.N_SIGNALS} {signals.FIXED_POINT_SHIFT} {signals.MISSING}"]
    head += [f"{s.center} {s.multiplier} {s.valid_min} {s.valid_max} {s.carry_limit}"
             for s in signals.SIGNALS]
    head += [f"{len(r)} {t['sustain']} {t['slow_sustain']} {t['frozen']} {t['lookback']} "
             f"{t['after_gap']}"]
    head += [f"{i} {int(h)} {b} {st} {a} {ab} {j} {jb} {cl}" for (i, h, b), st, a, ab, j, jb, cl
             in zip(r, t["step"], t["agree"], t["agree_bound"], t["jump"], t["jump_bound"],
                    t["clear"])]
    head += [f"{q} {f} {s}" for q, f, s in zip(t["quality"], t["frozen_signal"], t["stale"])]
    body = [str(len(raw))] + [" ".join(map(str, row)) for row in raw]
    out = tool(core_tool, "safety", stdin="\n".join(head + body) + "\n")
    return np.array([line.split() for line in out.splitlines()], np.int64).reshape(len(raw), 2)


def test_safety_floor_matches_python_sample_by_sample(firmware_core_tool):
    """Random walks around every limit with artefact steps, dropouts, stale gaps and frozen
    stretches: the C floor record equals bedside/contract/safety.py on every sample, with
    the defaults and with short timings that exercise every branch."""
    from bedside.contract import safety
    rng = np.random.default_rng(SEED)
    k = signals.TABLE
    t_len = 4000
    walk = np.cumsum(rng.integers(-3, 4, size=(t_len, k.n)), axis=0)
    raw = (k.center[None, :] + walk % 60 - 30).astype(np.int16)
    raw[:, k.names.index("spo2")] = np.clip(raw[:, k.names.index("spo2")], 50, 100)
    steps = rng.random(t_len) < 0.02
    raw[steps, k.names.index("spo2")] = 70                     # probe-off steps
    raw[rng.random((t_len, k.n)) < 0.15] = signals.MISSING
    for start in range(200, t_len, 700):                         # stale gaps, frozen runs
        raw[start:start + 40, 1:4] = signals.MISSING
        raw[start + 100:start + 160, 0] = 77
    raw[3000:3040, 4] = 100                                      # at valid_max: not frozen
    names = k.names                                 # agreement: SBP low, MAP in and out
    raw[3100:3400, names.index("sbp")] = 60 + np.arange(300) % 3
    raw[3100:3400, names.index("map")] = np.where(np.arange(300) % 23 < 11, 58, 80)
    raw[3500:3700, names.index("hr")] = 160 + np.arange(200) % 4
    raw[3500:3700, names.index("rr")] = np.where(np.arange(200) % 17 < 9, 14, 28)
    raw[rng.random((t_len, k.n)) < 0.05] = signals.MISSING
    spo2, hr = names.index("spo2"), names.index("hr")   # artefacts of the lookback and jump
    raw[3750:3800, [hr, spo2]] = [80, 97]
    raw[3760:3770, spo2] = [86, 80, 80, 80, 79, 80, 97, 97, 97, 97]    # a fall over 2 min
    raw[3780:3790, spo2] = [88, 84, 83, 82, 83, 82, 97, 97, 97, 97]    # gradual, HR jumps
    raw[3781:3783, hr] = [125, 90]
    raw[3800:3880, hr] = 80 + np.arange(80) % 2              # a probe re-applied after a
    raw[3800:3880, spo2] = 97                                 # stale gap: 78 % for 6 min
    raw[3820:3845, spo2] = signals.MISSING
    raw[3845:3851, spo2] = 78
    cfgs = [safety.normalize(safety.DEFAULT),
            safety.normalize({"sustain_minutes": 2, "artefact_sustain_minutes": 4,
                              "frozen_minutes": 5, "frozen_signals": list(k.names),
                              "stale_minutes": {"continuous": 3, "cuff": 6, "charted": 20},
                              "artefact_step": {"spo2": 4, "hr": 5, "map": 6},
                              "agree": {"sbp": ["map", 65], "hr": ["rr", 20]},
                              "clear_margin": {"sbp": 3, "map": 7, "rr": 2}}),
            safety.normalize({"sustain_minutes": 2, "artefact_sustain_minutes": 5,
                              "artefact_lookback": 1, "artefact_step": {"spo2": 3, "rr": 4},
                              "artefact_jump": {"spo2": ["hr", 4], "map": ["rr", 3],
                                                "rr": ["spo2", 2]}})]
    for cfg in cfgs:
        expected = safety.stream_records(raw, cfg).astype(np.int64)
        got = c_safety(firmware_core_tool, raw, cfg)
        bad = np.argwhere((got != expected).any(axis=1))
        assert len(bad) == 0, f"sample {bad[0][0]}: C {got[bad[0][0]]} vs Python " \
                              f"{expected[bad[0][0]]}"
        assert len(np.unique(expected[:, 0])) > 3 and (expected[:, 1] >> 4 == 2).any()
    agreed = safety.stream_records(raw, cfgs[1])
    assert (agreed != safety.stream_records(raw, {**cfgs[1], "agree": {}})).any()
    for cfg, change in ((cfgs[-1], {"artefact_jump": {}}), (cfgs[0], {"artefact_lookback": 1}),
                        (cfgs[0], {"artefact_jump": {}}), (cfgs[0], {"artefact_after_gap": False})):
        # each new rule changes records
        changed = safety.stream_records(raw, {**cfg, **change})
        assert (safety.stream_records(raw, cfg) != changed).any(), change
