"""Every command is a Python function; the CLI is one caller of it.

Each command module has `add_arguments(parser)` (its options), a function named after the
command taking RUN_DIR and keyword options (e.g. `bedside.training.cmd_train.train(run,
quick=True)`), and `run(args)`, which the CLI calls with the parsed options and which calls
that function. The demo and the benches call the functions directly, never `cli.main(argv)`.

    namespace(add_arguments, "train", quick=True)   # the options as the parser would give them
    call(train, args)                               # the function with the parsed options
"""
from __future__ import annotations

import argparse
import inspect
from typing import Callable


def defaults(add_arguments: Callable[[argparse.ArgumentParser], None]) -> dict:
    """Each option's destination and default, as `add_arguments` declares them."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return {a.dest: a.default for a in parser._actions}


def namespace(add_arguments, command: str, **options) -> argparse.Namespace:
    """The options a command's body reads, from keyword arguments over the parser's
    defaults (a keyword the command does not have is a TypeError naming it)."""
    known = defaults(add_arguments)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"bedside {command}: no option {', '.join(unknown)}")
    return argparse.Namespace(command=command, **{**known, **options})


def call(fn: Callable[..., int], args: argparse.Namespace) -> int:
    """`fn` with the parsed options it takes (by parameter name)."""
    params = inspect.signature(fn).parameters
    every = any(x.kind is inspect.Parameter.VAR_KEYWORD for x in params.values())
    return fn(**{k: v for k, v in vars(args).items()
                 if k in params or (every and k != "command")})
