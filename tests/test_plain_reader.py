"""The signal files' fast reader (polars, every column's type fixed) takes only plain files and
reads them exactly as the checked pandas path does; any other file goes the checked way, which
names its problem (tests/test_reader_errors.py)."""

from __future__ import annotations

import numpy as np
import pytest

from gaitsae.channels import ID_COLUMNS_GUTENBERG, value_columns
from gaitsae.data import load_dataset, reader
from gaitsae.data.csvfile import read_plain_numbers
from gaitsae.errors import DataError
from tests.csvedit import edit, read_lines, with_cell, write_lines

FILE = "GRF_F_V_PRO_left.csv"
IDS = list(ID_COLUMNS_GUTENBERG)
VALUES = value_columns("F_V")


def _both(path):
    plain = read_plain_numbers(path, IDS, VALUES)
    checked_ids, checked_values = reader._checked_signal(path, "F_V", IDS)
    return plain, checked_ids, checked_values.astype(np.float32)


def _same(plain, checked_ids, checked_values):
    assert plain is not None, "a plain file went the checked way"
    ids, values = plain
    assert ids.dtype == np.int64 and values.dtype == np.float32
    np.testing.assert_array_equal(ids, checked_ids)
    assert np.array_equal(values.view(np.uint32), checked_values.view(np.uint32))  # bit for bit


def test_plain_file__the_same_numbers_as_the_checked_path(phantom_copy):
    _same(*_both(phantom_copy / FILE))


def _lf(path):
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))


FORMS = {  # written differently, read the same by pandas and polars
    "quoted cells": lambda p: edit(p, lambda l: with_cell(with_cell(l, 1, 4, '"0.5"'), 2, 0, '"1"')),
    "byte order mark": lambda p: p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes()),
    "LF line ends": _lf,
    "no final line end": lambda p: p.write_bytes(p.read_bytes().rstrip(b"\r\n")),
    "exponent and sign": lambda p: edit(p, lambda l: with_cell(with_cell(l, 1, 5, "+1.25e-1"), 3, 6, "-.5")),
    "a leading space": lambda p: edit(p, lambda l: with_cell(l, 2, 7, " 0.75")),
}


@pytest.mark.parametrize("form", FORMS)
def test_other_plain_forms__the_same_numbers(phantom_copy, form):
    FORMS[form](phantom_copy / FILE)
    _same(*_both(phantom_copy / FILE))


NOT_PLAIN = {  # the checked path refuses these, drops the stance, or reads what polars does not
    "short row": lambda l: l[:2] + [l[2].rsplit(",", 1)[0]] + l[3:],
    "long row": lambda l: l[:2] + [l[2] + ",1"] + l[3:],
    "trailing comma": lambda l: l[:2] + [l[2] + ","] + l[3:],
    "blank line": lambda l: l[:3] + [""] + l[3:],
    "empty cell": lambda l: with_cell(l, 2, 10, ""),
    "NaN cell": lambda l: with_cell(l, 2, 10, "NaN"),
    "nan cell": lambda l: with_cell(l, 2, 10, "nan"),
    "inf cell": lambda l: with_cell(l, 2, 10, "inf"),
    "text cell": lambda l: with_cell(l, 2, 10, "abc"),
    "trailing space": lambda l: with_cell(l, 2, 10, "0.5 "),
    "fractional ID": lambda l: with_cell(l, 2, 2, "1.5"),
    "whole ID written 2.0": lambda l: with_cell(l, 2, 1, "1.0"),
    "empty ID": lambda l: with_cell(l, 2, 2, ""),
    "extra column": lambda l: [c + ",0" for c in l if c],
    "renamed column": lambda l: [l[0].replace("F_V_PRO_7,", "F_V_PRO_seven,")] + l[1:],
    "header only": lambda l: l[:1],
}


@pytest.mark.parametrize("change", NOT_PLAIN)
def test_anything_else__goes_the_checked_way(phantom_copy, change):
    edit(phantom_copy / FILE, NOT_PLAIN[change])
    assert read_plain_numbers(phantom_copy / FILE, IDS, VALUES) is None


def test_missing_file__goes_the_checked_way(phantom_copy):
    (phantom_copy / FILE).unlink()
    assert read_plain_numbers(phantom_copy / FILE, IDS, VALUES) is None
    with pytest.raises(DataError, match=f"{FILE}: required file is missing"):
        load_dataset(phantom_copy, channels=["F_V"])


def test_negative_id_in_a_plain_file__refused_as_before(phantom_copy):
    edit(phantom_copy / FILE, lambda l: with_cell(l, 3, 1, "-4"))
    assert read_plain_numbers(phantom_copy / FILE, IDS, VALUES) is not None
    with pytest.raises(DataError, match=rf"{FILE}: row 4, column SUBJECT_ID: ID must be a whole number .* got -4"):
        load_dataset(phantom_copy)


def test_whole_load__the_same_dataset_either_way(tiny_patients_dir, monkeypatch):
    fast = load_dataset(tiny_patients_dir, cache=False)
    monkeypatch.setattr(reader, "read_plain_numbers", lambda *args: None)
    checked = load_dataset(tiny_patients_dir, cache=False)
    assert np.array_equal(fast.curves.view(np.uint32), checked.curves.view(np.uint32))
    assert fast.stances.equals(checked.stances) and fast.problems == checked.problems


def test_a_nan_cell__the_stance_is_dropped_as_before(phantom_copy):
    lines = read_lines(phantom_copy / FILE)
    write_lines(phantom_copy / FILE, with_cell(lines, 2, 10, "NaN"))
    data = load_dataset(phantom_copy, cache=False)
    assert any(f"{FILE}: row 3:" in p and "left stance dropped" in p for p in data.problems)
