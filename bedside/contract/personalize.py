"""On-device personalization: a robust integer baseline per signal re-centres the scaling.

Defined once here (numpy only) and mirrored in firmware/core/preprocess.{h,cc}
(`Personalizer`); docs/personalization.md explains the choices. After a reset the device
counts samples. During the first `calib_samples` (split into `blocks` equal blocks) it
keeps, per signal, the sum and count of the VALID raw samples of the current block
(preprocess.valid_mask: missing and implausible values are ignored). When a block ends
its integer mean is stored if it had at least `block_min_valid` valid samples:

    mean = (sum + count // 2) // count            (valid raw values are > 0)

When sample `calib_samples - 1` has been pushed, per signal the stored means are sorted
and, if there are at least `min_blocks`, their median (odd m: s[m // 2]; even m:
(s[m/2 - 1] + s[m/2]) // 2) is the baseline and

    offset = clamp(baseline - center, -limit_lo, +limit_hi)

else the offset is 0 and the baseline is reported as MISSING. From that sample on (it
included) the preprocessing uses `center + offset` in place of the population centre,
both for scaling and for filling a signal with no usable value, and the device sets the
RESULT flag "calibrated". Before that, and with personalization off, nothing changes.
"""
from __future__ import annotations

import numpy as np

from .signals import TABLE, Constants

MAX_BLOCKS = 16          # firmware array size (kMaxBlocks)

# Re-centring limits (raw units: how far below / above the population centre the patient's
# centre may move). Wide enough for the chronic baselines the guidelines accept (rate-
# controlled AF / beta-agonist tachycardia to ~110 bpm, COPD SpO2 targets 88-92 %, chronic
# hypertension, heart failure MAP in the mid 60s), narrow enough that a patient already
# shocked, hypoxic or febrile during calibration still reads abnormal (docs/personalization.md).
DEFAULT_LIMITS = {
    "hr": [20, 30], "sbp": [25, 40], "dbp": [15, 25], "map": [15, 30],
    "spo2": [8, 2], "rr": [4, 6], "temp": [5, 5],
}
DEFAULT = {"enabled": True, "calib_samples": 120, "blocks": 8, "block_min_valid": 1,
           "min_blocks": 4, "limits": DEFAULT_LIMITS}



class PersonalizationError(ValueError):
    """A personalization config that the device could not run."""


def normalize(cfg: dict | None, k: Constants = TABLE) -> dict | None:
    """Checked, complete settings (the manifest's `preprocessing.personalization`), or None
    when personalization is off (then nothing about the preprocessing changes)."""
    if cfg is None or not cfg.get("enabled", False):
        return None
    out = {**DEFAULT, **cfg}
    out["limits"] = {**DEFAULT_LIMITS, **cfg.get("limits", {})}
    for key in ("calib_samples", "blocks", "block_min_valid", "min_blocks"):
        v = out[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise PersonalizationError(f"personalization.{key}: expected an integer >= 1, "
                                       f"got {v!r}")
        out[key] = int(v)
    if out["blocks"] > MAX_BLOCKS:
        raise PersonalizationError(f"personalization.blocks: at most {MAX_BLOCKS}")
    if out["calib_samples"] % out["blocks"]:
        raise PersonalizationError("personalization.calib_samples must be a multiple of blocks")
    if out["calib_samples"] // out["blocks"] > 65535:
        raise PersonalizationError("personalization: blocks of more than 65535 samples")
    if out["min_blocks"] > out["blocks"]:
        raise PersonalizationError("personalization.min_blocks exceeds blocks")
    # defaults only for the signals these constants have; a name the caller gave must exist
    out["limits"] = {n: v for n, v in out["limits"].items()
                     if n in k.names or n in cfg.get("limits", {})}
    unknown = set(out["limits"]) - set(k.names)
    if unknown:
        raise PersonalizationError(f"personalization.limits: unknown signal(s) {sorted(unknown)}")
    missing = [n for n in k.names if n not in out["limits"]]
    if missing:
        raise PersonalizationError(f"personalization.limits: no limits for signal(s) {missing}")
    for i, name in enumerate(k.names):
        lim = out["limits"][name]
        if (not isinstance(lim, (list, tuple)) or len(lim) != 2
                or not all(isinstance(v, int) and 0 <= v <= 1000 for v in lim)):
            raise PersonalizationError(f"personalization.limits.{name}: expected "
                                       f"[below, above], integers in 0..1000, got {lim!r}")
        # the fixed-point product with the moved centre must still fit int32
        c, lo_v, hi_v = int(k.center[i]), int(k.valid_min[i]), int(k.valid_max[i])
        worst = max(abs(hi_v - c) + lim[0], abs(c - lo_v) + lim[1])
        if worst * int(k.multiplier[i]) + (1 << (k.shift - 1)) >= 2**31:
            raise PersonalizationError(f"personalization.limits.{name}: overflows int32")
        out["limits"][name] = [int(lim[0]), int(lim[1])]
    out["enabled"] = True
    return {key: out[key] for key in DEFAULT}


def limit_arrays(cfg: dict, k: Constants = TABLE) -> tuple[np.ndarray, np.ndarray]:
    lo = np.array([cfg["limits"][n][0] for n in k.names], dtype=np.int32)
    hi = np.array([cfg["limits"][n][1] for n in k.names], dtype=np.int32)
    return lo, hi


def _valid(raw: np.ndarray, k: Constants) -> np.ndarray:
    return (raw != k.missing) & (raw >= k.valid_min) & (raw <= k.valid_max)


def _median(values: list[int]) -> int:
    s = sorted(values)
    m = len(s)
    return s[m // 2] if m % 2 else (s[m // 2 - 1] + s[m // 2]) // 2


def baseline(calib_raw: np.ndarray, cfg: dict,
             k: Constants = TABLE) -> tuple[np.ndarray, np.ndarray]:
    """Baselines (MISSING where not settled) and centre offsets [C] from the first
    calib_samples raw samples [calib_samples, C]."""
    raw = np.asarray(calib_raw).astype(np.int64)
    n_blocks, blen = cfg["blocks"], cfg["calib_samples"] // cfg["blocks"]
    ok = _valid(raw, k).reshape(n_blocks, blen, -1)
    sums = np.where(ok, raw.reshape(n_blocks, blen, -1), 0).sum(1)          # [K, C]
    counts = ok.sum(1)
    lo, hi = limit_arrays(cfg, k)
    base = np.full(k.n, k.missing, dtype=np.int32)
    offset = np.zeros(k.n, dtype=np.int32)
    for i in range(k.n):
        good = counts[:, i] >= cfg["block_min_valid"]
        means = [int((sums[b, i] + counts[b, i] // 2) // counts[b, i])
                 for b in range(n_blocks) if good[b]]
        if len(means) >= cfg["min_blocks"]:
            base[i] = _median(means)
            offset[i] = min(max(base[i] - int(k.center[i]), -int(lo[i])), int(hi[i]))
    return base, offset


def centers_stream(raw: np.ndarray, cfg: dict | None, k: Constants = TABLE):
    """Per-sample effective centres [T, C] int32 and the calibrated flag [T] for one
    patient stream starting at a reset; also the baseline [C] (None before calibration)."""
    t_len = len(raw)
    centers = np.broadcast_to(k.center, (t_len, k.n)).copy()
    calibrated = np.zeros(t_len, dtype=bool)
    if cfg is None or t_len < cfg["calib_samples"]:
        return centers, calibrated, None
    n = cfg["calib_samples"]
    base, offset = baseline(np.asarray(raw)[:n], cfg, k)
    centers[n - 1:] += offset
    calibrated[n - 1:] = True
    return centers, calibrated, base


class Personalizer:
    """Sample-by-sample twin of centers_stream: the state machine the firmware runs."""

    def __init__(self, cfg: dict, k: Constants = TABLE) -> None:
        self.cfg, self.k = cfg, k
        self.blen = cfg["calib_samples"] // cfg["blocks"]
        self.lo, self.hi = limit_arrays(cfg, k)
        self.reset()

    def reset(self) -> None:
        c = self.k.n
        self.n = 0
        self.calibrated = False
        self.block_sum = np.zeros(c, np.int64)
        self.block_count = np.zeros(c, np.int64)
        self.means: list[list[int]] = [[] for _ in range(c)]
        self.center = self.k.center.copy()
        self.baseline = np.full(c, self.k.missing, np.int32)

    def push(self, sample: np.ndarray) -> np.ndarray:
        """Account one raw sample; returns the centres to scale this sample with."""
        if self.calibrated:
            return self.center
        sample = np.asarray(sample).astype(np.int64)
        ok = _valid(sample, self.k)
        self.block_sum += np.where(ok, sample, 0)
        self.block_count += ok
        self.n += 1
        if self.n % self.blen == 0:                       # a block ends
            for i in range(self.k.n):
                cnt = int(self.block_count[i])
                if cnt >= self.cfg["block_min_valid"]:
                    self.means[i].append((int(self.block_sum[i]) + cnt // 2) // cnt)
            self.block_sum[:] = 0
            self.block_count[:] = 0
        if self.n == self.cfg["calib_samples"]:
            for i in range(self.k.n):
                if len(self.means[i]) >= self.cfg["min_blocks"]:
                    b = _median(self.means[i])
                    self.baseline[i] = b
                    c = int(self.k.center[i])
                    self.center[i] = c + min(max(b - c, -int(self.lo[i])), int(self.hi[i]))
            self.calibrated = True
        return self.center
