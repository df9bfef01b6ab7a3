"""`bedside verify [RUN_DIR] --port URL`: stream test signals to a device, check every output.

    bedside verify --port socket://127.0.0.1:5555 runs/demo --simulate 10
    bedside verify --port /dev/ttyACM0 runs/demo --data cohort.npz --realtime
    bedside verify --port /dev/pts/7 runs/demo --windows-mode --warmup 5

Exit codes (docs/verify.md): 0 all bit-exact, 1 mismatch, 2 bad input, 3 link error,
4 model hash, 5 preprocessing hash, 6 shape/quantization, 7 protocol version,
8 device not answering.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bedside import command, jsonout, rundir

from bedside.host_tools.verify import verifier as v
from bedside.host_tools.argtypes import NONNEG_INT, POSITIVE_FLOAT, POSITIVE_INT
from bedside.rundir import RunPaths


DEFAULT_SPLIT_PATIENTS = 20     # keeps the default (test split) run to about a minute


def add_arguments(parser: argparse.ArgumentParser) -> None:
    rundir.add_argument(parser, "with int8/model.tflite and int8/manifest.json")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port",
                       help="serial URL: /dev/ttyUSB0, a pty path, socket://host:port, "
                            "rfc2217://host:port, loop://")
    from bedside.host_tools.builder.qemu import emulated_targets
    where.add_argument("--target", choices=["host", *emulated_targets()],
                       help="start the run's built firmware (bedside build) on this machine "
                            "(host program or QEMU) and verify it")
    parser.add_argument("--build", type=Path, metavar="BUILD_DIR",
                        help="the `bedside build` folder of the flashed firmware: INFO must "
                             "report its build id, board, clock, backend and formats "
                             "(--target: the run's build of that target)")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="FILE", help="cohort .npz, PhysioNet .psv or CSV")
    src.add_argument("--simulate", type=POSITIVE_INT, metavar="N_PATIENTS",
                     help="stream N simulated patients (bedside.sources.simulator)")
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
    jsonout.add_argument(parser)
    parser.add_argument("--protocol-version", type=int, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    return command.call(verify, args)


def verify(run_dir: Path | None = None, **options) -> int:
    """`bedside verify` as a function: `options` are its long options with `_` for `-`
    (port=URL or target=T, simulate=N, data=FILE, out=DIR, float_mode="none", json=...);
    returns the exit code (docs/verify.md)."""
    args = command.namespace(add_arguments, "verify", run_dir=run_dir, **options)
    from rich.console import Console
    console = Console(stderr=jsonout.to_stdout(args))
    err = Console(stderr=True)
    args.run_dir = rundir.resolve(args.run_dir, "verify")
    known: dict = {}         # what verify_run learnt, for the failing report
    try:
        if args.target:
            from bedside.contract.manifest import ManifestError
            from bedside.reference.pipeline import RunDirError
            from bedside.host_tools.builder.qemu import DeviceStartError, launch
            try:        # the run's input first: no device is started for a bad run
                v.load_contract(args.run_dir)
            except (ManifestError, RunDirError) as e:
                raise _InputError(str(e)) from None
            try:
                with launch(args.run_dir, target=args.target, tcp_port=0) as dev:
                    args.port = dev.url
                    console.print(f"started {args.target} firmware: --port {dev.url}")
                    report, code = verify_run(args, console, known)
            except DeviceStartError as e:
                return _fail(args, known, err, "device_start", v.EXIT_LINK, str(e))
        else:
            report, code = verify_run(args, console, known)
        jsonout.emit(args, report)
    except v.Refusal as e:
        # exit 2 is bad input (e.g. no comparable windows), not a refused device
        kind = "input" if e.code == v.EXIT_USAGE else "refusal"
        return _fail(args, known, err, kind, e.code, str(e))
    except _InputError as e:
        return _fail(args, known, err, "input", v.EXIT_USAGE, str(e))
    except _NoAnswer as e:
        return _fail(args, known, err, "no_answer", v.EXIT_NO_ANSWER, str(e))
    except _LinkFailure as e:
        return _fail(args, known, err, "link", v.EXIT_LINK, str(e))
    return code


_LABELS = {"device_start": "cannot start the device", "refusal": "refused", "input": "error",
           "no_answer": "device not answering", "link": "link error"}


def _fail(args, known: dict, err, kind: str, code: int, message: str) -> int:
    """Write a failing report (never leave a stale passing junit.xml for CI): after a
    refusal, link error or silent device always (when the run directory or --out's parent
    exists); after bad input only over an earlier report; never into a folder bedside did
    not create (bedside/ownership.is_kit_dir). Then say why, as the last line on stderr."""
    from rich.markup import escape

    written = _failing_report(args, known, kind, code, message, err)
    if written is not None:
        err.print(f"failing report: {written / 'report.md'}, {written / 'junit.xml'}",
                  soft_wrap=True)
    err.print(f"[bold red]{_LABELS[kind]}:[/] {escape(message)}", soft_wrap=True)
    return code


def _failing_report(args, known: dict, kind: str, code: int, message: str, err) -> Path | None:
    from bedside import ownership

    from bedside.host_tools.verify import reports
    out = Path(args.out or RunPaths(args.run_dir).verify_dir)
    if not out.parent.is_dir() or not ownership.is_kit_dir(out):
        return None
    if kind == "input" and not (out / "verify.json").is_file():
        return None
    partial: dict = {"port": args.port, "run_dir": str(args.run_dir)}
    verifier, contract = known.get("verifier"), known.get("contract")
    if contract is not None:
        partial.update(manifest_model_sha256=contract.model_sha256,
                       manifest_preproc_sha256=contract.preproc_sha256)
    traces, cycles, clock = [], [], 0
    if verifier is not None:
        partial.update({k: val for k, val in verifier.summary().items() if k != "passed"})
        traces, cycles = verifier.traces, verifier.cycles
        if verifier.dev.info is not None:
            partial["device"] = verifier.dev.info.as_dict()
            clock = verifier.dev.info.core_clock_hz
    report = reports.failure(kind, code, message, **partial)
    try:
        reports.write(out, report, traces, cycles, clock, plots=False)
    except OSError as e:
        err.print(f"(no report written to {out}: {e})", soft_wrap=True)
        return None
    jsonout.emit(args, report)
    return out


class _InputError(Exception):
    pass


class _LinkFailure(Exception):
    pass


class _NoAnswer(Exception):
    """The device stopped answering (link.DeviceSilent): exit 8, not a mismatch."""


def verify_run(args: argparse.Namespace, console, known: dict) -> tuple[dict, int]:
    from bedside import ownership
    from bedside.contract.manifest import ManifestError
    from bedside.contract import protocol as p
    from bedside.host_tools.verify import reports
    from bedside.sources import streams as sources
    from bedside.host_tools.link.client import Device, LinkError
    from bedside.reference.pipeline import FloatModel, RunDirError
    from bedside.reference.stored import INSTALL, StoredReference, reference_for

    run_dir = args.run_dir
    out_dir = args.out or RunPaths(run_dir).verify_dir
    try:
        contract = known["contract"] = v.load_contract(run_dir)
        limit = args.max_patients
        if limit is None and args.data is None and args.simulate is None:
            limit = DEFAULT_SPLIT_PATIENTS
        streams, desc = sources.select(run_dir, args.data, args.simulate, args.seed, limit)
        v.check_comparable(streams, desc, contract)
        ownership.check_replaceable(out_dir, reports.FILES)   # before the run, not after
    except (ManifestError, RunDirError, sources.SourceError) as e:
        raise _InputError(str(e)) from None
    except ownership.ForeignDirError as e:
        raise _InputError(f"--out {e.filename}: {e.strerror}") from None
    build, build_source = _build_identity(args)
    speed = 1.0 if args.realtime else args.speed
    from bedside.reference.tflm import TflmError
    try:
        reference = reference_for(contract)
    except (RunDirError, TflmError) as e:
        raise _InputError(str(e)) from None
    if isinstance(reference, StoredReference) and (args.data or args.simulate is not None):
        raise _InputError("new signals (--data, --simulate) need the TFLM reference, which "
                          f"is not installed: {INSTALL}; without it, verify the run's test "
                          "patients (no --data/--simulate) against the outputs `bedside "
                          "convert` stored")
    try:
        dev = Device(args.port, baudrate=args.baud, timeout=args.timeout, retries=args.retries,
                     version=args.protocol_version or p.VERSION)
    except LinkError as e:
        raise _LinkFailure(str(e)) from None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeRemainingColumn
    with dev:
        try:
            verifier = known["verifier"] = v.Verifier(dev, contract, reference, speed=speed,
                                                      build=build, build_source=build_source)
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
        except RunDirError as e:          # a window the stored reference does not hold
            raise _InputError(str(e)) from None
        except (LinkError, p.ProtocolError) as e:
            from bedside.host_tools.link.client import DeviceSilent
            if isinstance(e, DeviceSilent) and dev.info is not None:
                raise _NoAnswer(str(e)) from None
            if isinstance(e, DeviceSilent):     # never answered HELLO: busy port or nothing
                raise _LinkFailure(f"no device answered HELLO on {args.port} (the port is "
                                   f"busy with another program, or nothing runs there): "
                                   f"{e}") from None
            raise _LinkFailure(str(e)) from None
    report = verifier.summary()
    float_model, why = FloatModel.load(run_dir, args.float_mode)
    report["float_comparison"] = (verifier.float_comparison(float_model) if float_model
                                  else {"n": 0, "skipped": why})
    report.update({"mode": mode, "port": args.port, "run_dir": str(run_dir), "source": desc,
                   "seed": args.seed, "speed": speed, "device": info.as_dict(),
                   "manifest_model_sha256": contract.model_sha256,
                   "manifest_preproc_sha256": contract.preproc_sha256,
                   "manifest_held_sha256": {kind: h.hex() for kind, h in
                                            v.expected_held(contract, info.backend).items()},
                   "build": build})
    report["timing"] = reports.timing(verifier.cycles, info.board, info.core_clock_hz)
    try:
        out = reports.write(out_dir, report, verifier.traces, verifier.cycles,
                            info.core_clock_hz, plots=not args.no_plots,
                            device_logs=verifier.device_logs)
    except ownership.ForeignDirError as e:         # appeared while the device was verified
        raise _InputError(f"--out {e.filename}: {e.strerror}") from None
    print_summary(console, report, out)
    return report, (v.EXIT_OK if report["passed"] else v.EXIT_MISMATCH)


def _build_identity(args) -> tuple[dict | None, str]:
    """The identity the firmware's build recorded (--build, or the run's build for --target);
    None when neither names a build."""
    from bedside.host_tools.builder.firmware import IDENTITY_FILE, default_build_dir, read_identity
    build_dir = args.build
    if build_dir is None and args.target:
        build_dir = default_build_dir(args.run_dir, args.target, "compiled")
    if build_dir is None:
        return None, ""
    try:
        identity = read_identity(build_dir)
    except (OSError, ValueError) as e:
        raise _InputError(f"{build_dir / IDENTITY_FILE}: unreadable ({e})") from None
    if identity is None:
        raise _InputError(f"{build_dir / IDENTITY_FILE} not found: --build must be a folder "
                          "`bedside build` wrote (build the firmware again)")
    return identity, f"the build in {build_dir} ({IDENTITY_FILE})"


def utilisation_text(t: dict) -> str:
    if t["link_utilisation"] > 1.05:      # faster than the baud rate: a pty/TCP link
        return f"n/a: link not rate-limited ({t['wire_bytes_per_s']:.0f} B/s)"
    return f"{100 * t['link_utilisation']:.1f} %  ({t['wire_bytes_per_s']:.0f} B/s)"


def print_summary(console, report: dict, out: Path) -> None:
    from rich.table import Table
    c, t, tm = report["counts"], report["throughput"], report.get("timing") or {}
    table = Table(title="verification", show_header=False)
    table.add_row("windows sent / verified", f"{c['windows_sent']} / {c['verified']}")
    table.add_row("mismatched", f"{c['mismatched']}")
    table.add_row("link retries", f"{c['retried']}")
    if tm:
        table.add_row(f"{tm['label']}: min / median / max",
                      f"{tm['min']:.0f} / {tm['median']:.0f} / {tm['max']:.0f}")
    table.add_row("windows per second", f"{t['windows_per_s']:.1f}")
    table.add_row(f"link utilisation at {t['baudrate']} baud", utilisation_text(t))
    fc = report.get("float_comparison") or {}
    if fc.get("n"):
        table.add_row("float vs int8 max abs / RMSE / cosine",
                      f"{fc['max_abs_err']:.4f} / {fc['rmse']:.4f} / {fc['cosine']:.5f}")
    else:
        table.add_row("float comparison", fc.get("skipped", "none"))
    console.print(table)
    if tm.get("implausible"):
        console.print(f"[yellow]timing flagged:[/] {tm['implausible']}", soft_wrap=True)
    for m in report["first_mismatches"][:5]:
        console.print(f"[red]mismatch[/] patient {m['patient']} window {m['window_index']} "
                      f"(sample {m['sample_index']}): {m['what']}: device {m['device']} "
                      f"reference {m['reference']}")
    verdict = "[bold green]PASSED[/]" if report["passed"] else "[bold red]FAILED[/]"
    console.print(f"{verdict}: {c['verified']}/{c['windows_sent']} windows bit-exact. "
                  f"Report: {out / 'report.md'}")

