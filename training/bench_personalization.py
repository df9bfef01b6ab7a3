"""`bedside bench personalization RUN_DIR`: Students with vs without on-device personalization.

    bedside bench personalization RUN_DIR [--cohort-seeds 3] [--patients N] [--epochs 6]
                                  [--bootstrap 200] [--quick] [--out FILE]

For each cohort seed (the run's cohort, then cohorts simulated with the run's data
settings and the next seeds), two Students of the run's architecture are trained from the
same seed and initialisation on the train split, without KD (this isolates the input
transform): one on population-centred windows, one on the personalized windows (the
device's transform, bedside.contract.personalize). Each gets ONE alarm, chosen on the
*validation* split by the run's alarm policy (on at `target_sensitivity`, off at
`off_sensitivity` of the positive windows, `min_duration`), the same for every patient.
On the test split it reports, for all patients and the atypical-baseline subgroup, false
alarms per patient-day and event sensitivity (training.burden: the device's alarm state
machine per patient) with 95 % patient-bootstrap CIs, and the paired reduction
1 - FA(with) / FA(without) and the event-sensitivity change, each with its CI. Writes
RUN_DIR/personalization.json.
TensorFlow is imported only when it runs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

GROUPS = ("overall", "atypical_baseline")
TARGET_REDUCTION = 0.2


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bedside import rundir
    rundir.add_argument(p, "with data/cohort.npz")
    p.add_argument("--cohort-seeds", type=int, default=None,
                   help="cohorts to compare: the run's, then simulated with the next seeds "
                        "(default 3; --quick 1)")
    p.add_argument("--patients", type=int, default=None,
                   help="patients per cohort (default: the run's cohort size; the run's "
                        "own cohort keeps its first N)")
    p.add_argument("--epochs", type=int, default=None, help="Student epochs (default 6)")
    p.add_argument("--bootstrap", type=int, default=None,
                   help="patient bootstrap resamples (default 200; --quick 20)")
    p.add_argument("--seed", type=int, default=None,
                   help="training seed (default: the run's, else 0)")
    p.add_argument("--quick", action="store_true",
                   help="tests: 2 epochs, one cohort (the figures are not meaningful)")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON output (default RUN_DIR/personalization.json)")


def _train(x, y, scfg: dict, seed: int, title: str):
    from .distill import train_student
    from .train import subsample
    sel = subsample(y, scfg["neg_keep"], seed)
    x, y = x[sel], y[sel]
    w = np.where(y > 0, 1.0, 1.0 / scfg["neg_keep"]).astype(np.float32)
    # no Teacher: alpha = beta = 0, so the soft targets and attention maps are unused
    z_t = np.zeros(len(y), np.float32)
    a_t = np.full((len(y), 6), 1 / 6, np.float32)
    return train_student(x, y, z_t, a_t, scfg, {"alpha": 0.0, "beta": 0.0, "temperature": 1.0},
                         seed, title, verbose=True, weights=w)


def _paired(rows_without: dict, rows_with: dict, n_boot: int, seed: int) -> dict:
    """On the same patients, with paired patient-bootstrap CIs: the false-alarm reduction
    1 - FA/day(with) / FA/day(without) and the event-sensitivity change with - without."""
    from . import metrics

    def red(a, b):
        fa_wo = a["false"].sum() / max(a["windows"].sum(), 1)
        fa_w = b["false"].sum() / max(b["windows"].sum(), 1)
        return None if fa_wo <= 0 else float(1.0 - fa_w / fa_wo)

    def sens(a, b):
        ev = a["event"]
        return float(b["alarmed"][ev].mean() - a["alarmed"][ev].mean()) if ev.any() else None
    boots = {"red": [], "sens": []}
    for idx in metrics.patient_resamples(np.arange(len(rows_without["windows"])), n_boot, seed):
        a = {k: v[idx] for k, v in rows_without.items()}
        b = {k: v[idx] for k, v in rows_with.items()}
        boots["red"].append(red(a, b))
        boots["sens"].append(sens(a, b))
    return {"false_alarm_reduction": red(rows_without, rows_with),
            "false_alarm_reduction_ci": list(metrics.percentile_ci(boots["red"])),
            "event_sensitivity_change": sens(rows_without, rows_with),
            "event_sensitivity_change_ci": list(metrics.percentile_ci(boots["sens"]))}


def _cohort(run_dir: Path, cfg: dict, cohort_seed: int, first: bool, patients: int | None):
    from .cohort import Cohort
    from .simulator import SimConfig, simulate_cohort
    if first:
        cohort = Cohort.load(run_dir / "data" / "cohort.npz")
        if patients is not None and patients < cohort.n_patients:   # first N, same splits
            cohort.split = np.where(np.arange(cohort.n_patients) < patients, cohort.split, -1)
        return cohort
    d = cfg["data"]
    n = patients or int(d["patients"])
    pts = [p for c in simulate_cohort(n, cohort_seed, SimConfig.from_dict(d.get("sim", {})),
                                      chunk_size=int(d.get("chunk_size", 128))) for p in c]
    return Cohort.from_patients(pts, cohort_seed, tuple(d.get("split_fractions", (0.6, 0.2, 0.2))),
                                source="simulate")


def one_cohort(cohort, cfg: dict, pz: dict, scfg: dict, policy: dict, seed: int,
               n_boot: int) -> dict:
    from . import burden, dataset, metrics, tfutil
    from .distill import choose_alarm
    win, horizon = cfg["window"], int(cfg["horizon_min"])
    stride = int(win["stride"])
    out, rows = {}, {}
    for arm, setting in (("without", None), ("with", pz)):
        x, y, _, _ = dataset.split_windows(cohort, "train", win["length"], stride, horizon,
                                           setting)
        if len(y) == 0 or y.sum() == 0:
            raise ValueError("no positive training windows")
        model = _train(x, y, scfg, seed, f"student ({arm} personalization)")
        xv, yv, pv, _ = dataset.split_windows(cohort, "val", win["length"], stride, horizon,
                                              setting)
        alarm = choose_alarm(yv, tfutil.predict_int8(model, xv)[:, 0], policy, "val")
        xt, yt, pt, et = dataset.split_windows(cohort, "test", win["length"], stride, horizon,
                                               setting)
        p = tfutil.predict_int8(model, xt)[:, 0]
        atyp = cohort.atypical_baseline[pt]
        out[arm] = {"alarm": alarm}
        for group, m in (("overall", np.ones(len(yt), bool)), ("atypical_baseline", atyp)):
            b, r = burden.burden(yt[m], p[m], pt[m], et[m], cohort.onset[pt[m]], alarm, stride,
                                 n_boot, seed)
            out[arm][group] = {"auroc": metrics.auroc(yt[m], p[m]),
                               "auprc": metrics.auprc(yt[m], p[m]), **b}
            rows[(arm, group)] = r
    res = {"test_patients": out["with"]["overall"]["patients"],
           "atypical_test_patients": out["with"]["atypical_baseline"]["patients"],
           "with": out["with"], "without": out["without"]}
    for group in GROUPS:
        sens = {arm: out[arm][group]["event_sensitivity"] for arm in ("without", "with")}
        res[group] = {**_paired(rows[("without", group)], rows[("with", group)], n_boot, seed),
                      "event_sensitivity": sens,
                      "false_alarms_per_patient_day": {
                          arm: out[arm][group]["false_alarms_per_patient_day"]
                          for arm in ("without", "with")}}
    sub = res["atypical_baseline"]
    res["target_met"] = bool(
        sub["false_alarm_reduction"] is not None
        and sub["false_alarm_reduction"] >= TARGET_REDUCTION
        and sub["false_alarm_reduction_ci"][0] > 0
        and None not in sub["event_sensitivity"].values()
        and sub["event_sensitivity"]["with"] >= sub["event_sensitivity"]["without"])
    return res


def run(args: argparse.Namespace) -> int:
    from . import profiles, runinfo
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
    policy = {**prof["alarm_policy"], **cfg.get("alarm_policy", {})}
    n_seeds = args.cohort_seeds or (1 if args.quick else 3)
    n_boot = args.bootstrap or (20 if args.quick else 200)
    data_seed = int(cfg.get("seed", 0))
    simulated = (cfg.get("data") or {}).get("source", "simulate") == "simulate"
    if n_seeds > 1 and not simulated:
        print(f"error: {run_dir}: --cohort-seeds > 1 needs a simulated cohort", file=sys.stderr)
        return 2
    from . import tfutil
    tfutil.setup(seed)
    seeds = {}
    for k in range(n_seeds):
        cs = data_seed + k
        cohort = _cohort(run_dir, cfg, cs, k == 0, args.patients)
        try:
            seeds[str(cs)] = one_cohort(cohort, cfg, pz, scfg, policy, seed, n_boot)
        except ValueError as e:
            print(f"error: cohort seed {cs}: {e}", file=sys.stderr)
            return 2
    report = {
        "generator": {"tool": "bedside bench personalization",
                      "command": f"bedside bench personalization {run_dir} --cohort-seeds "
                                 f"{n_seeds}" + (" --quick" if args.quick else "")},
        "run_dir": str(run_dir), "seed": seed, "quick": bool(args.quick),
        "threshold_source": "validation", "alarm_policy": policy, "settings": pz,
        "student": {k: scfg[k] for k in ("filters", "dense", "epochs", "batch", "lr", "neg_keep")},
        "patients": args.patients, "bootstrap": n_boot, "cohort_seeds": seeds,
        "target": {"false_alarm_reduction": TARGET_REDUCTION, "ci_excludes_0": True,
                   "event_sensitivity": "with >= without", "group": "atypical_baseline",
                   "every_cohort_seed": True},
        "target_met": bool(seeds) and all(s["target_met"] for s in seeds.values()),
        "seconds": round(time.monotonic() - t0, 1),
    }
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
    t = Table(title="personalization: one validation-chosen alarm per model")
    for col in ("cohort seed", "group", "model", "AUROC", "event sens.",
                "false alarms / patient-day", "reduction [95 % CI]"):
        t.add_column(col)
    for cs, s in r["cohort_seeds"].items():
        for group in GROUPS:
            red = s[group]
            for arm in ("without", "with"):
                m = s[arm][group]
                ci = red["false_alarm_reduction_ci"]
                t.add_row(cs, group, arm, _fmt(m["auroc"]), _fmt(m["event_sensitivity"], ".2f"),
                          _fmt(m["false_alarms_per_patient_day"], ".2f"),
                          "" if arm == "without" else
                          f"{_fmt(red['false_alarm_reduction'], '.1%')} "
                          f"[{_fmt(ci[0], '.1%')}, {_fmt(ci[1], '.1%')}]")
    Console().print(t)
    print(f"target (>= 20 % fewer subgroup false alarms, CI > 0, sensitivity not lower, every "
          f"cohort seed) met: {r['target_met']}")
