"""The board table (firmware/boards.toml) and the targets beyond the MPS2 images: the
generated CMake include and library.json are current, a board is one table row, and each
emulated target is built with `bedside build --target T` and verified with `bedside verify
--target T` (QEMU, the same protocol, streamed sample by sample, every window bit-exact
with the reference)."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from bedside import boards
from bedside.cli import main
from bedside.host_tools.builder.firmware import TARGETS, build_firmware


def test_generated_board_files_are_current():
    # firmware/cmake/boards.cmake and library.json are rendered from the table
    assert boards.main(["--check"]) == 0
    cmake = boards.CMAKE_PATH.read_text()
    assert cmake.startswith("# The board table for CMake") and "Do not edit" in cmake
    assert all(f'"{name}"' in cmake.splitlines()[5] for name in TARGETS)
    lib = json.loads(boards.LIBRARY_JSON.read_text())
    assert lib["license"] == "Apache-2.0" and lib["repository"]["url"] and lib["authors"]


def test_every_user_of_the_table_reads_the_one_table():
    from bedside.bench import engine_m4
    from bedside.host_tools.builder import qemu
    from bedside.host_tools.hil import pytest_plugin
    assert TARGETS is boards.TARGETS and engine_m4.TARGETS is boards.BENCH
    assert set(pytest_plugin.TARGETS) == {"host", *qemu.emulated_targets()}
    assert qemu.emulated_targets() == [n for n, b in TARGETS.items() if b.qemu]
    assert TARGETS["microbit"].ram_limit == 16 * 1024 and TARGETS["microbit"].measured_stack
    assert boards.BENCH["m0"].board is TARGETS["microbit"]
    assert boards.PIO["nucleo_f446re"].target is TARGETS["netduinoplus2"]


NEW_ROW = """
[target.stm32-test]
core = "Cortex-M0+"
port = "cortex_m"
sources = ["startup.c", "systick.c", "port_stm32f4.c"]
ldscript = "stm32f4.ld"
toolchain = "arm-none-eabi"
cpu = ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"]
clock_hz = 12_000_000
stack = "measured"
ram = 6144
flash = 32768
counting = "SysTick at 12 MHz"
real = "a 6 KB Cortex-M0+ part"
"""


def test_a_new_board_is_one_row(tmp_path):
    table = boards.parse(boards.TABLE_PATH.read_text() + NEW_ROW)
    b = table.targets["stm32-test"]
    assert (b.ram_limit, b.compiler, b.measured_stack, b.qemu) == (6144, "arm-none-eabi-g++", True, ())
    cmake = boards.render_cmake(table)
    assert '"stm32-test"' in cmake and '"-mcpu=cortex-m0plus"' in cmake
    assert '"--specs=nano.specs"' in cmake.split('"stm32-test")')[1]
    # CMake selects the row (configure only: the table's include, not a build)
    src = tmp_path / "CMakeLists.txt"
    (tmp_path / "boards.cmake").write_text(cmake)
    src.write_text("cmake_minimum_required(VERSION 3.16)\nproject(t NONE)\n"
                   "include(${CMAKE_CURRENT_LIST_DIR}/boards.cmake)\n"
                   'message(STATUS "row ${BEDSIDE_PORT} ${BEDSIDE_CPU_FLAGS} ${BEDSIDE_STACK_DEFAULT}")\n')
    import subprocess
    r = subprocess.run(["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "b"),
                        "-DBEDSIDE_TARGET=stm32-test"], capture_output=True, text=True)
    assert "row cortex_m -mcpu=cortex-m0plus;-mthumb;-mfloat-abi=soft 8192" in r.stdout, r.stderr


@pytest.mark.parametrize("edit,message", [
    ('core = "Cortex-M0+"\n', "target.stm32-test: missing field 'core'"),
    ('ram = 6144\n', "target.stm32-test: missing field 'ram'"),
    ('stack = "measured"\n', "target.stm32-test: missing field 'stack'"),
    ('toolchain = "arm-none-eabi"\n', "target.stm32-test: sources, ldscript"),
])
def test_a_bad_row_is_refused_by_name(edit, message):
    text = boards.TABLE_PATH.read_text() + NEW_ROW.replace(edit, "")
    with pytest.raises(boards.TableError, match=re.escape(message)):
        boards.parse(text)
    with pytest.raises(boards.TableError, match=r"target.stm32-test: unknown field\(s\) rom"):
        boards.parse(text.replace("flash = 32768", "rom = 32768"))



def _need(target: str) -> None:
    t = TARGETS[target]
    missing = [x for x in (t.compiler, *t.qemu[:1]) if shutil.which(x) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


def verify_target(run_dir, target: str, tmp_path, patients: int = 5) -> dict:
    out = tmp_path / f"verify-{target}"
    rc = main(["verify", "--target", target, str(run_dir), "--simulate", str(patients),
               "--seed", "5", "--out", str(out), "--float", "none", "--no-plots"])
    report = json.loads((out / "verify.json").read_text())
    assert rc == 0, report["first_mismatches"]
    return report


@pytest.mark.qemu
def test_riscv32_verifies_bit_exact_and_counts_instructions(converted_run_dir, tmp_path):
    _need("riscv32")
    built = build_firmware(converted_run_dir, "riscv32")
    # stack = worst case + margin, rounded to 16 B; everything fits the ESP32-C3's SRAM
    assert 0 < built.stack_worst_case < built.stack_reserved <= built.stack_worst_case + 528
    assert built.ram_bytes <= built.ram_limit
    r = verify_target(converted_run_dir, "riscv32", tmp_path)
    c = r["counts"]
    assert c["verified"] == c["windows_sent"] >= 500 and c["mismatched"] == 0
    assert r["device"]["board"] == "riscv32"
    # the Student's 1x3 convolutions run RISC-V's Winograd path: its weights are held too
    assert r["device"]["held_sha256"] == r["manifest_held_sha256"]["compiled, RISC-V kernels"]
    assert r["manifest_held_sha256"]["compiled, RISC-V kernels"] != r["manifest_held_sha256"]["compiled"]
    # minstret under -icount shift=0 counts instructions: identical work, nearly equal counts
    assert 10_000 < r["cycles"]["min"] <= r["cycles"]["max"] < 1.05 * r["cycles"]["min"]


@pytest.mark.qemu
def test_microbit_fits_16k_and_verifies_bit_exact(converted_run_dir, tmp_path):
    _need("microbit")
    built = build_firmware(converted_run_dir, "microbit")
    # data + bss + arena + the measured stack (+ margin) in the nRF51822's 16 KB
    assert built.ram_bytes <= 16 * 1024 and built.flash_bytes <= 256 * 1024
    assert 0 < built.stack_worst_case < built.stack_reserved <= built.stack_worst_case + 528
    r = verify_target(converted_run_dir, "microbit", tmp_path)
    c = r["counts"]
    assert c["verified"] == c["windows_sent"] >= 500 and c["mismatched"] == 0
    assert r["device"]["board"] == "microbit" and r["device"]["core_clock_hz"] == 16_000_000


@pytest.mark.qemu
def test_stm32c011_fits_6k_ram_32k_flash_and_verifies_bit_exact(converted_run_dir, tmp_path):
    """The whole demo app (protocol, personalization, safety floor, identity hash, Student)
    in an STM32C011-class budget: data + bss + the measured worst-case stack + margin."""
    _need("stm32c011")
    built = build_firmware(converted_run_dir, "stm32c011")
    assert built.ram_limit == 6144 and built.flash_limit == 32768
    assert 0 < built.stack_worst_case < built.stack_reserved <= built.stack_worst_case + 528
    assert built.ram_bytes <= 6144 and built.flash_bytes <= 32768
    r = verify_target(converted_run_dir, "stm32c011", tmp_path)
    c = r["counts"]
    assert c["verified"] == c["windows_sent"] >= 500 and c["mismatched"] == 0
    assert r["device"]["board"] == "stm32c011" and r["device"]["core_clock_hz"] == 16_000_000


def test_build_refuses_a_model_too_large_for_the_target(converted_run_dir, tmp_path, capsys):
    # the same model with a 20 KB arena: more than the micro:bit's 16 KB of RAM
    run = tmp_path / "big"
    shutil.copytree(converted_run_dir / "int8", run / "int8")
    header = run / "int8" / "gen" / "model_engine.h"
    text = header.read_text()
    header.write_text(re.sub(r"MODEL_ENGINE_ARENA_BYTES \d+", "MODEL_ENGINE_ARENA_BYTES 20000", text))
    assert main(["build", "--target", "microbit", str(run)]) == 2
    err = capsys.readouterr().err
    assert "does not fit microbit" in err and "16384 B of RAM" in err and "arena 20000" in err
    assert not (run / "firmware").exists()          # refused before building
    with pytest.raises(SystemExit) as exit_:
        main(["build", "--target", "nonsense", str(run)])
    assert exit_.value.code == 2
    assert "microbit" in capsys.readouterr().err      # the targets are listed


@pytest.mark.qemu
def test_netduinoplus2_verifies_bit_exact(converted_run_dir, tmp_path):
    _need("netduinoplus2")
    built = build_firmware(converted_run_dir, "netduinoplus2")
    assert built.ram_bytes <= 128 * 1024
    r = verify_target(converted_run_dir, "netduinoplus2", tmp_path)
    c = r["counts"]
    assert c["verified"] == c["windows_sent"] >= 500 and c["mismatched"] == 0
    assert r["device"]["board"] == "netduinoplus2"
    # SysTick at 168 MHz under -icount shift=0: the same M4 work as mps2-an386 (40 instr/tick)
    assert r["cycles"]["min"] > 1000


def test_xtensa_lx106_compiles_with_strict_warnings_and_reports_sizes(converted_run_dir):
    if shutil.which("xtensa-lx106-elf-g++") is None:
        pytest.skip("xtensa-lx106-elf-g++ not installed")
    built = build_firmware(converted_run_dir, "xtensa-lx106")   # -Wall -Wextra -Werror, linked
    assert built.text > 4096 and built.bss > 0 and built.ram_bytes <= built.ram_limit
    # the ESP8266 reads constants byte by byte only from DRAM: the weights are in .data
    from bedside.host_tools.builder.firmware import model_needs
    assert built.data >= model_needs(converted_run_dir / "int8" / "gen")["weights"]
    assert 0 < built.stack_worst_case < built.stack_reserved


@pytest.mark.qemu
def test_bench_boards_writes_boards_json(converted_run_dir):
    _need("microbit")
    rc = main(["bench", "boards", str(converted_run_dir), "--targets", "microbit,xtensa-lx106",
               "--simulate", "1"])
    assert rc == 0
    rows = json.loads((converted_run_dir / "boards.json").read_text())["targets"]
    keys = {"built", "verified_windows", "mismatches", "text", "data", "bss", "ram_bytes",
            "ram_limit", "stack_worst_case", "instructions_per_inference"}
    assert set(rows) == {"microbit", "xtensa-lx106"} and all(set(r) == keys for r in rows.values())
    mb, xt = rows["microbit"], rows["xtensa-lx106"]
    assert mb["built"] and mb["verified_windows"] > 100 and mb["mismatches"] == 0
    assert mb["ram_bytes"] <= mb["ram_limit"] == 16384 and mb["instructions_per_inference"] > 0
    assert xt["built"] and xt["verified_windows"] == 0 and xt["instructions_per_inference"] is None


@pytest.mark.qemu
def test_a_copied_run_builds_verifies_and_benches(converted_run_dir, tmp_path, capsys):
    # build folders made at the run's first place carry CMake caches naming it; in the copy
    # `bedside build` notices, drops them and builds afresh (no "CMakeCache.txt directory
    # ... is different")
    _need("microbit")
    targets = ["microbit"] + (["xtensa-lx106"] if shutil.which("xtensa-lx106-elf-g++") else [])
    for t in targets:
        build_firmware(converted_run_dir, t)
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(converted_run_dir, moved, ignore=shutil.ignore_patterns("verify", "pio"))
    assert main(["build", "--target", "microbit", str(moved)]) == 0
    assert "made for another folder" in capsys.readouterr().out
    from bedside.host_tools.builder.firmware import _cached
    build_dir = moved / "firmware" / "microbit"
    assert _cached(build_dir, "CMAKE_CACHEFILE_DIR") == str(build_dir.resolve())
    r = verify_target(moved, "microbit", tmp_path, patients=1)
    assert r["counts"]["mismatched"] == 0 and r["device"]["board"] == "microbit"
    assert main(["bench", "boards", str(moved), "--targets", ",".join(targets),
                 "--simulate", "1"]) == 0
    rows = json.loads((moved / "boards.json").read_text())["targets"]
    assert all(r["built"] and r["mismatches"] == 0 for r in rows.values())
