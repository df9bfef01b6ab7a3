"""The HIL pytest plugin (host_tools/hil/pytest_plugin.py): the documented example
`tests_hil/test_board.py` on two host-firmware devices, the start-up checks (no device is
an error, a device of another model fails every test), device logs in the report, and
pytest-embedded (PyPI) installed next to the kit in the same pytest run."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bedside.host_tools.builder.qemu import HostFirmware

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests_hil" / "test_board.py"
EMBEDDED = ("pytest-embedded", "pexpect", "ptyprocess", "filelock")


def pytest_run(*args: str, cwd: Path, pythonpath: list[Path] = ()) -> subprocess.CompletedProcess:
    path = [ROOT, *pythonpath] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path))}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_documented_example_on_two_devices(host_firmware, converted_run_dir, tmp_path):
    junit = tmp_path / "hil.xml"
    with HostFirmware(host_firmware.binary) as a, HostFirmware(host_firmware.binary,
                                                               tcp=True) as b:
        proc = pytest_run(str(EXAMPLE), "--bedside-port", a.url, "--bedside-port", b.url,
                          "--bedside-run", str(converted_run_dir), "--junitxml", str(junit),
                          "-o", "junit_logging=log", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout
    cases = ET.parse(junit).getroot().iter("testcase")
    for case in cases:                      # every test carries its device log
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert Path(props["bedside_device_log"]).is_file()
        assert "tx " in case.findtext("system-out", "")


def test_example_starts_the_host_firmware_itself(host_firmware, converted_run_dir, tmp_path):
    proc = pytest_run(str(EXAMPLE), "--bedside-run", str(converted_run_dir),
                      "--bedside-target", "host", "-k", "hello or stats", cwd=tmp_path)
    assert proc.returncode == 0 and "2 passed" in proc.stdout, proc.stdout[-3000:]


def test_no_device_is_an_error_unless_skipping_is_asked(tmp_path):
    proc = pytest_run(str(EXAMPLE), cwd=tmp_path)
    assert proc.returncode == 1 and "3 errors" in proc.stdout, proc.stdout[-2000:]
    assert "no device under test: pass --bedside-port URL" in proc.stdout
    proc = pytest_run(str(EXAMPLE), "--bedside-skip-missing", cwd=tmp_path)
    assert proc.returncode == 0 and "3 skipped" in proc.stdout, proc.stdout[-2000:]


def test_a_wrong_port_fails_in_one_line(tmp_path):
    proc = pytest_run(str(EXAMPLE), "--bedside-port", str(tmp_path / "no-such-port"),
                      "-k", "hello", cwd=tmp_path)
    assert proc.returncode == 1 and "1 error" in proc.stdout, proc.stdout[-2000:]
    line = f"--bedside-port {tmp_path / 'no-such-port'}: "
    assert line in proc.stdout
    assert "Traceback" not in proc.stdout and "pytest_plugin.py:" not in proc.stdout


def test_device_of_another_model_fails_at_start(host_firmware, converted_run_dir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(converted_run_dir / "int8", other / "int8")
    model = other / "int8" / "model.tflite"
    model.write_bytes(model.read_bytes() + b"\0" * 16)      # another model, same contract
    manifest = json.loads((other / "int8" / "manifest.json").read_text())
    manifest["model"]["sha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    (other / "int8" / "manifest.json").write_text(json.dumps(manifest))
    with HostFirmware(host_firmware.binary) as dev:
        proc = pytest_run(str(EXAMPLE), "--bedside-port", dev.url, "--bedside-run", str(other),
                          cwd=tmp_path)
    assert proc.returncode == 1 and "3 errors" in proc.stdout, proc.stdout[-2000:]
    assert "is not the device of" in proc.stdout and "model mismatch" in proc.stdout


def _pytest_embedded(tmp_path: Path) -> list[Path]:
    """pytest-embedded importable: already installed (CI: requirements.lock), else installed
    from PyPI at the pinned versions into a folder put on PYTHONPATH."""
    if importlib.util.find_spec("pytest_embedded") is not None:
        return []
    pins = [line.strip() for line in (ROOT / "requirements.lock").read_text().splitlines()
            if line.split("==")[0].lower() in EMBEDDED]
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--target", str(target), *pins], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot install {pins}: {proc.stderr[-500:]}")
        pytest.skip(f"pytest-embedded not installed and PyPI not reachable: {proc.stderr[-200:]}")
    return [target]


COEXIST = '''
def test_embedded_dut(dut):                 # pytest-embedded's own fixture
    dut.write("ping")
    dut.expect("ping")

def test_bedside_device(bedside_device):    # the kit's fixture, same session
    assert bedside_device.hello().window_length > 0
'''


def test_coexists_with_pytest_embedded(host_firmware, tmp_path):
    path = _pytest_embedded(tmp_path)
    (tmp_path / "test_both.py").write_text(COEXIST)
    with HostFirmware(host_firmware.binary, tcp=True) as dev:
        proc = pytest_run("test_both.py", "--bedside-port", dev.url, cwd=tmp_path,
                          pythonpath=path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout
    help_text = pytest_run("--help", cwd=tmp_path, pythonpath=path).stdout
    assert "--port" in help_text and "--bedside-port" in help_text   # both plugins loaded
