"""Stage configurations of the `default` and `--quick` profiles (docs/training.md).

The Student architecture is the same in both profiles (the firmware budget does not
change); `quick` shrinks the cohort, the Teacher and the epochs so that data + train +
distill run in about a minute on 2 cores.
"""
from __future__ import annotations

import copy

from .models import STUDENT_DEFAULT, TEACHER_DEFAULT
from bedside.sources.simulator import SimConfig
from bedside.contract.personalize import DEFAULT as PERSONALIZATION_DEFAULT

DEFAULT = {
    "data": {"patients": 1500, "chunk_size": 128, "split_fractions": [0.6, 0.2, 0.2],
             # stays shorter than SimConfig's realistic 40 h median to keep training
             # cheap; the onset hazard gives about 0.4 of patients an event
             "sim": SimConfig.short_stays().changes()},
    "teacher": {**TEACHER_DEFAULT, "dropout": 0.2, "epochs": 10, "batch": 128, "lr": 1e-3,
                "neg_keep": 0.06},
    "student": {**STUDENT_DEFAULT, "epochs": 10, "batch": 256, "lr": 3e-3, "neg_keep": 0.3},
    "distill": {"alpha": 0.5, "temperature": 1.0, "beta": 0.1, "attention_focus": "uniform"},
    # alarm thresholds are chosen on the validation split at these sensitivities
    "alarm_policy": {"target_sensitivity": 0.8, "off_sensitivity": 0.9, "min_duration": 2},
    "evaluate": {"alarm_rate": 0.05, "bootstrap": 200, "event_sensitivity": 0.9},
    # `bedside study`: Student variants x seeds, the deployed Student's recipe (no
    # epochs / neg_keep here); `--variants all` adds the other attention focus
    "study": {"seeds": 5, "bootstrap": 100, "variants": ["kd", "kd_no_attention", "scratch"]},
    # on-device re-centring on the patient's baseline (docs/personalization.md); recorded
    # by `bedside data`, applied by distill/evaluate/convert and the firmware
    "personalization": copy.deepcopy(PERSONALIZATION_DEFAULT),
}

QUICK = copy.deepcopy(DEFAULT)
QUICK["data"].update(patients=80, sim={"stay_median_hours": 10.0, "stay_sigma": 0.4,
                                       "stay_hours": [4.0, 24.0], "onset_hazard_per_hour": 0.05})
QUICK["teacher"].update(d_model=32, heads=2, layers=1, ff=64, epochs=4, neg_keep=0.3)
QUICK["student"].update(epochs=8, neg_keep=1.0)
QUICK["evaluate"].update(bootstrap=50)
# tests/CI: a shorter recipe than the quick Student's (recipe_is_deployed false)
QUICK["study"].update(seeds=2, epochs=2, neg_keep=1.0, bootstrap=20,
                      variants=["kd", "kd_no_attention", "kd_map_drop", "scratch"])


def profile(quick: bool) -> dict:
    return copy.deepcopy(QUICK if quick else DEFAULT)
