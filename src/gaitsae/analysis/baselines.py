"""Classical decompositions to measure SAEs against, fitted the same way everywhere (the sweep's
frontier, benchmarks/baselines.py and planted-pattern recovery all call these):
- PCA with k components (Deluzio & Astephen 2007): dense codes.
- dictionary learning (MiniBatchDictionaryLearning), then codes by orthogonal matching pursuit with
  exactly k non-zeros. The dictionary does not depend on k (it is learned with its own lasso
  codes), so one fitted dictionary serves every k.
- NMF: it needs non-negative input and our vectors are centred, so it runs on the split
  [max(x, 0), max(-x, 0)] (twice the width) and reconstructs as the difference.
- FastICA with unit-variance whitening.
fit_decomposition records whether the iterative fits converged (Decomposition.converged) instead
of muting scikit-learn's ConvergenceWarning: a capped fit is scored, but it is said.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.decomposition import NMF, PCA, FastICA, MiniBatchDictionaryLearning, SparseCoder
from sklearn.exceptions import ConvergenceWarning


@contextmanager
def expected_warnings():
    """The iteration caps are deliberate (fit time is reported), so scikit-learn's "did not
    converge" warnings are expected and muted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        yield


def fit_dictionary(x_train: np.ndarray, n_atoms: int, seed: int = 0, max_iter: int = 30) -> np.ndarray:
    """Atoms [n_atoms, n_features] learned from training vectors [n, n_features]."""
    with expected_warnings():
        return MiniBatchDictionaryLearning(n_components=n_atoms, alpha=0.1, batch_size=256, max_iter=max_iter,
                                           random_state=seed).fit(x_train).components_


def omp_coder(atoms: np.ndarray, k: int) -> SparseCoder:
    """Codes with exactly k non-zero atoms per vector (transform), reconstruction = codes @ atoms."""
    return SparseCoder(dictionary=atoms, transform_algorithm="omp", transform_n_nonzero_coefs=k)


def omp_reconstruct(atoms: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    with expected_warnings():
        return omp_coder(atoms, k).transform(x) @ atoms


METHODS = ("pca", "fastica", "nmf", "dictionary+omp")


@dataclass
class Decomposition:
    """A fitted baseline: reconstruction = decode(encode(x)) = codes @ atoms (+ a constant)."""

    method: str
    atoms: np.ndarray  # [n_codes, n_features]
    encode: Callable[[np.ndarray], np.ndarray]  # x [n, n_features] → codes [n, n_codes]
    decode: Callable[[np.ndarray], np.ndarray]  # codes → x̂ [n, n_features]
    converged: bool = True  # False: scikit-learn warned that the fit stopped at its iteration cap


@contextmanager
def recorded_convergence(out: list):
    """Collect scikit-learn's ConvergenceWarnings into `out` (other warnings muted as before)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("always", category=ConvergenceWarning)
        yield
    out.extend(w for w in caught if issubclass(w.category, ConvergenceWarning))


def _split_signs(x):
    return np.hstack([np.maximum(x, 0), np.maximum(-x, 0)])


def fit_decomposition(method: str, x_train: np.ndarray, n_components: int, k: int | None = None, seed: int = 0,
                      max_iter: int = 30) -> Decomposition:
    """One of METHODS fitted on training vectors [n, n_features]; k: OMP's non-zeros (dictionary+omp,
    default n_components); max_iter: the dictionary's passes. Decomposition.converged records
    whether scikit-learn warned that the fit did not converge."""
    caught: list = []
    with recorded_convergence(caught):
        d = _fit(method, x_train, n_components, k, seed, max_iter)
    d.converged = not caught
    return d


def _fit(method, x_train, n_components, k, seed, max_iter) -> Decomposition:
    if method == "pca":
        m = PCA(n_components=n_components, random_state=seed).fit(x_train)
        return Decomposition(method, m.components_, m.transform, m.inverse_transform)
    if method == "fastica":
        m = FastICA(n_components=n_components, whiten="unit-variance", max_iter=500, random_state=seed).fit(x_train)
        return Decomposition(method, m.mixing_.T, m.transform, m.inverse_transform)
    if method == "nmf":
        d = x_train.shape[1]
        m = NMF(n_components=n_components, init="nndsvda", max_iter=300, random_state=seed)
        m.fit(_split_signs(x_train))
        atoms = m.components_[:, :d] - m.components_[:, d:]
        return Decomposition(method, atoms, lambda x: m.transform(_split_signs(x)), lambda c: c @ atoms)
    if method == "dictionary+omp":
        atoms = fit_dictionary(x_train, n_components, seed, max_iter)  # its pass cap is not a convergence test
        coder = omp_coder(atoms, k or n_components)
        return Decomposition(method, atoms, coder.transform, lambda c: c @ atoms)
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def encode_quietly(decomposition: Decomposition, x: np.ndarray) -> np.ndarray:
    with expected_warnings():
        return decomposition.encode(x)
