"""Build the firmware with CMake for a run: `bedside build` and the tests use this.

    build_firmware(run_dir, target="mps2-an386") -> BuildResult (binary, sizes, stack)

The build tree is RUN_DIR/firmware/<target>/ (RUN_DIR/firmware/<target>-tflm/ for the
tflm backend); the generated model sources come from RUN_DIR/int8/gen/ (bedside convert).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .callgraph import STACK_MARGIN, stack_reserve, worst_case_stack

from bedside.boards import TARGETS, Board
from bedside.kitfiles import FIRMWARE_DIR
from bedside.rundir import RunPaths

# TARGETS: every target, its flags, budgets and how it runs (firmware/boards.toml).

# What the kit needs besides the model, for the fit check before building: measured with
# the demo model and rounded down (2,743 B of static RAM on stm32c011, whose state arrays
# hold 8 signals, 3,319 B on microbit; worst-case stack 784-880 B; 17.1 KB of code on the
# M0), so the check refuses only what cannot fit. The linker makes the exact check.
KIT_STATIC_RAM = 2688   # protocol buffers, personalization, safety floor, loop state
KIT_STACK = 768         # worst-case stack before the margin
KIT_CODE = 16384        # code and constants without the weights
BACKENDS = ("compiled", "tflm")


class BuildError(RuntimeError):
    """Configuration or compilation failed; the message names the cause and the log."""


class BuildInputError(BuildError):
    """What the build needs is missing or wrong (no converted run, unknown target or
    backend): bad input, exit 2, not a failed compilation."""


class DoesNotFit(BuildInputError):
    """The model does not fit the target's RAM or flash (bad input: exit 2)."""


@dataclass
class BuildResult:
    target: str
    backend: str
    build_dir: Path
    binary: Path
    text: int = 0           # code + constants (flash)
    data: int = 0           # initialised data (flash and RAM)
    bss: int = 0            # zeroed RAM
    max_stack_frame: int = 0
    max_stack_function: str = ""
    stack_reserved: int = 0   # bare metal: the .stack section (counted in bss)
    notes: list[str] = field(default_factory=list)
    stack_worst_case: int = 0  # bare metal: deepest call path + interrupt (-fcallgraph-info)
    ram_limit: int | None = None
    flash_limit: int | None = None
    identity: dict = field(default_factory=dict)   # what INFO reports (IDENTITY_FILE)

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss

    def summary(self) -> str:
        return (f"{self.binary}\n  target {self.target}, backend {self.backend}\n"
                f"  flash {self.flash_bytes} B (text {self.text} + data {self.data}), "
                f"static RAM {self.ram_bytes} B (data {self.data} + bss {self.bss}"
                + (f", of which stack {self.stack_reserved}" if self.stack_reserved else "") + ")\n"
                f"  largest stack frame {self.max_stack_frame} B ({self.max_stack_function})"
                + (f", worst-case stack {self.stack_worst_case} B" if self.stack_worst_case else "")
                + (f"\n  RAM budget {self.ram_limit} B, flash budget {self.flash_limit} B"
                   if self.ram_limit else ""))

    def as_dict(self) -> dict:
        return {"target": self.target, "backend": self.backend, "binary": str(self.binary),
                "text": self.text, "data": self.data, "bss": self.bss,
                "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "max_stack_frame": self.max_stack_frame,
                "max_stack_function": self.max_stack_function,
                "stack_reserved": self.stack_reserved, "stack_worst_case": self.stack_worst_case,
                "ram_limit": self.ram_limit, "flash_limit": self.flash_limit,
                "identity": self.identity}


# What a build records about the firmware it made, in its build folder: the INFO fields
# `bedside verify` checks the device against (board, clock, backend, formats, build id).
IDENTITY_FILE = "identity.json"
# firmware/ files that are not compiled into the firmware (tests, fuzzers, PlatformIO test)
_NOT_FIRMWARE = ("tests", "fuzz", "pio_test")


def build_id(gen_dir: Path, defines: dict[str, str], compiler: str,
             tflm_dir: Path | None = None) -> str:
    """16 hex digits: SHA-256 over the firmware sources, the generated model sources, the
    CMake definitions (not the measured stack size or paths), the compiler's version line
    and the TFLM tree's file names and sizes when it is compiled in; the target's flags
    live in firmware/boards.toml, a source. Same inputs, same id."""
    import hashlib
    h = hashlib.sha256()
    roots = [("firmware", FIRMWARE_DIR), ("gen", Path(gen_dir))]
    for label, root in roots:
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = f.relative_to(root)
            if label == "firmware" and (rel.parts[0] in _NOT_FIRMWARE or f.suffix == ".md"):
                continue
            h.update(f"{label}/{rel.as_posix()}\0".encode() + f.read_bytes() + b"\0")
    for k in sorted(defines):
        if k not in ("BEDSIDE_STACK_BYTES", "BEDSIDE_BUILD_ID", "BEDSIDE_GEN_DIR", "TFLM_DIR"):
            h.update(f"{k}={defines[k]}\0".encode())
    h.update(_compiler_version(compiler).encode())
    if tflm_dir:
        for f in sorted(p for p in Path(tflm_dir).rglob("*") if p.is_file()):
            h.update(f"tflm/{f.relative_to(tflm_dir).as_posix()}:{f.stat().st_size}\0".encode())
    return h.hexdigest()[:16]


def _compiler_version(compiler: str) -> str:
    try:
        out = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    except OSError:
        return compiler
    return out.splitlines()[0] if out else compiler


def read_identity(build_dir: Path) -> dict | None:
    """The identity a build recorded (None when the folder holds none)."""
    import json
    path = Path(build_dir) / IDENTITY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def gen_dir_of(run_dir: Path) -> Path:
    return RunPaths(run_dir).gen_dir


def default_build_dir(run_dir: Path, target: str, backend: str) -> Path:
    return RunPaths(run_dir).firmware_dir(target, backend)


def binary_name(target: str) -> str:
    return "bedside-firmware" if target == "host" else "bedside-firmware.elf"


def check_tools(target: str) -> None:
    need = ["cmake", TARGETS[target].compiler if target in TARGETS else "g++"]
    missing = [t for t in need if shutil.which(t) is None]
    if missing:
        raise BuildError(f"missing tools for target {target}: {', '.join(missing)} "
                         "(./run.sh setup as root installs them)")


def _run(cmd: list[str], log: Path, what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise BuildError(f"{what} failed (exit {proc.returncode}); full log: {log}\n{tail}")
    return proc.stdout + proc.stderr


# what CMake writes into every build folder it configured (a folder the kit made)
_CMAKE_MADE = ("CMakeCache.txt", "CMakeFiles", "Makefile", "cmake_install.cmake",
               "build.ninja", "cmake_identity.json")


def discard_stale_cache(source: Path, build_dir: Path) -> bool:
    """A run folder copied or moved elsewhere carries CMake caches made for its old place
    (CMake then refuses: "CMakeCache.txt directory ... is different"). When the cache names
    another build folder (CMAKE_CACHEFILE_DIR) or source folder (CMAKE_HOME_DIRECTORY), drop
    what CMake made there so the folder is configured and built afresh. True if dropped."""
    build_dir = Path(build_dir)
    cached = {k: _cached(build_dir, k) for k in ("CMAKE_CACHEFILE_DIR", "CMAKE_HOME_DIRECTORY")}
    if cached["CMAKE_CACHEFILE_DIR"] is None:
        return False
    here = {"CMAKE_CACHEFILE_DIR": build_dir.resolve(), "CMAKE_HOME_DIRECTORY": Path(source).resolve()}
    if all(Path(cached[k]).resolve() == here[k] for k in here):
        return False
    for name in _CMAKE_MADE:
        path = build_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return True


# Characters CMake, make and the compilers' response files cannot take in a path unharmed
# (a list separator, quotes, shell and make metacharacters, control characters).
_UNSAFE_PATH_CHARS = set("'\"`$\\;#%&|<>*?") | {chr(c) for c in range(32)} | {"\x7f"}


class UnsafePath(BuildInputError):
    """A path the toolchain cannot take; refused before anything runs (exit 2)."""


def check_tool_path(path: Path, what: str) -> None:
    """Refuse (UnsafePath, naming it) a path that would reach CMake or make with a character
    they read as syntax: paths are passed as arguments, never through a shell, but make and
    CMake lists still split or expand them."""
    text = str(Path(path).resolve())
    bad = sorted({c for c in text if c in _UNSAFE_PATH_CHARS})
    if bad:
        raise UnsafePath(f"{what} {text!r}: holds {', '.join(repr(c) for c in bad)}, which "
                         "CMake/make cannot take in a path; use a folder without it")


def configure_and_build(source: Path, build_dir: Path, defines: dict[str, str],
                        target: str, jobs: int = 2) -> str:
    """cmake -S source -B build_dir -D... && cmake --build; returns the build output.
    A cache made for another folder (a copied run) is dropped first. The build folder is
    claimed first (bedside.ownership): a folder with files bedside did not write is refused."""
    from bedside import ownership
    check_tool_path(source, "firmware source folder")
    check_tool_path(build_dir, "build folder")
    for k, v in defines.items():
        if k.endswith("_DIR") and v:
            check_tool_path(Path(v), k)
    check_tools(target)
    ownership.claim(build_dir, whole=True)     # CMake's tree, the kit's as a whole
    discard_stale_cache(source, build_dir)
    log = build_dir / "build.log"
    log.write_text("")
    cmd = ["cmake", "-S", str(source), "-B", str(build_dir)]
    cmd += [f"-D{k}={v}" for k, v in defines.items()]
    out = _run(cmd, log, "cmake configure")
    out += _run(["cmake", "--build", str(build_dir), "-j", str(jobs)], log, "build")
    return out


def stack_usage(build_dir: Path) -> tuple[int, str]:
    """Largest frame in the -fstack-usage reports (.su files) of the build."""
    best, name = 0, ""
    for su in build_dir.rglob("*.su"):
        for line in su.read_text(errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) > best:
                best, name = int(parts[1]), parts[0].rsplit(":", 1)[-1]
    return best, name


def parse_size(binary: Path, tool: str) -> tuple[int, int, int]:
    out = subprocess.run([tool, str(binary)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s", out, re.M)
    if not m:
        raise BuildError(f"cannot read `{tool} {binary}` output:\n{out}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def section_size(binary: Path, tool: str, section: str) -> int:
    out = subprocess.run([tool, "-A", str(binary)], capture_output=True, text=True).stdout
    m = re.search(rf"^{re.escape(section)}\s+(\d+)", out, re.M)
    return int(m.group(1)) if m else 0


def build_firmware(run_dir: Path | None, target: str = "host", backend: str = "compiled",
                   tflm_dir: Path | None = None, gen_dir: Path | None = None,
                   build_dir: Path | None = None, sanitize: bool = False) -> BuildResult:
    """Configure and build the firmware for one target; see the module docstring."""
    if target not in TARGETS:
        raise BuildInputError(f"unknown target '{target}': choose one of {', '.join(TARGETS)}")
    if backend not in BACKENDS:
        raise BuildInputError(f"unknown backend '{backend}': choose compiled or tflm")
    gen_dir = Path(gen_dir) if gen_dir else gen_dir_of(Path(run_dir))
    if not (gen_dir / "model_config.h").is_file():
        raise BuildInputError(f"{gen_dir / 'model_config.h'} not found: run `bedside convert "
                         f"{run_dir if run_dir else 'RUN_DIR'}` first")
    notes, requested = [], backend
    if backend == "tflm" and tflm_dir is None:
        # CMake makes the same decision (and says so in the build log).
        notes.append("tflm backend needs TFLM sources (--tflm-dir); TFLM is not provided, "
                     "so the compiled backend was built")
        backend = "compiled"
    build_dir = Path(build_dir) if build_dir else default_build_dir(Path(run_dir), target, backend)
    defines = {"BEDSIDE_TARGET": target, "BEDSIDE_BACKEND": requested,
               "BEDSIDE_GEN_DIR": str(gen_dir.resolve()), "CMAKE_BUILD_TYPE": "Release",
               "TFLM_DIR": str(Path(tflm_dir).resolve()) if tflm_dir else "",
               "BEDSIDE_SANITIZE": "ON" if sanitize else "OFF"}
    spec = TARGETS[target]
    if backend == "compiled":
        check_fit(gen_dir, spec)
    # the backend built, not the one asked for: a tflm request without TFLM builds the
    # compiled firmware, the same bytes as asking for it
    bid = build_id(gen_dir, {**defines, "BEDSIDE_BACKEND": backend}, spec.compiler,
                   tflm_dir if backend == "tflm" else None)
    defines["BEDSIDE_BUILD_ID"] = f"0x{int.from_bytes(bytes.fromhex(bid), 'little'):016x}ULL"
    if discard_stale_cache(FIRMWARE_DIR, build_dir):
        notes.append(f"{build_dir}: its CMake cache was made for another folder (a copied or "
                     "moved run); rebuilt from scratch")
    if spec.measured_stack and _cached(build_dir, "BEDSIDE_STACK_BYTES") is None:
        defines["BEDSIDE_STACK_BYTES"] = "0"    # first link: the stack is not measured yet
    _build(build_dir, defines, spec)
    worst = worst_case_stack(build_dir) if spec.tools else 0
    if spec.measured_stack:
        # the stack is the worst case plus a margin: relink when that differs from the last link
        want = stack_reserve(worst)
        if _cached(build_dir, "BEDSIDE_STACK_BYTES") != str(want):
            _build(build_dir, {**defines, "BEDSIDE_STACK_BYTES": str(want)}, spec)
    binary = build_dir / binary_name(target)
    text, data, bss = parse_size(binary, spec.size_tool)
    frame, func = stack_usage(build_dir)
    stack = section_size(binary, spec.size_tool, ".stack") if spec.tools else 0
    identity = _write_identity(build_dir, bid, gen_dir, target, backend)
    return BuildResult(target, backend, build_dir, binary, text, data, bss, frame, func, stack,
                       notes, stack_worst_case=worst, ram_limit=spec.ram_limit,
                       flash_limit=spec.flash_limit, identity=identity)


def _write_identity(build_dir: Path, bid: str, gen_dir: Path, target: str, backend: str) -> dict:
    """identity.json: INFO's board, clock, backend, formats and build id as this build made
    them (CMake wrote board and clock from the target table), and what it was built from."""
    import json
    from bedside import fileio
    cmake = json.loads((build_dir / "cmake_identity.json").read_text())
    identity = {"build_id": bid, "board": cmake["board"], "core_clock_hz": cmake["core_clock_hz"],
                "backend": backend, "gen_format": _define(FIRMWARE_DIR / "core" / "gen_format.h",
                                                          "BEDSIDE_FIRMWARE_GEN_FORMAT"),
                "model_format": (_define(gen_dir / "model_engine.h", "BEDSIDE_ENGINE_GEN_FORMAT")
                                 if backend == "compiled" else 0),
                "gen_dir": str(Path(gen_dir).resolve()), "target": target}
    fileio.write_json(build_dir / IDENTITY_FILE, identity)
    return identity


def _define(header: Path, name: str) -> int:
    m = re.search(rf"^#define {name} (\d+)", header.read_text(), re.M)
    if not m:
        raise BuildError(f"{header}: #define {name} not found")
    return int(m.group(1))


def _build(build_dir: Path, defines: dict[str, str], spec: Board) -> None:
    """configure_and_build, with the linker's "region overflowed" as DoesNotFit."""
    try:
        configure_and_build(FIRMWARE_DIR, build_dir, defines, spec.name)
    except BuildError as e:
        m = re.search(r"region `(\w+)' overflowed by (\d+) bytes", str(e))
        if m:
            limit = spec.ram_limit if m.group(1) == "RAM" else spec.flash_limit
            raise DoesNotFit(f"the firmware does not fit {spec.name}: {m.group(1)} overflowed by "
                             f"{m.group(2)} B (budget {limit} B); see {build_dir / 'build.log'}") from None
        raise


def model_needs(gen_dir: Path) -> dict[str, int]:
    """The compiled model's own RAM and flash, from the generated model_engine.h."""
    text = (Path(gen_dir) / "model_engine.h").read_text()
    get = {k: int(m.group(1)) for k in ("ARENA", "INPUT", "OUTPUT", "WEIGHT")
           if (m := re.search(rf"#define MODEL_ENGINE_{k}_BYTES (\d+)", text))}
    if len(get) < 4:
        raise BuildError(f"{Path(gen_dir) / 'model_engine.h'}: MODEL_ENGINE_*_BYTES missing: "
                         "run `bedside convert RUN_DIR` again")
    # the app's window is the model input (firmware/core/window.h), next to the engine's arena
    return {"arena": get["ARENA"], "window": get["INPUT"] + get["OUTPUT"],
            "weights": get["WEIGHT"]}


def check_fit(gen_dir: Path, spec: Board) -> None:
    """Refuse, before building, a model that cannot fit the target (raises DoesNotFit)."""
    if spec.ram_limit is None:
        return
    need = model_needs(gen_dir)
    ram = need["arena"] + need["window"] + KIT_STATIC_RAM + KIT_STACK + STACK_MARGIN
    flash = need["weights"] + KIT_CODE
    if ram > spec.ram_limit or flash > (spec.flash_limit or flash):
        raise DoesNotFit(
            f"the model does not fit {spec.name} ({spec.core}): it needs at least {ram} B of RAM "
            f"(arena {need['arena']} + input window {need['window']} + kit {KIT_STATIC_RAM} "
            f"+ stack {KIT_STACK + STACK_MARGIN}) and {flash} B of flash (weights "
            f"{need['weights']} + kit code {KIT_CODE}); the budget is {spec.ram_limit} B of RAM "
            f"and {spec.flash_limit} B of flash")


def _cached(build_dir: Path, name: str) -> str | None:
    cache = build_dir / "CMakeCache.txt"
    m = re.search(rf"^{name}:\w+=(.*)$", cache.read_text(), re.M) if cache.is_file() else None
    return m.group(1) if m else None
