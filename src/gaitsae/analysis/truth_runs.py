"""`gaitsae truth`'s scoring of runs: each run, its chance rows and the classical baselines, all
scored the same way (analysis/truth.py) on the run's test subjects.

Per run:
- the model: every column its encode produces, with the directions it exposes
  (GaitSAE.feature_directions): a model with several kinds of features is scored on all of them;
- chance rows: `exemplars` (as many random training stances as the run has distinct alive features,
  coded by OMP at the run's L0), `random` (as many random directions of the input space, coded the
  same way), and with untrained=True the untrained start;
- PCA, FastICA, NMF and dictionary learning + OMP, fitted on the run's training stances in its
  input space (never whitened: PCA of whitened inputs is any rotation), once with as many
  components as the run has distinct alive features and once with its mean L0.
Fits are cached by (training inputs, scored stances, method, size, k, seed), so runs that share
their data and split share their baselines.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gaitsae.analysis import isolation as I
from gaitsae.analysis.baselines import METHODS, encode_quietly, fit_decomposition, omp_coder
from gaitsae.analysis.truth import Codes, Recovery, class_targets, find_patterns, pattern_recovery
from gaitsae.features.cosine import between_stance_sd
from gaitsae.features.transform import TransformedCurves
from gaitsae.training.metrics import reconstruction_scores

CHANCE = ("exemplars", "random")
KEY_BLOCK = 8192  # training stances hashed at once for the baselines' cache key
# Decompositions that cannot have more components than dimensions or training vectors.
CAPPED = ("pca", "fastica")
MATCH_TOLERANCE = 1e-3  # |mean| of a run's own training vectors after its transform (≈ 0 on its data)


@dataclass
class Split:
    """Stance masks of the run's training and scored stances; has_split False: the run was saved
    without its split, so the scored stances include its training stances (say so)."""

    train: np.ndarray
    scored: np.ndarray
    has_split: bool


def split_masks(est, stances: pd.DataFrame, scored: str = "test", other_data: bool = False) -> Split:
    """The run's subject split on `stances`. other_data: the data is not the run's, so its subjects
    are split afresh the way fit splits (same fractions and seed)."""
    if other_data:
        from gaitsae.training.split import split_subjects

        t = est.config_.training
        labels = split_subjects(stances, t.val_fraction, t.test_fraction, t.seed)
        return Split(labels == "train", labels == scored, True)
    split = getattr(est, "split_", None)
    if split is None:
        everything = np.ones(len(stances), dtype=bool)
        return Split(everything, everything, False)
    of = stances["subject"].map(dict(zip(split["subject"], split["split"])))
    return Split((of == "train").to_numpy(), (of == scored).to_numpy(), True)


def data_mismatch(est, ds, split: Split) -> str | None:
    """Why `ds` is not the data the run was trained on, or None. The run's transform centred and
    scaled its own training vectors, so on the same stances their mean is ≈ 0: a different phantom
    (or its subjects missing) shows at once, without a fingerprint stored in older runs."""
    if not split.has_split:
        return None
    known = set(est.split_["subject"])
    missing = len(known - set(ds.stances["subject"]))
    if missing:
        return f"{missing} of the run's {len(known)} subjects are not in the data"
    if not split.train.any():
        return "none of the run's training subjects are in the data"
    x = est.transform_.unwhitened().transform(ds.curves[split.train])
    shift = float(np.abs(x.astype(np.float64).mean(axis=0)).max())
    if shift > MATCH_TOLERANCE:
        return f"its training stances differ from the run's (mean shift {shift:.3g} of the training SD)"
    return None


def pca_fvu(est, ds, split: Split, n: int) -> float:
    """Time-domain fvu on the scored stances of PCA with n components, fitted on the run's training
    stances in its (unwhitened) input space: the reconstruction a run is held against."""
    base = est.transform_.unwhitened()
    pca = fit_decomposition("pca", base.transform(ds.curves[split.train]), n)
    recon = base.inverse_transform(pca.decode(pca.encode(base.transform(ds.curves[split.scored]))))
    return float(reconstruction_scores(ds.curves[split.scored], recon, ds.channels)["fvu"])


def l0_of(latents: np.ndarray, threshold: float) -> int:
    """The run's numbers per stance: mean count of active columns on its training stances (≥ 1)."""
    return max(1, int(round(float((np.abs(latents) > threshold).sum(axis=1).mean()))))


def _inputs_key(transform, curves: np.ndarray, split: Split) -> str:
    """The identity of the training inputs a baseline is fitted on: the transform's state and the
    training stances' curves (not the inputs themselves, which would cost a transform of every
    training stance), with the split."""
    arrays, info = transform.state_dict()
    digest = hashlib.blake2b(json.dumps(info, sort_keys=True).encode(), digest_size=16)
    for name in sorted(arrays):
        digest.update(np.ascontiguousarray(arrays[name]).data)
    train = np.flatnonzero(split.train)
    for start in range(0, len(train), KEY_BLOCK):  # a block at a time: no copy of every training curve
        digest.update(np.ascontiguousarray(curves[train[start:start + KEY_BLOCK]]).data)
    digest.update(split.train.tobytes() + split.scored.tobytes())
    return digest.hexdigest()


class Scorer:
    """Scores methods on one dataset and split; caches the baselines' and chance rows' recoveries."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.cache: dict = {}

    def prepare(self, est, ds, inputs, truth, split: Split, patterns):
        """Bind the data of one run (its inputs — an array or features.transform.TransformedCurves —,
        truth, split)."""
        self.patterns, self.split = patterns, split
        self.channel_sd = between_stance_sd(ds.curves, split.train)
        truths = {} if truth is None else I.factor_truths(truth, patterns)
        # a factor that does not vary on one side (no patient of a class among the test subjects) has no score
        varies = {k for k, v in truths.items() if np.nanstd(v[split.train]) > 0 and np.nanstd(v[split.scored]) > 0}
        self.truths_train = {k: v[split.train] for k, v in truths.items() if k in varies}
        self.truths_scored = {k: v[split.scored] for k, v in truths.items() if k in varies}
        self.targets = {} if truth is None else {c: y[split.scored] for c, y in class_targets(truth).items()}
        self.base = est.transform_.unwhitened()
        # unwhitened inputs: only the rows asked for are transformed, never all stances at once
        self.inputs = inputs if self.base is est.transform_ else TransformedCurves(self.base, ds.curves)
        self.key = _inputs_key(self.base, ds.curves, split)

    # The training and scored rows are made afresh where a fit or an encode needs them and are not
    # held between (at GaitRec size ~280 MB of copies, analyze's peak; with TransformedCurves inputs
    # each access transforms those stances again).
    @property
    def x_train(self) -> np.ndarray:
        return self.inputs[self.split.train]

    @property
    def x_scored(self) -> np.ndarray:
        return self.inputs[self.split.scored]

    def codes(self, train: np.ndarray, scored: np.ndarray) -> Codes:
        return Codes(train, scored, self.truths_train, self.truths_scored, self.targets)

    def model(self, est, latents: np.ndarray, method: str = "model") -> Recovery:
        """Every column of the run's codes, with the directions its estimator exposes."""
        th = float(est.model_.active_threshold)
        return pattern_recovery(est.feature_directions(), self.patterns, self.channel_sd,
                                self.codes(latents[self.split.train], latents[self.split.scored]), method,
                                threshold=th)

    def _cached(self, method: str, n: int, k: int, make) -> Recovery:
        key = (self.key, method, n, k, self.seed)
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def chance(self, method: str, n: int, k: int) -> Recovery:
        """`exemplars`: n random training vectors; `random`: n random directions; coded by OMP with k."""
        def make():
            rng = np.random.default_rng(self.seed)
            if method == "exemplars":
                n_train = int(np.count_nonzero(self.split.train))
                atoms = self.x_train[rng.choice(n_train, size=min(n, n_train), replace=False)]
            else:
                atoms = rng.normal(size=(n, self.inputs.shape[1]))
            atoms = np.asarray(atoms, dtype=np.float64)
            atoms = atoms / np.maximum(np.linalg.norm(atoms, axis=1, keepdims=True), 1e-12)
            coder = omp_coder(atoms, min(k, len(atoms)))
            with warnings.catch_warnings():  # random stances are nearly dependent: OMP may stop early
                warnings.simplefilter("ignore", category=RuntimeWarning)
                codes = self.codes(coder.transform(self.x_train), coder.transform(self.x_scored))
            return pattern_recovery(self.base.inverse_direction(atoms), self.patterns, self.channel_sd, codes, method)
        return self._cached(method, n, k, make)

    def baseline(self, method: str, n: int, k: int) -> Recovery:
        """One of METHODS with n components (PCA/ICA capped by the dimensions) and OMP's k."""
        def make():
            size = min(n, int(np.count_nonzero(self.split.train)), self.inputs.shape[1]) if method in CAPPED else n
            x = self.x_train  # made once for the fit and its codes, dropped before the scored rows are made
            d = fit_decomposition(method, x, size, k=min(k, size), seed=self.seed)
            train_codes = encode_quietly(d, x)
            del x
            codes = self.codes(train_codes, encode_quietly(d, self.x_scored))
            converged = d.converged if method in ("fastica", "nmf") else None
            return pattern_recovery(self.base.inverse_direction(d.atoms), self.patterns, self.channel_sd, codes,
                                    method, converged)
        return self._cached(method, n, k, make)


def score_run(scorer: Scorer, est, latents, start=None, start_latents=None, methods=METHODS,
              bar=None) -> list[Recovery]:
    """The run, its chance rows (and its untrained start), and `methods` at both sizes; bar: a
    progress bar advanced once per scored method."""
    def done(rec):
        if bar is not None:
            bar.update(1)
        return rec

    model = done(scorer.model(est, latents))
    n, k = len(model.directions), l0_of(latents[scorer.split.train], float(est.model_.active_threshold))
    out = [model]
    if start is not None:
        out.append(done(scorer.model(start, start_latents, "untrained")))
    out += [done(scorer.chance(c, max(n, 1), k)) for c in CHANCE]
    for size in dict.fromkeys((max(n, 1), k)):
        out += [done(scorer.baseline(m, size, k)) for m in methods]
    return out


def recover_runs(run_dirs, dataset, names, methods=METHODS, seed: int = 0, untrained: bool = False,
                 other_data: bool = False, warn=print, progress: bool = False):
    """Every run's recoveries under its name. Returns ([(run name, Recovery)], notes {run: which
    stances were scored}, (patterns, channel_sd, channels) of the first run for the figure). A run whose training data is not `dataset` is refused unless other_data
    (then the data's subjects are split afresh); a run without a split is scored on all stances,
    training stances included, and `warn` says so."""
    from gaitsae.analysis.ground_truth import load_truth
    from gaitsae.errors import DataError
    from gaitsae.estimator import GaitSAE
    from gaitsae.progress import progress as progress_bar

    scorer, pairs, notes, first = Scorer(seed), [], {}, None
    per_run = 1 + untrained + len(CHANCE) + 2 * len(methods)  # at most: the two sizes may coincide
    bar = progress_bar(per_run * len(run_dirs), "truth", "method", progress)
    for run_dir, name in zip(run_dirs, names):
        est = GaitSAE.load(run_dir, progress=False)
        ds, inputs, latents, _, _ = est.round_trip(dataset, reconstruct=False)
        split = split_masks(est, ds.stances)
        if (why := data_mismatch(est, ds, split)) is not None:
            if not other_data:
                raise DataError(f"{run_dir}: not trained on this data ({why}); pass --other-data to score it on "
                                f"this data anyway (its subjects split afresh)")
            split = split_masks(est, ds.stances, other_data=True)
        notes[name] = ("test subjects" if split.has_split and why is None else
                       "test subjects of a fresh split of other data" if split.has_split else
                       "ALL stances, training stances included (the run has no split)")
        if not split.has_split:
            warn(f"warning: {run_dir} has no split.csv: scored on all its stances, training stances included")
        patterns = find_patterns(ds.sources, ds.channels)
        scorer.prepare(est, ds, inputs, load_truth(ds.stances, ds.sources), split, patterns)
        start = start_latents = None
        if untrained:
            start = GaitSAE.load(run_dir, progress=False, untrained=True)
            start_latents = start.round_trip(dataset, reconstruct=False).latents
        pairs += [(name, r) for r in score_run(scorer, est, latents, start, start_latents, methods, bar)]
        first = first or (patterns, scorer.channel_sd, ds.channels)
    bar.close()
    return pairs, notes, first
