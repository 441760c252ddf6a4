"""The run config: defaults, validation with the key named, TOML round trip."""

from __future__ import annotations

import json

import pytest

from gaitsae.errors import ConfigError
from gaitsae.training.config import config_from_dict, config_to_dict, load_config, save_config


def test_defaults_follow_the_report():
    from gaitsae.models import DEFAULT_MODEL

    assert config_from_dict({}).model_name == DEFAULT_MODEL  # no [model] section: the package's default
    c = config_from_dict({"model": {"name": "topk"}})
    assert (c.training.batch_size, c.training.learning_rate, c.training.epochs) == (32, 1e-3, 0)  # 0: auto
    assert c.model["n_latents"] == 0 and c.model["k"] == 8  # 0: auto
    assert config_from_dict({"model": {"name": "sae"}}).model["sparsity_target"] == 0.05
    assert (c.features.domain, c.features.wavelet, c.features.level) == ("wavelet", "db5", 4)
    assert c.model["init"] == "pca" and (c.features.scaling, c.features.whiten_dims) == ("channel", 80)


def test_whiten__is_an_option_kept_as_given():
    assert config_from_dict({"features": {"scaling": "whiten"}}).features.scaling == "whiten"
    with pytest.raises(ConfigError, match="features.scaling must be one of"):
        config_from_dict({"features": {"scaling": "auto"}})


def test_auto_budget__at_least_min_steps_and_patience_stretched_alike():
    from gaitsae.training.engine import budget

    t = config_from_dict({}).training  # 100 epochs, patience 10, min_steps 5,000, batch 32
    assert budget(t, 12_000) == (100, 10)  # 375 steps per epoch: 37,500 steps
    assert budget(t, 160) == (1000, 100)  # 5 steps per epoch: stretched ×10
    t = config_from_dict({"training": {"epochs": 3}}).training
    assert budget(t, 160) == (3, 10)  # an explicit cap is kept


def test_auto_latents__3k_on_small_data_4k_on_large():
    from gaitsae.models.topk import TopKSAE

    assert TopKSAE.resolve_params({"n_latents": 0, "k": 8}, 160)["n_latents"] == 24
    assert TopKSAE.resolve_params({"n_latents": 0, "k": 8}, 280)["n_latents"] == 28
    assert TopKSAE.resolve_params({"n_latents": 0, "k": 8}, 12_000)["n_latents"] == 32
    assert TopKSAE.resolve_params({"n_latents": 40, "k": 8}, 160)["n_latents"] == 40


@pytest.mark.parametrize("mapping, message", [
    ({"trainin": {}}, "unknown section trainin"),
    ({"training": {"batch_sise": 3}}, "unknown key training.batch_sise"),
    ({"training": {"batch_size": 0}}, "training.batch_size must be >= 1, got 0"),
    ({"training": {"batch_size": "32"}}, "training.batch_size must be an integer"),
    ({"training": {"learning_rate": 0}}, "training.learning_rate must be > 0"),
    ({"features": {"scaling": "zscore"}}, "features.scaling must be one of"),
    ({"data": {"channels": ["F_V", "GRF"]}}, "data.channels must be one of"),
    ({"model": {"name": "topk", "k": -1}}, "model.k must be >= 1"),
    ({"model": {"name": "svae", "kl_weight": 1}}, "unknown key model.kl_weight"),
])
def test_bad_config_is_refused_with_the_key_named(mapping, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(mapping)


def test_toml_round_trip_and_json(tmp_path):
    c = config_from_dict({"model": {"name": "sae-disent", "cov_weight": 0.5}, "training": {"epochs": 7}})
    save_config(c, tmp_path / "c.toml")
    assert config_to_dict(load_config(tmp_path / "c.toml")) == config_to_dict(c)
    (tmp_path / "c.json").write_text(json.dumps(config_to_dict(c)))
    assert config_to_dict(load_config(tmp_path / "c.json")) == config_to_dict(c)


def test_config_file_errors_name_the_file(tmp_path):
    (tmp_path / "bad.toml").write_text("[training]\nepochs = 'many'\n")
    with pytest.raises(ConfigError, match=r"bad.toml: training.epochs must be an integer"):
        load_config(tmp_path / "bad.toml")
    (tmp_path / "broken.toml").write_text("[training\n")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        load_config(tmp_path / "broken.toml")
