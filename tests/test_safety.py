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
    """Centres with HR and SpO2 moving by one unit every other minute (a live patient: a
    flat line is a frozen signal), then `held` {signal: (start, stop, value)}."""
    raw = np.tile(TABLE.center.astype(np.int16), (n, 1))
    raw[1::2, [TABLE.names.index("hr"), TABLE.names.index("spo2")]] += 1
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


def test_deadband_holds_a_confirmed_rule_near_its_bound():
    """An active rule holds while the value is inside its bound by less than the deadband
    (MAP 5 mmHg: 50..54), clears at the margin, and a run not yet confirmed still closes at
    the bound: a value hovering at the bound is one alarm, and no alarm starts earlier."""
    assert CFG["clear_margin"]["map"] == 5
    raw = stream(30, map=(0, 30, 45))
    raw[5:20:4, MAP] = 52                                    # every fourth reading inside
    on = reason(safety.stream_flags(raw, CFG)) != 0
    assert not on[:2].any() and on[2:20].all()               # one episode from sample 2
    raw[20:, MAP] = 54
    assert reason(safety.stream_flags(raw, CFG))[20:].all()   # still inside the deadband
    raw[25:, MAP] = 55
    flags = reason(safety.stream_flags(raw, CFG))
    assert flags[24] and not flags[25:].any()               # cleared at bound + margin
    early = stream(10, map=(0, 10, 45))
    early[1, MAP] = 52                                       # before confirming: closes
    assert reason(safety.stream_flags(early, CFG))[:4].sum() == 0
    without = safety.normalize({**safety.DEFAULT, "clear_margin": {}})
    on = reason(safety.stream_flags(raw, without)) != 0
    assert int((on[1:] & ~on[:-1]).sum()) > 1                # without it: one per crossing


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
    nothing = safety.stream_flags(np.full((20, TABLE.n), TABLE.missing, np.int16), CFG)
    assert not (nothing[:15] & safety.FLAG_QUALITY).any()    # stale 15 min after RESET
    assert (nothing[15:] & safety.FLAG_QUALITY).all()


def rule_of(raw, cfg=CFG) -> list[str]:
    rec = safety.stream_records(raw, cfg)
    return [safety.record_rule(int(f), int(c), cfg) for f, c in rec]


def test_flagged_from_the_first_sample_after_reset():
    """Near-arrest from admission: confirmed at the third sample (3 minutes), no window
    needed."""
    raw = stream(5, hr=(0, 5, 35), spo2=(0, 5, 75), map=(0, 5, 40))
    assert rule_of(raw)[:4] == ["none", "none", "hr < 40", "hr < 40"]


def test_cuff_readings_confirm_at_the_next_reading():
    """SBP 65 on every cuff reading (every 15 min, missing between): flagged at the second
    reading; one low reading between normal ones is not."""
    raw = stream(50, sbp=(0, 50, TABLE.missing))
    raw[0::15, TABLE.names.index("sbp")] = 65
    rules = rule_of(raw)
    assert rules[14] == "none" and rules[15] == "sbp < 70"
    raw[15, TABLE.names.index("sbp")] = 110                   # low, normal, low, ...
    assert "sbp < 70" not in rule_of(raw)[:30]
    assert not any("quality" in r for r in rule_of(raw))     # a cuff is not stale at 15 min


def test_abrupt_spo2_drop_needs_the_artefact_sustain_but_is_still_caught():
    raw = stream(30, spo2=(10, 30, 75))                      # 97 -> 75 within a minute
    rules = rule_of(raw)
    assert rules[10 + 8] == "none" and rules[10 + 9] == "spo2 < 85"   # 10 minutes
    gradual = stream(30, spo2=(10, 30, 84))
    gradual[8, TABLE.names.index("spo2")], gradual[9, TABLE.names.index("spo2")] = 90, 87
    assert rule_of(gradual)[12] == "spo2 < 85"                # 3 minutes


def test_step_is_measured_across_a_gap_and_over_two_minutes():
    """artefact_step from the last two valid values while SpO2 is not stale: a probe
    re-attached after a gap and a fall over two minutes wait the artefact sustain (6
    minutes of artefact: no alarm); with one value they alarm at 3 minutes; a value that
    persists is confirmed at 10."""
    spo2 = TABLE.names.index("spo2")
    gap = stream(40, spo2=(10, 15, TABLE.missing))
    gap[15:21, spo2] = 78
    assert set(rule_of(gap)) == {"none"}
    two = stream(40, spo2=(10, 17, 80))
    two[10, spo2] = 86                                        # 97 -> 86 -> 80
    assert set(rule_of(two)) == {"none"}
    one = safety.normalize({"artefact_lookback": 1})
    assert rule_of(two, one)[13] == "spo2 < 85"               # a step of 6 from 86
    persist = stream(40, spo2=(10, 15, TABLE.missing))
    persist[15:, spo2] = 78
    rules = rule_of(persist)
    assert rules[15 + 8] == "none" and rules[15 + 9] == "spo2 < 85"


def test_step_across_a_stale_gap_but_never_from_reset():
    """artefact_after_gap: a probe re-applied after a gap longer than the stale limit (15
    min) with 78 % for 6 minutes does not alarm (quality while stale); with the rule off it
    alarms at 3 minutes; a value that persists is confirmed at 10; SpO2 missing from RESET
    (no value to step from) then 78 % alarms at 3 minutes either way: no blind start."""
    spo2 = TABLE.names.index("spo2")
    gap = stream(60, spo2=(10, 30, TABLE.missing))
    gap[30:36, spo2] = 78
    rules = rule_of(gap)
    assert rules[10 + 15] == "quality: spo2 stale" and "spo2 < 85" not in rules
    off = safety.normalize({"artefact_after_gap": False})
    assert rule_of(gap, off)[32] == "spo2 < 85"
    gap[36:, spo2] = 78
    rules = rule_of(gap)
    assert rules[30 + 8] == "none" and rules[30 + 9] == "spo2 < 85"
    fresh = stream(60, spo2=(0, 20, TABLE.missing))
    fresh[20:, spo2] = 78
    for cfg in (CFG, off):
        assert rule_of(fresh, cfg)[21] != "spo2 < 85" and rule_of(fresh, cfg)[22] == "spo2 < 85"


def test_hr_jump_delays_spo2_low_but_a_desaturation_hr_follows_alarms():
    """artefact_jump {spo2: [hr, 20]}: SpO2 sliding into 82-84 % while HR jumps by 20
    or more waits the artefact sustain; the same slide with HR moving 3 /min alarms at 3
    minutes; near-arrest vitals from RESET (no previous HR: no jump) still alarm at 3."""
    spo2, hr = TABLE.names.index("spo2"), TABLE.names.index("hr")
    raw = stream(40)
    raw[6:17, spo2] = [94, 92, 90, 88, 86, 84, 83, 82, 83, 82, 84]
    steady = rule_of(raw)
    assert steady[13] == "spo2 < 85"
    raw[12, hr] += 25
    assert set(rule_of(raw)) == {"none"}
    raw[12, hr] -= 6                                          # a jump of 19: no artefact
    assert rule_of(raw)[13] == "spo2 < 85"
    arrest = stream(5, hr=(0, 5, 35), spo2=(0, 5, 75), map=(0, 5, 40))
    assert rule_of(arrest)[2] == "hr < 40"


def test_rr_step_delays_a_motion_rise_but_a_persisting_tachypnoea_is_caught():
    """The RR artefact step (10 /min, docs/safety.md): 18 -> 40 within a minute waits the
    artefact sustain, so 5 minutes of motion do not alarm; a persisting rise alarms at 10
    minutes; a gradual one (under 10 /min over the last two values) at the 3-minute
    sustain."""
    motion = rule_of(stream(40, rr=(10, 15, 40)))
    assert all(r == "none" for r in motion)
    rules = rule_of(stream(40, rr=(10, 40, 40)))
    assert rules[10 + 8] == "none" and rules[10 + 9] == "rr > 35"
    gradual = stream(30, rr=(10, 30, 40))
    for t, v in enumerate((26, 30, 34, 37), start=7):
        gradual[t, TABLE.names.index("rr")] = v
    assert rule_of(gradual)[12] == "rr > 35"


def test_bench_safety_burden_compares_candidates_without_the_test_split(tmp_path, capsys):
    """`bedside bench safety --burden`: every candidate's burden on the development
    patients (training and validation splits; `--patients validation`: validation only) in
    safety_burden.json, without a device; a run without a cohort is refused with exit 2."""
    run = tmp_path / "run"
    assert main(["data", str(run), "--quick", "--seed", "0"]) == 0
    capsys.readouterr()
    assert main(["bench", "safety", str(run), "--burden", "--patients", "validation",
                 "--json"]) == 0
    val = json.loads(capsys.readouterr().out)
    assert val["split"] == "validation" and val["splits"] == ["val"]
    assert main(["bench", "safety", str(run), "--burden"]) == 0
    res = json.loads((run / "safety_burden.json").read_text())
    from bedside.training.floor_burden import CANDIDATES
    assert res["split"] == "development" and res["splits"] == ["train", "val"]
    assert set(res["candidates"]) == set(CANDIDATES)
    name = "last_two_values_hr_jump_20"
    assert res["candidates"][name]["patients"] > val["candidates"][name]["patients"]
    assert res["fewest_false_alarms"] in CANDIDATES
    chosen = res["chosen"]
    assert chosen["name"] == res["fewest_false_alarms"]
    assert chosen["false_alarms"] == min(c["false_alarms"] for c in res["candidates"].values())
    assert chosen["change"] == CANDIDATES[chosen["name"]]
    for c in res["candidates"].values():
        assert c["patients"] > 0 and c["false_alarms"] <= c["alarm_episodes"]
    # the lookback and jump rules only delay: they never add an episode
    cand = res["candidates"]
    assert (cand["last_two_values_hr_jump_20"]["alarm_episodes"]
            <= cand["step_from_last_two_values"]["alarm_episodes"]
            <= cand["step_from_last_value"]["alarm_episodes"])
    # the deadband only holds an alarm that is on: fewer episodes, no event loses its alarm
    before = cand["last_two_values_hr_jump_20_step_across_stale_gap"]
    for name in ("deadband_bp_5", "deadband_bp_5_hr_5", "deadband_bp_5_hr_5_spo2_2"):
        assert cand[name]["alarm_episodes"] <= before["alarm_episodes"]
        assert (cand[name]["events_alarmed_within_horizon"]
                >= before["events_alarmed_within_horizon"])
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "run.json").write_text("{}")
    (empty / ".bedside-made").write_text("")
    capsys.readouterr()
    assert main(["bench", "safety", str(empty), "--burden"]) == 2
    assert "cohort not found" in capsys.readouterr().err


def test_frozen_signal_sets_quality_but_not_at_the_top_of_the_scale():
    raw = np.tile(TABLE.center.astype(np.int16), (40, 1))    # HR 80, SpO2 97 unchanging
    rules = rule_of(raw)
    assert rules[29] == "none" and rules[30] == "quality: hr frozen"
    wobble = raw.copy()
    wobble[::2, 0] = 81
    wobble[:, TABLE.names.index("spo2")] = 100
    assert set(rule_of(wobble)) == {"none"}


@pytest.mark.parametrize("bad, field", [
    ({"sustain_minutes": 1}, "safety.sustain_minutes"),
    ({"sustain_samples": 3}, "safety.sustain_samples: unknown field"),
    ({"cadence": {"hr": "hourly"}}, "safety.cadence"),
    ({"stale_minutes": {"continuous": 15}}, "safety.stale_minutes"),
    ({"limits": {"pulse": [40, None]}}, "unknown signal 'pulse'"),
    ({"limits": {"hr": [150, 40]}}, "safety.limits.hr"),
    ({"limits": {"hr": ["40", None]}}, "safety.limits.hr"),
    ({"quality_signals": ["hr", "x"]}, "safety.quality_signals"),
    ({"artefact_lookback": 3}, "safety.artefact_lookback"),
    ({"artefact_jump": {"spo2": ["spo2", 20]}}, "safety.artefact_jump"),
    ({"artefact_jump": {"spo2": ["hr", 0]}}, "safety.artefact_jump"),
    ({"artefact_after_gap": 1}, "safety.artefact_after_gap"),
    ({"clear_margin": {"pulse": 5}}, "safety.clear_margin"),
    ({"clear_margin": {"map": 0}}, "safety.clear_margin.map"),
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
    assert report["n_cases"] >= 25 and report["passed"]
    for name, c in cases.items():
        assert c["passed"] and c["matches_reference"], name
        assert c["observed_rule"] == c["expected_rule"], name
        assert c["expected_rule"] == "none" or c["minutes_to_flag"] <= c["bound_minutes"], name
    assert cases["near_arrest_from_reset"]["observed_rule"] == "hr < 40"
    assert cases["near_arrest_from_reset"]["minutes_to_flag"] == 3      # no blind start
    assert cases["cuff_sbp_65_every_reading"]["minutes_to_flag"] == 16  # the next reading
    assert cases["spo2_frozen"]["observed_rule"] == "quality: spo2 frozen"
    assert cases["spo2_probe_artefact_5min"]["observed_rule"] == "none"
    assert cases["all_missing_from_reset"]["observed_rule"] == "quality: hr stale"
    assert cases["rr_motion_step_5min"]["observed_rule"] == "none"
    assert cases["tachypnoea_abrupt_persisting"]["minutes_to_flag"] == 10
    assert cases["tachypnoea_gradual"]["minutes_to_flag"] == 3
    # the SpO2 artefact rules (artefact_lookback, artefact_jump): artefacts do not alarm as
    # SpO2 low, a probe falling off is quality, a true desaturation alarms in time
    for name in ("spo2_probe_artefact_after_gap", "spo2_artefact_over_two_minutes",
                 "spo2_motion_hr_jumping"):
        assert cases[name]["observed_rule"] == "none", name
    assert cases["spo2_probe_off_low_then_missing"]["observed_rule"] == "quality: spo2 stale"
    assert cases["hypoxaemia_hr_agreeing"]["observed_rule"] == "spo2 < 85"
    assert cases["hypoxaemia_hr_agreeing"]["minutes_to_flag"] <= 4
    assert cases["hypoxaemia_hr_jump_persisting"]["minutes_to_flag"] <= 11
    assert cases["spo2_low_from_reset"]["minutes_to_flag"] == 3
    # artefact_after_gap: a probe re-applied after a stale gap is quality, never SpO2 low;
    # a low that persists after it alarms within the slow bound; none before it: 3 minutes
    reapplied = cases["spo2_probe_reapplied_after_long_gap"]
    assert reapplied["never_rule"] == "spo2 < 85" and not reapplied["never_rule_reported"]
    assert cases["hypoxaemia_after_long_gap_persisting"]["minutes_to_flag"] == 10
    assert cases["hypoxaemia_first_reading_after_long_gap_from_reset"]["minutes_to_flag"] == 3


def test_bench_safety_with_the_map_agreement_rule(converted_run_dir, tmp_path, capsys):
    """config.safety.agree reaches the generated firmware and the INFO held hash: an
    SBP-only low with a normal MAP does not alarm, SBP low with MAP agreeing does, and every
    other case still passes on the host firmware."""
    from tests.fixtures.convert import copy_run
    from tests.fixtures.training import run_bedside
    run = copy_run(converted_run_dir, tmp_path / "run")
    info = json.loads((run / "run.json").read_text())
    info["config"]["safety"] = {"agree": {"sbp": ["map", 65]}}
    (run / "run.json").write_text(json.dumps(info))
    run_bedside("convert", str(run))
    manifest = json.loads((run / "int8" / "manifest.json").read_text())
    assert manifest["alarm"]["safety"]["agree"] == {"sbp": ["map", 65]}
    assert main(["bench", "safety", str(run)]) == 0, capsys.readouterr().err
    cases = json.loads((run / "safety.json").read_text())["cases"]
    assert all(c["passed"] for c in cases.values())
    assert cases["art_line_damped_sbp_only"]["observed_rule"] == "none"
    assert cases["hypotension_map_agreeing"]["observed_rule"] == "sbp < 70"


@pytest.mark.qemu
def test_bench_safety_on_the_emulated_microbit(converted_run_dir, tmp_path, capsys):
    """The same cases on a Cortex-M0 board in QEMU: every floor record equals the reference."""
    import shutil
    from bedside.host_tools.builder.firmware import TARGETS
    t = TARGETS["microbit"]
    if any(shutil.which(x) is None for x in (t.compiler, *t.qemu[:1])):
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not installed")
    run = tmp_path / "run"
    shutil.copytree(converted_run_dir, run, ignore=shutil.ignore_patterns("firmware"))
    assert main(["bench", "safety", str(run), "--target", "microbit"]) == 0, \
        capsys.readouterr().err
    report = json.loads((run / "safety-microbit.json").read_text())
    assert report["board"] == "microbit" and report["n_cases"] >= 25 and report["passed"]
    assert all(c["matches_reference"] for c in report["cases"].values())


def test_floor_burden_counts_episodes_before_onset_and_false_ones():
    """training/floor_burden.py: an episode is false without an event within the horizon;
    time after onset does not count; quality time is split by signal and BP source."""
    from bedside.training import floor_burden

    class Cohort:                                    # the three fields the burden reads
        def __init__(self, streams, onsets):
            self.streams, self.onset = streams, np.asarray(onsets)

        def stream(self, i):
            return self.streams[i]

        def indices(self, split):
            return np.arange(len(self.streams))

    a = stream(600, map=(100, 110, 45))               # no event: a false episode
    b = stream(600, map=(470, 480, 45), spo2=(520, 600, TABLE.missing))
    b[550:, MAP] = 30                                 # after onset 500: not counted
    cfg = {"horizon_min": 60}
    res = floor_burden.evaluate(Cohort([a, b], [-1, 500]), cfg, n_boot=20, seed=0)
    assert res["alarm_episodes"] == 2 and res["false_alarms"] == 1
    assert res["by_rule"] == {"map < 50": {"episodes": 2, "false": 1}}
    assert res["patient_days"] == round(1100 / 1440, 3)
    assert res["false_alarms_per_patient_day"] == pytest.approx(1440 / 1100)
    assert res["events"] == 1 and res["events_alarmed_within_horizon"] == 1
    assert res["quality_time_fraction"] == 0                 # SpO2 lost after onset only
    assert set(res["quality_time_by_bp_source"]) == {"arterial line"}
    assert floor_burden.evaluate(Cohort([a], [-1]), {"horizon_min": 60, "safety": None},
                                 1, 0) is None
