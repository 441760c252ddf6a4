"""Subject-wise split and the metric definitions on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitsae.training import metrics as M
from gaitsae.training.split import split_subjects


def _stances(n_subjects, dataset="gutenberg", test=None):
    subjects = np.repeat([f"{dataset}:{i}" for i in range(n_subjects)], 4)
    return pd.DataFrame({"subject": subjects, "dataset": dataset,
                         "test": np.nan if test is None else np.repeat(test, 4)})


def test_split__no_subject_in_two_splits_and_deterministic():
    s = _stances(40)
    split = split_subjects(s, 0.15, 0.15, seed=1)
    assert (s.assign(split=split).groupby("subject").split.nunique() == 1).all()
    assert set(split) == {"train", "val", "test"}
    assert np.array_equal(split, split_subjects(s, 0.15, 0.15, seed=1))
    assert not np.array_equal(split, split_subjects(s, 0.15, 0.15, seed=2))


def test_split__honours_published_test_flags():
    flags = np.array([1, 0] * 10)
    s = pd.concat([_stances(20, "gaitrec", flags), _stances(20, "gutenberg", np.zeros(20))], ignore_index=True)
    split = split_subjects(s, 0.1, 0.15, seed=0)
    gaitrec = s.dataset == "gaitrec"
    assert (split[gaitrec & (s.test == 1)] == "test").all()
    assert not (split[gaitrec & (s.test == 0)] == "test").any()
    assert (split[~gaitrec] == "test").sum() == 3 * 4  # 15 % of the 20 Gutenberg subjects


def test_fvu__mean_predictor_is_one_and_perfect_is_zero():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert M.fvu(x, x) == 0
    assert M.fvu(x, np.tile(x.mean(0), (2, 1))) == 1
    # pooled, not a mean of per-stance ratios: Σ err² = 1, Σ dev² = 1 + 4 + 1 + 4
    assert M.fvu(x, x + np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx(0.1)


def test_sparsity_metrics():
    h = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.5]])
    assert M.l0(h) == 1.5
    assert M.dead_fraction(h) == pytest.approx(1 / 3)
    assert M.firing_summary(h) == {"mean": 0.5, "min": 0.0, "max": 1.0}
    assert M.l0(h, threshold=0.6) == 1.0


def test_peak_amplitude_bias__sign_and_size():
    t = np.linspace(0, 1, 101)
    v = np.sin(np.pi * t) + 0.2 * np.sin(3 * np.pi * t)  # two humps
    curves = v[None, None]
    assert M.peak_amplitude_bias(curves, curves * 0.9, ["F_V"]) == pytest.approx(-0.1)
    assert np.isnan(M.peak_amplitude_bias(curves, curves, ["F_AP"]))


def test_r2_time_per_channel():
    rng = np.random.default_rng(0)
    c = rng.normal(size=(10, 2, 101))
    r = c.copy()
    r[:, 1] = c[:, 1].mean(0)
    assert M.r2_time(c, r, ["F_V", "F_AP"]) == {"F_V": 1.0, "F_AP": pytest.approx(0.0)}
