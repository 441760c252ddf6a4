"""Shared fixtures: tiny phantoms written once per session (once per xdist worker), copied when a
test corrupts them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# `make test` runs pytest -n 2: the workers share the machine's cores, so each keeps to one
# torch/BLAS/polars thread (set before they load; subprocesses of the tests inherit it).
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if WORKERS > 1:
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "POLARS_MAX_THREADS"):
        os.environ[_var] = "1"

import pytest  # noqa: E402

from gaitsae.data.phantom import write_phantom  # noqa: E402

SHARED_GUTENBERG = Path(__file__).resolve().parents[2] / "shared" / "data" / "gutenberg"


def pytest_configure(config):
    if WORKERS > 1:
        import torch
        from threadpoolctl import threadpool_limits

        from gaitsae.runtime import limit_threads

        torch.set_num_threads(1)
        limit_threads(1)  # training's automatic choice too (as in a sweep worker)
        threadpool_limits(1)  # in case a plugin loaded numpy's BLAS before the variables above


@pytest.fixture
def uncapped_threads():
    """The automatic thread rule as in a process of its own: a pytest -n worker caps it at one
    thread (above); the test's own caps are undone afterwards and the worker's put back."""
    from gaitsae import runtime

    cap = runtime._limit
    runtime.limit_threads(None)
    yield
    runtime.limit_threads(cap)


# Tests sharing an expensive fixture (the demo; trained runs a module analyses once) run on one
# xdist worker (`make test`: -n 2 --dist loadgroup), so it is built once, not once per worker, and
# these groups are handed out first. test_data_safety marks its users of `analysed` (requested by
# name inside the tests) itself.
GROUPED_FIXTURES = ("demo", "swept", "runs_with_and_without_truth")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in GROUPED_FIXTURES:
            if name in item.fixturenames:
                item.add_marker(pytest.mark.xdist_group(name))


@pytest.hookimpl(tryfirst=True)  # before xdist's worker sends the collected ids to the scheduler
def pytest_collection_finish(session):
    """xdist (3.8) tells the scheduler a test's group by the suffix `@group` it puts on
    item._nodeid; pytest 9.2 derives the node id from item._id instead, so the suffix is lost and
    loadgroup silently stops grouping (pytest-xdist issue 1386). Put it where pytest reads it."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    for item in session.items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            item._id = type(item._id).parse(item.nodeid + suffix)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own reader cache, so no test sees another's cached files."""
    monkeypatch.setenv("GAITSAE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def tiny_phantom_dir(tmp_path_factory) -> Path:
    """A healthy Gutenberg-layout phantom of 6 subjects (read-only: copy before changing it)."""
    out = tmp_path_factory.mktemp("phantom")
    write_phantom(out, n_subjects=6, seed=1, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_patients_dir(tmp_path_factory) -> Path:
    """gutenberg/ + gaitrec/ phantom with patients (read-only)."""
    out = tmp_path_factory.mktemp("phantom_patients")
    write_phantom(out, n_subjects=6, seed=2, with_patients=True, n_patients=12, progress=False)
    return out


@pytest.fixture
def phantom_copy(tiny_phantom_dir, tmp_path) -> Path:
    """A writable copy of the tiny phantom (PRO files and metadata only)."""
    dst = tmp_path / "data"
    dst.mkdir()
    for f in tiny_phantom_dir.iterdir():
        if "_RAW_" not in f.name:
            shutil.copy(f, dst / f.name)
    return dst


@pytest.fixture(scope="session")
def explorer_runs(tiny_patients_dir, tmp_path_factory) -> dict[str, Path]:
    """Two small trained runs (topk, sae) on the patients phantom, for the explorer's tests (read-only)."""
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    out = tmp_path_factory.mktemp("explorer_runs")
    dataset = load_dataset(tiny_patients_dir, cache=False)
    runs = {}
    for name, params in (("topk", {"k": 4}), ("sae", {})):
        est = GaitSAE(model=name, n_latents=16, epochs=2, seed=0, progress=False, **params)
        est.config_ = est.to_config(str(tiny_patients_dir))
        est.fit(dataset, run_dir=out / name)
        runs[name] = out / name
    return runs


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """A small `gaitsae demo` (14 subjects, topk and sae, 3 epochs), shared by the report tests (test_report's
    reuse test runs the same demo again into it, which rewrites the same report)."""
    from gaitsae.cli import main

    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--subjects", "14", "--epochs", "3", "--models", "topk,sae"]) == 0
    return out


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """A phantom with GaitRec-style patients (enough for classify), two small runs on it (run0,
    run1), a sweep spec and a small run config (read-only: test_data_safety copies the runs)."""
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    root = tmp_path_factory.mktemp("safety")
    write_phantom(root / "data", n_subjects=4, seed=3, with_patients=True, n_patients=40, progress=False)
    dataset = load_dataset(root / "data", cache=False)
    for seed in (0, 1):
        est = GaitSAE(model="topk", k=3, n_latents=8, epochs=2, seed=seed, batch_size=64, progress=False)
        est.config_ = est.to_config(str(root / "data"))
        est.fit(dataset, run_dir=root / f"run{seed}")
    (root / "spec.toml").write_text('[model]\nname = "topk"\nn_latents = 8\n[training]\nepochs = 2\n[grid]\n'
                                     '"model.k" = [2, 3]\n')
    (root / "small.toml").write_text("[model]\nname = 'topk'\nn_latents = 8\nk = 2\n[training]\nepochs = 3\n")
    return root


@pytest.fixture(scope="session")
def scaffold_run(tiny_patients_dir, tmp_path_factory) -> Path:
    """A tiny scaffold + sparse run (2 scaffold axes, 8 atoms, k = 2) on the patients phantom (read-only)."""
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    out = tmp_path_factory.mktemp("scaffold_run") / "scaffold"
    est = GaitSAE(model="scaffold", n_scaffold=2, k=2, n_latents=8, epochs=2, seed=0, progress=False)
    est.config_ = est.to_config(str(tiny_patients_dir))
    est.fit(load_dataset(tiny_patients_dir, cache=False), run_dir=out)
    return out
