"""Options and set-up shared by the training stages' commands (numpy only)."""
from __future__ import annotations

import argparse
from pathlib import Path

from . import profiles, runinfo


def add_common(p: argparse.ArgumentParser, stage: str) -> None:
    p.add_argument("--out", type=Path, default=None,
                   help=f"run directory (default: a new folder runs/{stage}-<date-time>; "
                        "later stages need the folder of the earlier ones)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed (default: the run's seed from run.json, else 0)")
    p.add_argument("--quick", action="store_true",
                   help="tiny cohort / model / epochs (tests and CI, about a minute)")


def add_strategy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", choices=("default", "mirrored", "multiworker"),
                   default="default",
                   help="tf.distribute strategy: mirrored = all local GPUs (or logical CPUs), "
                        "multiworker = MultiWorkerMirroredStrategy from TF_CONFIG")
    p.add_argument("--cpu-devices", type=int, default=0, metavar="N",
                   help="split the CPU into N logical devices (for --strategy mirrored "
                        "without GPUs; testing)")


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


def require(run_dir: Path, rel: str, stage: str) -> None:
    if not (run_dir / rel).exists():
        raise SystemExit(f"error: {run_dir / rel} not found: run `bedside {stage} --out "
                         f"{run_dir}` first")


def command_line(args: argparse.Namespace) -> str:
    """The stage's command as a user would type it (recorded in run.json; works in-process
    under `bedside demo`, where sys.argv is the demo's)."""
    parts = ["bedside", str(getattr(args, "command", "") or "")]
    for k, v in vars(args).items():
        if k == "command" or v is None or v is False:
            continue
        opt = "--" + k.replace("_", "-")
        parts += [opt] if v is True else [opt, str(v)]
    return " ".join(parts)
