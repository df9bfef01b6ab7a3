"""Bad sensor data: device == Python reference on every window, and no crash.

Each case is one patient of a cohort file streamed by `bedside verify --data` to the host
firmware (AddressSanitizer/UBSan build) and, for a subset, to the Cortex-M4 firmware under
QEMU. The rule (bedside/contract/preprocess.py, docs/reliability.md): a raw value equal to
MISSING or outside [valid_min, valid_max] is missing; a missing value takes the last valid
one for at most carry_limit samples, then the signal's centre.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from bedside.contract import preprocess
from bedside.contract.signals import MISSING, SIGNAL_NAMES, SIGNALS

T = 180                       # samples per case (25 windows of 60, stride 5)
C = len(SIGNALS)
HR, SPO2 = SIGNAL_NAMES.index("hr"), SIGNAL_NAMES.index("spo2")


def base(seed: int) -> np.ndarray:
    """A plausible stream: centres plus a little noise."""
    rng = np.random.default_rng(seed)
    centre = np.array([s.center for s in SIGNALS])
    spread = np.array([s.spread for s in SIGNALS])
    return np.round(centre + rng.normal(0, 0.5, (T, C)) * spread).astype(np.int16)


def sensor_cases() -> dict[str, np.ndarray]:
    vmin = np.array([s.valid_min for s in SIGNALS], np.int16)
    vmax = np.array([s.valid_max for s in SIGNALS], np.int16)
    cases = {}
    x = base(1); x[:] = MISSING; cases["all missing"] = x
    x = base(2); x[20:, HR] = 0; cases["HR 0"] = x
    x = base(3); x[::3, HR] = 400; cases["HR 400 every 3rd"] = x
    x = base(4); x[30:, SPO2] = 120; cases["SpO2 120"] = x
    x = base(5); x[:] = x[0]; cases["flat line"] = x
    x = base(6); x[::7] = np.where(np.arange(C) % 2, vmax, vmin); cases["spikes to range ends"] = x
    x = base(7); x[40:140] = MISSING; cases["long gap (100 samples)"] = x
    x = base(8); x[10:170:2] = MISSING; cases["every other sample missing"] = x
    x = base(9); x[::2] = 32767; x[1::2] = -32767; cases["int16 extremes"] = x
    x = base(10); x[0::4] = vmin - 1; x[1::4] = vmax + 1; x[2::4] = vmin; x[3::4] = vmax
    cases["range boundaries"] = x
    cases["random int16"] = np.random.default_rng(11).integers(-32768, 32768, (T, C)).astype(np.int16)
    return cases


QEMU_SUBSET = ("HR 400 every 3rd", "SpO2 120", "long gap (100 samples)", "int16 extremes")


def write_cohort(path, cases: dict[str, np.ndarray]):
    from bedside.sources.cohort import Cohort
    from bedside.sources.simulator import Patient
    patients = [Patient(name, raw, np.full((T, 1), MISSING, np.int16))
                for name, raw in cases.items()]
    Cohort.from_patients(patients, seed=0, source="reliability sensor cases").save(path)
    return path


def test_out_of_range_is_missing_in_the_reference():
    """The documented rule, checked on the single Python definition."""
    x = base(3)
    y = x.copy()
    x[::3, HR] = 400
    y[::3, HR] = MISSING
    assert np.array_equal(preprocess.preprocess_stream(x), preprocess.preprocess_stream(y))
    x[:, SPO2] = 120
    y[:, SPO2] = MISSING
    assert np.array_equal(preprocess.preprocess_stream(x), preprocess.preprocess_stream(y))
    q = preprocess.preprocess_stream(sensor_cases()["all missing"])
    assert not q.any()                          # centre everywhere: model input 0


def verify_cases(run_dir, url, cases, tmp_path, capsys):
    from bedside.cli import main
    data = write_cohort(tmp_path / "cases.npz", cases)
    rc = main(["verify", str(run_dir), "--port", url, "--data", str(data), "--float", "none",
               "--no-plots", "--out", str(tmp_path / "v")])
    out = capsys.readouterr()
    assert rc == 0, out.out + out.err
    report = json.loads((tmp_path / "v" / "verify.json").read_text())
    c = report["counts"]
    assert c["patients"] == len(cases)
    w = json.loads((run_dir / "int8" / "manifest.json").read_text())["window"]
    assert c["windows_sent"] == len(cases) * len(preprocess.window_ends(T, w["length"], w["stride"]))
    assert c["verified"] == c["windows_sent"] and c["mismatched"] == 0, report["first_mismatches"]


def test_bad_sensor_matrix_on_host_firmware(converted_run_dir, tmp_path, capsys):
    from bedside.host_tools.builder.firmware import build_firmware
    from bedside.host_tools.builder.qemu import HostFirmware
    fw = build_firmware(converted_run_dir, "host", sanitize=True,
                        build_dir=converted_run_dir / "firmware" / "host-asan")
    with HostFirmware(fw.binary, tcp=True) as dev:
        verify_cases(converted_run_dir, dev.url, sensor_cases(), tmp_path, capsys)
        assert dev.alive(), dev.log_text()
    assert "AddressSanitizer" not in dev.log_text() and "runtime error" not in dev.log_text()


@pytest.mark.qemu
def test_bad_sensor_subset_on_cortex_m(an386_firmware, converted_run_dir, tmp_path, capsys):
    from bedside.host_tools.builder.qemu import Emulator
    cases = {k: v for k, v in sensor_cases().items() if k in QEMU_SUBSET}
    with Emulator(an386_firmware.binary) as emu:
        verify_cases(converted_run_dir, emu.url, cases, tmp_path, capsys)
        assert emu.alive()
