"""PhysioNet/CinC 2019 normalized utility score, and hourly alarms for it (numpy only).

Follows the challenge's `evaluate_sepsis_score.py` (physionetchallenges/evaluation-2019):
per hourly row t of a patient, with labels already shifted 6 h early (SepsisLabel = 1 from
t_sepsis - 6 h), t_sepsis = first labelled row + 6 and

* septic patient, prediction 1 at t <= t_sepsis - 6: max((t - t_sepsis + 12) / 6, u_fp)
  (0 at 12 h before, 1 at 6 h before, never below u_fp);
  at t_sepsis - 6 < t <= t_sepsis + 3: falls linearly from 1 to 0;
* septic, prediction 0: 0 up to t_sepsis - 6, then falls linearly to min_u_fn = -2 at +3 h;
* non-septic: u_fp = -0.05 per positive row, u_tn = 0 per negative row;
* rows after t_sepsis + 3 h count 0.

The cohort score sums patients and normalizes: (observed - inaction) / (best - inaction),
where inaction predicts 0 everywhere and best predicts 1 on [t_sepsis - 12, t_sepsis + 3]
(septic) and 0 otherwise. So a perfect predictor scores 1, inaction 0, false alarms < 0.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

DT_EARLY, DT_OPTIMAL, DT_LATE = -12, -6, 3      # hours relative to t_sepsis
MAX_U_TP, MIN_U_FN, U_FP, U_TN = 1.0, -2.0, -0.05, 0.0


def patient_utility(labels, predictions) -> float:
    """Total utility of one patient's binary hourly predictions against its labels."""
    labels = np.asarray(labels).astype(int).reshape(-1)
    pred = np.asarray(predictions).astype(int).reshape(-1)
    if labels.shape != pred.shape:
        raise ValueError(f"{len(pred)} predictions for {len(labels)} labelled hours")
    if not np.isin(labels, (0, 1)).all() or not np.isin(pred, (0, 1)).all():
        raise ValueError("labels and predictions must be 0 or 1")
    t = np.arange(len(labels), dtype=float)
    if not labels.any():
        return float(np.where(pred == 1, U_FP, U_TN).sum())
    t_sepsis = float(np.argmax(labels) - DT_OPTIMAL)
    d = t - t_sepsis
    m1 = MAX_U_TP / (DT_OPTIMAL - DT_EARLY)
    m2 = -MAX_U_TP / (DT_LATE - DT_OPTIMAL)
    m3 = MIN_U_FN / (DT_LATE - DT_OPTIMAL)
    early, late = d <= DT_OPTIMAL, (d > DT_OPTIMAL) & (d <= DT_LATE)
    tp = np.where(early, np.maximum(m1 * (d - DT_EARLY), U_FP),
                  np.where(late, m2 * (d - DT_LATE), 0.0))
    fn = np.where(late, m3 * (d - DT_OPTIMAL), 0.0)
    return float(np.where(pred == 1, tp, fn).sum())


def best_predictions(labels) -> np.ndarray:
    """The challenge's best possible predictions: 1 on [t_sepsis - 12, t_sepsis + 3]."""
    labels = np.asarray(labels).astype(int).reshape(-1)
    best = np.zeros(len(labels), dtype=int)
    if labels.any():
        t_sepsis = int(np.argmax(labels)) - DT_OPTIMAL
        best[max(0, t_sepsis + DT_EARLY):min(t_sepsis + DT_LATE + 1, len(labels))] = 1
    return best


def normalized_utility(labels_list, predictions_list) -> dict:
    """Cohort score over patients (lists of per-patient hourly arrays): `utility`
    (normalized; None when best == inaction, e.g. no hours), plus the raw sums."""
    obs = best = inaction = 0.0
    for lab, pred in zip(labels_list, predictions_list, strict=True):
        obs += patient_utility(lab, pred)
        best += patient_utility(lab, best_predictions(lab))
        inaction += patient_utility(lab, np.zeros(len(np.asarray(lab).reshape(-1)), int))
    denom = best - inaction
    return {"utility": None if denom == 0 else float((obs - inaction) / denom),
            "observed": obs, "best": best, "inaction": inaction,
            "patients": len(labels_list)}


def hourly_predictions(ends: np.ndarray, alarm: np.ndarray, n_hours: int) -> np.ndarray:
    """Map per-window alarm states to the challenge's hourly rows: row h (its values land at
    minute 60h and hold to 60h + 59) gets the alarm state after the last window ending at
    or before minute 60h + 59, i.e. using no data of later rows; 0 before the first window."""
    ends, alarm = np.asarray(ends), np.asarray(alarm).astype(int)
    last = np.searchsorted(ends, 60 * np.arange(n_hours) + 59, side="right") - 1
    return np.where(last >= 0, alarm[np.maximum(last, 0)] if len(alarm) else 0, 0).astype(int)


def labels_from_onset(onset_min: int, n_hours: int) -> np.ndarray:
    """Hourly challenge labels rebuilt from an onset in minutes (loader: onset = 60 *
    (first label + 6), clipped to the stay): 1 from onset - 6 h. Exact unless clipped."""
    lab = np.zeros(n_hours, dtype=int)
    if onset_min >= 0:
        lab[max(0, onset_min // 60 + DT_OPTIMAL):] = 1
    return lab


def psv_labels(path: str | Path) -> np.ndarray:
    """The SepsisLabel column of one PhysioNet 2019 .psv file (the challenge's labels)."""
    lines = Path(path).read_text().splitlines()
    j = lines[0].strip().split("|").index("SepsisLabel")
    return np.array([int(float(ln.strip().split("|")[j])) for ln in lines[1:] if ln.strip()],
                    dtype=int)
