"""Models stage: the report's three autoencoders, four modern SAEs and the scaffold + sparse model,
behind one interface."""

from __future__ import annotations

import dataclasses

from gaitsae.configs import from_dict
from gaitsae.errors import ConfigError
from gaitsae.models.base import KINDS, SCAFFOLD, SPARSE, GaitModel, feature_names
from gaitsae.models.batchtopk import BatchTopKSAE
from gaitsae.models.jumprelu import JumpReLUSAE
from gaitsae.models.matryoshka import MatryoshkaSAE
from gaitsae.models.sae import TiedSAE
from gaitsae.models.sae_disent import DisentangledSAE
from gaitsae.models.scaffold import ScaffoldSAE
from gaitsae.models.svae import SparseVAE
from gaitsae.models.topk import TopKSAE

MODELS: dict[str, type[GaitModel]] = {m.name: m for m in (TiedSAE, DisentangledSAE, SparseVAE, TopKSAE, BatchTopKSAE,
                                                           JumpReLUSAE, MatryoshkaSAE, ScaffoldSAE)}
# The model trained when none is named (GaitSAE(), `gaitsae train` / `config`, a config or sweep spec
# without model.name, `gaitsae demo`'s first model): the one place that says which.
DEFAULT_MODEL = "scaffold"


def canonical_name(name):
    """A model name as MODELS spells it: names are case-insensitive ("TopK" is topk)."""
    return name.lower() if isinstance(name, str) else name


def model_config(name: str, params: dict | None = None):
    """The model's Config filled from `params` (unknown keys and bad values refused)."""
    name = canonical_name(name)
    if name not in MODELS:
        raise ConfigError(f"model.name must be one of {list(MODELS)}, got {name!r}")
    return from_dict(MODELS[name].Config, params, "model")


def saved_params(name: str, saved: dict) -> dict:
    """A saved run's model keys, completed with the `absent` value of each key added after the run
    was written (keys without one stay missing, and the run's check refuses it)."""
    name = canonical_name(name)
    if name not in MODELS:
        return dict(saved)
    added = {f.name: f.metadata["absent"] for f in dataclasses.fields(MODELS[name].Config)
             if f.name not in saved and f.metadata.get("absent") is not None}
    return {**saved, **added}


def build_model(name: str, n_inputs: int, params: dict | None = None) -> GaitModel:
    config = model_config(name, params)
    return MODELS[canonical_name(name)](n_inputs, config)


__all__ = ["DEFAULT_MODEL", "KINDS", "MODELS", "SCAFFOLD", "SPARSE", "GaitModel", "feature_names", "build_model",
           "canonical_name", "model_config", "saved_params"]
