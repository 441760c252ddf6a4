"""Classical decompositions a biomechanist would reach for, timed and scored like the SAEs.

Each baseline (fitted by gaitsae.analysis.baselines.fit_decomposition: PCA, dictionary learning
with `n_atoms` atoms and OMP codes with exactly k non-zeros, NMF, FastICA) is fitted on training
feature vectors and returns codes and reconstructions for test vectors; `score` maps them back to
curves and scores them with the same function as the SAEs (gaitsae.training.metrics.score_codes:
time-domain fvu per channel, codes' silence, each code's contribution), so every method is
measured in one space.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from gaitsae.analysis.baselines import expected_warnings as _expected_warnings
from gaitsae.analysis.baselines import fit_decomposition
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


def _run(method, x_train, x_test, k, n_atoms, seed, x_all, **fit) -> BaselineResult:
    d, fit_s = _timed(lambda: fit_decomposition(method, x_train, n_atoms, k=k, seed=seed, **fit))
    codes = _codes(d.encode, x_test)
    return BaselineResult(method, k, n_atoms, d.decode(codes), codes, fit_s, _encode_ms(d.encode, x_test), d.atoms,
                          _codes(d.encode, x_all))


def run_pca(x_train, x_test, k, seed=0, x_all=None) -> BaselineResult:
    return _run("pca", x_train, x_test, k, k, seed, x_all)


def run_dictionary(x_train, x_test, k, n_atoms, seed=0, max_iter=30, x_all=None) -> BaselineResult:
    return _run("dictionary+omp", x_train, x_test, k, n_atoms, seed, x_all, max_iter=max_iter)


def _codes(encode, x):
    if x is None:
        return None
    with _expected_warnings():
        return encode(x)


def run_nmf(x_train, x_test, k, seed=0, x_all=None) -> BaselineResult:
    return _run("nmf", x_train, x_test, k, k, seed, x_all)


def run_ica(x_train, x_test, k, seed=0, x_all=None) -> BaselineResult:
    return _run("fastica", x_train, x_test, k, k, seed, x_all)


def fvu_time(transform, x_hat, curves, channels) -> float:
    """The time-domain fvu every method in the L0 sweep is scored by: feature vectors x̂ are
    inverted to curves [n, C, 101], and each channel's pooled fvu (in its own unit, against its
    own variance) is averaged over the channels. Feature scaling cannot favour a method."""
    from gaitsae.training import metrics as M
    return float(np.mean([1.0 - r for r in M.r2_time(curves, transform.inverse_transform(x_hat), channels).values()]))
