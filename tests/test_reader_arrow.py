"""pyarrow's reader (csvfile.PARSE_WITH_ARROW, with more than one thread) gives pandas' frames, and bad input
still gets pandas' one-line messages (pyarrow refuses it or the file is not plain numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitsae.data import csvfile, load_dataset
from gaitsae.errors import DataError
from tests.csvedit import edit, with_cell


def _threads(monkeypatch, n):
    """n > 1: pyarrow's path (switched on), 1: pandas'."""
    monkeypatch.setattr(csvfile, "PARSE_WITH_ARROW", True)
    monkeypatch.setattr(csvfile, "arrow_threads", lambda: n)


def test_arrow_frames_equal_pandas_frames(tiny_patients_dir, monkeypatch):
    files = sorted(tiny_patients_dir.glob("*/*.csv"))
    signal = [f for f in files if "_PRO_" in f.name]
    assert len(signal) == 20
    for f in signal:  # the PRO files are plain numbers: pyarrow parses them
        assert csvfile._arrow_numbers(f.read_bytes()) is not None, f.name
    for f in files:
        _threads(monkeypatch, 1)
        expected = csvfile.read_csv(f)
        _threads(monkeypatch, 2)
        pd.testing.assert_frame_equal(csvfile.read_csv(f), expected, check_column_type=True)


def test_arrow_load_equals_pandas_load(tiny_patients_dir, monkeypatch):
    _threads(monkeypatch, 1)
    a = load_dataset(tiny_patients_dir, cache=False)
    _threads(monkeypatch, 2)
    b = load_dataset(tiny_patients_dir, cache=False)
    assert a.curves.dtype == b.curves.dtype == np.float32
    np.testing.assert_array_equal(a.curves, b.curves)
    pd.testing.assert_frame_equal(a.stances, b.stances)
    assert a.problems == b.problems


CELLS = [(7, v) for v in ["abc", "NAN", "nAn", "NaN", "", "1e5x", "+", " 1.5", "inf", "-Infinity", "0x10", "1,5"]] + [
    (1, v) for v in ["0x10", "+12", "1e3", "NAN", "9223372036854775808"]]  # 7: F_V_PRO_4, 1: SUBJECT_ID


@pytest.mark.parametrize("column, value", CELLS)
def test_cells_pyarrow_reads_otherwise_keep_pandas_message(phantom_copy, monkeypatch, column, value):
    """Each hostile cell gives the same message (or the same result) with and without pyarrow."""
    edit(phantom_copy / "GRF_F_V_PRO_left.csv", lambda l: with_cell(l, 4, column, value))
    outcome = {}
    for n in (1, 2):
        _threads(monkeypatch, n)
        try:
            ds = load_dataset(phantom_copy, cache=False)
            outcome[n] = ("ok", ds.curves.tobytes(), ds.problems)
        except DataError as exc:
            outcome[n] = ("error", str(exc))
    assert outcome[2] == outcome[1]
    if column == 7 and value in ("abc", "NAN", "1e5x", "0x10"):
        assert outcome[1][0] == "error" and "row 5, column F_V_PRO_4: not a number" in outcome[1][1]
    if column == 1 and value == "0x10":
        assert outcome[1][0] == "error" and "row 5, column SUBJECT_ID: not a number: '0x10'" in outcome[1][1]


def test_header_and_rows_pyarrow_refuses_fall_back_to_pandas(phantom_copy, monkeypatch):
    path = phantom_copy / "GRF_F_AP_PRO_right.csv"
    data = path.read_bytes()
    assert csvfile._arrow_numbers(data) is not None
    assert csvfile._arrow_numbers(data.replace(b"F_AP_PRO_2,", b"F_AP_PRO_1,", 1)) is None  # repeated name
    assert csvfile._arrow_numbers(data.replace(b"F_AP_PRO_2,", b'"F_AP_PRO_2",', 1)) is None  # quoted name
    assert csvfile._arrow_numbers(data.split(b"\n", 1)[0] + b"\n") is None  # header only: no number types
    edit(path, lambda l: l[:3] + [l[3] + ",0.5"] + l[4:])  # a long row: pyarrow refuses it
    messages = []
    for n in (1, 2):
        _threads(monkeypatch, n)
        with pytest.raises(DataError) as exc:
            load_dataset(phantom_copy, cache=False)
        messages.append(str(exc.value))
    assert messages[0] == messages[1]
    assert "GRF_F_AP_PRO_right.csv: row 4 has 106 fields, the header has 105" in messages[0]
