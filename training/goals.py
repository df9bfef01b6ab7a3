"""The issue-23 goals of `evaluation.json` `"goals"`, each {"value", "ci", "pass", ...}.

On test, every threshold chosen on validation (training/endpoint.py: each model's alarm
at the fewest validation false alarms per patient-day with >= 90 % validation event
sensitivity). False alarms per patient-day are compared at those operating points.

- teacher_edge_kept: (FA_scratch - FA_kd) / (FA_scratch - FA_teacher): the share of the
  Teacher's advantage over the scratch Student that the KD Student keeps; pass >= 0.5.
- beats_strongest_baseline: FA_kd - FA_best, the best of logistic regression,
  own-baseline score and NEWS2 chosen by validation false alarms; pass: CI below 0.
- kd_over_scratch: KD - scratch AUROC, mean over the study's seeds (`bedside study
  --deployed`, >= 5 seeds of the deployed recipe), CI from a bootstrap over seeds and
  patients together; pass: CI above 0, on the deployed recipe and >= 5 seeds.
- device_false_alarms: the device (Student KD alarm or safety floor); pass <= 1.0.

CIs: 95 % paired patient bootstrap of the test split (one deployed training seed) for
the first, second and fourth; seeds and patients for kd_over_scratch.
"""
from __future__ import annotations

import numpy as np

from . import burden, metrics

BASELINE_CHOICES = ("logistic", "own_baseline", "news2")
EDGE_KEPT_MIN = 0.5
DEVICE_FA_MAX = 1.0
MIN_SEEDS = 5


def _fa(r: dict, idx, stride: int):
    return burden.summary({k: v[idx] for k, v in r.items()}, stride)["false_alarms_per_patient_day"]


def _boot(fn, n_patients: int, n_boot: int, seed: int) -> list[float]:
    vals = []
    for idx in metrics.patient_resamples(np.arange(n_patients), n_boot, seed):
        v = fn(idx)
        if v is not None and np.isfinite(v):
            vals.append(v)
    return list(metrics.percentile_ci(vals)) if vals else [None, None]


def compute(endpoint: dict, rows: dict, study: dict | None, stride: int, n_boot: int,
            seed: int) -> dict:
    n = len(rows["student_kd"]["windows"])
    allp = np.arange(n)
    fa = {k: _fa(r, allp, stride) for k, r in rows.items()}
    out = {}

    def edge(idx):
        s, k, t = (_fa(rows[m], idx, stride) for m in ("student_scratch", "student_kd", "teacher"))
        return None if s is None or s - t <= 0 else (s - k) / (s - t)
    v = edge(allp)
    out["teacher_edge_kept"] = {
        "value": v, "ci": _boot(edge, n, n_boot, seed),
        "pass": bool(v is not None and v >= EDGE_KEPT_MIN),
        "false_alarms_per_patient_day": {m: fa[m] for m in ("teacher", "student_kd",
                                                            "student_scratch")},
        "note": None if v is not None else "the Teacher has no edge over the scratch Student "
                                           "in false alarms per patient-day: nothing to keep"}

    best = min(BASELINE_CHOICES,
               key=lambda b: endpoint[b]["operating_point"]["val_false_alarms_per_patient_day"])

    def beats(idx):
        return _fa(rows["student_kd"], idx, stride) - _fa(rows[best], idx, stride)
    v = beats(allp)
    ci = _boot(beats, n, n_boot, seed)
    out["beats_strongest_baseline"] = {
        "value": v, "ci": ci, "pass": bool(ci[1] is not None and ci[1] < 0),
        "baseline": best, "chosen_on": "val false alarms per patient-day",
        "event_sensitivity": {"student_kd": endpoint["student_kd"]["event_sensitivity"],
                              best: endpoint[best]["event_sensitivity"]}}

    out["kd_over_scratch"] = {"value": None, "ci": None, "pass": False, "seeds": None,
                              "note": "filled in by `bedside study --deployed`"}
    if study:
        out = with_study(out, study)

    dev = endpoint["device"]
    out["device_false_alarms"] = {
        "value": dev["false_alarms_per_patient_day"],
        "ci": dev["false_alarms_per_patient_day_ci"],
        "pass": bool(dev["false_alarms_per_patient_day"] is not None
                     and dev["false_alarms_per_patient_day"] <= DEVICE_FA_MAX),
        "event_sensitivity": dev["event_sensitivity"]}
    return out


def with_study(goals: dict, study: dict) -> dict:
    """`goals` with kd_over_scratch from a (new) study result."""
    d = study.get("differences", {}).get("kd - scratch")
    if d is None:
        return goals
    deployed = bool(study.get("recipe_is_deployed", False))
    enough = len(study["seeds"]) >= MIN_SEEDS
    note = None if deployed and enough else (
        "the study did not train the deployed recipe (`bedside study --deployed`)"
        if not deployed else f"fewer than {MIN_SEEDS} seeds")
    return {**goals, "kd_over_scratch": {
        "value": d["auroc"], "ci": d["auroc_ci"],
        "pass": bool(d["auroc_ci"][0] > 0 and deployed and enough),
        "seeds": len(study["seeds"]), "recipe": study.get("student"),
        "recipe_is_deployed": deployed, "ci_over": d.get("ci_over", "patients"),
        "per_seed": d.get("auroc_per_seed"), "note": note}}


def markdown(goals: dict) -> list[str]:
    lines = ["## Goals (issue 23; test split, thresholds chosen on validation)", "",
             "| goal | value [95 % CI] | pass |", "| --- | --- | --- |"]
    for k, g in goals.items():
        v = "n/a" if g["value"] is None else f"{g['value']:+.3f}"
        ci = g.get("ci") or [None, None]
        c = "" if ci[0] is None else f" [{ci[0]:+.3f}, {ci[1]:+.3f}]"
        extra = f" ({g['note']})" if g.get("note") else ""
        lines.append(f"| {k} | {v}{c}{extra} | {'PASS' if g['pass'] else 'FAIL'} |")
    return lines + [""]
