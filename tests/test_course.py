"""A patient's course, what-if and export (issue 29): the computations on planted numbers, the API's
exactness, and the `course`, `whatif` and `export` commands on a small phantom with patients."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from gaitsae.cli import main
from gaitsae.clinical import course as C
from gaitsae.clinical.deviation import cross_fit
from gaitsae.clinical.export import export_table
from gaitsae.clinical.kinds import feature_columns, feature_index, feature_kinds
from gaitsae.clinical.pipeline import deviations, encode
from gaitsae.clinical.whatif import index_of, toward_healthy
from gaitsae.errors import GaitsaeError
from gaitsae.estimator import GaitSAE
from tests.clifail import fails


# -- pure computations on planted numbers ---------------------------------------------------------
def _planted_inputs(slopes, n_sessions=4, n_trials=6, noise=1.0, seed=0):
    """Subjects whose stance index rises by `slope` points per session (affected side left), plus
    a healthy reference of 10 one-session subjects around 100."""
    rng = np.random.default_rng(seed)
    rows, index = [], []
    session = 0
    for s, slope in enumerate(slopes):
        for k in range(n_sessions):
            session += 1
            for t in range(n_trials):
                for side in ("left", "right"):
                    rows.append({"subject": f"p:{s}", "session": f"p:{session}", "session_id": session,
                                 "trial_id": t + 1, "side": side, "affected_side": "left", "class_label": "K",
                                 "session_type": 1 if k == 0 else 2,
                                 "session_date": pd.Timestamp("1901-01-01") + pd.Timedelta(days=n_sessions - k)})
                    index.append(80 + slope * k + (0 if side == "left" else 10) + rng.normal(0, noise))
    for h in range(10):
        session += 1
        for t in range(n_trials):
            for side in ("left", "right"):
                rows.append({"subject": f"h:{h}", "session": f"h:{session}", "session_id": session,
                             "trial_id": t + 1, "side": side, "affected_side": None, "class_label": "HC",
                             "session_type": 1, "session_date": pd.Timestamp("1901-01-01")})
                index.append(100 + rng.normal(0, 10))
    st = pd.DataFrame(rows)
    n = len(st)
    latents = np.zeros((n, 3))
    # feature 0 follows the session number on patients; feature 1 never moves; feature 2 is a scaffold axis
    latents[:, 0] = np.where(st["class_label"].eq("K"), st["session_id"] % n_sessions, 0.0)
    latents[:, 2] = rng.normal(size=n)
    directions = np.zeros((3, 2, 101))
    directions[:, 0, 40] = [0.1, 0.5, 1.0]
    kinds = np.array(["sparse", "sparse", "scaffold"], dtype=object)
    return C.CourseInputs(st, np.array(index), latents, directions, kinds, feature_columns(kinds), ("F_V", "F_AP"),
                          st["class_label"].eq("HC").to_numpy(), np.ones((2, 101)), np.zeros(3))


def test_course__sessions_in_date_order_with_types_sides_and_trial_intervals():
    inputs = _planted_inputs([3.0])
    c = C.course(inputs, "p:0")
    # dates run backwards against session IDs: the order follows the dates
    assert c.sessions["session_id"].tolist() == [4, 3, 2, 1]
    assert c.sessions["type"].tolist() == ["control", "control", "control", "initial"]
    assert set(c.sides["role"]) == {"affected", "unaffected"}
    affected = c.sides[c.sides["role"].eq("affected")]
    assert (affected["side"] == "left").all()
    # the course index is the affected side's: 80 + 3 k with k the session ID's position
    assert np.allclose(c.sessions["index"], [89, 86, 83, 80], atol=1.5)
    assert (c.sessions["low"] < c.sessions["index"]).all() and (c.sessions["index"] < c.sessions["high"]).all()
    assert (c.sessions["n_trials"] == 6).all()
    lo, hi = c.band
    assert 70 < lo < 100 < hi < 130
    # the moving sparse feature is on top; the scaffold axis never appears
    assert c.features["feature"].iloc[0] == 0 and 2 not in set(c.features["feature"])
    assert c.note == ""
    table = C.course_table(c)
    assert set(table["row"]) == {"session", "side", "feature"}


def test_course__a_single_session_is_shown_and_said():
    inputs = _planted_inputs([3.0], n_sessions=1)
    c = C.course(inputs, "p:0")
    assert len(c.sessions) == 1 and "one session only" in c.note
    assert C.course_figure(c)[:4] == b"\x89PNG"


def test_find_subject__unknown_names_the_nearest_ids_and_a_unique_number_is_accepted():
    with pytest.raises(GaitsaeError, match=r"unknown subject 'gaitrec:99'; nearest: gaitrec:9"):
        C.find_subject(["gaitrec:9", "gaitrec:12", "gutenberg:3"], "gaitrec:99")
    assert C.find_subject(["gaitrec:9", "gaitrec:12", "gutenberg:3"], "12") == "gaitrec:12"
    with pytest.raises(GaitsaeError, match="nearest: gaitrec:3, gutenberg:3"):
        C.find_subject(["gaitrec:3", "gutenberg:3"], "3")


def test_cohort__recovers_planted_slopes_with_intervals_that_cover_them():
    slopes = [0.0, 2.0, 5.0]
    trends = C.cohort(_planted_inputs(slopes, noise=1.0)).set_index("subject")
    for s, slope in enumerate(slopes):
        r = trends.loc[f"p:{s}"]
        # date order reverses the session IDs, so the index falls by `slope` per session in time
        assert r["slope_low"] <= -slope <= r["slope_high"]
        assert abs(r["slope_per_session"] + slope) < 0.6
    assert (trends.loc["p:2", "slope_high"] < 0) and trends.loc["p:2", "n_sessions"] == 4
    # one-session subjects have no trend
    assert not trends.index.str.startswith("h:").any()


def test_kinds__asked_of_the_model_and_names_count_within_a_kind():
    class Fitted:
        feature_kinds_ = np.array(["scaffold", "sparse", "sparse"])

    kinds = feature_kinds(Fitted(), 3)
    with pytest.raises(GaitsaeError, match="3 feature kinds for 4 features"):
        feature_kinds(Fitted(), 4)
    assert feature_columns(kinds) == ["scaffold_0", "latent_0", "latent_1"]
    assert feature_index("latent_1", kinds) == 2 and feature_index("0", kinds) == 0
    with pytest.raises(GaitsaeError, match="unknown feature 'latent_5'"):
        feature_index("latent_5", kinds)


# -- on a run -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clinic(explorer_runs, tiny_patients_dir):
    enc = encode(explorer_runs["topk"], tiny_patients_dir)
    return explorer_runs["topk"], tiny_patients_dir, enc, deviations(enc)


def test_what_if__moving_one_feature_moves_the_curves_by_exactly_delta_times_its_direction(clinic):
    _, _, enc, _ = clinic
    est, curves = enc.est, enc.dataset.curves
    directions = est.feature_directions()
    for stance in (0, 7):
        latents = est.encode_stance(curves[stance])
        for j, delta in ((int(np.argmax(latents)), -1.7), (int(np.argmin(np.abs(latents))), 2.5)):
            w = est.what_if(curves[stance], {j: float(latents[j] + delta)})
            change = w.changed_reconstruction - w.reconstruction
            assert np.allclose(change, delta * directions[j], atol=1e-5, rtol=1e-4)
            assert np.allclose(w.changed_curves - w.curves, change, atol=1e-5)
            assert np.count_nonzero(w.changed_latents != w.latents) == 1
    # two features: the changes add
    w = est.what_if(curves[0], {0: 1.0, 1: -2.0})
    expected = (1.0 - w.latents[0]) * directions[0] + (-2.0 - w.latents[1]) * directions[1]
    assert np.allclose(w.changed_reconstruction - w.reconstruction, expected, atol=1e-5, rtol=1e-4)
    with pytest.raises(GaitsaeError, match="feature must be an int"):
        est.what_if(curves[0], {999: 1.0})


def test_toward_healthy__moves_only_deviating_sparse_features_and_raises_the_index(clinic):
    _, _, enc, dev = clinic
    patients = enc.dataset.stances["class_label"].ne("HC").to_numpy()
    latents = enc.latents[patients]
    kinds = feature_kinds(enc.est, latents.shape[1])
    kinds[0] = "scaffold"  # pretend feature 0 is a scaffold axis: it must never move
    changed = toward_healthy(latents, dev.model, kinds)
    z = dev.model.profile(latents)
    moved = changed != latents
    assert not moved[:, 0].any()
    assert (np.abs(z[moved]) > 2).all()
    before, after = index_of(dev.model, latents), index_of(dev.model, changed)
    assert (after >= before - 1e-9).all() and (after > before).any()


def test_course_cli__writes_figure_and_table_into_a_marked_directory(clinic, tmp_path, capsys):
    run, data, enc, _ = clinic
    st = enc.dataset.stances
    subject = st[st["class_label"].ne("HC")].groupby("subject")["session"].nunique().idxmax()
    out = tmp_path / "course"
    assert main(["course", str(run), "--data", str(data), "--subject", subject, "--out", str(out),
                 "--table", "parquet", "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == {".gaitsae", "course.png", "course.parquet"}
    table = pd.read_parquet(out / "course.parquet")
    assert table["subject"].eq(subject).all() and table["order"].max() == st.loc[st["subject"].eq(subject), "session"].nunique()
    assert "SYNTHETIC" in capsys.readouterr().out  # (stderr read too)
    # a directory holding someone else's file is refused
    foreign = tmp_path / "theirs"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    err = fails(["course", str(run), "--data", str(data), "--subject", subject, "--out", str(foreign)], capsys)
    assert "did not write" in err and (foreign / "notes.txt").read_text() == "mine"


def test_course_cli__unknown_subject_is_one_line_naming_the_nearest(clinic, tmp_path, capsys):
    run, data, _, _ = clinic
    err = fails(["course", str(run), "--data", str(data), "--subject", "gaitrec:999", "--out", str(tmp_path / "c")],
                capsys)
    assert "nearest: gaitrec:" in err and not (tmp_path / "c").exists()


def test_course_cli__all_writes_every_trend_and_refuses_an_existing_file(clinic, tmp_path, capsys):
    run, data, enc, _ = clinic
    out = tmp_path / "trends.csv"
    assert main(["course", str(run), "--data", str(data), "--all", "--out", str(out), "--quiet"]) == 0
    trends = pd.read_csv(out)
    multi = enc.dataset.stances.groupby("subject")["session"].nunique()
    assert set(trends["subject"]) == set(multi[multi >= 2].index)
    assert (trends["slope_low"] <= trends["slope_per_session"]).all()
    assert (trends["slope_per_session"] <= trends["slope_high"]).all()
    before = out.read_bytes()
    capsys.readouterr()
    err = fails(["course", str(run), "--data", str(data), "--all", "--out", str(out)], capsys)
    assert "--overwrite" in err and out.read_bytes() == before


def test_course_cli__a_run_without_patients_still_gives_a_healthy_course(tiny_phantom_dir, tmp_path, capsys):
    from gaitsae.data import load_dataset

    run = tmp_path / "run"
    GaitSAE(model="topk", k=4, n_latents=8, epochs=1, progress=False).fit(load_dataset(tiny_phantom_dir, cache=False),
                                                                          run_dir=run)
    st = load_dataset(tiny_phantom_dir).stances
    subject = st.groupby("subject")["session"].nunique().idxmax()
    assert main(["course", str(run), "--data", str(tiny_phantom_dir), "--subject", subject, "--out",
                 str(tmp_path / "c"), "--folds", "2"]) == 0
    assert (tmp_path / "c" / "course.png").is_file()


def test_whatif_cli__writes_curves_before_and_after(clinic, tmp_path, capsys):
    run, data, enc, _ = clinic
    out = tmp_path / "w.csv"
    assert main(["whatif", str(run), "--data", str(data), "--stance", "3", "--set", "latent_2=1.5", "--set", "0=0",
                 "--out", str(out)]) == 0
    t = pd.read_csv(out)
    assert len(t) == len(enc.dataset.channels) * 101
    d = enc.est.feature_directions()
    lat = enc.latents[3]
    expected = (1.5 - lat[2]) * d[2] + (0 - lat[0]) * d[0]
    change = (t["what_if_reconstruction"] - t["reconstruction"]).to_numpy().reshape(expected.shape)
    assert np.allclose(change, expected, atol=1e-5, rtol=1e-4)
    assert "index" in capsys.readouterr().out
    fails(["whatif", str(run), "--data", str(data), "--stance", "3", "--set", "nope=1", "--out", str(tmp_path / "x.csv")],
          capsys)
    fails(["whatif", str(run), "--data", str(data), "--stance", "3", "--set", "1=1", "--out", str(tmp_path / "x.txt")],
          capsys)
    assert not (tmp_path / "x.csv").exists()


SPSS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


@pytest.mark.parametrize("per", ["stance", "trial", "session"])
def test_export__one_row_per_level_with_plain_named_columns_that_pandas_reads_back(per, clinic, tmp_path):
    run, data, enc, _ = clinic
    out = tmp_path / f"{per}.csv"
    assert main(["export", str(run), "--data", str(data), "--per", per, "--out", str(out)]) == 0
    t = pd.read_csv(out)
    st = enc.dataset.stances
    n = {"stance": len(st), "trial": st.groupby(["session", "trial_id"]).ngroups, "session": st["session"].nunique()}
    assert len(t) == n[per]
    assert all(SPSS_NAME.fullmatch(c) for c in t.columns), [c for c in t.columns if not SPSS_NAME.fullmatch(c)]
    L = enc.latents.shape[1]
    if per == "stance":
        assert np.allclose(t[[f"latent_{j}" for j in range(L)]].to_numpy(), enc.latents, atol=1e-5)
    else:
        assert {f"left_latent_{j}" for j in range(L)} <= set(t.columns) and "side" not in t
    if per == "session":  # the session means of the left stances
        left = st["side"].eq("left").to_numpy()
        means = pd.DataFrame(enc.latents[left]).groupby(st.loc[left, "session"].to_numpy()).mean()
        got = t.set_index("session").loc[means.index, [f"left_latent_{j}" for j in range(L)]].to_numpy()
        assert np.allclose(got, means.to_numpy(), atol=1e-5)
        assert t["session_type_label"].isin(["initial", "control", "initial after readmission"]).all()


def test_export__scaffold_features_get_their_own_columns():
    st = pd.DataFrame({"subject": ["a", "a"], "session": ["s", "s"], "trial_id": [1, 1], "side": ["left", "right"]})
    kinds = np.array(["scaffold", "sparse", "sparse"], dtype=object)
    t = export_table(st, np.arange(6.0).reshape(2, 3), kinds, "trial")
    assert ["left_scaffold_0", "left_latent_0", "left_latent_1"] == [c for c in t.columns if c.startswith("left_")]
    assert t.loc[0, "right_latent_1"] == 5.0


def test_cross_fit__index_is_the_deviations_index(clinic):
    """course reads the same index as `deviations` (one definition)."""
    _, _, enc, dev = clinic
    inputs = C.inputs_from_run(enc, dev)
    st = enc.dataset.stances
    again = cross_fit(enc.latents, enc.dataset.curves, enc.dataset.channels, st["subject"].to_numpy(),
                      inputs.in_reference, 5, 0, enc.est.model_.active_threshold)
    assert np.allclose(again.index, inputs.index)
