"""`bedside evaluate`: Teacher, Students, NEWS2 and current MAP on the test split.

    bedside evaluate [RUN_DIR] [--seed S] [--quick] [--alarm-rate 0.05] [--bootstrap 200]

Writes RUN_DIR/evaluation.json, RUN_DIR/report.md and RUN_DIR/plots/*.png, runs the
shortcut audit (`bedside audit`: RUN_DIR/audit.json, a section of the report), prints the
issue's targets with pass/fail and merges the metrics into run.json.
"""
from __future__ import annotations

from pathlib import Path

import argparse
import time

from bedside import fileio

from bedside.training import cmdutil
from bedside import runinfo
from bedside.rundir import RunPaths
from bedside import command


def add_arguments(p: argparse.ArgumentParser) -> None:
    cmdutil.add_common(p, "evaluate")
    p.add_argument("--alarm-rate", type=float, default=None,
                   help="fraction of windows allowed to alarm for sensitivity@rate (0.05)")
    p.add_argument("--bootstrap", type=int, default=None,
                   help="patient bootstrap resamples for the CIs (200; --quick 50)")


def _previous_study(run_dir) -> dict | None:
    """The `bedside study` result of the earlier evaluation.json, kept while the cohort
    and Teacher it was measured on are unchanged."""
    import json
    from .cmd_study import fingerprint
    try:
        old = json.loads(RunPaths(run_dir).evaluation.read_text()).get("study")
    except (OSError, ValueError):
        return None
    if old and old.get("generator", {}).get("inputs_sha256") == fingerprint(run_dir):
        return old
    return None


def run(args: argparse.Namespace) -> int:
    return command.call(evaluate, args)


def evaluate(run_dir: Path | None = None, *, seed: int | None = None, quick: bool = False,
             alarm_rate: float | None = None, bootstrap: int | None = None) -> int:
    """Evaluate RUN_DIR's models and write the report: `bedside evaluate` as a function."""
    args = command.namespace(add_arguments, 'evaluate', **locals())
    t0 = time.monotonic()
    run_dir = cmdutil.run_dir(args, "evaluate")
    paths = RunPaths(run_dir)
    for path, stage in ((paths.cohort, "data"), (paths.teacher_model, "train"),
                        (paths.student_model, "distill")):
        cmdutil.require(run_dir, path, stage)
    seed = cmdutil.seed_of(args, run_dir)
    cfg = cmdutil.stage_config(run_dir, args.quick, ("evaluate",))
    if args.alarm_rate is not None:
        cfg["evaluate"]["alarm_rate"] = args.alarm_rate
    if args.bootstrap is not None:
        cfg["evaluate"]["bootstrap"] = args.bootstrap
    from rich.console import Console
    from . import report, tfutil
    from .evaluate import evaluate
    tfutil.setup(seed)
    console = Console()
    from .cmd_audit import write as write_audit
    with console.status("shortcut audit (nuisance variables against the labels)"):
        audit = write_audit(run_dir)
    with console.status("evaluating on the test split"):
        res = evaluate(run_dir, cfg, seed)
        files = report.plots(res, paths.plots)
    res.pop("_arrays")
    res["audit"] = {"passed": audit["passed"], "flagged": audit["flagged"],
                    "threshold": audit["threshold"], "file": "audit.json",
                    "variables": audit["variables"], "splits": audit["splits"]}
    study = _previous_study(run_dir)
    if study:
        res["study"] = study
        from .goals import with_study
        res["goals"] = with_study(res["goals"], study)
    import hashlib
    digest = hashlib.sha256(paths.cohort.read_bytes()).hexdigest()
    typed = "bedside evaluate " + str(run_dir)
    res["generator"] = {"tool": "bedside evaluate",
                        "version": runinfo.versions().get("bedside-kit"),
                        "command": typed, "cohort_sha256": digest}
    runinfo.write_json(paths.evaluation, res)
    md = report.markdown(res, files, typed)   # includes the kept study, if any
    fileio.write_text(paths.report, md)
    summary = {k: {"auroc": v["auroc"], "auprc": v["auprc"]} for k, v in res["models"].items()}
    if "physionet_utility" in res:
        summary["physionet_utility"] = {k: v["utility"] for k, v in
                                        res["physionet_utility"]["models"].items()}
    summary["audit_passed"] = audit["passed"]
    summary["targets_passed"] = sum(t["pass"] for t in res["targets"])
    summary["targets_total"] = len(res["targets"])
    runinfo.merge(run_dir, stage="evaluate", config={"seed": seed, "evaluate": cfg["evaluate"]},
                  metrics=summary, with_tf=True,
                  stage_info={"command": cmdutil.command_line(args),
                              "seconds": round(time.monotonic() - t0, 2)})
    for k, v in res["models"].items():
        a = "n/a" if v["auroc"] is None else f"{v['auroc']:.3f}"
        console.print(f"  {k:<16} AUROC {a}")
    for k, v in res.get("physionet_utility", {}).get("models", {}).items():
        u = "n/a" if v["utility"] is None else f"{v['utility']:.3f}"
        console.print(f"  {k:<16} PhysioNet 2019 utility {u}")
    for t in res["targets"]:
        mark = "[green]PASS[/]" if t["pass"] else "[red]FAIL[/]"
        console.print(f"  {mark} {t['target']}: {t['value']}")
    for k, g in res.get("goals", {}).items():
        mark = "[green]PASS[/]" if g["pass"] else "[red]FAIL[/]"
        v = "n/a" if g["value"] is None else f"{g['value']:+.3f}"
        ci = g.get("ci") or [None, None]
        c = "" if ci[0] is None else f" [{ci[0]:+.3f}, {ci[1]:+.3f}]"
        console.print(f"  {mark} goal {k}: {v}{c}")
    if audit["passed"]:
        console.print("  [green]PASS[/] shortcut audit: no nuisance variable above AUROC "
                      f"{audit['threshold']:.2f} (audit.json)")
    else:
        console.print(f"  [red]FAIL[/] shortcut audit: {', '.join(audit['flagged'])} above "
                      f"AUROC {audit['threshold']:.2f} (audit.json)")
    console.print(f"report: {paths.report}")
    return 0
