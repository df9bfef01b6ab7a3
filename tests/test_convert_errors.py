"""bedside convert on bad input: a clear error, a non-zero exit, no partial int8/ left."""
import json
import shutil

import pytest

from bedside.cli import main
from tests.fixtures.convert import copy_run


@pytest.fixture
def run_copy(quick_run_dir, tmp_path):
    return copy_run(quick_run_dir, tmp_path / "run")


def _convert(capsys, *argv):
    rc = main(["convert", *map(str, argv)])
    return rc, capsys.readouterr().err


def _no_partial(run_dir):
    leftovers = [p.name for p in run_dir.iterdir() if p.name.startswith(".int8")]
    return not (run_dir / "int8").exists() and not leftovers


def _student(length=60, extra=None):
    """A small Student-like Keras model (optionally with extra layers before pooling)."""
    import keras
    keras.utils.set_random_seed(1)
    inp = keras.Input((length, 7))
    x = keras.layers.Conv1D(4, 3, activation="relu", name="conv_a")(inp)
    if extra is not None:
        x = extra(inp, x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="head")(x)
    return keras.Model(inp, out)


def test_missing_run_dir(tmp_path, capsys):
    rc, err = _convert(capsys, tmp_path / "nope")
    assert rc != 0 and "run directory not found" in err and "nope" in err


def test_corrupt_run_json(run_copy, capsys):
    (run_copy / "run.json").write_text('{"config": {"window": ')
    rc, err = _convert(capsys, run_copy)
    assert rc != 0 and "run.json: not valid JSON (line 1" in err
    assert _no_partial(run_copy)


def test_run_json_missing_field(run_copy, capsys):
    run = json.loads((run_copy / "run.json").read_text())
    del run["config"]["alarm"]["off_threshold"]
    run.pop("alarm", None)
    (run_copy / "run.json").write_text(json.dumps(run))
    rc, err = _convert(capsys, run_copy)
    assert rc != 0 and "missing field 'alarm.off_threshold'" in err
    assert _no_partial(run_copy)


def test_missing_student(run_copy, capsys):
    (run_copy / "student" / "model.keras").unlink()
    rc, err = _convert(capsys, run_copy)
    assert rc != 0 and "model.keras: not found" in err
    assert _no_partial(run_copy)


def test_corrupt_student(run_copy, capsys):
    (run_copy / "student" / "model.keras").write_bytes(b"not a zip")
    rc, err = _convert(capsys, run_copy)
    assert rc != 0 and "model.keras: cannot load the Keras model" in err
    assert _no_partial(run_copy)


def test_missing_and_corrupt_tflite(run_copy, tmp_path, capsys):
    rc, err = _convert(capsys, run_copy, "--from-tflite", tmp_path / "none.tflite")
    assert rc != 0 and "none.tflite: .tflite file not found" in err
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x20\x00\x00\x00TFL3" + b"\xff" * 64)
    rc, err = _convert(capsys, run_copy, "--from-tflite", bad)
    assert rc != 0 and "bad.tflite: corrupt TFLite flatbuffer" in err
    bad.write_bytes(b"hello world, not a model")
    rc, err = _convert(capsys, run_copy, "--from-tflite", bad)
    assert rc != 0 and "bad.tflite: not a TFLite flatbuffer" in err
    assert _no_partial(run_copy)


def test_float_only_model(run_copy, tmp_path, capsys):
    import keras
    import tensorflow as tf
    model = keras.models.load_model(run_copy / "student" / "model.keras", compile=False)
    path = tmp_path / "float.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    rc, err = _convert(capsys, run_copy, "--from-tflite", path)
    assert rc != 0 and "float.tflite: input tensor" in err and "float-only model" in err
    assert _no_partial(run_copy)


def test_input_shape_differs_from_window(run_copy, capsys):
    _student(length=48).save(run_copy / "student" / "model.keras")
    rc, err = _convert(capsys, run_copy)
    assert rc != 0 and "model input shape (None, 48, 7) does not match the manifest window" in err
    assert _no_partial(run_copy)


def test_op_outside_compiled_set(run_copy, capsys):
    """MAXIMUM runs in TFLM but not in the compiled engine: an error naming op and layer,
    unless the user converts for the TFLM backend only."""
    import keras

    def extra(inp, x):
        y = keras.layers.Conv1D(4, 3, name="conv_b")(inp)
        return keras.layers.Maximum(name="max_gate")([x, y])

    _student(extra=extra).save(run_copy / "student" / "model.keras")
    rc, err = _convert(capsys, run_copy)
    assert rc != 0
    assert "op MAXIMUM (version" in err and "Keras layer 'max_gate'" in err
    assert "not supported by the compiled backend" in err and "--backend tflm" in err
    assert _no_partial(run_copy)

    rc, err = _convert(capsys, run_copy, "--backend", "tflm")
    assert rc == 0, err
    manifest = json.loads((run_copy / "int8" / "manifest.json").read_text())
    assert manifest["model"]["backends"] == ["tflm"]
    assert "MAXIMUM" in [o["name"] for o in manifest["model"]["ops"]]
    assert "compiled backend" in err


def test_failed_reconversion_keeps_previous_artifacts(converted_run_dir, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(converted_run_dir, run)
    before = {p.name: p.read_bytes() for p in (run / "int8").iterdir() if p.is_file()}
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"garbage")
    rc, _ = _convert(capsys, run, "--from-tflite", bad)
    assert rc != 0
    after = {p.name: p.read_bytes() for p in (run / "int8").iterdir() if p.is_file()}
    assert before == after
    assert not [p for p in run.iterdir() if p.name.startswith(".int8")]


def test_qat_with_from_tflite_is_refused(run_copy, tmp_path, capsys):
    rc, err = _convert(capsys, run_copy, "--qat", "--from-tflite", tmp_path / "m.tflite")
    assert rc != 0 and "--qat" in err and "--from-tflite" in err
    assert _no_partial(run_copy)


def test_missing_data(run_copy, capsys):
    (run_copy / "data" / "cohort.npz").unlink()
    rc, err = _convert(capsys, run_copy)
    assert rc != 0 and "cannot read the 'train' windows" in err and "cohort.npz" in err
    assert _no_partial(run_copy)


def test_input_quantization_other_than_preprocessing(run_copy, tmp_path, capsys):
    """A model calibrated on a narrow input range gets another input scale: refused."""
    import numpy as np

    from bedside.converter.quantize import load_keras, quantize
    model = load_keras(run_copy / "student" / "model.keras")
    calib = np.random.default_rng(0).integers(-10, 11, (8, 60, 7)).astype(np.int8)
    path = tmp_path / "narrow.tflite"
    path.write_bytes(quantize(model, calib)[0])
    rc, err = _convert(capsys, run_copy, "--from-tflite", path)
    assert rc != 0 and "narrow.tflite: input quantization is scale" in err
    assert "needs scale 1/32, zero point 0" in err
    assert _no_partial(run_copy)


def test_op_outside_tflm(run_copy, capsys):
    """UpSampling1D becomes TILE, which TFLM cannot run: refused for every backend."""
    import keras

    _student(extra=lambda inp, x: keras.layers.UpSampling1D(2, name="upsample")(x)).save(
        run_copy / "student" / "model.keras")
    rc, err = _convert(capsys, run_copy, "--backend", "tflm")
    assert rc != 0
    assert "op TILE (version" in err and "Keras layer 'upsample'" in err
    assert "is not supported by TFLite Micro" in err
    assert _no_partial(run_copy)


def test_malformed_quantization_refused_before_tflm(converted_run_dir, tmp_path, capsys):
    """Issue 13: a mutated model put a zero point of -1090921693312 into an int32 field."""
    import flatbuffers

    from tests.fixtures.crafted import schema
    s = schema()
    data = (converted_run_dir / "int8" / "model.tflite").read_bytes()
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(data, 0))
    bias = next(i for i, t in enumerate(m.subgraphs[0].tensors)
                if t.type == 2 and t.quantization is not None and t.quantization.scale is not None)
    m.subgraphs[0].tensors[bias].quantization.zeroPoint = [-1090921693312] * len(
        m.subgraphs[0].tensors[bias].quantization.scale)
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    path = tmp_path / "mutated.tflite"
    path.write_bytes(bytes(b.Output()))
    run = copy_run(converted_run_dir, tmp_path / "run")
    rc, err = _convert(capsys, run, "--from-tflite", path)
    assert rc == 2, err
    assert "mutated.tflite" in err and "zero point -1090921693312 is outside int32" in err
    assert _no_partial(run)
