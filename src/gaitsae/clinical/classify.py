"""Pathology classes from session-level features: SAE latents vs PCA of the same dimension vs
all scaled wavelet coefficients, each with logistic regression and gradient boosting.

A session's feature vector is [mean over its left stances, mean over its right stances], so
the affected side stays visible. Test subjects are never ones the run trained or validated on:
GaitRec's published split when the data has it (train on TRAIN_BALANCED — or TRAIN — sessions,
test on TEST sessions, checked against the run's split.csv; Gutenberg sessions are in
neither), else the run's own test subjects. Intervals: 95 % bootstrap over
test subjects (a subject's sessions are resampled together).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from scipy.stats import rankdata
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gaitsae.channels import SIDES
from gaitsae.clinical.binning import BalancedQuantileBins, binning_matches_sklearn
from gaitsae.errors import DataError

CLASSES = ("HC", "H", "K", "A", "C")
AFFECTED = ("left", "right", "both")
MODELS = ("logistic", "boosting")
MAX_BINS = 255  # gradient boosting's bins per feature (scikit-learn's default)
TEST_FRACTION = 0.3
MEAN_COLUMNS = 32  # columns session_means averages at once (a side's rows of them: ~11 MB at GaitRec size)
CODE_ROWS = 8192  # stances representations codes by PCA at once


def session_means(stances: pd.DataFrame, x) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per session (sessions with both sides only): its first stance's table row, and
    [mean left x, mean right x] of shape [n_sessions, 2 · x.shape[1]]. x: an array, or
    features.transform.TransformedCurves (one side's rows are transformed at a time). A column's
    mean does not depend on the others, so each side's rows are averaged MEAN_COLUMNS columns at a
    time: pandas' grouping never copies all of them (~170 MB per side at GaitRec size)."""
    key = stances["session"].to_numpy()
    blocks = []
    for side in SIDES:
        on = stances["side"].eq(side).to_numpy()
        rows = x[on]
        parts = [pd.DataFrame(rows[:, start:start + MEAN_COLUMNS]).groupby(key[on], sort=True).mean()
                 for start in range(0, max(rows.shape[1], 1), MEAN_COLUMNS)]
        del rows
        blocks.append(pd.DataFrame(np.hstack([p.to_numpy() for p in parts]), index=parts[0].index))
    both = blocks[0].index.intersection(blocks[1].index)
    table = stances.drop_duplicates("session").set_index("session").loc[both].reset_index()
    return table, np.hstack([b.loc[both].to_numpy() for b in blocks])


def published_train_column(sessions: pd.DataFrame, published: pd.Series, train_set: str) -> tuple[str, str]:
    """GaitRec's training column for train_set "balanced", "full" or "auto" (TRAIN_BALANCED when
    it holds a session of every class the published split uses, else all of TRAIN), and why."""
    if train_set != "auto":
        return ("train_balanced" if train_set == "balanced" else "train"), ""
    used = published & (sessions["test"].eq(1) | sessions["train"].eq(1))
    balanced = published & sessions["train_balanced"].eq(1)
    missing = sorted(set(sessions.loc[used, "class_label"]) - set(sessions.loc[balanced, "class_label"]))
    if missing:
        return "train", f"; TRAIN_BALANCED has no {', '.join(missing)} session, so all of TRAIN"
    return "train_balanced", ""


def split_sessions(sessions: pd.DataFrame, seen: set | None, train_set: str = "auto", seed: int = 0,
                   allow_overlap: bool = False) -> tuple[np.ndarray, str, int]:
    """("train" | "test" | "" per session, description, number of test subjects the run saw).

    Test subjects must be unseen by the run (outside `seen`, its train/validation subjects;
    None: the run recorded no split): GaitRec's published TEST where the data has it (checked
    against `seen`: an overlap is an error unless allow_overlap), else the subjects outside
    `seen` (the run's own test subjects), else — when the run saw none of the data — 30 % of
    subjects drawn with the seed."""
    subject = sessions["subject"]
    published = sessions["dataset"].eq("gaitrec") & sessions["test"].notna()
    if published.any() and sessions.loc[published, "test"].nunique() > 1:
        train_col, why = published_train_column(sessions, published, train_set)
        test = published & sessions["test"].eq(1)
        split = np.where(test, "test", np.where(published & sessions[train_col].eq(1), "train", ""))
        name = f"GaitRec published ({train_col.upper()} / TEST{why})"
    elif seen is not None and subject.isin(seen).any():
        test = ~subject.isin(seen)
        if not test.any():
            raise DataError("every subject of the data was in the run's train/validation split (split.csv): "
                            "no unseen subject to test on; train the run with a test split on this data")
        split = np.where(test, "test", "train")
        name = f"the run's test subjects (split.csv; {subject[test].nunique()} subjects test)"
    else:
        subjects = np.array(sorted(subject.unique()))
        np.random.default_rng(seed).shuffle(subjects)
        test = subject.isin(set(subjects[: max(1, int(round(TEST_FRACTION * len(subjects))))]))
        split = np.where(test, "test", "train")
        name = f"subject-wise ({TEST_FRACTION:.0%} of subjects test, seed {seed})"
    test_subjects = set(subject[split == "test"])
    if seen is None:
        if not allow_overlap:
            raise DataError("the run records no split (split.csv), so its test subjects cannot be checked "
                            "to be unseen; pass --allow-overlap to classify anyway")
        return split, name, -1
    overlap = len(test_subjects & set(seen))
    if overlap and not allow_overlap:
        raise DataError(f"{overlap} of {len(test_subjects)} test subjects ({name}) were in the run's "
                        "train/validation split: its features saw them; train the run on this data "
                        "(its split keeps GaitRec's TEST out) or pass --allow-overlap")
    return split, name, overlap


def check_classes(y_train, classes, what: str, split_name: str = "", fix: str = "use data with more patients") -> None:
    counts = pd.Series(y_train).value_counts()
    missing = [c for c in classes if counts.get(c, 0) == 0]
    if missing:
        where = f" ({split_name})" if split_name else ""
        raise DataError(f"{what}: class {missing[0]} has no session in the training split{where} "
                        f"(training counts: {', '.join(f'{k} {v}' for k, v in counts.items()) or 'none'}); {fix}")


def make_model(name: str, seed: int = 0):
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    # early_stopping off: "auto" turns it on above 10,000 rows, and then its bins would not be ours.
    boosting = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, class_weight="balanced",
                                              max_bins=MAX_BINS, early_stopping=False, random_state=seed)
    if not binning_matches_sklearn():  # an older scikit-learn bins otherwise: let it bin (slower, same model)
        return make_pipeline(boosting)
    return make_pipeline(BalancedQuantileBins(MAX_BINS), boosting)


def representations(latents, inputs, fit_rows, model_name: str = "sae", seed: int = 0) -> dict[str, np.ndarray]:
    """Per-stance feature sets: the run's latents (named by its model), PCA of the scaled coefficients with as many
    components as latents (fitted on `fit_rows` stances only), and all scaled coefficients. The PCA works on the
    one copy `inputs[fit_rows]` (copy=False: scikit-learn would copy the ~200 MB of GaitRec-size rows again).
    inputs: an array or features.transform.TransformedCurves."""
    n = min(latents.shape[1], inputs.shape[1], int(fit_rows.sum()))
    pca = PCA(n_components=n, random_state=seed, copy=False).fit(inputs[fit_rows])
    # block by block: inputs may be features.transform.TransformedCurves, never held whole
    codes = np.vstack([pca.transform(inputs[np.arange(start, min(start + CODE_ROWS, len(inputs)))])
                       for start in range(0, len(inputs), CODE_ROWS)] or [np.zeros((0, n))])
    return {model_name: latents, "pca": codes.astype(np.float32), "coefficients": inputs}


def metrics(y, proba, classes) -> dict:
    """Balanced accuracy, macro F1 and one-vs-rest ROC AUC per class, in numpy (the bootstrap calls
    this ~500 times per model; sklearn's input checks cost ~20 ms a call). Same definitions as
    sklearn's balanced_accuracy_score, f1_score(average="macro", zero_division=0) and roc_auc_score."""
    y = np.asarray(y)
    classes = list(classes)
    pred = proba.argmax(axis=1)
    truth = pd.Index(classes).get_indexer(y)  # -1: a label outside `classes`
    k = len(classes)
    seen = truth >= 0
    confusion = np.bincount(truth[seen] * k + pred[seen], minlength=k * k).reshape(k, k)
    tp, actual, predicted = np.diag(confusion), confusion.sum(1), confusion.sum(0)
    present = actual > 0
    denominator = actual + predicted
    out = {"balanced_accuracy": float(np.mean(tp[present] / actual[present])) if present.any() else np.nan,
           "macro_f1": float(np.mean(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)))}
    for i, c in enumerate(classes):
        out[f"auc_{c}"] = _auc(truth == i, proba[:, i])
    return out


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann–Whitney) formula, ties counted half; NaN with one class only."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap(fn, groups, n_boot: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2.5 and 97.5 percentiles of fn(rows) (a dict of numbers) over resampled groups."""
    groups = np.asarray(groups)
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        rows = np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a resample may miss a class; its metric is then NaN
            draws.append(fn(rows))
    keys = list(draws[0])
    values = np.array([[d.get(k, np.nan) for k in keys] for d in draws], dtype=float)
    lo, hi = np.nanpercentile(values, [2.5, 97.5], axis=0)
    return dict(zip(keys, lo)), dict(zip(keys, hi))


def evaluate(x, y, groups, split, classes, model: str, seed: int = 0, n_boot: int = 500) -> dict:
    """Fit on the train sessions, score the test sessions, with bootstrap intervals."""
    train, test = split == "train", split == "test"
    clf = make_model(model, seed).fit(x[train], y[train])
    proba = clf.predict_proba(x[test])
    order = [list(clf.classes_).index(c) for c in classes]
    proba = proba[:, order]
    yt = y[test]
    point = metrics(yt, proba, classes)
    lo, hi = bootstrap(lambda r: metrics(yt[r], proba[r], classes), groups[test], n_boot, seed)
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    return {"point": point, "low": lo, "high": hi, "n_train": int(train.sum()), "n_test": int(test.sum()),
            "confusion": confusion_matrix(yt, pred, labels=list(classes)).tolist()}


def detection_auc(healthy: np.ndarray, value: np.ndarray, groups, n_boot: int = 500, seed: int = 0) -> dict:
    """ROC AUC of `value` (higher = more abnormal) for patient vs healthy, bootstrap by subject."""
    y = ~np.asarray(healthy, dtype=bool)
    ok = np.isfinite(value)
    y, value, groups = y[ok], np.asarray(value)[ok], np.asarray(groups)[ok]

    def auc(r):
        return {"auc": _auc(y[r], value[r])}

    lo, hi = bootstrap(auc, groups, n_boot, seed)
    return {"auc": auc(np.arange(len(y)))["auc"], "low": lo["auc"], "high": hi["auc"],
            "n_healthy": int((~y).sum()), "n_patients": int(y.sum())}
