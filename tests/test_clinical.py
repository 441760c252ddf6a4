"""Clinical use: reference, cross-fitted deviations, planted distinguishing features, and the
`deviations` / `classify` commands on a small phantom with patients (happy path + bad input)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gaitsae.cli import main
from gaitsae.clinical.classify import session_means, split_sessions
from gaitsae.clinical.deviation import cross_fit, fit_model
from gaitsae.clinical.explain import distinguishing_features
from gaitsae.clinical.reference import (MIN_ACTIVE, MIN_FINDING_SUBJECTS, MIN_SUBJECTS, Z_TYPICAL_FIRING_MAX,
                                        finding_note, fit_reference, reference_folds, select_reference)
from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom
from gaitsae.errors import DataError
from gaitsae.estimator import GaitSAE
from tests.csvedit import edit, with_cell


def _latents(n_subjects=30, per_subject=8, n_latents=12, seed=0):
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)
    latents = np.abs(rng.normal(size=(len(subjects), n_latents)))
    latents[rng.random(latents.shape) < 0.6] = 0.0  # sparse, as SAE latents are
    curves = rng.normal(size=(len(subjects), 2, 101)).astype(np.float32)
    return subjects, latents, curves


# -- reference and index ---------------------------------------------------------------------
def test_reference__sparse_latents_get_their_firing_shares_and_strength():
    subjects, latents, curves = _latents()
    latents[:, 0] = 0.0  # silent in the reference
    ref = fit_reference(latents, curves, ("F_V", "F_AP"), subjects)
    assert ref.firing_rate[0] == 0 and np.isnan(ref.active_median[0]) and np.isnan(ref.active_scale[0, 0])
    assert np.allclose(ref.firing_rate[1:], (latents[:, 1:] > 0).mean(0))
    assert np.allclose(ref.share[0], ref.firing_rate) and (ref.share[1] == 0).all()  # no negative firings
    assert (ref.active_scale[0, 1:] > 0).all()
    assert ref.band_mean.shape == (2, 101) and ref.n_subjects == 30
    z = ref.z(latents)
    assert np.isfinite(z).all() and np.all(z[:, 0] == z[0, 0])  # a silent latent: every silent stance alike


def _rare_latent_reference(seed=0, n_subjects=100, per_subject=20, n_latents=100):
    """The simulation of issue 21: a topk-like code (most latents fire 8 % of the time), latent 0
    fires 3 % of the time, latent 1 fires 45 % of the time; firings ~ Gamma(8, 1/8)."""
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i}" for i in range(n_subjects)], per_subject)
    rates = np.full(n_latents, 0.08)
    rates[0], rates[1] = 0.03, 0.45
    fires = rng.random((len(subjects), n_latents)) < rates
    latents = np.where(fires, rng.gamma(8, 1 / 8, size=fires.shape), 0.0)
    return subjects, latents, np.zeros((len(subjects), 1, 101))


@pytest.mark.parametrize("rate", [0.001, 0.01, 0.03, 0.1, 0.45, 0.9])
def test_reference__a_firing_at_typical_strength_counts_at_most_z_max_however_rare(rate):
    rng = np.random.default_rng(1)
    latents = np.where(rng.random((5000, 2)) < rate, rng.gamma(8, 1 / 8, size=(5000, 2)), 0.0)
    ref = fit_reference(latents, np.zeros((5000, 1, 101)), ("F_V",), np.arange(5000) // 10)
    typical = np.array([[np.median(latents[latents[:, 0] > 0, 0]), 0.0]])
    z = ref.z(typical)[0, 0]
    assert 0 < z <= Z_TYPICAL_FIRING_MAX + 1e-9
    assert abs(ref.z(np.zeros((1, 2)))[0, 0]) <= Z_TYPICAL_FIRING_MAX + 1e-9  # silence, however usual the firing
    stronger = ref.z(typical * 3)[0, 0]
    if (latents[:, 0] > 0).sum() >= MIN_ACTIVE:
        assert stronger > z  # how strongly it fires counts too, beyond the reference's range
    else:
        assert stronger == z  # too few firings to know a typical strength: only the firing counts


def test_index__one_rare_latent_moves_a_stance_index_by_at_most_the_documented_amount():
    subjects, latents, curves = _rare_latent_reference()
    dev = cross_fit(latents, curves, ("F_V",), subjects, np.ones(len(subjects), bool))
    m = dev.model
    typical = np.median(latents[latents[:, 0] > 0, 0])
    z_rare = m.profile(np.eye(1, latents.shape[1]) * typical)[0, 0]
    z_common = m.profile(np.eye(1, latents.shape[1], 1) * np.median(latents[latents[:, 1] > 0, 1]))[0, 1]
    assert z_rare <= Z_TYPICAL_FIRING_MAX and z_common < 1  # was 5.8 and 1.8 with (a − median) / SD
    silent = latents[latents[:, 0] == 0]
    fired = silent.copy()
    fired[:, 0] = typical
    before, shift = m.index(m.profile(silent)), m.index(m.profile(silent)) - m.index(m.profile(fired))
    assert (shift >= 0).all()
    # docs/clinical.md: for a stance at least as far from the typical stance as the average
    # reference stance (index <= 100), one latent firing at its typical strength moves the
    # index by at most (5 / sigma) ln(1 + Z_max^2 / (n e^(2 mu))) points (5.0 here).
    bound = 5 / m.log_d_sd * np.log1p(Z_TYPICAL_FIRING_MAX ** 2 / (latents.shape[1] * np.exp(2 * m.log_d_mean)))
    assert bound < 5.0
    assert shift[before <= 100].max() <= bound


def test_index__reference_scores_100_on_average_with_sd_10_and_its_median_stance_scores_highest():
    subjects, latents, curves = _latents()
    is_ref = np.ones(len(subjects), bool)
    dev = cross_fit(latents, curves, ("F_V", "F_AP"), subjects, is_ref, n_folds=5)
    assert dev.index.mean() == pytest.approx(100, abs=1e-9)
    assert dev.index.std() == pytest.approx(10, abs=1e-9)
    m = dev.model
    # A stance exactly as far from the reference's typical stance as a typical reference stance
    # (ln d = mean ln d) scores 100; the typical stance itself is the most normal of all.
    z_typical = np.full((1, latents.shape[1]), np.exp(m.log_d_mean))
    assert m.index(z_typical)[0] == pytest.approx(100)
    at_median = m.index(m.profile(m.reference.location[None]))[0]
    assert at_median >= dev.index.max() and at_median > 130
    # Further from the reference: a lower index, a higher score.
    far = np.nan_to_num(m.reference.active_location[0] + 5 * m.reference.active_scale[0], nan=5.0)
    assert m.index(m.profile(far[None]))[0] < dev.index.min()
    assert m.score(m.profile(far[None]))[0] > np.percentile(dev.score, 99)


def test_cross_fitting__no_reference_subject_is_in_its_own_reference():
    subjects, latents, curves = _latents()
    is_ref = np.arange(len(subjects)) < 200  # subjects s0..s24 in the reference
    folds = reference_folds(subjects, is_ref, n_folds=4, seed=3)
    table = pd.DataFrame({"subject": subjects, "fold": folds, "ref": is_ref})
    assert table.groupby("subject")["fold"].nunique().eq(1).all()  # a subject lives in one fold
    assert (table.loc[~table["subject"].isin(table.loc[is_ref, "subject"]), "fold"] == -1).all()
    for k in range(4):
        scored = set(table.loc[table["fold"] == k, "subject"])
        reference = set(table.loc[table["ref"] & (table["fold"] != k), "subject"])
        assert scored and not scored & reference
    # The z of a fold's stances is computed against the reference without that fold.
    dev = cross_fit(latents, curves, ("F_V", "F_AP"), subjects, is_ref, n_folds=4, seed=3)
    held = dev.fold == 2
    without = fit_model(latents[is_ref & (dev.fold != 2)], curves[is_ref & (dev.fold != 2)], ("F_V", "F_AP"),
                        subjects[is_ref & (dev.fold != 2)])
    assert np.allclose(dev.z[held], without.profile(latents[held]))
    assert not np.allclose(dev.z[held], dev.model.profile(latents[held]))


def test_select_reference__every_healthy_subject_by_default_filters_and_refuses_an_empty_reference():
    st = pd.DataFrame({"dataset": ["gaitrec"] * 4 + ["gutenberg"] * 2, "class_label": ["HC", "K", "A", "HC", "HC", "HC"],
                       "age_years": [30, 50, 60, 70, 20, 25], "subject": list("abcdef")})
    assert select_reference(st).tolist() == [True, False, False, True, True, True]  # GaitRec HC and Gutenberg
    assert select_reference(st, "auto").tolist() == select_reference(st).tolist()
    assert select_reference(st, "gaitrec-hc").tolist() == [True, False, False, True, False, False]
    assert select_reference(st, "gutenberg").sum() == 2
    assert select_reference(st, "class_label == 'HC' and age_years < 40").tolist() == [
        True, False, False, False, True, True]
    with pytest.raises(DataError, match="matches no stance"):
        select_reference(st, "age_years > 500")
    with pytest.raises(DataError, match="not a valid filter"):
        select_reference(st, "age_years >>> 1")
    with pytest.raises(DataError, match="no healthy reference"):
        select_reference(st[st["class_label"] != "HC"], "auto")


# -- the classification split ----------------------------------------------------------------
def _sessions(published: bool):
    """Ten subjects with one session each; GaitRec's published TEST on s0-s2 when `published`."""
    return pd.DataFrame({"subject": [f"s{i}" for i in range(10)], "session": [f"x{i}" for i in range(10)],
                         "dataset": "gaitrec" if published else "gutenberg",
                         "test": [1.0] * 3 + [0.0] * 7 if published else np.nan,
                         "train": [0.0] * 3 + [1.0] * 7, "train_balanced": [0.0] * 3 + [1.0] * 7,
                         "class_label": ["HC", "K"] * 5})


def test_split_sessions__auto_train_set_falls_back_to_train_and_says_why():
    sessions = _sessions(published=True)
    split, name, _ = split_sessions(sessions, seen=set(sessions["subject"][3:]))
    assert name == "GaitRec published (TRAIN_BALANCED / TEST)"  # every class is in TRAIN_BALANCED
    sessions.loc[sessions["class_label"].eq("K") & sessions["train"].eq(1), "train_balanced"] = 0.0
    split, name, _ = split_sessions(sessions, seen=set(sessions["subject"][3:]))
    assert "TRAIN_BALANCED has no K session, so all of TRAIN" in name
    assert (split == "train").sum() == 7  # all of TRAIN
    split, name, _ = split_sessions(sessions, seen=set(sessions["subject"][3:]), train_set="balanced")
    assert (split == "train").sum() == 3 and name == "GaitRec published (TRAIN_BALANCED / TEST)"  # as asked


def test_split_sessions__test_subjects_the_run_saw_are_an_error_naming_how_many():
    sessions = _sessions(published=True)
    split, name, overlap = split_sessions(sessions, seen={"s5", "s6", "s7", "s8", "s9"})
    assert split.tolist() == ["test"] * 3 + ["train"] * 7 and overlap == 0 and "TRAIN_BALANCED" in name
    with pytest.raises(DataError, match="2 of 3 test subjects .* were in the run's train/validation split"):
        split_sessions(sessions, seen={"s1", "s2", "s5"})
    _, _, overlap = split_sessions(sessions, seen={"s1", "s2", "s5"}, allow_overlap=True)
    assert overlap == 2
    with pytest.raises(DataError, match="records no split"):
        split_sessions(sessions, seen=None)


def test_split_sessions__without_a_published_split_the_test_subjects_are_the_runs_own():
    sessions = _sessions(published=False)
    seen = {f"s{i}" for i in range(7)}  # the run's train/validation subjects
    split, name, overlap = split_sessions(sessions, seen=seen, seed=4)
    assert split.tolist() == ["train"] * 7 + ["test"] * 3 and overlap == 0 and "split.csv" in name
    split, name, _ = split_sessions(sessions, seen={"other"}, seed=4)  # the run saw none of this data
    assert (split == "test").sum() == 3 and name.startswith("subject-wise")


# -- explanations ----------------------------------------------------------------------------
def test_explain__a_feature_shifted_in_one_class_is_that_class_top_feature():
    rng = np.random.default_rng(0)
    rows = []
    for cls, n, affected in (("HC", 40, None), ("K", 25, "left"), ("A", 25, "right")):
        for s in range(n):
            for side in ("left", "right"):
                rows.append({"subject": f"{cls}{s}", "session": f"{cls}{s}", "side": side, "class_label": cls,
                             "affected_side": affected})
    sessions = pd.DataFrame(rows)
    x = rng.normal(size=(len(sessions), 10))
    on_k = sessions["class_label"].eq("K") & sessions["side"].eq("left")
    on_a = sessions["class_label"].eq("A") & sessions["side"].eq("right")
    x[on_k, 3] += 1.5
    x[on_a, 7] -= 1.5
    top = distinguishing_features(sessions, x, sessions["class_label"].eq("HC").to_numpy(), ["K", "A"], n_boot=50)
    first = top[top["rank"] == 1].set_index("class_label")
    assert first.loc["K", "feature"] == 3 and first.loc["A", "feature"] == 7
    assert first.loc["K", "g_affected"] > 1 and first.loc["A", "g_affected"] < -1
    assert first.loc["K", "g_low"] > 0.5  # the interval excludes no effect
    assert abs(first.loc["K", "g_other"]) < 0.6  # the other side was not shifted
    within = distinguishing_features(sessions, x, sessions["class_label"].eq("HC").to_numpy(), ["K", "A"],
                                     n_boot=10, rank_by="g_within")
    first = within[within["rank"] == 1].set_index("class_label")
    assert first.loc["K", "feature"] == 3 and first.loc["A", "feature"] == 7
    assert first.loc["K", "g_within"] > 0.8 and first.loc["A", "g_within"] < -0.8


# -- the commands ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    """A phantom with GaitRec controls and patients and a tiny topk run trained on it."""
    data = tmp_path_factory.mktemp("clinic")
    write_phantom(data, n_subjects=4, seed=3, with_patients=True, n_patients=40, progress=False)
    run = tmp_path_factory.mktemp("clinic_run")
    GaitSAE(model="topk", k=4, n_latents=16, epochs=2, batch_size=64, progress=False).fit(
        load_dataset(data, cache=False), run_dir=run)
    return data, run


def test_deviations_cli__writes_stance_and_session_rows(clinic, tmp_path, capsys):
    data, run = clinic
    out = tmp_path / "dev.parquet"
    assert main(["deviations", str(run), "--data", str(data), "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev_sessions.parquet", "dev_stances.parquet"]
    st, sess = pd.read_parquet(tmp_path / "dev_stances.parquet"), pd.read_parquet(tmp_path / "dev_sessions.parquet")
    assert "trial_id" in st and "trial_id" not in sess and "n_stances" in sess and "n_stances" not in st
    ref = st[st["in_reference"]]
    assert set(ref["dataset"]) == {"gaitrec", "gutenberg"} and set(ref["class_label"]) == {"HC"}  # every healthy one
    assert st.loc[st["class_label"].eq("HC"), "in_reference"].all()
    # the choice and its size are printed; fewer than 20 subjects is a visible warning
    printed = capsys.readouterr()
    n = ref["subject"].nunique()
    assert f"reference: all healthy subjects (GaitRec HC and Gutenberg), {len(ref)} stances of {n} subjects" in printed.out
    assert f"warning: the healthy reference holds only {n} subjects" in printed.err and n < MIN_SUBJECTS
    assert ref["index"].mean() == pytest.approx(100, abs=1e-6)
    assert (ref["fold"] >= 0).all() and (st.loc[~st["in_reference"] & st["dataset"].eq("gaitrec"), "fold"] == -1).all()
    assert st[~st["in_reference"] & st["dataset"].eq("gaitrec")]["index"].mean() < 100  # patients deviate
    assert {"z_0", "z_15", "score"} <= set(st.columns) and {"z_0", "asym_0", "score"} <= set(sess.columns)
    assert sess["asym_0"].notna().all() and "asym_0" not in st
    schema = pq.read_schema(tmp_path / "dev_stances.parquet")
    meta = json.loads(schema.metadata[b"gaitsae"])
    assert len(meta["feature_names"]) == 16 and meta["reference"] == "healthy"
    assert schema.field("z_3").metadata[b"name"].decode() == meta["feature_names"][3]  # the column says its feature
    assert meta["n_reference_subjects"] == n


def test_classify_cli__writes_tables_and_figures(clinic, tmp_path, capsys):
    data, run = clinic
    out = tmp_path / "cls"
    assert main(["classify", str(run), "--data", str(data), "--out", str(out), "--train-set", "full",
                 "--bootstrap", "20", "--healthy-run", str(run), "--quiet"]) == 0
    table = pd.read_csv(out / "classification.csv")
    assert set(table["representation"]) == {"topk", "pca", "coefficients"}  # the run's model, not "sae"
    assert set(table["model"]) == {"logistic", "boosting"} and set(table["task"]) == {"class", "affected_side"}
    ba = table[(table["metric"] == "balanced_accuracy") & table["value"].notna()]  # findings (enough subjects)
    assert ((ba["low"] <= ba["value"] + 1e-9) & (ba["value"] <= ba["high"] + 1e-9)).all()
    detection = pd.read_csv(out / "detection.csv").set_index("measure")
    assert {"index", "score", "recon_error"} <= set(detection.index)
    features = pd.read_csv(out / "features.csv")
    assert set(features["class_label"]) <= {"H", "K", "A", "C"} and features["feature_name"].str.contains(" BW| m").all()
    summary = json.loads((out / "clinical.json").read_text())
    assert summary["split"].startswith("GaitRec published (TRAIN /") and summary["synthetic"] is True
    # fewer than 10 test subjects in a group: no number, "not enough subjects (n = …)" instead
    fewest = min(summary["n_test_subjects"].values())
    assert fewest < MIN_FINDING_SUBJECTS
    assert (table["note"].notna() == table["value"].isna()).all() and table["low"][table["note"].notna()].isna().all()
    ba_class = table[(table["metric"] == "balanced_accuracy") & (table["task"] == "class")]
    assert set(ba_class["note"]) == {f"not enough subjects (n = {fewest})"}
    d = detection.loc["index"]
    assert np.isnan(d["auc"]) and d["note"] == f"not enough subjects (n = {min(d['n_healthy_subjects'], d['n_patient_subjects'])})"
    printed = capsys.readouterr().out
    assert f"topk  logistic: balanced accuracy not enough subjects (n = {fewest})" in printed
    assert "healthy vs patient AUC, index: not enough subjects (n = " in printed
    assert summary["overlap_subjects"] == 0 and summary["model"] == "topk"
    assert (out / "classification.png").stat().st_size > 0 and list(out.glob("class_*.png"))


def _gaitrec_copy(data, tmp_path, column, new_value, where_label):
    """A copy of the phantom's gaitrec/ PRO files and tables with `column` set to `new_value` on
    the metadata rows of class `where_label`."""
    copy = tmp_path / "data"
    copy.mkdir()
    for f in (data / "gaitrec").iterdir():
        if "_RAW_" not in f.name:
            shutil.copy(f, copy / f.name)

    def change(lines):
        header = lines[0].split(",")
        label, target = header.index("CLASS_LABEL"), header.index(column)
        for i, line in enumerate(lines[1:], start=1):
            if line and line.split(",")[label] == where_label:
                lines = with_cell(lines, i, target, new_value)
        return lines

    edit(copy / "GRF_metadata.csv", change)
    return copy


@pytest.mark.parametrize("case", ["no_reference", "missing_class", "empty_filter", "channels"])
def test_clinical_cli__bad_input_is_one_line_and_writes_nothing(case, clinic, tmp_path, capsys):
    data, run = clinic
    args, expect = ["--data", str(data)], ""
    if case == "no_reference":  # the controls relabelled as hip patients: no healthy stance anywhere
        copy = _gaitrec_copy(data, tmp_path, "CLASS_LABEL", "H", "HC")
        args, expect = ["--data", str(copy)], "no healthy reference"
    elif case == "missing_class":  # no K session in TRAIN_BALANCED
        copy = _gaitrec_copy(data, tmp_path, "TRAIN_BALANCED", "0", "K")
        args, expect = ["--data", str(copy), "--train-set", "balanced"], \
            "class K has no session in the training split (GaitRec published (TRAIN_BALANCED"
    elif case == "empty_filter":
        args, expect = args + ["--reference", "age_years > 500"], "matches no stance"
    else:
        copy = tmp_path / "data"
        shutil.copytree(data / "gaitrec", copy)
        for f in copy.glob("GRF_COP_ML_PRO_*.csv"):
            f.unlink()
        args, expect = ["--data", str(copy)], "has no COP_ML PRO files"
    commands = [("classify", tmp_path / "out")] + ([] if case == "missing_class" else [("deviations", tmp_path / "d.parquet")])
    written = ("out", "d.parquet", "d_stances.parquet", "d_sessions.parquet")
    for command, out in commands:
        assert main([command, str(run), *args, "--out", str(out), "--quiet"] if command == "classify"
                    else [command, str(run), *args, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and expect in err, err
        if case == "missing_class":
            assert "--train-set full" in err and "more patients" in err  # the fix, named
        assert not any((tmp_path / name).exists() for name in written)


def test_report__has_a_clinical_section_when_the_data_has_classes(clinic, tmp_path, capsys):
    data, run = clinic
    assert main(["analyze", str(run), "--data", str(data), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert "clinical: split GaitRec published (TRAIN_BALANCED / TEST); reference all healthy subjects" in printed.out
    assert "warning: the healthy reference holds only" in printed.err
    html = (tmp_path / "report.html").read_text()
    assert 'id="clinical"' in html and "deviation index" in html and "Hedges" in html
    numbers = json.loads((run / "analysis.json").read_text())["clinical"]
    assert numbers["split"] == "GaitRec published (TRAIN_BALANCED / TEST)"  # as `classify` by default
    assert {b["representation"] for b in numbers["balanced_accuracy"]} == {"topk", "pca", "coefficients"}
    # the reference (8 healthy subjects) and the test groups are small: said, in red
    assert numbers["n_reference_subjects"] < MIN_SUBJECTS and numbers["reference"] == "healthy"
    assert any("healthy reference holds only" in w for w in numbers["warnings"])
    assert '<p style="color:#b00020"><strong>Warning:</strong> the healthy reference holds only' in html
    assert "all healthy subjects (GaitRec HC and Gutenberg)" in html
    assert {d["measure"] for d in numbers["detection"]} == {"index", "score"}


def test_deviations_cli__refuses_to_replace_a_file_it_did_not_write(clinic, tmp_path, capsys):
    data, run = clinic
    mine = tmp_path / "mine_sessions.parquet"
    mine.write_text("a user's file")
    assert main(["deviations", str(run), "--data", str(data), "--out", str(tmp_path / "mine.parquet")]) == 2
    assert "not a gaitsae deviations output" in capsys.readouterr().err and mine.read_text() == "a user's file"
    assert [p.name for p in tmp_path.iterdir()] == ["mine_sessions.parquet"]


def test_deviations_cli__csv_by_the_extension(clinic, tmp_path, capsys):
    data, run = clinic
    assert main(["deviations", str(run), "--data", str(data), "--out", str(tmp_path / "dev.csv")]) == 0
    st, sess = pd.read_csv(tmp_path / "dev_stances.csv"), pd.read_csv(tmp_path / "dev_sessions.csv")
    assert len(st) > len(sess) > 0 and {"index", "score", "z_0"} <= set(st.columns)
    assert f"→ {tmp_path / 'dev_stances.csv'}" in capsys.readouterr().out
    assert main(["deviations", str(run), "--data", str(data), "--out", str(tmp_path / "dev.xlsx")]) == 2
    assert "must end in .csv or .parquet" in capsys.readouterr().err


def test_explorer_norm_band__uses_the_same_healthy_reference_as_deviations(clinic):
    from gaitsae.clinical.pipeline import deviations, encode
    from gaitsae.explorer.store import _reference

    data, run = clinic
    dev = deviations(encode(run, data))
    mask, label = _reference(load_dataset(data).stances)
    assert mask.tolist() == dev.stances["in_reference"].tolist()
    n = dev.reference["n_reference_subjects"]
    assert label.startswith(f"all healthy subjects (GaitRec HC and Gutenberg), {n} subjects — warning:")


def _run_copy(run, tmp_path, relabel: dict):
    """A copy of the run whose split.csv has subjects moved between splits (e.g. test → train)."""
    copy = tmp_path / "run_copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("explorer", "analysis*", "figures*", "report*"))
    split = pd.read_csv(copy / "split.csv")
    split["split"] = split["split"].replace(relabel)
    split.to_csv(copy / "split.csv", index=False)
    return copy, split


def test_classify_cli__test_subjects_the_run_saw_are_an_error_unless_allowed_and_then_said(clinic, tmp_path, capsys):
    data, run = clinic
    copy, split = _run_copy(run, tmp_path, {"test": "train"})
    stances = load_dataset(data).stances
    test = set(stances.loc[stances["dataset"].eq("gaitrec") & stances["test"].eq(1), "subject"])
    out = tmp_path / "cls"
    args = ["classify", str(copy), "--data", str(data), "--out", str(out), "--bootstrap", "10", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{len(test)} of {len(test)} test subjects" in err and "--allow-overlap" in err
    assert not out.exists()
    assert main([*args, "--allow-overlap"]) == 0
    assert f"warning: {len(test)} test subjects were in the run's train/validation split" in capsys.readouterr().err
    summary = json.loads((out / "clinical.json").read_text())
    assert summary["overlap_subjects"] == len(test) and "optimistic" in summary["warnings"][0]


def test_deviations_cli__a_healthy_run_with_other_sides_is_a_one_line_error(clinic, tmp_path, capsys):
    data, run = clinic
    one_side = tmp_path / "left_only"
    GaitSAE(model="topk", k=4, n_latents=16, epochs=1, batch_size=64, sides=("left",), progress=False).fit(
        load_dataset(data, cache=False), run_dir=one_side)
    out = tmp_path / "d.parquet"
    assert main(["deviations", str(run), "--data", str(data), "--out", str(out), "--healthy-run", str(one_side)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "models sides left, the run models left,right" in err, err
    assert not out.exists()


def test_finding_note__fewer_than_ten_subjects_in_a_group_is_no_finding():
    from gaitsae.clinical.study import metric_note

    assert finding_note(10, 250) == "" and finding_note(9, 250) == "not enough subjects (n = 9)"
    assert finding_note(40, 1) == "not enough subjects (n = 1)"
    per_label = {"HC": 12, "H": 15, "K": 3}
    assert metric_note("auc_HC", list(per_label), per_label) == ""  # 12 against 18 others
    assert metric_note("auc_K", list(per_label), per_label) == "not enough subjects (n = 3)"
    assert metric_note("balanced_accuracy", list(per_label), per_label) == "not enough subjects (n = 3)"
    assert metric_note("balanced_accuracy", ["HC", "H"], per_label) == ""


def test_session_means__left_and_right_means_of_sessions_with_both_sides():
    rng = np.random.default_rng(0)
    stances = pd.DataFrame({"session": ["s2", "s2", "s2", "s1", "s1", "s3"],
                            "side": ["left", "right", "left", "right", "left", "left"]})
    x = rng.standard_normal((6, 3)).astype(np.float32)
    before = x.copy()
    table, means = session_means(stances, x)
    assert list(table["session"]) == ["s1", "s2"]  # s3 has no right stance
    expected = np.array([np.r_[x[4], x[3]], np.r_[(x[0] + x[2]) / 2, x[1]]])
    np.testing.assert_allclose(means, expected, rtol=1e-6)
    assert means.dtype == np.float32
    np.testing.assert_array_equal(x, before)  # the DataFrame over a view must not write into x


def test_clinical_phantom_benchmark__prints_the_tables_of_a_classify_output(clinic, tmp_path, capsys):
    """benchmarks/clinical_phantom.py writes docs/clinical.md's phantom tables from classify's files
    (it once read a column classify no longer writes)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import clinical_phantom

    data, run = clinic
    out = tmp_path / "cls"
    assert main(["classify", str(run), "--data", str(data), "--out", str(out), "--bootstrap", "20", "--quiet"]) == 0
    capsys.readouterr()
    clinical_phantom.main(out, data)
    printed = capsys.readouterr().out
    feats = pd.read_csv(out / "features.csv")
    assert "### class" in printed and "### healthy vs patient" in printed
    first = feats[feats["ranked_by"].eq("g_affected")].iloc[0]
    assert f"| {first['class_label']} | 1 | {first['feature']} | {first['feature_name']} |" in printed


def test_session_means__column_blocks_and_transformed_curves_give_pandas_means_of_all_columns(monkeypatch):
    """Each side's rows are averaged a few columns at a time (before: all 520 columns at once, and
    pandas' copy of them); the means are pandas' own, bit for bit, also from TransformedCurves."""
    import tracemalloc
    from types import SimpleNamespace

    from gaitsae.clinical import classify as C
    from gaitsae.features.transform import TransformedCurves

    rng = np.random.default_rng(1)
    n, d = 20_000, 301  # not a multiple of the block; wide, as the coefficients are
    monkeypatch.setattr(C, "MEAN_COLUMNS", 8)
    stances = pd.DataFrame({"session": rng.integers(0, 900, n).astype(str), "side": rng.choice(["left", "right"], n)})
    x = (rng.standard_normal((n, d)) * 3 + 1).astype(np.float32)
    tracemalloc.start()
    table, means = session_means(stances, x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    expected = []
    for side in ("left", "right"):
        on = stances["side"].eq(side).to_numpy()
        expected.append(pd.DataFrame(x[on]).groupby(stances["session"].to_numpy()[on], sort=True).mean())
    both = expected[0].index.intersection(expected[1].index)
    np.testing.assert_array_equal(means, np.hstack([e.loc[both].to_numpy() for e in expected]))
    assert list(table["session"]) == list(both) and means.dtype == np.float32
    half = x[stances["side"].eq("left").to_numpy()].nbytes
    assert peak < 1.5 * half  # one side's rows and small blocks, not a second copy of them
    # the same means from stances transformed on demand (a side at a time)
    transform = SimpleNamespace(n_features_=d, transform=lambda curves, rows=None: curves[rows].copy())
    _, lazy = session_means(stances, TransformedCurves(transform, x))
    np.testing.assert_array_equal(lazy, means)
