"""Public model architectures at their published size, for comparing the engine with CMSIS-NN
on exactly the shapes issue 17 quotes (and at a tiny size, for the tests).

    python -m bedside.converter.engine.public_models NAME [--tiny] [--cache DIR]   # prints the .tflite path
    bedside bench engine --public NAME [--tiny] [-n 30] [--targets m4,m3,m0,riscv32]

Each model is the architecture built in Keras with seeded random weights (He normal, biases
N(0, 0.1)) and converted to full int8 (int8 input and output, per-channel weights) with 64
seeded uniform calibration inputs in [-1, 1]; no one trained it, which leaves the
instruction counts unchanged (the engine's work depends on shapes, not values).
BatchNormalization is left out: the converter folds it into the preceding layer, so the
int8 graph has the same ops. Stride-2 convolutions use SAME padding (no separate PAD op).

The .tflite is cached under runs/public_models/ (git-ignored), named by model, size, seed
and a hash of this file, with a JSON sidecar saying which command made it from what.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

CACHE_DIR = Path("runs") / "public_models"   # beside the runs, in the working folder
SEED = 17

# Issue 17's CMSIS-NN figures, instructions per MAC (TFLM + CMSIS-NN, -O2, QEMU -icount
# shift=0): `m4` the DSP build on mps2-an386, `m3` the plain-C build on a Cortex-M3. Where
# the issue quotes only the engine's figure and the ratio, the value is their quotient.
CMSIS_NN = {
    "micro_speech": {"m4": round(20.9 / 4.7, 2)},
    "ds_cnn": {"m4": 2.90, "m3": 3.96},
    "mobilenet_vww": {"m4": round(3.55 / 1.10, 2)},
    "person_detection": {"m4": round(4.23 / 1.32, 2)},
    "resnet8": {"m4": round(2.01 / 0.84, 2)},
    "fc_autoencoder": {"m4": 2.21},
}


def _layers():
    import keras
    return keras, keras.layers


def _w(seed: int) -> dict:
    import keras
    return dict(bias_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=seed + 1))


def _conv(x, ch, k, seed, strides=1, act="relu"):
    keras, L = _layers()
    return L.Conv2D(ch, k, strides=strides, padding="same", activation=act,
                    kernel_initializer=keras.initializers.HeNormal(seed), **_w(seed))(x)


def _dw(x, seed, strides=1, act="relu", k=3, multiplier=1):
    keras, L = _layers()
    return L.DepthwiseConv2D(k, strides=strides, padding="same", activation=act,
                             depth_multiplier=multiplier,
                             depthwise_initializer=keras.initializers.HeNormal(seed), **_w(seed))(x)


def _dense(x, n, seed, act=None):
    keras, L = _layers()
    return L.Dense(n, activation=act, kernel_initializer=keras.initializers.HeNormal(seed),
                   **_w(seed))(x)


def micro_speech(tiny: bool):
    """TFLM's micro_speech: a 49x40 spectrogram -> DEPTHWISE_CONV_2D 10x8, one input channel,
    depth multiplier 8, stride 2 -> FC 4 -> softmax."""
    keras, L = _layers()
    inp = keras.Input((13, 10, 1) if tiny else (49, 40, 1))
    x = _dw(inp, 1, strides=2, k=(10, 8), multiplier=8)
    x = _dense(L.Flatten()(x), 4, 2)
    return keras.Model(inp, L.Softmax()(x))


def ds_cnn(tiny: bool):
    """MLPerf Tiny keyword spotting DS-CNN: 49x10 MFCC -> conv 10x4 stride 2, 64 channels ->
    4 x (depthwise 3x3 + pointwise 64) -> average pool -> FC 12 -> softmax."""
    keras, L = _layers()
    ch, blocks = (8, 1) if tiny else (64, 4)
    inp = keras.Input((13, 10, 1) if tiny else (49, 10, 1))
    x = _conv(inp, ch, (10, 4), 1, strides=2)
    for i in range(blocks):
        x = _conv(_dw(x, 10 + i), ch, 1, 20 + i)
    x = L.AveragePooling2D(x.shape[1:3])(x)
    x = _dense(L.Flatten()(x), 12, 30)
    return keras.Model(inp, L.Softmax()(x))


def _mobilenet_v1(tiny: bool, channels_in: int):
    """MobileNet v1, width 0.25, 96x96 input, 2 classes (the layer list of Howard et al.)."""
    keras, L = _layers()
    plan = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]
    if tiny:
        plan = [(8, 1), (16, 2)]
    inp = keras.Input((16, 16, channels_in) if tiny else (96, 96, channels_in))
    x = _conv(inp, 8, 3, 1, strides=2, act="relu6")
    for i, (ch, stride) in enumerate(plan):
        x = _conv(_dw(x, 10 + i, strides=stride, act="relu6"), ch, 1, 40 + i, act="relu6")
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Softmax()(_dense(x, 2, 70)))


def mobilenet_vww(tiny: bool):
    """MLPerf Tiny visual wake words: MobileNet v1 0.25 on 96x96 RGB."""
    return _mobilenet_v1(tiny, 3)


def person_detection(tiny: bool):
    """TFLM's person detection benchmark: MobileNet v1 0.25 on 96x96 grayscale."""
    return _mobilenet_v1(tiny, 1)


def resnet8(tiny: bool):
    """MLPerf Tiny image classification ResNet-8: 32x32 RGB, conv 16, three residual stacks
    (16, 32, 64 channels; 1x1 stride-2 shortcuts), average pool, FC 10, softmax."""
    keras, L = _layers()
    inp = keras.Input((8, 8, 3) if tiny else (32, 32, 3))
    widths = (4, 8, 8) if tiny else (16, 32, 64)
    x = _conv(inp, widths[0], 3, 1)
    for i, ch in enumerate(widths):
        stride = 1 if i == 0 else 2
        y = _conv(_conv(x, ch, 3, 10 + i, strides=stride), ch, 3, 20 + i, act=None)
        shortcut = x if i == 0 else _conv(x, ch, 1, 30 + i, strides=stride, act=None)
        x = L.ReLU()(L.Add()([shortcut, y]))
    x = L.AveragePooling2D(x.shape[1:3])(x)
    x = _dense(L.Flatten()(x), 10, 40)
    return keras.Model(inp, L.Softmax()(x))


def fc_autoencoder(tiny: bool):
    """MLPerf Tiny anomaly detection: 640 -> 4 x FC 128 -> FC 8 -> 4 x FC 128 -> FC 640."""
    keras, L = _layers()
    width, hidden = (40, 16) if tiny else (640, 128)
    inp = keras.Input((width,))
    x = inp
    for i, n in enumerate([hidden] * 4 + [8] + [hidden] * 4):
        x = _dense(x, n, 1 + i, act="relu")
    return keras.Model(inp, _dense(x, width, 20))


MODELS = {f.__name__: f for f in (micro_speech, ds_cnn, mobilenet_vww, person_detection,
                                  resnet8, fc_autoencoder)}


def build(name: str, tiny: bool = False, seed: int = SEED):
    """The Keras model `name` (see MODELS) with weights drawn from `seed`."""
    import keras
    keras.backend.clear_session()   # layer names restart, so the .tflite bytes are reproducible
    keras.utils.set_random_seed(seed)
    return MODELS[name](tiny)


def convert(model, seed: int = SEED, n_calibration: int = 64) -> bytes:
    """Full-int8 post-training quantization with seeded uniform calibration inputs."""
    import tensorflow as tf

    from bedside.converter.quantize import _quiet, full_int8
    rng = np.random.default_rng(seed)
    shape = (1, *model.input_shape[1:])
    calibration = [rng.uniform(-1.0, 1.0, size=shape).astype(np.float32) for _ in range(n_calibration)]

    def representative():
        for x in calibration:
            yield [x]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    full_int8(conv, representative)
    with _quiet():
        return bytes(conv.convert())


def _source_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def model_path(name: str, tiny: bool = False, seed: int = SEED, cache: Path | None = None) -> Path:
    """The cached .tflite of `name`, built and converted first if it is not there yet."""
    if name not in MODELS:
        raise KeyError(f"unknown public model '{name}': choose one of {', '.join(MODELS)}")
    cache = Path(cache) if cache else CACHE_DIR
    path = cache / f"{name}{'-tiny' if tiny else ''}-seed{seed}-{_source_hash()}.tflite"
    if path.is_file():
        return path
    from bedside.fileio import write_bytes, write_json
    from bedside.version import kit_version
    import tensorflow as tf
    data = convert(build(name, tiny, seed), seed)
    cache.mkdir(parents=True, exist_ok=True)
    write_json(path.with_suffix(".json"), {
        "generated_by": f"python -m bedside.converter.engine.public_models {name}"
                        f"{' --tiny' if tiny else ''} (seed {seed})",
        "from": f"converter/engine/public_models.py (sha256 {_source_hash()}...)",
        "architecture": " ".join(MODELS[name].__doc__.split()),
        "tensorflow": tf.__version__, "kit_version": kit_version(),
        "sha256": hashlib.sha256(data).hexdigest()})
    write_bytes(path, data)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bedside.converter.engine.public_models",
                                description=__doc__.split("\n")[0])
    p.add_argument("name", choices=list(MODELS))
    p.add_argument("--tiny", action="store_true", help="the test-size version")
    p.add_argument("--seed", type=int, default=SEED, help=f"weights and calibration seed ({SEED})")
    p.add_argument("--cache", type=Path, help=f"cache folder ({CACHE_DIR})")
    args = p.parse_args(argv)
    print(model_path(args.name, args.tiny, args.seed, args.cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
