"""Tiny Keras models for the engine tests, converted to full-int8 TFLite deterministically.

No tests here: `tests/test_engine_ops.py` and `tests/test_engine_models_e2e.py` use these
builders. Weights are random (seeded) with a spread wide enough that every op sees the
whole int8 range; calibration uses seeded random representative data.
"""
from __future__ import annotations

import numpy as np


def _keras():
    import keras
    return keras


def _init(seed: int, std: float = 0.5):
    k = _keras()
    return dict(kernel_initializer=k.initializers.RandomNormal(stddev=std, seed=seed),
                bias_initializer=k.initializers.RandomNormal(stddev=0.3, seed=seed + 1))


def convert(model, seed: int, float_io: bool = False, n_rep: int = 32) -> bytes:
    """Full-int8 post-training quantization with a seeded representative dataset."""
    import tensorflow as tf
    shape = [1, *model.input_shape[1:]]
    rng = np.random.default_rng(seed)
    reps = [rng.uniform(-3, 3, size=shape).astype(np.float32) for _ in range(n_rep)]

    def rep():
        for r in reps:
            yield [r]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


def seeded(seed: int):
    import keras
    keras.utils.set_random_seed(seed)
    return np.random.default_rng(seed)


# --- per-op models: builder(seed) -> keras.Model ---------------------------------------

def conv2d(seed):
    k = _keras()
    r = seeded(seed)
    h, w, c = int(r.integers(3, 9)), int(r.integers(3, 9)), int(r.integers(1, 6))
    kh, kw = int(r.integers(1, min(h, 3) + 1)), int(r.integers(1, min(w, 3) + 1))
    stride = int(r.integers(1, 3))
    dil = 1   # TF lowers dilated Conv2D to SPACE_TO_BATCH_ND + CONV_2D + BATCH_TO_SPACE_ND
    pad = ["same", "valid"][int(r.integers(0, 2))]
    act = [None, "relu", "relu6"][int(r.integers(0, 3))]
    inp = k.Input((h, w, c))
    x = k.layers.Conv2D(int(r.integers(1, 9)), (kh, kw), strides=stride, dilation_rate=dil,
                        padding=pad, activation=act, **_init(seed))(inp)
    return k.Model(inp, x)


def depthwise(seed):
    k = _keras()
    r = seeded(seed)
    h, w, c = int(r.integers(3, 9)), int(r.integers(3, 9)), int(r.integers(1, 6))
    kh, kw = int(r.integers(1, min(h, 3) + 1)), int(r.integers(1, min(w, 3) + 1))
    stride = int(r.integers(1, 3))
    pad = ["same", "valid"][int(r.integers(0, 2))]
    act = [None, "relu", "relu6"][int(r.integers(0, 3))]
    inp = k.Input((h, w, c))
    x = k.layers.DepthwiseConv2D((kh, kw), strides=stride, padding=pad, activation=act,
                                 depth_multiplier=int(r.integers(1, 3)),
                                 depthwise_initializer=k.initializers.RandomNormal(stddev=0.5, seed=seed),
                                 bias_initializer=k.initializers.RandomNormal(stddev=0.3, seed=seed + 1))(inp)
    return k.Model(inp, x)


def dense(seed):
    k = _keras()
    r = seeded(seed)
    inp = k.Input((int(r.integers(1, 40)),))
    act = [None, "relu", "relu6"][int(r.integers(0, 3))]
    x = k.layers.Dense(int(r.integers(1, 20)), activation=act, **_init(seed))(inp)
    return k.Model(inp, x)


def pool(seed):
    k = _keras()
    r = seeded(seed)
    h, w, c = int(r.integers(2, 9)), int(r.integers(2, 9)), int(r.integers(1, 5))
    ph, pw = int(r.integers(1, min(h, 3) + 1)), int(r.integers(1, min(w, 3) + 1))
    stride = int(r.integers(1, 3))
    pad = ["same", "valid"][int(r.integers(0, 2))]
    layer = [k.layers.AveragePooling2D, k.layers.MaxPooling2D][seed % 2]
    inp = k.Input((h, w, c))
    x = k.layers.Conv2D(c, 1, **_init(seed))(inp)        # gives the pool a calibrated input
    x = layer((ph, pw), strides=stride, padding=pad)(x)
    return k.Model(inp, x)


def mean(seed):
    k = _keras()
    r = seeded(seed)
    inp = k.Input((int(r.integers(1, 30)), int(r.integers(1, 9))))
    x = k.layers.Conv1D(int(r.integers(1, 9)), 1, **_init(seed))(inp)
    x = k.layers.GlobalAveragePooling1D()(x)
    return k.Model(inp, x)


def mean2d(seed):
    k = _keras()
    r = seeded(seed)
    inp = k.Input((int(r.integers(1, 7)), int(r.integers(1, 7)), int(r.integers(1, 6))))
    x = k.layers.Conv2D(int(r.integers(1, 6)), 1, **_init(seed))(inp)
    x = k.layers.GlobalAveragePooling2D(keepdims=bool(seed % 2))(x)
    return k.Model(inp, x)


def binary(seed):
    k = _keras()
    r = seeded(seed)
    shape = (int(r.integers(1, 6)), int(r.integers(1, 6)), int(r.integers(1, 5)))
    inp = k.Input(shape)
    a = k.layers.Conv2D(shape[2], 1, **_init(seed))(inp)
    b = k.layers.Conv2D(shape[2], 1, **_init(seed + 7, 1.5))(inp)
    kind = seed % 4
    if kind == 0:
        x = k.layers.Add()([a, b])
    elif kind == 1:
        x = k.layers.Subtract()([a, b])
    elif kind == 2:
        x = k.layers.Multiply()([a, b])
    else:   # broadcast: squeeze-and-excite style channel gate
        g = k.layers.GlobalAveragePooling2D(keepdims=True)(b)
        x = k.layers.Multiply()([a, g])
    return k.Model(inp, x)


def activation(seed):
    k = _keras()
    r = seeded(seed)
    inp = k.Input((int(r.integers(1, 20)),))
    x = k.layers.Dense(int(r.integers(1, 20)), **_init(seed, 1.0))(inp)
    act = ["sigmoid", "tanh", "relu", "relu6", "leaky"][seed % 5]
    if act in ("relu", "relu6"):   # after a reshape so the converter cannot fuse it into FC
        x = k.layers.Reshape((-1, 1))(x)
        x = k.layers.ReLU(max_value=6.0 if act == "relu6" else None)(x)
    elif act == "leaky":
        x = k.layers.LeakyReLU(negative_slope=float(r.uniform(0.05, 0.5)))(x)
    else:
        x = k.layers.Activation(act)(x)
    return k.Model(inp, x)


def concat(seed):
    k = _keras()
    r = seeded(seed)
    inp = k.Input((int(r.integers(1, 6)), int(r.integers(1, 6)), int(r.integers(1, 4))))
    a = k.layers.Conv2D(int(r.integers(1, 4)), 1, **_init(seed))(inp)
    b = k.layers.Conv2D(int(r.integers(1, 4)), 1, **_init(seed + 3))(inp)
    x = k.layers.Concatenate(axis=-1)([a, b])
    return k.Model(inp, x)


# --- whole models ------------------------------------------------------------------------

def student(seed=0):
    """The kit's Student shape: (60, 7) -> Conv1D / DepthwiseConv1D / GAP / Dense / sigmoid."""
    k = _keras()
    seeded(seed)
    inp = k.Input((60, 7))
    x = k.layers.Conv1D(16, 5, padding="same", activation="relu", **_init(seed, 0.4))(inp)
    x = k.layers.DepthwiseConv1D(5, padding="same", activation="relu",
                                 depthwise_initializer=k.initializers.RandomNormal(stddev=0.4, seed=seed))(x)
    x = k.layers.Conv1D(24, 1, activation="relu", **_init(seed + 1, 0.3))(x)
    x = k.layers.GlobalAveragePooling1D()(x)
    x = k.layers.Dense(16, activation="relu", **_init(seed + 2, 0.3))(x)
    return k.Model(inp, k.layers.Dense(1, activation="sigmoid", **_init(seed + 3, 0.3))(x))


def kit_student(seed=0):
    """The kit's own Student (bedside.training.models.build_student), random weights, sigmoid output."""
    import keras

    from bedside.training.models import build_student
    seeded(seed)
    model = build_student()[1]
    rng = np.random.default_rng(seed)
    for layer in model.layers:   # spread weights so every int8 code path is exercised
        ws = layer.get_weights()
        if ws:
            layer.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in ws])
    return keras.Model(model.inputs, model.outputs)


def kws_cnn(seed=1):
    """Depthwise-separable keyword-spotting-style CNN (DS-CNN)."""
    k = _keras()
    seeded(seed)
    inp = k.Input((25, 10, 1))
    x = k.layers.Conv2D(16, (5, 3), strides=2, padding="same", activation="relu", **_init(seed, 0.4))(inp)
    for i in range(2):
        x = k.layers.DepthwiseConv2D(3, padding="same", activation="relu",
                                     depthwise_initializer=k.initializers.RandomNormal(stddev=0.4, seed=seed + i))(x)
        x = k.layers.Conv2D(16, 1, activation="relu", **_init(seed + 10 + i, 0.3))(x)
    x = k.layers.AveragePooling2D((13, 5))(x)
    x = k.layers.Flatten()(x)
    x = k.layers.Dense(12, **_init(seed + 20, 0.3))(x)
    return k.Model(inp, x)


def resnet(seed=2):
    """A small ResNet: conv stem, two residual blocks with ADD, max pool, dense head."""
    k = _keras()
    seeded(seed)
    inp = k.Input((16, 16, 3))
    x = k.layers.Conv2D(8, 3, padding="same", activation="relu", **_init(seed, 0.4))(inp)
    for i in range(2):
        y = k.layers.Conv2D(8, 3, padding="same", activation="relu", **_init(seed + 2 * i + 1, 0.3))(x)
        y = k.layers.Conv2D(8, 3, padding="same", **_init(seed + 2 * i + 2, 0.3))(y)
        x = k.layers.ReLU()(k.layers.Add()([x, y]))
    x = k.layers.MaxPooling2D(2)(x)
    x = k.layers.Conv2D(16, 3, strides=2, padding="valid", activation="relu6", **_init(seed + 9, 0.3))(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    return k.Model(inp, k.layers.Dense(10, **_init(seed + 10, 0.3))(x))


def autoencoder(seed=3):
    """A fully connected autoencoder (the anomaly-detection benchmark's shape)."""
    k = _keras()
    seeded(seed)
    inp = k.Input((64,))
    x = inp
    for i, n in enumerate((32, 16, 8, 16, 32)):
        x = k.layers.Dense(n, activation="relu", **_init(seed + i, 0.3))(x)
    return k.Model(inp, k.layers.Dense(64, **_init(seed + 9, 0.3))(x))


def float_io(seed=4):
    """A float-in/float-out model: QUANTIZE first, DEQUANTIZE last, int8 inside."""
    k = _keras()
    seeded(seed)
    inp = k.Input((20, 4))
    x = k.layers.Conv1D(8, 3, padding="valid", activation="relu", **_init(seed, 0.4))(inp)
    x = k.layers.MaxPooling1D(2)(x)
    x = k.layers.Flatten()(x)
    x = k.layers.Dense(3, activation="tanh", **_init(seed + 1, 0.3))(x)
    return k.Model(inp, x)


OP_CASES = ([("conv2d", conv2d, s) for s in range(6)] + [("depthwise", depthwise, s) for s in range(4)]
            + [("dense", dense, s) for s in range(3)] + [("pool", pool, s) for s in range(4)]
            + [("mean1d", mean, s) for s in range(2)] + [("mean2d", mean2d, s) for s in range(2)]
            + [("binary", binary, s) for s in range(4)] + [("activation", activation, s) for s in range(5)]
            + [("concat", concat, 0)])

WHOLE_CASES = [("student", student, False), ("kit_student", kit_student, False), ("kws_cnn", kws_cnn, False), ("resnet", resnet, False),
               ("autoencoder", autoencoder, False), ("float_io", float_io, True)]


def build_all(cases, tmp_path, seed_of=lambda case: case[2] if isinstance(case[2], int) else 0):
    """Convert every case, generate its engine, compile all into ONE sanitized host program.

    Returns (exe, [(name, tflite_bytes, index_in_exe)]).
    """
    from bedside.bench.engine import build_host
    from bedside.converter.engine import generate
    built, dirs = [], []
    for k, case in enumerate(cases):
        name, builder, arg = case
        if isinstance(arg, bool):
            model_bytes = convert(builder(), seed=k, float_io=arg)
        else:
            model_bytes = convert(builder(arg), seed=arg)
        d = tmp_path / f"gen{k}_{name}"
        generate(model_bytes, d, command=f"tests: {name} seed {arg}")
        dirs.append(d)
        built.append((f"{name}-{arg}", model_bytes, k))
    exe = build_host(dirs, tmp_path / "build")
    return exe, built


def compare(exe, model_bytes: bytes, k: int, n: int = 64, seed: int = 0):
    """Random inputs through the compiled engine and through tflite_micro; both outputs."""
    from bedside.bench.engine import random_inputs, run_host, tflm_outputs
    x = random_inputs(model_bytes, n, seed)
    ref = tflm_outputs(model_bytes, x)
    got = run_host(exe, k, x, ref.dtype, ref.shape[1:])
    return x, ref, got
