"""The reference's model outputs for a run's test patients, stored by `bedside convert`.

A bench PC without the TFLM wheel (`pip install bedside-kit`, x86-64 Linux wheels only for
`tflite-micro`) still verifies a converted run: the integer preprocessing and the alarm are
numpy (bedside.contract) and recomputed as always; only the model's int8 outputs come from
`RUN_DIR/int8/reference_outputs.npz`, looked up by the SHA-256 of each int8 input window.
A window that is not there (new data, `--simulate`) needs the wheel: `bedside-kit[reference]`.
The file records the model and preprocessing hashes it was computed for, so a re-converted
run never uses stale outputs.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from bedside.reference.pipeline import Contract, Reference, RunDirError
from bedside.rundir import Int8Paths

INSTALL = "pip install 'bedside-kit[reference]'"


def path_of(contract: Contract) -> Path:
    return Int8Paths(contract.model_path.parent).reference_outputs


def have_tflm() -> bool:
    try:
        return importlib.util.find_spec("tflite_micro") is not None
    except (ImportError, ValueError):
        return False


def window_hashes(windows: np.ndarray) -> np.ndarray:
    """SHA-256 of each int8 window's bytes, as [N, 32] uint8."""
    w = np.ascontiguousarray(windows, dtype=np.int8)
    return np.array([np.frombuffer(hashlib.sha256(x.tobytes()).digest(), np.uint8)
                     for x in w], dtype=np.uint8).reshape(len(w), 32)


def write(contract: Contract, streams) -> Path:
    """Run TFLM on every window of `streams` [(patient, raw)] and store the outputs."""
    from bedside.fileio import atomic_file
    ref = Reference(contract)
    hashes, outputs = [], []
    for _, raw in streams:
        p = ref.patient(raw)
        hashes.append(window_hashes(p.windows))
        outputs.append(p.output)
    n_out = contract.output_bytes
    path = path_of(contract)
    with atomic_file(path) as f:
        np.savez_compressed(
            f, window_sha256=np.concatenate(hashes) if hashes else np.zeros((0, 32), np.uint8),
            output=np.concatenate(outputs) if outputs else np.zeros((0, n_out), np.int8),
            model_sha256=np.array(contract.model_sha256),
            preproc_sha256=np.array(contract.preproc_sha256),
            reference=np.array(_reference_name()))
    return path


def _reference_name() -> str:
    from bedside.reference.tflm import reference_version
    return f"tflite-micro {reference_version()}"


class StoredReference(Reference):
    """A Reference whose `infer` looks the outputs up instead of running TFLM."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.invokes = 0
        path = path_of(contract)
        if not path.is_file():
            raise RunDirError(f"the TFLM reference is not installed and {path} is missing "
                              f"(re-run `bedside convert` where it is installed): {INSTALL}")
        try:
            with np.load(path) as z:
                model, preproc = str(z["model_sha256"]), str(z["preproc_sha256"])
                keys, outputs = z["window_sha256"], z["output"]
                self.source = str(z["reference"])
        except (OSError, ValueError, KeyError) as e:
            raise RunDirError(f"{path}: not a stored reference ({e}): re-run `bedside convert`")
        if (model, preproc) != (contract.model_sha256, contract.preproc_sha256):
            raise RunDirError(f"{path}: computed for another model or preprocessing than the "
                              f"manifest's: re-run `bedside convert`, or {INSTALL}")
        self.table = {k.tobytes(): o for k, o in zip(keys, outputs)}

    def infer(self, windows: np.ndarray) -> np.ndarray:
        out = np.empty((len(windows), self.contract.output_bytes), dtype=np.int8)
        for i, key in enumerate(window_hashes(windows)):
            got = self.table.get(key.tobytes())
            if got is None:
                raise RunDirError(f"a window of these signals is not among the stored "
                                  f"reference outputs ({path_of(self.contract)}: the run's "
                                  f"test patients only); new data needs the TFLM reference: "
                                  f"{INSTALL}")
            out[i] = got
        self.invokes += len(windows)
        return out


def reference_for(contract: Contract) -> Reference:
    """TFLM when installed (recomputes everything), else the stored outputs."""
    return Reference(contract) if have_tflm() else StoredReference(contract)
