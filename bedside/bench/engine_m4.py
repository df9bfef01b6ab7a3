"""Target figures for a generated engine: code size and instructions per inference (and per op).

Builds firmware/engine/bench/bench_main.cc + the generated model + a board port's start-up,
linker script, UART and counter (firmware/ports/cortex_m/, firmware/ports/riscv/) for each
target, runs it on QEMU with `-icount shift=0` (virtual time advances 1 ns per instruction,
so every count is deterministic), and converts the port's counter to instructions with a
calibration loop of known length run in the same firmware:
- `m4`: Cortex-M4F on mps2-an386, the DSP kernels (SMLAD), SysTick;
- `m4_portable`: the same core and board, portable kernels (`-DBEDSIDE_ENGINE_NO_DSP`);
- `m3`: Cortex-M3 on mps2-an385, soft float, no DSP extension;
- `m0`: Cortex-M0 (ARMv6-M: no DSP, no 32x32->64 multiply) on microbit (nRF51822, 16 KB
  RAM, 256 KB flash), TIMER0 at 16 MHz (62.5 instructions per tick);
- `riscv32`: rv32imc (ESP32-C3 class) on virt, port_cycles() reads the `minstret` CSR,
  which QEMU derives from its instruction counter under -icount (1.0 per count).
A model whose firmware does not fit a target's RAM or flash (the linker script's regions)
is reported as such (`{target}_does_not_fit`), not as a failure.
With `per_op`, one more build of each target carries the per-op hook
(BEDSIDE_ENGINE_PROFILE) and reports instructions and instructions per MAC for every op.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from bedside import fileio
from bedside.boards import BENCH, FLAGS
from bedside.kitfiles import FIRMWARE_DIR

ENGINE_DIR = FIRMWARE_DIR / "engine"
PORTS_DIR = FIRMWARE_DIR / "ports"
CORE_DIR = FIRMWARE_DIR / "core"
# the benchmark targets ([bench.*] rows of firmware/boards.toml: a board's core, port, QEMU)
TARGETS = BENCH
DEFAULT_TARGETS = tuple(TARGETS)
# the firmware's own compile flags, from the same table
CXXFLAGS = [*FLAGS.cxx, *FLAGS.optimize, *FLAGS.strict, *FLAGS.common, *FLAGS.bare_metal_cxx]
CFLAGS = [*FLAGS.optimize, *FLAGS.common]


class DoesNotFit(RuntimeError):
    """The benchmark firmware overflows a memory region of the target (not a failure)."""


class BuildFailed(RuntimeError):
    """A cross-compile or link of the benchmark firmware failed; the message is one line
    (the tool's first error), for `bench engine` to print without a traceback."""


class RunFailed(BuildFailed):
    """The benchmark firmware did not finish under QEMU (a crash, a hang, no result line);
    one line, the emulator's whole output kept in `qemu-<target>.log` beside the ELF."""


def tools_available(target: str = "m4") -> bool:
    t = TARGETS[target]
    return all(shutil.which(x) for x in (t.tool("gcc"), t.tool("g++"), t.tool("size"), t.qemu[0]))


def _c_bytes(a: np.ndarray) -> str:
    b = np.ascontiguousarray(a).view(np.uint8).reshape(-1)
    return ", ".join(str(int(v)) for v in b)


def write_bench_data(path: Path, inputs: np.ndarray, expected: np.ndarray) -> None:
    path.write_text(
        "// Inputs and TFLM's outputs for the engine benchmark (bedside/bench/engine_m4.py).\n"
        "#include <stdint.h>\n"
        f"static const uint32_t kBenchRuns = {len(inputs)}u;\n"
        f"alignas(16) static const uint8_t kBenchInputs[] = {{{_c_bytes(inputs)}}};\n"
        f"alignas(16) static const uint8_t kBenchExpected[] = {{{_c_bytes(expected)}}};\n")


def build(gen_dir: Path, work: Path, inputs: np.ndarray, expected: np.ndarray,
          target: str = "m4", profile: bool = False) -> Path:
    """Cross-compile the benchmark firmware for `target` (see TARGETS); returns the ELF.
    The stack is GCC's call-graph worst case plus a margin (bedside.host_tools.builder.callgraph); raises DoesNotFit when the
    linker reports an overflowed region."""
    t = TARGETS[target]
    b, chain = t.board, t.board.toolchain
    port = PORTS_DIR / b.port
    work.mkdir(parents=True, exist_ok=True)
    write_bench_data(work / "bench_data.h", inputs, expected)
    common = [*b.cpu, *chain.libc_compile, *FLAGS.bare_metal, f"-I{gen_dir}", f"-I{ENGINE_DIR}",
              f"-I{work}", f"-I{CORE_DIR}", f"-I{ENGINE_DIR / 'bench' / chain.bench_arch}"]
    cxx = [t.tool("g++"), *common, *CXXFLAGS, *t.defines,
           *(["-DBEDSIDE_ENGINE_PROFILE"] if profile else [])]
    cc = [t.tool("gcc"), *common, *CFLAGS, *b.defines, f"-DBEDSIDE_CORE_CLOCK_HZ={b.clock_hz}u"]
    objs = []
    for src in (Path(gen_dir) / "model_engine.cc", ENGINE_DIR / "bench" / "bench_main.cc",
                *(port / p for p in b.sources)):
        obj = work / (src.stem + ".o")
        compiler = {".cc": cxx, ".c": [*cc, "-std=c11"], ".S": cc}[src.suffix]
        cmd = [*compiler, "-c", str(src), "-o", str(obj)]
        _check(subprocess.run(cmd, capture_output=True, text=True), f"cross-compile of {src.name} for {target}")
        objs.append(str(obj))
    from bedside.host_tools.builder.callgraph import stack_reserve, worst_case_stack
    stack = stack_reserve(worst_case_stack(work))
    elf = work / "bench.elf"
    ld = port / b.ldscript
    cmd = [t.tool("gcc" if chain.link_with_c else "g++"), *b.cpu, *FLAGS.bare_metal_link,
           *chain.libc_link, f"-T{ld}", f"-L{PORTS_DIR / 'common'}",
           f"-Wl,--defsym=BEDSIDE_STACK_SIZE={stack}", *objs, "-lm", "-o", str(elf)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    over = re.findall(r"region `(\w+)' overflowed by (\d+) bytes", r.stderr)
    if r.returncode and over:
        sizes = _regions(ld)
        raise DoesNotFit(", ".join(f"{reg} {sizes[reg] + int(n)} bytes > {sizes[reg]}"
                                   for reg, n in dict(over).items()))
    _check(r, f"link of the {target} benchmark firmware")
    return elf


def _check(r: subprocess.CompletedProcess, what: str) -> None:
    if r.returncode:
        lines = [line.strip() for line in r.stderr.splitlines() if line.strip()]
        first = next((line for line in lines if "error" in line), lines[0] if lines else f"exit status {r.returncode}")
        raise BuildFailed(f"{what} failed: {first}")


def _regions(ldscript: Path) -> dict[str, int]:
    """MEMORY regions' lengths in bytes from a board's linker script (`RAM ... LENGTH = 16K`)."""
    unit = {"": 1, "K": 1 << 10, "M": 1 << 20}
    return {m.group(1): int(m.group(2)) * unit[m.group(3)] for m in re.finditer(
        r"^\s*(\w+)\s*\([^)]*\)\s*:\s*ORIGIN\s*=\s*\w+\s*,\s*LENGTH\s*=\s*(\d+)([KM]?)",
        ldscript.read_text(), re.M)}


def size_of(path: Path, target: str = "m4") -> dict:
    out = subprocess.run([TARGETS[target].tool("size"), "-A", str(path)], capture_output=True,
                         text=True, check=True).stdout
    sections = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)", out, re.M)}
    text = sum(v for k, v in sections.items() if k.startswith((".text", ".rodata", ".srodata")))
    data = sum(v for k, v in sections.items() if k.startswith((".data", ".sdata")))
    bss = sum(v for k, v in sections.items() if k.startswith((".bss", ".sbss")))
    return {"text": text, "data": data, "bss": bss}


def run_qemu(elf: Path, target: str = "m4", timeout: float = 600.0) -> dict:
    """Run the benchmark ELF; returns instructions/inference (and per op) and whether outputs matched."""
    cmd = [*TARGETS[target].qemu, "-nographic", "-icount", "shift=0", "-monitor", "none",
           "-serial", "stdio", "-kernel", str(elf)]
    log = Path(elf).with_name(f"qemu-{target}.log")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        fileio.write_text(log, (e.stdout or b"").decode(errors="replace")
                          if isinstance(e.stdout, bytes) else (e.stdout or ""))
        raise RunFailed(f"{target}: the benchmark firmware did not finish within {timeout:.0f} s "
                        f"under {cmd[0]} (output: {log})") from None
    out = r.stdout
    cal = re.search(r"CAL instructions=(\d+) ticks=(\d+)", out)
    runs = [(int(t), e == "1") for t, e in re.findall(r"RUN \d+ ticks=(\d+) equal=(\d)", out)]
    if not cal or not runs or "DONE" not in out:
        fileio.write_text(log, out + r.stderr)
        last = next((ln.strip() for ln in reversed((out + r.stderr).splitlines()) if ln.strip()),
                    "no output")
        raise RunFailed(f"{target}: the benchmark firmware did not finish under {cmd[0]} "
                        f"(exit {r.returncode}; last line: {last[:160]!r}; output: {log})")
    per_tick = int(cal.group(1)) / max(int(cal.group(2)), 1)
    # the mean over the runs: the first may differ by a tick, and without SSAT or conditional
    # moves (M0, RISC-V) the clamps are branches, so counts vary with the data a little
    ticks = round(sum(t for t, _ in runs) / len(runs))
    op_ticks = [int(t) for t in re.findall(r"OP \d+ ticks=(\d+)", out)]
    return {"instructions": int(round(ticks * per_tick)), "instructions_per_tick": per_tick,
            "ticks": ticks, "outputs_equal": all(e for _, e in runs) and "DONE OK" in out,
            "op_instructions": [int(round(t * per_tick / len(runs))) for t in op_ticks],
            "exit_code": r.returncode}


def _per_mac(instructions: int, macs: int):
    return round(instructions / macs, 2) if macs else None


def measure(gen_dir: Path, work: Path, inputs: np.ndarray, expected: np.ndarray, console=None,
            targets=DEFAULT_TARGETS, per_op: bool = False, info: dict | None = None) -> dict:
    """Figures for every target: `{target}_instructions`, `_instructions_per_mac`,
    `_outputs_equal`, `_engine_bytes` (model_engine.o code + weights), and with `per_op`
    (needs `info` from `generate`, for op names and MACs) `{target}_ops`: one row per op.
    A target whose tools are missing gets `{target}_note`, one the firmware does not fit
    `{target}_does_not_fit` ("RAM 17024 bytes > 16384"); neither counts as a difference."""
    macs = int(re.search(r"MODEL_ENGINE_MACS (\d+)", (Path(gen_dir) / "model_engine.h").read_text()).group(1))
    figures, measured = {}, []
    for target in targets:
        t = TARGETS[target]
        if not tools_available(target):
            figures[f"{target}_note"] = (f"{t.tool('g++')} / {t.qemu[0]} not found: "
                                         f"{target} figures skipped")
            continue
        too_big = None
        try:
            elf = build(gen_dir, Path(work) / target, inputs, expected, target)
        except DoesNotFit as e:
            too_big = str(e)
        eng = size_of(Path(work) / target / "model_engine.o", target)   # compiled either way
        figures[f"{target}_engine_bytes"] = eng["text"] + eng["data"]
        if too_big:
            figures[f"{target}_does_not_fit"] = too_big
            continue
        measured.append(target)
        q = run_qemu(elf, target)
        figures[f"{target}_instructions"] = q["instructions"]
        figures[f"{target}_instructions_per_mac"] = _per_mac(q["instructions"], macs)
        figures[f"{target}_instructions_per_tick"] = q["instructions_per_tick"]
        figures[f"{target}_outputs_equal"] = q["outputs_equal"]
        if target == "m4":
            figures["m4_text_bytes"] = size_of(elf)["text"]
        if per_op and info is not None:
            elf = build(gen_dir, Path(work) / f"{target}_per_op", inputs, expected, target, profile=True)
            p = run_qemu(elf, target)
            figures[f"{target}_outputs_equal"] &= p["outputs_equal"]
            figures[f"{target}_ops"] = [
                {"index": i, "op": name, "macs": m, "instructions": n, "instructions_per_mac": _per_mac(n, m)}
                for i, (name, m, n) in enumerate(zip(info["ops"], info["op_macs"], p["op_instructions"]))]
    figures["targets_measured"] = measured
    figures["outputs_equal"] = all(figures[f"{t}_outputs_equal"] for t in measured)
    return figures
