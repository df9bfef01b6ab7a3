"""`bedside build`: compile the firmware for host or a board target.

    bedside build --target mps2-an386|netduinoplus2|microbit|stm32c011|riscv32|xtensa-lx106 [RUN_DIR]
    bedside build --target host [--backend tflm --tflm-dir TFLM_TREE] [RUN_DIR]

Configures CMake (firmware/CMakeLists.txt) with the run's generated model
(RUN_DIR/int8/gen), builds into RUN_DIR/firmware/<target>/ and prints flash/RAM sizes.

Exit codes: 0 built; 1 the compiler or linker failed; 2 bad input (no converted run, a path
CMake/make cannot take, a model that does not fit, a --build-dir bedside did not create).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bedside import jsonout
from bedside import command


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bedside.host_tools.builder.firmware import BACKENDS, TARGETS
    from bedside import rundir
    rundir.add_argument(p, "(after bedside convert)")
    p.add_argument("--target", default="host", choices=list(TARGETS),
                   help="host (POSIX program, default) or a board: "
                        + ", ".join(f"{n} ({t.core})" for n, t in TARGETS.items() if n != "host"))
    p.add_argument("--backend", default="compiled", choices=list(BACKENDS),
                   help="model runner: compiled (generated engine, default) or tflm")
    p.add_argument("--tflm-dir", type=Path, default=None,
                   help="TFLM source tree for --backend tflm (TFLM's create_tflm_tree.py output)")
    p.add_argument("--build-dir", type=Path, default=None,
                   help="build tree (default RUN_DIR/firmware/<target>)")
    p.add_argument("--sanitize", action="store_true", help="host only: AddressSanitizer + UBSan")
    jsonout.add_argument(p)


def run(args: argparse.Namespace) -> int:
    return command.call(build, args)


def build(run_dir: Path | None = None, *, target: str = "host", backend: str = "compiled",
          tflm_dir: Path | None = None, build_dir: Path | None = None,
          sanitize: bool = False, json: str | None = None) -> int:
    """Build RUN_DIR's firmware for `target`: `bedside build` as a function."""
    args = command.namespace(add_arguments, 'build', **locals())
    from bedside import rundir
    args.run_dir = rundir.resolve(args.run_dir, "build")
    from bedside.host_tools.builder.firmware import (BuildError, BuildInputError, DoesNotFit,
                                                  build_firmware)
    if args.sanitize and args.target != "host":
        print("error: --sanitize is for --target host only", file=sys.stderr)
        return 2
    from rich.console import Console
    try:
        with Console(stderr=True).status(f"building the {args.target} firmware (CMake) ..."):
            result = build_firmware(args.run_dir, args.target, args.backend, args.tflm_dir,
                                    build_dir=args.build_dir, sanitize=args.sanitize)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, (DoesNotFit, BuildInputError)) else 1
    out = sys.stderr if jsonout.to_stdout(args) else sys.stdout
    for note in result.notes:
        print(f"note: {note}", file=out)
    print(result.summary(), file=out)
    from bedside.fileio import write_json
    write_json(result.build_dir / "size.json", result.as_dict())
    jsonout.emit(args, {**result.as_dict(), "build_dir": str(result.build_dir),
                        "notes": result.notes})
    return 0
