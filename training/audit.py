"""Shortcut audit: can a variable that is not physiology predict the labels? (numpy only)

For every window of the validation and test splits (the Student's windows, the same the
models are scored on), each *nuisance* variable (something a model could read that says
nothing about the patient's physiology) and each *privileged* input alone is scored as
if it were a risk score: its AUROC against the labels. A nuisance variable whose AUROC
is above THRESHOLD in either direction (AUROC or 1 - AUROC) on either split is a
shortcut in the data: the audit fails. Privileged inputs are reported, not judged (they
are meant to be informative). Works on any cohort (simulated, PhysioNet, CSV).

Nuisance variables:
- time_since_admission: the window's last sample (minutes since the stream began);
- missing_student_window: samples missing or implausible in the Student's window;
- missing_teacher_context: the same over the Teacher's context (samples before
  admission count as missing: the zero padding the Teacher masks);
- lab_draws_so_far: privileged measurements (lactate draws) up to the window's end;
- calibration_flag: the device's "calibrated" flag (personalization);
- patient_order: the patient's position in the cohort (the order records were loaded).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bedside.contract import preprocess
from bedside.contract.signals import MISSING
from bedside.sources.cohort import Cohort
from bedside.sources.windows import personalization, privileged_features, split_windows

from . import metrics
from bedside.rundir import RunPaths

THRESHOLD = 0.6
NUISANCE = ("time_since_admission", "missing_student_window", "missing_teacher_context",
            "lab_draws_so_far", "calibration_flag", "patient_order")
PRIVILEGED = ("lactate", "lactate_measured")
DEFAULT_CONTEXT = 180        # the Teacher's context when the run has no Teacher config yet


def window_variables(cohort: Cohort, split: str, length: int, stride: int, horizon: int,
                     context: int, pers: dict | None) -> tuple[np.ndarray, dict]:
    """Labels [N] and {name: values [N]} for every nuisance and privileged variable of
    the split's windows (the windows `split_windows` builds, in its order)."""
    _, y, pidx, ends = split_windows(cohort, split, length, stride, horizon, pers)
    out = {k: np.zeros(len(y)) for k in NUISANCE + PRIVILEGED}
    out["time_since_admission"] = ends.astype(np.float64)
    out["calibration_flag"] = preprocess.calibrated_at(ends, pers).astype(np.float64)
    out["patient_order"] = pidx.astype(np.float64)
    for i in np.unique(pidx):
        sel = np.flatnonzero(pidx == i)
        e = ends[sel]
        raw = cohort.stream(int(i))
        n_ch = raw.shape[1]
        # cumulative missing samples; a window (e - n, e] before admission is all missing
        missing = np.concatenate([[0], np.cumsum((~preprocess.valid_mask(raw)).sum(1))])

        def missing_in(n):
            lo = e + 1 - n
            inside = missing[e + 1] - missing[np.maximum(lo, 0)]
            return inside + np.maximum(-lo, 0) * n_ch
        out["missing_student_window"][sel] = missing_in(length)
        out["missing_teacher_context"][sel] = missing_in(context)
        priv = cohort.privileged_stream(int(i))
        draws = np.cumsum(priv[:, 0] != MISSING)
        out["lab_draws_so_far"][sel] = draws[e]
        feats = privileged_features(priv)
        out["lactate"][sel] = feats[e, 0]
        out["lactate_measured"][sel] = feats[e, 1]
    return y, out


def _auroc(y, v) -> float | None:
    a = metrics.auroc(y, v)
    return None if np.isnan(a) else round(float(a), 4)


def _strength(a: float | None) -> float:
    return 0.5 if a is None else max(a, 1.0 - a)


def audit_cohort(cohort: Cohort, cfg: dict) -> dict:
    """The audit of a cohort under a run's config (window, horizon, personalization,
    Teacher context)."""
    length, stride = int(cfg["window"]["length"]), int(cfg["window"]["stride"])
    horizon = int(cfg["horizon_min"])
    context = int(cfg.get("teacher", {}).get("context", DEFAULT_CONTEXT))
    pers = personalization(cfg)
    scores, events = {}, {}
    for split in ("val", "test"):
        idx = cohort.indices(split)
        events[split] = {"patients": int(len(idx)), "events": int((cohort.onset[idx] >= 0).sum())}
        y, v = window_variables(cohort, split, length, stride, horizon, context, pers)
        for name, vals in v.items():
            scores.setdefault(name, {})[split] = _auroc(y, vals)
    variables, flagged = {}, []
    for name in NUISANCE + PRIVILEGED:
        kind = "nuisance" if name in NUISANCE else "privileged"
        row = {"kind": kind, "auroc_val": scores[name]["val"], "auroc_test": scores[name]["test"]}
        if kind == "nuisance":
            row["flagged"] = max(_strength(row["auroc_val"]), _strength(row["auroc_test"])) \
                > THRESHOLD
            if row["flagged"]:
                flagged.append(name)
        variables[name] = row
    return {"threshold": THRESHOLD, "variables": variables, "flagged": flagged,
            "passed": not flagged, "source": cohort.source, "splits": events}


def audit_run(run_dir: str | Path) -> dict:
    from bedside import runinfo
    cfg = runinfo.config(run_dir)
    return audit_cohort(Cohort.load(RunPaths(run_dir).cohort), cfg)


def _sizes(res: dict) -> str:
    sp = res.get("splits")
    if not sp:
        return ""
    return (f" Judged on {sp['val']['patients']} / {sp['test']['patients']} patients "
            f"({sp['val']['events']} / {sp['test']['events']} with an event): a variable "
            "that is constant within a patient is noisy on a few dozen events, so a small "
            "cohort can cross the line by chance.")


def markdown(res: dict) -> list[str]:
    """The audit as a report section."""
    verdict = "passed" if res["passed"] else "FAILED: " + ", ".join(res["flagged"])
    lines = ["## Shortcut audit", "",
             f"AUROC against the labels of each variable alone (validation / test); a "
             f"nuisance variable above {res['threshold']:.2f} in either direction is a "
             f"shortcut. Audit {verdict}." + _sizes(res), "",
             "| variable | kind | AUROC val | AUROC test | flag |", "| --- | --- | --- | --- | --- |"]
    for name, r in res["variables"].items():
        f = lambda a: "n/a" if a is None else f"{a:.3f}"
        flag = "**shortcut**" if r.get("flagged") else ""
        lines.append(f"| {name} | {r['kind']} | {f(r['auroc_val'])} | {f(r['auroc_test'])} | {flag} |")
    return lines + [""]
