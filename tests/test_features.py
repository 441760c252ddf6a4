"""FeatureTransform: exact round trip, layout, scaling choices, linear inverse of directions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gaitsae.data import load_dataset
from gaitsae.errors import ConfigError, DataError
from gaitsae.features import FeatureTransform


@pytest.fixture(scope="module")
def curves(tiny_phantom_dir):
    ds = load_dataset(tiny_phantom_dir, cache=False)
    return ds.curves, ds.channels


@pytest.mark.parametrize("domain", ["wavelet", "time"])
@pytest.mark.parametrize("scaling", ["channel", "coefficient"])
def test_round_trip__is_exact(curves, domain, scaling):
    c, channels = curves
    ft = FeatureTransform(domain=domain, scaling=scaling).fit(c[:200], channels)
    back = ft.inverse_transform(ft.transform(c[200:]))
    assert np.abs(back - c[200:]).max() < 1e-5


def test_round_trip__channel_subset(curves):
    c, channels = curves
    ft = FeatureTransform().fit(c[:, [0, 3]], ("F_V", "COP_AP"))
    assert ft.n_features_ == 2 * 104
    assert np.abs(ft.inverse_transform(ft.transform(c[:, [0, 3]])) - c[:, [0, 3]]).max() < 1e-5


def test_layout__bands_of_db5_level4_periodization(curves):
    c, channels = curves
    ft = FeatureTransform().fit(c, channels)
    first = ft.layout_[:5]
    assert [(b, stop - start) for _, b, start, stop in first] == [("cA4", 7), ("cD4", 7), ("cD3", 13), ("cD2", 26), ("cD1", 51)]
    assert ft.layout_[5][0] == "F_AP" and ft.layout_[-1][3] == ft.n_features_ == 5 * 104


def test_layout__each_channel_is_pywts_wavedec_of_that_channel(curves):
    import pywt

    c, channels = curves
    ft = FeatureTransform(scaling="coefficient").fit(c, channels)
    raw = ft.transform(c[:7]) * ft.scale_ + ft.mean_  # undo the scaling: the coefficients themselves
    for k, channel in enumerate(channels):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.concatenate(pywt.wavedec(c[:7, k].astype(np.float64), "db5", level=4, mode="periodization"), axis=1)
        start = next(s for ch, _, s, _ in ft.layout_ if ch == channel)
        assert np.allclose(raw[:, start:start + 104], expected, atol=1e-4 * np.abs(expected).max())
    assert np.array_equal(ft.transform(c[3:4]), ft.transform(c[:7])[3:4])  # one stance as in a batch


def test_level_warning_is_handled_not_leaked(curves):
    c, channels = curves
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FeatureTransform().fit(c[:10], channels).transform(c[:10])


def test_scaling__channel_keeps_one_scale_per_channel(curves):
    c, channels = curves
    ft = FeatureTransform(scaling="channel").fit(c, channels)
    per_channel = ft.scale_.reshape(5, 104)
    assert np.allclose(per_channel, per_channel[:, :1])
    x = ft.transform(c)
    assert np.allclose((x.reshape(len(x), 5, 104) ** 2).mean(axis=(0, 2)), 1.0, rtol=1e-3)
    z = FeatureTransform(scaling="coefficient").fit(c, channels).transform(c)
    assert np.allclose(z.std(axis=0), 1.0, atol=1e-3)


def test_inverse_direction__is_linear_without_the_mean(curves):
    c, channels = curves
    ft = FeatureTransform().fit(c, channels)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3, ft.n_features_))
    assert np.allclose(ft.inverse_direction(a + b), ft.inverse_direction(a) + ft.inverse_direction(b), atol=1e-5)
    assert np.abs(ft.inverse_direction(np.zeros((1, ft.n_features_)))).max() == 0
    # The full inverse is the direction's image plus the mean curve.
    mean_curve = ft.inverse_transform(np.zeros((1, ft.n_features_)))
    assert np.allclose(ft.inverse_transform(a), ft.inverse_direction(a) + mean_curve, atol=1e-5)


def test_state_round_trip(curves):
    c, channels = curves
    ft = FeatureTransform(domain="time", scaling="coefficient").fit(c, channels)
    arrays, info = ft.state_dict()
    again = FeatureTransform.from_state(arrays, info)
    assert np.array_equal(again.transform(c), ft.transform(c))


def test_unknown_domain_is_refused(curves):
    c, channels = curves
    with pytest.raises(ConfigError, match="features.domain must be one of"):
        FeatureTransform(domain="fourier").fit(c, channels)


@pytest.mark.parametrize("mode", ["symmetric", "zero"])
def test_round_trip__other_boundary_modes_are_exact_too(curves, mode):
    c, channels = curves
    ft = FeatureTransform(mode=mode).fit(c, channels)
    assert ft.n_features_ == 5 * 135  # these modes keep the filter's overhang: more coefficients
    assert np.abs(ft.inverse_transform(ft.transform(c)) - c).max() < 1e-5


def test_layout__time_domain_is_one_block_per_channel(curves):
    c, channels = curves
    ft = FeatureTransform(domain="time").fit(c, channels)
    assert ft.layout_ == [(ch, "time", 101 * i, 101 * (i + 1)) for i, ch in enumerate(channels)]
    x = FeatureTransform(domain="time", scaling="coefficient").fit(c, channels).transform(c)
    # the flattening is channel-major: feature 101 + t is F_AP at t
    f_ap_50 = c[:, 1, 50].astype(np.float64)
    assert np.allclose(x[:, 151], (f_ap_50 - f_ap_50.mean()) / f_ap_50.std(), atol=1e-4)


def test_bad_settings_and_shapes_are_user_errors(curves):
    c, channels = curves
    with pytest.raises(ConfigError, match="features.wavelet"):
        FeatureTransform(wavelet="db99").fit(c, channels)
    with pytest.raises(ConfigError, match="features.mode"):
        FeatureTransform(mode="mirror").fit(c, channels)
    ft = FeatureTransform().fit(c, channels)
    with pytest.raises(DataError, match=r"5 channels .* got shape \(4, 3, 101\)"):
        ft.transform(c[:4, :3])


def test_whiten__unit_covariance_on_training_and_exact_within_kept_dimensions(curves):
    c, channels = curves
    ft = FeatureTransform(scaling="whiten", whiten_dims=4096).fit(c[:200], channels)
    assert ft.n_features_ < 200  # fewer dimensions than asked: only those the training stances span
    x = ft.transform(c[:200]).astype(np.float64)
    assert np.allclose(np.cov(x, rowvar=False), np.eye(ft.n_features_), atol=1e-3)
    # every training stance lies in the kept span: the round trip is exact for them
    assert np.abs(ft.inverse_transform(x) - c[:200]).max() < 1e-4


def test_whiten__keeps_whiten_dims_and_its_inverse_is_linear(curves):
    c, channels = curves
    ft = FeatureTransform(scaling="whiten", whiten_dims=12).fit(c, channels)
    assert ft.n_features_ == 12 and ft.transform(c).shape == (len(c), 12)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 12))
    mean_curve = ft.inverse_transform(np.zeros((1, 12)))
    assert np.allclose(ft.inverse_transform(a), ft.inverse_direction(a) + mean_curve, atol=1e-5)
    # the kept dimensions are the principal ones: the round trip loses only the small rest
    back = ft.inverse_transform(ft.transform(c))
    residual = ((back - c) ** 2).sum() / ((c - c.mean(axis=0)) ** 2).sum()
    assert residual < 0.05, residual


def test_whiten__coefficient_weights_read_the_same_as_feature_weights(curves):
    c, channels = curves
    ft = FeatureTransform(scaling="whiten", whiten_dims=20).fit(c, channels)
    w = np.random.default_rng(1).normal(size=(4, 20))
    scaled = FeatureTransform(scaling="channel").fit(c, channels).transform(c).astype(np.float64)
    assert np.allclose(ft.transform(c) @ w.T, scaled @ ft.coefficient_weights(w).T, atol=1e-3)
    assert ft.coefficient_weights(w).shape == (4, len(ft.mean_)) and ft.layout_[-1][3] == 520


def test_whiten__state_round_trip_and_bad_settings(curves):
    c, channels = curves
    ft = FeatureTransform(scaling="whiten", whiten_dims=16).fit(c, channels)
    arrays, info = ft.state_dict()
    again = FeatureTransform.from_state(arrays, info)
    assert np.array_equal(again.transform(c), ft.transform(c))
    with pytest.raises(ValueError, match="basis/sd"):
        FeatureTransform.from_state({**arrays, "sd": arrays["sd"][:3]}, info)
    with pytest.raises(ConfigError, match="features.whiten_dims must be an integer"):
        FeatureTransform(scaling="whiten", whiten_dims=0).fit(c, channels)


def test_whiten__unwhitened_is_the_channel_scaling(curves):
    c, channels = curves
    ft = FeatureTransform(scaling="whiten", whiten_dims=10).fit(c, channels)
    channel = FeatureTransform(scaling="channel").fit(c, channels)
    assert np.allclose(ft.unwhitened().transform(c), channel.transform(c))
    assert channel.unwhitened() is channel


@pytest.mark.parametrize("scaling", ["channel", "coefficient"])
def test_fit_and_transform_block_by_block_match_the_whole(curves, scaling, monkeypatch):
    """Large datasets are transformed in blocks (bounded float64 memory); the result must not change."""
    from gaitsae.features import transform as module
    data, channels = curves
    whole = FeatureTransform(scaling=scaling)
    x_whole = whole.fit_transform(data, channels)
    monkeypatch.setattr(module, "BLOCK", 7)
    blocks = FeatureTransform(scaling=scaling)
    x_blocks = blocks.fit_transform(data, channels)
    assert len(data) > 3 * 7
    np.testing.assert_allclose(blocks.mean_, whole.mean_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks.scale_, whole.scale_, rtol=1e-12)
    np.testing.assert_allclose(x_blocks, x_whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(blocks.inverse_transform(x_blocks), whole.inverse_transform(x_whole), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(blocks.inverse_direction(x_blocks), whole.inverse_direction(x_whole), rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("scaling", ["channel", "whiten"])
def test_transform__rows_are_those_rows_of_the_whole_transform(curves, scaling, monkeypatch):
    """Before, transform took no rows: a step that needed some stances' inputs copied their curves
    whole, or held every stance's inputs (~330 MB at GaitRec size, analyze's peak)."""
    from gaitsae.features import transform as module
    from gaitsae.features.transform import TransformedCurves

    data, channels = curves
    t = FeatureTransform(scaling=scaling, whiten_dims=8).fit(data, channels)
    whole = t.transform(data)
    monkeypatch.setattr(module, "BLOCK", 7)  # rows in several blocks, not the whole's blocks
    mask = np.arange(len(data)) % 3 != 1
    picked = np.array([5, 0, len(data) - 1, 5])  # any order, repeats allowed
    assert mask.sum() > 3 * 7
    exact = np.testing.assert_array_equal if scaling == "channel" else (
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6))  # whitening multiplies in blocks
    exact(t.transform(data, mask), whole[mask])
    exact(t.transform(data, picked), whole[picked])
    assert t.transform(data, np.zeros(len(data), dtype=bool)).shape == (0, whole.shape[1])
    lazy = TransformedCurves(t, data)
    assert lazy.shape == whole.shape and len(lazy) == len(whole) and lazy.dtype == whole.dtype
    exact(lazy[mask], whole[mask])
    exact(np.asarray(lazy), whole)
    assert np.asarray(lazy, dtype=np.float64).dtype == np.float64
