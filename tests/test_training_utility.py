"""PhysioNet/CinC 2019 utility score: hand-computed cases, hourly mapping, and `bedside
evaluate` on a small synthetic PhysioNet-format directory written here."""
import json

import numpy as np
import pytest

from tests.fixtures.training import run_bedside
from tests.test_loaders import psv_row, write_psv
from bedside.training.utility import best_predictions, hourly_predictions, labels_from_onset, normalized_utility, patient_utility, psv_labels


def septic(first_label, n):
    lab = np.zeros(n, int)
    lab[first_label:] = 1
    return lab


def test_official_example_value():
    # the example in the challenge's evaluate_sepsis_score.py: t_sepsis = 4 + 6 = 10;
    # rows 2, 3 are 8 and 7 h early -> (12-8)/6 + (12-7)/6; rows 4, 5 are 6 h and 5 h
    # early -> 1 + 8/9
    assert patient_utility([0, 0, 0, 0, 1, 1], [0, 0, 1, 1, 1, 1]) == pytest.approx(
        4 / 6 + 5 / 6 + 1 + 8 / 9)


def test_hand_computed_rows():
    lab = septic(20, 40)            # t_sepsis = 26
    base = patient_utility(lab, np.zeros(40, int))       # the missed late hours (below)

    def row(t):                                          # utility of one alarm at row t
        return patient_utility(lab, np.eye(40, dtype=int)[t]) - base
    assert row(14) == pytest.approx(0.0)      # 12 h early: 0
    assert row(10) == pytest.approx(-0.05)    # too early: u_fp
    assert row(17) == pytest.approx(0.5)      # 9 h early
    assert row(20) == pytest.approx(1.0)      # optimal
    assert row(29) == pytest.approx(2.0)      # 3 h late: TP 0 instead of a miss's -2
    assert row(35) == 0.0                     # after +3 h: ignored
    # inaction: missed hours t_sepsis-5 .. t_sepsis+3 cost -2/9 * 1..9
    assert patient_utility(lab, np.zeros(40, int)) == pytest.approx(-2 / 9 * 45)
    assert list(np.flatnonzero(best_predictions(lab))) == list(range(14, 30))


def test_normalized_perfect_inaction_and_false_alarms():
    labs = [septic(20, 40), np.zeros(30, int), septic(3, 12)]   # last: onset near admission
    best = [best_predictions(x) for x in labs]
    assert normalized_utility(labs, best)["utility"] == pytest.approx(1.0)
    assert normalized_utility(labs, [np.zeros(len(x), int) for x in labs])["utility"] == 0.0
    # all-false alarms on a sepsis-free patient: -0.05 per hour, normalized < 0
    u = normalized_utility(labs, [np.zeros(40, int), np.ones(30, int), np.zeros(12, int)])
    assert u["observed"] - u["inaction"] == pytest.approx(-0.05 * 30)
    assert u["utility"] < 0
    assert patient_utility(np.zeros(30, int), np.ones(30, int)) == pytest.approx(-1.5)
    assert normalized_utility([np.zeros(5, int)], [np.zeros(5, int)])["utility"] is None
    with pytest.raises(ValueError):
        patient_utility([0, 1], [1])


def test_hourly_mapping_is_causal():
    ends = np.arange(59, 300, 5)              # windows every 5 min from minute 59
    alarm = ends >= 150                       # alarm from the window ending at minute 154
    # row h sees windows ending <= 60h + 59: rows 0, 1 (<= 119) off, row 2 (<= 179) on
    assert list(hourly_predictions(ends, alarm, 5)) == [0, 0, 1, 1, 1]
    assert list(hourly_predictions(np.arange(119, 300, 5), np.ones(37, bool), 3)) == [0, 1, 1]
    assert list(hourly_predictions(np.zeros(0, int), np.zeros(0, bool), 2)) == [0, 0]
    assert list(labels_from_onset(60 * 9, 12)) == [0, 0, 0, 1] + [1] * 8
    assert labels_from_onset(-1, 3).sum() == 0


def _write_cohort(folder, n_patients=30, hours=30, seed=0):
    """Septic patients: HR and RR climb, MAP falls from 10 h before onset (label 6 h
    before onset, as in the challenge); the others stay stable."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for p in range(n_patients):
        sick = p % 2 == 0
        first = int(rng.integers(12, 20)) if sick else None
        rows = []
        for h in range(hours):
            drift = max(0, h - (first - 4)) if sick else 0
            rows.append(psv_row(hr=f"{78 + 4 * drift + rng.normal(0, 3):.0f}",
                                spo2=f"{97 - 0.3 * drift:.0f}", temp="37.0",
                                sbp=f"{122 - 3 * drift:.0f}", mp=f"{84 - 2.5 * drift:.0f}",
                                dbp=f"{66 - 2 * drift:.0f}", rr=f"{15 + drift:.0f}",
                                label="1" if sick and h >= first else "0", hour=h + 1))
        write_psv(folder / f"p{p:06d}.psv", rows)


def test_evaluate_reports_utility_for_physionet(tmp_path):
    src, run = tmp_path / "psv", tmp_path / "run"
    _write_cohort(src)
    assert list(psv_labels(src / "p000000.psv")).count(1) > 0
    run_bedside("data", str(run), "--quick", "--source", "physionet", "--input", str(src))
    for stage in ("train", "distill"):
        run_bedside(stage, str(run), "--quick", "--epochs", "2")
    run_bedside("evaluate", str(run), "--quick", "--bootstrap", "5")
    ev = json.loads((run / "evaluation.json").read_text())
    u = ev["physionet_utility"]
    assert u["labels_from"] == "psv" and u["hours"] == 30 * ev["n_patients"]
    for k in ("teacher", "student_kd", "student_scratch"):
        m = u["models"][k]
        assert m["best"] > 0 > m["inaction"]
        assert m["utility"] == pytest.approx(
            (m["observed"] - m["inaction"]) / (m["best"] - m["inaction"]))
        assert m["utility"] <= 1.0
    # the Teacher separates this easy cohort (AUROC ~0.99): its alarms beat inaction
    assert u["models"]["teacher"]["utility"] > 0
    assert "PhysioNet/CinC 2019 utility" in (run / "report.md").read_text()
    summary = json.loads((run / "run.json").read_text())["metrics"]["evaluate"]
    assert set(summary["physionet_utility"]) == {"teacher", "student_kd", "student_scratch"}

