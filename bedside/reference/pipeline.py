"""The Python reference a device is verified against (DESIGN.md contract 6).

Per patient stream: the integer preprocessing (`bedside.contract.preprocess` with the
constants of the run's manifest, never the signal table; personalized as the manifest's
`preprocessing.personalization` says, see bedside/contract/personalize.py), the same windows
the firmware forms, TFLM's own Python interpreter (`tflite_micro`) on the run's int8
model, and the integer alarm (`bedside.contract.alarm.Alarm`) with the manifest's thresholds.
numpy + tflite_micro only: no TensorFlow.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bedside.contract import preprocess
from bedside.contract.alarm import Alarm
from bedside.contract.record import DeviceContract, read
from bedside.rundir import RunPaths


MAX_MODEL_BYTES = 64 << 20      # far above any microcontroller's flash


class RunDirError(ValueError):
    """The run directory cannot give a reference (missing model, hash mismatch)."""


@dataclass(frozen=True)
class Contract:
    """What the host expects of a device: the run's validated contract record
    (`bedside.contract.record.DeviceContract`) and the int8 model it names. The attributes
    below are the record's fields, read from it (never a second copy of the manifest)."""
    record: DeviceContract
    model_path: Path
    model_bytes: bytes

    @classmethod
    def from_run(cls, run_dir: str | Path) -> "Contract":
        """The run's contract; ManifestError names a bad manifest field, RunDirError a
        missing or different model file."""
        paths = RunPaths(run_dir)
        record = read(paths.manifest)
        model_path = paths.int8_dir / record.model.file
        if model_path.is_symlink() or not model_path.is_file():
            raise RunDirError(f"{model_path}: int8 model not found (run `bedside convert`)"
                              if not model_path.is_symlink() else
                              f"{model_path}: is a link; the model must be a file of the run")
        if model_path.stat().st_size > MAX_MODEL_BYTES:
            raise RunDirError(f"{model_path}: {model_path.stat().st_size} bytes, more than "
                              f"{MAX_MODEL_BYTES} (not a model bedside converted)")
        data = model_path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if sha != record.model.sha256:
            raise RunDirError(f"{model_path}: SHA-256 {sha[:16]}... differs from manifest "
                              f"field model.sha256 {record.model.sha256[:16]}...")
        return cls(record, model_path, data)

    # the record's fields under the names the reference and the verifier use
    model_sha256 = property(lambda self: self.record.model.sha256)
    preproc_sha256 = property(lambda self: self.record.preprocessing.sha256)
    protocol_version = property(lambda self: self.record.model.protocol_version)
    gen_format = property(lambda self: self.record.model.gen_format)
    constants = property(lambda self: self.record.preprocessing.constants)
    n_signals = property(lambda self: self.record.preprocessing.constants.n)
    window_length = property(lambda self: self.record.window.length)
    stride = property(lambda self: self.record.window.stride)
    input_bytes = property(lambda self: self.record.quantization.input.bytes)
    output_bytes = property(lambda self: self.record.quantization.output.bytes)
    input_scale = property(lambda self: self.record.quantization.input.scale)
    input_zero_point = property(lambda self: self.record.quantization.input.zero_point)
    output_scale = property(lambda self: self.record.quantization.output.scale)
    output_zero_point = property(lambda self: self.record.quantization.output.zero_point)
    on_q = property(lambda self: self.record.alarm.on_q)
    off_q = property(lambda self: self.record.alarm.off_q)
    min_duration = property(lambda self: self.record.alarm.min_duration)
    sample_period_s = property(lambda self: self.record.sample_period_s)

    @property
    def personalization(self) -> dict | None:
        """The settings as the numpy preprocessing takes them (None: off)."""
        pz = self.record.personalization
        return None if pz is None else pz.as_dict()

    @property
    def safety(self) -> dict | None:
        sf = self.record.safety
        return None if sf is None else sf.as_dict()

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return self.record.quantization.dequantize(q)


@dataclass
class PatientReference:
    """Reference for one patient stream starting at a RESET."""
    ends: np.ndarray        # int64 [N] sample index of each window's last sample
    windows: np.ndarray     # int8 [N, L, C]
    output: np.ndarray      # int8 [N, output_bytes]
    alarm: np.ndarray       # uint8 [N]
    calibrated: np.ndarray | None = None   # bool [N]: RESULT flag bit 0 expected
    safety: np.ndarray | None = None       # uint8 [N]: RESULT safety bits (quality, reason)
    floor: np.ndarray | None = None        # uint8 [T, 2]: per-sample floor records (flags, cause)


class Reference:
    """One TFLM interpreter, invoked once per window (reused across patients)."""

    def __init__(self, contract: Contract) -> None:
        from bedside.reference.tflm import interpreter
        self.contract = contract
        self.interpreter = interpreter(contract.model_bytes)
        self.invokes = 0

    def infer(self, windows: np.ndarray) -> np.ndarray:
        """int8 windows [N, L, C] -> int8 outputs [N, output_bytes]."""
        c = self.contract
        out = np.empty((len(windows), c.output_bytes), dtype=np.int8)
        interp = self.interpreter
        for i, w in enumerate(windows):
            interp.set_input(np.ascontiguousarray(w[None], dtype=np.int8), 0)
            interp.invoke()
            out[i] = np.asarray(interp.get_output(0)).reshape(-1)
        self.invokes += len(windows)
        return out

    def alarms(self, output: np.ndarray) -> np.ndarray:
        c = self.contract
        alarm = Alarm(c.on_q, c.off_q, c.min_duration)
        return np.array([alarm.step(int(q)) for q in output[:, 0]], dtype=np.uint8)

    def patient(self, raw: np.ndarray) -> PatientReference:
        c = self.contract
        q = preprocess.preprocess_stream(np.asarray(raw, dtype=np.int16), c.personalization,
                                         c.constants)
        ends = preprocess.window_ends(len(q), c.window_length, c.stride)
        wins = preprocess.windows(q, c.window_length, c.stride)
        out = self.infer(wins)
        from bedside.contract.safety import stream_records
        floor = stream_records(raw, c.safety, c.constants, int(c.sample_period_s))
        return PatientReference(ends, wins, out, self.alarms(out),
                                preprocess.calibrated_at(ends, c.personalization),
                                floor[ends, 0], floor)


class FloatModel:
    """The float Student for the tolerance comparison: a float .tflite run by TFLM, or the
    Keras model when TensorFlow is importable. `load` returns None (with the reason) when
    neither is available: a host-only bench PC skips the float comparison."""

    def __init__(self, kind: str, path: Path, predict) -> None:
        self.kind, self.path, self.predict = kind, path, predict

    @staticmethod
    def load(run_dir: Path, mode: str = "auto") -> tuple["FloatModel | None", str]:
        if mode == "none":
            return None, "float comparison disabled (--float none)"
        if mode in ("auto", "tflite"):
            path = RunPaths(run_dir).float_tflite
            if path.is_file():
                return FloatModel._tflite(path), ""
            if mode == "tflite":
                return None, "no float .tflite in the run directory"
        keras_path = RunPaths(run_dir).student_model
        if not keras_path.is_file():
            return None, f"{keras_path} not found"
        import importlib.util
        try:
            have_tf = importlib.util.find_spec("tensorflow") is not None
        except (ImportError, ValueError):
            have_tf = False
        if not have_tf:
            return None, "TensorFlow is not installed (host-only profile): float comparison skipped"
        import os
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
        try:
            import keras
            model = keras.models.load_model(keras_path, compile=False)
        except Exception as e:   # a broken TF install must not stop device verification
            return None, f"cannot load {keras_path}: {e}"

        def predict(x: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict(x, batch_size=1024, verbose=0)).reshape(len(x), -1)
        return FloatModel("keras", keras_path, predict), ""

    @staticmethod
    def _tflite(path: Path) -> "FloatModel":
        from bedside.reference.tflm import interpreter
        interp = interpreter(path.read_bytes())

        def predict(x: np.ndarray) -> np.ndarray:
            out = []
            for w in x:
                interp.set_input(np.ascontiguousarray(w[None], np.float32), 0)
                interp.invoke()
                out.append(np.asarray(interp.get_output(0)).reshape(-1))
            return np.array(out, np.float32)
        return FloatModel("tflite", path, predict)


def float_metrics(p_float: np.ndarray, p_int8: np.ndarray) -> dict:
    """STM32Cube.AI-style comparison of the int8 path (dequantized) with the float model."""
    a = np.asarray(p_float, np.float64).reshape(-1)
    b = np.asarray(p_int8, np.float64).reshape(-1)
    if len(a) == 0:
        return {"n": 0}
    err = b - a
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return {"n": int(len(a)), "max_abs_err": float(np.max(np.abs(err))),
            "rmse": float(np.sqrt(np.mean(err ** 2))), "mean_abs_err": float(np.mean(np.abs(err))),
            "cosine": float(a @ b / denom) if denom > 0 else 1.0}


def to_float_input(windows: np.ndarray) -> np.ndarray:
    return preprocess.to_model_input(windows)
