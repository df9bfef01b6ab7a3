"""`bedside emulate`: run the run's firmware for an emulated board in QEMU, expose its UART.

    bedside emulate [RUN_DIR] [--target mps2-an386] [--tcp PORT | --pty]

Starts `qemu-system-<arch> -M <board> -nographic -icount shift=0 -kernel <elf> -serial ...`
(building the firmware first if it is missing), prints the `--port` string for
`bedside verify`/`monitor`, and runs until Ctrl-C. `--target host` runs the host firmware.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bedside.host_tools.builder.qemu import emulated_targets
    from bedside import rundir
    rundir.add_argument(p, "(after bedside convert)")
    p.add_argument("--target", default="mps2-an386", choices=["host", *emulated_targets()],
                   help="board to emulate (default mps2-an386, Cortex-M4F); host runs the host firmware")
    link = p.add_mutually_exclusive_group()
    link.add_argument("--tcp", type=int, metavar="PORT", default=None,
                      help="expose the UART on 127.0.0.1:PORT (default: a free port)")
    link.add_argument("--pty", action="store_true", help="expose the UART as a pseudo-terminal")
    p.add_argument("--log", type=Path, default=None, help="write QEMU's output to this file")


def run(args: argparse.Namespace) -> int:
    from bedside import rundir
    args.run_dir = rundir.resolve(args.run_dir, "emulate")
    from bedside.host_tools.builder.firmware import (BuildError, BuildInputError, binary_name,
                                                  build_firmware, default_build_dir)
    from bedside.host_tools.builder.qemu import DeviceStartError, launch

    binary = default_build_dir(args.run_dir, args.target, "compiled") / binary_name(args.target)
    try:
        if not binary.is_file():
            print(f"{binary} not built yet: building it (bedside build --target {args.target})")
            print(build_firmware(args.run_dir, args.target).summary())
        device = launch(args.run_dir, args.target, pty=args.pty,
                        tcp_port=args.tcp if args.tcp is not None or args.pty else None, log=args.log)
        if args.target == "host" and not args.pty:
            device.tcp = True
        device.start()
    except (BuildError, DeviceStartError) as e:
        print(f"error: {e}", file=sys.stderr)
        # bad input (no converted run, unsafe path) 2; the device would not start 3
        return 2 if isinstance(e, BuildInputError) else 3 if isinstance(e, DeviceStartError) \
            else 1
    print(f"{args.target} running; connect with:  --port {device.url}", flush=True)
    print("(Ctrl-C stops it)", flush=True)
    # `kill` stops QEMU too: SIGTERM goes the same way as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while device.alive():
            time.sleep(0.5)
        print(f"error: the device exited:\n{device.log_text()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        device.stop()
