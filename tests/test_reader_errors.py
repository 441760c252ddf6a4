"""Every kind of bad input: a DataError naming file, row and column, or a reported dropped row."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.errors import DataError
from tests.csvedit import edit, read_lines, with_cell, write_lines


def test_missing_metadata_file(phantom_copy):
    (phantom_copy / "GRF_metadata.csv").unlink()
    with pytest.raises(DataError, match="GRF_metadata.csv: required file is missing"):
        load_dataset(phantom_copy)


def test_missing_requested_channel_file(phantom_copy):
    (phantom_copy / "GRF_F_AP_PRO_right.csv").unlink()
    with pytest.raises(DataError, match=r"GRF_F_AP_PRO_right.csv: required file is missing"):
        load_dataset(phantom_copy, channels=["F_V", "F_AP"])
    assert load_dataset(phantom_copy).channels == ("F_V", "F_ML", "COP_AP", "COP_ML")


def test_renamed_id_column(phantom_copy):
    edit(phantom_copy / "GRF_F_V_PRO_left.csv", lambda l: [l[0].replace("SESSION_ID", "SESSION")] + l[1:])
    with pytest.raises(DataError, match=r"GRF_F_V_PRO_left.csv: missing column SESSION_ID \(found SESSION in its place\)"):
        load_dataset(phantom_copy)


def test_renamed_value_column(phantom_copy):
    edit(phantom_copy / "GRF_F_ML_PRO_right.csv", lambda l: [l[0].replace("F_ML_PRO_50,", "F_ML_PRO_fifty,")] + l[1:])
    with pytest.raises(DataError, match=r"GRF_F_ML_PRO_right.csv: (missing column F_ML_PRO_50|expected 101 value columns)"):
        load_dataset(phantom_copy)


def test_missing_metadata_column(phantom_copy):
    edit(phantom_copy / "GRF_metadata.csv", lambda l: [l[0].replace("BODY_WEIGHT", "WEIGHT")] + l[1:])
    with pytest.raises(DataError, match=r"GRF_metadata.csv: missing column BODY_WEIGHT"):
        load_dataset(phantom_copy)


def test_wrong_number_of_value_columns(phantom_copy):
    def drop_last(lines):
        return [",".join(x.split(",")[:-1]) if x else x for x in lines]
    edit(phantom_copy / "GRF_COP_AP_PRO_left.csv", drop_last)
    with pytest.raises(DataError, match=r"GRF_COP_AP_PRO_left.csv: expected 101 value columns COP_AP_PRO_1…COP_AP_PRO_101, found 100"):
        load_dataset(phantom_copy)


def test_ragged_rows_whose_commas_add_up(phantom_copy):
    """A short row and a long one hold as many commas as two good rows: the first bad row is still named."""
    def short_then_long(lines):
        short = lines[3].rsplit(",", 1)[0]
        return lines[:3] + [short, lines[4] + ",0.5"] + lines[5:]
    edit(phantom_copy / "GRF_F_V_PRO_right.csv", short_then_long)
    with pytest.raises(DataError, match=r"GRF_F_V_PRO_right.csv: row 4 has 104 fields, the header has 105$"):
        load_dataset(phantom_copy)


def test_ragged_row(phantom_copy):
    edit(phantom_copy / "GRF_F_V_PRO_right.csv", lambda l: l[:5] + [l[5] + ",0.5"] + l[6:])
    with pytest.raises(DataError, match=r"GRF_F_V_PRO_right.csv: row 6 has 106 fields, the header has 105"):
        load_dataset(phantom_copy)


def test_non_numeric_cell(phantom_copy):
    edit(phantom_copy / "GRF_F_AP_PRO_left.csv", lambda l: with_cell(l, 4, 10, "1;2"))
    with pytest.raises(DataError, match=r"GRF_F_AP_PRO_left.csv: row 5, column F_AP_PRO_7: not a number: '1;2'"):
        load_dataset(phantom_copy)


def test_non_numeric_metadata_cell(phantom_copy):
    edit(phantom_copy / "GRF_metadata.csv", lambda l: with_cell(l, 2, 6, "twenty"))  # AGE
    with pytest.raises(DataError, match=r"GRF_metadata.csv: row 3, column AGE: not a number: 'twenty'"):
        load_dataset(phantom_copy)


def test_unknown_code(phantom_copy):
    edit(phantom_copy / "GRF_metadata.csv", lambda l: with_cell(l, 1, 14, "7"))  # SPEED
    with pytest.raises(DataError, match=r"GRF_metadata.csv: row 2, column SPEED: unknown code 7"):
        load_dataset(phantom_copy)


def test_trial_missing_from_one_channel_file(phantom_copy):
    edit(phantom_copy / "GRF_F_ML_PRO_left.csv", lambda l: l[:3] + l[4:])
    with pytest.raises(DataError, match=r"row 4: trial \(DATASET_ID=1, SUBJECT_ID=\d+, SESSION_ID=\d+, TRIAL_ID=\d+\) is missing from GRF_F_ML_PRO_left.csv"):
        load_dataset(phantom_copy)


def test_trial_missing_from_other_side(phantom_copy):
    edit(phantom_copy / "GRF_F_V_PRO_right.csv", lambda l: l[:2] + l[3:])
    with pytest.raises(DataError, match=r"is missing from GRF_F_V_PRO_right.csv"):
        load_dataset(phantom_copy)


def test_duplicate_ids(phantom_copy):
    edit(phantom_copy / "GRF_COP_ML_PRO_right.csv", lambda l: l[:3] + [l[2]] + l[3:])
    with pytest.raises(DataError, match=r"GRF_COP_ML_PRO_right.csv: row 4: duplicate IDs .* first seen in row 3"):
        load_dataset(phantom_copy)


def test_duplicate_session_in_metadata(phantom_copy):
    edit(phantom_copy / "GRF_metadata.csv", lambda l: l[:2] + [l[1]] + l[2:])
    with pytest.raises(DataError, match=r"GRF_metadata.csv: row 3: duplicate IDs \(SESSION_ID=1\)"):
        load_dataset(phantom_copy)


def test_session_without_metadata_row(phantom_copy):
    edit(phantom_copy / "GRF_metadata.csv", lambda l: l[:1] + l[2:])
    with pytest.raises(DataError, match=r"GRF_F_V_PRO_left.csv: row 2: session 1 has no row in GRF_metadata.csv"):
        load_dataset(phantom_copy)


@pytest.mark.parametrize("content", ["", "DATASET_ID,SUBJECT_ID,SESSION_ID,TRIAL_ID\r\n"])
def test_empty_file(phantom_copy, content):
    (phantom_copy / "GRF_F_V_PRO_left.csv").write_text(content)
    with pytest.raises(DataError, match=r"GRF_F_V_PRO_left.csv: file (is empty|has a header but no data rows)"):
        load_dataset(phantom_copy)


def test_nan_inside_a_curve_drops_that_stance_and_reports_it(phantom_copy):
    before = load_dataset(phantom_copy, cache=False)

    edit(phantom_copy / "GRF_F_AP_PRO_right.csv", lambda l: with_cell(l, 3, 40, "NaN"))
    after = load_dataset(phantom_copy, cache=False)
    assert len(after) == len(before) - 1
    assert any("GRF_F_AP_PRO_right.csv: row 4: NaN" in p for p in after.problems)
    assert np.isfinite(after.curves).all()


def test_metadata_session_without_trials_is_reported(phantom_copy):
    lines = read_lines(phantom_copy / "GRF_metadata.csv")
    cells = lines[1].split(",")
    cells[2] = "999"
    lines.insert(2, ",".join(cells))
    write_lines(phantom_copy / "GRF_metadata.csv", lines)
    ds = load_dataset(phantom_copy)
    assert any("1 sessions have no trials" in p for p in ds.problems)


def test_cli_inspect__bad_directory_exits_2_with_one_line(phantom_copy, capsys):
    (phantom_copy / "GRF_F_V_PRO_left.csv").write_text("")
    assert main(["inspect", str(phantom_copy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "GRF_F_V_PRO_left.csv: file is empty" in err[0]


def test_cli_inspect__subprocess_has_no_traceback(phantom_copy):
    edit(phantom_copy / "GRF_metadata.csv", lambda l: [l[0].replace("SEX", "GENDER")] + l[1:])
    proc = subprocess.run([sys.executable, "-m", "gaitsae", "inspect", str(phantom_copy)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "missing column SEX" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_inspect__prints_summary_and_synthetic_label(tiny_patients_dir, capsys):
    assert main(["inspect", str(tiny_patients_dir)]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out
    assert "gaitrec: 12 subjects" in out and "gutenberg: 6 subjects" in out
    assert "F_V, F_AP, F_ML, COP_AP, COP_ML" in out


@pytest.mark.parametrize("value, shown", [("2.5", "2.5"), ("", "nan")])
def test_fractional_or_missing_id(phantom_copy, value, shown):
    edit(phantom_copy / "GRF_F_V_PRO_left.csv", lambda l: with_cell(l, 2, 3, value))
    with pytest.raises(DataError, match=rf"GRF_F_V_PRO_left.csv: row 3, column TRIAL_ID: ID must be a whole number .*got {shown}"):
        load_dataset(phantom_copy)


def test_unparseable_session_date_is_kept_as_unknown_and_reported(phantom_copy):
    col = read_lines(phantom_copy / "GRF_metadata.csv")[0].split(",").index("SESSION_DATE")
    edit(phantom_copy / "GRF_metadata.csv", lambda l: with_cell(l, 1, col, "2020-01-01"))
    ds = load_dataset(phantom_copy)
    assert any("1 SESSION_DATE values are not dd.mm.yyyy" in p for p in ds.problems)
    assert ds.stances.session_date.isna().any()


def test_walking_speed_rows_without_trials_and_a_missing_speed_file_are_reported(phantom_copy):
    lines = read_lines(phantom_copy / "GRF_walking_speed.csv")
    write_lines(phantom_copy / "GRF_walking_speed.csv", lines[:2] + [with_cell(lines, 1, 3, "999")[1]] + lines[2:])
    assert any("1 rows name trials without signal data" in p for p in load_dataset(phantom_copy).problems)
    (phantom_copy / "GRF_walking_speed.csv").unlink()
    ds = load_dataset(phantom_copy)
    assert any("no GRF_walking_speed.csv" in p for p in ds.problems) and ds.stances.walking_speed_m_per_s.isna().all()
