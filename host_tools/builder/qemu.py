"""Start firmware as a device on this machine: QEMU (an emulated target) or the host program.

    with Emulator(elf, target="mps2-an386") as dev:       # QEMU, UART0 on TCP (or pty=True)
        Device(dev.url) ...
    with HostFirmware(binary) as dev:                     # host firmware, pty (or tcp=True)
        ...
    with launch(run_dir, target="mps2-an386") as dev:     # the run's built firmware

`dev.url` is the pyserial URL to pass as `--port` (socket://127.0.0.1:PORT or /dev/pts/N).
QEMU runs with `-icount shift=0`: one instruction per nanosecond of virtual time, so
cycle counts are deterministic (the MPS2 SysTick runs at the 25 MHz board clock, i.e.
one tick per 40 instructions on AN385/AN386; riscv32 counts instructions with minstret).
The QEMU command of each target is in the board table (firmware/boards.toml).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bedside.host_tools.builder.firmware import TARGETS, binary_name, default_build_dir


class DeviceStartError(RuntimeError):
    """The emulator or host firmware did not start; the message includes its output."""


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    """True once 127.0.0.1:port is in LISTEN state (checked without connecting, because
    QEMU's serial server serves one client and would count a probe as it)."""
    deadline = time.monotonic() + timeout
    needle = f":{port:04X} "
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
                cols = line.split()
                if cols[1].endswith(needle.strip()) and cols[3] == "0A":
                    return True
        except OSError:  # no procfs: connect instead
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                pass
        time.sleep(0.02)
    return False


class _Process:
    """A child process with a log file, stopped on exit of the `with` block."""

    url: str = ""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._log = None

    def _open_log(self, log: Path | None, prefix: str) -> None:
        self._own_log = log is None       # a temporary log is removed by stop()
        if log is None:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=".log")
            os.close(fd)
            log = Path(name)
        self.log_path = Path(log)
        self._log = open(self.log_path, "w+b")

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None
            if getattr(self, "_own_log", False) and self.log_path is not None:
                self.log_path.unlink(missing_ok=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


class Emulator(_Process):
    """QEMU running a firmware ELF of an emulated target, its UART on TCP (default) or a pty."""

    def __init__(self, elf: Path, target: str = "mps2-an386", tcp_port: int | None = None,
                 pty: bool = False, log: Path | None = None, start_timeout: float = 10.0) -> None:
        super().__init__()
        if not TARGETS.get(target, TARGETS["host"]).qemu:
            raise DeviceStartError(f"target '{target}' is not emulated here; emulated targets: "
                                   f"{', '.join(emulated_targets())}")
        self.elf, self.target, self.pty = Path(elf), target, pty
        self.tcp_port = tcp_port
        self.log_file, self.start_timeout = log, start_timeout

    def command(self) -> list[str]:
        serial = "pty" if self.pty else f"tcp:127.0.0.1:{self.tcp_port},server=on,wait=off,nodelay=on"
        return [*TARGETS[self.target].qemu, "-nographic", "-monitor", "none",
                "-icount", "shift=0", "-kernel", str(self.elf), "-serial", serial]

    def start(self) -> str:
        qemu = TARGETS[self.target].qemu[0]
        if shutil.which(qemu) is None:
            raise DeviceStartError(f"{qemu} not found (./run.sh setup as root installs it)")
        if not self.elf.is_file():
            raise DeviceStartError(f"{self.elf}: firmware not found (bedside build --target "
                                   f"{self.target} RUN_DIR)")
        if not self.pty and not self.tcp_port:
            self.tcp_port = free_tcp_port()
        self._open_log(self.log_file, "bedside-qemu-")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        if self.pty:
            self.url = self._wait_pty()
        elif _wait_listening(self.tcp_port, self.proc, self.start_timeout):
            self.url = f"socket://127.0.0.1:{self.tcp_port}"
        else:
            text = self.log_text()
            self.stop()
            raise DeviceStartError(f"QEMU did not open 127.0.0.1:{self.tcp_port}:\n{text}")
        return self.url

    def _wait_pty(self) -> str:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline and self.alive():
            m = re.search(r"char device redirected to (\S+)", self.log_text())
            if m:
                return m.group(1)
            time.sleep(0.02)
        text = self.log_text()
        self.stop()
        raise DeviceStartError(f"QEMU did not report its pty:\n{text}")


class HostFirmware(_Process):
    """The host firmware program on a pty (default) or TCP."""

    def __init__(self, binary: Path, tcp: bool = False, tcp_port: int = 0,
                 extra_args: list[str] | None = None, log: Path | None = None,
                 start_timeout: float = 10.0) -> None:
        super().__init__()
        self.binary, self.tcp, self.tcp_port = Path(binary), tcp, tcp_port
        self.extra_args = extra_args or []
        self.log_file, self.start_timeout = log, start_timeout

    def start(self) -> str:
        if not self.binary.is_file():
            raise DeviceStartError(f"{self.binary}: firmware not found (bedside build --target host RUN_DIR)")
        link = ["--tcp", str(self.tcp_port)] if self.tcp else ["--pty"]
        self._open_log(self.log_file, "bedside-host-fw-")
        self.proc = subprocess.Popen([str(self.binary), *link, *self.extra_args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True)
        line = self.proc.stdout.readline()   # "PORT <url>", printed once the link is open
        if not line.startswith("PORT "):
            self.proc.wait(timeout=5)
            text = self.log_text()
            self.stop()
            raise DeviceStartError(f"host firmware did not start ({line.strip()!r}):\n{text}")
        self.url = line.split(None, 1)[1].strip()
        return self.url

    def stop(self) -> None:
        super().stop()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()


def launch(run_dir: Path, target: str = "mps2-an386", backend: str = "compiled",
           pty: bool = False, tcp_port: int | None = None, log: Path | None = None) -> _Process:
    """The device for a run's built firmware (not started: use it in a `with`)."""
    if target not in ("host", *emulated_targets()):
        raise DeviceStartError(f"target '{target}' cannot run here: choose one of host, "
                               f"{', '.join(emulated_targets())}")
    binary = default_build_dir(Path(run_dir), target, backend) / binary_name(target)
    if target == "host":
        return HostFirmware(binary, tcp=not pty and tcp_port is not None, tcp_port=tcp_port or 0, log=log)
    return Emulator(binary, target, tcp_port=tcp_port, pty=pty, log=log)


def emulated_targets() -> list[str]:
    """Targets QEMU runs here (their firmware is verified like a board)."""
    return [name for name, t in TARGETS.items() if t.qemu]
