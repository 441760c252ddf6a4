"""The scaffold + sparse model: two kinds of feature, the least-squares code, planted atoms
recovered whole on top of a dense low-rank part, and every interface that reports the kinds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from gaitsae.analysis import stability as S
from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.estimator import GaitSAE
from gaitsae.models import SCAFFOLD, SPARSE, build_model, feature_names
from gaitsae.training import metrics as M
from gaitsae.training.engine import train_step

R, K, L, D = 3, 2, 16, 40  # scaffold components, active atoms, dictionary size, inputs


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def planted_problem(n=4000, seed=0, strong=1.0):
    """x = dense rank-3 variation (SDs 6, 4, 3) + at most one of 5 planted atoms per stance
    (amount 1–3 on half the stances; the first atom's amount × strong) + noise. Each planted atom has half its energy INSIDE the
    dense subspace, so a dictionary whose atoms keep only what the dense part cannot take would
    hold each pattern at cos ≈ 0.7, not whole."""
    g = torch.Generator().manual_seed(seed)
    dense_dirs = torch.linalg.qr(torch.randn(D, R, generator=g))[0].T
    dense = (torch.randn(n, R, generator=g) * torch.tensor([6.0, 4.0, 3.0])) @ dense_dirs
    outside = torch.randn(5, D, generator=g)
    outside = outside - (outside @ dense_dirs.T) @ dense_dirs
    inside = torch.randn(5, R, generator=g) @ dense_dirs
    atoms = outside / outside.norm(dim=1, keepdim=True) + inside / inside.norm(dim=1, keepdim=True)
    atoms = atoms / atoms.norm(dim=1, keepdim=True)
    which = torch.randint(0, 5, (n,), generator=g)
    amount = (torch.rand(n, generator=g) < 0.5) * (1.0 + 2.0 * torch.rand(n, generator=g))
    codes = torch.zeros(n, 5)
    codes[torch.arange(n), which] = amount
    codes[:, 0] *= strong
    return dense + codes @ atoms + 0.05 * torch.randn(n, D, generator=g), atoms, dense_dirs, codes


def _model(seed=0, **params):
    torch.manual_seed(seed)
    return build_model("scaffold", D, {"n_scaffold": R, "k": K, "n_latents": L, "encoder_dims": D,
                                       "dead_after": 500, **params})


def _train(model, x, epochs=16, lr=3e-3):
    model.init_from_data(x)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        model.train()
        for index in torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch)).split(64):
            train_step(model, opt, x[index])
    model.eval()
    with torch.no_grad():
        model.after_training(x)  # as the engine does, on the best weights
    return model


@pytest.fixture(scope="module")
def trained():
    x, atoms, dense_dirs, codes = planted_problem()
    return _train(_model(), x), x, atoms, dense_dirs, codes


def test_scaffold__kinds_shapes_and_exactly_k_sparse_plus_every_scaffold(trained):
    m, x, *_ = trained
    assert m.feature_kinds() == [SCAFFOLD] * R + [SPARSE] * L
    with torch.no_grad():
        h = m.encode(x[:200])
    assert h.shape == (200, R + L) and m.decoder_directions().shape == (R + L, D)
    assert m.encoder_weights().shape == (R + L, D)
    assert ((h[:, R:] != 0).sum(dim=1) == K).all()
    assert (h[:, :R] != 0).all()
    dense = M.dense_columns(m.feature_kinds())
    scores = M.sparsity_scores(h.numpy(), 0.0, dense)
    assert scores["l0"] == R + K and scores["l0_sparse"] == K and scores["n_dense"] == R
    zeroed = h.numpy().copy()
    zeroed[:, 0] = 0.0  # a scaffold coordinate of 0 is still a number of the stance
    assert M.l0(zeroed, 0.0, dense) == R + K and M.l0(zeroed) == R + K - 1


def test_scaffold__reconstruction_is_mean_plus_scaffold_plus_atoms_by_least_squares(trained):
    m, x, *_ = trained
    with torch.no_grad():
        h = m.encode(x[:300])
        explicit = m.mean + h[:, :R] @ m.scaffold + h[:, R:] @ m.atoms()
        assert torch.allclose(m.decode(h), explicit, atol=1e-5)
        assert torch.allclose(m.decoder_directions()[R:].norm(dim=1), torch.ones(L), atol=1e-5)
        # least squares: the residual is orthogonal to the scaffold and to every active atom
        residual = x[:300] - m.decode(h)
        assert (residual @ m.scaffold.T).abs().max() < 1e-3 * residual.norm(dim=1).max()
        on = h[:, R:] != 0
        along = residual @ m.atoms().T
        assert along[on].abs().max() < 1e-3 * residual.norm(dim=1).max()
        assert along[~on].abs().max() > 1e-2  # inactive atoms are not fitted


def test_scaffold__planted_atoms_recovered_whole_on_a_dense_low_rank_part(trained):
    m, x, atoms, dense_dirs, codes = trained
    with torch.no_grad():
        learned = m.atoms()
        # the scaffold is the dense subspace
        assert torch.linalg.svdvals(m.scaffold @ dense_dirs.T).min() > 0.99
        rest = atoms - (atoms @ m.scaffold.T) @ m.scaffold
        rest_cos = (rest / rest.norm(dim=1, keepdim=True) * atoms).sum(dim=1)
        assert rest_cos.max() < 0.75  # keeping only the rest would cost each pattern this much
        cos = (learned @ atoms.T).abs()
        best = cos.argmax(dim=0)
        assert cos.max(dim=0).values.min() > 0.9  # every planted atom whole
        h = m.encode(x)[:, R:]
    for j in range(5):
        r = np.corrcoef(h[:, best[j]].numpy(), codes[:, j].numpy())[0, 1]
        assert abs(r) > 0.8, (j, r)
    assert len(set(best.tolist())) == 5  # one learned atom per pattern


def _best_code_corr(model, x, atoms, codes, j):
    with torch.no_grad():
        best = int((model.atoms() @ atoms[j]).abs().argmax())
        h = model.encode(x)[:, R + best]
    return abs(np.corrcoef(h.numpy(), codes[:, j].numpy())[0, 1])


def test_scaffold__robust_scaffold_leaves_a_frequent_pattern_to_its_atom():
    """A pattern stronger than the third dense factor (SD ≈ 5 against 3) enters the PCA of all
    stances, as the class patterns of a patient-dominated sample do: its atom then keeps only a
    small remainder outside the scaffold, and its code stops following the amount. The robust
    refit (after_training) gives the scaffold back to the dense factors and the amount to the atom."""
    x, atoms, dense_dirs, codes = planted_problem(strong=8.0)
    model = _train(_model(robust_steps=0), x)
    with torch.no_grad():
        plain_dense = torch.linalg.svdvals(model.scaffold @ dense_dirs.T).min().item()
        plain_pattern = (model.scaffold @ atoms[0]).norm().item()
    plain_corr = _best_code_corr(model, x, atoms, codes, 0)
    model.config.robust_steps = 6
    with torch.no_grad():
        before = (x - model.decode(model.encode(x))).pow(2).sum().item()
        model.after_training(x)
        after = (x - model.decode(model.encode(x))).pow(2).sum().item()
        robust_dense = torch.linalg.svdvals(model.scaffold @ dense_dirs.T).min().item()
        robust_pattern = (model.scaffold @ atoms[0]).norm().item()
    robust_corr = _best_code_corr(model, x, atoms, codes, 0)
    assert plain_dense < 0.9 and plain_pattern > 0.8, (plain_dense, plain_pattern)  # PCA took the pattern
    assert robust_dense > 0.98 and robust_pattern < 0.8, (robust_dense, robust_pattern)  # the dense part again
    assert robust_corr > 0.95 and plain_corr < 0.9, (plain_corr, robust_corr)
    assert after < before  # block coordinate descent: the refit lowers the error
    assert torch.allclose(model.scaffold @ model.scaffold.T, torch.eye(R), atol=1e-4)


def test_scaffold__training_moves_the_atoms_onto_the_patterns():
    x, atoms, _, _ = planted_problem()
    start = _model()
    start.init_from_data(x)
    with torch.no_grad():
        assert (start.atoms() @ atoms.T).abs().max(dim=0).values.min() < 0.8  # the random start is not there


def test_scaffold__same_seed_same_weights_and_untrained_encode_works():
    x, *_ = planted_problem(n=600)
    a, b = _train(_model(seed=3), x, epochs=2), _train(_model(seed=3), x, epochs=2)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    c = _train(_model(seed=4), x, epochs=2)
    assert not torch.equal(a.sparse.decoder, c.sparse.decoder)


def test_feature_names__numbered_within_kind():
    assert feature_names([SCAFFOLD, SCAFFOLD, SPARSE, SPARSE, SPARSE]) == [
        "scaffold_0", "scaffold_1", "latent_0", "latent_1", "latent_2"]
    assert feature_names([SPARSE] * 2) == ["latent_0", "latent_1"]


def test_stability__features_matched_only_within_their_kind():
    e = np.eye(4)
    kinds = np.array([SCAFFOLD, SPARSE, SPARSE, SPARSE])
    latents = np.random.default_rng(0).normal(size=(50, 4))
    same, _, _ = S.compare_runs([e, e], [latents, latents], ["a", "b"], kinds=[kinds, kinds])
    assert same[0]["share_0.9"] == 1.0 and same[0]["share_0.9_scaffold"] == 1.0 and same[0]["share_0.9_sparse"] == 1.0
    # b's scaffold axis is a's first atom and the other way round: kind-blind matching would
    # match everything; within kind the scaffold axes and those atoms are orthogonal.
    swapped = e[[1, 0, 2, 3]]
    pairs, features, _ = S.compare_runs([e, swapped], [latents, latents], ["a", "b"], kinds=[kinds, kinds])
    assert pairs[0]["share_0.9_scaffold"] == 0.0
    assert pairs[0]["share_0.9"] == pytest.approx(2 / 4)
    assert S.compare_runs([e, swapped], [latents, latents], ["a", "b"])[0][0]["share_0.9"] == 1.0
    assert list(features["kind"][:4]) == list(kinds)


@pytest.fixture(scope="module")
def scaffold_run(tmp_path_factory, tiny_phantom_dir):
    out = tmp_path_factory.mktemp("scaffold") / "run"
    GaitSAE(model="scaffold", n_latents=12, n_scaffold=2, k=2, encoder_dims=20, epochs=2,
            progress=False).fit(load_dataset(tiny_phantom_dir), run_dir=out)
    return out


def test_estimator__kinds_names_save_load_and_encode_stance(scaffold_run, tiny_phantom_dir):
    est = GaitSAE.load(scaffold_run, progress=False)
    assert list(est.feature_kinds_) == [SCAFFOLD] * 2 + [SPARSE] * 12
    assert est.feature_names_[:3] == ["scaffold_0", "scaffold_1", "latent_0"]
    assert est.feature_directions().shape[0] == 14
    ds = load_dataset(tiny_phantom_dir)
    latents = est.transform(ds)
    assert ((latents[:, 2:] != 0).sum(axis=1) == 2).all()
    np.testing.assert_allclose(est.encode_stance(ds.curves[5]), latents[5], rtol=1e-5, atol=1e-6)
    assert est.metrics_["l0"] == 4.0 and est.metrics_["n_dense"] == 2 and est.metrics_["l0_sparse"] == 2.0
    start = GaitSAE.load(scaffold_run, progress=False, untrained=True)
    # the start's scaffold is the PCA of the training sample; the run's is refitted after training (robust)
    assert not torch.allclose(start.model_.scaffold, est.model_.scaffold)
    assert torch.allclose(est.model_.scaffold @ est.model_.scaffold.T, torch.eye(2), atol=1e-4)
    assert not torch.equal(start.model_.sparse.decoder, est.model_.sparse.decoder)
    again = GaitSAE(model="scaffold", n_latents=12, n_scaffold=2, k=2, encoder_dims=20, epochs=2, progress=False)
    again.config_ = est.config_
    again.fit(ds)
    np.testing.assert_array_equal(again.transform(ds), latents)  # deterministic with the seed


def test_existing_models__report_every_feature_as_sparse(tiny_phantom_dir):
    est = GaitSAE(model="topk", n_latents=12, k=3, epochs=1, progress=False).fit(load_dataset(tiny_phantom_dir))
    assert set(est.feature_kinds_) == {SPARSE} and est.feature_names_[0] == "latent_0"
    assert "n_dense" not in est.metrics_


def test_cli__train_flag_config_and_encode_columns(tiny_phantom_dir, tmp_path, capsys):
    assert main(["config", "--print", "--model", "scaffold"]) == 0
    assert "n_scaffold = 4" in capsys.readouterr().out
    run = tmp_path / "run"
    assert main(["train", "--data", str(tiny_phantom_dir), "--model", "scaffold", "--n-scaffold", "3", "--k", "2",
                 "--n-latents", "8", "--epochs", "1", "--out", str(run), "--quiet"]) == 0
    assert main(["encode", str(run), "--out", str(tmp_path / "codes.parquet")]) == 0
    columns = list(pd.read_parquet(tmp_path / "codes.parquet").columns)
    assert [c for c in columns if c.startswith(("scaffold_", "latent_"))] == (
        ["scaffold_0", "scaffold_1", "scaffold_2"] + [f"latent_{j}" for j in range(8)])
    assert main(["train", "--data", str(tiny_phantom_dir), "--model", "topk", "--n-scaffold", "3",
                 "--out", str(tmp_path / "bad"), "--quiet"]) != 0  # topk has no scaffold


def test_sweep_and_config__scaffold_points_vary_its_own_keys():
    from gaitsae.sweep.spec import parse_spec
    from gaitsae.training.config import config_from_dict

    points = parse_spec({"data": {"path": "/nowhere"}, "model": {"name": "scaffold"}, "grid": {"model.name": ["scaffold", "topk"],
                                                                 "model.n_scaffold": [2, 8]}})
    scaffold = [p for p in points if p.config.model_name == "scaffold"]
    assert sorted(p.config.model["n_scaffold"] for p in scaffold) == [2, 8]
    assert all("n_scaffold" not in p.config.model for p in points if p.config.model_name == "topk")
    assert config_from_dict({"model": {"name": "Scaffold", "n_scaffold": 6}}).model["n_scaffold"] == 6
    from gaitsae.errors import ConfigError
    with pytest.raises(ConfigError, match="model.n_scaffold"):
        config_from_dict({"model": {"name": "scaffold", "n_scaffold": -1}})


def test_auto_sizes__resolved_from_k_and_the_training_stances():
    from gaitsae.models.scaffold import ScaffoldSAE
    small = ScaffoldSAE.resolve_params({"k": 4, "n_latents": 0, "encoder_dims": 0}, n_train=160)
    large = ScaffoldSAE.resolve_params({"k": 4, "n_latents": 0, "encoder_dims": 0}, n_train=23_514)
    assert (small["n_latents"], small["encoder_dims"]) == (32, 10)
    assert (large["n_latents"], large["encoder_dims"]) == (32, 80)
    given = ScaffoldSAE.resolve_params({"k": 2, "n_latents": 7, "encoder_dims": 33}, n_train=160)
    assert (given["n_latents"], given["encoder_dims"]) == (7, 33)
    with pytest.raises(Exception, match="resolved"):
        build_model("scaffold", D, {"k": 2})  # unresolved automatic sizes are not a model


def test_candidates__k_picked_among_the_proposals_by_orthogonal_least_squares(trained):
    """With candidates, the whitened encoder proposes k + c atoms and forward selection in input
    space keeps k of them: every chosen atom is a proposal, each step's pick leaves the smallest
    least-squares residual (checked by brute force), the fit is no worse on average than the plain
    top k, and the planted atoms' codes still follow their amounts."""
    import copy

    from gaitsae.models.scaffold import _least_squares
    plain, x, atoms, _, codes = trained
    picked = copy.deepcopy(plain)
    picked.config.candidates = 2
    with torch.no_grad():
        rows = x[:400]
        proposed = plain.sparse.pre_activations(plain.whiten(rows)).topk(K + 2, dim=1).indices
        chosen = picked.support(rows)
        assert all(set(c.tolist()) <= set(p.tolist()) for c, p in zip(chosen, proposed))
        assert (chosen != plain.support(rows)).any()  # the pick is not the plain top k
        centred, learned = rows - picked.mean, picked.atoms()

        def error(index):
            basis = torch.cat([picked.scaffold.expand(len(rows), -1, -1), learned[index]], dim=1)
            fit = (_least_squares(basis, centred).unsqueeze(2) * basis).sum(dim=1)
            return ((centred - fit) ** 2).sum(dim=1)
        first = torch.stack([error(proposed[:, [j]]) for j in range(K + 2)], dim=1).argmin(dim=1)
        assert (proposed[torch.arange(len(rows)), first] == chosen[:, 0]).float().mean() > 0.99
        assert error(chosen).mean() < error(plain.support(rows)).mean()
    for j in range(5):
        assert _best_code_corr(picked, x, atoms, codes, j) > 0.8, j


def test_saved_before_a_key_existed__loads_as_it_was_trained(scaffold_run, tiny_phantom_dir, tmp_path):
    """A run written before `robust_steps` existed (no key in model.json or config.toml) was trained
    without the robust refit: it loads with robust_steps = 0, not the newer default 6, and a key that
    differs is still refused."""
    import json
    import shutil
    import tomllib

    import tomli_w

    from gaitsae.training.rundir import write_manifest

    old = tmp_path / "old"
    shutil.copytree(scaffold_run, old)
    info = json.loads((old / "model.json").read_text())
    assert info["config"]["robust_steps"] == 6  # the default this run was trained with
    del info["config"]["robust_steps"]  # as an older gaitsae wrote them
    (old / "model.json").write_text(json.dumps(info))
    config = tomllib.loads((old / "config.toml").read_text())
    del config["model"]["robust_steps"]
    (old / "config.toml").write_text(tomli_w.dumps(config))
    write_manifest(old)  # the old run's own digests
    legacy = GaitSAE.load(old, progress=False)
    assert legacy.config_.model["robust_steps"] == 0 and legacy.model_.config.robust_steps == 0
    assert legacy.transform(load_dataset(tiny_phantom_dir)).shape[1] == 14
    info["config"]["n_latents"] = 13
    (old / "model.json").write_text(json.dumps(info))
    write_manifest(old)
    with pytest.raises(Exception, match="does not match"):
        GaitSAE.load(old, progress=False)
