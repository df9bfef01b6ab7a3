"""A bench PC without TensorFlow and without the TFLM wheel: `bedside convert` stores the
reference's outputs for the run's test patients, and `verify` of the converted run uses
them; new signals need the `reference` extra. The last test installs the kit, not
editable, with `pip install .[host]` into a fresh virtual environment and runs `bedside
--version`, `ports`, `build` (firmware sources from the installed package) and `verify`."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bedside.sources import streams as sources
from bedside.reference.pipeline import Contract, Reference, RunDirError
from bedside.reference.stored import INSTALL, StoredReference, path_of

ROOT = Path(__file__).resolve().parents[1]


def test_stored_outputs_equal_the_interpreter(converted_run_dir):
    contract = Contract.from_run(converted_run_dir)
    assert path_of(contract).is_file()
    stored, live = StoredReference(contract), Reference(contract)
    streams, _ = sources.default(converted_run_dir)
    for _, raw in streams:
        a, b = stored.patient(raw), live.patient(raw)
        np.testing.assert_array_equal(a.output, b.output)
        np.testing.assert_array_equal(a.alarm, b.alarm)
    new = sources.simulated(1, 99)[0][0][1]
    with pytest.raises(RunDirError, match="not among the stored reference outputs"):
        stored.patient(new)


def test_stored_outputs_of_another_model_are_refused(converted_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(converted_run_dir / "int8", run / "int8")
    contract = Contract.from_run(run)
    with np.load(path_of(contract)) as z:
        stale = {k: z[k] for k in z.files}
    stale["model_sha256"] = np.array("0" * 64)       # written for an earlier conversion
    np.savez(path_of(contract), **stale)
    with pytest.raises(RunDirError, match="another model or preprocessing"):
        StoredReference(contract)


def _venv(tmp_path: Path) -> Path:
    """A fresh venv with `pip install .[host]` of a copy of the source tree (no editable
    install, so the firmware must come from the package data)."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "runs", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".pio"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                           f"{src}[host]"], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"pip install .[host] failed: {proc.stderr[-1500:]}")
        pytest.skip(f"pip install .[host] needs PyPI or a pip cache: {proc.stderr[-300:]}")
    return venv


def test_fresh_host_install_verifies_a_converted_run(converted_run_dir, tmp_path):
    venv = _venv(tmp_path)
    run = tmp_path / "run"
    shutil.copytree(converted_run_dir, run, ignore=shutil.ignore_patterns("firmware", "verify"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cwd = tmp_path / "bench"        # not the source tree: only the installed kit is importable
    cwd.mkdir()

    def bedside(*argv):
        return subprocess.run([str(venv / "bin" / "bedside"), *argv], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=600)

    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list"],
                            capture_output=True, text=True).stdout.lower()
    for absent in ("tensorflow", "tflite-micro", "tflite_micro", "keras", "matplotlib"):
        assert absent not in listed, listed
    version = bedside("--version")
    assert version.returncode == 0 and "tflite-micro: not installed" in version.stdout
    assert bedside("ports").returncode == 0
    built = bedside("build", str(run), "--target", "host")
    assert built.returncode == 0, built.stdout + built.stderr
    verified = bedside("verify", str(run), "--target", "host", "--json")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]
    report = json.loads(verified.stdout)
    assert report["passed"] and report["counts"]["mismatched"] == 0
    assert report["counts"]["verified"] == report["counts"]["windows_sent"] > 0
    assert "matplotlib not installed" in (run / "verify" / "report.md").read_text()
    new = bedside("verify", str(run), "--target", "host", "--simulate", "1")
    assert new.returncode == 2 and INSTALL in " ".join(new.stderr.split())
