"""Discrimination and calibration metrics (scikit-learn) and patient-bootstrap CIs.

AUROC, AUPRC (average precision; ties are one threshold, not broken by window order),
Brier score and the calibration curve come from scikit-learn; this module adds the
degenerate cases (one class only -> NaN), the expected calibration error on the same
bins, operating points and the patient bootstrap.
"""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve


def _both_classes(y) -> bool:
    y = np.asarray(y).astype(bool)
    return 0 < int(y.sum()) < len(y)


def auroc(y, s) -> float:
    """Area under the ROC curve (ties count one half)."""
    return float(skm.roc_auc_score(np.asarray(y).astype(bool), np.asarray(s, np.float64))) \
        if _both_classes(y) else float("nan")


def auprc(y, s) -> float:
    """Average precision: area under the step-wise precision-recall curve."""
    y = np.asarray(y).astype(bool)
    if y.sum() == 0:
        return float("nan")
    return float(skm.average_precision_score(y, np.asarray(s, np.float64)))


def brier(y, p) -> float:
    return float(skm.brier_score_loss(np.asarray(y).astype(int), np.asarray(p, np.float64)))


def calibration(y, p, bins: int = 10):
    """(mean predicted, observed frequency, fraction of windows) per non-empty
    equal-width bin (sklearn.calibration.calibration_curve's bins)."""
    y, p = np.asarray(y).astype(int), np.clip(np.asarray(p, np.float64), 0.0, 1.0)
    if len(y) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    frac_pos, mean_pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.searchsorted(edges[1:-1], p)              # the same bins as calibration_curve
    counts = np.bincount(idx, minlength=bins)
    return mean_pred, frac_pos, counts[counts > 0] / len(p)


def ece(y, p, bins: int = 10) -> float:
    """Expected calibration error: sum over bins of weight x |predicted - observed|."""
    mean_pred, frac_pos, weight = calibration(y, p, bins)
    return float(np.sum(weight * np.abs(mean_pred - frac_pos)))


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
    """(false-positive rate, sensitivity)."""
    if not _both_classes(y):
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    fp, tp, _ = skm.roc_curve(np.asarray(y).astype(bool), np.asarray(s, np.float64))
    return fp, tp


def pr_curve(y, s):
    """(recall, precision)."""
    if not _both_classes(y):
        return np.array([0.0]), np.array([1.0])
    pr, rc, _ = skm.precision_recall_curve(np.asarray(y).astype(bool), np.asarray(s, np.float64))
    return rc, pr


def patient_weights(groups, n_boot: int, seed: int):
    """Yield `n_boot` weight vectors [N]: how often window i's patient was drawn in a
    bootstrap resample of whole patients (the same as repeating the drawn patients'
    windows). Windows of one patient are correlated, so a window bootstrap would give
    too narrow intervals."""
    groups = np.asarray(groups)
    uniq, inv = np.unique(groups, return_inverse=True)
    rng = np.random.default_rng([int(seed), 0xB007])
    for _ in range(n_boot):
        yield np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))[inv]


def patient_resamples(groups, n_boot: int, seed: int):
    """Yield `n_boot` index arrays, each a resample of whole patients (with repeats)."""
    for w in patient_weights(groups, n_boot, seed):
        yield np.repeat(np.arange(len(w)), w)


class Ranked:
    """Scores sorted once, so AUROC / average precision under many bootstrap weightings
    cost O(N) each. Equal to scikit-learn's roc_auc_score / average_precision_score with
    `sample_weight` (tests/test_training_metrics.py)."""

    def __init__(self, y, s):
        s = np.asarray(s, np.float64)
        self.order = np.argsort(-s, kind="mergesort")
        self.pos = np.asarray(y).astype(bool)[self.order]
        ss = s[self.order]
        self.last = np.concatenate([np.flatnonzero(ss[1:] != ss[:-1]), [len(ss) - 1]]) \
            if len(ss) else np.zeros(0, int)

    def _counts(self, w):
        w = np.asarray(w, np.float64)[self.order]
        return np.cumsum(w * self.pos)[self.last], np.cumsum(w * ~self.pos)[self.last]

    def auroc(self, w) -> float:
        tp, fp = self._counts(w)
        if not len(tp) or tp[-1] <= 0 or fp[-1] <= 0:
            return float("nan")
        x, y = np.concatenate([[0], fp / fp[-1]]), np.concatenate([[0], tp / tp[-1]])
        return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))

    def auprc(self, w) -> float:
        tp, fp = self._counts(w)
        if not len(tp) or tp[-1] <= 0:
            return float("nan")
        precision = tp / np.maximum(tp + fp, 1e-12)
        return float(np.sum(np.diff(np.concatenate([[0], tp / tp[-1]])) * precision))


def percentile_ci(vals, level: float = 0.95) -> tuple[float, float]:
    vals = np.asarray([v for v in vals if v is not None and np.isfinite(v)], np.float64)
    if len(vals) == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def bootstrap_ci(metric: str, y, s, groups, n_boot: int = 200, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of `metric` ("auroc" or "auprc") over patient bootstrap resamples."""
    r = Ranked(y, s)
    fn = getattr(r, metric)
    return percentile_ci([fn(w) for w in patient_weights(groups, n_boot, seed)], level)
