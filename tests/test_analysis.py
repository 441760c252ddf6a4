"""Each analysis on data where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitsae.analysis.activations import feature_types
from gaitsae.analysis.ground_truth import analyze_ground_truth
from gaitsae.analysis.importance import importance, redundancy
from gaitsae.analysis.latent_space import clusters
from gaitsae.analysis.metadata import analyze_metadata, benjamini_hochberg
from gaitsae.analysis.probing import analyze_probes
from gaitsae.analysis.strides import top_stances


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
    probes = analyze_probes(latents, inputs, stances)
    speed = probes["walking_speed_m_per_s"]
    assert speed["sae_top1"] > 0.95
    assert speed["sae_top1"] > speed["pca_top1"] + 0.5  # PCA of unrelated inputs cannot do it
    assert probes["sex_code"]["metric"] == "balanced_accuracy"


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
    out = analyze_ground_truth(latents, truth, stances)
    assert out["walking_speed_m_per_s"]["best_feature"] == 3
    assert out["walking_speed_m_per_s"]["probe_r2"] > 0.9
    assert out["noise"]["probe_r2"] < 0.2


def test_top_stances__strongest_first_one_per_subject_and_only_active(planted):
    latents, stances, _, _ = planted
    subjects = stances["subject"].to_numpy()
    idx = top_stances(latents, 3, subjects, k=5)
    assert len(idx) == 5 and len(set(subjects[idx])) == 5
    best_per_subject = pd.Series(latents[:, 3]).groupby(subjects).max().sort_values(ascending=False)
    assert list(latents[idx, 3]) == list(best_per_subject.to_numpy()[:5])
    assert len(top_stances(latents, 0, subjects, k=5)) == 0
