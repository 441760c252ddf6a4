"""Planted-pattern recovery: does ONE feature carry each pattern the phantom planted?

Scored against the generator's own patterns (phantom_patterns.csv, data/phantom/patterns.py), with
the shared feature cosine (features/cosine.py: all channels, each divided by its
between-stance SD on the run's training stances). Per pattern:
- best_cos: the largest |cos| of one feature's time-domain direction with the pattern, and which
  feature (best_feature);
- features_to_0.9: how many features it takes together. Features are taken in order of their
  |cos| with the pattern; m features reach the pattern when its least-squares projection onto
  their span has cos ≥ 0.9 with it. NaN: not even all features reach 0.9;
- auc (class patterns H, K, A, C only): the best feature's activation, signed by its cosine, as a
  score for "affected-side stance of this class" against "healthy-control stance", on the test
  split. Stance-level AUC (Mann–Whitney): a ranking score, not a subject-level test.
The mean max cosine is the mean of best_cos over all patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from gaitsae.analysis.baselines import METHODS, encode_quietly, fit_decomposition
from gaitsae.features.cosine import between_stance_sd, unit_directions
from gaitsae.data.phantom.curves import CLASSES
from gaitsae.data.phantom.patterns import load_patterns

REACH = 0.9  # the cosine a pattern must reach
COLUMNS = ["pattern", "best_feature", "best_cos", "features_to_0.9", "auc"]


def span_cosines(units: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """[n]: cos of the unit `pattern` [d] with its projection onto the span of the first m rows of
    `units` [n, d], m = 1 … n (Gram–Schmidt; a row inside the span so far, or zero, adds nothing)."""
    basis = np.zeros((min(units.shape), units.shape[1]))
    size, captured, out = 0, 0.0, np.empty(len(units))
    for m, u in enumerate(units):
        if size < len(basis):
            for _ in range(2):  # orthogonalise twice: once is not enough in floating point
                u = u - basis[:size].T @ (basis[:size] @ u)
            norm = np.linalg.norm(u)
            if norm > 1e-8:
                basis[size] = u / norm
                captured += float(basis[size] @ pattern) ** 2
                size += 1
        out[m] = np.sqrt(min(captured, 1.0))
    return out


def features_to_reach(units: np.ndarray, pattern: np.ndarray, cos: np.ndarray, reach: float = REACH) -> float:
    """How many features, taken by |cos| with the pattern, span it to cos >= reach (NaN: never)."""
    order = np.argsort(-np.abs(cos), kind="stable")
    reached = np.flatnonzero(span_cosines(units[order], pattern) >= reach - 1e-12)
    return float(reached[0] + 1) if len(reached) else float("nan")


def class_targets(truth: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per class: 1 for its affected-side stances, 0 for healthy-control stances, NaN otherwise
    (truth rows as load_truth aligns them with the stances)."""
    label = truth["class_label"].astype(str).to_numpy()
    affected = truth["affected"].to_numpy(dtype=float) == 1
    out = {}
    for cls in CLASSES:
        y = np.full(len(truth), np.nan)
        y[label == "HC"] = 0.0
        y[(label == cls) & affected] = 1.0
        out[cls] = y
    return out


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """AUC of `score` for y == 1 against y == 0 (NaN rows left out); NaN if a group is empty."""
    keep = np.isfinite(y)
    if len(np.unique(y[keep])) < 2:
        return float("nan")
    return float(roc_auc_score(y[keep], score[keep]))


def pattern_recovery(directions: np.ndarray, patterns: dict[str, np.ndarray], channel_sd: np.ndarray,
                     codes: np.ndarray | None = None, targets: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per pattern (COLUMNS). directions [n_features, C, 101] and patterns [C, 101] in the
    time domain; channel_sd [C] (between_stance_sd of the training curves); codes [n_stances,
    n_features] and targets {pattern: y [n_stances]} (class_targets) for the AUC."""
    units = unit_directions(directions, channel_sd)
    names = list(patterns)
    planted = unit_directions(np.stack([patterns[p] for p in names]), channel_sd)
    cos = units @ planted.T  # [n_features, n_patterns]
    rows = []
    for i, name in enumerate(names):
        best = int(np.argmax(np.abs(cos[:, i])))
        y = (targets or {}).get(name)
        score = None if codes is None or y is None else np.sign(cos[best, i]) * codes[:, best]
        rows.append({"pattern": name, "best_feature": best, "best_cos": float(abs(cos[best, i])),
                     "features_to_0.9": features_to_reach(units, planted[i], cos[:, i]),
                     "auc": float("nan") if score is None else auc(score, y)})
    return pd.DataFrame(rows, columns=COLUMNS)


@dataclass
class Recovery:
    """One method's recovery: its per-pattern table (COLUMNS) and its time-domain directions."""

    method: str
    table: pd.DataFrame
    directions: np.ndarray  # [n_features, C, 101]

    @property
    def mean_max_cosine(self) -> float:
        return float(self.table["best_cos"].mean())


def baseline_recoveries(x_train: np.ndarray, x_test: np.ndarray, transform, n_components: int, k: int,
                        patterns, channel_sd, targets=None, seed: int = 0, methods=METHODS) -> dict[str, Recovery]:
    """The classical decompositions with the run's number of features, fitted on its training
    vectors x_train (the model's input space), their atoms mapped to the time domain by the run's
    transform and scored like the run (codes of the test vectors x_test for the AUC); k is OMP's
    number of non-zeros (the run's L0)."""
    n_components = min(n_components, *x_train.shape)  # PCA and ICA cannot have more components than dimensions
    out = {}
    for method in methods:
        d = fit_decomposition(method, x_train, n_components, k=k, seed=seed)
        directions = transform.inverse_direction(d.atoms)
        out[method] = Recovery(method, pattern_recovery(directions, patterns, channel_sd, encode_quietly(d, x_test),
                                                        targets), directions)
    return out


def split_masks(est, stances: pd.DataFrame, scored: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(train, scored) stance masks of a fitted or loaded run, from its subject split."""
    split = getattr(est, "split_", None)
    if split is None:  # a run saved without its split: describe everything
        everything = np.ones(len(stances), dtype=bool)
        return everything, everything
    of = stances["subject"].map(dict(zip(split["subject"], split["split"])))
    return (of == "train").to_numpy(), (of == scored).to_numpy()


def run_recovery(est, ds, inputs: np.ndarray, latents: np.ndarray, patterns, truth: pd.DataFrame | None = None,
                 methods=METHODS, seed: int = 0, scored: str = "test") -> dict[str, Recovery]:
    """Recoveries {"model": …, "pca": …, …} of a run and the baselines `methods`, on its round trip
    (ds, inputs, latents as GaitSAE.round_trip gives them); patterns restricted to the run's channels.
    scored: the split whose stances the AUC is computed on ("val" while choosing a model)."""
    train, test = split_masks(est, ds.stances, scored)
    channel_sd = between_stance_sd(ds.curves, train)
    targets = None if truth is None else {c: y[test] for c, y in class_targets(truth).items()}
    directions = est.feature_directions()
    out = {"model": Recovery("model", pattern_recovery(directions, patterns, channel_sd, latents[test], targets),
                             directions)}
    th = est.model_.active_threshold
    k = max(1, int(round(float((np.abs(latents[train]) > th).sum(axis=1).mean()))))
    # Baselines in the run's input space, but never whitened: PCA of whitened inputs is any rotation.
    base = est.transform_.unwhitened()
    if base is not est.transform_:
        inputs = base.transform(ds.curves)
    out.update(baseline_recoveries(inputs[train], inputs[test], base, latents.shape[1], k, patterns,
                                   channel_sd, targets, seed, methods))
    return out


def find_patterns(directories, channels) -> dict[str, np.ndarray] | None:
    """The planted patterns of the first phantom directory among `directories` that has them."""
    for directory in directories:
        if (patterns := load_patterns(directory, channels)) is not None:
            return patterns
    return None


def long_table(recoveries: list[tuple[str, Recovery]]) -> pd.DataFrame:
    """truth.csv rows: pattern, method, n_components, best_cos, auc, features_to_0.9, best_feature."""
    parts = [r.table.assign(method=name, n_components=len(r.directions)) for name, r in recoveries]
    return pd.concat(parts, ignore_index=True)[["pattern", "method", "n_components", "best_cos", "auc",
                                                "features_to_0.9", "best_feature"]]


def figure(recoveries: dict[str, Recovery], patterns: dict[str, np.ndarray], channel_sd, channels):
    """Rows: planted patterns; columns: channels. The pattern (black) and each method's best
    feature scaled to it (least squares in the channel-scaled space, so only its shape counts)."""
    from gaitsae.analysis.figures import subplots, stance_axis
    from gaitsae.channels import CHANNEL_UNITS

    fig, axes = subplots(len(patterns), len(channels), width=1.9, height=1.05, sharex=True)
    scale = np.asarray(channel_sd, dtype=np.float64)[:, None]
    colours = dict(zip(recoveries, ["tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown",
                                    "tab:pink", "tab:olive", "tab:cyan"] * 4))
    t = np.arange(next(iter(patterns.values())).shape[-1])
    for r, (name, pattern) in enumerate(patterns.items()):
        for c, ch in enumerate(channels):
            axes[r, c].plot(t, pattern[c], color="black", lw=2.0, label="planted" if r == c == 0 else None)
        for method, rec in recoveries.items():
            row = rec.table.set_index("pattern").loc[name]
            d = rec.directions[int(row["best_feature"])]
            u, p = (d / scale).ravel(), (pattern / scale).ravel()
            fitted = d * (u @ p) / max(u @ u, 1e-300)
            for c in range(len(channels)):
                axes[r, c].plot(t, fitted[c], color=colours[method], lw=1.0,
                                label=f"{method}" if r == c == 0 else None)
        axes[r, 0].set_ylabel(name)
        for c, ch in enumerate(channels):
            stance_axis(axes[r, c], label=r == len(patterns) - 1)
            if r == 0:
                axes[r, c].set_title(f"{ch} ({CHANNEL_UNITS[ch]})")
    fig.legend(loc="outside upper center", ncols=min(len(recoveries) + 1, 6), frameon=False)
    return fig


def recover_runs(run_dirs, dataset, names, methods=METHODS, seed: int = 0, untrained: bool = False):
    """Every run's recovery under its name, and the baselines fitted on its training stances (once
    per distinct training input and size); untrained: also each run's untrained start, as
    "NAME (untrained)". Returns ([(method, Recovery)], the first run's figure)."""
    from gaitsae.analysis.ground_truth import load_truth
    from gaitsae.estimator import GaitSAE

    pairs, fitted, fig = [], set(), None
    for run_dir, name in zip(run_dirs, names):
        est = GaitSAE.load(run_dir, progress=False)
        ds, inputs, latents, _, _ = est.round_trip(dataset, reconstruct=False)
        patterns = find_patterns(ds.sources, ds.channels)
        train, _ = split_masks(est, ds.stances)
        key = (latents.shape[1], hash(inputs[train].tobytes()))
        truth = load_truth(ds.stances, ds.sources)
        rec = run_recovery(est, ds, inputs, latents, patterns, truth, () if key in fitted else methods, seed)
        fitted.add(key)
        mine = [(name, rec.pop("model")), *rec.items()]
        if untrained:
            start = GaitSAE.load(run_dir, progress=False, untrained=True)
            _, _, start_latents, _, _ = start.round_trip(dataset, reconstruct=False)
            mine.insert(1, (f"{name} (untrained)",
                            run_recovery(start, ds, inputs, start_latents, patterns, truth, ())["model"]))
        pairs += mine
        if fig is None:
            fig = figure(dict(mine), patterns, between_stance_sd(ds.curves, train), ds.channels)
    return pairs, fig


RULE = ("best |cos| of one feature's time-domain direction with the generator's planted pattern (channels divided "
        "by their between-stance SD on the training stances); features to 0.9: how many features, taken by |cos|, "
        "span the pattern to cos 0.9 (– if all cannot); AUC: the best feature's activation (signed by its cosine) "
        "for affected-side stances of the class against healthy-control stances, test split, stance level")


def analyze_planted(est, ds, inputs, latents, patterns, truth, methods=("pca",), seed: int = 0) -> tuple[dict, str]:
    """The run report's planted-pattern numbers (the run against `methods` of its size) and figure (SVG)."""
    from gaitsae.analysis.figures import svg

    recoveries = run_recovery(est, ds, inputs, latents, patterns, truth, methods, seed)
    train, _ = split_masks(est, ds.stances)
    numbers = {"rule": RULE, "methods": {
        name: {"n_components": len(r.directions), "mean_max_cosine": r.mean_max_cosine,
               "rows": r.table.replace({np.nan: None}).to_dict("records")} for name, r in recoveries.items()}}
    shown = {p: patterns[p] for p in ("speed", *CLASSES) if p in patterns}  # the whole grid is gaitsae truth's
    return numbers, svg(figure(recoveries, shown, between_stance_sd(ds.curves, train), ds.channels))
