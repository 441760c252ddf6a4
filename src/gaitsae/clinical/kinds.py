"""Which kind each feature is, asked of the model (never of its name), and the column name each
feature gets in tables (`export`, `course`, `whatif`).

A model may say `feature_kinds` (one "scaffold" or "sparse" per feature): a dense scaffold of a
few axes every stance uses, beside sparse atoms. A model that says nothing has sparse features only.
Columns count within a kind: `scaffold_0 …` and `latent_0 …` (with no scaffold, latent_j is
feature j, as in `gaitsae encode`).
"""

from __future__ import annotations

import numpy as np

from gaitsae.errors import GaitsaeError

KINDS = ("scaffold", "sparse")
PREFIX = {"scaffold": "scaffold", "sparse": "latent"}


def feature_kinds(est, n_features: int | None = None) -> np.ndarray:
    """One kind per feature ("scaffold" | "sparse"): the estimator's or its model's
    `feature_kinds` when it has them, else every feature sparse."""
    model = getattr(est, "model_", None)
    kinds = getattr(est, "feature_kinds", None)
    if kinds is None:
        kinds = getattr(model, "feature_kinds", None)
    if callable(kinds):
        kinds = kinds()
    if n_features is None:
        n_features = int(est.config_.model["n_latents"]) if kinds is None else len(kinds)
    if kinds is None:
        return np.full(n_features, "sparse", dtype=object)
    kinds = np.asarray(list(kinds), dtype=object)
    bad = sorted(set(kinds) - set(KINDS))
    if bad or len(kinds) != n_features:
        raise GaitsaeError(f"the model's feature_kinds must give one of {KINDS} per feature "
                           f"({n_features}), got {len(kinds)} with {bad or 'no unknown kind'}")
    return kinds


def feature_columns(kinds) -> list[str]:
    """Column names: scaffold_i / latent_j, counting within each kind."""
    seen = {k: 0 for k in KINDS}
    out = []
    for kind in kinds:
        out.append(f"{PREFIX[kind]}_{seen[kind]}")
        seen[kind] += 1
    return out


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
