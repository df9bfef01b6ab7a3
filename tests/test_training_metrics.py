"""Metrics, NEWS2 bands and the KD loss terms."""
import numpy as np

from training import baselines, metrics


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
    thr = metrics.threshold_at_sensitivity([1, 1, 1, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.5], 0.75)
    assert thr == 0.7
    assert metrics.sensitivity_at_alarm_rate([1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                                             np.arange(10)[::-1], 0.1) == 1.0
    lo, hi = metrics.bootstrap_ci(metrics.auroc, y, s, np.arange(300) // 10, 50, 0)
    assert lo <= metrics.auroc(y, s) <= hi


def test_news2_bands_and_platt():
    # hr, sbp, dbp, map, spo2, rr, temp(0.1 C)
    v = np.array([[80, 120, 65, 82, 97, 18, 370],       # all normal
                  [135, 85, 50, 60, 90, 26, 392],       # 3+3+3+3+2
                  [45, 105, 60, 75, 94, 10, 355],       # 1 each
                  [40, 220, 90, 130, 91, 8, 350]])      # 3 each
    assert list(baselines.news2(v)) == [0, 14, 5, 15]
    rng = np.random.default_rng(1)
    z = rng.normal(size=2000)
    y = rng.random(2000) < 1 / (1 + np.exp(-(2 * z - 1)))
    a, b = baselines.platt_fit(z, y)
    assert abs(a - 2) < 0.4 and abs(b + 1) < 0.3


def test_kd_loss_terms():
    import tensorflow as tf

    from training.distill import _losses
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
    uniform = tf.ones((2, 6)) / 6
    assert np.allclose(att_loss(uniform, fmap), 0, atol=1e-6)
    peaked = tf.constant([[0, 0, 0, 0, 0, 1.0]] * 2)
    assert np.all(att_loss(peaked, fmap).numpy() > 0.1)
