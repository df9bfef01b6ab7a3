"""On-device personalization: the integer baseline/re-centring of bedside/contract/personalize.py,
the C++ Personalizer (ASan/UBSan core tool) bit-exact on random and edge streams with
resets, the host firmware verified bit-exact across a RESET, the bench (--quick)
and its validation-only equal-sensitivity operating point."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bedside.host_tools.link.client import Device
from bedside.host_tools.builder.qemu import HostFirmware
from bedside.reference.pipeline import Contract, Reference
from bedside.host_tools.verify.verifier import Verifier
from bedside.contract import personalize, preprocess, signals
from bedside.sources.simulator import SimConfig, simulate_patient

from .test_firmware_core import edge_values, tool

SEED = 20261125
CFG = personalize.normalize(personalize.DEFAULT)
M = signals.MISSING


def c_personal(core_tool, raw: np.ndarray, resets: set[int], cfg: dict):
    """C++ (flag [T], q [T, C], centre [T, C], baseline [T, C]) with a RESET before the
    samples whose index is in `resets`."""
    head = [f"{signals.N_SIGNALS} {signals.FIXED_POINT_SHIFT} {M}"]
    head += [f"{s.center} {s.multiplier} {s.valid_min} {s.valid_max} {s.carry_limit}"
             for s in signals.SIGNALS]
    head.append(f"{cfg['calib_samples']} {cfg['blocks']} {cfg['block_min_valid']} "
                f"{cfg['min_blocks']}")
    head += [f"{cfg['limits'][s.name][0]} {cfg['limits'][s.name][1]}" for s in signals.SIGNALS]
    body = [str(len(raw))] + [f"{int(t in resets)} " + " ".join(map(str, row))
                              for t, row in enumerate(raw)]
    out = tool(core_tool, "personal", stdin="\n".join(head + body) + "\n")
    a = np.array([line.split() for line in out.splitlines()], dtype=np.int64)
    c = signals.N_SIGNALS
    return a[:, 0], a[:, 1:1 + c], a[:, 1 + c:1 + 2 * c], a[:, 1 + 2 * c:]


def python_personal(raw: np.ndarray, resets: set[int], cfg: dict):
    pre = preprocess.StreamingPreprocessor(cfg)
    flags, qs, cs, bs = [], [], [], []
    for t, row in enumerate(raw):
        if t in resets:
            pre.reset()
        qs.append(pre.push(row))
        z = pre.personalizer
        flags.append(int(z.calibrated))
        cs.append(z.center.copy())
        bs.append(z.baseline.copy())
    return np.array(flags), np.array(qs), np.array(cs), np.array(bs)


def _assert_equal(got, expected, what):
    for name, g, e in zip(("calibrated", "q", "centre", "baseline"), got, expected):
        bad = np.argwhere(np.asarray(g) != np.asarray(e))
        assert len(bad) == 0, f"{what}: {name} differs first at {bad[0]}: C " \
                              f"{np.asarray(g)[tuple(bad[0])]} vs Python {np.asarray(e)[tuple(bad[0])]}"


def random_stream(rng, t_len: int) -> np.ndarray:
    lo = np.array([s.valid_min for s in signals.SIGNALS]) - 20
    hi = np.array([s.valid_max for s in signals.SIGNALS]) + 20
    raw = rng.integers(lo, hi + 1, size=(t_len, signals.N_SIGNALS)).astype(np.int16)
    raw[rng.random(raw.shape) < rng.uniform(0.05, 0.9)] = M
    return raw


@pytest.mark.parametrize("cfg", [CFG, personalize.normalize(
    {"enabled": True, "calib_samples": 36, "blocks": 6, "block_min_valid": 3, "min_blocks": 3,
     "limits": {"hr": [0, 0], "spo2": [40, 3], "temp": [100, 100]}}),
    personalize.normalize({"enabled": True, "calib_samples": 7, "blocks": 1,
                           "block_min_valid": 1, "min_blocks": 1})],
    ids=["default", "six-blocks", "one-block"])
def test_cpp_personalizer_matches_python_across_resets(firmware_core_tool, cfg):
    rng = np.random.default_rng(SEED)
    raw = np.concatenate([random_stream(rng, n) for n in (400, 50, 260, 121, 119, 300)])
    raw[400:450] = M                                   # a patient with nothing at all
    raw[450:470] = edge_values().repeat(2, axis=0)[:20]
    resets = {0, 400, 450, 710, 831, 950}
    expected = python_personal(raw, resets, cfg)
    _assert_equal(c_personal(firmware_core_tool, raw, resets, cfg), expected, f"seed {SEED}")
    # the streaming twin equals the vectorized definition segment by segment
    bounds = sorted(resets) + [len(raw)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        np.testing.assert_array_equal(expected[1][a:b],
                                      preprocess.preprocess_stream(raw[a:b], cfg))
        centers, flag, _ = personalize.centers_stream(raw[a:b], cfg)
        np.testing.assert_array_equal(centers, expected[2][a:b])
        np.testing.assert_array_equal(flag, expected[0][a:b].astype(bool))


def test_baseline_is_robust_and_bounded():
    n = CFG["calib_samples"]
    c = np.array([s.center for s in signals.SIGNALS])
    raw = np.tile(c + np.array([35, 0, 0, -40, -6, 0, 0]), (n + 10, 1)).astype(np.int16)
    raw[:30, 0] = 250                       # plausible artifacts filling 2 of the 8 blocks
    raw[5:40, 1] = M                        # a long gap: blocks without data do not count
    raw[:, 6] = M
    raw[::40, 6] = 372                      # temperature charted 3 times: too few blocks
    base, offset = personalize.baseline(raw[:n], CFG)
    lim_lo, lim_hi = personalize.limit_arrays(CFG)
    assert base[0] == c[0] + 35             # the median ignores the artifact blocks ...
    assert offset[0] == lim_hi[0]           # ... and the hr shift is capped at +limit
    assert base[1] == c[1] and offset[1] == 0
    assert base[3] == c[3] - 40 and offset[3] == -lim_lo[3]   # MAP 42: shock not hidden
    assert base[4] == c[4] - 6 and offset[4] == -6            # COPD SpO2 91 %: re-centred
    assert base[6] == M and offset[6] == 0
    q = preprocess.preprocess_stream(raw, CFG)
    assert (q[:n - 1, 4] < 0).all() and (q[n - 1:, 4] == 0).all()
    assert (q[n - 1:, 3] < -48).all()       # the MAP of 42 still reads far below normal


def test_off_changes_nothing_and_bad_settings_are_refused():
    rng = np.random.default_rng(3)
    raw = random_stream(rng, 300)
    np.testing.assert_array_equal(preprocess.preprocess_stream(raw, None),
                                  preprocess.scale(preprocess.impute(raw)))
    assert personalize.normalize(None) is None
    assert personalize.normalize({"enabled": False, "blocks": 0}) is None
    for bad, field in (({"blocks": 7}, "calib_samples"), ({"blocks": 40}, "blocks"),
                       ({"limits": {"hr": [5]}}, "limits.hr"),
                       ({"limits": {"pulse": [1, 1]}}, "unknown"),
                       ({"min_blocks": 9}, "min_blocks")):
        with pytest.raises(personalize.PersonalizationError, match=field):
            personalize.normalize({"enabled": True, **bad})


def test_manifest_header_and_device_bit_exact_across_reset(converted_run_dir, host_firmware):
    contract = Contract.from_run(converted_run_dir)
    assert contract.personalization == CFG      # the quick profile has it on
    header = (converted_run_dir / "int8" / "gen" / "model_config.h").read_text()
    assert "#define BEDSIDE_GEN_PERSONALIZATION 1" in header
    assert f"kPersonalCalibSamples = {CFG['calib_samples']};" in header
    ref = Reference(contract)
    # an atypical patient (calibrates to its own baseline), then a RESET and a patient
    # reset before calibration ends, then one more full patient
    sim = SimConfig(atypical_rate=1.0)
    p1 = simulate_patient(SEED, 1, sim).raw[:400]
    p2 = simulate_patient(SEED, 2, sim).raw[:90]
    p3 = simulate_patient(SEED, 3, SimConfig()).raw[:300]
    with HostFirmware(host_firmware.binary) as fw:
        dev = Device(fw.url)
        try:
            verifier = Verifier(dev, contract, ref)
            verifier.handshake()
            flags = []
            for pid, raw in (("p1", p1), ("p2", p2), ("p3", p3)):
                results, floor = verifier._stream(pid, raw)   # RESET, then SAMPLES
                verifier._record(pid, ref.patient(raw), results)
                verifier._check_floor(pid, ref.patient(raw), floor)
                flags.append([r.flags & 1 for r in results])
                # CALIB: the baseline the device settled on equals the reference's
                centers, calibrated, base = personalize.centers_stream(raw, CFG)
                cal = dev.calibration(signals.N_SIGNALS)
                assert cal["calibrated"] == bool(calibrated[-1]), pid
                assert cal["samples"] == min(len(raw), CFG["calib_samples"])
                assert cal["calib_samples"] == CFG["calib_samples"]
                assert cal["center"] == centers[-1].tolist(), pid
                assert cal["baseline"] == (base.tolist() if base is not None
                                           else [M] * signals.N_SIGNALS), pid
            s = verifier.summary()
        finally:
            dev.close()
    assert verifier.mismatched == 0, verifier.mismatches[:3]
    assert verifier.verified == sum(len(f) for f in flags) > 100
    # window k ends at sample L - 1 + k * stride; calibrated from sample calib_samples - 1 on
    first_calibrated = -(-(CFG["calib_samples"] - contract.window_length) // contract.stride)
    assert flags[0][:first_calibrated] == [0] * first_calibrated and all(flags[0][first_calibrated:])
    assert not any(flags[1])                 # the RESET cleared it; p2 never calibrates
    assert all(flags[2][first_calibrated:]) and not any(flags[2][:first_calibrated])
    assert s["counts"]["mismatched"] == 0


def test_bench_quick_writes_json(quick_run_dir, tmp_path):
    from bedside.cli import main
    from tests.fixtures.convert import copy_run
    run_dir = copy_run(quick_run_dir, tmp_path / "run")
    assert main(["bench", "personalization", str(run_dir), "--quick"]) == 0
    r = json.loads((run_dir / "personalization.json").read_text())
    assert r["threshold_source"] == "validation" and r["settings"] == CFG
    assert r["operating_point"]["rule"] == "equal-sensitivity"
    (seed, s), = r["cohort_seeds"].items()
    # the subgroup is the observable one, stated and sized in the JSON
    assert r["subgroup"]["name"] == "off_norm_baseline" and r["target"]["group"] == "off_norm_baseline"
    sizes = s["subgroup_sizes"]
    assert sizes["test"]["in_subgroup"] == s["subgroup_test_patients"] <= sizes["test"]["patients"]
    # the doc tables render from this JSON, and --check then finds no drift
    doc = tmp_path / "doc.md"
    doc.write_text("".join(f"<!-- bedside:table personalization.{t} -->\n<!-- /bedside:table -->\n"
                           for t in ("subgroup", "cohorts", "pooled")))
    assert main(["docs", str(run_dir), "--doc", str(doc)]) == 0
    assert main(["docs", str(run_dir), "--doc", str(doc), "--check"]) == 0
    assert "| all |" in doc.read_text() and "| off norm baseline |" in doc.read_text()
    # each arm at or above the policy's sensitivity, with its validation figures
    for arm in ("with", "without"):
        a = s[arm]["alarm"]
        assert a["target_sensitivity"] >= r["alarm_policy"]["target_sensitivity"]
        assert set(a["validation"]) == {"overall", "off_norm_baseline"}
        assert isinstance(a["matched"], bool)
    for arm in ("with", "without"):
        # one alarm per model, chosen on validation, the same for both groups
        assert s[arm]["alarm"]["chosen_on"] == "val"
        for group in ("overall", "off_norm_baseline"):
            m = s[arm][group]
            assert m["threshold"] == s[arm]["alarm"]["threshold"]
            for key in ("false_alarms_per_patient_day", "event_sensitivity"):
                assert key in m and len(m[key + "_ci"]) == 2
    for group in ("overall", "off_norm_baseline"):
        red = s[group]["false_alarm_reduction"]   # None when there is no false alarm
        assert red is None or red <= 1.0
        assert set(s[group]["event_sensitivity"]) == {"with", "without"}
        assert set(s[group]["alarm_time_fraction"]) == {"with", "without"}
        assert len(s[group]["event_sensitivity_change_ci"]) == 2
        # pooled over one cohort is that cohort's own paired figures, CIs included
        pg = r["pooled"][group]
        for key in ("false_alarm_reduction", "false_alarm_reduction_ci",
                    "event_sensitivity_change", "event_sensitivity_change_ci",
                    "event_sensitivity", "false_alarms_per_patient_day"):
            assert pg[key] == s[group][key], key
        assert pg["events_alarmed"] == {arm: s[arm][group]["events_alarmed"]
                                        for arm in ("without", "with")}
    assert isinstance(r["target_met"], bool)
    assert r["target_met_cohorts"] == int(r["target_met"])



def test_bench_pipeline_trains_with_the_kit_stages_and_reuses_them(quick_run_dir, tmp_path,
                                                                    capsys):
    from bedside.cli import main
    from tests.fixtures.convert import copy_run
    run_dir = copy_run(quick_run_dir, tmp_path / "run")
    argv = ["bench", "personalization", str(run_dir), "--pipeline", "--quick"]
    assert main(argv) == 0
    out = run_dir / "personalization_pipeline.json"
    r = json.loads(out.read_text())
    assert r["students"].startswith("pipeline") and r["threshold_source"] == "validation"
    assert not (run_dir / "personalization.json").exists()      # the bench mode's file
    (seed, s), = r["cohort_seeds"].items()
    subs = {arm: Path(p) for arm, p in r["pipeline_runs"][seed].items()}
    for arm, sub in subs.items():
        cfg = json.loads((sub / "run.json").read_text())
        assert cfg["config"]["personalization"]["enabled"] == (arm == "with")
        assert set(cfg["stages"]) >= {"data", "train", "distill"}
        assert s[arm]["alarm"]["chosen_on"] == "val"
    models = {arm: (sub / "student" / "model.keras").stat().st_mtime_ns
              for arm, sub in subs.items()}
    capsys.readouterr()
    assert main(argv) == 0                                   # finished sub-runs are reused
    assert capsys.readouterr().out.count("reusing") == 2
    assert {arm: (sub / "student" / "model.keras").stat().st_mtime_ns
            for arm, sub in subs.items()} == models
    assert json.loads(out.read_text())["cohort_seeds"] == r["cohort_seeds"]
    assert main(argv + ["--epochs", "3"]) == 2

def test_bedside_verify_checks_calibration(converted_run_dir, host_firmware, tmp_path):
    from bedside.cli import main
    out = tmp_path / "verify"
    with HostFirmware(host_firmware.binary) as fw:
        assert main(["verify", "--port", fw.url, str(converted_run_dir), "--out", str(out),
                     "--float", "none", "--simulate", "2", "--seed", "5", "--no-plots"]) == 0
    r = json.loads((out / "verify.json").read_text())
    assert r["passed"] and r["counts"]["mismatched"] == 0
    assert r["personalization"] == {"enabled": True, "calibrations_checked": 2}


def _val_arm(rng, weak: set[int], neg_hi: float) -> dict:
    """Validation windows of 20 patients (100 windows each, the odd ones with an event in
    the last 12, patients 0-9 atypical): negatives score up to `neg_hi`, positives high
    except in `weak` patients."""
    y, p, pidx, ends, onset = [], [], [], [], []
    for i in range(20):
        lab = np.zeros(100, np.int8)
        if i % 2:
            lab[-12:] = 1
        score = rng.uniform(0.0, neg_hi, 100)
        if i % 2:
            score[-12:] = rng.uniform(0.25, 0.4, 12) if i in weak else rng.uniform(0.6, 1.0, 12)
        y.append(lab), p.append(score), pidx.append(np.full(100, i))
        ends.append(np.arange(100) * 5 + 59)
        onset.append(np.full(100, 100 * 5 + 59 if i % 2 else -1))
    cat = np.concatenate
    pidx = cat(pidx)
    return {"y": cat(y), "p": cat(p), "pidx": pidx, "ends": cat(ends), "onset": cat(onset),
            "sub": pidx < 10}


def test_equal_sensitivity_operating_point_uses_validation_only():
    from bedside.bench.personalization import _val_stats, operating_points
    policy = {"target_sensitivity": 0.8, "off_sensitivity": 0.9, "min_duration": 2}
    rng = np.random.default_rng(SEED)
    # the personalized arm scores negatives lower but also the positive windows of
    # atypical event patient 3: at the policy's point it misses that event, which the
    # population arm alarms
    val = {"without": _val_arm(rng, set(), 0.8), "with": _val_arm(rng, {3}, 0.3)}
    groups = {"overall": np.ones(2000, bool), "off_norm_baseline": val["with"]["sub"]}
    at_policy = operating_points(val, policy, "policy")
    for arm in ("with", "without"):
        assert at_policy[arm]["target_sensitivity"] == 0.8
    ref = {g: _val_stats(val["without"], at_policy["without"], m) for g, m in groups.items()}
    assert ref["off_norm_baseline"]["events_alarmed"] == 5
    assert _val_stats(val["with"], at_policy["with"], groups["off_norm_baseline"])[
        "events_alarmed"] == 4
    ops = operating_points(val, policy, "equal-sensitivity")
    for arm in ("with", "without"):
        a = ops[arm]
        assert a["matched"] and a["chosen_on"] == "val"
        for g, m in groups.items():
            st = _val_stats(val[arm], a, m)
            assert st == a["validation"][g]
            assert st["events_alarmed"] >= ref[g]["events_alarmed"]
            assert st["alarm_time_fraction"] <= ref[g]["alarm_time_fraction"]
        # never more validation false alarms than at the policy's point, when that qualifies
        assert a["validation"]["overall"]["false_per_window"] <= ref["overall"]["false_per_window"] \
            or arm == "with"
    # the personalized arm moved to a more sensitive point to catch patient 3's event
    assert ops["with"]["threshold"] < at_policy["with"]["threshold"]
    assert ops["with"]["off_sensitivity"] >= ops["with"]["target_sensitivity"]


def _rows(false, windows, event, alarmed):
    n = len(false)
    return {"false": np.array(false), "episodes": np.array(false) + 1,
            "windows": np.array(windows), "alarm_windows": np.ones(n, int),
            "pos_windows": np.array(event, int) * 12,
            "pos_alarm_windows": np.array(alarmed, int) * 3,
            "event": np.array(event, bool), "alarmed": np.array(alarmed, bool),
            "lead": np.full(n, np.nan)}


def test_pooled_sums_cohorts_and_resamples_within_each():
    from bedside.bench.personalization import pooled
    a = {(arm, g): _rows([4, 2, 0], [100, 100, 100], [1, 0, 1], [1, 0, arm == "with"])
         for arm in ("without", "with") for g in ("overall", "off_norm_baseline")}
    b = {(arm, g): _rows([6, 0] if arm == "without" else [1, 1], [200, 200], [1, 1],
                         [1, arm == "without"])
         for arm in ("without", "with") for g in ("overall", "off_norm_baseline")}
    p = pooled([a, b], stride=5, n_boot=50, seed=3)["off_norm_baseline"]
    assert p["patients"] == 5 and p["events"] == 4
    # false alarms: without 4+2+6 = 12, with the same rows as without in cohort a plus 2
    assert p["false_alarm_reduction"] == pytest.approx(1 - (4 + 2 + 2) / 12)
    assert p["events_alarmed"] == {"without": 3, "with": 3}
    assert p["event_sensitivity_change"] == 0.0
    days = 700 * 5 / 1440
    assert p["false_alarms_per_patient_day"]["without"] == pytest.approx(12 / days)
    assert p["positive_window_coverage"]["without"] == pytest.approx(3 * 3 / (4 * 12))
    lo, hi = p["false_alarm_reduction_ci"]
    assert lo <= p["false_alarm_reduction"] <= hi and lo < hi
    assert pooled([a, b], 5, 50, 3) == pooled([a, b], 5, 50, 3)     # deterministic


def test_observable_subgroup_reads_only_the_calibration_samples():
    """The bench's subgroup is what the device can see: its own first calib_samples raw
    samples against the population norms, never the simulator's hidden `atypical` flag."""
    from bedside.bench.personalization import NORM_SPREADS, observable_subgroup
    from bedside.sources.cohort import Cohort
    pts = [simulate_patient(SEED, i, SimConfig(atypical_rate=0.5)) for i in range(12)]
    cohort = Cohort.from_patients(pts, SEED, (0.6, 0.2, 0.2), source="simulate")
    sub = observable_subgroup(cohort, CFG)
    n = CFG["calib_samples"]
    # everything after the calibration and the hidden flag changed: the subgroup is not
    for i in range(cohort.n_patients):
        s = cohort.offsets[i]
        cohort.raw[s + n:cohort.offsets[i + 1]] = signals.MISSING
    cohort.atypical[:] = 1 - np.sign(cohort.atypical)
    assert list(observable_subgroup(cohort, CFG)) == list(sub)
    # a typical first-hours HR far above the population centre puts a patient in it...
    k = signals.TABLE
    hr = k.names.index("hr")
    far = int(k.center[hr] + (NORM_SPREADS + 0.5) * k.spread[hr])
    near = int(k.center[hr])
    s = cohort.offsets[0]
    cohort.raw[s:s + n] = np.asarray(k.center, np.int16)       # every signal at its centre
    assert not observable_subgroup(cohort, CFG)[0]
    cohort.raw[s:s + n, hr] = far
    assert observable_subgroup(cohort, CFG)[0]
    cohort.raw[s:s + n, hr] = near
    assert not observable_subgroup(cohort, CFG)[0]
    # ...and a stream shorter than the calibration never calibrates: not in it
    short = Cohort.from_patients([simulate_patient(SEED, 0, SimConfig())], SEED, (1.0, 0.0, 0.0),
                                 source="simulate")
    short.offsets[1] = n - 1
    short.raw = short.raw[:n - 1]
    short.raw[:, hr] = far
    assert not observable_subgroup(short, CFG)[0]
