"""The healthy reference: which stances it holds, its folds for cross-fitting, and what it
knows about each feature (firing rate, robust location and scale) and each channel (norm band).

Zeros of sparse latents are observations ("feature absent"), so location and scale are taken
over all reference stances, zeros included: location = median, scale = 1.4826 · MAD. A latent
silent in more than half the reference has MAD 0; its scale is then the standard deviation
over all reference stances, and a latent that never fires in the reference gets the median
scale of the others (any activation of it is then read in typical units, not divided by 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gaitsae.errors import DataError

MAD_TO_SD = 1.4826  # MAD of a normal distribution × this = its SD
REFERENCES = ("auto", "gaitrec-hc", "gutenberg", "hc")


@dataclass
class Reference:
    """location, scale, firing_rate, active_median: [n_latents] (activation units; active_median
    is the median of the non-zero activations, NaN if silent); band_mean, band_sd:
    [n_channels, 101] in each channel's unit; counts of reference stances and subjects."""

    location: np.ndarray
    scale: np.ndarray
    firing_rate: np.ndarray
    active_median: np.ndarray
    band_mean: np.ndarray
    band_sd: np.ndarray
    channels: tuple[str, ...]
    n_stances: int
    n_subjects: int

    def z(self, latents: np.ndarray) -> np.ndarray:
        """Signed deviation of each feature [n, n_latents] in reference scale units."""
        return (np.asarray(latents, dtype=np.float64) - self.location) / self.scale


def fit_reference(latents, curves, channels, subjects, threshold: float = 0.0) -> Reference:
    """latents [n, n_latents] and curves [n, n_channels, 101] of reference stances only."""
    latents = np.asarray(latents, dtype=np.float64)
    if not len(latents):
        raise DataError("the healthy reference holds no stances")
    location = np.median(latents, axis=0)
    scale = MAD_TO_SD * np.median(np.abs(latents - location), axis=0)
    sd = latents.std(axis=0)
    scale = np.where(scale > 0, scale, sd)
    positive = scale[scale > 0]
    scale = np.where(scale > 0, scale, np.median(positive) if len(positive) else 1.0)
    active = np.abs(latents) > threshold
    with np.errstate(invalid="ignore"):
        active_median = np.array([np.median(latents[a, j]) if a.any() else np.nan
                                  for j, a in enumerate(active.T)])
    return Reference(location, scale, active.mean(axis=0), active_median,
                     curves.mean(axis=0), curves.std(axis=0), tuple(channels),
                     int(len(latents)), int(pd.Series(subjects).nunique()))


def select_reference(stances: pd.DataFrame, spec: str = "auto") -> np.ndarray:
    """Boolean mask of reference stances. spec: "auto" (GaitRec healthy controls when the data
    has any, else every Gutenberg stance, else every HC stance), "gaitrec-hc", "gutenberg",
    "hc" (every HC stance), or a pandas query over the stance table, e.g.
    "class_label == 'HC' and age_years < 40"."""
    is_hc = stances["class_label"].eq("HC")
    gaitrec_hc = stances["dataset"].eq("gaitrec") & is_hc
    gutenberg = stances["dataset"].eq("gutenberg")
    if spec == "auto":
        mask = gaitrec_hc if gaitrec_hc.any() else gutenberg if gutenberg.any() else is_hc
    elif spec == "gaitrec-hc":
        mask = gaitrec_hc
    elif spec == "gutenberg":
        mask = gutenberg
    elif spec == "hc":
        mask = is_hc
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
