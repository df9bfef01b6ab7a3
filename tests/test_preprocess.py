"""The integer preprocessing and alarm definitions: batch == streaming, edge cases, ranges."""
import numpy as np
import pytest

from bedside.contract import signals as sig
from bedside.contract.alarm import Alarm, alarm_sequence, prob_to_q
from bedside.contract.preprocess import (StreamingPreprocessor, preprocess_stream, to_model_input,
                                 window_ends, windows)


def _random_raw(rng, t_len=400, missing=0.3):
    raw = rng.integers(-100, 500, size=(t_len, sig.N_SIGNALS)).astype(np.int16)
    raw[rng.random(raw.shape) < missing] = sig.MISSING
    return raw


@pytest.mark.parametrize("seed", range(5))
def test_streaming_equals_batch(seed):
    raw = _random_raw(np.random.default_rng(seed))
    sp = StreamingPreprocessor()
    assert np.array_equal(preprocess_stream(raw), np.array([sp.push(r) for r in raw]))


def test_centre_maps_to_zero_and_spread_to_32():
    raw = np.array([[s.center for s in sig.SIGNALS]], dtype=np.int16)
    assert (preprocess_stream(raw) == 0).all()
    hr = sig.SIGNALS[0]
    raw[0, 0] = hr.center + 18          # one spread above centre
    assert preprocess_stream(raw)[0, 0] == 32


def test_carry_forward_then_centre_fill():
    hr = sig.SIGNALS[0]
    raw = np.full((hr.carry_limit + 3, sig.N_SIGNALS), sig.MISSING, dtype=np.int16)
    raw[0, 0] = 116                      # +2 spreads
    q = preprocess_stream(raw)[:, 0]
    assert (q[: hr.carry_limit + 1] == 64).all()
    assert (q[hr.carry_limit + 1:] == 0).all()


def test_implausible_values_are_missing_and_clamped():
    raw = np.array([[0, 400, 5, 10, 120, 1, 900]], dtype=np.int16)   # all out of range
    assert (preprocess_stream(raw) == 0).all()
    raw = np.array([[300, 300, 200, 250, 50, 80, 450]], dtype=np.int16)  # extreme but valid
    q = preprocess_stream(raw)[0]
    assert q.dtype == np.int8 and q.max() == 127 and q.min() == -128


def test_windows_follow_stride():
    q = np.arange(20 * 2, dtype=np.int8).reshape(20, 2)
    assert list(window_ends(20, 6, 5)) == [5, 10, 15]
    w = windows(q, 6, 5)
    assert w.shape == (3, 6, 2) and np.array_equal(w[1], q[5:11])
    assert to_model_input(np.array([32, -128], dtype=np.int8)).tolist() == [1.0, -4.0]


def test_alarm_hysteresis_and_duration():
    # on at >= 10 for two windows, off below 0
    seq = [12, 5, 11, 13, 3, 0, -1, 20]
    assert alarm_sequence(seq, 10, 0, 2).tolist() == [False, False, False, True, True, True, False, False]
    with pytest.raises(ValueError):
        Alarm(0, 10, 1)


def test_prob_to_q_logistic_output():
    scale, zp = 1 / 256, -128
    assert prob_to_q(0.5, scale, zp) == 0
    q = prob_to_q(0.3, scale, zp)
    assert (q - zp) * scale >= 0.3 > (q - 1 - zp) * scale
