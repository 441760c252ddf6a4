"""The reader on valid directories: shapes, order, joins, decoding, selection, merge, cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.channels import CHANNELS, STANCE_COLUMNS, signal_file, value_columns
from gaitsae.data import load_dataset
from gaitsae.data.reader import load_raw


def test_load__shapes_columns_and_order(tiny_phantom_dir):
    ds = load_dataset(tiny_phantom_dir)
    trials = pd.read_csv(tiny_phantom_dir / "GRF_F_V_PRO_left.csv")
    assert ds.curves.dtype == np.float32
    assert ds.curves.shape == (2 * len(trials), 5, 101)
    assert list(ds.stances.columns) == list(STANCE_COLUMNS)
    assert ds.channels == CHANNELS
    keys = ds.stances[["subject_id", "session_id", "trial_id", "side"]]
    assert keys.equals(keys.sort_values(["subject_id", "session_id", "trial_id", "side"]).reset_index(drop=True))
    assert ds.synthetic


def test_load__curves_line_up_with_their_rows(tiny_phantom_dir):
    ds = load_dataset(tiny_phantom_dir)
    raw = pd.read_csv(tiny_phantom_dir / "GRF_COP_AP_PRO_right.csv")
    row = raw.iloc[3]
    pick = ds.stances.index[(ds.stances.session_id == row.SESSION_ID) & (ds.stances.trial_id == row.TRIAL_ID)
                            & (ds.stances.side == "right")]
    assert len(pick) == 1
    np.testing.assert_allclose(ds.curves[pick[0], CHANNELS.index("COP_AP")],
                               row[value_columns("COP_AP")].to_numpy(float), rtol=1e-6)


def test_load__metadata_joined_and_decoded(tiny_phantom_dir):
    ds = load_dataset(tiny_phantom_dir)
    meta = pd.read_csv(tiny_phantom_dir / "GRF_metadata.csv").set_index("SESSION_ID")
    s = ds.stances
    np.testing.assert_allclose(s.body_weight_n, meta.loc[s.session_id, "BODY_WEIGHT"].to_numpy())
    assert set(s.sex.dropna()) <= {"female", "male"}
    assert (s.sex[s.sex_code == 1] == "male").all()
    assert (s.speed_condition == "self-selected").all()
    assert (s["class"] == "healthy control").all()
    assert s.session_date.dtype.kind == "M"
    expected_bmi = s.body_mass_kg / (s.height_cm / 100) ** 2
    np.testing.assert_allclose(s.bmi_kg_per_m2, expected_bmi)


def test_load__walking_speed_joined_per_trial(tiny_phantom_dir):
    ds = load_dataset(tiny_phantom_dir)
    speed = pd.read_csv(tiny_phantom_dir / "GRF_walking_speed.csv")
    merged = ds.stances.merge(speed, left_on=["session_id", "trial_id"], right_on=["SESSION_ID", "TRIAL_ID"])
    assert len(merged) == len(ds)
    np.testing.assert_array_equal(merged.walking_speed_m_per_s.isna(), merged.WALKING_SPEED.isna())
    ok = merged.WALKING_SPEED.notna()
    np.testing.assert_allclose(merged.walking_speed_m_per_s[ok], merged.WALKING_SPEED[ok])


def test_load__channel_and_side_selection(tiny_phantom_dir):
    ds = load_dataset(tiny_phantom_dir, channels=["COP_ML", "F_V"], sides=["right"])
    assert ds.channels == ("F_V", "COP_ML")
    assert set(ds.stances.side) == {"right"}
    full = load_dataset(tiny_phantom_dir)
    right = full.subset(full.stances.side == "right")
    np.testing.assert_array_equal(ds.curves[:, 1], right.curves[:, CHANNELS.index("COP_ML")])


def test_load__directory_with_only_vertical_force_left(phantom_copy):
    for f in phantom_copy.glob("GRF_*_PRO_*.csv"):
        if f.name != "GRF_F_V_PRO_left.csv":
            f.unlink()
    ds = load_dataset(phantom_copy, sides=["left"])
    assert ds.channels == ("F_V",)
    assert ds.curves.shape[1:] == (1, 101)


def test_load__merges_gutenberg_and_gaitrec_with_unique_keys(tiny_patients_dir):
    ds = load_dataset(tiny_patients_dir)
    assert set(ds.stances.dataset) == {"gutenberg", "gaitrec"}
    # Both phantom sets number subjects from 1: the keys stay unique through the prefix.
    assert ds.stances.groupby("subject").dataset.nunique().max() == 1
    assert set(ds.stances.subject_id[ds.stances.dataset == "gaitrec"]) & set(ds.stances.subject_id[ds.stances.dataset == "gutenberg"])
    gaitrec = ds.stances[ds.stances.dataset == "gaitrec"]
    assert gaitrec.walking_speed_m_per_s.isna().all()
    assert set(gaitrec.class_label) - {"HC"}
    both = load_dataset([tiny_patients_dir / "gutenberg", tiny_patients_dir / "gaitrec"])
    assert len(both) == len(ds)


def test_cache__second_load_reuses_the_parsed_files(tiny_phantom_dir, tmp_path):
    first = load_dataset(tiny_phantom_dir, cache_dir=tmp_path)
    entries = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and (entries[0] / "curves.npy").is_file()
    # Corrupting the cached curves proves the second load reads the cache, not the CSVs.
    cached = np.load(entries[0] / "curves.npy")
    np.save(entries[0] / "curves.npy", cached + 1)
    second = load_dataset(tiny_phantom_dir, cache_dir=tmp_path)
    np.testing.assert_array_equal(second.curves, first.curves + 1)
    assert second.stances.equals(first.stances)


def test_cache__changed_content_is_a_new_key(phantom_copy, tmp_path):
    cache = tmp_path / "cache"
    load_dataset(phantom_copy, cache_dir=cache)
    path = phantom_copy / signal_file("F_V", "left")
    path.write_text(path.read_text().replace(",0.", ",0.0", 1))  # same value, other bytes
    load_dataset(phantom_copy, cache_dir=cache)
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 2


def test_cache__an_edit_keeping_size_and_modification_time_is_a_new_key(phantom_copy, tmp_path):
    """The key of unchanged files is remembered by their stat; an edit must still be seen."""
    cache = tmp_path / "cache"
    path = phantom_copy / signal_file("F_V", "left")
    first = load_dataset(phantom_copy, cache_dir=cache)
    assert load_dataset(phantom_copy, cache_dir=cache).stances.equals(first.stances)  # remembered key
    before = path.stat()
    data = path.read_bytes()
    i = data.index(b",0.", data.index(b"\n")) + 3  # a digit after the header: same length, other value
    path.write_bytes(data[:i] + (b"1" if data[i:i + 1] != b"1" else b"2") + data[i + 1:])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    second = load_dataset(phantom_copy, cache_dir=cache)
    assert not np.array_equal(second.curves, first.curves)
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 2


def test_load_raw__strips_padding_and_keeps_newtons(tiny_phantom_dir):
    ids, curves = load_raw(tiny_phantom_dir, "F_V", "left")
    assert len(ids) == len(curves)
    lengths = {len(c) for c in curves}
    assert len(lengths) > 1  # variable length
    assert all(np.isfinite(c).all() for c in curves)
    assert 500 < max(c.max() for c in curves) < 1500  # newtons, not body weights


def _entries(cache: Path) -> list[Path]:
    return [p for p in cache.iterdir() if not p.name.startswith(".")]


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.curves, b.curves)
    assert a.curves.dtype == b.curves.dtype == np.float32
    pd.testing.assert_frame_equal(a.stances, b.stances)  # dtypes included
    assert (a.channels, a.synthetic, a.sources, a.problems) == (b.channels, b.synthetic, b.sources, b.problems)


def test_cache__cold_warm_and_uncached_loads_are_identical(tiny_patients_dir, tmp_path):
    """Both directories in one entry; the warm load returns what the CSVs gave, dtypes included."""
    uncached = load_dataset(tiny_patients_dir, cache=False)
    cold = load_dataset(tiny_patients_dir, cache_dir=tmp_path)
    warm = load_dataset(tiny_patients_dir, cache_dir=tmp_path)
    assert len(_entries(tmp_path)) == 1
    assert (uncached.stances.dtypes == object).any()  # a column the Parquet round trip would turn into strings
    _same(uncached, cold)
    _same(uncached, warm)


def test_cache__writing_into_warm_curves_leaves_the_entry_unchanged(tiny_phantom_dir, tmp_path):
    first = load_dataset(tiny_phantom_dir, cache_dir=tmp_path)
    warm = load_dataset(tiny_phantom_dir, cache_dir=tmp_path)
    original = first.curves.copy()
    warm.curves[:] = 7.0  # the mapping is copy-on-write: private to this caller
    np.testing.assert_array_equal(load_dataset(tiny_phantom_dir, cache_dir=tmp_path).curves, original)


def test_cache__an_edited_file_is_read_again(phantom_copy, tmp_path):
    """The key follows the files' stat: an edit (new bytes, so a new change time) is parsed again."""
    cache = tmp_path / "cache"
    first = load_dataset(phantom_copy, cache_dir=cache)
    load_dataset(phantom_copy, cache_dir=cache)
    path = phantom_copy / signal_file("F_V", "left")
    lines = path.read_text().splitlines(keepends=True)
    at = lines[0].split(",").index("F_V_PRO_50")
    fields = lines[1].split(",")
    fields[at] = "0.5" if float(fields[at]) != 0.5 else "0.25"  # mid-stance of the first trial
    lines[1] = ",".join(fields)
    path.write_text("".join(lines))
    second = load_dataset(phantom_copy, cache_dir=cache)
    assert not np.array_equal(second.curves, first.curves)
    np.testing.assert_array_equal(second.curves, load_dataset(phantom_copy, cache=False).curves)
    assert len(_entries(cache)) == 2


def test_cache__a_failed_write_leaves_no_entry_and_no_temporary(tiny_phantom_dir, tmp_path, monkeypatch):
    """An entry appears whole or not at all: a write failing half-way is removed, and the next load reads the CSVs."""
    real_to_parquet = pd.DataFrame.to_parquet

    def half_written(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 half")  # the curves are already saved: fail in the middle
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_written)
    first = load_dataset(tiny_phantom_dir, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == [] or all(p.name == ".keys" for p in tmp_path.iterdir())
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real_to_parquet)
    _same(first, load_dataset(tiny_phantom_dir, cache_dir=tmp_path))
    assert len(_entries(tmp_path)) == 1


def test_cache__a_killed_writer_s_old_temporary_is_removed(tiny_phantom_dir, tmp_path):
    stale = tmp_path / ".0123abcd.killed"
    stale.mkdir(parents=True)
    (stale / "curves.npy").write_bytes(b"half")
    os.utime(stale, (0, 0))
    fresh = tmp_path / ".4567ef.running"  # another process may be writing this one now
    fresh.mkdir()
    load_dataset(tiny_phantom_dir, cache_dir=tmp_path)
    assert not stale.exists() and fresh.exists()


def test_a_dropped_stance__the_others_keep_their_curves_and_rows(phantom_copy):
    """The merged curve array is written file by file; with a stance dropped, every other stance
    still gets its own curves (each side and channel) and table row."""
    full = load_dataset(phantom_copy, cache=False)
    path = phantom_copy / signal_file("F_ML", "right")
    lines = path.read_bytes().split(b"\r\n")
    cells = lines[5].split(b",")
    cells[20] = b"NaN"
    path.write_bytes(b"\r\n".join(lines[:5] + [b",".join(cells)] + lines[6:]))
    dropped = load_dataset(phantom_copy, cache=False)
    key = [int(v) for v in cells[:4]]  # DATASET_ID, SUBJECT_ID, SESSION_ID, TRIAL_ID of that row
    hit = ((full.stances["subject_id"] == key[1]) & (full.stances["session_id"] == key[2])
           & (full.stances["trial_id"] == key[3]) & (full.stances["side"] == "right")).to_numpy()
    assert hit.sum() == 1 and len(dropped) == len(full) - 1
    assert np.array_equal(dropped.curves, full.curves[~hit])
    pd.testing.assert_frame_equal(dropped.stances, full.stances[~hit].reset_index(drop=True))
