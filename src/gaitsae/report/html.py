"""Render analyses into one self-contained HTML report (figures embedded, no network)."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2
import numpy as np

from gaitsae import __version__
from gaitsae.analysis.compare import COLUMNS, comparison_rows, format_cell
from gaitsae.analysis.run import RunAnalysis
from gaitsae.fsio import write_text
from gaitsae.report.summary import NAMES, summary_sentences

CARDS_IN_REPORT = 4  # full top-stride figures per model; every feature is in the table

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("gaitsae.report", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def feature_rows(a: RunAnalysis) -> list[dict]:
    n = a.numbers
    act, imp, direc, meta = n["activations"], n["importance"], n["directions"], n["metadata"]
    rows = []
    for j, rate in enumerate(act["firing_rate"]):
        def r(col):
            v = meta[col]["pearson_r"][j]
            return "–" if v is None else f"{v:+.2f}"
        rows.append({"feature": j, "type": act["types"][j], "firing": f"{rate:.3f}",
                     "importance": f"{imp['importance'][j]:.4f}", "channel": direc["main_channel"][j],
                     "peak": direc["peak_percent_of_stance"][j], "speed": r("walking_speed_m_per_s"),
                     "age": r("age_years"), "height": r("height_cm"), "weight": r("body_weight_n")})
    return rows


def _probe_rows(a: RunAnalysis) -> list[dict]:
    rows = []
    for target, p in a.numbers["probes"].items():
        rows.append({"target": target, "metric": p["metric"], "n": p["n_stances"],
                     **{k: f"{p[k]:.3f}" for k in p if k.startswith(("sae_", "pca_"))}})
    return rows


def render_report(runs: list[RunAnalysis], out_path, title="gaitsae report") -> Path:
    synthetic = any(a.synthetic for a in runs)
    rows = comparison_rows(runs)
    context = {
        "title": title, "version": __version__, "synthetic": synthetic,
        "summary": summary_sentences(runs),
        "comparison_header": [h for _, h, _ in COLUMNS],
        "comparison": [[format_cell(k, row[k]) for k, _, _ in COLUMNS] for row in rows],
        "runs": [{
            "name": a.name, "label": NAMES.get(a.model, a.model), "model": a.model, "n": a.numbers,
            "metrics": a.metrics,
            "fig": {k: data_uri(v) for k, v in a.figures.items()},
            "cards": [(j, data_uri(png)) for j, png in list(a.cards.items())[:CARDS_IN_REPORT]],
            "features": feature_rows(a), "probes": _probe_rows(a),
            "truth": a.numbers.get("ground_truth"),
        } for a in runs],
        "isfinite": lambda v: v is not None and np.isfinite(v),
    }
    html = _env.get_template("report.html").render(**context)
    write_text(out_path, html)
    return Path(out_path)


def render_feature_card(a: RunAnalysis, feature: int, out_path) -> Path:
    """One feature's full card: its direction, top strides and numbers."""
    html = _env.get_template("feature.html").render(
        synthetic=a.synthetic, run=a.name, label=NAMES.get(a.model, a.model), feature=feature,
        card=data_uri(a.cards[feature]), directions=data_uri(a.figures["directions"]),
        row=feature_rows(a)[feature], version=__version__)
    write_text(out_path, html)
    return Path(out_path)
