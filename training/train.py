"""Teacher training: Transformer encoder on long context + privileged variables.

Used by `bedside train` (training/cmd_train.py). Negative windows are subsampled at rate
`neg_keep` to save compute; the final bias is then shifted by log(neg_keep) so that the
Teacher's probabilities are calibrated for the full window distribution (prior correction).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bedside.sources import windows as dataset
from bedside.training import models, tfutil
from bedside.sources.cohort import Cohort
from .metrics import auroc
from bedside.rundir import RunPaths


def subsample(y: np.ndarray, keep: float, seed: int) -> np.ndarray:
    """Indices of all positives and a `keep` fraction of negatives (sorted)."""
    rng = np.random.default_rng([int(seed), 0x7EAC])
    take = (y > 0) | (rng.random(len(y)) < keep)
    return np.flatnonzero(take)


def train_teacher(run_dir: Path, cfg: dict, seed: int, strategy_name: str = "default",
                  verbose: bool = True) -> dict:
    """Train, save RUN_DIR/teacher/model.keras and return metrics."""
    import tensorflow as tf
    win, horizon = cfg["window"], int(cfg["horizon_min"])
    tcfg = cfg["teacher"]
    cohort = Cohort.load(RunPaths(run_dir).cohort)
    _, y, pidx, ends = dataset.split_windows(cohort, "train", win["length"], win["stride"], horizon)
    sel = subsample(y, tcfg["neg_keep"], seed)
    pz = dataset.personalization(cfg)
    xt = dataset.teacher_windows(cohort, pidx[sel], ends[sel], tcfg["context"], pz)
    yt = y[sel].astype(np.float32)[:, None]

    strategy = tfutil.get_strategy(strategy_name)
    if verbose:
        print(f"strategy: {strategy_name} ({strategy.num_replicas_in_sync} replicas)")
    arch = {k: tcfg[k] for k in ("context", "patch", "d_model", "heads", "layers", "ff", "dropout")}
    with strategy.scope():
        train_model, full_model = models.build_teacher(xt.shape[-1], **arch)
        steps = math.ceil(len(xt) / tcfg["batch"])
        lr = tf.keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, steps * tcfg["epochs"] - steps // 2),
            warmup_target=tcfg["lr"], warmup_steps=max(1, steps // 2))
        train_model.compile(optimizer=tf.keras.optimizers.AdamW(lr, weight_decay=1e-4),
                            loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
    ds = tfutil.int8_dataset(tf, xt, yt, tcfg["batch"], shuffle_seed=seed)
    callbacks = [tfutil.progress_callback("teacher", tcfg["epochs"], steps)] if verbose else []
    if strategy_name == "multiworker":         # Keras 3's fit cannot (training/distributed.py)
        from . import distributed
        history = distributed.fit(
            train_model, tf.keras.losses.BinaryCrossentropy(from_logits=True, reduction=None),
            ds, tcfg["epochs"], strategy, callbacks)
    else:
        history = train_model.fit(ds, epochs=tcfg["epochs"], verbose=0,
                                  callbacks=callbacks).history

    # prior correction for the negative subsampling (see module docstring)
    layer = full_model.get_layer("logit")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + math.log(tcfg["neg_keep"])])

    tfutil.save_model(full_model, RunPaths(run_dir).teacher_model)

    # validation AUROC (all validation windows)
    _, yv, pv, ev = dataset.split_windows(cohort, "val", win["length"], win["stride"], horizon)
    xv = dataset.teacher_windows(cohort, pv, ev, tcfg["context"], pz)
    pr = tfutil.predict_int8(full_model, xv)[0][:, 0] if len(xv) else np.zeros(0)
    return {"train_windows": int(len(xt)), "train_positives": int(yt.sum()),
            "final_loss": float(history["loss"][-1]),
            "val_auroc": auroc(yv, pr), "params": int(full_model.count_params()),
            "macs": models.count_macs(full_model),
            "replicas": int(strategy.num_replicas_in_sync)}
