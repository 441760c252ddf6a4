"""Each loss term against a hand-computed tiny case."""

from __future__ import annotations

import math

import torch

from gaitsae.models import losses


def test_squared_error__sum_over_coordinates_mean_over_batch():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    x_hat = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert losses.squared_error(x, x_hat).item() == (5 + 2) / 2


def test_l1():
    h = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.0, 0.0]])
    assert losses.l1(h).item() == (3 + 0.5) / 2


def test_kl_sparsity__hand_computed():
    h = torch.tensor([[0.0, 1.0], [0.0, 3.0]])
    rho = 0.05
    rho_hat = [1e-6, (math.tanh(1) + math.tanh(3)) / 2]
    expected = sum(rho * math.log(rho / r) + (1 - rho) * math.log((1 - rho) / (1 - r)) for r in rho_hat)
    assert math.isclose(losses.kl_sparsity(h, rho).item(), expected, rel_tol=1e-5)


def test_kl_sparsity__finite_for_dead_and_saturated_units():
    for h in (torch.zeros(4, 3), torch.full((4, 3), 1e6)):
        assert torch.isfinite(losses.kl_sparsity(h, 0.05))


def test_covariance_penalty__off_diagonal_only():
    h = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    # var(h0) = 4, var(h1) = 16, cov = 8 → Σ_{i≠j} cov² = 2 · 64
    assert math.isclose(losses.covariance_penalty(h).item(), 128.0, rel_tol=1e-6)
    assert losses.covariance_penalty(torch.ones(1, 3)).item() == 0.0


def test_gaussian_kl__zero_at_the_prior_and_hand_value():
    assert losses.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)).item() == 0.0
    mu, logvar = torch.tensor([[1.0]]), torch.tensor([[math.log(4.0)]])
    expected = -0.5 * (1 + math.log(4.0) - 1 - 4)
    assert math.isclose(losses.gaussian_kl(mu, logvar).item(), expected, rel_tol=1e-6)


def test_normalized_squared_error__relative_to_predicting_the_mean():
    t = torch.tensor([[1.0, 0.0], [3.0, 0.0]])  # spread: ((1-2)² + (3-2)²) / 2 = 1
    p = torch.tensor([[0.0, 1.0], [3.0, 2.0]])  # error: (1 + 1 + 0 + 4) / 2 = 3
    assert math.isclose(losses.normalized_squared_error(t, p).item(), 3.0, rel_tol=1e-6)


def test_normalized_squared_error__constant_target_gives_zero_and_finite_gradient():
    p = torch.ones(4, 3, requires_grad=True)
    value = losses.normalized_squared_error(torch.zeros(4, 3), p)
    value.backward()
    assert value.item() == 0.0 and torch.isfinite(p.grad).all()
