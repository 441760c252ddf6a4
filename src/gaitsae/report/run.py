"""Analyse one run: gather its arrays once, call every analysis and the clinical section (so this
module sits above both stages), write analysis.json (numbers)
and analysis_figures.json (figures), both keyed by what they were computed from (the run's
files, the analysed curves, the options and gaitsae's version), so an analysis that is still
current is read back instead of redone.

All stances of the run's data are described (the analyses are descriptive), except the probes:
fitted on the run's training subjects, scored on subjects outside its training and validation
split (analysis.probing); the reconstruction metrics in metrics.json are on the test split.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitsae.analysis.activations import analyze_activations
from gaitsae import __version__
from gaitsae.analysis.directions import analyze_directions, feature_effects
from gaitsae.analysis.figures import png_uri
from gaitsae.analysis.ground_truth import analyze_ground_truth, load_truth
from gaitsae.analysis.importance import analyze_importance, summed_variance
from gaitsae.analysis.latent_space import clusters, tsne_figure
from gaitsae.analysis.metadata import analyze_metadata
from gaitsae.analysis.probing import analyze_probes, probe_roles
from gaitsae.analysis.stability import stability_entry
from gaitsae.analysis.strides import stride_card
from gaitsae.analysis.truth import find_patterns
from gaitsae.analysis.truth_figure import analyze_planted
from gaitsae.clinical.pipeline import Encoded
from gaitsae.clinical.report import analyze_clinical, has_classes
from gaitsae.data import load_dataset
from gaitsae.estimator import GaitSAE
from gaitsae.features.transform import TransformedCurves
from gaitsae.fsio import json_safe, write_json
from gaitsae.progress import progress as progress_bar

N_SHOWN = 6  # features with full figures in the report
STEPS = 8  # analysis steps the progress bar counts
ANALYSIS_VERSION = 3  # 2: feature names, bimodality, subject shares, two top stances per subject; 3: kinds
ANALYSIS_FILE, FIGURES_FILE = "analysis.json", "analysis_figures.json"
RUN_FILES = ("config.toml", "model.safetensors", "transform.safetensors")


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


def analysis_key(run_dir: Path, curves: np.ndarray, options: dict) -> str:
    """Digest of everything an analysis depends on."""
    h = hashlib.blake2b(digest_size=16)
    for name in RUN_FILES:
        h.update((run_dir / name).read_bytes())
    h.update(np.ascontiguousarray(curves).data)
    h.update(json.dumps({**options, "gaitsae": __version__, "analysis": ANALYSIS_VERSION}, sort_keys=True).encode())
    return h.hexdigest()


def load_current(run_dir: Path, key: str, est: GaitSAE) -> RunAnalysis | None:
    """The stored analysis of run_dir if it was computed with `key`, else None."""
    try:
        numbers = json.loads((run_dir / ANALYSIS_FILE).read_text())
        stored = json.loads((run_dir / FIGURES_FILE).read_text())
    except (OSError, ValueError):
        return None
    if numbers.get("key") != key or stored.get("key") != key:
        return None
    typical = np.asarray(numbers["directions"]["typical_activation"], dtype=np.float64)
    meta = {k: numbers.pop(k) for k in ("key", "model", "synthetic", "metrics")}
    return RunAnalysis(run_dir.name, str(run_dir), meta["model"], meta["synthetic"], meta["metrics"], numbers,
                       stored["figures"], {int(j): v for j, v in stored["cards"].items()}, tuple(stored["channels"]),
                       np.asarray(stored["mean_curves"]), feature_effects(est.feature_directions(), typical))


def analyze_run(run_dir, data=None, features=None, k_strides: int = 6, seed: int = 0,
                progress: bool = True, force: bool = False, stability=None) -> RunAnalysis:
    """data: a GaitDataset or a directory (default: the run's data.path); stability: a
    stability.json covering this run (default: one found beside it, see stability_entry). A
    stored analysis that is current is returned as it is (with the stability entry read
    afresh), unless force."""
    run_dir = Path(run_dir)
    est = GaitSAE.load(run_dir, progress=False)
    if data is None or isinstance(data, (str, Path)):
        data = load_dataset(data or est.config_.data.path, channels=est.config_.data.channels,
                            sides=est.config_.data.sides)
    ds, inputs, latents, _, _ = est.round_trip(data, reconstruct=False)
    key = analysis_key(run_dir, ds.curves, {"features": list(features or []), "k_strides": k_strides, "seed": seed})
    entry = stability_entry(run_dir, stability)  # cheap, and may appear after the analysis
    if not force and (current := load_current(run_dir, key, est)) is not None:
        current.numbers.pop("stability", None)
        if entry is not None:
            current.numbers["stability"] = entry
        return current
    steps = progress_bar(STEPS, f"analyse {run_dir.name}", "step", progress)

    def step(name):  # the bar names the step it is on
        steps.set_description(f"analyse {run_dir.name}: {name}")

    directions = est.feature_directions()
    directions_features = est.model_.decoder_directions().detach().numpy()
    th = est.model_.active_threshold
    numbers, figures = {"kinds": [str(k) for k in est.feature_kinds_]}, {}  # scaffold / sparse (report.kinds)

    # The inputs (~330 MB at GaitRec size, beside the curves they come from) are not held across the
    # steps: importance needs only their total variance, the later steps transform the rows they
    # need when they need them (analyze's peak memory).
    total_variance = summed_variance(inputs)
    inputs = TransformedCurves(est.transform_, ds.curves)
    step("importance")
    imp_numbers, f = analyze_importance(latents, directions_features, total_variance)
    numbers["importance"], figures = imp_numbers, {**figures, **f}
    shown = [j for j in imp_numbers["order"] if latents[:, j].std() > 0][:N_SHOWN]
    if features:
        shown = list(dict.fromkeys(list(features) + shown))[:max(N_SHOWN, len(features))]
    numbers["shown_features"] = shown
    steps.update()
    step("activations")
    numbers["activations"], f = analyze_activations(latents, th, shown, ds.stances["subject"].to_numpy())
    figures.update(f)
    steps.update()
    step("feature shapes")
    encoder = est.transform_.coefficient_weights(est.model_.encoder_weights().detach().numpy())
    numbers["directions"], f, mean_curves, effects = analyze_directions(
        directions, encoder, est.transform_.layout_, ds.channels, shown, latents, ds.curves, th)
    figures.update(f)
    steps.update()
    step("top stances")
    cards, numbers["top_strides"] = {}, []
    for j in shown:
        card, fig = stride_card(j, latents, ds.curves, est.inverse_transform, directions, ds.stances,
                                ds.channels, k_strides, mean_curves)
        numbers["top_strides"].append(card)
        cards[j] = fig
    steps.update()
    step("metadata")
    numbers["metadata"], f = analyze_metadata(latents, ds.stances)
    figures.update(f)
    steps.update()
    step("latent space")
    numbers["tsne"], figures["tsne"] = tsne_figure(latents, ds.stances, seed)
    numbers["clusters"], figures["clusters"] = clusters(latents, ds.stances, seed=seed)
    steps.update()
    step("probes")
    roles = probe_roles(ds.stances["subject"].to_numpy(), getattr(est, "split_", None))
    numbers["probes"] = analyze_probes(latents, inputs, ds.stances, roles, seed)
    steps.update()
    step("ground truth")
    truth = load_truth(ds.stances, ds.sources)
    if truth is not None:
        numbers["ground_truth"] = analyze_ground_truth(latents, truth, ds.stances, roles)
    if (patterns := find_patterns(ds.sources, ds.channels)) is not None:
        numbers["planted"], figures["planted"] = analyze_planted(est, ds, inputs, latents, patterns, truth, seed=seed)
    if has_classes(ds.stances):
        numbers["clinical"], f = analyze_clinical(Encoded(est, ds, inputs, latents, directions), seed)
        figures.update({k: png_uri(v) for k, v in f.items()})  # PNG (also written by classify) as text
    steps.update()
    steps.close()
    if entry is not None:
        numbers["stability"] = entry
    numbers["n_stances"] = int(len(ds))
    numbers["n_subjects"] = int(ds.n_subjects)
    analysis = RunAnalysis(run_dir.name, str(run_dir), est.config_.model_name, bool(ds.synthetic),
                           getattr(est, "metrics_", {}), numbers, figures, cards, tuple(ds.channels),
                           mean_curves, effects)
    write_json(run_dir / FIGURES_FILE, {"key": key, "figures": figures, "cards": {str(j): v for j, v in cards.items()},
                                        "channels": list(ds.channels), "mean_curves": mean_curves.round(6).tolist()})
    write_json(run_dir / ANALYSIS_FILE, {"key": key, "model": analysis.model, "synthetic": analysis.synthetic,
                                         "metrics": analysis.metrics, **json_safe(numbers)})
    return analysis

