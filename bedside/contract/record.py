"""The device contract as one typed, immutable record, read from a run's manifest.json.

    c = read(RunPaths(run).manifest)          # DeviceContract, or ManifestError(file, field)
    c.window.length, c.quantization.output.zero_point, c.alarm.on_q, c.model.sha256

`validate(manifest, path)` is the one validator of a manifest: every field the kit reads
is checked here (type, range, the constants' hash, personalization and safety settings),
and a bad one raises `ManifestError` naming the file and the field. Everything that reads
a run's contract (the Python reference, verification, the INFO comparison, the benches)
reads this record; only code that writes a file from the manifest (the generated C
header) keeps the raw dict (`manifest.load_manifest`, which runs the same validator).
numpy only, nothing else of the kit.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bedside.contract import personalize as _pz
from bedside.contract import safety as _sf
from bedside.contract.signals import Constants, ConstantsError

FORMAT_VERSION = 1
DEFAULT_MODEL_FILE = "model.tflite"
# Bounds on what a manifest may be: the converter writes a few KB, nested 5 deep.
MAX_BYTES = 1 << 20
MAX_DEPTH = 16


class ManifestError(ValueError):
    """A manifest that is missing, malformed or of another format version. `file` and
    `field` (dotted, e.g. `model.output.bytes`; None for the whole file) name the fault."""

    def __init__(self, message: str, file: str | Path | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.file, self.field = file, field


@dataclass(frozen=True, kw_only=True)
class SignalInfo:
    name: str
    unit: str
    raw_scale: float


@dataclass(frozen=True, kw_only=True)
class Window:
    length: int
    stride: int


@dataclass(frozen=True, kw_only=True)
class Personalization:
    """`preprocessing.personalization` when enabled (docs/personalization.md)."""
    calib_samples: int
    blocks: int
    block_min_valid: int
    min_blocks: int
    limits: tuple[tuple[str, int, int], ...]     # (signal, below, above), in signal order

    def as_dict(self) -> dict:
        """The normalized settings as the numpy preprocessing takes them."""
        return {"enabled": True, "calib_samples": self.calib_samples, "blocks": self.blocks,
                "block_min_valid": self.block_min_valid, "min_blocks": self.min_blocks,
                "limits": {n: [lo, hi] for n, lo, hi in self.limits}}


@dataclass(frozen=True, kw_only=True)
class Preprocessing:
    constants: Constants                 # the integer constants the device runs
    sha256: str                          # over preprocessing, alarm and window (INFO preproc)
    personalization: Personalization | None


@dataclass(frozen=True, kw_only=True)
class TensorQuant:
    dtype: str
    shape: tuple[int, ...]
    bytes: int
    scale: float
    zero_point: int


@dataclass(frozen=True, kw_only=True)
class Quantization:
    input: TensorQuant
    output: TensorQuant

    def dequantize(self, q) -> np.ndarray:
        return (np.asarray(q, np.float32) - self.output.zero_point) * self.output.scale


@dataclass(frozen=True, kw_only=True)
class Safety:
    """`alarm.safety`, checked and complete (docs/safety.md: limits, sustain, artefact,
    stale and frozen rules, cadences). Held as canonical JSON so the record stays immutable;
    `as_dict()` is what the numpy floor (bedside.contract.safety) takes."""
    settings: str

    def as_dict(self) -> dict:
        return json.loads(self.settings)


@dataclass(frozen=True, kw_only=True)
class Alarm:
    on_q: int
    off_q: int
    min_duration: int
    safety: Safety | None


@dataclass(frozen=True, kw_only=True)
class Model:
    """Which model and how the device is built to run it: the identity INFO reports."""
    file: str
    sha256: str
    bytes: int | None
    backends: tuple[str, ...]
    protocol_version: int
    gen_format: int


@dataclass(frozen=True, kw_only=True)
class DeviceContract:
    """Everything a device must agree on with the host, from one manifest."""
    path: Path
    signals: tuple[SignalInfo, ...]
    window: Window
    sample_period_s: float
    preprocessing: Preprocessing
    quantization: Quantization
    alarm: Alarm
    model: Model

    @property
    def personalization(self) -> Personalization | None:
        return self.preprocessing.personalization

    @property
    def safety(self) -> Safety | None:
        return self.alarm.safety

    def info_fields(self) -> dict[str, Any]:
        """What a device running this contract reports in INFO, by `protocol.Info` field
        name (the INFO comparison checks each against the device's)."""
        q = self.quantization
        return {"protocol_version": self.model.protocol_version,
                "gen_format": self.model.gen_format,
                "model_sha256": bytes.fromhex(self.model.sha256),
                "preproc_sha256": bytes.fromhex(self.preprocessing.sha256),
                "n_signals": self.preprocessing.constants.n,
                "window_length": self.window.length, "stride": self.window.stride,
                "input_bytes": q.input.bytes, "output_bytes": q.output.bytes,
                "input_scale": q.input.scale, "input_zero_point": q.input.zero_point,
                "output_scale": q.output.scale, "output_zero_point": q.output.zero_point}


# ---------------------------------------------------------------------------- reading

def read_json(path: str | Path) -> dict:
    """A manifest file's JSON object (ManifestError when it is missing or not JSON)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found (run `bedside convert RUN_DIR` first)",
                            path)
    if path.stat().st_size > MAX_BYTES:
        raise ManifestError(f"{path}: {path.stat().st_size} bytes, more than a manifest's "
                            f"{MAX_BYTES} (not a manifest bedside wrote)", path)
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: not UTF-8 text (byte {e.start})", path) from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): "
                            f"{e.msg}", path) from None
    except RecursionError:
        raise ManifestError(f"{path}: nested deeper than {MAX_DEPTH} levels", path) from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: top level must be an object", path)
    return manifest


def read(path: str | Path) -> DeviceContract:
    """The validated record of the manifest at `path` (`RunPaths(run).manifest`)."""
    return validate(read_json(path), path)


_NUMBER = (int, float)
_MISSING = object()


def _walk(node, where: str = "", depth: int = 0):
    """(field path, value) of every leaf, refusing nesting deeper than MAX_DEPTH (no
    recursion: a hostile file cannot exhaust the stack)."""
    stack = [(node, where, depth)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(where)
        items = (node.items() if isinstance(node, dict) else
                 enumerate(node) if isinstance(node, list) else None)
        if items is None:
            yield where, node
            continue
        for k, v in items:
            stack.append((v, f"{where}.{k}" if where else str(k), depth + 1))


def plain_file_name(name) -> bool:
    """A file name inside the run's int8/ folder: no folder part, no '..', no hidden name."""
    return (isinstance(name, str) and 0 < len(name) <= 255 and "/" not in name
            and "\\" not in name and "\0" not in name and not name.startswith("."))


def _named(message: str, prefix: str) -> tuple[str, str]:
    """(field, problem) of a contract module's error ("personalization.blocks: at most 8",
    "personalization.calib_samples must be ..."), the field under `prefix`."""
    head, sep, rest = message.partition(": ")
    if sep and " " not in head:
        return f"{prefix}{head}", rest
    first, _, rest = message.partition(" ")
    return f"{prefix}{first.rstrip(':')}", rest


class _Fields:
    """Typed access to one manifest; every failure names the file and the dotted field."""

    def __init__(self, manifest: dict, path: Path) -> None:
        self.m, self.path = manifest, path

    def fail(self, field: str, problem: str) -> ManifestError:
        return ManifestError(f"{self.path}: field '{field}' {problem}", self.path, field)

    def get(self, field: str, types: tuple, default: Any = _MISSING,
            lo: float | None = None, hi: float | None = None) -> Any:
        node: Any = self.m
        parts = field.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, dict):
                raise self.fail(".".join(parts[:i]), f"must be an object, found "
                                f"{type(node).__name__}")
            if part not in node:
                if default is not _MISSING:
                    return default
                raise self.fail(field, "is missing")
            node = node[part]
        if isinstance(node, bool) or not isinstance(node, types):
            want = {(str,): "a string", (int,): "an integer", _NUMBER: "a number",
                    (dict,): "an object", (list,): "a list"}[types]
            raise self.fail(field, f"must be {want}, found {type(node).__name__} {node!r:.40}")
        if lo is not None and not lo <= node <= hi:
            raise self.fail(field, f"is {node!r}, outside {lo:g}..{hi:g}")
        return node

    def count(self, field: str, hi: int = 1 << 20) -> int:
        return self.get(field, (int,), lo=1, hi=hi)

    def tensor(self, which: str) -> TensorQuant:
        base = f"model.{which}"
        shape = self.get(f"{base}.shape", (list,), [])
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
            raise self.fail(f"{base}.shape", f"must be a list of integers, found {shape!r:.40}")
        return TensorQuant(dtype=self.get(f"{base}.dtype", (str,), "int8"), shape=tuple(shape),
                           bytes=self.count(f"{base}.bytes", 1 << 24),
                           scale=float(self.get(f"{base}.scale", _NUMBER, lo=1e-30, hi=1e30)),
                           zero_point=self.get(f"{base}.zero_point", (int,), lo=-128, hi=127))


def validate(manifest: dict, path: str | Path) -> DeviceContract:
    """The one validator: the record, or ManifestError naming the file and the field."""
    from bedside.contract.manifest import constants_sha256
    path = Path(path)
    f = _Fields(manifest, path)
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ManifestError(f"{path}: field 'format_version' is {version!r}; this kit reads "
                            f"format {FORMAT_VERSION} (re-run `bedside convert`)", path,
                            "format_version")
    try:
        for where, value in _walk(manifest):
            if isinstance(value, float) and not math.isfinite(value):
                raise f.fail(where, f"is {value!r}: numbers must be finite")
    except ValueError as e:
        if isinstance(e, ManifestError):
            raise
        raise f.fail(str(e), f"is nested deeper than {MAX_DEPTH} levels") from None
    for block in ("model", "preprocessing", "window", "alarm"):
        f.get(block, (dict,))
    rows = f.get("signals", (list,))
    signals = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise f.fail(f"signals[{i}]", "must be an object")
        sub = _Fields(r, path)
        try:
            signals.append(SignalInfo(name=sub.get("name", (str,)),
                                      unit=sub.get("unit", (str,), ""),
                                      raw_scale=float(sub.get("raw_scale", _NUMBER, 1.0))))
        except ManifestError as e:
            raise f.fail(f"signals[{i}].{e.field}", str(e).split(f"'{e.field}' ", 1)[1]) from None
    window = Window(length=f.count("window.length"), stride=f.count("window.stride"))
    on_q = f.get("alarm.on_q", (int,), lo=-128, hi=127)
    off_q = f.get("alarm.off_q", (int,), lo=-128, hi=127)
    min_duration = f.count("alarm.min_duration")
    quantization = Quantization(input=f.tensor("input"), output=f.tensor("output"))
    backends = f.get("model.backends", (list,), [])
    model = Model(file=f.get("model.file", (str,), DEFAULT_MODEL_FILE),
                  sha256=f.get("model.sha256", (str,)), bytes=f.get("model.bytes", (int,), None),
                  backends=tuple(str(b) for b in backends),
                  protocol_version=f.get("protocol_version", (int,), 1, lo=0, hi=255),
                  gen_format=f.get("gen_format", (int,), 1, lo=0, hi=255))
    if not plain_file_name(model.file):
        raise f.fail("model.file", f"is {model.file!r:.60}: must be a plain file name inside "
                     "the run's int8/ folder")
    if len(model.sha256) != 64 or any(ch not in "0123456789abcdef" for ch in model.sha256):
        raise f.fail("model.sha256", f"is {model.sha256!r:.70}: must be 64 hex digits")
    sample_period_s = float(f.get("sample_period_s", _NUMBER, 60, lo=1e-3, hi=86400))
    pre = manifest["preprocessing"]
    sha = f.get("preprocessing.sha256", (str,))
    if sha != constants_sha256(pre, manifest["alarm"], manifest["window"]):
        raise f.fail("preprocessing.sha256", "does not match the constants (the manifest "
                     "was edited by hand?)")
    try:
        k = Constants.from_manifest(pre)
    except ConstantsError as e:      # "preprocessing.signals[2].center: ..." or "signal hr: ..."
        field, problem = _named(str(e), "")
        if not field.startswith("preprocessing"):
            field, problem = "preprocessing.signals", str(e)
        raise f.fail(field, problem) from None
    if [s.name for s in signals] != list(k.names):
        raise f.fail("signals", f"names {[s.name for s in signals]} differ from "
                     f"preprocessing.signals {list(k.names)}")
    try:
        pz = _pz.normalize(pre.get("personalization"), k)
    except _pz.PersonalizationError as e:
        raise f.fail(*_named(str(e), "preprocessing.")) from None
    if pz is not None and pz != pre.get("personalization"):
        raise f.fail("preprocessing.personalization", "is incomplete (re-run `bedside convert`)")
    raw_safety = manifest["alarm"].get("safety")
    try:
        sf = _sf.normalize(raw_safety, k)
    except _sf.SafetyError as e:
        raise f.fail(*_named(str(e), "alarm.")) from None
    if sf != raw_safety:
        raise f.fail("alarm.safety", "is incomplete (re-run `bedside convert`)")
    safety = None if sf is None else Safety(settings=json.dumps(sf, sort_keys=True))
    personalization = None if pz is None else Personalization(
        calib_samples=pz["calib_samples"], blocks=pz["blocks"],
        block_min_valid=pz["block_min_valid"], min_blocks=pz["min_blocks"],
        limits=tuple((n, lo, hi) for n, (lo, hi) in pz["limits"].items()))
    return DeviceContract(
        path=path, signals=tuple(signals), window=window, sample_period_s=sample_period_s,
        preprocessing=Preprocessing(constants=k, sha256=sha, personalization=personalization),
        quantization=quantization,
        alarm=Alarm(on_q=on_q, off_q=off_q, min_duration=min_duration, safety=safety),
        model=model)
