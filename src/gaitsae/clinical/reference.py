"""The healthy reference: which stances it holds (one rule for `deviations`, the report and the
explorer's norm band), its folds for cross-fitting, and what it knows about each feature
(firing shares, the typical strength of a firing) and each channel (norm band).

Per-feature z is firing-aware (a normal score): z_j = Φ⁻¹(F_j(a)), where F_j is the
reference's distribution of feature j seen as three parts — negative firings, silence
(|a| ≤ the model's activation threshold) and positive firings. Silence is as typical as its
share allows (z = 0 when the reference is silent at least half of the time, else the edge of
the silent share nearest the middle); a firing is placed by its share and by how strong it is against
the reference's firings of that sign (normal with their median and 1.4826 · MAD, so z keeps
growing beyond the reference's range). Each share is floored at P_FLOOR in the tails, so
firing at its typical strength counts at most Φ⁻¹(1 − P_FLOOR/2) = 2.58, however rare the
latent (a plain (a − median) / SD gives ≈ 1/√p: 5.8 for a latent firing 3 % of the time).

A dense feature (a scaffold axis: GaitModel.feature_kinds, every stance has a number on it, roughly
normal) is no firing: its z is the plain normal score (a − median) / (1.4826 · MAD) over the
reference's stances. Read as two signs of "firing", each half would be fitted as its own normal
and the tails overweighted (|z| > 2.58 for 4 % of healthy stances instead of 1 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, ndtri, ndtri_exp

from gaitsae.errors import DataError, GaitsaeError
from gaitsae.training.metrics import dense_columns

MAD_TO_SD = 1.4826  # MAD of a normal distribution × this = its SD
P_FLOOR = 0.01  # smallest share of a tail: a firing at typical strength gives |z| ≤ Φ⁻¹(1 − P_FLOOR/2)
Z_TYPICAL_FIRING_MAX = float(ndtri(1 - P_FLOOR / 2))  # 2.58
MIN_ACTIVE = 10  # fewer reference firings of a sign: their strength is not modelled (only firing counts)
SCALE_FLOOR = 0.1  # the scale of firing strengths is at least this fraction of their |median|
MIN_SUBJECTS = 20  # a reference or test group with fewer subjects gets a warning
# A clinical number (AUC, balanced accuracy, a class's median deviation) compares groups of
# subjects; with fewer than this many subjects in a group it is no finding and is shown as
# not_enough(n) instead of a number, on the CLI, in files, the report and the explorer.
MIN_FINDING_SUBJECTS = 10
REFERENCES = ("healthy", "gaitrec-hc", "gutenberg")
SYNONYMS = {"auto": "healthy", "hc": "healthy"}  # earlier spellings of the default
LABELS = {"healthy": "all healthy subjects (GaitRec HC and Gutenberg)", "gaitrec-hc": "GaitRec healthy controls",
          "gutenberg": "Gutenberg subjects"}


@dataclass
class Reference:
    """Per feature [n_latents]: location (median over all reference stances: the typical
    stance), firing_rate, active_median (median of the firings, NaN if silent); per sign of
    firing (row 0 positive, row 1 negative) [2, n_latents]: share of stances, median and scale
    of their activations (NaN: fewer than MIN_ACTIVE firings). dense [n_latents] bool: the
    scaffold axes, scored by a normal score with location and dense_scale (1.4826 · MAD over the
    reference stances, the SD when the MAD is 0; NaN for sparse features and constant axes).
    band_mean, band_sd: [n_channels, 101] in each channel's unit; counts of reference stances
    and subjects."""

    location: np.ndarray
    firing_rate: np.ndarray
    active_median: np.ndarray
    share: np.ndarray
    active_location: np.ndarray
    active_scale: np.ndarray
    threshold: float
    band_mean: np.ndarray
    band_sd: np.ndarray
    channels: tuple[str, ...]
    n_stances: int
    n_subjects: int
    dense: np.ndarray
    dense_scale: np.ndarray

    def z(self, latents) -> np.ndarray:
        """Signed deviation (normal score) of each feature, [n, n_latents]: firing-aware for a
        sparse feature, plain for a dense one."""
        a = np.asarray(latents, dtype=np.float64)
        p_pos, p_neg = self.share
        silent = np.clip(np.clip(0.5, p_neg, 1 - p_pos), P_FLOOR / 2, 1 - P_FLOOR / 2)
        z = np.broadcast_to(ndtri(silent), a.shape).copy()
        sparse = ~self.dense[None, :]
        for sign, share in ((0, p_pos), (1, p_neg)):  # only the firings are computed: codes are sparse
            fired = (a > self.threshold) if sign == 0 else (a < -self.threshold)
            rows, cols = np.nonzero(fired & sparse)
            g = np.nan_to_num((a[rows, cols] - self.active_location[sign, cols]) / self.active_scale[sign, cols])
            log_tail = np.log(np.maximum(share[cols], P_FLOOR)) + log_ndtr(-g if sign == 0 else g)
            z[rows, cols] = -ndtri_exp(log_tail) if sign == 0 else ndtri_exp(log_tail)
        if self.dense.any():
            d = self.dense
            z[:, d] = np.nan_to_num((a[:, d] - self.location[d]) / self.dense_scale[d])
        return z


def _firing_strength(values: np.ndarray) -> tuple[float, float]:
    """Median and robust scale of one sign's firings (NaN, NaN when too few to model)."""
    if len(values) < MIN_ACTIVE:
        return np.nan, np.nan
    m = float(np.median(values))
    s = MAD_TO_SD * float(np.median(np.abs(values - m)))
    return m, max(s, SCALE_FLOOR * abs(m), 1e-12)


def _dense_scale(values: np.ndarray) -> float:
    """Robust SD of a dense axis over the reference stances (NaN when the axis is constant)."""
    s = MAD_TO_SD * float(np.median(np.abs(values - np.median(values)))) or float(np.std(values))
    return s if s > 0 else np.nan


def fit_reference(latents, curves, channels, subjects, threshold: float = 0.0, kinds=None) -> Reference:
    """latents [n, n_latents] and curves [n, n_channels, 101] of reference stances only; kinds:
    the model's feature_kinds (None: every feature sparse)."""
    latents = np.asarray(latents, dtype=np.float64)
    if not len(latents):
        raise DataError("the healthy reference holds no stances")
    if kinds is not None and len(kinds) != latents.shape[1]:
        raise GaitsaeError(f"{len(kinds)} feature kinds for {latents.shape[1]} features")
    dense = None if kinds is None else dense_columns(kinds)
    dense = np.zeros(latents.shape[1], dtype=bool) if dense is None else dense
    dense_scale = np.array([_dense_scale(latents[:, j]) if d else np.nan for j, d in enumerate(dense)])
    pos, neg = latents > threshold, latents < -threshold
    active = pos | neg
    strength = np.array([[_firing_strength(latents[on[:, j], j]) for j in range(latents.shape[1])]
                         for on in (pos, neg)])  # [2, L, 2]
    with np.errstate(invalid="ignore"):
        active_median = np.array([np.median(latents[a, j]) if a.any() else np.nan
                                  for j, a in enumerate(active.T)])
    return Reference(np.median(latents, axis=0), active.mean(axis=0), active_median,
                     np.stack([pos.mean(axis=0), neg.mean(axis=0)]), strength[..., 0], strength[..., 1],
                     float(threshold), curves.mean(axis=0), curves.std(axis=0), tuple(channels),
                     int(len(latents)), int(pd.Series(subjects).nunique()), dense, dense_scale)


def select_reference(stances: pd.DataFrame, spec: str = "healthy") -> np.ndarray:
    """Boolean mask of reference stances. spec: "healthy" (default: every stance labelled HC —
    GaitRec healthy controls and every Gutenberg subject; "auto" and "hc" are synonyms),
    "gaitrec-hc", "gutenberg", or a pandas query over the stance table, e.g.
    "class_label == 'HC' and age_years < 40"."""
    spec = SYNONYMS.get(spec, spec)
    is_hc = stances["class_label"].eq("HC")
    if spec == "healthy":
        mask = is_hc
    elif spec == "gaitrec-hc":
        mask = stances["dataset"].eq("gaitrec") & is_hc
    elif spec == "gutenberg":
        mask = stances["dataset"].eq("gutenberg")
    else:
        try:
            mask = stances.eval(spec)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise DataError(f"--reference {spec!r}: not a valid filter over the stance table ({exc})") from None
        if not (isinstance(mask, pd.Series) and mask.dtype == bool):
            raise DataError(f"--reference {spec!r}: the filter must give True/False per stance")
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise DataError(f"--reference {spec!r} matches no stance: the data has no healthy reference "
                        f"({len(stances)} stances; classes {sorted(stances['class_label'].unique())})")
    return mask


def describe_reference(stances: pd.DataFrame, mask, spec: str = "healthy") -> dict:
    """What the CLI prints and the report shows: the rule in words, its size, and a warning
    when it holds fewer than MIN_SUBJECTS subjects."""
    spec = SYNONYMS.get(spec, spec)
    mask = np.asarray(mask, dtype=bool)
    n_subjects = int(stances.loc[mask, "subject"].nunique())
    out = {"reference": spec, "reference_label": LABELS.get(spec, f"filter {spec!r}"),
           "n_reference_stances": int(mask.sum()), "n_reference_subjects": n_subjects}
    if n_subjects < MIN_SUBJECTS:
        out["warning"] = (f"the healthy reference holds only {n_subjects} subjects (fewer than {MIN_SUBJECTS}): "
                          "its norm and the index are uncertain")
    return out


def not_enough(n_subjects: int) -> str:
    """What is shown instead of a number computed on too few subjects (MIN_FINDING_SUBJECTS)."""
    return f"not enough subjects (n = {n_subjects})"


def finding_note(*group_sizes: int) -> str:
    """"" when every group has MIN_FINDING_SUBJECTS subjects or more, else not_enough(smallest)."""
    n = min(int(g) for g in group_sizes) if group_sizes else 0
    return "" if n >= MIN_FINDING_SUBJECTS else not_enough(n)


def small_group_warning(what: str, n_subjects: int) -> str | None:
    """The warning for a test group of fewer than MIN_SUBJECTS subjects (None otherwise)."""
    if n_subjects < MIN_SUBJECTS:
        return f"{what}: only {n_subjects} subjects (fewer than {MIN_SUBJECTS}): its numbers are uncertain"
    return None


def reference_folds(subjects, is_reference, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Per-stance fold number 0..n_folds-1 for every stance of a reference subject (also its
    stances outside the reference), -1 for other subjects. Folds are by subject, so when fold
    k is scored against the reference built from the other folds nobody meets themselves."""
    subjects = pd.Series(np.asarray(subjects))
    ref_subjects = np.array(sorted(subjects[np.asarray(is_reference)].unique()))
    if len(ref_subjects) < 2:
        raise DataError(f"the healthy reference holds {len(ref_subjects)} subject(s); cross-fitting needs at least 2")
    n_folds = min(n_folds, len(ref_subjects))
    np.random.default_rng(seed).shuffle(ref_subjects)
    fold_of = {s: i % n_folds for i, s in enumerate(ref_subjects)}
    return subjects.map(fold_of).fillna(-1).astype(int).to_numpy()
