"""Loaders for real data: PhysioNet/CinC 2019 `.psv` files and a long-format CSV.

Both produce simulator.Patient records in the raw int16 units of bedside.contract.signals, one
sample per minute, so the rest of the pipeline cannot tell them from simulated data.

PhysioNet 2019 (hourly, pipe-separated, NaN = missing, SepsisLabel last): hour h lands at
minute 60*h. `hourly="hold"` (default) repeats each hourly value over its hour (minutes
60h .. 60h+59), i.e. what a trend display shows; `hourly="sparse"` leaves those minutes
MISSING (the preprocessing then carries a value for at most carry_limit minutes).
The challenge labels SepsisLabel = 1 from 6 h before sepsis onset, so onset = first
labelled hour + 6 h (clipped to the stay). Lactate becomes the privileged channel.

Long-format CSV (docs/training.md): header `patient_id,time_min` + any of the signal
columns hr,sbp,dbp,map,spo2,rr,temp (physical units, temp in degC), optional `lactate`
(mmol/L) and `event_onset_min`; one row per measurement time, empty cell = missing.
A malformed file raises DataError naming file, line and column.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Iterator

import numpy as np

from bedside.contract.signals import MISSING, SIGNAL_NAMES, SIGNALS
from bedside.ownership import BadInput
from .simulator import NONE, SEPSIS, Patient

PSV_COLUMNS = {"HR": "hr", "SBP": "sbp", "DBP": "dbp", "MAP": "map", "O2Sat": "spo2",
               "Resp": "rr", "Temp": "temp"}
SEPSIS_LABEL_SHIFT_H = 6
MAX_MINUTES = 60 * 24 * 60        # 60 days per patient: refuse absurd times, not allocate
MAX_SAMPLES = 100_000_000         # patient-minutes per load (1.6 GB of int16 arrays)


class DataError(BadInput):
    """A malformed input file; the message names file, line and column."""


def _to_raw(name: str, value: float) -> int:
    """Physical value -> raw int16 in the signal's units (temp degC -> 0.1 degC)."""
    sig = SIGNALS[SIGNAL_NAMES.index(name)]
    r = value / sig.raw_scale
    if not math.isfinite(r):
        return MISSING
    return int(np.clip(round(r), -32767, 32767))


def _number(text: str, path, line: int, column: str) -> float:
    t = text.strip()
    if t == "" or t.lower() in ("nan", "na"):
        return math.nan
    try:
        v = float(t)
    except ValueError:
        raise DataError(f"{path}:{line}: column '{column}': cannot read {text!r} as a number")
    if math.isinf(v):
        raise DataError(f"{path}:{line}: column '{column}': {text!r} is not a finite number")
    return v


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; DataError names the line of the first bad byte."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):      # a byte-order mark (Excel's "CSV UTF-8")
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                        f"{e.start})") from None


def load_psv(path: str | Path, hourly: str = "hold") -> Patient:
    """One PhysioNet 2019 patient file."""
    path = Path(path)
    if hourly not in ("hold", "sparse"):
        raise ValueError("hourly must be 'hold' or 'sparse'")
    lines = _read_text(path).splitlines()
    if not lines:
        raise DataError(f"{path}:1: empty file (expected a header line)")
    header = lines[0].strip().split("|")
    for col in list(PSV_COLUMNS) + ["SepsisLabel"]:
        if col not in header:
            raise DataError(f"{path}:1: column '{col}': missing from the header")
    if header[-1] != "SepsisLabel":
        raise DataError(f"{path}:1: column '{header[-1]}': the last column must be SepsisLabel")
    rows = [ln for ln in lines[1:]]
    hours = len(rows)
    raw = np.full((hours * 60, len(SIGNALS)), MISSING, dtype=np.int16)
    lac = np.full((hours * 60, 1), MISSING, dtype=np.int16)
    first_label = -1
    for h, text in enumerate(rows):
        line = h + 2
        cells = text.strip().split("|")
        if len(cells) != len(header):
            raise DataError(f"{path}:{line}: column '{header[min(len(cells), len(header)) - 1]}':"
                            f" expected {len(header)} fields, found {len(cells)}")
        values = dict(zip(header, cells))
        span = slice(60 * h, 60 * h + (60 if hourly == "hold" else 1))
        for col, name in PSV_COLUMNS.items():
            v = _number(values[col], path, line, col)
            if not math.isnan(v):
                raw[span, SIGNAL_NAMES.index(name)] = _to_raw(name, v)
        if "Lactate" in values:
            v = _number(values["Lactate"], path, line, "Lactate")
            if not math.isnan(v):
                lac[60 * h, 0] = int(np.clip(round(v * 100), 0, 32767))
        label = _number(values["SepsisLabel"], path, line, "SepsisLabel")
        if label not in (0.0, 1.0):
            raise DataError(f"{path}:{line}: column 'SepsisLabel': expected 0 or 1, "
                            f"found {values['SepsisLabel']!r}")
        if label == 1.0 and first_label < 0:
            first_label = h
    onset = -1
    if first_label >= 0:
        onset = min(60 * (first_label + SEPSIS_LABEL_SHIFT_H), 60 * hours - 1)
    return Patient(pid=path.stem, raw=raw, privileged=lac, onset=onset,
                   event_type=SEPSIS if onset >= 0 else NONE, info={"source": "physionet2019"})


def load_psv_dir(folder: str | Path, hourly: str = "hold") -> list[Patient]:
    files = sorted(Path(folder).glob("*.psv"))
    if not files:
        raise DataError(f"{folder}: no .psv files found")
    return [load_psv(f, hourly) for f in files]


def _lines(path: Path, f) -> Iterator[str]:
    """The file's lines as text, one at a time (a UTF-8 byte-order mark is dropped); a bad
    byte is a DataError naming its line."""
    for number, data in enumerate(f, start=1):
        if number == 1 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"{path}:{number}: not UTF-8 text (byte 0x{data[e.start]:02x})"
                            ) from None


def load_long_csv(path: str | Path, max_samples: int = MAX_SAMPLES) -> list[Patient]:
    """Patients from one long-format CSV (see module docstring). The file is read row by
    row; the patient-minutes the arrays would hold (each patient's last time_min + 1,
    summed) are counted before anything is allocated, and more than `max_samples` is
    refused."""
    path = Path(path)
    with path.open("rb") as fb:
        reader = csv.reader(_lines(path, fb))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise DataError(f"{path}:1: empty file (expected a header line)")
        for col in ("patient_id", "time_min"):
            if col not in header:
                raise DataError(f"{path}:1: column '{col}': missing from the header")
        known = set(SIGNAL_NAMES) | {"patient_id", "time_min", "lactate", "event_onset_min"}
        for col in header:
            if col not in known:
                raise DataError(f"{path}:1: column '{col}': unknown column "
                                f"(known: {', '.join(sorted(known))})")
        records: dict[str, list] = {}
        for line, cells in enumerate(reader, start=2):
            if not cells or all(c.strip() == "" for c in cells):
                continue
            if len(cells) != len(header):
                raise DataError(f"{path}:{line}: column '{header[min(len(cells), len(header)) - 1]}'"
                                f": expected {len(header)} fields, found {len(cells)}")
            row = dict(zip(header, cells))
            pid = row["patient_id"].strip()
            if not pid:
                raise DataError(f"{path}:{line}: column 'patient_id': empty")
            t = _number(row["time_min"], path, line, "time_min")
            if math.isnan(t) or t < 0 or t != int(t) or t > MAX_MINUTES:
                raise DataError(f"{path}:{line}: column 'time_min': expected a whole number of "
                                f"minutes in 0..{MAX_MINUTES}, found {row['time_min']!r}")
            vals = {c: _number(row[c], path, line, c) for c in header
                    if c not in ("patient_id", "time_min")}
            records.setdefault(pid, []).append((int(t), vals, line))
    total = sum(max(r[0] for r in recs) + 1 for recs in records.values())
    if total > max_samples:
        raise DataError(f"{path}:2: column 'time_min': the {len(records)} patients span "
                        f"{total} minutes in all, more than the {max_samples} this load "
                        "allows (each patient's stream runs from minute 0 to its last "
                        "time_min)")
    patients = []
    for pid, recs in records.items():
        t_len = max(r[0] for r in recs) + 1
        raw = np.full((t_len, len(SIGNALS)), MISSING, dtype=np.int16)
        lac = np.full((t_len, 1), MISSING, dtype=np.int16)
        onset = -1
        for t, vals, line in recs:
            for i, name in enumerate(SIGNAL_NAMES):
                v = vals.get(name, math.nan)
                if not math.isnan(v):
                    raw[t, i] = _to_raw(name, v)
            if not math.isnan(vals.get("lactate", math.nan)):
                lac[t, 0] = int(np.clip(round(vals["lactate"] * 100), 0, 32767))
            o = vals.get("event_onset_min", math.nan)
            if not math.isnan(o):
                if o < 0 or o != int(o) or (onset >= 0 and int(o) != onset):
                    raise DataError(f"{path}:{line}: column 'event_onset_min': {o!r} is not one "
                                    "whole number of minutes per patient")
                onset = int(o)
        patients.append(Patient(pid=pid, raw=raw, privileged=lac, onset=onset,
                                event_type=SEPSIS if onset >= 0 else NONE,
                                info={"source": "long_csv"}))
    if not patients:
        raise DataError(f"{path}:2: no data rows")
    return patients
