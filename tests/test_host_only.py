"""A bench PC without TensorFlow and without the TFLM wheel: `bedside convert` stores the
reference's outputs for the run's test patients, and `verify` of the converted run uses
them; new signals need the `reference` extra. One test installs the kit, not editable,
with `pip install .[host]` into a fresh virtual environment and runs `bedside --version`,
`ports`, `build` (firmware sources from the installed package), `verify` and the HIL
example tests_hil/test_board.py against the host firmware. Another builds the wheel and
checks that only `bedside` lands at the top of site-packages, and that the pytest plugin
runs in a bench folder holding its own `training`, `converter` and `host_tools`."""
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


def _source_copy(tmp_path: Path) -> Path:
    """The source tree without VCS, venv, runs or build outputs (a build writes into it)."""
    src = tmp_path / "src"
    anywhere = shutil.ignore_patterns("*.egg-info", "__pycache__", ".pytest_cache", ".pio")

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = {".git", ".venv", "runs", "build"} if Path(folder) == ROOT else set()
        return set(anywhere(folder, names)) | (top & set(names))   # host_tools/builder is source

    shutil.copytree(ROOT, src, ignore=ignore)
    return src


def _venv(tmp_path: Path) -> Path:
    """A fresh venv with `pip install .[host]` of a copy of the source tree (no editable
    install, so the firmware must come from the package data)."""
    src = _source_copy(tmp_path)
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
    # the HIL example on the same install: the stored test patients, not simulated signals
    pins = [ln.strip() for ln in (ROOT / "requirements.lock").read_text().splitlines()
            if ln.split("==")[0].lower() in ("pytest", "iniconfig", "pluggy", "packaging")]
    got = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *pins],
                         capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr[-1500:]
    shutil.copy(ROOT / "tests_hil" / "test_board.py", cwd / "test_board.py")
    hil = subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p",
                          "no:cacheprovider", "test_board.py", "--bedside-run", str(run),
                          "--bedside-target", "host"], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=600)
    assert hil.returncode == 0 and "3 passed" in hil.stdout, hil.stdout[-3000:] + hil.stderr[-1000:]


BENCH_TEST = """
import converter
import host_tools
from training.cohort import LOCAL


def test_the_bench_packages_are_its_own():
    assert LOCAL == "bench" and converter.__file__.startswith(host_tools.__file__.rsplit("/", 2)[0])


def test_the_plugin_options(request):
    assert request.config.getoption("bedside_ports") == []
    assert request.config.getoption("bedside_timeout") == 1.5


def test_a_device(bedside_device):
    raise AssertionError("skipped: no device given")
"""


def test_wheel_puts_only_bedside_at_the_top_and_runs_beside_local_packages(tmp_path):
    src = _source_copy(tmp_path)
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(src),
                            "-w", str(wheels)], capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"pip wheel failed: {built.stderr[-1500:]}")
        pytest.skip(f"pip wheel needs setuptools from PyPI or a pip cache: {built.stderr[-300:]}")
    wheel = next(wheels.glob("bedside_kit-*.whl"))
    import zipfile
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert {n.split("/")[0] for n in names} == {"bedside", dist_info}
    assert "bedside/firmware/boards.toml" in names and "bedside/firmware/cmake/boards.cmake" in names
    # a fresh venv (its dependencies from the system's site-packages), only the wheel in it
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    before = set(os.listdir(site))
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   timeout=300)
    assert set(os.listdir(site)) - before == {"bedside", dist_info}
    # a bench folder with its own generic packages: they win, and the plugin loads beside them
    bench = tmp_path / "bench"
    for pkg in ("training", "converter", "host_tools"):
        (bench / pkg).mkdir(parents=True)
        (bench / pkg / "__init__.py").write_text("")
    (bench / "training" / "cohort.py").write_text('LOCAL = "bench"\n')
    (bench / "test_bench.py").write_text(BENCH_TEST)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--bedside-skip-missing", "--bedside-timeout", "1.5"], cwd=bench,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]
    assert "2 passed, 1 skipped" in proc.stdout
    imported = subprocess.run([python, "-c", "import bedside.host_tools.hil.pytest_plugin as p; "
                               "print(p.__file__)"], cwd=bench, env=env, capture_output=True,
                              text=True)
    assert imported.stdout.startswith(str(site)), imported.stdout + imported.stderr
