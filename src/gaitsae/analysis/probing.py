"""Sparse probing: how well do 1, 5 or all features predict a person's attributes, against
principal components of the input chosen by the same rule?

Ridge regression (R²) for walking speed, age, height and body weight; logistic regression
(balanced accuracy) for sex. Equal information for every arm: each representation is fitted only
on the run's TRAINING subjects (the SAE was trained on them; the PCA arms are fitted on their
inputs), the probe and its feature choice are fitted on those subjects' stances too, and every
score is on subjects OUTSIDE the run's training and validation split (its test subjects, plus any
subject the run never saw). Cross-validating over all stances instead would let the SAE arm see
the test folds' inputs (it was trained on ~70 % of them) while the PCA arms are refitted per fold.
One selection rule for every arm, applied on the fitting subjects:
- sae_top{k}: the k SAE latents with the largest |r| with the target, among all latents;
- pca_top{k}: the k principal components with the largest |r|, among all components;
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
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGETS = {"walking_speed_m_per_s": "regression", "age_years": "regression", "height_cm": "regression",
           "body_weight_n": "regression", "sex_code": "classification"}
SIZES = {"top1": 1, "top5": 5}
MAX_STANCES = 6000  # per side (fitting, scoring); a deterministic sample beyond
MIN_SUBJECTS = 3  # on each side, or the attribute is not probed
FIT, SCORE = "fit", "score"
PROTOCOL = ("representations (SAE, PCA) and probes fitted on the run's training subjects; scored on subjects "
            "outside the run's training and validation split (its test subjects)")


def probe_roles(subjects, split: pd.DataFrame | None) -> np.ndarray | None:
    """Per stance: "fit" for the run's training subjects, "score" for subjects outside its
    training and validation split, "" for validation subjects (early stopping saw them). None
    without the run's split (nothing says which subjects the model saw)."""
    if split is None:
        return None
    role = dict(zip(split["subject"], split["split"]))
    named = {"train": FIT, "val": ""}
    return np.array([named.get(role.get(s), SCORE) for s in subjects], dtype=object)


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


def probe(x_fit, y_fit, x_score, y_score, kind, size=None, select="top") -> float:
    """Score on (x_score, y_score) of a probe fitted on (x_fit, y_fit), from `size` columns (None:
    all) chosen on the fitting rows: by |r| (select="top", top_columns) or the first ones."""
    if size:
        cols = top_columns(x_fit, y_fit, size) if select == "top" else np.arange(min(size, x_fit.shape[1]))
        x_fit, x_score = x_fit[:, cols], x_score[:, cols]
    pred = _model(kind).fit(x_fit, y_fit).predict(x_score)
    if kind == "classification":
        return float(balanced_accuracy_score(y_score, pred))
    return float(r2_score(y_score, pred))


def pca_arm(inputs_fit, inputs_score, n=None):
    """The PCA representation of both sides, fitted on the fitting rows' inputs [n, d] only:
    n leading components (None: all)."""
    n_all = min(inputs_fit.shape[1], len(inputs_fit) - 1)
    pca = PCA(n_components=min(n or n_all, n_all), random_state=0).fit(inputs_fit)
    return pca.transform(inputs_fit), pca.transform(inputs_score)


def _sample(rows, rng):
    return np.sort(rng.choice(rows, MAX_STANCES, replace=False)) if len(rows) > MAX_STANCES else rows


def analyze_probes(latents, inputs, stances: pd.DataFrame, roles, seed=0) -> dict:
    """Per attribute, every arm's score (see the module docstring). roles: probe_roles of the
    stances; None (a run without its split) gives no probes."""
    if roles is None:
        return {}
    rng = np.random.default_rng(seed)
    subjects = stances["subject"].to_numpy()
    out = {}
    for column, kind in TARGETS.items():
        if column not in stances:
            continue
        y = stances[column].to_numpy(dtype=float)
        ok = np.isfinite(y)
        fit = _sample(np.flatnonzero(ok & (roles == FIT)), rng)
        score = _sample(np.flatnonzero(ok & (roles == SCORE)), rng)
        if min(len(np.unique(subjects[fit])), len(np.unique(subjects[score]))) < MIN_SUBJECTS:
            continue
        if np.unique(y[fit]).size < 2 or np.unique(y[score]).size < 2:
            continue
        res = {"metric": "balanced_accuracy" if kind == "classification" else "r2",
               "n_stances": int(len(score)), "n_subjects": int(len(np.unique(subjects[score]))),
               "n_fit_stances": int(len(fit)), "n_fit_subjects": int(len(np.unique(subjects[fit]))),
               "protocol": PROTOCOL,
               "selection": "top-k by |r| on the fitting subjects among all latents / all components; "
                            "first-k by variance"}
        xy = (y[fit], y[score])
        sae = (latents[fit], latents[score])
        pcs = pca_arm(inputs[fit], inputs[score])
        for name, size in SIZES.items():
            res[f"sae_{name}"] = probe(sae[0], xy[0], sae[1], xy[1], kind, size)
            res[f"pca_{name}"] = probe(pcs[0], xy[0], pcs[1], xy[1], kind, size)
            res[f"pca_first{size}"] = probe(pcs[0], xy[0], pcs[1], xy[1], kind, size, select="first")
        res["sae_all"] = probe(sae[0], xy[0], sae[1], xy[1], kind)
        lead = pca_arm(inputs[fit], inputs[score], latents.shape[1])
        res["pca_all"] = probe(lead[0], xy[0], lead[1], xy[1], kind)
        out[column] = res
    return out
