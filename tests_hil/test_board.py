"""Hardware-in-the-loop example (docs/bench.md): the same file runs against a real board,
the QEMU emulator or the host firmware; only the port changes.

    pytest tests_hil --bedside-port /dev/ttyACM0 --bedside-run runs/demo
    pytest tests_hil --bedside-run runs/demo --bedside-target host

The devices are opened, greeted and checked against the run's manifest once, before the
first test (host_tools/hil/pytest_plugin.py). `verify()` streams the run's first test
patients; without the TFLM wheel (`pip install bedside-kit[host]`) their outputs come from
the run's stored reference, so this runs on a bench PC without TensorFlow.
"""
from bedside.contract import protocol as p


def test_answers_hello(bedside_device):
    info = bedside_device.hello()
    assert info.protocol_version == p.VERSION and info.window_length > 0


def test_stats_after_raw_frame(bedside_device):
    bedside_device.write(p.Frame(p.MsgType.STATS, 77))
    stats = p.parse_stats(bedside_device.expect(p.MsgType.STATS_RESULT, seq=77).payload)
    assert stats["frames_ok"] >= 1


def test_every_board_is_bit_exact(bedside_devices):
    for device in bedside_devices:
        summary = device.verify(patients=2)
        assert summary["passed"], summary["first_mismatches"]
