"""The default model is the scaffold + sparse model (issue 28): `gaitsae train` without --model
trains it, and its run directory, report, explorer and clinical commands show both kinds of
feature, end to end through the CLI on a tiny phantom with patients."""

from __future__ import annotations

import json
import re
import tomllib
import warnings

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gaitsae.cli import main
from gaitsae.cli import options
from gaitsae.estimator import GaitSAE
from gaitsae.models import DEFAULT_MODEL, MODELS, SCAFFOLD, SPARSE

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

N_SCAFFOLD, N_ATOMS = 4, 32  # scaffold's defaults: 4 axes, k = 4, 8k atoms


def test_default__is_the_scaffold_model_in_the_api_the_cli_and_the_demo():
    from gaitsae.cli.demo import DEMO_MODELS

    assert DEFAULT_MODEL == options.DEFAULT_MODEL == "scaffold"
    assert GaitSAE().model == "scaffold" and GaitSAE().to_config("d").model_name == "scaffold"
    assert DEMO_MODELS[0] == DEFAULT_MODEL and len(set(DEMO_MODELS)) == len(DEMO_MODELS)
    assert {"topk", "sae", "sae-disent", "svae"} <= set(DEMO_MODELS)
    assert set(MODELS[DEFAULT_MODEL].Config().__dataclass_fields__) >= {"n_scaffold", "k", "n_latents"}


@pytest.mark.slow
def test_default__train_report_explorer_and_clinical_show_both_kinds(tiny_patients_dir, tmp_path):
    data, run = str(tiny_patients_dir), tmp_path / "default"
    assert main(["train", "--data", data, "--out", str(run), "--epochs", "2", "--quiet"]) == 0

    # the run directory: a scaffold run with its defaults, both kinds in metrics and in encode's columns
    config = tomllib.loads((run / "config.toml").read_text())
    assert config["model"]["name"] == "scaffold" and config["model"]["n_scaffold"] == N_SCAFFOLD
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_dense"] == N_SCAFFOLD and 0 < metrics["l0_sparse"] <= 4
    est = GaitSAE.load(run, progress=False)
    assert list(est.feature_kinds_) == [SCAFFOLD] * N_SCAFFOLD + [SPARSE] * N_ATOMS
    assert main(["encode", str(run), "--data", data, "--out", str(tmp_path / "codes.csv")]) == 0
    columns = list(pd.read_csv(tmp_path / "codes.csv", nrows=1).columns)
    names = [f"scaffold_{i}" for i in range(N_SCAFFOLD)] + [f"latent_{j}" for j in range(N_ATOMS)]
    assert [c for c in columns if c.startswith(("scaffold_", "latent_"))] == names

    # the report: scaffold axes in their own table, sparse features in the feature table, the answer
    # line saying in words what the scaffold carries
    assert main(["analyze", str(run), "--data", data]) == 0
    html = (run / "report.html").read_text()
    axes = re.search(r'<table class="scaffold" data-run="default">(.*?)</table>', html, re.S).group(1)
    assert axes.count("<tr data-feature=") == N_SCAFFOLD and "|r| walking speed" in axes
    features = re.search(r'<details id="default-features".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    assert "scaffold_" not in features and features.count("<tr>") >= 1
    answer = re.search(r'<ul class="answer" id="answer">(.*?)</ul>', html, re.S).group(1)
    assert f"Its scaffold ({N_SCAFFOLD} dense axes, normal variation): " in answer
    from gaitsae.report.kinds import kinds_sentence, scaffold_axes

    analysis = json.loads((run / "analysis.json").read_text())
    assert analysis["kinds"] == [SCAFFOLD] * N_SCAFFOLD + [SPARSE] * N_ATOMS
    for axis in scaffold_axes(analysis):  # an axis that carries a factor is named with it, one that does not is not
        said = f"{axis['name']} carries " + (axis["carries"][0][0] if axis["carries"] else "")
        assert (said in answer) == bool(axis["carries"])
    assert kinds_sentence(analysis).split(".")[0] in answer.replace("&#39;", "'")
    assert "Against the phantom&#39;s truth" in answer  # a phantom: the truth is scored too

    # the explorer lists and filters both kinds
    from gaitsae.explorer.app import create_app
    from gaitsae.explorer.store import open_store

    store = open_store(run, data=data, progress=False)
    with TestClient(create_app([store])) as client:
        every = client.get("/api/runs/default/features").json()
        assert every["kinds"] == [SCAFFOLD, SPARSE] and len(every["features"]) == N_SCAFFOLD + N_ATOMS
        scaffold = client.get("/api/runs/default/features?kind=scaffold").json()["features"]
        assert [f["column"] for f in scaffold] == names[:N_SCAFFOLD]

    # clinical: the deviation index counts both kinds; the explanations name sparse features only
    assert main(["deviations", str(run), "--data", data, "--out", str(tmp_path / "dev.parquet")]) == 0
    stances = pq.read_table(tmp_path / "dev_stances.parquet").to_pandas()
    assert {f"z_{j}" for j in range(N_SCAFFOLD + N_ATOMS)} <= set(stances.columns)
    assert main(["classify", str(run), "--data", data, "--out", str(tmp_path / "cls"), "--train-set", "full",
                 "--bootstrap", "10", "--quiet"]) == 0
    explained = pd.read_csv(tmp_path / "cls" / "features.csv")
    assert len(explained) and (explained["feature"] >= N_SCAFFOLD).all()
