"""pytest plugin for hardware-in-the-loop tests: `bedside_device` / `bedside_devices`.

    pytest tests_hil --bedside-port /dev/ttyACM0 --bedside-run runs/demo
    pytest tests_hil --bedside-port socket://127.0.0.1:5555 --bedside-port /dev/pts/7
    pytest tests_hil --bedside-run runs/demo --bedside-target host    # starts the firmware

The same test runs unchanged against a real board, the QEMU emulator or the host firmware:
only the port (any pyserial URL) changes. Every option is prefixed `--bedside-` and every
fixture `bedside_`, so the plugin sits next to pytest-embedded (`--port`, `dut`) in one
environment. Devices are opened once per session (opening a port can reset a board through
DTR/RTS), greeted with HELLO and, with `--bedside-run`, checked against the run's manifest
(model and preprocessing hashes, shapes) before the first test. A test that needs a device
when none is given is an error, not a skip, unless `--bedside-skip-missing` is passed. A
port that cannot be opened, a device that does not answer or is refused fails the test
with one line naming the port (no traceback). The frames each test exchanged are attached
to its report (a "Captured log bedside device" section; JUnit XML gets the log file as a
property, and the text with `-o junit_logging=log`).

`verify()` streams the run's test patients (RUN_DIR/data/cohort.npz) by default: without
the TFLM wheel (`pip install bedside-kit[host]`) their model outputs come from the stored
reference (RUN_DIR/int8/reference_outputs.npz, bedside/reference/stored.py), so the same
test runs on a bench PC that has no TensorFlow. Registered through the `pytest11` entry
point of the bedside-kit distribution.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from bedside.boards import TABLE
from bedside.contract import protocol as p
from bedside.host_tools.link.client import Device, LinkError

# what --bedside-target can start here: the host program and every emulated board
TARGETS = ("host", *TABLE.emulated())
# "Captured log ..." sections are printed with a failure and go into JUnit XML's system-out
# under `-o junit_logging=log` (or `all`); the full log's path is always a JUnit property.
LOG_KEY = "log bedside device"
_DEVICES = pytest.StashKey[list]()


def pytest_addoption(parser) -> None:
    group = parser.getgroup("bedside", "bedside hardware-in-the-loop (docs/bench.md)")
    group.addoption("--bedside-port", action="append", default=[], dest="bedside_ports",
                    metavar="URL", help="device under test (repeat for several devices)")
    group.addoption("--bedside-run", dest="bedside_run", metavar="RUN_DIR",
                    help="run the devices were built from: checked at start, used by verify()")
    group.addoption("--bedside-target", dest="bedside_target", choices=TARGETS,
                    help="start the run's built firmware here (host program or QEMU) as one "
                         "more device; needs --bedside-run")
    group.addoption("--bedside-baud", dest="bedside_baud", type=int, default=115200)
    group.addoption("--bedside-timeout", dest="bedside_timeout", type=float, default=2.0,
                    help="reply timeout, s (default 2)")
    group.addoption("--bedside-skip-missing", action="store_true",
                    dest="bedside_skip_missing",
                    help="skip device tests when no device is given (default: error)")


class ExpectError(AssertionError):
    pass


class _LoggedDevice(Device):
    """A Device that also writes every frame summary to the test log."""

    def __init__(self, url: str, sink, **kwargs) -> None:
        self._sink = sink
        super().__init__(url, **kwargs)

    def _note(self, direction: str, text: str) -> None:
        super()._note(direction, text)
        self._sink(f"{direction} {text}")


class BedsideDevice:
    """A device under test: raw `write`, `expect` a message, the request API, `verify`."""

    def __init__(self, url: str, run_dir: str | None, baudrate: int, timeout: float,
                 log_path: Path) -> None:
        self.url = url
        self.run_dir = run_dir
        self.log_path = log_path
        self._log = log_path.open("w")
        self._lines: list[str] = []        # since the current test started
        self.device = _LoggedDevice(url, self.note, baudrate=baudrate, timeout=timeout)
        self.info: p.Info | None = None

    def note(self, line: str) -> None:
        self._log.write(line + "\n")
        self._lines.append(line)

    def take_log(self) -> str:
        """The lines logged since the last call (one test's exchange)."""
        if not self._log.closed:
            self._log.flush()
        lines, self._lines = self._lines, []
        return "\n".join(lines)

    # raw access, pytest-embedded style
    def write(self, data: bytes | p.Frame) -> None:
        raw = p.encode_frame(data) if isinstance(data, p.Frame) else bytes(data)
        self.note(f"tx raw {raw.hex()}")
        self.device.write_raw(raw)

    def expect(self, mtype: int, seq: int | None = None, timeout: float = 2.0) -> p.Frame:
        """Wait for a frame of `mtype` (and `seq`); fail with what arrived instead."""
        deadline = time.perf_counter() + timeout
        seen = []
        while time.perf_counter() < deadline:
            for ev in self.device.read_events(deadline):
                self.note(f"rx {ev}")
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

    def verify(self, run_dir: str | Path | None = None, patients: int | None = 2,
               **kwargs) -> dict:
        """verify.verify_device on this device: the run's first `patients` test patients
        (stored reference outputs when the TFLM wheel is missing); kwargs: simulate, seed,
        data, windows_mode. A link or device error, or a refusal, fails the test in one line."""
        from bedside.contract.manifest import ManifestError
        from bedside.host_tools.verify.verifier import Refusal, verify_device
        from bedside.reference.pipeline import RunDirError
        from bedside.sources.streams import SourceError
        run_dir = run_dir or self.run_dir
        if run_dir is None:
            raise pytest.UsageError("verify() needs a run directory: pass --bedside-run")
        kwargs.setdefault("simulate", None)
        try:
            return verify_device(self.device, run_dir, max_patients=patients, **kwargs)
        except (LinkError, p.ProtocolError, Refusal) as e:
            pytest.fail(f"{self.url}: {e} (log: {self.log_path})", pytrace=False)
        except (RunDirError, ManifestError, SourceError) as e:
            pytest.fail(f"--bedside-run {run_dir}: {e}", pytrace=False)

    def close(self) -> None:
        self._log.close()
        self.device.close()


def _check_against_run(dev: BedsideDevice, run_dir: str) -> None:
    """The handshake's INFO against the run's manifest, as `bedside verify` checks it."""
    from bedside.contract.manifest import ManifestError
    from bedside.reference.pipeline import Contract, RunDirError
    from bedside.host_tools.verify.verifier import Refusal, check_info
    try:
        check_info(dev.info, Contract.from_run(run_dir))
    except (ManifestError, RunDirError) as e:
        raise pytest.UsageError(f"--bedside-run {run_dir}: {e}") from None
    except Refusal as e:
        pytest.fail(f"{dev.url} is not the device of {run_dir}: {e}", pytrace=False)


def _open(url: str, run_dir: str | None, config, log_path: Path) -> BedsideDevice:
    """The device on `url`; a port that cannot be opened fails in one line."""
    try:
        return BedsideDevice(url, run_dir, config.getoption("bedside_baud"),
                             config.getoption("bedside_timeout"), log_path)
    except (LinkError, OSError, ValueError) as e:     # serial errors are OSError/ValueError
        pytest.fail(f"--bedside-port {url}: {e}", pytrace=False)


@pytest.fixture(scope="session")
def bedside_devices(request, tmp_path_factory):
    """Every device (--bedside-port, --bedside-target), opened and greeted once."""
    config = request.config
    urls = list(config.getoption("bedside_ports"))
    run_dir, target = config.getoption("bedside_run"), config.getoption("bedside_target")
    if target and not run_dir:
        raise pytest.UsageError("--bedside-target needs --bedside-run RUN_DIR")
    started = None
    if target:
        from bedside.host_tools.builder.qemu import DeviceStartError, launch
        started = launch(Path(run_dir), target=target, tcp_port=0)
        try:
            started.start()
        except DeviceStartError as e:
            pytest.fail(f"cannot start the {target} firmware of {run_dir}: {e}", pytrace=False)
        urls.append(started.url)
    if not urls:
        if config.getoption("bedside_skip_missing"):
            pytest.skip("no device (--bedside-skip-missing)")
        pytest.fail("no device under test: pass --bedside-port URL (or --bedside-target "
                    "with --bedside-run), or --bedside-skip-missing to skip device tests",
                    pytrace=False)
    log_dir = tmp_path_factory.mktemp("bedside-logs")
    devices: list[BedsideDevice] = []
    config.stash[_DEVICES] = devices
    try:
        for i, url in enumerate(urls):
            dev = _open(url, run_dir, config, log_dir / f"device{i}.log")
            devices.append(dev)
            try:
                dev.info = dev.hello()
            except (LinkError, p.ProtocolError) as e:
                pytest.fail(f"{url}: no bedside device answers HELLO: {e}", pytrace=False)
            if run_dir:
                _check_against_run(dev, run_dir)
        yield devices
    finally:
        for d in devices:
            d.close()
        if started is not None:
            started.stop()


@pytest.fixture(scope="session")
def bedside_device(bedside_devices):
    """The first device under test."""
    return bedside_devices[0]


def _attach_logs(item, when: str) -> None:
    """The frames each device exchanged in this test phase, as a report section."""
    for i, dev in enumerate(item.config.stash.get(_DEVICES, [])):
        text = dev.take_log()
        if text:
            item.add_report_section(when, f"{LOG_KEY} {i} ({dev.url})", text)
        prop = ("bedside_device_log", str(dev.log_path))
        if "bedside_devices" in item.fixturenames and prop not in item.user_properties:
            item.user_properties.append(prop)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    try:
        return (yield)
    finally:
        _attach_logs(item, "setup")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    finally:
        _attach_logs(item, "call")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        _attach_logs(item, "teardown")
