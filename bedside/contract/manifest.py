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


def load_manifest(path: str | Path) -> dict:
    """Read and check a manifest.json (or a run directory holding int8/manifest.json)."""
    path = Path(path)
    if path.is_dir():
        path = path / "int8" / "manifest.json"
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found (run `bedside convert RUN_DIR` first)")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}")
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: top level must be an object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ManifestError(f"{path}: field 'format_version' is {version!r}; this kit reads "
                            f"format {FORMAT_VERSION} (re-run `bedside convert`)")
    for field in ("model", "preprocessing", "window", "alarm", "signals"):
        if not isinstance(manifest.get(field), dict if field != "signals" else list):
            raise ManifestError(f"{path}: field '{field}' is missing or of the wrong type")
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
