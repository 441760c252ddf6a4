"""Feature stability: do the features come back when the model is trained again?

Only ALIVE features take part: a latent that never fires on the compared stances (by its model's
own activation rule, training.metrics.active with the model's active_threshold: the rule of l0
and dead_fraction) has no feature to come back, so it is left out of the matching, of the shares'
denominators and of the mean stability (a run with 100 latents of which 30 fire is a dictionary
of 30 features).

Alive features of two runs are matched one-to-one by the Hungarian algorithm on their feature
cosine (features.cosine: time-domain decoder directions, GaitSAE.feature_directions, so
runs with different feature transforms or scalings compare; each channel divided by its
between-stance SD), over the channels every run models. Per pair of runs: the share of features
matched at cosine >= 0.9 and >= 0.7 (of the smaller alive dictionary), the same share for the
two runs' UNTRAINED starts (model_init.safetensors; a start initialised from the data, e.g. ±PCA
directions, may match well before any training, and then the trained share says little about
training), and the Pearson correlation of matched features' activations on the same stances (the
whole dataset, loaded once). Features are matched within their kind (GaitSAE.feature_kinds_: a
scaffold axis only with scaffold axes, a sparse atom only with atoms), and each pair also gets the
share per kind. Per feature: its stability, the fraction of the other runs in which
it reappears at cosine >= 0.9 (Paulo & Belrose 2025 use the same matching).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from gaitsae.features.cosine import between_stance_sd, unit_directions
from gaitsae.channels import CHANNELS
from gaitsae.errors import GaitsaeError
from gaitsae.models import KINDS, SPARSE
from gaitsae.training.metrics import firing_rates

STRONG, WEAK = 0.9, 0.7  # cosine thresholds: "the same feature", "a related feature"
MAX_STANCES = 20000  # stances encoded for the activation correlations (a deterministic sample)
FILES = ("stability.json", "stability_features.csv", "stability.png")
DEFAULT_OUT = "gaitsae-stability"  # `gaitsae stability`'s output directory, in the working directory


@dataclass
class Stability:
    runs: list[dict]  # {"name", "path", "model", "n_latents"} per run
    pairs: list[dict]  # one row per pair of runs
    features: pd.DataFrame  # one row per (run, feature)
    summary: dict
    stances: dict  # which stances the activations were compared on
    channels: list[str]
    cosines: list[np.ndarray] = field(default_factory=list)  # matched cosines per pair (figure)


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


def alive_features(latents: np.ndarray, threshold: float) -> np.ndarray:
    """Which latents of codes [n_stances, n_latents] fire on at least one stance, by the model's
    own activation rule (|h| > threshold, the rule of l0 and dead_fraction)."""
    return firing_rates(latents, threshold) > 0


def matched_shares(a: np.ndarray, b: np.ndarray, kinds_a=None, kinds_b=None) -> dict:
    """Shares of the matchable features of two sets of unit rows matched at >= STRONG and >= WEAK,
    matched within kind (default: all sparse, then the smaller set); 0 when nothing can be matched."""
    kinds_a = np.full(len(a), SPARSE) if kinds_a is None else np.asarray(kinds_a)
    kinds_b = np.full(len(b), SPARSE) if kinds_b is None else np.asarray(kinds_b)
    _, _, cos, _, size = match_by_kind(a, b, kinds_a, kinds_b)
    return _shares(cos, size) if size else {"share_0.9": 0.0, "share_0.7": 0.0}


def _shares(cos: np.ndarray, size: int) -> dict:
    return {"share_0.9": float((cos >= STRONG).sum() / size), "share_0.7": float((cos >= WEAK).sum() / size)}


def match_by_kind(a: np.ndarray, b: np.ndarray, kinds_a: np.ndarray, kinds_b: np.ndarray):
    """match() within each kind of feature (a scaffold axis is matched only with scaffold axes, a
    sparse atom only with atoms): (rows of a, partners in b, cosines, the pairs' kinds), and the
    number of features that could be matched, Σ over kinds of the smaller count."""
    rows, cols, cos, kinds, size = [], [], [], [], 0
    for kind in KINDS:
        ia, ib = np.flatnonzero(kinds_a == kind), np.flatnonzero(kinds_b == kind)
        if len(ia) and len(ib):
            r, c, v = match(a[ia], b[ib])
            rows.append(ia[r]), cols.append(ib[c]), cos.append(v), kinds.append(np.full(len(v), kind))
            size += min(len(ia), len(ib))
    if not rows:
        empty = np.array([], dtype=int)
        return empty, empty, np.array([]), np.array([], dtype=str), 0
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(cos), np.concatenate(kinds), size


def compare_runs(directions: list[np.ndarray], latents: list[np.ndarray], names: list[str],
                 alive: list[np.ndarray] | None = None, untrained: list[np.ndarray | None] | None = None,
                 kinds: list[np.ndarray] | None = None, untrained_kinds: list[np.ndarray | None] | None = None) -> tuple:
    """Pairs table, per-feature table and matched cosines of runs given their unit direction rows
    [n_latents_i, d], latents [n_stances, n_latents_i] on the same stances, which latents are alive
    (default: all), per run the unit rows of its untrained start's alive features (None: not
    saved), and each latent's kind (default: all sparse; untrained_kinds: of those alive start
    rows). Features are matched within their kind; only alive features are matched and counted;
    a silent feature's stability is NaN. Each pair row also holds share_0.9_<kind> per kind."""
    n = len(directions)
    alive = alive if alive is not None else [np.ones(len(d), dtype=bool) for d in directions]
    untrained = untrained if untrained is not None else [None] * n
    kinds = [np.asarray(k) for k in kinds] if kinds is not None else [np.full(len(d), SPARSE) for d in directions]
    untrained_kinds = untrained_kinds if untrained_kinds is not None else [
        None if u is None else np.full(len(u), SPARSE) for u in untrained]
    index = [np.flatnonzero(a) for a in alive]  # alive feature → latent
    hits = [np.zeros((len(d), n)) for d in directions]  # [feature, other run]: matched at >= STRONG
    best = [np.full((len(d), n), np.nan) for d in directions]  # matched cosine, 0 when unassigned
    pairs, cosines = [], []
    for i, j in itertools.combinations(range(n), 2):
        a, b = directions[i][index[i]], directions[j][index[j]]
        ka, kb = kinds[i][index[i]], kinds[j][index[j]]
        row = {"run_a": names[i], "run_b": names[j],
               "n_latents_a": len(directions[i]), "n_latents_b": len(directions[j]),
               "n_alive_a": len(a), "n_alive_b": len(b), "share_0.9": 0.0, "share_0.7": 0.0}
        start = (matched_shares(untrained[i], untrained[j], untrained_kinds[i], untrained_kinds[j])
                 if untrained[i] is not None and untrained[j] is not None else {"share_0.9": None, "share_0.7": None})
        row.update({"untrained_share_0.9": start["share_0.9"], "untrained_share_0.7": start["share_0.7"]})
        rows, cols, cos, pair_kinds, size = match_by_kind(a, b, ka, kb)
        for kind in KINDS:
            smaller = min(int((ka == kind).sum()), int((kb == kind).sum()))
            if (kinds[i] == kind).any() or (kinds[j] == kind).any():
                row[f"share_0.9_{kind}"] = _shares(cos[pair_kinds == kind], smaller)["share_0.9"] if smaller else 0.0
        if size:
            row.update(_shares(cos, size))
            rows, cols = index[i][rows], index[j][cols]
            r = activation_r(latents[i][:, rows], latents[j][:, cols])
            row.update({"mean_cosine": float(cos.mean()), "activation_r_median_0.9": _median(r[cos >= STRONG]),
                        "activation_r_median": _median(r)})
            best[i][index[i], j], best[j][index[j], i] = 0.0, 0.0
            best[i][rows, j], best[j][cols, i] = cos, cos
            hits[i][rows, j], hits[j][cols, i] = cos >= STRONG, cos >= STRONG
        else:
            best[i][index[i], j], best[j][index[j], i] = 0.0, 0.0
            row.update({"mean_cosine": None, "activation_r_median_0.9": None, "activation_r_median": None})
        pairs.append(row)
        cosines.append(cos)
    rows = []
    for i, name in enumerate(names):
        others = [j for j in range(n) if j != i]
        for f in range(len(directions[i])):
            on = bool(alive[i][f])
            rows.append({"run": name, "feature": f, "kind": str(kinds[i][f]),
                         "stability": float(hits[i][f, others].mean()) if on else np.nan,
                         "mean_matched_cosine": float(best[i][f, others].mean()) if on else np.nan,
                         "zero_direction": bool(not directions[i][f].any()), "silent": not on})
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
    seen: dict[Path, str] = {}
    for p in run_dirs:
        first = seen.setdefault(Path(p).resolve(), str(p))
        if first != str(p) or list(map(str, run_dirs)).count(str(p)) > 1:
            raise GaitsaeError(f"{p}: given twice (as {first}); stability compares distinct runs")
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


def _untrained_rows(run_dir, dataset, channels, channel_sd) -> tuple[np.ndarray, np.ndarray] | None:
    """Unit rows of the alive features of the run's untrained start and their kinds; None for a
    run saved before gaitsae kept it (no model_init.safetensors)."""
    from gaitsae.estimator import GaitSAE
    from gaitsae.training.rundir import INIT_WEIGHTS

    if not (Path(run_dir) / INIT_WEIGHTS).is_file():
        return None
    start = GaitSAE.load(run_dir, progress=False, untrained=True)
    keep = [start.config_.data.channels.index(c) for c in channels]
    on = alive_features(start.transform(dataset), start.model_.active_threshold)
    return unit_directions(start.feature_directions()[:, keep], channel_sd)[on], start.feature_kinds_[on]


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def stability(run_dirs, data=None, max_stances: int = MAX_STANCES) -> Stability:
    """Match every pair of runs (see the module docstring)."""
    runs, names, dataset, channels = load_for_stability(run_dirs, data, max_stances)
    channel_sd = between_stance_sd(dataset.select_channels(channels).curves)
    directions, latents, alive, untrained, kinds = [], [], [], [], []
    for p, r in zip(run_dirs, runs):
        keep = [r.config_.data.channels.index(c) for c in channels]
        directions.append(unit_directions(r.feature_directions()[:, keep], channel_sd))
        latents.append(r.transform(dataset))
        alive.append(alive_features(latents[-1], r.model_.active_threshold))
        kinds.append(r.feature_kinds_)
        untrained.append(_untrained_rows(p, dataset, channels, channel_sd))
    starts = [None if u is None else u[0] for u in untrained]
    pairs, features, cosines = compare_runs(directions, latents, names, alive, starts, kinds,
                                            [None if u is None else u[1] for u in untrained])
    untrained = starts
    share = np.array([p["share_0.9"] for p in pairs])
    live = features[~features["silent"]]
    summary = {
        "n_runs": len(runs), "n_pairs": len(pairs),
        "share_0.9_mean": float(share.mean()), "share_0.9_min": float(share.min()),
        "share_0.9_max": float(share.max()),
        "share_0.7_mean": float(np.mean([p["share_0.7"] for p in pairs])),
        **{f"share_0.9_{kind}_mean": _mean([p.get(f"share_0.9_{kind}") for p in pairs])
           for kind in KINDS if any(f"share_0.9_{kind}" in p for p in pairs)},
        "untrained_share_0.9_mean": _mean([p["untrained_share_0.9"] for p in pairs]),
        "untrained_share_0.7_mean": _mean([p["untrained_share_0.7"] for p in pairs]),
        "n_pairs_with_untrained": int(sum(p["untrained_share_0.9"] is not None for p in pairs)),
        "activation_r_median_0.9": _median([p["activation_r_median_0.9"] for p in pairs
                                            if p["activation_r_median_0.9"] is not None]),
        "alive_fraction": float(1.0 - features["silent"].mean()),
        "feature_stability_mean": float(live["stability"].mean()) if len(live) else None,
        "features_always_found": float((live["stability"] >= 1.0).mean()) if len(live) else None,
    }
    info = [{"name": n, "path": str(Path(p).resolve()), "model": r.config_.model_name,
             "n_latents": int(r.config_.model["n_latents"]), "n_alive": int(a.sum()),
             "active_threshold": float(r.model_.active_threshold), "untrained_start": u is not None}
            for n, p, r, a, u in zip(names, run_dirs, runs, alive, untrained)]
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
    share = np.eye(n)  # above the diagonal the trained runs, below their untrained starts
    for p in result.pairs:
        i, j = sorted((names.index(p["run_a"]), names.index(p["run_b"])))
        start = p["untrained_share_0.9"]
        share[i, j], share[j, i] = p["share_0.9"], np.nan if start is None else start
    fig, axes = subplots(1, 2, width=3.8, height=3.2)
    ax = axes[0, 0]
    im = ax.imshow(share, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(n), names, rotation=90, fontsize=6)
    ax.set_yticks(range(n), names, fontsize=6)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                if i != j:
                    ax.text(j, i, "n/a" if np.isnan(share[i, j]) else f"{share[i, j]:.0%}", ha="center",
                            va="center", fontsize=6, color="black" if share[i, j] > 0.6 else "white")
    ax.set_title("alive features matched at cosine ≥ 0.9\n(upper: trained; lower: untrained starts)", fontsize=8)
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
    per_run = {name: [None if np.isnan(v) else v for v in g["stability"]]
               for name, g in result.features.groupby("run", sort=False)}
    write_json(out / FILES[0], json_safe({
        "method": "Hungarian matching of the alive features (firing on at least one stance by the model's "
                  "activation rule) by feature cosine (time-domain decoder directions, channels divided by their "
                  "between-stance SD); share of the smaller alive dictionary matched at >= 0.9 / >= 0.7, for the "
                  "trained runs and for their untrained starts; activation r of matched features on the same "
                  "stances; feature stability = fraction of the other runs where an alive feature is matched at "
                  ">= 0.9 (silent features: null, not counted)",
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
    its parent, the parent's stability/*/ (a sweep's) or `gaitsae stability`'s default output
    directory. None when no file covers the run."""
    run_dir = Path(run_dir).resolve()
    if path is not None:
        candidates = [Path(path)]
    else:
        candidates = [run_dir / FILES[0], run_dir.parent / FILES[0],
                      *sorted(run_dir.parent.glob(f"stability/*/{FILES[0]}")), Path(DEFAULT_OUT) / FILES[0]]
    for candidate in candidates:
        doc = _covers(candidate, run_dir) if candidate.is_file() else None
        if doc is None:
            if path is not None:
                raise GaitsaeError(f"{path}: not a stability.json covering {run_dir}")
            continue
        name = next(r["name"] for r in doc["runs"] if r["path"] == str(run_dir))
        mine = [p for p in doc["pairs"] if name in (p["run_a"], p["run_b"])]
        scores = doc["feature_stability"][name]  # None: a silent feature
        return {"file": str(candidate.resolve()), "n_runs": len(doc["runs"]),
                "other_runs": [r["name"] for r in doc["runs"] if r["name"] != name],
                "share_0.9_mean": _mean([p["share_0.9"] for p in mine]),
                "share_0.7_mean": _mean([p["share_0.7"] for p in mine]),
                "untrained_share_0.9_mean": _mean([p.get("untrained_share_0.9") for p in mine]),
                "feature_stability_mean": _mean(scores), "feature_stability": scores}
    return None
