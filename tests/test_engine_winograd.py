"""RISC-V's Winograd F(2,3) path for 1x3 'same' stride-1 CONV_2D (kernels/conv.h:
ConvWinograd3): the generator selects it only for that shape, and crafted layers through it
(extreme inputs and weights, nonzero zero points, per-channel and per-tensor scales, odd
widths and channel counts, the three requantization forms) equal tflite_micro on every
target."""
import numpy as np
import pytest

from bedside.converter.engine.ops.conv_2d import winograd3


def _geometry(**kw):
    g = dict(batches=1, in_h=1, in_w=12, in_c=12, out_h=1, out_w=12, out_c=24, k_h=1, k_w=3,
             filter_in_c=12, stride_h=1, stride_w=1, dil_h=1, dil_w=1, pad_h=0, pad_w=1)
    g.update(kw)
    return g


def test_winograd_weights_give_twice_the_direct_sums():
    """U (the generator's) with the kernel's V reproduces 2 x the direct dot products."""
    r = np.random.default_rng(0)
    oc, c = 5, 7
    w = r.integers(-128, 128, (oc, 3 * c)).astype(np.int8)
    u = winograd3(_geometry(in_c=c, filter_in_c=c, out_c=oc), w).reshape(-1, c, 4, 2)
    x = r.integers(-128, 128, (4, c))
    v = np.stack([x[0] - x[2], x[1] + x[2], x[2] - x[1], x[1] - x[3]], axis=1)     # [c][4]
    for o in range(oc):
        m = (u[o // 2, :, :, o % 2].astype(np.int64) * v).sum(axis=0)
        g = w[o].reshape(3, c).astype(np.int64)
        assert m[0] + m[1] + m[2] == 2 * (g * x[0:3]).sum()
        assert m[1] - m[2] - m[3] == 2 * (g * x[1:4]).sum()


@pytest.mark.parametrize("change", [dict(k_w=5, pad_w=2), dict(stride_w=2, out_w=6), dict(dil_w=2),
                                    dict(pad_w=0, out_w=10), dict(k_h=3), dict(in_c=33, filter_in_c=33)])
def test_winograd_only_for_its_shape(change):
    w = np.zeros((24, change.get("k_h", 1) * change.get("k_w", 3) * change.get("in_c", 12)), np.int8)
    assert winograd3(_geometry(**change), w) is None
    assert winograd3(_geometry(), np.zeros((24, 36), np.int8)) is not None


def conv1x3_case(seed: int, w: int, c: int, oc: int, extreme: str = "", per_tensor: bool = False,
                 form: int = 2, h: int = 1) -> bytes:
    """One 1x3 SAME stride-1 CONV_2D over an h x w map of c channels to oc (bias, nonzero
    zero points). extreme: "max" (weights all 127), "min" (all -128) or "" (random); form 0
    / 1: scales and biases that force those requantization forms."""
    from tests.fixtures.crafted import T, build
    r = np.random.default_rng(seed)
    shape = (oc, 1, 3, c)
    if extreme == "max":
        wq = np.full(shape, 127, np.int8)
    elif extreme == "min":
        wq = np.full(shape, -128, np.int8)
    else:
        wq = r.integers(-128, 128, shape).astype(np.int8)
    if form == 1:
        ws, bias = r.uniform(2.0 ** -25, 2.0 ** -24, oc), r.integers(-(1 << 29), 1 << 29, oc)
    elif form == 0:
        ws = r.uniform(2.0 ** -27, 2.0 ** -26, oc)
        bias = r.choice([-1, 1], oc) * r.integers(1 << 30, (1 << 30) + (1 << 29), oc)
    else:
        ws, bias = r.uniform(0.5, 2.0, oc) / (3 * c * 128.0), r.integers(-3000, 3000, oc)
    if per_tensor:
        ws = ws[:1]
    in_zp, out_zp = int(r.integers(-100, 100)), int(r.integers(-20, 20))
    tensors = [T((1, h, w, c), scales=[1.0], zero_points=[in_zp]),
               T(shape, data=wq, scales=list(ws), zero_points=[0] * len(ws), quantized_dimension=0),
               T((oc,), "int32", data=bias.astype(np.int32), scales=list(ws), zero_points=[0] * len(ws)),
               T((1, h, w, oc), scales=[1.0], zero_points=[out_zp])]
    return build(tensors, "CONV_2D", [0, 1, 2], [3], "Conv2DOptions", padding=0, strideW=1, strideH=1)


CASES = {   # name: (kwargs, the inputs: "min", "max" or random)
    "student_12_to_24": (dict(w=12, c=12, oc=24), ""),
    "student_24_to_24": (dict(w=24, c=24, oc=24, per_tensor=True), ""),
    "odd_width_odd_channels": (dict(w=7, c=5, oc=7, h=2), ""),
    "even_channels_width_8": (dict(w=8, c=6, oc=8), ""),
    "weights_127_inputs_127": (dict(w=6, c=32, oc=4, extreme="max"), "max"),
    "weights_-128_inputs_-128": (dict(w=5, c=32, oc=3, extreme="min"), "min"),
    "form_1": (dict(w=10, c=16, oc=8, form=1), ""),
    "form_0": (dict(w=9, c=16, oc=8, form=0), ""),
}


def _inputs(model_bytes: bytes, kind: str, seed: int) -> np.ndarray:
    from bedside.bench.engine import random_inputs
    x = random_inputs(model_bytes, 3, seed=seed)
    if kind:
        x[0] = 127 if kind == "max" else -128
    return x


@pytest.mark.qemu
@pytest.mark.parametrize("name", sorted(CASES))
def test_winograd_bit_exact_on_every_target(tmp_path, name):
    pytest.importorskip("tensorflow")
    from bedside.bench.engine import tflm_outputs
    from bedside.bench import engine_m4 as bench_m4
    from bedside.converter.engine import generate
    if not (bench_m4.tools_available() and bench_m4.tools_available("riscv32")):
        pytest.skip("arm-none-eabi / riscv64-unknown-elf toolchains or QEMU not installed")
    kw, kind = CASES[name]
    model_bytes = conv1x3_case(seed=len(name), **kw)
    generate(model_bytes, tmp_path / "gen")
    assert "BEDSIDE_ENGINE_RISCV_ONLY(k_wino0)" in (tmp_path / "gen" / "model_engine.cc").read_text()
    x = _inputs(model_bytes, kind, seed=len(name))
    ref = tflm_outputs(model_bytes, x)
    f = bench_m4.measure(tmp_path / "gen", tmp_path / "m", x, ref)
    assert f["outputs_equal"], {k: v for k, v in f.items() if k.endswith("equal")}
    assert "riscv32" in f["targets_measured"]


def rows_case(op: str, act: int = 0) -> bytes:
    """RISC-V's other Student paths: MEAN over the 12 pixels of a (1, 12, 24) map (sums of
    four columns in registers, kernels/mean.h: MeanOfRows) and a 1x5 stride-5
    AVERAGE_POOL_2D over 60 pixels of 12 channels (the clamp skipped when the activation
    range is all of int8; act 1, RELU, keeps it)."""
    from tests.fixtures.crafted import T, build
    if op == "MEAN":
        return build([T((1, 12, 24), scales=[0.05], zero_points=[-7]), T((1,), "int32", data=np.array([1], np.int32)),
                      T((1, 24), scales=[0.03], zero_points=[5])],
                     "MEAN", [0, 1], [2], "ReducerOptions", keepDims=False)
    return build([T((1, 1, 60, 12), scales=[0.05], zero_points=[-3]), T((1, 1, 12, 12), scales=[0.05], zero_points=[-3])],
                 "AVERAGE_POOL_2D", [0], [1], "Pool2DOptions", padding=1, strideW=5, strideH=1, filterWidth=5,
                 filterHeight=1, fusedActivationFunction=act)


@pytest.mark.qemu
@pytest.mark.parametrize("op,act", [("MEAN", 0), ("AVERAGE_POOL_2D", 0), ("AVERAGE_POOL_2D", 1)])
def test_rows_mean_and_pool_bit_exact_on_every_target(tmp_path, op, act):
    pytest.importorskip("tensorflow")
    from bedside.bench.engine import random_inputs, tflm_outputs
    from bedside.bench import engine_m4 as bench_m4
    from bedside.converter.engine import generate
    if not (bench_m4.tools_available() and bench_m4.tools_available("riscv32")):
        pytest.skip("arm-none-eabi / riscv64-unknown-elf toolchains or QEMU not installed")
    model_bytes = rows_case(op, act)
    generate(model_bytes, tmp_path / "gen")
    x = random_inputs(model_bytes, 4, seed=act)
    x[0] = 127
    x[1] = -128
    ref = tflm_outputs(model_bytes, x)
    f = bench_m4.measure(tmp_path / "gen", tmp_path / "m", x, ref)
    assert f["outputs_equal"], {k: v for k, v in f.items() if k.endswith("equal")}
    assert "riscv32" in f["targets_measured"]
