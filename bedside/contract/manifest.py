"""manifest.json: the contract between training, firmware and host tools (DESIGN.md 1).

Written by `bedside convert`, read by the firmware generator and the host tools.
Every field is documented in docs/manifest.md. At conversion the preprocessing block is
seeded from the signal table (bedside.contract.signals); from then on the manifest is the
only source: `constants(manifest)` is what the generated C header and the Python reference
are built from. Its SHA-256 (over canonical JSON) is what the device reports as
`preproc_sha256`, so a device built with other constants is refused.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from bedside.contract import signals as sig
from bedside.contract.protocol import VERSION as PROTOCOL_VERSION

FORMAT_VERSION = 1
GEN_FORMAT = 2          # generated C/C++ header format; must match the firmware's


class ManifestError(ValueError):
    """A manifest that is missing, malformed or of another format version."""


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def preprocessing_block(personalization: dict | None = None) -> dict:
    """Signal table and fixed-point constants the device must reproduce exactly."""
    block = sig.TABLE.block()
    if personalization is not None:
        block["personalization"] = personalization
    return block


def constants(manifest: dict) -> sig.Constants:
    """The run's preprocessing constants (ManifestError names a bad field)."""
    try:
        return sig.Constants.from_manifest(manifest.get("preprocessing"))
    except sig.ConstantsError as e:
        raise ManifestError(f"manifest field {e}") from None


def constants_sha256(preprocessing: dict, alarm: dict, window: dict) -> str:
    """Hash of everything besides the model that decides a device's outputs."""
    payload = {"preprocessing": {k: v for k, v in preprocessing.items() if k != "sha256"},
               "alarm": alarm, "window": window}
    return hashlib.sha256(canonical_json(payload)).hexdigest()


# Bounds on what a manifest may be: the converter writes a few KB, nested 5 deep.
MAX_BYTES = 1 << 20
MAX_DEPTH = 16

# The fields readers use, with their type and allowed range (None: unbounded); a missing
# optional one takes its default. Checked on every load, so a reader never meets a NaN
# scale, a negative sample period or a model file outside the run folder.
_INT, _NUM, _STR = "an integer", "a number", "a string"
FIELDS: dict[str, tuple[str, float | None, float | None, bool]] = {
    # name: (kind, min, max, required)
    "model.file": (_STR, None, None, False),
    "model.sha256": (_STR, None, None, True),
    "model.input.bytes": (_INT, 1, 1 << 24, True),
    "model.input.scale": (_NUM, 1e-30, 1e30, True),
    "model.input.zero_point": (_INT, -128, 127, True),
    "model.output.bytes": (_INT, 1, 1 << 24, True),
    "model.output.scale": (_NUM, 1e-30, 1e30, True),
    "model.output.zero_point": (_INT, -128, 127, True),
    "window.length": (_INT, 1, 1 << 20, True),
    "window.stride": (_INT, 1, 1 << 20, True),
    "alarm.on_q": (_INT, -128, 127, True),
    "alarm.off_q": (_INT, -128, 127, True),
    "alarm.min_duration": (_INT, 1, 1 << 20, True),
    "preprocessing.sha256": (_STR, None, None, True),
    "protocol_version": (_INT, 0, 255, False),
    "gen_format": (_INT, 0, 255, False),
    "sample_period_s": (_NUM, 1e-3, 86400, False),
}


def _walk(node, where: str = "", depth: int = 0):
    """(field path, value) of every leaf, refusing nesting deeper than MAX_DEPTH (no
    recursion: a hostile file cannot exhaust the stack)."""
    stack = [(node, where, depth)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ManifestError(f"field '{where}': nested deeper than {MAX_DEPTH} levels")
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


def check_fields(manifest: dict) -> None:
    """Raise ManifestError naming the first field that is non-finite, of the wrong type or
    out of range (FIELDS), or a model.file that is not a plain name inside the run."""
    for where, value in _walk(manifest):
        if isinstance(value, float) and not math.isfinite(value):
            raise ManifestError(f"field '{where}' is {value!r}: numbers must be finite")
    for name, (kind, lo, hi, required) in FIELDS.items():
        node = manifest
        for i, part in enumerate(name.split(".")):
            if not isinstance(node, dict):
                raise ManifestError(f"field '{'.'.join(name.split('.')[:i])}' must be an "
                                    f"object, found {type(node).__name__}")
            if part not in node:
                if required:
                    raise ManifestError(f"field '{name}' is missing")
                break
            node = node[part]
        else:
            ok = {_INT: isinstance(node, int), _NUM: isinstance(node, (int, float)),
                  _STR: isinstance(node, str)}[kind] and not isinstance(node, bool)
            if not ok:
                raise ManifestError(f"field '{name}' must be {kind}, found "
                                    f"{type(node).__name__} {node!r:.40}")
            if lo is not None and not lo <= node <= hi:
                raise ManifestError(f"field '{name}' is {node!r}, outside {lo:g}..{hi:g}")
    model = manifest["model"]
    if not plain_file_name(model.get("file", "model.tflite")):
        raise ManifestError(f"field 'model.file' is {model['file']!r:.60}: must be a plain "
                            "file name inside the run's int8/ folder")
    sha = model["sha256"]
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ManifestError(f"field 'model.sha256' is {sha!r:.70}: must be 64 hex digits")


def load_manifest(path: str | Path) -> dict:
    """Read and check a manifest.json (or a run directory holding int8/manifest.json):
    size, depth, types, finite numbers and ranges (check_fields)."""
    path = Path(path)
    if path.is_dir():
        path = path / "int8" / "manifest.json"
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found (run `bedside convert RUN_DIR` first)")
    if path.stat().st_size > MAX_BYTES:
        raise ManifestError(f"{path}: {path.stat().st_size} bytes, more than a manifest's "
                            f"{MAX_BYTES} (not a manifest bedside wrote)")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}")
    except RecursionError:
        raise ManifestError(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: top level must be an object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ManifestError(f"{path}: field 'format_version' is {version!r}; this kit reads "
                            f"format {FORMAT_VERSION} (re-run `bedside convert`)")
    for field in ("model", "preprocessing", "window", "alarm", "signals"):
        if not isinstance(manifest.get(field), dict if field != "signals" else list):
            raise ManifestError(f"{path}: field '{field}' is missing or of the wrong type")
    try:
        check_fields(manifest)
    except ManifestError as e:
        raise ManifestError(f"{path}: {e}") from None
    expected = constants_sha256(manifest["preprocessing"], manifest["alarm"], manifest["window"])
    if manifest["preprocessing"].get("sha256") != expected:
        raise ManifestError(f"{path}: field 'preprocessing.sha256' does not match the constants "
                            "(the manifest was edited by hand?)")
    try:
        constants(manifest)
    except ManifestError as e:
        raise ManifestError(f"{path}: {e}") from None
    return manifest


def build_manifest(*, window: dict, alarm: dict, horizon_min: float, model: dict,
                   versions: dict, generator: dict, seed: int | None = None,
                   personalization: dict | None = None, reference: dict | None = None) -> dict:
    """The full manifest (format FORMAT_VERSION); every field is in docs/manifest.md.

    `alarm` must already hold on_q/off_q (the int8 thresholds the device compares);
    `model` is the block written by the converter (file, sha256, bytes, ops, input,
    output, arena bytes); `reference` names the interpreter the outputs must equal
    (package, version, multiplier_derivation, rounding).
    """
    preprocessing = preprocessing_block(personalization)
    window = {"length": int(window["length"]), "stride": int(window["stride"])}
    preprocessing["sha256"] = constants_sha256(preprocessing, alarm, window)
    out = {
        "format_version": FORMAT_VERSION,
        "protocol_version": PROTOCOL_VERSION,
        "gen_format": GEN_FORMAT,
        "sample_period_s": sig.SAMPLE_PERIOD_S,
        "signals": [{"name": r["name"], "unit": r["unit"], "raw_scale": r["raw_scale"]}
                    for r in preprocessing["signals"]],
        "window": window,
        "preprocessing": preprocessing,
        "model": model,
        "alarm": alarm,
        "labels": {"horizon_min": horizon_min},
        "seed": seed,
        "versions": versions,
        "generator": generator,
    }
    if reference is not None:
        out["reference"] = reference
    return out
