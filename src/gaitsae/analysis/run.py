"""Analyse one run: gather its arrays once, call every analysis, write analysis.json.

All stances of the run's data are described (the analyses are descriptive; the probes
cross-validate by subject); the reconstruction metrics in metrics.json are on the test split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from gaitsae.analysis.activations import analyze_activations
from gaitsae.analysis.directions import analyze_directions
from gaitsae.analysis.ground_truth import analyze_ground_truth, load_truth
from gaitsae.analysis.importance import analyze_importance
from gaitsae.analysis.latent_space import clusters, tsne_figure
from gaitsae.analysis.metadata import analyze_metadata
from gaitsae.analysis.probing import analyze_probes
from gaitsae.analysis.strides import stride_card
from gaitsae.data import load_dataset
from gaitsae.estimator import GaitSAE
from gaitsae.fsio import write_json

N_SHOWN = 6  # features with full figures in the report


@dataclass
class RunAnalysis:
    name: str
    run_dir: str
    model: str
    synthetic: bool
    metrics: dict
    numbers: dict
    figures: dict[str, str] = field(default_factory=dict)  # SVG markup
    cards: dict[int, str] = field(default_factory=dict)  # SVG markup of the shown features' top stances
    channels: tuple[str, ...] = ()
    mean_curves: np.ndarray | None = None  # [C, 101] of the analysed stances
    effects: np.ndarray | None = None  # [n_latents, C, 101]: each feature at its typical activation


def analyze_run(run_dir, data=None, features=None, k_strides: int = 5, seed: int = 0,
                progress: bool = True) -> RunAnalysis:
    """data: a GaitDataset or a directory (default: the run's data.path)."""
    run_dir = Path(run_dir)
    est = GaitSAE.load(run_dir, progress=False)
    if data is None or isinstance(data, (str, Path)):
        data = load_dataset(data or est.config_.data.path, channels=est.config_.data.channels,
                            sides=est.config_.data.sides)
    steps = tqdm(total=8, desc=f"analyse {run_dir.name}", unit="step", disable=not progress, leave=False)
    ds, inputs, latents, _, recon = est.round_trip(data)
    directions = est.feature_directions()
    directions_features = est.model_.decoder_directions().detach().numpy()
    th = est.model_.active_threshold
    numbers, figures = {}, {}

    imp_numbers, f = analyze_importance(latents, directions_features, inputs)
    numbers["importance"], figures = imp_numbers, {**figures, **f}
    shown = [j for j in imp_numbers["order"] if latents[:, j].std() > 0][:N_SHOWN]
    if features:
        shown = list(dict.fromkeys(list(features) + shown))[:max(N_SHOWN, len(features))]
    numbers["shown_features"] = shown
    steps.update()
    numbers["activations"], f = analyze_activations(latents, th, shown)
    figures.update(f)
    steps.update()
    encoder = est.model_.encoder_weights().detach().numpy()
    numbers["directions"], f, mean_curves, effects = analyze_directions(
        directions, encoder, est.transform_.layout_, ds.channels, shown, latents, ds.curves, th)
    figures.update(f)
    steps.update()
    cards, numbers["top_strides"] = {}, []
    for j in shown:
        card, fig = stride_card(j, latents, ds.curves, recon, directions, ds.stances, ds.channels, k_strides,
                                mean_curves)
        numbers["top_strides"].append(card)
        cards[j] = fig
    steps.update()
    numbers["metadata"], f = analyze_metadata(latents, ds.stances)
    figures.update(f)
    steps.update()
    numbers["tsne"], figures["tsne"] = tsne_figure(latents, ds.stances, seed)
    numbers["clusters"], figures["clusters"] = clusters(latents, ds.stances, seed=seed)
    steps.update()
    numbers["probes"] = analyze_probes(latents, inputs, ds.stances, seed)
    steps.update()
    truth = load_truth(ds.stances, ds.sources)
    if truth is not None:
        numbers["ground_truth"] = analyze_ground_truth(latents, truth, ds.stances)
    steps.update()
    steps.close()
    numbers["n_stances"] = int(len(ds))
    numbers["n_subjects"] = int(ds.n_subjects)
    analysis = RunAnalysis(run_dir.name, str(run_dir), est.config_.model_name, bool(ds.synthetic),
                           getattr(est, "metrics_", {}), numbers, figures, cards, tuple(ds.channels),
                           mean_curves, effects)
    write_json(run_dir / "analysis.json", {"model": analysis.model, "synthetic": analysis.synthetic,
                                           "metrics": analysis.metrics, **_clean(numbers)})
    return analysis


def _clean(obj):
    """JSON-safe: numpy scalars to Python, NaN to None."""
    return json.loads(json.dumps(obj, default=_default).replace("NaN", "null"))


def _default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))
