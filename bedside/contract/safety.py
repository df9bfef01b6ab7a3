"""The safety floor: integer hard limits beside the model, and a data-quality flag.

Mirrored in firmware/core/safety.h; evaluated on every sample from the first one after a
RESET, reported per sample on the wire (SAMPLES_ACK floor records, docs/protocol.md) and in
every RESULT's flags, and verified sample by sample. The model can miss what it was never
shown (constant near-arrest vitals score risk 0), and a window filled with population
centres looks normal to it; these rules do not depend on the model at all. Times are set in
minutes and run in samples (`timing`: minutes x 60 / sample period, rounded up).

* **Hard limits.** Rule r is (signal, low or high, bound) in raw units; the rules are
  numbered in signal order, a signal's low rule before its high rule, from 1. A rule's
  *run* opens at a valid value beyond its bound (value < low, value > high) and spans the
  samples from that reading to now; a valid value within the bound closes the run and
  clears the rule; a missing or implausible value (preprocess.valid_mask) lets time pass
  but neither confirms nor clears. A beyond reading whose run spans at least
  `sustain_minutes` *confirms* the rule (active until a valid value within the bound): for
  a continuous signal that is readings over 3 minutes, for a cuff (a reading every 5-15
  min) the next reading. A reading after the signal was stale (no valid value for longer
  than its cadence's `stale_minutes`) opens a new run.
  **Artefact rule**: a run that opens with a step of at least `artefact_step[signal]`
  from any of the signal's last `artefact_lookback` valid values (while the signal is not
  stale, so a gap does not hide the step: a probe slipping off or a motion artefact drops
  SpO2, and motion raises impedance RR, within a minute or two) needs
  `artefact_sustain_minutes` instead; so does a run during which, before it is confirmed,
  a reading comes with a *jump* of its `artefact_jump[signal] = [other, jump]` signal (the
  other's valid value differs from its previous sample's valid value by at least `jump`:
  motion corrupts the ECG and the pleth together). A persisting value is still confirmed,
  only later. **Agreement** (`agree`, off
  by default): a rule of signal s with agree[s] = [other, bound] counts a reading beyond
  its bound only while the other signal's value at the same sample is valid and beyond
  `bound` in the same direction (an SBP-only low with a normal MAP: a damped arterial
  trace); a reading the other signal contradicts counts as within the bound; without a
  valid other value the rule stands alone. **Deadband** (`clear_margin[signal]`): an
  active rule holds at a valid value within its bound by less than the margin (neither
  clears nor confirms), so a value hovering at the bound is one alarm, not one per
  crossing. The sample's reason is the number of the first
  active rule (0: none); any reason raises the alarm LED at once,
  whatever the model's alarm.
* **Data quality.** Set while any of `quality_signals` has had no valid value for more
  than its cadence's `stale_minutes` (since its last valid value, or since RESET), or any
  of `frozen_signals` has read the same value (its resolution, one raw unit) for more than
  `frozen_minutes` of valid readings; a value at the signal's valid_min or valid_max
  (SpO2 100 %) is never frozen. The cause (first signal in order, stale before frozen) is
  reported beside the flag.

Per-sample floor record (2 bytes): `flags` (bit 2 quality, bits 4-7 reason: the RESULT
flags' safety bits) and `cause` (bits 0-3 the quality signal's index, bits 4-5 its kind:
1 stale, 2 frozen; 0 when no quality problem). Defaults and their sources: docs/safety.md.
"""
from __future__ import annotations

import math

import numpy as np

from .protocol import RESULT_FLAG_QUALITY as FLAG_QUALITY
from .protocol import RESULT_REASON_SHIFT as REASON_SHIFT
from .signals import CADENCE, CADENCES, SAMPLE_PERIOD_S, TABLE, Constants

MAX_RULES = 15
MAX_SAMPLES = 65535             # u16 counters on the device
CAUSE_STALE, CAUSE_FROZEN = 1, 2
NO_AGREE = 255                  # a rule without an agreement signal
CAUSE_KINDS = {CAUSE_STALE: "stale", CAUSE_FROZEN: "frozen"}

DEFAULT = {
    "sustain_minutes": 3,
    "limits": {"hr": [40, 150], "sbp": [70, None], "map": [50, None], "spo2": [85, None],
               "rr": [6, 35]},
    "artefact_step": {"spo2": 8, "rr": 10},
    "artefact_lookback": 2,
    "artefact_jump": {"spo2": ["hr", 20]},
    "artefact_sustain_minutes": 10,
    "artefact_after_gap": True,
    "agree": {},
    "clear_margin": {"hr": 5, "sbp": 5, "map": 5, "spo2": 2},
    "quality_signals": ["hr", "sbp", "map", "spo2", "rr"],
    "stale_minutes": {"continuous": 15, "cuff": 35, "charted": 300},
    "frozen_signals": ["hr", "spo2"],
    "frozen_minutes": 30,
}


class SafetyError(ValueError):
    """Safety settings the device could not run (names the field)."""


def _int(where: str, v, lo: int, hi: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise SafetyError(f"safety.{where}: expected an integer in {lo}..{hi}, got {v!r}")
    return v


def _bool(where: str, v) -> bool:
    if not isinstance(v, bool):
        raise SafetyError(f"safety.{where}: expected true or false, got {v!r}")
    return v


def _names(where: str, v, k: Constants) -> list[str]:
    if not isinstance(v, list) or not all(q in k.names for q in v):
        raise SafetyError(f"safety.{where}: expected a list of signal names, got {v!r}")
    return [name for name in k.names if name in v]


def normalize(cfg: dict | None, k: Constants = TABLE) -> dict | None:
    """Checked, complete settings (the manifest's `alarm.safety`); None = off. A signal's
    cadence defaults to the signal table's (`signals.CADENCE`), else continuous."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise SafetyError("safety: expected an object")
    unknown = sorted(set(cfg) - set(DEFAULT) - {"cadence"})
    if unknown:
        raise SafetyError(f"safety.{unknown[0]}: unknown field (docs/safety.md lists them)")
    out = {**DEFAULT, **cfg}
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
    step = out["artefact_step"]
    if not isinstance(step, dict) or not all(n in k.names for n in step):
        raise SafetyError(f"safety.artefact_step: expected {{signal: raw units}}, got {step!r}")
    cadence = {**{n: CADENCE.get(n, "continuous") for n in k.names}, **out.get("cadence", {})}
    if set(cadence) - set(k.names) or not all(c in CADENCES for c in cadence.values()):
        raise SafetyError(f"safety.cadence: expected {{signal: one of {', '.join(CADENCES)}}}, "
                          f"got {out.get('cadence')!r}")
    agree = out["agree"]
    if not isinstance(agree, dict) or not all(
            n in k.names and isinstance(v, (list, tuple)) and len(v) == 2 and v[0] in k.names
            and v[0] != n and isinstance(v[1], int) and not isinstance(v[1], bool)
            and -32767 <= v[1] <= 32767 for n, v in agree.items()):
        raise SafetyError(f"safety.agree: expected {{signal: [other signal, bound in its raw "
                          f"units]}}, got {agree!r}")
    margin = out["clear_margin"]
    if not isinstance(margin, dict) or not all(n in k.names for n in margin):
        raise SafetyError(f"safety.clear_margin: expected {{signal: raw units}}, got {margin!r}")
    jump = out["artefact_jump"]
    if not isinstance(jump, dict) or not all(
            n in k.names and isinstance(v, (list, tuple)) and len(v) == 2 and v[0] in k.names
            and v[0] != n and isinstance(v[1], int) and not isinstance(v[1], bool)
            and 1 <= v[1] <= 32767 for n, v in jump.items()):
        raise SafetyError(f"safety.artefact_jump: expected {{signal: [other signal, jump in "
                          f"its raw units, 1..32767]}}, got {jump!r}")
    stale = out["stale_minutes"]
    if not isinstance(stale, dict) or set(stale) != set(CADENCES):
        raise SafetyError(f"safety.stale_minutes: expected minutes for each of "
                          f"{', '.join(CADENCES)}, got {stale!r}")
    result = {
        "sustain_minutes": _int("sustain_minutes", out["sustain_minutes"], 2, 1000),
        "limits": {name: checked[name] for name in k.names if name in checked},
        "artefact_step": {n: _int(f"artefact_step.{n}", step[n], 1, 32767)
                          for n in k.names if n in step},
        "artefact_lookback": _int("artefact_lookback", out["artefact_lookback"], 1, 2),
        "artefact_jump": {n: [jump[n][0], jump[n][1]] for n in k.names if n in jump},
        "artefact_sustain_minutes": _int("artefact_sustain_minutes",
                                         out["artefact_sustain_minutes"], 2, 1000),
        "artefact_after_gap": _bool("artefact_after_gap", out["artefact_after_gap"]),
        "agree": {n: [agree[n][0], agree[n][1]] for n in k.names if n in agree},
        "clear_margin": {n: _int(f"clear_margin.{n}", margin[n], 1, 32767)
                         for n in k.names if n in margin},
        "quality_signals": _names("quality_signals", out["quality_signals"], k),
        "stale_minutes": {c: _int(f"stale_minutes.{c}", stale[c], 1, 1000) for c in CADENCES},
        "frozen_signals": _names("frozen_signals", out["frozen_signals"], k),
        "frozen_minutes": _int("frozen_minutes", out["frozen_minutes"], 2, 1000),
        "cadence": {n: cadence[n] for n in k.names},
    }
    if len(rules(result, k)) > MAX_RULES:
        raise SafetyError(f"safety.limits: at most {MAX_RULES} bounds (RESULT has 4 bits)")
    if k.n > 16:
        raise SafetyError("safety: at most 16 signals (the floor record's cause has 4 bits)")
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


def samples(minutes: int, period_s: int = SAMPLE_PERIOD_S) -> int:
    """Minutes -> samples at the sample period, rounded up (at most the u16 counters)."""
    return min(MAX_SAMPLES, math.ceil(minutes * 60 / period_s))


def timing(cfg: dict, k: Constants = TABLE, period_s: int = SAMPLE_PERIOD_S) -> dict:
    """What the device runs, in samples: sustain, artefact sustain, frozen limit, lookback,
    per rule the artefact step (0: none), agreement and jump signal (NO_AGREE: none) and
    bound, per signal the stale limit and the quality/frozen switches (generated into
    model_config.h, hashed into INFO held_sha256)."""
    agree, jump = cfg.get("agree", {}), cfg.get("artefact_jump", {})
    return {"sustain": samples(cfg["sustain_minutes"], period_s),
            "slow_sustain": samples(cfg["artefact_sustain_minutes"], period_s),
            "frozen": samples(cfg["frozen_minutes"], period_s),
            "lookback": cfg.get("artefact_lookback", 1),
            "after_gap": int(cfg.get("artefact_after_gap", False)),
            "step": [cfg["artefact_step"].get(k.names[i], 0) for i, _, _ in rules(cfg, k)],
            "jump": [k.names.index(jump[k.names[i]][0]) if k.names[i] in jump else NO_AGREE
                     for i, _, _ in rules(cfg, k)],
            "jump_bound": [jump[k.names[i]][1] if k.names[i] in jump else 0
                           for i, _, _ in rules(cfg, k)],
            "agree": [k.names.index(agree[k.names[i]][0]) if k.names[i] in agree else NO_AGREE
                      for i, _, _ in rules(cfg, k)],
            "agree_bound": [agree[k.names[i]][1] if k.names[i] in agree else 0
                            for i, _, _ in rules(cfg, k)],
            "clear": [cfg.get("clear_margin", {}).get(k.names[i], 0) for i, _, _ in rules(cfg, k)],
            "stale": [samples(cfg["stale_minutes"][cfg["cadence"][n]], period_s)
                      for n in k.names],
            "quality": [int(n in cfg["quality_signals"]) for n in k.names],
            "frozen_signal": [int(n in cfg["frozen_signals"]) for n in k.names]}


class SafetyFloor:
    """Sample-by-sample state machine of the safety floor (the firmware's `Safety`)."""

    def __init__(self, cfg: dict, k: Constants = TABLE,
                 period_s: int = SAMPLE_PERIOD_S) -> None:
        self.k = k
        t = timing(cfg, k, period_s)
        self.sustain, self.slow_sustain, self.frozen_limit = (t["sustain"], t["slow_sustain"],
                                                              t["frozen"])
        self.rules = rules(cfg, k)
        self.step, self.stale = t["step"], t["stale"]
        self.agree, self.agree_bound = t["agree"], t["agree_bound"]
        self.lookback, self.jump, self.jump_bound = t["lookback"], t["jump"], t["jump_bound"]
        self.after_gap, self.clear = t["after_gap"], t["clear"]
        self.quality, self.frozen_signal = t["quality"], t["frozen_signal"]
        self.lo = [int(x) for x in k.valid_min]
        self.hi = [int(x) for x in k.valid_max]
        self.reset()

    def reset(self) -> None:
        n = self.k.n
        self.run = [0] * len(self.rules)        # samples since the run's first reading; 0 none
        self.active = [False] * len(self.rules)
        self.slow = [False] * len(self.rules)   # the run opened with an artefact step
        self.age = [0] * n                      # samples since the last valid value or RESET
        self.last = [self.k.missing] * n        # last valid value
        self.prev = [self.k.missing] * n        # the valid value before `last`
        self.same = [0] * n                     # valid readings equal to `last` in a row

    def push(self, sample) -> tuple[int, int]:
        """Account one raw sample; returns its floor record (flags, cause)."""
        k = self.k
        x = [int(v) for v in sample]
        ok = [x[i] != k.missing and self.lo[i] <= x[i] <= self.hi[i] for i in range(k.n)]
        reason = 0
        for r, (i, high, bound) in enumerate(self.rules):   # reads the previous sample's state
            if self.run[r]:
                self.run[r] = min(self.run[r] + 1, MAX_SAMPLES)
            if ok[i]:
                v = x[i]
                beyond = v > bound if high else v < bound
                j = self.agree[r]
                if beyond and j != NO_AGREE and ok[j]:     # the other signal must agree
                    beyond = x[j] > self.agree_bound[r] if high else x[j] < self.agree_bound[r]
                if not beyond:
                    m = self.clear[r]  # deadband: a confirmed rule holds near its bound
                    held = self.active[r] and m > 0 and (bound - m < v <= bound if high
                                                         else bound <= v < bound + m)
                    if not held:
                        self.run[r], self.active[r], self.slow[r] = 0, False, False
                else:
                    if self.run[r] == 0 or self.age[i] > self.stale[i]:
                        self.run[r] = 1
                        self.slow[r] = (self.step[r] > 0
                                        and (self.age[i] <= self.stale[i] or self.after_gap)
                                        and self._stepped(i, v, high, self.step[r]))
                    j = self.jump[r]                    # motion: the other signal jumps
                    if (j != NO_AGREE and ok[j] and self.age[j] == 0   # valid then and now
                            and self.last[j] != k.missing
                            and abs(x[j] - self.last[j]) >= self.jump_bound[r]):
                        self.slow[r] = True
                    need = self.slow_sustain if self.slow[r] else self.sustain
                    if self.run[r] >= need:
                        self.active[r] = True
            if self.active[r] and reason == 0:
                reason = r + 1
        cause = 0
        for i in range(k.n):
            if ok[i]:
                inside = self.lo[i] < x[i] < self.hi[i]
                self.same[i] = (min(self.same[i] + 1, MAX_SAMPLES) if x[i] == self.last[i]
                                else 1) if inside else 0
                self.prev[i], self.last[i], self.age[i] = self.last[i], x[i], 0
            else:
                self.age[i] = min(self.age[i] + 1, MAX_SAMPLES)
            if cause == 0:
                if self.quality[i] and self.age[i] > self.stale[i]:
                    cause = CAUSE_STALE << 4 | i
                elif self.frozen_signal[i] and self.same[i] > self.frozen_limit:
                    cause = CAUSE_FROZEN << 4 | i
        return (reason << REASON_SHIFT) | (FLAG_QUALITY if cause else 0), cause

    def _stepped(self, i: int, v: int, high: bool, step: int) -> bool:
        """v is at least `step` beyond one of signal i's last `lookback` valid values."""
        refs = (self.last[i], self.prev[i])[:self.lookback]
        return any(ref != self.k.missing and (v - ref if high else ref - v) >= step
                   for ref in refs)


def stream_records(raw: np.ndarray, cfg: dict | None, k: Constants = TABLE,
                   period_s: int = SAMPLE_PERIOD_S) -> np.ndarray:
    """Floor records uint8 [T, 2] (flags, cause) after each sample of one stream starting
    at a reset; zeros when the floor is off."""
    raw = np.asarray(raw)
    if cfg is None:
        return np.zeros((len(raw), 2), np.uint8)
    floor = SafetyFloor(cfg, k, period_s)
    return np.array([floor.push(s) for s in raw.tolist()], np.uint8).reshape(len(raw), 2)


def stream_flags(raw: np.ndarray, cfg: dict | None, k: Constants = TABLE,
                 period_s: int = SAMPLE_PERIOD_S) -> np.ndarray:
    """Safety flag bits [T] (uint8) after each sample of one stream starting at a reset."""
    return stream_records(raw, cfg, k, period_s)[:, 0].copy()


def reason_name(reason: int, cfg: dict, k: Constants = TABLE) -> str:
    """Human-readable rule for a reason number, e.g. 'map < 50'."""
    if reason == 0:
        return "none"
    r = rules(cfg, k)
    if not 1 <= reason <= len(r):
        return f"unknown rule {reason}"
    i, high, bound = r[reason - 1]
    return f"{k.names[i]} {'>' if high else '<'} {bound}"


def cause_name(cause: int, k: Constants = TABLE) -> str:
    """Human-readable quality cause, e.g. 'quality: spo2 frozen' ('none' for 0)."""
    if cause == 0:
        return "none"
    i, kind = cause & 0x0F, cause >> 4
    name = k.names[i] if i < k.n else f"signal {i}"
    return f"quality: {name} {CAUSE_KINDS.get(kind, f'kind {kind}')}"


def record_rule(flags: int, cause: int, cfg: dict, k: Constants = TABLE) -> str:
    """The rule a floor record shows: the hard limit when one is active, else the quality
    cause, else 'none'."""
    reason = flags >> REASON_SHIFT
    return reason_name(reason, cfg, k) if reason else cause_name(cause, k)
