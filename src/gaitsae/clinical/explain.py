"""Per class, the features that most distinguish it from healthy walking, and what each does
to the curve on the affected and on the other side.

Unit: one session side (the mean activation over that side's stances in a session). Healthy
rows: both sides of every reference session. Affected rows: the affected side of the class's
sessions (both sides when AFFECTED_SIDE is "both"); other rows: the opposite side of
unilaterally affected sessions. Effect size: Hedges' g (class − healthy, pooled SD, small-sample
corrected), with a 95 % bootstrap interval resampling subjects within each group. Because
patients and controls differ in more than the impairment (age, speed, body), features can
also be ranked within patients: `g_within` is the paired effect (Cohen's d_z) of affected −
other side over one-sided sessions, which those differences cancel out of.

Which pattern: only sparse features explain (the model's feature_kinds): a scaffold axis is
normal variation (speed, body size, style), coded on every stance, so a class that walks slower
shifts it without it being the class's pattern. The deviation index itself (deviation.py) keeps
every feature: how far from healthy includes everything the model reconstructs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitsae.channels import CHANNEL_UNITS
from gaitsae.models import SPARSE

N_TOP = 5
# Landmark windows (% of stance) used to read a curve change in words.
LANDMARKS = {"loading_peak_F_V": ("F_V", 15, 28), "push_off_peak_F_V": ("F_V", 72, 86),
             "propulsion_F_AP": ("F_AP", 80, 95)}


def hedges_g(a: np.ndarray, b: np.ndarray, wa=None, wb=None) -> np.ndarray:
    """Per column g of a [n_a, L] vs b [n_b, L] (optionally with row weights)."""
    wa = np.ones(len(a)) if wa is None else wa
    wb = np.ones(len(b)) if wb is None else wb
    na, nb = wa.sum(), wb.sum()
    ma, mb = wa @ a / na, wb @ b / nb
    va = wa @ np.square(a - ma) / max(na - 1, 1)
    vb = wb @ np.square(b - mb) / max(nb - 1, 1)
    sp = np.sqrt(((na - 1) * va + (nb - 1) * vb) / max(na + nb - 2, 1))
    j = 1 - 3 / (4 * (na + nb) - 9)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sp > 0, j * (ma - mb) / sp, 0.0)


def _subject_weights(groups, rng):
    uniq, inv = np.unique(groups, return_inverse=True)
    counts = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))
    return counts[inv].astype(float)


def effect(a, ga, b, gb, n_boot: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """g, low, high per feature; bootstrap resamples subjects (ga, gb) within each group."""
    g = hedges_g(a, b)
    rng = np.random.default_rng(seed)
    draws = np.array([hedges_g(a, b, _subject_weights(ga, rng), _subject_weights(gb, rng)) for _ in range(n_boot)])
    lo, hi = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return g, lo, hi


def side_rows(sessions: pd.DataFrame, cls: str) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over session-side rows: the affected and the other side of class `cls`."""
    of_class = sessions["class_label"].eq(cls)
    affected = sessions["affected_side"]
    on = of_class & (affected.eq(sessions["side"]) | affected.eq("both"))
    off = of_class & affected.isin(["left", "right"]) & ~affected.eq(sessions["side"])
    return on.to_numpy(), off.to_numpy()


def within_session(sessions: pd.DataFrame, activations: np.ndarray, on, off) -> np.ndarray:
    """Paired d_z per feature of (affected − other side) over sessions that have both rows."""
    key = sessions["session"].to_numpy()
    a = pd.DataFrame(activations[on], index=key[on])
    b = pd.DataFrame(activations[off], index=key[off])
    common = a.index.intersection(b.index)
    if len(common) < 2:
        return np.full(activations.shape[1], np.nan)
    diff = a.loc[common].to_numpy() - b.loc[common].to_numpy()
    sd = diff.std(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, diff.mean(axis=0) / sd, 0.0)


def distinguishing_features(sessions: pd.DataFrame, activations: np.ndarray, healthy: np.ndarray,
                            classes, n_top: int = N_TOP, n_boot: int = 200, seed: int = 0,
                            rank_by: str = "g_affected", explains=None) -> pd.DataFrame:
    """Rows: class, rank, feature, g/low/high on the affected side, g on the other side, the
    paired within-session g, and the mean activation change (class − healthy) on each side.
    rank_by: "g_affected" (against healthy walking) or "g_within" (affected vs other side);
    explains: bool [n_features], the features that may be ranked (default all; the sparse ones,
    see explaining_features)."""
    healthy = np.asarray(healthy, dtype=bool)
    eligible = np.flatnonzero(np.ones(activations.shape[1], bool) if explains is None else np.asarray(explains, bool))
    groups = sessions["subject"].to_numpy()
    h = activations[healthy]
    rows = []
    for cls in classes:
        on, off = side_rows(sessions, cls)
        if on.sum() < 2 or healthy.sum() < 2:
            continue
        g, lo, hi = effect(activations[on], groups[on], h, groups[healthy], n_boot, seed)
        g_off = hedges_g(activations[off], h) if off.sum() >= 2 else np.full(len(g), np.nan)
        g_in = within_session(sessions, activations, on, off)
        key = g if rank_by == "g_affected" else g_in
        d_on = activations[on].mean(0) - h.mean(0)
        d_off = activations[off].mean(0) - h.mean(0) if off.any() else np.full(len(g), np.nan)
        order = eligible[np.argsort(-np.abs(np.nan_to_num(key[eligible])), kind="stable")]
        for rank, j in enumerate(order[:n_top]):
            rows.append({"class_label": cls, "ranked_by": rank_by, "rank": rank + 1, "feature": int(j),
                         "g_affected": g[j], "g_low": lo[j], "g_high": hi[j], "g_other": g_off[j],
                         "g_within": g_in[j], "delta_affected": d_on[j],
                         "delta_other": d_off[j], "n_affected": int(on.sum()), "n_other": int(off.sum()),
                         "n_healthy": int(healthy.sum())})
    return pd.DataFrame(rows)


def explaining_features(kinds) -> np.ndarray:
    """bool [n_features]: the features that name a deviation's pattern, the sparse ones."""
    return np.asarray(kinds) == SPARSE


def landmark_changes(direction: np.ndarray, delta: float, channels) -> dict:
    """Mean change of the curve (delta × time-domain direction [n_channels, 101]) in each
    landmark window, in the channel's unit (NaN if the channel is not modelled)."""
    out = {}
    for name, (ch, start, stop) in LANDMARKS.items():
        out[name] = float(delta * direction[list(channels).index(ch), start:stop + 1].mean()) if ch in channels else np.nan
    return out


def class_figure(top: pd.DataFrame, directions, band_mean, band_sd, channels, title: str) -> bytes:
    """Rows: the class's top features; columns: affected side, other side. Each panel: the
    healthy norm band (mean ± SD) of the feature's main channel, and the healthy mean plus the
    class's mean activation change times the feature's direction."""
    from gaitsae.analysis.figures import png, subplots

    fig, axes = subplots(len(top), 2, width=3.2, height=1.9)
    t = np.arange(band_mean.shape[-1])
    for r, row in enumerate(top.itertuples()):
        d = directions[row.feature]
        c = int(np.abs(d).max(axis=-1).argmax())
        for k, (delta, side) in enumerate(((row.delta_affected, "affected"), (row.delta_other, "other side"))):
            ax = axes[r, k]
            ax.fill_between(t, band_mean[c] - band_sd[c], band_mean[c] + band_sd[c], color="0.85", lw=0)
            ax.plot(t, band_mean[c], color="black", lw=0.8)
            if np.isfinite(delta):
                ax.plot(t, band_mean[c] + delta * d[c], color="tab:red" if k == 0 else "tab:blue", lw=1.2)
            g = row.g_affected if k == 0 else row.g_other
            ax.set_title(f"feature {row.feature}, {side}: g {g:+.2f}", fontsize=8)
            ax.set_ylabel(f"{channels[c]} ({CHANNEL_UNITS[channels[c]]})", fontsize=7)
            ax.tick_params(labelsize=6)
    axes[-1, 0].set_xlabel("% of stance", fontsize=7)
    axes[-1, 1].set_xlabel("% of stance", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return png(fig)
