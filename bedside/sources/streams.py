"""Test signals for verification: simulated patients, a data file, or the run's test split.

Each source yields (patient_id, raw int16 [T, n_signals]) streams, one per patient; the
device gets a RESET before each. numpy-only (bedside.sources.simulator / bedside.sources.cohort).
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from bedside.rundir import RunPaths

Stream = tuple[str, np.ndarray]


class SourceError(ValueError):
    """No usable test signals (missing file, unknown format)."""


def simulated(n_patients: int, seed: int) -> tuple[list[Stream], str]:
    from bedside.sources.simulator import SimConfig, simulate_patient
    cfg = SimConfig.short_stays()        # the default profile's world
    streams = [(f"sim-{seed}-{i}", simulate_patient(seed, i, cfg).raw)
               for i in range(n_patients)]
    return streams, f"simulator: {n_patients} patients, seed {seed}"


def _cohort(path: Path, split: str) -> tuple[list[Stream], str]:
    from bedside.sources.cohort import Cohort, CohortError
    try:
        cohort = Cohort.load(path)
    except CohortError as e:          # names file and field already
        raise SourceError(str(e)) from None
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
        # a truncated or damaged .npz (zip) fails in any of these ways
        raise SourceError(f"{path}: not a readable cohort file ({type(e).__name__}: "
                          f"{e})") from None
    idx = cohort.indices(split) if split != "all" else np.arange(cohort.n_patients)
    return ([(str(cohort.pid[i]), cohort.stream(int(i))) for i in idx],
            f"{path} ({split} split: {len(idx)} patients)")


def from_file(path: Path, split: str = "all") -> tuple[list[Stream], str]:
    if not path.exists():
        raise SourceError(f"{path}: data file not found")
    if path.suffix == ".npz":
        return _cohort(path, split)
    if path.suffix in (".psv", ".csv") or path.is_dir():
        from bedside.sources import loaders
        try:
            if path.is_dir():
                patients = loaders.load_psv_dir(path)
            elif path.suffix == ".psv":
                patients = [loaders.load_psv(path)]
            else:
                patients = loaders.load_long_csv(path)
        except loaders.DataError as e:
            raise SourceError(str(e)) from None
        return [(p.pid, p.raw) for p in patients], f"{path} ({len(patients)} patients)"
    raise SourceError(f"{path}: unknown data format '{path.suffix}' (use a cohort .npz, a "
                      "PhysioNet .psv file or folder, or a long-format .csv)")


def default(run_dir: Path) -> tuple[list[Stream], str]:
    path = RunPaths(run_dir).cohort
    if not path.is_file():
        raise SourceError(f"{path} not found: give --simulate N or --data FILE")
    return _cohort(path, "test")


def select(run_dir: Path, data: str | None, simulate: int | None, seed: int,
           max_patients: int | None = None) -> tuple[list[Stream], str]:
    if simulate is not None:
        streams, desc = simulated(simulate, seed)
    elif data is not None:
        streams, desc = from_file(Path(data))
    else:
        streams, desc = default(run_dir)
    if max_patients is not None and len(streams) > max_patients:
        streams = streams[:max_patients]
        desc += f", first {max_patients} streamed"
    if not streams:
        raise SourceError(f"{desc}: no patients")
    return streams, desc


def iter_batches(raw: np.ndarray, per_frame: int) -> Iterator[np.ndarray]:
    for lo in range(0, len(raw), per_frame):
        yield raw[lo:lo + per_frame]
