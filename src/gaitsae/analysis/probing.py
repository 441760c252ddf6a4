"""Sparse probing: how well do 1, 5 or all features predict a person's attributes, against
the same number of principal components of the input?

Ridge regression (R²) for walking speed, age, height and body weight; logistic regression
(balanced accuracy) for sex. Cross-validated by subject (GroupKFold), with the feature
ranking (|r| with the target) and the PCA chosen inside each training fold, so no stance of a
test subject ever informs the choice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGETS = {"walking_speed_m_per_s": "regression", "age_years": "regression", "height_cm": "regression",
           "body_weight_n": "regression", "sex_code": "classification"}
SIZES = {"top1": 1, "top5": 5, "all": None}
MAX_STANCES = 6000


def _rank(x, y):
    xc = x - x.mean(0)
    yc = y - y.mean()
    denom = np.sqrt((xc ** 2).sum(0) * (yc ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denom > 0, np.abs((xc * yc[:, None]).sum(0)) / denom, 0.0)
    return np.argsort(-np.nan_to_num(r), kind="stable")


def _model(kind):
    est = LogisticRegression(max_iter=500, class_weight="balanced") if kind == "classification" else Ridge(alpha=1.0)
    return make_pipeline(StandardScaler(), est)


def probe(features, target, groups, kind, size, pca_inputs=None, folds=5):
    """Cross-validated score with `size` features (None: all); with pca_inputs, PCA instead."""
    pred = np.full(len(target), np.nan)
    for train, test in GroupKFold(n_splits=folds).split(features, target, groups):
        if pca_inputs is not None:
            n = min(size or features.shape[1], pca_inputs.shape[1], len(train) - 1)
            pca = PCA(n_components=n, random_state=0).fit(pca_inputs[train])
            xtr, xte = pca.transform(pca_inputs[train]), pca.transform(pca_inputs[test])
        else:
            cols = _rank(features[train], target[train])[:size] if size else slice(None)
            xtr, xte = features[train][:, cols], features[test][:, cols]
        pred[test] = _model(kind).fit(xtr, target[train]).predict(xte)
    if kind == "classification":
        return float(balanced_accuracy_score(target, pred))
    return float(r2_score(target, pred))


def analyze_probes(latents, inputs, stances: pd.DataFrame, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for column, kind in TARGETS.items():
        if column not in stances:
            continue
        y = stances[column].to_numpy(dtype=float)
        ok = np.flatnonzero(np.isfinite(y))
        if len(ok) > MAX_STANCES:
            ok = np.sort(rng.choice(ok, MAX_STANCES, replace=False))
        groups = stances["subject"].to_numpy()[ok]
        if len(np.unique(groups)) < 5 or np.unique(y[ok]).size < 2:
            continue
        res = {"metric": "balanced_accuracy" if kind == "classification" else "r2", "n_stances": int(len(ok))}
        for name, size in SIZES.items():
            res[f"sae_{name}"] = probe(latents[ok], y[ok], groups, kind, size)
            res[f"pca_{name}"] = probe(latents[ok], y[ok], groups, kind, size, pca_inputs=inputs[ok])
        out[column] = res
    return out
