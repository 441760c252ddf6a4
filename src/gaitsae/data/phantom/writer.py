"""CSV output in the exact Gutenberg/GaitRec layout (CRLF lines, `NaN` for unknown values)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.channels import METADATA_COLUMNS, value_columns
from gaitsae.fsio import atomic_path, write_bytes

EOL = "\r\n"  # the published CSVs use Windows line ends


def _to_bytes(text: str) -> bytes:
    return text.encode("ascii")


ROWS_PER_BLOCK = 2048  # rows formatted at once: the text of a block is a few MB, never the whole file


def _row_blocks(values: np.ndarray):
    for start in range(0, len(values), ROWS_PER_BLOCK):
        yield values[start:start + ROWS_PER_BLOCK]


def write_table(path: Path, ids: pd.DataFrame, values, value_names: list[str], digits: int = 6) -> None:
    """IDs (integers) then float values with `digits` significant digits; NaN written as NaN.

    `values` is an array [n, columns] or an iterable of consecutive row blocks (so a table larger
    than memory is never whole as numbers or as text); the file is streamed to a temporary path."""
    fmt = ",".join(["%d"] * ids.shape[1] + [f"%.{digits}g"] * len(value_names))
    id_values = ids.to_numpy(dtype=np.float64)
    blocks = _row_blocks(values) if isinstance(values, np.ndarray) else values
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(_to_bytes(",".join(list(ids.columns) + value_names) + EOL))
        start = 0
        for block in blocks:
            stop = start + len(block)
            buf = io.StringIO()
            np.savetxt(buf, np.hstack([id_values[start:stop], block.astype(np.float64)]), fmt=fmt,
                       delimiter=",", newline=EOL)
            fh.write(_to_bytes(buf.getvalue().replace("nan", "NaN")))
            start = stop
        if start != len(id_values):
            raise ValueError(f"{path}: {start} value rows for {len(id_values)} id rows")


def write_signal(path: Path, ids: pd.DataFrame, curves, channel: str, kind: str, n_columns: int | None = None) -> None:
    """One signal file; `curves` an array or an iterable of row blocks (then give n_columns)."""
    n_columns = curves.shape[1] if n_columns is None else n_columns
    write_table(path, ids, curves, value_columns(channel, kind, n_columns))


def _cell(value, decimals: int | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "NaN"
    if isinstance(value, str):
        return value
    return f"{value:.{decimals}f}" if decimals else str(int(round(value)))


# Decimals per metadata column as published (None: written as an integer or a string).
METADATA_DECIMALS = {"BODY_WEIGHT": 1, "BODY_MASS": 1, "SHOE_SIZE": 1}


def write_metadata(path: Path, table: pd.DataFrame, id_columns: list[str]) -> None:
    columns = id_columns + list(METADATA_COLUMNS)
    lines = [",".join(columns)]
    rows = table[columns].astype(object).to_numpy()
    for row in rows:
        lines.append(",".join(_cell(v, METADATA_DECIMALS.get(c)) for c, v in zip(columns, row)))
    write_bytes(path, _to_bytes(EOL.join(lines) + EOL))


def write_walking_speed(path: Path, ids: pd.DataFrame, speed: np.ndarray) -> None:
    buf = io.StringIO()
    buf.write(",".join(list(ids.columns) + ["WALKING_SPEED"]) + EOL)
    for row, v in zip(ids.to_numpy(), speed):
        buf.write(",".join(str(int(i)) for i in row) + "," + ("NaN" if np.isnan(v) else f"{v:.2f}") + EOL)
    write_bytes(path, _to_bytes(buf.getvalue()))
