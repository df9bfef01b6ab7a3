"""Integer alarm logic on the int8 model output, mirrored by firmware/core/alarm.h.

The alarm turns on after `min_duration` consecutive windows with output >= on_q and
turns off at the first window with output < off_q (hysteresis: off_q <= on_q).
"""
from __future__ import annotations

import math

import numpy as np


def prob_to_q(p: float, scale: float, zero_point: int) -> int:
    """Smallest int8 output whose dequantized value is >= p."""
    q = math.ceil(p / scale - 1e-9) + zero_point
    return max(-128, min(127, q))


class Alarm:
    def __init__(self, on_q: int, off_q: int, min_duration: int) -> None:
        if off_q > on_q or min_duration < 1:
            raise ValueError("alarm needs off_q <= on_q and min_duration >= 1")
        self.on_q, self.off_q, self.min_duration = on_q, off_q, min_duration
        self.reset()

    def reset(self) -> None:
        self.active = False
        self.count = 0

    def step(self, q_out: int) -> bool:
        if self.active:
            if q_out < self.off_q:
                self.active = False
                self.count = 0
        else:
            self.count = self.count + 1 if q_out >= self.on_q else 0
            if self.count >= self.min_duration:
                self.active = True
        return self.active


def alarm_sequence(q_out: np.ndarray, on_q: int, off_q: int, min_duration: int) -> np.ndarray:
    alarm = Alarm(on_q, off_q, min_duration)
    return np.array([alarm.step(int(q)) for q in np.asarray(q_out).reshape(-1)], dtype=bool)
