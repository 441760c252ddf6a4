"""sweep.html: one self-contained page (figure embedded, no network): the fvu–L0 frontier per model
against PCA and dictionary learning + OMP, the points, and the stability across seeds."""

from __future__ import annotations

import math

import jinja2
import numpy as np
import pandas as pd

from gaitsae import __version__

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 12px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.warn { background: #fff3cd; border: 1px solid #e0c36b; padding: 0.5em 1em; }
.err { color: #a00; }
</style></head><body>
<h1>{{ title }}</h1>
{% if synthetic %}<p class="warn">SYNTHETIC phantom data: these numbers describe the phantom, not people.</p>{% endif %}
<p>{{ n_done }} of {{ n_points }} points finished{% if n_failed %}, <span class="err">{{ n_failed }} failed</span>{% endif %}.
Grid: {{ grid }}. gaitsae {{ version }}.</p>
<h2>Reconstruction against sparsity</h2>
<p>Time-domain FVU (mean over channels of 1 − R², test split) against the measured L0 of each point;
lines join each model's best points (the frontier). PCA and dictionary learning + OMP
({{ n_atoms }} atoms) are fitted on each point's own data, split and feature transform (once per seed: the seed draws
the subject split), at the L0 values the points of that split reached; the figure shows their mean over seeds, the
table each seed.</p>
{% if figure %}<img src="{{ figure }}" alt="fvu against L0">{% else %}<p>No finished point yet.</p>{% endif %}
{% if baselines %}<table><tr>{% for h in baselines[0] %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in baselines[1:] %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
<h2>Stability across seeds</h2>
{% if stability %}<p>Alive features (firing on some stance) of runs that differ only in their seed, matched by the Hungarian
algorithm on their feature cosine (time-domain decoder directions, channels divided by their between-stance SD): share of
alive features matched at cosine ≥ 0.9 and ≥ 0.7 (mean over pairs), the same share for the runs' untrained starts (– when
not saved), activation
correlation of the pairs matched at ≥ 0.9 (median), mean feature stability (fraction of other seeds where a feature reappears at ≥ 0.9).</p>
<table><tr>{% for h in stability[0] %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in stability[1:] %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
{% else %}<p>No group of finished points differing only in training.seed.</p>{% endif %}
<h2>Points</h2>
<table><tr>{% for h in points[0] %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in points[1:] %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
</body></html>
"""

_template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(TEMPLATE)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def _rows(df: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    columns = [c for c in columns if c in df.columns]
    return [columns] + [[_cell(v) for v in row] for row in df[columns].itertuples(index=False)] if len(df) else []


def frontier(points: pd.DataFrame) -> pd.DataFrame:
    """Points no other point of the same model beats at equal or lower L0 (ordered by L0)."""
    keep = []
    for _, g in points.sort_values(["l0", "fvu_time"]).groupby("model.name", sort=False):
        best = np.inf
        for i, row in g.iterrows():
            if row["fvu_time"] < best:
                keep.append(i)
                best = row["fvu_time"]
    return points.loc[keep]


def figure(df: pd.DataFrame, base: pd.DataFrame) -> bytes | None:
    from gaitsae.analysis.figures import png, subplots

    done = df[df["status"] == "done"]
    if done.empty:
        return None
    fig, axes = subplots(1, 1, width=6, height=4)
    ax = axes[0, 0]
    front = frontier(done)
    for i, (model, g) in enumerate(done.groupby("model.name")):
        color = f"C{i}"
        ax.scatter(g["l0"], g["fvu_time"], color=color, s=14, alpha=0.6)
        f = front[front["model.name"] == model]
        ax.plot(f["l0"], f["fvu_time"], color=color, marker="o", label=model)
    for j, (method, g) in enumerate(base.groupby("method")):
        g = g.groupby("k", as_index=False)["fvu_time"].mean()  # mean over the seeds (splits) that reached k
        ax.plot(g["k"], g["fvu_time"], color="grey", linestyle=("--", ":")[j % 2], marker="s", markersize=4,
                label=method)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("L0 (active latents / non-zeros per stance)")
    ax.set_ylabel("time-domain FVU (test)")
    ax.legend(fontsize=8)
    return png(fig)


def render(df: pd.DataFrame, base: pd.DataFrame, stab: pd.DataFrame, grid: dict, synthetic: bool) -> str:
    from gaitsae.analysis.figures import png_uri

    png = figure(df, base)
    grid_cols = [c for c in grid if c in df.columns]
    point_cols = ["point", "status", *grid_cols, "fvu_time", "fvu", "l0", "dead_fraction", "epochs_run",
                  "train_seconds", "stability.share_0.9_mean", "error"]
    return _template.render(
        title="gaitsae sweep", version=__version__, synthetic=synthetic,
        n_points=len(df), n_done=int((df["status"] == "done").sum()), n_failed=int((df["status"] == "failed").sum()),
        grid=", ".join(f"{k} = {v}" for k, v in grid.items()) or "(none)",
        n_atoms=int(base.loc[base["method"] == "dictionary+omp", "n_atoms"].max()) if len(base) else "–",
        figure=png_uri(png) if png else None,
        baselines=_rows(base, ["method", "seed", "k", "n_atoms", "fvu_time", "fvu_features"]),
        stability=_rows(stab, ["group", "model", "n_seeds", "share_0.9_mean", "share_0.9_min", "share_0.9_max",
                               "untrained_share_0.9_mean", "share_0.7_mean", "activation_r_median_0.9",
                               "feature_stability_mean"]),
        points=_rows(df, point_cols))
