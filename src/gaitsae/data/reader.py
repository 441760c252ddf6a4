"""The reader of the Gutenberg Gait Database / GaitRec layout: one directory (or several) → GaitDataset.

What is refused (DataError, one line naming file, row and column) and what is reported (the
stance dropped, listed in problems) is tabled in docs/robustness.md ("Input data").
Rows come out ordered by (dataset, subject, session, trial, side).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.channels import (
    AFFECTED_SIDE_CODES, CHANNELS, CLASS_LABELS, ID_COLUMNS_GAITREC, ID_COLUMNS_GUTENBERG,
    METADATA_COLUMNS, METADATA_FILE, N_POINTS, SESSION_DATE_FORMAT, SEX_CODES, SHOD_CONDITION_CODES,
    SIDES, SPEED_CODES, STANCE_COLUMNS, WALKING_SPEED_FILE, decode_class_detailed, signal_file,
    value_columns,
)
from gaitsae.data import cache as stance_cache
from gaitsae.data.checks import (
    METADATA_RANGES, WALKING_SPEED_RANGE, first_out_of_range, first_split_overlap, implausible_curves,
)
from gaitsae.data.csvfile import (
    first_duplicate, integer_ids, numeric, read_csv, read_plain_numbers, require_columns, whole_ids,
)
from gaitsae.data.dataset import GaitDataset
from gaitsae.errors import DataError

MARKER_FILE = "PHANTOM.txt"  # written by gaitsae's phantom: the data are synthetic
# The phantom also dates every session in this year (no force plate recorded gait then), so its
# metadata stay marked synthetic when copied without PHANTOM.txt.
PHANTOM_SESSION_YEAR = 1901
CODED = {  # metadata column -> (allowed codes, stance column of the code, of the category)
    "SEX": (SEX_CODES, "sex_code", "sex"),
    "AFFECTED_SIDE": (AFFECTED_SIDE_CODES, "affected_side_code", "affected_side"),
    "SHOD_CONDITION": (SHOD_CONDITION_CODES, "shod_condition_code", "shod_condition"),
    "SPEED": (SPEED_CODES, "speed_code", "speed_condition"),
}
NUMERIC_METADATA = [c for c in METADATA_COLUMNS if c not in ("CLASS_LABEL", "CLASS_LABEL_DETAILED", "SESSION_DATE")]
SIGNAL_FIELDS = len(ID_COLUMNS_GUTENBERG) + N_POINTS  # the widest a PRO file's rows can be
TABLE_FIELDS = 256  # metadata and walking-speed tables: the layout's columns plus room for extras


def _check_range(path: Path, values: np.ndarray, column: str, lo: float, hi: float) -> None:
    i = first_out_of_range(values, lo, hi)
    if i is not None:
        raise DataError(f"{path}: row {i + 2}, column {column}: {values[i]:g} is not plausible "
                        f"(expected {lo:g}…{hi:g})")


def resolve_directories(path) -> list[Path]:
    """A layout directory, a directory of layout directories, or a list of either."""
    if isinstance(path, (list, tuple)):
        found = [d for p in path for d in resolve_directories(p)]
        seen = {}
        for d in found:
            if d.resolve() in seen:
                raise DataError(f"{d}: given twice (also as {seen[d.resolve()]}); each directory may be read once")
            seen[d.resolve()] = d
        return found
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: not a directory")
    if (path / METADATA_FILE).exists() or any(path.glob("GRF_*_PRO_*.csv")):
        return [path]
    subdirs = sorted(d for d in path.iterdir() if d.is_dir() and (d / METADATA_FILE).exists())
    if not subdirs:
        raise DataError(f"{path}: no {METADATA_FILE} here or in its subdirectories")
    return subdirs


def available_channels(directory: Path, sides) -> list[str]:
    """Channels whose PRO files exist for every requested side."""
    return [ch for ch in CHANNELS if all((directory / signal_file(ch, s)).is_file() for s in sides)]


def present_sides(path) -> tuple[str, ...]:
    """The sides with PRO signal files in every directory of `path` (one-sided data: one side)."""
    directories = resolve_directories(path)
    return tuple(s for s in SIDES if all(any((d / signal_file(ch, s)).is_file() for ch in CHANNELS)
                                         for d in directories))


def _check_sides(directories, sides) -> None:
    """A requested side without a single PRO file is one line naming the sides that are there."""
    for d in directories:
        there = [s for s in SIDES if any((d / signal_file(ch, s)).is_file() for ch in CHANNELS)]
        missing = [s for s in sides if s not in there]
        if missing and there:
            raise DataError(f"{d}: no PRO signal files for side {', '.join(missing)} (the directory holds "
                            f"{', '.join(there)} only); pass --sides {','.join(there)}")


def load_dataset(path, channels=None, sides=SIDES, cache: bool = True, cache_dir=None) -> GaitDataset:
    """Read PRO curves and metadata; see the module docstring for what is refused or reported.

    channels: names from CHANNELS, or None for every channel present for all `sides` in all
    directories. sides: "left" and/or "right". Results are cached under cache_root(), keyed by the
    files' stat (data.cache).
    """
    sides = tuple(sides)
    unknown = [s for s in sides if s not in SIDES]
    if unknown or not sides:
        raise DataError(f"sides must be a non-empty subset of {list(SIDES)}, got {list(sides)}")
    directories = resolve_directories(path)
    _check_sides(directories, sides)
    if channels is None:
        common = [ch for ch in CHANNELS if all(ch in available_channels(d, sides) for d in directories)]
        if not common:
            names = ", ".join(signal_file(ch, s) for ch in CHANNELS[:1] for s in sides)
            raise DataError(f"{directories[0]}: no PRO signal files for sides {list(sides)} (e.g. {names})")
        channels = common
    channels = tuple(ch for ch in CHANNELS if ch in set(channels))
    bad = [ch for ch in (channels or ()) if ch not in CHANNELS]
    if bad or not channels:
        raise DataError(f"channels must be a non-empty subset of {list(CHANNELS)}")
    if not cache:
        return _read_merged(directories, channels, sides)
    root = stance_cache.cache_root(cache_dir)
    key = cache_key(directories, channels, sides)
    hit = stance_cache.load(root, key) if key is not None else None
    if hit is not None:
        return hit
    dataset = _read_merged(directories, channels, sides)
    if key is not None:
        stance_cache.store(root, key, dataset)
    return dataset


def _read_merged(directories, channels, sides) -> GaitDataset:
    parts = [read_directory(d, channels, sides) for d in directories]
    curves = np.concatenate([p.curves for p in parts]) if len(parts) > 1 else parts[0].curves
    stances = pd.concat([p.stances for p in parts], ignore_index=True) if len(parts) > 1 else parts[0].stances
    return GaitDataset(
        curves=curves, stances=stances, channels=channels,
        synthetic=any(p.synthetic for p in parts),
        sources=tuple(str(d) for d in directories),
        problems=tuple(msg for p in parts for msg in p.problems),
    )


def layout_files(directory: Path, channels, sides) -> list[Path]:
    """The files a directory's stances of these channels and sides are read from."""
    files = [directory / METADATA_FILE, directory / WALKING_SPEED_FILE, directory / MARKER_FILE]
    return files + [directory / signal_file(ch, s) for s in sides for ch in channels]


def data_digest(path, channels, sides) -> str:
    """Content digest of the files behind load_dataset(path, channels, sides), wherever they sit."""
    files = [f for d in resolve_directories(path) for f in layout_files(d, channels, sides)]
    return stance_cache.content_key(files, extra=(tuple(channels), tuple(sides)), memo_root=stance_cache.cache_root())


def cache_key(directories, channels, sides) -> str | None:
    """The cache key of one load: the files' stat, the selection and where the directories sit
    (None: a file cannot be stat-ed, so nothing is cached)."""
    files = [f for d in directories for f in layout_files(d, channels, sides)]
    where = tuple(str(d.resolve()) for d in directories)
    return stance_cache.stat_key(files, extra=(stance_cache.ENTRY_VERSION, tuple(channels), tuple(sides), where))


def _read_signals(directory: Path, channels, sides, id_cols):
    """curves [n_trials, n_sides, n_channels, 101], trial IDs [n_trials, len(id_cols)], files."""
    reference = None
    curves = None
    row_of = {}
    for si, side in enumerate(sides):
        for ci, ch in enumerate(channels):
            path = directory / signal_file(ch, side)
            plain = read_plain_numbers(path, list(id_cols), value_columns(ch))
            if plain is None:
                ids, values = _checked_signal(path, ch, id_cols)
            else:  # whole numbers already; a negative or too large ID is refused as in the checked path
                ids, values = whole_ids(path, plain[0], list(id_cols)), plain[1]
            first_duplicate(path, ids, list(id_cols))
            order = np.lexsort(ids[:, ::-1].T)
            rows = order + 2
            if (np.diff(order) != 1).any():  # files written in ID order (as published) need no reordered copy
                ids, values = ids[order], values[order]
            if reference is None:
                reference, ref_path, ref_rows = ids, path, rows
                curves = np.empty((len(ids), len(sides), len(channels), N_POINTS), dtype=np.float32)
            elif ids.shape != reference.shape or (ids != reference).any():
                _raise_mismatch(id_cols, ref_path, reference, ref_rows, path, ids, rows)
            curves[:, si, ci] = values
            row_of[(side, ch)] = (path, rows)
    return curves, reference, row_of


def _checked_signal(path: Path, channel: str, id_cols):
    """(IDs, values) of a signal file read_plain_numbers did not take: parsed by pandas, checked
    column by column, its first problem named by row and column."""
    table = read_csv(path, SIGNAL_FIELDS)
    require_columns(path, table, list(id_cols))
    names = value_columns(channel)
    found = [c for c in table.columns if str(c).startswith(f"{channel}_PRO_")]
    if len(found) != N_POINTS:
        raise DataError(f"{path}: expected {N_POINTS} value columns {names[0]}…{names[-1]}, found {len(found)}")
    require_columns(path, table, names)
    extra = [c for c in table.columns if c not in set(names) | set(id_cols)]
    if extra:
        raise DataError(f"{path}: unexpected column {extra[0]}")
    return integer_ids(path, table, list(id_cols)), numeric(path, table, names)


def _raise_mismatch(id_cols, path_a, ids_a, rows_a, path_b, ids_b, rows_b):
    keys_a = {tuple(r) for r in ids_a}
    keys_b = {tuple(r) for r in ids_b}
    for path, ids, rows, other, other_keys in ((path_b, ids_b, rows_b, path_a, keys_a),
                                              (path_a, ids_a, rows_a, path_b, keys_b)):
        for r, row in zip(rows, ids):
            if tuple(row) not in other_keys:
                key = ", ".join(f"{c}={v}" for c, v in zip(id_cols, row))
                raise DataError(f"{path}: row {r}: trial ({key}) is missing from {other.name}")
    raise DataError(f"{path_b}: trials do not line up with {path_a.name}")  # unreachable in practice


def _metadata(directory: Path, session_cols):
    path = directory / METADATA_FILE
    table = read_csv(path, TABLE_FIELDS)
    require_columns(path, table, list(session_cols) + list(METADATA_COLUMNS))
    ids = integer_ids(path, table, list(session_cols))
    first_duplicate(path, ids[:, [-1]], ["SESSION_ID"])
    values = pd.DataFrame(numeric(path, table, NUMERIC_METADATA), columns=NUMERIC_METADATA)
    for column, (lo, hi) in METADATA_RANGES.items():
        _check_range(path, values[column].to_numpy(), column, lo, hi)
    for column, (codes, _, _) in CODED.items():
        bad = values[column].notna() & ~values[column].isin(list(codes))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{path}: row {i + 2}, column {column}: unknown code {values[column].iloc[i]:g} "
                            f"(known: {', '.join(f'{k} {v}' for k, v in codes.items())})")
    labels = table["CLASS_LABEL"].astype("string")
    bad = labels.isna() | ~labels.isin(list(CLASS_LABELS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: row {i + 2}, column CLASS_LABEL: unknown label {labels.iloc[i]!r} "
                        f"(known: {', '.join(CLASS_LABELS)})")
    values["CLASS_LABEL"] = labels.to_numpy()
    overlap = first_split_overlap(ids[:, -2], values["TRAIN"].to_numpy(), values["TEST"].to_numpy())
    if overlap is not None:
        subject, train_row, test_row = overlap
        raise DataError(f"{path}: subject {subject} is in both TRAIN (row {train_row + 2}) and TEST (row {test_row + 2}); "
                        "the published split must keep each subject on one side")
    values["CLASS_LABEL_DETAILED"] = table["CLASS_LABEL_DETAILED"].astype("string").fillna(labels).to_numpy()
    values["SESSION_DATE"] = pd.to_datetime(table["SESSION_DATE"], format=SESSION_DATE_FORMAT, errors="coerce")
    values["SUBJECT_ID"] = ids[:, -2]
    values["SESSION_ID"] = ids[:, -1]
    if "DATASET_ID" in session_cols:
        values["DATASET_ID"] = ids[:, 0]
    undated = int((values["SESSION_DATE"].isna() & table["SESSION_DATE"].notna()).sum())
    problems = [f"{path}: {undated} SESSION_DATE values are not dd.mm.yyyy HH:MM:SS (kept as unknown)"] if undated else []
    return values, problems


def _walking_speed(directory: Path, trial_ids: np.ndarray, id_cols, problems: list) -> np.ndarray:
    path = directory / WALKING_SPEED_FILE
    speed = np.full(len(trial_ids), np.nan)
    if not path.is_file():
        problems.append(f"{directory}: no {WALKING_SPEED_FILE}; walking speed unknown")
        return speed
    table = read_csv(path, TABLE_FIELDS)
    require_columns(path, table, list(id_cols) + ["WALKING_SPEED"])
    ids = integer_ids(path, table, list(id_cols))
    first_duplicate(path, ids, list(id_cols))
    values = numeric(path, table, ["WALKING_SPEED"])[:, 0]
    _check_range(path, values, "WALKING_SPEED", *WALKING_SPEED_RANGE)
    known = pd.MultiIndex.from_arrays(trial_ids.T)
    given = pd.MultiIndex.from_arrays(ids.T)
    pos = given.get_indexer(known)
    speed[pos >= 0] = values[pos[pos >= 0]]
    unknown = int((known.get_indexer(given) < 0).sum())
    if unknown:
        problems.append(f"{path}: {unknown} rows name trials without signal data (ignored)")
    return speed


def read_directory(directory: Path, channels, sides) -> GaitDataset:
    """Read one layout directory without the cache."""
    directory = Path(directory)
    meta_path = directory / METADATA_FILE
    header = read_csv(meta_path, TABLE_FIELDS).columns  # the metadata decides the layout
    gutenberg = "DATASET_ID" in header
    id_cols = ID_COLUMNS_GUTENBERG if gutenberg else ID_COLUMNS_GAITREC
    name = "gutenberg" if gutenberg else "gaitrec"
    meta, problems = _metadata(directory, id_cols[:-1])
    curves, trial_ids, row_of = _read_signals(directory, channels, sides, id_cols)

    # Every trial's session needs a metadata row, with the same subject.
    session_pos = pd.Index(meta["SESSION_ID"]).get_indexer(trial_ids[:, -2])
    first_path, first_rows = row_of[(sides[0], channels[0])]
    if (session_pos < 0).any():
        i = int(np.flatnonzero(session_pos < 0)[0])
        raise DataError(f"{first_path}: row {first_rows[i]}: session {trial_ids[i, -2]} has no row in {METADATA_FILE}")
    wrong = meta["SUBJECT_ID"].to_numpy()[session_pos] != trial_ids[:, -3]
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise DataError(f"{first_path}: row {first_rows[i]}, column SUBJECT_ID: session {trial_ids[i, -2]} belongs to "
                        f"subject {meta['SUBJECT_ID'].to_numpy()[session_pos[i]]} in {METADATA_FILE}")
    unused = int(len(meta) - len(np.unique(session_pos)))
    if unused:
        problems.append(f"{meta_path}: {unused} sessions have no trials in the signal files")
    speed = _walking_speed(directory, trial_ids, id_cols, problems) if gutenberg else np.full(len(trial_ids), np.nan)

    # Trials × sides → stances, dropping implausible curves (NaN, all zero, beyond physical ranges).
    n_trials, n_sides = curves.shape[:2]
    flat = curves.reshape(n_trials * n_sides, len(channels), N_POINTS)
    keep = np.ones(len(flat), dtype=bool)
    for ch, reason, mask in implausible_curves(flat, channels):
        keep &= ~mask
        for si, side in enumerate(sides):
            trials = np.flatnonzero(mask.reshape(n_trials, n_sides)[:, si])
            if len(trials):
                problems.append(_dropped(row_of[(side, ch)], trials, reason, side))
    if not keep.any():
        raise DataError(f"{directory}: no stance is plausible ({problems[-1]})")
    trial_of = np.repeat(np.arange(n_trials), n_sides)[keep]
    side_of = np.tile(np.array(sides, dtype=object), n_trials)[keep]
    stances = _stance_table(name, trial_ids[trial_of], side_of, speed[trial_of], meta.iloc[session_pos[trial_of]])
    return GaitDataset(
        curves=flat if keep.all() else flat[keep], stances=stances, channels=tuple(channels),
        synthetic=(directory / MARKER_FILE).is_file() or _phantom_dated(meta["SESSION_DATE"]),
        sources=(str(directory),), problems=tuple(problems),
    )


def _phantom_dated(dates: pd.Series) -> bool:
    """True when every session is dated in PHANTOM_SESSION_YEAR (the phantom's in-data mark)."""
    return bool(len(dates) and dates.notna().all() and (dates.dt.year == PHANTOM_SESSION_YEAR).all())


def _dropped(where, trials, reason: str, side: str) -> str:
    """One problem line per file and reason: the first row, then how many more and which."""
    path, rows = where
    rows = sorted(int(rows[t]) for t in trials)
    more = ""
    if len(rows) > 1:
        listed = ", ".join(map(str, rows[1:6])) + (", …" if len(rows) > 6 else "")
        more = f" (and {len(rows) - 1} more rows: {listed})"
    return f"{path}: row {rows[0]}: {reason}; {side} stance dropped{more}"


def _stance_table(name: str, ids: np.ndarray, side, speed, meta: pd.DataFrame) -> pd.DataFrame:
    meta = meta.reset_index(drop=True)
    t = pd.DataFrame({
        "dataset": name,
        "dataset_id": meta["DATASET_ID"].astype(float) if "DATASET_ID" in meta else np.nan,
        "subject_id": ids[:, -3], "session_id": ids[:, -2], "trial_id": ids[:, -1],
    })
    t["subject"] = name + ":" + t["subject_id"].astype(str)
    t["session"] = name + ":" + t["session_id"].astype(str)
    t["side"] = side.astype(str)
    t["walking_speed_m_per_s"] = speed
    t["class_label"] = meta["CLASS_LABEL"].astype(str)
    t["class"] = t["class_label"].map(CLASS_LABELS)
    t["class_label_detailed"] = meta["CLASS_LABEL_DETAILED"].astype(str)
    detailed = t["class_label_detailed"].unique()  # a few dozen codes for 10⁵ stances
    t["class_detailed"] = t["class_label_detailed"].map(dict(zip(detailed, map(decode_class_detailed, detailed))))
    for column, (codes, code_col, label_col) in CODED.items():
        t[code_col] = meta[column].to_numpy()
        t[label_col] = meta[column].map(codes).astype(object).to_numpy()
    t["age_years"] = meta["AGE"].to_numpy()
    t["height_cm"] = meta["HEIGHT"].to_numpy()
    t["body_weight_n"] = meta["BODY_WEIGHT"].to_numpy()
    t["body_mass_kg"] = meta["BODY_MASS"].to_numpy()
    t["bmi_kg_per_m2"] = t["body_mass_kg"] / (t["height_cm"] / 100) ** 2
    t["shoe_size"] = meta["SHOE_SIZE"].to_numpy()
    t["orthopedic_insole"] = meta["ORTHOPEDIC_INSOLE"].to_numpy()
    t["readmission"] = meta["READMISSION"].to_numpy()
    t["session_type"] = meta["SESSION_TYPE"].to_numpy()
    t["session_date"] = meta["SESSION_DATE"].to_numpy()
    t["train"] = meta["TRAIN"].to_numpy()
    t["train_balanced"] = meta["TRAIN_BALANCED"].to_numpy()
    t["test"] = meta["TEST"].to_numpy()
    return t[list(STANCE_COLUMNS)]


def load_raw(directory, channel: str, side: str):
    """RAW curves of one channel/side: (IDs DataFrame, list of float32 arrays of varying length).

    RAW forces are in newtons at the plates' native rate; rows are NaN-padded to the longest
    trial, and that trailing padding is stripped here.
    """
    directory = Path(directory)
    path = directory / signal_file(channel, side, "RAW")
    table = read_csv(path)
    id_cols = [c for c in ID_COLUMNS_GUTENBERG if c in table.columns]
    require_columns(path, table, id_cols[-3:] if "DATASET_ID" not in table.columns else id_cols)
    ids = integer_ids(path, table, id_cols)
    first_duplicate(path, ids, id_cols)
    value_cols = [c for c in table.columns if str(c).startswith(f"{channel}_RAW_")]
    if not value_cols:
        raise DataError(f"{path}: no value columns {channel}_RAW_1, {channel}_RAW_2, …")
    values = numeric(path, table, value_cols).astype(np.float32)
    finite = np.isfinite(values)
    lengths = np.where(finite.any(axis=1), values.shape[1] - np.argmax(finite[:, ::-1], axis=1), 0)
    curves = [row[:n] for row, n in zip(values, lengths)]
    return pd.DataFrame(ids, columns=id_cols), curves


def cache_dir_default() -> Path:
    return stance_cache.cache_root(os.environ.get("GAITSAE_CACHE_DIR"))
