"""`bedside verify --port URL RUN_DIR`: stream test signals to a device, check every output.

    bedside verify --port socket://127.0.0.1:5555 runs/demo --simulate 10
    bedside verify --port /dev/ttyACM0 runs/demo --data cohort.npz --realtime
    bedside verify --port /dev/pts/7 runs/demo --windows-mode --warmup 5

Exit codes (docs/verify.md): 0 all bit-exact, 1 mismatch, 2 bad input, 3 link error,
4 model hash, 5 preprocessing hash, 6 shape/quantization, 7 protocol version,
8 device not answering.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import verify as v
from .argtypes import NONNEG_INT, POSITIVE_FLOAT, POSITIVE_INT


DEFAULT_SPLIT_PATIENTS = 20     # keeps the default (test split) run to about a minute


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path,
                        help="run directory with int8/model.tflite and int8/manifest.json")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port",
                       help="serial URL: /dev/ttyUSB0, a pty path, socket://host:port, "
                            "rfc2217://host:port, loop://")
    from .qemu import emulated_targets
    where.add_argument("--target", choices=["host", *emulated_targets()],
                       help="start the run's built firmware (bedside build) on this machine "
                            "(host program or QEMU) and verify it")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="FILE", help="cohort .npz, PhysioNet .psv or CSV")
    src.add_argument("--simulate", type=POSITIVE_INT, metavar="N_PATIENTS",
                     help="stream N simulated patients (training.simulator)")
    parser.add_argument("--seed", type=NONNEG_INT, default=2026,
                        help="simulator seed (default 2026)")
    parser.add_argument("--max-patients", type=POSITIVE_INT,
                        help="stop after this many patients (default: all of --data/--simulate, "
                             f"the first {DEFAULT_SPLIT_PATIENTS} of the run's test split)")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--realtime", action="store_true",
                      help="one sample per sample period (60 s), like real sensors")
    pace.add_argument("--speed", type=POSITIVE_FLOAT, metavar="X",
                      help="X times real time (default: as fast as the link allows)")
    parser.add_argument("--windows-mode", action="store_true",
                        help="send int8 windows directly (INFER, model only) instead of samples")
    parser.add_argument("--max-windows", type=POSITIVE_INT, metavar="N",
                        help="windows mode: stop after N windows in total")
    parser.add_argument("--warmup", type=NONNEG_INT, default=3,
                        help="warm-up inferences per patient in windows mode (default 3)")
    parser.add_argument("--baud", type=POSITIVE_INT, default=115200,
                        help="baud rate (real ports) and the capacity utilisation refers to")
    parser.add_argument("--timeout", type=POSITIVE_FLOAT, default=2.0, help="reply timeout, s")
    parser.add_argument("--retries", type=NONNEG_INT, default=5, help="re-sends per request")
    parser.add_argument("--float", dest="float_mode", default="auto",
                        choices=["auto", "keras", "tflite", "none"],
                        help="float Student to compare with (auto: float .tflite, else Keras "
                             "if TensorFlow is installed, else skipped)")
    parser.add_argument("--out", type=Path, help="report folder (default RUN_DIR/verify)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--protocol-version", type=int, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    console = Console(stderr=False)
    err = Console(stderr=True)
    try:
        if args.target:
            from .qemu import DeviceStartError, launch
            try:
                with launch(args.run_dir, target=args.target, tcp_port=0) as dev:
                    args.port = dev.url
                    console.print(f"started {args.target} firmware: --port {dev.url}")
                    report, code = verify_run(args, console)
            except DeviceStartError as e:
                err.print(f"[bold red]cannot start the device:[/] {e}", soft_wrap=True)
                return v.EXIT_LINK
        else:
            report, code = verify_run(args, console)
    except v.Refusal as e:
        err.print(f"[bold red]refused:[/] {e}", soft_wrap=True)
        return e.code
    except _InputError as e:
        err.print(f"[bold red]error:[/] {e}", soft_wrap=True)
        return v.EXIT_USAGE
    except _NoAnswer as e:
        err.print(f"[bold red]device not answering:[/] {e}", soft_wrap=True)
        return v.EXIT_NO_ANSWER
    except _LinkFailure as e:
        err.print(f"[bold red]link error:[/] {e}", soft_wrap=True)
        return v.EXIT_LINK
    return code


class _InputError(Exception):
    pass


class _LinkFailure(Exception):
    pass


class _NoAnswer(Exception):
    """The device stopped answering (link.DeviceSilent): exit 8, not a mismatch."""


def verify_run(args: argparse.Namespace, console) -> tuple[dict, int]:
    from bedside import fileio
    from bedside.contract.manifest import ManifestError
    from bedside.contract import protocol as p
    from . import reports, sources
    from .link import Device, LinkError
    from .reference import FloatModel, Reference, RunDirError

    run_dir = args.run_dir
    out_dir = args.out or run_dir / "verify"
    try:
        contract = v.load_contract(run_dir)
        limit = args.max_patients
        if limit is None and args.data is None and args.simulate is None:
            limit = DEFAULT_SPLIT_PATIENTS
        streams, desc = sources.select(run_dir, args.data, args.simulate, args.seed, limit)
        v.check_comparable(streams, desc, contract)
        fileio.check_replaceable(out_dir)      # before the run, not after it
    except (ManifestError, RunDirError, sources.SourceError) as e:
        raise _InputError(str(e)) from None
    except fileio.ForeignDirError as e:
        raise _InputError(f"--out {e.filename}: {e.strerror}") from None
    speed = 1.0 if args.realtime else args.speed
    reference = Reference(contract)
    try:
        dev = Device(args.port, baudrate=args.baud, timeout=args.timeout, retries=args.retries,
                     version=args.protocol_version or p.VERSION)
    except LinkError as e:
        raise _LinkFailure(str(e)) from None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeRemainingColumn
    with dev:
        try:
            verifier = v.Verifier(dev, contract, reference, speed=speed)
            info = verifier.handshake()
            console.print(f"device [bold]{info.board}[/] ({info.backend_name} backend, "
                          f"{info.core_clock_hz / 1e6:g} MHz) on {args.port}: model "
                          f"{info.model_sha256.hex()[:12]}... matches the run")
            mode = "windows" if args.windows_mode else "stream"
            total = sum(len(r) for _, r in streams)
            if args.windows_mode:
                L, S = contract.window_length, contract.stride
                total = sum(max(0, (len(r) - L) // S + 1) for _, r in streams)
                if args.max_windows is not None:
                    total = min(total, args.max_windows)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[status]}"), TimeRemainingColumn(),
                          console=console, transient=False) as progress:
                task = progress.add_task("samples" if mode == "stream" else "windows",
                                         total=total, status="")
                verifier.on_samples = lambda n: progress.advance(task, n)
                for pid, raw in streams:
                    if args.windows_mode:
                        left = (None if args.max_windows is None
                                else args.max_windows - verifier.windows_expected)
                        if left is not None and left <= 0:
                            break
                        verifier.infer_windows(pid, raw, args.warmup, left)
                    else:
                        verifier.stream_patient(pid, raw)
                    progress.update(task, status=f"{verifier.verified} ok, "
                                    f"{verifier.mismatched} mismatched")
        except (LinkError, p.ProtocolError) as e:
            from .link import DeviceSilent
            if isinstance(e, DeviceSilent):
                raise _NoAnswer(str(e)) from None
            raise _LinkFailure(str(e)) from None
    report = verifier.summary()
    float_model, why = FloatModel.load(run_dir, args.float_mode)
    report["float_comparison"] = (verifier.float_comparison(float_model) if float_model
                                  else {"n": 0, "skipped": why})
    report.update({"mode": mode, "port": args.port, "run_dir": str(run_dir), "source": desc,
                   "seed": args.seed, "speed": speed, "device": info.as_dict(),
                   "manifest_model_sha256": contract.model_sha256,
                   "manifest_preproc_sha256": contract.preproc_sha256,
                   "manifest_held_sha256": v.held_sha256(contract).hex()})
    try:
        out = reports.write(out_dir, report, verifier.traces, verifier.cycles,
                            info.core_clock_hz, plots=not args.no_plots)
    except fileio.ForeignDirError as e:         # appeared while the device was verified
        raise _InputError(f"--out {e.filename}: {e.strerror}") from None
    print_summary(console, report, out)
    return report, (v.EXIT_OK if report["passed"] else v.EXIT_MISMATCH)


def utilisation_text(t: dict) -> str:
    if t["link_utilisation"] > 1.05:      # faster than the baud rate: a pty/TCP link
        return f"n/a: link not rate-limited ({t['wire_bytes_per_s']:.0f} B/s)"
    return f"{100 * t['link_utilisation']:.1f} %  ({t['wire_bytes_per_s']:.0f} B/s)"


def print_summary(console, report: dict, out: Path) -> None:
    from rich.table import Table
    c, t, cyc = report["counts"], report["throughput"], report.get("cycles") or {}
    table = Table(title="verification", show_header=False)
    table.add_row("windows sent / verified", f"{c['windows_sent']} / {c['verified']}")
    table.add_row("mismatched", f"{c['mismatched']}")
    table.add_row("link retries", f"{c['retried']}")
    if cyc:
        table.add_row("cycles min / median / max",
                      f"{cyc['min']} / {cyc['median']:.0f} / {cyc['max']}")
    table.add_row("windows per second", f"{t['windows_per_s']:.1f}")
    table.add_row(f"link utilisation at {t['baudrate']} baud", utilisation_text(t))
    fc = report.get("float_comparison") or {}
    if fc.get("n"):
        table.add_row("float vs int8 max abs / RMSE / cosine",
                      f"{fc['max_abs_err']:.4f} / {fc['rmse']:.4f} / {fc['cosine']:.5f}")
    else:
        table.add_row("float comparison", fc.get("skipped", "none"))
    console.print(table)
    for m in report["first_mismatches"][:5]:
        console.print(f"[red]mismatch[/] patient {m['patient']} window {m['window_index']} "
                      f"(sample {m['sample_index']}): {m['what']}: device {m['device']} "
                      f"reference {m['reference']}")
    verdict = "[bold green]PASSED[/]" if report["passed"] else "[bold red]FAILED[/]"
    console.print(f"{verdict}: {c['verified']}/{c['windows_sent']} windows bit-exact. "
                  f"Report: {out / 'report.md'}")


if __name__ == "__main__":
    from .cli import main
    sys.exit(main(["verify"] + sys.argv[1:]))
