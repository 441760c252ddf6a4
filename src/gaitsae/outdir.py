"""Output directories: gaitsae writes only into new directories or its own, one writer at a time.

Every directory a command writes gets a marker file `.gaitsae` (JSON: the kind of output, the
names gaitsae wrote there, and `complete`: false while a command is writing). A command refuses
a directory holding anything else unless the user passes --overwrite. The marker is written
BEFORE the files, so whatever a killed command left is still gaitsae's and a re-run proceeds:

- replacing: a directory replaced as a whole (a run, a phantom, a clinical output) is built in a
  temporary sibling and swapped in by one rename — a kill leaves the old one or the new one.
- staged: a set of files (a report, truth.csv + truth.png) is written into a temporary sibling
  and moved in when all are written, the marker listing them first — never half a set.
- filling: files written in place (a run's analysis.json, a sweep's points, a download) are
  named in the marker before they are written.
- output_file: one file (a Parquet table), written atomically, foreign files refused.

A lock file beside the output (`.NAME.lock`, an flock held for the whole write) stops a second
writer; a lock left by a dead process holds no flock and is taken over. Whoever takes a lock
removes the temporaries that killed writers left (`.NAME.new-XXXXXXXX`, `.NAME.XXXXXXXX.tmp`,
unheld `.X.lock`), older than the lock and with no live owner. Long names are shortened in
these (fsio.short_name), so any legal name works.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import json
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from gaitsae.errors import OutputError
from gaitsae.fsio import UMASK, short_name, write_json

MARKER = ".gaitsae"


def read_marker(directory: Path) -> dict | None:
    """The marker of a directory gaitsae wrote, or None (absent or unreadable: not ours)."""
    try:
        marker = json.loads((Path(directory) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("files"), list) else None


def record(directory: Path, kind: str, names, complete: bool = True) -> None:
    """Add `names` (entries of `directory`, written or about to be) to its marker, creating the
    marker as `kind`; complete=False while a command is writing them."""
    directory = Path(directory)
    marker = read_marker(directory) or {"kind": kind, "files": []}
    marker["files"] = sorted(set(marker["files"]) | set(names) - {MARKER})
    marker["complete"] = complete
    write_json(directory / MARKER, marker)


def mark(directory: Path, names) -> None:
    """Add `names` to the marker of a directory gaitsae wrote, under its lock, before writing them
    (index → RUN/explorer); a directory without a marker is left without one."""
    with lock(directory):
        marker = read_marker(directory)
        if marker is not None:
            record(directory, marker.get("kind"), names, complete=marker.get("complete", True))


# Temporaries and locks gaitsae makes, by the name they serve: .X.new-abcd1234 (a directory being
# built), .X.abcd1234.tmp (fsio.atomic_path), .X.lock; and .explorer.abcd1234 of versions before 0.x.
_OURS = re.compile(r"\.(?P<target>.+?)(?:\.new-[a-z0-9_]{8}|\.[a-z0-9_]{8}\.tmp|\.lock)")
_OLD = re.compile(r"\.explorer(?:-old)?\.[a-z0-9_]{8}")


def _entries(directory: Path) -> set[str]:
    """What a directory holds, without its marker and gaitsae's own temporaries and locks."""
    return {n for n in os.listdir(directory) if n != MARKER and not _OURS.fullmatch(n) and not _OLD.fullmatch(n)}


def foreign(directory: Path) -> list[str]:
    """Names in `directory` that gaitsae did not write (its marker does not list them)."""
    marker = read_marker(directory)
    return sorted(_entries(directory) - set(marker["files"] if marker else ()))


def _check_kind(directory: Path) -> bool:
    """True if `directory` exists (as a directory); a file there is refused."""
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory}: exists but is not a directory; cannot use it as a directory")
    if not directory.exists() and directory.parent.exists() and not directory.parent.is_dir():
        raise OutputError(f"{directory.parent}: exists but is not a directory; cannot write {directory.name} in it")
    return directory.exists()


def _refuse_foreign(directory: Path, names: list[str]) -> None:
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    raise OutputError(f"{directory}: holds files gaitsae did not write ({shown}); choose another directory "
                      f"or pass --overwrite")


_HELD: dict[Path, int] = {}  # directories this process has locked → the thread that holds each


def lock_path(target: Path) -> Path:
    return target.parent / f".{short_name(target.name)}.lock"


def _temporary_dir(target: Path) -> Path:
    """A new temporary sibling directory of `target` (.NAME.new-XXXXXXXX)."""
    path = Path(tempfile.mkdtemp(prefix=f".{short_name(target.name)}.new-", dir=target.parent))
    os.chmod(path, 0o777 & ~UMASK)  # mkdtemp makes it private; give the usual mode
    return path


def _held_by_another(lock_file: Path) -> bool:
    """Whether a live process holds the flock of `lock_file` (we do not)."""
    try:
        fd = os.open(lock_file, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _clean_stale(target: Path, since: float) -> None:
    """Remove what killed writers of `target` left: its temporary siblings (we hold its lock, so
    they have no live owner) and, inside a directory gaitsae marked, temporaries and locks whose
    own lock no live process holds. Only entries older than `since` (when we took the lock)."""
    def old(path: Path) -> bool:
        with contextlib.suppress(OSError):
            return path.lstat().st_mtime < since
        return False

    base = short_name(target.name)
    for path in [*target.parent.glob(f".{glob.escape(base)}.*"), *target.parent.glob(f"..{glob.escape(base)}.new-*")]:
        m = _OURS.fullmatch(path.name)
        if m and m["target"] == base and not path.name.endswith(".lock") and old(path):
            _remove(path)
        elif m and m["target"].startswith(f".{base}.new-") and path.name.endswith(".lock") and old(path):
            _remove(path)  # the lock of a temporary sibling (GaitSAE.fit locks the run it builds)
    if target.is_dir() and not target.is_symlink() and read_marker(target) is not None:
        for path in target.iterdir():
            ours = _OURS.fullmatch(path.name)
            if not (ours or _OLD.fullmatch(path.name)) or not old(path):
                continue
            if path.name.endswith(".lock"):
                live = _held_by_another(path)
            else:  # a temporary: alive while the lock of what it builds is held
                live = ours is not None and _held_by_another(target / f".{ours['target']}.lock")
            if not live:
                _remove(path)


@contextlib.contextmanager
def lock(directory: Path) -> Iterator[None]:
    """Hold `.NAME.lock` beside `directory` (created if needed) for the duration, or refuse; then
    remove the stale temporaries of `directory`. Re-entrant within a thread: the CLI claims a run
    directory and GaitSAE.fit, which locks the run directory it is given, then writes into it."""
    directory = Path(directory).absolute()
    if _HELD.get(directory) == threading.get_ident():
        yield
        return
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{directory.parent}: cannot create ({exc.strerror})") from None
    path = lock_path(directory)
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
        _clean_stale(directory, time.time())
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


def check(directory, kind: str, overwrite: bool = False, own_ok: bool = True) -> None:
    """Refuse `directory` unless it is new, empty, gaitsae's own output of this kind (with
    own_ok), or overwrite; the check replacing() makes, for a command to make it before its work."""
    directory = Path(directory)
    exists = _check_kind(directory) and bool(_entries(directory))
    if not exists or overwrite:
        return
    marker = read_marker(directory)
    if marker is None or foreign(directory):
        _refuse_foreign(directory, foreign(directory))
    if marker.get("kind") != kind or not own_ok:
        raise OutputError(f"{directory}: holds a gaitsae {marker.get('kind')}; pass --overwrite to replace it"
                          + (" or --resume to continue it" if kind == "run" else ""))


def _build_dir(directory: Path) -> Path:
    try:
        return _temporary_dir(directory)
    except OSError as exc:
        raise OutputError(f"{directory.parent}: cannot write ({exc.strerror})") from None


@contextlib.contextmanager
def replacing(directory, kind: str, overwrite: bool = False, own_ok: bool = True,
              resumable: bool = False, names=()) -> Iterator[Path]:
    """Yield where to build `directory` as a whole: a temporary sibling that replaces it by one
    rename on success and is removed on failure. An existing non-empty directory must be gaitsae's
    own output of this kind (with own_ok) unless overwrite. resumable: a new directory is written
    in place (its marker naming `names` first), so what a killed command left there (a
    checkpoint) can be continued."""
    directory = Path(directory)
    with lock(directory):
        check(directory, kind, overwrite, own_ok)
        if resumable and not (directory.exists() and _entries(directory)):
            yield from _in_place(directory, kind, names)
            return
        build = _build_dir(directory)
        try:
            record(build, kind, names, complete=False)
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


def _in_place(directory: Path, kind: str, names=(), created: bool | None = None) -> Iterator[Path]:
    """Yield `directory` to write into; its marker names `names` (and says complete: false) first,
    and lists every entry (complete) when the command ends."""
    created = not directory.exists() if created is None else created
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{directory}: cannot create ({exc.strerror})") from None
    before = _entries(directory)
    complete = False
    try:
        record(directory, kind, names, complete=False)
        yield directory
        complete = True
    except BaseException:
        if created and not any(p.is_file() for p in directory.rglob("*") if p.name != MARKER):
            shutil.rmtree(directory, ignore_errors=True)  # nothing worth keeping: leave no trace
        raise
    finally:
        if directory.exists():
            with contextlib.suppress(OutputError):  # an unwritable marker must not hide the real error
                record(directory, kind, _entries(directory) - before | set(names), complete=complete)


def _claim(directory: Path, overwrite: bool, trusted: bool) -> set[str]:
    """Refuse a directory holding files gaitsae did not write (unless overwrite or trusted);
    returns the foreign names that overwrite lets through."""
    existed = _check_kind(directory)
    theirs = set() if trusted or not existed else set(foreign(directory)) if _entries(directory) else set()
    if theirs and not overwrite:
        _refuse_foreign(directory, sorted(theirs))
    return theirs


@contextlib.contextmanager
def filling(directory, kind: str, overwrite: bool = False, trusted: bool = False, names=()) -> Iterator[Path]:
    """Yield `directory` to write files into, in place; a directory holding files gaitsae did not
    write is refused unless overwrite (trusted: the caller has checked it is gaitsae's, e.g. a run
    that loads). The marker names `names` before the command writes them, then lists what it
    added. For a set of files that must appear together, use staged()."""
    directory = Path(directory)
    with lock(directory):
        existed = directory.exists()
        theirs = _claim(directory, overwrite, trusted)
        with _untouched_if_empty(directory, existed):
            yield from _in_place(directory, kind, set(names) - theirs, created=not existed)


@contextlib.contextmanager
def _untouched_if_empty(directory: Path, existed: bool) -> Iterator[None]:
    """A directory created for nothing (no entry besides the marker) is removed: no trace."""
    try:
        yield
    finally:
        if not existed and directory.is_dir() and not _entries(directory):
            shutil.rmtree(directory, ignore_errors=True)
        elif existed and not _entries(directory) and (read_marker(directory) or {}).get("files") == []:
            with contextlib.suppress(OSError):
                (directory / MARKER).unlink()  # an empty directory of the user's stays as it was


def check_staged(directory, overwrite: bool = False) -> None:
    """The check staged() makes (a directory holding files gaitsae did not write is refused unless
    overwrite), for a command to make it before its work."""
    _claim(Path(directory), overwrite, trusted=False)


@contextlib.contextmanager
def staged(directory, kind: str, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling to write a set of files into; when the command succeeds the
    marker of `directory` names them, then each is moved in by a rename (a new `directory` is the
    temporary renamed). A kill or an error before that leaves `directory` as it was."""
    directory = Path(directory)
    with lock(directory):
        _claim(directory, overwrite, trusted=False)
        build = _build_dir(directory)
        try:
            yield build
            names = _entries(build)
            if not directory.exists():
                record(build, kind, names)
                os.rename(build, directory)
                return
            record(directory, kind, names, complete=False)
            for name in sorted(names):
                _move(build / name, directory / name)
            record(directory, kind, names)
        except OutputError as exc:  # name the place the user asked for, not our temporary one
            raise OutputError(str(exc).replace(str(build), str(directory))) from None
        finally:
            shutil.rmtree(build, ignore_errors=True)


def _move(source: Path, dest: Path) -> None:
    """Put `source` at `dest` by a rename (a directory replacing a directory: swapped, the old one
    then removed)."""
    if dest.is_dir() and not dest.is_symlink():
        if source.is_dir():
            _exchange(source, dest)
            shutil.rmtree(source, ignore_errors=True)
            return
        shutil.rmtree(dest)
    elif source.is_dir() and dest.exists():
        dest.unlink()
    os.replace(source, dest)


@contextlib.contextmanager
def output_file(path, ours: Callable[[Path], bool], what: str, overwrite: bool = False) -> Iterator[Path]:
    """Hold the lock of one output file and yield its path (write it with fsio.atomic_path): an
    existing file must be gaitsae's (`ours`) unless overwrite; a directory or device is refused."""
    path = Path(path)
    check_file(path, ours, what, overwrite)
    with lock(path):
        check_file(path, ours, what, overwrite)
        yield path


def check_file(path, ours: Callable[[Path], bool], what: str, overwrite: bool = False) -> None:
    """Refuse an existing file gaitsae did not write (`ours` says), unless overwrite."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: exists and is not a regular file; give a file path")
    if path.parent.exists() and not path.parent.is_dir():
        raise OutputError(f"{path.parent}: exists but is not a directory; cannot write {path.name} in it")
    if path.is_file() and not overwrite and not ours(path):
        raise OutputError(f"{path}: exists and is not a gaitsae {what}; choose another --out or pass --overwrite")
