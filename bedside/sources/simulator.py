"""Seeded simulator of ICU bedside-monitor trends, one sample per minute (numpy only).

`simulate_patient(seed, pid, cfg)` builds one patient; `simulate_cohort(n, seed, cfg)`
yields patients in chunks. Each patient draws from its own generator seeded by
(seed, pid), so a cohort is the same however it is chunked and patient k of a big
cohort equals patient k of a small one. Every parameter and its source is documented in
docs/simulator.md; the numbers below carry a short tag naming that source.

Raw output: int16 [T, 7] in the units of bedside.contract.signals (temperature in 0.1 degC),
MISSING for gaps. The host tools import this module (`bedside verify --simulate N`), so it
must stay free of TensorFlow.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np

from bedside.contract.signals import MISSING, N_SIGNALS

HR, SBP, DBP, MAP, SPO2, RR, TEMP = range(N_SIGNALS)

# event types
NONE, SEPSIS, HEMORRHAGE = 0, 1, 2
EVENT_NAMES = ("none", "sepsis", "hemorrhage")
# atypical baseline kinds (subgroup "atypical_baseline" = kind != 0)
TYPICAL, TACHYCARDIA, LOW_SPO2, HYPERTENSION, LOW_MAP = range(5)
ATYPICAL_NAMES = ("typical", "chronic_tachycardia", "low_spo2", "hypertension", "low_map")
# hard-patient kinds
NOT_HARD, DERANGED_STABLE, SLOW_ATYPICAL = range(3)
HARD_NAMES = ("none", "deranged_stable", "slow_atypical_deterioration")

PRIVILEGED_NAMES = ("lactate",)      # privileged channels, raw units below
LACTATE_SCALE = 0.01                 # raw lactate = mmol/L * 100 (int16)


@dataclass(frozen=True)
class SimConfig:
    """Cohort-level parameters (defaults: docs/simulator.md, table "cohort")."""
    stay_hours: tuple[float, float] = (12.0, 36.0)   # uniform length of an event-free stay
    event_rate: float = 0.35                         # fraction of patients with an event
    hemorrhage_fraction: float = 0.4                 # of events; the rest are sepsis-like
    onset_hours: tuple[float, float] = (6.0, 30.0)   # onset after admission
    post_onset_min: tuple[int, int] = (30, 180)      # monitoring kept after onset
    atypical_rate: float = 0.2                       # chronic atypical baseline
    deranged_stable_rate: float = 0.08               # hard: deranged but never deteriorates
    slow_atypical_rate: float = 0.25                 # hard: of events, slow and subtle
    art_line_rate: float = 0.8                       # invasive BP; else cuff every 15 min
    continuous_temp_rate: float = 0.2                # temperature probe; else charted
    missing_scale: float = 1.0                       # multiplies every missingness rate
    artifact_scale: float = 1.0                      # multiplies every artifact rate

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SimConfig":
        d = dict(d)
        for k in ("stay_hours", "onset_hours", "post_onset_min"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


@dataclass
class Patient:
    """One simulated (or loaded) patient."""
    pid: str
    raw: np.ndarray                  # int16 [T, 7]
    privileged: np.ndarray           # int16 [T, 1] lactate*100, MISSING if not measured
    onset: int = -1                  # minute index of event onset, -1 = none
    event_type: int = NONE
    rapid_map_drop: bool = False
    atypical: int = TYPICAL          # atypical baseline kind
    hard: int = NOT_HARD
    info: dict = field(default_factory=dict)


# --- baselines (source: PhysioNet/CinC 2019 and MIMIC adult ICU summary statistics) ------

def _baseline(rng: np.random.Generator, cfg: SimConfig) -> tuple[np.ndarray, int]:
    """Per-patient resting values [hr, sbp, dbp, spo2, rr, temp_c]; MAP is derived."""
    hr = rng.normal(82, 11)
    sbp = rng.normal(122, 14)
    dbp = rng.normal(63, 8)
    spo2 = 98.0 - abs(rng.normal(0, 1.2))
    rr = rng.normal(17, 2.5)
    temp = rng.normal(36.9, 0.3)
    kind = TYPICAL
    if rng.random() < cfg.atypical_rate:
        kind = int(rng.integers(1, 5))
        if kind == TACHYCARDIA:        # chronic AF / beta-agonists: 100-120 bpm at rest
            hr = rng.normal(110, 6)
        elif kind == LOW_SPO2:         # COPD: target saturation 88-92 % (BTS guideline)
            spo2 = rng.normal(90, 1.2)
        elif kind == HYPERTENSION:     # chronic hypertension: SBP 150-175
            sbp, dbp = rng.normal(162, 8), rng.normal(90, 6)
        elif kind == LOW_MAP:          # heart failure / cirrhosis: MAP 62-70 at baseline
            sbp, dbp = rng.normal(98, 5), rng.normal(50, 4)
    base = np.array([np.clip(hr, 45, 135), np.clip(sbp, 85, 190), np.clip(dbp, 38, 110),
                     np.clip(spo2, 86, 100), np.clip(rr, 10, 28), np.clip(temp, 36.0, 37.8)])
    return base, kind


def _ar1(rng: np.random.Generator, t_len: int, tau_min: float, sd: float) -> np.ndarray:
    """Stationary AR(1) with time constant tau (min) and marginal sd (slow physiology)."""
    a = np.exp(-1.0 / tau_min)
    e = rng.normal(0, sd * np.sqrt(1 - a * a), t_len)
    e[0] = rng.normal(0, sd)
    y = np.empty(t_len)
    y[0] = e[0]
    for t in range(1, t_len):          # plain recursion: exact and fast enough (~1 us/step)
        y[t] = a * y[t - 1] + e[t]
    return y


def _ramp(t: np.ndarray, start: float, end: float, shape: float) -> np.ndarray:
    """0 before start, rises to 1 at end (power `shape`: >1 accelerating), grows 30 % more
    over the next hour after end (the event continues)."""
    x = (t - start) / max(end - start, 1.0)
    pre = np.clip(x, 0, 1) ** shape
    post = 1.0 + 0.3 * np.clip((t - end) / 60.0, 0, 1)
    return np.where(t <= end, pre, post)


# --- deterioration events ---------------------------------------------------------------

def _event_effects(rng, t, onset, event_type, hard, fever_sign):
    """Physiological deviation [T, 6] (hr, sbp, dbp, spo2, rr, temp) and lactate add."""
    eff = np.zeros((len(t), 6))
    slow = hard == SLOW_ATYPICAL
    if event_type == SEPSIS:
        lead = rng.uniform(360, 600) if slow else rng.uniform(90, 240)   # prodrome, min
        amp = 0.6 if slow else 1.0
        r = _ramp(t, onset - lead, onset, rng.uniform(1.0, 2.0)) * amp
        d_hr, d_rr = rng.normal(24, 6), rng.normal(7, 2)
        d_map = -abs(rng.normal(14, 4))
        d_temp = fever_sign * abs(rng.normal(1.3, 0.4))
        eff[:, 0] = d_hr * r
        eff[:, 1] = 1.3 * d_map * r
        eff[:, 2] = 0.85 * d_map * r
        eff[:, 3] = -abs(rng.normal(2.5, 1.0)) * r
        eff[:, 4] = d_rr * r
        eff[:, 5] = d_temp * r
        # lactate starts rising earlier than the vitals (occult hypoperfusion)
        lac = _ramp(t, onset - 1.4 * lead, onset, 1.2) * rng.uniform(1.5, 4.0) * amp
    else:  # HEMORRHAGE: compensated then decompensating hypovolaemia
        lead = rng.uniform(240, 480) if slow else rng.uniform(30, 150)
        amp = 0.7 if slow else 1.0
        r = _ramp(t, onset - lead, onset, rng.uniform(1.5, 3.0)) * amp
        d_map = -abs(rng.normal(24, 6))
        eff[:, 0] = abs(rng.normal(22, 7)) * r            # compensatory tachycardia
        eff[:, 1] = 1.4 * d_map * r                        # pulse pressure narrows
        eff[:, 2] = 0.8 * d_map * r
        eff[:, 3] = -abs(rng.normal(1.0, 0.5)) * r
        eff[:, 4] = abs(rng.normal(4, 1.5)) * r
        lac = _ramp(t, onset - 1.2 * lead, onset, 1.5) * rng.uniform(1.5, 4.5) * amp
    return eff, lac, lead


# --- measurement: missingness and artifacts ---------------------------------------------

def _gaps(rng: np.random.Generator, t_len: int, frac: float, mean_len: float) -> np.ndarray:
    """Boolean mask of disconnection gaps: alternating renewal process with stationary
    missing fraction `frac` and exponential gap lengths of mean `mean_len` minutes."""
    mask = np.zeros(t_len, dtype=bool)
    if frac <= 0:
        return mask
    mean_up = mean_len * (1 - frac) / frac
    t = int(rng.exponential(mean_up))
    while t < t_len:
        g = max(1, int(round(rng.exponential(mean_len))))
        mask[t:t + g] = True
        t += g + max(1, int(round(rng.exponential(mean_up))))
    return mask


def _events_at(rng: np.random.Generator, t_len: int, per_hour: float) -> np.ndarray:
    n = rng.poisson(per_hour * t_len / 60.0)
    return np.sort(rng.integers(0, t_len, n))


BAG_MMHG = 300.0             # flush-bag pressure of an arterial line (AACN)
MMHG_PER_CM = 0.74           # hydrostatic error per cm of transducer height (1 cmH2O)


def _artifacts(arng, x: np.ndarray, a: float, art_line: bool) -> dict:
    """Monitor artifacts in place on measured values [T, 7] (physical units), drawn from
    their own generator `arng` so that `artifact_scale = 0` gives the same patient, noise
    and gaps without them. Sources: docs/simulator.md, "Artifacts"."""
    t_len = len(x)
    bp = slice(SBP, MAP + 1)
    counts = {}
    # motion: pleth and ECG artifact together; SpO2 reads falsely low and HR jumps
    ev = _events_at(arng, t_len, 0.3 * a)
    for s in ev:
        n = int(arng.integers(1, 6))
        x[s:s + n, SPO2] -= arng.uniform(3, 15, min(n, t_len - s))
        x[s:s + n, HR] += arng.uniform(-20, 50, min(n, t_len - s))
        x[s:s + n, RR] += arng.uniform(3, 15)
    counts["motion"] = len(ev)
    # SpO2 probe artifact (probe slipping, ambient light): 70-88 % for 1-6 min
    ev = _events_at(arng, t_len, 0.2 * a)
    for s in ev:
        x[s:s + int(arng.integers(1, 7)), SPO2] = arng.uniform(70, 88)
    counts["spo2_probe"] = len(ev)
    if not art_line:
        return counts
    # fast flush / blood sampling: the trace rises toward the bag pressure for 1-3 min;
    # a one-minute trend sample catches part of it, so many samples stay under 300 mmHg
    ev = _events_at(arng, t_len, 0.06 * a)
    for s in ev:
        n = int(arng.integers(1, 4))
        frac = np.sort(arng.uniform(0.3, 1.0, min(n, t_len - s)))[::-1]
        x[s:s + n, bp] += (BAG_MMHG - x[s:s + n, bp]) * frac[:, None]
    counts["flushes"] = len(ev)
    # zeroing (transducer open to air: 0 mmHg for 1-2 min), then a levelling error of
    # +-5-15 cm with probability 0.5 until the next zeroing: a step on every BP channel
    ev = _events_at(arng, t_len, 0.1 * a)
    for k, s in enumerate(ev):
        x[s:s + int(arng.integers(1, 3)), bp] = 0.0
        if arng.random() < 0.5:
            stop = ev[k + 1] if k + 1 < len(ev) else t_len
            x[s + 2:stop, bp] += arng.choice([-1, 1]) * arng.uniform(5, 15) * MMHG_PER_CM
    counts["zeroings"] = len(ev)
    # overdamping (air bubble, clot, kink): pulse pressure narrows around the MAP for
    # 10-60 min (SBP under-, DBP over-read; the MAP is nearly right)
    ev = _events_at(arng, t_len, 0.08 * a)
    for s in ev:
        n, k = int(arng.integers(10, 61)), arng.uniform(0.3, 0.7)
        m = x[s:s + n, MAP:MAP + 1]
        x[s:s + n, SBP:DBP + 1] = m + (x[s:s + n, SBP:DBP + 1] - m) * k
    counts["damping"] = len(ev)
    return counts


def _measure(rng, arng, phys: np.ndarray, cfg: SimConfig, art_line: bool, cont_temp: bool):
    """Noise, artifacts and missingness on physiological values [T, 7] (physical units).
    Returns float [T, 7] with NaN for missing and a dict of artifact counts."""
    t_len = len(phys)
    x = phys.copy()
    noise_sd = np.array([1.5, 3.0, 2.0, 2.0, 0.6, 1.2, 0.05])   # device resolution/jitter
    x += rng.normal(0, 1, x.shape) * noise_sd
    counts = _artifacts(arng, x, cfg.artifact_scale, art_line)

    m = cfg.missing_scale
    miss = np.zeros(x.shape, dtype=bool)
    # whole-monitor disconnections (transport, repositioning): all channels
    all_gap = _gaps(rng, t_len, 0.04 * m, 20)
    miss[:, HR] = all_gap | _gaps(rng, t_len, 0.05 * m, 6)
    # SpO2 signal failure depends on the patient's state: poor perfusion (SBP < 90) or
    # hypothermia (< 36 degC) make it several times likelier (Reich et al. 1996)
    poor = (phys[:, SBP] < 90) | (phys[:, TEMP] < 36.0)
    perfusion = np.zeros(t_len, dtype=bool)
    for s in _events_at(rng, t_len, 1.0 * m):
        if poor[s]:
            perfusion[s:s + int(rng.integers(2, 11))] = True
    miss[:, SPO2] = all_gap | _gaps(rng, t_len, 0.08 * m, 8) | perfusion
    miss[:, RR] = all_gap | _gaps(rng, t_len, 0.08 * m, 8)
    if art_line:
        bp = all_gap | _gaps(rng, t_len, 0.06 * m, 10)
        miss[:, SBP] = miss[:, MAP] = bp
        miss[:, DBP] = bp | _gaps(rng, t_len, 0.02 * m, 5)
    else:  # oscillometric cuff every 15 min, every 5 min after a reading with MAP < 65
        cuff = np.ones(t_len, dtype=bool)
        t = int(rng.integers(0, 15))
        while t < t_len:
            if rng.random() > 0.1 * m:             # an occasional cycle fails
                cuff[t] = False
            t += 5 if (not cuff[t] and x[t, MAP] < 65) else 15
        miss[:, SBP] = miss[:, DBP] = miss[:, MAP] = cuff | all_gap
    if cont_temp:
        miss[:, TEMP] = all_gap | _gaps(rng, t_len, 0.1 * m, 30)
    else:  # charted every 1-5 h: about 2/3 of hours without a value (PhysioNet 2019)
        tm = np.ones(t_len, dtype=bool)
        t = int(rng.integers(0, 60))
        while t < t_len:
            tm[t] = False
            t += int(rng.integers(60, 300))
        miss[:, TEMP] = tm
    x[miss] = np.nan
    return x, counts


def _to_raw(x: np.ndarray) -> np.ndarray:
    """Physical units -> raw int16 (temperature in 0.1 degC); NaN -> MISSING."""
    y = x.copy()
    y[:, TEMP] *= 10.0
    raw = np.where(np.isnan(y), MISSING, np.clip(np.rint(np.nan_to_num(y)), -32767, 32767))
    return raw.astype(np.int16)


def _suspicion(x: np.ndarray, t: int) -> bool:
    """What a clinician sees at minute t (measured values of the last 15 min, artifacts
    included): >= 2 SIRS vital-sign criteria (HR > 90, RR > 20, temperature > 38 or
    < 36 degC) or hypotension (MAP < 65 mmHg), the usual prompts to suspect sepsis or
    shock and draw a lactate (Surviving Sepsis Campaign 2021; Sepsis-3 / SIRS)."""
    recent = x[max(0, t - 14):t + 1]
    seen = ~np.isnan(recent)
    v = np.where(seen, recent, 0.0).sum(0) / np.maximum(seen.sum(0), 1)
    ok = seen.any(0)
    sirs = int(ok[HR] and v[HR] > 90) + int(ok[RR] and v[RR] > 20) + \
        int(ok[TEMP] and (v[TEMP] > 38.0 or v[TEMP] < 36.0))
    return sirs >= 2 or bool(ok[MAP] and v[MAP] < 65)


def _lactate_draws(rng, t_len: int, lactate: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Blood gases every 3-5 h; every 45-90 min while the *observed* vitals prompt a
    suspicion of sepsis or shock, or the last lactate was > 2 mmol/L (re-measure an
    elevated lactate: Surviving Sepsis Campaign hour-1 bundle). The schedule follows
    only what the bedside shows, never the simulator's hidden event state. Raw mmol/L*100."""
    out = np.full(t_len, MISSING, dtype=np.int16)
    t = int(rng.integers(0, 120))
    while t < t_len:
        out[t] = int(np.clip(round(lactate[t] * 100), 0, 3000))
        concern = lactate[t] > 2.0 or _suspicion(measured, t)
        t += int(rng.integers(45, 90) if concern else rng.integers(180, 300))
    return out


def simulate_patient(seed: int, index: int, cfg: SimConfig = SimConfig()) -> Patient:
    """Patient `index` of the cohort with `seed` (independent of chunking)."""
    rng = np.random.default_rng([int(seed), int(index), 0x5EED])
    base, kind = _baseline(rng, cfg)
    has_event = rng.random() < cfg.event_rate
    hard = NOT_HARD
    if has_event:
        event_type = HEMORRHAGE if rng.random() < cfg.hemorrhage_fraction else SEPSIS
        onset = int(rng.uniform(*cfg.onset_hours) * 60)
        t_len = onset + int(rng.integers(cfg.post_onset_min[0], cfg.post_onset_min[1] + 1))
        if rng.random() < cfg.slow_atypical_rate:
            hard = SLOW_ATYPICAL
    else:
        event_type, onset = NONE, -1
        t_len = int(rng.uniform(*cfg.stay_hours) * 60)
        if rng.random() < cfg.deranged_stable_rate:
            hard = DERANGED_STABLE
    t = np.arange(t_len, dtype=np.float64)

    # deranged but stable: sits in NEWS2-alarming ranges for the whole stay
    if hard == DERANGED_STABLE:
        base = base + np.array([rng.uniform(15, 30), rng.uniform(-25, -10), rng.uniform(-12, -5),
                                -rng.uniform(1, 4), rng.uniform(4, 9), rng.uniform(-0.2, 0.8)])

    # circadian rhythm: trough ~04:00, peak ~16:00 (amplitudes in docs/simulator.md)
    clock = rng.uniform(0, 24 * 60)                   # admission time of day, minutes
    phase = 2 * np.pi * ((t + clock) / 1440.0 - 16.0 / 24.0)
    circ = np.cos(phase)[:, None] * np.array([5.0, 6.0, 4.0, 0.3, 1.0, 0.25]) \
        * rng.uniform(0.5, 1.5)
    # slow physiological wandering (AR(1)), per signal sd and time constant
    wander = np.stack([_ar1(rng, t_len, tau, sd) for tau, sd in
                       [(30, 4.0), (40, 6.0), (40, 4.0), (60, 0.7), (20, 1.6), (120, 0.15)]], 1)
    lactate = np.full(t_len, np.clip(rng.normal(1.1, 0.35), 0.5, 2.0))
    if kind == LOW_MAP or hard == DERANGED_STABLE:
        lactate += rng.uniform(0.3, 1.2)              # chronically a little high
    eff = np.zeros((t_len, 6))
    lead = 0.0
    if event_type != NONE:
        fever_sign = -1.0 if rng.random() < 0.2 else 1.0    # ~20 % hypothermic sepsis
        eff, lac_add, lead = _event_effects(rng, t, onset, event_type, hard, fever_sign)
        lactate = lactate + lac_add
    v = base[None, :] + circ + wander + eff             # hr, sbp, dbp, spo2, rr, temp
    hr, sbp, dbp, spo2, rr, temp = (v[:, i] for i in range(6))
    dbp = np.minimum(dbp, sbp - 15)
    spo2 = np.minimum(spo2, 100.0)
    mapv = (sbp + 2 * dbp) / 3.0
    phys = np.stack([hr, sbp, dbp, mapv, spo2, rr, temp], 1)

    art_line = rng.random() < cfg.art_line_rate
    cont_temp = rng.random() < cfg.continuous_temp_rate
    arng = np.random.default_rng([int(seed), int(index), 0xA27F])
    x, counts = _measure(rng, arng, phys, cfg, art_line, cont_temp)
    raw = _to_raw(x)
    raw[:, SPO2] = np.where(raw[:, SPO2] != MISSING, np.minimum(raw[:, SPO2], 100), MISSING)

    rapid = False
    if event_type != NONE:
        # rapid MAP drop: the noise-free MAP falls >= 15 mmHg in the hour before onset
        clean_map = (base[1] + eff[:, 1] + 2 * (base[2] + eff[:, 2])) / 3.0
        rapid = bool(clean_map[max(onset - 60, 0)] - clean_map[onset] >= 15.0)
    priv = _lactate_draws(rng, t_len, lactate, x)[:, None]
    info = {"art_line": art_line, "continuous_temp": cont_temp, "lead_min": float(lead),
            "admit_clock_min": float(clock), **counts}
    return Patient(pid=f"sim{seed}-{index:06d}", raw=raw, privileged=priv, onset=onset,
                   event_type=event_type, rapid_map_drop=rapid, atypical=kind, hard=hard,
                   info=info)


def simulate_cohort(n_patients: int, seed: int, cfg: SimConfig = SimConfig(),
                    chunk_size: int = 256, start: int = 0) -> Iterator[list[Patient]]:
    """Yield the cohort's patients in chunks of `chunk_size` (bounded memory)."""
    for lo in range(start, start + n_patients, chunk_size):
        hi = min(lo + chunk_size, start + n_patients)
        yield [simulate_patient(seed, i, cfg) for i in range(lo, hi)]
