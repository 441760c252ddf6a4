"""The models: interface, sparsity mechanics, degenerate inputs, learning, determinism, persistence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gaitsae.errors import ConfigError
from gaitsae.models import MODELS, build_model
from gaitsae.training.engine import train_step

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: with other processes on the 2 cores, torch's thread pool spins and a
    0.1 s training test takes 40 s; one thread avoids that (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SMALL = {"sae": {}, "sae-disent": {}, "svae": {}, "topk": {"k": 3, "dead_after": 64},
         "batchtopk": {"k": 3, "dead_after": 64}, "matryoshka": {"k": 3, "dead_after": 64, "n_groups": 3},
         "jumprelu": {}, "scaffold": {"k": 3, "n_scaffold": 2, "encoder_dims": 8, "dead_after": 64}}


def _model(name, n_inputs=12, n_latents=10, seed=0):
    torch.manual_seed(seed)
    return build_model(name, n_inputs, {"n_latents": n_latents, **SMALL[name]})


def _low_rank(n=512, d=12, rank=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, rank, generator=g) @ torch.randn(rank, d, generator=g)


def _train(model, x, steps=300, lr=1e-2):
    model.init_from_data(x)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for i in range(steps):
        train_step(model, opt, x[(i * 32) % len(x):][:32])
    model.eval()
    return model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_interface__shapes_and_named_terms(name):
    m = _model(name)
    x = torch.randn(5, 12)
    width = len(m.feature_kinds())  # 10 latents, plus a scaffold's dense components
    assert width == 10 + SMALL[name].get("n_scaffold", 0)
    assert m.encode(x).shape == (5, width)
    assert m.decode(m.encode(x)).shape == (5, 12)
    assert m.decoder_directions().shape == (width, 12)
    terms = m.loss_terms(x)
    assert "loss" in terms and "mse" in terms
    assert torch.isclose(terms["loss"], sum(v for k, v in terms.items() if k != "loss"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_degenerate_inputs__loss_is_finite(name):
    m = _model(name)
    m.train()
    assert all(torch.isfinite(v) for v in m.loss_terms(torch.zeros(8, 12)).values())
    with torch.no_grad():  # every latent dead: a huge negative encoder bias
        for p_name, p in m.named_parameters():
            if "encoder_bias" in p_name or p_name == "mu_head.bias":
                p.fill_(-1e4)
    if hasattr(m, "stances_since_fired"):  # the topk family: every latent dead, AuxK on
        m.stances_since_fired.fill_(10**6)
    terms = m.loss_terms(torch.randn(8, 12))
    assert all(torch.isfinite(v) for v in terms.values())
    terms["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_training__reduces_reconstruction_error(name):
    x = _low_rank()
    m = _model(name)
    m.eval()
    before = m.loss_terms(x)["mse"].item()
    after = _train(m, x).loss_terms(x)["mse"].item()
    assert after < 0.3 * before


@pytest.mark.parametrize("name", sorted(MODELS))
def test_determinism__same_seed_same_weights(name):
    x = _low_rank()
    a = _train(_model(name, seed=3), x, steps=20)
    b = _train(_model(name, seed=3), x, steps=20)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_topk__keeps_exactly_k_latents():
    m = _model("topk")
    h = m.encode(torch.randn(20, 12) * 5)
    assert ((h != 0).sum(dim=1) <= 3).all() and (h >= 0).all()
    m.encoder_bias.data.fill_(100.0)  # all pre-activations positive: exactly k fire
    assert ((m.encode(torch.randn(20, 12)) > 0).sum(dim=1) == 3).all()


def test_topk__unit_norm_directions_and_no_parallel_gradient():
    m = _model("topk")
    x = torch.randn(16, 12)
    m.train()
    m.loss_terms(x)["loss"].backward()
    m.after_backward()
    parallel = (m.decoder.grad * m.decoder).sum(dim=1)
    assert parallel.abs().max() < 1e-5
    with torch.no_grad():
        m.decoder.mul_(3.0)
    m.after_step()
    assert torch.allclose(m.decoder.norm(dim=1), torch.ones(10), atol=1e-6)


def test_topk__auxk_gives_dead_latents_gradient():
    m = _model("topk")
    m.train()
    m.init_from_data(torch.randn(64, 12))
    m.stances_since_fired.fill_(10**6)  # all dead: AuxK active
    with torch.no_grad():
        m.encoder_bias.fill_(-100.0)  # every pre-activation negative, as for a truly dead latent
    terms = m.loss_terms(torch.randn(16, 12))
    assert terms["auxk"] > 0
    terms["loss"].backward()
    assert m.encoder.grad.abs().sum(dim=1).gt(0).sum() > 3


def test_topk__random_init_pre_bias_is_the_geometric_median():
    torch.manual_seed(0)
    m = build_model("topk", 12, {"n_latents": 10, "k": 3, "init": "random"})
    x = torch.cat([torch.zeros(9, 12), torch.full((1, 12), 100.0)])
    m.init_from_data(x)
    assert m.pre_bias.abs().max() < 1.0  # the mean would be 10


def test_topk__pca_init_with_2k_latents_is_pca_k():
    from sklearn.decomposition import PCA

    x = _low_rank(rank=6) + 0.1 * torch.randn(512, 12, generator=torch.Generator().manual_seed(1)) + 3.0
    m = build_model("topk", 12, {"n_latents": 6, "k": 3, "init": "pca"}).eval()
    m.init_from_data(x)
    pca = PCA(n_components=3).fit(x.numpy())
    with torch.no_grad():
        h = m.encode(x)
        assert ((h > 0).sum(dim=1) == 3).all()  # one of each ± pair
        assert np.allclose(m.decode(h).numpy(), pca.inverse_transform(pca.transform(x.numpy())), atol=1e-3)


def test_svae__variance_is_learned():
    m = _model("svae")
    before = m.logvar_head.weight.detach().clone()
    _train(m, _low_rank(), steps=50)
    assert not torch.equal(before, m.logvar_head.weight)
    m.train()
    m.loss_terms(torch.randn(4, 12))["loss"].backward()
    assert m.logvar_head.weight.grad.abs().sum() > 0
    m.eval()
    x = torch.randn(4, 12)
    assert torch.equal(m.encode(x), m.encode(x))  # μ, deterministic


def test_config__unknown_key_and_bad_value_named():
    with pytest.raises(ConfigError, match="unknown key model.lamda"):
        build_model("sae", 4, {"lamda": 1})
    with pytest.raises(ConfigError, match="model.sparsity_target must be > 0"):
        build_model("sae", 4, {"sparsity_target": 0})
    with pytest.raises(ConfigError, match="model.k must be <= model.n_latents"):
        build_model("topk", 4, {"n_latents": 4, "k": 5})
    with pytest.raises(ConfigError, match="model.name must be one of"):
        build_model("vae", 4, {})


# Hand-computed tiny cases: 2 inputs, 3 latents, fixed weights.
W = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
X = torch.tensor([[1.0, 2.0], [0.0, 0.0]])


def _kl(rho, rho_hat):
    return rho * math.log(rho / rho_hat) + (1 - rho) * math.log((1 - rho) / (1 - rho_hat))


@pytest.mark.parametrize("name", ["sae", "sae-disent"])
def test_sae_loss_terms__hand_computed(name):
    m = build_model(name, 2, {"n_latents": 3, "kl_weight": 0.5, "l1_weight": 0.1,
                              **({"cov_weight": 0.2} if name == "sae-disent" else {})})
    with torch.no_grad():
        m.weight.copy_(torch.tensor(W))
        m.encoder_bias.copy_(torch.tensor([0.0, -0.5, 0.0]))
        m.decoder_bias.copy_(torch.tensor([0.1, 0.0]))
    terms = m.loss_terms(X)
    # stance 1: h = [1, 1.5, 3], x̂ = [4.1, 4.5]; stance 2: h = 0, x̂ = [0.1, 0]
    assert math.isclose(terms["mse"].item(), (3.1**2 + 2.5**2 + 0.1**2) / 2, rel_tol=1e-6)
    assert math.isclose(terms["l1"].item(), 0.1 * 5.5 / 2, rel_tol=1e-6)
    kl = sum(_kl(0.05, math.tanh(h) / 2) for h in (1.0, 1.5, 3.0))
    assert math.isclose(terms["kl_sparsity"].item(), 0.5 * kl, rel_tol=1e-5)
    if name == "sae-disent":  # centred h: ±[0.5, 0.75, 1.5]; Cov_ij = 2 a_i a_j
        assert math.isclose(terms["cov"].item(), 0.2 * 2 * (0.75**2 + 1.5**2 + 2.25**2), rel_tol=1e-6)
    assert torch.isclose(terms["loss"], sum(v for k, v in terms.items() if k != "loss"))


def test_svae_loss_terms__hand_computed_at_the_mean():
    m = build_model("svae", 2, {"n_latents": 3, "beta": 1.0, "l1_weight": 0.1}).eval()  # eval: z = μ
    with torch.no_grad():
        m.mu_head.weight.copy_(torch.tensor(W))
        m.mu_head.bias.copy_(torch.tensor([0.0, -0.5, 0.0]))
        m.logvar_head.weight.zero_()
        m.logvar_head.bias.fill_(math.log(4.0))
        m.decoder_bias.copy_(torch.tensor([0.1, 0.0]))
    terms = m.loss_terms(X)
    # μ1 = [1, 1.5, 3] → x̂1 = [4.1, 4.5]; μ2 = [0, -0.5, 0] → x̂2 = [0.1, -0.5]; σ² = 4
    assert math.isclose(terms["mse"].item(), (3.1**2 + 2.5**2 + 0.1**2 + 0.5**2) / 2, rel_tol=1e-6)
    assert math.isclose(terms["kl_prior"].item(), 7.625 - 1.5 * math.log(4.0), rel_tol=1e-6)
    assert math.isclose(terms["l1"].item(), 0.1 * (5.5 + 0.5) / 2, rel_tol=1e-6)


def _three_latents(name, **config):
    """A 2-input model of the topk family whose three latents point along [1, 0], [0, 1] and
    [0.6, 0.8] (tied, no biases), so pre-activations are easy to compute by hand."""
    m = build_model(name, 2, {"n_latents": 3, **config})
    directions = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    with torch.no_grad():
        m.decoder.copy_(directions)
        m.encoder.copy_(directions)
        m.encoder_bias.zero_()
        m.pre_bias.zero_()
    return m


def test_topk_loss_terms__hand_computed_with_auxk():
    m = _three_latents("topk", k=1, aux_k=1, dead_after=1, aux_weight=1 / 32)
    m.stances_since_fired.copy_(torch.tensor([5, 5, 0]))  # latents 0 and 1 dead
    m.train()
    terms = m.loss_terms(torch.tensor([[1.0, 2.0], [2.0, 0.0]]))
    # stance 1: pre [1, 2, 2.2] → latent 2, x̂ = [1.32, 1.76], e = [-0.32, 0.24]; stance 2: latent 0, e = 0
    assert math.isclose(terms["mse"].item(), 0.16 / 2, rel_tol=1e-5)
    # AuxK over dead {0, 1}: ê1 = [0, 2], ê2 = [2, 0]; ‖e − ê‖² mean 3.6; residual spread 0.04;
    # ‖x − x̄‖² mean 1.25 → (1/32) · 1.25 · 3.6 / 0.04
    assert math.isclose(terms["auxk"].item(), 1.25 * 90 / 32, rel_tol=1e-5)
    assert m.stances_since_fired.tolist() == [0, 7, 0]


def test_topk__dead_counter_is_saved_and_only_counts_in_training():
    m = _model("topk")
    assert "stances_since_fired" in m.state_dict()
    m.eval()
    m.loss_terms(torch.randn(8, 12))
    assert m.stances_since_fired.sum() == 0
    x = torch.randn(2, 12)  # k = 3: at most 6 of the 10 latents fire
    fired = (m.encode(x) > 0).any(dim=0)
    assert 0 < fired.sum() <= 6
    m.train()
    m.loss_terms(x)
    assert torch.equal(m.stances_since_fired, torch.where(fired, 0, 2))
    assert torch.equal(m.selection_bonus, torch.zeros(10))  # every rate starts at the mean, k / n


def test_topk__selection_bonus_lifts_a_rare_latent_and_keeps_its_own_value():
    m = _three_latents("topk", k=1, dead_after=10, bonus_step=0.5)
    x = torch.tensor([[1.0, 2.0]])  # pre [1, 2, 2.2]: latent 2 wins
    m.train()
    # Rates start at k / n = 1/3 and decay by e^(-1/10) per unfired stance; the floor is
    # 0.25 · 1/3: latents 0 and 1 cross it at the 14th stance (e^-1.3 / 3 > 1/12 > e^-1.4 / 3).
    for _ in range(13):
        m.loss_terms(x)
    assert torch.equal(m.selection_bonus, torch.zeros(3))
    m.loss_terms(x)
    assert torch.allclose(m.selection_bonus, torch.tensor([0.5, 0.5, 0.0]))
    # Training mode: 2 + 0.5 beats 2.2 + 0, and latent 1 keeps its own pre-activation 2 as its value
    assert torch.allclose(m._keep_top(m.pre_activations(x)), torch.tensor([[0.0, 2.0, 0.0]]))
    m.eval()
    assert torch.allclose(m.encode(x), torch.tensor([[0.0, 0.0, 2.2]]))  # inference: plain TopK
    m.loss_terms(x)
    assert torch.allclose(m.selection_bonus, torch.tensor([0.5, 0.5, 0.0]))  # eval: no update


def test_topk__encode_is_plain_topk_of_the_pre_activations_after_training():
    torch.manual_seed(0)  # a floor at the mean rate: every latent firing less than average gets a bonus
    m = build_model("topk", 12, {"n_latents": 10, "k": 3, "dead_after": 64, "min_firing": 1.0, "bonus_step": 0.05})
    x = _low_rank()
    _train(m, x, steps=100)
    with torch.no_grad():
        assert not torch.equal(m.train()._keep_top(m.pre_activations(x)), m.eval().encode(x))  # the bonus matters
    with torch.no_grad():
        pre = (x - m.pre_bias) @ m.encoder.T + m.encoder_bias
        top = pre.topk(3, dim=1)
        expected = torch.zeros_like(pre).scatter(1, top.indices, torch.relu(top.values))
        assert torch.equal(m.encode(x), expected)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_load__safetensors_round_trip_gives_identical_outputs(name, tmp_path):
    from safetensors.torch import load_file, save_file
    x = _low_rank()
    m = _train(_model(name), x, steps=30)
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, str(tmp_path / "m.safetensors"))
    loaded = _model(name, seed=99)  # other initial weights: everything must come from the file
    loaded.load_state_dict(load_file(str(tmp_path / "m.safetensors")))
    loaded.eval()
    assert torch.equal(loaded.encode(x), m.encode(x))
    assert torch.equal(loaded(x), m(x))


# The modern SAEs on the three-latent case above: tied directions [1, 0], [0, 1], [0.6, 0.8],
# no biases. X2's pre-activations: stance 1 [1, 2, 2.2], stance 2 [0.5, 0, 0.3].
X2 = torch.tensor([[1.0, 2.0], [0.5, 0.0]])


def test_batchtopk_loss_terms__hand_computed_batch_selection_and_threshold():
    m = _three_latents("batchtopk", k=2, threshold_rate=0.5)
    m.train()
    terms = m.loss_terms(X2)
    # keep 2 · 2 = 4 of [1, 2, 2.2, 0.5, 0, 0.3]: 2.2, 2, 1 (stance 1, all three) and 0.5 (stance 2)
    # x̂1 = [1, 0] + [0, 2] + 2.2 [0.6, 0.8] = [2.32, 3.76], error² 1.32² + 1.76² = 4.84; x̂2 = x2
    assert math.isclose(terms["mse"].item(), 4.84 / 2, rel_tol=1e-5)
    assert terms["auxk"].item() == 0.0  # nothing dead yet
    assert math.isclose(m.threshold.item(), 0.5, rel_tol=1e-6)  # the first batch's smallest kept value
    m.loss_terms(X2 * 2)  # smallest kept: 1.0 (stance 2's latent 0); running average with weight 0.5
    assert math.isclose(m.threshold.item(), 0.75, rel_tol=1e-6)
    m.eval()  # inference: pre · 1[pre > θ], per stance, whatever the batch (stance 2's 0.5 < θ now)
    assert torch.allclose(m.encode(X2), torch.tensor([[1.0, 2.0, 2.2], [0.0, 0.0, 0.0]]))
    m.threshold.fill_(1.5)
    assert torch.allclose(m.encode(X2), torch.tensor([[0.0, 2.0, 2.2], [0.0, 0.0, 0.0]]))
    assert torch.equal(m.encode(X2[1:]), m.encode(X2)[1:])


def test_batchtopk__keeps_exactly_k_times_batch_in_training_and_thresholds_at_inference():
    m = _model("batchtopk")
    m.encoder_bias.data.fill_(100.0)  # all pre-activations positive
    m.train()
    x = torch.randn(20, 12)
    m.loss_terms(x)
    h = m._keep_top(m.pre_activations(x))
    assert (h > 0).sum() == 3 * 20
    assert m.threshold > 0
    m.eval()
    pre = m.pre_activations(x)
    assert torch.equal(m.encode(x), torch.where(pre > m.threshold, pre, torch.zeros_like(pre)))


def test_matryoshka_loss_terms__hand_computed_prefixes():
    m = _three_latents("matryoshka", k=2, n_groups=2)  # prefixes: latent 0, then all three
    assert m.prefix_ends == [1, 3]
    m.train()
    terms = m.loss_terms(X2)
    # h as in the batchtopk case: [1, 2, 2.2], [0.5, 0, 0]. Prefix {0}: x̂1 = [1, 0], error² 4; x̂2 = x2
    assert math.isclose(terms["mse"].item(), 4.84 / 2, rel_tol=1e-5)
    assert math.isclose(terms["mse_prefixes"].item(), 4.0 / 2, rel_tol=1e-5)
    assert math.isclose(terms["loss"].item(), (4.84 + 4.0) / 2, rel_tol=1e-5)


def test_matryoshka__loss_is_the_sum_over_prefixes():
    from gaitsae.models.losses import squared_error
    m = _model("matryoshka")
    assert m.prefix_ends == [1, 4, 10]  # group sizes ∝ 1, 2, 4 over 10 latents
    m.train()
    x = torch.randn(16, 12)
    h = m._keep_top(m.pre_activations(x))  # training selection does not depend on the counters
    terms = m.loss_terms(x)
    by_prefix = [squared_error(x, m.decode(h * (torch.arange(10) < end))) for end in m.prefix_ends]
    assert torch.isclose(terms["mse"] + terms["mse_prefixes"], sum(by_prefix))
    assert torch.isclose(terms["loss"], sum(by_prefix) + terms["auxk"])


def test_matryoshka__empty_group_refused():
    with pytest.raises(ConfigError, match="model.n_groups = 5 leaves an empty group"):
        build_model("matryoshka", 4, {"n_latents": 8, "k": 2, "n_groups": 5})


def _jumprelu(thresholds, **config):
    m = _three_latents("jumprelu", **config)
    with torch.no_grad():
        m.log_threshold.copy_(torch.tensor(thresholds).log())
    return m


def test_jumprelu_loss_terms__hand_computed():
    m = _jumprelu([0.5, 2.5, 1.0], l0_weight=0.1)
    X = torch.tensor([[1.0, 2.0], [0.4, 0.0]])  # pre [1, 2, 2.2] and [0.4, 0, 0.24]
    terms = m.loss_terms(X)
    # stance 1: latents 0 and 2 pass their thresholds, x̂1 = [2.32, 1.76], error² 1.32² + 0.24² = 1.8;
    # stance 2: none, x̂2 = 0, error² 0.16. L0 = (2 + 0) / 2.
    assert math.isclose(terms["mse"].item(), (1.8 + 0.16) / 2, rel_tol=1e-5)
    assert math.isclose(terms["l0"].item(), 0.1 * 1.0, rel_tol=1e-6)
    assert torch.allclose(m.encode(X), torch.tensor([[1.0, 0.0, 2.2], [0.0, 0.0, 0.0]]))


def test_jumprelu__threshold_gradient_only_inside_the_kernel_window():
    m = _jumprelu([1.0, 2.5, 2.5], l0_weight=0.1, bandwidth=0.1)
    with torch.no_grad():
        m.decoder[0] = torch.tensor([0.6, 0.8])  # latent 0 reads [1, 0] but writes [0.6, 0.8]
    m.loss_terms(torch.tensor([[1.03, 0.0]]))["loss"].backward()  # pre [1.03, 0, 0.618]
    # Only latent 0 is in its window (|1.03 − 1| < ε/2). x̂ = 1.03 [0.6, 0.8], ∂mse/∂h0 = 2 (x̂ − x)·d0 = 0.824.
    # ∂loss/∂θ0 = −(θ0/ε) 0.824 − λ/ε = −9.24; ∂/∂log θ0 = θ0 · that.
    grad = m.log_threshold.grad
    assert math.isclose(grad[0].item(), -9.24, rel_tol=1e-4)
    assert grad[1:].abs().max() == 0.0
    m.log_threshold.grad = None
    m.loss_terms(torch.tensor([[1.2, 0.0]]))["loss"].backward()  # |1.2 − 1| > ε/2: outside
    assert m.log_threshold.grad.abs().max() == 0.0
    assert m.encoder.grad.abs().sum() > 0  # the pre-activations still learn through H


def test_new_models__train_from_the_cli_and_reload(tiny_phantom_dir, tmp_path):
    from gaitsae.cli import main
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE
    ds = load_dataset(tiny_phantom_dir, cache=False)
    for name in ("batchtopk", "jumprelu", "matryoshka"):
        run = tmp_path / name
        assert main(["train", "--data", str(tiny_phantom_dir), "--model", name, "--out", str(run),
                     "--epochs", "2", "--quiet"]) == 0
        loaded = GaitSAE.load(run)
        assert loaded.model_.name == name
        test_subjects = loaded.split_.loc[loaded.split_["split"] == "test", "subject"]
        rescored = loaded.score(ds.subset(np.flatnonzero(ds.stances["subject"].isin(test_subjects))))
        for key in ("fvu", "l0"):  # the reloaded weights and thresholds give the run's own test metrics
            assert rescored[key] == pytest.approx(loaded.metrics_[key], rel=1e-6) and rescored["l0"] > 0
