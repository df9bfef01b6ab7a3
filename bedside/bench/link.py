"""`bedside bench link --port URL RUN_DIR`: how fast verification runs over a link.

Two measurements with the same simulated patients and full bit-exact checking:
1. rate-limited: through a UART relay at `--baud` (default 115,200; 8N1 = 11,520 bytes/s),
   link utilisation = bytes on the wire (both directions; stop-and-wait uses one at a time)
   per second over the line's capacity. Target: >= 90 %.
2. unthrottled: straight to URL (pty/TCP), windows verified per second.
`--no-relay` measures the port as it is (a real cable is already rate-limited).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bedside import jsonout

TARGET_UTILISATION = 0.90


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bedside import rundir
    rundir.add_argument(parser, "(after bedside convert)")
    parser.add_argument("--port", required=True, help="device URL (pty, socket://, /dev/tty*)")
    parser.add_argument("--baud", type=int, default=115200, help="emulated line rate")
    parser.add_argument("--simulate", type=int, default=2, metavar="N_PATIENTS",
                        help="simulated patients per measurement (default 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-relay", action="store_true",
                        help="do not rate-limit: the port is a real UART already")
    jsonout.add_argument(parser)


def measure(url: str, run_dir: Path, n_patients: int, seed: int, baudrate: int) -> dict:
    from bedside.host_tools.link.client import Device
    from bedside.reference.pipeline import Contract, Reference
    from bedside.sources.streams import simulated
    from bedside.host_tools.verify.verifier import Verifier
    contract = Contract.from_run(run_dir)
    streams, _ = simulated(n_patients, seed)
    with Device(url, baudrate=baudrate, timeout=5.0) as dev:
        v = Verifier(dev, contract, Reference(contract))
        v.handshake()
        for pid, raw in streams:
            v.stream_patient(pid, raw)
        return v.summary()


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from bedside.host_tools.link.throttle import UartRelay
    from bedside.host_tools.verify.verifier import Refusal
    console = Console(stderr=jsonout.to_stdout(args))
    results = {}
    try:
        if args.no_relay:
            results["rate_limited"] = measure(args.port, args.run_dir, args.simulate, args.seed,
                                              args.baud)
        else:
            with UartRelay(args.port, args.baud) as relay:
                results["rate_limited"] = measure(relay.url, args.run_dir, args.simulate,
                                                  args.seed, args.baud)
            results["unthrottled"] = measure(args.port, args.run_dir, args.simulate,
                                             args.seed, args.baud)
    except Refusal as e:
        console.print(f"[red]refused:[/] {e}")
        return e.code
    ok = all(r["passed"] for r in results.values())
    rl = results["rate_limited"]["throughput"]
    util = rl["link_utilisation"]
    console.print(f"rate-limited at {args.baud} baud: link utilisation {100 * util:.1f} % "
                  f"({rl['wire_bytes_per_s']:.0f} of {rl['capacity_bytes_per_s']:.0f} B/s; "
                  f"payload {rl['payload_bytes_per_s']:.0f} B/s), "
                  f"{rl['windows_per_s']:.1f} windows/s, "
                  f"target >= {100 * TARGET_UTILISATION:.0f} %: "
                  + ("[green]met[/]" if util >= TARGET_UTILISATION else "[red]missed[/]"))
    if "unthrottled" in results:
        ut = results["unthrottled"]["throughput"]
        console.print(f"unthrottled ({args.port}): {ut['windows_per_s']:.0f} windows/s, "
                      f"{ut['samples_per_s']:.0f} samples/s, {ut['wire_bytes_per_s']:.0f} B/s")
    n = {k: r["counts"]["verified"] for k, r in results.items()}
    console.print(f"windows verified bit-exact: {n}" + ("" if ok else " [red]MISMATCHES[/]"))
    jsonout.emit(args, {k: {"throughput": r["throughput"], "counts": r["counts"]}
                        for k, r in results.items()})
    return 0 if ok else 1
