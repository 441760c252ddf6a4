"""What if: a stance's features moved, and the index it would then get (definitions: docs/clinical.md).

"Toward healthy" sets every sparse feature that deviates (|z| > Z_DEVIATION = 2 in the firing-aware
profile of reference.py: outside the central 95 % of the healthy reference; a typical firing of a
latent that fires in a quarter of healthy stances has z ≈ 1.15 and stays) to its typical value in the healthy reference (the median activation
over the reference's stances; silence for a feature the reference mostly leaves silent). Scaffold
features are left as they are: they carry the person's build, not a deviation.
"""

from __future__ import annotations

import numpy as np

from gaitsae.clinical.deviation import DeviationModel

Z_DEVIATION = 2.0  # |z| above this (outside the healthy central 95 %): a deviation "toward healthy" removes


def toward_healthy(latents, model: DeviationModel, kinds) -> np.ndarray:
    """Changed latents [n, n_features]: each deviating sparse feature at the reference's typical value."""
    latents = np.atleast_2d(np.asarray(latents, dtype=np.float64))
    z = model.profile(latents)
    move = (np.abs(z) > Z_DEVIATION) & (np.asarray(kinds) == "sparse")[None, :]
    return np.where(move, model.reference.location[None, :], latents)


def changes_toward_healthy(latents, model: DeviationModel, kinds) -> dict[int, float]:
    """{feature: typical value} for one stance's latents [n_features] (what GaitSAE.what_if takes)."""
    latents = np.asarray(latents, dtype=np.float64)
    changed = toward_healthy(latents, model, kinds)[0]
    return {int(j): float(changed[j]) for j in np.flatnonzero(changed != latents)}


def index_of(model: DeviationModel, latents) -> np.ndarray:
    """The deviation index of latents [n, n_features] against the full reference."""
    return model.index(model.profile(np.atleast_2d(latents)))
