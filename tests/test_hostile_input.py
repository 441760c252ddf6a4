"""Hostile and implausible input data through `gaitsae inspect`/`train`: bounded work, one-line
errors naming file and row, implausible stances dropped and reported (docs/robustness.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gaitsae.cli import main
from gaitsae.data import load_dataset
from tests.clifail import fails
from tests.csvedit import edit, read_lines, with_cell, write_lines


def _inspect(directory, capsys) -> str:
    assert main(["inspect", str(directory), "--no-cache"]) == 0
    return capsys.readouterr().out


def test_wide_first_row_fails_before_allocating(phantom_copy, capsys):
    """1.4 MB: the first data row of a PRO file carries 200,000 extra fields."""
    path = phantom_copy / "GRF_F_V_PRO_left.csv"
    edit(path, lambda lines: lines[:1] + [lines[1] + ",1" * 200_000] + lines[2:])
    assert path.stat().st_size > 400_000
    err = fails(["inspect", str(phantom_copy)], capsys)
    assert "GRF_F_V_PRO_left.csv: row 2 has 200105 fields, the header has 105" in err


def test_wide_header_is_refused(phantom_copy, capsys):
    edit(phantom_copy / "GRF_F_AP_PRO_right.csv",
         lambda lines: [lines[0] + "".join(f",X{i}" for i in range(200_000))] + lines[1:])
    err = fails(["inspect", str(phantom_copy)], capsys)
    assert "GRF_F_AP_PRO_right.csv: row 1 (header) has 200105 fields; this file has at most 105" in err


def test_trailing_comma_on_data_rows_is_named(phantom_copy, capsys):
    edit(phantom_copy / "GRF_F_ML_PRO_left.csv", lambda lines: lines[:1] + [x + "," if x else x for x in lines[1:]])
    err = fails(["inspect", str(phantom_copy)], capsys)
    assert "GRF_F_ML_PRO_left.csv: row 2 has 106 fields, the header has 105 (a trailing comma?)" in err


def test_trailing_comma_on_the_header_is_named(phantom_copy, capsys):
    edit(phantom_copy / "GRF_F_ML_PRO_left.csv", lambda lines: [x + "," if x else x for x in lines])
    err = fails(["inspect", str(phantom_copy)], capsys)
    assert "GRF_F_ML_PRO_left.csv: row 1 (header) ends with a comma" in err


def test_latin1_byte_is_named_by_row_and_field(phantom_copy, capsys):
    path = phantom_copy / "GRF_metadata.csv"
    lines = read_lines(path)
    lines[3] = lines[3].replace(",HC,", ",HC\udce9,", 1)  # surrogateescape → the single byte 0xE9
    write_lines(path, lines)
    err = fails(["inspect", str(phantom_copy)], capsys)
    assert "GRF_metadata.csv: row 4, field" in err and "byte 0xe9 is not UTF-8 text" in err


@pytest.mark.parametrize("column, value", [("TRIAL_ID", "1e30"), ("SESSION_ID", "-3"),
                                           ("SUBJECT_ID", "99999999999999999999999")])
def test_ids_beyond_range_are_refused_not_wrapped(phantom_copy, capsys, column, value):
    path = phantom_copy / "GRF_F_V_PRO_left.csv"
    col = read_lines(path)[0].split(",").index(column)
    edit(path, lambda lines: with_cell(lines, 2, col, value))
    err = fails(["inspect", str(phantom_copy)], capsys)
    assert f"GRF_F_V_PRO_left.csv: row 3, column {column}: ID must be a whole number from 0 to 2^53" in err


@pytest.mark.parametrize("column, value", [("AGE", "-4"), ("AGE", "300"), ("HEIGHT", "0"), ("BODY_MASS", "1e6"),
                                           ("BODY_WEIGHT", "-700"), ("BODY_WEIGHT", "inf")])
def test_impossible_metadata_is_refused(phantom_copy, capsys, column, value):
    path = phantom_copy / "GRF_metadata.csv"
    col = read_lines(path)[0].split(",").index(column)
    edit(path, lambda lines: with_cell(lines, 2, col, value))
    err = fails(["inspect", str(phantom_copy)], capsys)
    assert f"GRF_metadata.csv: row 3, column {column}:" in err and "is not plausible" in err


def test_impossible_walking_speed_is_refused(phantom_copy, capsys):
    path = phantom_copy / "GRF_walking_speed.csv"
    col = read_lines(path)[0].split(",").index("WALKING_SPEED")
    edit(path, lambda lines: with_cell(lines, 5, col, "-1.4"))
    err = fails(["inspect", str(phantom_copy)], capsys)
    assert "GRF_walking_speed.csv: row 6, column WALKING_SPEED: -1.4 is not plausible" in err


def _set_curve(path, row, fn):
    """Replace the PRO values of one data row (row 2 = first data row) by fn(values)."""
    lines = read_lines(path)
    cells = lines[row - 1].split(",")
    values = fn(np.array(cells[-101:], dtype=float))
    lines[row - 1] = ",".join(cells[:-101] + [repr(float(v)) for v in values])
    write_lines(path, lines)


CURVE_CASES = {  # file, edit of one curve, reason reported
    "vGRF 1e30 BW": ("GRF_F_V_PRO_left.csv", lambda v: v * 0 + 1e30, "F_V beyond the plausible range -0.25…5 BW"),
    "negative vGRF": ("GRF_F_V_PRO_right.csv", lambda v: -v, "F_V beyond the plausible range -0.25…5 BW"),
    "shear 3 BW": ("GRF_F_AP_PRO_left.csv", lambda v: v + 3, "F_AP beyond the plausible range -2…2 BW"),
    "all zero": ("GRF_F_ML_PRO_right.csv", lambda v: v * 0, "all-zero PRO curve"),
    "COP in mm": ("GRF_COP_AP_PRO_left.csv", lambda v: v * 1000 + 100, "COP_AP beyond the plausible range -2…2 m"),
}


@pytest.mark.parametrize("case", sorted(CURVE_CASES))
def test_implausible_curve_drops_the_stance_and_inspect_reports_it(phantom_copy, capsys, case):
    name, fn, reason = CURVE_CASES[case]
    before = len(load_dataset(phantom_copy, cache=False))
    _set_curve(phantom_copy / name, 4, fn)
    after = load_dataset(phantom_copy, cache=False)
    assert len(after) == before - 1
    side = name.split("_")[-1].removesuffix(".csv")
    assert any(f"{name}: row 4: {reason}; {side} stance dropped" in p for p in after.problems), after.problems
    assert np.abs(after.curves).max() < 5
    out = _inspect(phantom_copy, capsys)
    assert "problems:  1" in out and reason in out


def test_many_dropped_stances_are_one_report_line(phantom_copy):
    path = phantom_copy / "GRF_F_V_PRO_left.csv"
    for row in (3, 5, 6, 9):
        _set_curve(path, row, lambda v: v * 0)
    ds = load_dataset(phantom_copy, cache=False)
    assert [p for p in ds.problems if "all-zero" in p] == \
        [f"{path}: row 3: all-zero PRO curve; left stance dropped (and 3 more rows: 5, 6, 9)"]


def test_no_plausible_stance_is_an_error(phantom_copy, capsys):
    edit(phantom_copy / "GRF_F_V_PRO_left.csv",  # newtons where BW is expected: every stance ~700x too large
         lambda lines: lines[:1] + [",".join(c.split(",")[:4] + ["700"] * 101) if c else c for c in lines[1:]])
    err = fails(["inspect", str(phantom_copy), "--sides", "left"], capsys)
    assert "no stance is plausible" in err and "F_V beyond the plausible range" in err


def test_train_on_implausible_data_drops_and_trains_finite(phantom_copy, tmp_path, capsys):
    _set_curve(phantom_copy / "GRF_F_V_PRO_left.csv", 2, lambda v: v * 0 + 1e30)
    _set_curve(phantom_copy / "GRF_F_V_PRO_right.csv", 3, lambda v: v * 0)
    assert main(["train", "--data", str(phantom_copy), "--out", str(tmp_path / "run"), "--epochs", "2",
                 "--quiet"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert np.isfinite(metrics["fvu"]) and all(np.isfinite(v) for v in metrics["r2_time"].values())


def test_directory_given_twice_is_refused(tiny_phantom_dir, capsys):
    err = fails(["inspect", str(tiny_phantom_dir), str(tiny_phantom_dir)], capsys)
    assert "given twice" in err


def test_directory_given_twice_through_another_path_is_refused(tiny_patients_dir, capsys):
    err = fails(["inspect", str(tiny_patients_dir), str(tiny_patients_dir / "gaitrec" / ".." / "gaitrec")], capsys)
    assert "given twice" in err and "gaitrec" in err
