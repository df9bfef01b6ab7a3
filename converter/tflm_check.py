"""Run the int8 model in TFLM's own Python interpreter and compare it with the float Student.

TFLM (`tflite_micro`) is the kit's reference: the firmware must reproduce its outputs bit
for bit. This module measures the arena TFLM actually allocates (its RecordingMicroAllocator
record) and the float-vs-int8 agreement on the test split.
"""
from __future__ import annotations

import os
import re
import tempfile

import numpy as np

from bedside.contract.alarm import alarm_sequence
from bedside.reference.tflm import TflmError, interpreter


def _capture_fd2(fn) -> str:
    """Run fn() and return what native code wrote to file descriptor 2 meanwhile."""
    import sys
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode(errors="replace")


def quietly(fn):
    """fn() with TFLM's native diagnostics captured instead of printed; a TflmError it raises
    gets TFLM's first diagnostic line added (the wheel's own message only says that
    allocation failed)."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except TflmError as e:
            box["error"] = e

    text = _capture_fd2(run)
    if "error" in box:
        detail = next((line.strip() for line in text.splitlines() if line.strip()), "")
        raise TflmError(f"{box['error']}" + (f": {detail}" if detail else "")) from box["error"]
    return box["value"]


def arena_used_bytes(model: bytes) -> int:
    """Arena bytes TFLM allocated for this model (RecordingMicroAllocator total, host build).

    Read after one invoke, as the allocator's record is complete only then.
    """
    it = interpreter(model)
    shape = it.get_input_details(0)["shape"]
    it.set_input(np.zeros(shape, dtype=it.get_input_details(0)["dtype"]), 0)
    it.invoke()
    text = _capture_fd2(it.print_allocations)
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if not m:
        raise TflmError("TFLite Micro did not report its arena allocation record")
    return int(m.group(1))


def run_int8(model: bytes, x_q: np.ndarray, progress=None) -> np.ndarray:
    """int8 outputs [N, ...] of TFLM over int8 windows x_q [N, L, C]."""
    it = interpreter(model)
    out = []
    for i in range(len(x_q)):
        it.set_input(x_q[i:i + 1], 0)
        it.invoke()
        out.append(np.array(it.get_output(0), copy=True).reshape(-1))
        if progress is not None:
            progress(1)
    return np.stack(out) if out else np.zeros((0, 1), np.int8)


def auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, tied scores get average ranks)."""
    labels = np.asarray(labels).astype(bool).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _per_patient_alarms(codes: np.ndarray, patient: np.ndarray, on: int, off: int,
                        min_duration: int) -> np.ndarray:
    states = np.zeros(len(codes), dtype=bool)
    for p in np.unique(patient):
        sel = np.flatnonzero(patient == p)       # windows are in stream order per patient
        states[sel] = alarm_sequence(codes[sel], on, off, min_duration)
    return states


def compare(p_float: np.ndarray, q_int8: np.ndarray, labels: np.ndarray, patient: np.ndarray,
            out_scale: float, out_zp: int, alarm: dict) -> dict:
    """Float-vs-int8 agreement: AUROC delta, max |dp|, alarm decisions that differ."""
    p_float = np.asarray(p_float, dtype=np.float64).reshape(-1)
    q = np.asarray(q_int8).astype(np.int32).reshape(-1)
    p_int8 = (q - out_zp) * float(out_scale)
    auc_f, auc_q = auroc(labels, p_float), auroc(labels, p_int8)
    # per-window decision: the float model's p >= threshold vs the device's q >= on_q
    dec_f = p_float >= alarm["threshold"]
    dec_q = q >= alarm["on_q"]
    # the alarm state machine, per patient: float p mapped to the codes 0 (< off),
    # 1 (>= off) and 2 (>= on), run through the same integer state machine
    codes = (p_float >= alarm["off_threshold"]).astype(np.int32) + dec_f
    st_f = _per_patient_alarms(codes, patient, 2, 1, alarm["min_duration"])
    st_q = _per_patient_alarms(q, patient, alarm["on_q"], alarm["off_q"],
                               alarm["min_duration"])
    n = max(len(q), 1)
    return {
        "windows": int(len(q)),
        "auroc_float": auc_f,
        "auroc_int8": auc_q,
        "auroc_delta": None if auc_f is None else round(auc_q - auc_f, 6),
        "max_abs_prob_diff": float(np.max(np.abs(p_int8 - p_float))) if len(q) else 0.0,
        "mean_abs_prob_diff": float(np.mean(np.abs(p_int8 - p_float))) if len(q) else 0.0,
        "decision_mismatch_frac": float(np.sum(dec_f != dec_q) / n),
        "alarm_state_mismatch_frac": float(np.sum(st_f != st_q) / n),
    }
