"""Shortcut audit (training/audit.py, `bedside audit`): a clean simulated world passes,
a planted shortcut is flagged, and the command writes audit.json and exits 1."""
import json

import numpy as np
import pytest

from bedside import runinfo
from bedside.cli import main
from bedside.sources.cohort import Cohort
from bedside.sources.simulator import SimConfig, simulate_cohort
from bedside.training.audit import NUISANCE, PRIVILEGED, audit_cohort

CFG = {"window": {"length": 60, "stride": 5}, "horizon_min": 60,
       "personalization": {"enabled": True}}


@pytest.fixture(scope="module")
def patients():
    return [p for c in simulate_cohort(240, seed=11, cfg=SimConfig.short_stays()) for p in c]


def test_clean_world_passes_and_reports_every_variable(patients):
    res = audit_cohort(Cohort.from_patients(patients, seed=11), CFG)
    assert set(res["variables"]) == set(NUISANCE + PRIVILEGED)
    for name, row in res["variables"].items():
        assert row["kind"] == ("nuisance" if name in NUISANCE else "privileged")
        assert 0 <= row["auroc_val"] <= 1 and 0 <= row["auroc_test"] <= 1
    assert res["threshold"] == 0.6
    assert res["passed"] == (not res["flagged"])
    # 48 patients per split: window AUROCs of per-patient variables are noisy here; the
    # default cohort's audit is in docs/simulator.md. Time since admission stays near 0.5
    assert abs(res["variables"]["time_since_admission"]["auroc_test"] - 0.5) < 0.12


def test_planted_shortcuts_are_flagged(patients):
    # patient order: every event patient loaded first (records sorted by outcome)
    ordered = sorted(patients, key=lambda p: p.onset < 0)
    res = audit_cohort(Cohort.from_patients(ordered, seed=11), CFG)
    assert res["variables"]["patient_order"]["flagged"] and not res["passed"]
    assert min(res["variables"]["patient_order"]["auroc_val"],
               res["variables"]["patient_order"]["auroc_test"]) < 0.25
    assert "patient_order" in res["flagged"]
    # missingness: event patients' SpO2 never recorded in the 2 h before onset (an
    # extraction that drops the last charted hours of transferred patients)
    leaky = []
    for p in patients:
        q = type(p)(**vars(p))
        q.raw = p.raw.copy()
        if p.onset >= 0:
            q.raw[max(p.onset - 120, 0):p.onset, 4] = -32768
        leaky.append(q)
    res = audit_cohort(Cohort.from_patients(leaky, seed=11), CFG)
    assert res["variables"]["missing_student_window"]["flagged"]
    assert min(res["variables"]["missing_student_window"]["auroc_val"],
               res["variables"]["missing_student_window"]["auroc_test"]) > 0.65


def test_command_writes_audit_json(tmp_path, patients, capsys):
    from bedside import ownership
    run = tmp_path / "run"
    ordered = sorted(patients, key=lambda p: p.onset < 0)
    with ownership.session():                    # made by the kit, as `bedside data` does
        ownership.claim(run)
        Cohort.from_patients(ordered, seed=11).save(run / "data" / "cohort.npz")
        runinfo.merge(run, config={"seed": 11, **CFG})
    assert main(["audit", str(run)]) == 1                    # a shortcut: exit 1
    res = json.loads((run / "audit.json").read_text())
    assert res["passed"] is False and res["threshold"] == 0.6
    assert res["variables"]["patient_order"]["kind"] == "nuisance"
    assert "SHORTCUT" in capsys.readouterr().out
    assert main(["audit", str(tmp_path / "none")]) == 2      # no cohort: bad input
    # a folder the kit did not make (a user's file in it, no marker): refused, exit 2,
    # nothing written there
    foreign = tmp_path / "foreign"
    (foreign / "data").mkdir(parents=True)
    (foreign / "data" / "cohort.npz").write_bytes((run / "data" / "cohort.npz").read_bytes())
    (foreign / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["audit", str(foreign)]) == 2
    assert "bedside did not create" in capsys.readouterr().err
    assert sorted(p.name for p in foreign.iterdir()) == ["data", "notes.txt"]
    # the function the CLI calls
    from bedside.training.cmd_audit import audit
    assert audit(run) == 1 and json.loads((run / "audit.json").read_text())["passed"] is False


def test_a_failed_audit_fails_the_demo_but_not_the_quick_one(tmp_path):
    from bedside.demo import _audit_passed
    (tmp_path / "audit.json").write_text(json.dumps(
        {"threshold": 0.6, "passed": False, "flagged": ["time_since_admission"],
         "variables": {}}))
    assert _audit_passed(tmp_path, quick=False) is False
    assert _audit_passed(tmp_path, quick=True) is True
    (tmp_path / "audit.json").write_text(json.dumps(
        {"threshold": 0.6, "passed": True, "flagged": [], "variables": {}}))
    assert _audit_passed(tmp_path, quick=False) is True


def test_physionet_source_gets_the_same_check(tmp_path):
    """A PhysioNet-format cohort whose septic records all turn positive late in the stay:
    `bedside data --source physionet` then `bedside audit` flags the admission clock."""
    from tests.test_loaders import psv_row, write_psv
    folder = tmp_path / "psv"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(60):
        septic = i % 2 == 0
        rows = []
        for h in range(1, 31):
            hr = 80 + rng.normal(0, 5) + (15 if septic and h >= 18 else 0)
            rows.append(psv_row(hr=f"{hr:.0f}", spo2="97", temp="37.0", sbp="120", mp="85",
                                dbp="65", rr="16", label="1" if septic and h >= 20 else "0",
                                hour=h))
        write_psv(folder / f"p{i:06d}.psv", rows)
    run = tmp_path / "run"
    assert main(["data", str(run), "--source", "physionet", "--input", str(folder)]) == 0
    assert main(["audit", str(run)]) == 1
    res = json.loads((run / "audit.json").read_text())
    assert res["source"] == "physionet" and "time_since_admission" in res["flagged"]
