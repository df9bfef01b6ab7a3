"""`bedside flash RUN_DIR --env ENV`: build the run's firmware with PlatformIO and flash it.

    bedside flash runs/demo --env nucleo_f446re [--upload-port /dev/ttyACM0]
    bedside flash runs/demo --env nucleo_f446re --no-upload    # build only
    bedside flash runs/demo --env esp32dev --dry-run           # write the project, print the command

Writes a PlatformIO project for the run, RUN_DIR/pio/ (its platformio.ini from the board
table firmware/boards.toml, the kit's firmware as a library through library.json, the
run's generated model RUN_DIR/int8/gen), then runs `pio run -d RUN_DIR/pio -e ENV -t upload`
there. Nothing is written outside RUN_DIR (PlatformIO's build folder is RUN_DIR/pio/.pio/,
its output RUN_DIR/pio/pio.log). `pio` is looked for next to this Python, then on PATH;
PlatformIO downloads the platform on first use (PLATFORMIO_CORE_DIR, default ~/.platformio).
Then: `bedside verify RUN_DIR --port <the board's serial port>`.

Exit codes (each failure is one line saying what happened and what to do):
  0  built (and flashed)
  1  the PlatformIO build or upload failed (the last lines of RUN_DIR/pio/pio.log)
  2  bad input: no converted run, an environment the board table does not have
  3  no board on the upload port
  4  PlatformIO is not installed
  5  offline: the platform or its tools are not installed and the registry is unreachable
  6  the platform cannot be installed (the registry does not have it)
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from bedside import jsonout
from bedside.rundir import RunPaths

EXIT_BUILD, EXIT_BAD_INPUT, EXIT_NO_BOARD, EXIT_NO_PIO, EXIT_OFFLINE, EXIT_PLATFORM = 1, 2, 3, 4, 5, 6
REGISTRY = ("api.registry.platformio.org", 443)
# what `pio run` prints when it cannot reach the registry / finds no board / no such package
_OFFLINE = re.compile(r"HTTPClientError|Could not resolve host|Name or service not known|"
                      r"Temporary failure in name resolution|Max retries exceeded|"
                      r"Failed to establish a new connection|Network is unreachable|"
                      r"Read timed out|InternetConnectionError|ConnectionError", re.I)
_NO_BOARD = re.compile(r"could not open port|No such file or directory: '/dev/|"
                       r"No ST-LINK detected|Unable to find a serial port|open failed|"
                       r"Please specify `upload_port`|No device found|"
                       r"Failed to connect to ESP", re.I)
_UNKNOWN = re.compile(r"UnknownPackageError|Could not find the package|UnknownPlatform", re.I)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bedside.boards import PIO
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="run directory (after bedside convert)")
    p.add_argument("--env", required=True, metavar="ENV",
                   help="PlatformIO environment of the board table: " + ", ".join(PIO))
    p.add_argument("--upload-port", help="serial port or drive of the board (default: PlatformIO's guess)")
    p.add_argument("--no-upload", action="store_true", help="build only, do not flash")
    p.add_argument("--dry-run", action="store_true", help="write RUN_DIR/pio/, print the command, do not run it")
    jsonout.add_argument(p)


def find_pio() -> str | None:
    beside = Path(sys.executable).parent / "pio"
    return str(beside) if beside.exists() else shutil.which("pio")


def core_dir() -> Path:
    return Path(os.environ.get("PLATFORMIO_CORE_DIR") or Path.home() / ".platformio")


def platform_installed(spec: str, core: Path | None = None) -> bool:
    """Whether PLATFORMIO_CORE_DIR holds the pinned platform (`name@version`)."""
    import json
    name, _, version = spec.partition("@")
    for manifest in (core or core_dir()).glob(f"platforms/{name}*/platform.json"):
        try:
            meta = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("name") == name and (not version or meta.get("version") == version):
            return True
    return False


def registry_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(REGISTRY, timeout=timeout):
            return True
    except OSError:
        return False


def _offline_line(env: str, platform: str) -> str:
    from bedside.boards import PIO
    target = PIO[env].target
    same = (f"`bedside build --target {target.name}` builds the same port"
            if target else "`bedside build --target host` builds the same core")
    return (f"offline: PlatformIO cannot download {platform} (or its tools) for {env}: "
            f"pre-seed PLATFORMIO_CORE_DIR ({core_dir()}) on a connected machine, or {same}")


def run(args: argparse.Namespace) -> int:
    result = {"env": args.env, "project": None, "command": None, "uploaded": False,
              "exit_code": None, "error": None}

    def done(code: int, error: str | None = None) -> int:
        result.update(exit_code=code, error=error)
        if error:
            print(f"error: {error}", file=sys.stderr)
        jsonout.emit(args, result)
        return code

    say = (lambda *a: print(*a, file=sys.stderr)) if jsonout.to_stdout(args) else print
    from bedside.boards import PIO
    gen = RunPaths(args.run_dir).gen_dir
    if not (gen / "model_config.h").is_file():
        return done(EXIT_BAD_INPUT, f"{gen / 'model_config.h'} not found: run "
                                    f"`bedside convert {args.run_dir}` first")
    if args.env not in PIO:
        return done(EXIT_BAD_INPUT, f"no environment '{args.env}' in the board table "
                                    f"(firmware/boards.toml); choose one of {', '.join(PIO)}")
    from bedside.host_tools.builder.firmware import UnsafePath, check_tool_path
    try:
        check_tool_path(gen, "generated folder")
    except UnsafePath as e:
        return done(EXIT_BAD_INPUT, str(e))
    from bedside.host_tools.builder.pio_project import write_project
    project = write_project(args.run_dir)
    result["project"] = str(project)
    pio = find_pio()
    cmd = [pio or "pio", "run", "-d", str(project), "-e", args.env]
    if not args.no_upload:
        cmd += ["-t", "upload"] + (["--upload-port", args.upload_port] if args.upload_port else [])
    result["command"] = shlex.join(cmd)
    say(f"wrote {project / 'platformio.ini'}\n{shlex.join(cmd)}")
    if args.dry_run:
        return done(0)
    if pio is None:
        return done(EXIT_NO_PIO, "PlatformIO (`pio`) not found: pip install platformio "
                                 "(or `bedside build --target T` builds with CMake)")
    platform = PIO[args.env].platform
    if not platform_installed(platform) and not registry_reachable():
        return done(EXIT_OFFLINE, _offline_line(args.env, platform))
    log = project / "pio.log"
    say(f"building {args.env} (PlatformIO's output: {log}) ...")
    with log.open("w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    text = log.read_text(errors="replace")
    if rc == 0:
        result["uploaded"] = not args.no_upload
        say(f"built {args.env}" + ("" if args.no_upload else "; flashed. Now: bedside verify "
            f"{args.run_dir} --port {args.upload_port or '<the board serial port>'}"))
        return done(0)
    code, line = classify(text, rc, args.env, args.upload_port, upload=not args.no_upload)
    return done(code, f"{line}; full log: {log}" if code == EXIT_BUILD else line)


def classify(text: str, rc: int, env: str, upload_port: str | None = None,
             upload: bool = True) -> tuple[int, str]:
    """A failed `pio run`'s output as (exit code, the one line that says what to do)."""
    from bedside.boards import PIO
    platform = PIO[env].platform
    if _UNKNOWN.search(text):
        return EXIT_PLATFORM, (f"PlatformIO cannot install {platform} for {env}: the registry "
                               "does not have it (check the board table's platform pin)")
    if _OFFLINE.search(text):
        return EXIT_OFFLINE, _offline_line(env, platform)
    if upload and re.search(r"Configuring upload protocol|Uploading", text) and _NO_BOARD.search(text):
        where = upload_port or "the port PlatformIO looked at"
        return EXIT_NO_BOARD, (f"no {PIO[env].board} board on {where}: connect it, or name its "
                               "port with --upload-port (`bedside ports` lists them)")
    last = [ln for ln in text.strip().splitlines() if ln.strip()][-1:] or ["no output"]
    return EXIT_BUILD, f"`pio run` failed (exit {rc}) for {env}: {last[0].strip()}"
