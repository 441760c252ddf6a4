"""The run directory: everything needed to rebuild, rerun and compare a trained model.

    config.toml            the complete, re-runnable config
    model.safetensors      weights (never pickle) + model.json (name, n_inputs, hyperparameters)
    transform.safetensors  fitted feature means/scales + transform.json (wavelet, channels, …)
    history.csv            loss terms per epoch (train_* and val_*)
    split.csv              subject → train / val / test
    metrics.json           test-split metrics
    checkpoint/            the last training checkpoint (for --resume)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file as load_torch
from safetensors.torch import save_file as save_torch

from gaitsae import __version__
from gaitsae.errors import CheckpointError, ConfigError
from gaitsae.features import FeatureTransform
from gaitsae.fsio import atomic_path, write_json, write_text
from gaitsae.models import GaitModel, build_model
from gaitsae.training.config import RunConfig, load_config, save_config

REQUIRED = ("config.toml", "model.safetensors", "model.json", "transform.safetensors", "transform.json")


def save_model(path: Path, model: GaitModel, n_inputs: int, config: RunConfig) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path / "model.safetensors") as tmp:
        save_torch(state, str(tmp))
    write_json(path / "model.json", {"name": config.model_name, "n_inputs": n_inputs,
                                     "config": config.model_params(), "gaitsae_version": __version__})


def save_transform(path: Path, transform: FeatureTransform) -> None:
    arrays, info = transform.state_dict()
    with atomic_path(path / "transform.safetensors") as tmp:
        save_numpy(arrays, str(tmp))
    write_json(path / "transform.json", info)


def save_run(path, config: RunConfig, model: GaitModel, transform: FeatureTransform, history=None,
             split: pd.DataFrame | None = None, metrics: dict | None = None) -> None:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_config(config, path / "config.toml")
    save_model(path, model, transform.n_features_, config)
    save_transform(path, transform)
    if history:
        write_text(path / "history.csv", pd.DataFrame([r.row() for r in history]).to_csv(index=False))
    if split is not None:
        write_text(path / "split.csv", split.to_csv(index=False))
    if metrics is not None:
        write_json(path / "metrics.json", metrics)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from None


def load_run(path) -> tuple[RunConfig, GaitModel, FeatureTransform]:
    """Rebuild config, model and transform; every mismatch is a CheckpointError naming the file."""
    path = Path(path)
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if missing and (path / "checkpoint").is_dir():
        raise CheckpointError(f"{path}: training has not finished (only a checkpoint); continue it with: "
                              f"gaitsae train --out {path} --resume")
    if missing:
        raise CheckpointError(f"{path}: not a gaitsae run directory (missing {missing[0]})")
    try:
        config = load_config(path / "config.toml")
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None
    info = _read_json(path / "model.json")
    if info.get("name") != config.model_name or info.get("config") != config.model_params():
        raise CheckpointError(f"{path / 'model.json'}: model {info.get('name')!r} with {info.get('config')} does not "
                              f"match config.toml's model {config.model_name!r} with {config.model_params()}")
    try:
        transform = FeatureTransform.from_state(load_numpy(str(path / "transform.safetensors")),
                                                _read_json(path / "transform.json"))
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path / 'transform.safetensors'}: cannot load transform ({exc})") from None
    if transform.n_features_ != info.get("n_inputs"):
        raise CheckpointError(f"{path / 'transform.json'}: {transform.n_features_} features, but model.json "
                              f"expects {info.get('n_inputs')}")
    try:
        state = load_torch(str(path / "model.safetensors"))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path / 'model.safetensors'}: cannot read weights ({exc})") from None
    model = build_model(config.model_name, info["n_inputs"], config.model_params())
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        diff = sorted(set(expected.items()) ^ set(found.items()))[0]
        raise CheckpointError(f"{path / 'model.safetensors'}: weights do not match model.json "
                              f"(first difference: {diff[0]} {diff[1]})")
    model.load_state_dict(state)
    model.eval()
    return config, model, transform


def read_metrics(path) -> dict:
    return _read_json(Path(path) / "metrics.json")

