"""`bedside distill`: distill the tiny Student from the Teacher; also train the no-KD Student.

    bedside distill [RUN_DIR] [--seed S] [--quick] [--alpha A] [--temperature T]
                    [--beta B] [--attention-focus uniform|map_drop] [--no-kd]
                    [--no-attention] [--epochs N] [--strategy ...]

Writes RUN_DIR/student/model.keras (input (60, 7) float, one sigmoid output),
RUN_DIR/student_scratch/model.keras and the alarm thresholds into run.json's config.
"""
from __future__ import annotations

import argparse
import time

from bedside.training import cmdutil
from bedside import runinfo


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
    t0 = time.monotonic()
    run_dir = cmdutil.run_dir(args, "distill")
    cmdutil.require(run_dir, "data/cohort.npz", "data")
    cmdutil.require(run_dir, "teacher/model.keras", "train")
    seed = cmdutil.seed_of(args, run_dir)
    cfg = cmdutil.stage_config(run_dir, args.quick, ("teacher", "student", "distill",
                                                     "alarm_policy"))
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
                          "alarm_policy": cfg["alarm_policy"], "alarm": alarm},
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
