"""The one ownership rule for every file the kit writes (docs/reliability.md).

The kit writes only into folders it created or found empty. Each such folder holds a
marker, `.bedside-made`, listing the files the kit wrote there (a JSON manifest); a folder
with files but no marker is the user's and is refused (ForeignDirError: exit 2 naming it).
Inside a marked folder a file the manifest does not list is the user's: it is kept and
reported, never replaced or deleted (replace_dir carries it into the new folder).
A folder that holds its own marker owns its files; the folder above does not list them.

    claim(run_dir)                  # before a command writes into run_dir
    replace_dir(tmp, out_dir)       # swap in a fully written folder (int8/, verify/)
    session()                       # cli.main: records what a command wrote; on failure
                                    # removes folders it created and left without a file
Writers go through bedside.fileio; its guard hook asks this module before replacing a file.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bedside import fileio

MARKER = ".bedside-made"
_FORMAT = "bedside-made/1"


class ForeignDirError(OSError):
    """A folder (or file) the kit would write holds content the kit did not create."""


class BadInput(ValueError):
    """An input the kit refuses: the message names file and field (exit 2, one line)."""


def _refuse(path: Path, why: str) -> ForeignDirError:
    return ForeignDirError(errno.ENOTEMPTY, why, str(path))


# --- the marker: which files of a folder the kit wrote --------------------------------

def is_marked(folder: str | Path) -> bool:
    return (Path(folder) / MARKER).is_file() and not Path(folder).is_symlink()


def _marker(folder: str | Path) -> dict:
    try:
        data = json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def written(folder: str | Path) -> set[str]:
    """The files (relative POSIX paths) the marker of `folder` lists; a marker of the older
    plain-text kind lists none."""
    files = _marker(folder).get("files")
    return {f for f in files if isinstance(f, str)} if isinstance(files, list) else set()


def is_whole(folder: str | Path) -> bool:
    """A folder a tool owns as a whole (a CMake build tree): no file in it is the user's."""
    return _marker(folder).get("whole") is True


def _mark(folder: Path, files: set[str], whole: bool = False) -> None:
    fileio.write_json(folder / MARKER, {
        "format": _FORMAT,
        "about": ("Written by bedside: a build folder, the build tool's as a whole." if whole
                  else "Written by bedside: it writes in this folder only the files listed "
                       "here; any other file is yours and is kept."),
        "whole": whole, "files": sorted(files)})


def files_under(folder: Path) -> set[str]:
    """Every file below `folder` (relative POSIX paths), not entering a sub-folder with a
    marker of its own (it owns its files) nor following links; temporary files of an
    atomic write are skipped."""
    out: set[str] = set()
    for root, dirs, names in os.walk(folder):
        here = Path(root)
        dirs[:] = [d for d in dirs if not (here / d / MARKER).is_file()
                   and not (here / d).is_symlink()]
        for n in names:
            if n == MARKER and here == folder:
                continue
            if n.startswith(".") and n.endswith(".tmp"):
                continue
            out.add((here / n).relative_to(folder).as_posix())
    return out


def is_kit_dir(path: str | Path) -> bool:
    """True when the kit may write into (or replace) `path`: it does not exist, is an empty
    folder, or carries the marker."""
    path = Path(path)
    if path.is_symlink():
        return False
    if not path.exists():
        return True
    return path.is_dir() and (is_marked(path) or not any(path.iterdir()))


def check_replaceable(out_dir: str | Path, will_write: tuple[str, ...] = ()) -> None:
    """Raise ForeignDirError (naming the folder) unless `is_kit_dir(out_dir)`, or naming a
    file of the user's in it that one of `will_write` (relative paths) would replace: a
    command checks this before its work, replace_dir again at the end."""
    out_dir = Path(out_dir)
    if not is_kit_dir(out_dir):
        what = ("a link" if out_dir.is_symlink() else
                "a folder with files" if out_dir.is_dir() else "not a folder")
        raise _refuse(out_dir, f"is {what} that bedside did not create (no {MARKER} file): "
                               "refusing to write there (write elsewhere, or move it away "
                               "yourself)")
    if will_write and out_dir.is_dir():
        clash = sorted(set(foreign(out_dir)) & set(will_write))
        if clash:
            raise _refuse(out_dir / clash[0], "is a file bedside did not write, and this "
                                              "command writes one of that name: refusing "
                                              "to replace it (move it away yourself)")


def foreign(folder: Path) -> list[str]:
    """Files in a marked folder that the kit did not write (the user's)."""
    if is_whole(folder):
        return []
    return sorted(files_under(folder) - written(folder))


def _report_kept(folder: Path, names: list[str]) -> None:
    if names:
        shown = ", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")
        print(f"note: {folder}: kept {len(names)} file(s) bedside did not write: {shown}",
              file=sys.stderr)


# --- whole folders written elsewhere and swapped in ------------------------------------

def replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move a fully written temporary folder into place, replacing out_dir: readers see the
    old folder or the new one, never a half-written one. Refuses (ForeignDirError) a folder
    the kit did not create; the user's files inside a marked one are carried over (and
    reported), and one the new folder would overwrite is refused."""
    tmp, out_dir = Path(tmp), Path(out_dir)
    check_replaceable(out_dir)
    mine = files_under(tmp)
    kept = foreign(out_dir) if out_dir.exists() else []
    clash = [k for k in kept if k in mine or any(m.startswith(k + "/") for m in mine)]
    if clash:
        raise _refuse(out_dir / clash[0], "is a file bedside did not write, and the new "
                                          f"{out_dir.name}/ has one of that name: refusing "
                                          "to replace it (move it away yourself)")
    for rel in kept:
        dst = tmp / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(out_dir / rel, dst)
    _mark(tmp, mine)
    os.chmod(tmp, 0o755)
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _report_kept(out_dir, kept)


# --- folders a command writes into, file by file -------------------------------------

class Claim:
    """A folder a command writes into: what was there before (the user's files among
    them) and whether this command created it."""

    def __init__(self, folder: Path, created: list[Path], whole: bool,
                 done_when: str | None = None) -> None:
        self.folder = folder
        self.done_when = done_when           # a file there means a stage finished in it
        self.created = created               # folders made by this claim, outermost first
        self.whole = whole
        self.before = files_under(folder)
        self.listed = written(folder)
        self.users = set() if whole else self.before - self.listed

    def guards(self, path: Path) -> bool:
        """True when writing `path` would replace a file of the user's in this folder."""
        try:
            rel = path.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return False
        return rel in self.users

    def finish(self, ok: bool) -> None:
        """Record the files this command wrote; after a failure remove a folder it created
        when it holds nothing, or no finished stage (no `done_when` file): no half-made
        run folder. Everything in a folder this command created is this command's."""
        if not self.folder.is_dir():
            return
        with _folder_lock(self.folder):
            self._finish(ok)

    def _finish(self, ok: bool) -> None:
        now = files_under(self.folder)
        # what other commands recorded meanwhile stays listed (two commands on one run)
        mine = set() if self.whole else \
            (self.listed | written(self.folder) | (now - self.before)) & now
        if self.whole and now:          # the tool's tree: nothing to list, keep it
            return
        half_made = not mine or (self.done_when is not None and self.done_when not in now)
        if not ok and self.folder in self.created and half_made:
            shutil.rmtree(self.folder, ignore_errors=True)
            for p in reversed(self.created[:-1]):        # parents made for it, if empty
                try:
                    p.rmdir()
                except OSError:
                    break
            return
        if mine != self.listed or not is_marked(self.folder):
            _mark(self.folder, mine, self.whole)


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` (flock on the folder itself: no lock file) while a
    command rewrites its marker, so two commands finishing in one run at once do not drop
    each other's entries. Where flock is missing (Windows) it does not lock."""
    try:
        import fcntl
        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


_claims: list[Claim] = []


def _guard(path: Path) -> None:
    """fileio's hook: refuse to replace a file of the user's inside a claimed folder."""
    for c in _claims:
        if c.guards(path):
            raise _refuse(path, "is a file bedside did not write: refusing to replace it")


fileio.GUARDS.append(_guard)


def claim(folder: str | Path, whole: bool = False, done_when: str | None = None) -> Path:
    """Make `folder` the kit's for this command: create it (marked) when missing, mark it
    when empty, accept it when marked; refuse (ForeignDirError, exit 2) a link, a file or a
    folder with files and no marker. Files in it the kit did not write are reported.
    `whole`: a folder a build tool fills as a whole (CMake's build tree); `done_when`: the
    file that says a stage finished there (a run folder's run.json)."""
    folder = Path(folder)
    for c in _claims:
        if c.folder == folder:
            return folder
    check_replaceable(folder)
    created: list[Path] = []
    missing = [p for p in [folder, *folder.parents] if not p.exists() and not p.is_symlink()]
    try:
        for p in reversed(missing):
            try:
                p.mkdir()
            except FileExistsError:
                continue
            created.append(p)
    except OSError:
        for p in reversed(created):      # a path too long, a read-only parent: undo
            p.rmdir()
        raise
    whole = whole or is_whole(folder)
    c = Claim(folder, created, whole, done_when)
    if not is_marked(folder) or (whole and not is_whole(folder)):
        _mark(folder, set(), whole)
    _report_kept(folder, sorted(c.users))
    _claims.append(c)
    return folder


@contextmanager
def session() -> Iterator[dict]:
    """One command: on leaving, every folder it claimed records what the command wrote;
    `state["ok"] = False` (or an exception) marks a failed command."""
    start = len(_claims)
    state = {"ok": True}
    try:
        yield state
    except BaseException:
        state["ok"] = False
        raise
    finally:
        for c in reversed(_claims[start:]):
            try:
                c.finish(state["ok"])
            except OSError:
                pass
        del _claims[start:]
