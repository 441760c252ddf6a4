"""The one definition of "feature cosine", shared by stability, planted-pattern recovery and the
explorer.

A feature is compared by its time-domain direction [n_channels, 101] (what it adds to a stance).
Channels differ in units (body weights, metres), so each channel is first divided by its
**between-stance SD**: the root mean over the 101 points of the variance across stances. That is the
spread the features have to explain; a pooled SD that includes the mean curve's shape would weight a
channel by how large its average curve is, not by how much stances differ in it.
"""

from __future__ import annotations

import numpy as np


BLOCK = 4096  # stances per step of between_stance_sd: ~16 MB of float64 whatever the data size


def between_stance_sd(curves: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """curves [n_stances, n_channels, 101] (of the stances `rows`, a mask or indices; default all)
    → [n_channels]: sqrt(mean_t Var_stances(x[:, c, t])). A channel with no spread gets 1 (so it
    is neither blown up nor divided by zero). Two passes over blocks of stances in float64 (mean,
    then squared deviations): no copy of the curves, which may be a memory map of ~320 MB."""
    curves = np.asarray(curves)
    if rows is None:
        blocks = [slice(i, i + BLOCK) for i in range(0, len(curves), BLOCK)]
        n = len(curves)
    else:
        rows = np.asarray(rows)
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        blocks = [rows[i:i + BLOCK] for i in range(0, len(rows), BLOCK)]
        n = len(rows)
    total = np.zeros(curves.shape[1:])
    for b in blocks:
        total += curves[b].sum(axis=0, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # no stance: nan, and a scale of 1
        mean = total / n
        squares = np.zeros(curves.shape[1:])
        for b in blocks:
            d = curves[b] - mean
            squares += np.einsum("ict,ict->ct", d, d)
        sd = np.sqrt((squares / n).mean(axis=1))
    return np.where(sd > 0, sd, 1.0)


def sd_from_pointwise(sd: np.ndarray) -> np.ndarray:
    """The same channel scale from a stored per-point SD [n_channels, 101] across stances."""
    scale = np.sqrt((np.asarray(sd, dtype=np.float64) ** 2).mean(axis=1))
    return np.where(scale > 0, scale, 1.0)


def unit_directions(directions: np.ndarray, channel_sd: np.ndarray) -> np.ndarray:
    """directions [n, n_channels, 101] → rows [n, n_channels * 101] of unit norm, each channel
    divided by its between-stance SD first; a zero (dead) direction stays a zero row."""
    directions = np.asarray(directions, dtype=np.float64)
    flat = (directions / np.asarray(channel_sd, dtype=np.float64)[None, :, None]).reshape(len(directions), -1)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    return np.divide(flat, norms, out=np.zeros_like(flat), where=norms > 1e-12)


def cosine_matrix(a: np.ndarray, b: np.ndarray, channel_sd: np.ndarray) -> np.ndarray:
    """Feature cosines [n_a, n_b] of two sets of time-domain directions [n, n_channels, 101]."""
    return unit_directions(a, channel_sd) @ unit_directions(b, channel_sd).T
