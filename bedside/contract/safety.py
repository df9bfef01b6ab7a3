"""The safety floor: integer hard limits beside the model, and a data-quality flag.

Mirrored in firmware/core/safety.h; verified like every other output (RESULT flags).
The model can miss what it was never shown (constant near-arrest vitals score risk 0), and
a window filled with population centres looks normal to it; these two rules do not depend
on the model at all:

* **Hard limits.** Rule r is (signal, low or high, bound) in raw units; the rules are
  numbered in signal order, a signal's low rule before its high rule, from 1. Per sample
  and rule, a VALID raw value beyond the bound (value < low, value > high) adds one to the
  rule's run, a valid value within the bound sets it to 0, and a missing or implausible
  value (preprocess.valid_mask) leaves it unchanged: a dropout neither confirms nor clears
  a limit. A rule is active when its run is >= `sustain_samples`; the window's safety
  reason is the number of the first active rule at its last sample (0: none). Any reason
  raises the device's alarm LED independently of the model's alarm state.
* **Data quality.** At a window's last sample the flag is set when any of
  `quality_signals` has had no valid value for more than its carry limit, i.e. the model
  is being fed that signal's centre, not a measurement (sensors off, all values missing).

RESULT flags byte: bit 0 calibrated, bit 1 model error, bit 2 data quality, bits 4-7
safety reason (so at most 15 rules). Default limits follow the single-parameter
"call for help" criteria of medical emergency team and early-warning systems (docs/safety.md).
"""
from __future__ import annotations

import numpy as np

from .protocol import RESULT_FLAG_QUALITY as FLAG_QUALITY
from .protocol import RESULT_REASON_SHIFT as REASON_SHIFT
from .signals import TABLE, Constants

MAX_RULES = 15

DEFAULT = {
    "sustain_samples": 3,
    "limits": {"hr": [40, 150], "sbp": [70, None], "map": [50, None], "spo2": [85, None],
               "rr": [6, 35]},
    "quality_signals": ["hr", "sbp", "map", "spo2", "rr"],
}


class SafetyError(ValueError):
    """Safety settings the device could not run (names the field)."""


def normalize(cfg: dict | None, k: Constants = TABLE) -> dict | None:
    """Checked, complete settings (the manifest's `alarm.safety`); None = off."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise SafetyError("safety: expected an object")
    out = {**DEFAULT, **cfg}
    n = out["sustain_samples"]
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 65535:
        raise SafetyError(f"safety.sustain_samples: expected an integer in 1..65535, got {n!r}")
    limits = out["limits"]
    if not isinstance(limits, dict):
        raise SafetyError("safety.limits: expected an object {signal: [low, high]}")
    checked = {}
    for name, lim in limits.items():
        if name not in k.names:
            raise SafetyError(f"safety.limits: unknown signal {name!r}")
        if (not isinstance(lim, (list, tuple)) or len(lim) != 2
                or not all(v is None or (isinstance(v, int) and not isinstance(v, bool)
                                         and -32767 <= v <= 32767) for v in lim)
                or (None not in lim and lim[0] > lim[1])):
            raise SafetyError(f"safety.limits.{name}: expected [low, high], integers in raw "
                              f"units or null, low <= high; got {lim!r}")
        checked[name] = [lim[0], lim[1]]
    quality = out["quality_signals"]
    if not isinstance(quality, list) or not all(q in k.names for q in quality):
        raise SafetyError(f"safety.quality_signals: expected a list of signal names, got {quality!r}")
    result = {"sustain_samples": n,
              "limits": {name: checked[name] for name in k.names if name in checked},
              "quality_signals": [name for name in k.names if name in quality]}
    if len(rules(result, k)) > MAX_RULES:
        raise SafetyError(f"safety.limits: at most {MAX_RULES} bounds (RESULT has 4 bits)")
    return result


def rules(cfg: dict, k: Constants = TABLE) -> list[tuple[int, bool, int]]:
    """(signal index, is_high, bound) in rule-number order (rule number = position + 1)."""
    out = []
    for i, name in enumerate(k.names):
        low, high = cfg["limits"].get(name, [None, None])
        if low is not None:
            out.append((i, False, low))
        if high is not None:
            out.append((i, True, high))
    return out


class SafetyFloor:
    """Sample-by-sample state machine of the safety floor (the firmware's `Safety`)."""

    def __init__(self, cfg: dict, k: Constants = TABLE) -> None:
        self.k = k
        self.sustain = cfg["sustain_samples"]
        r = rules(cfg, k)
        self.signal = np.array([x[0] for x in r], np.int64)
        self.high = np.array([x[1] for x in r], bool)
        self.bound = np.array([x[2] for x in r], np.int64)
        self.quality = np.array([n in cfg["quality_signals"] for n in k.names], bool)
        self.reset()

    def reset(self) -> None:
        self.run = np.zeros(len(self.signal), np.int64)
        self.age = np.full(self.k.n, np.iinfo(np.int64).max // 2, np.int64)

    def push(self, sample: np.ndarray) -> int:
        """Account one raw sample; returns the flag bits (quality, reason) after it."""
        k = self.k
        x = np.asarray(sample).astype(np.int64)
        ok = (x != k.missing) & (x >= k.valid_min) & (x <= k.valid_max)
        self.age = np.where(ok, 0, self.age + 1)
        v, valid = x[self.signal], ok[self.signal]
        beyond = np.where(self.high, v > self.bound, v < self.bound)
        self.run = np.where(valid, np.where(beyond, np.minimum(self.run + 1, self.sustain), 0),
                            self.run)
        active = np.flatnonzero(self.run >= self.sustain)
        reason = int(active[0]) + 1 if len(active) else 0
        stale = np.any(self.quality & (self.age > k.carry_limit))
        return (reason << REASON_SHIFT) | (FLAG_QUALITY if stale else 0)


def stream_flags(raw: np.ndarray, cfg: dict | None, k: Constants = TABLE) -> np.ndarray:
    """Safety flag bits [T] (uint8) after each sample of one stream starting at a reset."""
    raw = np.asarray(raw)
    if cfg is None:
        return np.zeros(len(raw), np.uint8)
    floor = SafetyFloor(cfg, k)
    return np.array([floor.push(s) for s in raw], np.uint8)


def reason_name(reason: int, cfg: dict, k: Constants = TABLE) -> str:
    """Human-readable rule for a reason number, e.g. 'map < 50'."""
    if reason == 0:
        return "none"
    r = rules(cfg, k)
    if not 1 <= reason <= len(r):
        return f"unknown rule {reason}"
    i, high, bound = r[reason - 1]
    return f"{k.names[i]} {'>' if high else '<'} {bound}"
