"""Feature stability: do the features come back when the model is trained again?

Features of two runs are matched one-to-one by the Hungarian algorithm on the cosine of their
decoder directions in the TIME domain (GaitSAE.feature_directions, so runs with different
feature transforms or scalings compare), over the channels every run models, each channel
divided by its standard deviation in the data (so COP in metres counts as much as force in body
weights). Per pair of runs: the share of features matched at cosine >= 0.9 and >= 0.7 (of the
smaller dictionary), and the Pearson correlation of matched features' activations on the same
stances (the whole dataset, loaded once). Per feature: its stability, the fraction of the other
runs in which it reappears at cosine >= 0.9 (Paulo & Belrose 2025 use the same matching).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from gaitsae.channels import CHANNELS
from gaitsae.errors import GaitsaeError

STRONG, WEAK = 0.9, 0.7  # cosine thresholds: "the same feature", "a related feature"
MAX_STANCES = 20000  # stances encoded for the activation correlations (a deterministic sample)
FILES = ("stability.json", "stability_features.csv", "stability.png")


@dataclass
class Stability:
    runs: list[dict]  # {"name", "path", "model", "n_latents"} per run
    pairs: list[dict]  # one row per pair of runs
    features: pd.DataFrame  # one row per (run, feature)
    summary: dict
    stances: dict  # which stances the activations were compared on
    channels: list[str]
    cosines: list[np.ndarray] = field(default_factory=list)  # matched cosines per pair (figure)


def unit_rows(directions: np.ndarray, channel_scale: np.ndarray) -> np.ndarray:
    """directions [n_latents, n_channels, 101] → rows [n_latents, n_channels * 101] of unit norm,
    each channel divided by its scale first; a zero (dead) direction stays a zero row."""
    flat = (directions / channel_scale[None, :, None]).reshape(len(directions), -1).astype(np.float64)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    return np.where(norms > 1e-12, flat / np.maximum(norms, 1e-12), 0.0)


def match(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one matching of unit rows a [n_a, d] and b [n_b, d] maximising the summed cosine.
    Returns (rows of a, their partners in b, cosines); min(n_a, n_b) pairs (rectangular works)."""
    cos = a @ b.T
    rows, cols = linear_sum_assignment(cos, maximize=True)
    return rows, cols, cos[rows, cols]


def activation_r(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of matching columns of x and y [n_stances, n_pairs]; NaN where one is constant."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    den = np.sqrt((xc ** 2).sum(0) * (yc ** 2).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(0) / np.where(den > 0, den, 1.0), np.nan)


def _median(values) -> float | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else None


def compare_runs(directions: list[np.ndarray], latents: list[np.ndarray], names: list[str]) -> tuple:
    """Pairs table, per-feature table and matched cosines of runs given their unit direction rows
    [n_latents_i, d] and latents [n_stances, n_latents_i] on the same stances."""
    n = len(directions)
    hits = [np.zeros((len(d), n)) for d in directions]  # [feature, other run]: matched at >= STRONG
    best = [np.full((len(d), n), np.nan) for d in directions]  # matched cosine, 0 when unassigned
    pairs, cosines = [], []
    for i, j in itertools.combinations(range(n), 2):
        rows, cols, cos = match(directions[i], directions[j])
        r = activation_r(latents[i][:, rows], latents[j][:, cols])
        size = min(len(directions[i]), len(directions[j]))
        pairs.append({
            "run_a": names[i], "run_b": names[j],
            "n_latents_a": len(directions[i]), "n_latents_b": len(directions[j]),
            "share_0.9": float((cos >= STRONG).sum() / size), "share_0.7": float((cos >= WEAK).sum() / size),
            "mean_cosine": float(cos.mean()),
            "activation_r_median_0.9": _median(r[cos >= STRONG]),
            "activation_r_median": _median(r),
        })
        cosines.append(cos)
        best[i][:, j], best[j][:, i] = 0.0, 0.0
        best[i][rows, j], best[j][cols, i] = cos, cos
        hits[i][rows, j], hits[j][cols, i] = cos >= STRONG, cos >= STRONG
    rows = []
    for i, name in enumerate(names):
        others = [j for j in range(n) if j != i]
        alive = (np.abs(latents[i]) > 0).any(axis=0)
        for f in range(len(directions[i])):
            rows.append({"run": name, "feature": f,
                         "stability": float(hits[i][f, others].mean()),
                         "mean_matched_cosine": float(best[i][f, others].mean()),
                         "zero_direction": bool(not directions[i][f].any()), "silent": bool(not alive[f])})
    return pairs, pd.DataFrame(rows), cosines


def _shared(values: list[list[str]], order) -> list[str]:
    return [v for v in order if all(v in vs for vs in values)]


def load_for_stability(run_dirs, data=None, max_stances: int = MAX_STANCES, seed: int = 0):
    """The runs (GaitSAE), their names, and one dataset of stances every run can encode:
    the channels all runs model, the sides all runs use, at most max_stances stances."""
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    if len(run_dirs) < 2:
        raise GaitsaeError("stability needs at least two runs")
    runs = [GaitSAE.load(p, progress=False) for p in run_dirs]
    channels = _shared([list(r.config_.data.channels) for r in runs], CHANNELS)
    if not channels:
        raise GaitsaeError("the runs share no channel: " + "; ".join(
            f"{p}: {','.join(r.config_.data.channels)}" for p, r in zip(run_dirs, runs)))
    sides = _shared([list(r.config_.data.sides) for r in runs], ("left", "right"))
    if not sides:
        raise GaitsaeError("the runs share no side: " + "; ".join(
            f"{p}: {','.join(r.config_.data.sides)}" for p, r in zip(run_dirs, runs)))
    union = [c for c in CHANNELS if any(c in r.config_.data.channels for r in runs)]
    path = data or runs[0].config_.data.path
    dataset = load_dataset(path.split(",") if isinstance(path, str) and "," in path else path,
                           channels=union, sides=sides)
    if len(dataset) > max_stances:
        keep = np.sort(np.random.default_rng(seed).choice(len(dataset), max_stances, replace=False))
        dataset = dataset.subset(keep)
    return runs, _names(run_dirs), dataset, channels


def _names(run_dirs) -> list[str]:
    """Short unique names: the directory name, with its parent when names repeat."""
    paths = [Path(p).resolve() for p in run_dirs]
    names = [p.name for p in paths]
    if len(set(names)) < len(names):
        names = [f"{p.parent.name}/{p.name}" for p in paths]
    return names


def stability(run_dirs, data=None, max_stances: int = MAX_STANCES) -> Stability:
    """Match every pair of runs (see the module docstring)."""
    runs, names, dataset, channels = load_for_stability(run_dirs, data, max_stances)
    scale = dataset.select_channels(channels).curves.std(axis=(0, 2))
    scale = np.where(scale > 0, scale, 1.0)
    directions, latents = [], []
    for r in runs:
        keep = [r.config_.data.channels.index(c) for c in channels]
        directions.append(unit_rows(r.feature_directions()[:, keep], scale))
        latents.append(r.transform(dataset))
    pairs, features, cosines = compare_runs(directions, latents, names)
    share = np.array([p["share_0.9"] for p in pairs])
    summary = {
        "n_runs": len(runs), "n_pairs": len(pairs),
        "share_0.9_mean": float(share.mean()), "share_0.9_min": float(share.min()),
        "share_0.9_max": float(share.max()),
        "share_0.7_mean": float(np.mean([p["share_0.7"] for p in pairs])),
        "activation_r_median_0.9": _median([p["activation_r_median_0.9"] for p in pairs
                                            if p["activation_r_median_0.9"] is not None]),
        "feature_stability_mean": float(features["stability"].mean()),
        "features_always_found": float((features["stability"] >= 1.0).mean()),
    }
    info = [{"name": n, "path": str(Path(p).resolve()), "model": r.config_.model_name,
             "n_latents": int(r.config_.model["n_latents"])} for n, p, r in zip(names, run_dirs, runs)]
    stances = {"what": "every stance of the data loaded once (sides all runs use), sampled to at most "
                       f"{max_stances}", "path": str(data or runs[0].config_.data.path),
               "n_stances": int(len(dataset)), "n_subjects": int(dataset.n_subjects),
               "synthetic": bool(dataset.synthetic)}
    return Stability(info, pairs, features, summary, stances, channels, cosines)


def figure(result: Stability) -> bytes:
    """Pairwise share matched at >= 0.9 (heatmap) and the histogram of matched cosines."""
    from gaitsae.analysis.figures import png, subplots

    names = [r["name"] for r in result.runs]
    n = len(names)
    share = np.eye(n)
    for p in result.pairs:
        i, j = names.index(p["run_a"]), names.index(p["run_b"])
        share[i, j] = share[j, i] = p["share_0.9"]
    fig, axes = subplots(1, 2, width=3.8, height=3.2)
    ax = axes[0, 0]
    im = ax.imshow(share, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(n), names, rotation=90, fontsize=6)
    ax.set_yticks(range(n), names, fontsize=6)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{share[i, j]:.0%}", ha="center", va="center", fontsize=6,
                        color="black" if share[i, j] > 0.6 else "white")
    ax.set_title("features matched at cosine ≥ 0.9", fontsize=8)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax = axes[0, 1]
    ax.hist(np.concatenate(result.cosines), bins=np.linspace(-0.2, 1, 49), color="tab:blue")
    for t in (WEAK, STRONG):
        ax.axvline(t, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("cosine of matched decoder directions (time domain)", fontsize=7)
    ax.set_ylabel("features", fontsize=7)
    ax.set_title(f"all {len(result.pairs)} pairs", fontsize=8)
    return png(fig)


def write(result: Stability, out) -> Path:
    """out/stability.json, out/stability_features.csv and out/stability.png (each atomic)."""
    from gaitsae.fsio import json_safe, write_bytes, write_json, write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_run = {name: g["stability"].tolist() for name, g in result.features.groupby("run", sort=False)}
    write_json(out / FILES[0], json_safe({
        "method": "Hungarian matching of time-domain decoder directions (cosine, channels scaled by their "
                  "standard deviation in the data); share of the smaller dictionary matched at >= 0.9 / >= 0.7; "
                  "activation r of matched features on the same stances; feature stability = fraction of the "
                  "other runs where the feature is matched at >= 0.9",
        "thresholds": [STRONG, WEAK], "channels": result.channels, "stances": result.stances,
        "runs": result.runs, "summary": result.summary, "pairs": result.pairs, "feature_stability": per_run}))
    write_text(out / FILES[1], result.features.to_csv(index=False))
    write_bytes(out / FILES[2], figure(result))
    return out / FILES[0]


def _covers(path: Path, run_dir: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    paths = [r.get("path") for r in doc.get("runs", [])]
    return doc if str(run_dir) in paths else None


def stability_entry(run_dir, path=None) -> dict | None:
    """This run's part of a stability.json: the given file, else one found in the run directory,
    its parent, or the parent's stability/*/ (a sweep's). None when no file covers the run."""
    run_dir = Path(run_dir).resolve()
    if path is not None:
        candidates = [Path(path)]
    else:
        candidates = [run_dir / FILES[0], run_dir.parent / FILES[0],
                      *sorted(run_dir.parent.glob(f"stability/*/{FILES[0]}"))]
    for candidate in candidates:
        doc = _covers(candidate, run_dir) if candidate.is_file() else None
        if doc is None:
            if path is not None:
                raise GaitsaeError(f"{path}: not a stability.json covering {run_dir}")
            continue
        name = next(r["name"] for r in doc["runs"] if r["path"] == str(run_dir))
        mine = [p for p in doc["pairs"] if name in (p["run_a"], p["run_b"])]
        scores = doc["feature_stability"][name]
        return {"file": str(candidate.resolve()), "n_runs": len(doc["runs"]),
                "other_runs": [r["name"] for r in doc["runs"] if r["name"] != name],
                "share_0.9_mean": float(np.mean([p["share_0.9"] for p in mine])),
                "share_0.7_mean": float(np.mean([p["share_0.7"] for p in mine])),
                "feature_stability_mean": float(np.mean(scores)), "feature_stability": scores}
    return None
