"""Stand-alone mode: the host firmware on its own simulator sends one EVENT per window.

EVENTs are well formed (seq 0xFFFF, RESULT record + raw sample), their raw samples are
the firmware simulator's (core_tool sim), their outputs, alarms and calibrated flags equal
the Python reference for that stream; a host-driven exchange stops them; `bedside monitor
--listen --duration S` shows them with the personalization state and exits 0.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import serial

from bedside.contract import protocol as p
from bedside.cli import main
from bedside.host_tools.builder.qemu import HostFirmware
from bedside.reference.pipeline import Contract, Reference
from tests.test_firmware_device import sim_raw
from bedside.contract import signals

SEED = 3
VECTORS = Path(__file__).parent / "data" / "protocol_vectors.json"


def test_event_vector_parses_to_its_fields():
    f = {v["name"]: v for v in json.loads(VECTORS.read_text())["frames"]}["event"]
    assert (f["type"], f["seq"]) == (p.MsgType.EVENT, p.UNTRUSTED_SEQ)
    payload = bytes.fromhex(f["payload"])
    result, raw = p.parse_event(payload, 1, len(f["fields"]["raw"]))
    fields = f["fields"]
    assert (result.window_index, result.sample_index, result.cycles, result.alarm,
            result.flags) == (fields["window_index"], fields["sample_index"], fields["cycles"],
                              fields["alarm"], fields["flags"])
    assert result.output_q.tolist() == fields["output"] and raw.tolist() == fields["raw"]
    assert p.event_payload(result, raw) == payload
    with pytest.raises(p.ProtocolError, match="EVENT payload"):
        p.parse_event(payload[:-1], 1, 7)


def _read(port, decoder, seconds: float) -> list:
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        data = port.read(4096)
        if data:
            out += decoder.feed(data)
    return out


@pytest.fixture(scope="module")
def contract(converted_run_dir):
    return Contract.from_run(converted_run_dir)


def test_standalone_events_match_reference(host_firmware, contract, firmware_core_tool):
    c = contract
    calib = (c.personalization or {}).get("calib_samples", 0)
    want = max(calib, c.window_length) + 4 * c.stride     # past calibration, if any
    with HostFirmware(host_firmware.binary, tcp=True,
                      extra_args=["--simulate", "--seed", str(SEED), "--sample-ms", "1"]) as fw:
        port = serial.serial_for_url(fw.url, timeout=0.05)
        decoder = p.FrameDecoder()
        events: list[p.Frame] = []
        floors: list[p.Frame] = []                  # FLOOR: the floor record changed
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for ev in decoder.feed(port.read(4096)):
                assert isinstance(ev, p.Frame), f"damaged frame from the device: {ev}"
                (floors if ev.type == p.MsgType.FLOOR else events).append(ev)
            if events and p.parse_event(events[-1].payload, c.output_bytes,
                                        c.n_signals)[0].sample_index >= want:
                break
        assert events, "no EVENT frame in stand-alone mode"
        assert all(e.type == p.MsgType.EVENT and e.seq == p.UNTRUSTED_SEQ for e in events)
        parsed = [p.parse_event(e.payload, c.output_bytes, c.n_signals) for e in events]
        last = parsed[-1][0].sample_index
        assert last >= want, f"only {last + 1} samples in 15 s"

        # the same simulated stream through the Python reference
        raw = sim_raw(firmware_core_tool, SEED, True, last + 1)
        ref = Reference(c).patient(raw)
        idx = [r.window_index for r, _ in parsed]
        assert idx == list(range(idx[0], idx[0] + len(idx))), "window indices not consecutive"
        for r, sample in parsed:
            k = r.window_index
            assert r.sample_index == ref.ends[k]
            assert sample.tolist() == raw[r.sample_index].tolist(), f"window {k}: raw sample"
            assert r.output == ref.output[k].tobytes(), f"window {k}: output"
            assert r.alarm == ref.alarm[k], f"window {k}: alarm"
            expect_flags = (int(ref.calibrated[k]) if ref.calibrated is not None else 0) \
                | int(ref.safety[k])
            assert r.flags == expect_flags, f"window {k}: flags"
        if calib:
            assert parsed[-1][0].flags & 1, "calibration never completed"
        # one FLOOR at every sample whose floor record differs from the previous one's
        assert all(f.seq == p.UNTRUSTED_SEQ for f in floors)
        got = [p.parse_floor_event(f.payload, c.n_signals) for f in floors]
        got = [(s, fl, ca) for s, fl, ca, _ in got if s <= last]
        prev = [(0, 0)] + [tuple(r) for r in ref.floor[:-1].tolist()]
        want = [(t, *map(int, r)) for t, r in enumerate(ref.floor.tolist())
                if tuple(r) != prev[t]]
        assert got == want, "FLOOR frames differ from the reference's floor changes"

        # a host-driven exchange stops stand-alone feeding: no EVENT ever again
        port.write(p.encode_frame(p.Frame(p.MsgType.RESET, 5)))
        time.sleep(0.05)
        port.write(p.encode_frame(p.Frame(p.MsgType.SAMPLES, 6, p.samples_payload(raw[:3]))))
        later = [e for e in _read(port, decoder, 0.6) if isinstance(e, p.Frame)]
        ack = [e for e in later if e.seq == 5]
        assert ack and ack[0].type == p.MsgType.ACK
        after_ack = later[later.index(ack[0]) + 1:]
        assert [e.type for e in after_ack] == [p.MsgType.SAMPLES_ACK]
        assert p.parse_results(after_ack[0].payload, c.output_bytes)[0] == 3
        port.close()
        assert fw.alive()


def test_monitor_listen_shows_calibration(host_firmware, contract, capsys):
    calib = (contract.personalization or {}).get("calib_samples", 0)
    with HostFirmware(host_firmware.binary, tcp=True,
                      extra_args=["--simulate", "--sample-ms", "1"]) as fw:
        t0 = time.monotonic()
        rc = main(["monitor", "--port", fw.url, "--listen", "--duration", "3"])
        took = time.monotonic() - t0
    out = capsys.readouterr().out
    assert rc == 0, out
    assert took < 10
    assert "personalization:" in out and "windows" in out
    assert "safety floor: " in out                  # the floor's last record
    if calib:
        # ~100 samples/s for 3 s: past the calibration period
        assert "calibrated, baseline" in out, out[-2000:]
        assert signals.SIGNALS[0].name in out
    else:
        assert "off" in out


def test_monitor_device_mode_shows_calibration(host_firmware, contract, capsys):
    with HostFirmware(host_firmware.binary, tcp=True) as fw:
        rc = main(["monitor", "--port", fw.url, "--samples", "60", "--speed", "1e9"])
    out = capsys.readouterr().out
    assert rc == 0, out
    calib = (contract.personalization or {}).get("calib_samples", 0)
    assert (f"calibrating 60/{calib} samples" if calib else "off") in out, out[-2000:]


def test_simulate_of_zero_samples_leaves_the_standalone_patient(host_firmware, contract,
                                                                 firmware_core_tool):
    """SIMULATE n=0 with another seed feeds nothing, so it changes nothing: the stand-alone
    EVENTs after it continue the same simulated patient (issue 25)."""
    c = contract
    with HostFirmware(host_firmware.binary, tcp=True,
                      extra_args=["--simulate", "--seed", str(SEED), "--sample-ms", "1"]) as fw:
        port = serial.serial_for_url(fw.url, timeout=0.05)
        decoder = p.FrameDecoder()
        frames = _read(port, decoder, 0.5)
        port.write(p.encode_frame(p.Frame(p.MsgType.SIMULATE, 9,
                                          p.simulate_payload(0, SEED + 1, False))))
        frames += _read(port, decoder, 0.8)
        port.close()
    events = [f for f in frames if isinstance(f, p.Frame) and f.type == p.MsgType.EVENT]
    assert any(f.type == p.MsgType.SIMULATE_RESULT for f in frames if isinstance(f, p.Frame))
    parsed = [p.parse_event(e.payload, c.output_bytes, c.n_signals) for e in events]
    assert len(parsed) > 2, "too few EVENTs to compare"
    raw = sim_raw(firmware_core_tool, SEED, True, parsed[-1][0].sample_index + 1)
    for r, sample in parsed:
        assert sample.tolist() == raw[r.sample_index].tolist(), \
            f"sample {r.sample_index}: not the stand-alone patient of seed {SEED}"
