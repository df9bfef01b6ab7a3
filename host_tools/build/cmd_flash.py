"""`bedside flash RUN_DIR --env ENV`: build the run's firmware with PlatformIO and flash it.

    bedside flash runs/demo --env nucleo_f446re [--upload-port /dev/ttyACM0]
    bedside flash runs/demo --env esp32dev --dry-run      # print the command only

Runs `pio run -d <kit> -e ENV -t upload [--upload-port P]` with BEDSIDE_GEN_DIR set to the
run's generated folder (RUN_DIR/int8/gen), which firmware/ports/pio_gen.py compiles in.
The environments are those of platformio.ini (`pio project config`). `pio` is looked for
next to this Python, then on PATH; PlatformIO downloads the platform on first use.
Then: `bedside verify RUN_DIR --port <the board's serial port>`.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[1]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="run directory (after bedside convert)")
    p.add_argument("--env", required=True, help="PlatformIO environment of platformio.ini")
    p.add_argument("--upload-port", help="serial port or drive of the board (default: PlatformIO's guess)")
    p.add_argument("--dry-run", action="store_true", help="print the command, do not run it")


def find_pio() -> str | None:
    beside = Path(sys.executable).parent / "pio"
    return str(beside) if beside.exists() else shutil.which("pio")


def environments(pio: str) -> list[str]:
    out = subprocess.run([pio, "project", "config", "-d", str(KIT_ROOT), "--json-output"],
                         capture_output=True, text=True, check=True).stdout
    return [name[4:] for name, _ in json.loads(out) if name.startswith("env:")]


def run(args: argparse.Namespace) -> int:
    gen = (args.run_dir / "int8" / "gen").resolve()
    if not (gen / "model_config.h").is_file():
        print(f"error: {gen / 'model_config.h'} not found: run `bedside convert {args.run_dir}` "
              "first", file=sys.stderr)
        return 2
    from bedside.host_tools.build.firmware import UnsafePath, check_tool_path
    try:
        check_tool_path(gen, "generated folder")
    except UnsafePath as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    pio = find_pio()
    if pio is None:
        print("error: PlatformIO (`pio`) not found: pip install platformio", file=sys.stderr)
        return 2
    envs = environments(pio)
    if args.env not in envs:
        print(f"error: no environment '{args.env}' in {KIT_ROOT / 'platformio.ini'}; "
              f"choose one of {', '.join(envs)}", file=sys.stderr)
        return 2
    cmd = [pio, "run", "-d", str(KIT_ROOT), "-e", args.env, "-t", "upload"]
    if args.upload_port:
        cmd += ["--upload-port", args.upload_port]
    print(f"BEDSIDE_GEN_DIR={shlex.quote(str(gen))} {shlex.join(cmd)}", flush=True)
    if args.dry_run:
        return 0
    rc = subprocess.run(cmd, env={**os.environ, "BEDSIDE_GEN_DIR": str(gen)}).returncode
    if rc == 0:
        print(f"flashed; now: bedside verify {args.run_dir} --port "
              f"{args.upload_port or '<the board serial port>'}")
    return rc
