"""Hostile probes: what a tester tries on a device and on the kit's commands (issue 13).

    results = run_probes(run_dir, binary)      # {"<name>": {"passed": bool, "detail": str}}

Each probe starts what it needs (the run's host firmware, `bedside` in a subprocess),
does one hostile thing and checks the documented answer: the device keeps answering,
a bad argument or file exits 2 with one line naming it, a dead device exits 8, nothing
the kit did not create is deleted. `bedside bench reliability` records them in
reliability.json; tests/test_probes.py runs each as a test.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from bedside.contract import protocol as p
from bedside.kitfiles import PACKAGE_DIR
from bedside.rundir import RunPaths

ROOT = PACKAGE_DIR.parent   # the folder holding the bedside package


class ProbeFailed(AssertionError):
    """The device or command did not give the documented answer (the message says what)."""


@dataclass
class Setup:
    run_dir: Path          # a converted run (int8/ manifest and model)
    binary: Path           # its host firmware (bedside build --target host)
    work: Path             # scratch folder for this probe


def expect(ok: bool, detail: str) -> None:
    if not ok:
        raise ProbeFailed(detail)


# ------------------------------------------------------------------ helpers

def cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`bedside ARGV` in a fresh interpreter (this checkout first on the path)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [x for x in [os.environ.get("PYTHONPATH")] if x])}
    return subprocess.run([sys.executable, "-m", "bedside.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def refused(proc: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    """Check exit `code`, no traceback, and a last stderr line naming every needle."""
    err = proc.stderr.strip()
    last = err.splitlines()[-1] if err else ""
    expect("Traceback" not in proc.stderr + proc.stdout,
           f"traceback: {proc.stderr.strip()[-300:]}")
    expect(proc.returncode == code, f"exit {proc.returncode}, expected {code}: {last[:200]}")
    missing = [n for n in needles if n not in last]
    expect(not missing, f"message does not name {missing}: {last[:200]}")
    return f"exit {code}: {last[:160]}"


def firmware(s: Setup, *extra: str):
    from bedside.host_tools.builder.qemu import HostFirmware
    return HostFirmware(s.binary, tcp=True, extra_args=list(extra))


class Wire:
    """A raw TCP client: frames out, decoded frames in (no retries: probes see everything)."""

    def __init__(self, url: str) -> None:
        host, _, port = url[len("socket://"):].rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = p.FrameDecoder()
        self.raw = b""
        self.closed = False

    def send(self, mtype: int, seq: int, payload: bytes = b"") -> None:
        self.sock.sendall(p.encode_frame(p.Frame(mtype, seq, payload)))

    def read(self, seconds: float, until: Callable[[list], bool] | None = None) -> list:
        out, end = [], time.monotonic() + seconds
        while time.monotonic() < end and not self.closed:
            self.sock.settimeout(max(0.01, min(0.05, end - time.monotonic())))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed = True
                break
            self.raw += data
            out += self.decoder.feed(data)
            if until is not None and until(out):
                break
        return out

    def reply(self, seq: int, seconds: float = 2.0) -> p.Frame | None:
        evs = self.read(seconds, lambda es: any(getattr(e, "seq", None) == seq for e in es))
        return next((e for e in evs if getattr(e, "seq", None) == seq), None)

    def close(self) -> None:
        self.sock.close()


# ------------------------------------------------------------------ device probes

def simulate_bounded(s: Setup) -> str:
    """SIMULATE of 2^32-1 samples must not hold the device: HELLO answered within 1 s."""
    with firmware(s) as fw:
        w = Wire(fw.url)
        t0 = time.monotonic()
        w.send(p.MsgType.SIMULATE, 1, p.simulate_payload(0xFFFFFFFF, 1, True))
        w.send(p.MsgType.HELLO, 2)
        info = w.reply(2, 5.0)
        took = time.monotonic() - t0
        expect(info is not None and info.type == p.MsgType.INFO,
               f"no INFO within 5 s after SIMULATE n=2^32-1 (got {info})")
        expect(took < 1.0, f"INFO after {took:.2f} s (bound 1 s)")
        w.close()
        expect(fw.alive(), "firmware died")
    return f"SIMULATE n=2^32-1 then HELLO: INFO after {took * 1000:.0f} ms"


def _events(frames: list) -> list[p.Frame]:
    return [f for f in frames if isinstance(f, p.Frame) and f.type == p.MsgType.EVENT]


def stray_frames_keep_standalone(s: Setup) -> str:
    """Stand-alone EVENTs survive a SAMPLES count=0, SIMULATE n=0, junk, a bad CRC and
    HELLO; a RESET pauses them only for the host lease, then a new patient starts."""
    lease = 0.5
    with firmware(s, "--simulate", "--sample-ms", "1", "--host-lease-ms",
                  str(int(lease * 1000))) as fw:
        w = Wire(fw.url)
        w.send(p.MsgType.HELLO, 1)
        hello = w.reply(1)
        expect(hello is not None and hello.type == p.MsgType.INFO, "no INFO")
        info = p.parse_info(hello.payload)
        expect(_events(w.read(1.5, lambda es: len(_events(es)) >= 1)), "no EVENT at all")
        strays = {"SAMPLES count=0": lambda: w.send(p.MsgType.SAMPLES, 3, b"\x00"),
                  "SIMULATE n=0": lambda: w.send(p.MsgType.SIMULATE, 4,
                                                 p.simulate_payload(0, 1, True)),
                  "junk bytes": lambda: w.sock.sendall(b"\x07\x99junk\x00"),
                  "bad CRC": lambda: w.sock.sendall(p.encode_frame(
                      p.Frame(p.MsgType.RESET, 5))[:-3] + b"\x01\x01\x00"),
                  "HELLO": lambda: w.send(p.MsgType.HELLO, 6)}
        for name, send in strays.items():
            send()
            w.read(0.05)
            evs = _events(w.read(1.0, lambda es: len(_events(es)) >= 2))
            expect(len(evs) >= 2, f"EVENTs stopped after a stray {name}")
        w.send(p.MsgType.RESET, 7)
        reset_at = time.monotonic()
        w.reply(7, 1.0)
        paused = _events(w.read(lease * 0.6))
        expect(not paused, f"{len(paused)} EVENTs while a host drives the device")
        later = _events(w.read(3.0, lambda es: len(_events(es)) >= 1))
        resumed = time.monotonic() - reset_at
        expect(bool(later), f"EVENTs did not resume {lease} s after the host's last RESET")
        first = p.parse_event(later[0].payload, info.output_bytes, info.n_signals)[0]
        expect(first.window_index == 0, f"resumed at window {first.window_index}, not with "
               "a new patient")
        w.close()
        expect(fw.alive(), "firmware died")
    return (f"EVENTs continue after {', '.join(strays)}; RESET pauses them, they resume "
            f"with a new patient {resumed:.2f} s later (lease {lease} s)")


def idle_client_dropped(s: Setup) -> str:
    """A TCP client that sends nothing is disconnected; the next one is served."""
    with firmware(s, "--idle-timeout-ms", "300") as fw:
        w = Wire(fw.url)
        t0 = time.monotonic()
        w.read(3.0)
        took = time.monotonic() - t0
        expect(w.closed, "an idle client still holds the device after 3 s")
        expect(b"idle" in w.raw, f"no message to the idle client: {w.raw[:80]!r}")
        w.close()
        w = Wire(fw.url)
        w.send(p.MsgType.HELLO, 1)
        info = w.reply(1)
        expect(info is not None and info.type == p.MsgType.INFO, "next client not served")
        w.close()
    return f"idle client (timeout 0.3 s) disconnected after {took:.2f} s; next client served"


def second_client_refused(s: Setup) -> str:
    """While one client is connected, a second gets a message and is closed."""
    with firmware(s) as fw:
        a = Wire(fw.url)
        a.send(p.MsgType.HELLO, 1)
        expect(a.reply(1) is not None, "first client not served")
        b = Wire(fw.url)
        b.read(2.0)
        expect(b.closed, "second client neither served nor closed")
        text = b.raw.decode("ascii", "replace").strip()
        expect("busy" in text, f"second client got no message: {b.raw[:80]!r}")
        a.send(p.MsgType.HELLO, 2)
        expect(a.reply(2) is not None, "first client lost after the second was refused")
        a.close()
        b.close()
    return f"second client told {text!r} and closed; first still served"


def decoder_reset_per_client(s: Setup) -> str:
    """A client that leaves half a frame and a cached reply behind does not affect the next:
    its first frame decodes, and a repeated seq is executed, not answered from the cache."""
    with firmware(s) as fw:
        a = Wire(fw.url)
        a.send(p.MsgType.SIMULATE, 1, p.simulate_payload(10, 1, True))
        first = a.reply(1)
        expect(first is not None and first.type == p.MsgType.SIMULATE_RESULT, "no reply")
        a.sock.sendall(b"\x05half a frame")            # no 0x00: left open
        time.sleep(0.1)
        a.close()
        time.sleep(0.2)
        b = Wire(fw.url)
        b.send(p.MsgType.SIMULATE, 1, p.simulate_payload(10, 1, True))
        again = b.reply(1)
        expect(again is not None and again.type == p.MsgType.SIMULATE_RESULT,
               f"the next client's first frame was not decoded: {again}")
        n0, n1 = (int.from_bytes(f.payload[:4], "little") for f in (first, again))  # samples_total
        expect(n1 == n0 + 10, f"the repeated seq was answered from the old client's cache "
               f"(samples_total {n0} -> {n1})")
        b.close()
    return "next client's first frame decoded; its seq 1 executed (samples_total " \
           f"{n0} -> {n1}), not replayed"


# ------------------------------------------------------------------ command probes

def _run_copy(s: Setup) -> Path:
    """The run's manifest and model in a scratch run folder (to damage)."""
    src, dst = RunPaths(s.run_dir), RunPaths(s.work / "run")
    dst.int8_dir.mkdir(parents=True, exist_ok=True)
    for name in ("manifest", "tflite"):
        shutil.copy2(getattr(src, name), getattr(dst, name))
    return dst.root


def _verify_bad(s: Setup, *argv: str, run_dir: Path | None = None) -> subprocess.CompletedProcess:
    # loop:// answers nothing: a bad input must be refused before any device is asked
    return cli("verify", str(run_dir or s.run_dir), "--port", "loop://", "--no-plots",
               "--out", str(s.work / "report"), *argv)


def out_foreign_folder_kept(s: Setup) -> str:
    """--out into a folder the kit did not create is refused (exit 2), nothing deleted; a
    folder the kit made is replaced."""
    foreign = s.work / "mine"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("do not delete\n")
    with firmware(s) as fw:
        proc = cli("verify", str(s.run_dir), "--port", fw.url, "--simulate", "1",
                   "--no-plots", "--float", "none", "--out", str(foreign))
        detail = refused(proc, 2, str(foreign), "did not create")
        expect((foreign / "thesis.txt").read_text() == "do not delete\n", "file deleted")
        expect(sorted(x.name for x in foreign.iterdir()) == ["thesis.txt"], "folder changed")
        ours = s.work / "ours"
        for attempt in (1, 2):
            proc = cli("verify", str(s.run_dir), "--port", fw.url, "--simulate", "1",
                       "--no-plots", "--float", "none", "--out", str(ours))
            expect(proc.returncode == 0, f"verify #{attempt} into its own folder: exit "
                   f"{proc.returncode}: {proc.stderr.strip()[-200:]}")
    return detail + "; its own report folder is replaced on a second run"


def manifest_field_type(s: Setup) -> str:
    run = _run_copy(s)
    path = RunPaths(run).manifest
    m = json.loads(path.read_text())
    m["model"]["output"]["bytes"] = "1"
    path.write_text(json.dumps(m))
    return refused(_verify_bad(s, "--simulate", "1", run_dir=run), 2, str(path),
                   "model.output.bytes")


def csv_with_inf(s: Setup) -> str:
    f = s.work / "inf.csv"
    f.write_text("patient_id,time_min,hr\np1,0,80\np1,1,inf\n")
    return refused(_verify_bad(s, "--data", str(f)), 2, f"{f}:3", "hr")


def csv_not_utf8(s: Setup) -> str:
    f = s.work / "latin1.csv"
    f.write_bytes(b"patient_id,time_min,hr\np1,0,80\np\xe91,1,80\n")
    return refused(_verify_bad(s, "--data", str(f)), 2, f"{f}:3", "UTF-8")


def npz_truncated(s: Setup) -> str:
    f = s.work / "cohort.npz"
    buf = s.work / "full.npz"
    np.savez(buf, raw=np.zeros((100, 7), np.int16))
    f.write_bytes(buf.read_bytes()[:150])
    return refused(_verify_bad(s, "--data", str(f)), 2, str(f))


def _bad_argument(flag: str, value: str) -> Callable[[Setup], str]:
    def probe(s: Setup) -> str:
        return refused(_verify_bad(s, "--simulate", "1", flag, value), 2, flag, value)
    probe.__doc__ = f"`bedside verify {flag} {value}` is a bad argument (exit 2)"
    return probe


def zero_comparable_windows(s: Setup) -> str:
    f = s.work / "short.csv"
    f.write_text("patient_id,time_min,hr\np1,0,80\np1,1,81\n")
    return refused(_verify_bad(s, "--data", str(f)), 2, "no comparable windows")


class _Command:
    """`bedside ARGV` in the background, output in files (a pipe nobody reads would
    block a live view)."""

    def __init__(self, work: Path, *argv: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
        self.out, self.err = work / "stdout.txt", work / "stderr.txt"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "bedside.cli", *argv], cwd=ROOT,
                                         env=env, stdout=out, stderr=err, text=True)

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            if needle in self.out.read_text():
                return
            time.sleep(0.05)
        raise ProbeFailed(f"never printed {needle!r}: {self.err.read_text()[-300:]}")

    def result(self, timeout: float = 60) -> subprocess.CompletedProcess:
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.proc.kill()
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode,
                                           self.out.read_text(), self.err.read_text())


def device_dies_mid_run(s: Setup) -> str:
    """The firmware killed during `bedside verify`: exit 8, a message, no traceback."""
    with firmware(s) as fw:
        cmd = _Command(s.work, "verify", str(s.run_dir), "--port", fw.url, "--simulate", "50",
                       "--no-plots", "--float", "none", "--out", str(s.work / "report"))
        cmd.wait_for("matches the run")
        os.kill(fw.proc.pid, signal.SIGKILL)
        t0 = time.monotonic()
        result = cmd.result()
    return refused(result, 8, "disconnected") + f" ({time.monotonic() - t0:.1f} s after the kill)"


def monitor_device_dies(s: Setup) -> str:
    """`bedside monitor` whose device is killed ends with exit 8 and a message."""
    with firmware(s, "--verbose") as fw:
        cmd = _Command(s.work, "monitor", "--port", fw.url, "--speed", "1e6")
        # a live view prints nothing to a file until it ends: wait for the firmware to see it
        end = time.monotonic() + 60
        while "client connected" not in fw.log_text() and time.monotonic() < end:
            expect(cmd.proc.poll() is None, f"monitor ended early: {cmd.err.read_text()[-300:]}")
            time.sleep(0.05)
        time.sleep(0.5)
        expect(cmd.proc.poll() is None, f"monitor ended early: {cmd.err.read_text()[-300:]}")
        os.kill(fw.proc.pid, signal.SIGKILL)
        result = cmd.result()
    return refused(result, 8, "disconnected")


PROBES: dict[str, Callable[[Setup], str]] = {
    "simulate bounded": simulate_bounded,
    "stray frames keep stand-alone mode": stray_frames_keep_standalone,
    "idle client disconnected": idle_client_dropped,
    "second client refused": second_client_refused,
    "decoder reset per client": decoder_reset_per_client,
    "--out foreign folder kept": out_foreign_folder_kept,
    "manifest field of the wrong type": manifest_field_type,
    "CSV with inf": csv_with_inf,
    "CSV not UTF-8": csv_not_utf8,
    "truncated .npz": npz_truncated,
    "--baud 0": _bad_argument("--baud", "0"),
    "--seed -1": _bad_argument("--seed", "-1"),
    "--timeout 0": _bad_argument("--timeout", "0"),
    "--retries -1": _bad_argument("--retries", "-1"),
    "zero comparable windows": zero_comparable_windows,
    "device dies mid-run": device_dies_mid_run,
    "monitor: device dies": monitor_device_dies,
}


def run_probe(name: str, run_dir: Path, binary: Path) -> dict:
    """One probe -> {"passed": bool, "detail": str} (a probe's own crash is a failure)."""
    with tempfile.TemporaryDirectory(prefix="probe-") as work:
        try:
            detail = PROBES[name](Setup(Path(run_dir), Path(binary), Path(work)))
            return {"passed": True, "detail": detail}
        except ProbeFailed as e:
            return {"passed": False, "detail": str(e)}
        except Exception as e:  # noqa: BLE001 - reported as the probe's failure
            return {"passed": False, "detail": f"probe error {type(e).__name__}: {e}"}


def run_probes(run_dir: Path, binary: Path, names=None) -> dict[str, dict]:
    return {n: run_probe(n, run_dir, binary) for n in (names or PROBES)}
