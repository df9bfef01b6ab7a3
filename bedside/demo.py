"""`bedside demo`: the whole path in one command, as the README's first command runs it.

data -> Teacher -> Student (KD) -> evaluation -> seed study -> personalization bench ->
int8 + manifest + generated sources -> firmware for an emulated Cortex-M4 -> QEMU ->
streamed verification -> report.
Each stage is the function behind the CLI command a user would run by hand (the
same options, bedside/command.py), on one run directory.
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

from rich.console import Console

from bedside.rundir import RunPaths

console = Console()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", nargs="?", type=Path, default=None, metavar="RUN_DIR",
                   help="run directory (default: a new folder runs/demo-<date-time>)")
    p.add_argument("--seed", type=int, default=0, help="seed of every stage (default 0)")
    p.add_argument("--quick", action="store_true",
                   help="tiny cohort and few epochs (what the tests use)")
    p.add_argument("--target", default="mps2-an386",
                   help="firmware target: mps2-an386 (QEMU Cortex-M4, default) or host")
    p.add_argument("--patients", type=int, default=None,
                   help="simulated test patients streamed to the device (default: the stage's default)")


def _stages(args: argparse.Namespace, run_dir: Path) -> list[tuple[str, str, Callable[[], int]]]:
    """(title, the command a user would type, the stage's function call)."""
    from bedside.bench.personalization import personalization
    from bedside.bench.safety import safety
    from bedside.converter.cmd_convert import convert
    from bedside.host_tools.builder.cmd_build import build
    from bedside.host_tools.verify.cmd_verify import verify
    from bedside.training.cmd_data import data
    from bedside.training.cmd_distill import distill
    from bedside.training.cmd_evaluate import evaluate
    from bedside.training.cmd_study import study
    from bedside.training.cmd_train import train
    common = {"seed": args.seed, "quick": args.quick}
    flags = f"--seed {args.seed}" + (" --quick" if args.quick else "")
    quick = " --quick" if args.quick else ""
    sim = {"simulate": args.patients} if args.patients else {}
    return [
        ("data", f"data {run_dir} {flags}", lambda: data(run_dir, **common)),
        ("teacher", f"train {run_dir} {flags}", lambda: train(run_dir, **common)),
        ("student (KD)", f"distill {run_dir} {flags}", lambda: distill(run_dir, **common)),
        ("evaluation", f"evaluate {run_dir} {flags}", lambda: evaluate(run_dir, **common)),
        ("seed study", f"study {run_dir}{quick}", lambda: study(run_dir, quick=args.quick)),
        # Students with vs without on-device personalization, 3 cohort seeds (--quick: 1)
        ("personalization bench", f"bench personalization {run_dir}{quick}",
         lambda: personalization(run_dir, quick=args.quick)),
        ("int8 conversion", f"convert {run_dir}", lambda: convert(run_dir)),
        ("firmware", f"build --target {args.target} {run_dir}",
         lambda: build(run_dir, target=args.target)),
        ("emulated verification", f"verify {run_dir} --target {args.target}"
         + (f" --simulate {args.patients}" if args.patients else ""),
         lambda: verify(run_dir, target=args.target, **sim)),
        ("safety floor", f"bench safety {run_dir}", lambda: safety(run_dir)),
    ]


def _audit_passed(run_dir: Path, quick: bool) -> bool:
    """The shortcut audit `bedside evaluate` wrote: a nuisance variable that predicts the
    labels fails the demo. The --quick cohort (16 test patients) is too small to judge:
    there it only warns."""
    import json
    res = json.loads(RunPaths(run_dir).audit.read_text())
    if res["passed"]:
        return True
    msg = (f"shortcut audit: {', '.join(res['flagged'])} predict the labels above AUROC "
           f"{res['threshold']:.2f} ({run_dir / 'audit.json'})")
    if quick:
        console.print(f"[yellow]warning: {msg}; the --quick cohort is too small to judge[/]")
        return True
    console.print(f"[red]{msg}[/]")
    return False


def run(args: argparse.Namespace) -> int:
    run_dir = args.run_dir or Path("runs") / datetime.now().strftime("demo-%Y%m%d-%H%M%S")
    from bedside import ownership
    ownership.claim(run_dir, done_when="run.json")   # new, empty or an earlier demo's
    console.rule(f"[bold]bedside demo[/] -> {run_dir}")
    if importlib.util.find_spec("tensorflow") is None:
        console.print("[red]bedside demo trains models and needs TensorFlow: "
                      "pip install 'bedside-kit[full]' (or ./run.sh demo)[/]")
        return 2
    timings = []
    for title, shown, stage in _stages(args, run_dir):
        console.rule(f"[cyan]{title}[/]  (bedside {shown})")
        t0 = time.monotonic()
        rc = stage()
        timings.append((title, time.monotonic() - t0))
        if rc != 0:
            console.print(f"[red]stage '{title}' failed with exit code {rc}[/]")
            return rc
        if title == "evaluation" and not _audit_passed(run_dir, args.quick):
            return 1
    console.rule("[bold]summary[/]")
    for title, seconds in timings:
        console.print(f"  {title:<24} {seconds:7.1f} s")
    # the stage times as JSON too (run.json `stages.demo`): the README's demo figures
    from bedside import runinfo
    runinfo.merge(run_dir, stage="demo", stage_info={
        "command": "bedside demo" + (" --quick" if args.quick else ""),
        "seconds": round(sum(s for _, s in timings), 1),
        "stage_seconds": {title: round(s, 1) for title, s in timings}})
    report = RunPaths(run_dir).verify_dir / "report.md"
    console.print(f"run directory: {run_dir}" + (f"\nverification report: {report}" if report.exists() else ""))
    return 0
