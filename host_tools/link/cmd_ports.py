"""`bedside ports`: list the serial ports pyserial can see (device, description, USB ids).

Emulators and the host firmware are not listed: they print their own `--port` URL
(a pty path or `socket://host:port`).
"""
from __future__ import annotations

import argparse

from bedside import jsonout


def add_arguments(parser: argparse.ArgumentParser) -> None:
    jsonout.add_argument(parser)


def list_ports() -> list[dict]:
    from serial.tools import list_ports as lp
    return [{"device": p.device, "description": p.description, "hwid": p.hwid,
             "vid": p.vid, "pid": p.pid, "serial_number": p.serial_number}
            for p in sorted(lp.comports(), key=lambda p: p.device)]


def run(args: argparse.Namespace) -> int:
    ports = list_ports()
    if args.json:
        jsonout.emit(args, ports)
        return 0
    if not ports:
        print("no serial ports found (an emulator or the host firmware prints its own "
              "--port URL, e.g. socket://127.0.0.1:PORT or /dev/pts/N)")
        return 0
    for p in ports:
        print(f"{p['device']:<24} {p['description']}  [{p['hwid']}]")
    return 0
