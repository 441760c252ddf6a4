"""Against the phantom's known factors (phantom_truth.csv): for every true factor, the best
single feature and its r (chosen and computed as for metadata: metadata.feature_correlations and
metadata.strongest, over subject means, or over stances for a factor that varies mostly within
subjects) and the all-feature probe R², fitted on the run's training subjects and scored on subjects
outside its training and validation split (analysis.probing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.analysis.metadata import LEVELS, between_subject_shares, feature_correlations, strongest
from gaitsae.analysis.probing import FIT, SCORE, probe

TRUTH_FILE = "phantom_truth.csv"
FACTORS = {  # what every generating factor of phantom_truth.csv is (data/phantom/curves.py generates them)
    "walking_speed_m_per_s": "walking speed of the trial (m/s), as generated",
    "stance_time_s": "stance duration (s)",
    "age_years": "age (years)",
    "sex": "sex (0 female, 1 male)",
    "foot_length_m": "foot length (m): how far the centre of pressure travels",
    "asymmetry": "left–right asymmetry: the subject's force peaks scaled by 1 ± asymmetry (+ on the right)",
    "severity": "a patient's impairment severity (0 healthy … 1)",
    "affected": "1 on the stances of a patient's affected side, else 0",
    "impact_bw": "height of the heel-strike impact transient (BW)",
    "body_mass_kg": "body mass (kg)",
    "height_m": "height (m)",
}
FACTOR_PREFIXES = {
    "sig_": "subject signature component (a person's own, speed-independent curve shape)",
    "trial_": "trial-to-trial variation component (changes between one person's trials)",
}
# factors that are also a recorded attribute of "Features and the person" (analysis.metadata): one
# best feature for both, chosen on the recorded attribute (report.factors.best_feature)
ATTRIBUTE_OF = {"walking_speed_m_per_s": "walking_speed_m_per_s", "age_years": "age_years", "sex": "sex_code",
                "body_mass_kg": "body_weight_n", "height_m": "height_cm"}


def describe_factor(name: str) -> str:
    """What a phantom factor is, in words (never empty)."""
    if name in FACTORS:
        return FACTORS[name]
    return next((text for prefix, text in FACTOR_PREFIXES.items() if name.startswith(prefix)),
                "a generating factor of the phantom (phantom_truth.csv)")
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


def analyze_ground_truth(latents, truth: pd.DataFrame, stances: pd.DataFrame, roles=None) -> dict:
    """roles: analysis.probing.probe_roles of the stances (None: no probe R²)."""
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
        out[column] = {"what": describe_factor(column), "best_feature": best, "best_r": None if best is None else float(r[best]),
                       "best_abs_r": None if best is None else float(abs(r[best])), "level": LEVELS[level], "n": n,
                       "probe_r2": _held_out_r2(latents, y, ok, groups, roles)}
    return out


def between_subject_share(y: np.ndarray, groups: np.ndarray) -> float:
    """Share of y's variance that lies between subjects (1 for a person's constant attribute)."""
    return float(between_subject_shares(y, groups)[0])


def _held_out_r2(latents, y, ok, groups, roles) -> float | None:
    """All-feature probe R² on the scoring subjects (None when a side has < 2 subjects or y is
    constant there)."""
    if roles is None:
        return None
    fit, score = ok & (roles == FIT), ok & (roles == SCORE)
    if min(len(np.unique(groups[fit])), len(np.unique(groups[score]))) < 2 or np.ptp(y[score]) == 0:
        return None
    return probe(latents[fit], y[fit], latents[score], y[score], "regression")
