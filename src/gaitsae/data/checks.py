"""Plausibility: the physical ranges a measured stance and a session's metadata stay within.

A stance outside them is dropped and reported (one bad trial should not cost a study); a
metadata cell outside them is an error naming file, row and column (the session's BW scales
every force of that session, so nothing of it can be trusted). The ranges are wide on purpose:
they catch unit mistakes (newtons read as BW, millimetres as metres), sign flips and corrupt
cells, never a real but unusual person or gait.
"""

from __future__ import annotations

import numpy as np

from gaitsae.channels import CHANNEL_UNITS

# PRO curves (BW for forces, m for COP): walking and running peaks of vGRF stay below ~3 BW;
# shear forces below ~0.5 BW; a force plate is < 1 m long. F_V below -0.25 BW is not noise.
CURVE_RANGES = {
    "F_V": (-0.25, 5.0),
    "F_AP": (-2.0, 2.0),
    "F_ML": (-2.0, 2.0),
    "COP_AP": (-2.0, 2.0),
    "COP_ML": (-2.0, 2.0),
}
# Metadata columns (units as in the files); NaN (unknown) is allowed.
METADATA_RANGES = {
    "AGE": (0.0, 120.0),            # years
    "HEIGHT": (50.0, 250.0),        # cm
    "BODY_MASS": (10.0, 350.0),     # kg
    "BODY_WEIGHT": (100.0, 3500.0),  # N
}
WALKING_SPEED_RANGE = (0.0, 10.0)  # m/s


def implausible_curves(curves: np.ndarray, channels) -> list[tuple[str, str, np.ndarray]]:
    """(channel, reason, mask [n_stances]) for each check some stance fails, first failure only.

    curves: [n_stances, n_channels, 101]. A stance appears under at most one (channel, reason),
    so every dropped stance is reported exactly once.
    """
    out = []
    seen = np.zeros(len(curves), dtype=bool)
    lows, highs = curves.min(axis=2), curves.max(axis=2)  # [n, n_channels]; NaN propagates
    for c, ch in enumerate(channels):
        low, high = lows[:, c], highs[:, c]
        finite = np.isfinite(low) & np.isfinite(high)
        lo, hi = CURVE_RANGES[ch]
        beyond = finite & ((low < lo) | (high > hi))
        checks = [("NaN or inf in the PRO curve", ~finite),
                  ("all-zero PRO curve", (low == 0) & (high == 0)),
                  (f"{ch} beyond the plausible range {lo:g}…{hi:g} {CHANNEL_UNITS[ch]}", beyond)]
        for reason, mask in checks:
            mask = mask & ~seen
            if mask.any():
                out.append((ch, reason, mask))
                seen |= mask
    return out


def first_out_of_range(values: np.ndarray, lo: float, hi: float) -> int | None:
    """Index of the first value outside [lo, hi] (NaN counts as unknown, not wrong), or None."""
    with np.errstate(invalid="ignore"):
        bad = (values < lo) | (values > hi)
    return int(np.flatnonzero(bad)[0]) if bad.any() else None


def first_split_overlap(subjects: np.ndarray, train: np.ndarray, test: np.ndarray) -> tuple | None:
    """(subject, index of a TRAIN row, index of a TEST row) for the first subject (in row order of
    its TEST row) that has sessions in both of GaitRec's published splits, or None. A subject in
    both would leak their gait from training into the test (the split is by subject)."""
    in_train = train == 1
    first_train = {}
    for i in np.flatnonzero(in_train)[::-1]:
        first_train[subjects[i]] = i
    for i in np.flatnonzero(test == 1):
        if subjects[i] in first_train:
            return subjects[i], first_train[subjects[i]], i
    return None
