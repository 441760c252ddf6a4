"""Hostile configs and run files through the CLI: sizes bounded with the key named, run files
checked against each other and against the digests saved with them (docs/robustness.md)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from gaitsae.cli import main
from gaitsae.errors import ConfigError
from gaitsae.features import FeatureTransform
from tests.clifail import fails


@pytest.mark.parametrize("section, key, value, message", [
    ("model", "n_latents", 1e9, "model.n_latents must be <= 16384, got 1000000000"),
    ("model", "k", 10**12, "model.k must be <= 16384"),
    ("model", "aux_k", 10**9, "model.aux_k must be <= 16384"),
    ("model", "dead_after", 10**18, "model.dead_after must be <= 1000000000"),
    ("features", "level", 10**9, "features.level must be <= 8"),
    ("training", "batch_size", 1e12, "training.batch_size must be <= 65536"),
    ("training", "epochs", 10**9, "training.epochs must be <= 100000"),
    ("training", "seed", 2**70, "training.seed must be <= 4294967295"),
    ("training", "learning_rate", float("nan"), "training.learning_rate must be a finite number"),
    ("model", "aux_weight", float("inf"), "model.aux_weight must be a finite number"),
])
def test_config_sizes_are_bounded_with_the_key_named(tiny_phantom_dir, tmp_path, capsys, section, key, value, message):
    model = {"name": "topk"} if section == "model" else {}
    config = {section: {**model, key: value}} if section == "model" else {section: {key: value}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))  # NaN/Infinity are JSON extensions Python reads
    err = fails(["train", "--data", str(tiny_phantom_dir), "--out", str(tmp_path / "run"), "--config", str(path)],
                 capsys)
    assert message in err and "config.json" in err
    assert not (tmp_path / "run").exists()


def test_transform_level_is_bounded_in_python():
    curves = np.zeros((4, 1, 101), np.float32)
    with pytest.raises(ConfigError, match="features.level must be an integer from 1 to 8, got 1000000000"):
        FeatureTransform(level=10**9).fit(curves, ["F_V"])


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from gaitsae.data.phantom import write_phantom

    root = tmp_path_factory.mktemp("hostile_run")
    write_phantom(root / "data", n_subjects=6, seed=3, progress=False)
    assert main(["train", "--data", str(root / "data"), "--out", str(root / "run"), "--epochs", "2", "--quiet",
                 "--config", str(_small_config(root))]) == 0
    return root / "run", root / "data"


def _small_config(root):
    path = root / "small.toml"
    path.write_text("[model]\nname = 'topk'\nn_latents = 12\nk = 3\n")
    return path


@pytest.fixture
def run(trained_run, tmp_path):
    src, data = trained_run
    return shutil.copytree(src, tmp_path / "run"), data


def _encode(run, data, tmp_path, capsys) -> str:
    return fails(["encode", str(run), "--data", str(data), "--out", str(tmp_path / "codes.parquet")], capsys)


def _edit_json(path, fn):
    info = json.loads(path.read_text())
    fn(info)
    path.write_text(json.dumps(info))


def test_run_loads_when_untouched(run, tmp_path, capsys):
    run, data = run
    assert main(["encode", str(run), "--data", str(data), "--out", str(tmp_path / "codes.parquet")]) == 0


def test_transform_wavelet_changed_is_refused_naming_the_file(run, tmp_path, capsys):
    run, data = run
    _edit_json(run / "transform.json", lambda i: i.update(wavelet="db4"))
    err = _encode(run, data, tmp_path, capsys)
    assert "transform.json: features" in err and "'db4'" in err and "config.toml" in err


def test_wavelet_changed_consistently_is_caught_by_the_digests(run, tmp_path, capsys):
    run, data = run
    _edit_json(run / "transform.json", lambda i: i.update(wavelet="db4"))
    (run / "config.toml").write_text((run / "config.toml").read_text().replace('wavelet = "db5"', 'wavelet = "db4"'))
    err = _encode(run, data, tmp_path, capsys)
    assert "changed since the run was saved" in err and ("config.toml" in err or "transform.json" in err)


def test_transform_level_1e9_in_transform_json_is_refused(run, tmp_path, capsys):
    run, data = run
    _edit_json(run / "transform.json", lambda i: i.update(level=10**9))
    err = _encode(run, data, tmp_path, capsys)
    assert "transform.json: features.level must be an integer from 1 to 8" in err


def test_transform_size_that_does_not_fit_its_settings_is_refused(run, tmp_path, capsys):
    run, data = run
    _edit_json(run / "transform.json", lambda i: i.update(channels=i["channels"][:-1]))
    err = _encode(run, data, tmp_path, capsys)
    assert re.search(r"transform.json: n_(features|coefficients) is", err) and "of 4 channels have" in err


def test_tampered_model_tensors_are_refused(run, tmp_path, capsys):
    run, data = run
    weights = load_file(str(run / "model.safetensors"))
    weights["decoder"] = (weights["decoder"] * -1).copy()  # same shape and dtype, other values
    save_file(weights, str(run / "model.safetensors"))
    err = _encode(run, data, tmp_path, capsys)
    assert "model.safetensors: changed since the run was saved" in err


def test_tampered_transform_tensors_are_refused(run, tmp_path, capsys):
    run, data = run
    arrays = load_file(str(run / "transform.safetensors"))
    arrays["scale"] = arrays["scale"] * 2
    save_file(arrays, str(run / "transform.safetensors"))
    err = _encode(run, data, tmp_path, capsys)
    assert "transform.safetensors: changed since the run was saved" in err


@pytest.mark.parametrize("name, content, message", [
    ("model.json", "{not json", "model.json: unreadable"),
    ("model.json", "[1, 2]", "model.json: expected a JSON object, found list"),
    ("transform.json", "", "transform.json: unreadable"),
    ("manifest.json", "{}", "manifest.json: not a gaitsae run manifest"),
    ("config.toml", "[model\nname=", "config.toml: not valid TOML"),
    ("split.csv", "\x00\x01garbage", "split.csv:"),
    ("split.csv", "a,b\n1,2\n1,2,3,4\n", "split.csv:"),
])
def test_malformed_run_file_is_one_line(run, tmp_path, capsys, name, content, message):
    run, data = run
    (run / name).write_text(content)
    err = _encode(run, data, tmp_path, capsys)
    assert message in err


def test_missing_manifest_is_refused(run, tmp_path, capsys):
    run, data = run
    (run / "manifest.json").unlink()
    err = _encode(run, data, tmp_path, capsys)
    assert "missing manifest.json" in err


def test_tampered_checkpoint_tensors_are_refused_on_resume(run, tmp_path, capsys):
    run, data = run
    path = run / "checkpoint" / "checkpoint.safetensors"
    with safe_open(str(path), framework="np") as fh:
        metadata = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    name = next(k for k in tensors if k.startswith("model."))
    tensors[name] = (tensors[name] + 1).astype(tensors[name].dtype)
    save_file(tensors, str(path), metadata=metadata)
    err = fails(["train", "--data", str(data), "--out", str(run), "--epochs", "3", "--resume", "--quiet",
                  "--config", str(run / "config.toml")], capsys)
    assert "checkpoint.safetensors: tensors changed since the checkpoint was written" in err


@pytest.mark.parametrize("edit, message", [
    (lambda i: i.pop("wavelet"), "transform.json: missing or malformed entry ('wavelet')"),
    (lambda i: i.update(n_features="104"), "transform.json: n_features must be an integer"),
    (lambda i: i.update(channels=["F_V", "F_V", "X"]), "transform.json: channels must be a non-empty list"),
])
def test_malformed_transform_json_names_it(run, tmp_path, capsys, edit, message):
    run, data = run
    _edit_json(run / "transform.json", edit)
    assert message in _encode(run, data, tmp_path, capsys)



def test_n_latents_1e9_in_run_files_is_refused_before_allocating(run, tmp_path, capsys):
    run, data = run
    (run / "config.toml").write_text((run / "config.toml").read_text().replace("n_latents = 12", "n_latents = 1000000000"))
    _edit_json(run / "model.json", lambda i: i["config"].update(n_latents=10**9))
    err = _encode(run, data, tmp_path, capsys)
    assert "config.toml: model.n_latents must be <= 16384" in err
