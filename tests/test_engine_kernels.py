"""Kernel arithmetic: the fast MultiplyByQuantizedMultiplier forms (and form 2, the output
zero point folded into the rounding term) equal the gemmlowp
reference (and the Python generator's copy) on edge cases and millions of random arguments
(the SMMULR variant of the fast form runs in the QEMU model tests)."""
import subprocess

import numpy as np
import pytest

from bedside.converter.engine import KERNEL_DIR
from bedside.converter.engine.quant import mbqm, quantize_multiplier

PROGRAM = r"""
#include <cstdio>
#include <cstdlib>
#include "kernels/common.h"
#include "kernels/elementwise.h"
using namespace bedside_engine;
static uint64_t s = 88172645463325252ull;
static uint32_t rnd() { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (uint32_t)s; }
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const int32_t xs[] = {0, 1, -1, 2, -2, 3, -3, INT32_MAX, INT32_MIN, INT32_MIN + 1, 1 << 30, -(1 << 30), 12345, -12345};
  const int32_t ms[] = {0, 1, 1 << 30, (1 << 30) + 1, INT32_MAX, 1518500250, 1073741824};
  long bad = 0;
  for (int32_t x : xs) for (int32_t m : ms) for (int sh = -31; sh <= 30; ++sh) {
    if (sh > 0 && (x > (INT32_MAX >> sh) || x < (INT32_MIN >> sh))) continue;  // TFLM would overflow too
    bad += MultiplyByQuantizedMultiplier(x, m, sh) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    if (sh <= -1 && x < (1 << 30) && x > -(1 << 30))
      bad += MultiplyByQuantizedMultiplierFast(x, m, -sh) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    if (sh <= 0 && x < (1 << 30) && x > -(1 << 30))
      bad += FastMultiplier(m, sh).Apply(x) != MultiplyByQuantizedMultiplierReference(x, m, sh);
  }
  const long n = atol(argv[1]);
  for (long i = 0; i < n; ++i) {
    const int32_t x = (int32_t)rnd() >> (rnd() % 32);
    const int32_t m = (int32_t)(rnd() >> 1);
    const int sh = -(int)(rnd() % 32) + (int)(rnd() % 8);
    if (sh > 0 && (x > (INT32_MAX >> sh) || x < (INT32_MIN >> sh))) continue;
    bad += MultiplyByQuantizedMultiplier(x, m, sh) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    if (sh <= -1 && x < (1 << 30) && x > -(1 << 30))
      bad += MultiplyByQuantizedMultiplierFast(x, m, -sh) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    if (sh <= 0 && x < (1 << 30) && x > -(1 << 30))
      bad += FastMultiplier(m, sh).Apply(x) != MultiplyByQuantizedMultiplierReference(x, m, sh);
    // Form 2 (RequantizeToInt8): the output zero point folded into the rounding term, right shifts <= 22.
    const int32_t zp = (int32_t)(rnd() % 256) - 128, rs = 1 + (int32_t)(rnd() % 22);
    const int32_t xf = (i & 1) ? (int32_t)(rnd() % (1u << 30)) * ((i & 2) ? -1 : 1) : x >> 2;
    const int32_t q[3] = {m, rs, (1 << (rs - 1)) + zp * (1 << rs)};
    const int32_t want = MultiplyByQuantizedMultiplierReference(xf, m, -rs) + zp;
    bad += MultiplyByQuantizedMultiplierFast(xf, m, rs, q[2]) != want;
    bad += RequantizeToInt8<2, false>(xf, q, 0, -128, 127) != (int8_t)Clamp(want, -128, 127);
  }
  // A few values for the Python cross-check.
  printf("%ld\n", bad);
  printf("%d %d %d\n", MultiplyByQuantizedMultiplier(-12345, 1518500250, -7),
         MultiplyByQuantizedMultiplier(777777, 1073741824, 1), MultiplyByQuantizedMultiplier(-5, 2147483647, 0));
  return 0;
}
"""


@pytest.mark.parametrize("variant", [[], ["-DBEDSIDE_ENGINE_HIGHMUL16"]], ids=["int64", "armv6m-16x16"])
def test_fast_multiplier_equals_reference(tmp_path, variant):
    """Both host forms of the fast high multiply: the 64-bit product, and the ARMv6-M one
    built from 16-bit halves (selected on the host by BEDSIDE_ENGINE_HIGHMUL16)."""
    src = tmp_path / "t.cc"
    src.write_text(PROGRAM)
    exe = tmp_path / "t"
    subprocess.run(["g++", "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover=all", *variant, f"-I{KERNEL_DIR}", str(src), "-o", str(exe)],
                   check=True)
    out = subprocess.run([str(exe), "1000000"], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "0", f"{out[0]} mismatches between fast and reference MultiplyByQuantizedMultiplier"
    assert [int(v) for v in out[1].split()] == [mbqm(-12345, 1518500250, -7), mbqm(777777, 1073741824, 1),
                                                 mbqm(-5, 2147483647, 0)]


def test_quantize_multiplier_matches_frexp_rule():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    m, s = quantize_multiplier(0.0123)
    assert (1 << 30) <= m < (1 << 31) and abs(m * 2.0 ** (s - 31) - 0.0123) < 1e-9
    assert quantize_multiplier(2.0 ** -40) == (0, 0)          # flushed like TFLM
    rng = np.random.default_rng(0)
    for v in rng.uniform(1e-6, 4, 200):
        m, s = quantize_multiplier(float(v))
        assert abs(m * 2.0 ** (s - 31) - v) <= v * 2 ** -30


# --- multiplier-1 DEPTHWISE_CONV_2D (kernels/depthwise_conv.h: DepthwiseConvM1) ----------
# Chains of depthwise layers reaching every branch: channel counts below 4, not a multiple
# of 4 (the 1-3 channel tail) and many; SAME and VALID; strides 1 and 2; kernels unrolled
# at compile time (<= 5x5) and not (1x7); border windows clipped on every side. TF's
# converter lowers dilated depthwise layers to SPACE_TO_BATCH_ND, so dilation comes from
# crafted flatbuffers (tests/fixtures/crafted.py).

def _dw(seed, kernel, **kw):
    import keras
    return keras.layers.DepthwiseConv2D(
        kernel, depthwise_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=seed),
        bias_initializer=keras.initializers.RandomNormal(stddev=0.3, seed=seed + 1), **kw)


def dw_few_channels(seed=31):
    import keras

    from tests.test_engine_models import _init, seeded
    seeded(seed)
    inp = keras.Input((11, 9, 3))
    x = _dw(seed, 3, padding="same")(inp)                                          # 3 channels: tail only
    x = keras.layers.Conv2D(7, 1, **_init(seed + 2, 0.4))(x)
    x = _dw(seed + 3, 3, strides=2, padding="valid", activation="relu")(x)         # 4 + 3
    x = _dw(seed + 4, (2, 5), strides=2, padding="same")(x)                        # even/odd clipping
    x = keras.layers.Conv2D(2, 1, **_init(seed + 5, 0.4))(x)
    return keras.Model(inp, _dw(seed + 6, 3, padding="same", activation="relu6")(x))   # 2 channels


def dw_many_channels(seed=32):
    import keras

    from tests.test_engine_models import _init, seeded
    seeded(seed)
    inp = keras.Input((7, 8, 4))
    x = keras.layers.Conv2D(40, 1, **_init(seed, 0.4))(inp)
    x = _dw(seed + 1, 5, padding="same", activation="relu6")(x)                    # 40: groups only, 5x5
    x = _dw(seed + 2, (1, 7), padding="same")(x)                                   # runtime kernel size
    x = keras.layers.Conv2D(13, 1, **_init(seed + 3, 0.3))(x)
    x = _dw(seed + 4, 3, padding="same", activation="relu")(x)                     # 12 + 1
    return keras.Model(inp, _dw(seed + 5, 3, strides=2, padding="same")(x))


def dw_dilated(channels, stride, dil_h, dil_w, padding, seed, h=10, w=9) -> bytes:
    """One 3x3 DEPTHWISE_CONV_2D (dilated unless dil_h = dil_w = 1) over an h x w map,
    per-channel scales, random weights and bias."""
    from bedside.converter.engine.ops._common import out_size
    from tests.fixtures.crafted import T, build
    r = np.random.default_rng(seed)
    kh, kw = 3, 3
    oh, ow = out_size(padding, h, kh, stride, dil_h), out_size(padding, w, kw, stride, dil_w)
    sf = list(r.uniform(0.002, 0.01, channels))
    return build([T((1, h, w, channels), scales=[0.05], zero_points=[int(r.integers(-20, 20))]),
                  T((1, kh, kw, channels), data=r.integers(-127, 128, (1, kh, kw, channels)).astype(np.int8),
                    scales=sf, zero_points=[0] * channels, quantized_dimension=3),
                  T((channels,), "int32", data=r.integers(-3000, 3000, channels).astype(np.int32),
                    scales=[0.05 * f for f in sf], zero_points=[0] * channels),
                  T((1, oh, ow, channels), scales=[0.06], zero_points=[int(r.integers(-10, 10))])],
                 "DEPTHWISE_CONV_2D", [0, 1, 2], [3], "DepthwiseConv2DOptions", padding=padding,
                 strideW=stride, strideH=stride, depthMultiplier=1, dilationHFactor=dil_h, dilationWFactor=dil_w)


DW_CASES = [("dw_few_channels", dw_few_channels, 31), ("dw_many_channels", dw_many_channels, 32)]
# (channels, stride, dilation h, dilation w, padding: 0 SAME / 1 VALID)
DILATED = [(6, 1, 2, 3, 0), (5, 2, 2, 2, 0), (8, 1, 3, 2, 1), (3, 2, 2, 1, 1)]
# 3x3 stride-1 SAME maps (h, w, channels) for RISC-V's column walk (DepthwiseConv3x3Columns)
# beyond the models above: no inner row (h 2), one column (no side taps), 1-3 rows left
# after the walk's steps of three, channel counts that are not a multiple of 4.
COLUMNS = [(2, 1, 5), (4, 1, 3), (2, 4, 6), (6, 3, 9), (7, 2, 4)]


def _depthwise_ops(model_bytes):
    from bedside.converter.engine.tflite_reader import read_model
    m = read_model(model_bytes)
    return [op for op in m.operators if op.op == "DEPTHWISE_CONV_2D"]


def _dw_models():
    from tests.test_engine_models import convert
    models = [(name, convert(builder(seed), seed=seed)) for name, builder, seed in DW_CASES]
    return (models + [(f"dilated{k}", dw_dilated(*case, seed=k)) for k, case in enumerate(DILATED)]
            + [(f"columns{k}", dw_dilated(c, 1, 1, 1, 0, seed=10 + k, h=h, w=w))
               for k, (h, w, c) in enumerate(COLUMNS)])


def test_depthwise_m1_bit_exact_on_host(tmp_path):
    pytest.importorskip("tensorflow")
    from bedside.bench.engine import build_host, random_inputs, run_host, tflm_outputs
    from bedside.converter.engine import generate
    models = _dw_models()
    for name, model_bytes in models:
        generate(model_bytes, tmp_path / name)
    exe = build_host([tmp_path / name for name, _ in models], tmp_path / "build")
    for k, (name, model_bytes) in enumerate(models):
        ops = _depthwise_ops(model_bytes)
        assert len(ops) >= (3 if k < len(DW_CASES) else 1), name
        x = random_inputs(model_bytes, 40, seed=k)
        ref = tflm_outputs(model_bytes, x)
        got = run_host(exe, k, x, ref.dtype, ref.shape[1:])
        diff = np.count_nonzero(got.view(np.uint8) != ref.view(np.uint8))
        assert diff == 0, f"{name}: {diff} of {ref.nbytes} output bytes differ from TFLM"
        assert len(np.unique(ref)) > 1, name


@pytest.mark.qemu
def test_depthwise_m1_bit_exact_on_cortex_m(tmp_path):
    """The DSP assembly, the portable loops and the M3 build under QEMU."""
    pytest.importorskip("tensorflow")
    from bedside.bench.engine import random_inputs, tflm_outputs
    from bedside.bench import engine_m4 as bench_m4
    from bedside.converter.engine import generate
    if not bench_m4.tools_available():
        pytest.skip("arm-none-eabi-g++ / qemu-system-arm not installed")
    for k, (name, model_bytes) in enumerate(_dw_models()):
        generate(model_bytes, tmp_path / name / "gen")
        x = random_inputs(model_bytes, 3, seed=k)
        ref = tflm_outputs(model_bytes, x)
        f = bench_m4.measure(tmp_path / name / "gen", tmp_path / name / "m", x, ref)
        assert f["outputs_equal"], (name, {k: v for k, v in f.items() if k.endswith("equal")})



def requant_form_case(op: str, form: int, seed: int) -> bytes:
    """One 1x1 CONV_2D or 3x3 SAME DEPTHWISE_CONV_2D (with RELU) over a 5x6 map of 64
    channels whose scales and biases force requantization form 1 (right shifts of 24-25)
    or 0 (accumulators that may reach 2^30): the RISC-V four-pixel kernels requantize these
    in C, not in their assembly (form 2)."""
    from tests.fixtures.crafted import T, build
    r = np.random.default_rng(seed)
    c = 64
    if form == 1:
        ws, bias = r.uniform(2.0 ** -25, 2.0 ** -24, c), r.integers(-(1 << 29), 1 << 29, c)
    else:
        ws = r.uniform(2.0 ** -27, 2.0 ** -26, c)
        bias = r.choice([-1, 1], c) * r.integers(1 << 30, (1 << 30) + (1 << 29), c)
    shape, qdim = ((c, 1, 1, c), 0) if op == "CONV_2D" else ((1, 3, 3, c), 3)
    tensors = [T((1, 5, 6, c), scales=[1.0], zero_points=[int(r.integers(-5, 5))]),
               T(shape, data=r.integers(-127, 128, shape).astype(np.int8), scales=list(ws),
                 zero_points=[0] * c, quantized_dimension=qdim),
               T((c,), "int32", data=bias.astype(np.int32), scales=list(ws), zero_points=[0] * c),
               T((1, 5, 6, c), scales=[1.0], zero_points=[int(r.integers(-10, 10))])]
    if op == "CONV_2D":
        return build(tensors, op, [0, 1, 2], [3], "Conv2DOptions", padding=0, strideW=1, strideH=1)
    return build(tensors, op, [0, 1, 2], [3], "DepthwiseConv2DOptions", padding=0, strideW=1, strideH=1,
                 depthMultiplier=1, fusedActivationFunction=1)


@pytest.mark.qemu
@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
@pytest.mark.parametrize("form", [0, 1])
def test_requantization_forms_0_and_1_on_every_target(tmp_path, op, form):
    from bedside.bench.engine import random_inputs, tflm_outputs
    from bedside.bench import engine_m4 as bench_m4
    from bedside.converter.engine import generate
    if not (bench_m4.tools_available() and bench_m4.tools_available("riscv32")):
        pytest.skip("arm-none-eabi / riscv64-unknown-elf toolchains or QEMU not installed")
    model_bytes = requant_form_case(op, form, seed=40 + form)
    generate(model_bytes, tmp_path / "gen")
    kernel = "Conv" if op == "CONV_2D" else "DepthwiseConvM1"
    assert f"bedside_engine::{kernel}<{form}, " in (tmp_path / "gen" / "model_engine.cc").read_text()
    x = random_inputs(model_bytes, 3, seed=form)
    ref = tflm_outputs(model_bytes, x)
    assert len(np.unique(ref)) > 10
    f = bench_m4.measure(tmp_path / "gen", tmp_path / "m", x, ref)
    assert f["outputs_equal"], {k: v for k, v in f.items() if k.endswith("equal")}


AVERAGE_PROGRAM = r"""
#include <cstdio>
#include "kernels/pooling.h"
using namespace bedside_engine;
int main() {
  long bad = 0, checked = 0;
  for (int32_t count = 1; count <= 300; ++count) {
    const Divisor d = MakeDivisor(count);
    for (int32_t sum = -128 * count; sum <= 127 * count; ++sum, ++checked)
      bad += AverageOf(sum, d) != (sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count);
  }
  printf("%ld %ld\n", bad, checked);
  return 0;
}
"""


def test_average_by_reciprocal_equals_division(tmp_path):
    """The ARMv6-M rounded average (a reciprocal multiply, selected on the host by
    BEDSIDE_ENGINE_NO_DIVIDE) equals TFLM's division for every int8 window sum of 1-300 taps."""
    src = tmp_path / "avg.cc"
    src.write_text(AVERAGE_PROGRAM)
    exe = tmp_path / "avg"
    subprocess.run(["g++", "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover=all", "-DBEDSIDE_ENGINE_NO_DIVIDE", f"-I{KERNEL_DIR}", str(src),
                    "-o", str(exe)], check=True)
    bad, checked = (int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True,
                                                   check=True).stdout.split())
    assert checked > 10_000_000 and bad == 0, f"{bad} of {checked} averages differ"
