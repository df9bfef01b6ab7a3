"""`bedside train`: train the Teacher (Transformer encoder) on RUN_DIR's cohort.

    bedside train [RUN_DIR] [--seed S] [--quick] [--epochs N]
                  [--strategy default|mirrored|multiworker] [--cpu-devices N]

Writes RUN_DIR/teacher/model.keras (inputs [context, 9]; outputs [prob, attention]).
"""
from __future__ import annotations

from pathlib import Path

import argparse
import time

from bedside.training import cmdutil
from bedside import runinfo
from bedside.rundir import RunPaths
from bedside import command


def add_arguments(p: argparse.ArgumentParser) -> None:
    cmdutil.add_common(p, "train")
    cmdutil.add_strategy(p)
    p.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")


def run(args: argparse.Namespace) -> int:
    return command.call(train, args)


def train(run_dir: Path | None = None, *, seed: int | None = None, quick: bool = False,
          epochs: int | None = None, strategy: str = "default", cpu_devices: int = 0) -> int:
    """Train the Teacher on RUN_DIR's cohort: `bedside train` as a function."""
    args = command.namespace(add_arguments, 'train', **locals())
    t0 = time.monotonic()
    run_dir = cmdutil.run_dir(args, "train")
    cmdutil.require(run_dir, RunPaths(run_dir).cohort, "data")
    seed = cmdutil.seed_of(args, run_dir)
    cfg = cmdutil.stage_config(run_dir, args.quick, ("teacher",))
    if args.epochs is not None:
        cfg["teacher"]["epochs"] = args.epochs
    from . import tfutil
    from .train import train_teacher
    tfutil.setup(seed, args.cpu_devices)
    metrics = train_teacher(run_dir, cfg, seed, args.strategy)
    runinfo.merge(run_dir, stage="train", config={"seed": seed, "teacher": cfg["teacher"]},
                  metrics=metrics, with_tf=True,
                  stage_info={"command": cmdutil.command_line(args),
                              "seconds": round(time.monotonic() - t0, 2),
                              "strategy": args.strategy,
                              "profile": "quick" if args.quick else "default"})
    print(f"teacher: {metrics['params']} params, validation AUROC {metrics['val_auroc']:.3f} "
          f"-> {run_dir / 'teacher' / 'model.keras'}")
    return 0
