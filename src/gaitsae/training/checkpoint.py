"""Training checkpoints: one safetensors file holding every tensor and, in its metadata, the
JSON state (epoch, early-stopping counters, history). One file, written atomically, so a kill
at any moment leaves either the previous checkpoint or the new one, never a mix.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gaitsae.errors import CheckpointError
from gaitsae.fsio import atomic_path

FILE = "checkpoint.safetensors"


def save(path: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"state": json.dumps(state)})


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open
        with safe_open(str(path), framework="pt") as fh:
            state = json.loads(fh.metadata()["state"])
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint ({exc}); delete it to start over") from None
    return tensors, state


def pack_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Adam's per-parameter tensors by name, and its JSON-able rest."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{key}"] = value
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def unpack_optimizer(optimizer: torch.optim.Optimizer, tensors: dict, info: dict) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for name, value in info["scalars"].items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})
