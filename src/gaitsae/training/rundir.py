"""The run directory: everything needed to rebuild, rerun and compare a trained model.

    config.toml            the complete, re-runnable config
    model.safetensors      weights (never pickle) + model.json (name, n_inputs, hyperparameters)
    model_init.safetensors the untrained start's weights (after initialisation from the training
                           data): every trained result is held against it
    transform.safetensors  fitted feature means/scales + transform.json (wavelet, channels, …)
    history.csv            loss terms per epoch (train_* and val_*)
    split.csv              subject → train / val / test
    metrics.json           test-split metrics
    data.json              the data directory (absolute) and a digest of the files trained on
    checkpoint/            the last training checkpoint (for --resume)
    manifest.json          sha256 of the files above that load_run reads, taken at save time

load_run checks the files against each other (config vs model.json vs weights, transform
settings vs the model's input size) and then against the manifest, so an edited file (say
transform.json's wavelet changed from db5 to db4, which no shape reveals) is refused by name.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save as numpy_bytes
from safetensors.torch import load_file as load_torch
from safetensors.torch import save as torch_bytes

from gaitsae import __version__
from gaitsae import outdir
from gaitsae.data.reader import data_digest
from gaitsae.errors import CheckpointError, ConfigError, DataError
from gaitsae.features import FeatureTransform
from gaitsae.fsio import write_bytes, write_json, write_text
from gaitsae.models import GaitModel, build_model, saved_params
from gaitsae.training.config import RunConfig, load_config, replace, save_config

DIGESTED = ("config.toml", "model.safetensors", "model.json", "transform.safetensors", "transform.json")
MANIFEST = "manifest.json"
REQUIRED = (*DIGESTED, MANIFEST)
DATA_FILE = "data.json"
INIT_WEIGHTS = "model_init.safetensors"
RUN_FILES = (*REQUIRED, DATA_FILE, INIT_WEIGHTS, "history.csv", "split.csv", "metrics.json", "checkpoint")


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


def _state_bytes(state: dict) -> bytes:
    return torch_bytes({k: v.detach().cpu().contiguous() for k, v in state.items()})


def save_model(path: Path, model: GaitModel, n_inputs: int, config: RunConfig, init_state: dict | None = None) -> None:
    write_bytes(path / "model.safetensors", _state_bytes(model.state_dict()))  # our write: a full disk is one clear error
    if init_state is not None:
        write_bytes(path / INIT_WEIGHTS, _state_bytes(init_state))
    write_json(path / "model.json", {"name": config.model_name, "n_inputs": n_inputs,
                                     "config": config.model_params(), "gaitsae_version": __version__})


def save_transform(path: Path, transform: FeatureTransform) -> None:
    arrays, info = transform.state_dict()
    write_bytes(path / "transform.safetensors", numpy_bytes(arrays))
    write_json(path / "transform.json", info)


def save_run(path, config: RunConfig, model: GaitModel, transform: FeatureTransform, history=None,
             split: pd.DataFrame | None = None, metrics: dict | None = None, init_state: dict | None = None) -> None:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = replace(config, data={"path": absolute_paths(config.data.path)})
    write_json(path / DATA_FILE, data_record(config))
    save_config(config, path / "config.toml")
    save_model(path, model, transform.n_features_, config, init_state)
    save_transform(path, transform)
    if history:
        write_text(path / "history.csv", pd.DataFrame([r.row() for r in history]).to_csv(index=False))
    if split is not None:
        write_text(path / "split.csv", split.to_csv(index=False))
    if metrics is not None:
        write_json(path / "metrics.json", metrics)
    write_manifest(path)
    outdir.record(path, "run", [name for name in RUN_FILES if (path / name).exists()])


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


def read_config(path) -> RunConfig:
    """The config of a finished run directory (checked to be one), without loading its weights."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: {'is not a directory' if path.exists() else 'no such directory'}; "
                              f"give a run directory written by gaitsae train")
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if not (path / "config.toml").is_file() and (path / "checkpoint").is_dir():
        raise CheckpointError(f"{path}: training has not finished (only a checkpoint); continue it with: "
                              f"gaitsae train --out {path} --resume")
    if missing:
        raise CheckpointError(f"{path}: not a gaitsae run directory (missing {missing[0]})")
    try:
        return load_config(path / "config.toml")
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None


def load_run(path, untrained: bool = False) -> tuple[RunConfig, GaitModel, FeatureTransform]:
    """Rebuild config, model and transform; every mismatch is a CheckpointError naming the file.
    untrained=True loads the run's untrained start (model_init.safetensors) instead of its weights."""
    path = Path(path)
    weights = path / (INIT_WEIGHTS if untrained else "model.safetensors")
    if untrained and not weights.is_file() and (path / "config.toml").is_file():
        raise CheckpointError(f"{path}: no {INIT_WEIGHTS} (the run was trained before gaitsae kept the untrained "
                              f"start); train it again to compare it with its start")
    config = read_config(path)
    info = _read_json(path / "model.json")
    if isinstance(info.get("config"), dict):  # keys added since the run was saved: as it was trained
        saved = info["config"]
        info["config"] = saved_params(config.model_name, saved)
        config.model.update({k: v for k, v in info["config"].items() if k not in saved})
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
                "mode": transform.mode, "scaling": transform.scaling, "whiten_dims": transform.whiten_dims}
    wanted = {k: getattr(config.features, k) for k in settings}
    if settings != wanted or set(transform.channels_) != set(config.data.channels):
        raise CheckpointError(f"{path / 'transform.json'}: features {settings} of channels {list(transform.channels_)} "
                              f"do not match config.toml's {wanted} of {list(config.data.channels)}")
    if transform.n_features_ != info.get("n_inputs"):
        raise CheckpointError(f"{path / 'transform.json'}: {transform.n_features_} features, but model.json "
                              f"expects {info.get('n_inputs')}")
    try:
        state = load_torch(str(weights))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: cannot read weights ({exc})") from None
    model = build_model(config.model_name, info["n_inputs"], config.model_params())
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        diff = sorted(set(expected.items()) ^ set(found.items()))[0]
        raise CheckpointError(f"{weights}: weights do not match model.json "
                              f"(first difference: {diff[0]} {diff[1]})")
    check_manifest(path)
    model.load_state_dict(state)
    model.eval()
    return config, model, transform


def read_metrics(path) -> dict:
    return _read_json(Path(path) / "metrics.json")



def absolute_paths(paths: str) -> str:
    """data.path with each comma-separated directory absolute and resolved, so a run means the
    same data from any working directory."""
    return ",".join(str(Path(p).resolve()) for p in paths.split(",")) if paths else paths


def data_record(config: RunConfig) -> dict:
    """What data.json holds: the data path and the digest of its files (None if unreadable)."""
    d = config.data
    try:
        digest = data_digest(d.path.split(","), d.channels, d.sides) if d.path else None
    except DataError:
        digest = None
    return {"path": d.path, "channels": list(d.channels), "sides": list(d.sides), "digest": digest}


def run_data(path, config: RunConfig) -> str:
    """The run's data.path, refused when the files found there are not the ones it trained on."""
    path = Path(path)
    data = config.data.path
    if not data:
        raise CheckpointError(f"{path / 'config.toml'}: no data.path; pass --data DIR")
    if not all(Path(p).is_absolute() for p in data.split(",")):
        print(f"warning: {path / 'config.toml'}: data.path {data!r} is relative; reading it from {Path.cwd()}",
              file=sys.stderr)
    recorded = _read_json(path / DATA_FILE).get("digest") if (path / DATA_FILE).is_file() else None
    if recorded is None:
        print(f"warning: {path}: no data digest recorded; cannot check that {data} is the training data",
              file=sys.stderr)
        return data
    try:
        found = data_digest(data.split(","), config.data.channels, config.data.sides)
    except DataError as exc:
        raise DataError(f"{path} was trained on {data}, which cannot be read now ({exc}); pass --data DIR") from None
    if found != recorded:
        raise DataError(f"{data}: not the data {path} was trained on (the files' content differs); "
                        f"pass --data {data} to use it anyway")
    return data
