"""Bad frames against the real firmware: each gets its documented NAK and the device keeps running.

The host firmware here is built with AddressSanitizer + UBSan (`sanitize=True`, aborts on
the first finding), so a memory error on any of these paths fails the test; a subset runs
on the Cortex-M4 firmware under QEMU. docs/protocol.md (NAK codes), docs/reliability.md.
"""
from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest

from bedside.contract import protocol as p
from bedside.host_tools.link.client import Device
from bedside.host_tools.builder.qemu import Emulator, HostFirmware

N = p.NakCode


@pytest.fixture(scope="module")
def asan_firmware(converted_run_dir):
    from bedside.host_tools.builder.firmware import build_firmware
    # a fixed folder: the other reliability tests reuse this build (incremental: no-op)
    return build_firmware(converted_run_dir, "host", sanitize=True,
                          build_dir=converted_run_dir / "firmware" / "host-asan")


@pytest.fixture(scope="module")
def host_dev(asan_firmware):
    with HostFirmware(asan_firmware.binary, tcp=True) as proc:
        with Device(proc.url, timeout=1.0, retries=1) as dev:
            dev.hello()
            yield dev, proc
        assert proc.alive(), f"firmware died:\n{proc.log_text()}"
    log = proc.log_text()
    assert "ERROR: AddressSanitizer" not in log and "runtime error" not in log, log


def body(version=p.VERSION, mtype=p.MsgType.HELLO, seq=7, payload=b"", length=None):
    """A frame body with a correct CRC (and an optional lying length field)."""
    n = len(payload) if length is None else length
    head = struct.pack("<BBHH", version, mtype, seq, n) + payload
    return head + struct.pack("<I", zlib.crc32(head))


def wire(b: bytes) -> bytes:
    return p.cobs_encode(b) + b"\x00"


def exchange(dev: Device, raw: bytes, timeout: float = 2.0) -> p.Frame:
    """Send raw bytes, return the first frame the device sends back."""
    dev.drain(0.05)
    dev.write_raw(raw)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for ev in dev.read_events(deadline):
            assert isinstance(ev, p.Frame), f"device sent a damaged frame: {ev}"
            return ev
    raise AssertionError(f"no reply within {timeout} s to {raw[:40].hex()}...")


def nak(frame: p.Frame) -> tuple[int, int, int]:
    assert frame.type == p.MsgType.NAK, f"expected a NAK, got {frame.name}"
    code, detail = p.parse_nak(frame.payload)
    return code, detail, frame.seq


def cases(n_signals: int, input_bytes: int):
    """(name, wire bytes, expected (code, detail, seq)) of each bad frame."""
    hello = body()
    bad_crc = bytearray(hello)
    bad_crc[-1] ^= 0x5A
    truncated = wire(hello)[:-4] + b"\x00"            # lost its last 3 bytes
    samples = p.samples_payload(np.zeros((3, n_signals), np.int16))
    return [
        ("too long", b"\x55" * 1500 + b"\x00", (N.TOO_LONG, 0, p.UNTRUSTED_SEQ)),
        ("truncated", truncated, (N.BAD_LENGTH, None, p.UNTRUSTED_SEQ)),
        ("too short", wire(b"\x01\x01\x07"), (N.BAD_LENGTH, 3, p.UNTRUSTED_SEQ)),
        ("length field lies", wire(body(length=4)), (N.BAD_LENGTH, 10, p.UNTRUSTED_SEQ)),
        ("wrong CRC", wire(bytes(bad_crc)), (N.BAD_CRC, 0, p.UNTRUSTED_SEQ)),
        ("unknown type", wire(body(mtype=0x42, seq=9)), (N.UNKNOWN_TYPE, 0x42, 9)),
        ("reply type sent to device", wire(body(mtype=p.MsgType.INFO, seq=10)),
         (N.UNKNOWN_TYPE, p.MsgType.INFO, 10)),
        ("wrong protocol version", wire(body(version=1, seq=11)), (N.BAD_VERSION, 1, 11)),
        ("SAMPLES count disagrees", wire(body(mtype=p.MsgType.SAMPLES, seq=12,
                                              payload=bytes([4]) + samples[1:])),
         (N.BAD_PAYLOAD, 1 + 4 * 2 * n_signals, 12)),
        ("INFER wrong size", wire(body(mtype=p.MsgType.INFER, seq=13, payload=b"\x01" * 5)),
         (N.BAD_PAYLOAD, input_bytes, 13)),
        # HELLO carries nothing, or one byte: the INFO part asked for
        ("HELLO with 2 bytes", wire(body(seq=14, payload=b"xy")), (N.BAD_PAYLOAD, 0, 14)),
    ]


CASE_NAMES = [c[0] for c in cases(7, 420)]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_frame_gets_its_nak_and_device_keeps_running(name, host_dev):
    dev, proc = host_dev
    info = dev.info
    raw, want = {c[0]: c[1:] for c in cases(info.n_signals, info.input_bytes)}[name]
    before = dev.stats()
    code, detail, seq = nak(exchange(dev, raw))
    assert (code, seq) == (want[0], want[2]), (name, code, detail, seq)
    if want[1] is not None:
        assert detail == want[1], (name, detail)
    after = dev.stats()
    counter = {N.BAD_CRC: "frames_bad_crc", N.BAD_LENGTH: "frames_bad_length",
               N.BAD_PAYLOAD: "frames_bad_length", N.UNKNOWN_TYPE: "frames_unknown_type",
               N.BAD_VERSION: "frames_bad_version", N.TOO_LONG: "frames_too_long"}[want[0]]
    assert after[counter] == before[counter] + 1
    assert dev.hello().board == "host" and proc.alive()


def test_info_in_parts_equals_info(host_dev):
    """HELLO with a part byte: INFO in INFO_PART_BYTES pieces (for very noisy links) that
    join to the whole INFO; a part past the end is BAD_PAYLOAD with the number of parts."""
    dev, _ = host_dev
    whole = exchange(dev, p.encode_frame(p.Frame(p.MsgType.HELLO, 40))).payload
    joined, part, parts = b"", 0, 1
    while part < parts:
        reply = exchange(dev, p.encode_frame(p.Frame(p.MsgType.HELLO, 41 + part, bytes([part]))))
        got, parts, data = p.parse_info_part(reply.payload)
        assert got == part and len(data) <= p.INFO_PART_BYTES
        joined, part = joined + data, part + 1
    assert joined == whole and parts == -(-len(whole) // p.INFO_PART_BYTES)
    code, detail, seq = nak(exchange(dev, p.encode_frame(p.Frame(p.MsgType.HELLO, 90,
                                                                 bytes([parts])))))
    assert (code, detail, seq) == (N.BAD_PAYLOAD, parts, 90)


def test_garbage_between_frames_resynchronises(host_dev):
    dev, _ = host_dev
    rng = np.random.default_rng(5)
    junk = bytes(rng.integers(1, 256, 300, dtype=np.uint8))   # no 0x00: one long bad frame
    reply = exchange(dev, junk + b"\x00" + p.encode_frame(p.Frame(p.MsgType.HELLO, 21)))
    assert reply.type == p.MsgType.NAK                        # the junk
    assert dev.hello().protocol_version == p.VERSION


def test_duplicate_seq_is_answered_from_cache_not_executed(host_dev):
    dev, _ = host_dev
    dev.reset()
    samples = np.full((4, dev.info.n_signals), 100, np.int16)
    req = p.encode_frame(p.Frame(p.MsgType.SAMPLES, 300, p.samples_payload(samples)))
    first = exchange(dev, req)
    again = exchange(dev, req)                      # a retransmission: same seq, same bytes
    assert first.type == again.type == p.MsgType.SAMPLES_ACK and first == again
    assert p.parse_results(again.payload, dev.info.output_bytes)[0] == 4   # not 8
    assert dev.stats()["samples_total"] == 4


def test_out_of_order_seq_is_a_new_request(host_dev):
    """The host owns seq; an older seq with new content is executed (docs/reliability.md)."""
    dev, _ = host_dev
    dev.reset()
    samples = np.full((2, dev.info.n_signals), 90, np.int16)
    for seq, total in ((500, 2), (200, 4), (500, 6)):
        reply = exchange(dev, p.encode_frame(p.Frame(p.MsgType.SAMPLES, seq,
                                                     p.samples_payload(samples))))
        assert reply.type == p.MsgType.SAMPLES_ACK and reply.seq == seq
        assert p.parse_results(reply.payload, dev.info.output_bytes)[0] == total
        samples = samples + 1                       # new content every time


@pytest.mark.qemu
def test_bad_frames_on_cortex_m(an386_firmware):
    with Emulator(an386_firmware.binary) as emu, Device(emu.url, timeout=2.0) as dev:
        info = dev.hello()
        todo = {"too long", "wrong CRC", "unknown type", "wrong protocol version", "truncated"}
        for name, raw, want in cases(info.n_signals, info.input_bytes):
            if name in todo:
                code, _, seq = nak(exchange(dev, raw, timeout=5.0))
                assert (code, seq) == (want[0], want[2]), name
        assert dev.hello().board == "mps2-an386"
        assert dev.stats()["frames_too_long"] == 1
