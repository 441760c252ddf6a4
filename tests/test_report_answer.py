"""The report opens with the answer (issue 30): one line per run with its verdict, its main
reason and how it fares against PCA at the same count; "what to try next" from the measured
failures (each rule tested); one best feature per factor in every section; names and top stances
from many people."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from gaitsae.analysis.naming import SILENT, feature_name, feature_names
from gaitsae.report import advice
from gaitsae.report.compare import COLUMNS, MAIN_GROUPS, TIPS
from gaitsae.report.factors import best_feature, factor_key

N = 32


def _run(name="r", **metrics):
    base = {"fvu": 0.05, "l0": 4.0, "dead_fraction": 0.0, "pca_likeness": 0.1, "training_gain": 0.02,
            "best_epoch": 7, "epochs_run": 20}
    return SimpleNamespace(name=name, model="topk", metrics={**base, **metrics},
                           numbers={"activations": {"firing_rate": [0.1] * N}, "probes": {}})


def test_next_steps__a_good_run_gets_no_change_and_each_failure_its_own_step():
    assert advice.next_steps([_run()]) == [advice.NOTHING_TO_CHANGE]
    cases = {
        "scaffold model": _run(pca_likeness=0.72),
        "random start": _run(training_gain=-0.002),
        "smaller dictionary (n_latents ≈ 24)": _run(dead_fraction=0.25),
        "a larger k": _run(fvu=0.3),
        "a smaller k": _run(l0=12.0),
        "a lower learning rate": _run(best_epoch=0),
    }
    for words, run in cases.items():
        steps = advice.next_steps([run])
        assert len(steps) >= 1 and any(words in s for s in steps), (words, steps)
    few = _run()
    few.numbers["clinical"] = {"n_test_subjects": {"HC": 1, "H": 12, "K": 14}}
    assert advice.next_steps([few]) == ["r: only 1 test subject(s) in class HC (clinical numbers need 10 per group) "
                                        "→ add data: more subjects per class (e.g. the full GaitRec)"]
    few.numbers["clinical"]["n_test_subjects"]["HC"] = 10
    assert advice.next_steps([few]) == [advice.NOTHING_TO_CHANGE]


def test_next_steps__pca_predicts_better_only_beyond_noise():
    run = _run()
    run.numbers["probes"] = {"walking_speed_m_per_s": {"metric": "r2", "sae_all": 0.30, "pca_all": 0.55}}
    assert any("predicts walking speed (R²) better" in s for s in advice.next_steps([run]))
    run.numbers["probes"]["walking_speed_m_per_s"] = {"metric": "r2", "sae_all": -0.06, "pca_all": 0.02}
    assert advice.next_steps([run]) == [advice.NOTHING_TO_CHANGE]  # two probes that predict nothing


def test_headline__verdict_main_reason_and_pca_at_the_same_count():
    run = _run(pca_likeness=0.72)
    run.numbers["probes"] = {"walking_speed_m_per_s": {"metric": "r2", "sae_all": 0.30, "pca_all": 0.55},
                             "sex_code": {"metric": "balanced_accuracy", "sae_all": 0.61, "pca_all": 0.60}}
    run.numbers["planted"] = {"methods": {"model": {"mean_max_cosine": 0.80}, "pca": {"mean_max_cosine": 0.62}}}
    (line,) = advice.headlines([run])
    assert line["reason"].startswith("its features are mostly principal directions (72%")
    assert line["pca"] == ("Beats PCA with as many components (32): better on planted patterns (mean max cosine) "
                           "0.80 vs 0.62; worse on walking speed (R²) 0.30 vs 0.55; no real difference on sex "
                           "(balanced accuracy).")
    assert advice.headlines([_run(fvu=0.4)])[0]["reason"].startswith("poor reconstruction")


def test_comparison__main_table_is_narrow_and_every_header_has_a_tooltip():
    keys = [k for k, _, _ in COLUMNS]
    main = [k for _, group in MAIN_GROUPS for k in group]
    assert set(main) <= set(keys) and len(main) <= 12
    assert all(TIPS.get(k) for k in keys), [k for k in keys if not TIPS.get(k)]


# -- names ---------------------------------------------------------------------------------------
def _bump(centre, height, width=4.0):
    t = np.arange(101)
    return height * np.exp(-0.5 * ((t - centre) / width) ** 2)


def test_feature_name__largest_effects_in_gait_phase_words_and_similar_features_alike():
    spread = np.array([0.1, 0.02])
    effect = np.stack([_bump(22, -0.04) + _bump(75, -0.02), _bump(50, 0.001)])
    assert feature_name(effect, spread, ("F_V", "F_AP")) == "F_V first peak −0.04 BW, push-off −0.02 BW"
    # relative to each channel's spread: 0.004 BW of F_AP (SD 0.02) outranks 0.015 BW of F_V (SD 0.1)
    other = np.stack([_bump(45, 0.015), _bump(72, 0.004)])
    assert feature_name(other, spread, ("F_V", "F_AP")) == "F_AP push-off +0.004 BW, F_V midstance +0.015 BW"
    other[0] *= 0.5  # a second change under half the first is left out
    assert feature_name(other, spread, ("F_V", "F_AP")) == "F_AP push-off +0.004 BW"
    # one bump across the push-off / toe-off border is one change, not two
    border = np.stack([_bump(85, 0.02, 6.0), _bump(30, -0.005)])
    assert feature_name(border, spread, ("F_V", "F_AP")) == "F_AP midstance −0.005 BW, F_V toe-off +0.02 BW"
    noisy = effect + np.random.default_rng(0).normal(0, 1e-4, effect.shape)
    assert feature_name(noisy, spread, ("F_V", "F_AP")) == feature_name(effect, spread, ("F_V", "F_AP"))
    assert feature_names(np.zeros((1, 2, 101)), spread, ("F_V", "F_AP")) == [SILENT]


# -- one best feature per factor -------------------------------------------------------------------
def test_best_feature__a_phantom_factor_that_is_an_attribute_takes_the_attribute_choice():
    numbers = {"metadata": {"walking_speed_m_per_s": {"best_feature": 9, "pearson_r": [0.0] * 9 + [0.61]},
                            "height_cm": {"best_feature": 2, "pearson_r": [0.1, 0.2, -0.5]}},
               "ground_truth": {"walking_speed_m_per_s": {"best_feature": 0, "best_r": 0.63, "level": "stances"},
                                "height_m": {"best_feature": 1, "best_r": 0.4, "level": "subject means"},
                                "sig_1": {"best_feature": 4, "best_r": -0.3, "level": "subject means"}}}
    assert best_feature(numbers, "walking_speed_m_per_s") == {"feature": 9, "r": 0.61, "level": "subject means",
                                                              "source": "person"}
    assert best_feature(numbers, "height_m")["feature"] == 2 and factor_key("height_m") == "height_cm"
    assert best_feature(numbers, "sig_1") == {"feature": 4, "r": -0.3, "level": "subject means",
                                              "source": "ground truth"}


@pytest.mark.slow
def test_report__no_two_sections_name_different_best_features_and_top_stances_span_people(demo):
    html = (demo / "report.html").read_text()
    named = {}
    for run, factor, j in re.findall(r'<a class="best" data-run="([^"]+)" data-factor="([^"]+)" data-feature="(\d+)"',
                                     html):
        named.setdefault((run, factor), []).append(int(j))
    assert named and all(len(set(js)) == 1 for js in named.values()), {k: v for k, v in named.items() if len(set(v)) > 1}
    assert all(len(named[(run, "walking_speed_m_per_s")]) >= 2 for run, _ in named)  # person and ground truth
    for run, j in re.findall(r"<li>(\w+) \([^)]*\): \w+\..*?Feature (\d+) follows walking speed most closely", html):
        assert named[(run, "walking_speed_m_per_s")][0] == int(j)
    # every ground-truth factor says what it is
    truth_rows = re.findall(r'<tr><td>([a-z_0-9]+)</td><td class="what">([^<]*)</td><td>(?:<a class="best"|–)', html)
    assert truth_rows and all(what.strip() for _, what in truth_rows), truth_rows
    # the answer comes first, with a verdict per run and what to try next
    assert html.index('id="answer"') < html.index('id="next-steps"') < html.index('id="summary-details"') \
        < html.index('id="comparison"')
    for run in ("topk", "sae"):
        numbers = json.loads((demo / "runs" / run / "analysis.json").read_text())
        for card in numbers["top_strides"]:
            people = [t["subject"] for t in card["top"]]
            assert len(set(people)) >= 3 and max(people.count(p) for p in people) <= 2, card
        names = numbers["directions"]["names"]
        assert len(names) == len(numbers["activations"]["firing_rate"]) and all(names)
        assert len(numbers["activations"]["between_subject_share"]) == len(names)
    assert "<th>" not in html and re.findall(r"<th(?: colspan=\"\d+\")? title=\"[^\"]+\">", html)  # every header a tooltip
    assert ">sparse-bimodal<" not in html and "not enough subjects" not in html.split('id="comparison"')[0]
