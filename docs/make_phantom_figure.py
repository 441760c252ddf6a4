"""Draw docs/phantom_curves.png: the phantom's mean ± sd per channel with published ranges.

    python docs/make_phantom_figure.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaitsae.channels import CHANNEL_DESCRIPTIONS, CHANNEL_UNITS, CHANNELS
from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom

# Published healthy ranges (see issue text / docs/phantom.md): (x range in % stance, y range).
RANGES = {
    "F_V": [((20, 25), (1.05, 1.2), "peak 1"), ((75, 80), (1.05, 1.2), "peak 2"), ((40, 60), (0.65, 0.8), "trough")],
    "F_AP": [((15, 20), (-0.25, -0.15), "braking"), ((80, 85), (0.15, 0.25), "propulsion")],
    "F_ML": [((10, 90), (0.03, 0.08), "|ML| max")],
    "COP_AP": [((95, 100), (0.2, 0.3), "travel")],
    "COP_ML": [((0, 100), (-0.01, 0.01), "±1 cm")],
}


def main(out=Path(__file__).with_name("phantom_curves.png")) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_phantom(tmp, n_subjects=120, seed=0, with_patients=True, n_patients=120, progress=False)
        ds = load_dataset(tmp, cache=False)
        import pandas as pd
        truth = pd.read_csv(Path(tmp) / "gaitrec" / "phantom_truth.csv")
    healthy = ds.stances["dataset"].eq("gutenberg").to_numpy()
    gaitrec = ~healthy
    affected = np.zeros(len(ds), bool)
    affected[np.flatnonzero(gaitrec)] = truth["affected"].to_numpy() == 1
    examples = np.flatnonzero(healthy)[:: max(1, healthy.sum() // 5)][:5]  # single stances: the fine detail
    t = np.arange(101)
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.6))
    for ax, ch in zip(axes, CHANNELS):
        c = CHANNELS.index(ch)
        ax.plot(t, ds.curves[examples, c].T, color="grey", lw=0.6, alpha=0.8)
        for mask, colour, label in ((healthy, "tab:blue", "healthy (Gutenberg-style)"),
                                    (affected, "tab:red", "patients, affected side")):
            y = ds.curves[mask, c]
            m, s = y.mean(0), y.std(0)
            ax.plot(t, m, color=colour, label=label)
            ax.fill_between(t, m - s, m + s, color=colour, alpha=0.2)
        for (x0, x1), (y0, y1), name in RANGES[ch]:
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="black", ls="--", lw=1))
            ax.text(x0, y1, name, fontsize=7, va="bottom")
        ax.set_title(f"{ch}: {CHANNEL_DESCRIPTIONS[ch]}", fontsize=9)
        ax.set_xlabel("% stance")
        ax.set_ylabel(CHANNEL_UNITS[ch])
    axes[0].legend(fontsize=7, loc="lower center")
    fig.suptitle("SYNTHETIC phantom data: mean ± sd per channel, grey: single healthy stances; dashed boxes = published healthy ranges", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
