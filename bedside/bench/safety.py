"""`bedside bench safety RUN_DIR`: the safety floor on the device, case by case.

Each case is one patient stream from RESET (docs/safety.md lists them): a live patient
(HR and SpO2 moving by a unit or two, a deterministic seed), with a condition from its
`onset` sample: hard limits present from the first sample, noise around every limit,
cuff patients, arterial-line flush and zeroing, probe-off and probe artefacts on SpO2,
frozen signals, mixed missingness. It is streamed to the device (the run's host firmware,
`--target` an emulated board, or `--port`), whose SAMPLES_ACK carries one floor record
per sample. The observed rule is the first one the device reported (`map < 50`,
`quality: spo2 stale`, or `none`), `minutes_to_flag` the minutes from the onset to that
sample (the onset sample counts as the first). A case passes when the observed rule is
the expected one, within `bound_minutes` (the sustain time plus one reading interval, or
the stated stale/frozen/artefact time plus one), and every sample's floor record and
every window's output, alarm and flags equal the Python reference. Writes
RUN_DIR/safety.json: {"cases": {"<name>": {"expected_rule", "observed_rule",
"minutes_to_flag", "bound_minutes", "matches_reference", "passed", ...}}, ...}; a case
that forbids a rule (a probe artefact must not alarm) also records `never_rule` and
`never_rule_reported`, one read after a gap `watched_from_sample`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bedside.contract import protocol as p
from bedside.rundir import RunPaths
from bedside import command

SEED = 24                   # the live patient's wobble (recorded in safety.json)
LENGTH = 90                 # samples per case unless the case needs more
FRAME_SAMPLES = 30          # samples per SAMPLES frame


def live(k, n: int, seed: int = SEED) -> np.ndarray:
    """A live patient at the population centres: HR and SpO2 move by a unit or two each
    minute (a flat line is a frozen signal); the other signals hold their centre."""
    rng = np.random.default_rng(seed)
    raw = np.tile(k.center.astype(np.int16), (n, 1))
    for name, step in (("hr", 2), ("spo2", 1)):
        if name in k.names:
            i = k.names.index(name)
            raw[:, i] += rng.integers(-step, step + 1, n).astype(np.int16)
            raw[:, i] = np.minimum(raw[:, i], k.valid_max[i] - 1)
    return raw


class Case:
    """One stream from RESET: `raw` [T, C], the sample the condition starts at, the rule
    the floor should report first ('none': never) and its bound in minutes; `watch_from`:
    the sample from which the first rule is read (a quality flag during an earlier gap is
    not the rule under test); `never`: a rule no sample may report."""

    def __init__(self, raw: np.ndarray, onset: int, expected: str, bound: int | None,
                 what: str, watch_from: int = 0, never: str | None = None) -> None:
        self.raw, self.onset, self.expected, self.bound, self.what = raw, onset, expected, \
            bound, what
        self.watch_from, self.never = watch_from, never


def cases(k, cfg: dict, period_s: int = 60) -> dict[str, Case]:
    """The matrix, built from the run's constants and safety settings; signals the table
    does not have are skipped."""
    from bedside.contract.safety import rules, samples
    m = k.missing
    idx = {n: i for i, n in enumerate(k.names)}
    sustain = samples(cfg["sustain_minutes"], period_s)
    slow = samples(cfg["artefact_sustain_minutes"], period_s)
    frozen = samples(cfg["frozen_minutes"], period_s)
    stale = {n: samples(cfg["stale_minutes"][cfg["cadence"][n]], period_s) for n in k.names}
    cuff_every = 15
    out: dict[str, Case] = {}

    def base(n: int = LENGTH) -> np.ndarray:
        return live(k, n)

    def held(raw, start, stop, **values):
        for name, v in values.items():
            if name in idx:
                raw[start:stop, idx[name]] = v
        return raw

    def cuff(raw, start=0, every=cuff_every):
        """Blood pressure only every `every` minutes from `start` (an oscillometric cuff)."""
        bp = [idx[n] for n in ("sbp", "dbp", "map") if n in idx]
        keep = raw[:, bp].copy()
        raw[:, bp] = m
        raw[start::every, bp] = keep[start::every]
        return raw

    # hard limits present from the first sample after RESET
    out["near_arrest_from_reset"] = Case(
        held(base(), 0, LENGTH, hr=38, sbp=60, dbp=30, map=40, spo2=75, rr=5), 0,
        "hr < 40" if "hr" in cfg["limits"] else "none", sustain + 1,
        "near-arrest vitals from admission: no blind start")
    for (i, high, bound) in rules(cfg, k):
        name = k.names[i]
        beyond = bound + 1 if high else bound - 1
        inside = bound - 2 if high else bound + 2
        rule = f"{name} {'>' if high else '<'} {bound}"
        tag = f"{name}_{'high' if high else 'low'}"
        # just beyond the limit from RESET: confirmed after the sustain time
        values = {name: beyond}
        if name in cfg.get("agree", {}):       # the agreeing signal agrees (true, not artefact)
            other, ob = cfg["agree"][name]
            values[other] = ob + 1 if high else ob - 1
        out[f"{tag}_from_reset"] = Case(held(base(), 0, LENGTH, **values), 0, rule,
                                        sustain + 1, f"{name} {beyond} from the first sample")
        # noise around the limit: mostly inside, single readings across it (never 2 in a row)
        noisy = base()
        pattern = np.array([inside, bound, beyond, inside + (-1 if high else 1), bound,
                            beyond + (1 if high else -1), inside])
        noisy[10:, i] = np.resize(pattern, LENGTH - 10)
        out[f"{tag}_noise"] = Case(noisy, 10, "none", None,
                                   f"{name} around {bound}: one reading beyond at a time")
        margin = cfg.get("clear_margin", {}).get(name, 0)
        if margin:   # confirmed, then every other reading inside by less than the deadband
            hover = held(base(), 0, LENGTH, **values)
            near = bound - (margin - 1) if high else bound + margin - 1
            hover[sustain + 1::2, i] = near
            out[f"{tag}_hovering"] = Case(hover, 0, rule, sustain + 1,
                                          f"{name} {beyond}, then every other reading {near} "
                                          f"(inside its deadband of {margin})")
    # cuff patients
    if "sbp" in idx and "sbp" in cfg["limits"]:
        c = cuff(held(base(), 0, LENGTH, sbp=65, map=55), 3)
        out["cuff_sbp_65_every_reading"] = Case(
            c, 3, f"sbp < {cfg['limits']['sbp'][0]}", sustain + cuff_every,
            "SBP 65 on every cuff reading (every 15 min): confirmed by the next reading")
        one = cuff(base(), 3)
        one[18, idx["sbp"]] = 65
        out["cuff_one_low_reading"] = Case(one, 18, "none", None,
                                           "one SBP 65 cuff reading between normal ones")
        fail = cuff(base(), 3)
        fail[18, [idx[n] for n in ("sbp", "dbp", "map") if n in idx]] = m  # a failed cycle
        out["cuff_one_failed_cycle"] = Case(fail, 3, "none", None,
                                            "one failed cuff cycle: a 30-minute gap is not stale")
    if "map" in idx and "map" in cfg["limits"]:
        c = cuff(held(base(), 0, LENGTH, map=45), 0)
        out["cuff_map_45_from_reset"] = Case(
            c, 0, f"map < {cfg['limits']['map'][0]}", sustain + cuff_every,
            "MAP 45 on every cuff reading from admission")
    # agreement (config `agree`): a damped arterial trace under-reads SBP and keeps the MAP
    if "sbp" in cfg.get("agree", {}) and "sbp" in cfg["limits"] and cfg["limits"]["sbp"][0]:
        low = cfg["limits"]["sbp"][0]
        other, ob = cfg["agree"]["sbp"]
        damped = held(base(), 20, 60, sbp=low - 5, dbp=int(k.center[idx[other]]) - 5)
        out["art_line_damped_sbp_only"] = Case(
            damped, 20, "none", None,
            f"overdamped trace: SBP {low - 5} for 40 min, {other} normal")
        agreeing = held(base(), 20, LENGTH, sbp=low - 5, dbp=ob - 15, **{other: ob - 5})
        out["hypotension_map_agreeing"] = Case(
            agreeing, 20, f"sbp < {low}", sustain + 1,
            f"SBP {low - 5} with {other} {ob - 5}: true hypotension")
    # arterial line artefacts
    bp_names = [n for n in ("sbp", "dbp", "map") if n in idx]
    if bp_names:
        flush = base()
        for s in (20, 50):
            flush[s:s + 3, [idx[n] for n in bp_names]] = [[300] * len(bp_names),
                                                          [260] * len(bp_names),
                                                          [190] * len(bp_names)]
        out["art_line_flush"] = Case(flush, 20, "none", None,
                                     "fast flush: pressure toward the 300 mmHg bag for 3 min")
        zero = base()
        for s in (20, 60):
            zero[s:s + 2, [idx[n] for n in bp_names]] = 0
        out["art_line_zeroing"] = Case(zero, 20, "none", None,
                                       "zeroing: 0 mmHg (implausible) for 2 min")
        first = bp_names[0]
        zero_long = held(base(), 10, LENGTH, **{n: 0 for n in bp_names})
        out["art_line_open_to_air"] = Case(
            zero_long, 10, f"quality: {first} stale", stale[first] + 1,
            "transducer left open to air: no valid pressure")
    # SpO2: probe off, probe artefact, real desaturation
    if "spo2" in idx:
        out["spo2_probe_off"] = Case(held(base(), 10, LENGTH, spo2=m), 10,
                                     "quality: spo2 stale", stale["spo2"] + 1,
                                     "probe off: SpO2 missing")
        art = held(base(), 20, 25, spo2=75)
        out["spo2_probe_artefact_5min"] = Case(art, 20, "none", None,
                                               "probe slipping: 97 -> 75 % for 5 minutes")
        motion = held(base(), 30, 33, spo2=84, hr=150)
        out["motion_artefact"] = Case(motion, 30, "none", None,
                                      "motion: SpO2 falsely low and HR jumping for 3 minutes")
        if "spo2" in cfg["limits"]:
            rule = f"spo2 < {cfg['limits']['spo2'][0]}"
            step = cfg["artefact_step"].get("spo2")
            out["hypoxaemia_abrupt_persisting"] = Case(
                held(base(), 20, LENGTH, spo2=78), 20, rule,
                (slow if step else sustain) + 1, "abrupt fall to 78 % that persists")
            grad = base()
            grad[20:, idx["spo2"]] = np.maximum(97 - np.arange(LENGTH - 20), 78)
            onset = 20 + int(np.argmax(grad[20:, idx["spo2"]] < cfg["limits"]["spo2"][0]))
            out["hypoxaemia_gradual"] = Case(grad, onset, rule, sustain + 1,
                                             "SpO2 falling 1 %/min to 78 %")
        # the probe falls off: a low reading or two, then nothing: quality, not SpO2 low
        off = held(base(), 10, LENGTH, spo2=m)
        off[10:12, idx["spo2"]] = [72, 70]
        out["spo2_probe_off_low_then_missing"] = Case(
            off, 10, "quality: spo2 stale", 2 + stale["spo2"] + 1,
            "probe falling off: 97 -> 72, 70 %, then no reading")
        if "spo2" in cfg["limits"] and cfg["artefact_step"].get("spo2"):
            rule = f"spo2 < {cfg['limits']['spo2'][0]}"
            gap = held(base(), 20, 25, spo2=m)
            gap[25:31, idx["spo2"]] = 78
            out["spo2_probe_artefact_after_gap"] = Case(
                gap, 25, "none", None, "probe re-attached after 5 min off: 78 % for 6 minutes")
            persist = held(base(), 20, 25, spo2=m)
            persist[25:, idx["spo2"]] = 78
            out["hypoxaemia_after_gap_persisting"] = Case(
                persist, 25, rule, slow + 1, "5 min without SpO2, then 78 % that persists")
            # a gap longer than the stale limit (quality meanwhile), then the probe back on
            long_gap = stale["spo2"] + 5
            back = 20 + long_gap
            if cfg.get("artefact_after_gap"):
                reapplied = held(base(), 20, back, spo2=m)
                reapplied[back:back + 6, idx["spo2"]] = 78
                out["spo2_probe_reapplied_after_long_gap"] = Case(
                    reapplied, 20, "quality: spo2 stale", stale["spo2"] + 1,
                    f"probe re-applied after {long_gap} min off: 78 % for 6 minutes",
                    never=rule)
                late = held(base(), 20, back, spo2=m)
                late[back:, idx["spo2"]] = 78
                out["hypoxaemia_after_long_gap_persisting"] = Case(
                    late, back, rule, slow + 1,
                    f"{long_gap} min without SpO2, then 78 % that persists", watch_from=back)
            # no value before the gap (SpO2 missing from RESET): no step, the plain sustain
            first = held(base(), 0, long_gap, spo2=m)
            first[long_gap:, idx["spo2"]] = 78
            out["hypoxaemia_first_reading_after_long_gap_from_reset"] = Case(
                first, long_gap, rule, sustain + 1,
                f"no SpO2 for {long_gap} min from RESET, then 78 %: no blind start",
                watch_from=long_gap)
            if cfg.get("artefact_lookback", 1) >= 2:
                two = base()
                two[20:27, idx["spo2"]] = [86, 80, 80, 79, 80, 80, 79]
                out["spo2_artefact_over_two_minutes"] = Case(
                    two, 21, "none", None, "probe slipping: 97 -> 86 -> 80 % for 6 minutes")
        jump = cfg.get("artefact_jump", {}).get("spo2")
        if "spo2" in cfg["limits"] and "hr" in idx:
            rule = f"spo2 < {cfg['limits']['spo2'][0]}"
            grad = base()      # a true desaturation: HR follows it, 3 /min, no jump
            grad[20:, idx["spo2"]] = np.maximum(97 - 2 * np.arange(LENGTH - 20), 78)
            grad[20:, idx["hr"]] = np.minimum(grad[19, idx["hr"]] + 3 * np.arange(1, LENGTH - 19),
                                              130)
            onset = 20 + int(np.argmax(grad[20:, idx["spo2"]] < cfg["limits"]["spo2"][0]))
            out["hypoxaemia_hr_agreeing"] = Case(
                grad, onset, rule, sustain + 1,
                "SpO2 falling 2 %/min to 78 % with HR rising 3 /min: a true desaturation")
            if jump and jump[0] == "hr":
                # SpO2 sliding 2 %/min (no step) into 82-84 % while HR jumps: motion
                motion = base()
                motion[26:37, idx["spo2"]] = [94, 92, 90, 88, 86, 84, 83, 82, 83, 82, 84]
                motion[32, idx["hr"]] += jump[1] + 10
                motion[34, idx["hr"]] -= jump[1] + 5
                out["spo2_motion_hr_jumping"] = Case(
                    motion, 31, "none", None,
                    "motion: SpO2 sliding to 82-84 % for 6 min while HR jumps")
                moved = base()
                moved[28:, idx["spo2"]] = 90
                moved[29, idx["spo2"]], moved[30:, idx["spo2"]] = 87, 83
                moved[31, idx["hr"]] += jump[1] + 10
                out["hypoxaemia_hr_jump_persisting"] = Case(
                    moved, 30, rule, slow + 1, "SpO2 83 % that persists after one HR jump")
        top = base()
        top[:, idx["spo2"]] = 100
        out["spo2_at_100_on_oxygen"] = Case(top, 0, "none", None,
                                            "SpO2 100 % for 90 min: the top of the scale is not frozen")
    # RR: a motion step (impedance pneumography reads chest movement as breaths) and a
    # tachypnoea that persists, abrupt or gradual
    if "rr" in idx and cfg["limits"].get("rr", [None, None])[1] is not None:
        high = cfg["limits"]["rr"][1]
        rule = f"rr > {high}"
        step = cfg["artefact_step"].get("rr")
        out["rr_motion_step_5min"] = Case(held(base(), 30, 35, rr=high + 5), 30, "none", None,
                                          "motion: RR 18 -> 40 /min for 5 minutes")
        out["tachypnoea_abrupt_persisting"] = Case(
            held(base(), 20, LENGTH, rr=high + 5), 20, rule, (slow if step else sustain) + 1,
            "RR 18 -> 40 /min that persists")
        grad = base()
        grad[20:, idx["rr"]] = np.minimum(grad[19, idx["rr"]] + 2 * np.arange(1, LENGTH - 19),
                                          high + 5)
        onset = 20 + int(np.argmax(grad[20:, idx["rr"]] > high))
        out["tachypnoea_gradual"] = Case(grad, onset, rule, sustain + 1,
                                         "RR rising 2 /min to 40 /min")
    # frozen signals
    for name in cfg["frozen_signals"]:
        f = base(frozen + 30)
        f[10:, idx[name]] = f[9, idx[name]]
        out[f"{name}_frozen"] = Case(f, 10, f"quality: {name} frozen", frozen + 1,
                                     f"{name} repeats one value: a frozen sensor")
    if cfg["frozen_signals"]:
        flat = np.tile(k.center.astype(np.int16), (frozen + 30, 1))
        first = cfg["frozen_signals"][0]
        out["flat_line_from_reset"] = Case(flat, 0, f"quality: {first} frozen", frozen + 1,
                                           "every signal at its centre, unchanging")
    # missingness
    out["all_missing_from_reset"] = Case(np.full((LENGTH, k.n), m, np.int16), 0,
                                         f"quality: {cfg['quality_signals'][0]} stale"
                                         if cfg["quality_signals"] else "none",
                                         stale[cfg["quality_signals"][0]] + 1
                                         if cfg["quality_signals"] else None,
                                         "every sensor off from admission")
    if "hr" in idx:
        out["hr_implausible_500"] = Case(held(base(), 10, LENGTH, hr=500), 10,
                                         "quality: hr stale", stale["hr"] + 1,
                                         "HR 500: implausible, so missing")
    if "temp" in idx:
        out["temp_missing_only"] = Case(held(base(), 0, LENGTH, temp=m), 0, "none", None,
                                        "temperature is charted: its absence is no problem")
    if "map" in idx and "map" in cfg["limits"]:
        rng = np.random.default_rng(SEED + 1)
        mixed = held(base(), 10, LENGTH, map=45)
        holes = rng.random(mixed.shape) < 0.3
        holes[:, idx["map"]] &= np.arange(LENGTH) % 4 == 1     # MAP: every 4th minute lost
        mixed[holes] = m
        out["mixed_missingness_map_45"] = Case(
            mixed, 10, f"map < {cfg['limits']['map'][0]}", sustain + 2,
            "MAP 45 with 30 % of every signal missing")
    out["normal_live_patient"] = Case(base(), 0, "none", None, "a live patient, no condition")
    return out


def observe(floor: np.ndarray, onset: int, cfg: dict, k,
            watch_from: int = 0) -> tuple[str, int | None]:
    """The first rule the floor records show from sample `watch_from` and the minutes from
    onset to it."""
    from bedside.contract.safety import record_rule
    for t, (flags, cause) in enumerate(floor.tolist()):
        if t < watch_from:
            continue
        rule = record_rule(flags, cause, cfg, k)
        if rule != "none":
            return rule, t - onset + 1
    return "none", None


def run_case(dev, contract, ref, case: Case) -> dict:
    from bedside.contract.safety import record_rule
    k, cfg = contract.constants, contract.safety
    want = ref.patient(case.raw)
    dev.reset()
    results: list[p.Result] = []
    floor = []
    for i in range(0, len(case.raw), FRAME_SAMPLES):
        results += dev.send_samples(case.raw[i:i + FRAME_SAMPLES])[1]
        floor.append(dev.last_floor)
    floor = np.concatenate(floor) if floor else np.zeros((0, 2), np.uint8)
    same_floor = floor.shape == want.floor.shape and bool((floor == want.floor).all())
    same_windows = len(results) == len(want.ends) and all(
        r.output_q.tolist() == want.output[j].tolist() and r.alarm == want.alarm[j]
        and (r.flags & ~p.RESULT_FLAG_CALIBRATED) == want.safety[j]
        for j, r in enumerate(results))
    observed, minutes = observe(floor, case.onset, cfg, k, case.watch_from)
    in_time = case.bound is None or (minutes is not None and 1 <= minutes <= case.bound)
    seen = {record_rule(f, c, cfg, k) for f, c in floor.tolist()}
    never_seen = case.never is None or case.never not in seen
    out = {"what": case.what, "samples": len(case.raw), "onset_sample": case.onset,
           "expected_rule": case.expected, "observed_rule": observed,
           "minutes_to_flag": minutes, "bound_minutes": case.bound,
           "matches_reference": same_floor and same_windows,
           "floor_samples_compared": int(len(floor)),
           "passed": (same_floor and same_windows and observed == case.expected and in_time
                      and never_seen)}
    if case.watch_from:
        out["watched_from_sample"] = case.watch_from
    if case.never is not None:
        out["never_rule"], out["never_rule_reported"] = case.never, not never_seen
    return out


def run_cases(dev, contract) -> dict:
    from bedside.reference.pipeline import Reference
    ref = Reference(contract)
    matrix = cases(contract.constants, contract.safety, int(contract.sample_period_s))
    return {name: run_case(dev, contract, ref, case) for name, case in matrix.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bedside import jsonout, rundir
    from bedside.host_tools.builder.qemu import emulated_targets
    rundir.add_argument(parser, "(after bedside convert)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--port", help="device URL (default: build and start the run's "
                                      "host firmware)")
    where.add_argument("--target", choices=["host", *emulated_targets()], default="host",
                       help="build the run's firmware for this target and run it (host "
                            "program or QEMU board; default host)")
    where.add_argument("--burden", action="store_true",
                       help="no device: compare the floor's candidate rule sets on the "
                            "patients of --patients (RUN_DIR/data/cohort.npz), write "
                            "RUN_DIR/safety_burden.json")
    parser.add_argument("--patients", choices=["development", "validation"],
                        default="development",
                        help="--burden's patients: the training and validation splits "
                             "(development, default) or validation only; never the test "
                             "split, which bedside evaluate reads")
    parser.add_argument("--seed", type=int, default=None,
                        help="bootstrap seed for --burden (default: the run's seed)")
    jsonout.add_argument(parser)


def _device(args, contract):
    """(context manager of the started firmware or None, its URL)."""
    from bedside.host_tools.builder.firmware import build_firmware
    from bedside.host_tools.builder.qemu import HostFirmware, launch
    if args.port:
        return None, args.port
    if args.target == "host":
        fw = HostFirmware(build_firmware(args.run_dir, "host").binary)
    else:
        build_firmware(args.run_dir, args.target)
        fw = launch(args.run_dir, target=args.target, tcp_port=0)
    return fw, None


def run(args: argparse.Namespace) -> int:
    return command.call(safety, args)


def safety(run_dir: Path | None = None, *, port: str | None = None, target: str = "host",
           burden: bool = False, patients: str = "development", seed: int | None = None,
           json: str | None = None) -> int:
    """The safety floor through a device, case by case: `bedside bench safety` as a function."""
    args = command.namespace(add_arguments, 'bench safety', **locals())
    from contextlib import nullcontext

    from rich.console import Console
    from rich.table import Table

    from bedside.contract.manifest import ManifestError
    from bedside.fileio import write_json

    from bedside.host_tools.builder.firmware import BuildError
    from bedside.host_tools.builder.qemu import DeviceStartError
    from bedside.host_tools.link.client import Device, LinkError
    from bedside.reference.pipeline import Contract, RunDirError
    from bedside.host_tools.verify.verifier import Refusal, check_info
    from bedside import jsonout, rundir
    args.run_dir = rundir.owned(rundir.resolve(args.run_dir, "bench safety"), "bench safety")
    if args.burden:
        from bedside import runinfo
        from bedside.bench import safety_burden
        seed = args.seed if args.seed is not None else \
            int(runinfo.load(args.run_dir).get("config", {}).get("seed", 0))
        return safety_burden.run(args.run_dir, seed, args, args.patients)
    try:
        contract = Contract.from_run(args.run_dir)
    except (ManifestError, RunDirError) as e:
        print(f"bedside bench safety: {e}", file=sys.stderr)
        return 2
    if contract.safety is None:
        print(f"bedside bench safety: {args.run_dir}: the run's manifest has no safety floor "
              "(alarm.safety); re-run `bedside convert`", file=sys.stderr)
        return 2
    try:
        fw, url = _device(args, contract)
        with (fw if fw is not None else nullcontext()) as started:
            with Device(url or started.url) as dev:
                check_info(dev.hello(), contract)
                board = dev.info.board
                result = run_cases(dev, contract)
    except BuildError as e:
        print(f"bedside bench safety: firmware build failed: {e}", file=sys.stderr)
        return 2
    except DeviceStartError as e:
        print(f"bedside bench safety: {e}", file=sys.stderr)
        return 3
    except Refusal as e:
        print(f"bedside bench safety: {e}", file=sys.stderr)
        return e.code
    except (LinkError, OSError) as e:
        print(f"bedside bench safety: link error: {e}", file=sys.stderr)
        return 3
    cfg = contract.safety
    report = {"board": board, "seed": SEED, "sample_period_s": contract.sample_period_s,
              "sustain_minutes": cfg["sustain_minutes"],
              "artefact_sustain_minutes": cfg["artefact_sustain_minutes"],
              "frozen_minutes": cfg["frozen_minutes"], "stale_minutes": cfg["stale_minutes"],
              "cases": result, "n_cases": len(result),
              "passed": all(c["passed"] for c in result.values())}
    paths = RunPaths(args.run_dir)
    written = (paths.safety if args.port or args.target == "host"
               else paths.safety_of(args.target))
    write_json(written, report)
    jsonout.emit(args, report)
    table = Table(title=f"safety floor on {board} ({len(result)} cases)")
    for col in ("case", "expected rule", "observed rule", "min to flag", "bound", "= reference",
                ""):
        table.add_column(col)
    for case, c in result.items():
        table.add_row(case, c["expected_rule"], c["observed_rule"],
                      "" if c["minutes_to_flag"] is None else str(c["minutes_to_flag"]),
                      "" if c["bound_minutes"] is None else str(c["bound_minutes"]),
                      "yes" if c["matches_reference"] else "NO",
                      "[green]pass[/]" if c["passed"] else "[red]FAIL[/]")
    console = Console(stderr=jsonout.to_stdout(args))
    console.print(table)
    console.print(f"wrote {written}")
    return 0 if report["passed"] else 1
