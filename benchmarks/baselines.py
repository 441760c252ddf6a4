"""Classical decompositions a biomechanist would reach for, behind one small interface.

Each baseline is fitted on training feature vectors and returns codes and reconstructions for
test vectors; `score` maps them back to curves and scores them with the same function as the
SAEs (gaitsae.training.metrics.score_codes: time-domain fvu per channel, codes' silence, each
code's contribution), so every method is measured in one space.
- PCA with k components (Deluzio & Astephen 2007): dense codes, L0 = k.
- Dictionary learning (scikit-learn MiniBatchDictionaryLearning) with `n_atoms` atoms, codes by
  orthogonal matching pursuit with exactly k non-zeros: the classical sparse-coding rival.
- NMF with k components. NMF needs non-negative input and our vectors are centred, so it runs
  on the split [max(x, 0), max(-x, 0)] (twice the width) and reconstructs as the difference.
- FastICA with k components.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import NMF, PCA, FastICA

from gaitsae.analysis.baselines import expected_warnings as _expected_warnings
from gaitsae.analysis.baselines import fit_dictionary, omp_coder
from gaitsae.training import metrics as M


@dataclass
class BaselineResult:
    method: str
    k: int
    n_atoms: int
    reconstruction: np.ndarray  # [n_test, n_features]
    codes: np.ndarray  # [n_test, n_codes]
    fit_seconds: float
    encode_ms_per_1000: float  # median of REPEATS timed calls on the test vectors
    atoms: np.ndarray  # [n_codes, n_features]: reconstruction = codes @ atoms + a constant
    all_codes: np.ndarray | None = None  # codes of x_all, when given (for the probes)


def score(transform, result: BaselineResult, curves, channels) -> dict:
    """The SAEs' metrics for a baseline on the curves [n, C, 101] whose feature vectors it coded."""
    codes = result.codes

    def removal_changes():
        for j in range(codes.shape[1]):
            rows = np.flatnonzero(codes[:, j] != 0)
            yield -transform.inverse_direction(codes[rows, j:j + 1] * result.atoms[j])

    recon = transform.inverse_transform(result.reconstruction)
    return M.score_codes(curves, recon, channels, codes, removal_changes())


REPEATS = 5


def median_seconds(fn, repeats=REPEATS) -> float:
    """Median wall time of fn() over `repeats` calls (the machines are noisy)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _encode_ms(encode, x_test) -> float:
    """Milliseconds per 1,000 stances (seconds per stance × 1e6)."""
    with _expected_warnings():
        return 1e6 * median_seconds(lambda: encode(x_test)) / len(x_test)


def _timed(fn):
    start = time.perf_counter()
    with _expected_warnings():
        out = fn()
    return out, time.perf_counter() - start


def run_pca(x_train, x_test, k, seed=0, x_all=None) -> BaselineResult:
    model, fit_s = _timed(lambda: PCA(n_components=k, random_state=seed).fit(x_train))
    codes = model.transform(x_test)
    return BaselineResult("pca", k, k, model.inverse_transform(codes), codes, fit_s,
                          _encode_ms(model.transform, x_test), model.components_, _codes(model.transform, x_all))


def run_dictionary(x_train, x_test, k, n_atoms, seed=0, max_iter=30, x_all=None) -> BaselineResult:
    atoms, fit_s = _timed(lambda: fit_dictionary(x_train, n_atoms, seed, max_iter))
    coder = omp_coder(atoms, k)
    codes = _codes(coder.transform, x_test)
    return BaselineResult("dictionary+omp", k, n_atoms, codes @ atoms, codes, fit_s,
                          _encode_ms(coder.transform, x_test), atoms, _codes(coder.transform, x_all))


def _codes(encode, x):
    if x is None:
        return None
    with _expected_warnings():
        return encode(x)


def _split_signs(x):
    return np.hstack([np.maximum(x, 0), np.maximum(-x, 0)])


def run_nmf(x_train, x_test, k, seed=0, x_all=None) -> BaselineResult:
    d = x_train.shape[1]
    model, fit_s = _timed(lambda: NMF(n_components=k, init="nndsvda", max_iter=300,
                                      random_state=seed).fit(_split_signs(x_train)))
    encode = lambda x: model.transform(_split_signs(x))  # noqa: E731
    codes = _codes(encode, x_test)
    atoms = model.components_[:, :d] - model.components_[:, d:]
    return BaselineResult("nmf", k, k, codes @ atoms, codes, fit_s, _encode_ms(encode, x_test), atoms,
                          _codes(encode, x_all))


def run_ica(x_train, x_test, k, seed=0, x_all=None) -> BaselineResult:
    model, fit_s = _timed(lambda: FastICA(n_components=k, whiten="unit-variance", max_iter=500,
                                          random_state=seed).fit(x_train))
    codes = model.transform(x_test)
    return BaselineResult("fastica", k, k, model.inverse_transform(codes), codes, fit_s,
                          _encode_ms(model.transform, x_test), model.mixing_.T, _codes(model.transform, x_all))
