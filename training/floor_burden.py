"""The safety floor's alarm burden on the test patients (numpy only; evaluation.json
`safety_floor`).

Each test patient's raw stream runs from admission (a RESET) through the floor's reference
(bedside.contract.safety, the device's rules, sample by sample), as a device would see it.
Like the model's burden (training/burden.py), only the time before an event's onset counts
(after it the event is under way): a floor alarm *episode* starts at a sample whose reason
turns non-zero; it is *false* when no event starts within the horizon after it. Time in
alarm and quality-flag time are shares of that time; quality time is also split by the
signal that caused it and by the blood-pressure source, read from the data (a patient whose
MAP is valid in under half of the minutes is on a cuff, else on an arterial line). 95 %
patient-bootstrap CI for the false alarms per patient-day.
"""
from __future__ import annotations

import numpy as np

from bedside.contract import safety as floor
from . import metrics

GOAL_FALSE_PER_DAY = 0.3      # issue 24: floor false alarms per patient-day, demo test split


def settings(cfg: dict) -> dict | None:
    """The floor the run's device will get (`bedside convert`: config `safety`, defaults
    when absent, None when off)."""
    return floor.normalize(cfg.get("safety", floor.DEFAULT))


def bp_source(raw: np.ndarray, k) -> str:
    """'cuff' or 'arterial line' from how often MAP is measured ('none' without a MAP)."""
    if "map" not in k.names:
        return "none"
    i = k.names.index("map")
    v = raw[:, i]
    valid = (v != k.missing) & (v >= k.valid_min[i]) & (v <= k.valid_max[i])
    return "cuff" if valid.mean() < 0.5 else "arterial line"


def records(cohort, idx, cfg: dict) -> dict[int, np.ndarray] | None:
    """Each patient's floor records from admission (safety.stream_records), for the
    run's floor (None when off): computed once, read by the endpoint's device windows and
    by the floor's own burden."""
    sf = settings(cfg)
    if sf is None:
        return None
    return {int(i): floor.stream_records(cohort.stream(int(i)), sf) for i in idx}


def patient_rows(cohort, idx, cfg: dict, horizon: int, k, period_s: int,
                 recs: dict[int, np.ndarray] | None = None) -> dict:
    """Per test patient: minutes, episodes, false, alarm minutes, quality minutes per cause
    signal, events and whether the floor alarmed in the horizon before onset, rule of each
    episode. `recs`: the patients' floor records when already computed (`records`)."""
    rows = {key: [] for key in ("minutes", "episodes", "false", "alarm_minutes",
                                "quality_minutes", "event", "alarmed", "source")}
    rows["quality_by_signal"] = []
    rows["episode_rules"] = []
    for i in idx:
        raw = cohort.stream(i)
        rec = recs[int(i)] if recs is not None else floor.stream_records(raw, cfg, k, period_s)
        onset = int(cohort.onset[i])
        end = onset if onset >= 0 else len(raw)
        reason = rec[:end, 0] >> floor.REASON_SHIFT
        on = reason > 0
        start = np.flatnonzero(on & ~np.concatenate([[False], on[:-1]]))
        false = start if onset < 0 else start[~((start < onset) & (onset <= start + horizon))]
        quality = rec[:end, 1]
        rows["minutes"].append(end)
        rows["episodes"].append(len(start))
        rows["false"].append(len(false))
        rows["alarm_minutes"].append(int(on.sum()))
        rows["quality_minutes"].append(int((quality != 0).sum()))
        rows["quality_by_signal"].append(
            [int(((quality != 0) & ((quality & 0x0F) == s)).sum()) for s in range(k.n)])
        rows["event"].append(onset >= 0)
        rows["alarmed"].append(bool(onset >= 0 and on[max(0, onset - horizon):end].any()))
        rows["source"].append(bp_source(raw, k))
        is_false = set(false.tolist())
        rows["episode_rules"].append([(int(reason[t]), t in is_false) for t in start])
    return rows


def _rate(n, minutes) -> float | None:
    days = minutes / 1440.0
    return float(n / days) if days else None


def summary(rows: dict, cfg: dict, k, n_boot: int, seed: int) -> dict:
    minutes = np.asarray(rows["minutes"], np.float64)
    false, episodes = np.asarray(rows["false"]), np.asarray(rows["episodes"])
    total = minutes.sum()
    boots = [_rate(false[b].sum(), minutes[b].sum())
             for b in metrics.patient_resamples(np.arange(len(minutes)), n_boot, seed)]
    by_rule: dict[str, dict] = {}
    for eps in rows["episode_rules"]:
        for reason, is_false in eps:
            r = by_rule.setdefault(floor.reason_name(reason, cfg, k),
                                   {"episodes": 0, "false": 0})
            r["episodes"] += 1
            r["false"] += int(is_false)
    qs = np.asarray(rows["quality_by_signal"], np.float64).reshape(len(minutes), k.n)
    sources = {}
    for src in sorted(set(rows["source"])):
        m = np.asarray([s == src for s in rows["source"]])
        sources[src] = {"patients": int(m.sum()),
                        "quality_time_fraction": float(np.asarray(rows["quality_minutes"])[m]
                                                       .sum() / minutes[m].sum())
                        if minutes[m].sum() else None,
                        "by_signal": {k.names[s]: float(qs[m, s].sum() / minutes[m].sum())
                                      for s in range(k.n) if qs[m, s].sum()}}
    events = np.asarray(rows["event"])
    fa = _rate(false.sum(), total)
    return {
        "patients": int(len(minutes)), "patient_days": round(total / 1440.0, 3),
        "alarm_episodes": int(episodes.sum()), "false_alarms": int(false.sum()),
        "alarm_episodes_per_patient_day": _rate(episodes.sum(), total),
        "false_alarms_per_patient_day": fa,
        "false_alarms_per_patient_day_ci": list(metrics.percentile_ci(boots)),
        "alarm_time_fraction": float(np.sum(rows["alarm_minutes"]) / total) if total else None,
        "events": int(events.sum()),
        "events_alarmed_within_horizon": int(np.asarray(rows["alarmed"])[events].sum()),
        "by_rule": dict(sorted(by_rule.items())),
        "quality_time_fraction": float(np.sum(rows["quality_minutes"]) / total) if total else None,
        "quality_time_by_signal": {k.names[s]: float(qs[:, s].sum() / total)
                                   for s in range(k.n) if qs[:, s].sum()},
        "quality_time_by_bp_source": sources,
        "goal": {"false_alarms_per_patient_day_max": GOAL_FALSE_PER_DAY,
                 "met": fa is not None and fa <= GOAL_FALSE_PER_DAY},
    }


def evaluate(cohort, cfg: dict, n_boot: int, seed: int,
             recs: dict[int, np.ndarray] | None = None) -> dict | None:
    """evaluation.json `safety_floor` for the test split (None when the floor is off);
    `recs`: the test patients' floor records when already computed (`records`)."""
    from bedside.contract.signals import SAMPLE_PERIOD_S, TABLE
    sf = settings(cfg)
    if sf is None:
        return None
    horizon = int(cfg["horizon_min"])
    rows = patient_rows(cohort, cohort.indices("test"), sf, horizon, TABLE, SAMPLE_PERIOD_S,
                        recs)
    out = summary(rows, sf, TABLE, n_boot, seed)
    return {"split": "test", "horizon_min": horizon, "settings": sf, **out}


# Candidate refinements compared on VALIDATION patients (`bedside bench safety --burden`),
# each a partial `safety` config over the run's own; sources in docs/safety.md. Listed
# from the least to the most change: on a tie in false alarms (and events alarmed) the
# first, the smaller change, is chosen.
_STEP = {"spo2": 8, "rr": 10}
_NO_GAP = {"artefact_after_gap": False}     # unless a candidate says so: no step across a gap
_ROUND3 = {"artefact_step": _STEP, "artefact_lookback": 2, "artefact_jump": {"spo2": ["hr", 20]},
           "artefact_after_gap": True, "clear_margin": {}}   # issue 24's third round
CANDIDATES: dict[str, dict] = {name: {**_NO_GAP, "clear_margin": {}, **change} for name, change in {
    # the step from the last valid value only (as before, but across a gap), no jump rule
    "step_from_last_value": {"artefact_step": _STEP, "artefact_lookback": 1,
                             "artefact_jump": {}},
    # the step from either of the last two valid values: a fall over two minutes
    "step_from_last_two_values": {"artefact_step": _STEP, "artefact_lookback": 2,
                                  "artefact_jump": {}},
    # SpO2 needs the artefact sustain while HR jumps with it (motion: ECG and pleth)
    "last_value_hr_jump_30": {"artefact_step": _STEP, "artefact_lookback": 1,
                              "artefact_jump": {"spo2": ["hr", 30]}},
    "last_value_hr_jump_20": {"artefact_step": _STEP, "artefact_lookback": 1,
                              "artefact_jump": {"spo2": ["hr", 20]}},
    "last_two_values_hr_jump_30": {"artefact_step": _STEP, "artefact_lookback": 2,
                                   "artefact_jump": {"spo2": ["hr", 30]}},
    "last_two_values_hr_jump_20": {"artefact_step": _STEP, "artefact_lookback": 2,
                                   "artefact_jump": {"spo2": ["hr", 20]}},
    # HR > 150 from motion too: an HR step of 20 bpm, or HR needing the artefact sustain
    # while SpO2 jumps by 6 % (motion moves both)
    "last_two_values_hr_jump_20_hr_step_20": {
        "artefact_step": {**_STEP, "hr": 20}, "artefact_lookback": 2,
        "artefact_jump": {"spo2": ["hr", 20]}},
    "last_two_values_hr_jump_20_hr_needs_no_spo2_jump_6": {
        "artefact_step": _STEP, "artefact_lookback": 2,
        "artefact_jump": {"spo2": ["hr", 20], "hr": ["spo2", 6]}},
    # the same with the SBP/MAP agreement (an SBP-only low under a MAP of 65 or more)
    "last_two_values_hr_jump_20_sbp_needs_map_below_65": {
        "artefact_step": _STEP, "artefact_lookback": 2,
        "artefact_jump": {"spo2": ["hr", 20]}, "agree": {"sbp": ["map", 65]}},
    # a probe re-applied after a stale gap: the run opening on the first readings after the
    # gap with a step from the last valid values before it needs the artefact sustain
    "last_two_values_hr_jump_20_step_across_stale_gap": _ROUND3,
    # a deadband: a confirmed rule clears only a measurement accuracy inside its bound, so a
    # value hovering at the bound is one alarm, not one per crossing (chattering)
    "deadband_bp_5": {**_ROUND3, "clear_margin": {"sbp": 5, "map": 5}},
    "deadband_bp_5_hr_5": {**_ROUND3, "clear_margin": {"hr": 5, "sbp": 5, "map": 5}},
    "deadband_bp_5_hr_5_spo2_2": {**_ROUND3, "clear_margin": {"hr": 5, "sbp": 5, "map": 5,
                                                              "spo2": 2}},
}.items()}


# The patients a rule set may be chosen on: never the test split, which `bedside evaluate`
# reads once. The floor learns nothing from patients, so the training split can join the
# validation split ("development") where validation alone has too few episodes of a rule.
CHOICE_SPLITS = {"validation": ("val",), "development": ("train", "val")}


def patients(cohort, split: str) -> np.ndarray:
    """Patient indices of a CHOICE_SPLITS name."""
    if split not in CHOICE_SPLITS:
        raise ValueError(f"unknown patients {split!r}: one of {', '.join(CHOICE_SPLITS)}")
    return np.concatenate([cohort.indices(s) for s in CHOICE_SPLITS[split]])


def compare(cohort, cfg: dict, split: str, n_boot: int, seed: int,
            candidates: dict[str, dict] | None = None) -> dict:
    """Per candidate (the run's `safety` config updated by the candidate's fields): the
    floor's burden on `split`, as `evaluate` computes it for the test split."""
    from bedside.contract.signals import SAMPLE_PERIOD_S, TABLE
    base = cfg.get("safety", floor.DEFAULT)
    if base is None:
        return {}
    horizon = int(cfg["horizon_min"])
    idx = patients(cohort, split)
    out = {}
    for name, change in (candidates or CANDIDATES).items():
        sf = floor.normalize({**base, **change})
        rows = patient_rows(cohort, idx, sf, horizon, TABLE, SAMPLE_PERIOD_S)
        out[name] = {"change": change, **summary(rows, sf, TABLE, n_boot, seed)}
    return out
