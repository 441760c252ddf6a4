"""Metrics of a trained model, each defined once (pure numpy).

fvu: Σ‖x − x̂‖² / Σ‖x − x̄‖² pooled over all stances and coordinates (x̄ the per-coordinate
mean of the evaluated set): one number, not a mean of per-stance ratios.
"""

from __future__ import annotations

import numpy as np

from gaitsae.channels import N_POINTS

# Windows (in % of stance) in which the two vGRF peaks are looked for.
FIRST_PEAK = slice(10, 51)
SECOND_PEAK = slice(50, 91)


def fvu(x: np.ndarray, x_hat: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    x_hat = np.asarray(x_hat, dtype=np.float64).reshape(len(x), -1)
    total = ((x - x.mean(axis=0)) ** 2).sum()
    return float(((x - x_hat) ** 2).sum() / total) if total > 0 else float("nan")


def r2_time(curves: np.ndarray, reconstructions: np.ndarray, channels) -> dict[str, float]:
    """Per channel, 1 − fvu of the time-domain curves [n, C, 101]."""
    return {ch: 1.0 - fvu(curves[:, c], reconstructions[:, c]) for c, ch in enumerate(channels)}


def active(latents: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Which latents are active: |h| > threshold (0 for ReLU/TopK codes)."""
    return np.abs(latents) > threshold


def l0(latents: np.ndarray, threshold: float = 0.0) -> float:
    return float(active(latents, threshold).sum(axis=1).mean())


def firing_rates(latents: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    return active(latents, threshold).mean(axis=0)


def dead_fraction(latents: np.ndarray, threshold: float = 0.0) -> float:
    """Fraction of latents never active on the evaluated stances."""
    return float((firing_rates(latents, threshold) == 0).mean())


def firing_summary(latents: np.ndarray, threshold: float = 0.0) -> dict[str, float]:
    rates = firing_rates(latents, threshold)
    return {"mean": float(rates.mean()), "min": float(rates.min()), "max": float(rates.max())}


def peak_amplitude_bias(curves: np.ndarray, reconstructions: np.ndarray, channels) -> float:
    """Mean relative error (x̂ − x) / x of the two vGRF peaks (NaN when F_V is not modelled).

    Negative means amplitudes are underestimated, as the report saw.
    """
    if "F_V" not in channels:
        return float("nan")
    c = list(channels).index("F_V")
    assert curves.shape[-1] == N_POINTS
    errors = []
    for window in (FIRST_PEAK, SECOND_PEAK):
        true = curves[:, c, window].max(axis=1).astype(np.float64)
        recon = reconstructions[:, c, window].max(axis=1).astype(np.float64)
        errors.append((recon - true) / true)
    return float(np.mean(errors))
