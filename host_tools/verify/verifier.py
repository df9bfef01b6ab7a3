"""Verification of a device against the Python reference, window by window (the API).

    with Device(url) as dev:
        v = Verifier(dev, Contract.from_run(run_dir))
        v.handshake()                      # raises Refusal on a model/preproc/shape/version mismatch
        v.stream_patient("p0", raw)        # RESET + SAMPLES frames; compares every RESULT
        summary = v.summary()

Stream mode feeds raw samples like sensors would (the device preprocesses, windows, runs
the model and the alarm); window mode (`infer_windows`) sends int8 windows directly
(model-only, with warm-ups). Every int8 output and alarm state must equal the reference.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from bedside.contract import protocol as p
from bedside.host_tools.link.client import Device
from bedside.reference.pipeline import Contract, PatientReference, Reference
from bedside.rundir import Int8Paths

# exit codes of `bedside verify` (docs/verify.md)
EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_LINK = 3
EXIT_MODEL_HASH = 4
EXIT_PREPROC_HASH = 5
EXIT_SHAPE = 6
EXIT_PROTOCOL = 7
EXIT_NO_ANSWER = 8      # the device stopped answering (link.DeviceSilent), not a mismatch

MAX_REPORTED_MISMATCHES = 20
DEVICE_LOG_LINES = 40          # per patient, at each end: the JUnit testcase's system-out
# RESULT flag bits of the safety floor (bedside/contract/safety.py), compared per window
SAFETY_BITS = p.RESULT_FLAG_QUALITY | (0xF << p.RESULT_REASON_SHIFT)


class Refusal(Exception):
    """The device does not run the run's model/constants/protocol: do not verify it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def load_contract(run_dir) -> Contract:
    """The run's contract: ManifestError names a bad manifest field (the one validator,
    bedside.contract.record), RunDirError a missing or different model."""
    return Contract.from_run(run_dir)


def check_comparable(streams, desc: str, c: Contract) -> None:
    """Refuse (exit 2) test signals that give no window to compare: that is no test."""
    L, S = c.window_length, c.stride
    if not any(len(raw) >= L for _, raw in streams):
        longest = max((len(raw) for _, raw in streams), default=0)
        raise Refusal(EXIT_USAGE, f"no comparable windows: {desc}: the longest patient has "
                      f"{longest} samples, a window needs {L} (stride {S}); nothing to verify")


BACKENDS = {0: "compiled", 1: "tflm"}      # INFO backend


def held_sha256(c: Contract, backend: int, model_held: bytes) -> bytes:
    """What a device holding the manifest's constants and a model whose held bytes hash to
    `model_held` reports as INFO held_sha256 (docs/protocol.md; firmware/core/app.cc
    held_params_sha256): SHA-256 of int32 little-endian n_signals, window length, stride,
    missing value, shift, per signal centre, multiplier, valid_min, valid_max, carry_limit,
    alarm on_q, off_q, min_duration; personalization (0 off, else 1, calib_samples, blocks,
    block_min_valid, min_blocks, per signal limit low, then high); safety floor (0 off, else
    1, rules, sustain, slow sustain, frozen, per rule signal, high, bound, step, per signal
    quality, frozen, stale; bedside.contract.safety.timing); then the backend and the 32
    bytes of `model_held`."""
    import hashlib
    import struct
    from bedside.contract.safety import NO_AGREE, rules, timing
    k = c.constants
    values = [c.n_signals, c.window_length, c.stride, k.missing, k.shift]
    for a in (k.center, k.multiplier, k.valid_min, k.valid_max, k.carry_limit):
        values += [int(x) for x in a]
    values += [c.on_q, c.off_q, c.min_duration]
    pz = c.personalization
    values += [0] if pz is None else [1, pz["calib_samples"], pz["blocks"],
                                      pz["block_min_valid"], pz["min_blocks"],
                                      *(pz["limits"][n][0] for n in k.names),
                                      *(pz["limits"][n][1] for n in k.names)]
    sf = c.safety
    if sf is None:
        values += [0]
    else:
        r, t = rules(sf, k), timing(sf, k, int(c.sample_period_s))
        values += [1, len(r), t["sustain"], t["slow_sustain"], t["frozen"]]
        values += [x for (i, high, bound), step in zip(r, t["step"])
                   for x in (i, int(high), bound, step)]
        values += [x for q, f, s in zip(t["quality"], t["frozen_signal"], t["stale"])
                   for x in (q, f, s)]
        if any(a != NO_AGREE for a in t["agree"]):   # agreement rules only when any
            values += [x for a, b in zip(t["agree"], t["agree_bound"]) for x in (a, b)]
        values += [t["lookback"], t["after_gap"]]
        if any(a != NO_AGREE for a in t["jump"]):     # jump rules only when any
            values += [x for a, b in zip(t["jump"], t["jump_bound"]) for x in (a, b)]
        if any(t["clear"]):                              # deadbands only when any
            values += t["clear"]
    values += [backend]
    return hashlib.sha256(struct.pack(f"<{len(values)}i", *values) + model_held).digest()


def model_held_sha256(c: Contract, backend: int) -> dict[str, bytes]:
    """The SHA-256 a device's backend computes over the model it holds, per kind of build:
    tflm the flatbuffer (= model.sha256); compiled what the generated model_engine_held()
    visits, which the generator recorded in RUN_DIR/int8/gen/model_engine.h for portable,
    DSP and RISC-V builds. Empty when the run has no engine generated from its model.tflite."""
    import re
    if backend == 1:
        return {"tflm": bytes.fromhex(c.model_sha256)}
    header = Int8Paths(c.model_path.parent).gen_dir / "model_engine.h"
    text = header.read_text(errors="replace") if header.is_file() else ""
    m = re.search(r"Input model SHA-256: ([0-9a-f]{64})", text)
    if backend != 0 or m is None or m.group(1) != c.model_sha256:
        return {}
    found = dict(re.findall(r'#define MODEL_ENGINE_HELD_SHA256(_DSP|_RISCV)? "([0-9a-f]{64})"', text))
    kinds = {"": "compiled", "_DSP": "compiled, DSP kernels", "_RISCV": "compiled, RISC-V kernels"}
    return {kinds[k]: bytes.fromhex(v) for k, v in found.items()}


def expected_held(c: Contract, backend: int) -> dict[str, bytes]:
    """INFO held_sha256 of a device running the run's model on `backend`, per kind of build."""
    return {kind: held_sha256(c, backend, digest)
            for kind, digest in model_held_sha256(c, backend).items()}


# INFO fields a build records (host_tools.builder.firmware.IDENTITY_FILE) and the device must report
BUILD_FIELDS = ("build_id", "board", "core_clock_hz", "backend", "gen_format", "model_format")


def _identity_refusal(field_name: str, got, want, source: str) -> Refusal:
    return Refusal(EXIT_PREPROC_HASH, f"device identity mismatch: INFO {field_name} = {got!r}, "
                   f"{source} says {want!r}: flash the firmware `bedside build` made for "
                   "this run")


def check_build(info: p.Info, build: dict, source: str) -> None:
    """Refuse (exit 5, naming the field) a device whose INFO differs from the build record."""
    got = dict(info.as_dict(), backend=info.backend_name)
    for name in BUILD_FIELDS:
        if got.get(name) != build.get(name):
            raise _identity_refusal(name, got.get(name), build.get(name), source)


def check_info(info: p.Info, c: Contract, build: dict | None = None,
               build_source: str = "the build") -> None:
    """Refuse a device whose INFO disagrees with the run's contract record, field by field
    (`DeviceContract.info_fields`, most fundamental first), then with the build that made
    its firmware when that is known (host_tools.builder.firmware.read_identity)."""
    want = c.record.info_fields()
    if info.protocol_version != want["protocol_version"] or info.protocol_version != p.VERSION:
        raise Refusal(EXIT_PROTOCOL, f"protocol version mismatch: device speaks "
                      f"{info.protocol_version}, the run's manifest says "
                      f"{want['protocol_version']} and this host speaks {p.VERSION}: update "
                      "the firmware or the host tools")
    if info.model_sha256 != want["model_sha256"]:
        raise Refusal(EXIT_MODEL_HASH, f"model mismatch: device runs model SHA-256 "
                      f"{info.model_sha256.hex()[:16]}..., the run's int8/model.tflite is "
                      f"{c.model_sha256[:16]}...: rebuild/flash the firmware for this run "
                      "(`bedside build RUN_DIR`)")
    if info.preproc_sha256 != want["preproc_sha256"]:
        raise Refusal(EXIT_PREPROC_HASH, f"preprocessing/alarm constants mismatch: device "
                      f"{info.preproc_sha256.hex()[:16]}..., manifest {c.preproc_sha256[:16]}...")
    if info.gen_format != want["gen_format"]:
        raise _identity_refusal("gen_format", info.gen_format, want["gen_format"], "the manifest")
    if info.backend not in BACKENDS:
        raise _identity_refusal("backend", info.backend, "0 (compiled) or 1 (tflm)",
                                "this host")
    expected = expected_held(c, info.backend)
    if info.held_sha256 not in expected.values():
        want = ", ".join(f"{h.hex()[:16]}... ({kind})" for kind, h in expected.items()) or \
            "nothing: RUN_DIR/int8/gen/model_engine.h is missing or from another model " \
            "(re-run `bedside convert`)"
        raise Refusal(EXIT_PREPROC_HASH, f"device identity mismatch: INFO held_sha256 = "
                      f"{info.held_sha256.hex()[:16]}..., the SHA-256 the device computed over "
                      f"the model weights and parameters, preprocessing, alarm, "
                      f"personalization and safety-floor constants it holds; this run's "
                      f"{info.backend_name} backend gives {want}: its label says this run, "
                      "its memory does not; rebuild and flash (`bedside build RUN_DIR`)")
    for name in ("n_signals", "window_length", "stride", "input_bytes", "output_bytes",
                 "input_zero_point", "output_zero_point"):
        got = getattr(info, name)
        if got != want[name]:
            raise Refusal(EXIT_SHAPE, f"shape/quantization mismatch: device {name} = {got}, "
                          f"manifest {want[name]}")
    for name in ("input_scale", "output_scale"):       # f32 on the wire
        got = getattr(info, name)
        if abs(got - want[name]) > 1e-6 * max(abs(want[name]), 1e-12):
            raise Refusal(EXIT_SHAPE, f"quantization mismatch: device {name} = {got}, "
                          f"manifest {want[name]}")
    if build is not None:
        check_build(info, build, build_source)


@dataclass
class Mismatch:
    patient: str
    window_index: int
    sample_index: int
    what: str
    device: dict
    reference: dict
    context: list = field(default_factory=list)


@dataclass
class PatientTrace:
    """What is plotted: reference vs device risk and alarms for one patient."""
    patient: str
    ends: list
    ref_q: list
    dev_q: list
    ref_alarm: list
    dev_alarm: list


class Verifier:
    def __init__(self, device: Device, contract: Contract, reference: Reference | None = None,
                 speed: float | None = None, on_samples: Callable[[int], None] | None = None,
                 build: dict | None = None, build_source: str = "the build"):
        self.dev = device
        self.c = contract
        self.build = build                      # build.firmware.read_identity, if known
        self.build_source = build_source
        from bedside.reference.stored import reference_for
        self.ref = reference or reference_for(contract)
        self.speed = speed                      # None: as fast as the link allows
        self.on_samples = on_samples or (lambda n: None)
        self.windows_expected = 0
        self.windows_received = 0
        self.verified = 0
        self.mismatched = 0
        self.samples_sent = 0
        self.patients = 0
        self.inferences = 0
        self.cycles: list[int] = []
        self.mismatches: list[Mismatch] = []
        self.traces: list[PatientTrace] = []
        self.by_patient: dict[str, dict] = {}   # windows/verified/mismatched: a JUnit case each
        self.device_logs: dict[str, list[str]] = {}   # frames exchanged, per patient (JUnit)
        self.link_time = 0.0
        self.link_bytes = [0, 0]                # wire, payload bytes within link_time
        self.ref_windows: list[np.ndarray] = []   # for the float comparison
        self.ref_outputs: list[np.ndarray] = []
        self.keep_windows = 20000
        self.frame_samples: int | None = None   # SAMPLES per frame, adapted to the link
        self.max_restarts = 3                   # patient restarts after a stuck frame
        self.restarts = 0
        self._clean_frames = 0
        self.calibrations_checked = 0           # CALIB replies compared (personalization)
        self.floor_samples = 0                  # per-sample safety-floor records compared
        self.floor_mismatched = 0               # samples whose floor record differed

    # -- handshake
    def handshake(self) -> p.Info:
        retries = self.dev.counters.retries
        try:
            info = self.dev.hello()
        except Exception as e:
            from bedside.host_tools.link.client import NakError
            if isinstance(e, NakError) and e.code == p.NakCode.BAD_VERSION:
                raise Refusal(EXIT_PROTOCOL, f"protocol version mismatch: the device refused "
                              f"frame version {self.dev.version} (it speaks {e.detail}?)") from e
            if isinstance(e, p.OlderInfoError):
                raise Refusal(EXIT_PROTOCOL, str(e)) from None
            raise
        check_info(info, self.c, self.build, self.build_source)
        if self.dev.counters.retries > retries and self.frame_samples is None:
            self.frame_samples = 2      # a noisy link: start small (see _adapt)
        return info

    # -- stream mode
    def _record(self, pid: str, ref: PatientReference, results: list[p.Result]) -> None:
        n_ref = len(ref.ends)
        verified_before = self.verified
        self.windows_expected += n_ref
        self.windows_received += len(results)
        self.patients += 1
        dev_q = np.full(n_ref, np.nan)
        dev_alarm = np.full(n_ref, np.nan)
        seen = set()
        for r in results:
            k = r.window_index
            self.cycles.append(r.cycles)
            problems = []
            if k >= n_ref or k in seen:
                problems.append("unexpected window" if k >= n_ref else "duplicate window")
                ref_d = {}
            else:
                seen.add(k)
                out = r.output_q
                dev_q[k], dev_alarm[k] = out[0], r.alarm
                if r.sample_index != ref.ends[k]:
                    problems.append("sample_index")
                if not np.array_equal(out, ref.output[k]):
                    problems.append("output")
                if r.alarm != ref.alarm[k]:
                    problems.append("alarm")
                if ref.calibrated is not None and bool(r.flags & 1) != bool(ref.calibrated[k]):
                    problems.append("calibrated")
                if ref.safety is not None and r.flags & SAFETY_BITS != ref.safety[k]:
                    problems.append("safety")
                ref_d = {"sample_index": int(ref.ends[k]), "output": ref.output[k].tolist(),
                         "alarm": int(ref.alarm[k])}
            if problems:
                self._mismatch(pid, k, r.sample_index, "+".join(problems),
                               {"sample_index": r.sample_index, "output": r.output_q.tolist(),
                                "alarm": r.alarm, "flags": r.flags, "cycles": r.cycles},
                               ref_d, ref, k)
            else:
                self.verified += 1
        for k in sorted(set(range(n_ref)) - seen):
            self._mismatch(pid, k, int(ref.ends[k]), "missing", {},
                           {"output": ref.output[k].tolist(), "alarm": int(ref.alarm[k])}, ref, k)
        counts = self._patient(pid)
        counts["windows"] += n_ref
        counts["verified"] += self.verified - verified_before
        if len(self.traces) < 8:
            self.traces.append(PatientTrace(pid, ref.ends.tolist(), ref.output[:, 0].tolist(),
                                            [None if np.isnan(x) else int(x) for x in dev_q],
                                            ref.alarm.tolist(),
                                            [None if np.isnan(x) else int(x) for x in dev_alarm]))
        if sum(len(w) for w in self.ref_windows) < self.keep_windows:
            self.ref_windows.append(ref.windows)
            self.ref_outputs.append(ref.output)

    def _patient(self, pid: str) -> dict:
        return self.by_patient.setdefault(pid, {"windows": 0, "verified": 0, "mismatched": 0})

    def _mismatch(self, pid, k, sample_index, what, dev, refd, ref, k_ctx) -> None:
        self.mismatched += 1
        self._patient(pid)["mismatched"] += 1
        if len(self.mismatches) < MAX_REPORTED_MISMATCHES:
            lo = max(0, min(k_ctx, len(ref.ends)) - 3)
            ctx = [{"window_index": j, "ref_output": ref.output[j].tolist(),
                    "ref_alarm": int(ref.alarm[j])} for j in range(lo, min(k_ctx, len(ref.ends)))]
            self.mismatches.append(Mismatch(pid, int(k), int(sample_index), what, dev, refd, ctx))

    @contextmanager
    def _patient_log(self, pid: str):
        """The patient's wall time and the frames exchanged for it (first and last lines)."""
        lines: list[str] = []
        listen = lambda d, t: lines.append(f"{d} {t}")      # noqa: E731
        self.dev.listeners.append(listen)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.dev.listeners.remove(listen)
            n = DEVICE_LOG_LINES
            if len(lines) > 2 * n:
                lines[n:-n] = [f"... {len(lines) - 2 * n} more frames ..."]
            self.device_logs[pid] = lines
            if pid in self.by_patient:
                self.by_patient[pid]["time_s"] = round(time.perf_counter() - start, 3)

    def stream_patient(self, pid: str, raw: np.ndarray) -> None:
        """RESET, then the patient's samples in SAMPLES frames; compare every RESULT."""
        with self._patient_log(pid):
            self._stream_patient(pid, raw)

    def _stream_patient(self, pid: str, raw: np.ndarray) -> None:
        from bedside.host_tools.link.client import DeviceSilent, LinkError, NakError
        raw = np.asarray(raw, dtype=np.int16)
        ref = self.ref.patient(raw)
        t0 = self._start_timing()
        for restart in range(self.max_restarts + 1):
            try:
                results, floor = self._stream(pid, raw)
                break
            except LinkError as e:
                # A frame that cannot get through (too long for this link's error rate):
                # the device's state is a function of the samples since RESET, so the
                # patient starts again with the smallest frames; no window is lost.
                if isinstance(e, (DeviceSilent, NakError)) or restart == self.max_restarts:
                    raise
                self.restarts += 1
                self.frame_samples = 1
        self._stop_timing(t0)
        self.samples_sent += len(raw)
        self._record(pid, ref, results)
        self._check_floor(pid, ref, floor)
        if self.c.personalization is not None:
            self._check_calibration(pid, raw, ref)

    def _check_calibration(self, pid: str, raw: np.ndarray, ref: PatientReference) -> None:
        """The baseline and centres the device settled on (CALIB) equal the reference's."""
        from bedside.contract.personalize import centers_stream
        pz, k = self.c.personalization, self.c.constants
        centers, calibrated, base = centers_stream(raw, pz, k)
        n = self.c.n_signals
        expected = {"calibrated": bool(len(raw) and calibrated[-1]),
                    "samples": min(len(raw), pz["calib_samples"]),
                    "calib_samples": pz["calib_samples"],
                    "baseline": base.tolist() if base is not None else [k.missing] * n,
                    "center": (centers[-1] if len(raw) else k.center).tolist()}
        got = self.dev.calibration(n)
        self.calibrations_checked += 1
        if got != expected:
            self._mismatch(pid, -1, len(raw) - 1, "calibration", got, expected, ref, 0)

    def _check_floor(self, pid: str, ref: PatientReference, floor: np.ndarray) -> None:
        """The device's per-sample safety-floor records (SAMPLES_ACK) equal the reference's
        on every sample; the first differing sample of a patient is reported (kind floor)."""
        if ref.floor is None or self.c.safety is None:
            return
        self.floor_samples += len(floor)
        if floor.shape != ref.floor.shape:
            self.floor_mismatched += 1
            self._mismatch(pid, -1, len(floor) - 1, "floor", {"floor_records": len(floor)},
                           {"floor_records": len(ref.floor)}, ref, 0)
            return
        bad = np.flatnonzero((floor != ref.floor).any(axis=1))
        self.floor_mismatched += len(bad)
        if len(bad):
            t = int(bad[0])
            self._mismatch(pid, -1, t, "floor", {"flags": int(floor[t, 0]),
                                                "cause": int(floor[t, 1])},
                           {"flags": int(ref.floor[t, 0]), "cause": int(ref.floor[t, 1])},
                           ref, 0)

    def _stream(self, pid: str, raw: np.ndarray) -> tuple[list[p.Result], np.ndarray]:
        cap = p.max_samples_per_frame(self.c.n_signals)
        per_frame = self.frame_samples or cap
        results: list[p.Result] = []
        floor: list[np.ndarray] = []
        t0 = time.perf_counter()
        self.dev.reset()
        sent = 0
        period = None if not self.speed else self.c.sample_period_s / self.speed
        while sent < len(raw):
            n = per_frame
            if period is not None:
                due = int((time.perf_counter() - t0) / period) + 1
                if due <= sent:
                    time.sleep(min(period, (sent - due + 1) * period))
                    continue
                n = min(per_frame, due - sent)
            batch = raw[sent:sent + n]
            retries = self.dev.counters.retries
            total, res = self.dev.send_samples(batch)
            per_frame = self._adapt(per_frame, cap, self.dev.counters.retries > retries)
            sent += len(batch)
            if total != sent:
                raise p.ProtocolError(f"device counted {total} samples since reset, host sent "
                                      f"{sent} (patient {pid})")
            results += res
            floor.append(self.dev.last_floor)
            self.on_samples(len(batch))
        return results, (np.concatenate(floor) if floor else np.zeros((0, 2), np.uint8))

    def _adapt(self, per_frame: int, cap: int, retried: bool) -> int:
        """Halve the frame after a retry, double it after 8 clean ones: on a noisy link
        (1 % bad bytes) a 1 KB frame almost never arrives intact, a 50-byte one mostly does.
        Only the next request changes: a retry always re-sends the same frame."""
        if retried:
            self._clean_frames = 0
            per_frame = max(1, per_frame // 2)
        else:
            self._clean_frames += 1
            if self._clean_frames >= 8:
                self._clean_frames = 0
                per_frame = min(cap, per_frame * 2)
        self.frame_samples = per_frame
        return per_frame

    # -- window mode
    def infer_windows(self, pid: str, raw: np.ndarray, warmup: int = 0,
                      limit: int | None = None) -> None:
        """Send the reference's int8 windows directly (INFER); compare outputs only.
        `limit`: only the patient's first windows."""
        with self._patient_log(pid):
            self._infer_windows(pid, raw, warmup, limit)

    def _infer_windows(self, pid: str, raw: np.ndarray, warmup: int, limit: int | None) -> None:
        ref = self.ref.patient(np.asarray(raw, dtype=np.int16))
        if limit is not None:
            ref = PatientReference(ref.ends[:limit], ref.windows[:limit], ref.output[:limit],
                                   ref.alarm[:limit], None if ref.calibrated is None
                                   else ref.calibrated[:limit], None if ref.safety is None
                                   else ref.safety[:limit])
        t0 = self._start_timing()
        for _ in range(warmup if len(ref.windows) else 0):
            self.dev.infer(ref.windows[0])
        results = []
        for k, w in enumerate(ref.windows):
            cycles, out = self.dev.infer(w)
            # window mode has no alarm, calibration or safety state on the device: carry
            # the reference's
            flags = (0 if ref.calibrated is None else int(ref.calibrated[k])) | \
                (0 if ref.safety is None else int(ref.safety[k]))
            results.append(p.Result(k, int(ref.ends[k]), cycles, int(ref.alarm[k]), flags,
                                    out.tobytes()))
            self.on_samples(1)
        self._stop_timing(t0)
        self.inferences += len(ref.windows) + (warmup if len(ref.windows) else 0)
        self._record(pid, ref, results)

    # -- timing: throughput counts the time and the bytes of the streamed patients only
    # (not the handshake or CALIB), so utilisation compares like with like
    def _bytes(self) -> tuple[int, int]:
        c = self.dev.counters
        return c.bytes_tx + c.bytes_rx, c.payload_tx + c.payload_rx

    def _start_timing(self) -> tuple[float, tuple[int, int]]:
        return time.perf_counter(), self._bytes()

    def _stop_timing(self, start: tuple[float, tuple[int, int]]) -> None:
        t0, (wire0, payload0) = start
        wire, payload = self._bytes()
        self.link_time += time.perf_counter() - t0
        self.link_bytes[0] += wire - wire0
        self.link_bytes[1] += payload - payload0

    # -- results
    def summary(self) -> dict:
        counters = self.dev.counters.as_dict()
        cyc = np.array(self.cycles, dtype=np.float64)
        clock = self.dev.info.core_clock_hz if self.dev.info else 0
        wire, payload = self.link_bytes
        capacity = self.dev.baudrate / 10.0          # 8N1: 10 bits per byte
        lt = max(self.link_time, 1e-9)
        cycles = {}
        if len(cyc):
            cycles = {"min": int(cyc.min()), "median": float(np.median(cyc)),
                      "max": int(cyc.max()), "n": int(len(cyc))}
            if clock:
                cycles["median_us"] = float(np.median(cyc) / clock * 1e6)
        return {
            "counts": {"patients": self.patients, "samples_sent": self.samples_sent,
                       "windows_sent": self.windows_expected,
                       "windows_received": self.windows_received,
                       "verified": self.verified, "mismatched": self.mismatched,
                       "retried": counters["retries"], "inferences": self.inferences,
                       "patient_restarts": self.restarts},
            "passed": self.mismatched == 0 and self.windows_expected > 0,
            "cycles": cycles,
            "throughput": {
                "link_time_s": round(self.link_time, 4),
                "windows_per_s": self.windows_expected / lt,
                "samples_per_s": self.samples_sent / lt,
                "wire_bytes_per_s": wire / lt, "payload_bytes_per_s": payload / lt,
                "baudrate": self.dev.baudrate, "capacity_bytes_per_s": capacity,
                "link_utilisation": wire / lt / capacity,
                "payload_utilisation": payload / lt / capacity,
            },
            "link": counters,
            "first_mismatches": [m.__dict__ for m in self.mismatches],
            "per_patient": [{"patient": k, **v} for k, v in self.by_patient.items()],
            "personalization": {"enabled": self.c.personalization is not None,
                                "calibrations_checked": self.calibrations_checked},
            "safety_floor": {"enabled": self.c.safety is not None,
                             "samples_compared": self.floor_samples,
                             "samples_mismatched": self.floor_mismatched},
        }

    def float_comparison(self, float_model) -> dict:
        from bedside.reference.pipeline import float_metrics, to_float_input
        if not self.ref_windows:
            return {"n": 0}
        wins = np.concatenate(self.ref_windows)
        q = np.concatenate(self.ref_outputs)
        p_float = float_model.predict(to_float_input(wins))
        m = float_metrics(p_float, self.c.dequantize(q))
        m["model"] = f"{float_model.kind}: {float_model.path}"
        return m


def verify_device(device: Device, run_dir, simulate: int | None = 2, seed: int = 2026,
                  data: str | None = None, windows_mode: bool = False, warmup: int = 3,
                  speed: float | None = None, max_patients: int | None = None) -> dict:
    """The whole check on an open Device (used by the pytest plugin and the benches):
    handshake (raises Refusal), stream or infer every patient, return the summary dict
    (`summary["passed"]`, `summary["counts"]`, ...). `simulate=None` and no `data`: the
    run's test patients (stored reference outputs when the TFLM wheel is missing)."""
    from pathlib import Path

    from bedside.sources import streams as sources
    contract = Contract.from_run(run_dir)
    streams, desc = sources.select(Path(run_dir), data, simulate, seed, max_patients)
    verifier = Verifier(device, contract, speed=speed)
    verifier.handshake()
    for pid, raw in streams:
        if windows_mode:
            verifier.infer_windows(pid, raw, warmup)
        else:
            verifier.stream_patient(pid, raw)
    summary = verifier.summary()
    summary["source"] = desc
    return summary
