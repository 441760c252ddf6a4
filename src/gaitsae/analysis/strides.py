"""Top activating stances of a feature, at most PER_SUBJECT per subject (as Neuronpedia does: a
dozen stances of one person would show that person, not the feature): the original curves, their reconstructions, the population mean,
and the feature's own contribution (activation × time-domain direction), per channel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitsae.analysis.figures import subplots, svg, stance_axis
from gaitsae.channels import CHANNEL_UNITS

PER_SUBJECT = 2  # top stances per subject, wherever top stances are shown (report and explorer)
COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]


def top_stances(latents: np.ndarray, feature: int, subjects: np.ndarray, k: int = 6,
                per_subject: int = PER_SUBJECT) -> np.ndarray:
    """Indices of the k stances with the largest activation (strongest first, ties by index), at
    most per_subject of each subject."""
    column = latents[:, feature]
    order = np.argsort(-column, kind="stable")
    order = order[column[order] > 0]
    rank = pd.Series(subjects[order]).groupby(subjects[order]).cumcount().to_numpy()  # 0 for a subject's strongest
    return order[rank < per_subject][:k]


def _label(row) -> str:
    speed = row.get("walking_speed_m_per_s")
    speed = f"{speed:.2f} m/s" if pd.notna(speed) else "speed n/a"
    cls = row.get("class")
    cls = f", {cls}" if isinstance(cls, str) and cls else ""
    return f"subject {row['subject']}{cls}, {row['side']}, {speed}"


def stride_card(feature: int, latents, curves, reconstruct, directions, stances: pd.DataFrame,
                channels, k: int = 6, mean_curves=None) -> tuple[dict, str]:
    """reconstruct: latents [m, n_latents] → reconstructed curves [m, C, 101] (only the drawn
    stances are reconstructed)."""
    idx = top_stances(latents, feature, stances["subject"].to_numpy(), k)
    reconstructions = reconstruct(latents[idx])
    mean_curves = curves.mean(axis=0) if mean_curves is None else mean_curves
    fig, axes = subplots(2, len(channels), width=2.3, height=1.8, sharex=True)
    t = np.arange(curves.shape[-1])
    for c in range(len(channels)):
        axes[0, c].plot(t, mean_curves[c], color="0.55", lw=2.5, alpha=0.6, label="population mean" if c == 0 else None)
    for n, i in enumerate(idx):
        colour = COLOURS[n % len(COLOURS)]
        for c in range(len(channels)):
            axes[0, c].plot(t, curves[i, c], color=colour, lw=1, label=_label(stances.iloc[i]) if c == 0 else None)
            axes[0, c].plot(t, reconstructions[n, c], color=colour, lw=1, ls="--")
            axes[1, c].plot(t, latents[i, feature] * directions[feature, c], color=colour, lw=1)
    for c, ch in enumerate(channels):
        axes[0, c].set_title(f"{ch} ({CHANNEL_UNITS[ch]})")
        axes[1, c].axhline(0, color="0.8", lw=0.6)
        stance_axis(axes[0, c], label=False)
        stance_axis(axes[1, c])
    axes[0, 0].set_ylabel("curve (solid)\nreconstruction (dashed)")
    axes[1, 0].set_ylabel(f"feature {feature}\ncontribution")
    if len(idx):
        fig.legend(loc="outside lower center", ncol=3, frameon=False)
    rows = [{"stance": int(i), "subject": stances.iloc[i]["subject"], "side": stances.iloc[i]["side"],
             "class": stances.iloc[i]["class"] if "class" in stances else None,
             "walking_speed_m_per_s": None if pd.isna(stances.iloc[i]["walking_speed_m_per_s"])
             else float(stances.iloc[i]["walking_speed_m_per_s"]),
             "activation": float(latents[i, feature])} for i in idx]
    return {"feature": feature, "top": rows}, svg(fig)
