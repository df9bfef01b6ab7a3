"""Cortex-M figures for a generated engine: code size and instructions per inference (and per op).

Builds firmware/engine/bench/bench_main.cc + the generated model + the Cortex-M port's
start-up, linker script and UART/SysTick driver (firmware/ports/cortex_m/) with
arm-none-eabi-g++ for three targets, runs each on QEMU with `-icount shift=0`, and
converts SysTick ticks to instructions with a calibration loop of known length run in the
same firmware:
- `m4`: Cortex-M4F on mps2-an386, the DSP kernels (SMLAD);
- `m4_portable`: the same core and board, portable kernels (`-DBEDSIDE_ENGINE_NO_DSP`);
- `m3`: Cortex-M3 on mps2-an385, soft float, no DSP extension (what an M0/M3 or a RISC-V
  core without packed SIMD runs).
With `per_op`, a fourth build of each target carries the per-op hook (BEDSIDE_ENGINE_PROFILE)
and reports instructions and instructions per MAC for every op.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

KIT_ROOT = Path(__file__).resolve().parents[2]
ENGINE_DIR = KIT_ROOT / "firmware" / "engine"
PORT_DIR = KIT_ROOT / "firmware" / "ports" / "cortex_m"
CORE_DIR = KIT_ROOT / "firmware" / "core"
CXXFLAGS = ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
            "-fdata-sections", "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics"]
M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
M3 = ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"]
# name -> (compiler flags, extra defines, QEMU machine)
TARGETS = {
    "m4": (M4, [], "mps2-an386"),
    "m4_portable": (M4, ["-DBEDSIDE_ENGINE_NO_DSP"], "mps2-an386"),
    "m3": (M3, [], "mps2-an385"),
}


def tools_available() -> bool:
    return all(shutil.which(t) for t in ("arm-none-eabi-g++", "arm-none-eabi-size", "qemu-system-arm"))


def _c_bytes(a: np.ndarray) -> str:
    b = np.ascontiguousarray(a).view(np.uint8).reshape(-1)
    return ", ".join(str(int(v)) for v in b)


def write_bench_data(path: Path, inputs: np.ndarray, expected: np.ndarray) -> None:
    path.write_text(
        "// Inputs and TFLM's outputs for the engine benchmark (converter/engine/bench_m4.py).\n"
        "#include <stdint.h>\n"
        f"static const uint32_t kBenchRuns = {len(inputs)}u;\n"
        f"alignas(16) static const uint8_t kBenchInputs[] = {{{_c_bytes(inputs)}}};\n"
        f"alignas(16) static const uint8_t kBenchExpected[] = {{{_c_bytes(expected)}}};\n")


def build(gen_dir: Path, work: Path, inputs: np.ndarray, expected: np.ndarray,
          target: str = "m4", profile: bool = False) -> Path:
    """Cross-compile the benchmark firmware for `target` (see TARGETS); returns the ELF."""
    cpu, defines, _ = TARGETS[target]
    work.mkdir(parents=True, exist_ok=True)
    write_bench_data(work / "bench_data.h", inputs, expected)
    flags = cpu + CXXFLAGS + defines + (["-DBEDSIDE_ENGINE_PROFILE"] if profile else [])
    inc = [f"-I{gen_dir}", f"-I{ENGINE_DIR}", f"-I{work}", f"-I{CORE_DIR}"]
    objs = []
    for src, lang in ((Path(gen_dir) / "model_engine.cc", "c++"), (ENGINE_DIR / "bench" / "bench_main.cc", "c++"),
                      (PORT_DIR / "startup.c", "c"), (PORT_DIR / "systick.c", "c"),
                      (PORT_DIR / "port_mps2.c", "c")):
        obj = work / (src.stem + ".o")
        if lang == "c":
            cmd = ["arm-none-eabi-gcc", *cpu, "-std=c11", "-O2", "-ffunction-sections", "-fdata-sections",
                   "-DBEDSIDE_CORE_CLOCK_HZ=25000000u", *inc, "-c", str(src), "-o", str(obj)]
        else:
            cmd = ["arm-none-eabi-g++", *flags, *inc, "-c", str(src), "-o", str(obj)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"cross-compile failed: {' '.join(cmd)}\n{r.stderr}")
        objs.append(str(obj))
    elf = work / "bench.elf"
    cmd = ["arm-none-eabi-g++", *cpu, "-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
           f"-T{PORT_DIR / 'mps2.ld'}", f"-L{PORT_DIR.parent / 'common'}",
           "-Wl,--defsym=BEDSIDE_STACK_SIZE=8192", *objs, "-lm", "-o", str(elf)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"link failed: {' '.join(cmd)}\n{r.stderr}")
    return elf


def size_of(path: Path) -> dict:
    out = subprocess.run(["arm-none-eabi-size", "-A", str(path)], capture_output=True, text=True,
                         check=True).stdout
    sections = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)", out, re.M)}
    text = sum(v for k, v in sections.items() if k.startswith((".text", ".rodata")))
    data = sum(v for k, v in sections.items() if k.startswith(".data"))
    bss = sum(v for k, v in sections.items() if k.startswith(".bss"))
    return {"text": text, "data": data, "bss": bss}


def run_qemu(elf: Path, machine: str = "mps2-an386", timeout: float = 300.0) -> dict:
    """Run the benchmark ELF; returns instructions/inference (and per op) and whether outputs matched."""
    cmd = ["qemu-system-arm", "-M", machine, "-nographic", "-icount", "shift=0",
           "-semihosting-config", "enable=on,target=native", "-monitor", "none",
           "-serial", "stdio", "-kernel", str(elf)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = r.stdout
    cal = re.search(r"CAL instructions=(\d+) ticks=(\d+)", out)
    runs = [(int(t), e == "1") for t, e in re.findall(r"RUN \d+ ticks=(\d+) equal=(\d)", out)]
    if not cal or not runs or "DONE" not in out:
        raise RuntimeError(f"benchmark firmware did not finish (rc {r.returncode}):\n{out[-2000:]}{r.stderr[-2000:]}")
    per_tick = int(cal.group(1)) / max(int(cal.group(2)), 1)
    ticks = min(t for t, _ in runs)          # all runs do the same work; the first may differ by a tick
    op_ticks = [int(t) for t in re.findall(r"OP \d+ ticks=(\d+)", out)]
    return {"instructions": int(round(ticks * per_tick)), "instructions_per_tick": per_tick,
            "ticks": ticks, "outputs_equal": all(e for _, e in runs) and "DONE OK" in out,
            "op_instructions": [int(round(t * per_tick / len(runs))) for t in op_ticks],
            "exit_code": r.returncode}


def _per_mac(instructions: int, macs: int):
    return round(instructions / macs, 2) if macs else None


def measure(gen_dir: Path, work: Path, inputs: np.ndarray, expected: np.ndarray, console=None,
            targets=tuple(TARGETS), per_op: bool = False, info: dict | None = None) -> dict:
    """Figures for every target: `{target}_instructions`, `_instructions_per_mac`,
    `_outputs_equal`, `_engine_bytes` (model_engine.o code + weights), and with `per_op`
    (needs `info` from `generate`, for op names and MACs) `{target}_ops`: one row per op.
    An empty dict with a note when the tools are missing."""
    if not tools_available():
        return {"m4_note": "arm-none-eabi-g++ / qemu-system-arm not found: Cortex-M figures skipped"}
    macs = int(re.search(r"MODEL_ENGINE_MACS (\d+)", (Path(gen_dir) / "model_engine.h").read_text()).group(1))
    figures = {}
    for target in targets:
        machine = TARGETS[target][2]
        elf = build(gen_dir, Path(work) / target, inputs, expected, target)
        q = run_qemu(elf, machine)
        figures[f"{target}_instructions"] = q["instructions"]
        figures[f"{target}_instructions_per_mac"] = _per_mac(q["instructions"], macs)
        figures[f"{target}_outputs_equal"] = q["outputs_equal"]
        eng = size_of(Path(work) / target / "model_engine.o")
        figures[f"{target}_engine_bytes"] = eng["text"] + eng["data"]
        if target == "m4":
            figures["m4_text_bytes"] = size_of(elf)["text"]
            figures["m4_instructions_per_tick"] = q["instructions_per_tick"]
        if per_op and info is not None:
            elf = build(gen_dir, Path(work) / f"{target}_per_op", inputs, expected, target, profile=True)
            p = run_qemu(elf, machine)
            figures[f"{target}_outputs_equal"] &= p["outputs_equal"]
            figures[f"{target}_ops"] = [
                {"index": i, "op": name, "macs": m, "instructions": n, "instructions_per_mac": _per_mac(n, m)}
                for i, (name, m, n) in enumerate(zip(info["ops"], info["op_macs"], p["op_instructions"]))]
    figures["outputs_equal"] = all(figures[f"{t}_outputs_equal"] for t in targets)
    return figures
