"""Fuzzing in CI: the libFuzzer harnesses (firmware/fuzz/) under ASan/UBSan, short and seeded.

Each harness runs ~8 s from the committed seed corpus with a fixed seed; no crash, no
sanitizer finding, and it must actually execute and cover code. `fuzz_app` drives the
whole request path (decoder, request checks, handle_frame, the loop and the run's model)
through the port, so it needs a converted run. The longer run is
`bedside bench reliability RUN_DIR --fuzz-seconds N` (docs/reliability.md).
"""
from __future__ import annotations

import shutil

import pytest

from bedside.bench.reliability import FUZZ_DIR, FUZZERS, MODEL_FUZZERS, build_fuzzers, run_fuzzer

pytestmark = pytest.mark.skipif(shutil.which("clang++") is None, reason="clang++ not installed")


@pytest.fixture(scope="module")
def fuzzers(tmp_path_factory):
    return build_fuzzers(tmp_path_factory.mktemp("fuzz-build"))


def test_seed_corpus_is_committed_and_small():
    for name in FUZZERS + MODEL_FUZZERS:
        files = list((FUZZ_DIR / "corpus" / name).glob("*.bin"))
        assert len(files) >= 2, name
        assert sum(f.stat().st_size for f in files) < 64 * 1024


@pytest.mark.parametrize("name", FUZZERS)
def test_fuzz_harness_short_run(name, fuzzers, tmp_path):
    r = run_fuzzer(fuzzers[name], name, seconds=8, seed=1, work=tmp_path)
    log = (tmp_path / "fuzz.log").read_text()
    assert r["crashes"] == 0 and not r["sanitizer_findings"], log[-3000:]
    assert r["exit_code"] == 0, log[-3000:]
    assert r["executions"] > 5000, r
    assert r["cov"] > 30 and r["features"] > r["cov"], r
    assert r["corpus"] >= len(list((FUZZ_DIR / "corpus" / name).glob("*.bin"))) - 1



def test_fuzz_request_path_short_run(converted_run_dir, tmp_path):
    """The request handlers through the port (SIMULATE of 2^32-1 samples in its corpus)."""
    bins = build_fuzzers(tmp_path / "build", converted_run_dir)
    r = run_fuzzer(bins["app"], "app", seconds=8, seed=1, work=tmp_path / "run")
    log = (tmp_path / "run" / "fuzz.log").read_text()
    assert r["crashes"] == 0 and not r["sanitizer_findings"], log[-3000:]
    assert r["exit_code"] == 0, log[-3000:]
    assert r["executions"] > 50, r           # inferences make it slow: ~100 per second
    assert r["cov"] > 200 and r["features"] > r["cov"], r
