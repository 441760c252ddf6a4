"""`svae`: the report's sparse variational autoencoder, with a variance that is really learned.

Two encoder heads give μ and log σ²; in training z = μ + σ ε (reparameterisation); the decoder
is tied to the μ head. loss = ‖x − x̂‖² + β KL(q(z|x) ‖ N(0, I)) + λ ‖z‖₁, β = 1.
`encode` returns μ (deterministic latents for analysis). log σ² is clamped to [−10, 10].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gaitsae.configs import MAX_LATENTS, param
from gaitsae.models import losses
from gaitsae.models.base import GaitModel

LOGVAR_RANGE = (-10.0, 10.0)


@dataclass
class Config:
    n_latents: int = param(100, min=1, max=MAX_LATENTS)
    beta: float = param(1.0, min=0.0, help="β, weight of the KL to the prior")
    l1_weight: float = param(0.05, min=0.0, help="λ on ‖z‖₁")


class SparseVAE(GaitModel):
    name = "svae"
    active_threshold = 0.1  # mu is dense; |mu| > 0.1 prior sd counts as active
    Config = Config

    def __init__(self, n_inputs: int, config: Config):
        super().__init__()
        self.config = config
        self.mu_head = nn.Linear(n_inputs, config.n_latents)
        self.logvar_head = nn.Linear(n_inputs, config.n_latents)
        for head in (self.mu_head, self.logvar_head):
            nn.init.xavier_uniform_(head.weight)
            nn.init.zeros_(head.bias)
        self.decoder_bias = nn.Parameter(torch.zeros(n_inputs))

    def posterior(self, x):
        return self.mu_head(x), self.logvar_head(x).clamp(*LOGVAR_RANGE)

    def encode(self, x):
        return self.mu_head(x)

    def decode(self, latents):
        return latents @ self.mu_head.weight + self.decoder_bias

    def loss_terms(self, x):
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        c = self.config
        terms = {
            "mse": losses.squared_error(x, self.decode(z)),
            "kl_prior": c.beta * losses.gaussian_kl(mu, logvar),
            "l1": c.l1_weight * losses.l1(z),
        }
        terms["loss"] = sum(terms.values())
        return terms

    def decoder_directions(self):
        return self.mu_head.weight

    def encoder_weights(self):
        return self.mu_head.weight
