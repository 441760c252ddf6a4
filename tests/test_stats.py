"""Calibration statistics: exact on constructed data, robust to one channel / one side / no speed."""

from __future__ import annotations

import numpy as np

from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.data.stats import (
    between_share, dataset_stats, grf_parameters, high_frequency_share, pca_residual_shares, trial_cv,
)

T = np.linspace(0.0, 1.0, 101)


def test_pca_residual__rank_two_curves_leave_nothing_after_two_components():
    rng = np.random.default_rng(0)
    curves = rng.normal(size=(200, 2)) @ np.vstack([np.sin(np.pi * T), np.sin(2 * np.pi * T)]) + 1.0
    shares = pca_residual_shares(curves)
    assert shares[1] > 0.2 and shares[3] < 1e-12 and set(shares) == {1, 3, 5, 8, 12}


def test_high_frequency_share__counts_deviations_at_or_above_ten_cycles():
    rng = np.random.default_rng(1)
    mean = 5.0 * np.sin(np.pi * T)  # the mean curve itself does not count
    slow = mean + rng.normal(size=(50, 1)) * np.cos(2 * np.pi * 3 * T)
    fast = mean + rng.normal(size=(50, 1)) * np.cos(2 * np.pi * 15 * T)
    assert high_frequency_share(slow) < 1e-3
    assert high_frequency_share(fast) > 0.99


def test_between_share__recovers_known_variance_components():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(400), 8)
    values = rng.normal(0, 2.0, 400)[groups] + rng.normal(0, 1.0, len(groups))  # ICC = 4 / 5
    assert abs(between_share(values, groups) - 0.8) < 0.04
    assert abs(between_share(rng.normal(size=len(groups)), groups)) < 0.05


def test_trial_cv__is_the_median_within_group_sd_over_mean():
    values = np.array([9.0, 10.0, 11.0, 18.0, 20.0, 22.0, 5.0, 7.0])  # last group too small
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    assert np.isclose(trial_cv(values, groups), 0.1)


def test_grf_parameters__find_the_double_hump_landmarks(tiny_phantom_dir):
    ds = load_dataset(tiny_phantom_dir, channels=["F_V", "F_AP"], sides=["left"])
    p = grf_parameters(ds)
    assert list(p.columns) == ["fv_peak1", "fv_trough", "fv_peak2", "fv_impulse", "fap_braking", "fap_propulsion"]
    assert ((p.fv_trough < p.fv_peak1) & (p.fv_trough < p.fv_peak2)).all()
    assert (p.fap_braking > 0.05).all() and (p.fap_propulsion > 0.05).all()
    assert 0.7 < p.fv_impulse.median() < 0.95


def test_dataset_stats__one_channel_one_side_without_speed(tiny_phantom_dir):
    ds = load_dataset(tiny_phantom_dir, channels=["COP_ML"], sides=["right"])
    ds.stances["walking_speed_m_per_s"] = np.nan
    stats = dataset_stats(ds)
    assert set(stats["pca_residual"]) == {"COP_ML"} and stats["parameters"] == {}
    assert 0 < stats["hf_share"]["COP_ML"] < 1


def test_cli_inspect_stats__prints_datasets_side_by_side_with_targets(tiny_phantom_dir, tiny_patients_dir, capsys):
    assert main(["inspect", "--stats", str(tiny_phantom_dir), str(tiny_patients_dir / "gaitrec"),
                 "--channels", "F_V", "--sides", "left"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("statistic"))
    assert "(SYNTHETIC)" in header and "gaitrec" in header and "target" in header
    row = next(line for line in out.splitlines() if line.startswith("F_V PCA residual after 5"))
    assert row.split()[-1] == "0.014–0.075"  # the documented real range
    assert "fv_peak1 between-trial CV" in out and "F_AP" not in out
