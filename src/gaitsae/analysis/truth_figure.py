"""truth.png and the report's planted-pattern numbers: per class pattern, each method's
best-tracking feature, its direction against the planted pattern and its code against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gaitsae.analysis.truth import RULE, Recovery
from gaitsae.data.phantom.curves import CLASSES


def figure(recoveries: list[Recovery], patterns: dict[str, np.ndarray], channel_sd, channels):
    """Two rows per class pattern, one column per method. Top: the pattern (black) and the
    method's best-tracking feature (scaled to it by least squares in the channel-scaled space, so
    only its shape counts), channels side by side, in units of their between-stance SD. Bottom:
    that feature's code on the scored stances against the pattern's true amount, with its r."""
    from gaitsae.analysis.figures import subplots

    shown = [c for c in CLASSES if c in patterns]
    fig, axes = subplots(2 * len(shown), len(recoveries), width=2.4, height=1.5)
    scale = np.asarray(channel_sd, dtype=np.float64)[:, None]
    n_points = next(iter(patterns.values())).shape[-1]
    x = np.arange(len(channels) * n_points)
    for r, name in enumerate(shown):
        p = (patterns[name] / scale).ravel()
        for c, rec in enumerate(recoveries):
            top, bottom = axes[2 * r, c], axes[2 * r + 1, c]
            row = rec.table.set_index("pattern").loc[name]
            top.plot(x, p, color="black", lw=1.2)
            for b in range(1, len(channels)):
                top.axvline(b * n_points, color="0.8", lw=0.5)
            if pd.isna(row["code_feature"]) or rec.codes is None:
                top.set_title(f"{rec.method}: –")
                bottom.set_axis_off()
                continue
            codes, truths, kept = rec.codes
            j = int(np.flatnonzero(kept == int(row["code_feature"]))[0])
            u = (rec.directions[j] / scale).ravel()
            top.plot(x, u * (u @ p) / max(u @ u, 1e-300), color="tab:red", lw=1.0)
            top.set_title(f"{rec.method}-{rec.n_components}\n|cos| {row['code_cos']:.2f}")
            top.set_xticks([])
            y = truths[name]
            keep = np.isfinite(y)
            bottom.scatter(y[keep], codes[keep, j], s=2, alpha=0.4, color="tab:blue", rasterized=True)
            bottom.set_title(f"|r| {row['code_corr']:.2f}" + (" found" if row["found"] else ""))
        axes[2 * r, 0].set_ylabel(f"{name}\ndirection (SD)")
        axes[2 * r + 1, 0].set_ylabel(f"{name}: code\nvs true amount")
    return fig


def analyze_planted(est, ds, inputs, latents, patterns, truth, seed: int = 0) -> tuple[dict, str]:
    """The run report's planted-pattern numbers (the run against PCA with as many components as it
    has distinct alive features) and figure (SVG)."""
    from gaitsae.analysis.figures import svg
    from gaitsae.analysis.truth_runs import Scorer, split_masks

    split = split_masks(est, ds.stances)
    scorer = Scorer(seed)
    scorer.prepare(est, ds, inputs, truth, split, patterns)
    model = scorer.model(est, latents)
    pca = scorer.baseline("pca", max(len(model.directions), 1), 1)
    numbers = {"rule": RULE, "scored_on": "test subjects" if split.has_split else "all stances (no split)",
               "methods": {name: {"n_components": len(r.directions), "mean_max_cosine": r.mean_max_cosine,
                                  "mcc": r.mcc if np.isfinite(r.mcc) else None, "found_classes": r.found_classes,
                                  "rows": r.table.astype(object).where(r.table.notna(), None).to_dict("records")}
                           for name, r in (("model", model), ("pca", pca))}}
    return numbers, svg(figure([model, pca], patterns, scorer.channel_sd, ds.channels))
