"""The Python protocol codec against docs/protocol.md, the shared vectors and properties."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedside.contract import protocol as p
from bedside.host_tools.link import protocol_vectors

VECTORS = Path(__file__).parent / "data" / "protocol_vectors.json"


def test_vectors_file_is_generator_output():
    assert VECTORS.read_text() == protocol_vectors.render(), \
        "regenerate: python -m bedside.host_tools.link.protocol_vectors > tests/data/protocol_vectors.json"


# Wikipedia's COBS examples (Cheshire & Baker canonical form), independent of our encoder.
WIKI = [
    ("00", "0101"), ("0000", "010101"), ("00110000", "01021101 01".replace(" ", "")),
    ("11220033", "03112202 33".replace(" ", "")), ("11223344", "0511223344"),
    ("11000000", "0211010101"),
]


@pytest.mark.parametrize("raw,enc", WIKI)
def test_cobs_known_examples(raw, enc):
    assert p.cobs_encode(bytes.fromhex(raw)).hex() == enc
    assert p.cobs_decode(bytes.fromhex(enc)).hex() == raw


def test_cobs_254_and_255_byte_runs():
    run254 = bytes(range(1, 255))
    assert p.cobs_encode(run254) == b"\xff" + run254
    assert p.cobs_encode(b"\x00" + run254) == b"\x01\xff" + run254
    run255 = bytes(range(1, 256))
    assert p.cobs_encode(run255) == b"\xff" + run254 + b"\x02\xff"
    assert p.cobs_decode(b"\xff" + run254 + b"\x01") == run254   # non-canonical also decodes


def test_vectors_match_spec_layout():
    v = json.loads(VECTORS.read_text())
    assert v["protocol_version"] == p.VERSION and v["max_payload"] == 1024
    for f in v["frames"]:
        body = bytes.fromhex(f["body"])
        payload = bytes.fromhex(f["payload"])
        # layout written out by hand from the spec table, not via the codec
        head = struct.pack("<BBHH", f["version"], f["type"], f["seq"], len(payload)) + payload
        assert body == head + struct.pack("<I", zlib.crc32(head)), f["name"]
        wire = bytes.fromhex(f["wire"])
        assert wire.endswith(b"\x00") and wire.count(0) == 1, f["name"]
        assert p.encode_frame(p.Frame(f["type"], f["seq"], payload, f["version"])) == wire
        decoded = p.decode_frame(wire)
        assert decoded == p.Frame(f["type"], f["seq"], payload, f["version"]), f["name"]


def test_vector_payloads_parse_to_their_fields():
    v = {f["name"]: f for f in json.loads(VECTORS.read_text())["frames"]}
    info = p.parse_info(bytes.fromhex(v["info"]["payload"]))
    assert info.as_dict() == v["info"]["fields"]
    assert info.board == "mps2-an386" and info.window_length == 60
    total, results = p.parse_results(bytes.fromhex(v["samples_ack_2"]["payload"]), 1)
    fields = v["samples_ack_2"]["fields"]
    assert total == fields["samples_total"] == 65
    assert [r.output_q.tolist() for r in results] == [r["output"] for r in fields["results"]]
    assert [r.cycles for r in results] == [123456, 1 << 24]
    total, floor, _ = p.parse_samples_ack(bytes.fromhex(v["samples_ack_2"]["payload"]), 1)
    assert floor.tolist() == fields["floor"] and total == 65
    s_i, flags, cause, raw = p.parse_floor_event(bytes.fromhex(v["floor"]["payload"]), 7)
    assert (s_i, flags, cause, raw.tolist()) == (2, 0x14, 0, v["floor"]["fields"]["raw"])
    assert p.parse_stats(bytes.fromhex(v["stats_result"]["payload"]))["cycles_last"] == 98765
    assert p.parse_nak(bytes.fromhex(v["nak_bad_payload"]["payload"])) == (
        p.NakCode.BAD_PAYLOAD, 420)
    cycles, out = p.parse_infer_result(bytes.fromhex(v["infer_result"]["payload"]), 1)
    assert cycles == 4242 and out == b"\xf0"
    s = np.frombuffer(bytes.fromhex(v["samples_2"]["payload"])[1:], "<i2").reshape(-1, 7)
    assert s.tolist() == v["samples_2"]["fields"]["samples"]
    assert len(bytes.fromhex(v["samples_max"]["payload"])) <= p.MAX_PAYLOAD


def test_decode_error_vectors():
    for e in json.loads(VECTORS.read_text())["decode_errors"]:
        events = p.FrameDecoder().feed(bytes.fromhex(e["wire"]))
        assert events == [p.FrameError(p.NakCode(e["code"]), e["detail"], e["seq"])], e["name"]


def test_bad_payloads_are_named():
    with pytest.raises(p.ProtocolError, match="INFO payload"):
        p.parse_info(b"\x01\x01\x00\x04ab")
    info = p.parse_info(bytes.fromhex({f["name"]: f for f in json.loads(
        VECTORS.read_text())["frames"]}["info"]["payload"]))
    assert info.build_id == bytes(range(0xA0, 0xA8)) and info.model_format == 1
    assert len(p.info_payload(info)) == p.INFO_BYTES_MAX - 32 + len("mps2-an386")
    # older firmware's INFO (without build_id and model_format, or before held_sha256 too)
    # is refused on its length, unread
    whole = p.info_payload(info)
    for cut, missing in ((9, "without build_id"), (41, "without held_sha256")):
        with pytest.raises(p.OlderInfoError, match=missing):
            p.parse_info(whole[:-cut])
    with pytest.raises(p.ProtocolError, match=f"implies {len(whole)}"):
        p.parse_info(whole[:-10])
    with pytest.raises(p.ProtocolError, match="SAMPLES_ACK"):
        p.parse_results(b"\x00\x00\x00\x00\x01abc", 1)
    with pytest.raises(p.ProtocolError, match="MAX_PAYLOAD"):
        p.encode_frame(p.Frame(p.MsgType.INFER, 1, bytes(1025)))
    with pytest.raises(p.ProtocolError, match="do not fit"):
        p.samples_payload(np.zeros((74, 7), np.int16))
    assert p.max_samples_per_frame(7) == 73


frames_st = st.builds(p.Frame, st.integers(0, 255), st.integers(0, 0xFFFF),
                      st.binary(max_size=p.MAX_PAYLOAD))


@settings(max_examples=200, deadline=None)
@given(frames_st)
def test_round_trip(frame):
    wire = p.encode_frame(frame)
    assert wire.count(0) == 1 and len(wire) <= p.MAX_ENCODED
    assert p.FrameDecoder().feed(wire) == [frame]


@settings(max_examples=200, deadline=None)
@given(st.lists(frames_st, min_size=1, max_size=4), st.binary(max_size=2000),
       st.data())
def test_resync_after_garbage(frames, garbage, data):
    """Garbage then a delimiter costs at most one dropped frame; later frames all arrive,
    however the stream is chunked."""
    stream = garbage + b"\x00" + b"".join(p.encode_frame(f) for f in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    decoder, events = p.FrameDecoder(), []
    for a, b in zip([0] + cuts, cuts + [len(stream)]):
        events += decoder.feed(stream[a:b])
    got = [e for e in events if isinstance(e, p.Frame)]
    assert got[-len(frames):] == frames
    assert len(events) <= len(frames) + garbage.count(0) + 1


@settings(max_examples=200, deadline=None)
@given(frames_st, st.integers(0, 10_000), st.integers(0, 7))
def test_single_bit_flip_is_detected(frame, pos, bit):
    body = bytearray(p.encode_body(frame))
    body[pos % len(body)] ^= 1 << bit
    result = p.decode_frame(p.cobs_encode(bytes(body)) + b"\x00")
    assert isinstance(result, p.FrameError)
