"""Alarm burden: what a clinician lives with at one operating point (numpy only).

Each patient's windows run in time order through the device's alarm state machine
(bedside.contract.alarm.Alarm: on / off threshold, `min_duration` windows). An alarm
episode starts at the window where the state turns on; it is *false* when that window
has no event within the horizon (label 0), *true* otherwise. An event is *alarmed* when
the alarm is on at any window ending in the horizon before onset (label-1 windows);
its lead time is onset minus the end of the first such window. Patient-days count the
evaluated windows x stride; `alarm_time_fraction` is the share of windows with the alarm
on (an alarm that stays on raises few episodes but is useless: read both);
`positive_window_coverage` the share of label-1 windows (the horizon before an onset) with
the alarm on. Confidence intervals resample patients.
"""
from __future__ import annotations

import numpy as np

from bedside.contract.alarm import Alarm
from . import metrics


def _patients(pidx):
    """Slices of consecutive windows of one patient (split_windows keeps time order)."""
    pidx = np.asarray(pidx)
    cuts = np.flatnonzero(np.diff(pidx)) + 1
    return list(zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(pidx)]])))


def per_patient(y, p, pidx, ends, onset, alarm: dict) -> dict:
    """Per-patient counts: false / all episodes, windows, windows with the alarm on,
    positive windows and those with the alarm on, event, alarmed, lead (min)."""
    y, p, ends = np.asarray(y), np.asarray(p, np.float64), np.asarray(ends)
    rows = {k: [] for k in ("false", "episodes", "windows", "alarm_windows", "pos_windows",
                            "pos_alarm_windows", "event", "alarmed", "lead")}
    for lo, hi in _patients(pidx):
        a = Alarm(float(alarm["threshold"]), float(alarm["off_threshold"]),
                  int(alarm["min_duration"]))
        on = np.array([a.step(v) for v in p[lo:hi]], dtype=bool)
        start = on & ~np.concatenate([[False], on[:-1]])
        yy = y[lo:hi] > 0
        hit = np.flatnonzero(on & yy)
        rows["false"].append(int((start & ~yy).sum()))
        rows["episodes"].append(int(start.sum()))
        rows["windows"].append(hi - lo)
        rows["alarm_windows"].append(int(on.sum()))
        rows["pos_windows"].append(int(yy.sum()))
        rows["pos_alarm_windows"].append(int((on & yy).sum()))
        rows["event"].append(bool(yy.any()))
        rows["alarmed"].append(bool(len(hit)))
        rows["lead"].append(float(onset[lo] - ends[lo + hit[0]]) if len(hit) else np.nan)
    return {k: np.asarray(v) for k, v in rows.items()}


def summary(r: dict, stride: int) -> dict:
    """Burden figures of per-patient rows (per_patient), no CIs."""
    days = r["windows"].sum() * stride / 1440.0
    events, episodes = int(r["event"].sum()), int(r["episodes"].sum())
    lead = r["lead"][r["alarmed"] & r["event"]]
    return {
        "false_alarms_per_patient_day": float(r["false"].sum() / days) if days else None,
        "event_sensitivity": float(r["alarmed"][r["event"]].mean()) if events else None,
        "median_lead_min": float(np.median(lead)) if len(lead) else None,
        "alarm_precision": float(1 - r["false"].sum() / episodes) if episodes else None,
        "alarm_time_fraction": float(r["alarm_windows"].sum() / r["windows"].sum())
        if r["windows"].sum() else None,
        # window-level sensitivity of the alarm: finer than events alarmed, which a few
        # dozen events make coarse
        "positive_window_coverage": float(r["pos_alarm_windows"].sum() / r["pos_windows"].sum())
        if r["pos_windows"].sum() else None,
    }


def burden(y, p, pidx, ends, onset_of_window, alarm: dict, stride: int, n_boot: int,
           seed: int) -> tuple[dict, dict]:
    """Alarm burden at `alarm` ({threshold, off_threshold, min_duration}) with 95 %
    patient-bootstrap CIs, and the per-patient rows (for paired comparisons).
    `onset_of_window` [N]: the patient's onset (-1 none)."""
    r = per_patient(y, p, pidx, ends, np.asarray(onset_of_window), alarm)
    out = summary(r, stride)
    boots = {k: [] for k in out}
    for idx in metrics.patient_resamples(np.arange(len(r["windows"])), n_boot, seed):
        s = summary({k: v[idx] for k, v in r.items()}, stride)
        for k in out:
            boots[k].append(s[k])
    res = {"patients": int(len(r["windows"])),
           "patient_days": round(float(r["windows"].sum() * stride / 1440.0), 3),
           "events": int(r["event"].sum()), "events_alarmed": int(r["alarmed"][r["event"]].sum()),
           "alarm_episodes": int(r["episodes"].sum()), "false_alarms": int(r["false"].sum()),
           "threshold": float(alarm["threshold"]), "off_threshold": float(alarm["off_threshold"]),
           "min_duration": int(alarm["min_duration"])}
    for k, v in out.items():
        res[k] = v
        res[k + "_ci"] = list(metrics.percentile_ci(boots[k]))
    return res, r


def event_scores(p, pidx, y, min_duration: int) -> np.ndarray:
    """Per event patient, the highest threshold t at which an alarm with on = off = t
    is on at some label-1 window: max over those windows of the minimum of the last
    `min_duration` outputs (the alarm is on exactly when they are all >= t)."""
    p, y = np.asarray(p, np.float64), np.asarray(y) > 0
    out = []
    for lo, hi in _patients(pidx):
        if not y[lo:hi].any():
            continue
        pp = p[lo:hi]
        best = -np.inf
        for k in np.flatnonzero(y[lo:hi]):
            if k + 1 >= min_duration:
                best = max(best, pp[k + 1 - min_duration:k + 1].min())
        out.append(best)
    return np.asarray(out)


def alarm_at_event_sensitivity(p, pidx, y, min_duration: int, sensitivity: float) -> dict:
    """on = off threshold that alarms `sensitivity` of the events (chosen on the split
    given: validation)."""
    s = event_scores(p, pidx, y, min_duration)
    s = s[np.isfinite(s)] if len(s) else s
    thr = metrics.threshold_at_sensitivity(np.ones(len(s)), s, sensitivity) if len(s) else 0.5
    return {"threshold": float(thr), "off_threshold": float(thr),
            "min_duration": int(min_duration), "event_sensitivity": float(sensitivity)}


def compare(rows_a: dict, rows_b: dict, stride: int, n_boot: int, seed: int) -> dict:
    """a - b of false alarms per patient-day and event sensitivity, same patients,
    paired patient-bootstrap CIs."""
    keys = ("false_alarms_per_patient_day", "event_sensitivity")
    sa, sb = summary(rows_a, stride), summary(rows_b, stride)
    out, boots = {}, {k: [] for k in keys}
    for idx in metrics.patient_resamples(np.arange(len(rows_a["windows"])), n_boot, seed):
        ra = summary({k: v[idx] for k, v in rows_a.items()}, stride)
        rb = summary({k: v[idx] for k, v in rows_b.items()}, stride)
        for k in keys:
            if ra[k] is not None and rb[k] is not None:
                boots[k].append(ra[k] - rb[k])
    for k in keys:
        d = None if sa[k] is None or sb[k] is None else sa[k] - sb[k]
        out[k + "_difference"] = d
        out[k + "_difference_ci"] = list(metrics.percentile_ci(boots[k]))
        out[k] = {"student_kd": sa[k], "baseline": sb[k]}
    return out
