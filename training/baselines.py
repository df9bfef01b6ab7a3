"""Clinical and statistical baselines on the same windows as the Student.

* `news2`: NEWS2 (Royal College of Physicians 2017) from the last sample of each window
  after the kit's imputation (what the bedside monitor shows). SpO2 uses scale 2 for
  patients with a prescribed 88-92 % target (hypercapnic respiratory failure; in the
  simulator the COPD baseline, `atypical == LOW_SPO2`), scale 1 otherwise. Supplemental
  oxygen and consciousness are not in the data (neither simulated nor loaded), so every
  patient is scored "on air" and "alert" (0 points).
* `current_map`: minus the current MAP.
* `own_baseline`: untrained deviation from the patient's own baseline, past data only:
  HR rise + MAP fall + RR rise of the mean of the last 15 minutes against the median of
  the first 2 h (of what has been seen so far, before 2 h), each in population spreads.
* `logistic`: scikit-learn logistic regression on 35 summary features of the Student's
  own int8 window (per signal mean, sd, min, max, last 10 min - first 10 min), fit on
  the train split, its regularisation chosen on the validation split.
Scores that are not probabilities get Platt scaling fit on the validation split
(`platt_fit`) for Brier/ECE.
"""
from __future__ import annotations

import numpy as np

from bedside.contract import preprocess
from bedside.contract.signals import SIGNALS
from bedside.sources.simulator import HR, LOW_SPO2, MAP, RR, SBP, SPO2, TEMP

SCORES = ("news2", "current_map", "own_baseline")     # untrained scores
CALIB_MIN = 120          # own-baseline window: the first 2 h, like the device's calibration
RECENT_MIN = 15
LOGISTIC_C = (0.01, 0.1, 1.0)


def _bands(x, edges, points):
    """points[i] for edges[i-1] < x <= edges[i] (edges ascending, last band open)."""
    return np.asarray(points)[np.searchsorted(np.asarray(edges), x, side="left")]


def news2(values: np.ndarray, spo2_scale2=None) -> np.ndarray:
    """NEWS2 from imputed raw values [N, 7] (temperature in 0.1 degC); `spo2_scale2`
    [N] bool selects SpO2 scale 2 (on air: <= 83 -> 3, 84-85 -> 2, 86-87 -> 1)."""
    v = np.asarray(values, dtype=np.float64)
    rr = _bands(v[:, RR], [8, 11, 20, 24], [3, 1, 0, 2, 3])
    spo2 = _bands(v[:, SPO2], [91, 93, 95], [3, 2, 1, 0])
    if spo2_scale2 is not None:
        spo2 = np.where(spo2_scale2, _bands(v[:, SPO2], [83, 85, 87], [3, 2, 1, 0]), spo2)
    sbp = _bands(v[:, SBP], [90, 100, 110, 219], [3, 2, 1, 0, 3])
    hr = _bands(v[:, HR], [40, 50, 90, 110, 130], [3, 1, 0, 1, 2, 3])
    temp = _bands(v[:, TEMP], [350, 360, 380, 390], [3, 1, 0, 1, 2])
    return (rr + spo2 + sbp + hr + temp).astype(np.float64)


def _own_baseline_patient(raw: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Own-baseline deviation score of one patient's windows (past samples only)."""
    sig = (HR, MAP, RR)
    x = np.where(preprocess.valid_mask(raw)[:, sig], raw[:, sig], np.nan).astype(np.float64)
    spread = np.array([SIGNALS[c].spread for c in sig])
    sign = np.array([1.0, -1.0, 1.0])                 # HR rise, MAP fall, RR rise
    out = np.zeros(len(ends))
    full = None
    for k, e in enumerate(ends):
        if e >= CALIB_MIN - 1:
            if full is None:
                full = _nanmedian(x[:CALIB_MIN])
            base = full
        else:
            base = _nanmedian(x[:e + 1])
        now = _nanmean(x[max(0, e - RECENT_MIN + 1):e + 1])
        dev = np.where(np.isnan(now) | np.isnan(base), 0.0, (now - base) / spread * sign)
        out[k] = dev.sum()
    return out


def _nanmedian(a):
    ok = ~np.isnan(a)
    return np.array([np.median(a[ok[:, c], c]) if ok[:, c].any() else np.nan
                     for c in range(a.shape[1])])


def _nanmean(a):
    ok = ~np.isnan(a)
    n = ok.sum(0)
    return np.where(n > 0, np.where(ok, a, 0.0).sum(0) / np.maximum(n, 1), np.nan)


def scores(cohort, patient_idx, end_idx) -> dict[str, np.ndarray]:
    """Untrained risk scores (higher = riskier) of given windows."""
    n = len(end_idx)
    v = np.zeros((n, 7), dtype=np.int32)
    own = np.zeros(n)
    for i in np.unique(patient_idx):
        m = patient_idx == i
        raw = cohort.stream(int(i))
        v[m] = preprocess.impute(raw)[end_idx[m]]
        own[m] = _own_baseline_patient(raw, end_idx[m])
    simulated = cohort.source in ("simulate", "simulated")
    scale2 = cohort.atypical[patient_idx] == LOW_SPO2 if simulated else None
    return {"news2": news2(v, scale2), "current_map": -v[:, MAP].astype(np.float64),
            "own_baseline": own}


def window_features(x_q: np.ndarray) -> np.ndarray:
    """35 summary features of int8 windows [N, L, 7]: per signal mean, sd, min, max and
    (mean of the last 10 samples - mean of the first 10)."""
    x = np.asarray(x_q, np.float32) / 32.0
    trend = x[:, -10:].mean(1) - x[:, :10].mean(1)
    return np.concatenate([x.mean(1), x.std(1), x.min(1), x.max(1), trend], 1)


def fit_logistic(x_train, y_train, w_train, x_val, y_val, seed: int):
    """Logistic regression on window_features; C chosen by validation AUROC.
    Returns (fitted pipeline, {"C": ..., "val_auroc": {C: auroc}})."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from .metrics import auroc
    f_tr, f_va = window_features(x_train), window_features(x_val)
    best, tried = None, {}
    for c in LOGISTIC_C:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000,
                                                                   random_state=seed))
        model.fit(f_tr, y_train, logisticregression__sample_weight=w_train)
        tried[str(c)] = auroc(y_val, model.predict_proba(f_va)[:, 1])
        if best is None or tried[str(c)] > tried[str(best[0])]:
            best = (c, model)
    return best[1], {"C": best[0], "val_auroc": tried, "features": int(f_tr.shape[1])}


def predict_logistic(model, x_q) -> np.ndarray:
    return model.predict_proba(window_features(x_q))[:, 1] if len(x_q) else np.zeros(0)


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
