"""Clinical baselines on the same windows: NEWS2 and current MAP (numpy only).

Both read the last sample of each window after the kit's imputation (carry forward up to
the carry limit, else the signal's centre), i.e. what the bedside monitor shows.
NEWS2 (Royal College of Physicians 2017): respiration rate, SpO2 scale 1, SBP, pulse,
temperature; consciousness and supplemental oxygen are unknown here and scored as
"alert" and "on air" (0 points). Probabilities for Brier/ECE come from Platt scaling fit
on the validation split (`platt_fit`).
"""
from __future__ import annotations

import numpy as np

from bedside.contract import preprocess
from .simulator import HR, MAP, RR, SBP, SPO2, TEMP


def _bands(x, edges, points):
    """points[i] for edges[i-1] < x <= edges[i] (edges ascending, last band open)."""
    return np.asarray(points)[np.searchsorted(np.asarray(edges), x, side="left")]


def news2(values: np.ndarray) -> np.ndarray:
    """NEWS2 from imputed raw values [N, 7] (temperature in 0.1 degC)."""
    v = np.asarray(values, dtype=np.float64)
    rr = _bands(v[:, RR], [8, 11, 20, 24], [3, 1, 0, 2, 3])
    spo2 = _bands(v[:, SPO2], [91, 93, 95], [3, 2, 1, 0])
    sbp = _bands(v[:, SBP], [90, 100, 110, 219], [3, 2, 1, 0, 3])
    hr = _bands(v[:, HR], [40, 50, 90, 110, 130], [3, 1, 0, 1, 2, 3])
    temp = _bands(v[:, TEMP], [350, 360, 380, 390], [3, 1, 0, 1, 2])
    return (rr + spo2 + sbp + hr + temp).astype(np.float64)


def window_end_values(cohort, patient_idx: np.ndarray, end_idx: np.ndarray) -> np.ndarray:
    """Imputed raw values [N, 7] at each window's last sample."""
    out = np.zeros((len(end_idx), 7), dtype=np.int32)
    for i in np.unique(patient_idx):
        m = patient_idx == i
        out[m] = preprocess.impute(cohort.stream(int(i)))[end_idx[m]]
    return out


def scores(cohort, patient_idx, end_idx) -> dict[str, np.ndarray]:
    """Risk scores (higher = riskier): NEWS2 and minus the current MAP."""
    v = window_end_values(cohort, patient_idx, end_idx)
    return {"news2": news2(v), "current_map": -v[:, MAP].astype(np.float64)}


def platt_fit(score: np.ndarray, y: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Logistic regression p = sigmoid(a * z + b) on a standardised score (Newton)."""
    s = np.asarray(score, np.float64)
    mu, sd = s.mean(), s.std() + 1e-9
    z = (s - mu) / sd
    y = np.asarray(y, np.float64)
    w = np.zeros(2)
    X = np.stack([z, np.ones_like(z)], 1)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(X @ w)))
        g = X.T @ (p - y)
        h = (X * (p * (1 - p))[:, None]).T @ X + 1e-6 * np.eye(2)
        w -= np.linalg.solve(h, g)
    return float(w[0] / sd), float(w[1] - w[0] * mu / sd)


def platt_apply(score: np.ndarray, ab: tuple[float, float]) -> np.ndarray:
    return 1 / (1 + np.exp(-(ab[0] * np.asarray(score, np.float64) + ab[1])))
