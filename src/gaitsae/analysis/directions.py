"""What features look like: the encoder weight heatmap, and each feature's effect on a real
curve: the mean stance, and the mean stance plus a typical activation times the feature's
decoder direction mapped back to the time domain (not an encoder row: that is what the report
plotted, and for untied models it is not what the feature adds to a stance).

Typical activation of a feature: the median |h| over the stances where it is active. Its main
channel is the one where that change is largest relative to the channel's own spread (the
stance-to-stance SD around the mean curve), so force and COP channels compare fairly.
"""

from __future__ import annotations

import numpy as np

from gaitsae.analysis.figures import CHANNEL_COLOURS, subplots, svg, stance_axis
from gaitsae.channels import CHANNEL_UNITS
from gaitsae.analysis.naming import feature_names
from gaitsae.features.cosine import between_stance_sd


def typical_activation(latents: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """[n_latents]: median |h| over the stances where each latent is active (0 if never)."""
    magnitude = np.abs(latents)
    active = magnitude > threshold
    return np.array([np.median(magnitude[active[:, j], j]) if active[:, j].any() else 0.0
                     for j in range(latents.shape[1])])


def feature_effects(directions: np.ndarray, typical: np.ndarray) -> np.ndarray:
    """[n_latents, n_channels, 101]: what a typical activation adds to a stance, in physical units."""
    return directions * typical[:, None, None]


def name_features(directions: np.ndarray, latents: np.ndarray, curves: np.ndarray, channels,
                  threshold: float = 0.0) -> list[str]:
    """Every feature's name (analysis.naming) from a run's time-domain directions [n_latents, C, 101],
    its latents [n, n_latents] and the curves [n, C, 101] they encode: the effect at the typical
    activation, ranked relative to the curves' stance-to-stance SD. The one entry point for the
    explorer, encode and the clinical explanations (the report names them in analyze_directions)."""
    effects = feature_effects(directions, typical_activation(latents, threshold))
    return feature_names(effects, between_stance_sd(curves), channels)


def encoder_heatmap(encoder: np.ndarray, layout) -> str:
    """encoder [n_latents, n_features]; layout rows (channel, band, start, stop)."""
    fig, axes = subplots(1, 1, width=10, height=3.8)
    ax = axes[0, 0]
    lim = np.percentile(np.abs(encoder), 99) or 1.0
    image = ax.imshow(encoder, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="none")
    for channel, band, start, stop in layout:
        first = band in ("cA4", "time")
        ax.axvline(start - 0.5, color="black" if first else "0.7", lw=0.8 if first else 0.3)
        if first:
            ax.text(start + 1, -1.2, channel, fontsize=10, va="bottom")
    ax.set_xlabel("input coefficient (per channel: wavelet bands cA4, cD4 … cD1)")
    ax.set_ylabel("feature")
    fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    return svg(fig)


def effect_grid(mean_curves: np.ndarray, effects: np.ndarray, channels, features: list[int],
                on_mean: bool = True) -> str:
    """Rows: features; columns: channels; one y-scale per channel. on_mean: grey the mean stance,
    colour the mean stance plus the feature at its typical activation; else the change alone
    (the shapes too small to see on the mean stance)."""
    fig, axes = subplots(len(features), len(channels), width=2.2, height=1.45 if on_mean else 1.3,
                         sharey="col", sharex=True)
    t = np.arange(mean_curves.shape[-1])
    for r, j in enumerate(features):
        for c, ch in enumerate(channels):
            ax = axes[r, c]
            if on_mean:
                ax.plot(t, mean_curves[c], color="0.6", lw=1.2)
            else:
                ax.axhline(0, color="0.8", lw=0.6)
            ax.plot(t, effects[j, c] + (mean_curves[c] if on_mean else 0), color=CHANNEL_COLOURS.get(ch, "tab:blue"),
                    lw=1.2)
            stance_axis(ax, label=r == len(features) - 1)
            if r == 0:
                ax.set_title(f"{'' if on_mean else 'change in '}{ch} ({CHANNEL_UNITS[ch]})")
            if c == 0:
                ax.set_ylabel(f"feature {j}")
    return svg(fig)


def analyze_directions(directions, encoder, layout, channels, show: list[int], latents, curves,
                       threshold: float = 0.0) -> tuple[dict, dict]:
    """directions [n_latents, C, 101] in the time domain; curves [n, C, 101] of the analysed stances."""
    mean_curves = curves.mean(axis=0)
    spread = between_stance_sd(curves)  # [C]
    typical = typical_activation(latents, threshold)
    effects = feature_effects(directions, typical)
    size = np.abs(effects).max(axis=-1) / spread  # [n_latents, C]
    main_channel = size.argmax(axis=1)
    peak_time = np.abs(effects).argmax(axis=-1)
    numbers = {
        "typical_activation": typical.round(6).tolist(),
        "main_channel": [channels[c] for c in main_channel],
        "peak_percent_of_stance": [int(peak_time[j, c]) for j, c in enumerate(main_channel)],
        "max_change": [float(np.abs(effects[j, c]).max()) for j, c in enumerate(main_channel)],
        "max_change_unit": [CHANNEL_UNITS[channels[c]] for c in main_channel],
        "relative_change": [float(size[j, c]) for j, c in enumerate(main_channel)],
        "names": feature_names(effects, spread, channels),
        "rule": "typical activation = median |h| where active; main channel = largest change relative to the "
                "channel's stance-to-stance SD",
    }
    figures = {"encoder_heatmap": encoder_heatmap(encoder, layout),
               "directions": effect_grid(mean_curves, effects, channels, show),
               "changes": effect_grid(mean_curves, effects, channels, show, on_mean=False)}
    return numbers, figures, mean_curves, effects
