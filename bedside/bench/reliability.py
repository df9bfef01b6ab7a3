"""`bedside bench reliability RUN_DIR`: verification under link faults, fuzzing, stack budget.

    bedside bench reliability runs/demo                       # host firmware, 60 s of fuzzing
    bedside bench reliability runs/demo --target mps2-an386 --fuzz-seconds 300

For each fault profile (clean, 1 % corrupt, 1 % drop, both, duplicates, delays, a device
that stops answering) the run's firmware is verified through bedside.host_tools.link.faultlink and the
windows sent / verified / lost, false mismatches and retries are counted. Then the
libFuzzer harnesses (firmware/fuzz/) run under ASan/UBSan, and the Cortex-M build's
worst-case stack is compared with a budget. Prints a table and writes
RUN_DIR/reliability.json (docs/reliability.md).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bedside.fileio import write_json
from bedside.kitfiles import FIRMWARE_DIR
from bedside.rundir import RunPaths

from bedside.host_tools.link.faultlink import FaultLink, Faults

FUZZ_DIR = FIRMWARE_DIR / "fuzz"
FUZZERS = ("frame_decoder", "preprocess")     # need no model
MODEL_FUZZERS = ("app",)                      # the whole request path of the run's firmware
STACK_BUDGET = 4096

# name -> (faults in each direction, stall after this many device->host bytes)
PROFILES: dict[str, tuple[Faults, int | None]] = {
    "clean": (Faults(), None),
    "corrupt 1%": (Faults(corrupt=0.01), None),
    "drop 1%": (Faults(drop=0.01), None),
    "corrupt 1% + drop 1%": (Faults(corrupt=0.01, drop=0.01), None),
    "duplicate 1%": (Faults(duplicate=0.01), None),
    "delays < timeout": (Faults(delay=0.002, delay_s=0.03), None),
    "delays > timeout": (Faults(delay=0.0005, delay_s=0.3), None),
    "device stops answering": (Faults(), 300),
    "corrupt 5% + drop 5%": (Faults(corrupt=0.05, drop=0.05), None),
    "corrupt 10% + drop 10%": (Faults(corrupt=0.1, drop=0.1), None),
}
# Profiles whose target is weaker: a clean link error (verify's exit 3) is an accepted
# outcome, a false mismatch never is.
HARSH = {"corrupt 10% + drop 10%"}


def parse_faults(spec: str) -> tuple[str, Faults]:
    """"corrupt=0.05,drop=0.05" -> ("corrupt 5% + drop 5%", Faults(...)); ValueError names
    the bad part."""
    rates = {}
    for part in spec.split(","):
        key, _, value = part.strip().partition("=")
        if key not in ("corrupt", "drop", "duplicate", "delay"):
            raise ValueError(f"--faults {spec!r}: unknown fault {key!r} (corrupt, drop, "
                             "duplicate, delay)")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"--faults {spec!r}: {key}={value!r} is not a number") from None
        if not 0 <= rate < 1:
            raise ValueError(f"--faults {spec!r}: {key}={value} must be a rate in [0, 1)")
        rates[key] = rate
    name = " + ".join(f"{k} {100 * v:g}%" for k, v in rates.items())
    return name, Faults(**rates)


def profile_passed(name: str, r: dict) -> bool:
    if "detected" in r:                               # the device-stop profile
        return bool(r["detected"])
    if r["false_mismatches"]:
        return False
    return r["lost"] == 0 or (name in HARSH and r["outcome"].startswith("link error"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bedside import rundir
    rundir.add_argument(parser, "(after bedside convert)")
    parser.add_argument("--target", default="host", choices=["host", "mps2-an386"],
                        help="device: host firmware (default) or QEMU Cortex-M4")
    parser.add_argument("--simulate", type=int, default=2, metavar="N",
                        help="simulated patients per profile (default 2)")
    parser.add_argument("--max-samples", type=int, default=600,
                        help="samples per patient (default 600; 0: whole stream)")
    parser.add_argument("--seed", type=int, default=2026, help="simulator and fault seed")
    parser.add_argument("--timeout", type=float, default=0.2, help="reply timeout, s")
    parser.add_argument("--profiles", help="comma-separated subset of: " + ", ".join(PROFILES).replace("%", "%%"))
    parser.add_argument("--faults", action="append", metavar="SPEC",
                        help="a profile of per-byte rates in both directions, e.g. "
                             "corrupt=0.05,drop=0.05 (repeatable; without --profiles only "
                             "these run)")
    parser.add_argument("--no-probes", action="store_true",
                        help="skip the hostile probes (bedside/bench/probes.py)")
    parser.add_argument("--fuzz-seconds", type=float, default=60.0,
                        help="seconds per fuzz harness (0: skip fuzzing)")
    parser.add_argument("--stack-budget", type=int, default=STACK_BUDGET,
                        help=f"Cortex-M worst-case stack budget, bytes (default {STACK_BUDGET})")
    parser.add_argument("--no-stack", action="store_true", help="skip the Cortex-M stack report")
    parser.add_argument("--no-hostile", action="store_true",
                        help="skip the hostile-input corpus (bedside/bench/hostile.py: every "
                             "command against bad inputs; about 3 minutes)")


# ----------------------------------------------------------------------- link profiles

def run_profile(run_dir: Path, device_url: str, name: str, faults: Faults,
                stall_after: int | None, streams, seed: int, timeout: float,
                retries: int = 5, build: dict | None = None) -> dict:
    """Verify `streams` through a FaultLink; count what arrived. `build`: the identity the
    firmware's build recorded, checked in the handshake like `bedside verify --target`."""
    from bedside.host_tools.link.client import Device, DeviceSilent, LinkError
    from bedside.reference.pipeline import Contract, Reference
    from bedside.host_tools.verify.verifier import Refusal, Verifier
    contract = Contract.from_run(run_dir)
    out = {"profile": name, "faults": faults.__dict__, "stall_after_bytes": stall_after}
    t0 = time.perf_counter()
    with FaultLink(device_url, faults, faults, seed=seed, stall_after_bytes=stall_after) as link:
        dev = Device(link.url, timeout=timeout, retries=retries)
        v = Verifier(dev, contract, Reference(contract), build=build)
        outcome = "passed"
        try:
            v.handshake()
            for pid, raw in streams:
                v.stream_patient(pid, raw)
        except Refusal as e:        # a damaged INFO taken for the device's: a false refusal
            outcome = f"refused (exit {e.code}): {e}"
        except DeviceSilent as e:
            outcome = f"device not answering: {e}"
        except LinkError as e:
            outcome = f"link error: {e}"
        finally:
            dev.close()
        t_end = time.perf_counter()
        elapsed = t_end - t0
        stalled_at = link.stalled_at
        fault_counts = link.stats()["counters"]
    L, S = contract.window_length, contract.stride
    sent = sum(max(0, (len(r) - L) // S + 1) for _, r in streams)
    missing = sum(1 for m in v.mismatches if m.what == "missing")
    verified = v.verified
    out.update({
        "sent": sent, "verified": verified,
        "lost": sent - verified - (v.mismatched - missing),
        "false_mismatches": v.mismatched - missing,
        "retries": dev.counters.retries, "timeouts": dev.counters.timeouts,
        "naks": dev.counters.naks, "bad_frames": dev.counters.bad_frames,
        "patient_restarts": v.restarts, "outcome": outcome, "elapsed_s": round(elapsed, 3),
        "bytes_damaged": {k: {f: c[f] for f in ("dropped", "corrupted", "duplicated", "delayed")}
                          for k, c in fault_counts.items()},
    })
    if stall_after is not None:
        # detection time: from the stall to the DeviceSilent verdict
        out["detected"] = outcome.startswith("device not answering")
        out["detection_s"] = round(t_end - stalled_at, 3) if stalled_at else None
        # a request's attempts all time out: (retries + 1) x timeout; if a reply was half
        # through when the device stopped, that request fails as a link error first and the
        # patient restarts (verify._stream), whose RESET then meets the silence: twice that
        out["bound_s"] = round(2 * (retries + 1) * timeout, 3)
    return out


# ----------------------------------------------------------------------------- fuzzing

def build_fuzzers(build_dir: Path, run_dir: Path | None = None) -> dict[str, Path]:
    """Configure and build firmware/fuzz with clang; returns name -> binary. With a run,
    also the harness of the whole request path on its generated model (fuzz_app)."""
    from bedside.host_tools.builder.firmware import configure_and_build, gen_dir_of
    if shutil.which("clang++") is None:
        raise RuntimeError("clang++ not found: libFuzzer needs clang (apt install clang)")
    options = {"CMAKE_CXX_COMPILER": "clang++", "CMAKE_BUILD_TYPE": "Debug"}
    names = FUZZERS
    if run_dir is not None:
        options["BEDSIDE_GEN_DIR"] = str(gen_dir_of(Path(run_dir)).resolve())
        names += MODEL_FUZZERS
    configure_and_build(FUZZ_DIR, Path(build_dir), options, "host")
    return {n: Path(build_dir) / f"fuzz_{n}" for n in names}


def run_fuzzer(binary: Path, name: str, seconds: float | None = None, runs: int | None = None,
               seed: int = 1, work: Path | None = None) -> dict:
    """Run one harness on a copy of its committed corpus; parse libFuzzer's report."""
    work = Path(work or tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    corpus, artifacts = work / "corpus", work / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(exist_ok=True)
    cmd = [str(binary), f"-seed={seed}", "-print_final_stats=1", "-timeout=10",
           "-rss_limit_mb=1024", f"-artifact_prefix={artifacts}/"]
    cmd += [f"-max_total_time={max(1, int(seconds))}"] if seconds else []
    cmd += [f"-runs={runs}"] if runs else []
    cmd += [str(corpus), str(FUZZ_DIR / "corpus" / name)]
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    log = proc.stdout + proc.stderr
    (work / "fuzz.log").write_text(log)
    done = re.findall(r"#(\d+)\s+(?:DONE|INITED|NEW|REDUCE|pulse)\s+cov: (\d+) ft: (\d+) "
                      r"corp: (\d+)", log)
    execs = re.search(r"stat::number_of_executed_units: (\d+)", log)
    findings = re.findall(r"(ERROR: \w+Sanitizer[^\n]*|runtime error:[^\n]*|"
                          r"ERROR: libFuzzer:[^\n]*)", log)
    crashes = sorted(p.name for p in artifacts.iterdir())
    return {"harness": name, "executions": int(execs.group(1)) if execs else
            (int(done[-1][0]) if done else 0),
            "cov": int(done[-1][1]) if done else 0, "features": int(done[-1][2]) if done else 0,
            "corpus": int(done[-1][3]) if done else 0, "crashes": len(crashes) + (
                1 if proc.returncode != 0 and not crashes else 0),
            "artifacts": crashes, "sanitizer_findings": findings[:5], "seed": seed,
            "seconds": round(time.perf_counter() - t0, 2), "exit_code": proc.returncode,
            "log": str(work / "fuzz.log")}


# ------------------------------------------------------------------------------- stack

def stack_report(run_dir: Path, budget: int, target: str = "mps2-an386",
                 build_dir: Path | None = None) -> dict:
    """Build the Cortex-M firmware with -fcallgraph-info=su and check its stack budget."""
    from bedside.host_tools.builder.callgraph import callgraph_stack
    from bedside.host_tools.builder.firmware import FIRMWARE_DIR, configure_and_build, gen_dir_of
    build_dir = Path(build_dir or RunPaths(run_dir).firmware_dir(f"{target}-stack"))
    flags = "-fcallgraph-info=su"
    configure_and_build(FIRMWARE_DIR, build_dir, {
        "BEDSIDE_TARGET": target, "BEDSIDE_BACKEND": "compiled",
        "BEDSIDE_GEN_DIR": str(gen_dir_of(Path(run_dir)).resolve()),
        "CMAKE_BUILD_TYPE": "Release", "CMAKE_C_FLAGS": flags, "CMAKE_CXX_FLAGS": flags}, target)
    r = callgraph_stack(build_dir)
    r.update({"target": target, "budget_bytes": budget,
              "within_budget": r["worst_case_bytes"] <= budget})
    return r


# ------------------------------------------------------------------------------ command

def streams_for(n: int, seed: int, max_samples: int):
    from bedside.sources.streams import simulated
    streams, _ = simulated(n, seed)
    return [(pid, raw[:max_samples] if max_samples else raw) for pid, raw in streams]


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from bedside.host_tools.builder.firmware import BuildError, build_firmware
    from bedside.host_tools.builder.qemu import launch
    console = Console()
    from bedside import rundir
    run_dir = rundir.owned(rundir.resolve(args.run_dir, "bench reliability"),
                            "bench reliability")
    profiles = dict(PROFILES)
    custom = []
    try:
        for spec in args.faults or []:
            name, faults = parse_faults(spec)
            profiles[name] = (faults, None)
            custom.append(name)
    except ValueError as e:
        console.print(f"[red]error:[/] {e}", soft_wrap=True)
        return 2
    names = custom if custom and not args.profiles else list(PROFILES)
    if args.profiles:
        names = [s.strip() for s in args.profiles.split(",")] + custom
    unknown = [n for n in names if n not in profiles]
    if unknown:
        console.print(f"[red]error:[/] unknown profile(s) {unknown}; choose from {list(PROFILES)}")
        return 2
    if not RunPaths(run_dir).manifest.is_file():
        console.print(f"[red]error:[/] {RunPaths(run_dir).manifest} not found "
                      "(bedside convert RUN_DIR first)", style=None)
        return 2
    try:
        identity = build_firmware(run_dir, args.target).identity   # incremental: matches int8/ now
    except BuildError as e:
        console.print(f"[red]error:[/] cannot build the {args.target} firmware: {e}")
        return 2
    streams = streams_for(args.simulate, args.seed, args.max_samples)
    probes: dict[str, dict] = {}
    report: dict = {"run_dir": str(run_dir), "target": args.target, "seed": args.seed,
                    "timeout_s": args.timeout, "patients": len(streams), "profiles": {}}
    for name in names:
        faults, stall = profiles[name]
        with launch(run_dir, args.target, tcp_port=0) as dev:
            console.print(f"profile [bold]{name}[/] ...")
            r = run_profile(run_dir, dev.url, name, faults, stall, streams, args.seed,
                            args.timeout, build=identity)
        report["profiles"][name] = r
    if args.fuzz_seconds > 0:
        build = RunPaths(run_dir).firmware_dir("fuzz")
        bins = build_fuzzers(build, run_dir)
        report["fuzzing"] = {}
        for n, b in bins.items():
            console.print(f"fuzzing [bold]{n}[/] for {args.fuzz_seconds:g} s ...")
            report["fuzzing"][n] = run_fuzzer(b, n, seconds=args.fuzz_seconds, seed=args.seed,
                                              work=build / f"run-{n}")
    if not args.no_stack and shutil.which("arm-none-eabi-gcc"):
        try:
            report["stack"] = stack_report(run_dir, args.stack_budget)
        except BuildError as e:
            report["stack"] = {"error": str(e).splitlines()[0], "within_budget": False}
    if not args.no_probes:
        from .probes import PROBES, run_probe
        binary = build_firmware(run_dir, "host").binary     # probes drive the host port
        for name in PROBES:
            console.print(f"probe [bold]{name}[/] ...")
            probes[name] = run_probe(name, run_dir, binary)
    if not args.no_hostile:
        from .hostile import run_corpus
        console.print("hostile-input corpus (every command) ...")
        import tempfile
        with tempfile.TemporaryDirectory(prefix="bedside-hostile-") as work:
            report["hostile"], results = run_corpus(run_dir, Path(work) / "corpus")
        console.print(f"hostile corpus: {report['hostile']['passed']}/"
                      f"{report['hostile']['cases']} cases passed")
        for command, s in report["hostile"]["per_command"].items():
            failed = [r["name"] for r in results if r["command"] == command and not r["passed"]]
            probes[f"hostile: {command}"] = {
                "passed": not failed,
                "detail": f"{s['passed']}/{s['cases']} cases: exit code in the table, one "
                          "line, no traceback, nothing outside its folders changed"
                          + (f"; failed: {', '.join(failed)}" if failed else "")}
    for name, r in report["profiles"].items():
        probes[f"link: {name}"] = {"passed": profile_passed(name, r),
                                   "detail": f"{r['verified']}/{r['sent']} verified, {r['lost']} "
                                   f"lost, {r['false_mismatches']} false mismatches: "
                                   f"{r['outcome'][:120]}"}
    for name, f in report.get("fuzzing", {}).items():
        probes[f"fuzz: {name}"] = {"passed": f["crashes"] == 0 and not f["sanitizer_findings"],
                                   "detail": f"{f['executions']} executions, {f['crashes']} "
                                   f"crashes, cov {f['cov']}"}
    report["probes"] = probes
    ok = all(pr["passed"] for pr in probes.values())
    ok &= report.get("stack", {}).get("within_budget", True)
    report["passed"] = bool(ok)
    out = run_dir / "reliability.json"
    write_json(out, report)
    print_report(console, report)
    console.print(f"wrote {out}")
    return 0 if ok else 1


def print_report(console, report: dict) -> None:
    from rich.table import Table
    t = Table(title=f"link faults ({report['target']} firmware)")
    for col in ("profile", "sent", "verified", "lost", "false mismatches", "retries", "outcome"):
        t.add_column(col)
    for name, r in report["profiles"].items():
        outcome = r["outcome"]
        if "detected" in r:
            outcome = (f"detected in {r['detection_s']:.2f} s (bound {r['bound_s']:g} s)"
                       if r["detected"] else "NOT detected: " + outcome)
        t.add_row(name, str(r["sent"]), str(r["verified"]), str(r["lost"]),
                  str(r["false_mismatches"]), str(r["retries"]), outcome[:60])
    console.print(t)
    if report.get("fuzzing"):
        f = Table(title="fuzzing (libFuzzer + ASan/UBSan)")
        for col in ("harness", "executions", "cov", "features", "crashes", "findings"):
            f.add_column(col)
        for n, r in report["fuzzing"].items():
            f.add_row(n, str(r["executions"]), str(r["cov"]), str(r["features"]),
                      str(r["crashes"]), str(len(r["sanitizer_findings"])))
        console.print(f)
    s = report.get("stack")
    if s and "error" in s:
        console.print(f"[red]Cortex-M stack report failed:[/] {s['error']}")
    elif s:
        console.print(f"Cortex-M stack ({s['target']}): worst case {s['worst_case_bytes']} B "
                      f"(thread {s['thread_bytes']} + interrupt {s['isr_bytes']}) vs budget "
                      f"{s['budget_bytes']} B: {'ok' if s['within_budget'] else 'OVER'}; path "
                      + " > ".join(s["path"][:8]))
    if report.get("probes"):
        t = Table(title="probes")
        for col in ("probe", "passed", "detail"):
            t.add_column(col)
        for n, r in report["probes"].items():
            t.add_row(n, "yes" if r["passed"] else "[red]NO[/]", r["detail"][:110])
        console.print(t)
    console.print("[bold green]PASSED[/]" if report["passed"] else "[bold red]FAILED[/]")
