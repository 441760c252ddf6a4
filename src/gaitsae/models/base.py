"""The interface every gaitsae autoencoder shares (one file per model implements it).

Shapes: x is [batch, n_inputs] (scaled feature vectors), latents are [batch, n_latents].
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

# The two kinds of feature (GaitModel.feature_kinds): consumers ask the kind, never the model's name.
SCAFFOLD, SPARSE = "scaffold", "sparse"
KINDS = (SCAFFOLD, SPARSE)
COLUMN_PREFIX = {SCAFFOLD: "scaffold", SPARSE: "latent"}


def feature_names(kinds) -> list[str]:
    """Column names of features by kind, numbered within each kind: scaffold_0 …, latent_0 …"""
    seen = {kind: 0 for kind in KINDS}
    names = []
    for kind in kinds:
        names.append(f"{COLUMN_PREFIX[kind]}_{seen[kind]}")
        seen[kind] += 1
    return names


class GaitModel(nn.Module):
    """Base class: encode -> latents, decode -> reconstruction, loss terms by name.

    Subclasses set `name` and a `Config` dataclass (hyperparameters, all with defaults) and
    implement encode, decode, loss_terms and decoder_directions. The hooks default to no-ops.
    """

    name: ClassVar[str]
    # |latent| above which a latent counts as active (L0, firing rate); ReLU codes: > 0.
    active_threshold: ClassVar[float] = 0.0

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic latents used for analysis (for svae: the posterior mean mu)."""
        raise NotImplementedError

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of x through encode -> decode (deterministic)."""
        return self.decode(self.encode(x))

    def loss_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Scalar loss terms of one batch by name; "loss" is the total that is minimised."""
        raise NotImplementedError

    @classmethod
    def resolve_params(cls, params: dict, n_train: int) -> dict:
        """Hyperparameters with any data-dependent default ("auto") filled in from the number of
        training stances; the resolved values are what the run saves."""
        return params

    def encoder_weights(self) -> torch.Tensor:
        """[n_latents, n_inputs]: the rows that compute each latent from the input."""
        raise NotImplementedError

    def decoder_directions(self) -> torch.Tensor:
        """[n_latents, n_inputs]: what one unit of each latent adds to the reconstruction."""
        raise NotImplementedError

    def feature_kinds(self) -> list[str]:
        """The kind of each latent, in latent order: "scaffold" (a dense component coded on every
        stance) or "sparse" (a dictionary atom, active on some stances). Default: all sparse."""
        return [SPARSE] * len(self.decoder_directions())

    # Training hooks (the engine calls them; most models need none).
    def init_from_data(self, x: torch.Tensor) -> None:
        """Called once before training with a sample of the training inputs."""

    def after_backward(self) -> None:
        """Called after loss.backward(), before the optimiser step."""

    def after_step(self) -> None:
        """Called after each optimiser step."""

    def after_training(self, x: torch.Tensor) -> None:
        """Called once after training, on the best weights, with the same sample as init_from_data
        (a model may refit fixed statistics that depend on its trained parts)."""
