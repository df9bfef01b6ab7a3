"""Where the kit's own non-Python files are: the firmware tree (C++ sources, CMake files).

Installed, the firmware ships inside the package (`bedside/firmware/`, as emlearn ships its
C headers); in a source checkout it is the top-level `firmware/` folder beside `bedside/`.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
FIRMWARE_DIR = (PACKAGE_DIR / "firmware" if (PACKAGE_DIR / "firmware" / "CMakeLists.txt").is_file()
                else PACKAGE_DIR.parent / "firmware")
