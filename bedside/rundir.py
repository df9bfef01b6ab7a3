"""The one run-directory convention of every stage: an optional positional RUN_DIR.

    bedside data [RUN_DIR]        # default: a new folder runs/run-<date-time>
    bedside train [RUN_DIR]       # default: the most recent run under runs/
    bedside verify [RUN_DIR] --target host

Later stages default to the most recent run (the run whose `run.json` changed last), so a
session of `bedside data` followed by `bedside train`, `distill`, ... needs no arguments.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

RUNS = Path("runs")


class NoRunDir(SystemExit):
    """No RUN_DIR given and none to default to: the message says what to pass (exit 2)."""

    def __init__(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        super().__init__(2)


def add_argument(parser: argparse.ArgumentParser, what: str, *, new: bool = False) -> None:
    """RUN_DIR (optional) plus `--out`, its former spelling in the training stages."""
    default = ("a new folder runs/run-<date-time>" if new
               else "the most recent run under runs/")
    parser.add_argument("run_dir", nargs="?", type=Path, default=None, metavar="RUN_DIR",
                        help=f"run directory {what} (default: {default})")


def latest(root: Path = RUNS) -> Path | None:
    """The run under `root` whose run.json was written last, or None."""
    runs = [p.parent for p in root.glob("*/run.json")] if root.is_dir() else []
    return max(runs, key=lambda d: (d / "run.json").stat().st_mtime, default=None)


def resolve(run_dir: Path | None, command: str, *, new: bool = False) -> Path:
    """RUN_DIR as given; else a new run (`new`) or the most recent one, said on stderr."""
    if run_dir is not None:
        return Path(run_dir)
    if new:
        return RUNS / datetime.now().strftime("run-%Y%m%d-%H%M%S")
    found = latest()
    if found is None:
        raise NoRunDir(f"no run directory given and none under {RUNS}/: pass RUN_DIR "
                       f"(`bedside {command} runs/NAME`), or start a run with `bedside data`")
    print(f"bedside {command}: using the most recent run {found} (pass RUN_DIR for another)",
          file=sys.stderr)
    return found


def owned(run_dir: Path, command: str) -> Path:
    """An existing run directory, claimed for writing (bedside.ownership): exit 2 naming it
    when it is missing, not a folder, or a folder bedside did not create."""
    from bedside import ownership
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NoRunDir(f"{run_dir}: {'not a folder' if run_dir.exists() else 'not found'}: "
                       f"`bedside {command}` needs a run directory")
    ownership.claim(run_dir, done_when="run.json")
    return run_dir
