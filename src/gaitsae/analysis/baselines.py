"""Classical sparse coding to measure SAEs against: dictionary learning, then codes by orthogonal
matching pursuit with exactly k non-zeros (scikit-learn). The sweep's frontier and
benchmarks/baselines.py both use these, so the rival is the same everywhere.

The dictionary does not depend on k (it is learned with its own lasso codes), so one fitted
dictionary serves every k.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.decomposition import MiniBatchDictionaryLearning, SparseCoder
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
