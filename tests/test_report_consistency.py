"""The report does not argue with itself (issue 22, point 4): verdicts ignore noise-level
differences and state their rule, a feature card's headline matches its panels, "best feature
for X" and its r have one source (report, ground truth, explorer), and column headers are unique."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gaitsae.analysis.ground_truth import analyze_ground_truth
from gaitsae.analysis.metadata import analyze_metadata
from gaitsae.explorer.store import _feature_tables
from gaitsae.report.compare import COLUMNS
from gaitsae.report.summary import VERDICT_RULES, verdict


def _run(probes: dict):
    metrics = {"fvu": 0.05, "l0": 4.0, "dead_fraction": 0.0}
    return SimpleNamespace(metrics=metrics, numbers={"activations": {"firing_rate": [0.1] * 32}, "probes": probes})


def test_verdict__a_difference_between_two_chance_level_probes_is_no_failure():
    noise = {"age_years": {"metric": "r2", "sae_top1": -0.06, "pca_top1": 0.02, "sae_top5": -0.04, "pca_top5": 0.03,
                           "sae_all": -0.05, "pca_all": 0.01}}
    assert verdict(_run(noise)) == ("good", [])
    real = {"age_years": {"metric": "r2", "sae_top1": 0.10, "pca_top1": 0.40, "sae_top5": 0.3, "pca_top5": 0.3,
                          "sae_all": 0.3, "pca_all": 0.3}}
    word, failures = verdict(_run(real))
    assert word == "mixed" and failures == ["PCA predicts age better from the top 1 components (0.40 vs 0.10)"]
    chance = {"sex_code": {"metric": "balanced_accuracy", "sae_all": 0.47, "pca_all": 0.53}}
    assert verdict(_run(chance))[1] == []
    assert "noise" in VERDICT_RULES and "above chance" in VERDICT_RULES


def test_comparison__column_headers_are_unique():
    headers = [h for _, h, _ in COLUMNS]
    assert len(headers) == len(set(headers)), sorted(h for h in headers if headers.count(h) > 1)


@pytest.fixture(scope="module")
def population():
    """40 subjects × 12 stances: height constant per subject, speed mostly between subjects."""
    rng = np.random.default_rng(3)
    subjects = np.repeat([f"s{i:02d}" for i in range(40)], 12)
    height = np.repeat(rng.normal(170, 10, 40), 12)
    speed = np.repeat(rng.normal(1.3, 0.2, 40), 12) + rng.normal(0, 0.03, len(subjects))
    level = np.repeat(rng.normal(0, 1, (40, 6)), 12, axis=0)  # each subject's own level per latent
    latents = np.maximum(level + rng.normal(0, 1.0, level.shape), 0)
    latents[:, 2] += 0.02 * (height - 170) + 3
    latents[:, 4] += 2 * (speed - 1.3) + 3
    stances = pd.DataFrame({"subject": subjects, "height_cm": height, "walking_speed_m_per_s": speed})
    return latents, stances


def test_best_feature__one_choice_and_one_r_in_report_ground_truth_and_explorer(population):
    latents, stances = population
    meta, _ = analyze_metadata(latents, stances)
    truth = analyze_ground_truth(latents, stances[["height_cm", "walking_speed_m_per_s"]], stances)
    active = latents > 0
    _, corr = _feature_tables(latents, active, stances, ["x"] * latents.shape[1], np.ones(latents.shape[1]),
                              ["sparse"] * latents.shape[1])
    for column in ("height_cm", "walking_speed_m_per_s"):
        j = meta[column]["best_feature"]
        r = meta[column]["pearson_r"][j]
        assert truth[column]["best_feature"] == j and truth[column]["best_r"] == pytest.approx(r, abs=1e-6)
        assert truth[column]["level"] == "subject means"
        explorer = corr[(corr["variable"] == column)].set_index("latent")["r"]
        assert explorer.abs().idxmax() == j and explorer[j] == pytest.approx(r, abs=1e-6)
        assert set(corr.loc[corr["variable"] == column, "level"]) == {"subject means"}


@pytest.mark.slow
def test_report__card_headline_matches_its_panels_and_states_its_rules(demo):
    html = (demo / "report.html").read_text()
    assert 'id="verdict-rules"' in html
    headers = re.findall(r"<th>([^<]*)</th>", html.split('<h2 id="comparison">')[1].split("</table>")[0])
    assert len(headers) == len(set(headers))
    data = json.loads(re.search(r'<script type="application/json" id="card-data">(.*?)</script>', html, re.S)
                      .group(1).replace("<\\/", "</"))
    checked = 0
    for run, cards in data.items():
        largest = np.asarray(cards["scale"]) * 127  # per feature and channel: the panels' largest |change|
        for j, block in re.findall(rf'<div class="card" id="{run}-f(\d+)".*?<p class="small">(.*?)</p>', html, re.S):
            shown = dict(re.findall(r'data-channel="([^"]+)">\S+ ([-+0-9.e]+) ', block))
            assert list(shown) == cards["channels"], block
            for c, ch in enumerate(cards["channels"]):
                # the card data keep scale / 127 to 7 decimals (up to 6.4e-6 off after × 127)
                assert float(shown[ch]) == pytest.approx(largest[int(j), c], rel=0.01, abs=1e-5), (run, j, ch)
            assert "relative to that channel" in block
            checked += 1
    assert checked > 20
