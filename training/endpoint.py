"""Alarm burden as the endpoint: curves, the validation-chosen operating point, the device.

For one score per window (a model's output or a baseline's score) and an alarm with on =
off threshold t and `min_duration` m (bedside.contract.alarm.Alarm with on_q = off_q: on
exactly when the last m outputs of the patient are all >= t), this module computes the
alarm state of every window at once (vectorised, no state machine loop), the per-patient
rows of burden.per_patient, and from them:

- the **curve**: [event sensitivity, false alarms per patient-day] over a threshold sweep,
  an alarm that stays on counting again every REALARM_MIN minutes;
- the **operating point** chosen on validation: the fewest validation false alarms per
  patient-day among the (threshold, min_duration) pairs alarming >= `target` of the
  validation events; min_duration from MIN_DURATIONS (an alarm delay: the output must
  stay over the threshold for that many windows);
- the **device** as its LED shows it: the model's alarm OR the safety floor (per sample,
  bedside.contract.safety.stream_flags: a window's LED is on when the model alarm is on
  or the floor raised a reason at any sample since the previous window). `bedside
  distill` chooses the deployed alarm by the same rule with the floor included
  (choose_device_alarm), so the device row is the alarm the firmware runs.
"""
from __future__ import annotations

import numpy as np

from bedside.contract.protocol import RESULT_REASON_SHIFT
from . import burden, metrics

N_THRESHOLDS = 120
# An alarm that stays on is silenced and sounds again while its condition persists; the
# endpoint counts one annunciation per REALARM_MIN of continuous alarm ([A]: a kit
# choice), so an always-on alarm is not "one false alarm per stay"
REALARM_MIN = 60
# Alarm delays tried on validation, in windows (x the window stride in minutes): 1 = alarm
# on the first window over the threshold. Delaying an alarm until its condition persists
# is a standard way to cut false alarms (Goerges et al. 2009, Anesth Analg 108:1546;
# Welch 2011, Biomed Instrum Technol 45(s1):46), paid for in lead time; which delay
# is worth it is chosen on validation with the threshold
MIN_DURATIONS = (1, 2, 3)


def realarm_windows(stride: int) -> int:
    """REALARM_MIN in windows of `stride` minutes (at least one)."""
    return max(1, REALARM_MIN // int(stride))


def device_on(on: np.ndarray, floor_on: np.ndarray | None) -> np.ndarray:
    """The LED: the model's alarm OR the floor's windows (the model's alone without one)."""
    return on if floor_on is None else on | floor_on


def alarm_on(p, pidx, threshold: float, min_duration: int) -> np.ndarray:
    """Alarm state per window (windows of a patient consecutive, in time order)."""
    p, pidx = np.asarray(p, np.float64), np.asarray(pidx)
    on = p >= threshold
    for j in range(1, int(min_duration)):
        prev = np.zeros(len(p), dtype=bool)
        prev[j:] = (p[:-j] >= threshold) & (pidx[:-j] == pidx[j:])
        on &= prev
    return on


def rows_from_on(on, y, pidx, ends, onset, realarm_windows: int | None = None) -> dict:
    """burden.per_patient's rows from alarm states [N] (vectorised). With
    `realarm_windows` R, an alarm that stays on sounds again every R windows (a silenced
    alarm whose condition persists re-sounds): each such annunciation counts as an
    episode, false when its window has no event within the horizon. Without it, an
    episode is one run of alarm-on windows (burden.per_patient)."""
    on, yy = np.asarray(on, bool), np.asarray(y) > 0
    pidx, ends, onset = np.asarray(pidx), np.asarray(ends), np.asarray(onset)
    first = np.concatenate([[True], pidx[1:] != pidx[:-1]])
    starts = np.flatnonzero(first)
    prev_on = np.concatenate([[False], on[:-1]]) & ~first
    start = on & ~prev_on
    if realarm_windows:
        k = np.arange(len(on))
        run_start = np.maximum.accumulate(np.where(start, k, 0))
        start = on & ((k - run_start) % int(realarm_windows) == 0)
    add = lambda v: np.add.reduceat(np.asarray(v, np.int64), starts)
    hit = on & yy
    # first alarmed positive window per patient: its end gives the lead time
    idx = np.where(hit, np.arange(len(on)), len(on))
    first_hit = np.minimum.reduceat(idx, starts)
    alarmed = first_hit < len(on)
    lead = np.full(len(starts), np.nan)
    lead[alarmed] = onset[starts[alarmed]] - ends[first_hit[alarmed]]
    return {"false": add(start & ~yy), "episodes": add(start), "windows": add(np.ones(len(on))),
            "alarm_windows": add(on), "pos_windows": add(yy), "pos_alarm_windows": add(hit),
            "event": add(yy) > 0, "alarmed": alarmed, "lead": lead}


def thresholds(p) -> np.ndarray:
    """Candidate thresholds: quantiles of the scores (upper tail dense: alarms are rare)."""
    q = 1.0 - np.geomspace(1.0, 1e-4, N_THRESHOLDS)
    return np.unique(np.quantile(np.asarray(p, np.float64), np.clip(q, 0, 1)))


def choose(points: list[dict], target: float) -> dict:
    """Fewest false alarms per patient-day among points with event sensitivity >= target
    (ties: the higher threshold, then the shorter delay); the lowest threshold if none
    reaches it."""
    ok = [q for q in points if (q["event_sensitivity"] or 0) >= target]
    if not ok:
        return min(points, key=lambda q: (q["threshold"], q.get("min_duration", 1)))
    return min(ok, key=lambda q: (q["false_alarms_per_patient_day"], -q["threshold"],
                                  q.get("min_duration", 1)))


def operating_point(sv, yv, pv, ev, onset_v, floor_v, stride: int, target: float,
                    durations=MIN_DURATIONS) -> dict:
    """The validation-chosen alarm ({threshold, off_threshold, min_duration, ...}) of one
    score: every (threshold, min_duration) pair on the validation windows (thresholds
    from the validation scores alone), the model's alarm OR'd with `floor_v` when given."""
    ra = realarm_windows(stride)
    pts = []
    for md in durations:
        for t in thresholds(sv):
            on = device_on(alarm_on(sv, pv, t, md), floor_v)
            pts.append({"threshold": float(t), "min_duration": int(md), **burden.summary(
                rows_from_on(on, yv, pv, ev, onset_v, ra), stride)})
    op = choose(pts, target)
    return {"threshold": op["threshold"], "off_threshold": op["threshold"],
            "min_duration": op["min_duration"], "chosen_on": "val",
            "rule": f"fewest false alarms at >= {target:.0%} event sensitivity",
            "min_durations_tried": [int(d) for d in durations],
            "val_false_alarms_per_patient_day": op["false_alarms_per_patient_day"],
            "val_event_sensitivity": op["event_sensitivity"]}


def curve(points: list[dict]) -> list[list[float]]:
    """[[event sensitivity, false alarms per patient-day], ...] by increasing sensitivity."""
    pts = sorted({(round(q["event_sensitivity"], 4), round(q["false_alarms_per_patient_day"], 4))
                  for q in points if q["event_sensitivity"] is not None})
    return [list(x) for x in pts]


def floor_windows(cohort, pidx, ends, safety_cfg, recs: dict | None = None) -> np.ndarray:
    """Per window: the safety floor raised a reason at a sample since the patient's
    previous window (from the patient's admission for the first). `recs`: the patients'
    floor records when already computed (floor_burden.records)."""
    from bedside.contract.safety import stream_flags
    out = np.zeros(len(ends), dtype=bool)
    if safety_cfg is None:
        return out
    pidx, ends = np.asarray(pidx), np.asarray(ends)
    for i in np.unique(pidx):
        sel = np.flatnonzero(pidx == i)
        flags = recs[int(i)][:, 0] if recs is not None else stream_flags(cohort.stream(int(i)),
                                                                          safety_cfg)
        reason = (np.asarray(flags) >> RESULT_REASON_SHIFT) > 0
        cum = np.concatenate([[0], np.cumsum(reason)])
        e = ends[sel]
        lo = np.concatenate([[-1], e[:-1]])
        out[sel] = cum[e + 1] - cum[lo + 1] > 0
    return out


def evaluate(val: dict, test: dict, yv, pv, ev, onset_v, y, pidx, ends, onset,
             floor_v, floor_t, stride: int, target: float, n_boot: int, seed: int,
             device_model: str = "student_kd", device_alarm: dict | None = None
             ) -> tuple[dict, dict]:
    """Per model (and `device`): the validation-chosen operating point, the test curve at
    its min_duration, and the test burden there with patient-bootstrap CIs; and the
    per-patient test rows at the operating points (for paired comparisons). The device
    row runs `device_alarm` (the deployed alarm) when given."""
    out, rows = {}, {}
    ra = realarm_windows(stride)
    scores = {k: (val[k], test[k], None, None) for k in val}
    scores["device"] = (val[device_model], test[device_model], floor_v, floor_t)
    for k, (sv, st, fv, ft) in scores.items():
        if k == "device" and device_alarm is not None:
            op = device_operating_point(device_alarm, sv, yv, pv, ev, onset_v, fv, stride)
        else:
            op = operating_point(sv, yv, pv, ev, onset_v, fv, stride, target)
        md = op["min_duration"]
        pts = [burden.summary(rows_from_on(device_on(alarm_on(st, pidx, t, md), ft), y, pidx,
                                           ends, onset, ra), stride) for t in thresholds(st)]
        r = rows_from_on(device_on(alarm_on(st, pidx, op["threshold"], md), ft), y, pidx,
                         ends, onset, ra)
        res = {"curve": curve(pts), "realarm_min": REALARM_MIN, "operating_point": op}
        res.update(with_ci(r, stride, n_boot, seed))
        if k == "device":
            res["model"] = device_model
            res["floor_time_fraction"] = float(np.mean(ft)) if ft is not None else 0.0
        out[k] = res
        rows[k] = r
    return out, rows


DEVICE_CHOSEN_ON = "val/device"


def choose_device_alarm(cohort, cfg: dict, p_val, yv, pv, ev) -> dict:
    """The deployed alarm (run.json config `alarm`): the validation-chosen operating point
    of the Student with the run's safety floor OR'd in, as the LED shows it; on =
    off threshold (no hysteresis: the endpoint's alarm, which the device runs exactly)."""
    from .floor_burden import settings
    target = float(cfg["evaluate"].get("event_sensitivity", 0.9))
    floor_v = floor_windows(cohort, pv, ev, settings(cfg))
    op = operating_point(p_val, yv, pv, ev, cohort.onset[pv], floor_v,
                         int(cfg["window"]["stride"]), target)
    return {**op, "chosen_on": DEVICE_CHOSEN_ON,
            "rule": op["rule"] + ", device (model alarm or safety floor)"}


def device_operating_point(alarm: dict, sv, yv, pv, ev, onset_v, floor_v, stride: int) -> dict:
    """The deployed alarm as an operating point, with its validation burden."""
    ra = realarm_windows(stride)
    t, md = float(alarm["threshold"]), int(alarm["min_duration"])
    on = device_on(alarm_on(sv, pv, t, md), floor_v)
    s = burden.summary(rows_from_on(on, yv, pv, ev, onset_v, ra), stride)
    return {**{k: alarm[k] for k in alarm if k not in ("on_q", "off_q")},
            "threshold": t, "off_threshold": float(alarm["off_threshold"]), "min_duration": md,
            "deployed": True,
            "val_false_alarms_per_patient_day": s["false_alarms_per_patient_day"],
            "val_event_sensitivity": s["event_sensitivity"]}


def with_ci(r: dict, stride: int, n_boot: int, seed: int) -> dict:
    """burden.summary of rows with 95 % patient-bootstrap CIs and the counts."""
    s = burden.summary(r, stride)
    boots = {k: [] for k in s}
    for idx in metrics.patient_resamples(np.arange(len(r["windows"])), n_boot, seed):
        b = burden.summary({k: v[idx] for k, v in r.items()}, stride)
        for k in s:
            boots[k].append(b[k])
    out = {"patients": int(len(r["windows"])), "events": int(r["event"].sum()),
           "events_alarmed": int(r["alarmed"][r["event"]].sum()),
           "false_alarms": int(r["false"].sum()), "alarm_episodes": int(r["episodes"].sum())}
    for k, v in s.items():
        out[k] = v
        out[k + "_ci"] = list(metrics.percentile_ci([x for x in boots[k] if x is not None]))
    return out
