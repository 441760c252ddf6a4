"""Loss terms as pure functions on tensors (each model file composes the ones it needs).

Reconstruction error is the squared error summed over input coordinates and averaged over
the batch, ‖x − x̂‖²: the unit-variance Gaussian log-likelihood up to constants, so the
report's β = 1 KL term and the sparsity weights act on a scale that does not depend on how
many coefficients a stance has been split into.
"""

from __future__ import annotations

import torch

EPS = 1e-6


def squared_error(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ‖x − x̂‖²."""
    return ((x - x_hat) ** 2).sum(dim=1).mean()


def normalized_squared_error(target: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
    """‖t − p‖² / ‖t − t̄‖² (both batch means; t̄ the batch mean of t): the error relative to
    predicting the mean, as Gao et al. normalise the AuxK loss. 0 when t is constant over the
    batch (nothing to explain) — a guarded division, so neither the value nor the gradient is NaN.
    """
    error = squared_error(target, prediction)
    spread = squared_error(target, target.mean(dim=0, keepdim=True))
    ok = spread > EPS
    return torch.where(ok, error / torch.where(ok, spread, torch.ones_like(spread)), error * 0.0)


def l1(latents: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ‖h‖₁."""
    return latents.abs().sum(dim=1).mean()


def firing_estimate(latents: torch.Tensor) -> torch.Tensor:
    """ρ̂_j: the mean over the batch of tanh(h_ij), for ReLU activations h ≥ 0.

    A plain mean of ReLU activations can be 0 (KL → inf) or exceed 1 (log of a negative); tanh
    maps every activation into [0, 1) — about 1 for a clearly firing unit, about h for a faint
    one — so ρ̂ is a soft firing rate. It is clamped to [1e-6, 1 − 1e-6], never NaN or inf.
    """
    return torch.tanh(latents.clamp_min(0)).mean(dim=0).clamp(EPS, 1 - EPS)


def kl_sparsity(latents: torch.Tensor, target: float) -> torch.Tensor:
    """Σ_j KL(ρ ‖ ρ̂_j) between Bernoulli(ρ) and Bernoulli(ρ̂_j)."""
    rho_hat = firing_estimate(latents)
    rho = torch.as_tensor(target, dtype=latents.dtype, device=latents.device)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def covariance_penalty(latents: torch.Tensor) -> torch.Tensor:
    """Σ_{i≠j} Cov(h_i, h_j)² over the batch (0 for a batch of one)."""
    n = latents.shape[0]
    if n < 2:
        return latents.sum() * 0.0
    centred = latents - latents.mean(dim=0, keepdim=True)
    cov = centred.T @ centred / (n - 1)
    return (cov ** 2).sum() - (torch.diagonal(cov) ** 2).sum()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of KL(N(μ, σ²) ‖ N(0, I)), summed over latents."""
    return (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum(dim=1).mean()
