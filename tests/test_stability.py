"""Feature stability on planted cases: a permuted, rescaled copy of a run; random directions; a
smaller dictionary holding half of a run's features."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gaitsae.analysis import stability as S
from gaitsae.features.cosine import unit_directions
from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.estimator import GaitSAE
from gaitsae.models import build_model
from gaitsae.training.config import config_from_dict, config_to_dict
from gaitsae.training.rundir import save_run

N_LATENTS = 24


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, tiny_phantom_dir):
    out = tmp_path_factory.mktemp("stability") / "base"
    # channel scaling: a random decoder row is then a random time-domain direction (whitened, it
    # would lie in the few principal dimensions that hold most of the variance)
    GaitSAE(model="topk", n_latents=N_LATENTS, k=4, epochs=3, scaling="channel", progress=False).fit(
        load_dataset(tiny_phantom_dir), run_dir=out)
    return out


def derived_run(src, dst, index, decoder_scale=None, random_decoder=False, silent=()):
    """A run whose latent j is latent index[j] of src (TopK state tensors along the latent axis),
    with each decoder row multiplied by decoder_scale[j] or replaced by a random direction; the
    latents in `silent` never fire (encoder bias far below any pre-activation) and get random
    decoder rows."""
    est = GaitSAE.load(src, progress=False)
    mapping = config_to_dict(est.config_)
    mapping["model"]["n_latents"] = len(index)
    config = config_from_dict(mapping)
    n = est.config_.model["n_latents"]
    state = {k: v[torch.as_tensor(index)] if v.ndim and v.shape[0] == n else v
             for k, v in est.model_.state_dict().items()}
    if decoder_scale is not None:
        state["decoder"] = state["decoder"] * torch.as_tensor(decoder_scale, dtype=torch.float32)[:, None]
    if random_decoder:
        state["decoder"] = torch.randn(state["decoder"].shape, generator=torch.Generator().manual_seed(1))
    if len(silent):
        quiet = torch.as_tensor(list(silent))
        state["encoder_bias"][quiet] = -1e6
        state["decoder"][quiet] = torch.randn((len(quiet), state["decoder"].shape[1]),
                                              generator=torch.Generator().manual_seed(2))
    model = build_model(config.model_name, est.transform_.n_features_, config.model_params())
    model.load_state_dict(state)
    save_run(dst, config, model, est.transform_, split=est.split_, metrics=est.metrics_)
    return dst


def test_stability__permuted_rescaled_copy_matches_every_feature(base_run, tmp_path):
    perm = np.random.default_rng(0).permutation(N_LATENTS)
    copy = derived_run(base_run, tmp_path / "copy", perm, decoder_scale=np.linspace(0.3, 5, N_LATENTS))
    result = S.stability([base_run, copy])
    pair = result.pairs[0]
    assert pair["share_0.9"] == 1.0 and pair["share_0.7"] == 1.0
    assert pair["mean_cosine"] > 0.999
    assert pair["activation_r_median_0.9"] > 0.999  # same encoder: the same activations, permuted
    silent = result.features["silent"]
    assert (result.features["stability"][~silent] == 1.0).all() and result.features["stability"][silent].isna().all()
    rows, cols, _ = S.match(*(unit_directions(GaitSAE.load(p).feature_directions(), np.ones(5)) for p in (base_run, copy)))
    assert (perm[cols] == rows).all()  # the matching recovers the permutation


def test_stability__random_directions_match_almost_nothing(base_run, tmp_path):
    rand = derived_run(base_run, tmp_path / "random", np.arange(N_LATENTS), random_decoder=True)
    result = S.stability([base_run, rand])
    assert result.pairs[0]["share_0.9"] == 0.0
    assert result.pairs[0]["share_0.7"] <= 0.05
    assert (result.features["stability"][~result.features["silent"]] == 0.0).all()


def test_stability__rectangular_dictionaries_and_cli_outputs(base_run, tmp_path, capsys, tiny_phantom_dir,
                                                             monkeypatch):
    latents = GaitSAE.load(base_run, progress=False).transform(load_dataset(tiny_phantom_dir))
    half = np.flatnonzero((latents > 0).any(axis=0))[::2]  # every second alive feature (TopK: still alive)
    small = derived_run(base_run, tmp_path / "small", half)
    out = tmp_path / "gaitsae-stability"  # the default output, where `gaitsae analyze` finds it
    monkeypatch.chdir(tmp_path)
    assert main(["stability", str(base_run), str(small)]) == 0
    assert "matched at cosine >= 0.9: 100%" in capsys.readouterr().out
    doc = json.loads((out / "stability.json").read_text())
    pair = doc["pairs"][0]
    assert (pair["n_latents_a"], pair["n_latents_b"]) == (N_LATENTS, len(half))
    assert pair["share_0.9"] == 1.0  # of the smaller dictionary
    scores = doc["feature_stability"]
    assert scores["small"] == [1.0] * len(half)
    assert [j for j, s in enumerate(scores["base"]) if s == 1.0] == half.tolist()
    assert all(s is None for j, s in enumerate(scores["base"]) if not latents[:, j].any())  # silent: no score
    assert doc["stances"]["n_stances"] > 0 and doc["stances"]["synthetic"] is True
    assert (out / "stability.png").read_bytes()[:4] == b"\x89PNG"
    assert len((out / "stability_features.csv").read_text().splitlines()) == 1 + N_LATENTS + len(half)
    entry = S.stability_entry(small, out / "stability.json")
    assert entry["feature_stability_mean"] == 1.0 and entry["other_runs"] == ["base"]
    assert S.stability_entry(base_run)["other_runs"] == ["small"]  # found in the default output
    monkeypatch.chdir(small)
    assert S.stability_entry(base_run) is None  # nothing beside it or in the working directory covers it
    monkeypatch.chdir(tmp_path)

    assert main(["analyze", str(small), "--out", str(tmp_path / "report")]) == 0
    analysis = json.loads((small / "analysis.json").read_text())
    assert analysis["stability"]["share_0.9_mean"] == 1.0
    assert analysis["stability"]["feature_stability"] == [1.0] * len(half)
    assert "Stability across runs" in (tmp_path / "report" / "report.html").read_text()


def test_stability__runs_without_a_shared_channel_are_refused(tmp_path, tiny_phantom_dir, capsys):
    data = load_dataset(tiny_phantom_dir)
    for channel in ("F_V", "COP_AP"):
        GaitSAE(model="sae", n_latents=8, channels=[channel], epochs=1, progress=False).fit(
            data, run_dir=tmp_path / channel)
    assert main(["stability", str(tmp_path / "F_V"), str(tmp_path / "COP_AP"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "share no channel" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "stability.json").exists()


def test_stability__silent_latents_are_out_of_the_denominator_and_the_mean(base_run, tmp_path, tiny_phantom_dir):
    """Most of a copy's latents never fire (and got random decoder rows): its alive features all
    come back; the silent ones are neither a miss in the share nor a 0 in the mean stability."""
    latents = GaitSAE.load(base_run, progress=False).transform(load_dataset(tiny_phantom_dir))
    keep = np.flatnonzero((latents > 0).any(axis=0))[::2]  # every second alive feature stays
    quiet = np.setdiff1d(np.arange(N_LATENTS), keep)
    copy = derived_run(base_run, tmp_path / "half_silent", np.arange(N_LATENTS), silent=quiet)
    result = S.stability([base_run, copy])
    pair = result.pairs[0]
    base = result.features[result.features["run"] == "base"]
    expected = [j in keep for j in range(N_LATENTS)]
    assert result.runs[1]["n_alive"] == pair["n_alive_b"] == len(keep) < N_LATENTS // 2
    assert pair["share_0.9"] == 1.0  # every alive feature of the copy comes back
    mine = result.features[result.features["run"] == "half_silent"]
    assert (~mine["silent"]).tolist() == expected
    assert mine["stability"][mine["silent"]].isna().all()
    assert (mine["stability"][~mine["silent"]] == 1.0).all()
    alive_scores = [*base["stability"][~base["silent"]], *[1.0] * len(keep)]  # silent ones left out
    assert result.summary["feature_stability_mean"] == pytest.approx(np.mean(alive_scores))
    assert result.summary["alive_fraction"] == pytest.approx(len(alive_scores) / (2 * N_LATENTS))


def test_stability__alive_by_the_models_own_activation_rule(tmp_path, tiny_phantom_dir):
    """svae latents are the dense posterior mean μ: alive means |μ| > 0.1 on some stance (the rule
    of l0 and dead_fraction). A copy whose first latents sit at μ = 0.05 on every stance has them
    silent, though |μ| > 0 everywhere."""
    from gaitsae.training.metrics import dead_fraction

    data = load_dataset(tiny_phantom_dir)
    run = tmp_path / "svae"
    GaitSAE(model="svae", n_latents=N_LATENTS, epochs=2, progress=False).fit(data, run_dir=run)
    est = GaitSAE.load(run, progress=False)
    state = est.model_.state_dict()
    quiet = torch.arange(N_LATENTS // 3)
    state["mu_head.weight"][quiet] = 0.0
    state["mu_head.bias"][quiet] = 0.05
    est.model_.load_state_dict(state)
    save_run(tmp_path / "quiet", est.config_, est.model_, est.transform_, split=est.split_, metrics=est.metrics_)
    result = S.stability([run, tmp_path / "quiet"])
    latents = GaitSAE.load(tmp_path / "quiet", progress=False).transform(data)
    assert (np.abs(latents[:, quiet]) > 0).all()
    n_alive = round(N_LATENTS * (1 - dead_fraction(latents, 0.1)))
    assert result.runs[1]["n_alive"] == result.pairs[0]["n_alive_b"] == n_alive <= N_LATENTS - len(quiet)
    assert result.features.query("run == 'quiet'")["silent"].to_numpy()[:len(quiet)].all()


def test_stability__untrained_starts_share_beside_the_trained_one(base_run, tmp_path, capsys):
    """A run and its copy: the untrained starts (model_init.safetensors) match entirely too; a run
    saved without its untrained start gives n/a, not a number."""
    import shutil

    twin = tmp_path / "twin"
    shutil.copytree(base_run, twin)
    result = S.stability([base_run, twin])
    assert result.pairs[0]["untrained_share_0.9"] == 1.0
    assert result.summary["untrained_share_0.9_mean"] == 1.0
    old = derived_run(base_run, tmp_path / "old", np.arange(N_LATENTS))  # saved without model_init
    result = S.stability([base_run, twin, old])
    by = {(p["run_a"], p["run_b"]): p["untrained_share_0.9"] for p in result.pairs}
    assert by[("base", "old")] is None and by[("twin", "old")] is None and by[("base", "twin")] == 1.0
    assert main(["stability", str(base_run), str(old), "--out", str(tmp_path / "s")]) == 0
    assert "untrained starts n/a" in capsys.readouterr().out


def test_stability__cosines_are_the_shared_feature_cosine(base_run, tmp_path, tiny_phantom_dir):
    """The matched cosines are features.cosine's (channels divided by their between-stance
    SD), not a second definition (the pooled SD weights channels by their mean curve's shape)."""
    from scipy.optimize import linear_sum_assignment

    from gaitsae.features.cosine import between_stance_sd, cosine_matrix

    other = derived_run(base_run, tmp_path / "random", np.arange(N_LATENTS), random_decoder=True)
    result = S.stability([base_run, other])
    data = load_dataset(tiny_phantom_dir)
    runs = [GaitSAE.load(p, progress=False) for p in (base_run, other)]
    on = [np.flatnonzero((r.transform(data) > 0).any(axis=0)) for r in runs]
    cos = cosine_matrix(runs[0].feature_directions()[on[0]], runs[1].feature_directions()[on[1]],
                        between_stance_sd(data.curves))
    rows, cols = linear_sum_assignment(cos, maximize=True)
    assert np.sort(result.cosines[0]) == pytest.approx(np.sort(cos[rows, cols]))
