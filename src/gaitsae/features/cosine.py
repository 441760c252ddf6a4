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


def between_stance_sd(curves: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """curves [n_stances, n_channels, 101] (of the stances `rows`, a mask or indices; default all)
    → [n_channels]: sqrt(mean_t Var_stances(x[:, c, t])). A channel with no spread gets 1 (so it
    is neither blown up nor divided by zero)."""
    curves = np.asarray(curves)  # a channel at a time in float64 (all of them at GaitRec size: ~1 GB)
    every = slice(None) if rows is None else rows
    sd = np.sqrt(np.array([np.asarray(curves[every, c], dtype=np.float64).var(axis=0).mean()
                           for c in range(curves.shape[1])]))
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
