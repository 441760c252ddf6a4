"""The phantom's planted patterns: each factor's time-domain effect per unit, on all five channels.

A pattern is taken from the generator itself, not re-fitted: `stance_curves` is run on a
reference stance (Froude speed 1.48 m/s, height 1.75 m, age 30, male, every signature and trial
factor 0, no impairment, no heel-strike transient, stance 0.65 s) with every random draw at its
mean (no trial warp, deviation or noise), once as it is and once with one factor moved by `step`
units; the difference divided by `step` is the pattern. The class patterns H, K, A, C are the
affected side at severity 1 (the generator's IMPAIRMENT_GAIN × severity impairment) against the healthy
reference. Timing factors (sig_4, trial_2) and speed act partly through the time warp, so their
pattern is the warped curve's change, as it appears in the data.

`phantom_patterns.csv` (written beside phantom_truth.csv): one row per pattern × channel,
columns `pattern, unit, channel, t0 … t100` (forces in BW, COP in m, per unit of the factor).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from gaitsae.channels import CHANNELS, N_POINTS
from gaitsae.data.phantom.curves import CLASSES, N_MODES, N_WARP, SPEED_REFERENCE, stance_curves
from gaitsae.errors import DataError

PATTERNS_FILE = "phantom_patterns.csv"
# pattern: (factor key of stance_curves' input, step, unit of one pattern)
FACTORS = {
    "speed": ("speed_m_per_s", 1.0, "per m/s (Froude-scaled speed)"),
    **{f"sig_{k}": (f"sig_{k}", 1.0, "per subject SD") for k in range(1, 5)},
    **{f"trial_{k}": (f"trial_{k}", 1.0, "per trial SD") for k in range(1, 4)},
    "age": ("age_years", 10.0, "per year over 30"),  # a 10-year step: one year is below float32 precision
    "female": ("sex", -1.0, "female vs male"),
    "impact": ("impact_bw", 1.0, "per BW of heel-strike transient"),
}
CLASS_UNIT = "affected side, severity 1"
VALUE_COLUMNS = [f"t{i}" for i in range(N_POINTS)]


class _MeanDraws:
    """A stand-in random generator whose every normal draw is its mean: the noise-free stance."""

    def normal(self, loc=0.0, scale=1.0, size=None):
        return np.full(size, loc, dtype=np.float64)


def _reference() -> dict:
    one = lambda v: np.array([v], dtype=float)  # noqa: E731
    f = {k: one(0.0) for k in ("sig_1", "sig_2", "sig_3", "sig_4", "trial_1", "trial_2", "trial_3",
                               "asymmetry", "severity", "affected", "contralateral", "impact_bw")}
    f.update(speed_m_per_s=one(SPEED_REFERENCE), height_m=one(1.75), stance_time_s=one(0.65), age_years=one(30.0),
             sex=one(1.0), foot_length_m=one(0.152 * 1.75), side_sign=one(1.0), class_label=np.array(["HC"]),
             deviations=np.zeros((1, len(CHANNELS), N_MODES)), warp=np.zeros((1, N_WARP)))
    return f


def _curve(f: dict) -> np.ndarray:
    return stance_curves(f, _MeanDraws())[0].astype(np.float64)


def planted_patterns() -> dict[str, np.ndarray]:
    """Pattern name → its time-domain effect per unit [n_channels, 101] (CHANNELS order)."""
    base = _reference()
    reference = _curve(base)
    out = {}
    for name, (key, step, _) in FACTORS.items():
        moved = {**base, key: base[key] + step}
        out[name] = (_curve(moved) - reference) / step
    for cls in CLASSES:
        ill = {**base, "class_label": np.array([cls]), "severity": np.ones(1), "affected": np.ones(1)}
        out[cls] = _curve(ill) - reference
    return out


def units() -> dict[str, str]:
    return {**{name: unit for name, (_, _, unit) in FACTORS.items()}, **{cls: CLASS_UNIT for cls in CLASSES}}


def patterns_csv() -> str:
    """The text of phantom_patterns.csv (deterministic: no random draws)."""
    unit = units()
    rows = [[name, unit[name], ch, *values] for name, pattern in planted_patterns().items()
            for ch, values in zip(CHANNELS, pattern)]
    table = pd.DataFrame(rows, columns=["pattern", "unit", "channel", *VALUE_COLUMNS])
    buf = io.StringIO()
    table.to_csv(buf, index=False, float_format="%.8g")
    return buf.getvalue()


def load_patterns(directory, channels=CHANNELS) -> dict[str, np.ndarray] | None:
    """Pattern name → [len(channels), 101] from `directory`/phantom_patterns.csv; None if the
    directory has none (not a phantom, or an older one)."""
    path = Path(directory) / PATTERNS_FILE
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
        out = {}
        for name, rows in table.groupby("pattern", sort=False):
            by_channel = rows.set_index("channel")[VALUE_COLUMNS]
            out[name] = by_channel.loc[list(channels)].to_numpy(dtype=np.float64)
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a planted-pattern table ({exc})") from None
    return out
