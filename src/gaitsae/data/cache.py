"""A cache of parsed data, and the content digests that fingerprint the data a run trained on.

A cache entry holds what one load_dataset call returned (every directory, merged): plain .npy +
.parquet + JSON (no pickle), written into a temporary folder that is renamed into place, so a
crash never leaves a half-written entry. It lives under cache_root(), never beside the data.
Entries are keyed by the files' stat (path, size, modification and change times, inode), not by
hashing their ~1 GB again: any write to a file changes its change time, so an edited file is a
new key (git's index trusts the same). The curves of an entry are mapped copy-on-write, so a
cache hit costs no read and a caller writing into them never changes the entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.data.dataset import GaitDataset

READER_VERSION = 2  # part of every content digest: runs record it, so bumping it disowns their data
ENTRY_VERSION = 3  # bump when the reader's output or the entries' format changes, so old entries are not reused
CHUNK = 1 << 22
STALE_S = 24 * 3600  # a temporary entry folder this old belongs to a killed process


def cache_root(cache_dir=None) -> Path:
    """GAITSAE_CACHE_DIR, else $XDG_CACHE_HOME/gaitsae, else ~/.cache/gaitsae."""
    if cache_dir is None:
        cache_dir = os.environ.get("GAITSAE_CACHE_DIR")
    if cache_dir is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        cache_dir = Path(base) / "gaitsae"
    return Path(cache_dir)


def content_key(files, extra=(), memo_root=None) -> str:
    """blake2b over every file's bytes (absent files count as absent) and `extra`.

    With memo_root, a key already computed for files whose size, modification and change times
    and inode are unchanged is read back from memo_root/.keys/ instead of hashing ~1 GB again (git's
    index does the same); any change to a file changes its ctime, so the key is then recomputed."""
    memo = _memo_path(memo_root, files, extra) if memo_root is not None else None
    if memo is not None:
        try:
            return memo.read_text().strip()
        except OSError:
            pass
    h = hashlib.blake2b(digest_size=20)
    h.update(repr((READER_VERSION, extra)).encode())
    for path in files:
        h.update(Path(path).name.encode() + b"\0")
        if not Path(path).is_file():
            h.update(b"<absent>")
            continue
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
        h.update(b"\0")
    key = h.hexdigest()
    if memo is not None:
        _write_memo(memo, key)
    return key


def stat_key(files, extra=()) -> str | None:
    """blake2b over every file's path and stat (absent files count as absent) and `extra`; None
    when a file cannot be stat-ed. Any write to a file changes its ctime, so the key changes too."""
    h = hashlib.blake2b(digest_size=20)
    h.update(repr((READER_VERSION, extra)).encode())
    for path in files:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            h.update(repr((str(Path(path).absolute()), None)).encode())
            continue
        except OSError:
            return None
        h.update(repr((str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                       st.st_dev)).encode())
    return h.hexdigest()


def _memo_path(root, files, extra) -> Path | None:
    """Where the content key of these files in their current state is remembered (None: a file is not stat-able)."""
    key = stat_key(files, extra)
    return None if key is None else Path(root) / ".keys" / key


def _write_memo(memo: Path, key: str) -> None:
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{memo.name}.", dir=memo.parent)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        os.replace(tmp, memo)
    except OSError:
        pass  # an unwritable cache only costs speed


def load(root: Path, key: str) -> GaitDataset | None:
    entry = root / key
    try:
        info = json.loads((entry / "info.json").read_text())
        # Copy-on-write mapping: no read until a page is used, and writes stay private to the caller.
        curves = np.asarray(np.load(entry / "curves.npy", mmap_mode="c", allow_pickle=False))
        stances = pd.read_parquet(entry / "stances.parquet")
        for column in info["object_columns"]:  # Parquet reads them back as strings: keep the reader's dtypes
            stances[column] = stances[column].astype(object)
        return GaitDataset(curves=curves, stances=stances, channels=tuple(info["channels"]),
                           synthetic=info["synthetic"], sources=tuple(info["sources"]),
                           problems=tuple(info["problems"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, damaged or inconsistent: read the CSVs again


def store(root: Path, key: str, dataset: GaitDataset) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        _clean_stale(root)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    except OSError:
        return  # an unwritable cache only costs speed
    try:
        np.save(tmp / "curves.npy", dataset.curves, allow_pickle=False)
        dataset.stances.to_parquet(tmp / "stances.parquet", index=False)
        info = {"channels": list(dataset.channels), "synthetic": dataset.synthetic,
                "sources": list(dataset.sources), "problems": list(dataset.problems),
                "object_columns": [c for c in dataset.stances.columns if dataset.stances[c].dtype == object]}
        (tmp / "info.json").write_text(json.dumps(info))
        os.replace(tmp, root / key)
    except OSError:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _clean_stale(root: Path) -> None:
    """Remove temporary entry folders a killed process left (older than STALE_S)."""
    now = time.time()
    for tmp in root.glob(".*.*"):
        try:
            if tmp.is_dir() and tmp.name != ".keys" and now - tmp.stat().st_mtime > STALE_S:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass
