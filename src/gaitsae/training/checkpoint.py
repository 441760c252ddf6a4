"""Training checkpoints: one safetensors file holding every tensor (weights, best weights, Adam
moments, RNG states as uint8 tensors) and, as JSON in its metadata, the rest (epoch, step,
early-stopping counters, history, the run's config). One file, written atomically, so a kill at
any moment leaves either the previous checkpoint or the new one, never a mix of the two.
The state holds a sha256 of every tensor, so an edited or damaged tensor is refused on load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as to_bytes

from gaitsae.errors import CheckpointError
from gaitsae.fsio import write_bytes

FILE = "checkpoint.safetensors"


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save(path: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    write_bytes(path, to_bytes(tensors, metadata={"state": json.dumps({**state, "sha256": _digest(tensors)})}))


def _open(path: Path, with_tensors: bool) -> tuple[dict[str, torch.Tensor], dict]:
    try:
        with safe_open(str(path), framework="pt") as fh:
            state = json.loads((fh.metadata() or {})["state"])
            tensors = {k: fh.get_tensor(k) for k in fh.keys()} if with_tensors else {}
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint ({exc}); delete it to start over") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: cannot read checkpoint (its state is not a JSON object); delete it to start over")
    if with_tensors and state.get("sha256") != _digest(tensors):
        raise CheckpointError(f"{path}: tensors changed since the checkpoint was written (sha256 mismatch); "
                              "delete it to start over")
    return tensors, state


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors by name, JSON state) of a checkpoint; a damaged file is a CheckpointError."""
    return _open(path, with_tensors=True)


def load_state(path: Path) -> dict:
    """The JSON state alone (cheap: the tensors are not read)."""
    return _open(path, with_tensors=False)[1]


def pack_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Adam's per-parameter tensors by name ("optim.<param>.<key>"), and its JSON-able rest."""
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
