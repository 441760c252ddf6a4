"""Akin gaits: the k stances nearest to a stance (or to new curves) by cosine in latent space.

One vectorised matrix-vector product over the store's row-normalised latents [n_stances,
n_latents] and an argpartition; no index structure is needed at GaitRec size (≈ 160k × 100).
Stances with no active latent have no direction and similarity 0 to everything.

    neighbours(store, stance=12, k=10, leave_out="subject")   # what the stance page shows
    neighbours_of_curves(store, curves, k=10)                  # curves [n_channels, 101] of a new stance
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitsae.errors import GaitsaeError

LEAVE_OUT = ("stance", "trial", "subject")  # what is excluded besides the query: itself, its trial, its person
MAX_K = 500


def check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise GaitsaeError(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    return int(k)


def top_k(unit: np.ndarray, query: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `unit` (row-normalised, best column-major) most cosine-similar to `query`, best first:
    (indices, similarities). Only the query's nonzero latents are read: a sparse query costs k_active columns."""
    norm = np.linalg.norm(query)
    nonzero = np.flatnonzero(query)
    q = (query[nonzero] / norm if norm > 0 else query[nonzero]).astype(unit.dtype)
    sims = unit[:, nonzero] @ q if len(nonzero) else np.zeros(len(unit), dtype=unit.dtype)
    if exclude is not None:
        sims[exclude] = -np.inf
    k = min(k, int(np.isfinite(sims).sum()))
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx = np.argpartition(-sims, k - 1)[:k]
    idx = idx[np.lexsort((idx, -sims[idx]))]  # by similarity, ties by stance id: deterministic
    return idx, sims[idx]


def _exclusion(store, stance: int, leave_out: str) -> np.ndarray:
    if leave_out not in LEAVE_OUT:
        raise GaitsaeError(f"leave_out must be one of {list(LEAVE_OUT)}, got {leave_out!r}")
    if leave_out == "subject":
        return store.by_subject[store.subjects[stance]]
    if leave_out == "trial":
        return np.flatnonzero(store.trial_codes == store.trial_codes[stance])
    return np.array([stance])


def _table(store, idx, sims, query_active: set[int]) -> pd.DataFrame:
    rows = pd.DataFrame(store.rows(idx, ["stance", "subject", "session", "trial_id", "side", "class"]))
    rows["similarity"] = sims.astype(float)
    rows["shared_features"] = [[int(j) for j in store.active(i) if int(j) in query_active] for i in idx]
    return rows


def neighbours(store, stance: int, k: int = 10, leave_out: str = "stance") -> pd.DataFrame:
    """The k stances of `store` nearest to stance `stance` (cosine of latents), best first, with the
    active features each shares with it. leave_out: "stance" (only itself), "trial" (its trial,
    both sides) or "subject" (every stance of the same person)."""
    k = check_k(k)
    if isinstance(stance, bool) or not isinstance(stance, (int, np.integer)) or not 0 <= stance < store.n_stances:
        raise GaitsaeError(f"stance must be an id from 0 to {store.n_stances - 1}, got {stance!r}")
    idx, sims = top_k(store.unit, store.latents[stance], k, _exclusion(store, int(stance), leave_out))
    return _table(store, idx, sims, {int(j) for j in store.active(int(stance))})


def neighbours_of_curves(store, curves, k: int = 10, sae=None) -> pd.DataFrame:
    """The k stances nearest to a new stance, curves float32 [n_channels, 101] in the run's channels
    and units (BW, m), encoded with the run's GaitSAE (or `sae`)."""
    k = check_k(k)
    sae = sae or store.sae()
    latents = sae.transform(np.asarray(curves, dtype=np.float32)[None])[0]
    idx, sims = top_k(store.unit, latents, k)
    return _table(store, idx, sims, {int(j) for j in np.flatnonzero(np.abs(latents) > store.threshold)})
