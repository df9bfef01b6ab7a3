"""Windows for training and evaluation, built with bedside.contract.preprocess exactly (numpy only).

`window_dataset(run_dir, split)` -> (x_q int8 [N, L, C], y int8 [N], patient_idx [N],
end_idx [N]): the int8 windows the device would feed the Student (window k of a patient
ends at sample end_idx and covers the L samples up to it), labels "event starts within the
next H minutes", the cohort index of the patient and the window's last sample. Windows
that end at or after an event's onset are left out (cohort.window_labels). The Keras
input is `preprocess.to_model_input(x_q)`.

`teacher_windows` adds the Teacher's longer context and privileged channels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bedside.contract import preprocess
from bedside.rundir import RunPaths
from bedside.contract.signals import INPUT_SCALE_INV, MISSING, TABLE

from bedside import runinfo
from .cohort import Cohort, window_labels

N_PRIVILEGED_FEATURES = 2      # lactate (carried forward), lactate-ever-measured flag
ADMITTED = 127                 # last Teacher channel: sample after admission (else 0)
LACTATE_CENTER_MMOL = 1.5      # privileged feature = (lactate - 1.5) / 2 mmol/L
LACTATE_SPREAD_MMOL = 2.0


def personalization(cfg: dict) -> dict | None:
    """The run's checked personalization settings (config `personalization`), None = off."""
    from bedside.contract.personalize import normalize
    return normalize(cfg.get("personalization"))


def split_windows(cohort: Cohort, split: str, length: int, stride: int, horizon: int,
                  personalization: dict | None = None):
    """Student windows of one split: (x_q, y, patient_idx, end_idx); `personalization`
    (checked settings, None = off) applies the device's per-patient re-centring."""
    xs, ys, ps, es = [], [], [], []
    for i in cohort.indices(split):
        raw = cohort.stream(i)
        q = preprocess.preprocess_stream(raw, personalization)
        ends = preprocess.window_ends(len(raw), length, stride)
        y, keep = window_labels(int(cohort.onset[i]), ends, horizon)
        if not keep.any():
            continue
        xs.append(preprocess.windows(q, length, stride)[keep])
        ys.append(y[keep])
        ps.append(np.full(int(keep.sum()), i, dtype=np.int64))
        es.append(ends[keep])
    if not xs:
        c = TABLE.n
        return (np.zeros((0, length, c), np.int8), np.zeros(0, np.int8),
                np.zeros(0, np.int64), np.zeros(0, np.int64))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ps), np.concatenate(es)


def window_dataset(run_dir: str | Path, split: str):
    """The Student's int8 windows of `split` (train, val, test or all) of a run."""
    cfg = runinfo.config(run_dir)
    cohort = Cohort.load(RunPaths(run_dir).cohort)
    return split_windows(cohort, split, int(cfg["window"]["length"]),
                         int(cfg["window"]["stride"]), int(cfg["horizon_min"]),
                         personalization(cfg))


def privileged_features(priv: np.ndarray) -> np.ndarray:
    """Lactate stream (raw mmol/L*100, MISSING = not drawn) -> int8 [T, 2]: last value
    carried forward without limit (a lab value stays the latest known), and a flag."""
    lac = np.asarray(priv)[:, 0]
    ok = lac != MISSING
    t = np.arange(len(lac))
    last = np.maximum.accumulate(np.where(ok, t, -1))
    val = np.where(last >= 0, lac[np.maximum(last, 0)] / 100.0, LACTATE_CENTER_MMOL)
    q = np.clip(np.rint((val - LACTATE_CENTER_MMOL) / LACTATE_SPREAD_MMOL * INPUT_SCALE_INV),
                -128, 127)
    flag = np.where(last >= 0, INPUT_SCALE_INV, 0)
    return np.stack([q, flag], 1).astype(np.int8)


def teacher_windows(cohort: Cohort, patient_idx: np.ndarray, end_idx: np.ndarray,
                    context: int, personalization: dict | None = None) -> np.ndarray:
    """int8 [N, context, 7 + 2 + 1]: the bedside features over the last `context` samples
    (personalized like the Student's when the run has personalization on, so the Teacher
    sees at least what the Student sees), the privileged features and an "admitted"
    channel (ADMITTED after admission, 0 for the zero padding before it). The Teacher
    masks padded tokens with that channel (models.build_teacher), so it cannot read time
    since admission from the padding."""
    n_feat = TABLE.n + N_PRIVILEGED_FEATURES + 1
    out = np.zeros((len(end_idx), context, n_feat), dtype=np.int8)
    order = np.argsort(patient_idx, kind="stable")
    bounds = np.flatnonzero(np.diff(patient_idx[order])) + 1
    for group in np.split(order, bounds):
        if len(group) == 0:
            continue
        i = int(patient_idx[group[0]])
        raw = cohort.stream(i)
        feats = np.concatenate([preprocess.preprocess_stream(raw, personalization),
                                privileged_features(cohort.privileged_stream(i)),
                                np.full((len(raw), 1), ADMITTED, np.int8)], 1)
        padded = np.concatenate([np.zeros((context - 1, n_feat), np.int8), feats])
        idx = end_idx[group][:, None] + np.arange(context)[None, :]   # in padded coords
        out[group] = padded[idx]
    return out
