"""The benchmark scripts compare methods under the same rules: what each number was tuned on is
stated (small_data), and the L0 sweep trains the latent count it reports and fills fvu_features
from the feature-space ratio (l0_sweep)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from gaitsae.data import load_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture(scope="module")
def data(tiny_phantom_dir):
    return load_dataset(tiny_phantom_dir, channels=["F_V"], sides=["left"])


@pytest.mark.parametrize("split", ["val", "test"])
def test_small_data__each_row_says_which_split_it_was_tuned_on(data, split):
    import small_data

    out = small_data.evaluate(data, split, "topk", {"epochs": 2, "n_latents": 16, "k": 2})
    assert out["model"]["tuned_on"] == ("val (early stopping) = the reported split" if split == "val"
                                        else "val (early stopping), not the reported test")
    assert out["pca"]["tuned_on"] == out["dictionary+omp"]["tuned_on"] == "nothing (fit on train only)"


def test_l0_sweep__trains_and_reports_the_latents_it_says_and_feature_space_fvu(tiny_phantom_dir):
    import l0_sweep

    ds = load_dataset(tiny_phantom_dir)
    split = l0_sweep.Split(ds)
    point = l0_sweep.fit_sae("topk", ds, split, 2, 1, n_latents=40)
    assert point["n_latents"] == 40  # not the automatic size
    assert point["fvu_features"] != point["fvu"]  # the feature-space ratio, not the time-domain one
    table, _ = l0_sweep.table({("topk", 2): {"method": "topk", "k": 2, **point}})
    assert f"({point['l0']:.1f}; 40)" in table


def _jumprelu_like(lam: float) -> float:
    """Validation L0 against λ as measured on the calibrated phantom in 20 epochs: falls as a
    power of λ between a ceiling and a floor that no λ gets below."""
    return max(9.72, min(65.0, 22.7 * lam ** -0.16))


def _search(l0_sweep, k, fits, max_fits=3):
    for _ in range(max_fits):
        if fits and min(abs(math.log(f["val_l0"] / k)) for f in fits) < math.log(1.1):
            break
        lam = l0_sweep.next_lambda(fits, k)
        if lam is None:
            break
        fits.append({"val_l0": _jumprelu_like(lam), "params": {"l0_weight": lam}})
    return fits


def test_l0_sweep__jumprelu_search_brackets_k_and_stops_at_the_floor():
    import l0_sweep

    fits = []
    for k in (2, 4, 8):  # below the floor: the search stops instead of trying ever larger λ
        fits = _search(l0_sweep, k, fits)
    assert max(f["params"]["l0_weight"] for f in fits) < 1e12
    assert l0_sweep.next_lambda(fits, 4) is None
    for k in (16, 32):  # reachable: bracketed by earlier fits (k = 16) or from one side (k = 32)
        fits = _search(l0_sweep, k, fits)
        assert min(abs(math.log(f["val_l0"] / k)) for f in fits) < math.log(1.1), k


def test_separability__quick_run_scores_both_tasks_and_removes_its_phantom(capsys, tmp_path, monkeypatch):
    import tempfile

    import separability

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert separability.main(["--quick", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC phantom" in out and "healthy vs patient: balanced accuracy" in out
    assert "five classes: balanced accuracy" in out and "verdict: none" in out
    assert list(tmp_path.iterdir()) == []  # the temporary phantom is gone


def test_separability__session_means_are_each_sides_mean_curve(tiny_patients_dir):
    import separability

    ds = load_dataset(tiny_patients_dir / "gaitrec")
    x, meta = separability.session_means(ds)
    assert x.shape == (ds.stances["session"].nunique(), 2 * len(ds.channels) * 101)
    session = meta["session"].iloc[3]
    rows = ds.stances.index[(ds.stances["session"] == session) & (ds.stances["side"] == "right")]
    np.testing.assert_allclose(x[3, x.shape[1] // 2:], ds.curves[rows].mean(0).ravel(), rtol=1e-5)
    assert meta["class_label"].iloc[3] == ds.stances.loc[rows[0], "class_label"]


def test_separability__verdict_names_each_miss():
    import pandas as pd

    import separability

    met = {"binary_balanced_accuracy": 0.87, "five_class_balanced_accuracy": 0.5,
           "main_confusions": {"H": "K", "K": "H", "A": "C", "C": "A"}}
    assert separability.verdict(met) == []
    low = {**met, "binary_balanced_accuracy": 0.72, "main_confusions": {**met["main_confusions"], "C": "K"}}
    misses = separability.verdict(low)
    assert len(misses) == 2 and "0.720 outside 0.85–0.90" in misses[0] and "C→K" in misses[1]
    shares = pd.DataFrame([[.8, .1, .1, 0, 0], [.1, .4, .3, .1, .1], [.1, .3, .4, .1, .1],
                           [0, .1, .1, .5, .3], [0, .1, .2, .1, .6]], index=["HC", "H", "K", "A", "C"], columns=["HC", "H", "K", "A", "C"])
    assert separability.main_confusions(shares) == {"H": "K", "K": "H", "A": "C", "C": "K"}


def test_separability__repeated_folds_keep_subjects_apart_and_shuffle_differently():
    import separability

    rng = np.random.default_rng(0)
    subjects = np.repeat(np.arange(60), 3)  # three sessions per subject
    labels = np.repeat(rng.choice(["HC", "H", "K", "A", "C"], 60), 3)
    folds = list(separability.subject_folds(labels, subjects, seed=2, repeats=3))
    assert len(folds) == 3 * separability.N_SPLITS
    for r in range(3):
        split = folds[r * separability.N_SPLITS:(r + 1) * separability.N_SPLITS]
        tested = np.concatenate([subjects[test] for _, test in split])
        assert sorted(tested) == sorted(subjects)  # every session tested once per shuffle
        for train, test in split:
            assert not set(subjects[train]) & set(subjects[test])  # subject-wise
    first = [frozenset(subjects[test]) for _, test in folds[:separability.N_SPLITS]]
    second = [frozenset(subjects[test]) for _, test in folds[separability.N_SPLITS:2 * separability.N_SPLITS]]
    assert set(first) != set(second)  # each repeat is a different split


def test_separability__medians_run_over_every_fold_of_every_repeat():
    import pandas as pd

    import separability

    rng = np.random.default_rng(1)
    subjects = np.repeat(np.arange(50), 2)
    labels = np.repeat(np.array(["HC", "H", "K", "A", "C"] * 10), 2)
    x = rng.normal(size=(100, 2 * 1 * 40)) + (labels != "HC")[:, None] * 0.5
    meta = pd.DataFrame({"session": np.arange(100), "subject": subjects, "class_label": labels})
    result = separability.separability(x, meta, n_channels=1, seed=0, repeats=2)
    assert len(result["folds"]["binary"]) == len(result["folds"]["five"]) == 2 * separability.N_SPLITS
    assert result["binary_balanced_accuracy"] == np.median(result["folds"]["binary"])
    assert result["repeats"] == 2 and "5 subject-wise folds × 2 shuffles" in separability.report(result)
    with pytest.raises(separability.GaitsaeError, match="repeats must be an integer >= 1"):
        separability.separability(x, meta, n_channels=1, repeats=0)
