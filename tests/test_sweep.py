"""Sweeps on a tiny phantom: a 2×2 grid in two local workers, skipping finished points, resuming an
interrupted one, spec errors; and two points on a real local Ray head."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from gaitsae.cli import main
from gaitsae.data import load_dataset
from gaitsae.errors import ConfigError
from gaitsae.estimator import GaitSAE
from gaitsae.sweep import run_sweep
from gaitsae.sweep.spec import parse_spec
from gaitsae.training.config import replace

SPEC = """
[model]
name = "topk"
n_latents = 12
[training]
epochs = 3
[grid]
"model.k" = [2, 4]
"training.seed" = [0, 1]
"""
POINTS = ["k-2_seed-0", "k-2_seed-1", "k-4_seed-0", "k-4_seed-1"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory, tiny_phantom_dir):
    root = tmp_path_factory.mktemp("sweep")
    (root / "spec.toml").write_text(SPEC)
    result = run_sweep(root / "spec.toml", root / "out", data=str(tiny_phantom_dir), workers=2, progress=False)
    return root, result


@pytest.mark.slow
def test_sweep__two_by_two_grid_in_two_workers_writes_runs_and_table(swept):
    root, result = swept
    out = root / "out"
    assert sorted(p.name for p in out.iterdir() if (p / "metrics.json").is_file()) == POINTS
    assert {r["status"] for r in result.ran.values()} == {"trained"}
    df = pd.read_parquet(out / "sweep.parquet")
    assert sorted(df["point"]) == POINTS and (df["status"] == "done").all()
    for column in ("model.k", "training.seed", "model.n_latents", "features.domain", "fvu", "l0", "r2_time.F_V",
                   "dead_fraction", "fvu_time", "train_seconds", "stability.share_0.9_mean"):
        assert column in df.columns, column
    assert sorted(zip(df["model.k"], df["training.seed"])) == [(2, 0), (2, 1), (4, 0), (4, 1)]
    assert (df["l0"] <= df["model.k"]).all()
    GaitSAE.load(out / "k-4_seed-1")  # an ordinary run directory
    assert sorted(result.stability["group"]) == ["k-2", "k-4"]
    assert (out / "stability" / "k-2" / "stability.json").is_file()
    assert set(result.baselines["method"]) == {"pca", "dictionary+omp"}
    assert set(result.baselines["k"]) == {int(round(v)) for v in df["l0"]}
    page = (out / "sweep.html").read_text()
    assert "Stability across seeds" in page and "data:image/png;base64," in page and "SYNTHETIC" in page
    assert "http://" not in page and "https://" not in page  # self-contained


@pytest.mark.slow
def test_sweep__rerun_skips_finished_points(swept, tiny_phantom_dir):
    root, _ = swept
    out = root / "out"
    before = {p: (out / p / "metrics.json").stat().st_mtime_ns for p in POINTS}
    result = run_sweep(root / "spec.toml", out, data=str(tiny_phantom_dir), workers=2, progress=False)
    assert result.ran == {} and sorted(result.skipped) == POINTS
    assert {p: (out / p / "metrics.json").stat().st_mtime_ns for p in POINTS} == before


@pytest.mark.slow
def test_sweep__interrupted_point_resumes_from_its_checkpoint(swept, tiny_phantom_dir, capsys):
    root, _ = swept
    out, name = root / "out", "k-4_seed-1"
    finished = json.loads((out / name / "metrics.json").read_text())
    # An interruption after epoch 2 of 3: only the checkpoint of those two epochs is left.
    config = GaitSAE.load(out / name).config_
    shutil.rmtree(out / name)
    GaitSAE.from_config(replace(config, training={"epochs": 2}), progress=False).fit(load_dataset(tiny_phantom_dir), run_dir=out / name)
    for f in (out / name).iterdir():
        if f.name != "checkpoint":
            f.unlink()
    assert main(["sweep", str(root / "spec.toml"), "--out", str(out), "--data", str(tiny_phantom_dir),
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "4 of 4 points done (1 run now in" in printed and "3 already finished" in printed
    resumed = json.loads((out / name / "metrics.json").read_text())
    assert resumed["epochs_run"] == 3
    assert resumed["fvu"] == pytest.approx(finished["fvu"], rel=1e-6)  # as if never interrupted
    history = pd.read_csv(out / name / "history.csv")
    assert list(history["epoch"]) == [0, 1, 2]


def test_spec__model_keys_apply_to_the_models_that_have_them():
    points = parse_spec({"training": {"epochs": 2}, "grid": {"model.name": ["topk", "sae"], "model.k": [4, 8],
                                                             "training.seed": [0]}}, data="/data")
    assert [p.name for p in points] == ["topk_k-4_seed-0", "topk_k-8_seed-0", "sae_seed-0"]
    assert points[1].config.model["k"] == 8 and "k" not in points[2].config.model
    assert all(p.config.training.epochs == 2 and p.config.data.path == "/data" for p in points)


@pytest.mark.parametrize("spec, message", [
    ({"grid": {"model.kk": [1]}}, "unknown grid key model.kk"),
    ({"grid": {"training.sed": [1]}}, "unknown grid key training.sed"),
    ({"grid": {"optim.lr": [1]}}, "unknown grid key optim.lr"),
    ({"grid": {"model.k": 4}}, "grid key model.k must be a non-empty list"),
    ({"grid": {"model.k": [0]}}, "point k-0: model.k"),
    ({"training": {"epoch": 3}}, "unknown key training.epoch"),
    ({"grid": {"training.seed": list(range(101)), "model.k": list(range(1, 101))}}, "the grid has 10100 points"),
])
def test_spec__errors_name_the_key(spec, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_spec(spec, data="/data")


def test_sweep_cli__bad_spec_is_one_line_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "spec.toml").write_text('[grid]\n"model.kk" = [1, 2]\n')
    assert main(["sweep", str(tmp_path / "spec.toml"), "--out", str(tmp_path / "out"), "--data", "/x"]) == 2
    err = capsys.readouterr().err
    assert "unknown grid key model.kk" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# -- Ray ----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A real Ray head on 127.0.0.1 (1 CPU, no dashboard) for this test; stopped by its process group."""
    pytest.importorskip("ray", reason="ray is not installed (pip install 'gaitsae[ray]')")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths must stay under 108 bytes
    ray_cli = Path(sys.executable).parent / "ray"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                             f"--port={port}", "--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats",
                             f"--temp-dir={temp}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert head.poll() is None, "ray start exited"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(5)  # `ray start --block` never ended within 15 s of SIGTERM (always killed, below)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(10)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sweep__two_points_on_a_local_ray_head(ray_head, tmp_path, tiny_phantom_dir):
    (tmp_path / "spec.toml").write_text('[model]\nn_latents = 8\nk = 2\n[training]\nepochs = 2\n'
                                        '[grid]\n"training.seed" = [0, 1]\n')
    result = run_sweep(tmp_path / "spec.toml", tmp_path / "out", data=str(tiny_phantom_dir), ray=ray_head,
                       progress=False)
    assert {r["status"] for r in result.ran.values()} == {"trained"}, result.ran
    df = pd.read_parquet(tmp_path / "out" / "sweep.parquet")
    assert sorted(df["point"]) == ["seed-0", "seed-1"] and (df["status"] == "done").all()
    assert len(result.stability) == 1


AUTO_SPEC = """
[model]
name = "topk"
k = 2
[training]
epochs = 2
[grid]
"training.seed" = [0, 1]
"""


@pytest.mark.slow
def test_sweep__automatic_n_latents_resolves_and_resumes(tmp_path, tiny_phantom_dir, capsys):
    """A spec that leaves model.n_latents out (automatic): the table, the baselines and the resume
    check see the size the runs saved; run twice, the second run skips both points."""
    (tmp_path / "spec.toml").write_text(AUTO_SPEC)
    args = ["sweep", str(tmp_path / "spec.toml"), "--out", str(tmp_path / "out"), "--data", str(tiny_phantom_dir),
            "--quiet"]
    assert main(args) == 0
    df = pd.read_parquet(tmp_path / "out" / "sweep.parquet")
    saved = [GaitSAE.load(tmp_path / "out" / p, progress=False).config_.model["n_latents"] for p in df["point"]]
    assert min(saved) > 0 and df["model.n_latents"].tolist() == saved
    assert main(args) == 0  # no refusal: the saved configs are the points with n_latents resolved
    assert "(0 run now in" in capsys.readouterr().out
    result = run_sweep(tmp_path / "spec.toml", tmp_path / "out", data=str(tiny_phantom_dir), progress=False)
    assert sorted(result.skipped) == ["seed-0", "seed-1"] and result.ran == {}
    dictionary = result.baselines[result.baselines["method"] == "dictionary+omp"]
    assert set(dictionary["n_atoms"]) <= set(saved) and (dictionary["n_atoms"] > 0).all()


@pytest.mark.slow
def test_sweep__baselines_are_scored_on_each_seeds_own_split(swept):
    """The seed draws the subject split: PCA and dictionary learning are fitted and scored once per
    seed, on that seed's training and test subjects (not the first point's split for every point).
    (The SPEC sweep of `swept`, as it returned: later tests change its folder, not its result.)"""
    from gaitsae.sweep.results import _baseline_rows

    _, result = swept
    base = result.baselines
    assert set(base["seed"]) == {0, 1}
    points = {p.name: p for p in result.points}
    for seed in (0, 1):
        mine = base[(base["seed"] == seed) & (base["method"] == "pca")].sort_values("k")
        reached = result.table[result.table["training.seed"] == seed]["l0"]
        assert set(mine["k"]) == {max(round(v), 1) for v in reached}
        expected = [r for r in _baseline_rows(points[f"k-2_seed-{seed}"].config, list(mine["k"]), 12)
                    if r["method"] == "pca"]
        assert mine["fvu_time"].tolist() == pytest.approx([r["fvu_time"] for r in expected])
    pca = base[base["method"] == "pca"].pivot(index="k", columns="seed", values="fvu_time").dropna()
    assert len(pca) and (pca[0] != pca[1]).all()  # different test subjects, different scores


def test_sweep_worker__thread_rule_cannot_raise_its_single_thread(tmp_path, tiny_phantom_dir,
                                                                  uncapped_threads):
    """A step big enough for the automatic rule to take every core (batch × inputs × latents
    > 16 M) still trains on the sweep worker's one thread."""
    import torch

    from gaitsae.runtime import SMALL_STEP, choose_threads, limit_threads
    from gaitsae.sweep.point import train_point

    before = torch.get_num_threads()
    mapping = {"data": {"path": str(tiny_phantom_dir)}, "model": {"name": "topk", "n_latents": 256, "k": 2},
               "training": {"epochs": 1, "batch_size": 256}}
    try:
        train_point(str(tmp_path / "run"), config_to_dict_of(mapping), threads=1)
        assert torch.get_num_threads() == 1
        assert choose_threads(0, 256, SMALL_STEP, 1, torch.device("cpu")) == 1  # capped in this process
    finally:
        limit_threads(None)
        torch.set_num_threads(before)
    if len(os.sched_getaffinity(0)) > 1:
        assert choose_threads(0, 256, SMALL_STEP, 1, torch.device("cpu")) > 1  # the cap was the worker's


def config_to_dict_of(mapping: dict) -> dict:
    from gaitsae.training.config import config_from_dict, config_to_dict
    return config_to_dict(config_from_dict(mapping))


SCAFFOLD_SPEC = """
[model]
name = "scaffold"
n_scaffold = 2
n_latents = 8
[training]
epochs = 2
[grid]
"model.k" = [2]
"""


def test_sweep__a_scaffold_point_sizes_its_baselines_with_both_kinds(tmp_path, tiny_phantom_dir):
    """Dictionary size = every feature (2 scaffold axes + 8 atoms); numbers per stance = l0 with the
    scaffold's always-coded columns (2 + k)."""
    (tmp_path / "spec.toml").write_text(SCAFFOLD_SPEC)
    result = run_sweep(tmp_path / "spec.toml", tmp_path / "out", data=str(tiny_phantom_dir), progress=False)
    row = result.table.iloc[0]
    assert row["status"] == "done" and row["n_dense"] == 2 and row["l0"] == pytest.approx(2 + row["l0_sparse"])
    dictionary = result.baselines[result.baselines["method"] == "dictionary+omp"]
    assert set(dictionary["n_atoms"]) == {10}
    assert set(result.baselines["k"]) == {max(round(row["l0"]), 1)} and row["l0"] > 3
