"""Atomic file output: every file gaitsae writes appears whole or not at all.

Write to a temporary file in the destination folder, flush and fsync it, then rename it over
the destination (rename is atomic on POSIX within one file system).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from gaitsae.errors import OutputError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _current_umask()

NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs, tmpfs)


def short_name(name: str) -> str:
    """`name`, or for a long one its start and a hash, so that a temporary or lock name built
    from it (".NAME.new-XXXXXXXX", ".NAME.XXXXXXXX.tmp", ".NAME.lock") stays within NAME_MAX."""
    if len(os.fsencode(name)) <= 200:
        return name
    return f"{name[:32]}~{hashlib.sha1(os.fsencode(name)).hexdigest()[:16]}"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed to `path`, on error removed.

    An OSError (a full disk, no permission, `path` a directory) becomes one OutputError naming `path`.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: exists and is not a regular file; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{short_name(path.name)}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~UMASK)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp_path, path)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=True) + "\n")


def json_safe(obj):
    """A copy of obj that json can write: numpy scalars and arrays to Python, NaN and inf to None."""
    return json.loads(json.dumps(obj, default=_json_default).replace("NaN", "null"))


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


TABLE_FORMATS = (".csv", ".parquet")


def write_table(path: str | os.PathLike, table, metadata: dict | None = None,
                column_metadata: dict[str, dict] | None = None) -> None:
    """Write a pandas table as CSV or Parquet, chosen by the extension of `path`, atomically.

    CSV is plain (comma, header row, no index, UTF-8) so R, SPSS and pandas read it as it is.
    Parquet only: `metadata` {key: JSON-able} goes into the schema's key-value metadata (each
    value as JSON), `column_metadata` {column: {key: text}} into those fields' metadata.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise OutputError(f"{path}: a table is written as .csv or .parquet, not {suffix or 'a name without extension'!r}")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            table.to_csv(tmp, index=False)
        elif metadata or column_metadata:
            _write_parquet_with_metadata(tmp, table, metadata or {}, column_metadata or {})
        else:
            table.to_parquet(tmp, index=False)


def _write_parquet_with_metadata(path, table, metadata: dict, column_metadata: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    fields = [f.with_metadata({str(k): str(v) for k, v in column_metadata[f.name].items()})
              if f.name in column_metadata else f for f in arrow.schema]
    extra = {str(k).encode(): json.dumps(v).encode() for k, v in metadata.items()}
    schema = pa.schema(fields, metadata={**(arrow.schema.metadata or {}), **extra})
    pq.write_table(arrow.cast(schema), path)
