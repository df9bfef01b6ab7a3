"""`bedside bench boards RUN_DIR`: build the run's firmware for every board target and
verify each one that runs here.

    bedside bench boards runs/demo
    bedside bench boards runs/demo --targets microbit,riscv32 --simulate 2

Each target is built (`bedside build --target T`); each emulated one is started in QEMU and
verified like a board (simulated patients streamed sample by sample, every window compared
bit for bit with the reference). Writes RUN_DIR/boards.json and prints the same as a table:

    {"targets": {"<target>": {"built": true, "verified_windows": N, "mismatches": 0,
      "text": B, "data": B, "bss": B, "ram_bytes": B, "ram_limit": B,
      "stack_worst_case": B, "instructions_per_inference": N or null}}}

`verified_windows` is 0 for a compile-only target; instructions per inference are the
median cycle count times the target's instructions per tick under `-icount shift=0`
(the board table, firmware/boards.toml), null where nothing ran.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bedside.fileio import write_json


def board_targets() -> list[str]:
    from bedside.host_tools.builder.firmware import TARGETS
    return [name for name in TARGETS if name != "host"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="run directory (after bedside convert)")
    parser.add_argument("--targets", help="comma-separated subset (default: all of "
                                          + ", ".join(board_targets()) + ")")
    parser.add_argument("--simulate", type=int, default=5, metavar="N_PATIENTS",
                        help="simulated patients verified per target (default 5: >= 500 windows)")
    parser.add_argument("--seed", type=int, default=5, help="simulator seed (default 5)")


def verify_target(run_dir: Path, target: str, n_patients: int, seed: int) -> dict:
    """Start the target's firmware in QEMU and stream the patients; the Verifier's summary."""
    from bedside.host_tools.link.client import Device
    from bedside.host_tools.builder.qemu import launch
    from bedside.reference.pipeline import Contract, Reference
    from bedside.sources.streams import simulated
    from bedside.host_tools.verify.verifier import Verifier
    contract = Contract.from_run(run_dir)
    streams, _ = simulated(n_patients, seed)
    with launch(run_dir, target, tcp_port=0) as dev, Device(dev.url, timeout=5.0) as link:
        v = Verifier(link, contract, Reference(contract))
        v.handshake()
        for pid, raw in streams:
            v.stream_patient(pid, raw)
        return v.summary()


def bench_target(run_dir: Path, target: str, n_patients: int, seed: int) -> dict:
    from bedside.host_tools.builder.firmware import TARGETS, BuildError, build_firmware
    spec = TARGETS[target]
    try:
        b = build_firmware(run_dir, target)
    except BuildError as e:
        return {"built": False, "error": str(e).splitlines()[0], "verified_windows": 0,
                "mismatches": 0, "ram_limit": spec.ram_limit, "instructions_per_inference": None}
    row = {"built": True, "verified_windows": 0, "mismatches": 0, "text": b.text,
           "data": b.data, "bss": b.bss, "ram_bytes": b.ram_bytes, "ram_limit": b.ram_limit,
           "stack_worst_case": b.stack_worst_case, "instructions_per_inference": None}
    if spec.qemu:
        s = verify_target(run_dir, target, n_patients, seed)
        row["verified_windows"] = s["counts"]["verified"]
        # every window sent and not verified bit-exact: mismatched or never answered
        row["mismatches"] = s["counts"]["windows_sent"] - s["counts"]["verified"]
        if s.get("cycles"):
            row["instructions_per_inference"] = round(s["cycles"]["median"] * spec.insn_per_tick)
    return row


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from bedside.host_tools.builder.firmware import TARGETS
    from bedside.rundir import RunPaths
    console = Console(width=max(Console().width, 128))
    targets = board_targets() if not args.targets else [t.strip() for t in args.targets.split(",")]
    unknown = [t for t in targets if t not in board_targets()]
    if unknown:
        console.print(f"[red]error:[/] unknown target {', '.join(unknown)}: choose from "
                      f"{', '.join(board_targets())}")
        return 2
    paths = RunPaths(args.run_dir)
    if not (paths.gen_dir / "model_config.h").is_file():
        console.print(f"[red]error:[/] {paths.gen_dir} not found "
                      "(bedside convert RUN_DIR first)")
        return 2
    from bedside import rundir
    rundir.owned(args.run_dir, "bench boards")      # boards.json and the builds go there
    rows = {}
    for t in targets:
        with console.status(f"{t}: building and verifying ..."):
            rows[t] = bench_target(args.run_dir, t, args.simulate, args.seed)
    write_json(paths.boards, {"targets": rows})
    table = Table(title=f"boards ({args.run_dir})")
    for col in ("target", "core", "built", "windows verified", "mismatches", "flash B",
                "RAM B / limit", "worst stack B", "instructions / inference"):
        table.add_column(col, no_wrap=True)
    for t, r in rows.items():
        ipi = r["instructions_per_inference"]
        table.add_row(t, TARGETS[t].core, "yes" if r["built"] else f"no: {r['error']}",
                      str(r["verified_windows"]) if TARGETS[t].qemu else "compile only",
                      str(r["mismatches"]), str(r.get("text", 0) + r.get("data", 0)),
                      f"{r.get('ram_bytes', 0)} / {r['ram_limit']}", str(r.get("stack_worst_case", "")),
                      f"{ipi:,}" if ipi else "-")
    console.print(table)
    console.print(f"wrote {args.run_dir / 'boards.json'}")
    ok = all(r["built"] and r["mismatches"] == 0 for r in rows.values())
    return 0 if ok else 1
