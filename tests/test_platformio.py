"""The PlatformIO path, as far as it can be checked offline (`pio run` downloads platforms):
platformio.ini parses; every environment's own source filter and include set compiles with
Debian's cross compilers and the flags PlatformIO passes (build_flags, build_src_flags,
-Werror from pio_gen.py on the kit's sources, the board's CPU flags); library.json packs
as a PlatformIO library; `bedside flash` runs `pio run -t upload` with the run's gen
folder; the `pio test` hook is a PlatformIO custom test runner."""
from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from bedside.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
PIO = Path(sys.executable).parent / "pio"
XTENSA_SPECS = "/usr/lib/xtensa-lx106-elf/picolibc.specs"   # Debian's picolibc-xtensa-lx106-elf
M4F = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
# the board's compiler and CPU flags PlatformIO's platform adds (board manifests' build.cpu);
# the ESP32 sources go through Debian's Xtensa (LX106) and RISC-V (ESP32-C3) compilers
COMPILERS = {
    "nucleo_f446re": [("arm-none-eabi-", M4F)],
    "nano33ble": [("arm-none-eabi-", M4F)],
    "esp32dev": [("xtensa-lx106-elf-", ["-mlongcalls", f"--specs={XTENSA_SPECS}"]),
                 ("riscv64-unknown-elf-", ["-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"])],
}
COMPILERS["esp32dev_simulator"] = COMPILERS["esp32dev"]

pytestmark = pytest.mark.skipif(not PIO.exists(), reason="platformio not installed here")


@pytest.fixture(scope="module")
def pio_envs() -> dict[str, dict]:
    r = subprocess.run([str(PIO), "project", "config", "-d", str(ROOT), "--json-output"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return {name[4:]: dict(opts) for name, opts in json.loads(r.stdout) if name.startswith("env:")}


def _flat(value) -> str:
    return " ".join(value) if isinstance(value, list) else (value or "")


def selected_sources(src_filter: str) -> list[Path]:
    """PlatformIO's build_src_filter applied to src_dir (firmware/), in order."""
    chosen: list[Path] = []
    every = [p for p in FIRMWARE.rglob("*") if p.suffix in (".c", ".cc", ".cpp")]
    for sign, pattern in re.findall(r"([+-])<([^>]+)>", src_filter):
        hits = [p for p in every if fnmatch.fnmatch(p.relative_to(FIRMWARE).as_posix(), pattern)]
        chosen = chosen + [p for p in hits if p not in chosen] if sign == "+" else \
            [p for p in chosen if p not in hits]
    return chosen


@pytest.mark.parametrize("env", sorted(COMPILERS))
def test_environment_sources_compile_with_the_cross_compilers(env, pio_envs, converted_run_dir, tmp_path):
    opts = pio_envs[env]
    flags = shlex.split(_flat(opts.get("build_flags")))    # -I paths: from the project dir
    src_flags = shlex.split(_flat(opts.get("build_src_flags")))
    sources = selected_sources(_flat(opts["build_src_filter"]))
    gen = converted_run_dir / "int8" / "gen"
    sources.append(gen / "model_engine.cc")                       # pio_gen.py adds it
    assert any("core/app.cc" in str(s) for s in sources)
    arduino = "arduino" in _flat(opts.get("framework"))
    includes = [f"-I{gen}"] + ([f"-I{FIRMWARE / 'ports' / 'arduino' / 'compile_check'}"] if arduino else [])
    for prefix, cpu in COMPILERS[env]:
        if shutil.which(prefix + "g++") is None:
            pytest.skip(f"{prefix}g++ not installed")
        for src in sources:
            cxx = src.suffix != ".c"
            lang = [f for f in flags if not f.startswith(("-Wl,", "-std=")) or (cxx and f.startswith("-std="))]
            strict = [] if "ports/arduino" in str(src) else ["-Werror"]   # pio_gen.py's rule
            cmd = [prefix + ("g++" if cxx else "gcc"), *cpu, "-Os", "-ffunction-sections",
                   *(["-fno-exceptions", "-fno-rtti"] if cxx else []), *lang, *src_flags, *strict,
                   *includes, "-c", str(src), "-o", str(tmp_path / (src.name + ".o"))]
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            assert r.returncode == 0, f"{env}: {' '.join(cmd)}\n{r.stderr}"


def test_nucleo_f446re_builds_the_port_ci_verifies_on_netduinoplus2(pio_envs):
    from bedside.host_tools.build.firmware import FIRMWARE_DIR
    nucleo = {s.relative_to(FIRMWARE).as_posix()
              for s in selected_sources(_flat(pio_envs["nucleo_f446re"]["build_src_filter"]))}
    cmake = (FIRMWARE_DIR / "cmake" / "targets.cmake").read_text()
    row = re.search(r"bedside_target\(netduinoplus2 cortex_m \"([^\"]+)\" (\S+)", cmake)
    assert {f"ports/cortex_m/{f}" for f in row.group(1).split(";")} <= nucleo
    assert pio_envs["nucleo_f446re"]["board_build.ldscript"].endswith(row.group(2))
    assert "framework" not in pio_envs["nucleo_f446re"]


def test_platforms_are_pinned_and_no_default_model_path(pio_envs):
    for env, opts in pio_envs.items():
        assert re.fullmatch(r"\w+@\d+\.\d+\.\d+", opts["platform"]), env
        assert "custom_bedside_gen_dir" not in opts, env      # the run is always named


def test_library_json_packs_as_a_platformio_library(tmp_path):
    r = subprocess.run([str(PIO), "pkg", "pack", str(ROOT), "-o", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
    meta = json.loads((ROOT / "library.json").read_text())
    import tomllib
    assert meta["version"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with tarfile.open(next(tmp_path.glob("bedside-kit-*.tar.gz"))) as tar:
        names = set(tar.getnames())
    assert {"library.json", "firmware/core/app.cc", "firmware/core/port.h",
            "firmware/engine/engine.h", "firmware/ports/pio_gen.py"} <= names
    assert not any(n.startswith(("tests/", "training/", "host_tools/")) for n in names)


def test_flash_runs_pio_upload_with_the_runs_gen_folder(converted_run_dir, capsys):
    rc = main(["flash", str(converted_run_dir), "--env", "nucleo_f446re",
               "--upload-port", "/dev/ttyACM9", "--dry-run"])
    out = capsys.readouterr().out
    assert rc == 0
    gen = (converted_run_dir / "int8" / "gen").resolve()
    assert f"BEDSIDE_GEN_DIR={gen} " in out
    assert "run -d" in out and "-e nucleo_f446re -t upload --upload-port /dev/ttyACM9" in out
    assert main(["flash", str(converted_run_dir), "--env", "nope", "--dry-run"]) == 2
    assert "nucleo_f446re" in capsys.readouterr().err
    assert main(["flash", str(converted_run_dir.parent), "--env", "nucleo_f446re"]) == 2


def test_pio_test_hook_is_a_custom_runner(pio_envs):
    path = FIRMWARE / "pio_test" / "test_bedside_verify" / "test_custom_runner.py"
    spec = importlib.util.spec_from_file_location("bedside_pio_runner", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from platformio.public import TestRunnerBase
    assert issubclass(mod.CustomTestRunner, TestRunnerBase)
    assert "bedside" in path.read_text() and "verify" in path.read_text()
    assert all(o.get("test_framework") == "custom" for o in pio_envs.values())
