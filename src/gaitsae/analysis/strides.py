"""Top-k activating stances of a feature: the original curves, their reconstructions, and
the feature's own contribution (activation × time-domain direction), per channel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitsae.analysis.figures import png, subplots


def top_stances(latents: np.ndarray, feature: int, k: int = 5) -> np.ndarray:
    order = np.argsort(-latents[:, feature], kind="stable")
    return order[:k][latents[order[:k], feature] > 0] if (latents[:, feature] > 0).any() else order[:0]


def _label(row) -> str:
    speed = row.get("walking_speed_m_per_s")
    speed = f"{speed:.2f} m/s" if pd.notna(speed) else "speed ?"
    return f"{row['subject']} {row['side']}, {speed}"


def stride_card(feature: int, latents, curves, reconstructions, directions, stances: pd.DataFrame,
                channels, k: int = 5) -> tuple[dict, bytes]:
    idx = top_stances(latents, feature, k)
    fig, axes = subplots(2, len(channels), width=2.3, height=1.7)
    t = np.arange(curves.shape[-1])
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for n, i in enumerate(idx):
        colour = colours[n % len(colours)]
        for c, ch in enumerate(channels):
            axes[0, c].plot(t, curves[i, c], color=colour, lw=1, label=_label(stances.iloc[i]) if c == 0 else None)
            axes[0, c].plot(t, reconstructions[i, c], color=colour, lw=1, ls="--")
            axes[1, c].plot(t, latents[i, feature] * directions[feature, c], color=colour, lw=1)
    for c, ch in enumerate(channels):
        axes[0, c].set_title(ch, fontsize=8)
        for r in (0, 1):
            axes[r, c].tick_params(labelsize=6)
    axes[0, 0].set_ylabel("curve (solid)\nreconstruction (dashed)", fontsize=7)
    axes[1, 0].set_ylabel(f"feature {feature}\ncontribution", fontsize=7)
    if len(idx):
        axes[0, 0].legend(fontsize=5, loc="upper right")
    rows = [{"stance": int(i), "subject": stances.iloc[i]["subject"], "side": stances.iloc[i]["side"],
             "walking_speed_m_per_s": None if pd.isna(stances.iloc[i]["walking_speed_m_per_s"])
             else float(stances.iloc[i]["walking_speed_m_per_s"]),
             "activation": float(latents[i, feature])} for i in idx]
    return {"feature": feature, "top": rows}, png(fig)
