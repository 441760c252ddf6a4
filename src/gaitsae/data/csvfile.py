"""Reading one CSV of the layout and checking its columns and cells, with file/row/column errors.

Row numbers in messages are line numbers in the file (the header is line 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.errors import DataError


def read_csv(path: Path) -> pd.DataFrame:
    """The whole file as a DataFrame; empty, header-only and ragged files are DataErrors."""
    if not path.is_file():
        raise DataError(f"{path}: required file is missing")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    try:
        table = pd.read_csv(path, na_values=["NaN", "nan", ""], keep_default_na=False, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed CSV ({_parser_detail(exc)})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text CSV file ({exc.reason} at byte {exc.start})") from None
    if len(table) == 0:
        raise DataError(f"{path}: file has a header but no data rows")
    return table


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
    values = numeric(path, table, columns)
    bad = np.isnan(values) | (values != np.round(values))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{path}: row {i + 2}, column {columns[j]}: ID must be a whole number, got {values[i, j]}")
    return values.astype(np.int64)


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
