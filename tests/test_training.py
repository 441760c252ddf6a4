"""Training, persistence and the CLI on a tiny phantom: determinism, exact save/load, resume."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.errors import CheckpointError
from gaitsae.estimator import GaitSAE

TINY = dict(n_latents=16, epochs=3, progress=False, batch_size=64)


@pytest.fixture(scope="module")
def dataset(tiny_phantom_dir):
    return load_dataset(tiny_phantom_dir, cache=False)


@pytest.fixture(scope="module")
def fitted(dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    return GaitSAE(model="topk", k=4, **TINY).fit(dataset, run_dir=run), run


def test_fit__writes_a_complete_run_directory(fitted):
    est, run = fitted
    for name in ("config.toml", "model.safetensors", "model.json", "transform.safetensors", "transform.json",
                 "history.csv", "split.csv", "metrics.json", "checkpoint/checkpoint.safetensors"):
        assert (run / name).is_file(), name
    m = json.loads((run / "metrics.json").read_text())
    for key in ("fvu", "r2_time", "l0", "dead_fraction", "firing_rate", "peak_error", "fvu_channel",
                "rmse", "fvu_features", "low_contribution_fraction", "train_seconds"):
        assert key in m
    assert m["l0"] <= 4 and m["synthetic"] is True
    assert set(m["r2_time"]) == {"F_V", "F_AP", "F_ML", "COP_AP", "COP_ML"}


def test_fit__same_seed_gives_identical_weights(dataset, fitted):
    est, _ = fitted
    again = GaitSAE(model="topk", k=4, **TINY).fit(dataset)
    for (k, a), (_, b) in zip(est.model_.state_dict().items(), again.model_.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k


def test_save_load__reproduces_outputs_exactly(dataset, fitted):
    est, run = fitted
    loaded = GaitSAE.load(run)
    assert np.array_equal(loaded.transform(dataset), est.transform(dataset))
    z = est.transform(dataset)[:5]
    assert np.array_equal(loaded.inverse_transform(z), est.inverse_transform(z))
    assert np.array_equal(loaded.feature_directions(), est.feature_directions())
    assert np.allclose(loaded.encode_stance(dataset.curves[0]), est.transform(dataset)[0], atol=1e-6)


def test_load_untrained__is_the_start_training_moved_away_from(dataset, fitted):
    est, run = fitted
    start = GaitSAE.load(run, untrained=True)
    moved = [not np.array_equal(a.numpy(), b.numpy()) for a, b in
             zip(start.model_.state_dict().values(), est.model_.state_dict().values())]
    assert any(moved)  # three epochs of Adam change the weights
    # the start is reproducible: a one-epoch run of the same seed starts from the same weights
    again = GaitSAE(model="topk", k=4, **{**TINY, "epochs": 1}).fit(dataset)
    for k, v in start.model_.state_dict().items():
        assert np.array_equal(v.numpy(), again.init_state_[k].numpy()), k
    assert np.array_equal(start.transform_.transform(dataset.curves[:3]), est.transform_.transform(dataset.curves[:3]))


def test_feature_directions_are_decoder_columns_in_time(fitted):
    est, _ = fitted
    d = est.feature_directions()
    assert d.shape == (16, 5, 101)
    # Adding one unit of latent j to a code adds exactly direction j to the reconstruction.
    z = np.zeros((1, 16), np.float32)
    z1 = z.copy()
    z1[0, 2] = 1.0
    assert np.allclose(est.inverse_transform(z1) - est.inverse_transform(z), d[2], atol=1e-4)


def test_load__mismatched_model_json_fails_clearly(fitted, tmp_path):
    _, run = fitted
    bad = shutil.copytree(run, tmp_path / "bad")
    info = json.loads((bad / "model.json").read_text())
    info["config"]["n_latents"] = 32
    (bad / "model.json").write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match="model.json: model 'topk' .* does not match config.toml"):
        GaitSAE.load(bad)
    shutil.copy(run / "model.json", bad / "model.json")
    weights = load_file(str(bad / "model.safetensors"))
    weights["decoder"] = weights["decoder"][:, :10].contiguous()
    save_file(weights, str(bad / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"weights do not match model.json \(first difference: decoder"):
        GaitSAE.load(bad)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete"])
def test_load__damaged_weights_fail_clearly(fitted, tmp_path, damage):
    _, run = fitted
    bad = shutil.copytree(run, tmp_path / "bad")
    path = bad / "model.safetensors"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 64)
    else:
        path.unlink()
    with pytest.raises(CheckpointError, match="model.safetensors"):
        GaitSAE.load(bad)


def test_resume__ends_exactly_where_an_uninterrupted_run_ends(dataset, tmp_path):
    straight = GaitSAE(model="sae", **{**TINY, "epochs": 4}).fit(dataset, run_dir=tmp_path / "a")
    GaitSAE(model="sae", **{**TINY, "epochs": 2}).fit(dataset, run_dir=tmp_path / "b")
    # Continue the 2-epoch run to 4 epochs from its checkpoint (as after an interruption).
    resumed = GaitSAE(model="sae", **{**TINY, "epochs": 4})
    resumed.fit(dataset, run_dir=tmp_path / "b", resume=True)
    for (k, a), (_, b) in zip(straight.model_.state_dict().items(), resumed.model_.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k
    assert straight.metrics_["fvu"] == resumed.metrics_["fvu"]


def test_cli_train__writes_run_and_refuses_bad_flags(tiny_phantom_dir, tmp_path, capsys):
    assert main(["train", "--data", str(tiny_phantom_dir), "--model", "svae", "--out", str(tmp_path / "r"),
                 "--epochs", "2", "--quiet"]) == 0
    assert "svae: test fvu" in capsys.readouterr().out
    assert main(["encode", str(tmp_path / "r"), "--data", str(tiny_phantom_dir), "--out", str(tmp_path / "a.parquet")]) == 0
    import pandas as pd
    table = pd.read_parquet(tmp_path / "a.parquet")
    assert "latent_99" in table and "walking_speed_m_per_s" in table and table.synthetic.all()
    (tmp_path / "c.toml").write_text("[training]\nbatch_size = 0\n")
    assert main(["train", "--data", str(tiny_phantom_dir), "--out", str(tmp_path / "x"), "--config", str(tmp_path / "c.toml")]) == 2
    assert "training.batch_size must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_train__config_channels_and_sides_are_honoured(phantom_copy, tmp_path, capsys):
    for f in phantom_copy.glob("GRF_*_PRO_*.csv"):  # keep only F_V, left: the rest cannot be loaded
        if not f.name.startswith("GRF_F_V_PRO_left"):
            f.unlink()
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--data", str(phantom_copy), "--channels", "F_V", "--sides", "left", "--out", str(first),
                 "--epochs", "1", "--quiet"]) == 0
    assert main(["train", "--config", str(first / "config.toml"), "--out", str(second), "--quiet"]) == 0
    assert "r2_time F_V" in capsys.readouterr().out
    est = GaitSAE.load(second)
    assert est.config_.data.channels == ["F_V"] and est.config_.data.sides == ["left"]
    assert main(["train", "--config", str(first / "config.toml"), "--sides", "left,right", "--out",
                 str(tmp_path / "c"), "--quiet"]) == 2  # a flag still overrides the config: right is missing


@pytest.mark.parametrize("model", ["topk", "batchtopk", "matryoshka"])
def test_fit__topk_family_trains_on_whitened_features(dataset, model):
    est = GaitSAE(model=model, k=4, scaling="whiten", init="random", **TINY).fit(dataset)
    assert est.config_.features.scaling == "whiten" and est.transform_.n_features_ <= 80
    assert np.isfinite(est.metrics_["fvu"]) and est.feature_directions().shape[1:] == (5, 101)
