"""Metrics, NEWS2 bands and the KD loss terms."""
import numpy as np

from bedside.training import baselines, metrics


def test_auroc_matches_pair_counting_and_ties():
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.2
    s = np.round(rng.normal(y * 1.0, 1.0), 1)            # many ties
    pos, neg = s[y], s[~y]
    brute = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) \
        / (len(pos) * len(neg))
    assert abs(metrics.auroc(y, s) - brute) < 1e-12
    assert metrics.auroc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert abs(metrics.auprc([0, 1, 0, 1], [0.1, 0.9, 0.8, 0.2]) - (1 + 2 / 3) / 2) < 1e-12
    assert metrics.brier([0, 1], [0.0, 1.0]) == 0.0
    assert abs(metrics.ece([0, 1, 1, 1], [0.75] * 4)) < 1e-12
    assert abs(metrics.ece([0, 1], [0.05, 0.1]) - 0.425) < 1e-12   # 0.1 is in bin 0
    thr = metrics.threshold_at_sensitivity([1, 1, 1, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.5], 0.75)
    assert thr == 0.7
    assert metrics.sensitivity_at_alarm_rate([1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                                             np.arange(10)[::-1], 0.1) == 1.0
    # ties are one threshold (scikit-learn), not broken by window order
    assert metrics.auprc([1, 0], [0.5, 0.5]) == metrics.auprc([0, 1], [0.5, 0.5]) == 0.5
    assert np.isnan(metrics.auroc([1, 1], [0.1, 0.2]))
    lo, hi = metrics.bootstrap_ci("auroc", y, s, np.arange(300) // 10, 50, 0)
    assert lo <= metrics.auroc(y, s) <= hi


def test_fast_bootstrap_metrics_equal_scikit_learn():
    from sklearn.metrics import average_precision_score, roc_auc_score
    rng = np.random.default_rng(4)
    y = rng.random(500) < 0.1
    s = np.round(rng.normal(y * 1.0, 1.0), 1)               # many ties
    groups = np.arange(500) // 7
    r = metrics.Ranked(y, s)
    for w, idx in zip(metrics.patient_weights(groups, 5, 3),
                      metrics.patient_resamples(groups, 5, 3)):
        assert abs(r.auroc(w) - roc_auc_score(y, s, sample_weight=w)) < 1e-12
        assert abs(r.auprc(w) - average_precision_score(y, s, sample_weight=w)) < 1e-12
        assert abs(r.auroc(w) - metrics.auroc(y[idx], s[idx])) < 1e-12   # same resample
        assert abs(r.auprc(w) - metrics.auprc(y[idx], s[idx])) < 1e-12


def test_news2_bands_and_platt():
    # hr, sbp, dbp, map, spo2, rr, temp(0.1 C)
    v = np.array([[80, 120, 65, 82, 97, 18, 370],       # all normal
                  [135, 85, 50, 60, 90, 26, 392],       # 3+3+3+3+2
                  [45, 105, 60, 75, 94, 10, 355],       # 1 each
                  [40, 220, 90, 130, 91, 8, 350]])      # 3 each
    assert list(baselines.news2(v)) == [0, 14, 5, 15]
    # SpO2 scale 2 (prescribed 88-92 %): 90 % on air scores 0 instead of 3
    assert list(baselines.news2(v, np.array([0, 1, 0, 0], bool))) == [0, 11, 5, 15]
    assert list(baselines.news2(v[:1] * [1, 1, 1, 1, 0, 1, 1] + [0, 0, 0, 0, 85, 0, 0],
                                np.array([True]))) == [2]
    rng = np.random.default_rng(1)
    z = rng.normal(size=2000)
    y = rng.random(2000) < 1 / (1 + np.exp(-(2 * z - 1)))
    a, b = baselines.platt_fit(z, y)
    assert abs(a - 2) < 0.4 and abs(b + 1) < 0.3


def test_kd_loss_terms():
    import tensorflow as tf

    from bedside.training.distill import _losses
    y = tf.constant([[1.0, 2.0], [0.0, -1.0]])           # label, teacher logit
    z = tf.constant([[0.5], [-0.5]])
    hard = tf.nn.sigmoid_cross_entropy_with_logits(labels=y[:, :1], logits=z)[:, 0]
    logit_loss, att_loss = _losses(tf, 0.0, 3.0, 6)
    assert np.allclose(logit_loss(y, z), hard)            # alpha = 0: plain BCE
    logit_loss, _ = _losses(tf, 1.0, 2.0, 6)
    soft = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.sigmoid(y[:, 1:] / 2),
                                                   logits=z / 2)[:, 0]
    assert np.allclose(logit_loss(y, z), 4 * soft)        # T^2 scaling
    fmap = tf.ones((2, 12, 4))
    uniform = tf.concat([tf.ones((2, 6)) / 6, tf.ones((2, 1))], 1)    # target, weight
    assert np.allclose(att_loss(uniform, fmap), 0, atol=1e-6)
    peaked = tf.constant([[0, 0, 0, 0, 0, 1.0, 1.0], [0, 0, 0, 0, 0, 1.0, 0.0]])
    loss = att_loss(peaked, fmap).numpy()
    assert loss[0] > 0.1 and loss[1] == 0                 # weight 0: no attention term


def test_map_drop_focus():
    from bedside.training.distill import attention_targets, map_drop_saliency
    x = np.zeros((2, 60, 7), np.int8)
    x[0, 40:, 3] = -32                                     # MAP falls 1 spread in the last 20 min
    s = map_drop_saliency(x, 6)
    assert np.allclose(s[0], [0, 0, 0, 0, 1, 1]) and not s[1].any()
    a_t = np.full((2, 6), 1 / 6, np.float32)
    t = attention_targets(a_t, x, "map_drop")
    assert np.allclose(t[:, :6].sum(1), 1) and t[0, 5] > t[0, 0] and np.allclose(t[1, :6], 1 / 6)
    assert t[0, 6] == 1 and t[1, 6] == 0                   # hours without a MAP drop hardly count
    assert np.array_equal(attention_targets(a_t, x, "uniform")[:, 6], [1, 1])


def test_own_baseline_uses_past_data_only():
    from bedside.contract.signals import MISSING
    from bedside.sources.simulator import HR, MAP, RR
    raw = np.full((300, 7), MISSING, np.int16)
    raw[:, HR], raw[:, MAP], raw[:, RR] = 80, 85, 16
    raw[200:, HR] = 116                                    # +2 spreads (18 bpm)
    ends = np.array([59, 150, 199, 214, 299])
    s = baselines._own_baseline_patient(raw, ends)
    assert np.allclose(s, [0, 0, 0, 2, 2])
    later = raw.copy()
    later[250:, MAP] = 40                                  # a future change changes nothing
    assert np.allclose(baselines._own_baseline_patient(later, ends[:4]), s[:4])


def test_alarm_burden_counts_and_event_operating_point():
    from bedside.training import burden
    # patient 0: event at minute 100, windows end 40..95 (y = 1 from end 40 on: H = 60);
    # patient 1: no event, one false episode of 2 windows
    ends = np.concatenate([np.arange(40, 100, 5), np.arange(40, 100, 5)])
    pidx = np.repeat([0, 1], 12)
    y = np.concatenate([np.ones(12), np.zeros(12)]).astype(np.int8)
    onset = np.where(pidx == 0, 100, -1)
    p = np.zeros(24)
    p[5:8] = 0.9                                           # alarm on at end 70 -> lead 30
    p[15:17] = 0.9
    alarm = {"threshold": 0.5, "off_threshold": 0.5, "min_duration": 2}
    res, rows = burden.burden(y, p, pidx, ends, onset, alarm, 5, 20, 0)
    assert res["events"] == 1 and res["events_alarmed"] == 1
    assert res["median_lead_min"] == 100 - 70
    assert res["false_alarms"] == 1 and res["alarm_episodes"] == 2
    assert res["false_alarms_per_patient_day"] == 1 / (24 * 5 / 1440)
    assert res["alarm_precision"] == 0.5
    assert res["alarm_time_fraction"] == 3 / 24            # on at 2 + 1 windows
    assert res["positive_window_coverage"] == 2 / 12       # of patient 0's 12 positives
    op = burden.alarm_at_event_sensitivity(p, pidx, y, 2, 1.0)
    assert op["threshold"] == 0.9                          # min of the 2 windows ending at 70
    cmp = burden.compare(rows, rows, 5, 20, 0)
    assert cmp["false_alarms_per_patient_day_difference"] == 0


def test_endpoint_alarm_states_match_the_state_machine_and_choice_on_validation():
    from bedside.training import burden, endpoint
    rng = np.random.default_rng(0)
    for _ in range(20):
        n_p = 5
        pidx = np.repeat(np.arange(n_p), rng.integers(3, 30, n_p))
        ends = np.concatenate([59 + 5 * np.arange((pidx == i).sum()) for i in range(n_p)])
        onset = np.where(rng.random(n_p) < 0.5, 200, -1)[pidx]
        y = ((ends < onset) & (onset <= ends + 60)).astype(np.int8)
        p, m, t = rng.random(len(pidx)), int(rng.integers(1, 4)), rng.random()
        ref = burden.per_patient(y, p, pidx, ends, onset,
                                 {"threshold": t, "off_threshold": t, "min_duration": m})
        got = endpoint.rows_from_on(endpoint.alarm_on(p, pidx, t, m), y, pidx, ends, onset)
        for k in ref:
            assert np.allclose(np.asarray(ref[k], float), np.asarray(got[k], float),
                               equal_nan=True), k
    # re-alarm: one run of 7 on windows sounds at windows 0, 3, 6 with R = 3
    on = np.array([0, 1, 1, 1, 1, 1, 1, 1, 0], bool)
    z = np.zeros(9)
    r = endpoint.rows_from_on(on, z, np.zeros(9, int), np.arange(9) * 5, z - 1, 3)
    assert r["episodes"][0] == 3 and r["false"][0] == 3
    assert endpoint.rows_from_on(on, z, np.zeros(9, int), np.arange(9) * 5, z - 1)["false"][0] == 1
    pts = [{"threshold": 0.9, "event_sensitivity": 0.8, "false_alarms_per_patient_day": 0.1},
           {"threshold": 0.5, "event_sensitivity": 0.9, "false_alarms_per_patient_day": 1.0},
           {"threshold": 0.4, "event_sensitivity": 0.95, "false_alarms_per_patient_day": 1.5},
           {"threshold": 0.1, "event_sensitivity": 1.0, "false_alarms_per_patient_day": 3.0}]
    assert endpoint.choose(pts, 0.9)["threshold"] == 0.5     # fewest FA at >= 90 %
    assert endpoint.curve(pts) == [[0.8, 0.1], [0.9, 1.0], [0.95, 1.5], [1.0, 3.0]]


def test_operating_point_chooses_threshold_and_delay_on_validation_only():
    from bedside.training import endpoint
    # one event patient: output 0.9 for one window an hour before onset, else 0.2; one
    # event-free patient with isolated 0.8 spikes. A delay of 1 window alarms the event
    # at 0.9 with no false alarm; longer delays miss the event at any threshold above 0.2,
    # and 0.2 sounds on the event-free patient all day
    n = 40
    pidx = np.repeat([0, 1], n)
    ends = np.tile(59 + 5 * np.arange(n), 2)
    onset = np.where(pidx == 0, 59 + 5 * 30, -1)
    y = ((ends < onset) & (onset <= ends + 60)).astype(np.int8)
    p = np.full(2 * n, 0.2)
    p[25] = 0.9
    p[n + np.arange(3, n, 9)] = 0.8
    op = endpoint.operating_point(p, y, pidx, ends, onset, None, 5, 0.9)
    assert op["min_duration"] == 1 and 0.8 < op["threshold"] <= 0.9
    assert op["val_false_alarms_per_patient_day"] == 0 and op["val_event_sensitivity"] == 1
    assert op["off_threshold"] == op["threshold"] and op["chosen_on"] == "val"
    # the floor's alarms count too: a floor always on makes every point alarm all day
    op_f = endpoint.operating_point(p, y, pidx, ends, onset, np.ones(2 * n, bool), 5, 0.9)
    assert op_f["val_false_alarms_per_patient_day"] > 0


def test_device_windows_count_the_floor_between_windows():
    from bedside.contract.safety import DEFAULT, normalize
    from bedside.sources.cohort import Cohort
    from bedside.sources.simulator import Patient
    from bedside.training import endpoint
    raw = np.tile(np.array([80, 120, 60, 80, 97, 16, 370], np.int16), (200, 1))
    raw[103:110, 3] = 40                                   # MAP < 50 for 7 min
    pt = Patient(pid="p", raw=raw, privileged=np.full((200, 1), -32768, np.int16))
    c = Cohort.from_patients([pt], seed=0)
    ends = np.arange(59, 200, 5)
    on = endpoint.floor_windows(c, np.zeros(len(ends), int), ends, normalize(DEFAULT))
    assert on.any() and not on[ends < 100].any() and not on[ends > 140].any()
