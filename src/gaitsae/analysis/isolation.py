"""Does a feature ISOLATE a planted factor: does its code track the factor's true per-stance amount?

A direction that resembles a pattern is cheap on smooth curves (random training stances reach
|cos| 0.8); a found pattern is one feature whose direction is the pattern AND whose code follows the
pattern's amount. Per factor with a per-stance truth (phantom_truth.csv, factor_truths):
- the best-tracking feature is chosen on the TRAINING stances (largest |corr| of its code with the
  truth), and code_corr is its |corr| on the scored (test) stances, so picking the best of many
  features does not inflate it;
- found: code_corr >= FOUND_CORR and that feature's direction has |cos| >= FOUND_COS with the pattern.
MCC (the identifiability score of the ICA literature): features are matched one-to-one to factors
by the Hungarian method on the training |corr|; MCC is the mean test |corr| of the matched pairs.

± twins: a half-rectified model (TopK, ReLU) often holds a direction and its negative (the ±PCA
start does by construction); the pair is one signed feature. Twins (|cos| >= TWIN between
directions) are merged into one feature whose code is the signed sum of theirs (for an exact
±pair: max(s, 0) − max(−s, 0) = s, the signed code), so a half-rectified run is scored like a
signed decomposition and counted once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from gaitsae.data.phantom.curves import CLASSES

FOUND_CORR, FOUND_COS = 0.6, 0.9
TWIN = 0.99  # |cos| between two features' directions that makes them one feature
# planted pattern → its per-stance amount in phantom_truth.csv (class patterns: class_truth)
FACTOR_COLUMNS = {"speed": "walking_speed_m_per_s", **{f"sig_{k}": f"sig_{k}" for k in range(1, 5)},
                  **{f"trial_{k}": f"trial_{k}" for k in range(1, 4)}, "age": "age_years", "female": "sex",
                  "impact": "impact_bw"}


def class_truth(truth: pd.DataFrame, cls: str) -> np.ndarray:
    """The true amount of class pattern `cls` per stance: severity on the affected side of a
    patient of that class, 0 on every other stance with a known class (NaN: no truth)."""
    label = truth["class_label"]
    amount = (truth["severity"].to_numpy(dtype=float) * truth["affected"].to_numpy(dtype=float)
              * (label == cls).to_numpy())
    return np.where(label.notna().to_numpy(), np.nan_to_num(amount), np.nan)


def factor_truths(truth: pd.DataFrame, patterns) -> dict[str, np.ndarray]:
    """Pattern name → true amount per stance [n_stances] (NaN where unknown), for every pattern of
    `patterns` that has a per-stance truth in `truth` (load_truth's rows, aligned with the stances)."""
    out = {}
    for name in patterns:
        if name in CLASSES and {"class_label", "severity", "affected"} <= set(truth.columns):
            out[name] = class_truth(truth, name)
        elif FACTOR_COLUMNS.get(name) in truth.columns:
            out[name] = truth[FACTOR_COLUMNS[name]].to_numpy(dtype=float)
    return out


def twin_groups(units: np.ndarray, twin: float = TWIN) -> tuple[np.ndarray, np.ndarray]:
    """(group [n], sign [n]) of unit directions [n, d]: features whose |cos| with an earlier group's
    first member (its representative) is >= twin join that group, with the sign of that cos."""
    group, sign = np.full(len(units), -1), np.ones(len(units))
    reps: list[int] = []
    cos = units @ units.T if len(units) else np.zeros((0, 0))
    for j in range(len(units)):
        if reps:
            c = cos[j, reps]
            best = int(np.argmax(np.abs(c)))
            if abs(c[best]) >= twin:
                group[j], sign[j] = best, np.sign(c[best])
                continue
        group[j] = len(reps)
        reps.append(j)
    return group, sign


def representatives(group: np.ndarray) -> np.ndarray:
    """Index of each group's first member (the group ids are in order of first appearance)."""
    _, first = np.unique(group, return_index=True)
    return first


def merge_twins(codes: np.ndarray, group: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Codes [n, n_features] → one signed code per group [n, n_groups] (Σ sign × code)."""
    out = np.zeros((len(codes), int(group.max()) + 1 if len(group) else 0))
    np.add.at(out.T, group, (np.asarray(codes, dtype=np.float64) * sign).T)
    return out


def signed_corr(codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of every column of codes [n, m] with y [n], over rows where y is known; 0 for a
    column (or a y) that does not vary there: a constant code tracks nothing."""
    keep = np.isfinite(y)
    c, t = np.asarray(codes, dtype=np.float64)[keep], y[keep]
    c, t = c - c.mean(axis=0), t - t.mean()
    denom = np.sqrt((c ** 2).sum(axis=0) * (t ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(np.where(denom > 1e-12, (c.T @ t) / denom, 0.0))


def abs_corr(codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(signed_corr(codes, y))


def best_tracking(train_codes: np.ndarray, test_codes: np.ndarray, y_train: np.ndarray,
                  y_test: np.ndarray) -> tuple[int, float, float]:
    """(feature, its |corr| on the test rows, the sign of its training corr) of the feature whose
    code tracks y best on the training rows."""
    r = signed_corr(train_codes, y_train)
    best = int(np.argmax(np.abs(r)))
    return best, float(abs_corr(test_codes[:, [best]], y_test)[0]), float(np.sign(r[best]) or 1.0)


def mcc(train_codes: np.ndarray, test_codes: np.ndarray, truths_train: dict, truths_test: dict) -> float:
    """Mean test |corr| of the features matched one-to-one to the factors (Hungarian method on
    the training |corr|); NaN without features or factors. With fewer features than factors, the
    unmatched factors count as 0: a method cannot isolate more factors than it has features."""
    names = list(truths_train)
    if not names or not train_codes.shape[1]:
        return float("nan")
    fit = np.stack([abs_corr(train_codes, truths_train[n]) for n in names])  # [factors, features]
    score = np.stack([abs_corr(test_codes, truths_test[n]) for n in names])
    rows, cols = linear_sum_assignment(fit, maximize=True)
    return float(score[rows, cols].sum() / len(names))
