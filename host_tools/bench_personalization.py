"""`bedside bench personalization RUN_DIR`: Students with vs without on-device personalization.

On the run's cohort (RUN_DIR/data/cohort.npz; the simulator gives 20 % of patients a
chronic atypical baseline), two Students of the run's architecture are trained from the
same seed and initialisation on the train split: one on the population-centred windows,
one on the personalized windows (bedside/contract/personalize.py, the device's transform). On the
test split it reports AUROC, AUPRC and false alarms per patient-day at equal sensitivity,
overall and for the atypical-baseline subgroup, and writes RUN_DIR/personalization.json.

Operating point: per model and group, the highest threshold that flags `--sensitivity`
of the positive windows (metrics.threshold_at_sensitivity). An alarm is the device's state
machine (bedside.contract.alarm.Alarm, on = off = threshold, the run's min_duration) over each
patient's windows in time order; an alarm episode is false when the window that raises it
is negative (no event within the horizon). Patient-days = evaluated windows x stride.
Students are trained without KD (the Teacher is not needed), so this isolates the input
transform. TensorFlow is imported only when it runs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bedside import rundir
    rundir.add_argument(p, "with data/cohort.npz")
    p.add_argument("--quick", action="store_true",
                   help="2 epochs (tests; the figures are not meaningful)")
    p.add_argument("--epochs", type=int, default=None, help="Student epochs (default 6)")
    p.add_argument("--patients", type=int, default=None,
                   help="use the first N patients of the cohort (default all)")
    p.add_argument("--sensitivity", type=float, default=0.8,
                   help="window-level sensitivity of the compared operating points (0.8)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the run's, else 0)")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON output (default RUN_DIR/personalization.json)")


def _false_alarms(y, p, pidx, thr: float, min_duration: int) -> tuple[int, int]:
    """(false alarm episodes, all alarm episodes) over each patient's windows in order."""
    from bedside.contract.alarm import Alarm
    false = total = 0
    for i in np.unique(pidx):
        sel = np.flatnonzero(pidx == i)           # split_windows keeps time order
        alarm = Alarm(0, 0, min_duration)
        was = False
        for k in sel:
            on = alarm.step(1 if p[k] >= thr else -1)
            if on and not was:
                total += 1
                false += int(y[k] == 0)
            was = on
    return false, total


def group_metrics(y, p, pidx, stride: int, sensitivity: float, min_duration: int,
                  thr: float | None = None) -> dict:
    from training import metrics
    y = np.asarray(y)
    days = len(y) * stride / 1440.0
    out = {"patients": int(len(np.unique(pidx))), "windows": int(len(y)),
           "positives": int(y.sum()), "patient_days": round(days, 3)}
    if y.sum() == 0 or y.sum() == len(y):
        return {**out, "auroc": None, "auprc": None, "sensitivity": None, "threshold": None,
                "false_alarms_per_patient_day": None}
    if thr is None:
        thr = metrics.threshold_at_sensitivity(y, p, sensitivity)
    false, total = _false_alarms(y, p, pidx, thr, min_duration)
    return {**out, "auroc": metrics.auroc(y, p), "auprc": metrics.auprc(y, p),
            "threshold": float(thr), "sensitivity": float(np.mean(p[y > 0] >= thr)),
            "alarm_episodes": total, "false_alarms": false,
            "false_alarms_per_patient_day": false / days if days else None}


def _train(x, y, scfg: dict, seed: int, title: str):
    from training.distill import train_student
    from training.train import subsample
    sel = subsample(y, scfg["neg_keep"], seed)
    x, y = x[sel], y[sel]
    w = np.where(y > 0, 1.0, 1.0 / scfg["neg_keep"]).astype(np.float32)
    # no Teacher: alpha = beta = 0, so the soft targets and attention maps are unused
    z_t = np.zeros(len(y), np.float32)
    a_t = np.ones((len(y), 6), np.float32)
    return train_student(x, y, z_t, a_t, scfg, {"alpha": 0.0, "beta": 0.0, "temperature": 1.0},
                         seed, title, verbose=True, weights=w)


def _reduction(without: float | None, with_: float | None) -> float | None:
    if without is None or with_ is None or without <= 0:
        return None
    return float(1.0 - with_ / without)


def run(args: argparse.Namespace) -> int:
    from training import dataset, profiles, runinfo
    from training.cohort import Cohort
    from bedside.contract.personalize import DEFAULT, PersonalizationError, normalize
    t0 = time.monotonic()
    from bedside import rundir
    run_dir = rundir.resolve(args.run_dir, "bench personalization")
    path = run_dir / "data" / "cohort.npz"
    if not path.is_file():
        print(f"error: {path} not found (run `bedside data {run_dir}` first)",
              file=sys.stderr)
        return 2
    try:
        cfg = runinfo.config(run_dir)
        pz = normalize(cfg.get("personalization") if (cfg.get("personalization") or {}).get(
            "enabled") else DEFAULT)
    except (ValueError, PersonalizationError) as e:
        print(f"error: {run_dir / 'run.json'}: {e}", file=sys.stderr)
        return 2
    seed = int(args.seed if args.seed is not None else cfg.get("seed", 0))
    prof = profiles.profile(args.quick)
    scfg = {**prof["student"], **{k: v for k, v in cfg.get("student", {}).items()
                                  if k in ("length", "filters", "dense")}}
    scfg["epochs"] = args.epochs or (2 if args.quick else 6)
    scfg["neg_keep"] = 0.3
    min_duration = int(cfg.get("alarm", {}).get("min_duration",
                                                prof["alarm_policy"]["min_duration"]))
    win, horizon = cfg["window"], int(cfg["horizon_min"])
    cohort = Cohort.load(path)
    limit = args.patients
    if limit is not None and limit < cohort.n_patients:   # keep the first N, same splits
        cohort.split = np.where(np.arange(cohort.n_patients) < limit, cohort.split, -1)

    from training import tfutil
    tfutil.setup(seed)
    results, models_out = {}, {}
    for arm, setting in (("without", None), ("with", pz)):
        x, y, _, _ = dataset.split_windows(cohort, "train", win["length"], win["stride"],
                                           horizon, setting)
        if len(y) == 0 or y.sum() == 0:
            print(f"error: {path}: no positive training windows", file=sys.stderr)
            return 2
        model = _train(x, y, scfg, seed, f"student ({arm} personalization)")
        xt, yt, pt, _ = dataset.split_windows(cohort, "test", win["length"], win["stride"],
                                              horizon, setting)
        models_out[arm] = (tfutil.predict_int8(model, xt)[:, 0], yt, pt)
    atyp = cohort.atypical_baseline
    for arm, (p, y, pidx) in models_out.items():
        sub = atyp[pidx]
        overall = group_metrics(y, p, pidx, win["stride"], args.sensitivity, min_duration)
        results[arm] = {
            "overall": overall,
            "atypical_baseline": group_metrics(y[sub], p[sub], pidx[sub], win["stride"],
                                               args.sensitivity, min_duration),
            # at the overall operating point (one threshold per model, as deployed)
            "atypical_baseline_at_overall_threshold": group_metrics(
                y[sub], p[sub], pidx[sub], win["stride"], args.sensitivity, min_duration,
                thr=overall["threshold"]),
            "typical": group_metrics(y[~sub], p[~sub], pidx[~sub], win["stride"],
                                     args.sensitivity, min_duration),
        }
    w, wo = results["with"], results["without"]
    fa = "false_alarms_per_patient_day"
    au = (w["overall"]["auroc"], wo["overall"]["auroc"])
    report = {
        "run_dir": str(run_dir), "seed": seed, "quick": bool(args.quick),
        "settings": pz, "sensitivity": args.sensitivity, "min_duration": min_duration,
        "student": {k: scfg[k] for k in ("filters", "dense", "epochs", "batch", "lr", "neg_keep")},
        "patients_used": int((cohort.split >= 0).sum()),
        "with": w, "without": wo,
        "false_alarm_reduction": _reduction(wo["atypical_baseline"][fa],
                                            w["atypical_baseline"][fa]),
        "false_alarm_reduction_at_overall_threshold": _reduction(
            wo["atypical_baseline_at_overall_threshold"][fa],
            w["atypical_baseline_at_overall_threshold"][fa]),
        "false_alarm_reduction_overall": _reduction(wo["overall"][fa], w["overall"][fa]),
        "auroc_change_overall": (au[0] - au[1]) if None not in au else None,
        "target": {"false_alarm_reduction": 0.2, "auroc_change_overall": 0.0},
        "seconds": round(time.monotonic() - t0, 1),
    }
    # None where a group has no positive or no false alarm without personalization
    report["target_met"] = bool(
        report["false_alarm_reduction"] is not None and report["false_alarm_reduction"] >= 0.2
        and report["auroc_change_overall"] is not None and report["auroc_change_overall"] >= 0)
    out = args.out or run_dir / "personalization.json"
    runinfo.write_json(out, report)
    _print(report)
    print(f"-> {out}")
    return 0


def _fmt(v, spec=".3f") -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


def _print(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table
    t = Table(title=f"personalization at sensitivity {r['sensitivity']:.2f} "
                    f"({r['patients_used']} patients, seed {r['seed']})")
    for col in ("group", "model", "AUROC", "AUPRC", "sens.", "false alarms / patient-day"):
        t.add_column(col)
    for group in ("overall", "atypical_baseline", "typical"):
        for arm in ("without", "with"):
            m = r[arm][group]
            t.add_row(group, arm, _fmt(m["auroc"]), _fmt(m["auprc"]), _fmt(m["sensitivity"], ".2f"),
                      _fmt(m["false_alarms_per_patient_day"], ".2f"))
    Console().print(t)
    print(f"false_alarm_reduction (atypical baseline, equal sensitivity): "
          f"{_fmt(r['false_alarm_reduction'], '.1%')}; at the overall threshold: "
          f"{_fmt(r['false_alarm_reduction_at_overall_threshold'], '.1%')}; overall: "
          f"{_fmt(r['false_alarm_reduction_overall'], '.1%')}; AUROC change overall: "
          f"{_fmt(r['auroc_change_overall'], '+.3f')}; target met: {r['target_met']}")
