"""argparse types for numeric options: a bad value exits 2 with one line naming the option.

    parser.add_argument("--baud", type=POSITIVE_INT, default=115200)
"""
from __future__ import annotations

import argparse
import math


def _number(kind, minimum, what):
    """argparse type: a `kind` number >= minimum (> 0 for `positive`); exit 2 otherwise."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        ok = value > 0 if minimum == "positive" else value >= minimum
        if not ok or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {what}")
        return value
    return parse


POSITIVE_INT = _number(int, "positive", "a positive whole number")
NONNEG_INT = _number(int, 0, "a whole number >= 0")
POSITIVE_FLOAT = _number(float, "positive", "a positive number")
NONNEG_FLOAT = _number(float, 0, "a number >= 0")
