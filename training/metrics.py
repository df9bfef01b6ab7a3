"""Discrimination and calibration metrics in numpy (no scikit-learn needed)."""
from __future__ import annotations

import numpy as np


def auroc(y, s) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average rank over ties
    bounds = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(s)]])
    avg = (starts + stops - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, stops - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def auprc(y, s) -> float:
    """Average precision (step-wise area under the precision-recall curve)."""
    y = np.asarray(y).astype(bool)
    if y.sum() == 0:
        return float("nan")
    order = np.argsort(-np.asarray(s, dtype=np.float64), kind="mergesort")
    tp = np.cumsum(y[order])
    precision = tp / np.arange(1, len(y) + 1)
    return float(np.sum(precision[y[order]]) / y.sum())


def brier(y, p) -> float:
    return float(np.mean((np.asarray(p, np.float64) - np.asarray(y, np.float64)) ** 2))


def ece(y, p, bins: int = 10) -> float:
    """Expected calibration error, equal-width probability bins."""
    y = np.asarray(y, np.float64)
    p = np.asarray(p, np.float64)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            err += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(err)


def sensitivity_at_alarm_rate(y, s, rate: float) -> float:
    """Fraction of positive windows flagged when the top `rate` of all windows alarm."""
    y = np.asarray(y).astype(bool)
    if y.sum() == 0:
        return float("nan")
    thr = np.quantile(np.asarray(s, np.float64), 1.0 - rate)
    return float(np.mean(np.asarray(s)[y] >= thr))


def threshold_at_sensitivity(y, p, sensitivity: float) -> float:
    """Highest threshold whose sensitivity (p >= thr on positives) is >= target."""
    pos = np.sort(np.asarray(p, np.float64)[np.asarray(y).astype(bool)])[::-1]
    if len(pos) == 0:
        return 0.5
    k = int(np.ceil(sensitivity * len(pos))) - 1
    return float(pos[min(max(k, 0), len(pos) - 1)])


def roc_curve(y, s):
    y = np.asarray(y).astype(bool)
    order = np.argsort(-np.asarray(s, np.float64), kind="mergesort")
    tp = np.concatenate([[0], np.cumsum(y[order])]) / max(y.sum(), 1)
    fp = np.concatenate([[0], np.cumsum(~y[order])]) / max((~y).sum(), 1)
    return fp, tp


def pr_curve(y, s):
    y = np.asarray(y).astype(bool)
    order = np.argsort(-np.asarray(s, np.float64), kind="mergesort")
    tp = np.cumsum(y[order])
    return tp / max(y.sum(), 1), tp / np.arange(1, len(y) + 1)


def bootstrap_ci(metric, y, s, groups, n_boot: int = 200, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile CI by resampling patients (`groups`), not windows: windows of one
    patient are correlated, so a window bootstrap would be too narrow."""
    y, s, groups = np.asarray(y), np.asarray(s), np.asarray(groups)
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    rng = np.random.default_rng([int(seed), 0xB007])
    vals = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[g] for g in pick])
        v = metric(y[idx], s[idx])
        if np.isfinite(v):
            vals.append(v)
    if not vals:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))
