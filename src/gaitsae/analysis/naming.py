"""An automatic short name per feature, from its largest physical effects on the mean stance.

A feature's effect is what a typical activation adds to a stance (analysis.directions:
feature_effects at typical_activation), in the channel's unit. The name lists the one or two
largest changes, each read in a gait phase of its channel, e.g.

    "F_V first peak −0.04 BW, push-off −0.02 BW"

Rule (stated once, used by the report, the explorer, encode's column metadata and the clinical
explanations):
- every channel's effect is split into the gait phases of PHASES (% of stance); in each phase the
  change is its signed value where |change| is largest;
- changes are ranked by |change| relative to the channel's stance-to-stance SD (so force and COP
  compare fairly, as for the main channel), and the first one is named, plus the next one that is
  not the same bump (same channel, neighbouring phase, same sign) when it is at least
  SECOND_SHARE of the first;
- a feature that never fires is "silent".
The name depends only on the effect's shape and size, so features with similar effects get
similar (often equal) names; the number keeps two significant digits. From a run's directions,
latents and curves: analysis.directions.name_features.
"""

from __future__ import annotations

import numpy as np

from gaitsae.channels import CHANNEL_UNITS

PHASES = (("loading", 0, 12), ("first peak", 12, 30), ("midstance", 30, 60), ("push-off", 60, 85),
          ("toe-off", 85, 101))  # name, first and past-last % of stance
SECOND_SHARE = 0.5
SILENT = "silent"


def _value(v: float) -> str:
    """Two significant digits with a true minus sign: −0.041, +0.0032."""
    return f"{'−' if v < 0 else '+'}{float(f'{abs(v):.2g}'):g}"


def phase_changes(effect: np.ndarray) -> np.ndarray:
    """[C, n_phases]: per channel and phase, the signed change where |change| is largest.
    effect [C, 101]."""
    out = np.zeros((effect.shape[0], len(PHASES)))
    for p, (_, start, stop) in enumerate(PHASES):
        part = effect[:, start:stop]
        at = np.abs(part).argmax(axis=1)
        out[:, p] = part[np.arange(len(part)), at]
    return out


def _same_bump(a, b, changes) -> bool:
    """Two (channel, phase) changes that are one bump crossing a phase border."""
    return a[0] == b[0] and abs(a[1] - b[1]) == 1 and np.sign(changes[a]) == np.sign(changes[b])


def feature_name(effect: np.ndarray, spread: np.ndarray, channels) -> str:
    """The name of one feature: effect [C, 101] in physical units, spread [C] (between-stance SD)."""
    changes = phase_changes(effect)
    size = np.abs(changes) / np.where(spread > 0, spread, 1)[:, None]
    if not np.any(size > 0):
        return SILENT
    order = [np.unravel_index(i, size.shape) for i in np.argsort(-size, axis=None, kind="stable")]
    first = order[0]
    second = next((o for o in order[1:] if not _same_bump(o, first, changes)), None)
    picked = [first] + ([second] if second is not None and size[second] >= SECOND_SHARE * size[first] else [])
    parts, last = [], None
    for c, p in picked:
        ch = channels[c]
        text = f"{PHASES[p][0]} {_value(changes[c, p])} {CHANNEL_UNITS[ch]}"
        parts.append(text if ch == last else f"{ch} {text}")
        last = ch
    return ", ".join(parts)


def feature_names(effects: np.ndarray, spread: np.ndarray, channels) -> list[str]:
    """Names of all features: effects [n_latents, C, 101], spread [C]."""
    return [feature_name(e, spread, channels) for e in effects]

