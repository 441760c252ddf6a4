"""Render analyses into one self-contained HTML report (figures inline, no network).

Figures are inline SVG (text stays text, legible at the size shown). Every feature of every run
has a card (its numbers and its effect on the mean stance, drawn in the page from the curves
embedded as JSON), reached from its row in the feature table.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jinja2
import numpy as np
from markupsafe import Markup

from gaitsae import __version__
from gaitsae.report.advice import headlines, next_steps
from gaitsae.report.compare import COLUMNS, MAIN_GROUPS, NEGATIVE_R2, TIPS, comparison_rows, format_cell
from gaitsae.report.factors import best_feature, factor_key
from gaitsae.report.kinds import AXIS_FACTORS, CARRIES, kinds, names, scaffold_axes
from gaitsae.report.run import RunAnalysis
from gaitsae.channels import CHANNEL_UNITS
from gaitsae.analysis.activations import signature_label
from gaitsae.analysis.figures import CHANNEL_COLOURS
from gaitsae.fsio import write_text
from gaitsae.report.summary import NAMES, VERDICT_RULES, summary_sentences

CARDS_IN_REPORT = 2  # top-stance figures per run; every feature has a card with its effect

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("gaitsae.report", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def figure(value: str) -> Markup:
    """Inline SVG markup as is; a PNG data URI (see analysis.figures.png_uri) as an <img>."""
    if value.startswith("data:image/"):
        return Markup(f'<img src="{value}" alt="figure">')
    return Markup(value)


def q_text(q) -> str:
    """BH-adjusted p as a reader expects it: '< 0.001', never '0'."""
    if q is None or not np.isfinite(q):
        return "–"
    return "< 0.001" if q < 0.001 else f"{q:.3f}"


def _signed(values, j):
    v = values[j] if values else None
    return None if v is None else float(v)


def feature_rows(a: RunAnalysis) -> list[dict]:
    n = a.numbers
    act, imp, direc, meta = n["activations"], n["importance"], n["directions"], n["metadata"]
    # the largest change per channel, in its unit: what each of the card's panels shows
    largest = np.abs(a.effects).max(axis=-1) if a.effects is not None else None  # [n_latents, C]
    rows, kind, column = [], kinds(n), names(n)
    for j, rate in enumerate(act["firing_rate"]):
        r = {col: _signed(meta[col].get("pearson_r"), j) for col in
             ("walking_speed_m_per_s", "age_years", "height_cm", "body_weight_n") if col in meta}
        share = (act.get("between_subject_share") or [None] * len(act["firing_rate"]))[j]
        rows.append({
            "feature": j, "name": direc["names"][j], "kind": kind[j], "column": column[j], "firing": rate, "bimodality": act["bimodality"][j],
            "subject_share": share, "signature": signature_label(share), "importance": imp["importance"][j],
            "channel": direc["main_channel"][j], "peak": direc["peak_percent_of_stance"][j],
            "change": direc["max_change"][j], "unit": direc["max_change_unit"][j],
            "speed": r.get("walking_speed_m_per_s"), "age": r.get("age_years"), "height": r.get("height_cm"),
            "weight": r.get("body_weight_n"),
            "changes": [] if largest is None else [(ch, float(largest[j, c]), CHANNEL_UNITS[ch])
                                                   for c, ch in enumerate(a.channels)]})
    return rows


def probe_label(key: str) -> str:
    """'sae_top5' -> 'features, top 5 by |r|'; 'pca_first5' -> 'PCs 1–5'; 'pca_all' -> 'PCA, as many'."""
    source, _, rule = key.partition("_")
    if rule == "all":
        return "all features" if source == "sae" else "PCA, as many"
    if rule.startswith("first"):
        return f"PCs 1–{rule[5:]}" if rule[5:] != "1" else "PC 1"
    return f"{'features' if source == 'sae' else 'PCA'}, top {rule[3:]} by |r|"


def _probe_rows(a: RunAnalysis) -> list[dict]:
    return [{"target": target, **p} for target, p in a.numbers["probes"].items()]


def card_data(runs: list[RunAnalysis]) -> Markup:
    """JSON for the in-page feature cards: per run the mean stance, and every feature's effect as
    int8 steps of 1/127 of its largest change per channel (base64; a plot needs no more)."""
    data = {}
    for a in runs:
        if a.mean_curves is None:
            continue
        scale = np.abs(a.effects).max(axis=-1)  # [n_latents, C]
        steps = np.round(127 * a.effects / np.where(scale > 0, scale, 1)[..., None]).astype(np.int8)
        data[a.name] = {
            "channels": list(a.channels), "units": [CHANNEL_UNITS[c] for c in a.channels],
            "colours": [CHANNEL_COLOURS[c] for c in a.channels], "mean": np.round(a.mean_curves, 4).tolist(),
            "scale": (scale / 127).astype(np.float32).round(7).tolist(),
            "effect": base64.b64encode(steps.tobytes()).decode("ascii"), "shape": list(steps.shape),
        }
    return Markup(json.dumps(data, separators=(",", ":")).replace("</", "<\\/"))


def render_report(runs: list[RunAnalysis], out_path, title="gaitsae report") -> Path:
    synthetic = any(a.synthetic for a in runs)
    rows = comparison_rows(runs)
    headers = {k: h for k, h, _ in COLUMNS}
    main = [k for _, keys in MAIN_GROUPS for k in keys]
    rest = ["run"] + [k for k, _, _ in COLUMNS if k not in main]
    context = {
        "title": title, "version": __version__, "synthetic": synthetic,
        "headlines": headlines(runs), "next_steps": next_steps(runs),
        "summary": summary_sentences(runs), "verdict_rules": VERDICT_RULES,
        "comparison_groups": [(heading, len(keys)) for heading, keys in MAIN_GROUPS],
        "comparison_header": [(headers[k], TIPS[k]) for k in main],
        "comparison": [[format_cell(k, row[k]) for k in main] for row in rows],
        "comparison_more_header": [(headers[k], TIPS[k]) for k in rest],
        "comparison_more": [[format_cell(k, row[k]) for k in rest] for row in rows],
        "negative_r2": NEGATIVE_R2, "best": best_feature, "factor_key": factor_key,
        "axis_factors": AXIS_FACTORS, "carries": CARRIES,
        "runs": [{
            "name": a.name, "label": f"{a.name} · {NAMES.get(a.model, a.model)}", "model": a.model, "n": a.numbers,
            "metrics": a.metrics, "fig": {k: figure(v) for k, v in a.figures.items()},
            "cards": [(j, figure(v)) for j, v in list(a.cards.items())[:CARDS_IN_REPORT]],
            "features": feature_rows(a), "probes": _probe_rows(a),
            "probe_keys": [k for k in next(iter(a.numbers["probes"].values()), {}) if k.startswith(("sae_", "pca_"))],
            "truth": a.numbers.get("ground_truth"), "scaffold": scaffold_axes(a.numbers),
            "n_test": (a.metrics.get("n_stances") or {}).get("test"),
            "n_test_subjects": (a.metrics.get("n_subjects") or {}).get("test"),
        } for a in runs],
        "card_data": card_data(runs), "q_text": q_text, "probe_label": probe_label,
        "isfinite": lambda v: isinstance(v, (int, float)) and np.isfinite(v), "zip": zip,
    }
    html = _env.get_template("report.html").render(**context)
    write_text(out_path, html)
    return Path(out_path)


def render_feature_card(a: RunAnalysis, feature: int, out_path) -> Path:
    """One feature's full page: its numbers, its effect and its top stances."""
    html = _env.get_template("feature.html").render(
        synthetic=a.synthetic, run=a.name, label=NAMES.get(a.model, a.model), feature=feature,
        card=figure(a.cards[feature]), directions=figure(a.figures["directions"]),
        row=feature_rows(a)[feature], version=__version__, card_data=card_data([a]))
    write_text(out_path, html)
    return Path(out_path)
