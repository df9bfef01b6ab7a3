"""RUN_DIR/pio/: a PlatformIO project for one run, written from the board table.

    RUN_DIR/pio/platformio.ini                 every [pio.*] environment of firmware/boards.toml
    RUN_DIR/pio/lib/bedside-kit/library.json   the kit's firmware as a PlatformIO library
    RUN_DIR/pio/lib/bedside-kit/firmware   ->  the kit's firmware folder (a symlink; installed
                                               kit or checkout, nothing is written there)
    RUN_DIR/pio/src/                           empty: core, port and model come through the library

The library's extra script (firmware/ports/pio_gen.py) adds the run's generated model
(custom_bedside_gen_dir = ../int8/gen), the backend's runner and the environment's port
sources (custom_bedside_port_sources), so PlatformIO builds exactly the files CMake builds
for the environment's target. `pio run` writes only under RUN_DIR/pio/ (.pio/).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from bedside.banner import banner
from bedside.boards import TABLE, Table, library_manifest
from bedside.fileio import write_text
from bedside.kitfiles import FIRMWARE_DIR
from bedside.rundir import RunPaths
from bedside.version import kit_version

LIBRARY = "bedside-kit"
COMMAND = "bedside flash RUN_DIR --env ENV"


def project_dir(run_dir: Path) -> Path:
    return RunPaths(run_dir).pio_dir


def _q(define: str) -> str:
    """A -D flag for platformio.ini: string values keep their quotes through the shell."""
    name, eq, value = define.partition("=")
    return f'{name}=\\"{value[1:-1]}\\"' if eq and value.startswith('"') else define


def render_ini(table: Table = TABLE) -> str:
    """platformio.ini for RUN_DIR/pio (paths relative to it)."""
    pio = table.platformio
    kit = f"lib/{LIBRARY}/firmware"
    head = banner("bedside.host_tools.builder.pio_project", "PlatformIO project of this run "
                  "(docs/firmware.md); rewritten by every `bedside flash`.", COMMAND,
                  {"Source": "firmware/boards.toml"}, comment=";")
    lines = [head, "[platformio]", f"default_envs = {pio['default_env']}",
             f"test_dir = {kit}/pio_test", "",
             "[env]", f"monitor_speed = {pio['monitor_speed']}",
             f"lib_deps = {LIBRARY}",
             "; the port's start-up code and vector table are linked as objects, not an archive",
             "lib_archive = no",
             "custom_bedside_gen_dir = ../int8/gen",
             f"build_flags = {' '.join(pio['build_flags'])}",
             f"build_unflags = {' '.join(pio['build_unflags'])}",
             f"build_src_flags = {' '.join(pio['build_src_flags'])}",
             "test_framework = custom", "test_build_src = yes", ""]
    for env in table.pio.values():
        lines.append(f"; {env.real}")
        lines.append(f"[env:{env.name}]")
        lines += [f"platform = {env.platform}", f"board = {env.board}"]
        defines = list(env.defines)
        if env.framework:
            lines.append(f"framework = {env.framework}")
            sources = ["ports/arduino/bedside_arduino.cpp"]
            defines.append(f'-DBEDSIDE_BOARD="{env.board}"')
        else:
            t = env.target
            sources = ["ports/common/main.cc", *(f"ports/{t.port}/{s}" for s in t.sources)]
            defines.append(f'-DBEDSIDE_BOARD_NAME="{env.name}"')
            lines.append(f"board_build.ldscript = {kit}/ports/{t.port}/{t.ldscript}")
            stack = env.stack or t.stack or 8192
            link = [*table.flags.bare_metal_link, f"-Wl,--defsym=BEDSIDE_STACK_SIZE={stack}"]
            lines.append(f"custom_bedside_linkflags = {' '.join(link)}")
        lines.append(f"custom_bedside_backend = {env.backend}")
        lines.append(f"custom_bedside_port_sources = {' '.join(sources)}")
        lines.append("build_flags = ${env.build_flags} " + " ".join(_q(d) for d in defines))
        if env.lib_deps:
            lines.append(f"lib_deps = {LIBRARY} " + " ".join(env.lib_deps))
        lines.append("")
    return "\n".join(lines)


def write_project(run_dir: Path, table: Table = TABLE) -> Path:
    """Write RUN_DIR/pio/ (see the module docstring); returns its folder."""
    from bedside import ownership
    proj = ownership.claim(project_dir(run_dir), whole=True)   # PlatformIO's .pio/ goes there too
    lib = proj / "lib" / LIBRARY
    lib.mkdir(parents=True, exist_ok=True)
    (proj / "src").mkdir(exist_ok=True)
    write_text(proj / "platformio.ini", render_ini(table))
    manifest = library_manifest(kit_version(), table)
    write_text(lib / "library.json", json.dumps(manifest, indent=2) + "\n")
    link = lib / "firmware"
    if link.is_symlink() and Path(os.readlink(link)) != FIRMWARE_DIR:
        link.unlink()                   # the kit moved, or the run came from another machine
    if not link.is_symlink():
        link.symlink_to(FIRMWARE_DIR, target_is_directory=True)
    return proj
