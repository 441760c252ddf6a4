import numpy as np

from gaitsae.features.cosine import between_stance_sd, cosine_matrix, unit_directions


def test_between_stance_sd__ignores_the_mean_curve_shape():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(500, 2, 101))
    shape = np.sin(np.linspace(0, np.pi, 101)) * 100.0  # a large mean curve on channel 0 only
    curves = noise.copy()
    curves[:, 0] += shape
    np.testing.assert_allclose(between_stance_sd(curves), between_stance_sd(noise))
    assert abs(between_stance_sd(noise)[0] - 1.0) < 0.05


def test_unit_directions__units_do_not_matter_and_dead_rows_stay_zero():
    rng = np.random.default_rng(1)
    curves = rng.normal(size=(300, 2, 101)) * np.array([1.0, 0.001])[None, :, None]
    d = rng.normal(size=(4, 2, 101)) * np.array([1.0, 0.001])[None, :, None]
    d[3] = 0
    sd = between_stance_sd(curves)
    rows = unit_directions(d, sd)
    np.testing.assert_allclose(np.linalg.norm(rows[:3], axis=1), 1.0)
    assert not rows[3].any()
    # rescaling channel 1 (m → mm) in both data and directions leaves the cosines unchanged
    k = np.array([1.0, 1000.0])[None, :, None]
    np.testing.assert_allclose(cosine_matrix(d, d, sd), cosine_matrix(d * k, d * k, between_stance_sd(curves * k)),
                               atol=1e-12)


def test_between_stance_sd__of_chosen_rows_equals_the_sd_of_their_copy():
    curves = np.random.default_rng(4).normal(size=(50, 3, 101)).astype(np.float32) * np.array([1.0, 2.0, 0.1])[None, :, None]
    mask = np.arange(50) % 3 == 0
    np.testing.assert_allclose(between_stance_sd(curves, mask), between_stance_sd(curves[mask]))
    np.testing.assert_allclose(between_stance_sd(curves, np.flatnonzero(mask)), between_stance_sd(curves[mask]))
    assert not np.allclose(between_stance_sd(curves, mask), between_stance_sd(curves))


def test_between_stance_sd__in_blocks_equals_numpy_var_without_copying_the_curves():
    """Blocks of stances give numpy's variance, and the float64 temporaries stay a block's size (the
    curves of a GaitRec-size load are ~320 MB: a float64 copy per channel cost ~130 MB at analyze's peak)."""
    import tracemalloc

    curves = np.random.default_rng(5).normal(size=(30_000, 2, 101)).astype(np.float32) * np.array([3.0, 0.01])[None, :, None]
    curves[:, 0] += 700.0  # a large mean: the two passes keep the precision of the variance
    mask = np.arange(len(curves)) % 4 != 0
    expected = np.sqrt(curves.astype(np.float64).var(axis=0).mean(axis=1))
    tracemalloc.start()
    got = between_stance_sd(curves)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    np.testing.assert_allclose(between_stance_sd(curves, mask),
                               np.sqrt(curves[mask].astype(np.float64).var(axis=0).mean(axis=1)), rtol=1e-10)
    assert peak < curves[:, 0].nbytes  # below one channel's float32 copy (12 MB), let alone its float64 one
    assert (between_stance_sd(curves[:0]) == 1.0).all()  # no stance: scale 1
