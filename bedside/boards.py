"""The board table, `firmware/boards.toml`: every target's core, flags, port, linker script,
stack, RAM/flash budget, QEMU machine and counting method, its PlatformIO environment and
its real counterpart, and the compiler flags of every build, read into typed records.

    python -m bedside.boards            # regenerate firmware/cmake/boards.cmake (and library.json)
    python -m bedside.boards --check    # exit 1 if one is stale (a test runs this)

`bedside build`, `verify --target`, `emulate`, `bench boards`, `bench engine`, `flash` and the
pytest plugin read TARGETS / BENCH / PIO from here; CMake reads the generated include, which
is committed because CMake builds without Python. Adding a board is one `[target.NAME]` row
plus its port source (docs/firmware.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bedside.kitfiles import FIRMWARE_DIR

TABLE_PATH = FIRMWARE_DIR / "boards.toml"
CMAKE_PATH = FIRMWARE_DIR / "cmake" / "boards.cmake"
# the repository's PlatformIO library manifest (absent from an installed kit)
LIBRARY_JSON = FIRMWARE_DIR.parent / "library.json"
COMMAND = "python -m bedside.boards"


class TableError(ValueError):
    """The board table is malformed; the message names the row and the field."""


@dataclass(frozen=True)
class Flags:
    optimize: tuple[str, ...]
    common: tuple[str, ...]
    cxx: tuple[str, ...]
    strict: tuple[str, ...]
    bare_metal: tuple[str, ...]
    bare_metal_cxx: tuple[str, ...]
    bare_metal_link: tuple[str, ...]


@dataclass(frozen=True)
class Toolchain:
    name: str                        # firmware/cmake/<name>.cmake
    prefix: str                      # of gcc, g++, size
    libc_compile: tuple[str, ...] = ()
    libc_link: tuple[str, ...] = ()
    link_with_c: bool = False        # no libstdc++: link with the C driver
    bench_arch: str = ""             # firmware/engine/bench/<arch>/
    bench_qemu: tuple[str, ...] = ()


@dataclass(frozen=True)
class Board:
    """One `[target.NAME]` row: how a target compiles, what it may use, how it runs."""
    name: str
    core: str
    port: str
    clock_hz: int
    counting: str
    real: str
    toolchain: Toolchain | None = None       # None: the host's compiler
    sources: tuple[str, ...] = ()
    ldscript: str = ""
    cpu: tuple[str, ...] = ()
    defines: tuple[str, ...] = ()
    stack: int | None = None                 # None: measured (worst case + margin)
    ram_limit: int | None = None
    flash_limit: int | None = None
    qemu: tuple[str, ...] = ()               # () = not emulated here
    insn_per_tick: float | None = None
    pio_env: str | None = None

    @property
    def tools(self) -> str:
        return self.toolchain.prefix if self.toolchain else ""

    @property
    def compiler(self) -> str:
        return f"{self.tools}g++"

    @property
    def size_tool(self) -> str:
        return f"{self.tools}size"

    @property
    def measured_stack(self) -> bool:
        return self.toolchain is not None and self.stack is None


@dataclass(frozen=True)
class BenchTarget:
    """One `[bench.NAME]` row: the engine benchmark on a board's core, port and QEMU."""
    name: str
    board: Board
    label: str
    defines: tuple[str, ...] = ()

    @property
    def qemu(self) -> tuple[str, ...]:
        return (*self.board.qemu, *self.board.toolchain.bench_qemu)

    def tool(self, name: str) -> str:
        return self.board.tools + name


@dataclass(frozen=True)
class PioEnv:
    """One `[pio.NAME]` row: a PlatformIO environment for a real board."""
    name: str
    platform: str
    board: str
    real: str
    framework: str = ""                      # "" = bare metal: the port of `target`
    target: Board | None = None
    defines: tuple[str, ...] = ()
    backend: str = "compiled"
    lib_deps: tuple[str, ...] = ()
    stack: int | None = None


@dataclass(frozen=True)
class Table:
    flags: Flags
    toolchains: dict[str, Toolchain]
    targets: dict[str, Board]
    bench: dict[str, BenchTarget]
    pio: dict[str, PioEnv]
    platformio: dict
    library: dict = field(default_factory=dict)

    def emulated(self) -> list[str]:
        return [n for n, b in self.targets.items() if b.qemu]


_TARGET_KEYS = {"core", "port", "sources", "ldscript", "toolchain", "cpu", "defines",
                "clock_hz", "stack", "ram", "flash", "qemu", "insn_per_tick", "counting",
                "pio_env", "real"}
_BARE_METAL = ("sources", "ldscript", "cpu", "stack", "ram", "flash")
_PIO_KEYS = {"platform", "board", "framework", "defines", "backend", "lib_deps", "stack",
             "real", "extends"}


def _get(row: dict, key: str, kind, where: str, default=None, required: bool = False):
    if key not in row:
        if required:
            raise TableError(f"{where}: missing field '{key}'")
        return default
    value = row[key]
    ok = (isinstance(value, list) and all(isinstance(v, str) for v in value)) if kind is list \
        else isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise TableError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, "
                         f"got {value!r}")
    return tuple(value) if kind is list else value


def _unknown(row: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(row) - allowed)
    if extra:
        raise TableError(f"{where}: unknown field(s) {', '.join(extra)}")


def _toolchain(name: str, row: dict) -> Toolchain:
    where = f"toolchain.{name}"
    _unknown(row, {"prefix", "libc_compile", "libc_link", "link_with_c", "bench_arch",
                   "bench_qemu"}, where)
    return Toolchain(name, _get(row, "prefix", str, where, required=True),
                     _get(row, "libc_compile", list, where, ()),
                     _get(row, "libc_link", list, where, ()),
                     _get(row, "link_with_c", bool, where, False),
                     _get(row, "bench_arch", str, where, ""),
                     _get(row, "bench_qemu", list, where, ()))


def _board(name: str, row: dict, toolchains: dict[str, Toolchain]) -> Board:
    where = f"target.{name}"
    _unknown(row, _TARGET_KEYS, where)
    chain = _get(row, "toolchain", str, where, "")
    if chain and chain not in toolchains:
        raise TableError(f"{where}.toolchain: '{chain}' is not a [toolchain.*] row")
    if chain:
        for key in _BARE_METAL:
            _get(row, key, object, where, required=True)
    elif set(_BARE_METAL) & set(row):
        raise TableError(f"{where}: {', '.join(_BARE_METAL)} need a toolchain")
    stack = row.get("stack")
    if chain and not (stack == "measured" or (isinstance(stack, int) and stack > 0)):
        raise TableError(f"{where}.stack: expected a byte count or \"measured\", got {stack!r}")
    qemu = _get(row, "qemu", list, where, ())
    tick = row.get("insn_per_tick")
    if qemu and not isinstance(tick, (int, float)):
        raise TableError(f"{where}.insn_per_tick: an emulated target needs its instructions "
                         "per counter tick")
    return Board(name, _get(row, "core", str, where, required=True),
                 _get(row, "port", str, where, required=True),
                 _get(row, "clock_hz", int, where, required=True),
                 _get(row, "counting", str, where, required=True),
                 _get(row, "real", str, where, required=True),
                 toolchains.get(chain), _get(row, "sources", list, where, ()),
                 _get(row, "ldscript", str, where, ""), _get(row, "cpu", list, where, ()),
                 _get(row, "defines", list, where, ()),
                 stack if isinstance(stack, int) else None,
                 _get(row, "ram", int, where), _get(row, "flash", int, where), qemu,
                 float(tick) if tick is not None else None, _get(row, "pio_env", str, where))


def _pio_env(name: str, rows: dict, targets: dict[str, Board]) -> PioEnv:
    where = f"pio.{name}"
    row = rows[name]
    _unknown(row, _PIO_KEYS, where)
    base = {}
    if "extends" in row:
        parent = _get(row, "extends", str, where)
        if parent not in rows or "extends" in rows[parent]:
            raise TableError(f"{where}.extends: '{parent}' is not a [pio.*] row without extends")
        base = dict(rows[parent])
        row = {**base, **row, "defines": [*base.get("defines", []), *row.get("defines", [])]}
    target = [b for b in targets.values() if b.pio_env == name]
    framework = _get(row, "framework", str, where, "")
    if not framework and not target:
        raise TableError(f"{where}: a bare-metal environment is the pio_env of a [target.*] row")
    backend = _get(row, "backend", str, where, "compiled")
    if backend not in ("compiled", "tflm"):
        raise TableError(f"{where}.backend: expected compiled or tflm, got {backend!r}")
    return PioEnv(name, _get(row, "platform", str, where, required=True),
                  _get(row, "board", str, where, required=True),
                  _get(row, "real", str, where, required=True), framework,
                  target[0] if target else None, _get(row, "defines", list, where, ()),
                  backend, _get(row, "lib_deps", list, where, ()), _get(row, "stack", int, where))


def parse(text: str, source: str = "boards.toml") -> Table:
    """The table from TOML text; TableError names the first bad row and field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TableError(f"{source}: {e}") from None
    try:
        f = raw.get("flags", {})
        _unknown(f, set(Flags.__dataclass_fields__), "flags")
        flags = Flags(*(_get(f, k, list, "flags", ()) for k in Flags.__dataclass_fields__))
        toolchains = {n: _toolchain(n, r) for n, r in raw.get("toolchain", {}).items()}
        targets = {n: _board(n, r, toolchains) for n, r in raw.get("target", {}).items()}
        if "host" not in targets:
            raise TableError("target.host: missing (the host program is always a target)")
        bench = {}
        for n, r in raw.get("bench", {}).items():
            _unknown(r, {"board", "label", "defines"}, f"bench.{n}")
            board = targets.get(_get(r, "board", str, f"bench.{n}", required=True))
            if board is None or not board.qemu or not board.toolchain.bench_arch:
                raise TableError(f"bench.{n}.board: '{r['board']}' is not an emulated target "
                                 "whose toolchain has a bench_arch")
            bench[n] = BenchTarget(n, board, _get(r, "label", str, f"bench.{n}", required=True),
                                   _get(r, "defines", list, f"bench.{n}", ()))
        pio_rows = raw.get("pio", {})
        pio = {n: _pio_env(n, pio_rows, targets) for n in pio_rows}
        for b in targets.values():
            if b.pio_env and b.pio_env not in pio:
                raise TableError(f"target.{b.name}.pio_env: '{b.pio_env}' is not a [pio.*] row")
        platformio = dict(raw.get("platformio", {}))
        if platformio.get("default_env") not in pio:
            raise TableError("platformio.default_env: not a [pio.*] row")
    except TableError as e:
        raise TableError(f"{source}: {e}") from None
    return Table(flags, toolchains, targets, bench, pio, platformio, dict(raw.get("library", {})))


def load(path: Path = TABLE_PATH) -> Table:
    return parse(Path(path).read_text(), str(path))


TABLE = load()
TARGETS: dict[str, Board] = TABLE.targets
BENCH: dict[str, BenchTarget] = TABLE.bench
PIO: dict[str, PioEnv] = TABLE.pio
FLAGS: Flags = TABLE.flags


# ---- generated files -------------------------------------------------------------------

def _cmake_list(values) -> str:
    return " ".join(f'"{v}"' for v in values)


def render_cmake(table: Table = TABLE) -> str:
    """firmware/cmake/boards.cmake: the flags, the target list and the selected target's row."""
    from bedside.banner import banner
    out = [banner("bedside.boards", "The board table for CMake (firmware/CMakeLists.txt "
                  "includes it; selects -DBEDSIDE_TARGET's row).", COMMAND,
                  {"Source": "firmware/boards.toml"}, comment="#")]
    out.append(f"set(BEDSIDE_TARGETS {_cmake_list(table.targets)})")
    for key in Flags.__dataclass_fields__:
        out.append(f"set(BEDSIDE_{key.upper()}_FLAGS {_cmake_list(getattr(table.flags, key))})")
    first = True
    for b in table.targets.values():
        out.append(f'{"if" if first else "elseif"}(BEDSIDE_TARGET STREQUAL "{b.name}")'
                   f"  # {b.core}: {b.real}")
        first = False
        rows = {"PORT": [b.port], "CLOCK_HZ": [b.clock_hz]}
        if b.toolchain:
            t = b.toolchain
            rows.update({"PORT_SOURCES": b.sources, "LDSCRIPT": [b.ldscript],
                         "TOOLCHAIN": [t.name], "CPU_FLAGS": [*b.cpu, *b.defines],
                         "STACK_DEFAULT": [b.stack or 8192], "LIBC_COMPILE_FLAGS": t.libc_compile,
                         "LIBC_LINK_FLAGS": t.libc_link, "LINK_WITH_C": ["ON" if t.link_with_c else "OFF"]})
        out += [f"  set(BEDSIDE_{k} {_cmake_list(v)})" for k, v in rows.items()]
    out.append("endif()")
    return "\n".join(out) + "\n"


def library_manifest(version: str, table: Table = TABLE) -> dict:
    """library.json: the firmware as a PlatformIO library (core + engine kernels; a project
    adds its port and the run's generated model through firmware/ports/pio_gen.py)."""
    lib = table.library
    return {
        "name": lib["name"], "version": version,
        "description": lib["description"], "keywords": lib["keywords"],
        "license": lib["license"],
        "repository": {"type": "git", "url": lib["repository"]},
        "authors": lib["authors"],
        "frameworks": "*", "platforms": "*",
        "export": {"include": ["firmware/core", "firmware/engine", "firmware/ports",
                               "firmware/boards.toml", "library.json"]},
        "build": {"srcDir": "firmware", "includeDir": "firmware/core",
                  "srcFilter": ["+<core/*.cc>", "-<core/runner_*.cc>"],   # pio_gen.py adds the backend's
                  "flags": [*table.platformio["build_flags"], "-I firmware/engine", "-I firmware",
                            *table.platformio["build_src_flags"]],
                  "extraScript": "firmware/ports/pio_gen.py"},
        "generated_by": f"{COMMAND} from firmware/boards.toml",
    }


def render_library_json(version: str, table: Table = TABLE) -> str:
    return json.dumps(library_manifest(version, table), indent=2) + "\n"


def generated_files() -> dict[Path, str]:
    files = {CMAKE_PATH: render_cmake()}
    pyproject = FIRMWARE_DIR.parent / "pyproject.toml"
    if pyproject.is_file():     # a source checkout: the repository is the library
        version = tomllib.loads(pyproject.read_text())["project"]["version"]
        files[LIBRARY_JSON] = render_library_json(version)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a generated file is stale")
    args = ap.parse_args(argv)
    files = generated_files()
    if args.check:
        stale = [p for p, text in files.items()
                 if not p.is_file() or p.read_text() != text]
        for p in stale:
            print(f"{p} is stale: run {COMMAND}", file=sys.stderr)
        return 1 if stale else 0
    from bedside.fileio import write_text
    for p, text in files.items():
        write_text(p, text)
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
