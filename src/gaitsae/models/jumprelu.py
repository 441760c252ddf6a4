"""`jumprelu`: the JumpReLU sparse autoencoder of Rajamanoharan, Lieberum, Sonnerat, Conmy,
Varma, Kramár & Nanda 2024 ("Jumping Ahead: Improving Reconstruction Fidelity with JumpReLU
Sparse Autoencoders").

h_i = pre_i · H(pre_i − θ_i), a per-latent threshold θ_i = exp(log θ_i) > 0 (so h is also a
ReLU code); loss = ‖x − x̂‖² + λ · L0, L0 = Σ_i H(pre_i − θ_i) averaged over the batch. H has no
useful derivative, so θ learns through the paper's straight-through estimators with a rectangle
kernel K(u) = 1[|u| < ½] of bandwidth ε:
  ∂ JumpReLU / ∂θ = −(θ / ε) K((pre − θ) / ε),   ∂ H(pre − θ) / ∂θ = −(1 / ε) K((pre − θ) / ε),
and the pre-activations get H(pre − θ) from the JumpReLU output and nothing from the L0 term.
Decoder, encoder initialisation and b_pre: models/unit_norm.py. No λ warm-up, no AuxK (the
paper's choices for this model: λ sets L0, there is no k).

λ (`l0_weight`) sets L0 only indirectly: to match a target L0, fit at a few λ and pick the one
whose validation L0 is nearest (benchmarks/l0_sweep.py does this by bisection in log λ).
Defaults differ from the paper's θ₀ = ε = 0.001, which suit billions of training tokens: here
pre-activations are O(1) and training is a few thousand steps, and log θ moves by about the
learning rate per step, so θ₀ = 0.5 and ε = 0.05. λ = 1 gives L0 ≈ 8 on the Gutenberg-size
phantom after 20 epochs (docs/models.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from gaitsae.configs import MAX_LATENTS, param
from gaitsae.models import losses
from gaitsae.models.unit_norm import UnitNormSAE


@dataclass
class Config:
    n_latents: int = param(100, min=1, max=MAX_LATENTS)
    l0_weight: float = param(1.0, min=0.0, help="λ, weight of the L0 penalty")
    bandwidth: float = param(0.05, min=0.0, min_exclusive=True, help="ε, width of the straight-through kernel")
    init_threshold: float = param(0.5, min=0.0, min_exclusive=True, help="θ₀, every latent's starting threshold")


def _window(pre, threshold, bandwidth):
    """K((pre − θ) / ε): 1 inside the kernel window, 0 outside."""
    return ((pre - threshold).abs() < bandwidth / 2).to(pre.dtype)


class _Step(torch.autograd.Function):
    """H(pre − θ) with the straight-through gradient −(1/ε) K for θ and none for pre."""

    @staticmethod
    def forward(ctx, pre, threshold, bandwidth):
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return (pre > threshold).to(pre.dtype)

    @staticmethod
    def backward(ctx, grad):
        pre, threshold = ctx.saved_tensors
        d_threshold = -_window(pre, threshold, ctx.bandwidth) / ctx.bandwidth * grad
        return torch.zeros_like(pre), d_threshold.sum(dim=0), None


class _JumpReLU(torch.autograd.Function):
    """pre · H(pre − θ) with gradients H for pre and −(θ/ε) K for θ."""

    @staticmethod
    def forward(ctx, pre, threshold, bandwidth):
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return pre * (pre > threshold)

    @staticmethod
    def backward(ctx, grad):
        pre, threshold = ctx.saved_tensors
        d_threshold = -threshold / ctx.bandwidth * _window(pre, threshold, ctx.bandwidth) * grad
        return (pre > threshold) * grad, d_threshold.sum(dim=0), None


class JumpReLUSAE(UnitNormSAE):
    name = "jumprelu"
    Config = Config

    def __init__(self, n_inputs: int, config: Config):
        super().__init__(n_inputs, config.n_latents)
        self.config = config
        self.log_threshold = nn.Parameter(torch.full((config.n_latents,), math.log(config.init_threshold)))

    def threshold(self) -> torch.Tensor:
        return self.log_threshold.exp()

    def encode(self, x):
        return _JumpReLU.apply(self.pre_activations(x), self.threshold(), self.config.bandwidth)

    def loss_terms(self, x):
        pre, threshold = self.pre_activations(x), self.threshold()
        h = _JumpReLU.apply(pre, threshold, self.config.bandwidth)
        l0 = _Step.apply(pre, threshold, self.config.bandwidth).sum(dim=1).mean()
        terms = {"mse": losses.squared_error(x, self.decode(h)), "l0": self.config.l0_weight * l0}
        terms["loss"] = terms["mse"] + terms["l0"]
        return terms
