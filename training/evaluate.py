"""Evaluation on the test split: Teacher, Students, NEWS2, current MAP -> metrics and plots.

Used by `bedside evaluate`. Every metric is computed on the test patients' windows
(dataset.split_windows); confidence intervals resample patients. Subgroups:
`rapid_map_drop` = test windows of patients whose event is a rapid MAP drop plus all
windows of event-free test patients (so the positives are only rapid-drop events);
`atypical_baseline` = windows of test patients with a chronic atypical baseline.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bedside.contract import preprocess
from . import baselines, dataset, metrics, models, tfutil
from .cohort import Cohort

MODELS = ("teacher", "student_kd", "student_scratch", "news2", "current_map")
MODEL_DIRS = {"teacher": "teacher", "student_kd": "student", "student_scratch": "student_scratch"}


def _predict(run_dir: Path, cohort: Cohort, cfg: dict, split: str):
    """Probabilities (or scores for baselines) of every model on one split's windows."""
    win, horizon, tcfg = cfg["window"], int(cfg["horizon_min"]), cfg["teacher"]
    x, y, pidx, ends = dataset.split_windows(cohort, split, win["length"], win["stride"], horizon,
                                             dataset.personalization(cfg))
    out = {}
    teacher = models.load(run_dir / "teacher" / "model.keras")
    probs = []
    for lo in range(0, len(ends), 4096):
        xt = dataset.teacher_windows(cohort, pidx[lo:lo + 4096], ends[lo:lo + 4096],
                                     tcfg["context"], dataset.personalization(cfg))
        probs.append(tfutil.predict_int8(teacher, xt)[0][:, 0])
    out["teacher"] = np.concatenate(probs) if probs else np.zeros(0)
    for name in ("student_kd", "student_scratch"):
        m = models.load(run_dir / MODEL_DIRS[name] / "model.keras")
        out[name] = tfutil.predict_int8(m, x)[:, 0]
    out.update(baselines.scores(cohort, pidx, ends))
    return out, y, pidx, ends


def model_costs(run_dir: Path) -> dict:
    """params, MACs per inference and weight bytes (int8 for Students, float32 Teacher)."""
    costs = {}
    for name, sub in MODEL_DIRS.items():
        m = models.load(run_dir / sub / "model.keras")
        wb = 4 * m.count_params() if name == "teacher" else models.int8_weight_bytes(m)
        costs[name] = {"params": int(m.count_params()), "macs": models.count_macs(m),
                       "weight_bytes": int(wb)}
    costs["news2"] = {"params": 0, "macs": 0, "weight_bytes": 0}
    costs["current_map"] = {"params": 0, "macs": 0, "weight_bytes": 0}
    return costs


def _metrics(y, p, groups, alarm_rate: float, n_boot: int, seed: int) -> dict:
    y = np.asarray(y)
    if len(y) == 0 or y.sum() == 0 or y.sum() == len(y):
        return {"n_windows": int(len(y)), "n_positive": int(y.sum()), "auroc": None,
                "auprc": None}
    return {
        "n_windows": int(len(y)), "n_positive": int(y.sum()),
        "auroc": metrics.auroc(y, p),
        "auroc_ci": list(metrics.bootstrap_ci(metrics.auroc, y, p, groups, n_boot, seed)),
        "auprc": metrics.auprc(y, p),
        "auprc_ci": list(metrics.bootstrap_ci(metrics.auprc, y, p, groups, n_boot, seed)),
        "brier": metrics.brier(y, p), "ece": metrics.ece(y, p),
        "sensitivity_at_alarm_rate": metrics.sensitivity_at_alarm_rate(y, p, alarm_rate),
    }


def targets(res: dict) -> list[dict]:
    """The issue's targets on the default simulated cohort, each with pass/fail."""
    a = {k: (res["models"][k]["auroc"] or float("nan")) for k in MODELS}
    p = {k: res["models"][k]["params"] for k in MODEL_DIRS}
    sk = res["models"]["student_kd"]
    best_base = max(a["news2"], a["current_map"])
    rows = [
        ("student_kd AUROC >= 0.97 x teacher", a["student_kd"] >= 0.97 * a["teacher"],
         f"{a['student_kd']:.4f} vs {0.97 * a['teacher']:.4f}"),
        ("student_kd AUROC >= student_scratch", a["student_kd"] >= a["student_scratch"],
         f"{a['student_kd']:.4f} vs {a['student_scratch']:.4f}"),
        ("teacher clearly above NEWS2 and current MAP (AUROC +0.05)",
         a["teacher"] >= best_base + 0.05, f"{a['teacher']:.4f} vs {best_base:.4f}"),
        ("student params <= teacher / 50", p["student_kd"] * 50 <= p["teacher"],
         f"{p['student_kd']} vs {p['teacher'] / 50:.0f}"),
        ("student int8 weights <= 32 KB", sk["weight_bytes"] <= 32 * 1024,
         f"{sk['weight_bytes']} B"),
        ("student activations <= 8 KB", sk["activation_bytes"] <= 8 * 1024,
         f"{sk['activation_bytes']} B"),
    ]
    return [{"target": t, "pass": bool(ok), "value": v} for t, ok, v in rows]


def physionet_utility(run_dir: Path, cohort: Cohort, cfg: dict, val: dict, yv) -> dict:
    """PhysioNet/CinC 2019 normalized utility (training.utility) of the test patients from
    each model's alarm decisions: every window of the stay (also after onset) runs through
    the alarm hysteresis, then maps to hourly rows. student_kd uses the run's alarm
    (config `alarm`, what the device runs); teacher and student_scratch get thresholds
    chosen the same way on their own validation outputs."""
    from bedside.contract.alarm import Alarm
    from .distill import choose_alarm
    from .utility import hourly_predictions, labels_from_onset, normalized_utility, psv_labels
    win, tcfg, pers = cfg["window"], cfg["teacher"], dataset.personalization(cfg)
    alarms = {"student_kd": cfg["alarm"]}
    for k in ("teacher", "student_scratch"):
        alarms[k] = choose_alarm(yv, val[k], cfg["alarm_policy"])
    pidx, ends, xs, labels, labels_from = [], [], [], [], set()
    src = Path(str(cfg.get("data", {}).get("input", "")))
    for i in cohort.indices("test"):
        raw = cohort.stream(i)
        n_hours = len(raw) // 60
        f = src / f"{cohort.pid[i]}.psv"
        lab = psv_labels(f) if src.is_dir() and f.is_file() else None
        if lab is None or len(lab) != n_hours:
            lab = labels_from_onset(int(cohort.onset[i]), n_hours)
            labels_from.add("onset")
        else:
            labels_from.add("psv")
        labels.append(lab)
        e = preprocess.window_ends(len(raw), win["length"], win["stride"])
        xs.append(preprocess.windows(preprocess.preprocess_stream(raw, pers),
                                     win["length"], win["stride"]))
        pidx.append(np.full(len(e), i, np.int64))
        ends.append(e)
    pidx, all_ends, x = np.concatenate(pidx), np.concatenate(ends), np.concatenate(xs)
    probs = {}
    for k in ("student_kd", "student_scratch"):
        m = models.load(run_dir / MODEL_DIRS[k] / "model.keras")
        probs[k] = tfutil.predict_int8(m, x)[:, 0] if len(x) else np.zeros(0)
    teacher, tp = models.load(run_dir / "teacher" / "model.keras"), []
    for lo in range(0, len(all_ends), 4096):
        xt = dataset.teacher_windows(cohort, pidx[lo:lo + 4096], all_ends[lo:lo + 4096],
                                     tcfg["context"], pers)
        tp.append(tfutil.predict_int8(teacher, xt)[0][:, 0])
    probs["teacher"] = np.concatenate(tp) if tp else np.zeros(0)
    out = {"labels_from": "+".join(sorted(labels_from)), "hours": int(sum(map(len, labels))),
           "models": {}}
    bounds = np.cumsum([len(e) for e in ends])[:-1]
    for k, p in probs.items():
        a = alarms[k]
        preds = []
        for e, pk, lab in zip(ends, np.split(p, bounds), labels):
            alarm = Alarm(float(a["threshold"]), float(a["off_threshold"]), int(a["min_duration"]))
            states = np.array([alarm.step(v) for v in pk], dtype=bool)
            preds.append(hourly_predictions(e, states, len(lab)))
        u = normalized_utility(labels, preds)
        out["models"][k] = {**u, "alarm_threshold": float(a["threshold"]),
                            "alarm_off_threshold": float(a["off_threshold"]),
                            "alarm_hours": int(sum(int(q.sum()) for q in preds))}
    return out


def evaluate(run_dir: Path, cfg: dict, seed: int) -> dict:
    cohort = Cohort.load(run_dir / "data" / "cohort.npz")
    ecfg = cfg["evaluate"]
    rate, n_boot = float(ecfg["alarm_rate"]), int(ecfg["bootstrap"])
    test, y, pidx, ends = _predict(run_dir, cohort, cfg, "test")
    val, yv, _, _ = _predict(run_dir, cohort, cfg, "val")
    # baselines are scores: Platt-scale them on validation to report Brier/ECE
    probs = dict(test)
    platt = {}
    for b in ("news2", "current_map"):
        platt[b] = baselines.platt_fit(val[b], yv)
        probs[b] = baselines.platt_apply(test[b], platt[b])
    costs = model_costs(run_dir)
    student = models.load(run_dir / "student" / "model.keras")
    costs["student_kd"]["activation_bytes"] = models.max_activation_bytes(student)

    rapid = cohort.rapid_map_drop[pidx] | (cohort.onset[pidx] < 0)
    atyp = cohort.atypical_baseline[pidx]
    res = {"split": "test", "n_patients": int(len(np.unique(pidx))), "alarm_rate": rate,
           "bootstrap": n_boot, "horizon_min": int(cfg["horizon_min"]),
           "window": cfg["window"], "platt": platt, "models": {}, "subgroups": {}}
    for k in MODELS:
        res["models"][k] = {**_metrics(y, probs[k], pidx, rate, n_boot, seed), **costs[k]}
    for sub, mask in (("rapid_map_drop", rapid), ("atypical_baseline", atyp)):
        res["subgroups"][sub] = {
            k: _metrics(y[mask], probs[k][mask], pidx[mask], rate, n_boot, seed) for k in MODELS}
    res["targets"] = targets(res)
    if cohort.source == "physionet":
        res["physionet_utility"] = physionet_utility(run_dir, cohort, cfg, val, yv)
    res["_arrays"] = {"y": y, "probs": probs, "pidx": pidx}
    return res
