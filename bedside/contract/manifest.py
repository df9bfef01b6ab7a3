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
from bedside.contract.record import FORMAT_VERSION, ManifestError, read_json, validate

GEN_FORMAT = 3          # generated C/C++ header format; must match the firmware's
__all__ = ["FORMAT_VERSION", "GEN_FORMAT", "ManifestError", "build_manifest", "canonical_json",
           "constants", "constants_sha256", "load_manifest", "preprocessing_block"]


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
    """The raw dict of a manifest.json, checked by the one validator (record.validate), for
    code that writes a file from it (the generated header); readers take `record.read`."""
    manifest = read_json(path)
    validate(manifest, path)
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
