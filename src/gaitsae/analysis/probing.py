"""Sparse probing: how well do 1, 5 or all features predict a person's attributes, against
principal components of the input chosen by the same rule?

Ridge regression (R²) for walking speed, age, height and body weight; logistic regression
(balanced accuracy) for sex. Cross-validated by subject (GroupKFold). One selection rule for
every arm, applied inside each training fold, so no stance of a test subject informs the choice:
- sae_top{k}: the k SAE latents with the largest in-fold |r| with the target, among all latents;
- pca_top{k}: the k principal components with the largest in-fold |r|, among all components of
  a PCA fitted on the fold's training inputs;
- pca_first{k}: the first k components (by variance), the classic reduction, for reference;
- sae_all / pca_all: all latents / as many leading components as there are latents.
Comparing sae_top{k} with pca_first{k} would mix the representation with the selection rule
(which alone moved R² by up to 0.24 on the phantom), hence the pca_top arm.
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
SIZES = {"top1": 1, "top5": 5}
MAX_STANCES = 6000


def top_columns(x, y, size):
    """Indices of the `size` columns of x [n, m] with the largest |Pearson r| with y (ties: lower
    index first; constant columns last). The one selection rule of every arm."""
    xc = x - x.mean(0)
    yc = y - y.mean()
    denom = np.sqrt((xc ** 2).sum(0) * (yc ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denom > 0, np.abs((xc * yc[:, None]).sum(0)) / denom, 0.0)
    return np.argsort(-np.nan_to_num(r), kind="stable")[:size]


def _model(kind):
    est = LogisticRegression(max_iter=500, class_weight="balanced") if kind == "classification" else Ridge(alpha=1.0)
    return make_pipeline(StandardScaler(), est)


def probe(features, target, groups, kind, size=None, pca_inputs=None, select="top", folds=5):
    """Cross-validated score of a probe on `size` columns (None: all).

    features [n, m]: the representation; with pca_inputs [n, d], the representation is instead a
    PCA of pca_inputs fitted in each training fold (all components for select="top", else the
    first `size`, or m when size is None). select: "top" (top_columns, in-fold) or "first"."""
    pred = np.full(len(target), np.nan)
    for train, test in GroupKFold(n_splits=folds).split(features, target, groups):
        if pca_inputs is not None:
            n_all = min(pca_inputs.shape[1], len(train) - 1)
            n = n_all if (select == "top" and size) else min(size or features.shape[1], n_all)
            pca = PCA(n_components=n, random_state=0).fit(pca_inputs[train])
            xtr, xte = pca.transform(pca_inputs[train]), pca.transform(pca_inputs[test])
        else:
            xtr, xte = features[train], features[test]
        if size:
            cols = top_columns(xtr, target[train], size) if select == "top" else np.arange(min(size, xtr.shape[1]))
            xtr, xte = xtr[:, cols], xte[:, cols]
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
        res = {"metric": "balanced_accuracy" if kind == "classification" else "r2", "n_stances": int(len(ok)),
               "selection": "top-k by in-fold |r| among all latents / all components; first-k by variance"}
        x, y_ok, pca_x = latents[ok], y[ok], inputs[ok]
        for name, size in SIZES.items():
            res[f"sae_{name}"] = probe(x, y_ok, groups, kind, size)
            res[f"pca_{name}"] = probe(x, y_ok, groups, kind, size, pca_inputs=pca_x)
            res[f"pca_first{size}"] = probe(x, y_ok, groups, kind, size, pca_inputs=pca_x, select="first")
        res["sae_all"] = probe(x, y_ok, groups, kind)
        res["pca_all"] = probe(x, y_ok, groups, kind, pca_inputs=pca_x)
        out[column] = res
    return out
