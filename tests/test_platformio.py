"""The PlatformIO path, as far as it can be checked offline (`pio run` downloads platforms):
`bedside flash` writes RUN_DIR/pio/ from the board table and `pio project config` accepts
it; every environment's sources (the library's filter, the backend's runner, the port
sources pio_gen.py adds, the run's model) compile with Debian's cross compilers and the
flags PlatformIO passes (build_flags, build_src_flags, -Werror from pio_gen.py on the kit's
sources, the board's CPU flags); library.json packs as a PlatformIO library; offline,
`bedside flash` ends in one line and exit 5 and writes nothing outside the run; the
`pio test` hook is a PlatformIO custom test runner."""
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
from bedside.host_tools.builder.cmd_flash import classify, find_pio, registry_reachable

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
PIO = find_pio()
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

_needs_pio = pytest.mark.skipif(PIO is None, reason="platformio not installed here")


@pytest.fixture(scope="module")
def pio_run(converted_run_dir, tmp_path_factory) -> Path:
    """A copy of the converted run with RUN_DIR/pio/ written by `bedside flash --dry-run`."""
    run = tmp_path_factory.mktemp("pio") / "run"
    shutil.copytree(converted_run_dir / "int8", run / "int8")
    assert main(["flash", str(run), "--env", "nucleo_f446re", "--dry-run"]) == 0
    return run


@pytest.fixture(scope="module")
def pio_envs(pio_run) -> dict[str, dict]:
    if PIO is None:
        pytest.skip("platformio not installed here")
    r = subprocess.run([PIO, "project", "config", "-d", str(pio_run / "pio"), "--json-output"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    sections = {name: dict(opts) for name, opts in json.loads(r.stdout)}
    return {name[4:]: {**sections["env"], **opts} for name, opts in sections.items()
            if name.startswith("env:")}


def _flat(value) -> str:
    return " ".join(value) if isinstance(value, list) else (value or "")


def selected_sources(src_filter: str) -> list[Path]:
    """PlatformIO's source filter applied to the firmware folder, in order."""
    chosen: list[Path] = []
    every = [p for p in FIRMWARE.rglob("*") if p.suffix in (".c", ".cc", ".cpp")]
    for sign, pattern in re.findall(r"([+-])<([^>]+)>", src_filter):
        hits = [p for p in every if fnmatch.fnmatch(p.relative_to(FIRMWARE).as_posix(), pattern)]
        chosen = chosen + [p for p in hits if p not in chosen] if sign == "+" else \
            [p for p in chosen if p not in hits]
    return chosen


def env_sources(opts: dict) -> list[Path]:
    """What PlatformIO compiles for an environment of RUN_DIR/pio: the library's filter,
    then what pio_gen.py adds (the backend's runner, the port sources)."""
    lib = json.loads((ROOT / "library.json").read_text())
    sources = selected_sources(" ".join(lib["build"]["srcFilter"]))
    sources.append(FIRMWARE / "core" / f"runner_{opts['custom_bedside_backend']}.cc")
    return sources + [FIRMWARE / s for s in _flat(opts["custom_bedside_port_sources"]).split()]


@pytest.mark.parametrize("env", sorted(COMPILERS))
def test_environment_sources_compile_with_the_cross_compilers(env, pio_envs, pio_run, tmp_path):
    opts = pio_envs[env]
    flags = shlex.split(_flat(opts.get("build_flags")))
    src_flags = shlex.split(_flat(opts.get("build_src_flags")))
    sources = env_sources(opts)
    gen = pio_run / "int8" / "gen"
    sources.append(gen / "model_engine.cc")                       # pio_gen.py adds it
    assert any("core/app.cc" in str(s) for s in sources)
    arduino = "arduino" in _flat(opts.get("framework"))
    # the library's include folders (library.json) and the port's folder (pio_gen.py)
    ports = {f"-I{(FIRMWARE / s).parent}" for s in _flat(opts["custom_bedside_port_sources"]).split()}
    includes = [f"-I{gen}", f"-I{FIRMWARE / 'core'}", f"-I{FIRMWARE / 'engine'}", f"-I{FIRMWARE}",
                *sorted(ports)] + ([f"-I{FIRMWARE / 'ports' / 'arduino' / 'compile_check'}"] if arduino else [])
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
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
            assert r.returncode == 0, f"{env}: {' '.join(cmd)}\n{r.stderr}"


def test_nucleo_f446re_builds_the_port_ci_verifies_on_netduinoplus2(pio_envs):
    from bedside.boards import TARGETS
    row = TARGETS["netduinoplus2"]
    nucleo = {s.relative_to(FIRMWARE).as_posix() for s in env_sources(pio_envs["nucleo_f446re"])}
    assert {f"ports/cortex_m/{f}" for f in row.sources} | {"ports/common/main.cc"} <= nucleo
    assert pio_envs["nucleo_f446re"]["board_build.ldscript"].endswith(f"cortex_m/{row.ldscript}")
    assert "framework" not in pio_envs["nucleo_f446re"]
    assert "-DBEDSIDE_STM32_USART=2" in _flat(pio_envs["nucleo_f446re"]["build_flags"])


def test_platforms_are_pinned_and_the_model_is_the_runs(pio_envs, pio_run):
    for env, opts in pio_envs.items():
        assert re.fullmatch(r"\w+@\d+\.\d+\.\d+", opts["platform"]), env
        assert opts["custom_bedside_gen_dir"] == "../int8/gen", env   # this run's model
    lib = pio_run / "pio" / "lib" / "bedside-kit"
    assert (lib / "firmware").resolve() == FIRMWARE.resolve()
    assert json.loads((lib / "library.json").read_text())["build"]["srcDir"] == "firmware"


@_needs_pio
def test_library_json_packs_as_a_platformio_library(tmp_path):
    cmd = [PIO, "pkg", "pack", str(ROOT), "-o", str(tmp_path)]
    if not registry_reachable():
        # PlatformIO checks "license" against SPDX's list, which it downloads; offline the
        # pack runs in-process with that list reduced to the kit's own licence
        cmd = [sys.executable, "-c", (
            "import sys; from platformio.package.manifest.schema import ManifestSchema as M; "
            "M.load_spdx_licenses = staticmethod(lambda: {'licenses': [{'licenseId': 'Apache-2.0'}]}); "
            "from platformio.__main__ import main; sys.argv = ['pio', *sys.argv[1:]]; sys.exit(main())"),
            *cmd[1:]]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
    meta = json.loads((ROOT / "library.json").read_text())
    import tomllib
    assert meta["version"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert meta["license"] == "Apache-2.0" and meta["repository"]["type"] == "git"
    assert meta["authors"][0]["name"]
    with tarfile.open(next(tmp_path.glob("bedside-kit-*.tar.gz"))) as tar:
        names = set(tar.getnames())
    assert {"library.json", "firmware/core/app.cc", "firmware/core/port.h",
            "firmware/engine/engine.h", "firmware/ports/pio_gen.py", "firmware/boards.toml"} <= names
    assert not any(n.startswith(("tests/", "training/", "host_tools/")) for n in names)


def _tree(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
            for p in folder.rglob("*") if ".venv" not in p.parts and "runs" not in p.parts}


@_needs_pio
def test_flash_writes_the_project_into_the_run_and_nothing_else(pio_run, tmp_path, capsys, monkeypatch):
    before = _tree(FIRMWARE)
    rc = main(["flash", str(pio_run), "--env", "nucleo_f446re", "--upload-port", "/dev/ttyACM9",
               "--dry-run"])
    out = capsys.readouterr().out
    assert rc == 0
    assert f"run -d {pio_run / 'pio'} -e nucleo_f446re -t upload --upload-port /dev/ttyACM9" in out
    assert main(["flash", str(pio_run), "--env", "nope", "--dry-run"]) == 2
    assert "nucleo_f446re" in capsys.readouterr().err
    assert main(["flash", str(pio_run.parent), "--env", "nucleo_f446re"]) == 2
    assert "bedside convert" in capsys.readouterr().err
    # offline (no platform in an empty PLATFORMIO_CORE_DIR, no registry): one line, exit 5
    if registry_reachable():
        pytest.skip("the PlatformIO registry is reachable here: the offline case cannot be shown")
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(tmp_path / "core"))
    rc = main(["flash", str(pio_run), "--env", "nucleo_f446re", "--no-upload", "--json"])
    captured = capsys.readouterr()
    assert rc == 5
    err = [ln for ln in captured.err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "offline:" in err[0]
    assert "pre-seed PLATFORMIO_CORE_DIR" in err[0] and "--target netduinoplus2" in err[0]
    assert json.loads(captured.out)["exit_code"] == 5
    assert "Traceback" not in captured.err
    assert _tree(FIRMWARE) == before and not (ROOT / ".pio").exists()
    assert (pio_run / "pio" / "platformio.ini").is_file()


def test_flash_without_platformio_is_one_line(tmp_path, monkeypatch, capsys):
    if (Path(sys.executable).parent / "pio").exists():
        pytest.skip("PlatformIO is installed next to this Python")
    run = tmp_path / "run"
    (run / "int8" / "gen").mkdir(parents=True)
    (run / "int8" / "gen" / "model_config.h").write_text("")   # flash only looks for it
    monkeypatch.setenv("PATH", str(tmp_path))                    # no `pio` on PATH either
    assert main(["flash", str(run), "--env", "esp32dev", "--no-upload"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install platformio" in err[0]
    assert (run / "pio" / "platformio.ini").is_file()


def test_flash_failures_are_one_line_each():
    offline = classify("Platform Manager: Installing ststm32 @ 17.3.0\nHTTPClientError: \n", 1,
                       "nucleo_f446re")
    assert offline[0] == 5 and offline[1].startswith("offline:")
    assert "bedside build --target netduinoplus2" in offline[1]
    no_board = classify("Configuring upload protocol...\nUploading .pio/build/esp32dev/firmware.bin\n"
                        "A fatal error occurred: could not open port '/dev/ttyUSB7'\n", 1,
                        "esp32dev", "/dev/ttyUSB7")
    assert no_board[0] == 3 and "/dev/ttyUSB7" in no_board[1] and "bedside ports" in no_board[1]
    unknown = classify("UnknownPackageError: Could not find the package with 'x' requirements", 1,
                       "esp32dev")
    assert unknown[0] == 6 and "espressif32@6.5.0" in unknown[1]
    failed = classify("src/a.c:3:1: error: expected ';'\n*** [a.o] Error 1\n", 1, "esp32dev")
    assert failed[0] == 1 and "Error 1" in failed[1] and "\n" not in failed[1]


def test_pio_test_hook_is_a_custom_runner(pio_envs):
    path = FIRMWARE / "pio_test" / "test_bedside_verify" / "test_custom_runner.py"
    spec = importlib.util.spec_from_file_location("bedside_pio_runner", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from platformio.public import TestRunnerBase
    assert issubclass(mod.CustomTestRunner, TestRunnerBase)
    assert "bedside" in path.read_text() and "verify" in path.read_text()
    assert all(o.get("test_framework") == "custom" for o in pio_envs.values())
