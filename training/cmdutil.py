"""Options and set-up shared by the training stages' commands (numpy only)."""
from __future__ import annotations

import argparse
from pathlib import Path

from bedside import ownership, rundir

from bedside.training import profiles
from bedside import runinfo
from bedside.rundir import RunPaths


def add_common(p: argparse.ArgumentParser, stage: str) -> None:
    rundir.add_argument(p, "(later stages read what earlier ones wrote there)",
                        new=stage == "data")
    p.add_argument("--seed", type=int, default=None,
                   help="seed (default: the run's seed from run.json, else 0)")
    p.add_argument("--quick", action="store_true",
                   help="tiny cohort / model / epochs (tests and CI, about a minute)")


def add_strategy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", choices=("default", "mirrored", "multiworker"),
                   default="default",
                   help="tf.distribute strategy: mirrored = all local GPUs (needs the "
                        "train-gpu install; with tensorflow-cpu: the logical CPUs of "
                        "--cpu-devices), multiworker = MultiWorkerMirroredStrategy from "
                        "TF_CONFIG (docs/training.md)")
    p.add_argument("--cpu-devices", type=int, default=0, metavar="N",
                   help="split the CPU into N logical devices (for --strategy mirrored "
                        "without GPUs; testing)")


def run_dir(args: argparse.Namespace, stage: str) -> Path:
    """The stage's run directory (created if new): RUN_DIR, else bedside.rundir's default."""
    path = rundir.resolve(args.run_dir, stage, new=stage == "data")
    if stage != "data" and not path.is_dir():
        raise rundir.NoRunDir(f"{path}: {'not a folder' if path.exists() else 'not found'}: "
                              f"pass a run directory (start one with `bedside data {path}`)")
    # the kit's, new or empty; else exit 2
    ownership.claim(path, done_when=RunPaths(path).run_json.name)
    args.run_dir = path      # command_line() records the resolved folder
    return path


def seed_of(args, run_dir: Path) -> int:
    if args.seed is not None:
        return int(args.seed)
    return int(runinfo.load(run_dir).get("config", {}).get("seed", 0))


def stage_config(run_dir: Path, quick: bool, stages: tuple[str, ...]) -> dict:
    """The run's config with the profile's settings for `stages` (replacing what an
    earlier run of the same stage recorded, so a re-run is the same run)."""
    prof = profiles.profile(quick)
    cfg = runinfo.config(run_dir)
    for s in stages:
        cfg[s] = prof[s]
    return cfg


def require(run_dir: Path, path: Path, stage: str) -> None:
    """`path` (a RunPaths file of `run_dir`) must be there, else: run `stage` first (exit 2);
    the cohort is also checked (shapes, dtypes, offsets: bedside.sources.cohort), before
    TensorFlow is loaded."""
    if not path.exists():
        raise rundir.NoRunDir(f"{path} not found: run `bedside {stage} {run_dir}` first")
    if path == RunPaths(run_dir).cohort:
        from bedside.sources.cohort import Cohort
        Cohort.load(path)


def command_line(args: argparse.Namespace) -> str:
    """The stage's command as a user would type it (recorded in run.json; works in-process
    under `bedside demo`, where sys.argv is the demo's)."""
    parts = ["bedside", str(getattr(args, "command", "") or "")]
    for k, v in vars(args).items():
        if k in ("command", "run_dir") or v is None or v is False:
            continue
        opt = "--" + k.replace("_", "-")
        parts += [opt] if v is True else [opt, str(v)]
    given = args.run_dir
    return " ".join(parts + ([str(given)] if given is not None else []))
