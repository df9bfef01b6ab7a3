"""Compiled engine vs tflite_micro, bit for bit: SOFTMAX, PAD/PADV2 and STRIDED_SLICE.

Same method as tests/test_engine_ops.py: tiny seeded Keras models converted to full int8,
every engine compiled into one -Wall -Wextra -Werror ASan/UBSan host program, the same
random int8 inputs through it and through the TFLM interpreter; plus one whole classifier
that uses all three (PAD and STRIDED_SLICE in the middle, SOFTMAX at the end; int8 and
float I/O), int8 -> int16 SOFTMAX, and (qemu marker) the same on Cortex-M4 under QEMU.
"""
import numpy as np
import pytest

from tests.test_engine_models import _init, compare, convert, seeded

pytest.importorskip("tensorflow")


def _k():
    import keras
    return keras


def _calibrated(k, seed, x, rank, channels):
    """A 1x1 conv / dense in front, so the op sees a calibrated tensor (zero point != 0).

    (Dense on rank > 2 would add dynamic-shape ops; a 1x1 convolution does not.)
    """
    layer = {1: k.layers.Dense, 2: k.layers.Conv1D, 3: k.layers.Conv2D}[rank]
    args = (channels,) if rank == 1 else (channels, 1)
    return layer(*args, **_init(seed))(x)


def softmax(seed):
    """Dense or Conv1D logits (rows of 2..39 values, wide or narrow input scale) -> softmax."""
    k = _k()
    r = seeded(seed)
    std = float(r.choice([0.1, 0.5, 2.0, 6.0]))       # input scale: diff_min cuts in or not
    if seed % 2:
        inp = k.Input((int(r.integers(1, 6)), int(r.integers(1, 6))))
        x = k.layers.Conv1D(int(r.integers(2, 40)), 1, **_init(seed, std))(inp)
    else:
        inp = k.Input((int(r.integers(1, 20)),))
        x = k.layers.Dense(int(r.integers(2, 40)), **_init(seed, std))(inp)
    return k.Model(inp, k.layers.Softmax(axis=-1)(x))


def _pad_layer(k, seed, r, x, rank):
    if seed % 3 == 2:   # PADV2: a constant other than zero
        pads = [(0, 0)] + [(int(r.integers(0, 3)), int(r.integers(0, 3))) for _ in range(rank)]
        value = float(r.uniform(-1.5, 1.5))
        return k.layers.Lambda(lambda t: k.ops.pad(t, pads, constant_values=value))(x)
    if rank == 2:
        return k.layers.ZeroPadding1D((int(r.integers(0, 4)), int(r.integers(0, 4))))(x)
    return k.layers.ZeroPadding2D(((int(r.integers(0, 3)), int(r.integers(0, 3))),
                                   (int(r.integers(0, 3)), int(r.integers(0, 3)))))(x)


def pad(seed):
    k = _k()
    r = seeded(seed)
    rank = 2 + seed % 2
    shape = tuple(int(r.integers(1, 7)) for _ in range(rank))
    inp = k.Input(shape)
    x = _calibrated(k, seed, inp, rank, int(r.integers(1, 6)))
    return k.Model(inp, _pad_layer(k, seed, r, x, rank))


def _slice_index(r, n):
    """A random Python slice (or int index -> shrink axis) over an axis of size n."""
    kind = int(r.integers(0, 6))
    if kind == 0:
        return slice(None)
    if kind == 1:
        return int(r.integers(-n, n))                               # shrink
    step = int(r.choice([1, 1, 2, 3, -1, -2]))
    lo = None if r.random() < 0.3 else int(r.integers(-n - 1, n + 1))
    hi = None if r.random() < 0.3 else int(r.integers(-n - 1, n + 1))
    return slice(lo, hi, step)


def strided_slice(seed):
    k = _k()
    r = seeded(seed)
    rank = int(r.integers(1, 4))
    shape = tuple(int(r.integers(1, 8)) for _ in range(rank))
    while True:
        idx = (slice(None),) + tuple(_slice_index(r, n) for n in shape)
        if np.zeros((1, *shape))[idx].size > 0:
            break
    inp = k.Input(shape)
    x = _calibrated(k, seed, inp, rank, shape[-1])
    return k.Model(inp, k.layers.Lambda(lambda t: t[idx])(x))


def cropping(seed):
    k = _k()
    r = seeded(seed)
    h, w = int(r.integers(3, 9)), int(r.integers(3, 9))
    inp = k.Input((h, w, int(r.integers(1, 4))))
    x = k.layers.Conv2D(int(r.integers(1, 4)), 1, **_init(seed))(inp)
    crop = ((int(r.integers(0, 2)), int(r.integers(0, 2))), (int(r.integers(0, 2)), int(r.integers(0, 2))))
    return k.Model(inp, k.layers.Cropping2D(crop)(x))


def classifier(seed=7):
    """(32, 6) signal -> Conv1D -> PAD -> Conv1D -> STRIDED_SLICE -> GAP -> Dense -> softmax."""
    k = _k()
    seeded(seed)
    inp = k.Input((32, 6))
    x = k.layers.Conv1D(12, 5, activation="relu", **_init(seed, 0.4))(inp)
    x = k.layers.ZeroPadding1D((2, 2))(x)
    x = k.layers.Conv1D(16, 5, strides=2, activation="relu", **_init(seed + 1, 0.3))(x)
    x = k.layers.Lambda(lambda t: t[:, 1:-1:2, ::-1])(x)
    x = k.layers.GlobalAveragePooling1D()(x)
    x = k.layers.Dense(10, **_init(seed + 2, 0.6))(x)
    return k.Model(inp, k.layers.Softmax()(x))


CASES = ([("softmax", softmax, s) for s in range(6)] + [("pad", pad, s) for s in range(6)]
         + [("strided_slice", strided_slice, s) for s in range(8)] + [("cropping", cropping, 0)]
         + [("classifier", classifier, 7)])
# Whole model with float input/output (QUANTIZE first, DEQUANTIZE after the softmax).
WHOLE = [("classifier_float_io", classifier, True)]


def int16_softmax_output(model_bytes: bytes) -> bytes:
    """The same model with its softmax output retyped int16 (scale 1/65536, zero point -32768).

    TF's converter never emits int8 -> int16 SOFTMAX, but TFLM runs it; the flatbuffer's
    output tensor type, scale and zero point are patched in place (same sizes).
    """
    import struct

    from bedside.converter.engine.tflite_reader import Table, _Buf
    data = bytearray(model_bytes)
    buf = _Buf(bytes(data))
    sg = Table(buf, buf.read("I", 0, "root"), "Model").tables(2, "subgraphs")[0]
    t = sg.tables(0, "tensors")[sg.vector(2, "i", "outputs")[0]]
    q = t.table(4, "quantization")
    data[t._field_pos(1)] = 7                                       # TensorType INT16
    struct.pack_into("<f", data, q.vector_raw(2, "scale")[0], 1 / 65536)
    struct.pack_into("<q", data, q.vector_raw(3, "zero_point")[0], -32768)
    return bytes(data)


INT16_SEEDS = [1, 2, 5]     # softmax cases also compiled with an int16 output


def _model_bytes(case) -> bytes:
    name, builder, arg = case
    if isinstance(arg, bool):
        return convert(builder(), seed=0, float_io=arg)
    return convert(builder(arg), seed=arg)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every case (and the int16-output softmax variants) in ONE sanitized host program."""
    from bedside.bench.engine import build_host
    from bedside.converter.engine import generate
    tmp = tmp_path_factory.mktemp("engine_ops_extra")
    models = [(f"{c[0]}-{c[2]}", _model_bytes(c)) for c in CASES + WHOLE]
    by_name = dict(models)
    models += [(f"softmax_int16-{s}", int16_softmax_output(by_name[f"softmax-{s}"])) for s in INT16_SEEDS]
    dirs = []
    for k, (name, model_bytes) in enumerate(models):
        dirs.append(tmp / f"gen{k}_{name}")
        generate(model_bytes, dirs[-1], command=f"tests: {name}")
    exe = build_host(dirs, tmp / "build")
    return exe, [(name, model_bytes, k) for k, (name, model_bytes) in enumerate(models)]


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_op_bit_exact(compiled, case):
    from bedside.converter.engine import read_model
    exe, built = compiled
    name, model_bytes, k = built[case]
    op = CASES[case][0].upper().replace("CROPPING", "STRIDED_SLICE").replace("CLASSIFIER", "SOFTMAX")
    ops = [o.op for o in read_model(model_bytes).operators]
    assert op in ops or (op == "PAD" and "PADV2" in ops), f"{name}: converter emitted {ops}"
    x, ref, got = compare(exe, model_bytes, k, n=64, seed=1000 + case)
    assert got.shape == ref.shape
    bad = np.flatnonzero(got.view(np.uint8).reshape(len(x), -1) != ref.view(np.uint8).reshape(len(x), -1))
    assert bad.size == 0, f"{name}: {bad.size} bytes differ from TFLM (input seed {1000 + case})"
    assert len(np.unique(ref)) > 1, f"{name}: degenerate reference output"


@pytest.mark.parametrize("case", range(len(CASES), len(CASES) + len(WHOLE)), ids=[c[0] for c in WHOLE])
def test_whole_classifier_bit_exact(compiled, case):
    from bedside.converter.engine import read_model
    exe, built = compiled
    name, model_bytes, k = built[case]
    ops = [o.op for o in read_model(model_bytes).operators]
    assert {"QUANTIZE", "PAD", "STRIDED_SLICE", "SOFTMAX", "DEQUANTIZE"} <= set(ops), ops
    x, ref, got = compare(exe, model_bytes, k, n=200, seed=2000)
    diff = np.count_nonzero(got.view(np.uint8) != ref.view(np.uint8))
    assert diff == 0, f"{name}: {diff} of {ref.nbytes} output bytes differ from TFLM"
    assert np.allclose(ref.sum(axis=-1), 1.0, atol=0.05)        # it is a softmax
    assert len(np.unique(ref.argmax(axis=-1))) > 1


def _tf_params(idx):
    """A numpy/TF index tuple -> STRIDED_SLICE begin/end/strides and masks, as TF builds them."""
    begin, end, strides, bm, em, sm = [], [], [], 0, 0, 0
    for ax, i in enumerate(idx):
        if isinstance(i, int):
            begin.append(i), end.append(i + 1), strides.append(1)
            sm |= 1 << ax
            continue
        begin.append(i.start or 0), end.append(i.stop or 0), strides.append(i.step or 1)
        bm |= (i.start is None) << ax
        em |= (i.stop is None) << ax
    return begin, end, strides, bm, em, sm


def test_strided_slice_resolution_matches_numpy():
    """Generation-time slice resolution (TFLM's rules) vs numpy indexing, many random slices."""
    from bedside.converter.engine.ops.strided_slice import _tflm_out_shape, resolve
    r = np.random.default_rng(0)
    checked = 0
    for _ in range(3000):
        shape = tuple(int(r.integers(1, 7)) for _ in range(int(r.integers(1, 5))))
        idx = tuple(_slice_index(r, n) for n in shape)
        data = np.arange(int(np.prod(shape))).reshape(shape)
        want = data[idx]
        args = _tf_params(idx)
        assert _tflm_out_shape(shape, *args) == list(want.shape), (shape, idx)
        axes = resolve(shape, *args)
        dims = [1] * (5 - len(shape)) + list(shape)
        elem = [int(np.prod(dims[d + 1:])) for d in range(5)]
        grids = np.meshgrid(*[st + np.arange(c) * sd for st, c, sd in axes], indexing="ij")
        got = data.reshape(-1)[sum(g * e for g, e in zip(grids, elem)).reshape(-1)] if want.size else want
        assert np.array_equal(got.reshape(-1), want.reshape(-1)), (shape, idx)
        checked += want.size > 0
    assert checked > 1000


def test_softmax_limits_are_refused(tmp_path):
    import keras

    from bedside.converter.engine import SUPPORTED_OPS, UnsupportedOpError, generate
    assert {"SOFTMAX", "PAD", "PADV2", "STRIDED_SLICE"} <= SUPPORTED_OPS
    seeded(3)
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Softmax()(keras.layers.Dense(600, **_init(3))(inp)))
    with pytest.raises(UnsupportedOpError, match=r"op SOFTMAX \(operator \d+\).*at most 511.*tflm"):
        generate(convert(model, seed=3), tmp_path / "gen")
    assert not (tmp_path / "gen" / "model_engine.cc").exists()


@pytest.mark.parametrize("seed", INT16_SEEDS)
def test_softmax_int16_output_bit_exact(compiled, seed):
    exe, built = compiled
    name, model_bytes, k = next(b for b in built if b[0] == f"softmax_int16-{seed}")
    x, ref, got = compare(exe, model_bytes, k, n=64, seed=3000 + seed)
    assert ref.dtype == np.int16 and got.dtype == np.int16
    diff = np.count_nonzero(got != ref)
    assert diff == 0, f"{name}: {diff} of {ref.size} outputs differ from TFLM"
    assert len(np.unique(ref)) > 16                               # finer than the int8 output


@pytest.mark.qemu
@pytest.mark.parametrize("which", ["classifier", "softmax_int16-5"])
def test_cortex_m4_matches_tflm(compiled, tmp_path, which):
    """Cross-compiled for Cortex-M4 (DSP and portable kernels), run on QEMU: TFLM's bytes."""
    from bedside.bench.engine import random_inputs, tflm_outputs
    from bedside.bench import engine_m4 as bench_m4
    from bedside.converter.engine import generate
    if not bench_m4.tools_available():
        pytest.skip("arm-none-eabi-g++ / qemu-system-arm not installed")
    model_bytes = next(b[1] for b in compiled[1] if b[0].startswith(which))
    generate(model_bytes, tmp_path / "gen")
    x = random_inputs(model_bytes, 8, seed=9)
    ref = tflm_outputs(model_bytes, x)
    figures = bench_m4.measure(tmp_path / "gen", tmp_path / "m4", x, ref)
    assert figures["m4_outputs_equal"] and figures["m4_portable_outputs_equal"], figures
