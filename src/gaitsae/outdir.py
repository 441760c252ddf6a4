"""Output directories: gaitsae writes only into new directories or its own, one writer at a time.

Every directory a command writes gets a marker file `.gaitsae` (JSON: the kind of output and
the names gaitsae wrote there). A command refuses a directory holding anything else unless the
user passes --overwrite. A directory replaced as a whole (a run, a phantom) is built in a
temporary sibling and swapped in by one rename, so a kill leaves the old one or the new one,
never a mix. A lock file beside the directory (`.NAME.lock`, an flock held for the whole
write) stops a second writer; a lock left by a dead process holds no flock and is taken over.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from gaitsae.errors import OutputError
from gaitsae.fsio import UMASK, write_json

MARKER = ".gaitsae"


def read_marker(directory: Path) -> dict | None:
    """The marker of a directory gaitsae wrote, or None (absent or unreadable: not ours)."""
    try:
        marker = json.loads((Path(directory) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("files"), list) else None


def record(directory: Path, kind: str, names) -> None:
    """Add `names` (entries of `directory`) to its marker, creating the marker as `kind`."""
    directory = Path(directory)
    marker = read_marker(directory) or {"kind": kind, "files": []}
    marker["files"] = sorted(set(marker["files"]) | set(names) - {MARKER})
    write_json(directory / MARKER, marker)


def _entries(directory: Path) -> set[str]:
    return set(os.listdir(directory)) - {MARKER}


def foreign(directory: Path) -> list[str]:
    """Names in `directory` that gaitsae did not write (its marker does not list them)."""
    marker = read_marker(directory)
    return sorted(_entries(directory) - set(marker["files"] if marker else ()))


def _check_kind(directory: Path) -> bool:
    """True if `directory` exists (as a directory); a file there is refused."""
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory}: exists but is not a directory; cannot use it as a directory")
    return directory.exists()


def _refuse_foreign(directory: Path, names: list[str]) -> None:
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    raise OutputError(f"{directory}: holds files gaitsae did not write ({shown}); choose another directory "
                      f"or pass --overwrite")


_HELD: dict[Path, int] = {}  # directories this process has locked → the thread that holds each


@contextlib.contextmanager
def lock(directory: Path) -> Iterator[None]:
    """Hold `.NAME.lock` beside `directory` (created if needed) for the duration, or refuse.
    Re-entrant within a thread: the CLI claims a run directory and GaitSAE.fit, which locks the
    run directory it is given, then writes into it."""
    directory = Path(directory).absolute()
    if _HELD.get(directory) == threading.get_ident():
        yield
        return
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{directory.parent}: cannot create ({exc.strerror})") from None
    path = directory.parent / f".{directory.name}.lock"
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"{path}: cannot create the lock file ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise OutputError(f"{directory}: another gaitsae process (pid {holder}) is writing it; wait for it "
                              f"to finish") from None
        # The holder before us may have removed the file after we opened it: lock the live one.
        with contextlib.suppress(FileNotFoundError):
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        os.close(fd)
    _HELD[directory] = threading.get_ident()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        # We hold the lock, so temporary siblings of this name (and the locks GaitSAE.fit took on
        # them) belong to writers that died.
        for stale in directory.parent.glob(f".{directory.name}.new-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in directory.parent.glob(f"..{directory.name}.new-*.lock"):
            with contextlib.suppress(OSError):
                stale.unlink()
        yield
    finally:
        _HELD.pop(directory, None)
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two directories in one step (Linux renameat2), else by two renames."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is not None and renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                                           _RENAME_EXCHANGE) == 0:
        return
    err = ctypes.get_errno() if renameat2 is not None else errno.ENOSYS
    if err not in (errno.ENOSYS, errno.EINVAL):
        raise OSError(err, os.strerror(err), str(b))
    parked = a.parent / f"{a.name}.old"
    os.rename(b, parked)
    os.rename(a, b)
    os.rename(parked, a)


@contextlib.contextmanager
def replacing(directory, kind: str, overwrite: bool = False, own_ok: bool = True,
              resumable: bool = False) -> Iterator[Path]:
    """Yield where to build `directory` as a whole: a temporary sibling that replaces it by one
    rename on success and is removed on failure. An existing non-empty directory must be gaitsae's
    own output of this kind (with own_ok) unless overwrite. resumable: a new directory is written
    in place, so what a killed command left there (a checkpoint) can be continued."""
    directory = Path(directory)
    with lock(directory):
        exists = _check_kind(directory) and bool(_entries(directory))
        marker = read_marker(directory) if exists else None
        if exists and not overwrite:
            if marker is None or foreign(directory):
                _refuse_foreign(directory, foreign(directory))
            if marker.get("kind") != kind or not own_ok:
                raise OutputError(f"{directory}: holds a gaitsae {marker.get('kind')}; pass --overwrite to replace it"
                                  + (" or --resume to continue it" if kind == "run" else ""))
        if resumable and not exists:
            yield from _in_place(directory, kind)
            return
        try:
            build = Path(tempfile.mkdtemp(prefix=f".{directory.name}.new-", dir=directory.parent))
            os.chmod(build, 0o777 & ~UMASK)  # mkdtemp makes it private; give the usual mode
        except OSError as exc:
            raise OutputError(f"{directory.parent}: cannot write ({exc.strerror})") from None
        try:
            record(build, kind, [])
            yield build
            record(build, kind, _entries(build))
            if directory.exists():
                _exchange(build, directory)
            else:
                os.rename(build, directory)
        except OutputError as exc:  # name the place the user asked for, not our temporary one
            raise OutputError(str(exc).replace(str(build), str(directory))) from None
        finally:
            shutil.rmtree(build, ignore_errors=True)  # the new tree on failure, the old one after the swap


def _in_place(directory: Path, kind: str) -> Iterator[Path]:
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    record(directory, kind, [])
    try:
        yield directory
    except Exception:
        if created and not any(p.is_file() for p in directory.rglob("*") if p.name != MARKER):
            shutil.rmtree(directory, ignore_errors=True)  # nothing worth keeping: leave no trace
        raise
    finally:
        if directory.exists():
            with contextlib.suppress(OutputError):  # an unwritable marker must not hide the real error
                record(directory, kind, _entries(directory))


@contextlib.contextmanager
def filling(directory, kind: str, overwrite: bool = False, trusted: bool = False) -> Iterator[Path]:
    """Yield `directory` to write files into, in place; a directory holding files gaitsae did not
    write is refused unless overwrite (trusted: the caller has checked it is gaitsae's, e.g. a run
    that loads). The marker then lists what this command added."""
    directory = Path(directory)
    with lock(directory):
        existed = _check_kind(directory)
        before = _entries(directory) if existed else set()
        theirs = set() if trusted else set(foreign(directory)) if before else set()
        if theirs and not overwrite:
            _refuse_foreign(directory, sorted(theirs))
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{directory}: cannot create ({exc.strerror})") from None
        try:
            yield directory
        finally:
            if not existed and not _entries(directory):
                shutil.rmtree(directory, ignore_errors=True)  # created for nothing: leave no trace
            elif read_marker(directory) is not None or _entries(directory) - before:  # else: nothing to mark
                with contextlib.suppress(OutputError):  # an unwritable marker must not hide the real error
                    record(directory, kind, _entries(directory) - theirs)
