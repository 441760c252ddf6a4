"""Daubechies wavelet decomposition of 101-point stance curves, and its exact inverse.

The report decomposes each curve with db5 at level 4. With 101 samples and a 10-tap filter,
PyWavelets' "useful" maximum level is 3 (floor(log2(101 / 9))); at level 4 the coarsest bands
(cA4, cD4: 7 coefficients each) are wider than the signal at that scale, so every one of them
mixes in the boundary extension. They still carry the overall stance shape; we keep level 4
because it is the report's method.

Boundary mode: "periodization" by default. It is compact (104 coefficients per channel: cA4 7,
cD4 7, cD3 13, cD2 26, cD1 51), its inverse is exact after cropping to 101 points (measured
max error ~1e-15), and the db5 filter bank is orthogonal on the periodised signal. Because 101
and 51 are odd, PyWavelets repeats the last sample at those levels, so energy is not exactly
kept: on centred phantom curves the coefficients hold 1.10× the time-domain energy ("zero":
exactly 1.00× but 135 coefficients; "symmetric": 1.19×, 135). PCA-5 FVU was the same in
both domains (0.052), so the difference does not matter for FVU. Any pywt mode may be passed.

PyWavelets warns "Level value of 4 is too high" on every call at this level; since the level is
deliberate, only that warning (matched by message and category) is muted, around the pywt
calls alone.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pywt

from gaitsae.channels import N_POINTS

_LEVEL_WARNING = r"Level value of \d+ is too high"


def band_names(level: int) -> list[str]:
    """Band names in coefficient order: cA<level>, cD<level>, …, cD1."""
    return [f"cA{level}"] + [f"cD{j}" for j in range(level, 0, -1)]


@contextmanager
def _level_is_deliberate():
    """Mute pywt's too-high-level warning only (see the module docstring)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_LEVEL_WARNING, category=UserWarning)
        yield


def band_lengths(wavelet: str, level: int, mode: str, n: int = N_POINTS) -> list[int]:
    """Coefficients per band for an n-point curve, in `band_names` order."""
    with _level_is_deliberate():
        return [len(c) for c in pywt.wavedec(np.zeros(n), wavelet, level=level, mode=mode)]


def decompose(curves: np.ndarray, wavelet: str, level: int, mode: str) -> np.ndarray:
    """[n, 101] curves → float64 [n, n_coefficients], bands concatenated cA_level, cD_level … cD1."""
    with _level_is_deliberate():
        bands = pywt.wavedec(np.asarray(curves, dtype=np.float64), wavelet, level=level, mode=mode, axis=-1)
    return np.concatenate(bands, axis=-1)


def reconstruct(coefficients: np.ndarray, wavelet: str, level: int, mode: str) -> np.ndarray:
    """Inverse of `decompose`: [n, n_coefficients] → float64 [n, 101] (cropped; some modes give 102)."""
    splits = np.cumsum(band_lengths(wavelet, level, mode))[:-1]
    bands = np.split(np.asarray(coefficients, dtype=np.float64), splits, axis=-1)
    with _level_is_deliberate():
        curves = pywt.waverec(bands, wavelet, mode=mode, axis=-1)
    return curves[..., :N_POINTS]
