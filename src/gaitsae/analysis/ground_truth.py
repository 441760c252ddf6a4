"""Against the phantom's known factors (phantom_truth.csv): for every true factor, the best
single feature and its r (chosen and computed as for metadata: metadata.feature_correlations and
metadata.strongest, over subject means, or over stances for a factor that varies mostly within
subjects) and the all-feature probe R² (subject-wise cross-validation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.analysis.metadata import LEVELS, feature_correlations, strongest
from gaitsae.analysis.probing import probe

TRUTH_FILE = "phantom_truth.csv"
KEYS = ["SUBJECT_ID", "SESSION_ID", "TRIAL_ID", "SIDE"]
NOT_FACTORS = {"DATASET_ID", *KEYS}


def load_truth(stances: pd.DataFrame, sources) -> pd.DataFrame | None:
    """Truth rows aligned with `stances` (NaN where a stance has none), or None."""
    parts = []
    for source in sources:
        path = Path(source) / TRUTH_FILE
        if path.is_file():
            t = pd.read_csv(path)
            t["dataset"] = "gutenberg" if "DATASET_ID" in t else "gaitrec"
            parts.append(t.drop(columns=["DATASET_ID"], errors="ignore"))
    if not parts:
        return None
    truth = pd.concat(parts, ignore_index=True)
    keys = stances[["dataset", "subject_id", "session_id", "trial_id", "side"]].set_axis(
        ["dataset", *KEYS], axis=1)
    return keys.merge(truth, on=["dataset", *KEYS], how="left")


def analyze_ground_truth(latents, truth: pd.DataFrame, stances: pd.DataFrame) -> dict:
    out = {}
    groups = stances["subject"].to_numpy()
    for column in truth.columns:
        if column in NOT_FACTORS or column == "dataset" or not pd.api.types.is_numeric_dtype(truth[column]):
            continue
        y = truth[column].to_numpy(dtype=float)
        ok = np.isfinite(y)
        if ok.sum() < 20 or np.nanstd(y) == 0 or len(np.unique(groups[ok])) < 5:
            continue
        level = "subject" if between_subject_share(y[ok], groups[ok]) >= 0.5 else "stance"
        r, _, n = feature_correlations(latents[ok], y[ok], groups[ok], level)
        best = strongest(r)
        out[column] = {"best_feature": best, "best_r": None if best is None else float(r[best]),
                       "best_abs_r": None if best is None else float(abs(r[best])), "level": LEVELS[level], "n": n,
                       "probe_r2": probe(latents[ok], y[ok], groups[ok], "regression", None)}
    return out


def between_subject_share(y: np.ndarray, groups: np.ndarray) -> float:
    """Share of y's variance that lies between subjects (1 for a person's constant attribute)."""
    total = float(np.var(y))
    if total == 0:
        return 1.0
    means = pd.Series(y).groupby(groups).transform("mean").to_numpy()
    return float(np.var(means)) / total
