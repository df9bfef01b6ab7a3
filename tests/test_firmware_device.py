"""The built firmware as a device: host program (pty, TCP) and QEMU Cortex-M4 (mps2-an386).

Each answers HELLO with the run's model and preprocessing hashes, runs SIMULATE and
SAMPLES through the whole loop with outputs equal to the Python reference (integer
preprocessing + TFLM interpreter + integer alarm), NAKs bad frames and keeps running,
and answers a retransmitted request from its cache without executing it twice.
"""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
import serial

from bedside.contract import protocol as p
from bedside.host_tools.builder.qemu import Emulator, HostFirmware
from bedside.reference.pipeline import Contract, Reference
from bedside.converter.engine.codegen import GEN_FORMAT
from bedside.host_tools.verify.verifier import expected_held
from bedside.contract import signals

SEED = 7


class Client:
    """A raw stop-and-wait client with full control of seq and bytes (no retries)."""

    def __init__(self, url: str) -> None:
        self.port = serial.serial_for_url(url, baudrate=115200, timeout=0.05)
        self.port.reset_input_buffer()
        self.decoder = p.FrameDecoder()
        self.seq = 0
        self.pending: list = []

    def close(self) -> None:
        self.port.close()

    def send(self, frame: p.Frame) -> None:
        self.port.write(p.encode_frame(frame))

    def event(self, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while not self.pending:
            if time.monotonic() > deadline:
                raise AssertionError(f"no reply within {timeout} s")
            data = self.port.read(1)       # waits at most the port timeout for a byte
            if data and self.port.in_waiting:
                data += self.port.read(self.port.in_waiting)
            self.pending += self.decoder.feed(data)
        return self.pending.pop(0)

    def request(self, mtype: int, payload: bytes = b"", seq: int | None = None,
                timeout: float = 60.0) -> p.Frame:
        if seq is None:
            self.seq = (self.seq + 1) % 0xFFFF
            seq = self.seq
        self.send(p.Frame(mtype, seq, payload))
        ev = self.event(timeout)
        assert isinstance(ev, p.Frame), f"decoder error on the reply: {ev}"
        assert ev.seq == seq, f"reply seq {ev.seq} for request seq {seq}"
        return ev

    def ok(self, mtype: int, payload: bytes = b"", reply: int | None = None, **kw) -> p.Frame:
        f = self.request(mtype, payload, **kw)
        if f.type == p.MsgType.NAK:
            raise AssertionError(f"NAK {p.parse_nak(f.payload)} for {p.MsgType(mtype).name}")
        assert reply is None or f.type == reply
        return f


def sim_raw(core_tool, seed: int, deteriorate: bool, n: int) -> np.ndarray:
    """The firmware simulator's raw samples, from the same C code (core_tool sim)."""
    out = subprocess.run([str(core_tool), "sim", str(seed), str(int(deteriorate)), str(n),
                          str(signals.N_SIGNALS)], capture_output=True, text=True, check=True).stdout
    return np.array([line.split() for line in out.splitlines()], dtype=np.int16)


def check_results(results, ref, contract) -> None:
    assert results, "no results"
    for r in results:
        k = r.window_index
        assert r.sample_index == ref.ends[k], f"window {k}"
        assert r.output == ref.output[k].tobytes(), \
            f"window {k}: device {list(r.output)} vs reference {list(ref.output[k])}"
        assert r.alarm == ref.alarm[k], f"window {k}: alarm"
        # bit 0: personalization calibrated (docs/personalization.md); bits 2, 4-7: the
        # safety floor (docs/safety.md); no model error
        assert r.flags == int(ref.calibrated[k]) | int(ref.safety[k]), f"window {k}: flags"


@pytest.fixture(scope="module")
def contract(converted_run_dir):
    return Contract.from_run(converted_run_dir)


@pytest.fixture(scope="module")
def reference(contract):
    return Reference(contract)


@pytest.fixture(scope="module")
def host_device(host_firmware):
    with HostFirmware(host_firmware.binary) as dev:
        yield dev


@pytest.fixture
def host(host_device):
    client = Client(host_device.url)
    client.ok(p.MsgType.RESET, reply=p.MsgType.ACK)
    yield client
    client.close()
    assert host_device.alive(), f"host firmware died:\n{host_device.log_text()}"


def check_info(client: Client, contract: Contract, board: str) -> p.Info:
    info = p.parse_info(client.ok(p.MsgType.HELLO, reply=p.MsgType.INFO).payload)
    r = contract.record
    assert info.model_sha256.hex() == r.model.sha256 == contract.model_sha256
    assert info.preproc_sha256.hex() == r.preprocessing.sha256
    from bedside.contract.manifest import GEN_FORMAT as HEADER_FORMAT
    assert (info.protocol_version, info.gen_format, info.backend, info.board) == \
        (2, HEADER_FORMAT, 0, board)
    assert (info.n_signals, info.window_length, info.stride) == \
        (contract.n_signals, contract.window_length, contract.stride)
    assert (info.input_bytes, info.output_bytes) == (contract.input_bytes, contract.output_bytes)
    assert info.input_scale == pytest.approx(contract.input_scale, rel=1e-6)
    assert info.output_scale == pytest.approx(contract.output_scale, rel=1e-6)
    assert (info.input_zero_point, info.output_zero_point) == \
        (contract.input_zero_point, contract.output_zero_point)
    assert info.arena_bytes > 0 and info.core_clock_hz > 0
    # computed by the device over the model and constants it runs with (not the header's
    # label): the portable kernels' weights on the host, the DSP kernels' on the M4
    kind = "compiled" if board == "host" else "compiled, DSP kernels"
    assert info.held_sha256 == expected_held(contract, info.backend)[kind]
    assert info.model_format == GEN_FORMAT and info.build_id != bytes(8)
    return info


def check_simulate(client: Client, contract, reference, core_tool, n: int, more: int) -> None:
    """SIMULATE n samples, then `more` of the same patient: equal to the reference."""
    ref = reference.patient(sim_raw(core_tool, SEED, True, n + more))
    f = client.ok(p.MsgType.SIMULATE, p.simulate_payload(n, SEED, True), reply=p.MsgType.SIMULATE_RESULT)
    total, results = p.parse_results(f.payload, contract.output_bytes)
    assert total == n
    expected_windows = int(np.sum(ref.ends < n))
    assert len(results) == min(64, expected_windows)
    assert results[-1].window_index == expected_windows - 1
    check_results(results, ref, contract)
    f = client.ok(p.MsgType.SIMULATE, p.simulate_payload(more, SEED, True))
    total, results = p.parse_results(f.payload, contract.output_bytes)
    assert total == n + more and results[-1].window_index == len(ref.ends) - 1
    check_results(results, ref, contract)
    assert all(r.cycles > 0 for r in results)


def stream(client: Client, contract: Contract, raw: np.ndarray):
    results, per_frame = [], p.max_samples_per_frame(contract.n_signals)
    for start in range(0, len(raw), per_frame):
        f = client.ok(p.MsgType.SAMPLES, p.samples_payload(raw[start:start + per_frame]),
                      reply=p.MsgType.SAMPLES_ACK)
        total, rs = p.parse_results(f.payload, contract.output_bytes)
        assert total == min(start + per_frame, len(raw))
        results += rs
    return results


def patient_with_faults(n: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    centres = np.array([s.center for s in signals.SIGNALS])
    spread = np.array([s.spread for s in signals.SIGNALS])
    raw = np.round(centres + rng.normal(0, 1.5, (n, len(centres))) * spread).astype(np.int16)
    raw[rng.random(raw.shape) < 0.08] = signals.MISSING
    raw[40:70, 0] = 400                  # HR out of range (artifact)
    raw[100:140, 4] = signals.MISSING    # SpO2 probe off longer than the carry limit
    return raw


# ------------------------------------------------------------------ host firmware


def test_host_hello_info(host, contract, host_firmware):
    info = check_info(host, contract, "host")
    identity = host_firmware.identity           # what the build recorded is what INFO says
    assert {k: info.as_dict()[k] for k in ("build_id", "board", "core_clock_hz", "gen_format",
                                           "model_format")} == \
        {k: identity[k] for k in ("build_id", "board", "core_clock_hz", "gen_format", "model_format")}
    assert identity["backend"] == info.backend_name == "compiled"


def test_host_simulate_matches_reference(host, contract, reference, firmware_core_tool):
    check_simulate(host, contract, reference, firmware_core_tool, 400, 120)


def test_host_samples_match_reference(host, contract, reference):
    raw = patient_with_faults(300)
    results = stream(host, contract, raw)
    ref = reference.patient(raw)
    assert [r.window_index for r in results] == list(range(len(ref.ends)))
    check_results(results, ref, contract)
    stats = p.parse_stats(host.ok(p.MsgType.STATS, reply=p.MsgType.STATS_RESULT).payload)
    assert stats["samples_total"] == 300 and stats["windows_total"] >= len(ref.ends)
    assert stats["cycles_max"] >= stats["cycles_last"] > 0


def test_host_infer_matches_reference(host, reference):
    rng = np.random.default_rng(SEED)
    windows = rng.integers(-128, 128, size=(5, reference.contract.window_length,
                                            reference.contract.n_signals)).astype(np.int8)
    expected = reference.infer(windows)
    for w, e in zip(windows, expected):
        f = host.ok(p.MsgType.INFER, p.infer_payload(w), reply=p.MsgType.INFER_RESULT)
        cycles, out = p.parse_infer_result(f.payload, reference.contract.output_bytes)
        assert out == e.tobytes()


def test_host_retransmission_is_answered_from_cache(host, contract):
    raw = patient_with_faults(70)
    first = host.request(p.MsgType.SAMPLES, p.samples_payload(raw), seq=4242)
    again = host.request(p.MsgType.SAMPLES, p.samples_payload(raw), seq=4242)
    assert again == first                       # same reply, samples not processed twice
    assert p.parse_results(again.payload, contract.output_bytes)[0] == 70
    stats = p.parse_stats(host.ok(p.MsgType.STATS).payload)
    assert stats["samples_total"] == 70
    # a new request that reuses the seq (another host) is executed, not answered stale
    info = host.request(p.MsgType.HELLO, seq=4242)
    assert info.type == p.MsgType.INFO


def nak(client: Client) -> tuple[int, int, int]:
    ev = client.event(10)
    assert isinstance(ev, p.Frame) and ev.type == p.MsgType.NAK, ev
    code, detail = p.parse_nak(ev.payload)
    return int(code), detail, ev.seq


def test_host_bad_frames_are_nacked_and_link_recovers(host, contract):
    before = p.parse_stats(host.ok(p.MsgType.STATS).payload)
    host.port.write(bytes(range(1, 200)) + b"\x00")                     # garbage
    assert nak(host)[0] in (p.NakCode.BAD_LENGTH, p.NakCode.BAD_CRC)
    body = bytearray(p.encode_body(p.Frame(p.MsgType.HELLO, 11)))
    body[-2] ^= 1
    host.port.write(p.cobs_encode(bytes(body)) + b"\x00")
    assert nak(host) == (p.NakCode.BAD_CRC, 0, 0xFFFF)
    host.port.write(b"\x33" * 5000 + b"\x00")
    assert nak(host) == (p.NakCode.TOO_LONG, 0, 0xFFFF)
    host.send(p.Frame(0x55, 12))
    assert nak(host) == (p.NakCode.UNKNOWN_TYPE, 0x55, 12)
    host.send(p.Frame(p.MsgType.HELLO, 13, version=1))   # an older host
    assert nak(host) == (p.NakCode.BAD_VERSION, 1, 13)
    host.send(p.Frame(p.MsgType.INFER, 14, b"\x01\x02"))
    assert nak(host) == (p.NakCode.BAD_PAYLOAD, contract.input_bytes, 14)
    host.send(p.Frame(p.MsgType.SAMPLES, 15, bytes([3]) + bytes(10)))
    assert nak(host) == (p.NakCode.BAD_PAYLOAD, 1 + 3 * 2 * contract.n_signals, 15)
    check_info(host, contract, "host")                                  # still alive
    rng = np.random.default_rng(SEED)
    noise = rng.integers(0, 256, 20000, dtype=np.uint8)
    noise[rng.random(noise.size) < 0.01] = 0                           # random frame ends
    host.port.write(noise.tobytes() + b"\x00")
    time.sleep(0.5)
    host.port.reset_input_buffer()                                      # drop the NAKs
    host.decoder, host.pending = p.FrameDecoder(), []
    check_info(host, contract, "host")                                  # survives noise
    after = p.parse_stats(host.ok(p.MsgType.STATS).payload)
    assert after["frames_bad_crc"] - before["frames_bad_crc"] >= 1
    assert after["frames_too_long"] - before["frames_too_long"] == 1
    assert after["frames_unknown_type"] - before["frames_unknown_type"] == 1
    assert after["frames_bad_version"] - before["frames_bad_version"] == 1
    assert after["frames_bad_length"] - before["frames_bad_length"] >= 2


def test_host_firmware_over_tcp_survives_reconnect(host_firmware, contract):
    with HostFirmware(host_firmware.binary, tcp=True) as dev:
        assert dev.url.startswith("socket://127.0.0.1:")
        for _ in range(2):                     # a second client after the first leaves
            client = Client(dev.url)
            check_info(client, contract, "host")
            client.close()
        assert dev.alive()


# ------------------------------------------------------------------ QEMU Cortex-M4


@pytest.mark.qemu
def test_qemu_an386_hello_simulate_samples(an386_firmware, contract, reference, firmware_core_tool):
    assert an386_firmware.flash_bytes < 512 * 1024 and an386_firmware.ram_bytes < 256 * 1024
    symbols = subprocess.run(["arm-none-eabi-nm", str(an386_firmware.binary)], capture_output=True,
                             text=True, check=True).stdout.split()
    assert not {"malloc", "_malloc_r", "_sbrk", "_Znwj", "free"} & set(symbols), "heap linked in"
    with Emulator(an386_firmware.binary, "mps2-an386") as dev:
        client = Client(dev.url)
        info = check_info(client, contract, "mps2-an386")
        assert info.core_clock_hz == 25_000_000
        identity = an386_firmware.identity      # what the build recorded is what INFO says
        assert (info.build_id.hex(), info.board, info.core_clock_hz, info.backend_name) == \
            (identity["build_id"], identity["board"], identity["core_clock_hz"], identity["backend"])
        check_simulate(client, contract, reference, firmware_core_tool, 200, 40)
        client.ok(p.MsgType.RESET, reply=p.MsgType.ACK)
        raw = patient_with_faults(146)
        results = stream(client, contract, raw)
        check_results(results, reference.patient(raw), contract)
        # -icount shift=0: instruction-counted time, so inference cycles are reproducible
        window = reference.patient(raw).windows[0]
        cycles = [p.parse_infer_result(client.ok(p.MsgType.INFER, p.infer_payload(window)).payload,
                                       contract.output_bytes)[0] for _ in range(3)]
        assert cycles[0] > 0 and max(cycles) - min(cycles) <= 1, cycles
        client.port.write(b"\x07" * 300 + b"\x00")
        assert nak(client)[0] == p.NakCode.BAD_LENGTH
        check_info(client, contract, "mps2-an386")
        client.close()
        assert dev.alive(), dev.log_text()
