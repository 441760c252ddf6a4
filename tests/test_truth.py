"""Planted-pattern recovery (gaitsae truth), the phantom's planted patterns, and "is it more than
PCA?" (pca_likeness, training_gain)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy.special import betainc

from tests.clifail import fails
from gaitsae.analysis.truth import auc, features_to_reach, pattern_recovery
from gaitsae.channels import CHANNELS, N_POINTS
from gaitsae.cli import main
from gaitsae.data.phantom.curves import stance_curves
from gaitsae.data.phantom.patterns import PATTERNS_FILE, _MeanDraws, _reference, load_patterns, planted_patterns
from gaitsae.report.summary import more_than_pca
from gaitsae.training.metrics import pca_likeness, principal_directions

PATTERNS = planted_patterns()
SD = np.array([0.1, 0.03, 0.01, 0.02, 0.002])  # channel scales of very different size, as in the data
D = len(CHANNELS) * N_POINTS


def _random_directions(rng, n):
    """Directions isotropic in the channel-scaled space the cosine works in."""
    return rng.normal(size=(n, len(CHANNELS), N_POINTS)) * SD[None, :, None]


def expected_max_abs_cos(n: int, d: int = D) -> float:
    """Chance: E max |cos| of n random directions with a fixed one in d dimensions. cos² of a random
    unit vector is Beta(1/2, (d − 1)/2), so E max = ∫ 1 − P(|cos| ≤ t)^n dt over [0, 1]."""
    t = np.linspace(0, 1, 20001)
    return float(np.trapezoid(1 - betainc(0.5, (d - 1) / 2, t ** 2) ** n, t))


def test_pattern_recovery__planted_pattern_as_dictionary_row_scores_one():
    rng = np.random.default_rng(0)
    directions = _random_directions(rng, 32)
    directions[7] = -3.0 * PATTERNS["K"]  # sign and size do not matter
    table = pattern_recovery(directions, PATTERNS, SD).set_index("pattern")
    assert table.loc["K", "best_cos"] == pytest.approx(1.0, abs=1e-9)
    assert table.loc["K", "best_feature"] == 7
    assert table.loc["K", "features_to_0.9"] == 1


def test_pattern_recovery__random_dictionary_scores_chance():
    rng = np.random.default_rng(1)
    n = 32
    table = pattern_recovery(_random_directions(rng, n), PATTERNS, SD)
    chance = expected_max_abs_cos(n)
    assert 0.10 < chance < 0.16  # ≈ sqrt(2 ln 2n / d) for d = 505
    assert table["best_cos"].mean() == pytest.approx(chance, rel=0.25)
    # P(max |cos| > 0.27) < 1e-6 per pattern at chance (tail 2 exp(-d t² / 2) per direction)
    assert (table["best_cos"] < 0.27).all()
    assert table["features_to_0.9"].isna().all()  # 32 random directions span ≈ 32/505 of a pattern


def test_features_to_reach__counts_the_features_whose_span_holds_the_pattern():
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(40, 6)))
    units = q.T  # 6 orthonormal rows
    pattern = 0.8 * units[2] + 0.6 * units[4]
    cos = units @ pattern
    assert features_to_reach(units, pattern, cos) == 2
    assert np.isnan(features_to_reach(units[[0, 1, 3]], pattern, units[[0, 1, 3]] @ pattern))
    dependent = np.vstack([units[2], 2 * units[2], units[4]])  # a repeated row adds nothing
    assert features_to_reach(dependent, pattern, dependent @ pattern) == 3


def test_auc__of_the_best_feature_signed_by_its_cosine():
    rng = np.random.default_rng(3)
    directions = _random_directions(rng, 8)
    directions[2] = -PATTERNS["A"]
    y = np.array([1.0] * 20 + [0.0] * 20 + [np.nan] * 5)
    codes = rng.normal(size=(45, 8))
    # the anti-aligned feature goes negative when A is there
    codes[:, 2] = -(y == 1).astype(float) + 0.1 * rng.normal(size=45)
    table = pattern_recovery(directions, PATTERNS, SD, codes, {"A": y}).set_index("pattern")
    assert table.loc["A", "auc"] == 1.0
    assert np.isnan(table.loc["H", "auc"])  # no targets given for H
    assert np.isnan(auc(np.zeros(3), np.array([1.0, 1.0, np.nan])))  # one group only


def test_planted_patterns__are_the_generators_own_effect():
    """The generator is linear in its knot factors: a noise-free stance with sig_1 = 2 or a class
    at severity 0.5 differs from the reference by 2 × or 0.5 × the planted pattern."""
    base = _reference()

    def curve(**changes):
        return stance_curves({**base, **changes}, _MeanDraws())[0].astype(np.float64)

    reference = curve()
    np.testing.assert_allclose(curve(sig_1=np.array([2.0])) - reference, 2 * PATTERNS["sig_1"], atol=1e-5)
    ill = curve(class_label=np.array(["C"]), severity=np.array([0.5]), affected=np.array([1.0]))
    np.testing.assert_allclose(ill - reference, 0.5 * PATTERNS["C"], atol=1e-5)
    assert set(PATTERNS) == {"speed", "sig_1", "sig_2", "sig_3", "sig_4", "trial_1", "trial_2", "trial_3", "age",
                             "female", "impact", "H", "K", "A", "C"}


def test_phantom__writes_its_planted_patterns_in_every_directory(tiny_patients_dir):
    for name in ("gutenberg", "gaitrec"):
        loaded = load_patterns(tiny_patients_dir / name, ["F_V", "COP_ML"])
        for pattern, values in PATTERNS.items():
            np.testing.assert_allclose(loaded[pattern], values[[0, 4]], rtol=1e-6, atol=1e-12)
    assert load_patterns(tiny_patients_dir) is None  # the parent holds no layout


def test_truth_cli__scores_runs_and_the_four_baselines(explorer_runs, tiny_patients_dir, tmp_path, capsys):
    out = tmp_path / "truth"
    runs = [str(explorer_runs["topk"]), str(explorer_runs["sae"])]  # same split and size: baselines fitted once
    assert main(["truth", *runs, "--data", str(tiny_patients_dir), "--out", str(out), "--untrained"]) == 0
    table = pd.read_csv(out / "truth.csv")
    assert list(table.columns[:6]) == ["pattern", "method", "n_components", "best_cos", "auc", "features_to_0.9"]
    assert set(table["method"]) == {"topk", "topk (untrained)", "sae", "sae (untrained)", "pca", "fastica", "nmf",
                                    "dictionary+omp"}
    assert (table.groupby("method").size() == len(PATTERNS)).all()
    assert (table["n_components"] == 16).all()
    assert table["best_cos"].between(0, 1).all()
    assert table.loc[~table["pattern"].isin(["H", "K", "A", "C"]), "auc"].isna().all()
    assert (out / "truth.png").stat().st_size > 10_000
    assert "SYNTHETIC" in capsys.readouterr().out


def test_truth_cli__refuses_data_without_planted_patterns(explorer_runs, phantom_copy, tmp_path, capsys):
    (phantom_copy / PATTERNS_FILE).unlink()
    err = fails(["truth", str(explorer_runs["topk"]), "--data", str(phantom_copy), "--out", str(tmp_path / "t")],
                capsys)
    assert PATTERNS_FILE in err and str(phantom_copy) in err
    assert not (tmp_path / "t").exists()


def test_analyze__reports_planted_pattern_recovery_on_a_phantom(explorer_runs, tiny_patients_dir, tmp_path):
    from gaitsae.report.run import analyze_run

    run = tmp_path / "topk"
    shutil.copytree(explorer_runs["topk"], run)
    planted = analyze_run(run, data=tiny_patients_dir, progress=False).numbers["planted"]
    assert set(planted["methods"]) == {"model", "pca"}
    assert [r["pattern"] for r in planted["methods"]["model"]["rows"]] == list(PATTERNS)
    assert 0 < planted["methods"]["model"]["mean_max_cosine"] <= 1


def test_pca_likeness__one_for_principal_directions_and_about_zero_for_random_ones():
    rng = np.random.default_rng(4)
    # curves with a few strong shared shapes, channels of very different scale
    shapes = rng.normal(size=(6, len(CHANNELS), N_POINTS))
    curves = (rng.normal(size=(400, 6)) * [5, 4, 3, 2, 1.5, 1]) @ shapes.reshape(6, -1)
    curves = (curves + 0.3 * rng.normal(size=curves.shape)).reshape(400, len(CHANNELS), N_POINTS) * SD[None, :, None]
    alive = np.ones(20, dtype=bool)
    assert pca_likeness(principal_directions(curves), alive, curves) == 1.0
    assert pca_likeness(_random_directions(rng, 20), alive, curves) == 0.0
    half = principal_directions(curves)[:10]
    both = np.concatenate([half, _random_directions(rng, 10)])
    assert pca_likeness(both, alive, curves) == 0.5
    assert pca_likeness(both, np.arange(20) < 10, curves) == 1.0  # only alive features count
    assert np.isnan(pca_likeness(both, np.zeros(20, dtype=bool), curves))


def test_metrics__hold_pca_likeness_and_training_gain(explorer_runs):
    m = json.loads((explorer_runs["topk"] / "metrics.json").read_text())
    assert 0 <= m["pca_likeness"] <= 1
    assert m["fvu_untrained"] > 0
    assert m["training_gain"] == pytest.approx(m["fvu_untrained"] - m["fvu"])


def test_summary__says_when_features_are_principal_directions_or_training_did_not_help():
    pca_like = more_than_pca({"pca_likeness": 0.8, "training_gain": 0.01, "fvu_untrained": 0.1, "fvu": 0.09})
    assert len(pca_like) == 1 and "PCA gives the same" in pca_like[0]
    no_gain = more_than_pca({"pca_likeness": 0.1, "training_gain": -0.002, "fvu_untrained": 0.062, "fvu": 0.064})
    assert len(no_gain) == 1 and "did not improve on its start" in no_gain[0]
    assert more_than_pca({"pca_likeness": 0.2, "training_gain": 0.01, "fvu_untrained": 0.1, "fvu": 0.09}) == []
    assert more_than_pca({}) == []  # runs from before these metrics
