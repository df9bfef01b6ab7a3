"""`bedside distill`: distill the tiny Student from the Teacher; also train the no-KD Student.

    bedside distill [RUN_DIR] [--seed S] [--quick] [--alpha A] [--temperature T]
                    [--beta B] [--attention-focus uniform|map_drop] [--no-kd]
                    [--no-attention] [--epochs N] [--strategy ...]

Writes RUN_DIR/student/model.keras (input (60, 7) float, one sigmoid output),
RUN_DIR/student_scratch/model.keras and the alarm thresholds into run.json's config.
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
    cmdutil.add_common(p, "distill")
    cmdutil.add_strategy(p)
    p.add_argument("--alpha", type=float, default=None, help="soft-target weight (default 0.5)")
    p.add_argument("--temperature", type=float, default=None, help="KD temperature T (default 1.0)")
    p.add_argument("--beta", type=float, default=None, help="attention-transfer weight (default 0.1)")
    p.add_argument("--attention-focus", choices=("uniform", "map_drop"), default=None,
                   help="attention transfer on the whole hour (uniform, default) or "
                        "weighted toward MAP drops (docs/training.md)")
    p.add_argument("--no-kd", action="store_true", help="switch the soft-target term off")
    p.add_argument("--no-attention", action="store_true",
                   help="switch the attention-transfer term off")
    p.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")


def run(args: argparse.Namespace) -> int:
    return command.call(distill, args)


def distill(run_dir: Path | None = None, *, seed: int | None = None, quick: bool = False,
            epochs: int | None = None, alpha: float | None = None,
            temperature: float | None = None, beta: float | None = None,
            attention_focus: str | None = None, no_kd: bool = False,
            no_attention: bool = False, strategy: str = "default", cpu_devices: int = 0) -> int:
    """Distill the Student from RUN_DIR's Teacher: `bedside distill` as a function."""
    args = command.namespace(add_arguments, 'distill', **locals())
    t0 = time.monotonic()
    run_dir = cmdutil.run_dir(args, "distill")
    paths = RunPaths(run_dir)
    cmdutil.require(run_dir, paths.cohort, "data")
    cmdutil.require(run_dir, paths.teacher_model, "train")
    seed = cmdutil.seed_of(args, run_dir)
    # evaluate: its event sensitivity is the deployed alarm's target (endpoint rule)
    cfg = cmdutil.stage_config(run_dir, args.quick, ("teacher", "student", "distill",
                                                     "alarm_policy", "evaluate"))
    rec = runinfo.config(run_dir).get("teacher")
    if rec:
        cfg["teacher"] = rec           # the Teacher as it was trained (its context)
    d = cfg["distill"]
    for k in ("alpha", "temperature", "beta", "attention_focus"):
        if getattr(args, k) is not None:
            d[k] = getattr(args, k)
    if args.no_kd:
        d["alpha"] = 0.0
    if args.no_attention:
        d["beta"] = 0.0
    if args.epochs is not None:
        cfg["student"]["epochs"] = args.epochs
    from . import tfutil
    from .distill import distill
    tfutil.setup(seed, args.cpu_devices)
    metrics, alarm = distill(run_dir, cfg, seed, args.strategy)
    runinfo.merge(run_dir, stage="distill",
                  config={"seed": seed, "student": cfg["student"], "distill": d,
                          "alarm_policy": cfg["alarm_policy"], "evaluate": cfg["evaluate"],
                          "alarm": alarm},
                  metrics=metrics, with_tf=True,
                  stage_info={"command": cmdutil.command_line(args),
                              "seconds": round(time.monotonic() - t0, 2),
                              "strategy": args.strategy,
                              "profile": "quick" if args.quick else "default"})
    v = metrics["val_auroc"]
    print(f"student: {metrics['student_params']} params; validation AUROC kd {v['student_kd']:.3f}"
          f", scratch {v['student_scratch']:.3f}, teacher {v['teacher']:.3f}; alarm threshold "
          f"{alarm['threshold']:.3f} -> {run_dir / 'student' / 'model.keras'}")
    return 0
