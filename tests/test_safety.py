"""The safety floor (docs/safety.md): integer hard limits and a data-quality flag beside
the model, defined in bedside/contract/safety.py, mirrored in firmware/core/safety.h and
verified on the device like every other output."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bedside.cli import main
from bedside.contract import safety
from bedside.contract.signals import TABLE

CFG = safety.normalize(safety.DEFAULT)
MAP = TABLE.names.index("map")


def stream(n: int, **held) -> np.ndarray:
    raw = np.tile(TABLE.center.astype(np.int16), (n, 1))
    for name, (start, stop, value) in held.items():
        raw[start:stop, TABLE.names.index(name)] = value
    return raw


def reason(flags: np.ndarray) -> np.ndarray:
    return flags >> safety.REASON_SHIFT


def test_rules_are_numbered_in_signal_order_low_before_high():
    names = [safety.reason_name(r, CFG) for r in range(1, len(safety.rules(CFG)) + 1)]
    assert names == ["hr < 40", "hr > 150", "sbp < 70", "map < 50", "spo2 < 85", "rr < 6",
                     "rr > 35"]


def test_sustained_limit_alarms_and_a_short_one_does_not():
    flags = safety.stream_flags(stream(20, map=(5, 20, 45)), CFG)
    map_rule = 1 + [r[0] for r in safety.rules(CFG)].index(MAP)
    assert not reason(flags[:7]).any()                       # 3 samples needed: 5, 6, 7
    assert (reason(flags[7:]) == map_rule).all()
    assert not reason(safety.stream_flags(stream(20, map=(5, 7, 45)), CFG)).any()


def test_dropout_holds_the_run_and_a_normal_value_clears_it():
    raw = stream(12, map=(0, 12, 45))
    raw[2, MAP] = TABLE.missing                               # neither confirms nor clears
    flags = safety.stream_flags(raw, CFG)
    assert reason(flags[2]) == 0 and reason(flags[3]) != 0   # samples 0, 1, 3 count
    raw[6, MAP] = TABLE.center[MAP]                           # a valid normal value clears
    flags = safety.stream_flags(raw, CFG)
    assert reason(flags[6]) == 0 and reason(flags[8]) == 0 and reason(flags[9]) != 0


def test_first_active_rule_wins():
    flags = safety.stream_flags(stream(10, hr=(0, 10, 30), rr=(0, 10, 50)), CFG)
    assert safety.reason_name(int(reason(flags[-1])), CFG) == "hr < 40"


def test_quality_flag_when_a_required_signal_is_stale():
    spo2 = TABLE.names.index("spo2")
    limit = int(TABLE.carry_limit[spo2])
    flags = safety.stream_flags(stream(40, spo2=(5, 40, TABLE.missing)), CFG)
    quality = (flags & safety.FLAG_QUALITY) != 0
    assert not quality[:5 + limit].any() and quality[5 + limit:].all()
    assert (safety.stream_flags(stream(40, temp=(0, 40, TABLE.missing)), CFG) == 0).all()
    assert (safety.stream_flags(np.full((3, TABLE.n), TABLE.missing, np.int16), CFG)
            & safety.FLAG_QUALITY).all()                      # nothing measured yet


@pytest.mark.parametrize("bad, field", [
    ({"sustain_samples": 0}, "safety.sustain_samples"),
    ({"limits": {"pulse": [40, None]}}, "unknown signal 'pulse'"),
    ({"limits": {"hr": [150, 40]}}, "safety.limits.hr"),
    ({"limits": {"hr": ["40", None]}}, "safety.limits.hr"),
    ({"quality_signals": ["hr", "x"]}, "safety.quality_signals"),
])
def test_bad_settings_name_the_field(bad, field):
    with pytest.raises(safety.SafetyError, match=field.replace(".", r"\.")):
        safety.normalize(bad)


def test_bench_safety_on_the_host_firmware(converted_run_dir, capsys):
    manifest = json.loads((converted_run_dir / "int8" / "manifest.json").read_text())
    assert manifest["alarm"]["safety"] == CFG                # the defaults reach the manifest
    assert main(["bench", "safety", str(converted_run_dir)]) == 0, capsys.readouterr().err
    report = json.loads((converted_run_dir / "safety.json").read_text())
    cases = report["cases"]
    assert report["passed"] and all(c["passed"] and c["matches_reference"] for c in cases.values())
    assert cases["near_arrest"]["observed"] == "alarm"
    assert cases["all_missing"]["observed"] == "quality"
    assert cases["transient_map_45"]["observed"] == "none"
    assert cases["hypotension_map_45"]["reason"] == "map < 50"
    assert 3 <= cases["hypotension_map_45"]["samples_to_flag"] <= 3 + 5   # sustain + stride
