"""`bedside audit`: can anything but physiology predict the labels? (shortcut audit)

    bedside audit [RUN_DIR] [--json [FILE]]

Scores, on the validation and test windows, the AUROC against the labels of every
nuisance variable (time since admission, missing samples in the Student's window and
in the Teacher's context, lab draws so far, the calibration flag, patient order) and of
every privileged input alone (training/audit.py). Any nuisance variable above 0.60 in
either direction is flagged. Works on every data source (simulated, --source physionet,
--source csv). `bedside evaluate` runs it too and puts it in the report.

Writes RUN_DIR/audit.json:
  {"threshold": 0.6, "variables": {NAME: {"kind": "nuisance"|"privileged",
   "auroc_val": x, "auroc_test": x}}, "passed": true, ...}

Exit codes: 0 passed, 1 a nuisance variable is a shortcut, 2 bad input (no cohort).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bedside import jsonout, rundir
from bedside.rundir import RunPaths


def add_arguments(p: argparse.ArgumentParser) -> None:
    rundir.add_argument(p, "(needs RUN_DIR/data/cohort.npz from `bedside data`)")
    jsonout.add_argument(p)


def write(run_dir: Path) -> dict:
    """Audit the run's cohort and write RUN_DIR/audit.json (also used by `bedside evaluate`)."""
    import hashlib
    from bedside import fileio, runinfo
    from .audit import audit_run
    res = audit_run(run_dir)
    digest = hashlib.sha256(RunPaths(run_dir).cohort.read_bytes()).hexdigest()
    res["generator"] = {"tool": "bedside audit", "command": f"bedside audit {run_dir}",
                        "version": runinfo.versions().get("bedside-kit"),
                        "cohort_sha256": digest}
    fileio.write_json(RunPaths(run_dir).audit, res)
    return res


def run(args: argparse.Namespace) -> int:
    from bedside import command
    return command.call(audit, args)


def audit(run_dir: Path | None = None, *, json: str | None = None) -> int:
    """The shortcut audit of RUN_DIR's cohort: `bedside audit` as a function."""
    from bedside import command
    args = command.namespace(add_arguments, "audit", run_dir=run_dir, json=json)
    run_dir = rundir.resolve(args.run_dir, "audit")
    out = sys.stderr if jsonout.to_stdout(args) else sys.stdout
    if not RunPaths(run_dir).cohort.is_file():
        print(f"error: {RunPaths(run_dir).cohort}: cohort not found "
              f"(run `bedside data {run_dir}` first)", file=sys.stderr)
        return 2
    run_dir = rundir.owned(run_dir, "audit")      # writes audit.json: only into a kit folder
    try:
        res = write(run_dir)
    except (ValueError, KeyError) as e:
        print(f"error: {run_dir}: cannot audit: {e}", file=sys.stderr)
        return 2
    for name, r in res["variables"].items():
        f = lambda a: "  n/a" if a is None else f"{a:.3f}"
        flag = "  SHORTCUT" if r.get("flagged") else ""
        print(f"  {name:<26} {r['kind']:<10} val {f(r['auroc_val'])}  test "
              f"{f(r['auroc_test'])}{flag}", file=out)
    verdict = "passed" if res["passed"] else "FAILED (" + ", ".join(res["flagged"]) + ")"
    print(f"audit {verdict}: no nuisance variable may exceed AUROC {res['threshold']:.2f} "
          f"in either direction -> {RunPaths(run_dir).audit}", file=out)
    jsonout.emit(args, res)
    return 0 if res["passed"] else 1
