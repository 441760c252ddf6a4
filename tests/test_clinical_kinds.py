"""Clinical code knows the two kinds of feature (issue 28): the deviation index counts every
feature (a scaffold axis by a plain normal score, a sparse feature firing-aware), the pattern
behind a deviation is named by sparse features only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gaitsae.cli import main
from gaitsae.clinical.deviation import cross_fit
from gaitsae.clinical.explain import distinguishing_features, explaining_features
from gaitsae.clinical.pipeline import deviations, encode
from gaitsae.clinical.reference import Z_TYPICAL_FIRING_MAX
from gaitsae.errors import GaitsaeError

KINDS = ["scaffold", "scaffold", "sparse", "sparse", "sparse", "sparse"]


def _healthy_codes(seed=0, n_subjects=100, per_subject=20):
    """A scaffold + sparse code of healthy stances: two normal axes (one with a between-subject
    part, as speed and build have; one off-centre and wide), four latents firing 20 % of the time."""
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)
    n = len(subjects)
    latents = np.zeros((n, len(KINDS)))
    latents[:, 0] = 0.8 * rng.normal(size=n_subjects).repeat(per_subject) + 0.6 * rng.normal(size=n)
    latents[:, 1] = 0.5 + 2.0 * rng.normal(size=n)
    fires = rng.random((n, 4)) < 0.2
    latents[:, 2:] = np.where(fires, rng.gamma(8, 1 / 8, size=fires.shape), 0.0)
    return subjects, latents, np.zeros((n, 1, 101))


def test_deviation__a_scaffold_axis_of_healthy_stances_scores_as_a_standard_normal():
    subjects, latents, curves = _healthy_codes()
    everyone = np.ones(len(subjects), bool)
    dev = cross_fit(latents, curves, ("F_V",), subjects, everyone, kinds=KINDS)
    for j in (0, 1):  # every stance is held out: scored against the folds without its subject
        z = dev.z[:, j]
        assert 0.9 < z.std() < 1.1
        assert np.mean(np.abs(z) > Z_TYPICAL_FIRING_MAX) < 0.02  # N(0, 1): 1 % beyond 2.58
        assert 2.3 < np.percentile(np.abs(z), 99) < 2.9
    ref = dev.model.reference
    assert ref.dense.tolist() == [True, True, False, False, False, False]
    out = np.median(latents[:, 1]) + 3 * ref.dense_scale[1]  # three reference SDs out on axis 1
    assert dev.model.profile(np.r_[np.median(latents, 0)[:1], out, 0, 0, 0, 0][None])[0, 1] == pytest.approx(3.0)


def test_deviation__sparse_features_score_as_before_beside_a_scaffold():
    subjects, latents, curves = _healthy_codes(seed=1)
    everyone = np.ones(len(subjects), bool)
    with_kinds = cross_fit(latents, curves, ("F_V",), subjects, everyone, kinds=KINDS)
    all_sparse = cross_fit(latents, curves, ("F_V",), subjects, everyone)
    assert np.array_equal(with_kinds.z[:, 2:], all_sparse.z[:, 2:])
    assert not np.allclose(with_kinds.z[:, :2], all_sparse.z[:, :2])
    # read as two signs of firing, a normal axis had its tails overweighted (what the kinds fix)
    assert np.mean(np.abs(all_sparse.z[:, 0]) > Z_TYPICAL_FIRING_MAX) > 0.03
    with pytest.raises(GaitsaeError, match="5 feature kinds for 6 features"):
        cross_fit(latents, curves, ("F_V",), subjects, everyone, kinds=KINDS[1:])


def test_deviations__a_scaffold_run_scores_its_axes_by_the_plain_normal_score(scaffold_run, tiny_patients_dir):
    enc = encode(scaffold_run, tiny_patients_dir)
    dev = deviations(enc)
    ref = dev.model.reference
    assert ref.dense.tolist() == (enc.est.feature_kinds_ == "scaffold").tolist() and ref.dense[:2].all()
    outside = (dev.stances["fold"] == -1).to_numpy()  # scored against the full reference
    assert outside.any()
    for j in (0, 1):
        expected = (enc.latents[outside, j] - ref.location[j]) / ref.dense_scale[j]
        assert np.allclose(dev.stances.loc[outside, f"z_{j}"], expected, atol=1e-4)


def test_distinguishing_features__a_scaffold_axis_never_names_the_pattern():
    rng = np.random.default_rng(1)
    rows = [{"subject": f"{c}{s}", "session": f"{c}{s}", "side": side, "class_label": c,
             "affected_side": None if c == "HC" else "left"}
            for c, n in (("HC", 30), ("K", 20)) for s in range(n) for side in ("left", "right")]
    sessions = pd.DataFrame(rows)
    x = rng.normal(size=(len(sessions), 6))
    k = sessions["class_label"].eq("K").to_numpy()
    x[k, 0] += 3.0  # scaffold axis 0: patients walk slower, on both sides
    x[k & sessions["side"].eq("left").to_numpy(), 4] += 1.5  # the sparse pattern, on the affected side
    healthy = sessions["class_label"].eq("HC").to_numpy()
    everything = distinguishing_features(sessions, x, healthy, ["K"], n_boot=10)
    assert everything.loc[everything["rank"] == 1, "feature"].item() == 0  # asked blindly, the axis wins
    explains = explaining_features(["scaffold", "scaffold", "sparse", "sparse", "sparse", "sparse"])
    sparse = distinguishing_features(sessions, x, healthy, ["K"], n_boot=10, explains=explains)
    assert sparse.loc[sparse["rank"] == 1, "feature"].item() == 4
    assert set(sparse["feature"]) <= {2, 3, 4, 5} and len(sparse) == 4


def test_classify_and_deviations__a_scaffold_run(scaffold_run, tiny_patients_dir, tmp_path):
    out = tmp_path / "cls"
    assert main(["classify", str(scaffold_run), "--data", str(tiny_patients_dir), "--out", str(out),
                 "--train-set", "full", "--bootstrap", "10", "--quiet"]) == 0
    features = pd.read_csv(out / "features.csv")
    assert len(features) and (features["feature"] >= 2).all()  # features 0, 1 are the scaffold axes
    dev = tmp_path / "dev.parquet"
    assert main(["deviations", str(scaffold_run), "--data", str(tiny_patients_dir), "--out", str(dev)]) == 0
    stances = pq.read_table(tmp_path / "dev_stances.parquet").to_pandas()
    assert {"z_0", "z_1", "z_9"} <= set(stances.columns)  # the index is computed over both kinds
