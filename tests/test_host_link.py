"""Host-side link and CLI plumbing that needs no model: port errors, loop://, commands,
and the host-only import rule (no TensorFlow in `bedside verify`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bedside.contract import protocol as p
from bedside.cli import main
from bedside.host_tools.link.client import Device, LinkError, open_serial

ROOT = Path(__file__).resolve().parents[1]


def test_missing_port_is_named():
    with pytest.raises(LinkError, match="no such port"):
        Device("/dev/ttyDOES-NOT-EXIST")


def test_refused_socket_is_named():
    from bedside.host_tools.builder.qemu import free_tcp_port
    with pytest.raises(LinkError, match="connection refused"):
        Device(f"socket://127.0.0.1:{free_tcp_port()}")


def test_busy_pty_is_named():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    try:
        first = open_serial(path)
        with pytest.raises(LinkError, match="busy"):
            open_serial(path)
        first.close()
    finally:
        os.close(master)
        os.close(slave)


def test_loopback_exchange_and_counters():
    """On loop:// a request comes back as itself: framing, seq and counters work, and a
    reply of the wrong type is reported by name."""
    dev = Device("loop://", timeout=0.2, retries=0)
    with pytest.raises(LinkError, match="HELLO answered with HELLO, expected INFO"):
        dev.hello()
    wire = len(p.encode_frame(p.Frame(p.MsgType.HELLO, 1)))
    assert dev.counters.bytes_tx == wire == dev.counters.bytes_rx
    assert dev.counters.requests == 1 and dev.counters.retries == 0


def test_timeout_retries_same_seq_then_fails():
    import serial
    master, slave = os.openpty()
    try:
        dev = Device(os.ttyname(slave), timeout=0.05, retries=2)
        with pytest.raises(LinkError, match="3 attempts"):
            dev.reset()
        data = os.read(master, 4096)
        frames = p.FrameDecoder().feed(data)
        # re-sent with the same seq (silence: no bursts, see link.BURST_AFTER)
        assert [f.seq for f in frames] == [1, 1, 1]
        assert dev.counters.retries == 2 and dev.counters.timeouts == 3
        dev.close()
    finally:
        os.close(master)
        os.close(slave)
    assert serial  # pyserial is the only transport


def test_ports_command(capsys):
    assert main(["ports", "--json"]) == 0
    assert capsys.readouterr().out.strip().startswith("[")


def test_bench_dispatcher_names_missing_module(capsys, monkeypatch):
    from bedside.bench import cmd_bench
    monkeypatch.setitem(cmd_bench.BENCHES, "future", ("host_tools.bench_future", "later"))
    assert main(["bench", "future", "--x"]) == 2
    assert "needs the package 'host_tools.bench_future'" in capsys.readouterr().err
    with pytest.raises(SystemExit):                  # a present module parses its options
        main(["bench", "link", "--help"])
    assert "--port" in capsys.readouterr().out


def _imports_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                          "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
                          "('tensorflow', 'keras')))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return set(out.stdout.split())


def test_verify_help_and_modules_do_not_import_tensorflow():
    code = ("import contextlib, io\nfrom bedside.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['verify', '--help'])\n    except SystemExit: pass\n"
            "import bedside.host_tools.verify.verifier, bedside.reference.pipeline, bedside.host_tools.link.client, "
            "bedside.host_tools.verify.reports, bedside.host_tools.verify.cmd_verify, bedside.host_tools.link.cmd_monitor, "
            "bedside.bench.link, bedside.host_tools.hil.pytest_plugin, bedside.sources.streams")
    assert _imports_after(code) == set()
