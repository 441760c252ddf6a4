"""CSV output in the exact Gutenberg/GaitRec layout (CRLF lines, `NaN` for unknown values)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.channels import METADATA_COLUMNS, value_columns
from gaitsae.fsio import write_bytes

EOL = "\r\n"  # the published CSVs use Windows line ends


def _to_bytes(text: str) -> bytes:
    return text.encode("ascii")


def write_table(path: Path, ids: pd.DataFrame, values: np.ndarray, value_names: list[str],
                digits: int = 6) -> None:
    """IDs (integers) then float values with `digits` significant digits; NaN written as NaN."""
    buf = io.StringIO()
    buf.write(",".join(list(ids.columns) + value_names) + EOL)
    fmt = ",".join(["%d"] * ids.shape[1] + [f"%.{digits}g"] * values.shape[1])
    table = np.hstack([ids.to_numpy(dtype=np.float64), values.astype(np.float64)])
    np.savetxt(buf, table, fmt=fmt, delimiter=",", newline=EOL)
    write_bytes(path, _to_bytes(buf.getvalue().replace("nan", "NaN")))


def write_signal(path: Path, ids: pd.DataFrame, curves: np.ndarray, channel: str, kind: str) -> None:
    write_table(path, ids, curves, value_columns(channel, kind, curves.shape[1]))


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
