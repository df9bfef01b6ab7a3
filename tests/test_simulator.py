"""Simulator: determinism, chunking, units, missingness, artifacts, events and subgroups."""
import numpy as np
import pytest

from bedside.contract import preprocess
from bedside.sources.cohort import Cohort, assign_splits, window_labels
from bedside.contract.signals import MISSING, SIGNAL_NAMES
from bedside.sources.simulator import (HEMORRHAGE, NONE, RESPIRATORY, SEPSIS, SimConfig,
                                       simulate_cohort, simulate_patient)

# the default profile's world (training/profiles.py): shorter stays than SimConfig's
PROFILE = SimConfig.short_stays()


@pytest.fixture(scope="module")
def cohort_patients():
    return [p for chunk in simulate_cohort(300, seed=7, cfg=PROFILE, chunk_size=64)
            for p in chunk]


def _measured(p, ch):
    v = p.raw[:, ch].astype(float)
    v[~preprocess.valid_mask(p.raw)[:, ch]] = np.nan
    return v


def test_same_seed_same_patient_and_chunking_does_not_matter():
    a = [p for c in simulate_cohort(12, seed=3, chunk_size=5) for p in c]
    b = [p for c in simulate_cohort(12, seed=3, chunk_size=12) for p in c]
    for p, q in zip(a, b):
        assert np.array_equal(p.raw, q.raw) and np.array_equal(p.privileged, q.privileged)
        assert (p.onset, p.event_type, p.rapid_map_drop, p.atypical) == \
            (q.onset, q.event_type, q.rapid_map_drop, q.atypical)
    c = simulate_patient(4, 5)
    assert not np.array_equal(c.raw[:100], a[5].raw[:100])      # another seed differs


def test_raw_units_and_ranges(cohort_patients):
    raw = np.concatenate([p.raw for p in cohort_patients])
    assert raw.dtype == np.int16 and raw.shape[1] == len(SIGNAL_NAMES)
    ok = preprocess.valid_mask(raw)
    med = {n: np.median(raw[ok[:, i], i]) for i, n in enumerate(SIGNAL_NAMES)}
    assert 70 <= med["hr"] <= 95 and 105 <= med["sbp"] <= 135 and 55 <= med["dbp"] <= 72
    assert 94 <= med["spo2"] <= 99 and 14 <= med["rr"] <= 21 and 360 <= med["temp"] <= 378
    assert raw[raw[:, 4] != MISSING, 4].max() <= 100           # SpO2 never above 100 %
    # MAP = (SBP + 2 DBP) / 3 where nothing is frozen or missing (within noise)
    both = ok[:, 1] & ok[:, 2] & ok[:, 3]
    est = (raw[both, 1].astype(float) + 2 * raw[both, 2]) / 3
    assert np.median(np.abs(est - raw[both, 3])) < 4


def test_missing_rates_are_realistic(cohort_patients):
    raw = np.concatenate([p.raw for p in cohort_patients])
    miss = 1 - preprocess.valid_mask(raw).mean(0)
    rate = dict(zip(SIGNAL_NAMES, miss))
    assert 0.04 < rate["hr"] < 0.2 and 0.06 < rate["spo2"] < 0.25
    assert 0.1 < rate["map"] < 0.45                     # cuff patients measure every 15 min
    assert rate["temp"] > 0.6                            # charted rarely
    # hourly view (PhysioNet 2019 style): share of hours without any temperature ~ 2/3
    hours_no_temp = []
    for p in cohort_patients:
        h = len(p.raw) // 60
        t = p.raw[:h * 60, 6].reshape(h, 60)
        hours_no_temp.append((t == MISSING).all(1).mean())
    assert 0.45 < np.mean(hours_no_temp) < 0.8
    more = simulate_patient(7, 0, SimConfig(missing_scale=3.0))
    base = simulate_patient(7, 0)
    assert (more.raw == MISSING).mean() > (base.raw == MISSING).mean()


def test_events_subgroups_and_privileged(cohort_patients):
    ev = np.array([p.event_type for p in cohort_patients])
    assert 0.25 < (ev != NONE).mean() < 0.55
    assert all((ev == k).any() for k in (SEPSIS, HEMORRHAGE, RESPIRATORY))
    assert any(p.atypical for p in cohort_patients) and any(p.hard for p in cohort_patients)
    for p in cohort_patients:
        if p.event_type == NONE:
            assert p.onset == -1 and not p.rapid_map_drop
        else:
            assert 60 <= p.onset < len(p.raw)          # after the stabilisation hour
    # lactate (privileged) is higher at onset than at admission for sepsis patients
    rises = []
    for p in cohort_patients:
        lac = p.privileged[:, 0]
        t = np.flatnonzero(lac != MISSING)
        if p.event_type == SEPSIS and len(t) > 2:
            before = lac[t[t < p.onset]]
            if len(before) > 1:
                rises.append(before[-1] - before[0])
    assert np.median(rises) > 50                       # > 0.5 mmol/L
    assert any(p.rapid_map_drop for p in cohort_patients)


def test_onset_hazard_does_not_depend_on_time_since_admission():
    """Label prevalence is flat in time since admission: an onset's timing says nothing
    about how long the patient has been in (the clock leak of issue 23)."""
    from sklearn.metrics import roc_auc_score
    from bedside.sources.simulator import _baseline, _stay_and_onset
    ys, ends_all, onsets = [], [], []
    for i in range(4000):
        rng = np.random.default_rng([0, i, 0x5EED])
        _baseline(rng, PROFILE)
        t_len, onset = _stay_and_onset(rng, PROFILE)
        ends = np.arange(59, t_len, 5)
        y, keep = window_labels(onset, ends, 60)
        ys.append(y[keep])
        ends_all.append(ends[keep])
        onsets.append(onset)
    y, ends = np.concatenate(ys), np.concatenate(ends_all)
    assert abs(roc_auc_score(y, ends) - 0.5) < 0.03
    early, late = y[ends < 8 * 60], y[(ends >= 8 * 60) & (ends < 24 * 60)]
    assert abs(early.mean() - late.mean()) < 0.2 * early.mean()
    onsets = np.array(onsets)
    assert onsets[onsets >= 0].min() >= 60               # stabilisation period
    lengths = np.array([len(x) for x in ys])
    assert lengths.max() > 3 * np.median(lengths)        # right-skewed stays


def test_baroreflex_holds_map_while_hr_rises_and_pulse_pressure_narrows():
    from bedside.sources.simulator import haemodynamics
    vol = np.linspace(0, 0.45, 200)                       # progressive blood loss
    h = haemodynamics(80.0, 85.0, 50.0, 0.27, vol, np.zeros(200))
    pp = h["sbp"] - h["dbp"]
    comp = vol < 0.27 / 0.9                               # reserve not yet spent
    assert np.allclose(h["map"], (h["sbp"] + 2 * h["dbp"]) / 3)
    assert h["map"][comp].min() > 85.0 * 0.96             # MAP held (class II)
    assert h["hr"][comp][-1] > 105 and pp[comp][-1] < 0.7 * 50    # tachycardia, narrow PP
    assert h["map"][-1] < 70                              # decompensation: MAP falls late
    # vasodilation (sepsis) widens the pulse pressure: low diastolic pressure
    s = haemodynamics(80.0, 85.0, 50.0, 0.27, np.zeros(10), np.full(10, 0.2))
    assert (s["sbp"] - s["dbp"])[0] > 50 and s["hr"][0] > 95


def test_phenotype_prodromes(cohort_patients):
    def delta(et, ch, fn=np.nanmedian):
        out = []
        for p in cohort_patients:
            if p.event_type == et and p.onset >= 300:
                v = _measured(p, ch)
                out.append(np.nanmean(v[p.onset - 90:p.onset - 45]) - np.nanmean(v[:p.onset - 300][:120]))
        return fn(out)
    from bedside.sources.simulator import HR, MAP, RR, SBP, DBP, SPO2
    # haemorrhage: HR up, pulse pressure down, MAP late
    assert delta(HEMORRHAGE, HR) > 15
    assert delta(HEMORRHAGE, SBP) - delta(HEMORRHAGE, DBP) < -8
    assert abs(delta(HEMORRHAGE, MAP)) < 8
    # sepsis: RR and HR up hours before the MAP falls
    assert delta(SEPSIS, RR) > 3 and delta(SEPSIS, HR) > 15
    # respiratory: RR up, SpO2 down, MAP preserved
    assert delta(RESPIRATORY, RR) > 4 and delta(RESPIRATORY, SPO2) < -2
    assert abs(delta(RESPIRATORY, MAP)) < 5


def test_mimics_treatment_and_frozen_signals(cohort_patients):
    free = [p for p in cohort_patients if p.event_type == NONE]
    assert sum(p.info["pain_agitation"] + p.info["transient_hypotension"] for p in free) > 50
    # event-free patients do reach alarming vitals (the false-alarm generators)
    hr_high = np.mean([np.nanmax(_measured(p, 0)) > 120 for p in free])
    assert hr_high > 0.3
    # the clinician treats what the bedside shows, events and event-free patients alike
    treated = [p for p in cohort_patients if p.info["treatments"]]
    assert any(p.event_type == NONE for p in treated) and any(p.event_type for p in treated)
    gains = []
    for a in treated:
        at = int(a.info["treatments"][0].split("@")[1])
        b = simulate_patient(7, int(a.pid.split("-")[1]),
                             SimConfig(**{**PROFILE.to_dict(), "treatment": False}))
        assert a.onset == b.onset and np.array_equal(a.raw[:at, 0], b.raw[:at, 0])
        gains.append(np.nanmean(_measured(a, 3)[at + 15:at + 60])
                     - np.nanmean(_measured(b, 3)[at + 15:at + 60]))
    # fluids raise (mask) a decompensated MAP; in a compensated patient the baroreflex
    # relaxes instead (HR falls), so the median gain is small
    assert np.nanmedian(gains) > 2 and np.nanmax(gains) > 8
    # frozen trend: runs of identical values inside the valid range
    assert sum(p.info["frozen"] for p in cohort_patients) > 20
    p = max(cohort_patients, key=lambda p: p.info["frozen"])
    hr = p.raw[:, 0]
    same = (np.diff(hr) == 0) & (hr[1:] != MISSING)
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], same.astype(int), [0]]))))[::2]
    assert runs.max() >= 5


def test_cohort_roundtrip_splits_and_labels(tmp_path, cohort_patients):
    c = Cohort.from_patients(cohort_patients[:60], seed=1)
    c.save(tmp_path / "data" / "cohort.npz")
    d = Cohort.load(tmp_path / "data" / "cohort.npz")
    assert np.array_equal(c.raw, d.raw) and np.array_equal(c.split, d.split)
    assert list(d.pid) == [p.pid for p in cohort_patients[:60]]
    assert np.array_equal(d.stream(3), cohort_patients[3].raw)
    assert set(np.unique(d.split)) == {0, 1, 2}
    s = assign_splits(np.array([0] * 50 + [1] * 50), seed=1)
    assert (s == 0).sum() == 60 and (s[:50] == 0).sum() == 30 and (s[50:] == 2).sum() == 10
    y, keep = window_labels(200, np.array([100, 139, 140, 199, 200, 260]), 60)
    assert list(y) == [0, 0, 1, 1, 0, 0] and list(keep) == [1, 1, 1, 1, 0, 0]
    y, keep = window_labels(-1, np.array([5, 10]), 60)
    assert not y.any() and keep.all()


def test_lactate_schedule_follows_what_the_bedside_shows():
    from bedside.sources.simulator import HR, MAP, RR, TEMP, _lactate_draws
    t_len = 1200
    measured = np.full((t_len, 7), np.nan)
    measured[:, HR], measured[:, MAP], measured[:, RR], measured[:, TEMP] = 80, 85, 16, 37.0
    normal = np.full(t_len, 1.0)

    def gaps(lactate, x):
        draws = np.flatnonzero(_lactate_draws(np.random.default_rng(0), t_len, lactate, x)
                               != MISSING)
        return np.diff(draws)
    assert (gaps(normal, measured) >= 180).all()           # routine: every 3-5 h
    shock = measured.copy()
    shock[:, MAP] = 60                                     # hypotension on the monitor
    assert (gaps(normal, shock) < 180).all()
    sirs = measured.copy()
    sirs[:, HR], sirs[:, RR] = 110, 24                     # two SIRS criteria
    assert (gaps(normal, sirs) < 180).all()
    assert (gaps(np.full(t_len, 2.5), measured) < 180).all()  # re-measure a high lactate


def test_artifacts_as_monitors_produce_them():
    from bedside.sources.simulator import MAP, SBP, SPO2, _artifacts, _measure
    t_len = 6000
    phys = np.tile([80.0, 120, 60, 80, 97, 16, 37.0], (t_len, 1))
    clean = np.zeros_like(phys)
    x = phys.copy()
    counts = _artifacts(np.random.default_rng(3), x, 1.0, art_line=True)
    assert min(counts.values()) > 0
    bp = x[:, SBP]
    assert ((bp > 150) & (bp <= 300)).any()               # flush ramps inside the valid range
    assert (bp == 0).any()                                 # zeroing
    levelled = np.abs(np.round(x[:, MAP] - 80, 6))
    assert ((levelled > 3) & (levelled < 12)).any()        # levelling offset steps
    pulse = x[:, SBP] - x[:, 2]
    assert ((pulse > 5) & (pulse < 45) & (np.abs(x[:, MAP] - 80) < 1e-9)).any()   # damping
    assert (x[:, SPO2] < 95).any()                         # motion / probe
    none = _artifacts(np.random.default_rng(3), clean, 0.0, True)
    assert not any(none.values()) and not clean.any()
    # artifact_scale = 0: the same patient without the artifacts
    a = simulate_patient(5, 3)
    b = simulate_patient(5, 3, SimConfig(artifact_scale=0.0))
    assert np.array_equal(a.raw == MISSING, b.raw == MISSING) and a.onset == b.onset
    assert 0 < (a.raw != b.raw).mean() < 0.2
    # SpO2 fails more often when the patient is poorly perfused (state-dependent gaps)
    shocked = phys.copy()
    shocked[:, SBP] = 80
    m_ok, _ = _measure(np.random.default_rng(1), np.random.default_rng(2), phys,
                       SimConfig(), True, True)
    m_bad, _ = _measure(np.random.default_rng(1), np.random.default_rng(2), shocked,
                        SimConfig(), True, True)
    assert np.isnan(m_bad[:, SPO2]).mean() > np.isnan(m_ok[:, SPO2]).mean() + 0.03
