"""`bedside bench engine` on every emulated target and on the public models.

The public-model builder (converter/engine/public_models.py) gives the published shapes at
full size (checked by their MAC counts, without running them) and, at test size, models
the engine computes bit for bit like TFLM. Under QEMU (`qemu` marker): the Cortex-M0
(microbit) and RISC-V (virt, minstret) builds run a public model end to end through the
CLI, per op as well, and a model that does not fit the M0's 16 KB of RAM is reported as
such, not as a failure.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_generated_banner import _quantize_model

ROOT = Path(__file__).resolve().parents[1]


def _bench(*argv):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "bedside.cli", "bench", "engine", *map(str, argv)],
                          capture_output=True, text=True, env=env)


# Published MAC counts: micro_speech 49x40 -> 25x20x8 taps of 10x8 + FC 4000x4; DS-CNN
# (MLPerf Tiny KWS, 64 ch); MobileNet v1 0.25 at 96x96 (RGB and grayscale); ResNet-8
# (MLPerf Tiny IC); the MLPerf Tiny anomaly-detection autoencoder (640-128x4-8-128x4-640).
FULL_MACS = {"micro_speech": 336_000, "ds_cnn": 2_656_768, "mobilenet_vww": 7_489_664,
             "person_detection": 7_157_888, "resnet8": 12_501_632, "fc_autoencoder": 264_192}


def test_public_models_have_the_published_shapes(tmp_path):
    pytest.importorskip("tensorflow")
    from bedside.converter.engine import generate, public_models, read_model
    assert set(FULL_MACS) == set(public_models.MODELS)
    for name, macs in FULL_MACS.items():
        path = public_models.model_path(name, cache=tmp_path)
        info = generate(path.read_bytes(), tmp_path / f"gen_{name}")
        assert info["macs"] == macs, name
        assert json.loads(path.with_suffix(".json").read_text())["generated_by"].startswith(
            f"python -m bedside.converter.engine.public_models {name}")
    m = read_model(public_models.model_path("micro_speech", cache=tmp_path).read_bytes())
    first = m.operators[0]
    assert first.op == "DEPTHWISE_CONV_2D" and first.options.depth_multiplier == 8
    assert m.tensors[first.inputs[0]].shape == (1, 49, 40, 1)
    # cached: the same file is returned, not rebuilt
    path = public_models.model_path("ds_cnn", cache=tmp_path)
    before = path.stat().st_mtime_ns
    assert public_models.model_path("ds_cnn", cache=tmp_path) == path
    assert path.stat().st_mtime_ns == before


def test_public_models_tiny_bit_exact_on_host(tmp_path):
    pytest.importorskip("tensorflow")
    from bedside.bench.engine import build_host, random_inputs, run_host, tflm_outputs
    from bedside.converter.engine import generate, public_models
    names = list(public_models.MODELS)
    models = [public_models.model_path(n, tiny=True, cache=tmp_path).read_bytes() for n in names]
    # reproducible: built again later in the same process, the same bytes
    assert public_models.model_path(names[0], tiny=True, cache=tmp_path / "again").read_bytes() == models[0]
    for k, data in enumerate(models):
        generate(data, tmp_path / f"gen{k}")
    exe = build_host([tmp_path / f"gen{k}" for k in range(len(models))], tmp_path / "host")
    for k, (name, data) in enumerate(zip(names, models)):
        x = random_inputs(data, 20, seed=k)
        ref = tflm_outputs(data, x)
        got = run_host(exe, k, x, ref.dtype, ref.shape[1:])
        assert np.array_equal(got.view(np.uint8), ref.view(np.uint8)), name


def test_bench_engine_refuses_bad_targets_and_arguments(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(_quantize_model(8))
    for argv, words in (([path, "--targets", "m4,m7"], "unknown target m7"),
                        ([], "either a MODEL path or --public NAME"),
                        ([path, "--public", "ds_cnn"], "either a MODEL path or --public NAME"),
                        (["--public", "alexnet"], "unknown model 'alexnet'"),
                        ([path, "--tiny"], "--tiny applies to --public NAME only")):
        r = _bench(*argv, "-n", "2")
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert r.returncode == 2 and len(lines) == 1 and words in lines[0], r.stdout + r.stderr


@pytest.mark.qemu
def test_m0_and_riscv_run_a_public_model_per_op(tmp_path):
    pytest.importorskip("tensorflow")
    from bedside.bench import engine_m4 as bench_m4
    if not (bench_m4.tools_available("m0") and bench_m4.tools_available("riscv32")):
        pytest.skip("arm-none-eabi / riscv64-unknown-elf toolchains or QEMU not installed")
    out = tmp_path / "bench.json"
    r = _bench("--public", "micro_speech", "--tiny", "-n", "6", "--targets", "m0,riscv32",
               "--per-op", "--json", out)
    assert r.returncode == 0, r.stdout + r.stderr
    f = json.loads(out.read_text())
    assert f["targets_measured"] == ["m0", "riscv32"] and f["outputs_equal"]
    assert "m4_instructions" not in f
    assert f["m0_instructions_per_tick"] == pytest.approx(62.5, rel=1e-3)     # TIMER0 at 16 MHz
    assert f["riscv32_instructions_per_tick"] == pytest.approx(1.0, rel=1e-4)  # minstret
    assert f["m0_instructions"] > f["riscv32_instructions"] > f["macs"]
    assert f["public_model"]["cmsis_nn_instructions_per_mac"]["m4"] > 0
    for target in ("m0", "riscv32"):
        ops = f[f"{target}_ops"]
        assert [o["op"] for o in ops] == f["ops"]
        total = sum(o["instructions"] for o in ops)
        assert 0.9 * f[f"{target}_instructions"] <= total <= 1.05 * f[f"{target}_instructions"]
        assert f[f"{target}_engine_bytes"] > f["weight_bytes"]
    assert "CMSIS-NN, issue 17" not in r.stdout      # quoted for the M4/M3 builds only


@pytest.mark.qemu
def test_a_model_too_big_for_the_m0_does_not_fit(tmp_path):
    """20,000 output bytes cannot sit in the microbit's 16 KB of RAM: reported, exit 0."""
    from bedside.bench import engine_m4 as bench_m4
    if not (bench_m4.tools_available("m0") and bench_m4.tools_available("riscv32")):
        pytest.skip("arm-none-eabi / riscv64-unknown-elf toolchains or QEMU not installed")
    path = tmp_path / "wide.tflite"
    path.write_bytes(_quantize_model(20_000))
    out = tmp_path / "bench.json"
    r = _bench(path, "-n", "2", "--targets", "m0,riscv32", "--json", out)
    assert r.returncode == 0, r.stdout + r.stderr
    f = json.loads(out.read_text())
    ram, limit = map(int, re.fullmatch(r"RAM (\d+) bytes > (\d+)", f["m0_does_not_fit"]).groups())
    assert limit == 16 << 10 and ram > 20_000
    assert f["targets_measured"] == ["riscv32"] and f["outputs_equal"]
    assert f["m0_engine_bytes"] > 0           # the engine compiled; only the firmware overflowed
    assert "does not fit (RAM" in r.stdout


@pytest.mark.qemu
def _with_wrapped_tool(tmp_path, tool_of, extra: str):
    """A tiny model and an environment whose PATH runs the real riscv32 tool `tool_of(target)`
    with `extra` appended (skips when the toolchain or QEMU is missing)."""
    import shutil
    from bedside.bench import engine_m4 as bench_m4
    if not bench_m4.tools_available("riscv32"):
        pytest.skip("riscv64-unknown-elf toolchain or QEMU not installed")
    tool = tool_of(bench_m4.TARGETS["riscv32"])
    wrapper = tmp_path / "bin" / tool
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which(tool)} "$@" {extra}\n')
    wrapper.chmod(0o755)
    path = tmp_path / "m.tflite"
    path.write_bytes(_quantize_model(8))
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    return path, env


def test_a_failed_cross_compile_is_one_line_and_exit_2(tmp_path):
    """The real RISC-V compiler, run with an option it does not know (a wrapper first on
    PATH adds it), fails: one line naming the file, the target and GCC's error, no traceback."""
    path, env = _with_wrapped_tool(tmp_path, lambda t: t.tool("g++"), "-mno-such-option")
    r = subprocess.run([sys.executable, "-m", "bedside.cli", "bench", "engine", str(path), "-n", "2",
                        "--targets", "riscv32"], capture_output=True, text=True, env=env)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "cross-compile of" in lines[0] and "for riscv32 failed" in lines[0]
    assert "-mno-such-option" in lines[0]


def test_an_emulator_that_fails_is_one_line_and_exit_2(tmp_path):
    """The real QEMU, run with an option it does not know (a wrapper first on PATH adds
    it), exits at once: one line naming the target, the emulator and its last line, the
    whole output kept in a log; no traceback."""
    path, env = _with_wrapped_tool(tmp_path, lambda t: t.qemu[0], "-no-such-flag")
    keep = tmp_path / "keep"
    r = subprocess.run([sys.executable, "-m", "bedside.cli", "bench", "engine", str(path), "-n", "2",
                        "--targets", "riscv32", "--keep", str(keep)],
                       capture_output=True, text=True, env=env)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "riscv32: the benchmark firmware did not finish" in lines[0]
    assert "-no-such-flag" in lines[0]
    logs = list(keep.rglob("qemu-riscv32.log"))
    assert logs and "-no-such-flag" in logs[0].read_text()
