"""The run directory: everything needed to rebuild, rerun and compare a trained model.

    config.toml            the complete, re-runnable config
    model.safetensors      weights (never pickle) + model.json (name, n_inputs, hyperparameters)
    transform.safetensors  fitted feature means/scales + transform.json (wavelet, channels, …)
    history.csv            loss terms per epoch (train_* and val_*)
    split.csv              subject → train / val / test
    metrics.json           test-split metrics
    checkpoint/            the last training checkpoint (for --resume)
    manifest.json          sha256 of the files above that load_run reads, taken at save time

load_run checks the files against each other (config vs model.json vs weights, transform
settings vs the model's input size) and then against the manifest, so an edited file (say
transform.json's wavelet changed from db5 to db4, which no shape reveals) is refused by name.
"""

from __future__ import annotations

import hashlib
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

DIGESTED = ("config.toml", "model.safetensors", "model.json", "transform.safetensors", "transform.json")
MANIFEST = "manifest.json"
REQUIRED = (*DIGESTED, MANIFEST)


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_manifest(path: Path) -> None:
    write_json(path / MANIFEST, {"sha256": {name: _sha256(path / name) for name in DIGESTED}})


def check_manifest(path: Path) -> None:
    """Every digested file is byte for byte what save_run wrote; else CheckpointError naming it."""
    digests = _read_json(path / MANIFEST).get("sha256")
    if not isinstance(digests, dict):
        raise CheckpointError(f"{path / MANIFEST}: not a gaitsae run manifest (no sha256 table)")
    for name in DIGESTED:
        if digests.get(name) != _sha256(path / name):
            raise CheckpointError(f"{path / name}: changed since the run was saved (its sha256 does not match "
                                  f"{MANIFEST}); restore the file or train the run again")


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
    write_manifest(path)


def _read_json(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{path}: expected a JSON object, found {type(info).__name__}")
    return info


def read_split(path) -> pd.DataFrame:
    """split.csv (subject → train/val/test) of a run; a damaged file is a CheckpointError."""
    path = Path(path) / "split.csv"
    try:
        split = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable ({str(exc).strip().splitlines()[-1]})") from None
    if not {"subject", "split"} <= set(split.columns):
        raise CheckpointError(f"{path}: expected columns subject and split, found {list(split.columns)[:5]}")
    return split


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
        arrays = load_numpy(str(path / "transform.safetensors"))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path / 'transform.safetensors'}: cannot load transform ({exc})") from None
    try:
        transform = FeatureTransform.from_state(arrays, _read_json(path / "transform.json"))
    except ConfigError as exc:
        raise CheckpointError(f"{path / 'transform.json'}: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{path / 'transform.json'}: missing or malformed entry ({exc})") from None
    except ValueError as exc:
        raise CheckpointError(f"{path / 'transform.safetensors'}: cannot load transform ({exc})") from None
    settings = {"domain": transform.domain, "wavelet": transform.wavelet, "level": transform.level,
                "mode": transform.mode, "scaling": transform.scaling}
    wanted = {k: getattr(config.features, k) for k in settings}
    if settings != wanted or set(transform.channels_) != set(config.data.channels):
        raise CheckpointError(f"{path / 'transform.json'}: features {settings} of channels {list(transform.channels_)} "
                              f"do not match config.toml's {wanted} of {list(config.data.channels)}")
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
    check_manifest(path)
    model.load_state_dict(state)
    model.eval()
    return config, model, transform


def read_metrics(path) -> dict:
    return _read_json(Path(path) / "metrics.json")

