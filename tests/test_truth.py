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
from gaitsae.analysis import isolation as I
from gaitsae.analysis.baselines import fit_decomposition
from gaitsae.analysis.truth import Codes, auc, features_to_reach, pattern_recovery
from gaitsae.channels import CHANNELS, N_POINTS
from gaitsae.cli import main
from gaitsae.data.phantom.curves import stance_curves
from gaitsae.data.phantom.patterns import PATTERNS_FILE, _MeanDraws, _reference, load_patterns, planted_patterns
from gaitsae.report.summary import more_than_pca
from gaitsae.training.metrics import pca_likeness, principal_directions, reconstruction_scores

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
    table = pattern_recovery(directions, PATTERNS, SD).table.set_index("pattern")
    assert table.loc["K", "best_cos"] == pytest.approx(1.0, abs=1e-9)
    assert table.loc["K", "best_feature"] == 7
    assert table.loc["K", "features_to_0.9"] == 1


def test_pattern_recovery__random_dictionary_scores_chance():
    rng = np.random.default_rng(1)
    n = 32
    table = pattern_recovery(_random_directions(rng, n), PATTERNS, SD).table
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
    repeated = np.vstack([units[2], units[2], units[4]])  # a repeated row is the same feature
    assert features_to_reach(repeated, pattern, repeated @ pattern) == 2


def _twin_codes(rng, n_train=300, n_test=300):
    """A class-A truth, and codes of a half-rectified pair ±v with v = −A: the twin −v (= A) fires
    when A is there, +v never does."""
    out = []
    for n in (n_train, n_test):
        amount = np.where(rng.random(n) < 0.3, rng.uniform(0.3, 1.0, n), 0.0)
        s = -amount + 0.05 * rng.normal(size=n)  # the signed code of v
        out.append((amount, np.stack([np.maximum(s, 0), np.maximum(-s, 0)], axis=1)))
    return out


def test_pattern_recovery__half_rectified_twins_are_one_signed_feature():
    """Before: argmax |cos| tied on the twins picked +v (never firing with A) and signed it by its
    cosine: AUC ≈ 0.75 for a feature pair that carries A exactly; features_to_0.9 counted both."""
    rng = np.random.default_rng(3)
    (a_train, c_train), (a_test, c_test) = _twin_codes(rng)
    directions = np.stack([-PATTERNS["A"], PATTERNS["A"]])
    y = np.where(a_test > 0, 1.0, 0.0)
    rec = pattern_recovery(directions, {"A": PATTERNS["A"]}, SD,
                           Codes(c_train, c_test, {"A": a_train}, {"A": a_test}, {"A": y}))
    row = rec.table.set_index("pattern").loc["A"]
    assert len(rec.directions) == 1  # the pair is one feature
    assert row["auc"] > 0.99
    signed = c_test[:, 0] - c_test[:, 1]  # the merged signed code
    assert row["code_corr"] == pytest.approx(abs(np.corrcoef(signed, a_test)[0, 1]), abs=1e-9)
    assert row["code_corr"] > 0.95 and row["code_cos"] == pytest.approx(1.0) and row["found"]
    assert row["features_to_0.9"] == 1
    assert np.isnan(auc(np.zeros(3), np.array([1.0, 1.0, np.nan])))  # one group only: no AUC


def test_pattern_recovery__found_needs_the_direction_and_the_code():
    rng = np.random.default_rng(5)
    n = 400
    amount = [rng.normal(size=n) for _ in range(2)]  # train, test
    directions = np.concatenate([_random_directions(rng, 6), PATTERNS["speed"][None], PATTERNS["sig_1"][None]])

    def codes(a):  # feature 6 has speed's direction and tracks it; feature 7 has sig_1's direction, random code
        c = rng.normal(size=(n, 8))
        c[:, 6] = 2 * a + 0.3 * rng.normal(size=n)
        return c
    truths = [{"speed": a, "sig_1": rng.normal(size=n)} for a in amount]
    table = pattern_recovery(directions, PATTERNS, SD, Codes(codes(amount[0]), codes(amount[1]), *truths)).table
    t = table.set_index("pattern")
    assert t.loc["speed", "found"] and t.loc["speed", "code_feature"] == 6 and t.loc["speed", "code_corr"] > 0.9
    assert t.loc["sig_1", "best_cos"] == pytest.approx(1.0) and not t.loc["sig_1", "found"]  # looks right, tracks nothing
    assert t.loc["sig_1", "code_corr"] < 0.3
    assert t.loc["H", "found"] is None and np.isnan(t.loc["H", "code_corr"])  # no truth given for H


def test_pattern_recovery__scores_every_column_whatever_its_kind():
    """A model with a dense, signed scaffold beside sparse atoms is scored on both: the scorer asks
    for columns and directions, never for the model's name."""
    rng = np.random.default_rng(11)
    n = 300
    directions = np.concatenate([PATTERNS["age"][None], _random_directions(rng, 4)])

    def codes(a):
        sparse = np.maximum(rng.normal(size=(n, 4)), 0) * (rng.random((n, 4)) < 0.2)
        return np.column_stack([a + 0.2 * rng.normal(size=n), sparse])  # column 0: dense scaffold
    truths = [{"age": rng.normal(size=n)} for _ in range(2)]
    t = pattern_recovery(directions, PATTERNS, SD, Codes(codes(truths[0]["age"]), codes(truths[1]["age"]), *truths))
    row = t.table.set_index("pattern").loc["age"]
    assert row["found"] and row["code_feature"] == 0


def test_truth_table__cells_count_missing_values_instead_of_dropping_them():
    module = _truth_table_module()
    assert module.cell([0.5, np.nan, 0.7]) == "0.60 (0.50–0.70) [1 of 3 missing]"
    assert module.cell([np.nan, np.nan]) == "– (2 of 2 missing)"
    assert module.cell([3, np.nan, 5], 0, never_is_inf=True) == "5 (3–never)"  # never reaching ranks last
    assert module.cell([4, 8], 0, never_is_inf=True) == "6 (4–8)"


def test_pattern_recovery__dead_features_are_left_out():
    rng = np.random.default_rng(6)
    directions = _random_directions(rng, 5)
    directions[4] = PATTERNS["K"]
    train = rng.normal(size=(50, 5))
    train[:, 4] = 0.0  # never active on the training stances
    rec = pattern_recovery(directions, PATTERNS, SD, Codes(train, rng.normal(size=(50, 5))))
    assert len(rec.directions) == 4 and rec.table["best_cos"].max() < 0.5


def test_mcc__one_for_codes_that_are_the_factors_in_any_order():
    rng = np.random.default_rng(7)
    truths = [{f: rng.normal(size=200) for f in ("a", "b", "c")} for _ in range(2)]
    codes = [np.stack([t["c"], 0.5 * t["a"], -t["b"]], axis=1) for t in truths]
    assert I.mcc(codes[0], codes[1], *truths) == pytest.approx(1.0)
    noise = [rng.normal(size=(200, 3)) for _ in range(2)]
    assert I.mcc(noise[0], noise[1], *truths) < 0.3
    assert I.mcc(codes[0][:, :1], codes[1][:, :1], *truths) == pytest.approx(1 / 3)  # one feature, three factors


def test_features_to_reach__counts_twins_once():
    """The ±PCA start holds ±v1, ±v2, …: before, it needed 2m − 1 features where PCA needs m."""
    rng = np.random.default_rng(8)
    q, _ = np.linalg.qr(rng.normal(size=(40, 4)))
    units = q.T
    pattern = units[:3].sum(axis=0) / np.sqrt(3)
    twins = np.stack([units, -units], axis=1).reshape(8, -1)
    assert features_to_reach(units, pattern, units @ pattern) == 3
    assert features_to_reach(twins, pattern, twins @ pattern) == 3


def test_fit_decomposition__records_convergence_instead_of_muting_it():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(300, 12))  # Gaussian noise: no independent components to converge to
    assert fit_decomposition("fastica", x, 12, seed=0).converged is False
    assert fit_decomposition("pca", x, 4).converged is True


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


def test_truth_cli__scores_runs_chance_rows_and_the_baselines_like_for_like(explorer_runs, tiny_patients_dir,
                                                                          tmp_path, capsys):
    out = tmp_path / "truth"
    runs = [str(explorer_runs["topk"]), str(explorer_runs["sae"])]
    assert main(["truth", *runs, "--data", str(tiny_patients_dir), "--out", str(out), "--untrained"]) == 0
    table = pd.read_csv(out / "truth.csv")
    assert list(table.columns[:8]) == ["run", "method", "n_components", "pattern", "code_corr", "code_cos", "found",
                                       "best_cos"]
    assert "features_to_0.9" in table and "converged" in table
    # several runs: every row names its run, so no (run, method, size, pattern) repeats
    assert not table.duplicated(["run", "method", "n_components", "pattern"]).any()
    assert set(table["run"]) == {"topk", "sae"}
    assert set(table["method"]) == {"model", "untrained", "exemplars", "random", "pca", "fastica", "nmf",
                                    "dictionary+omp"}
    topk = table[table["run"] == "topk"]
    distinct = {m: int(topk.loc[topk["method"] == m, "n_distinct"].iloc[0]) for m in ("model", "untrained")}
    assert distinct["untrained"] == 8  # 16 latents of the ±PCA start are 8 ± pairs: one feature each
    # baselines: as many components as the run's distinct features, and as its L0 (k = 4), not its 16 latents
    assert set(topk.loc[topk["method"] == "nmf", "n_components"]) == {distinct["model"], 4}
    assert set(topk.loc[topk["method"].isin(["exemplars", "random"]), "n_components"]) == {distinct["model"]}
    assert table["code_corr"].dropna().between(0, 1).all() and table["best_cos"].between(0, 1).all()
    summary = json.loads((out / "truth.json").read_text())
    assert summary["thresholds"] == {"code_corr": 0.6, "code_cos": 0.9, "twin_cos": 0.99}
    assert {(m["run"], m["method"], m["n_components"]) for m in summary["methods"]} == set(
        map(tuple, table[["run", "method", "n_components"]].drop_duplicates().to_numpy().tolist()))
    assert all(0 <= m["mcc"] <= 1 and 0 <= m["found_class_patterns"] <= 4 for m in summary["methods"])
    assert (out / "truth.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "code_corr >= 0.6" in printed and "code_cos >= 0.9" in printed and "SYNTHETIC" in printed


def test_truth__untrained_pm_pca_start_needs_no_more_features_than_pca(explorer_runs, tiny_patients_dir):
    """Before, twins counted twice: the ±PCA start needed 2m − 1 features where PCA needed m."""
    from gaitsae.analysis.ground_truth import load_truth
    from gaitsae.analysis.truth import find_patterns
    from gaitsae.analysis.truth_runs import Scorer, split_masks
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    start = GaitSAE.load(explorer_runs["topk"], progress=False, untrained=True)
    ds, inputs, latents, _, _ = start.round_trip(load_dataset(tiny_patients_dir, cache=False), reconstruct=False)
    scorer = Scorer()
    scorer.prepare(start, ds, inputs, load_truth(ds.stances, ds.sources), split_masks(start, ds.stances),
                   find_patterns(ds.sources, ds.channels))
    rows = [scorer.model(start, latents, "untrained"), scorer.baseline("pca", 8, 4)]
    start, pca = (r.table.set_index("pattern")["features_to_0.9"] for r in rows)
    both = start.notna() & pca.notna()
    assert both.any()
    assert (start[both] <= pca[both]).all()
    assert (start.notna() >= pca.notna()).all()


def test_truth_scorer__cache_key_holds_k(explorer_runs, tiny_patients_dir):
    """Before, the cache key was (n_latents, training inputs): a run with another k got the first
    run's OMP codes."""
    from gaitsae.analysis.ground_truth import load_truth
    from gaitsae.analysis.truth_runs import Scorer, split_masks
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    est = GaitSAE.load(explorer_runs["topk"], progress=False)
    ds, inputs, _, _, _ = est.round_trip(load_dataset(tiny_patients_dir, cache=False), reconstruct=False)
    scorer = Scorer()
    scorer.prepare(est, ds, inputs, load_truth(ds.stances, ds.sources), split_masks(est, ds.stances),
                   load_patterns(tiny_patients_dir / "gaitrec", ds.channels))
    one, two = scorer.chance("exemplars", 8, 1), scorer.chance("exemplars", 8, 3)
    assert one is not two and scorer.chance("exemplars", 8, 1) is one
    assert not np.allclose(one.codes[0], two.codes[0])


def test_truth_scorer__caps_only_pca_and_ica_by_the_dimensions():
    """Before, NMF and dictionary learning were capped like PCA and FastICA."""
    from types import SimpleNamespace

    from gaitsae.analysis.truth_runs import Scorer, Split

    rng = np.random.default_rng(12)
    lift = rng.normal(size=(10, len(CHANNELS) * N_POINTS))  # 10-dimensional inputs → curves
    scorer = Scorer()
    scorer.patterns, scorer.channel_sd, scorer.key = PATTERNS, SD, "k"
    train = np.arange(100) < 60
    scorer.split = Split(train, ~train, True)
    scorer.truths_train, scorer.truths_scored, scorer.targets = {}, {}, {}
    scorer.inputs = rng.normal(size=(100, 10))
    scorer.base = SimpleNamespace(inverse_direction=lambda v: (v @ lift).reshape(len(v), len(CHANNELS), N_POINTS))
    assert scorer.baseline("pca", 15, 2).n_components == 10
    assert scorer.baseline("nmf", 15, 2).n_components == 15
    assert scorer.baseline("dictionary+omp", 15, 2).n_components == 15


def test_truth_cli__warns_when_a_run_has_no_split(explorer_runs, tiny_patients_dir, tmp_path, capsys):
    run = tmp_path / "topk"
    shutil.copytree(explorer_runs["topk"], run)
    (run / "split.csv").unlink()
    assert main(["truth", str(run), "--data", str(tiny_patients_dir), "--out", str(tmp_path / "t")]) == 0
    assert "no split.csv" in capsys.readouterr().err
    scored = json.loads((tmp_path / "t" / "truth.json").read_text())["scored_on"]["topk"]
    assert "training stances included" in scored


def test_truth_cli__refuses_a_phantom_the_run_was_not_trained_on(explorer_runs, tiny_phantom_dir, tmp_path, capsys):
    err = fails(["truth", str(explorer_runs["topk"]), "--data", str(tiny_phantom_dir), "--out", str(tmp_path / "t")],
                capsys)
    assert "not trained on this data" in err and "--other-data" in err
    assert not (tmp_path / "t").exists()
    assert main(["truth", str(explorer_runs["topk"]), "--data", str(tiny_phantom_dir), "--out", str(tmp_path / "t"),
                 "--other-data"]) == 0
    assert "fresh split" in json.loads((tmp_path / "t" / "truth.json").read_text())["scored_on"]["topk"]


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
    rows = planted["methods"]["model"]["rows"]
    assert [r["pattern"] for r in rows] == list(PATTERNS)
    assert 0 < planted["methods"]["model"]["mean_max_cosine"] <= 1
    assert all(r["code_corr"] is None or 0 <= r["code_corr"] <= 1 for r in rows)
    assert any(r["found"] is not None for r in rows)



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


def test_pca_likeness__one_for_an_exact_pm_pca_start(tiny_patients_dir):
    """Before, the principal directions were found in another space (time domain, SD-scaled) than
    the start's (the run's wavelet features): within near-tied eigenvalues they differ, and an exact
    ±PCA start of 20 pairs scored 0.9 here (0.81 on a larger phantom), not 1."""
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    data = load_dataset(tiny_patients_dir, cache=False)
    start = GaitSAE(model="topk", n_latents=40, k=10, epochs=1, seed=0, progress=False).fit(data).untrained_start()
    ds = start.select(data)
    train = ds.stances["subject"].map(dict(zip(start.split_["subject"], start.split_["split"]))).eq("train")
    alive = np.ones(40, dtype=bool)  # 40 latents = ± the top 20 principal directions
    assert pca_likeness(start.feature_directions(), alive, ds.curves[train.to_numpy()], start.transform_) == 1.0


def test_metrics__fvu_untrained_is_the_saved_start_reconstructing_the_test_stances(explorer_runs, tiny_patients_dir):
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE
    from gaitsae.training.metrics import fvu_time

    m = json.loads((explorer_runs["topk"] / "metrics.json").read_text())
    start = GaitSAE.load(explorer_runs["topk"], progress=False, untrained=True)
    ds = start.select(load_dataset(tiny_patients_dir, cache=False))
    test = ds.subset(ds.stances["subject"].map(dict(zip(start.split_["subject"], start.split_["split"])))
                     .eq("test").to_numpy())
    assert m["fvu_untrained"] == pytest.approx(fvu_time(test.curves, start.reconstruct(test.curves), ds.channels),
                                               rel=1e-5)
    assert m["training_gain"] > -0.05  # training never keeps a start far worse than the best epoch


def test_train_model__keeps_the_untrained_start_when_no_epoch_beats_it():
    """Before, best_loss started at infinity: epoch 0 was kept even when it was worse than the start."""
    import torch

    from gaitsae.training.config import config_from_dict
    from gaitsae.training.engine import train_model

    rng = np.random.default_rng(10)
    basis = rng.normal(size=(2, 12))
    x = (rng.normal(size=(200, 2)) @ basis).astype(np.float32)  # rank 2: the ±PCA start with k = 2 is exact
    config = config_from_dict({"data": {"path": "x"}, "model": {"name": "topk", "n_latents": 4, "k": 2},
                               "training": {"epochs": 3, "learning_rate": 0.05, "seed": 0, "device": "cpu"}})
    result = train_model(config, x[:150], x[150:], progress=False)
    assert result.best_epoch == -1
    for name, value in result.init_state.items():
        torch.testing.assert_close(result.model.state_dict()[name], value)


def test_summary__says_when_features_are_principal_directions_or_training_did_not_help():
    pca_like = more_than_pca({"pca_likeness": 0.8, "training_gain": 0.01, "fvu_untrained": 0.1, "fvu": 0.09})
    assert len(pca_like) == 1 and "PCA gives the same" in pca_like[0]
    no_gain = more_than_pca({"pca_likeness": 0.1, "training_gain": -0.002, "fvu_untrained": 0.062, "fvu": 0.064})
    assert len(no_gain) == 1 and "did not improve on its start" in no_gain[0]
    assert more_than_pca({"pca_likeness": 0.2, "training_gain": 0.01, "fvu_untrained": 0.1, "fvu": 0.09}) == []
    assert more_than_pca({}) == []  # runs from before these metrics


def test_score_run__a_scaffold_run_sizes_its_baselines_with_both_kinds(scaffold_run, tiny_patients_dir):
    """Baselines of the same size: as many components as the run's distinct alive features, scaffold
    axes included, and as many as its numbers per stance (every scaffold axis + k active atoms)."""
    from gaitsae.analysis.ground_truth import load_truth
    from gaitsae.analysis.truth import find_patterns
    from gaitsae.analysis.truth_runs import Scorer, score_run, split_masks
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    est = GaitSAE.load(scaffold_run, progress=False)
    ds, inputs, latents, _, _ = est.round_trip(load_dataset(tiny_patients_dir, cache=False), reconstruct=False)
    scorer = Scorer(0)
    split = split_masks(est, ds.stances)
    scorer.prepare(est, ds, inputs, load_truth(ds.stances, ds.sources), split, find_patterns(ds.sources, ds.channels))
    recs = score_run(scorer, est, latents, methods=("pca",))
    model = recs[0]
    kinds = est.feature_kinds_
    assert model.n_components == len(kinds) == 10
    # scored on both kinds: every scaffold axis is alive (coded on every stance) and kept unless a twin
    alive_sparse = int(np.any(np.abs(latents[split.train][:, kinds == "sparse"]) > est.model_.active_threshold,
                              axis=0).sum())
    assert 2 < len(model.directions) <= 2 + alive_sparse
    pca_sizes = sorted(r.n_components for r in recs if r.method == "pca")
    # numbers per stance: 2 scaffold axes + k = 2 atoms (an atom's magnitude may be exactly 0 on a few stances)
    assert pca_sizes == sorted({len(model.directions), 4})
    assert {r.method for r in recs} >= {"model", "exemplars", "random", "pca"}


def _truth_table_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "truth_table.py"
    spec = importlib.util.spec_from_file_location("truth_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_truth_table__speed_is_scored_on_healthy_controls_only_and_rows_name_the_model():
    from gaitsae.analysis.truth_runs import Split

    module = _truth_table_module()
    truth = pd.DataFrame({"class_label": ["HC", "K", "HC", "A", "HC", np.nan]})
    split = Split(np.array([1, 1, 0, 0, 1, 1], bool), np.array([0, 0, 1, 1, 0, 0], bool), True)
    healthy = module.healthy_split(split, truth)
    assert healthy.train.tolist() == [True, False, False, False, True, False]
    assert healthy.scored.tolist() == [False, False, True, False, False, False]
    assert module.label("model", 36, 36, 8, "scaffold") == "gaitsae scaffold"
    assert module.label("model", 25, 25, 8) == "gaitsae default"


def test_truth_table__pca_fvu_falls_with_components_on_the_scored_stances(tiny_patients_dir):
    from gaitsae.analysis.truth_runs import split_masks
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    module = _truth_table_module()
    data = load_dataset(tiny_patients_dir, cache=False)
    est = GaitSAE(model="topk", n_latents=16, k=4, epochs=1, seed=0, progress=False).fit(data)
    ds = est.select(data)
    masks = split_masks(est, ds.stances, "val")
    one, many = module.pca_fvu(est, ds, masks, 1), module.pca_fvu(est, ds, masks, 12)
    # no component: every scored stance reconstructed as the training mean (fvu may exceed 1 when
    # the few scored subjects walk unlike the training ones, as the calibrated patients' speeds do;
    # one component, fitted in channel-scaled space, need not beat it in the channel-mean fvu)
    scored = ds.curves[masks.scored]
    mean_only = np.broadcast_to(ds.curves[masks.train].mean(axis=0), scored.shape)
    none = reconstruction_scores(scored, mean_only, ds.channels)["fvu"]
    assert 0 < many < one and many < none


def test_truth_scorer__holds_no_copy_of_the_rows_and_scores_transformed_curves_the_same(explorer_runs,
                                                                                         tiny_patients_dir):
    """Before, prepare kept copies of the training and scored rows for the scorer's life (~280 MB at
    GaitRec size, analyze's peak); now each fit makes them, also from inputs transformed on demand."""
    from gaitsae.analysis.ground_truth import load_truth
    from gaitsae.analysis.truth_runs import Scorer, split_masks
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE
    from gaitsae.features.transform import TransformedCurves

    est = GaitSAE.load(explorer_runs["topk"], progress=False)
    ds, inputs, latents, _, _ = est.round_trip(load_dataset(tiny_patients_dir, cache=False), reconstruct=False)
    args = (load_truth(ds.stances, ds.sources), split_masks(est, ds.stances),
            load_patterns(tiny_patients_dir / "gaitrec", ds.channels))
    held, lazy = Scorer(), Scorer()
    held.prepare(est, ds, inputs, *args)
    lazy.prepare(est, ds, TransformedCurves(est.transform_, ds.curves), *args)
    rows = int(args[1].train.sum())
    assert not [k for k, v in vars(held).items() if isinstance(v, np.ndarray) and v.ndim == 2 and len(v) == rows]
    assert lazy.key == held.key
    np.testing.assert_array_equal(lazy.x_scored, held.x_scored)
    for method, n, k in (("pca", 6, 2), ("exemplars", 6, 2)):
        a = held.baseline(method, n, k) if method == "pca" else held.chance(method, n, k)
        b = lazy.baseline(method, n, k) if method == "pca" else lazy.chance(method, n, k)
        pd.testing.assert_frame_equal(a.table, b.table)
        np.testing.assert_array_equal(a.codes[0], b.codes[0])


def test_analyze__later_steps_transform_the_inputs_they_need_with_the_numbers_of_the_held_array(
        explorer_runs, tiny_patients_dir, tmp_path, monkeypatch):
    """Before, analyze held every stance's inputs through all its steps (~330 MB at GaitRec size, at
    its peak memory); the planted-pattern and clinical steps now get TransformedCurves, and every
    number is the one computed from the held array."""
    import gaitsae.report.run as R
    from gaitsae.features.transform import TransformedCurves
    from gaitsae.fsio import json_safe

    run = tmp_path / "topk"
    shutil.copytree(explorer_runs["topk"], run)
    seen = {}

    def spy(name):
        real = getattr(R, name)

        def call(*args, **kwargs):
            seen[name] = args[2] if name == "analyze_planted" else args[0].inputs
            return real(*args, **kwargs)
        monkeypatch.setattr(R, name, call)

    spy("analyze_planted")
    spy("analyze_clinical")
    lazy = R.analyze_run(run, data=tiny_patients_dir, progress=False, force=True).numbers
    assert set(seen) == {"analyze_planted", "analyze_clinical"}
    assert all(isinstance(v, TransformedCurves) for v in seen.values())
    monkeypatch.setattr(R, "TransformedCurves", lambda transform, curves: transform.transform(curves))
    held = R.analyze_run(run, data=tiny_patients_dir, progress=False, force=True).numbers
    assert all(isinstance(v, np.ndarray) for v in seen.values())
    assert json.dumps(json_safe(lazy), sort_keys=True) == json.dumps(json_safe(held), sort_keys=True)
