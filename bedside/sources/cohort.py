"""The cohort container: all patients' raw int16 streams, events and splits (numpy only).

Saved as `RunPaths(RUN_DIR).cohort` (no pickles: `np.load(..., allow_pickle=False)` reads it).
Streams are concatenated; patient i owns rows offsets[i]:offsets[i+1]. Splits are by
patient (0 train, 1 validation, 2 test), stratified by event type, never by window.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bedside.contract.signals import N_SIGNALS
from bedside.fileio import atomic_file
from bedside.ownership import BadInput

from .simulator import Patient

SPLITS = {"train": 0, "val": 1, "test": 2}
FORMAT_VERSION = 1
MAX_BYTES = 4 << 30          # unpacked: about 300 million patient-minutes
_FIELDS = ("format_version", "raw", "privileged", "offsets", "pid", "onset", "event_type",
           "rapid_map_drop", "atypical", "hard", "split", "source")
_PER_PATIENT = ("onset", "event_type", "rapid_map_drop", "atypical", "hard", "split")


class CohortError(BadInput):
    """A cohort.npz that is not what `bedside data` writes; names file and field."""


def _check_sizes(path: Path) -> None:
    """Refuse a file whose members would unpack past MAX_BYTES (zip directory only)."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(zi.file_size for zi in zf.infolist())
    except (zipfile.BadZipFile, OSError) as e:
        raise CohortError(f"{path}: not a readable cohort .npz ({e})") from None
    if total > MAX_BYTES:
        raise CohortError(f"{path}: unpacks to {total} bytes, more than {MAX_BYTES}")


def _check_arrays(path: Path, a: dict) -> None:
    """Rank, width, dtype of every array; offsets rising from 0 to the sample count."""
    def bad(field: str, why: str) -> CohortError:
        return CohortError(f"{path}: field '{field}' {why}")
    raw, priv, off, pid = a["raw"], a["privileged"], a["offsets"], a["pid"]
    if raw.ndim != 2 or raw.shape[1] != N_SIGNALS or raw.dtype != np.int16:
        raise bad("raw", f"must be int16 [samples, {N_SIGNALS}], found {raw.dtype} {raw.shape}")
    if priv.shape != (len(raw), 1) or priv.dtype != np.int16:
        raise bad("privileged", f"must be int16 [{len(raw)}, 1], found {priv.dtype} {priv.shape}")
    n = len(pid) if pid.ndim == 1 else 0
    if pid.ndim != 1 or pid.dtype.kind != "U" or n == 0:
        raise bad("pid", f"must be a non-empty list of names, found {pid.dtype} {pid.shape}")
    if off.shape != (n + 1,) or off.dtype.kind not in "iu":
        raise bad("offsets", f"must be integers [{n + 1}], found {off.dtype} {off.shape}")
    if off[0] != 0 or off[-1] != len(raw) or (np.diff(off) < 0).any():
        raise bad("offsets", f"must rise from 0 to {len(raw)} (the samples), found "
                             f"{int(off.min())}..{int(off.max())}")
    for k in _PER_PATIENT:
        if a[k].shape != (n,) or a[k].dtype.kind not in "biu":
            raise bad(k, f"must be integers [{n}], found {a[k].dtype} {a[k].shape}")
    if not np.isin(a["split"], (0, 1, 2)).all():
        raise bad("split", "must hold 0 (train), 1 (val) or 2 (test)")
    if a["source"].shape != () or a["source"].dtype.kind != "U":
        raise bad("source", "must be one string")


@dataclass
class Cohort:
    raw: np.ndarray            # int16 [S, 7]
    privileged: np.ndarray     # int16 [S, 1] lactate * 100, MISSING where not measured
    offsets: np.ndarray        # int64 [P + 1]
    pid: np.ndarray            # unicode [P]
    onset: np.ndarray          # int32 [P], minute index of event onset, -1 = none
    event_type: np.ndarray     # int8 [P] (simulator.EVENT_NAMES)
    rapid_map_drop: np.ndarray  # bool [P]
    atypical: np.ndarray       # int8 [P] atypical baseline kind (0 = typical)
    hard: np.ndarray           # int8 [P] hard-patient kind (0 = not hard)
    split: np.ndarray          # int8 [P]
    source: str = "simulated"

    @property
    def n_patients(self) -> int:
        return len(self.pid)

    def stream(self, i: int) -> np.ndarray:
        return self.raw[self.offsets[i]:self.offsets[i + 1]]

    def privileged_stream(self, i: int) -> np.ndarray:
        return self.privileged[self.offsets[i]:self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def indices(self, split: str) -> np.ndarray:
        if split == "all":
            return np.arange(self.n_patients)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} or all")
        return np.flatnonzero(self.split == SPLITS[split])

    @property
    def atypical_baseline(self) -> np.ndarray:
        """Subgroup flag: patient has a chronic atypical baseline."""
        return self.atypical != 0

    # --- I/O ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write atomically (temp file in the same folder, then rename)."""
        with atomic_file(path) as f:
            np.savez_compressed(
                f, format_version=np.int32(FORMAT_VERSION), raw=self.raw,
                privileged=self.privileged, offsets=self.offsets, pid=self.pid,
                onset=self.onset, event_type=self.event_type,
                rapid_map_drop=self.rapid_map_drop, atypical=self.atypical,
                hard=self.hard, split=self.split, source=np.array(self.source))

    @classmethod
    def load(cls, path: str | Path) -> "Cohort":
        path = Path(path)
        if not path.is_file():
            raise CohortError(f"{path}: cohort not found (run `bedside data` first)")
        # sizes from the zip directory before any array is read, then each array's shape
        _check_sizes(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                missing = [k for k in _FIELDS if k not in z.files]
                if missing:
                    raise CohortError(f"{path}: field '{missing[0]}' is missing")
                fv = z["format_version"]
                if fv.shape != () or fv.dtype.kind not in "iu" or int(fv) != FORMAT_VERSION:
                    raise CohortError(f"{path}: field 'format_version': this kit reads "
                                      f"{FORMAT_VERSION}")
                arrays = {k: z[k] for k in _FIELDS if k != "format_version"}
        except CohortError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise CohortError(f"{path}: not a readable cohort .npz ({str(e)[:120]})") from None
        _check_arrays(path, arrays)
        return cls(**{k: v for k, v in arrays.items() if k != "source"},
                   source=str(arrays["source"]))

    @classmethod
    def from_patients(cls, patients: list[Patient], seed: int,
                      fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
                      source: str = "simulated") -> "Cohort":
        if not patients:
            raise ValueError("empty cohort")
        lengths = np.array([len(p.raw) for p in patients], dtype=np.int64)
        event_type = np.array([p.event_type for p in patients], dtype=np.int8)
        return cls(
            raw=np.concatenate([p.raw for p in patients]).astype(np.int16).reshape(-1, N_SIGNALS),
            privileged=np.concatenate([p.privileged for p in patients]).astype(np.int16),
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            pid=np.array([p.pid for p in patients], dtype=np.str_),
            onset=np.array([p.onset for p in patients], dtype=np.int32),
            event_type=event_type,
            rapid_map_drop=np.array([p.rapid_map_drop for p in patients], dtype=bool),
            atypical=np.array([p.atypical for p in patients], dtype=np.int8),
            hard=np.array([p.hard for p in patients], dtype=np.int8),
            split=assign_splits(event_type, seed, fractions),
            source=source)


def assign_splits(strata: np.ndarray, seed: int,
                  fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> np.ndarray:
    """Patient-level split, stratified by `strata` (event type), deterministic by seed."""
    rng = np.random.default_rng([int(seed), 0x5B117])
    split = np.zeros(len(strata), dtype=np.int8)
    cum = np.cumsum(fractions) / np.sum(fractions)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        idx = idx[rng.permutation(len(idx))]
        # largest-remainder rounding so every split of a small cohort gets members
        cuts = np.rint(cum * len(idx)).astype(int)
        split[idx[cuts[0]:cuts[1]]] = 1
        split[idx[cuts[1]:]] = 2
    return split


def window_labels(onset: int, ends: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Label of each window ending at sample `ends`: 1 if the event starts within the next
    `horizon` minutes (end < onset <= end + horizon). Windows ending at or after onset are
    not kept: the event is already under way, it is no longer a prediction."""
    ends = np.asarray(ends)
    if onset < 0:
        return np.zeros(len(ends), dtype=np.int8), np.ones(len(ends), dtype=bool)
    y = ((ends < onset) & (onset <= ends + horizon)).astype(np.int8)
    return y, ends < onset
