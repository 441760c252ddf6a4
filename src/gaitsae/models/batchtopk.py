"""`batchtopk`: the BatchTopK sparse autoencoder of Bussmann, Nabeshima, Karvonen & Nanda 2024
("BatchTopK Sparse Autoencoders"): TopK's k per stance relaxed to k · batch per batch.

Training keeps the k · B largest ReLU pre-activations over the whole batch of B stances, so a
hard stance may use more latents than an easy one while the mean L0 stays k. Inference cannot
depend on the other stances of a batch, so `encode` uses one learned global threshold θ:
h = pre · 1[pre > θ]. θ is a running average (weight `threshold_rate` per batch) of the
smallest positive activation kept in each training batch, as in the paper. Everything else —
unit-norm decoder, geometric-median b_pre, AuxK with its dead counters — is topk's; the firing
floor is off by default (the paper has none; when on, its bonus only chooses in training).
The validation loss (eval mode) uses the threshold, so early stopping sees what `encode` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gaitsae.configs import MAX_LATENTS, param
from gaitsae.models import topk


@dataclass
class Config(topk.Config):
    k: int = param(8, min=1, max=MAX_LATENTS, help="mean active latents per stance (k · batch kept per training batch)")
    min_firing: float = param(0.0, min=0.0, max=1.0,
                              help="firing-rate floor as a fraction of k / n_latents (0 = off, as in the paper)")
    threshold_rate: float = param(0.01, min=0.0, max=1.0, min_exclusive=True,
                                  help="weight of each training batch in the running threshold θ")


class BatchTopKSAE(topk.TopKSAE):
    name = "batchtopk"
    Config = Config

    def __init__(self, n_inputs: int, config: Config):
        super().__init__(n_inputs, config)
        self.register_buffer("threshold", torch.zeros(()))

    def _keep_top(self, pre):
        """Training: the k · batch largest (pre + selection bonus) over the batch keep ReLU(pre);
        eval: the threshold, as `encode`."""
        if not self.training:
            return self._above_threshold(pre)
        chosen = (pre + self.selection_bonus).flatten().topk(self.config.k * len(pre)).indices
        flat = torch.zeros_like(pre).flatten().scatter(0, chosen, torch.relu(pre.flatten()[chosen]))
        return flat.view_as(pre)

    def _above_threshold(self, pre):
        return pre * (pre > self.threshold)

    def encode(self, x):
        return self._above_threshold(self.pre_activations(x))

    @torch.no_grad()
    def _count_firing(self, h):
        super()._count_firing(h)
        kept = h[h > 0]
        if kept.numel() and self.threshold > 0:
            self.threshold.lerp_(kept.min(), self.config.threshold_rate)
        elif kept.numel():  # the first batch starts the average (from 0 it would lag for ~1/rate batches)
            self.threshold.copy_(kept.min())
