"""Firmware build checks: strict compile of the Arduino port, the generated-format guard,
a run's platformio.ini accepted offline, `bedside build` errors, and the M3/M7 siblings boot."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bedside.contract import protocol as p
from bedside.host_tools.builder.firmware import FIRMWARE_DIR, BuildError, build_firmware
from bedside.rundir import RunPaths

ROOT = FIRMWARE_DIR.parent
STRICT = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-exceptions", "-fno-rtti"]


def compile_only(source: Path, *flags: str, compiler: str = "g++") -> subprocess.CompletedProcess:
    return subprocess.run([compiler, *STRICT, *flags, "-c", str(source), "-o", "/dev/null"],
                          capture_output=True, text=True)


@pytest.mark.parametrize("source", ["0", "1", "2"])
def test_arduino_port_compiles_against_the_declared_arduino_api(source):
    # A compile check, not a board build: compile_check/Arduino.h declares exactly the
    # Arduino functions the port uses; PlatformIO builds it against a real core.
    port = FIRMWARE_DIR / "ports" / "arduino"
    r = compile_only(port / "bedside_arduino.cpp", f"-I{port / 'compile_check'}",
                     f"-I{FIRMWARE_DIR / 'core'}", f"-DBEDSIDE_SOURCE={source}",
                     "-DBEDSIDE_ANALOG_PINS={A0, A1}")
    assert r.returncode == 0, r.stderr


def test_arduino_port_cross_compiles_for_cortex_m4():
    if shutil.which("arm-none-eabi-g++") is None:
        pytest.skip("arm-none-eabi-g++ not installed")
    port = FIRMWARE_DIR / "ports" / "arduino"
    r = compile_only(port / "bedside_arduino.cpp", f"-I{port / 'compile_check'}",
                     f"-I{FIRMWARE_DIR / 'core'}", "-mcpu=cortex-m4", "-mthumb",
                     compiler="arm-none-eabi-g++")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("step,ok", [(0, True), (-1, False), (1, False)])
def test_generated_format_guard(tmp_path, step, ok):
    """The firmware builds headers of the converter's format and refuses older or newer."""
    from bedside.contract.manifest import GEN_FORMAT
    fmt = GEN_FORMAT + step
    src = tmp_path / "guard.cc"
    src.write_text(f"#define BEDSIDE_GEN_FORMAT {fmt}\n#include \"gen_format.h\"\nint x;\n")
    r = compile_only(src, f"-I{FIRMWARE_DIR / 'core'}")
    assert (r.returncode == 0) == ok
    if not ok:
        assert "Regenerate" in r.stderr


def test_platformio_ini_is_accepted_offline(tmp_path):
    from bedside.host_tools.builder.cmd_flash import find_pio
    from bedside.host_tools.builder.pio_project import write_project
    pio = find_pio()
    if pio is None:
        pytest.skip("platformio not installed in this environment")
    project = write_project(tmp_path / "run")        # what `bedside flash` writes
    r = subprocess.run([pio, "project", "config", "-d", str(project), "--json-output"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for env in ("env:esp32dev", "env:nano33ble", "env:nano33ble_tflm", "env:nucleo_f446re"):
        assert f'"{env}"' in r.stdout
    assert "tflite-micro-arduino-examples" in r.stdout
    assert not (ROOT / "platformio.ini").exists() and not (ROOT / ".pio").exists()


def test_build_refuses_a_run_without_generated_sources(tmp_path):
    """No converted run, or no run folder at all: bad input (exit 2) for build and emulate."""
    from bedside.cli import main
    (tmp_path / "int8").mkdir()
    assert main(["build", "--target", "host", str(tmp_path)]) == 2
    assert main(["build", "--target", "host", str(tmp_path / "missing")]) == 2
    assert main(["emulate", "--target", "host", str(tmp_path / "missing")]) == 2
    with pytest.raises(BuildError, match="bedside convert"):
        build_firmware(tmp_path, "host")
    with pytest.raises(BuildError, match="unknown target"):
        build_firmware(tmp_path, "mps2-an999")
    assert not (tmp_path / "firmware").exists()


def test_build_json_is_the_size_record(converted_run_dir, capsys):
    import json
    from bedside.cli import main
    capsys.readouterr()
    assert main(["build", "--target", "host", str(converted_run_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)        # the summary went to stderr
    assert result["target"] == "host" and result["flash_bytes"] > 0
    assert result["build_dir"] == str(RunPaths(converted_run_dir).firmware_dir("host"))
    assert result["identity"]["board"] == "host"


def test_tflm_backend_without_tflm_falls_back_to_compiled(converted_run_dir, tmp_path):
    gen = converted_run_dir / "int8" / "gen"
    r = subprocess.run(["cmake", "-S", str(FIRMWARE_DIR), "-B", str(tmp_path / "b"),
                        "-DBEDSIDE_BACKEND=tflm", f"-DBEDSIDE_GEN_DIR={gen}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "TFLM is not provided" in r.stderr and "backend compiled" in r.stdout


def test_build_tflm_without_tflm_reports_the_fallback(converted_run_dir, host_firmware):
    result = build_firmware(converted_run_dir, "host", "tflm")   # reuses the host build tree
    assert result.backend == "compiled" and result.binary == host_firmware.binary
    assert result.identity == host_firmware.identity    # the same firmware, the same build id
    assert any("TFLM is not provided" in n for n in result.notes)


def test_host_build_reports_sizes(host_firmware):
    r = host_firmware
    assert r.binary.is_file() and r.text > 0 and r.bss > 0
    assert 0 < r.max_stack_frame < 4096, r.max_stack_function


def test_build_id_follows_sources_model_settings_and_compiler(converted_run_dir, host_firmware,
                                                             tmp_path):
    """The build id: the same inputs give the same id; the generated model, a setting or the
    compiler change it; paths and the measured stack size do not. The build records it."""
    from bedside.host_tools.builder.firmware import build_id, read_identity
    gen = tmp_path / "gen"
    shutil.copytree(converted_run_dir / "int8" / "gen", gen)
    defines = {"BEDSIDE_TARGET": "host", "BEDSIDE_BACKEND": "compiled", "BEDSIDE_GEN_DIR": str(gen)}
    first = build_id(gen, defines, "g++")
    assert len(first) == 16 and first == build_id(
        gen, {**defines, "BEDSIDE_GEN_DIR": "/elsewhere", "BEDSIDE_STACK_BYTES": "512"}, "g++")
    assert build_id(gen, {**defines, "BEDSIDE_SANITIZE": "ON"}, "g++") != first
    assert build_id(gen, defines, "arm-none-eabi-g++") != first
    config = gen / "model_config.h"
    config.write_text(config.read_text().replace("kAlarmMinDuration = ", "kAlarmMinDuration = 1 + "))
    assert build_id(gen, defines, "g++") != first
    identity = read_identity(host_firmware.build_dir)
    assert identity == host_firmware.identity and identity["board"] == "host"
    assert identity["backend"] == "compiled" and len(identity["build_id"]) == 16


@pytest.mark.qemu
@pytest.mark.parametrize("target", ["mps2-an385", "mps2-an500"])
def test_cortex_m_siblings_boot_and_answer_hello(converted_run_dir, contract_sha, target):
    from bedside.host_tools.builder.qemu import launch
    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-g++") is None:
        pytest.skip("qemu-system-arm / arm-none-eabi-g++ not installed")
    build_firmware(converted_run_dir, target)
    from tests.test_firmware_device import Client
    with launch(converted_run_dir, target) as dev:
        client = Client(dev.url)
        info = p.parse_info(client.ok(p.MsgType.HELLO, reply=p.MsgType.INFO).payload)
        assert info.board == target and info.model_sha256.hex() == contract_sha
        f = client.ok(p.MsgType.SIMULATE, p.simulate_payload(80, 3, False))
        total, results = p.parse_results(f.payload, info.output_bytes)
        assert total == 80 and len(results) == 5
        client.close()


@pytest.fixture
def contract_sha(converted_run_dir):
    from bedside.contract.manifest import load_manifest
    return load_manifest(RunPaths(converted_run_dir).manifest)["model"]["sha256"]


TFLM_API = {
    # Declarations of exactly the TFLM API firmware/core/runner_tflm.cc uses (signatures
    # as in tensorflow/tflite-micro). TFLM's sources are not available here, so this is a
    # compile check of the runner against the generated headers, not a TFLM build.
    "tensorflow/lite/c/common.h": """
#pragma once
#include <stddef.h>
typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
typedef union { char *raw; } TfLitePtrUnion;
typedef struct { TfLitePtrUnion data; size_t bytes; } TfLiteTensor;
""",
    "tensorflow/lite/schema/schema_generated.h": """
#pragma once
#include <stdint.h>
namespace tflite {
struct Model { uint32_t version() const; };
const Model *GetModel(const void *buf);
}
""",
    "tensorflow/lite/micro/micro_interpreter.h": """
#pragma once
#include <stdint.h>
#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#define TFLITE_SCHEMA_VERSION (3)
namespace tflite {
class MicroInterpreter {
 public:
  MicroInterpreter(const Model *model, const MicroOpResolver &op_resolver, uint8_t *tensor_arena,
                   size_t tensor_arena_size, void *resource_variables = nullptr,
                   void *profiler = nullptr, bool preserve_all_tensors = false);
  TfLiteStatus AllocateTensors();
  TfLiteStatus Invoke();
  TfLiteTensor *input(size_t index);
  TfLiteTensor *output(size_t index);
  size_t arena_used_bytes() const;
};
}
""",
}


def test_tflm_runner_compiles_against_the_tflm_api(converted_run_dir, tmp_path):
    from bedside.converter.opset import TFLM_OPS
    api = tmp_path / "tflm"
    for rel, text in TFLM_API.items():
        (api / rel).parent.mkdir(parents=True, exist_ok=True)
        (api / rel).write_text(text)
    adds = "\n".join(f"  TfLiteStatus {m}();" for m in sorted(set(TFLM_OPS.values())))
    (api / "tensorflow/lite/micro/micro_mutable_op_resolver.h").write_text(
        "#pragma once\n#include \"tensorflow/lite/c/common.h\"\nnamespace tflite {\n"
        "class MicroOpResolver {};\ntemplate <unsigned int tOpCount>\n"
        f"class MicroMutableOpResolver : public MicroOpResolver {{\n public:\n{adds}\n}};\n}}\n")
    gen = converted_run_dir / "int8" / "gen"
    for source in (FIRMWARE_DIR / "core" / "runner_tflm.cc", gen / "model_data.cc"):
        r = compile_only(source, f"-I{api}", f"-I{gen}", f"-I{FIRMWARE_DIR / 'core'}")
        assert r.returncode == 0, f"{source.name}:\n{r.stderr}"


@pytest.mark.parametrize("name", ["x`touch PWNED`", "x'q", "x;touch PWNED", "x\nq", "x$(id)"])
def test_a_path_the_toolchain_cannot_take_is_refused_before_anything_runs(tmp_path, name):
    """No shell, and no path CMake/make would read as syntax (issue 25)."""
    from bedside.host_tools.builder.firmware import FIRMWARE_DIR, UnsafePath, configure_and_build
    with pytest.raises(UnsafePath, match="cannot take in a path"):
        configure_and_build(FIRMWARE_DIR, tmp_path / name, {}, "host")
    assert list(tmp_path.iterdir()) == [] and not Path("PWNED").exists()


def test_every_cmake_custom_command_is_verbatim():
    """A custom command without VERBATIM goes through the shell of the generator."""
    import re
    from bedside.kitfiles import FIRMWARE_DIR
    for path in [FIRMWARE_DIR / "CMakeLists.txt", *(FIRMWARE_DIR / "cmake").glob("*.cmake")]:
        for call in re.findall(r"add_custom_(?:command|target)\((.*?)\)\s*$", path.read_text(),
                               re.S | re.M):
            assert "VERBATIM" in call, f"{path}: add_custom_command without VERBATIM"
