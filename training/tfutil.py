"""TensorFlow set-up shared by the training stages: seeds, determinism, strategies, progress.

Imported only by the stages that train (it imports TensorFlow on first use).
"""
from __future__ import annotations

import os
from pathlib import Path

STRATEGIES = ("default", "mirrored", "multiworker")


def setup(seed: int, cpu_devices: int = 0, deterministic: bool = True):
    """Seed numpy/python/TF, make ops deterministic and optionally split the CPU into
    `cpu_devices` logical devices (for MirroredStrategy on one machine). Returns tf."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # oneDNN reorders float sums
    import warnings
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    import tensorflow as tf
    if cpu_devices > 1:
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        except RuntimeError:
            # TF already initialised in this process (e.g. `bedside demo`): keep what is there
            pass
    import keras
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return tf


def get_strategy(name: str):
    """tf.distribute strategy by name. `mirrored`: all local GPUs, else all logical CPUs;
    `multiworker`: MultiWorkerMirroredStrategy configured by the TF_CONFIG variable."""
    import tensorflow as tf
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def progress_callback(title: str, epochs: int, steps: int):
    """A Keras callback that draws a rich progress bar over all epochs' batches."""
    import keras
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    class RichProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                     TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
            self.progress.start()
            self.task = self.progress.add_task(title, total=epochs * steps, info="")
            self.epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            self.progress.advance(self.task)

        def on_epoch_end(self, epoch, logs=None):
            info = " ".join(f"{k}={float(v):.4f}" for k, v in (logs or {}).items()
                            if "loss" in k)
            self.progress.update(self.task, completed=(epoch + 1) * steps,
                                 info=f"epoch {epoch + 1}/{epochs} {info}")

        def on_train_end(self, logs=None):
            self.progress.stop()

    return RichProgress()


def int8_dataset(tf, x_q, targets, batch: int, shuffle_seed: int | None, weights=None):
    """tf.data over int8 windows (kept int8 in memory), dequantized per batch (q / 32)."""
    if weights is not None:
        ds = tf.data.Dataset.from_tensor_slices((x_q, targets, weights))
        ds = ds.shuffle(min(len(x_q), 200_000), seed=shuffle_seed) if shuffle_seed is not None else ds
        return ds.batch(batch).map(
            lambda x, y, w: (tf.cast(x, tf.float32) / 32.0, y, w)).prefetch(2)
    ds = tf.data.Dataset.from_tensor_slices((x_q, targets))
    if shuffle_seed is not None:
        ds = ds.shuffle(min(len(x_q), 200_000), seed=shuffle_seed,
                        reshuffle_each_iteration=True)
    ds = ds.batch(batch)
    return ds.map(lambda x, y: (tf.cast(x, tf.float32) / 32.0, y)).prefetch(2)


def predict_int8(model, x_q, batch: int = 1024):
    """Model outputs on int8 windows, dequantized in batches (bounded memory)."""
    import numpy as np
    outs = None
    for lo in range(0, len(x_q), batch):
        xb = np.asarray(x_q[lo:lo + batch], dtype=np.float32) / 32.0
        o = model(xb, training=False)
        o = [np.asarray(t) for t in (o if isinstance(o, (list, tuple)) else [o])]
        outs = [[t] for t in o] if outs is None else [a + [t] for a, t in zip(outs, o)]
    if outs is None:
        return None
    res = [np.concatenate(a) for a in outs]
    return res if len(res) > 1 else res[0]


def save_model(model, path: Path) -> None:
    """Save a Keras model atomically: Keras writes a temporary .keras file beside `path`
    (it needs a path of its own), renamed into place only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(path)
