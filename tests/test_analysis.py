"""Each analysis on data where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitsae.analysis.activations import feature_types
from gaitsae.analysis.ground_truth import analyze_ground_truth
from gaitsae.analysis.importance import importance, redundancy, summed_variance
from gaitsae.analysis.latent_space import clusters
from gaitsae.analysis.metadata import analyze_metadata, benjamini_hochberg
from gaitsae.analysis.probing import analyze_probes, pca_arm, probe, probe_roles, top_columns
from gaitsae.analysis.strides import stride_card, top_stances


@pytest.fixture(scope="module")
def planted():
    """60 subjects × 10 stances; latent 3 tracks walking speed, latent 0 never fires,
    latents 5 and 6 are duplicates, the rest are sparse noise."""
    rng = np.random.default_rng(0)
    n_subj, per = 60, 10
    subject = np.repeat([f"gutenberg:{i}" for i in range(n_subj)], per)
    speed = np.repeat(rng.normal(1.45, 0.15, n_subj), per) + rng.normal(0, 0.03, n_subj * per)
    age = np.repeat(rng.uniform(18, 60, n_subj), per)
    stances = pd.DataFrame({
        "subject": subject, "side": np.tile(["left", "right"], n_subj * per // 2),
        "walking_speed_m_per_s": speed, "age_years": age,
        "height_cm": np.repeat(rng.normal(175, 8, n_subj), per),
        "body_weight_n": np.repeat(rng.normal(700, 90, n_subj), per),
        "bmi_kg_per_m2": np.repeat(rng.normal(23, 2, n_subj), per),
        "sex_code": np.repeat(rng.integers(0, 2, n_subj), per).astype(float),
    })
    latents = np.maximum(rng.normal(-1, 1, (len(stances), 10)), 0)
    latents[:, 0] = 0
    latents[:, 3] = 2.0 * (speed - speed.min()) + 0.01
    latents[:, 6] = latents[:, 5]
    inputs = rng.normal(size=(len(stances), 20))
    return latents, stances, inputs, speed


def run_split(subjects, train=0.7, val=0.15) -> pd.DataFrame:
    """A run's split.csv: the first 70 % of subjects train, the next 15 % val, the rest test."""
    names = list(dict.fromkeys(subjects))
    n_train, n_val = int(train * len(names)), int(val * len(names))
    return pd.DataFrame({"subject": names,
                         "split": ["train"] * n_train + ["val"] * n_val + ["test"] * (len(names) - n_train - n_val)})


def roles_of(stances):
    subjects = stances["subject"].to_numpy()
    return probe_roles(subjects, run_split(subjects))


def test_metadata__planted_speed_feature_tops_the_speed_correlation(planted):
    latents, stances, _, _ = planted
    out, figures = analyze_metadata(latents, stances)
    assert out["walking_speed_m_per_s"]["best_feature"] == 3
    assert out["walking_speed_m_per_s"]["best_abs_r"] > 0.99
    assert out["walking_speed_m_per_s"]["best_q"] < 1e-10
    assert out["age_years"]["level"] == "subject" and out["age_years"]["n"] == 60
    assert out["walking_speed_m_per_s"]["pearson_r"][0] is None  # a constant feature: r undefined
    assert figures["metadata_scatter"].startswith("<svg")


def test_probes__planted_feature_wins_the_top1_speed_probe(planted):
    latents, stances, inputs, _ = planted
    probes = analyze_probes(latents, inputs, stances, roles_of(stances))
    speed = probes["walking_speed_m_per_s"]
    assert speed["n_subjects"] == 9 and speed["n_fit_subjects"] == 42  # test subjects scored, train fitted
    assert speed["sae_top1"] > 0.95
    assert speed["sae_top1"] > speed["pca_top1"] + 0.5  # PCA of unrelated inputs cannot do it
    assert probes["sex_code"]["metric"] == "balanced_accuracy"


def test_metadata__null_latents_give_about_5_percent_false_positives():
    """Latents = a random level per subject (plus stance noise), unrelated to any attribute, with
    many stances per subject: per-stance tests would flag most of them; ours ≈ 5 %."""
    rng = np.random.default_rng(1)
    n_subj, per, n_latents = 30, 40, 400
    subject = np.repeat([f"gutenberg:{i}" for i in range(n_subj)], per)
    stances = pd.DataFrame({
        "subject": subject,
        "walking_speed_m_per_s": np.repeat(rng.normal(1.4, 0.15, n_subj), per) + rng.normal(0, 0.05, n_subj * per),
        **{c: np.repeat(rng.normal(size=n_subj), per) for c in ("age_years", "height_cm", "body_weight_n", "bmi_kg_per_m2")},
        "sex_code": np.repeat(rng.integers(0, 2, n_subj), per).astype(float),
    })
    latents = np.repeat(rng.normal(size=(n_subj, n_latents)), per, axis=0) + rng.normal(0, 0.3, (n_subj * per, n_latents))
    out, _ = analyze_metadata(latents, stances)
    for column in ("walking_speed_m_per_s", "age_years", "sex_code"):
        p = np.array(out[column]["pearson_p"], dtype=float)
        assert 0.02 <= (p < 0.05).mean() <= 0.09, column
        assert out[column]["n"] == n_subj


def test_probes__every_arm_uses_one_selection_rule():
    """The target follows the 4th principal direction of the inputs. Top-1 by |r| on the fitting
    subjects finds it among the SAE's latents and among all PCA components alike; the first PC does not."""
    rng = np.random.default_rng(2)
    n_subj, per = 40, 10
    groups = np.repeat(np.arange(n_subj), per)
    scores = rng.normal(size=(n_subj * per, 6)) * np.array([8.0, 6.0, 4.0, 2.0, 1.0, 0.5])
    basis = np.linalg.qr(rng.normal(size=(12, 6)))[0].T  # orthonormal rows
    inputs = scores @ basis
    y = scores[:, 3] + rng.normal(0, 0.1, len(groups))
    latents = scores[:, [5, 0, 3, 1, 4, 2]]  # the principal scores, shuffled: the same information
    assert list(top_columns(latents, y, 1)) == [2]
    fit, score = groups < 30, groups >= 30
    sae = probe(latents[fit], y[fit], latents[score], y[score], "regression", 1)
    pcs = pca_arm(inputs[fit], inputs[score])
    pca_top = probe(pcs[0], y[fit], pcs[1], y[score], "regression", 1)
    pca_first = probe(pcs[0], y[fit], pcs[1], y[score], "regression", 1, select="first")
    assert sae > 0.95 and pca_top > 0.95 and abs(sae - pca_top) < 0.02
    assert pca_first < 0.1


def test_probes__an_sae_that_memorised_its_training_subjects_scores_nothing_on_others():
    """Latent 0 holds each TRAINING subject's age exactly (what a model that memorised its
    training data could do) and noise for everyone else. Cross-validating over all stances
    would reward it (its test folds are mostly training subjects); scored on the run's test
    subjects it predicts nothing, while a latent that tracks age for everyone still does."""
    rng = np.random.default_rng(4)
    n_subj, per = 100, 8
    subjects = np.repeat([f"gutenberg:{i}" for i in range(n_subj)], per)
    age = np.repeat(rng.uniform(18, 80, n_subj), per)
    stances = pd.DataFrame({"subject": subjects, "age_years": age})
    roles = roles_of(stances)
    memorised = np.where(roles == "fit", age, rng.normal(50, 17, len(age)))
    latents = np.column_stack([memorised, rng.normal(size=(len(age), 3))])
    inputs = rng.normal(size=(len(age), 6))
    out = analyze_probes(latents, inputs, stances, roles)["age_years"]
    assert out["sae_top1"] < 0.1 and out["sae_all"] < 0.1
    assert out["n_subjects"] == 15 and out["n_stances"] == 15 * per
    honest = latents.copy()
    honest[:, 0] = age + rng.normal(0, 2, len(age))
    assert analyze_probes(honest, inputs, stances, roles)["age_years"]["sae_top1"] > 0.9


def test_probes__no_split_no_probes(planted):
    latents, stances, inputs, _ = planted
    assert probe_roles(stances["subject"].to_numpy(), None) is None
    assert analyze_probes(latents, inputs, stances, None) == {}


def test_activations__never_firing_latent_is_dead(planted):
    latents, _, _, _ = planted
    types = feature_types(latents)
    assert types[0] == "dead"
    assert types[3] == "dense-unimodal"
    assert types[1] == "sparse-bimodal"


def test_redundancy__duplicated_features_give_r_one(planted):
    latents, _, _, _ = planted
    red = redundancy(latents)
    assert red["max_abs_r"] == pytest.approx(1.0)
    assert sorted(red["pair"]) == [5, 6]
    assert 0 not in red["matrix_features"]  # dead features are left out


def test_importance__share_of_variance():
    latents = np.array([[0.0, 1.0], [2.0, 1.0], [0.0, 1.0], [2.0, 1.0]])
    directions = np.array([[1.0, 0.0], [0.0, 1.0]])
    inputs = latents @ directions
    assert np.allclose(importance(latents, directions, inputs), [1.0, 0.0])


def test_benjamini_hochberg__hand_example():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan]))
    assert np.allclose(q[:3], [0.03, 0.04, 0.04]) and np.isnan(q[3])


def test_clusters__well_separated_groups_have_high_silhouette():
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 20, (5, 6))
    latents = np.vstack([c + rng.normal(0, 0.5, (40, 6)) for c in centres])
    stances = pd.DataFrame({"walking_speed_m_per_s": np.repeat(np.arange(5.0), 40)})
    out, _ = clusters(latents, stances, k=5)
    assert out["silhouette"] > 0.8
    assert sorted(p["walking_speed_m_per_s"] for p in out["profiles"]) == [0, 1, 2, 3, 4]


def test_ground_truth__finds_the_planted_factor(planted):
    latents, stances, _, speed = planted
    truth = pd.DataFrame({"walking_speed_m_per_s": speed, "noise": np.random.default_rng(3).normal(size=len(speed))})
    out = analyze_ground_truth(latents, truth, stances, roles_of(stances))
    assert out["walking_speed_m_per_s"]["best_feature"] == 3
    assert out["walking_speed_m_per_s"]["probe_r2"] > 0.9
    assert out["noise"]["probe_r2"] < 0.2


def test_top_stances__strongest_first_at_most_two_per_subject_and_only_active(planted):
    latents, stances, _, _ = planted
    subjects = stances["subject"].to_numpy()
    idx = top_stances(latents, 3, subjects, k=6)
    assert len(idx) == 6 and pd.Series(subjects[idx]).value_counts().max() <= 2 and len(set(subjects[idx])) >= 3
    two_per_subject = (pd.DataFrame({"s": subjects, "v": latents[:, 3]}).sort_values("v", ascending=False)
                       .groupby("s").head(2)["v"].to_numpy())
    assert list(latents[idx, 3]) == list(two_per_subject[:6])  # the strongest stances that the cap allows
    assert len(set(subjects[top_stances(latents, 3, subjects, k=5, per_subject=1)])) == 5
    assert len(top_stances(latents, 0, subjects, k=5)) == 0


def test_summed_variance__block_by_block_equals_the_whole_array():
    x = np.random.default_rng(1).normal(3.0, [1.0, 2.0, 0.5], size=(1001, 3)).astype(np.float32)
    for block in (7, 1000, 5000):  # blocks that do and do not divide the rows
        assert summed_variance(x, block) == pytest.approx(float(x.astype(np.float64).var(axis=0).sum()), rel=1e-9)


def test_stride_card__reconstructs_only_the_stances_it_draws(planted):
    """At GaitRec size the report cannot hold every stance's reconstruction: the card asks for
    the drawn stances' only, and draws those."""
    latents, stances, _, _ = planted
    curves = np.random.default_rng(2).normal(size=(len(stances), 2, 101)).astype(np.float32)
    asked = []

    def reconstruct(rows):
        asked.append(rows.copy())
        return rows[:, :2, None] * np.ones(101)

    card, _ = stride_card(3, latents, curves, reconstruct, np.ones((10, 2, 101)), stances, ["F_V", "F_AP"], k=4)
    drawn = [row["stance"] for row in card["top"]]
    assert len(asked) == 1 and len(asked[0]) == len(drawn) == 4
    np.testing.assert_array_equal(asked[0], latents[drawn])
