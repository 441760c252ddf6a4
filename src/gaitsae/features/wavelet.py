"""Daubechies wavelet decomposition of 101-point stance curves, and its exact inverse.

The report decomposes each curve with db5 at level 4. With 101 samples and a 10-tap filter,
PyWavelets' "useful" maximum level is 3 (floor(log2(101 / 9))); at level 4 the coarsest
approximation and detail (cA4, cD4: 7 coefficients each) are dominated by the boundary
handling. We keep level 4 because it is the report's method, and choose the boundary mode
"periodization": it keeps the transform orthogonal (energy, and so the fraction of variance
unexplained, carries over from the time domain) and compact (104 coefficients per channel:
cA4 7, cD4 7, cD3 13, cD2 26, cD1 51), and its inverse is exact after cropping to 101 points.
PyWavelets warns about the level on every call; that one warning, and only it, is muted here,
because the choice is deliberate and documented.
"""

from __future__ import annotations

import warnings

import numpy as np
import pywt

from gaitsae.channels import N_POINTS

BAND_NAMES = lambda level: [f"cA{level}"] + [f"cD{j}" for j in range(level, 0, -1)]  # noqa: E731
_LEVEL_WARNING = r"Level value of \d+ is too high"


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.filterwarnings("ignore", message=_LEVEL_WARNING, category=UserWarning)
    return ctx


def band_lengths(wavelet: str, level: int, mode: str, n: int = N_POINTS) -> list[int]:
    ctx = _quiet()
    try:
        return [len(c) for c in pywt.wavedec(np.zeros(n), wavelet, level=level, mode=mode)]
    finally:
        ctx.__exit__(None, None, None)


def decompose(curves: np.ndarray, wavelet: str, level: int, mode: str) -> np.ndarray:
    """[n, 101] curves → [n, n_coefficients], bands concatenated cA_level, cD_level … cD1."""
    ctx = _quiet()
    try:
        bands = pywt.wavedec(np.asarray(curves, dtype=np.float64), wavelet, level=level, mode=mode, axis=-1)
    finally:
        ctx.__exit__(None, None, None)
    return np.concatenate(bands, axis=-1)


def reconstruct(coefficients: np.ndarray, wavelet: str, level: int, mode: str) -> np.ndarray:
    """Inverse of `decompose`: [n, n_coefficients] → [n, 101]."""
    lengths = band_lengths(wavelet, level, mode)
    splits = np.cumsum(lengths)[:-1]
    bands = np.split(np.asarray(coefficients, dtype=np.float64), splits, axis=-1)
    ctx = _quiet()
    try:
        curves = pywt.waverec(bands, wavelet, mode=mode, axis=-1)
    finally:
        ctx.__exit__(None, None, None)
    return curves[..., :N_POINTS]
