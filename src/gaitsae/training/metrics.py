"""Metrics of a trained model, each defined once (pure numpy).

Reconstruction is scored in the time domain, on the curves in their physical units, so that
every model, feature domain, scaling and baseline is measured in the same space:
- fvu_channel[c] = Σ‖x_c − x̂_c‖² / Σ‖x_c − x̄_c‖² over all evaluated stances and the 101 points of
  channel c (x̄_c the mean curve of the evaluated set): pooled, not a mean of per-stance ratios.
- fvu (the headline) = the mean over channels of fvu_channel: each channel counts once, whatever
  its unit (BW or m) and size. r2_time = 1 − fvu_channel; rmse in the channel's unit.
- fvu_features: the same pooled ratio on the feature vectors (secondary; a wavelet run has more
  coefficients than samples, so it also counts directions that are not curves).
- l0: numbers per stance: active latents, plus every dense (scaffold) feature of a model whose
  feature_kinds has them (a scaffold coordinate is a number of every stance, even when it is 0).
- pca_likeness: the share of alive sparse features (active on some evaluated stance) whose time-domain
  direction lies within |cos| >= 0.9 of one of the top 20 principal directions of the training
  curves, both compared with the shared feature cosine (gaitsae.features.cosine): features that
  PCA gives as well. The principal directions are found in the run's own input space and mapped
  to the time domain like its decoder directions: PCs of differently scaled spaces differ, most
  within near-tied eigenvalues, so comparing across spaces kept an exact ±PCA start below 1.
"""

from __future__ import annotations

import numpy as np

from gaitsae.channels import N_POINTS
from gaitsae.features.cosine import between_stance_sd, cosine_matrix
from gaitsae.models.base import SPARSE

# Windows (in % of stance) in which the two vGRF peaks are looked for.
PEAKS = {"first": slice(10, 51), "second": slice(50, 91)}
PCA_DIRECTIONS, PCA_LIKE = 20, 0.9  # pca_likeness: top principal directions, and the |cos| that counts as one
# A latent is of low contribution when zeroing it on every evaluated stance changes the
# reconstructed curves by less than this share of their variance (mean over channels).
LOW_CONTRIBUTION = 1e-3
ROWS = 8192  # rows converted to float64 at once by fvu


def fvu(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Pooled Σ‖x − x̂‖² / Σ‖x − x̄‖² over rows [n, ...] (NaN when x does not vary)."""
    x = np.asarray(x).reshape(len(x), -1)
    x_hat = np.asarray(x_hat).reshape(len(x), -1)
    if not len(x):
        return float("nan")
    blocks = [slice(i, i + ROWS) for i in range(0, len(x), ROWS)]  # float64 a block at a time
    mean = sum(np.asarray(x[b], dtype=np.float64).sum(axis=0) for b in blocks) / len(x)
    total = sum(((np.asarray(x[b], dtype=np.float64) - mean) ** 2).sum() for b in blocks)
    error = sum(((np.asarray(x[b], dtype=np.float64) - np.asarray(x_hat[b], dtype=np.float64)) ** 2).sum()
                for b in blocks)
    return float(error / total) if total > 0 else float("nan")


def fvu_channel(curves: np.ndarray, reconstructions: np.ndarray, channels) -> dict[str, float]:
    """Time-domain fvu of each channel of curves [n, C, 101]."""
    return {ch: fvu(curves[:, c], reconstructions[:, c]) for c, ch in enumerate(channels)}


def fvu_time(curves: np.ndarray, reconstructions: np.ndarray, channels) -> float:
    """The headline fvu: the mean over channels of fvu_channel (each channel counts once)."""
    return float(np.mean(list(fvu_channel(curves, reconstructions, channels).values())))


def r2_time(curves: np.ndarray, reconstructions: np.ndarray, channels) -> dict[str, float]:
    """Per channel, 1 − time-domain fvu."""
    return {ch: 1.0 - v for ch, v in fvu_channel(curves, reconstructions, channels).items()}


def rmse(curves: np.ndarray, reconstructions: np.ndarray, channels) -> dict[str, float]:
    """Per channel, root-mean-square error over stances and points, in the channel's unit."""
    out = {}
    for c, ch in enumerate(channels):  # a channel at a time: no float64 copy of all channels
        err = np.asarray(curves[:, c], dtype=np.float64) - np.asarray(reconstructions[:, c], dtype=np.float64)
        out[ch] = float(np.sqrt((err ** 2).mean()))
    return out


def reconstruction_scores(curves: np.ndarray, reconstructions: np.ndarray, channels) -> dict:
    """The time-domain reconstruction metrics of any method (SAE or baseline): fvu (mean over
    channels), fvu_channel, r2_time, rmse and peak_error."""
    per = fvu_channel(curves, reconstructions, channels)
    return {"fvu": fvu_time(curves, reconstructions, channels), "fvu_channel": per,
            "r2_time": {ch: 1.0 - v for ch, v in per.items()}, "rmse": rmse(curves, reconstructions, channels),
            "peak_error": peak_error(curves, reconstructions, channels)}


def active(latents: np.ndarray, threshold: float = 0.0, dense=None) -> np.ndarray:
    """Which latents are active: |h| > threshold (0 for ReLU/TopK codes). dense [n_latents] bool
    (optional): columns that are numbers of every stance (a scaffold), active whatever their value."""
    on = np.abs(latents) > threshold
    if dense is not None and np.any(dense):
        on[:, np.asarray(dense, dtype=bool)] = True
    return on


def dense_columns(kinds) -> np.ndarray | None:
    """The dense mask `active` takes, from a model's feature_kinds (None when all are sparse)."""
    dense = np.asarray([kind != SPARSE for kind in kinds], dtype=bool)
    return dense if dense.any() else None


def l0(latents: np.ndarray, threshold: float = 0.0, dense=None) -> float:
    """Numbers per stance: active sparse latents plus every dense (scaffold) column."""
    return float(active(latents, threshold, dense).sum(axis=1).mean())


def firing_rates(latents: np.ndarray, threshold: float = 0.0, dense=None) -> np.ndarray:
    return active(latents, threshold, dense).mean(axis=0)


def dead_fraction(latents: np.ndarray, threshold: float = 0.0, dense=None) -> float:
    """Fraction of latents never active on the evaluated stances."""
    return float((firing_rates(latents, threshold, dense) == 0).mean())


def firing_summary(latents: np.ndarray, threshold: float = 0.0, dense=None) -> dict[str, float]:
    rates = firing_rates(latents, threshold, dense)
    return {"mean": float(rates.mean()), "min": float(rates.min()), "max": float(rates.max())}


def sparsity_scores(latents: np.ndarray, threshold: float = 0.0, dense=None) -> dict:
    """l0 (numbers per stance, dense columns included), dead_fraction and firing_rate of codes
    [n, n_latents] (SAE latents or baseline codes); with dense columns also n_dense and l0_sparse."""
    out = {"l0": l0(latents, threshold, dense), "dead_fraction": dead_fraction(latents, threshold, dense),
           "firing_rate": firing_summary(latents, threshold, dense)}
    if dense is not None:
        n_dense = int(np.sum(dense))
        out.update(n_dense=n_dense, l0_sparse=out["l0"] - n_dense)
    return out


def contribution_shares(curves: np.ndarray, removal_changes) -> np.ndarray:
    """Per latent, Σ‖Δ‖² / Σ‖x − x̄‖², averaged over channels, where Δ [n, C, 101] is how the
    reconstructed curves change when that latent is zeroed on every stance.

    curves: [n, C, 101]; removal_changes: an iterable of Δ, one per latent, each [m, C, 101]
    over the stances where the latent changes anything (rows of zeros may be left out)."""
    curves = np.asarray(curves)
    total = np.array([((x - x.mean(axis=0)) ** 2).sum() for x in
                      (np.asarray(curves[:, c], dtype=np.float64) for c in range(curves.shape[1]))])  # [C]
    total = np.where(total > 0, total, np.nan)
    return np.array([np.nanmean((np.asarray(d, dtype=np.float64) ** 2).sum(axis=(0, 2)) / total)
                     for d in removal_changes])


def low_contribution_fraction(shares: np.ndarray, tolerance: float = LOW_CONTRIBUTION) -> float:
    """Fraction of latents whose removal changes the reconstruction by less than `tolerance` of
    the variance (see contribution_shares); silent latents count too (their change is 0)."""
    return float((np.asarray(shares) < tolerance).mean())


def score_codes(curves: np.ndarray, reconstructions: np.ndarray, channels, codes: np.ndarray,
                removal_changes, threshold: float = 0.0, dense=None) -> dict:
    """Every method's scores, SAE or baseline, in one space: time-domain reconstruction of curves
    [n, C, 101], sparsity of its codes [n, n_codes] (active: |code| > threshold, or a dense
    column), and the share of codes of low contribution (removal_changes: see contribution_shares)."""
    shares = contribution_shares(curves, removal_changes)
    return {**reconstruction_scores(curves, reconstructions, channels), **sparsity_scores(codes, threshold, dense),
            "low_contribution_fraction": low_contribution_fraction(shares), "low_contribution_tolerance": LOW_CONTRIBUTION}


def peak_error(curves: np.ndarray, reconstructions: np.ndarray, channels) -> dict | None:
    """Relative errors (x̂ − x) / x of the first and second vGRF peak (maximum in its window),
    as the mean signed error (bias; negative = underestimated) and the mean absolute error,
    per peak, so that errors of opposite sign cannot cancel. None when F_V is not modelled."""
    if "F_V" not in channels:
        return None
    c = list(channels).index("F_V")
    assert curves.shape[-1] == N_POINTS
    out = {}
    for name, window in PEAKS.items():
        true = curves[:, c, window].max(axis=1).astype(np.float64)
        recon = reconstructions[:, c, window].max(axis=1).astype(np.float64)
        rel = (recon - true) / true
        out[name] = {"signed": float(rel.mean()), "absolute": float(np.abs(rel).mean())}
    return out


def principal_directions(curves: np.ndarray, n: int = PCA_DIRECTIONS, transform=None) -> np.ndarray:
    """The top n principal directions [n, C, 101] of curves [n_stances, C, 101], in physical units.
    transform (a fitted FeatureTransform): found in its input space, never whitened (where a model's
    ±PCA start finds them), and mapped to the time domain like a decoder direction; None: found with
    each channel divided by its between-stance SD (the feature cosine's scaling)."""
    curves = np.asarray(curves)
    base = None if transform is None else transform.unwhitened()
    sd = between_stance_sd(curves)
    blocks = [slice(i, i + ROWS) for i in range(0, len(curves), ROWS)]  # float64 a block at a time

    def scaled(b):
        if base is not None:
            return np.asarray(base.transform(curves[b]), dtype=np.float64)
        return (np.asarray(curves[b], dtype=np.float64) / sd[None, :, None]).reshape(len(curves[b]), -1)

    mean = sum(scaled(b).sum(axis=0) for b in blocks) / len(curves)
    scatter = 0.0
    for b in blocks:
        centred = scaled(b) - mean
        scatter = scatter + centred.T @ centred
    _, vectors = np.linalg.eigh(scatter)  # ascending eigenvalues
    top = vectors[:, ::-1][:, :n].T
    if base is not None:
        return np.asarray(base.inverse_direction(top), dtype=np.float64)
    return top.reshape(-1, *curves.shape[1:]) * sd[None, :, None]


def pca_likeness(directions: np.ndarray, alive: np.ndarray, train_curves: np.ndarray, transform=None) -> float:
    """Share of alive features (directions [n_latents, C, 101], alive [n_latents] bool) within
    |cos| >= PCA_LIKE of one of the top PCA_DIRECTIONS principal directions of the training curves
    (NaN when no feature is alive). transform: the run's; the principal directions are then taken
    in its input space, like with like, so an exact ±PCA start scores 1 (see principal_directions)."""
    if not np.any(alive):
        return float("nan")
    sd = between_stance_sd(train_curves)
    cos = cosine_matrix(np.asarray(directions)[alive], principal_directions(train_curves, transform=transform), sd)
    return float((np.abs(cos).max(axis=1) >= PCA_LIKE).mean())
