"""The run config: the single source of truth for a training run, saved with it as TOML.

Sections: data, features, model (name + that model's hyperparameters), training. Built from
TOML/JSON files or dicts; unknown keys and bad values raise ConfigError naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from gaitsae.channels import CHANNELS, SIDES
from gaitsae.configs import MAX_BATCH, MAX_COUNT, MAX_EPOCHS, MAX_SEED, from_dict, param, to_dict
from gaitsae.errors import ConfigError
from gaitsae.features.transform import DOMAINS, MAX_LEVEL, MAX_WHITEN_DIMS, SCALINGS
from gaitsae.fsio import write_text
from gaitsae.models import DEFAULT_MODEL, MODELS, canonical_name, model_config


@dataclass
class DataConfig:
    path: str = param("", help="data directory (or directory of directories)")
    channels: list[str] = param(list(CHANNELS), choices=CHANNELS)
    sides: list[str] = param(list(SIDES), choices=SIDES)


@dataclass
class FeatureConfig:
    domain: str = param("wavelet", choices=DOMAINS, help="wavelet coefficients or the time-domain curves")
    wavelet: str = param("db5")
    level: int = param(4, min=1, max=MAX_LEVEL)
    mode: str = param("periodization", choices=("periodization", "symmetric", "zero", "reflect", "periodic"))
    scaling: str = param("channel", choices=SCALINGS, help="channel: one scale per channel; coefficient: "
                         "z-score each; whiten: channel scaling, then PCA-whitened to whiten_dims (with topk: "
                         "init = random; recovers sparse patterns, reconstructs worse; docs/models.md)")
    whiten_dims: int = param(80, min=1, max=MAX_WHITEN_DIMS, help="with scaling = whiten: principal dimensions kept "
                             "(fewer if the training data have fewer)")


@dataclass
class TrainingConfig:
    epochs: int = param(0, min=0, max=MAX_EPOCHS, help="epoch cap; 0 = auto: 100, stretched on small data (see min_steps)")
    batch_size: int = param(32, min=1, max=MAX_BATCH)
    learning_rate: float = param(1e-3, min=0.0, max=10.0, min_exclusive=True)
    patience: int = param(10, min=1, max=MAX_EPOCHS, help="epochs without validation improvement before stopping")
    min_steps: int = param(5_000, min=0, max=MAX_COUNT, help="with epochs = 0: optimiser steps the epoch cap allows "
                           "at least; on small data the cap of 100 epochs and the patience are stretched alike")
    seed: int = param(0, min=0, max=MAX_SEED)
    val_fraction: float = param(0.15, min=0.0, max=0.5, min_exclusive=True)
    test_fraction: float = param(0.15, min=0.0, max=0.5, min_exclusive=True)
    device: str = param("auto", choices=("auto", "cpu", "cuda"))
    max_seconds: float = param(0.0, min=0.0, max=1e8, help="stop after this long (0: no limit)")
    checkpoint_every: int = param(1, min=1, max=MAX_EPOCHS, help="write the resume checkpoint every this many epochs")
    threads: int = param(0, min=0, max=1024, help="intra-op CPU threads (0: chosen for the size of the work)")


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: dict = field(default_factory=lambda: {"name": DEFAULT_MODEL})
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @property
    def model_name(self) -> str:
        return self.model["name"]

    def model_params(self) -> dict:
        return {k: v for k, v in self.model.items() if k != "name"}


SECTIONS = {"data": DataConfig, "features": FeatureConfig, "training": TrainingConfig}


def config_from_dict(mapping: dict) -> RunConfig:
    mapping = dict(mapping or {})
    unknown = [k for k in mapping if k not in (*SECTIONS, "model")]
    if unknown:
        raise ConfigError(f"unknown section {unknown[0]} (known: data, features, model, training)")
    sections = {name: from_dict(cls, mapping.get(name), name) for name, cls in SECTIONS.items()}
    model = dict(mapping.get("model") or {"name": DEFAULT_MODEL})
    name = canonical_name(model.pop("name", DEFAULT_MODEL))
    model = {"name": name, **to_dict(model_config(name, model))}  # validated, defaults filled in
    return RunConfig(model=model, **sections)


def config_to_dict(config: RunConfig) -> dict:
    return {"data": to_dict(config.data), "features": to_dict(config.features),
            "model": dict(config.model), "training": to_dict(config.training)}


def read_config_mapping(path) -> dict:
    """The sections and keys a TOML/JSON config file sets, as written (not yet validated or
    filled with defaults: the CLI needs to know which values the user gave)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        mapping = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'} ({exc})") from None
    if not isinstance(mapping, dict) or any(not isinstance(v, dict) for v in mapping.values()):
        raise ConfigError(f"{path}: a config is a set of sections ([data], [features], [model], [training])")
    return mapping


def load_config(path) -> RunConfig:
    mapping = read_config_mapping(path)
    try:
        return config_from_dict(mapping)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def default_config(model: str = DEFAULT_MODEL) -> RunConfig:
    return config_from_dict({"model": {"name": model}})


def config_to_toml(config: RunConfig, explain_zeros: bool = False) -> str:
    """The config as TOML; explain_zeros: a key set to 0 gets its help as a comment, because 0
    often means "automatic" or "off" (n_latents, epochs, threads, max_seconds) and says neither."""
    text = tomli_w.dumps(config_to_dict(config))
    if not explain_zeros:
        return text
    helps = {name: _helps(cls) for name, cls in SECTIONS.items()}
    helps["model"] = _helps(MODELS[config.model_name].Config)
    lines, section = [], ""
    for line in text.splitlines():
        if m := re.fullmatch(r"\[(\w+)\]", line):
            section = m.group(1)
        elif (m := re.fullmatch(r"(\w+) = 0(\.0)?", line)) and helps.get(section, {}).get(m.group(1)):
            line = f"{line}  # {helps[section][m.group(1)]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _helps(cls) -> dict[str, str]:
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def save_config(config: RunConfig, path) -> None:
    write_text(path, config_to_toml(config))


def resolve_auto(config: RunConfig, n_train: int) -> RunConfig:
    """The config with its automatic model values (e.g. n_latents = 0) filled in as training fills
    them for n_train training stances: what a finished run saves. The one way to compare a
    requested config with a saved run."""
    from gaitsae.models import MODELS

    return replace(config, model=MODELS[config.model_name].resolve_params(config.model_params(), n_train))


def replace(config: RunConfig, **sections) -> RunConfig:
    """A copy with some sections' fields changed, re-validated: replace(c, training={"epochs": 5})."""
    mapping = config_to_dict(config)
    for name, changes in sections.items():
        mapping[name] = {**mapping[name], **changes}
    return config_from_dict(mapping)

