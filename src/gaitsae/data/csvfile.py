"""Reading one CSV of the layout and checking its columns and cells, with file/row/column errors.

Row numbers in messages are line numbers in the file (the header is line 1). Before pandas
parses a file, every line's field count is checked against the header (and the header against
the layout's width) on the raw bytes: pandas sizes its columns by the widest row, so one hostile
row of 200,000 fields would otherwise cost gigabytes before any error.

The signal files (~850 MB of numbers at GaitRec size) are first offered to polars' multithreaded
reader with every column's type fixed (read_plain_numbers): it takes only a file every cell of
which is a finite number, and any other file goes through read_csv and the checks below, which
name its problem exactly as before.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.errors import DataError

BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark some editors put before the header
MAX_FIELDS = 100_000  # widest header accepted when the layout does not fix the width (RAW files)
MAX_ID = 2**53  # IDs above this are not exact in float64 (and 1e30 would wrap in int64)


def read_csv(path: Path, max_fields: int = MAX_FIELDS) -> pd.DataFrame:
    """The whole file as a DataFrame; empty, header-only, ragged, too wide and non-UTF-8 files
    are DataErrors. max_fields: the widest header the layout allows for this file."""
    if not path.is_file():
        raise DataError(f"{path}: required file is missing")
    data = path.read_bytes()
    if not data or data.isspace():  # (not data.strip(): that copies the file)
        raise DataError(f"{path}: file is empty")
    _check_text(path, data)
    _check_widths(path, data, max_fields)
    try:
        table = pd.read_csv(io.BytesIO(data), na_values=["NaN", "nan", ""], keep_default_na=False,
                            low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty") from None
    except pd.errors.ParserError as exc:
        _check_widths(path, data, max_fields, every_row=True)  # a long row: name the first bad row
        raise DataError(f"{path}: malformed CSV ({_parser_detail(exc)})") from None
    if len(table) == 0:
        raise DataError(f"{path}: file has a header but no data rows")
    return table


def read_plain_numbers(path: Path, id_columns: list[str], value_columns: list[str]):
    """(IDs int64 [n, len(id_columns)], values float32 [n, len(value_columns)]) of a file whose header
    is exactly these columns and whose every cell is a finite number (IDs whole); None for any
    other file (missing, another header, a ragged or blank row, an empty, text, NaN or inf cell),
    which read_csv and the checks then read and name the problem of. About 2.5x faster than
    pandas on 2 cores (benchmarks/load.py)."""
    columns = [*id_columns, *value_columns]
    try:
        with open(path, "rb") as fh:
            header = fh.readline(1 << 20)
    except OSError:
        return None
    if header.removeprefix(BOM).rstrip(b"\r\n").split(b",") != [c.encode() for c in columns]:
        return None
    import polars as pl

    try:  # a long row, a cell that is not a number, a fractional ID: polars refuses the file
        table = pl.read_csv(path, schema={c: pl.Int64 if c in id_columns else pl.Float32 for c in columns})
    except (pl.exceptions.PolarsError, OSError):
        return None
    ids, values = table.select(id_columns).to_numpy(), table.select(value_columns).to_numpy()
    # A short or blank row and an empty cell come back as nulls: NaN values, float IDs.
    if not len(table) or ids.dtype != np.int64 or not np.isfinite(values).all():
        return None
    return ids, values


def _check_text(path: Path, data: bytes) -> None:
    """UTF-8 (ASCII in practice); a Latin-1 byte is named by row and column, not a byte offset."""
    if data.isascii():  # the published files are plain ASCII: skip decoding them
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        row = data.count(b"\n", 0, exc.start) + 1
        column = data.count(b",", start, exc.start) + 1
        raise DataError(f"{path}: row {row}, field {column}: byte 0x{data[exc.start]:02x} is not UTF-8 text "
                        "(a Latin-1 or Windows-1252 file?); save the file as UTF-8") from None


def _fields(line: bytes) -> int:
    if b'"' in line:  # quoted cells may hold commas
        return len(next(csv.reader([line.decode("utf-8")])))
    return line.count(b",") + 1


def _check_widths(path: Path, data: bytes, max_fields: int, every_row: bool = False) -> None:
    """Every non-blank line has as many fields as the header, and the header at most max_fields."""
    lines = io.BytesIO(data)
    header = lines.readline()
    width = _fields(header)
    if header.rstrip(b"\r\n").endswith(b","):
        raise DataError(f"{path}: row 1 (header) ends with a comma (an empty column name); remove the trailing comma")
    if width > max_fields:
        raise DataError(f"{path}: row 1 (header) has {width} fields; this file has at most {max_fields}")
    if not every_row and _widths_add_up(data, len(header), width):
        return
    for row, line in enumerate(lines, start=2):
        if line.count(b",") + 1 == width or not line.strip():
            continue
        n = _fields(line)
        if n == width:
            continue
        hint = " (a trailing comma?)" if n == width + 1 and line.rstrip(b"\r\n").endswith(b",") else ""
        raise DataError(f"{path}: row {row} has {n} fields, the header has {width}{hint}")


def _widths_add_up(data: bytes, start: int, width: int) -> bool:
    """True when the data rows (from byte `start`) hold width - 1 commas each in total, without a
    quote and with a first row of the right width: then no row is short unless another is long, and
    pandas refuses a long row (read_csv then names the first bad row). Saves a line loop."""
    if b'"' in data or start >= len(data):
        return False
    first = data[start:data.find(b"\n", start) + 1 or len(data)]
    if first.count(b",") + 1 != width:  # a longer first row would become pandas' index, not an error
        return False
    rows = data.count(b"\n", start) + (not data.endswith(b"\n"))
    return data.count(b",", start) == (width - 1) * rows


def _parser_detail(exc: Exception) -> str:
    # pandas says e.g. "Error tokenizing data. C error: Expected 105 fields in line 7, saw 106"
    text = str(exc).strip().splitlines()[-1]
    return text.replace("Error tokenizing data. C error: ", "")


def require_columns(path: Path, table: pd.DataFrame, expected: list[str]) -> None:
    """The first columns must be exactly `expected`, in order."""
    found = [str(c) for c in table.columns]
    missing = [c for c in expected if c not in found]
    if missing:
        at = expected.index(missing[0])
        hint = f" (found {found[at]} in its place)" if at < len(found) and found[at] not in expected else ""
        raise DataError(f"{path}: missing column {missing[0]}{hint}")


def require_exact_columns(path: Path, table: pd.DataFrame, expected: list[str], what: str) -> None:
    found = [str(c) for c in table.columns]
    if found == expected:
        return
    require_columns(path, table, expected)
    extra = [c for c in found if c not in expected]
    raise DataError(f"{path}: expected {what} ({len(expected)} columns), found extra column {extra[0]}")


def numeric(path: Path, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """float64 [n_rows, len(columns)]; the first non-numeric cell is named by row and column."""
    block = table[columns]
    bad_cols = [c for c in columns if not pd.api.types.is_numeric_dtype(block[c])]
    if bad_cols:
        for c in bad_cols:
            coerced = pd.to_numeric(block[c], errors="coerce")
            bad = coerced.isna() & block[c].notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"{path}: row {i + 2}, column {c}: not a number: {str(block[c].iloc[i])[:40]!r}"
                )
        block = block.apply(pd.to_numeric)
    return block.to_numpy(dtype=np.float64)


def integer_ids(path: Path, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """int64 [n_rows, len(columns)] of ID columns; missing or fractional IDs are errors."""
    return whole_ids(path, numeric(path, table, columns), columns)


def whole_ids(path: Path, values: np.ndarray, columns: list[str]) -> np.ndarray:
    """The ID columns `values` [n_rows, len(columns)] as int64; a missing, fractional, negative or
    too large ID is an error naming its row and column."""
    bad = np.isnan(values) | (values != np.round(values)) | (values < 0) | (values > MAX_ID)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{path}: row {i + 2}, column {columns[j]}: ID must be a whole number from 0 to 2^53, "
                        f"got {values[i, j]:g}")
    return values.astype(np.int64, copy=False)


def first_duplicate(path: Path, ids: np.ndarray, columns: list[str]) -> None:
    """Raise on the first repeated ID tuple, naming both rows."""
    frame = pd.DataFrame(ids, columns=columns)
    dup = frame.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        first = rows[0]
        again = [r for r in rows[1:] if (ids[r] == ids[first]).all()][0]
        key = ", ".join(f"{c}={v}" for c, v in zip(columns, ids[first]))
        raise DataError(f"{path}: row {again + 2}: duplicate IDs ({key}), first seen in row {first + 2}")
