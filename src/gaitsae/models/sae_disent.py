"""`sae-disent`: the baseline `sae` plus the report's covariance disentanglement loss.

loss = sae loss + λ_cov Σ_{i≠j} Cov(h_i, h_j)², the batch covariance of the latents.
"""

from __future__ import annotations

from dataclasses import dataclass

from gaitsae.configs import param
from gaitsae.models import losses
from gaitsae.models.sae import Config as SAEConfig
from gaitsae.models.sae import TiedSAE


@dataclass
class Config(SAEConfig):
    cov_weight: float = param(0.1, min=0.0, help="λ_cov")


class DisentangledSAE(TiedSAE):
    name = "sae-disent"
    Config = Config

    def sparsity_terms(self, h):
        terms = super().sparsity_terms(h)
        terms["cov"] = self.config.cov_weight * losses.covariance_penalty(h)
        return terms
