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
  push-off balance.
- functional deviations: every channel gets a smooth random deviation per subject (mostly shared
  by both sides) and per trial, a sum of sine modes sin(jπt), j = 1 … N_MODES, whose sd falls as
  a power law j^-DEVIATION_EXPONENT (real GRF spectra fall smoothly, no hard band edge); the time
  warp gets random higher modes too, per subject and per trial.
- a heel-strike impact transient (a ~10 ms bump at ~3 % of stance, per-subject size).
- speed × body size: speed acts through the Froude-like speed v·sqrt(1.75 m / height), so the
  same speed is "faster" for a shorter person (Hof 1996, dimensionless gait scaling).
- measurement noise, white at the plate, then the PRO processing's low-pass: a 2nd-order zero-lag
  Butterworth at 20 Hz (Horsak et al. 2020, GaitRec), i.e. at 20 Hz × stance time cycles per
  stance, applied in the cosine domain.
- age: push-off (second peak, propulsion) declines after 30 years; sex: females +0.01 BW first
  peak (small); height and foot length: COP_AP progression length (≈ 0.85 × foot length).
- left/right asymmetry: a subject's peaks scaled by (1 ± asymmetry), + on the right side.
- impairment (patients' affected side, × IMPAIRMENT_GAIN × severity; calibrated so a fixed
  standard pipeline separates the classes as on GaitRec, docs/phantom.md): hip and knee lower the
  first peak and flatten the trough (knee more), ankle and calcaneus lose push-off and propulsion
  (calcaneus most, with a lower mid-stance minimum, van Hoeve et al. 2017); all four share some
  loss of both peaks; the unaffected side of a one-sided patient loads more where the affected
  side loses (contralateral compensation). Patients also walk slower (population.py), which acts
  through speed.
Units: forces in body weights (BW), COP in metres; 101 points (0 … 100 % of stance).
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct, idct
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
        "H": [0, -.1, -.16, -.19, .02, .1, .02, -.1, -.06, -.01, 0],
        "K": [0, -.11, -.19, -.22, .03, .13, .03, -.1, -.06, -.01, 0],
        "A": [0, -.03, -.07, -.09, -.03, 0, -.05, -.22, -.14, -.04, 0],
        "C": [0, -.06, -.1, -.11, -.05, -.02, -.07, -.28, -.17, -.04, 0],
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
        "H": [0, .02, .06, .08, .03, 0, 0, -.02, -.06, -.06, -.02, 0],
        "K": [0, .02, .07, .09, .04, 0, 0, -.03, -.07, -.07, -.03, 0],
        "A": [0, .01, .04, .05, .01, 0, 0, -.06, -.12, -.12, -.05, 0],
        "C": [0, .03, .07, .08, .03, 0, 0, -.06, -.13, -.13, -.05, 0],
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
# Impairment: the affected side moves by IMPAIRMENT_GAIN x severity x its class pattern; the other
# side of a one-sided patient loads more, by COMPENSATION x severity x the pattern's losses. Both
# calibrated at GaitRec's size (docs/phantom.md): with COMPENSATION 0.4 patients' peak vertical GRF
# is about 5 % below controls' as published, and the fixed pipeline's accuracies land in range.
IMPAIRMENT_GAIN, COMPENSATION = 0.85, 0.4
FACTOR_PATTERNS = ("speed", "sig_1", "sig_2", "sig_3", "trial_3", "age", "female")
CLASSES = ("H", "K", "A", "C")

# Functional deviations: the sd of sine mode j is scale × j**-DEVIATION_EXPONENT (channel units),
# per subject and per trial; SIDE_SHARED of a subject's deviation is common to both sides.
N_MODES = 40  # up to 20 cycles per stance
DEVIATION_EXPONENT = 1.5
DEVIATION_SCALE = {  # channel: (subject, trial)
    "F_V": (0.025, 0.016), "F_AP": (0.008, 0.005), "F_ML": (0.006, 0.003),
    "COP_AP": (0.004, 0.002), "COP_ML": (0.002, 0.001),
}
SIDE_SHARED = 0.8
NOISE_SD = {"F_V": 0.005, "F_AP": 0.0015, "F_ML": 0.001, "COP_AP": 0.0005, "COP_ML": 0.00025}  # white, before low-pass
CUTOFF_HZ = 20.0  # the PRO low-pass
# Time-warp modes 3 … 2 + N_WARP (their displacement sd at mode m: WARP_SD / (m π)).
N_WARP = 6
WARP_SD = {"subject": 0.05, "trial": 0.02}
# Heel-strike transient: centre, its trial-to-trial sd, and width (sd), fractions of stance.
IMPACT_TIME, IMPACT_TIME_SD, IMPACT_WIDTH = 0.03, 0.004, 0.012
_T = np.linspace(0.0, 1.0, N_POINTS)
_SINES = np.sqrt(2.0) * np.sin(np.pi * np.outer(np.arange(1, N_MODES + 1), _T))  # [N_MODES, 101]
_WARP_M = np.arange(3, 3 + N_WARP)
_WARP_SINES = np.sin(np.pi * np.outer(_WARP_M, _T)) / (np.pi * _WARP_M[:, None])  # [N_WARP, 101]


def sample_deviations(rng, n: int, level: str) -> np.ndarray:
    """Sine-mode coefficients [n, n_channels, N_MODES] of functional deviations ("subject"|"trial")."""
    decay = np.arange(1, N_MODES + 1, dtype=float) ** -DEVIATION_EXPONENT
    scale = np.array([DEVIATION_SCALE[ch][0 if level == "subject" else 1] for ch in CHANNELS])
    return rng.normal(0.0, 1.0, (n, len(CHANNELS), N_MODES)) * scale[None, :, None] * decay


def sample_warp(rng, n: int, level: str) -> np.ndarray:
    """Time-warp coefficients [n, N_WARP] of modes 3 … 2 + N_WARP."""
    return rng.normal(0.0, WARP_SD[level], (n, N_WARP))


def _spline_basis(times) -> np.ndarray:
    """[FINE, n_knots]: curve on the fine grid = basis @ knot values (a natural cubic spline is
    linear in its knot values, so all stances are computed with one matrix product)."""
    eye = np.eye(len(times))
    return CubicSpline(times, eye, bc_type="natural")(_T_FINE)


_BASES = {ch: _spline_basis(spec["t"]) for ch, spec in KNOTS.items()}


def _warp(c1, c2, modes) -> np.ndarray:
    """Warped time [n, 101]: u = t + c1 sin(πt)/π + c2 sin(2πt)/(2π) + Σ_m c_m sin(mπt)/(mπ).
    Ends fixed; monotone because the coefficients are shrunk until Σ|c| <= 0.8. c1 shifts the
    whole pattern, c2 moves the two peaks apart, the higher modes make local timing differences."""
    coef = np.column_stack([c1, c2, modes])
    coef *= np.minimum(1.0, 0.8 / np.maximum(np.abs(coef).sum(axis=1), 1e-12))[:, None]
    sines = np.vstack([np.sin(np.pi * _T) / np.pi, np.sin(2 * np.pi * _T) / (2 * np.pi), _WARP_SINES])
    return _T + coef @ sines


def _lookup(fine: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row of `fine` [n, FINE] at times u [n, 101]."""
    pos = np.clip(u, 0.0, 1.0) * (FINE - 1)
    lo = np.minimum(pos.astype(int), FINE - 2)
    frac = pos - lo
    rows = np.arange(len(fine))[:, None]
    return fine[rows, lo] * (1 - frac) + fine[rows, lo + 1] * frac


def low_pass(curves: np.ndarray, cutoff_cycles: np.ndarray) -> np.ndarray:
    """Zero-lag 2nd-order Butterworth (gain 1 / (1 + (f/fc)^4), as filtfilt) along the last axis of
    curves [n, ..., 101], with a cutoff per stance in cycles per stance. Applied to the cosine
    coefficients (the even extension has no jump at the ends): coefficient j is j/2 cycles."""
    cycles = np.arange(N_POINTS) / 2.0
    gain = 1.0 / (1.0 + (cycles[None, :] / cutoff_cycles[:, None]) ** 4)
    gain = gain.reshape(len(curves), *([1] * (curves.ndim - 2)), N_POINTS)
    return idct(dct(curves, norm="ortho", axis=-1) * gain, norm="ortho", axis=-1)


CHUNK_ROWS = 4096  # stances computed at once: bounds the float64 temporaries (~100 MB)


def stance_curves(f: dict, rng: np.random.Generator) -> np.ndarray:
    """PRO curves float32 [n, 5, 101] (CHANNELS order) from per-stance factor arrays `f`.

    Keys of f (arrays of length n): speed_m_per_s, height_m, stance_time_s, sig_1..sig_4,
    trial_1..trial_3, age_years, sex (0/1), foot_length_m, side_sign (−1 left, +1 right),
    asymmetry, severity, class_label (str), affected (0/1), contralateral (0/1), impact_bw;
    deviations [n, 5, N_MODES] and warp [n, N_WARP]: the subject's (this side's) coefficients.
    Computed in chunks of rows so memory does not grow with n; the random draws keep their order
    (the small ones first, then the noise chunk by chunk), so the curves do not depend on the chunking.
    """
    n = len(f["speed_m_per_s"])
    trial_warp = sample_warp(rng, n, "trial")
    centre = IMPACT_TIME + rng.normal(0.0, IMPACT_TIME_SD, n)
    trial_deviations = sample_deviations(rng, n, "trial")
    out = np.empty((n, len(CHANNELS), N_POINTS), dtype=np.float32)
    for start in range(0, n, CHUNK_ROWS):
        rows = slice(start, min(n, start + CHUNK_ROWS))
        chunk = {k: v[rows] for k, v in f.items()}
        out[rows] = _curves_chunk(chunk, trial_warp[rows], centre[rows], trial_deviations[rows], rng)
    return out


def _curves_chunk(f: dict, trial_warp, centre, trial_deviations, rng) -> np.ndarray:
    n = len(f["speed_m_per_s"])
    factors = {
        "speed": f["speed_m_per_s"] * np.sqrt(1.75 / f["height_m"]) - SPEED_REFERENCE,
        "sig_1": f["sig_1"], "sig_2": f["sig_2"], "sig_3": f["sig_3"],
        "trial_3": f["trial_3"],
        "age": np.clip(f["age_years"] - 30.0, 0.0, None),
        "female": (f["sex"] == 0).astype(float),
    }
    c1 = 0.012 * f["sig_4"] + 0.006 * f["trial_2"]
    c2 = 0.02 * f["sig_4"] - 0.02 * factors["speed"]
    u = _warp(c1, c2, f["warp"] + trial_warp)
    amplitude = (1 + 0.012 * f["trial_1"]) * (1 + f["asymmetry"] * f["side_sign"])
    impaired = IMPAIRMENT_GAIN * f["severity"] * f["affected"]
    compensating = COMPENSATION * f["severity"] * f["contralateral"]
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
    # Heel-strike transient: vertical bump, a braking spike a third its size.
    impact = f["impact_bw"][:, None] * np.exp(-0.5 * ((u - centre[:, None]) / IMPACT_WIDTH) ** 2)
    out[:, CHANNELS.index("F_V")] += impact
    out[:, CHANNELS.index("F_AP")] -= impact / 3
    # COP_AP: heel to toe, monotone by construction (its speed 1 + a cos 2πu > 0 for a < 1),
    # fast under the heel and forefoot, slow in mid-stance.
    length = 0.85 * f["foot_length_m"] * (1 + 0.02 * f["trial_1"])
    roll = np.clip(0.35 + 0.05 * f["sig_3"], 0.1, 0.8)[:, None]
    out[:, CHANNELS.index("COP_AP")] = length[:, None] * (u + roll * np.sin(2 * np.pi * u) / (2 * np.pi))
    # COP_ML: lateral at heel strike to medial at toe-off, centred, ~1.4 cm range.
    sway = 0.007 * (1 + 0.1 * f["sig_2"])
    offset = 0.0015 * f["sig_1"] + 0.001 * f["trial_1"]
    out[:, CHANNELS.index("COP_ML")] = -sway[:, None] * np.cos(np.pi * u) + offset[:, None]
    deviations = f["deviations"] + trial_deviations
    out += deviations @ _SINES
    noise = np.array([NOISE_SD[ch] for ch in CHANNELS])
    out += rng.normal(0.0, 1.0, out.shape) * noise[None, :, None]
    return low_pass(out, CUTOFF_HZ * f["stance_time_s"]).astype(np.float32)


def stance_time_s(speed_m_per_s: np.ndarray, height_m: np.ndarray, factor=1.0) -> np.ndarray:
    """Stance duration: ≈ 0.65 s at 1.48 m/s for 1.75 m, shorter when faster, longer when taller;
    `factor` holds the person's and the trial's own timing (≈ 1)."""
    return 0.65 * (SPEED_REFERENCE / speed_m_per_s) ** 0.75 * (height_m / 1.75) ** 0.3 * factor
