"""`bedside bench {boards,engine,link,personalization,reliability,safety}`: the kit's benchmarks.

Each benchmark lives in its own module exposing `add_arguments(parser)` and `run(args)`,
imported only when it runs, so one whose dependencies are not installed (TensorFlow for
personalization) gives a clear message instead of breaking the others.
"""
from __future__ import annotations

import argparse
import importlib
import sys

BENCHES: dict[str, tuple[str, str]] = {
    "engine": ("bedside.bench.engine",
               "compiled engine vs TFLM: correctness, arena, code size, instructions per MAC"),
    "boards": ("bedside.bench.boards",
               "build every board target, verify the emulated ones: boards.json"),
    "link": ("bedside.bench.link",
             "verification throughput: link utilisation at 115,200 baud, windows/s unthrottled"),
    "personalization": ("bedside.bench.personalization",
                        "on-device personalization benchmark"),
    "reliability": ("bedside.bench.reliability", "link/device reliability under faults"),
    "safety": ("bedside.bench.safety",
               "safety floor on the device: extreme and missing inputs, case by case"),
}


def _import(name: str):
    """The benchmark's module, or the name of the package it needs that is missing."""
    try:
        return importlib.import_module(BENCHES[name][0]), None
    except ModuleNotFoundError as e:
        return None, e.name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Each benchmark's own options are parsed in run() by its module, so that only the
    # chosen module is imported (and `bedside bench link --help` shows its options).
    sub = parser.add_subparsers(dest="bench", metavar="BENCH")
    for name, (_, help_text) in BENCHES.items():
        # prefix "+" makes every "-x"/"--opt" (also --help) a plain word kept for run()
        p = sub.add_parser(name, help=help_text, description=help_text, add_help=False,
                           prefix_chars="+")
        p.add_argument("bench_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "bench", None):
        print("usage: bedside bench {" + ",".join(BENCHES) + "} ...  (bedside bench --help)",
              file=sys.stderr)
        return 2
    mod, missing = _import(args.bench)
    if mod is None:
        print(f"bedside bench {args.bench}: needs the package '{missing}', which is not "
              "installed (pip install 'bedside-kit[full]')", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog=f"bedside bench {args.bench}",
                                     description=BENCHES[args.bench][1])
    mod.add_arguments(parser)
    return int(mod.run(parser.parse_args(args.bench_args)) or 0)
