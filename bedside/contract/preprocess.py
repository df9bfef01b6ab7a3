"""Integer preprocessing, raw int16 samples -> int8 model input (DESIGN.md contract 2).

Defined once here and mirrored line for line in firmware/core/preprocess.h. Per signal:

1. validity: raw == MISSING or outside [valid_min, valid_max] -> missing;
2. imputation: a missing sample takes the last valid value if that value is at most
   `carry_limit` samples old, else the signal's centre (a new patient starts empty);
3. scaling: q = clamp(((x - center) * multiplier + 2**15) >> 16, -128, 127)
   (arithmetic shift, i.e. floor; int32 cannot overflow, see signals.check_ranges).

With personalization on (training/personalize.py), `center` in steps 2-3 is the
patient's centre (population centre until calibration completes, then moved towards the
patient's own baseline within limits); with it off (None, the default) nothing changes.

The model's input tensor is int8 with scale 1/32 and zero point 0, so training feeds
Keras exactly q / 32 (`to_model_input`) and the device feeds q itself.
"""
from __future__ import annotations

import numpy as np

from .signals import FIXED_POINT_SHIFT, INPUT_SCALE_INV, MISSING, SIGNALS

CENTERS = np.array([s.center for s in SIGNALS], dtype=np.int32)
MULTIPLIERS = np.array([s.multiplier for s in SIGNALS], dtype=np.int64)
VALID_MIN = np.array([s.valid_min for s in SIGNALS], dtype=np.int32)
VALID_MAX = np.array([s.valid_max for s in SIGNALS], dtype=np.int32)
CARRY_LIMITS = np.array([s.carry_limit for s in SIGNALS], dtype=np.int64)


def valid_mask(raw: np.ndarray) -> np.ndarray:
    """True where a raw sample is present and plausible. raw: [..., T, C] integer."""
    raw = np.asarray(raw)
    return (raw != MISSING) & (raw >= VALID_MIN) & (raw <= VALID_MAX)


def impute(raw: np.ndarray, centers: np.ndarray | None = None) -> np.ndarray:
    """Carry the last valid value forward up to carry_limit samples, else the centre.

    raw: [T, C] int16 for one patient stream that starts at a reset. Returns int32 [T, C].
    centers: [C] or [T, C] (personalized centres); default the population centres.
    """
    centers = CENTERS[None, :] if centers is None else np.asarray(centers, np.int32)
    raw = np.asarray(raw)
    t_len = raw.shape[0]
    ok = valid_mask(raw)
    t = np.arange(t_len)[:, None]
    last = np.maximum.accumulate(np.where(ok, t, -1), axis=0)        # index of last valid
    last_value = np.take_along_axis(raw.astype(np.int32), np.maximum(last, 0), axis=0)
    usable = (last >= 0) & (t - last <= CARRY_LIMITS[None, :])
    return np.where(usable, last_value, centers).astype(np.int32)


def scale(filled: np.ndarray, centers: np.ndarray | None = None) -> np.ndarray:
    """Fixed-point map of imputed raw values to int8 model input."""
    centers = CENTERS if centers is None else np.asarray(centers, np.int64)
    d = np.asarray(filled, dtype=np.int64) - centers
    q = (d * MULTIPLIERS + (1 << (FIXED_POINT_SHIFT - 1))) >> FIXED_POINT_SHIFT
    return np.clip(q, -128, 127).astype(np.int8)


def preprocess_stream(raw: np.ndarray, personalization: dict | None = None) -> np.ndarray:
    """One patient's raw stream [T, C] -> int8 features [T, C], as the device computes them.

    personalization: checked settings (personalize.normalize), None = off."""
    if personalization is None:
        return scale(impute(raw))
    from .personalize import centers_stream
    centers = centers_stream(raw, personalization)[0]
    return scale(impute(raw, centers), centers)


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
    return np.asarray(q, dtype=np.float32) / INPUT_SCALE_INV


class StreamingPreprocessor:
    """Sample-by-sample twin of preprocess_stream: the state machine the firmware runs."""

    def __init__(self, personalization: dict | None = None) -> None:
        self.personalizer = None
        if personalization is not None:
            from .personalize import Personalizer
            self.personalizer = Personalizer(personalization)
        self.reset()

    def reset(self) -> None:
        if self.personalizer is not None:
            self.personalizer.reset()
        n = len(SIGNALS)
        self.last_value = CENTERS.copy()
        self.age = np.full(n, np.iinfo(np.int64).max // 2, dtype=np.int64)

    def push(self, sample: np.ndarray) -> np.ndarray:
        sample = np.asarray(sample)
        centers = CENTERS if self.personalizer is None else self.personalizer.push(sample).copy()
        ok = valid_mask(sample[None, :])[0]
        self.last_value = np.where(ok, sample.astype(np.int32), self.last_value)
        self.age = np.where(ok, 0, self.age + 1)
        filled = np.where(self.age <= CARRY_LIMITS, self.last_value, centers)
        return scale(filled[None, :], centers[None, :])[0]
