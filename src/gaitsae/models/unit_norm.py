"""What the modern SAEs (topk, batchtopk, jumprelu, matryoshka) share: an untied encoder and a
decoder whose rows (feature directions) have unit norm.

pre = W_enc (x − b_pre) + b_enc, x̂ = W_decᵀ h + b_pre. Unit-norm rows make a latent's value its
contribution's size, so sparsity and thresholds mean the same for every latent: the gradient
component parallel to each row is removed before a step and rows are renormalised after it.
W_enc starts as W_dec (Gao et al. 2024; Rajamanoharan et al. 2024 likewise); b_pre starts at the
geometric median of the training data (GRF curves share a large common shape, and centring keeps
latents alive).
"""

from __future__ import annotations

import torch
from torch import nn

from gaitsae.models.base import GaitModel


def geometric_median(x: torch.Tensor, iterations: int = 50) -> torch.Tensor:
    """Weiszfeld's algorithm: the point minimising the summed distance to the rows of x."""
    median = x.mean(dim=0)
    for _ in range(iterations):
        weights = 1.0 / (x - median).norm(dim=1).clamp_min(1e-8)
        median = (weights[:, None] * x).sum(dim=0) / weights.sum()
    return median


class UnitNormSAE(GaitModel):
    """Parameters and training hooks only; subclasses choose which latents fire."""

    def __init__(self, n_inputs: int, n_latents: int):
        super().__init__()
        directions = torch.randn(n_latents, n_inputs)
        self.decoder = nn.Parameter(directions / directions.norm(dim=1, keepdim=True))
        self.encoder = nn.Parameter(self.decoder.detach().clone())
        self.encoder_bias = nn.Parameter(torch.zeros(n_latents))
        self.pre_bias = nn.Parameter(torch.zeros(n_inputs))

    def pre_activations(self, x):
        return (x - self.pre_bias) @ self.encoder.T + self.encoder_bias

    def decode(self, latents):
        return latents @ self.decoder + self.pre_bias

    def decoder_directions(self):
        return self.decoder

    def encoder_weights(self):
        return self.encoder

    @torch.no_grad()
    def init_from_data(self, x):
        self.pre_bias.copy_(geometric_median(x))

    @torch.no_grad()
    def after_backward(self):
        g = self.decoder.grad
        if g is not None:
            w = self.decoder
            g -= (g * w).sum(dim=1, keepdim=True) * w

    @torch.no_grad()
    def after_step(self):
        self.decoder /= self.decoder.norm(dim=1, keepdim=True).clamp_min(1e-12)
