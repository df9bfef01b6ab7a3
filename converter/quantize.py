"""Full-integer post-training quantization of the Keras Student to an int8 .tflite.

int8 input and output, per-channel weights (TFLite's default for conv/dense), calibrated
on a seeded sample of training windows plus one window spanning exactly [-4, 127/32] so
the input quantization comes out as scale 1/32, zero point 0 (docs/architecture.md).
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings

import numpy as np

from bedside.contract.preprocess import to_model_input
from bedside.contract.signals import INPUT_SCALE_INV

N_CALIBRATION = 256         # training windows used for calibration (plus the span window)


class QuantizeError(ValueError):
    """Quantization failed or produced a model the device cannot use."""


def load_keras(path):
    """Load a Keras model for inference (training modules may register custom layers)."""
    import importlib

    import keras
    for mod in ("bedside.training.models", "training.model", "training.student"):
        try:
            importlib.import_module(mod)
        except ImportError:
            pass
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:
        raise QuantizeError(f"{path}: cannot load the Keras model ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''})")


def calibration_windows(x_train_q: np.ndarray, seed: int) -> np.ndarray:
    """Seeded sample of int8 training windows, first of all one spanning [-128, 127]."""
    rng = np.random.default_rng(seed)
    n = min(N_CALIBRATION, len(x_train_q))
    idx = np.sort(rng.choice(len(x_train_q), size=n, replace=False)) if n else []
    sample = x_train_q[idx].astype(np.int8)
    span = (sample[0].copy() if n else np.zeros(x_train_q.shape[1:], np.int8))
    # one element at each end of the int8 range: float min -4, max 127/32 exactly
    span.reshape(-1)[0] = -128
    span.reshape(-1)[-1] = 127
    return np.concatenate([span[None], sample], axis=0)


def full_int8(conv, representative) -> None:
    """Set a TFLiteConverter up for full-integer PTQ with int8 input and output."""
    import tensorflow as tf
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8


@contextlib.contextmanager
def _quiet():
    """Hide TensorFlow's export/converter chatter (Python and native) on stdout/stderr."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def quantize(model, calib_q: np.ndarray) -> tuple[bytes, str]:
    """Keras model + int8 calibration windows -> (int8 .tflite bytes, conversion path)."""
    import tensorflow as tf

    def representative():
        for w in calib_q:
            yield [to_model_input(w[None])]

    with tempfile.TemporaryDirectory(prefix="bedside-export-") as tmp:
        last_error = None
        for attempt in ("keras", "saved_model"):
            try:
                if attempt == "keras":
                    conv = tf.lite.TFLiteConverter.from_keras_model(model)
                    path = "from_keras_model"
                else:
                    # Keras 3 models that from_keras_model cannot trace: via a SavedModel
                    model.export(tmp + "/sm", format="tf_saved_model", verbose=False)
                    conv, path = tf.lite.TFLiteConverter.from_saved_model(tmp + "/sm"), \
                        "export+from_saved_model"
                full_int8(conv, representative)
                with _quiet():
                    return bytes(conv.convert()), path
            except Exception as e:  # noqa: BLE001 - retried through the SavedModel path
                last_error = e
    msg = str(last_error).strip().splitlines()
    detail = next((line for line in msg if "error" in line.lower()), msg[0] if msg else "")
    raise QuantizeError(f"full-integer quantization failed ({type(last_error).__name__}): "
                        f"{detail[:500]}")


def check_input_quantization(scale: float, zero_point: int, source: str) -> None:
    """The device feeds preprocessed int8 values directly: scale must be 1/32, zp 0."""
    if np.float32(scale) != np.float32(1.0 / INPUT_SCALE_INV) or zero_point != 0:
        raise QuantizeError(f"{source}: input quantization is scale {scale!r}, zero point "
                            f"{zero_point}; the kit's preprocessing needs scale "
                            f"1/{INPUT_SCALE_INV}, zero point 0")


def check_int8_io(model, source: str) -> None:
    """The kit's device path is full-integer: one subgraph, one int8 input and output."""
    if model.subgraph_count > 1:
        raise QuantizeError(f"{source}: {model.subgraph_count} subgraphs; the kit supports "
                            "single-subgraph models (no control flow)")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise QuantizeError(f"{source}: {len(model.inputs)} inputs / {len(model.outputs)} "
                            "outputs; the kit needs exactly one of each")
    out_types = [[model.tensors[i].type for i in op.outputs if i >= 0] for op in model.operators]
    int8_inside = any("int8" in types for types in out_types)
    for kind, t in (("input", model.input_tensors[0]), ("output", model.output_tensors[0])):
        if t.type != "int8" or not t.scales:
            why = ("the model is quantized inside but has a float interface: convert with "
                   "int8 inference input/output types" if int8_inside else
                   "a float-only model: convert with full-integer quantization")
            raise QuantizeError(f"{source}: {kind} tensor '{t.name}' is {t.type}, not quantized "
                                f"int8 ({why})")
    for op, types in zip(model.operators, out_types):
        if "float32" in types and op.op != "DEQUANTIZE":
            out = model.tensors[op.outputs[0]].name
            raise QuantizeError(f"{source}: op {op.op} (#{op.index}) computes in float32 "
                                f"(tensor '{out}'); the model is not fully int8")
