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


def test_peak_error__per_peak_signed_and_absolute_do_not_cancel():
    t = np.linspace(0, 1, 101)
    v = np.sin(np.pi * t) + 0.2 * np.sin(3 * np.pi * t)  # two humps
    curves = np.stack([v, v])[:, None]
    recon = np.stack([v * 0.9, v * 1.1])[:, None]  # −10 % on one stance, +10 % on the other
    e = M.peak_error(curves, recon, ["F_V"])
    for peak in ("first", "second"):
        assert e[peak]["signed"] == pytest.approx(0.0, abs=1e-12)
        assert e[peak]["absolute"] == pytest.approx(0.1)
    assert M.peak_error(curves, curves * 0.9, ["F_V"])["second"]["signed"] == pytest.approx(-0.1)
    assert M.peak_error(curves, curves, ["F_AP"]) is None


def test_r2_time_per_channel():
    rng = np.random.default_rng(0)
    c = rng.normal(size=(10, 2, 101))
    r = c.copy()
    r[:, 1] = c[:, 1].mean(0)
    assert M.r2_time(c, r, ["F_V", "F_AP"]) == {"F_V": 1.0, "F_AP": pytest.approx(0.0)}


def test_reconstruction_scores__mean_of_channel_fvus_in_physical_units():
    # F_V in BW varies 100x more than COP_AP in m; each channel still counts once.
    c = np.zeros((2, 2, 101))
    c[0, 0], c[1, 0] = 1.0, -1.0  # F_V: Σ(x − x̄)² = 202
    c[0, 1], c[1, 1] = 0.01, -0.01  # COP_AP: Σ(x − x̄)² = 0.0202
    r = c.copy()
    r[0, 0] += 0.1  # F_V: Σ err² = 1.01 → fvu 0.005
    r[:, 1] = 0.0  # COP_AP: the mean curve → fvu 1
    s = M.reconstruction_scores(c, r, ["F_V", "COP_AP"])
    assert s["fvu_channel"] == {"F_V": pytest.approx(0.005), "COP_AP": pytest.approx(1.0)}
    assert s["fvu"] == pytest.approx((0.005 + 1.0) / 2)
    assert s["r2_time"]["COP_AP"] == pytest.approx(0.0)
    assert s["rmse"] == {"F_V": pytest.approx(np.sqrt(1.01 / 202)), "COP_AP": pytest.approx(0.01)}


def test_contribution_shares__removal_change_relative_to_each_channels_variance():
    c = np.zeros((2, 2, 101))
    c[0], c[1] = 1.0, -1.0  # Σ(x − x̄)² = 202 per channel
    big = np.full((1, 2, 101), 1.0)  # zeroing it moves one stance by 1 everywhere: 101 per channel
    small = np.zeros((2, 2, 101))
    small[:, 1] = 0.01  # only the second channel, 2 · 101 · 1e-4
    shares = M.contribution_shares(c, [big, small, np.zeros((0, 2, 101))])
    assert shares == pytest.approx([0.5, (0 + 2 * 101e-4 / 202) / 2, 0.0])
    assert M.low_contribution_fraction(shares, tolerance=1e-3) == pytest.approx(2 / 3)
