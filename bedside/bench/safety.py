"""`bedside bench safety RUN_DIR`: the safety floor on the device, case by case.

A matrix of extreme and missing inputs (docs/safety.md) is streamed sample by sample to
the device (the run's host firmware by default, or `--port`): a normal lead-in of one
window, then the case's condition. For each case the first window whose RESULT flags show
the safety floor tells what the device observed ("alarm" with its rule, "quality", or
"none") and how many samples after the condition began it took. A case passes when the
observation is the expected one AND every window's output, alarm and flags equal the
Python reference (bedside/contract/safety.py). Writes RUN_DIR/safety.json:
{"cases": {"<name>": {"expected", "observed", "reason", "samples_to_flag", "passed"}}}.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from bedside.contract import protocol as p

CONDITION_SAMPLES = 40      # samples of each condition after the lead-in


def cases(k) -> dict[str, tuple[str, dict[str, int], int]]:
    """name -> (expected, {signal: raw value held during the condition}, samples held);
    values a signal table does not have are skipped by the caller."""
    m = k.missing
    return {
        "normal": ("none", {}, CONDITION_SAMPLES),
        "near_arrest": ("alarm", {"hr": 40, "sbp": 60, "dbp": 30, "map": 40, "spo2": 75,
                                  "rr": 6}, CONDITION_SAMPLES),
        "hypotension_map_45": ("alarm", {"map": 45}, CONDITION_SAMPLES),
        "low_sbp_65": ("alarm", {"sbp": 65}, CONDITION_SAMPLES),
        "bradycardia_35": ("alarm", {"hr": 35}, CONDITION_SAMPLES),
        "tachycardia_160": ("alarm", {"hr": 160}, CONDITION_SAMPLES),
        "hypoxaemia_80": ("alarm", {"spo2": 80}, CONDITION_SAMPLES),
        "bradypnoea_5": ("alarm", {"rr": 5}, CONDITION_SAMPLES),
        "tachypnoea_40": ("alarm", {"rr": 40}, CONDITION_SAMPLES),
        "transient_map_45": ("none", {"map": 45}, 2),           # shorter than sustain
        "all_missing": ("quality", {n: m for n in k.names}, CONDITION_SAMPLES),
        "spo2_probe_off": ("quality", {"spo2": m}, CONDITION_SAMPLES),
        "hr_implausible_500": ("quality", {"hr": 500}, CONDITION_SAMPLES),
        "temp_missing_only": ("none", {"temp": m}, CONDITION_SAMPLES),
    }


def case_stream(k, values: dict[str, int], held: int, lead: int) -> np.ndarray:
    """Population centres for `lead` samples, then `values` for `held` samples, then
    centres again up to the end of the condition period."""
    n = lead + max(held, CONDITION_SAMPLES)
    raw = np.tile(k.center.astype(np.int16), (n, 1))
    for name, value in values.items():
        if name in k.names:
            raw[lead:lead + held, k.names.index(name)] = value
    return raw


def observe(results: list[p.Result], onset: int, cfg: dict, k) -> tuple[str, str, int | None]:
    from bedside.contract.safety import reason_name
    for r in results:
        if r.sample_index < onset:
            continue
        reason = r.flags >> p.RESULT_REASON_SHIFT
        if reason:
            return "alarm", reason_name(reason, cfg, k), r.sample_index - onset + 1
        if r.flags & p.RESULT_FLAG_QUALITY:
            return "quality", "", r.sample_index - onset + 1
    return "none", "", None


def run_cases(dev, contract) -> dict:
    from bedside.reference.pipeline import Reference
    ref = Reference(contract)
    k, cfg = contract.constants, contract.safety
    lead = contract.window_length
    out = {}
    for name, (expected, values, held) in cases(k).items():
        raw = case_stream(k, values, held, lead)
        want = ref.patient(raw)
        dev.reset()
        results: list[p.Result] = []
        for i in range(0, len(raw), contract.stride):
            results += dev.send_samples(raw[i:i + contract.stride])[1]
        exact = (len(results) == len(want.ends) and all(
            r.output_q.tolist() == want.output[j].tolist() and r.alarm == want.alarm[j]
            and (r.flags & ~p.RESULT_FLAG_CALIBRATED) == want.safety[j]
            for j, r in enumerate(results)))
        observed, reason, samples = observe(results, lead, cfg, k)
        out[name] = {"expected": expected, "observed": observed, "reason": reason,
                     "samples_to_flag": samples, "matches_reference": exact,
                     "passed": exact and observed == expected}
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bedside import jsonout, rundir
    rundir.add_argument(parser, "(after bedside convert)")
    parser.add_argument("--port", help="device URL (default: build and start the run's "
                                       "host firmware)")
    jsonout.add_argument(parser)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from bedside.contract.manifest import ManifestError
    from bedside.fileio import write_json

    from bedside.host_tools.build.firmware import BuildError, build_firmware
    from bedside.host_tools.link.client import Device, LinkError
    from bedside.host_tools.build.qemu import HostFirmware
    from bedside.reference.pipeline import Contract, RunDirError
    from bedside.host_tools.verify.verifier import Refusal, check_info
    from bedside import jsonout, rundir
    args.run_dir = rundir.owned(rundir.resolve(args.run_dir, "bench safety"), "bench safety")
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
        if args.port:
            with Device(args.port) as dev:
                check_info(dev.hello(), contract)
                result = run_cases(dev, contract)
        else:
            binary = build_firmware(args.run_dir, "host").binary
            with HostFirmware(binary) as fw, Device(fw.url) as dev:
                check_info(dev.hello(), contract)
                result = run_cases(dev, contract)
    except BuildError as e:
        print(f"bedside bench safety: firmware build failed: {e}", file=sys.stderr)
        return 2
    except Refusal as e:
        print(f"bedside bench safety: {e}", file=sys.stderr)
        return e.code
    except (LinkError, OSError) as e:
        print(f"bedside bench safety: link error: {e}", file=sys.stderr)
        return 3
    report = {"cases": result, "sustain_samples": contract.safety["sustain_samples"],
              "passed": all(c["passed"] for c in result.values())}
    write_json(args.run_dir / "safety.json", report)
    jsonout.emit(args, report)
    table = Table(title=f"safety floor ({len(result)} cases)")
    for col in ("case", "expected", "observed", "rule", "samples to flag", "= reference", ""):
        table.add_column(col)
    for name, c in result.items():
        table.add_row(name, c["expected"], c["observed"], c["reason"],
                      "" if c["samples_to_flag"] is None else str(c["samples_to_flag"]),
                      "yes" if c["matches_reference"] else "NO",
                      "[green]pass[/]" if c["passed"] else "[red]FAIL[/]")
    console = Console(stderr=jsonout.to_stdout(args))
    console.print(table)
    console.print(f"wrote {args.run_dir / 'safety.json'}")
    return 0 if report["passed"] else 1
