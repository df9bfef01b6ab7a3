"""Reference fidelity: the compiled engine against the pinned `tflite-micro` wheel on crafted
single-op models whose scales and accumulators sit where conventions disagree.

Each model is written byte by byte (tests/fixtures/crafted.py): scales where deriving the
requantization multiplier from a float32 product and from a float64 product gives different
multipliers, accumulators (set through the bias) on and next to rounding ties, and for
ADD/SUB/MUL/QUANTIZE every int8 input. The engine must equal the wheel on every byte; the
FULLY_CONNECTED cases also show that the other convention (`float32-product`, TFLM's C++ of
2026-08-20) differs from the wheel exactly where an independent simulation says it should.
"""
import numpy as np
import pytest

from bedside.converter.engine.quant import FLOAT32_PRODUCT, FLOAT64, quantize_multiplier
from tests.fixtures.crafted import T, build, run_tflm

F32 = np.float32

# (input scale, filter scale, output scale, output zero point). The first is the
# autoencoder layer of issue 13 (accumulator -88337: wheel -21, float32 product -22).
FC_SCALES = [(0.024790890514850616, 0.0195566825568676, 0.36449846625328064, 96),
             (0.01983792707324028, 0.02386443316936493, 17.298912048339844, 0),
             (0.02540740557014942, 0.00488720927387476, 4.2141432762146, -7)]


# --- an independent simulation of TFLM's double-rounding requantization (int64 numpy) -----

def mbqm(x, m: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier: SaturatingRoundingDoublingHighMul, RoundingDivideByPOT."""
    x = np.asarray(x, np.int64) * (1 << max(shift, 0))
    right = max(-shift, 0)
    ab = x * m
    num = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    q = np.abs(num) // (1 << 31) * np.sign(num)
    mask = (1 << right) - 1
    return (q >> right) + ((q & mask) > (mask >> 1) + (q < 0))


def multipliers(si, sf, so):
    """(multiplier, shift) from the float64 and the float32 scale product."""
    a, b, c = float(F32(si)), float(F32(sf)), float(F32(so))
    return quantize_multiplier(a * b / c), quantize_multiplier(float(F32(a) * F32(b)) / c)


def tie_accumulators(m64, m32, zp: int) -> np.ndarray:
    """In-range accumulators where the two multipliers disagree, plus exact and near ties."""
    real = m64[0] / 2.0 ** (31 - m64[1])
    lim = int(np.ceil(260 / real))
    picked = []
    for start in range(-lim, lim, 1 << 20):
        acc = np.arange(start, min(start + (1 << 20), lim), dtype=np.int64)
        a, b = mbqm(acc, *m64), mbqm(acc, *m32)
        ok = (a + zp >= -128) & (a + zp <= 127)
        picked.append(acc[ok & (a != b)])
    near = np.round((np.arange(-128, 128) - zp + 0.5) / real).astype(np.int64)
    ties = np.concatenate([near + d for d in (-1, 0, 1)])
    ties = ties[(mbqm(ties, *m64) + zp >= -128) & (mbqm(ties, *m64) + zp <= 127)]
    return np.unique(np.concatenate(picked + [ties, [-88337]]))


def fc_model(si, sf, so, zp, accs, per_channel: bool) -> bytes:
    n = len(accs)
    k = n if per_channel else 1
    return build([T((1, 1), scales=[si], zero_points=[0]),
                  T((n, 1), data=np.zeros((n, 1), np.int8), scales=[sf] * k, zero_points=[0] * k),
                  T((n,), "int32", data=accs.astype(np.int32), scales=[si * sf] * k,
                    zero_points=[0] * k),
                  T((1, n), scales=[so], zero_points=[zp])],
                 "FULLY_CONNECTED", [0, 1, 2], [3], "FullyConnectedOptions")


def conv_model(si, sf, so, zp, accs, depthwise: bool) -> bytes:
    n = len(accs)
    if depthwise:
        inp, filt, op, opts = (1, 1, 1, n), (1, 1, 1, n), "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions"
        kw = dict(depthMultiplier=1)
    else:
        inp, filt, op, opts = (1, 1, 1, 1), (n, 1, 1, 1), "CONV_2D", "Conv2DOptions"
        kw = {}
    return build([T(inp, scales=[si], zero_points=[0]),
                  T(filt, data=np.zeros(filt, np.int8), scales=[sf] * n, zero_points=[0] * n,
                    quantized_dimension=3 if depthwise else 0),
                  T((n,), "int32", data=accs.astype(np.int32), scales=[si * sf] * n,
                    zero_points=[0] * n),
                  T((1, 1, 1, n), scales=[so], zero_points=[zp])],
                 op, [0, 1, 2], [3], opts, padding=1, strideW=1, strideH=1, **kw)


def binary_model(op, sa, za, sb, zb, so, zo) -> bytes:
    """Every int8 input value (model input [1, 256, 1]) against every constant [1, 1, 256]."""
    opts = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[op]
    return build([T((1, 256, 1), scales=[sa], zero_points=[za]),
                  T((1, 1, 256), data=np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256),
                    scales=[sb], zero_points=[zb]),
                  T((1, 256, 256), scales=[so], zero_points=[zo])], op, [0, 1], [2], opts)


ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def _cases():
    """(name, model bytes, derivation, inputs [N, ...], expected-to-differ flag)."""
    out = []
    for i, (si, sf, so, zp) in enumerate(FC_SCALES):
        m64, m32 = multipliers(si, sf, so)
        assert m64 != m32, f"FC scales {i}: the two derivations agree"
        accs = tie_accumulators(m64, m32, zp)
        x = np.zeros((1, 1, 1), np.int8)
        out.append((f"fc{i}", fc_model(si, sf, so, zp, accs, False), FLOAT64, x, accs))
        out.append((f"fc{i}-float32-product", fc_model(si, sf, so, zp, accs, False),
                    FLOAT32_PRODUCT, x, accs))
        out.append((f"fc{i}-per-channel", fc_model(si, sf, so, zp, accs, True), FLOAT64, x, accs))
        out.append((f"conv{i}", conv_model(si, sf, so, zp, accs, False), FLOAT64,
                    np.zeros((1, 1, 1, 1, 1), np.int8), accs))
        out.append((f"depthwise{i}", conv_model(si, sf, so, zp, accs, True), FLOAT64,
                    np.zeros((1, 1, 1, 1, len(accs)), np.int8), accs))
    x = ALL_INT8.reshape(1, 1, 256, 1)
    # Scales where a float32 derivation of the multipliers changes outputs (searched offline).
    out.append(("add", binary_model("ADD", 0.10898300260305405, 9, 0.1059110090136528, 12,
                                    0.17934654653072357, 4), FLOAT64, x, None))
    out.append(("sub", binary_model("SUB", 0.11592740565538406, 10, 0.1607261449098587, 8,
                                    0.06324230879545212, -2), FLOAT64, x, None))
    out.append(("mul", binary_model("MUL", 0.06490638852119446, -20, 0.057096928358078, -8,
                                    0.06964536011219025, -15), FLOAT64, x, None))
    out.append(("quantize", build([T((1, 256), scales=[0.16989699006080627], zero_points=[-1]),
                                   T((1, 256), scales=[0.08538413047790527], zero_points=[17])],
                                  "QUANTIZE", [0], [1]), FLOAT64, ALL_INT8.reshape(1, 1, 256), None))
    rng = np.random.default_rng(13)
    for count in (3, 5, 7):      # MEAN over `count` rows, rescaled (QuantizedMeanOrSum)
        out.append((f"mean{count}", build(
            [T((1, count, 64, 1), scales=[0.16989699006080627], zero_points=[-1]),
             T((1,), "int32", data=np.array([1], np.int32)),
             T((1, 64, 1), scales=[0.08538413047790527], zero_points=[17])],
            "MEAN", [0, 1], [2], "ReducerOptions", keepDims=False), FLOAT64,
            rng.integers(-128, 128, (24, 1, count, 64, 1)).astype(np.int8), None))
    for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):   # SAME padding: 4, 2 and 1 terms per sum
        out.append((kind.lower(), build(
            [T((1, 3, 3, 32), scales=[0.05], zero_points=[3]),
             T((1, 2, 2, 32), scales=[0.05], zero_points=[3])],
            kind, [0], [1], "Pool2DOptions", padding=0, strideW=2, strideH=2, filterWidth=2,
            filterHeight=2), FLOAT64, rng.integers(-128, 128, (64, 1, 3, 3, 32)).astype(np.int8),
            None))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    from bedside.bench.engine import build_host
    from bedside.converter.engine import generate
    tmp = tmp_path_factory.mktemp("engine_reference")
    dirs = []
    for name, model, derivation, _, _ in CASES:
        generate(model, tmp / name, command=f"tests: {name}", derivation=derivation)
        dirs.append(tmp / name)
    return build_host(dirs, tmp / "build", sanitize=False)


@pytest.mark.parametrize("k", range(len(CASES)), ids=[c[0] for c in CASES])
def test_engine_matches_wheel(compiled, k):
    from bedside.bench.engine import run_host
    name, model, derivation, x, accs = CASES[k]
    ref = run_tflm(model, list(x))
    got = run_host(compiled, k, x, ref.dtype, ref.shape[1:])
    if derivation == FLOAT64:
        bad = np.flatnonzero(got.reshape(-1) != ref.reshape(-1))
        assert bad.size == 0, f"{name}: {bad.size} of {ref.size} outputs differ from the wheel"
        return
    # The other convention: different from the wheel exactly where the simulation says so.
    si, sf, so, zp = FC_SCALES[int(name[2])]
    m64, m32 = multipliers(si, sf, so)
    want = np.clip(mbqm(accs, *m32) + zp, -128, 127)
    assert np.array_equal(got.reshape(-1), want), f"{name}: engine differs from the simulation"
    differ = int(np.count_nonzero(got.reshape(-1) != ref.reshape(-1)))
    assert differ > 0 and differ == int(np.count_nonzero(want != np.clip(mbqm(accs, *m64) + zp, -128, 127)))


def test_issue_case_accumulator():
    """Issue 13's autoencoder layer: accumulator -88337 gives -21 in the wheel (-22 with the
    float32 product), and the engine's derivation follows the wheel."""
    from bedside.converter.engine.quant import fc_multiplier
    si, sf, so, zp = FC_SCALES[0]
    m64, m32 = multipliers(si, sf, so)
    assert m64 == (1462485049, -9) and m32 == (1462485078, -9)
    assert quantize_multiplier(fc_multiplier(si, sf, so)) == m64
    assert quantize_multiplier(fc_multiplier(si, sf, so, FLOAT32_PRODUCT)) == m32
    ref = run_tflm(fc_model(si, sf, so, zp, np.array([-88337]), False), [np.zeros((1, 1), np.int8)])
    assert int(ref.reshape(-1)[0]) == -21 == int(mbqm(-88337, *m64) + zp)
    assert int(mbqm(-88337, *m32) + zp) == -22


def test_simulation_agrees_with_wheel_on_conv_ties():
    """The simulation above is TFLM's rounding (and shows the float32 product would differ)."""
    si, sf, so, zp = FC_SCALES[2]
    m64, m32 = multipliers(si, sf, so)
    accs = tie_accumulators(m64, m32, zp)
    ref = run_tflm(conv_model(si, sf, so, zp, accs, False), [np.zeros((1, 1, 1, 1), np.int8)])
    assert np.array_equal(ref.reshape(-1), np.clip(mbqm(accs, *m64) + zp, -128, 127))
    assert not np.array_equal(ref.reshape(-1), np.clip(mbqm(accs, *m32) + zp, -128, 127))


def test_per_tensor_fc_autoencoder(tmp_path):
    """A Keras FC autoencoder converted with per-tensor dense weights (as issue 13's public
    model): every layer's multiplier differs between the two derivations. 3,000 random
    inputs: the default engine equals the wheel on all 192,000 output bytes; the
    float32-product engine does not (10 bytes for this seed)."""
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    from bedside.bench.engine import build_host, random_inputs, run_host, tflm_outputs
    from bedside.converter.engine import generate, read_model
    from bedside.converter.engine.quant import fc_multiplier
    from tests.test_engine_models import autoencoder
    model = autoencoder(4)
    rng = np.random.default_rng(4)
    reps = [rng.uniform(-3, 3, size=(1, 64)).astype(np.float32) for _ in range(32)]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([r] for r in reps)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    data = conv.convert()
    m = read_model(data)
    fcs = [op for op in m.operators if op.op == "FULLY_CONNECTED"]
    scales = [[m.tensors[op.inputs[0]].scale, m.tensors[op.inputs[1]].scale,
               m.tensors[op.outputs[0]].scale] for op in fcs]
    assert all(len(m.tensors[op.inputs[1]].scales) == 1 for op in fcs)
    assert all(quantize_multiplier(fc_multiplier(*s)) !=
               quantize_multiplier(fc_multiplier(*s, FLOAT32_PRODUCT)) for s in scales)
    for derivation in (FLOAT64, FLOAT32_PRODUCT):
        generate(data, tmp_path / derivation, derivation=derivation)
    exe = build_host([tmp_path / FLOAT64, tmp_path / FLOAT32_PRODUCT], tmp_path / "build",
                     sanitize=False)
    x = random_inputs(data, 3000, 0)
    ref = tflm_outputs(data, x)
    assert np.array_equal(run_host(exe, 0, x, ref.dtype, ref.shape[1:]), ref)
    assert not np.array_equal(run_host(exe, 1, x, ref.dtype, ref.shape[1:]), ref)
