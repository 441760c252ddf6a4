"""The bin edges of HistGradientBoostingClassifier(class_weight="balanced"), for all features at once.

scikit-learn (≥ 1.7) bins each feature at its class-weighted quantiles and computes each of the
254 quantiles of each feature in a separate call: with 1,080 coefficient features that was 157 of
`gaitsae classify`'s 235 s at GaitRec size. `BalancedQuantileBins` computes the same edges with one
sort per feature (weighted "averaged inverted CDF" quantiles; the midpoints of the distinct values
when there are at most `max_bins`) and hands the boosting each session's bin number. Every bin
number occurs in the training data, so the boosting's own bins are these bins and its trees are
the ones it would grow from the raw features (tested against scikit-learn's binning).

Limits: this holds for scikit-learn >= 1.7 (earlier versions bin at unweighted quantiles of a
subsample) and with early stopping off (early stopping holds out part of the training rows, so
its bins come from the rest). `binning_matches_sklearn()` checks the version at run time;
classify.make_model turns early stopping off and bins here only when it matches.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.class_weight import compute_sample_weight

MIN_SKLEARN = (1, 7)


def binning_matches_sklearn(version: str | None = None) -> bool:
    """Whether this scikit-learn (or `version`) bins as BalancedQuantileBins does."""
    import sklearn

    parts = (version or sklearn.__version__).split(".")[:2]
    try:
        return tuple(int("".join(ch for ch in p if ch.isdigit()) or 0) for p in parts) >= MIN_SKLEARN
    except ValueError:
        return False


ALMOST_INF = 1e300  # edges are clipped here, as scikit-learn's are (+inf is kept for "split on NaN")


def quantile_edges(values: np.ndarray, weights: np.ndarray, max_bins: int = 255) -> np.ndarray:
    """Increasing edges of one feature: value x falls in bin i when edges[i-1] < x <= edges[i]."""
    keep = ~np.isnan(values) & (weights != 0)
    order = np.argsort(values[keep], kind="stable")
    x, w = values[keep][order].astype(np.float64), weights[keep][order].astype(np.float64)
    distinct = np.unique(x)
    if len(distinct) <= 1:
        return np.array([])
    if len(distinct) <= max_bins:
        edges = (distinct[:-1] + distinct[1:]) / 2
    else:
        cdf = np.cumsum(w)
        rank = np.linspace(0, 100, max_bins + 1)[1:-1] / 100 * cdf[-1]
        at = np.minimum(np.searchsorted(cdf, rank), len(x) - 1)  # first point whose cumulative weight reaches the rank
        on_boundary = cdf[at] - rank <= np.finfo(np.float64).eps  # the rank ends exactly at that point: average
        edges = np.where(on_boundary, (x[at] + x[np.minimum(at + 1, len(x) - 1)]) / 2, x[at])
        edges = np.unique(edges)
    return np.minimum(edges, ALMOST_INF)


class BalancedQuantileBins(TransformerMixin, BaseEstimator):
    """Features → bin numbers (NaN stays NaN), edges at the class-balanced weighted quantiles of
    the training rows."""

    def __init__(self, max_bins: int = 255):
        self.max_bins = max_bins

    def fit(self, x, y):
        weights = compute_sample_weight("balanced", y)
        x = np.asarray(x, dtype=np.float64)
        self.edges_ = [quantile_edges(x[:, f], weights, self.max_bins) for f in range(x.shape[1])]
        return self

    def transform(self, x):
        x = np.asarray(x, dtype=np.float64)
        binned = np.column_stack([np.searchsorted(e, x[:, f], side="left") for f, e in enumerate(self.edges_)])
        return np.where(np.isnan(x), np.nan, binned.astype(np.float64))
