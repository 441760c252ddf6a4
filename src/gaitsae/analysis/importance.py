"""How much each feature carries, and how much features repeat each other.

Importance of latent j: the variance of its contribution h_j d_j in feature space divided by
the input's total variance, Var(h_j) ‖d_j‖² / Σ Var(x) (cross terms between latents ignored).
Redundancy: Pearson correlation between the activations of every pair of features that vary
(dead and constant features left out), the largest |r| off the diagonal and the fraction of
pairs with |r| > 0.3.
"""

from __future__ import annotations

import numpy as np

from gaitsae.analysis.figures import subplots, svg

REDUNDANT_R = 0.3


def importance(latents: np.ndarray, directions_features: np.ndarray, inputs: np.ndarray | None,
               total_variance: float | None = None) -> np.ndarray:
    """total_variance: the inputs' summed per-feature variance, when the inputs are not held whole."""
    total = summed_variance(inputs) if total_variance is None else total_variance
    return latents.var(axis=0) * (directions_features ** 2).sum(axis=1) / total


def summed_variance(x: np.ndarray, block: int = 8192) -> float:
    """Σ_features Var(x[:, f]), block by block in float64 (x.var(axis=0) would hold a centred copy
    of all of x: ~0.4 GB at GaitRec size)."""
    mean = x.mean(axis=0, dtype=np.float64)
    squares = sum(float(((x[i:i + block] - mean) ** 2).sum()) for i in range(0, len(x), block))
    return squares / max(len(x), 1)


def redundancy(latents: np.ndarray) -> dict:
    varying = np.flatnonzero(latents.std(axis=0) > 0)
    if len(varying) < 2:
        return {"max_abs_r": float("nan"), "fraction_above_0.3": float("nan"), "n_features": int(len(varying)),
                "pair": None}
    r = np.corrcoef(latents[:, varying].T)
    iu = np.triu_indices(len(varying), k=1)
    off = np.abs(r[iu])
    top = int(np.argmax(off))
    return {"max_abs_r": float(off[top]), "fraction_above_0.3": float((off > REDUNDANT_R).mean()),
            "n_features": int(len(varying)), "pair": [int(varying[iu[0][top]]), int(varying[iu[1][top]])],
            "matrix_features": varying.tolist()}


def analyze_importance(latents, directions_features, total_variance: float) -> tuple[dict, dict]:
    """total_variance: summed_variance of the inputs (the caller need not hold them for this step)."""
    imp = importance(latents, directions_features, None, total_variance)
    red = redundancy(latents)
    order = np.argsort(-imp)
    fig, axes = subplots(1, 2, width=4.8, height=3.4)
    axes[0, 0].bar(np.arange(len(imp)), imp[order], color="tab:blue")
    axes[0, 0].set_xlabel("features, by importance")
    axes[0, 0].set_ylabel("share of input variance")
    if red.get("matrix_features"):
        f = red["matrix_features"]
        image = axes[0, 1].imshow(np.corrcoef(latents[:, f].T), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="none")
        axes[0, 1].set_title(f"activation correlations (max |r| {red['max_abs_r']:.2f})")
        axes[0, 1].set_xlabel("feature (varying ones)")
        fig.colorbar(image, ax=axes[0, 1], shrink=0.8, label="r")
    numbers = {"definition": "Var(h_j) * |d_j|^2 / total input variance", "importance": imp.round(6).tolist(),
               "order": order.tolist(), **{k: v for k, v in red.items() if k != "matrix_features"}}
    return numbers, {"importance_redundancy": svg(fig)}
