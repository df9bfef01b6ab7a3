"""Evaluation on the test split: Teacher, Students and baselines -> metrics and plots.

Used by `bedside evaluate`. Every metric is computed on the test patients' windows
(dataset.split_windows); confidence intervals resample patients. Nothing is chosen on
test labels: alarm thresholds, the logistic baseline's regularisation, Platt scaling and
the "strongest baseline" are all chosen on the validation split.
Subgroups: `rapid_map_drop` = test windows of patients whose event is a rapid MAP drop
plus all windows of event-free test patients (so the positives are only rapid-drop
events); `atypical_baseline` = windows of test patients with a chronic atypical baseline;
`full_context` = windows whose Teacher context lies wholly after admission.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bedside.contract import preprocess
from bedside.training import baselines, burden, floor_burden, goals, metrics, models, tfutil
from bedside.sources import windows as dataset
from bedside.sources.cohort import Cohort
from .train import subsample
from bedside.rundir import RunPaths

STUDENTS = ("student_kd", "student_scratch")
BASELINES = ("news2", "current_map", "own_baseline", "logistic")
MODELS = ("teacher",) + STUDENTS + BASELINES
# each evaluated model's name in the run folder (RunPaths.keras_model)
MODEL_DIRS = {"teacher": "teacher", "student_kd": "student", "student_scratch": "student_scratch"}
LOGISTIC_NEG_KEEP = 0.3


def teacher_probs(run_dir: Path, cohort: Cohort, cfg: dict, pidx, ends) -> np.ndarray:
    teacher = models.load(RunPaths(run_dir).teacher_model)
    probs = []
    for lo in range(0, len(ends), 4096):
        xt = dataset.teacher_windows(cohort, pidx[lo:lo + 4096], ends[lo:lo + 4096],
                                     cfg["teacher"]["context"], dataset.personalization(cfg))
        probs.append(tfutil.predict_int8(teacher, xt)[0][:, 0])
    return np.concatenate(probs) if probs else np.zeros(0)


def _windows(cohort: Cohort, cfg: dict, split: str):
    win = cfg["window"]
    return dataset.split_windows(cohort, split, win["length"], win["stride"],
                                 int(cfg["horizon_min"]), dataset.personalization(cfg))


def _predict(run_dir: Path, cohort: Cohort, cfg: dict, split: str, logistic):
    """Probabilities (or scores for baselines) of every model on one split's windows."""
    x, y, pidx, ends = _windows(cohort, cfg, split)
    out = {"teacher": teacher_probs(run_dir, cohort, cfg, pidx, ends)}
    for name in STUDENTS:
        m = models.load(RunPaths(run_dir).keras_model(MODEL_DIRS[name]))
        out[name] = tfutil.predict_int8(m, x)[:, 0]
    out.update(baselines.scores(cohort, pidx, ends))
    out["logistic"] = baselines.predict_logistic(logistic, x)
    return out, y, pidx, ends


def fit_logistic(cohort: Cohort, cfg: dict, seed: int):
    """The logistic baseline, fit on (subsampled, re-weighted) train windows."""
    x, y, _, _ = _windows(cohort, cfg, "train")
    sel = subsample(y, LOGISTIC_NEG_KEEP, seed)
    w = np.where(y[sel] > 0, 1.0, 1.0 / LOGISTIC_NEG_KEEP)
    xv, yv, _, _ = _windows(cohort, cfg, "val")
    return baselines.fit_logistic(x[sel], y[sel], w, xv, yv, seed)


def model_costs(run_dir: Path, logistic_features: int) -> dict:
    """params, MACs per inference and weight bytes (int8 for Students, float32 Teacher)."""
    costs = {}
    for name, sub in MODEL_DIRS.items():
        m = models.load(RunPaths(run_dir).keras_model(sub))
        wb = 4 * m.count_params() if name == "teacher" else models.int8_weight_bytes(m)
        costs[name] = {"params": int(m.count_params()), "macs": models.count_macs(m),
                       "weight_bytes": int(wb)}
    for b in ("news2", "current_map", "own_baseline"):
        costs[b] = {"params": 0, "macs": 0, "weight_bytes": 0}
    n = logistic_features + 1
    costs["logistic"] = {"params": n, "macs": logistic_features, "weight_bytes": 4 * n}
    return costs


def _metrics(y, p, groups, alarm_rate: float, n_boot: int, seed: int) -> dict:
    y = np.asarray(y)
    if len(y) == 0 or y.sum() == 0 or y.sum() == len(y):
        return {"n_windows": int(len(y)), "n_positive": int(y.sum()), "auroc": None,
                "auprc": None}
    return {
        "n_windows": int(len(y)), "n_positive": int(y.sum()),
        "auroc": metrics.auroc(y, p),
        "auroc_ci": list(metrics.bootstrap_ci("auroc", y, p, groups, n_boot, seed)),
        "auprc": metrics.auprc(y, p),
        "auprc_ci": list(metrics.bootstrap_ci("auprc", y, p, groups, n_boot, seed)),
        "brier": metrics.brier(y, p), "ece": metrics.ece(y, p),
        "sensitivity_at_alarm_rate": metrics.sensitivity_at_alarm_rate(y, p, alarm_rate),
    }


def operating_points(cfg: dict, val: dict, yv, pv) -> dict:
    """Per model, two operating points chosen on validation: `policy` (the alarm
    policy's window sensitivities; student_kd: the device's alarm) and
    `equal_event_sensitivity` (on = off threshold alarming `event_sensitivity` of the
    validation events)."""
    from .distill import choose_alarm
    pol = cfg["alarm_policy"]
    target = float(cfg["evaluate"].get("event_sensitivity", 0.9))
    ops = {}
    for k in MODELS:
        policy = cfg["alarm"] if k == "student_kd" else choose_alarm(yv, val[k], pol, f"val/{k}")
        ops[k] = {"policy": policy,
                  "equal_event_sensitivity": burden.alarm_at_event_sensitivity(
                      val[k], pv, yv, int(pol["min_duration"]), target)}
    return ops


def alarm_burden(test: dict, y, pidx, ends, onset, ops: dict, stride: int, n_boot: int,
                 seed: int) -> tuple[dict, dict]:
    """Burden of every model at both operating points, and the per-patient rows."""
    out, rows = {}, {}
    for k in MODELS:
        out[k] = {}
        for name, op in ops[k].items():
            res, r = burden.burden(y, test[k], pidx, ends, onset, op, stride, n_boot, seed)
            out[k][name] = res
            rows[(k, name)] = r
    return out, rows


def endpoint_burden(cohort: Cohort, cfg: dict, val: dict, test: dict, yv, pv, ev, y, pidx,
                    ends, n_boot: int, seed: int, test_floor: dict | None = None
                    ) -> tuple[dict, dict]:
    """Alarm burden as the endpoint (training/endpoint.py): every model's curve and its
    validation-chosen operating point, and the device (Student KD + safety floor) at the
    deployed alarm (run.json config `alarm`, chosen by `bedside distill` by the same rule;
    re-chosen here for a run whose alarm predates that rule). `test_floor`: the test
    patients' floor records (floor_burden.records), computed once for this and the floor's
    own burden."""
    from . import endpoint
    floor = floor_burden.settings(cfg)      # the floor the device will run
    target = float(cfg["evaluate"].get("event_sensitivity", 0.9))
    deployed = cfg.get("alarm")
    if not (deployed and deployed.get("chosen_on") == endpoint.DEVICE_CHOSEN_ON):
        deployed = None
    out, rows = endpoint.evaluate(
        val, test, yv, pv, ev, cohort.onset[pv], y, pidx, ends, cohort.onset[pidx],
        endpoint.floor_windows(cohort, pv, ev, floor),
        endpoint.floor_windows(cohort, pidx, ends, floor, test_floor),
        int(cfg["window"]["stride"]), target, n_boot, seed, device_alarm=deployed)
    out["device"]["safety_floor"] = "off" if floor is None else "on"
    return out, rows


def versus_strongest_baseline(val_auroc: dict, y, test: dict, pidx, rows: dict, stride: int,
                              n_boot: int, seed: int) -> dict:
    """student_kd against the baseline with the highest *validation* AUROC: paired
    patient-bootstrap CIs of the AUROC difference and of the false alarms per
    patient-day difference at equal (validation-chosen) event sensitivity."""
    best = max(BASELINES, key=lambda b: val_auroc[b])
    s, b = np.asarray(test["student_kd"]), np.asarray(test[best])
    d_auc = metrics.auroc(y, s) - metrics.auroc(y, b)
    rs, rb = metrics.Ranked(y, s), metrics.Ranked(y, b)
    boots = [rs.auroc(w) - rb.auroc(w) for w in metrics.patient_weights(pidx, n_boot, seed)]
    fa = burden.compare(rows[("student_kd", "equal_event_sensitivity")],
                        rows[(best, "equal_event_sensitivity")], stride, n_boot, seed)
    return {"baseline": best, "chosen_on": "val/auroc",
            "val_auroc": {k: val_auroc[k] for k in BASELINES},
            "auroc_difference": d_auc, "auroc_difference_ci": list(metrics.percentile_ci(boots)),
            **fa,
            "student_better_auroc": bool(d_auc > 0),
            "student_fewer_false_alarms": bool(fa["false_alarms_per_patient_day_difference"]
                                               is not None and
                                               fa["false_alarms_per_patient_day_difference"] < 0)}


def artifact_free_test(cohort: Cohort, cfg: dict) -> Cohort | None:
    """The simulated test patients again with `artifact_scale = 0` (same physiology,
    noise and gaps: the simulator draws artifacts from their own generator), or None
    when the cohort is not simulated or has no artifacts."""
    import dataclasses
    import re
    from bedside.sources.simulator import SimConfig, simulate_patient
    sim = (cfg.get("data") or {}).get("sim")
    if cohort.source not in ("simulate", "simulated") or not sim or \
            not float(sim.get("artifact_scale", 1.0)):
        return None
    scfg = SimConfig.from_dict({**sim, "artifact_scale": 0.0})
    raw = cohort.raw.copy()
    for i in cohort.indices("test"):
        m = re.fullmatch(r"sim(-?\d+)-(\d+)", str(cohort.pid[i]))
        if not m:
            return None
        p = simulate_patient(int(m.group(1)), int(m.group(2)), scfg)
        if len(p.raw) != cohort.offsets[i + 1] - cohort.offsets[i]:
            return None
        raw[cohort.offsets[i]:cohort.offsets[i + 1]] = p.raw
    return dataclasses.replace(cohort, raw=raw)


def artifact_effect(run_dir: Path, cohort: Cohort, cfg: dict, test: dict, y, pidx, ends,
                    n_boot: int, seed: int) -> dict | None:
    """The Student's AUROC and alarm burden at the device's alarm on the test patients
    with and without the simulated monitor artifacts."""
    clean = artifact_free_test(cohort, cfg)
    if clean is None:
        return None
    x0, y0, p0, e0 = _windows(clean, cfg, "test")
    assert np.array_equal(y0, y) and np.array_equal(p0, pidx) and np.array_equal(e0, ends)
    m = models.load(RunPaths(run_dir).student_model)
    probs = {"with": test["student_kd"], "without": tfutil.predict_int8(m, x0)[:, 0]}
    out = {"model": "student_kd", "operating_point": "device alarm (validation)"}
    for k, p in probs.items():
        b, _ = burden.burden(y, p, pidx, ends, cohort.onset[pidx], cfg["alarm"],
                             int(cfg["window"]["stride"]), n_boot, seed)
        out[k] = {"auroc": metrics.auroc(y, p), **b}
    return out


def targets(res: dict) -> list[dict]:
    """The issue's targets on the default simulated cohort, each with pass/fail."""
    a = {k: (res["models"][k]["auroc"] or float("nan")) for k in MODELS}
    p = {k: res["models"][k]["params"] for k in MODEL_DIRS}
    sk = res["models"]["student_kd"]
    vs = res["versus_strongest_baseline"]
    best_base = max(a[b] for b in BASELINES)
    rows = [
        ("student_kd AUROC >= 0.97 x teacher", a["student_kd"] >= 0.97 * a["teacher"],
         f"{a['student_kd']:.4f} vs {0.97 * a['teacher']:.4f}"),
        ("student_kd AUROC >= student_scratch", a["student_kd"] >= a["student_scratch"],
         f"{a['student_kd']:.4f} vs {a['student_scratch']:.4f}"),
        ("teacher clearly above every baseline (AUROC +0.05)",
         a["teacher"] >= best_base + 0.05, f"{a['teacher']:.4f} vs {best_base:.4f}"),
        (f"student_kd AUROC above the strongest baseline ({vs['baseline']}, by validation "
         "AUROC), CI of the difference above 0", vs["auroc_difference_ci"][0] > 0,
         f"{vs['auroc_difference']:+.4f} [{vs['auroc_difference_ci'][0]:+.4f}, "
         f"{vs['auroc_difference_ci'][1]:+.4f}]"),
        (f"student_kd fewer false alarms/patient-day than {vs['baseline']} at equal event "
         "sensitivity", vs["student_fewer_false_alarms"],
         _fmt_diff(vs["false_alarms_per_patient_day_difference"],
                   vs["false_alarms_per_patient_day_difference_ci"])),
        ("student params <= teacher / 50", p["student_kd"] * 50 <= p["teacher"],
         f"{p['student_kd']} vs {p['teacher'] / 50:.0f}"),
        ("student int8 weights <= 32 KB", sk["weight_bytes"] <= 32 * 1024,
         f"{sk['weight_bytes']} B"),
        ("student activations <= 8 KB", sk["activation_bytes"] <= 8 * 1024,
         f"{sk['activation_bytes']} B"),
    ]
    return [{"target": t, "pass": bool(ok), "value": v} for t, ok, v in rows]


def _fmt_diff(v, ci) -> str:
    if v is None:
        return "n/a"
    return f"{v:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def physionet_utility(run_dir: Path, cohort: Cohort, cfg: dict, val: dict, yv) -> dict:
    """PhysioNet/CinC 2019 normalized utility (bedside.training.utility) of the test patients from
    each model's alarm decisions: every window of the stay (also after onset) runs through
    the alarm hysteresis, then maps to hourly rows. student_kd uses the run's alarm
    (config `alarm`, what the device runs); teacher and student_scratch get thresholds
    chosen the same way on their own validation outputs."""
    from bedside.contract.alarm import Alarm
    from .distill import choose_alarm
    from .utility import hourly_predictions, labels_from_onset, normalized_utility, psv_labels
    win, pers = cfg["window"], dataset.personalization(cfg)
    alarms = {"student_kd": cfg["alarm"]}
    for k in ("teacher", "student_scratch"):
        alarms[k] = choose_alarm(yv, val[k], cfg["alarm_policy"], f"val/{k}")
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
    for k in STUDENTS:
        m = models.load(RunPaths(run_dir).keras_model(MODEL_DIRS[k]))
        probs[k] = tfutil.predict_int8(m, x)[:, 0] if len(x) else np.zeros(0)
    probs["teacher"] = teacher_probs(run_dir, cohort, cfg, pidx, all_ends)
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
    cohort = Cohort.load(RunPaths(run_dir).cohort)
    ecfg = cfg["evaluate"]
    rate, n_boot = float(ecfg["alarm_rate"]), int(ecfg["bootstrap"])
    stride = int(cfg["window"]["stride"])
    logistic, logistic_info = fit_logistic(cohort, cfg, seed)
    test, y, pidx, ends = _predict(run_dir, cohort, cfg, "test", logistic)
    val, yv, pv, ev = _predict(run_dir, cohort, cfg, "val", logistic)
    # scores are not probabilities: Platt-scale them on validation to report Brier/ECE
    probs = dict(test)
    platt = {}
    for b in baselines.SCORES:
        platt[b] = baselines.platt_fit(val[b], yv)
        probs[b] = baselines.platt_apply(test[b], platt[b])
    costs = model_costs(run_dir, logistic_info["features"])
    student = models.load(RunPaths(run_dir).student_model)
    costs["student_kd"]["activation_bytes"] = models.max_activation_bytes(student)

    onset = cohort.onset[pidx]
    ops = operating_points(cfg, val, yv, pv)
    burden_res, rows = alarm_burden(test, y, pidx, ends, onset, ops, stride, n_boot, seed)
    val_auroc = {k: metrics.auroc(yv, val[k]) for k in MODELS}

    rapid = cohort.rapid_map_drop[pidx] | (onset < 0)
    atyp = cohort.atypical_baseline[pidx]
    full = ends >= int(cfg["teacher"]["context"]) - 1
    res = {"split": "test", "n_patients": int(len(np.unique(pidx))), "alarm_rate": rate,
           "bootstrap": n_boot, "horizon_min": int(cfg["horizon_min"]),
           "window": cfg["window"], "threshold_source": "validation", "platt": platt,
           "logistic": logistic_info, "val_auroc": val_auroc, "models": {}, "subgroups": {},
           "alarm_burden": {"event_sensitivity_target":
                            float(ecfg.get("event_sensitivity", 0.9)),
                            "models": burden_res}}
    for k in MODELS:
        res["models"][k] = {**_metrics(y, probs[k], pidx, rate, n_boot, seed), **costs[k]}
    for sub, mask in (("rapid_map_drop", rapid), ("atypical_baseline", atyp),
                      ("full_context", full)):
        res["subgroups"][sub] = {
            k: _metrics(y[mask], probs[k][mask], pidx[mask], rate, n_boot, seed) for k in MODELS}
    res["versus_strongest_baseline"] = versus_strongest_baseline(
        val_auroc, y, test, pidx, rows, stride, n_boot, seed)
    test_floor = floor_burden.records(cohort, cohort.indices("test"), cfg)
    res["alarm_burden"]["endpoint"], ep_rows = endpoint_burden(
        cohort, cfg, val, test, yv, pv, ev, y, pidx, ends, n_boot, seed, test_floor)
    res["goals"] = goals.compute(res["alarm_burden"]["endpoint"], ep_rows, None, stride,
                                 n_boot, seed)
    res["targets"] = targets(res)
    sf = floor_burden.evaluate(cohort, cfg, n_boot, seed, test_floor)
    if sf is not None:
        res["safety_floor"] = sf
    art = artifact_effect(run_dir, cohort, cfg, test, y, pidx, ends, n_boot, seed)
    if art:
        res["artifacts"] = art
    if cohort.source == "physionet":
        res["physionet_utility"] = physionet_utility(run_dir, cohort, cfg, val, yv)
    res["_arrays"] = {"y": y, "probs": probs, "pidx": pidx}
    return res
