"""The kit's Student compiled for Cortex-M4 (arm-none-eabi-g++, DSP and portable kernels)
and run on QEMU mps2-an386 gives TFLM's output bytes; the benchmark figures come out."""
import numpy as np
import pytest

from tests.test_engine_models import convert, kit_student

pytestmark = pytest.mark.qemu
pytest.importorskip("tensorflow")


def test_student_on_cortex_m4_matches_tflm(tmp_path):
    from converter.bench_engine import random_inputs, tflm_outputs
    from converter.engine import bench_m4, generate
    if not bench_m4.tools_available():
        pytest.skip("arm-none-eabi-g++ / qemu-system-arm not installed")
    model_bytes = convert(kit_student(), seed=0)
    info = generate(model_bytes, tmp_path / "gen")
    x = random_inputs(model_bytes, 6, seed=7)
    ref = tflm_outputs(model_bytes, x)
    assert len(np.unique(ref)) > 1
    figures = bench_m4.measure(tmp_path / "gen", tmp_path / "m4", x, ref)
    assert figures["m4_outputs_equal"], figures          # DSP and portable builds both bit-exact
    assert figures["m4_instructions"] > info["macs"] // 4
    assert figures["m4_text_bytes"] > info["weight_bytes"]
    print(figures)
