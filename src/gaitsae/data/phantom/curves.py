"""The phantom's generative model: true factors of a stance → its five PRO curves.

Each force channel is a cubic spline through knots at fixed fractions of stance; every factor
moves the knot values along a fixed, documented pattern (so the model is linear in the factors
up to a smooth time warp). Factors and their literature basis:
- walking speed: vGRF peaks rise and the mid-stance trough deepens with speed; AP braking and
  propulsion grow (Keller et al. 1996; Nilsson & Thorstensson 1989): per +1 m/s the first
  peak +0.33 BW, trough −0.42 BW, second peak +0.20 BW, braking and propulsion ±0.12 BW.
- subject signature sig_1..sig_4 ~ N(0, 1), stable across a subject's trials (gait is
  individual, Horst et al. 2019): loading (first peak, braking), push-off (second peak,
  propulsion), mid-stance trough, and timing of the peaks (a time warp).
- trial variation trial_1..trial_3 ~ N(0, 1), smooth: overall amplitude, timing, and loading vs
  push-off balance; plus white measurement noise smoothed by a 3-tap filter.
- age: push-off (second peak, propulsion) declines after 30 years; sex: females +0.01 BW first
  peak (small); height and foot length: COP_AP progression length (≈ 0.85 × foot length).
- left/right asymmetry: a subject's peaks scaled by (1 ± asymmetry), + on the right side.
- impairment (patients' affected side, × 0.7 × severity): hip and knee lower the first peak and
  flatten the trough, ankle and calcaneus weaken push-off and propulsion; the unaffected side
  loads a little more.
Units: forces in body weights (BW), COP in metres; 101 points (0 … 100 % of stance).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from gaitsae.channels import CHANNELS, N_POINTS

FINE = 1001  # fine time grid on which warped curves are looked up
_T_FINE = np.linspace(0.0, 1.0, FINE)
SPEED_REFERENCE = 1.48  # m/s, the Gutenberg mean

# Knot times and values (BW) for the force channels; each pattern is a change per unit factor.
KNOTS = {
    "F_V": {
        "t": [0, .04, .10, .22, .36, .50, .64, .78, .90, .96, 1],
        "base": [0, .42, .86, 1.12, .88, .74, .86, 1.09, .74, .30, 0],
        "speed": [0, .10, .20, .33, -.20, -.42, -.20, .20, .10, 0, 0],
        "sig_1": [0, .02, .03, .035, .01, 0, 0, 0, 0, 0, 0],
        "sig_2": [0, 0, 0, 0, 0, 0, .01, .035, .03, .01, 0],
        "sig_3": [0, 0, 0, 0, -.015, -.03, -.015, 0, 0, 0, 0],
        "trial_3": [0, 0, .01, .015, 0, 0, 0, -.015, -.01, 0, 0],
        "age": [0, 0, 0, 0, 0, 0, -.0005, -.0015, -.001, 0, 0],  # per year over 30
        "female": [0, 0, .005, .01, 0, 0, 0, 0, 0, 0, 0],
        "H": [0, -.05, -.10, -.14, .02, .08, .02, -.08, -.04, 0, 0],
        "K": [0, -.08, -.14, -.18, .03, .10, .03, -.05, -.02, 0, 0],
        "A": [0, 0, -.02, -.06, 0, .03, -.03, -.16, -.08, -.02, 0],
        "C": [0, -.15, -.12, -.10, 0, .03, -.02, -.12, -.06, -.02, 0],
    },
    "F_AP": {
        "t": [0, .04, .10, .17, .28, .42, .55, .68, .80, .84, .92, 1],
        "base": [0, -.06, -.16, -.20, -.12, -.04, .03, .12, .20, .20, .10, 0],
        "speed": [0, -.03, -.08, -.12, -.06, 0, .02, .06, .12, .12, .05, 0],
        "sig_1": [0, -.005, -.015, -.02, -.01, 0, 0, 0, 0, 0, 0, 0],
        "sig_2": [0, 0, 0, 0, 0, 0, 0, .01, .02, .02, .01, 0],
        "sig_3": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "trial_3": [0, 0, -.005, -.008, 0, 0, 0, 0, .008, .008, 0, 0],
        "age": [0, 0, 0, 0, 0, 0, 0, -.0005, -.001, -.001, 0, 0],
        "female": [0] * 12,
        "H": [0, .01, .04, .05, .02, 0, 0, -.03, -.05, -.05, -.02, 0],
        "K": [0, .01, .05, .06, .03, 0, 0, -.02, -.04, -.04, -.02, 0],
        "A": [0, 0, .02, .02, 0, 0, 0, -.05, -.09, -.09, -.04, 0],
        "C": [0, .02, .05, .05, .02, 0, 0, -.04, -.08, -.08, -.03, 0],
    },
    "F_ML": {
        "t": [0, .04, .12, .25, .50, .75, .88, .96, 1],
        "base": [0, -.02, .045, .055, .04, .055, .045, .015, 0],
        "speed": [0, -.01, .01, .01, 0, .01, .01, 0, 0],
        "sig_1": [0, -.006, .008, .008, 0, 0, 0, 0, 0],
        "sig_2": [0, 0, 0, 0, 0, .008, .008, 0, 0],
        "sig_3": [0, 0, 0, .006, .012, .006, 0, 0, 0],
        "trial_3": [0] * 9,
        "age": [0] * 9,
        "female": [0, 0, .002, .003, .002, .003, .002, 0, 0],
        "H": [0, 0, .01, .012, .01, .005, 0, 0, 0],
        "K": [0, 0, .005, .008, .005, .003, 0, 0, 0],
        "A": [0, 0, 0, 0, 0, -.005, -.006, 0, 0],
        "C": [0, .005, 0, 0, 0, -.004, -.004, 0, 0],
    },
}
FACTOR_PATTERNS = ("speed", "sig_1", "sig_2", "sig_3", "trial_3", "age", "female")
CLASSES = ("H", "K", "A", "C")


def _spline_basis(times) -> np.ndarray:
    """[FINE, n_knots]: curve on the fine grid = basis @ knot values (a natural cubic spline is
    linear in its knot values, so all stances are computed with one matrix product)."""
    eye = np.eye(len(times))
    return CubicSpline(times, eye, bc_type="natural")(_T_FINE)


_BASES = {ch: _spline_basis(spec["t"]) for ch, spec in KNOTS.items()}


def _warp(c1, c2) -> np.ndarray:
    """Warped time [n, 101]: u = t + c1 sin(πt)/π + c2 sin(2πt)/(2π); ends fixed, monotone for
    |c1| + |c2| < 1. c1 shifts the whole pattern, c2 moves the two peaks apart."""
    t = np.linspace(0.0, 1.0, N_POINTS)
    return t + c1[:, None] * np.sin(np.pi * t) / np.pi + c2[:, None] * np.sin(2 * np.pi * t) / (2 * np.pi)


def _lookup(fine: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row of `fine` [n, FINE] at times u [n, 101]."""
    pos = np.clip(u, 0.0, 1.0) * (FINE - 1)
    lo = np.minimum(pos.astype(int), FINE - 2)
    frac = pos - lo
    rows = np.arange(len(fine))[:, None]
    return fine[rows, lo] * (1 - frac) + fine[rows, lo + 1] * frac


def _smooth_noise(rng, n: int, sd: float) -> np.ndarray:
    """White noise through a [1/4, 1/2, 1/4] filter: the smoothness of low-pass-filtered PRO data."""
    w = rng.normal(0.0, sd, (n, N_POINTS + 2))
    return 0.25 * w[:, :-2] + 0.5 * w[:, 1:-1] + 0.25 * w[:, 2:]


def stance_curves(f: dict, rng: np.random.Generator) -> np.ndarray:
    """PRO curves float32 [n, 5, 101] (CHANNELS order) from per-stance factor arrays `f`.

    Keys of f (arrays of length n): speed_m_per_s, sig_1..sig_4, trial_1..trial_3, age_years,
    sex (0/1), foot_length_m, side_sign (−1 left, +1 right), asymmetry, severity,
    class_label (str), affected (0/1), contralateral (0/1).
    """
    n = len(f["speed_m_per_s"])
    factors = {
        "speed": f["speed_m_per_s"] - SPEED_REFERENCE,
        "sig_1": f["sig_1"], "sig_2": f["sig_2"], "sig_3": f["sig_3"],
        "trial_3": f["trial_3"],
        "age": np.clip(f["age_years"] - 30.0, 0.0, None),
        "female": (f["sex"] == 0).astype(float),
    }
    c1 = 0.012 * f["sig_4"] + 0.006 * f["trial_2"]
    c2 = 0.02 * f["sig_4"] - 0.02 * factors["speed"]
    u = _warp(c1, c2)
    amplitude = (1 + 0.012 * f["trial_1"]) * (1 + f["asymmetry"] * f["side_sign"])
    impaired = 0.7 * f["severity"] * f["affected"]
    compensating = 0.3 * f["severity"] * f["contralateral"]
    out = np.empty((n, len(CHANNELS), N_POINTS), dtype=np.float64)
    for ch, spec in KNOTS.items():
        knots = np.tile(np.asarray(spec["base"], float), (n, 1))
        for name, value in factors.items():
            knots += value[:, None] * np.asarray(spec[name], float)
        for cls in CLASSES:
            is_cls = (f["class_label"] == cls).astype(float)
            pattern = np.asarray(spec[cls], float)
            knots += (is_cls * impaired)[:, None] * pattern
            knots -= (is_cls * compensating)[:, None] * np.minimum(pattern, 0)  # unaffected side loads more
        knots *= amplitude[:, None]
        out[:, CHANNELS.index(ch)] = _lookup(knots @ _BASES[ch].T, u)
        out[:, CHANNELS.index(ch)] += _smooth_noise(rng, n, 0.002)
    # COP_AP: heel to toe, monotone by construction (its speed 1 + a cos 2πu > 0 for a < 1),
    # fast under the heel and forefoot, slow in mid-stance.
    length = 0.85 * f["foot_length_m"] * (1 + 0.02 * f["trial_1"])
    roll = np.clip(0.35 + 0.05 * f["sig_3"], 0.1, 0.8)[:, None]
    out[:, CHANNELS.index("COP_AP")] = length[:, None] * (u + roll * np.sin(2 * np.pi * u) / (2 * np.pi))
    # COP_ML: lateral at heel strike to medial at toe-off, centred, ~1.4 cm range.
    sway = 0.007 * (1 + 0.1 * f["sig_2"])
    offset = 0.0015 * f["sig_1"] + 0.001 * f["trial_1"]
    out[:, CHANNELS.index("COP_ML")] = -sway[:, None] * np.cos(np.pi * u) + offset[:, None]
    for ch in ("COP_AP", "COP_ML"):
        out[:, CHANNELS.index(ch)] += _smooth_noise(rng, n, 0.0002)
    return out.astype(np.float32)


def stance_time_s(speed_m_per_s: np.ndarray, height_m: np.ndarray) -> np.ndarray:
    """Stance duration: ≈ 0.65 s at 1.48 m/s for 1.75 m, shorter when faster, longer when taller."""
    return 0.65 * (SPEED_REFERENCE / speed_m_per_s) ** 0.75 * (height_m / 1.75) ** 0.3
