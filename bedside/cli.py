"""`bedside`: one command line for every stage of the kit.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; modules are imported only when their command runs (or its --help is
asked for), so `bedside verify` works in an environment without TensorFlow. A command's
`--help` ends with its module's docstring (examples, files written, exit codes).

Conventions shared by every command: the run directory is an optional positional RUN_DIR
(`bedside.rundir`), and `--json [FILE]` means the same everywhere (`bedside.jsonout`).
"""
from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("bedside.training.cmd_data", "simulate a cohort (or load PhysioNet/CSV data) into RUN_DIR"),
    "train": ("bedside.training.cmd_train", "train the Teacher (Transformer encoder)"),
    "distill": ("bedside.training.cmd_distill", "distill the tiny Student from the Teacher"),
    "evaluate": ("bedside.training.cmd_evaluate", "evaluate Teacher, Students and baselines; write the report"),
    "audit": ("bedside.training.cmd_audit", "shortcut audit: AUROC of nuisance variables against the labels"),
    "study": ("bedside.training.cmd_study", "seed study: Student KD vs no attention transfer vs scratch"),
    "convert": ("bedside.converter.cmd_convert", "int8 .tflite + manifest + generated firmware sources"),
    "build": ("bedside.host_tools.builder.cmd_build", "build the firmware for host or a board target"),
    "emulate": ("bedside.host_tools.builder.cmd_emulate", "run a board's firmware in QEMU and expose its UART"),
    "flash": ("bedside.host_tools.builder.cmd_flash", "build with PlatformIO and flash a real board"),
    "verify": ("bedside.host_tools.verify.cmd_verify", "stream signals to a device and verify every output"),
    "monitor": ("bedside.host_tools.link.cmd_monitor", "live view of vitals, risk and alarms from a device"),
    "ports": ("bedside.host_tools.link.cmd_ports", "list serial ports"),
    "bench": ("bedside.bench.cmd_bench", "benchmarks: engine, link, personalization, reliability"),
    "docs": ("bedside.docs", "render the docs' figure tables from a run's JSON (--check: report drift)"),
    "demo": ("bedside.demo", "the whole path: data -> ... -> verified emulated device"),
}


def _load(name: str):
    module, _ = COMMANDS[name]
    return importlib.import_module(module)


def build_parser(selected: str | None) -> argparse.ArgumentParser:
    from bedside.reference.tflm import reference_version
    from bedside.version import kit_version
    parser = argparse.ArgumentParser(
        prog="bedside",
        description="Bedside-AI deployment kit: from ICU vital signs to a verified device.")
    parser.add_argument("--version", action="version",
                        version=f"bedside-kit {kit_version()} (reference tflite-micro: "
                                f"{reference_version()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == selected:
            module = _load(name)
            module.add_arguments(p)
            p.epilog = module.__doc__
    return parser


def _quiet_tensorflow() -> None:
    """TensorFlow's C++ logging buries the kit's output; oneDNN reorders float sums, which
    would make training and calibration depend on the CPU. Both can be overridden."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _quiet_tensorflow()
    selected = next((a for a in argv if not a.startswith("-")), None)
    if selected not in COMMANDS:
        selected = None
    parser = build_parser(selected)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from bedside import ownership
    from bedside.rundir import NoRunDir
    with ownership.session() as state:
        try:
            rc = int(_load(args.command).run(args) or 0)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            rc = 130
        except NoRunDir:          # said why on stderr already
            rc = 2
        except Exception as e:
            rc = refused(e)
            if rc is None:
                raise
        state["ok"] = rc == 0
    return rc


# exceptions that mean "this input (or this place to write) is refused": one line, exit 2
INPUT_ERRORS = {"bedside.ownership": ("BadInput", "ForeignDirError"),
                "bedside.contract.record": ("ManifestError",),
                "bedside.sources.loaders": ("DataError",),
                "bedside.sources.streams": ("SourceError",),
                "bedside.reference.pipeline": ("RunDirError",),
                "bedside.reference.tflm": ("TflmError",)}
# errors writing or reading the kit's folders that are the machine's, not the kit's
_OS_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
              errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP,
              errno.ENOENT}


def refused(e: BaseException) -> int | None:
    """The exit code and one line on stderr for an error that is the input's or the
    machine's (docs/reliability.md), None for a bug (its traceback is shown)."""
    kinds = tuple(getattr(sys.modules[m], n) for m, names in INPUT_ERRORS.items()
                  if m in sys.modules for n in names)
    if isinstance(e, kinds) or (isinstance(e, OSError) and e.errno in _OS_ERRNOS):
        if isinstance(e, OSError) and e.filename is not None:
            msg = f"{e.filename}: {e.strerror}"
        else:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"error: {msg}", file=sys.stderr)
        return 2
    if isinstance(e, (MemoryError, RecursionError)):
        print(f"error: input too large or too deeply nested ({type(e).__name__})",
              file=sys.stderr)
        return 2
    return None


if __name__ == "__main__":
    sys.exit(main())
