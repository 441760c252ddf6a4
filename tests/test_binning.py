"""Binning the features before gradient boosting changes nothing but the time it takes."""

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from gaitsae.clinical.binning import BalancedQuantileBins, quantile_edges
from gaitsae.clinical.classify import make_model


def _classes(n=900, seed=0):
    """Unbalanced classes (the weighted quantiles differ from the plain ones), > 255 distinct
    values in most features, a few features with fewer, one constant and some ties."""
    rng = np.random.default_rng(seed)
    y = rng.choice(np.array(["HC", "H", "K"]), size=n, p=[0.6, 0.3, 0.1])
    x = rng.normal(size=(n, 6)) + (y == "H")[:, None] * [1.0, 0, 0.5, 0, 0, 0] + (y == "K")[:, None] * [0, 1.0, 0, 0, 0, 0]
    x[:, 3] = np.round(x[:, 3], 1)  # ~60 distinct values: midpoints, not quantiles
    x[:, 4] = 2.0  # constant
    x[:, 5] = np.round(x[:, 5] * 50)  # ties among > 255 values
    return x, y


def test_binned_boosting__same_predictions_as_boosting_the_raw_features():
    x, y = _classes()
    test_x, _ = _classes(seed=1)
    plain = HistGradientBoostingClassifier(max_iter=30, class_weight="balanced", random_state=0).fit(x, y)
    binned = make_model("boosting").set_params(histgradientboostingclassifier__max_iter=30).fit(x, y)
    np.testing.assert_allclose(binned.predict_proba(test_x), plain.predict_proba(test_x), rtol=1e-10, atol=1e-12)


def test_quantile_edges__every_bin_is_used_by_the_training_rows():
    x, y = _classes()
    bins = BalancedQuantileBins().fit(x, y)
    codes = bins.transform(x)
    for f, edges in enumerate(bins.edges_):
        assert set(np.unique(codes[:, f])) == set(range(len(edges) + 1)), f
    assert len(bins.edges_[4]) == 0 and len(bins.edges_[0]) == 254
    assert len(quantile_edges(np.array([np.nan, 1.0, 1.0]), np.ones(3))) == 0


def test_binned_boosting__early_stopping_is_off_and_older_sklearn_bins_itself(monkeypatch):
    """The equivalence holds for scikit-learn >= 1.7 with early stopping off (issue 31, item 7)."""
    from gaitsae.clinical import binning, classify

    model = make_model("boosting")
    assert model.named_steps["histgradientboostingclassifier"].early_stopping is False
    assert isinstance(model.steps[0][1], BalancedQuantileBins) and binning.binning_matches_sklearn()
    assert binning.binning_matches_sklearn("1.7.0") and binning.binning_matches_sklearn("1.10.1")
    assert not binning.binning_matches_sklearn("1.6.1") and not binning.binning_matches_sklearn("0.24")
    monkeypatch.setattr(classify, "binning_matches_sklearn", lambda: False)
    older = make_model("boosting")
    assert [name for name, _ in older.steps] == ["histgradientboostingclassifier"]


def test_binned_boosting__above_10000_rows_same_as_sklearn_without_early_stopping():
    x, y = _classes(n=10_500)
    test_x, _ = _classes(n=200, seed=1)
    plain = HistGradientBoostingClassifier(max_iter=5, class_weight="balanced", early_stopping=False,
                                           random_state=0).fit(x, y)
    binned = make_model("boosting").set_params(histgradientboostingclassifier__max_iter=5).fit(x, y)
    np.testing.assert_allclose(binned.predict_proba(test_x), plain.predict_proba(test_x), rtol=1e-10, atol=1e-12)
