"""window_dataset uses bedside.contract.preprocess exactly; Teacher windows line up with it."""
import numpy as np
import pytest

from bedside.contract import preprocess
from bedside import runinfo
from bedside.rundir import RunPaths
from bedside.sources.cohort import Cohort
from bedside.sources.windows import teacher_windows, window_dataset
from bedside.sources.simulator import simulate_cohort


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ds") / "run"
    patients = [p for c in simulate_cohort(16, seed=5) for p in c]
    Cohort.from_patients(patients, seed=5).save(run / "data" / "cohort.npz")
    runinfo.merge(run, config={"seed": 5, "window": {"length": 60, "stride": 5},
                               "horizon_min": 60})
    return run


def test_windows_match_preprocessing_and_streaming(small_run):
    cohort = Cohort.load(RunPaths(small_run).cohort)
    x, y, pidx, ends = window_dataset(small_run, "train")
    assert x.dtype == np.int8 and x.shape[1:] == (60, 7) and len(x) == len(y) == len(pidx)
    assert set(np.unique(pidx)) <= set(cohort.indices("train"))
    i = int(pidx[0])
    raw = cohort.stream(i)
    q = preprocess.preprocess_stream(raw)
    m = pidx == i
    assert np.array_equal(x[m][0], q[ends[m][0] - 59:ends[m][0] + 1])
    assert np.array_equal(x[m][:, -1], q[ends[m]])
    assert np.all((ends[m] - 59) % 5 == 0)
    # the device's sample-by-sample state machine gives the same features
    sp = preprocess.StreamingPreprocessor()
    streamed = np.stack([sp.push(s) for s in raw[:ends[m][3] + 1]])
    assert np.array_equal(streamed[-60:], x[m][3])
    # Keras input is the dequantized int8
    assert np.allclose(preprocess.to_model_input(x[:2]), x[:2].astype(np.float32) / 32)


def test_labels_and_no_post_onset_windows(small_run):
    cohort = Cohort.load(RunPaths(small_run).cohort)
    for split in ("train", "val", "test"):
        _, y, pidx, ends = window_dataset(small_run, split)
        onset = cohort.onset[pidx]
        has = onset >= 0
        assert np.all(ends[has] < onset[has])
        expect = has & (onset - ends <= 60)
        assert np.array_equal(y.astype(bool), expect)
    _, y, _, _ = window_dataset(small_run, "all")
    assert y.sum() > 0


def test_teacher_windows_contain_student_windows(small_run):
    cohort = Cohort.load(RunPaths(small_run).cohort)
    x, y, pidx, ends = window_dataset(small_run, "val")
    xt = teacher_windows(cohort, pidx, ends, 180)
    assert xt.shape == (len(x), 180, 10) and xt.dtype == np.int8
    assert np.array_equal(xt[:, -60:, :7], x)
    assert (xt[:, -60:, -1] == 127).all()                # "admitted"
    early = ends < 179
    assert early.any()
    k = np.flatnonzero(early)[0]     # before admission: zeros, flagged as padding
    assert not xt[k, :179 - ends[k], :].any() and (xt[k, 179 - ends[k]:, -1] == 127).all()


def test_teacher_sees_the_students_personalized_features(small_run):
    from bedside.sources.windows import split_windows
    from bedside.contract.personalize import DEFAULT, normalize
    cohort = Cohort.load(RunPaths(small_run).cohort)
    pz = normalize(DEFAULT)
    x, y, pidx, ends = split_windows(cohort, "test", 60, 5, 60, pz)
    x_off, _, _, _ = split_windows(cohort, "test", 60, 5, 60)
    assert not np.array_equal(x, x_off)                  # re-centring changes the input
    xt = teacher_windows(cohort, pidx, ends, 120, pz)
    assert np.array_equal(xt[:, -60:, :7], x)
