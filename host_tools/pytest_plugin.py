"""pytest plugin for hardware-in-the-loop tests: `dut` / `duts` fixtures (docs/bench.md).

    pytest --port /dev/ttyACM0 --run-dir runs/demo tests_hil/
    pytest --port socket://127.0.0.1:5555 --port socket://127.0.0.1:5556 tests_hil/

The same test runs unchanged against a real board, the QEMU emulator or the host firmware:
only `--port` changes (any pyserial URL). Tests that use `dut` are skipped without
`--port`. Registered through the `pytest11` entry point of the bedside-kit distribution.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from bedside.contract import protocol as p
from .link import Device


def pytest_addoption(parser) -> None:
    group = parser.getgroup("bedside", "bedside hardware-in-the-loop")
    group.addoption("--port", action="append", default=[], dest="bedside_ports",
                    metavar="URL", help="device under test (repeat for several devices)")
    group.addoption("--run-dir", dest="bedside_run_dir", metavar="RUN_DIR",
                    help="run directory the devices were built from (for dut.verify)")
    group.addoption("--baud", dest="bedside_baud", type=int, default=115200)
    group.addoption("--dut-timeout", dest="bedside_timeout", type=float, default=2.0)


class ExpectError(AssertionError):
    pass


class Dut:
    """A device under test: raw `write`, `expect` a message, the request API, `verify`."""

    def __init__(self, url: str, run_dir: str | None, baudrate: int, timeout: float,
                 log_path: Path) -> None:
        self.url = url
        self.run_dir = run_dir
        self.device = Device(url, baudrate=baudrate, timeout=timeout)
        self.log_path = log_path
        self._log = log_path.open("w")

    # raw access, pytest-embedded style
    def write(self, data: bytes | p.Frame) -> None:
        raw = p.encode_frame(data) if isinstance(data, p.Frame) else bytes(data)
        self._log.write(f"tx {raw.hex()}\n")
        self.device.write_raw(raw)

    def expect(self, mtype: int, seq: int | None = None, timeout: float = 2.0) -> p.Frame:
        """Wait for a frame of `mtype` (and `seq`); fail with what arrived instead."""
        deadline = time.perf_counter() + timeout
        seen = []
        while time.perf_counter() < deadline:
            for ev in self.device.read_events(deadline):
                self._log.write(f"rx {ev}\n")
                if isinstance(ev, p.Frame) and ev.type == mtype and seq in (None, ev.seq):
                    return ev
                seen.append(ev)
        self._log.flush()
        want = p.MsgType(mtype).name if mtype in p.MsgType._value2member_map_ else hex(mtype)
        raise ExpectError(f"{self.url}: expected {want}" + (f" seq {seq}" if seq is not None
                          else "") + f" within {timeout:g} s; got {seen[-5:] or 'nothing'} "
                          f"(full log: {self.log_path})")

    # request API
    def hello(self) -> p.Info:
        return self.device.hello()

    def reset(self) -> None:
        self.device.reset()

    def send_samples(self, samples):
        return self.device.send_samples(samples)

    def infer(self, window):
        return self.device.infer(window)

    def stats(self) -> dict:
        return self.device.stats()

    def simulate(self, n_samples: int, seed: int = 1, deteriorate: bool = True):
        return self.device.simulate(n_samples, seed, deteriorate)

    def verify(self, run_dir: str | Path | None = None, **kwargs) -> dict:
        """verify.verify_device on this device; kwargs: simulate, seed, data, windows_mode."""
        from .verify import verify_device
        run_dir = run_dir or self.run_dir
        if run_dir is None:
            raise pytest.UsageError("dut.verify needs a run directory: pass --run-dir")
        return verify_device(self.device, run_dir, **kwargs)

    def close(self) -> None:
        self._log.close()
        self.device.close()


def _open(config, tmp_path_factory, urls: list[str]) -> list[Dut]:
    log_dir = tmp_path_factory.mktemp("dut-logs")
    return [Dut(u, config.getoption("bedside_run_dir"), config.getoption("bedside_baud"),
                config.getoption("bedside_timeout"), log_dir / f"dut{i}.log")
            for i, u in enumerate(urls)]


@pytest.fixture
def duts(request, tmp_path_factory):
    """Every device given with --port (skips the test when there is none)."""
    urls = request.config.getoption("bedside_ports")
    if not urls:
        pytest.skip("no device: pass --port URL")
    devices = _open(request.config, tmp_path_factory, urls)
    yield devices
    for d in devices:
        d.close()


@pytest.fixture
def dut(duts):
    """The first device given with --port."""
    return duts[0]
