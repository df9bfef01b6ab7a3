"""Compiled engine vs tflite_micro, bit for bit, per op on random shapes and parameters.

Every case is a tiny seeded Keras model converted to full int8; all engines are compiled
into one host program with -Wall -Wextra -Werror and ASan/UBSan, then fed the same
random int8 inputs as the TFLM interpreter.
"""
import numpy as np
import pytest

from tests.test_engine_models import OP_CASES, build_all, compare

pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return build_all(OP_CASES, tmp_path_factory.mktemp("engine_ops"))


@pytest.mark.parametrize("case", range(len(OP_CASES)), ids=[f"{c[0]}-{c[2]}" for c in OP_CASES])
def test_op_bit_exact(compiled, case):
    exe, built = compiled
    name, model_bytes, k = built[case]
    x, ref, got = compare(exe, model_bytes, k, n=48, seed=case)
    assert got.shape == ref.shape
    bad = np.flatnonzero(got.view(np.uint8).reshape(len(x), -1) != ref.view(np.uint8).reshape(len(x), -1))
    assert bad.size == 0, f"{name}: {bad.size} bytes differ from TFLM (input seed {case})"
    assert len(np.unique(ref)) > 1 or ref.size < 4, f"{name}: degenerate reference output"
