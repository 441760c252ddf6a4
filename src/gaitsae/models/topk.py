"""`topk`: the TopK sparse autoencoder of Gao et al. 2024 ("Scaling and evaluating sparse
autoencoders"), which sets L0 directly and keeps latents alive with an auxiliary loss.

h = ReLU(TopK_k(W_enc (x − b_pre) + b_enc)), x̂ = W_decᵀ h + b_pre, with unit-norm decoder rows,
tied initialisation and a geometric-median b_pre (models/unit_norm.py; b_pre at the training mean
for init = "pca"). Initialisation (not in the paper, `init = "pca"`, default): W_dec's first rows
are ± the principal directions of a training sample, so TopK starts as the best k-term code in
that basis (see init_from_data). It reconstructs new people best, but on the phantom it stays a
principal-direction code (best validation epoch 0: training overfits the training subjects), which
metrics.json's pca_likeness and the report say. `init = "random"` (the paper's) with whitened
inputs (features.scaling = "whiten") recovers the phantom's planted patterns one per feature but
reconstructs 5× worse than PCA; with channel scaling it loses to PCA on small data (docs/models.md,
"What the features find").

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
direction that generalises, instead of fitting a few dozen training stances' noise. The bonus
acts only in training mode: `encode` (and evaluation) is the paper's plain TopK, so every metric
measures the model as published; a latent the floor kept alive must earn its place on its own.

Defaults differ from the paper's, which assume millions of latents (docs/models.md has the seeds):
- α = 1, not 1/32: at 1/32, 27–37 % of 100 latents stayed silent on the test split.
- dead_after = 2,500 stances (about 0.2 epoch of a Gutenberg-sized training split), not 10M
  tokens, which here would be hundreds of epochs.
- min_firing = 1/4: on the pre-issue-12 phantom, with the bonus still used by encode, the median
  share of latents silent on the test split fell from 0.03 to 0.00 over 16 seeds.
- n_latents: auto (auto_latents), a small dictionary: ±PCA latents of a small dictionary all
  stay in use on new people, a large one leaves most silent (docs/models.md).
k_aux = n_inputs / 2 as in the paper (capped at n_latents); 2k measured the same (8 seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gaitsae.configs import MAX_COUNT, MAX_LATENTS, param
from gaitsae.errors import ConfigError
from gaitsae.models import losses
from gaitsae.models.unit_norm import UnitNormSAE


@dataclass
class Config:
    n_latents: int = param(0, min=0, max=MAX_LATENTS,
                           help="dictionary size; 0 = auto: training stances / 10, between 3k and 4k")
    k: int = param(8, min=1, max=MAX_LATENTS, help="active latents per stance")
    aux_k: int = param(0, min=0, max=MAX_LATENTS, help="dead latents used by AuxK; 0 = n_inputs / 2 (capped at n_latents)")
    aux_weight: float = param(1.0, min=0.0, help="α, weight of the AuxK term (paper: 1/32)")
    dead_after: int = param(2_500, min=1, max=MAX_COUNT, help="training stances without firing before a latent counts as dead")
    min_firing: float = param(0.25, min=0.0, max=1.0,
                              help="firing-rate floor as a fraction of the mean rate k / n_latents (0 = off)")
    bonus_step: float = param(1e-3, min=0.0, help="change of a latent's selection bonus per training step")
    init: str = param("pca", choices=("pca", "random"),
                      help="decoder start: ± the training principal directions (then random), or random")
    init_pairs: int = param(0, min=0, max=MAX_LATENTS, help="with init = pca: how many ± principal directions; 0 = min(n_latents / 2, 2k)")

    def __post_init__(self):
        if self.n_latents and self.k > self.n_latents:  # the one check that involves two fields
            raise ConfigError(f"model.k must be <= model.n_latents ({self.n_latents}), got {self.k}")


STANCES_PER_LATENT = 10  # auto dictionary size: one latent per this many training stances, between 3k and 4k


def auto_latents(n_train: int, k: int) -> int:
    """The default dictionary size for n_train training stances: n_train / 10 clipped to [3k, 4k].
    Chosen on validation splits of calibrated phantoms (docs/models.md): with ±PCA init, 2k latents
    are PCA-k itself; 3k and 4k reconstruct new people equally on 10 subjects, where 4k leaves
    twice as many latents silent; on 350 subjects 4k beats 3k (fvu 0.063 vs 0.071) with none
    silent, and 48 or 100 latents add nothing but silent latents (10 % and 55 %); 128 latents
    with ±PCA init on a 650-subject phantom reconstruct no better and leave most extra rows silent."""
    return int(min(max(3 * k, n_train // STANCES_PER_LATENT), 4 * k))


class TopKSAE(UnitNormSAE):
    name = "topk"
    Config = Config

    def __init__(self, n_inputs: int, config: Config):
        super().__init__(n_inputs, config.n_latents)
        self.config = config
        self.register_buffer("stances_since_fired", torch.zeros(config.n_latents, dtype=torch.long))
        self.register_buffer("firing_rate", torch.full((config.n_latents,), config.k / config.n_latents))
        self.register_buffer("selection_bonus", torch.zeros(config.n_latents))
        self.aux_k = min(config.aux_k or max(n_inputs // 2, 1), config.n_latents)

    @classmethod
    def resolve_params(cls, params: dict, n_train: int) -> dict:
        if params.get("n_latents", 0) == 0:
            return {**params, "n_latents": auto_latents(n_train, params.get("k", Config.k))}
        return params

    def _keep_top(self, pre):
        """ReLU of the pre-activations of the k latents with the largest pre-activation (plus, in
        training mode only, the selection bonus), zeros elsewhere: [batch, n_latents]. The bonus
        only chooses; the values are the latents' own."""
        score = pre + self.selection_bonus if self.training else pre
        index = score.topk(self.config.k, dim=1).indices
        return torch.zeros_like(pre).scatter(1, index, torch.relu(pre.gather(1, index)))

    def encode(self, x):
        return self._keep_top(self.pre_activations(x))

    def dead_mask(self) -> torch.Tensor:
        return self.stances_since_fired >= self.config.dead_after

    def loss_terms(self, x):
        pre = self.pre_activations(x)
        h = self._keep_top(pre)
        x_hat = self.decode(h)
        terms = self.reconstruction_terms(x, h, x_hat)
        dead = self.dead_mask()  # from the stances before this batch
        if self.training:
            self._count_firing(h)
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
        terms["loss"] = sum(terms.values())
        return terms

    def reconstruction_terms(self, x, h, x_hat) -> dict[str, torch.Tensor]:
        """The reconstruction part of the loss by name (matryoshka adds its prefixes)."""
        return {"mse": losses.squared_error(x, x_hat)}

    @torch.no_grad()
    def _count_firing(self, h: torch.Tensor):
        """Update the dead counters, the running firing rates (over about `dead_after` stances)
        and the selection bonuses from one training batch's latents [batch, n_latents]."""
        c = self.config
        active = h > 0
        self.stances_since_fired += active.shape[0]
        self.stances_since_fired[active.any(dim=0)] = 0
        keep = math.exp(-active.shape[0] / c.dead_after)
        self.firing_rate.mul_(keep).add_((1 - keep) * active.float().mean(dim=0))
        if c.min_firing > 0:
            below = self.firing_rate < c.min_firing * c.k / c.n_latents
            self.selection_bonus.add_(torch.where(below, c.bonus_step, -c.bonus_step)).clamp_(min=0)

    @torch.no_grad()
    def init_from_data(self, x):
        if self.config.init == "random":
            return super().init_from_data(x)  # geometric-median b_pre
        # ±PCA: rows +v1, −v1, +v2, −v2, ... of the centred sample's principal directions, the
        # rest stay random. For every stance exactly one of ±v_i has a positive pre-activation,
        # |⟨x − x̄, v_i⟩|, so TopK starts as the best k-term code in the PCA basis (with
        # n_latents = 2k: PCA-k itself) and training can only move on from there.
        self.pre_bias.copy_(x.mean(dim=0))
        directions = torch.linalg.svd(x - self.pre_bias, full_matrices=False).Vh
        n = min(self.config.n_latents // 2, self.config.init_pairs or 2 * self.config.k, len(directions))
        self.decoder[:2 * n] = torch.stack([directions[:n], -directions[:n]], dim=1).reshape(2 * n, -1)
        self.encoder.copy_(self.decoder)
