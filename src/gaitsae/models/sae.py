"""`sae`: the report's baseline, a tied-weight ReLU autoencoder with KL and L1 sparsity.

loss = ‖x − x̂‖² + λ_KL Σ_j KL(ρ ‖ ρ̂_j) + λ_L1 ‖h‖₁, with h = ReLU(W x + b), x̂ = Wᵀ h + c.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gaitsae.configs import MAX_LATENTS, param
from gaitsae.models import losses
from gaitsae.models.base import GaitModel


@dataclass
class Config:
    n_latents: int = param(100, min=1, max=MAX_LATENTS)
    sparsity_target: float = param(0.05, min=0.0, max=1.0, min_exclusive=True, help="ρ")
    kl_weight: float = param(1.0, min=0.0, help="λ_KL")
    l1_weight: float = param(0.05, min=0.0, help="λ_L1")


class TiedSAE(GaitModel):
    name = "sae"
    Config = Config

    def __init__(self, n_inputs: int, config: Config):
        super().__init__()
        self.config = config
        self.weight = nn.Parameter(torch.empty(config.n_latents, n_inputs))
        nn.init.xavier_uniform_(self.weight)
        self.encoder_bias = nn.Parameter(torch.zeros(config.n_latents))
        self.decoder_bias = nn.Parameter(torch.zeros(n_inputs))

    def encode(self, x):
        return torch.relu(x @ self.weight.T + self.encoder_bias)

    def decode(self, latents):
        return latents @ self.weight + self.decoder_bias

    def sparsity_terms(self, h) -> dict[str, torch.Tensor]:
        c = self.config
        return {"kl_sparsity": c.kl_weight * losses.kl_sparsity(h, c.sparsity_target),
                "l1": c.l1_weight * losses.l1(h)}

    def loss_terms(self, x):
        h = self.encode(x)
        terms = {"mse": losses.squared_error(x, self.decode(h)), **self.sparsity_terms(h)}
        terms["loss"] = sum(terms.values())
        return terms

    def decoder_directions(self):
        return self.weight

    def encoder_weights(self):
        return self.weight
