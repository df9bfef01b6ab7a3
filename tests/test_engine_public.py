"""Public architectures (tiny sizes, random seeded weights) through the compiled engine:
a micro_speech-like CNN whose first layer is a DEPTHWISE_CONV_2D on one input channel with
depth multiplier 8, an MLPerf-Tiny-style DS-CNN, a MobileNet block on an RGB input, and an
FC autoencoder. Every output byte must equal tflite_micro's: on the host (ASan/UBSan) and
under QEMU on every benchmark target (Cortex-M4 DSP and portable, Cortex-M3, Cortex-M0,
RISC-V rv32imc)."""
import numpy as np
import pytest

from tests.test_engine_models import _init, build_all, compare, convert, seeded

pytest.importorskip("tensorflow")


def _dw_init(seed, std=0.4):
    import keras
    return dict(depthwise_initializer=keras.initializers.RandomNormal(stddev=std, seed=seed),
                bias_initializer=keras.initializers.RandomNormal(stddev=0.3, seed=seed + 1))


def micro_speech(seed=21, rows=25, cols=20):
    """TFLM's micro_speech shape: one-channel spectrogram -> DepthwiseConv2D(10x8, stride 2,
    depth multiplier 8) -> FC -> softmax (the real input is 49x40)."""
    import keras
    seeded(seed)
    inp = keras.Input((rows, cols, 1))
    x = keras.layers.DepthwiseConv2D((10, 8), strides=2, padding="same", depth_multiplier=8,
                                     activation="relu", **_dw_init(seed))(inp)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(4, **_init(seed + 1, 0.05))(x)
    return keras.Model(inp, keras.layers.Softmax()(x))


def ds_cnn(seed=22, channels=24):
    """MLPerf Tiny's keyword-spotting DS-CNN: 10x4 stride-2 stem on one channel, then
    depthwise 3x3 + pointwise 1x1 blocks, average pool, FC, softmax (real: 49x10, 64 ch)."""
    import keras
    seeded(seed)
    inp = keras.Input((25, 10, 1))
    x = keras.layers.Conv2D(channels, (10, 4), strides=2, padding="same", activation="relu",
                            **_init(seed, 0.4))(inp)
    for i in range(2):
        x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", **_dw_init(seed + 2 + i))(x)
        x = keras.layers.Conv2D(channels, 1, activation="relu", **_init(seed + 10 + i, 0.3))(x)
    x = keras.layers.AveragePooling2D(x.shape[1:3])(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(12, **_init(seed + 20, 0.3))(x)
    return keras.Model(inp, keras.layers.Softmax()(x))


def mobilenet_block(seed=23):
    """MobileNet v1 start: 3x3 stride-2 conv on RGB (3 input channels), two depthwise-separable
    blocks with ReLU6 (one strided), max pool, global average pool, FC."""
    import keras
    seeded(seed)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6", **_init(seed, 0.4))(inp)
    for i, (c, s) in enumerate(((16, 1), (24, 2))):
        x = keras.layers.DepthwiseConv2D(3, strides=s, padding="same", activation="relu6",
                                         **_dw_init(seed + 2 + i))(x)
        x = keras.layers.Conv2D(c, 1, activation="relu6", **_init(seed + 10 + i, 0.3))(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(2, **_init(seed + 20, 0.3))(x))


def fc_autoencoder(seed=24, width=40):
    """MLPerf Tiny's anomaly-detection autoencoder: FC layers with a bottleneck (real: 640 wide)."""
    import keras
    seeded(seed)
    inp = keras.Input((width,))
    x = inp
    for i, n in enumerate((32, 32, 8, 32, 32)):
        x = keras.layers.Dense(n, activation="relu", **_init(seed + i, 0.3))(x)
    return keras.Model(inp, keras.layers.Dense(width, **_init(seed + 9, 0.3))(x))


PUBLIC_CASES = [("micro_speech", micro_speech, 21), ("ds_cnn", ds_cnn, 22),
                ("mobilenet_block", mobilenet_block, 23), ("fc_autoencoder", fc_autoencoder, 24)]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return build_all(PUBLIC_CASES, tmp_path_factory.mktemp("engine_public"))


@pytest.mark.parametrize("case", range(len(PUBLIC_CASES)), ids=[c[0] for c in PUBLIC_CASES])
def test_public_model_bit_exact_on_host(compiled, case):
    exe, built = compiled
    name, model_bytes, k = built[case]
    x, ref, got = compare(exe, model_bytes, k, n=60, seed=300 + case)
    diff = np.count_nonzero(got.view(np.uint8) != ref.view(np.uint8))
    assert diff == 0, f"{name}: {diff} of {ref.nbytes} output bytes differ from TFLM"
    assert len(np.unique(ref)) > 1


@pytest.mark.qemu
@pytest.mark.parametrize("name,builder,seed", PUBLIC_CASES, ids=[c[0] for c in PUBLIC_CASES])
def test_public_model_bit_exact_on_cortex_m(tmp_path, name, builder, seed):
    """Every benchmark target under QEMU (bedside/bench/engine_m4.py); per-op figures add up."""
    from bedside.bench.engine import random_inputs, tflm_outputs
    from bedside.bench import engine_m4 as bench_m4
    from bedside.converter.engine import generate
    if not bench_m4.tools_available():
        pytest.skip("arm-none-eabi-g++ / qemu-system-arm not installed")
    model_bytes = convert(builder(seed), seed=seed)
    info = generate(model_bytes, tmp_path / "gen")
    x = random_inputs(model_bytes, 3, seed=seed)
    ref = tflm_outputs(model_bytes, x)
    per_op = name == "micro_speech"
    f = bench_m4.measure(tmp_path / "gen", tmp_path / "m", x, ref, per_op=per_op, info=info)
    assert f["outputs_equal"], {k: v for k, v in f.items() if k.endswith("equal")}
    assert f["m4_instructions"] <= f["m4_portable_instructions"], f
    if per_op:
        for target in f["targets_measured"]:
            ops = f[f"{target}_ops"]
            assert [o["op"] for o in ops] == info["ops"]
            total = sum(o["instructions"] for o in ops)
            # the hook's own cost is excluded, so the ops add up to the whole inference
            assert 0.9 * f[f"{target}_instructions"] <= total <= 1.05 * f[f"{target}_instructions"], (target, total)
