"""The kit's version, from the installed distribution's metadata (one lookup for all)."""
from __future__ import annotations

from importlib import metadata

UNKNOWN = "0+unknown"


def kit_version() -> str:
    """`bedside-kit`'s version, or "0+unknown" when run from a source tree never installed."""
    try:
        return metadata.version("bedside-kit")
    except metadata.PackageNotFoundError:
        return UNKNOWN
