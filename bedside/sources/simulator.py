"""Seeded simulator of ICU bedside-monitor trends, one sample per minute (numpy only).

`simulate_patient(seed, pid, cfg)` builds one patient; `simulate_cohort(n, seed, cfg)`
yields patients in chunks. Each patient draws from its own generator seeded by
(seed, pid), so a cohort is the same however it is chunked and patient k of a big
cohort equals patient k of a small one. Every mechanism and its physiological source is
documented in docs/simulator.md; the code carries a short tag naming that source.

The world (issue 23): an event's onset comes from a constant hazard after a short
stabilisation period, independent of time since admission; HR, SBP, DBP and MAP come
from one haemodynamic model with baroreflex compensation (`haemodynamics`); three
deterioration phenotypes have their published prodromes; event-free instability (pain,
agitation, suctioning, transient hypotension, fever, desaturation) mimics them; a
simulated clinician treats what the bedside shows (fluids, vasopressor); signals freeze;
missingness depends on the state.

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

# event types (phenotypes)
NONE, SEPSIS, HEMORRHAGE, RESPIRATORY = 0, 1, 2, 3
EVENT_NAMES = ("none", "sepsis", "hemorrhage", "respiratory")
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
    stay_median_hours: float = 40.0                  # log-normal length of stay
    stay_sigma: float = 0.7                          # its log-scale sd
    stay_hours: tuple[float, float] = (6.0, 240.0)   # stay clipped to this range
    stabilisation_min: int = 60                      # no onset in the first hour
    onset_hazard_per_hour: float = 0.02              # constant event hazard afterwards
    phenotype_fractions: tuple[float, float, float] = (0.45, 0.3, 0.25)  # sepsis, haem., resp.
    post_onset_min: tuple[int, int] = (30, 180)      # monitoring kept after onset
    atypical_rate: float = 0.2                       # chronic atypical baseline
    deranged_stable_rate: float = 0.08               # hard: deranged but never deteriorates
    slow_atypical_rate: float = 0.25                 # hard: of events, slow and subtle
    art_line_rate: float = 0.8                       # invasive BP; else cuff every 15 min
    continuous_temp_rate: float = 0.2                # temperature probe; else charted
    mimic_scale: float = 1.0                         # multiplies every event-free instability rate
    treatment: bool = True                           # simulated clinician response
    missing_scale: float = 1.0                       # multiplies every missingness rate
    artifact_scale: float = 1.0                      # multiplies every artifact rate

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def short_stays(cls) -> "SimConfig":
        """The default profile's world (training/profiles.py) and `verify --simulate`'s:
        stays 16 h median instead of 40 h, to keep training and streaming cheap; the
        hazard raised so that about 40 % of patients still have an event."""
        return cls(stay_median_hours=16.0, stay_sigma=0.6, stay_hours=(4.0, 72.0),
                   onset_hazard_per_hour=0.03)

    def changes(self) -> dict:
        """The fields that differ from the defaults (JSON-ready), for run.json."""
        d = SimConfig().to_dict()
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in self.to_dict().items() if d[k] != v}

    @classmethod
    def from_dict(cls, d: dict) -> "SimConfig":
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"config data.sim: unknown field(s) {', '.join(sorted(unknown))}")
        for k in ("stay_hours", "post_onset_min", "phenotype_fractions"):
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
    base[2] = min(base[2], base[1] - 25)             # a pulse pressure of at least 25
    return base, kind


def _ar1(rng: np.random.Generator, t_len: int, tau_min: float, sd: float) -> np.ndarray:
    """Stationary AR(1) with time constant tau (min) and marginal sd (slow physiology).
    Vectorised in blocks of 64 steps (a triangular matrix of powers of a within a block,
    the last value carried from block to block): exact, numpy only (the host tools
    import this module without scipy)."""
    a = np.exp(-1.0 / tau_min)
    e = rng.normal(0, sd * np.sqrt(1 - a * a), t_len)
    e[0] = rng.normal(0, sd)
    b = 64
    n_blocks = -(-t_len // b)
    blocks = np.zeros(n_blocks * b)
    blocks[:t_len] = e
    j = np.arange(b)
    lag = j[:, None] - j[None, :]
    m = np.where(lag >= 0, a ** np.maximum(lag, 0), 0.0)      # y_j = sum_k a^(j-k) e_k
    z = blocks.reshape(n_blocks, b) @ m.T
    carry = a ** (j + 1)
    last = 0.0
    for k in range(n_blocks):
        z[k] += carry * last
        last = z[k, -1]
    return z.reshape(-1)[:t_len]


def _ramp(t: np.ndarray, start: float, end: float, shape: float) -> np.ndarray:
    """0 before start, rises to 1 at end (power `shape`: >1 accelerating) and keeps rising
    at the rate it reached (the insult goes on after onset), capped at 2."""
    x = (t - start) / max(end - start, 1.0)
    return np.where(x <= 1, np.clip(x, 0, 1) ** shape, np.minimum(1 + shape * (x - 1), 2.0))


def _bumps(rng, t_len: int, per_hour: float, dur: tuple[int, int]) -> list[tuple[int, int]]:
    """Episodes (start, length) of a Poisson process with `per_hour` rate."""
    n = rng.poisson(per_hour * t_len / 60.0)
    starts = rng.integers(0, t_len, n) if t_len else np.zeros(0, int)
    return [(int(s), int(rng.integers(dur[0], dur[1] + 1))) for s in np.sort(starts)]


def _bump_shape(t_len: int, start: int, n: int) -> np.ndarray:
    """Raised-cosine episode: 0 outside [start, start + n), peak 1 in the middle."""
    out = np.zeros(t_len)
    k = np.arange(max(0, start), min(t_len, start + n))
    out[k] = 0.5 - 0.5 * np.cos(2 * np.pi * (k - start + 0.5) / n)
    return out


# --- haemodynamics: one model for HR, SBP, DBP and MAP ------------------------------------

BARO_GAIN = 0.9          # share of an uncompensated MAP fall the baroreflex buffers
HR_PER_EFFORT = 110.0    # bpm per unit of baroreflex effort (effort 0.27 -> +30 bpm)
FEVER_HR_PER_DEG = 8.5   # bpm per degC of fever (Karjalainen & Viitasalo 1986)


def haemodynamics(base_hr: float, base_map: float, base_pp: float, reserve: float,
                  volume_loss, vasodilation, fluids=0.0, pressor=0.0, fever=0.0,
                  hypoxaemia=0.0, sympathetic=0.0, inflammation=0.0) -> dict:
    """HR, SBP, DBP, MAP [T] of one patient from its drivers [T] (docs/simulator.md,
    "Haemodynamics"). MAP = CO x SVR: a volume loss lowers preload and stroke volume,
    vasodilation lowers SVR; the uncompensated fractional MAP fall is
    u = 1 - (1 - volume) (1 - vasodilation), less what fluids and a vasopressor give back.
    The baroreflex answers with an effort e = min(BARO_GAIN u, reserve) (tachycardia,
    vasoconstriction) and MAP falls only by u - e: MAP held while HR rises, until the
    reserve is spent (decompensation), then MAP falls with the insult (Guyton & Hall ch.
    18-19; ATLS classes). Pulse pressure follows stroke volume: it narrows with volume
    loss and tachycardia and widens with vasodilation (low diastolic pressure)."""
    vol = np.asarray(volume_loss) - fluids       # < 0: fluids expand a normal volume
    u = 1.0 - (1.0 - vol) * (1.0 - np.asarray(vasodilation)) - pressor
    effort = np.where(u > 0, np.minimum(BARO_GAIN * u, reserve),
                      np.maximum(BARO_GAIN * u, -0.5 * reserve))   # rises buffered too
    mapv = base_map * (1.0 - (u - effort)) + 12.0 * sympathetic
    hr = (base_hr + HR_PER_EFFORT * np.maximum(effort, -0.1) + FEVER_HR_PER_DEG * fever
          + 15.0 * hypoxaemia + 22.0 * sympathetic + 6.0 * inflammation)
    sv = (1.0 - 1.6 * vol) * np.sqrt(base_hr / np.maximum(hr, 30.0))
    pp = base_pp * np.maximum(sv, 0.25) * (1.0 + 1.0 * np.asarray(vasodilation)) \
        * (1.0 + 0.15 * sympathetic)
    return {"hr": hr, "map": mapv, "sbp": mapv + pp * 2.0 / 3.0, "dbp": mapv - pp / 3.0,
            "effort": effort, "u": u}


# --- deterioration phenotypes -------------------------------------------------------------

def _drivers(t_len: int) -> dict:
    z = np.zeros(t_len)
    return {k: z.copy() for k in ("volume", "vasodilation", "inflammation", "fever",
                                  "hypoxaemia", "sympathetic", "lactate")}


def _event(rng, t, onset: int, event_type: int, slow: bool, reserve: float, d: dict) -> float:
    """Add a phenotype's hidden course to the drivers `d`; returns the prodrome length."""
    amp = 0.6 if slow else 1.0
    decomp = reserve / BARO_GAIN                        # insult at which the reserve is spent
    late = rng.uniform(0, 45)                           # decompensation this long before onset
    if event_type == SEPSIS:
        # inflammation (fever, tachypnoea, tachycardia, lactate) hours before the MAP falls
        lead = rng.uniform(360, 720) if slow else rng.uniform(180, 480)
        infl = _ramp(t, onset - lead, onset, rng.uniform(1.0, 2.0))
        d["inflammation"] += amp * infl
        d["fever"] += amp * infl * (-1.0 if rng.random() < 0.2 else 1.0) * abs(rng.normal(1.5, 0.4))
        # vasodilation starts in the second half of the prodrome and spends the reserve
        # `late` minutes before onset (septic shock: vasopressor needed for MAP >= 65)
        v0 = onset - lead * rng.uniform(0.3, 0.6)
        d["vasodilation"] += (decomp + 0.03) * _ramp(t, v0, onset - late, rng.uniform(1.5, 2.5))
        d["hypoxaemia"] += 0.25 * amp * infl
        d["lactate"] += rng.uniform(1.5, 4.0) * amp * _ramp(t, onset - 1.2 * lead, onset, 1.2)
    elif event_type == HEMORRHAGE:
        # occult bleeding: volume lost over the prodrome, compensated (ATLS class II:
        # tachycardia, narrow pulse pressure, MAP normal) until class III
        lead = rng.uniform(240, 480) if slow else rng.uniform(60, 240)
        d["volume"] += (decomp + 0.03) * _ramp(t, onset - lead, onset - late,
                                               rng.uniform(1.0, 2.0))
        d["lactate"] += rng.uniform(1.0, 3.0) * _ramp(t, onset - 0.8 * lead, onset, 2.0)
    else:  # RESPIRATORY: rising work of breathing, falling saturation; MAP preserved
        lead = rng.uniform(240, 480) if slow else rng.uniform(90, 300)
        d["hypoxaemia"] += amp * _ramp(t, onset - lead, onset, rng.uniform(1.0, 2.0))
        d["lactate"] += rng.uniform(0.3, 1.0) * _ramp(t, onset - 0.5 * lead, onset, 2.0)
    return float(lead)


# --- event-free instability: the world's false-alarm generators -----------------------------

def _mimics(rng, t_len: int, scale: float, d: dict):
    """Episodes that every patient has, with or without an event (docs/simulator.md,
    "Event-free instability"), added to the drivers `d`. Returns their counts, the
    agitation mask [T] (motion artifacts cluster there) and SpO2 dips [T] (suctioning)."""
    counts = {}
    agitated = np.zeros(t_len, dtype=bool)
    spo2_dip = np.zeros(t_len)
    # pain / agitation: sympathetic surge, HR and BP and RR up (PADIS 2018)
    ev = _bumps(rng, t_len, 0.06 * scale, (10, 60))
    for s, n in ev:
        d["sympathetic"] += rng.uniform(0.5, 1.3) * _bump_shape(t_len, s, n)
        agitated[s:s + n] = True
    counts["pain_agitation"] = len(ev)
    # endotracheal suctioning: desaturation, tachycardia, hypertension for minutes (AARC 2010)
    ev = _bumps(rng, t_len, 0.08 * scale, (3, 10))
    for s, n in ev:
        b = _bump_shape(t_len, s, n)
        spo2_dip += rng.uniform(3, 10) * b
        d["sympathetic"] += rng.uniform(0.3, 0.8) * b
        agitated[s:s + n] = True
    counts["suctioning"] = len(ev)
    # transient hypotension (sedative bolus, repositioning): vasodilation for 10-40 min,
    # the baroreflex answers with tachycardia as in early shock
    ev = _bumps(rng, t_len, 0.04 * scale, (10, 40))
    for s, n in ev:
        d["vasodilation"] += rng.uniform(0.12, 0.4) * _bump_shape(t_len, s, n)
    counts["transient_hypotension"] = len(ev)
    # fever without sepsis (atelectasis, transfusion, drug): hours of fever and tachycardia
    ev = _bumps(rng, t_len, 0.012 * scale, (120, 360))
    for s, n in ev:
        b = _bump_shape(t_len, s, n)
        d["fever"] += rng.uniform(0.8, 1.6) * b
        d["inflammation"] += rng.uniform(0.2, 0.5) * b
    counts["fever"] = len(ev)
    # transient desaturation (secretions, atelectasis, position): 20-90 min
    ev = _bumps(rng, t_len, 0.03 * scale, (20, 90))
    for s, n in ev:
        d["hypoxaemia"] += rng.uniform(0.3, 0.7) * _bump_shape(t_len, s, n)
    counts["desaturation"] = len(ev)
    return counts, agitated, spo2_dip


# --- the clinician's response -------------------------------------------------------------

def _treat(rng, t, hd_fn, max_rounds: int = 3) -> tuple[np.ndarray, np.ndarray, list]:
    """Fluid bolus, then a vasopressor, after a response delay, whenever the bedside shows
    hypotension (MAP < 65 mmHg for 5 min: Surviving Sepsis Campaign 2021, ATLS). Returns
    the fluid and pressor courses [T] (as fractions of the MAP fall they give back) and
    the treatments given. Each round recomputes the haemodynamics with what was given."""
    t_len = len(t)
    fluids, pressor = np.zeros(t_len), np.zeros(t_len)
    given = []
    start = 0
    for _ in range(max_rounds):
        low = hd_fn(fluids, pressor)["map"] < 65.0
        run = np.convolve(low.astype(int), np.ones(5, int), "full")[:t_len] >= 5
        hit = np.flatnonzero(run[start:])
        if not len(hit):
            break
        seen = start + int(hit[0])
        at = seen + int(rng.integers(10, 61))             # the response takes 10-60 min
        if at >= t_len:
            break
        if not any(k == "fluids" for k, _ in given):
            # 30 mL/kg crystalloid: gives back volume over 15 min; most leaves the
            # circulation within hours (half-life ~2 h)
            x = np.clip((t - at) / 15.0, 0, 1) * np.exp(-np.maximum(t - at - 15, 0) / 170.0)
            fluids += rng.uniform(0.08, 0.14) * x
            given.append(("fluids", at))
        else:   # norepinephrine titrated over ~20 min, kept on
            pressor += rng.uniform(0.12, 0.25) * np.clip((t - at) / 20.0, 0, 1)
            given.append(("vasopressor", at))
        start = at + 30
    return fluids, pressor, given


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


def _artifacts(arng, x: np.ndarray, a: float, art_line: bool,
               agitated: np.ndarray | None = None) -> dict:
    """Monitor artifacts in place on measured values [T, 7] (physical units), drawn from
    their own generator `arng` so that `artifact_scale = 0` gives the same patient, noise
    and gaps without them. Motion clusters in agitation (`agitated` [T]). Sources:
    docs/simulator.md, "Artifacts"."""
    t_len = len(x)
    bp = slice(SBP, MAP + 1)
    counts = {}
    # motion: pleth and ECG artifact together; SpO2 reads falsely low and HR jumps;
    # 0.2 /h at rest, 3 /h while the patient is agitated
    ev = _events_at(arng, t_len, 0.2 * a)
    if agitated is not None and agitated.any():
        busy = np.flatnonzero(agitated)
        extra = busy[arng.integers(0, len(busy), arng.poisson(3.0 * a * len(busy) / 60.0))]
        ev = np.sort(np.concatenate([ev, extra]))
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
    # frozen trend: the monitor keeps reporting the last value of a channel whose sensor
    # or module stopped updating, 5-60 min, flat (no noise) but inside the valid range
    frozen = 0
    for cols in ((HR,), (SBP, DBP, MAP), (SPO2,), (RR,)):
        if cols[0] == SBP and not art_line:
            continue
        for s in _events_at(arng, t_len, 0.02 * a):
            if s > 0:
                x[s:s + int(arng.integers(5, 61)), list(cols)] = x[s - 1, list(cols)]
                frozen += 1
    counts["frozen"] = frozen
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


def _measure(rng, arng, phys: np.ndarray, cfg: SimConfig, art_line: bool, cont_temp: bool,
             agitated: np.ndarray | None = None):
    """Noise, artifacts and missingness on physiological values [T, 7] (physical units).
    Returns float [T, 7] with NaN for missing and a dict of artifact counts."""
    t_len = len(phys)
    x = phys.copy()
    noise_sd = np.array([1.5, 3.0, 2.0, 2.0, 0.6, 1.2, 0.05])   # device resolution/jitter
    x += rng.normal(0, 1, x.shape) * noise_sd
    counts = _artifacts(arng, x, cfg.artifact_scale, art_line, agitated)

    m = cfg.missing_scale
    miss = np.zeros(x.shape, dtype=bool)
    # whole-monitor disconnections (transport, repositioning): all channels
    all_gap = _gaps(rng, t_len, 0.04 * m, 20)
    # intrahospital transport (imaging, theatre): the patient leaves on a transport
    # monitor whose data the bedside never receives, 20-60 min
    for s in _events_at(rng, t_len, 0.02 * m):
        all_gap[s:s + int(rng.integers(20, 61))] = True
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
    """Blood gases every 3-5 h; every 1-3 h while the *observed* vitals prompt a
    suspicion of sepsis or shock, or the last lactate was > 2 mmol/L (re-measure an
    elevated lactate: Surviving Sepsis Campaign hour-1 bundle). The schedule follows
    only what the bedside shows, never the simulator's hidden event state. Raw mmol/L*100."""
    out = np.full(t_len, MISSING, dtype=np.int16)
    t = int(rng.integers(0, 120))
    while t < t_len:
        out[t] = int(np.clip(round(lactate[t] * 100), 0, 3000))
        concern = lactate[t] > 2.0 or _suspicion(measured, t)
        t += int(rng.integers(60, 180) if concern else rng.integers(180, 300))
    return out


def _stay_and_onset(rng, cfg: SimConfig) -> tuple[int, int]:
    """(record length, onset minute or -1). The stay is log-normal (length of stay is
    right-skewed: Marazzi et al. 1998); the event comes from a constant hazard after
    the stabilisation period, independently of the stay, so the chance that an event
    starts in the next hour does not depend on time since admission. A patient whose
    event comes before discharge is followed for 30-180 min after onset."""
    lo, hi = cfg.stay_hours
    stay = int(60 * np.clip(rng.lognormal(np.log(cfg.stay_median_hours), cfg.stay_sigma), lo, hi))
    wait = rng.exponential(60.0 / cfg.onset_hazard_per_hour) if cfg.onset_hazard_per_hour > 0 \
        else np.inf
    onset = cfg.stabilisation_min + wait
    if onset >= stay:
        return stay, -1
    onset = int(onset)
    return onset + int(rng.integers(cfg.post_onset_min[0], cfg.post_onset_min[1] + 1)), onset


def simulate_patient(seed: int, index: int, cfg: SimConfig = SimConfig()) -> Patient:
    """Patient `index` of the cohort with `seed` (independent of chunking)."""
    rng = np.random.default_rng([int(seed), int(index), 0x5EED])
    base, kind = _baseline(rng, cfg)
    t_len, onset = _stay_and_onset(rng, cfg)
    hard, event_type = NOT_HARD, NONE
    if onset >= 0:
        event_type = 1 + int(rng.choice(3, p=np.asarray(cfg.phenotype_fractions)
                                        / np.sum(cfg.phenotype_fractions)))
        if rng.random() < cfg.slow_atypical_rate:
            hard = SLOW_ATYPICAL
    elif rng.random() < cfg.deranged_stable_rate:
        hard = DERANGED_STABLE
    t = np.arange(t_len, dtype=np.float64)

    # deranged but stable: sits in NEWS2-alarming ranges for the whole stay
    if hard == DERANGED_STABLE:
        base = base + np.array([rng.uniform(15, 30), rng.uniform(-25, -10), rng.uniform(-12, -5),
                                -rng.uniform(1, 4), rng.uniform(4, 9), rng.uniform(-0.2, 0.8)])
        base[2] = min(base[2], base[1] - 25)
    hr0, sbp0, dbp0, spo20, rr0, temp0 = base
    map0, pp0 = (sbp0 + 2 * dbp0) / 3.0, sbp0 - dbp0
    # baroreflex reserve: the MAP fall (fraction) it can hide; smaller in chronic
    # hypertension and heart failure (blunted baroreflex: Guyton & Hall)
    reserve = rng.uniform(0.22, 0.32) * (0.75 if kind in (HYPERTENSION, LOW_MAP) else 1.0)

    # circadian rhythm: trough ~04:00, peak ~16:00 (amplitudes in docs/simulator.md)
    clock = rng.uniform(0, 24 * 60)                   # admission time of day, minutes
    phase = 2 * np.pi * ((t + clock) / 1440.0 - 16.0 / 24.0)
    circ = np.cos(phase)[:, None] * np.array([5.0, 4.5, 1.5, 0.3, 1.0, 0.25]) \
        * rng.uniform(0.5, 1.5)                       # hr, map, pp, spo2, rr, temp
    # slow physiological wandering (AR(1)), per quantity (tau min, sd)
    wander = np.stack([_ar1(rng, t_len, tau, sd) for tau, sd in
                       [(30, 4.0), (40, 4.5), (40, 3.0), (60, 0.7), (20, 1.6), (120, 0.15)]], 1)

    d = _drivers(t_len)
    lead = 0.0
    if event_type != NONE:
        lead = _event(rng, t, onset, event_type, hard == SLOW_ATYPICAL, reserve, d)
    mimic_counts, agitated, spo2_dip = _mimics(rng, t_len, cfg.mimic_scale, d)

    def hd(fluids, pressor):
        return haemodynamics(hr0, map0, pp0, reserve, d["volume"], d["vasodilation"],
                             fluids, pressor, d["fever"], d["hypoxaemia"], d["sympathetic"],
                             d["inflammation"])
    # own generator: the same patient (noise, gaps, artifacts) with or without treatment
    trng = np.random.default_rng([int(seed), int(index), 0x7EA7])
    fluids, pressor, given = _treat(trng, t, hd) if cfg.treatment else (0.0, 0.0, [])
    h = hd(fluids, pressor)
    hr = h["hr"] + circ[:, 0] + wander[:, 0]
    mapv = h["map"] + circ[:, 1] + wander[:, 1]
    pp = np.maximum(h["sbp"] - h["dbp"] + circ[:, 2] + wander[:, 2], 12.0)
    sbp, dbp = mapv + pp * 2.0 / 3.0, mapv - pp / 3.0
    # respiration and temperature: tachypnoea with inflammation, hypoxaemia and agitation
    # (qSOFA RR >= 22); saturation falls with hypoxaemia and suctioning
    rr = rr0 + 8.0 * d["inflammation"] + 12.0 * d["hypoxaemia"] + 5.0 * d["sympathetic"] \
        + circ[:, 4] + wander[:, 4]
    spo2 = np.minimum(spo20 - 9.0 * d["hypoxaemia"] - spo2_dip + circ[:, 3] + wander[:, 3], 100.0)
    temp = temp0 + d["fever"] + circ[:, 5] + wander[:, 5]
    phys = np.stack([hr, sbp, dbp, mapv, spo2, rr, temp], 1)

    # lactate: hypoperfusion (baroreflex effort near its reserve, decompensation) and the
    # phenotype's own course (sepsis: before the MAP falls)
    lactate = np.full(t_len, np.clip(rng.normal(1.1, 0.35), 0.5, 2.0))
    if kind == LOW_MAP or hard == DERANGED_STABLE:
        lactate += rng.uniform(0.3, 1.2)              # chronically a little high
    lactate += d["lactate"] + 20.0 * np.clip(h["u"] - h["effort"], 0, None) \
        + 1.0 * np.clip(h["effort"] / reserve - 0.6, 0, None)

    art_line = rng.random() < cfg.art_line_rate
    cont_temp = rng.random() < cfg.continuous_temp_rate
    arng = np.random.default_rng([int(seed), int(index), 0xA27F])
    x, counts = _measure(rng, arng, phys, cfg, art_line, cont_temp, agitated)
    raw = _to_raw(x)
    raw[:, SPO2] = np.where(raw[:, SPO2] != MISSING, np.minimum(raw[:, SPO2], 100), MISSING)

    rapid = False
    if event_type != NONE:
        # rapid MAP drop: the haemodynamic MAP falls >= 15 mmHg in the hour before onset
        rapid = bool(h["map"][max(onset - 60, 0)] - h["map"][onset] >= 15.0)
    priv = _lactate_draws(rng, t_len, lactate, x)[:, None]
    info = {"art_line": art_line, "continuous_temp": cont_temp, "lead_min": float(lead),
            "admit_clock_min": float(clock), "reserve": float(reserve),
            "treatments": [f"{k}@{m}" for k, m in given], **mimic_counts, **counts}
    return Patient(pid=f"sim{seed}-{index:06d}", raw=raw, privileged=priv, onset=onset,
                   event_type=event_type, rapid_map_drop=rapid, atypical=kind, hard=hard,
                   info=info)


def simulate_cohort(n_patients: int, seed: int, cfg: SimConfig = SimConfig(),
                    chunk_size: int = 256, start: int = 0) -> Iterator[list[Patient]]:
    """Yield the cohort's patients in chunks of `chunk_size` (bounded memory)."""
    for lo in range(start, start + n_patients, chunk_size):
        hi = min(lo + chunk_size, start + n_patients)
        yield [simulate_patient(seed, i, cfg) for i in range(lo, hi)]
