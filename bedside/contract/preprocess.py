"""Integer preprocessing, raw int16 samples -> int8 model input (DESIGN.md contract 2).

Defined once here and mirrored line for line in firmware/core/preprocess.h. Per signal:

1. validity: raw == MISSING or outside [valid_min, valid_max] -> missing;
2. imputation: a missing sample takes the last valid value if that value is at most
   `carry_limit` samples old, else the signal's centre (a new patient starts empty);
3. scaling: q = clamp(((x - center) * multiplier + 2**15) >> 16, -128, 127)
   (arithmetic shift, i.e. floor; int32 cannot overflow, see signals.Constants.checked).

With personalization on (bedside/contract/personalize.py), `center` in steps 2-3 is the
patient's centre (population centre until calibration completes, then moved towards the
patient's own baseline within limits); with it off (None, the default) nothing changes.

The model's input tensor is int8 with scale 1/32 and zero point 0, so training feeds
Keras exactly q / 32 (`to_model_input`) and the device feeds q itself.

Every function takes the constants `k` (signals.Constants): training uses the signal
table (the default), the reference of a converted run uses its manifest's
(`Constants.from_manifest`), so a run is always verified against its own contract.
"""
from __future__ import annotations

import numpy as np

from .signals import TABLE, Constants


def valid_mask(raw: np.ndarray, k: Constants = TABLE) -> np.ndarray:
    """True where a raw sample is present and plausible. raw: [..., T, C] integer."""
    raw = np.asarray(raw)
    return (raw != k.missing) & (raw >= k.valid_min) & (raw <= k.valid_max)


def impute(raw: np.ndarray, centers: np.ndarray | None = None,
           k: Constants = TABLE) -> np.ndarray:
    """Carry the last valid value forward up to carry_limit samples, else the centre.

    raw: [T, C] int16 for one patient stream that starts at a reset. Returns int32 [T, C].
    centers: [C] or [T, C] (personalized centres); default the constants' centres.
    """
    centers = k.center[None, :] if centers is None else np.asarray(centers, np.int32)
    raw = np.asarray(raw)
    t_len = raw.shape[0]
    ok = valid_mask(raw, k)
    t = np.arange(t_len)[:, None]
    last = np.maximum.accumulate(np.where(ok, t, -1), axis=0)        # index of last valid
    last_value = np.take_along_axis(raw.astype(np.int32), np.maximum(last, 0), axis=0)
    usable = (last >= 0) & (t - last <= k.carry_limit[None, :])
    return np.where(usable, last_value, centers).astype(np.int32)


def scale(filled: np.ndarray, centers: np.ndarray | None = None,
          k: Constants = TABLE) -> np.ndarray:
    """Fixed-point map of imputed raw values to int8 model input."""
    centers = k.center if centers is None else np.asarray(centers, np.int64)
    d = np.asarray(filled, dtype=np.int64) - centers
    q = (d * k.multiplier + (1 << (k.shift - 1))) >> k.shift
    return np.clip(q, -128, 127).astype(np.int8)


def preprocess_stream(raw: np.ndarray, personalization: dict | None = None,
                      k: Constants = TABLE) -> np.ndarray:
    """One patient's raw stream [T, C] -> int8 features [T, C], as the device computes them.

    personalization: checked settings (personalize.normalize), None = off."""
    if personalization is None:
        return scale(impute(raw, k=k), k=k)
    from .personalize import centers_stream
    centers = centers_stream(raw, personalization, k)[0]
    return scale(impute(raw, centers, k), centers, k)


def calibrated_at(ends: np.ndarray, personalization: dict | None) -> np.ndarray:
    """The device's RESULT flag "calibrated" for windows ending at samples `ends`."""
    ends = np.asarray(ends)
    if personalization is None:
        return np.zeros(len(ends), dtype=bool)
    return ends >= personalization["calib_samples"] - 1


def window_ends(t_len: int, length: int, stride: int) -> np.ndarray:
    """Sample indices at which the device runs the model: window k covers samples
    [k*stride, k*stride + length) and runs when its last sample arrives."""
    if t_len < length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(length - 1, t_len, stride, dtype=np.int64)


def windows(q: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Stack the int8 windows [N, length, C] that the device would feed the model."""
    ends = window_ends(q.shape[0], length, stride)
    if len(ends) == 0:
        return np.zeros((0, length, q.shape[1]), dtype=np.int8)
    idx = ends[:, None] - (length - 1) + np.arange(length)[None, :]
    return q[idx]


def to_model_input(q: np.ndarray) -> np.ndarray:
    """Dequantize int8 features to the float values Keras trains on (scale 1/32, zp 0)."""
    return np.asarray(q, dtype=np.float32) / TABLE.input_scale_inv


class StreamingPreprocessor:
    """Sample-by-sample twin of preprocess_stream: the state machine the firmware runs."""

    def __init__(self, personalization: dict | None = None, k: Constants = TABLE) -> None:
        self.k = k
        self.personalizer = None
        if personalization is not None:
            from .personalize import Personalizer
            self.personalizer = Personalizer(personalization, k)
        self.reset()

    def reset(self) -> None:
        if self.personalizer is not None:
            self.personalizer.reset()
        self.last_value = self.k.center.copy()
        self.age = np.full(self.k.n, np.iinfo(np.int64).max // 2, dtype=np.int64)

    def push(self, sample: np.ndarray) -> np.ndarray:
        k = self.k
        sample = np.asarray(sample)
        centers = k.center if self.personalizer is None else self.personalizer.push(sample).copy()
        ok = valid_mask(sample[None, :], k)[0]
        self.last_value = np.where(ok, sample.astype(np.int32), self.last_value)
        self.age = np.where(ok, 0, self.age + 1)
        filled = np.where(self.age <= k.carry_limit, self.last_value, centers)
        return scale(filled[None, :], centers[None, :], k)[0]
