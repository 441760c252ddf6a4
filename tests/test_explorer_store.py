"""The explorer's feature store and akin-gait retrieval, on a small trained run of the phantom."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.errors import GaitsaeError
from gaitsae.estimator import GaitSAE
from gaitsae.explorer.retrieval import neighbours, neighbours_of_curves
from gaitsae.explorer.store import Store, ensure_index, open_store
from gaitsae.training.rundir import write_manifest


@pytest.fixture(scope="module")
def store(explorer_runs):
    return open_store(explorer_runs["topk"], progress=False)


def test_store__holds_every_stance_with_the_models_latents(store, explorer_runs, tiny_patients_dir):
    est = GaitSAE.load(explorer_runs["topk"], progress=False)
    dataset = load_dataset(tiny_patients_dir)
    assert store.n_stances == len(dataset)
    np.testing.assert_allclose(store.latents, est.transform(dataset), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(store.curves, dataset.curves)
    assert list(store.stances["subject"]) == list(dataset.stances["subject"])
    assert set(store.stances["split"]) <= {"train", "val", "test"}
    long = pd.read_parquet(store.path / "latents.parquet")
    rows, cols = np.nonzero(np.abs(store.latents) > store.threshold)
    assert len(long) == len(rows)
    np.testing.assert_array_equal(long["stance"], rows)
    np.testing.assert_allclose(long["value"], store.latents[rows, cols])


def test_store__feature_summaries_and_healthy_norm_band(store):
    f = store.features
    assert len(f) == store.n_latents
    active = np.abs(store.latents) > store.threshold
    np.testing.assert_allclose(f["firing_rate"], active.mean(0))
    assert "type" not in f and f["name"].str.len().gt(0).all() and (f["bimodality"] >= 0).all()
    share = f["subject_share"].to_numpy()
    assert ((share >= 0) & (share <= 1 + 1e-9)).all()
    assert ((share >= 0.75) == f["signature"].str.startswith("a personal signature")).all()
    assert f["best_r"].abs().max() <= 1
    assert store.meta["reference"].startswith("all healthy subjects (GaitRec HC and Gutenberg), ")  # as `deviations`
    hc = store.stances["class_label"].eq("HC").to_numpy()
    assert store.meta["n_reference"] == hc.sum()
    np.testing.assert_allclose(store.arrays["norm_mean"], np.asarray(store.curves)[hc].mean(0), rtol=1e-4, atol=1e-6)
    # walking speed is known for the healthy Gutenberg-style stances only, so it is correlated over
    # those subjects' means (as every r in the report)
    speed = store.correlations[store.correlations["variable"] == "walking_speed_m_per_s"]
    with_speed = store.stances.loc[store.stances["walking_speed_m_per_s"].notna(), "subject"].nunique()
    assert (speed["n"] == with_speed).all() and set(speed["level"]) == {"subject means"}


def test_store__rebuilt_only_when_the_data_or_the_run_change(explorer_runs, tiny_patients_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(explorer_runs["sae"], run, ignore=shutil.ignore_patterns("explorer"))
    data = tmp_path / "data"
    shutil.copytree(tiny_patients_dir, data)
    path, built = ensure_index(run, data, progress=False)
    assert built and (path / "meta.json").is_file()
    assert ensure_index(run, data, progress=False) == (path, False)
    f_v = data / "gaitrec" / "GRF_F_V_PRO_left.csv"
    text = f_v.read_text()
    f_v.write_text(text.replace(",0.", ",0.0", 1))  # one value of one curve changes (same number, other bytes)
    assert ensure_index(run, data, progress=False)[1]
    (run / "model.json").write_text((run / "model.json").read_text() + " ")  # the run is saved again
    write_manifest(run)
    assert ensure_index(run, data, progress=False)[1]
    assert not [p.name for p in run.iterdir() if p.name.startswith(".explorer")]  # no temporary folders left


def test_store__a_damaged_store_is_one_clear_error(explorer_runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(explorer_runs["topk"], run)
    (run / "explorer" / "latents.npy").write_bytes(b"not an array")
    with pytest.raises(GaitsaeError, match="damaged feature store"):
        Store(run / "explorer")


def test_neighbours__are_the_highest_cosines_in_latent_space(store):
    x = store.latents.astype(np.float64)
    unit = x / np.where(np.linalg.norm(x, axis=1, keepdims=True) > 0, np.linalg.norm(x, axis=1, keepdims=True), 1)
    for stance in (0, 17, store.n_stances - 1):
        found = neighbours(store, stance, k=7)
        sims = unit @ unit[stance]
        sims[stance] = -np.inf
        assert stance not in set(found["stance"])
        np.testing.assert_allclose(found["similarity"], np.sort(sims)[::-1][:7], atol=1e-5)
        mine = set(store.active(stance).tolist())
        for row in found.itertuples():
            assert set(row.shared_features) == mine & set(store.active(row.stance).tolist())


def test_neighbours__leave_out_subject_and_trial(store):
    stance = 5
    subject = store.stances["subject"].iloc[stance]
    others = neighbours(store, stance, k=20, leave_out="subject")
    assert len(others) == 20 and not (others["subject"] == subject).any()
    row = store.stances.iloc[stance]
    trial = neighbours(store, stance, k=50, leave_out="trial")
    same = (trial["session"] == row["session"]) & (trial["trial_id"] == row["trial_id"])
    assert not same.any()


def test_neighbours_of_curves__a_recorded_stance_finds_itself_first(store):
    found = neighbours_of_curves(store, np.asarray(store.curves[9]), k=3)
    assert found["similarity"].iloc[0] == pytest.approx(1.0, abs=1e-5)
    assert found["stance"].iloc[0] in set(neighbours(store, 9, k=3)["stance"]) | {9}


@pytest.mark.parametrize("k", [0, -1, 10 ** 6, 2.5, "3", True])
def test_neighbours__k_must_be_a_small_positive_integer(store, k):
    with pytest.raises(GaitsaeError, match="k must be"):
        neighbours(store, 0, k=k)


def test_neighbours__unknown_stance_or_leave_out(store):
    with pytest.raises(GaitsaeError, match="stance must be"):
        neighbours(store, store.n_stances, k=3)
    with pytest.raises(GaitsaeError, match="leave_out"):
        neighbours(store, 0, k=3, leave_out="session")


def test_cli_index_and_serve__bad_runs_are_one_line_exit_2(tmp_path, capsys):
    assert main(["index", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "missing"), "--port", "8765"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a run directory" in err
    assert main(["serve", str(tmp_path), "--port", "0"]) == 2
