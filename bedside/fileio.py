"""Atomic writes: a reader (or a crash) sees the old file or the new one, never half of one.

One writer for every artifact the kit produces (JSON, text, bytes, .npz, whole folders).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator


@contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for binary writing; rename it over `path` only
    when the block ends without an exception."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


# Every folder replace_dir writes holds this file: only such a folder (or an empty one)
# is ever replaced, so an --out pointing at a user's folder cannot delete it.
KIT_MARKER = ".bedside-made"


class ForeignDirError(OSError):
    """A folder that would be replaced holds content the kit did not create."""


def is_kit_dir(path: str | Path) -> bool:
    """True when replacing `path` deletes nothing the kit did not write: it does not
    exist, is an empty folder, or carries KIT_MARKER."""
    path = Path(path)
    if not path.exists():
        return True
    return path.is_dir() and ((path / KIT_MARKER).is_file() or not any(path.iterdir()))


def check_replaceable(out_dir: str | Path) -> None:
    """Raise ForeignDirError (naming the folder) unless `is_kit_dir(out_dir)`."""
    if not is_kit_dir(out_dir):
        what = "a folder with files" if Path(out_dir).is_dir() else "not a folder"
        raise ForeignDirError(errno.ENOTEMPTY, f"is {what} that bedside did not create (no "
                              f"{KIT_MARKER} file): refusing to replace it (write elsewhere, "
                              "or move it away yourself)", str(out_dir))


def replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move a fully written temporary folder into place, replacing out_dir: readers see the
    old folder or the new one, never a half-written one. Refuses (ForeignDirError) to
    replace a folder the kit did not create; marks the new one as the kit's."""
    check_replaceable(out_dir)
    write_text(Path(tmp) / KIT_MARKER, "Written by bedside: the command that made this "
               "folder replaces it as a whole.\n")
    os.chmod(tmp, 0o755)
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
