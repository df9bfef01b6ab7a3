"""`--json [FILE]`, the same option in every command that has a machine-readable result.

`--json` alone prints the result as one JSON document on stdout (the command's text then
goes to stderr, so stdout parses); `--json FILE` writes it to FILE (atomically) instead.
"""
from __future__ import annotations

import argparse
import json
import sys

STDOUT = "-"


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", nargs="?", const=STDOUT, default=None, metavar="FILE",
                        help="write the result as JSON to FILE, or to stdout when FILE is "
                             "omitted or '-' (the text output then goes to stderr)")


def to_stdout(args: argparse.Namespace) -> bool:
    """True when stdout is reserved for the JSON document."""
    return getattr(args, "json", None) == STDOUT


def emit(args: argparse.Namespace, result) -> None:
    """Write `result` where `--json` says (nothing when it was not given)."""
    dest = getattr(args, "json", None)
    if dest is None:
        return
    text = json.dumps(result, indent=2, default=str) + "\n"
    if dest == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from bedside.fileio import write_text
        write_text(dest, text)
