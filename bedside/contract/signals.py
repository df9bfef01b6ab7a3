"""The bedside signals: names, raw integer units, order and integer preprocessing constants.

This table is the single definition of what the device samples. The converter copies it
into manifest.json and the firmware's generated header; nothing else restates it.

Raw samples are int16 in the units below; MISSING (-32768) means "no value". A raw value
outside [valid_min, valid_max] is implausible (probe off, artifact) and is treated as
missing. `center` maps to model input 0 and one `spread` maps to 1.0 (int8 value 32), so
the model sees roughly z-scores clipped to [-4, 3.97]. Centres are adult normals and
spreads about one ICU-population standard deviation (see docs/simulator.md for sources).
`carry_limit` is how many samples a last valid value is carried forward before the signal
is filled with its centre (temperature is charted rarely, so it is carried longest).
"""
from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def physical_unit(self) -> str:
        """Unit of raw * raw_scale (e.g. degC for temperature in 0.1 degC)."""
        return self.unit.split(" ", 1)[1] if self.raw_scale != 1.0 else self.unit

    @property
    def multiplier(self) -> int:
        return int(round(INPUT_SCALE_INV / self.spread * (1 << FIXED_POINT_SHIFT)))


SIGNALS: tuple[Signal, ...] = (
    Signal("hr", "bpm", 1.0, 80, 18.0, 20, 300, 15),
    Signal("sbp", "mmHg", 1.0, 120, 22.0, 30, 300, 15),
    Signal("dbp", "mmHg", 1.0, 65, 13.0, 10, 200, 15),
    Signal("map", "mmHg", 1.0, 82, 14.0, 20, 250, 15),
    Signal("spo2", "%", 1.0, 97, 3.0, 50, 100, 15),
    Signal("rr", "breaths/min", 1.0, 18, 5.0, 3, 80, 15),
    Signal("temp", "0.1 degC", 0.1, 370, 8.0, 250, 450, 240),
)
SIGNAL_NAMES: tuple[str, ...] = tuple(s.name for s in SIGNALS)
N_SIGNALS = len(SIGNALS)


def check_ranges() -> None:
    """The fixed-point product must fit int32 on the device for every valid input."""
    for s in SIGNALS:
        worst = max(abs(s.valid_max - s.center), abs(s.valid_min - s.center))
        if worst * s.multiplier + (1 << (FIXED_POINT_SHIFT - 1)) >= 2**31:
            raise ValueError(f"signal {s.name}: fixed-point product overflows int32")


check_ranges()
