"""What features look like: the encoder weight heatmap and each feature's decoder direction
mapped back to the time domain, per channel (not an encoder row: that is what the report
plotted, and for untied models it is not what the feature adds to a stance)."""

from __future__ import annotations

import numpy as np

from gaitsae.analysis.figures import png, subplots
from gaitsae.channels import CHANNEL_UNITS


def encoder_heatmap(encoder: np.ndarray, layout) -> bytes:
    """encoder [n_latents, n_features]; layout rows (channel, band, start, stop)."""
    fig, axes = subplots(1, 1, width=9, height=3.6)
    ax = axes[0, 0]
    lim = np.percentile(np.abs(encoder), 99) or 1.0
    ax.imshow(encoder, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    for channel, band, start, stop in layout:
        ax.axvline(start - 0.5, color="black" if band in ("cA4", "time") else "0.7", lw=0.8 if band in ("cA4", "time") else 0.3)
        if band in ("cA4", "time"):
            ax.text(start, -1.5, channel, fontsize=7)
    ax.set_xlabel("input coefficient (channel, then band cA4 … cD1)")
    ax.set_ylabel("feature")
    return png(fig)


def direction_grid(directions: np.ndarray, channels, features: list[int]) -> bytes:
    """Rows: features; columns: channels; each panel the time-domain direction."""
    fig, axes = subplots(len(features), len(channels), width=2.2, height=1.3)
    t = np.arange(directions.shape[-1])
    for r, j in enumerate(features):
        for c, ch in enumerate(channels):
            ax = axes[r, c]
            ax.plot(t, directions[j, c], color="tab:red", lw=1)
            ax.axhline(0, color="0.8", lw=0.5)
            ax.tick_params(labelsize=6)
            if r == 0:
                ax.set_title(f"{ch} ({CHANNEL_UNITS[ch]})", fontsize=8)
            if c == 0:
                ax.set_ylabel(f"feature {j}", fontsize=8)
    return png(fig)


def analyze_directions(directions, encoder, layout, channels, show: list[int]) -> tuple[dict, dict]:
    peak_time = np.abs(directions).argmax(axis=-1)  # [n_latents, n_channels], % of stance
    main_channel = np.abs(directions).max(axis=-1).argmax(axis=1)
    numbers = {
        "main_channel": [channels[c] for c in main_channel],
        "peak_percent_of_stance": [int(peak_time[j, c]) for j, c in enumerate(main_channel)],
    }
    return numbers, {"encoder_heatmap": encoder_heatmap(encoder, layout),
                     "directions": direction_grid(directions, channels, show)}
