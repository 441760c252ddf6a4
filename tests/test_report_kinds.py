"""The report knows the two kinds of feature (issue 28): scaffold axes in their own table with what
they track, sparse features in the feature table, the sparsity check on sparse features only, and
the answer line saying in words what the scaffold carries and which sparse features isolate something."""

from __future__ import annotations

import json
import re
import shutil
from types import SimpleNamespace

from gaitsae.report import advice, kinds
from gaitsae.report.summary import verdict

N_SCAFFOLD, N_SPARSE = 2, 8


def _numbers(**extra):
    kinds_ = ["scaffold"] * N_SCAFFOLD + ["sparse"] * N_SPARSE
    speed = [0.9, 0.1] + [0.0] * N_SPARSE
    speed[N_SCAFFOLD + 3] = -0.7  # latent_3 follows speed too
    return {"kinds": kinds_, "activations": {"firing_rate": [1.0] * N_SCAFFOLD + [0.2] * N_SPARSE}, "probes": {},
            "metadata": {"walking_speed_m_per_s": {"pearson_r": speed},
                         "height_cm": {"pearson_r": [0.2, -0.6] + [0.1] * N_SPARSE}}, **extra}


def test_verdict__not_sparse_counts_only_sparse_features():
    # l0 4 of 10 columns would be "not sparse" (> 25 %); 2 of 8 sparse features is not
    run = SimpleNamespace(name="s", model="scaffold", numbers=_numbers(),
                          metrics={"fvu": 0.05, "l0": 4.0, "n_dense": 2, "l0_sparse": 2.0, "dead_fraction": 0.0})
    assert not any("not sparse" in f for f in verdict(run)[1])
    run.metrics["l0_sparse"] = 3.0  # 3 of 8 sparse features: above 25 %
    assert any("3 of 8 sparse features" in f for f in verdict(run)[1])
    # an older model (no kinds) keeps counting every feature
    old = SimpleNamespace(name="t", model="topk", metrics={"fvu": 0.05, "l0": 4.0, "dead_fraction": 0.0},
                          numbers={"activations": {"firing_rate": [0.1] * 10}, "probes": {}})
    assert any("4 of 10 features" in f for f in verdict(old)[1])


def test_kinds_sentence__names_what_the_scaffold_carries_and_what_sparse_features_isolate():
    planted = {"methods": {"model": {"rows": [
        {"pattern": "K", "found": True, "code_feature": N_SCAFFOLD + 5, "code_corr": 0.71},
        {"pattern": "A", "found": True, "code_feature": 0, "code_corr": 0.65},
        {"pattern": "C", "found": False, "code_feature": N_SCAFFOLD + 1, "code_corr": 0.2}]}}}
    text = kinds.kinds_sentence(_numbers(planted=planted))
    as_stored = json.loads(json.dumps(planted).replace(f'"code_feature": {N_SCAFFOLD + 5}', f'"code_feature": {N_SCAFFOLD + 5}.0'))
    assert kinds.kinds_sentence(_numbers(planted=as_stored)) == text  # a float index, as a table column with gaps stores it
    assert "scaffold_0 carries walking speed (|r| 0.90)" in text
    assert "scaffold_1 carries height (|r| 0.60)" in text
    assert "latent_3 follows walking speed (|r| 0.70)" in text
    assert "latent_5 isolates planted pattern K" in text
    assert "Against the phantom's truth: 1 of 3 planted patterns with a known per-stance amount isolated by a sparse feature" in text
    assert "A (scaffold_0)" in text
    assert "pattern C" not in text
    axes = kinds.scaffold_axes(_numbers())
    assert [a["name"] for a in axes] == ["scaffold_0", "scaffold_1"]
    assert axes[0]["r"]["walking_speed_m_per_s"] == 0.9 and axes[0]["r"]["sex_code"] is None


def test_report__a_scaffold_run_shows_its_axes_apart_and_says_what_they_carry(scaffold_run, tiny_patients_dir,
                                                                            tmp_path):
    from gaitsae.report.build import analyze_runs, write_comparison

    run = tmp_path / "scaffold"
    shutil.copytree(scaffold_run, run)
    (a,) = analyze_runs([run], data=tiny_patients_dir, progress=False)
    assert a.numbers["kinds"] == ["scaffold"] * 2 + ["sparse"] * 8
    stored = json.loads((run / "analysis.json").read_text())
    assert stored["kinds"] == a.numbers["kinds"]
    html = write_comparison([a], tmp_path / "report").read_text()
    table = re.search(r'<table class="scaffold" data-run="scaffold">(.*?)</table>', html, re.S).group(1)
    assert table.count("<tr data-feature=") == 2 and "scaffold_0" in table and "|r| walking speed" in table
    features = re.search(r'<details id="scaffold-features".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    assert features.count("<tr>") == 8 and "scaffold_" not in features and "latent_7" in features
    answer = re.search(r'<ul class="answer" id="answer">(.*?)</ul>', html, re.S).group(1)
    assert "Its scaffold (2 dense axes" in answer and "Sparse features (8) that follow a recorded factor" in answer
    assert "Against the phantom&#39;s truth" in answer
    assert kinds.kinds_sentence(a.numbers).split(".")[0][:30] in answer
    assert "scaffold axis 0 (scaffold_0)" in html  # its card says its kind
    assert advice.headlines([a])[0]["kinds"] == kinds.kinds_sentence(a.numbers)
    row = json.loads((tmp_path / "report" / "comparison.json").read_text())["runs"][0]
    assert row["n_scaffold"] == 2 and row["n_latents"] == 10
