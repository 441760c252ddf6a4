"""Feature kinds and column names for the clinical tables (`export`, `course`, `whatif`).

The model says which feature is which kind (GaitSAE.feature_kinds_: "scaffold" for a dense axis
every stance uses, "sparse" for a dictionary atom); columns count within a kind, scaffold_0 …,
latent_0 … (models.base.feature_names, as in `gaitsae encode`).
"""

from __future__ import annotations

import numpy as np

from gaitsae.errors import GaitsaeError
from gaitsae.models.base import feature_names as feature_columns

__all__ = ["feature_columns", "feature_index", "feature_kinds"]


def feature_kinds(est, n_features: int | None = None) -> np.ndarray:
    """One kind per feature, as the fitted estimator's model says; n_features: the count the
    caller's latents have (a mismatch is an error, never a silent misalignment)."""
    kinds = np.asarray(est.feature_kinds_, dtype=object)
    if n_features is not None and len(kinds) != n_features:
        raise GaitsaeError(f"the model gives {len(kinds)} feature kinds for {n_features} features")
    return kinds


def feature_index(name, kinds) -> int:
    """The feature a user names: its position (an int, or digits) or its column (latent_3,
    scaffold_0); an unknown name is an error listing the valid forms."""
    columns = feature_columns(kinds)
    text = str(name).strip()
    if text.lstrip("+-").isdigit():
        j = int(text)
        if 0 <= j < len(columns):
            return j
    elif text in columns:
        return columns.index(text)
    raise GaitsaeError(f"unknown feature {text!r}: give 0 … {len(columns) - 1} or a column name "
                       f"({', '.join(columns[:3])}{', …' if len(columns) > 3 else ''})")
