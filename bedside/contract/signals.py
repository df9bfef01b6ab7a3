"""The bedside signals: names, raw integer units, order and integer preprocessing constants.

This table seeds a run's contract: `bedside convert` copies it into manifest.json, and from
then on the run's manifest is the only source (`Constants.from_manifest`): the generated
firmware header and the Python reference both read the manifest, so editing this table
never changes what an existing run is verified against. Training uses `TABLE`.

Raw samples are int16 in the units below; MISSING (-32768) means "no value". A raw value
outside [valid_min, valid_max] is implausible (probe off, artifact) and is treated as
missing. `center` maps to model input 0 and one `spread` maps to 1.0 (int8 value 32), so
the model sees roughly z-scores clipped to [-4, 3.97]. Centres are adult normals and
spreads about one ICU-population standard deviation (see docs/simulator.md for sources).
`carry_limit` is how many samples a last valid value is carried forward before the signal
is filled with its centre (temperature is charted rarely, so it is carried longest).
`cadence` is the slowest source a signal may come from, which the safety floor
(contract/safety.py) times its rules by: `continuous` (a monitor trend, a value every
minute), `cuff` (an oscillometric cuff every 5-15 min, or an arterial line every minute),
`charted` (entered by hand every 1-5 h).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MISSING = -32768          # reserved raw value: no sample
SAMPLE_PERIOD_S = 60      # one trend sample per minute
INPUT_SCALE_INV = 32      # model input = q / 32, q = int8 (input scale 1/32, zero point 0)
FIXED_POINT_SHIFT = 16    # q = (d * multiplier + 2**15) >> 16


@dataclass(frozen=True)
class Signal:
    name: str
    unit: str
    raw_scale: float      # physical value = raw * raw_scale
    center: int           # raw units
    spread: float         # raw units per model-input unit
    valid_min: int        # raw units, inclusive
    valid_max: int
    carry_limit: int      # samples
    cadence: str = "continuous"   # continuous | cuff | charted (module docstring)

    @property
    def physical_unit(self) -> str:
        """Unit of raw * raw_scale (e.g. degC for temperature in 0.1 degC)."""
        return self.unit.split(" ", 1)[1] if self.raw_scale != 1.0 else self.unit

    @property
    def multiplier(self) -> int:
        return int(round(INPUT_SCALE_INV / self.spread * (1 << FIXED_POINT_SHIFT)))


SIGNALS: tuple[Signal, ...] = (
    Signal("hr", "bpm", 1.0, 80, 18.0, 20, 300, 15),
    Signal("sbp", "mmHg", 1.0, 120, 22.0, 30, 300, 15, "cuff"),
    Signal("dbp", "mmHg", 1.0, 65, 13.0, 10, 200, 15, "cuff"),
    Signal("map", "mmHg", 1.0, 82, 14.0, 20, 250, 15, "cuff"),
    Signal("spo2", "%", 1.0, 97, 3.0, 50, 100, 15),
    Signal("rr", "breaths/min", 1.0, 18, 5.0, 3, 80, 15),
    Signal("temp", "0.1 degC", 0.1, 370, 8.0, 250, 450, 240, "charted"),
)
CADENCES = ("continuous", "cuff", "charted")
CADENCE = {s.name: s.cadence for s in SIGNALS}   # the table's cadence per signal name
SIGNAL_NAMES: tuple[str, ...] = tuple(s.name for s in SIGNALS)
N_SIGNALS = len(SIGNALS)


class ConstantsError(ValueError):
    """Preprocessing constants the device could not run (names the field)."""


@dataclass(frozen=True, eq=False)
class Constants:
    """The integer preprocessing constants one device runs, per signal in input order."""
    names: tuple[str, ...]
    units: tuple[str, ...]
    raw_scale: np.ndarray      # float64: physical value = raw * raw_scale
    spread: np.ndarray         # float64, raw units per model-input unit (documentation)
    center: np.ndarray         # int32, raw units
    multiplier: np.ndarray     # int64, fixed point with `shift` fractional bits
    valid_min: np.ndarray      # int32, inclusive
    valid_max: np.ndarray      # int32, inclusive
    carry_limit: np.ndarray    # int64, samples
    missing: int = MISSING
    shift: int = FIXED_POINT_SHIFT
    input_scale_inv: int = INPUT_SCALE_INV

    @property
    def n(self) -> int:
        return len(self.names)

    @classmethod
    def from_signals(cls, signals: tuple[Signal, ...]) -> "Constants":
        return cls(tuple(s.name for s in signals), tuple(s.unit for s in signals),
                   np.array([s.raw_scale for s in signals], np.float64),
                   np.array([s.spread for s in signals], np.float64),
                   np.array([s.center for s in signals], np.int32),
                   np.array([s.multiplier for s in signals], np.int64),
                   np.array([s.valid_min for s in signals], np.int32),
                   np.array([s.valid_max for s in signals], np.int32),
                   np.array([s.carry_limit for s in signals], np.int64)).checked()

    @classmethod
    def from_manifest(cls, block: dict) -> "Constants":
        """From a manifest's `preprocessing` block; ConstantsError names a bad field."""
        def integer(where: str, v, lo: int, hi: int) -> int:
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ConstantsError(f"preprocessing.{where}: expected an integer in "
                                     f"[{lo}, {hi}], got {v!r}")
            return v

        if not isinstance(block, dict):
            raise ConstantsError("preprocessing: expected an object")
        rows = block.get("signals")
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise ConstantsError("preprocessing.signals: expected a non-empty list of objects")
        i16 = (-32768, 32767)
        cols: dict[str, list] = {k: [] for k in ("center", "multiplier", "valid_min",
                                                 "valid_max", "carry_limit")}
        names, units, scales, spreads = [], [], [], []
        for i, r in enumerate(rows):
            name = r.get("name")
            if not isinstance(name, str) or not name:
                raise ConstantsError(f"preprocessing.signals[{i}].name: expected a string")
            names.append(name)
            units.append(str(r.get("unit", "")))
            rs = r.get("raw_scale", 1.0)
            if not isinstance(rs, (int, float)) or isinstance(rs, bool) or not rs > 0:
                raise ConstantsError(f"preprocessing.signals[{i}].raw_scale: expected a "
                                     f"number > 0, got {rs!r}")
            scales.append(float(rs))
            sp = r.get("spread")
            if not isinstance(sp, (int, float)) or isinstance(sp, bool) or not sp > 0:
                raise ConstantsError(f"preprocessing.signals[{i}].spread: expected a "
                                     f"number > 0, got {sp!r}")
            spreads.append(float(sp))
            for k in ("center", "valid_min", "valid_max"):
                cols[k].append(integer(f"signals[{i}].{k}", r.get(k), *i16))
            cols["multiplier"].append(integer(f"signals[{i}].multiplier", r.get("multiplier"),
                                              1, 2**31 - 1))
            cols["carry_limit"].append(integer(f"signals[{i}].carry_limit", r.get("carry_limit"),
                                               0, 2**31 - 1))
        return cls(tuple(names), tuple(units), np.array(scales, np.float64),
                   np.array(spreads, np.float64), np.array(cols["center"], np.int32), np.array(cols["multiplier"], np.int64),
                   np.array(cols["valid_min"], np.int32), np.array(cols["valid_max"], np.int32),
                   np.array(cols["carry_limit"], np.int64),
                   integer("missing_value", block.get("missing_value"), *i16),
                   integer("shift", block.get("shift"), 1, 30),
                   integer("input_scale_inv", block.get("input_scale_inv"), 1, 1 << 16)).checked()

    def checked(self) -> "Constants":
        """The fixed-point product must fit int32 on the device for every valid input."""
        for i, name in enumerate(self.names):
            if self.valid_min[i] > self.valid_max[i]:
                raise ConstantsError(f"signal {name}: valid_min > valid_max")
            worst = max(abs(int(self.valid_max[i]) - int(self.center[i])),
                        abs(int(self.valid_min[i]) - int(self.center[i])))
            if worst * int(self.multiplier[i]) + (1 << (self.shift - 1)) >= 2**31:
                raise ConstantsError(f"signal {name}: fixed-point product overflows int32")
        return self

    def block(self) -> dict:
        """The manifest's `preprocessing` block (without personalization and hash)."""
        return {
            "missing_value": self.missing, "input_scale_inv": self.input_scale_inv,
            "shift": self.shift,
            "signals": [
                {"name": self.names[i], "unit": self.units[i],
                 "raw_scale": float(self.raw_scale[i]), "center": int(self.center[i]),
                 "spread": float(self.spread[i]),
                 "multiplier": int(self.multiplier[i]), "valid_min": int(self.valid_min[i]),
                 "valid_max": int(self.valid_max[i]), "carry_limit": int(self.carry_limit[i])}
                for i in range(self.n)],
        }


TABLE = Constants.from_signals(SIGNALS)   # what training uses and conversion seeds from
