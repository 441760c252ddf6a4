"""Deviation from healthy walking, per stance and per session (definitions: docs/clinical.md).

- profile: z_j, the firing-aware signed deviation of feature j (a normal score: where the
  stance's activation falls in the reference's distribution of firing and strength; see
  reference.py — a firing at typical strength counts at most 2.58, however rare the latent; a
  scaffold axis: its plain normal score against the reference);
- distance d = sqrt(mean_j z_j²), the RMS deviation over features, floored at 1 % of the
  reference's median d;
- index (GDI scale) = 100 − 10 · (ln d − μ) / σ with μ, σ the mean and SD of ln d over the
  reference stances, each cross-fitted: the reference averages 100 and 10 points are one
  reference SD; lower is further from healthy (as the Gait Deviation Index);
- score (abnormality) = Mahalanobis distance of z from the reference mean of z under a
  Ledoit–Wolf shrunk covariance (correlated features count once); optionally also the
  reconstruction error of an SAE trained on healthy stances only (reconstruction_error).
Reference subjects are always scored against a reference built without their fold.
Every feature enters d, the index and the score, scaffold axes (GaitModel.feature_kinds, passed
as `kinds`) as much as sparse features: "how far from healthy" covers everything the model
reconstructs, and a stance far out on a scaffold axis (very slow walking) is far from healthy. A
scaffold axis's z is its plain normal score (reference.py), so it counts as much as a sparse
feature does, not more. Which pattern makes the deviation is named by sparse features only
(clinical.explain).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf

from gaitsae.clinical.reference import Reference, fit_reference, reference_folds

# d is floored at this fraction of the reference's median d: a sparse code with every latent at
# its reference median (e.g. all silent) has d = 0, and ln 0 would give an infinite index.
FLOOR_FRACTION = 0.01


@dataclass
class DeviationModel:
    """A fitted reference plus what the index and the score need; call it on latents."""

    reference: Reference
    z_mean: np.ndarray      # [n_latents]
    precision: np.ndarray   # [n_latents, n_latents], inverse shrunk covariance of z
    log_d_mean: float = 0.0
    log_d_sd: float = 1.0
    d_floor: float = 1e-12

    def profile(self, latents) -> np.ndarray:
        return self.reference.z(latents)

    def index(self, z) -> np.ndarray:
        return gdi(np.maximum(distance(z), self.d_floor), self.log_d_mean, self.log_d_sd)

    def score(self, z) -> np.ndarray:
        c = np.asarray(z) - self.z_mean
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", c, self.precision, c), 0.0))

    def describe(self, latents, names=None) -> dict:
        """One stance or session (latents [n, n_latents], averaged): its profile, index and score
        (a session's index and score are the means over its stances) — for the explorer."""
        z = self.profile(np.atleast_2d(latents))
        out = {"z": z.mean(axis=0).tolist(), "index": float(self.index(z).mean()),
               "score": float(self.score(z).mean())}
        if names is not None:
            out["feature_name"] = list(names)
        return out


def distance(z) -> np.ndarray:
    return np.sqrt(np.mean(np.square(z), axis=-1))


def gdi(d, log_d_mean: float, log_d_sd: float) -> np.ndarray:
    return 100.0 - 10.0 * (np.log(d) - log_d_mean) / log_d_sd


def fit_model(latents, curves, channels, subjects, threshold: float = 0.0, kinds=None) -> DeviationModel:
    """Reference, z mean and shrunk precision from reference stances only (kinds: fit_reference)."""
    reference = fit_reference(latents, curves, channels, subjects, threshold, kinds)
    z = reference.z(latents)
    lw = LedoitWolf().fit(z)
    return DeviationModel(reference, lw.location_, lw.precision_)


@dataclass
class StanceDeviations:
    """z [n, n_latents], index [n], score [n], fold [n] (-1: not a reference subject, scored
    against the full reference), model: the full-reference model (μ, σ set)."""

    z: np.ndarray
    index: np.ndarray
    score: np.ndarray
    fold: np.ndarray
    model: DeviationModel


def cross_fit(latents, curves, channels, subjects, is_reference, n_folds: int = 5, seed: int = 0,
              threshold: float = 0.0, kinds=None) -> StanceDeviations:
    """Deviations of every stance; stances of reference subjects in fold k against the
    reference without fold k, everyone else against the full reference. kinds: the model's
    feature_kinds (None: every feature sparse)."""
    subjects = np.asarray(subjects)
    is_reference = np.asarray(is_reference, dtype=bool)
    folds = reference_folds(subjects, is_reference, n_folds, seed)
    full = fit_model(latents[is_reference], curves[is_reference], channels, subjects[is_reference], threshold,
                     kinds)
    z = full.profile(latents)
    score = full.score(z)
    for k in np.unique(folds[folds >= 0]):
        train = is_reference & (folds != k)
        m = fit_model(latents[train], curves[train], channels, subjects[train], threshold, kinds)
        held = folds == k
        z[held] = m.profile(latents[held])
        score[held] = m.score(z[held])
    d = distance(z[is_reference])
    full.d_floor = FLOOR_FRACTION * float(np.median(d)) or 1e-12
    log_d = np.log(np.maximum(d, full.d_floor))
    full.log_d_mean, full.log_d_sd = float(log_d.mean()), float(log_d.std()) or 1.0
    return StanceDeviations(z, full.index(z), score, folds, full)


def reconstruction_error(curves, recon, reference: Reference) -> np.ndarray:
    """Per stance: mean over channels of the squared reconstruction error divided by that
    channel's reference variance (averaged over the 101 points); 1 ≈ as far off as a random
    healthy stance is from the healthy mean."""
    var = np.mean(np.square(reference.band_sd), axis=-1)  # [n_channels]
    err = np.mean(np.square(np.asarray(curves) - np.asarray(recon)), axis=-1)  # [n, n_channels]
    return np.mean(err / np.where(var > 0, var, 1.0), axis=-1)


def session_table(stances: pd.DataFrame, stance_values: pd.DataFrame, z: np.ndarray) -> pd.DataFrame:
    """Per session and side: the means of `stance_values` columns and of z (z_0 …), plus the
    within-session left − right asymmetry per feature (asym_0 …, on both sides' rows)."""
    n = z.shape[1]
    zcols = [f"z_{j}" for j in range(n)]
    t = pd.concat([stances[["subject", "session", "side"]].reset_index(drop=True),
                   stance_values.reset_index(drop=True), pd.DataFrame(z, columns=zcols)], axis=1)
    keep = stances.groupby(["session", "side"], sort=True).first().drop(columns=["trial_id"], errors="ignore")
    means = t.groupby(["session", "side"], sort=True)[[*stance_values.columns, *zcols]].mean()
    means["n_stances"] = t.groupby(["session", "side"], sort=True).size()
    wide = means[zcols].unstack("side")
    sides = set(wide.columns.get_level_values("side"))

    def side(name):
        if name not in sides:
            return pd.DataFrame(np.nan, index=wide.index, columns=zcols)
        return wide.xs(name, axis=1, level="side")[zcols]

    asym = (side("left") - side("right")).set_axis([f"asym_{j}" for j in range(n)], axis=1)
    return keep.join(means).join(asym, on="session").reset_index()
