"""The classification metrics computed in numpy (fast enough for the bootstrap) agree with sklearn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

from gaitsae.clinical.classify import CLASSES, metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics__match_sklearn_with_ties_and_a_missing_class(seed):
    rng = np.random.default_rng(seed)
    n = 60
    y = rng.choice(["HC", "H", "K", "A"], n)  # class C never occurs: its AUC is NaN
    proba = np.round(rng.dirichlet(np.ones(len(CLASSES)), n), 1)  # rounded: many tied scores
    got = metrics(y, proba, CLASSES)
    pred = np.asarray(CLASSES)[proba.argmax(axis=1)]
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert got["macro_f1"] == pytest.approx(f1_score(y, pred, labels=list(CLASSES), average="macro", zero_division=0))
    for i, c in enumerate(CLASSES):
        if c == "C":
            assert np.isnan(got["auc_C"])
        else:
            assert got[f"auc_{c}"] == pytest.approx(roc_auc_score(y == c, proba[:, i]))


def test_representations__pca_fits_on_one_copy_of_the_training_rows_and_leaves_the_inputs_alone():
    """scikit-learn's PCA copied the training rows it was given a second time (~200 MB at GaitRec size)."""
    import tracemalloc

    from sklearn.decomposition import PCA

    from gaitsae.clinical.classify import representations

    rng = np.random.default_rng(0)
    inputs = (rng.normal(size=(40_000, 60)) @ rng.normal(size=(60, 60))).astype(np.float32) + 5.0
    latents = rng.normal(size=(40_000, 8)).astype(np.float32)
    fit = np.arange(len(inputs)) % 5 != 0
    before = inputs.copy()
    tracemalloc.start()
    reps = representations(latents, inputs, fit, "topk", seed=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(inputs, before)
    expected = PCA(n_components=8, random_state=0).fit(inputs[fit]).transform(inputs).astype(np.float32)
    np.testing.assert_array_equal(reps["pca"], expected)
    assert peak < 1.5 * inputs[fit].nbytes  # the one copy of the training rows (and small matrices), not two
