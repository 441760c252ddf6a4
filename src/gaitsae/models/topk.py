"""`topk`: the TopK sparse autoencoder of Gao et al. 2024 ("Scaling and evaluating sparse
autoencoders"), which sets L0 directly and keeps latents alive with an auxiliary loss.

h = ReLU(TopK_k(W_enc (x − b_pre) + b_enc)), x̂ = W_decᵀ h + b_pre. The rows of W_dec (feature
directions) have unit norm: the gradient component parallel to each row is removed before a
step and rows are renormalised after it. W_enc starts as W_dec; b_pre starts at the geometric
median of the training data (GRF curves share a large common shape, and centring keeps
latents alive).

AuxK: the k_aux most active dead latents (not fired for `dead_after` training stances) predict
the residual e = x − x̂ (detached), ê = W_decᵀ a, where a keeps those latents' pre-activations as
they are, without the ReLU: a dead latent's pre-activations are mostly negative, so a ReLU would
pass it no gradient, which is why it is dead. The paper's loss is NMSE(x, x̂) + α NMSE(e, ê), each
NMSE normalised by its target's batch variance. Our reconstruction term is the un-normalised
‖x − x̂‖² (shared by all models), so the AuxK term is α NMSE(e, ê) times the batch's ‖x − x̄‖²
(detached): the same ratio of the two terms as in the paper.

Firing floor (not in the paper): each latent keeps a running firing rate over about `dead_after`
training stances. While it is below `min_firing` · k / n_latents, the latent's selection bonus
grows by `bonus_step` per step (else it shrinks, never below 0); the bonus is added to the
pre-activations only to choose the k latents, and a chosen latent's value is its own ReLU(pre).
This is the auxiliary-loss-free load balancing of mixture-of-experts routers (Wang et al. 2024),
one-sided: a rare latent is chosen on more stances, receives their gradient, and settles on a
direction that generalises, instead of fitting a few dozen training stances' noise. The bonuses
are part of the model (saved, and used by `encode`): without them at inference the floor-lifted
latents fall silent again.

Defaults differ from the paper's, which assume millions of latents (docs/models.md has the seeds):
- α = 1, not 1/32: at 1/32, 27–37 % of 100 latents stayed silent on the test split.
- dead_after = 2,500 stances (about 0.2 epoch of a Gutenberg-sized training split), not 10M
  tokens, which here would be hundreds of epochs.
- min_firing = 1/4: on the default phantom, over 16 seeds, the median share of latents silent on
  the test split fell from 0.03 (0.01–0.09) to 0.00 (0.00–0.02), for a median fvu of 0.0109
  instead of 0.0081.
k_aux = n_inputs / 2 as in the paper (capped at n_latents); 2k measured the same (8 seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from gaitsae.configs import MAX_COUNT, MAX_LATENTS, param
from gaitsae.errors import ConfigError
from gaitsae.models import losses
from gaitsae.models.base import GaitModel


@dataclass
class Config:
    n_latents: int = param(100, min=1, max=MAX_LATENTS)
    k: int = param(8, min=1, max=MAX_LATENTS, help="active latents per stance")
    aux_k: int = param(0, min=0, max=MAX_LATENTS, help="dead latents used by AuxK; 0 = n_inputs / 2 (capped at n_latents)")
    aux_weight: float = param(1.0, min=0.0, help="α, weight of the AuxK term (paper: 1/32)")
    dead_after: int = param(2_500, min=1, max=MAX_COUNT, help="training stances without firing before a latent counts as dead")
    min_firing: float = param(0.25, min=0.0, max=1.0,
                              help="firing-rate floor as a fraction of the mean rate k / n_latents (0 = off)")
    bonus_step: float = param(1e-3, min=0.0, help="change of a latent's selection bonus per training step")

    def __post_init__(self):
        if self.k > self.n_latents:  # the one check that involves two fields
            raise ConfigError(f"model.k must be <= model.n_latents ({self.n_latents}), got {self.k}")


def geometric_median(x: torch.Tensor, iterations: int = 50) -> torch.Tensor:
    """Weiszfeld's algorithm: the point minimising the summed distance to the rows of x."""
    median = x.mean(dim=0)
    for _ in range(iterations):
        weights = 1.0 / (x - median).norm(dim=1).clamp_min(1e-8)
        median = (weights[:, None] * x).sum(dim=0) / weights.sum()
    return median


class TopKSAE(GaitModel):
    name = "topk"
    Config = Config

    def __init__(self, n_inputs: int, config: Config):
        super().__init__()
        self.config = config
        directions = torch.randn(config.n_latents, n_inputs)
        self.decoder = nn.Parameter(directions / directions.norm(dim=1, keepdim=True))
        self.encoder = nn.Parameter(self.decoder.detach().clone())
        self.encoder_bias = nn.Parameter(torch.zeros(config.n_latents))
        self.pre_bias = nn.Parameter(torch.zeros(n_inputs))
        self.register_buffer("stances_since_fired", torch.zeros(config.n_latents, dtype=torch.long))
        self.register_buffer("firing_rate", torch.full((config.n_latents,), config.k / config.n_latents))
        self.register_buffer("selection_bonus", torch.zeros(config.n_latents))
        self.aux_k = min(config.aux_k or max(n_inputs // 2, 1), config.n_latents)

    def pre_activations(self, x):
        return (x - self.pre_bias) @ self.encoder.T + self.encoder_bias

    def _keep_top(self, pre):
        """ReLU of the pre-activations of the k latents with the largest pre-activation plus
        selection bonus, zeros elsewhere: [batch, n_latents]. The bonus only chooses; the values
        are the latents' own."""
        index = (pre + self.selection_bonus).topk(self.config.k, dim=1).indices
        return torch.zeros_like(pre).scatter(1, index, torch.relu(pre.gather(1, index)))

    def encode(self, x):
        return self._keep_top(self.pre_activations(x))

    def decode(self, latents):
        return latents @ self.decoder + self.pre_bias

    def dead_mask(self) -> torch.Tensor:
        return self.stances_since_fired >= self.config.dead_after

    def loss_terms(self, x):
        pre = self.pre_activations(x)
        h = self._keep_top(pre)
        x_hat = self.decode(h)
        terms = {"mse": losses.squared_error(x, x_hat)}
        dead = self.dead_mask()  # from the stances before this batch
        if self.training:
            self._count_firing(h > 0)
        if self.training and dead.any():
            k = min(self.aux_k, int(dead.sum()))
            values, index = pre.masked_fill(~dead, float("-inf")).topk(k, dim=1)
            aux = torch.zeros_like(pre).scatter(1, index, values)  # no ReLU: see the module docstring
            residual = (x - x_hat).detach()
            x_spread = losses.squared_error(x, x.mean(dim=0, keepdim=True)).detach()
            nmse = losses.normalized_squared_error(residual, aux @ self.decoder)
            terms["auxk"] = self.config.aux_weight * x_spread * nmse
        else:
            terms["auxk"] = x.new_zeros(())
        terms["loss"] = terms["mse"] + terms["auxk"]
        return terms

    @torch.no_grad()
    def _count_firing(self, active: torch.Tensor):
        """Update the dead counters, the running firing rates (over about `dead_after` stances)
        and the selection bonuses from one training batch's active latents [batch, n_latents]."""
        c = self.config
        self.stances_since_fired += active.shape[0]
        self.stances_since_fired[active.any(dim=0)] = 0
        keep = math.exp(-active.shape[0] / c.dead_after)
        self.firing_rate.mul_(keep).add_((1 - keep) * active.float().mean(dim=0))
        if c.min_firing > 0:
            below = self.firing_rate < c.min_firing * c.k / c.n_latents
            self.selection_bonus.add_(torch.where(below, c.bonus_step, -c.bonus_step)).clamp_(min=0)

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
