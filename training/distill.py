"""Knowledge distillation of the tiny Student from the Teacher, and the no-KD baseline.

Loss on a window with label y, Student logit z_s, Teacher logit z_t (binary Hinton KD):
  (1 - alpha) * BCE(y, sigmoid(z_s))
  + alpha * T^2 * BCE(sigmoid(z_t / T), sigmoid(z_s / T))       # soft targets
  + beta * || a_s / |a_s| - a_t / |a_t| ||^2 / K                   # attention transfer
where a_s[k] = mean_c F[k, c]^2 is the Student's temporal activation map (Zagoruyko &
Komodakis 2017) over its 12 five-minute steps, averaged to the Teacher's token length
(K = 60 min / patch), and a_t the Teacher's attention-pooling weights over its K most
recent tokens, i.e. the same hour. alpha = 0 or beta = 0 switches a term off;
`student_scratch` is alpha = beta = 0 with the same initialisation and epochs.

`attention_focus = "map_drop"` puts the transfer on critical moments: the Teacher's
attention is re-weighted by the MAP-drop saliency s_k of each 10-minute token of the
Student's hour (s_k = how far the token's mean MAP lies below the highest earlier token
mean of the hour, in population spreads) as a_t * (1 + s / 0.25), renormalised, and each
window's attention term is weighted by min(max_k s_k / 0.25, 1) (hours without a MAP
drop hardly count). `"uniform"` is the plain term.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bedside.sources import windows as dataset
from bedside.training import endpoint, metrics, models, tfutil
from bedside.sources.cohort import Cohort
from .train import subsample
from bedside.rundir import RunPaths

FOCUS = ("uniform", "map_drop")
SALIENCY_SPREAD = 0.25        # MAP drop (population spreads, 3.5 mmHg) of full weight
MAP_CHANNEL = 3


def map_drop_saliency(x_q: np.ndarray, steps: int) -> np.ndarray:
    """[N, steps] MAP-drop saliency of int8 Student windows [N, L, C]: per token, the
    drop of its mean MAP below the highest earlier token mean, in spreads."""
    m = np.asarray(x_q[..., MAP_CHANNEL], np.float32) / 32.0
    m = m.reshape(len(m), steps, -1).mean(-1)
    return np.maximum(np.maximum.accumulate(m, axis=1) - m, 0.0).astype(np.float32)


def attention_targets(a_t: np.ndarray, x_q: np.ndarray, focus: str) -> np.ndarray:
    """[N, K + 1]: the attention target (sums to 1) and the window's weight."""
    if focus not in FOCUS:
        raise ValueError(f"distill.attention_focus {focus!r}: use one of {', '.join(FOCUS)}")
    if focus == "uniform":
        return np.concatenate([a_t, np.ones((len(a_t), 1), np.float32)], 1)
    s = map_drop_saliency(x_q, a_t.shape[1])
    a = a_t * (1.0 + s / SALIENCY_SPREAD)
    a = a / np.maximum(a.sum(1, keepdims=True), 1e-12)
    w = np.minimum(s.max(1, keepdims=True) / SALIENCY_SPREAD, 1.0)
    return np.concatenate([a, w], 1).astype(np.float32)


def teacher_targets(teacher, cohort: Cohort, pidx, ends, context: int, steps: int,
                    personalization: dict | None = None):
    """Teacher logits [N] and attention over the Student's `steps` tokens [N, steps]."""
    p_all, a_all = [], []
    for lo in range(0, len(ends), 4096):
        xt = dataset.teacher_windows(cohort, pidx[lo:lo + 4096], ends[lo:lo + 4096], context,
                                     personalization)
        p, a = tfutil.predict_int8(teacher, xt)
        p_all.append(p[:, 0])
        a_all.append(a[:, -steps:])
    p = np.clip(np.concatenate(p_all), 1e-6, 1 - 1e-6)
    a = np.concatenate(a_all)
    a = a / np.maximum(a.sum(1, keepdims=True), 1e-12)
    return np.log(p / (1 - p)).astype(np.float32), a.astype(np.float32)


def shared_teacher_targets(run_dir: Path, teacher, cohort: Cohort, pidx, ends, context: int,
                           steps: int, personalization: dict | None = None):
    """teacher_targets, computed once per Teacher and set of windows and kept in
    RUN_DIR/teacher/targets/ (keyed by the Teacher file's and the windows' hashes), so
    `bedside distill` and every seed and arm of `bedside study` share one Teacher pass."""
    import hashlib
    import json
    from bedside.fileio import atomic_file
    model = hashlib.sha256(RunPaths(run_dir).teacher_model.read_bytes()).hexdigest()[:12]
    h = hashlib.sha256()
    for a in (np.asarray(pidx, np.int64), np.asarray(ends, np.int64)):
        h.update(a.tobytes())
    h.update(json.dumps([context, steps, personalization], sort_keys=True).encode())
    folder = run_dir / "teacher" / "targets"
    path = folder / f"{model}-{h.hexdigest()[:16]}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return z["logits"], z["attention"]
    z_t, a_t = teacher_targets(teacher, cohort, pidx, ends, context, steps, personalization)
    for old in folder.glob("*.npz"):           # targets of an earlier Teacher
        if not old.name.startswith(model):
            old.unlink()
    with atomic_file(path) as f:
        np.savez(f, logits=z_t, attention=a_t)
    return z_t, a_t


def _losses(tf, alpha: float, temperature: float, teacher_steps: int):
    def logit_loss(y_true, z_s):
        y = y_true[:, 0:1]
        z_t = y_true[:, 1:2]
        hard = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z_s)
        soft_t = tf.sigmoid(z_t / temperature)
        soft = tf.nn.sigmoid_cross_entropy_with_logits(labels=soft_t, logits=z_s / temperature)
        return tf.reduce_mean((1.0 - alpha) * hard + alpha * temperature ** 2 * soft, axis=-1)

    def attention_loss(target, fmap):
        a_t, w = target[:, :teacher_steps], target[:, teacher_steps]       # attention_targets
        a_s = tf.reduce_mean(tf.square(fmap), axis=-1)                     # [B, 12]
        a_s = tf.reduce_mean(tf.reshape(a_s, (-1, teacher_steps, a_s.shape[1] // teacher_steps)),
                             axis=-1)                                         # [B, K]
        a_s = a_s / (tf.norm(a_s, axis=-1, keepdims=True) + 1e-6)
        a_t = a_t / (tf.norm(a_t, axis=-1, keepdims=True) + 1e-6)
        return w * tf.reduce_mean(tf.square(a_s - a_t), axis=-1)

    return logit_loss, attention_loss


def train_student(x_q, y, z_t, a_t, scfg: dict, dcfg: dict, seed: int, title: str,
                  strategy_name: str = "default", verbose: bool = True, weights=None):
    """Train one Student; returns the inference model (x -> prob). `a_t` [N, K]: the
    Teacher's attention over the Student's hour (focused by `dcfg["attention_focus"]`)."""
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(seed)            # same initialisation for KD and scratch
    alpha, beta = float(dcfg["alpha"]), float(dcfg["beta"])
    strategy = tfutil.get_strategy(strategy_name)
    with strategy.scope():
        train_model, infer = models.build_student(
            x_q.shape[-1], scfg["length"], tuple(scfg["filters"]), scfg["dense"])
        steps = math.ceil(len(x_q) / scfg["batch"])
        lr = keras.optimizers.schedules.CosineDecay(scfg["lr"], max(1, steps * scfg["epochs"]))
        logit_loss, attention_loss = _losses(tf, alpha, float(dcfg["temperature"]),
                                             a_t.shape[1])
        a_target = attention_targets(a_t, x_q, dcfg.get("attention_focus", "uniform"))
        train_model.compile(optimizer=keras.optimizers.Adam(lr),
                            loss=[logit_loss, attention_loss], loss_weights=[1.0, beta])
    targets = (np.stack([y.astype(np.float32), z_t], 1), a_target)
    ds = tfutil.int8_dataset(tf, x_q, targets, scfg["batch"], shuffle_seed=seed, weights=weights)
    cb = [tfutil.progress_callback(title, scfg["epochs"], steps)] if verbose else []
    train_model.fit(ds, epochs=scfg["epochs"], verbose=0, callbacks=cb)
    return infer


def choose_alarm(y_val, p_val, acfg: dict, chosen_on: str = "val/student") -> dict:
    """Alarm thresholds from the validation split: `threshold` is the highest probability
    that still flags `target_sensitivity` of the positive validation windows,
    `off_threshold` the one at `off_sensitivity` (lower, so the alarm has hysteresis)."""
    on = metrics.threshold_at_sensitivity(y_val, p_val, acfg["target_sensitivity"])
    off = metrics.threshold_at_sensitivity(y_val, p_val, acfg["off_sensitivity"])
    return {"threshold": float(on), "off_threshold": float(min(off, on)),
            "min_duration": int(acfg["min_duration"]),
            "target_sensitivity": acfg["target_sensitivity"],
            "off_sensitivity": acfg["off_sensitivity"], "chosen_on": chosen_on}


def distill(run_dir: Path, cfg: dict, seed: int, strategy_name: str = "default",
            verbose: bool = True) -> tuple[dict, dict]:
    """Train student (KD) and student_scratch; save both; return (metrics, alarm)."""
    win, horizon = cfg["window"], int(cfg["horizon_min"])
    scfg, dcfg, tcfg = cfg["student"], cfg["distill"], cfg["teacher"]
    paths = RunPaths(run_dir)
    cohort = Cohort.load(paths.cohort)
    teacher = models.load(paths.teacher_model)
    pz = dataset.personalization(cfg)         # the Student sees what the device feeds it
    x, y, pidx, ends = dataset.split_windows(cohort, "train", win["length"], win["stride"], horizon,
                                             pz)
    # negatives subsampled and re-weighted by 1 / neg_keep: unbiased loss, less compute
    sel = subsample(y, scfg["neg_keep"], seed)
    x, y, pidx, ends = x[sel], y[sel], pidx[sel], ends[sel]
    w = np.where(y > 0, 1.0, 1.0 / scfg["neg_keep"]).astype(np.float32)
    steps = win["length"] // tcfg["patch"]      # Teacher tokens covering the Student window
    z_t, a_t = shared_teacher_targets(run_dir, teacher, cohort, pidx, ends, tcfg["context"],
                                      steps, pz)

    kd = train_student(x, y, z_t, a_t, scfg, dcfg, seed, "student (KD)", strategy_name,
                       verbose, w)
    scratch = train_student(x, y, z_t, a_t, scfg, {**dcfg, "alpha": 0.0, "beta": 0.0}, seed,
                            "student (scratch)", strategy_name, verbose, w)
    tfutil.save_model(kd, paths.student_model)
    tfutil.save_model(scratch, paths.scratch_model)

    xv, yv, pv, ev = dataset.split_windows(cohort, "val", win["length"], win["stride"], horizon,
                                           pz)
    p_kd = tfutil.predict_int8(kd, xv)[:, 0]
    p_sc = tfutil.predict_int8(scratch, xv)[:, 0]
    zv, _ = teacher_targets(teacher, cohort, pv, ev, tcfg["context"], steps, pz)
    # the deployed alarm: fewest validation false alarms of the device (model alarm or
    # safety floor) at the evaluation's event sensitivity (training/endpoint.py)
    alarm = endpoint.choose_device_alarm(cohort, cfg, p_kd, yv, pv, ev)
    out = {"train_windows": int(len(x)), "train_positives": int(y.sum()),
           "val_auroc": {"student_kd": metrics.auroc(yv, p_kd),
                         "student_scratch": metrics.auroc(yv, p_sc),
                         "teacher": metrics.auroc(yv, 1 / (1 + np.exp(-zv)))},
           "student_params": int(kd.count_params()),
           "student_int8_weight_bytes": models.int8_weight_bytes(kd),
           "student_max_activation_bytes": models.max_activation_bytes(kd),
           "student_macs": models.count_macs(kd)}
    return out, alarm
