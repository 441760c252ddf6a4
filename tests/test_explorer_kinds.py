"""The explorer knows the two kinds of feature (issue 28): the store records each feature's kind and
column, the features API filters by kind, and stance pages label the kind of each active feature."""

from __future__ import annotations

import shutil
import warnings

from gaitsae.explorer.app import create_app
from gaitsae.explorer.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def test_explorer__lists_filters_and_labels_both_kinds(scaffold_run, tiny_patients_dir, tmp_path):
    run = tmp_path / "scaffold"
    shutil.copytree(scaffold_run, run)
    store = open_store(run, data=str(tiny_patients_dir), progress=False)
    assert list(store.features["kind"]) == ["scaffold"] * 2 + ["sparse"] * 8
    assert list(store.features["column"][:3]) == ["scaffold_0", "scaffold_1", "latent_0"]
    with TestClient(create_app([store])) as client:
        every = client.get("/api/runs/scaffold/features").json()
        assert every["kinds"] == ["scaffold", "sparse"] and len(every["features"]) == 10
        axes = client.get("/api/runs/scaffold/features?kind=scaffold").json()["features"]
        assert [f["column"] for f in axes] == ["scaffold_0", "scaffold_1"]
        sparse = client.get("/api/runs/scaffold/features?kind=sparse").json()["features"]
        assert len(sparse) == 8 and {f["kind"] for f in sparse} == {"sparse"}
        bad = client.get("/api/runs/scaffold/features?kind=dense")
        assert bad.status_code == 400 and "kind must be one of scaffold, sparse" in bad.text
        assert client.get("/api/runs/scaffold/features/0").json()["summary"]["kind"] == "scaffold"
        stance = client.get("/api/runs/scaffold/stances/0").json()
        kinds = {f["latent"]: f["kind"] for f in stance["features"]}
        assert kinds[0] == kinds[1] == "scaffold"  # the scaffold codes every stance
        assert all(v == "sparse" for j, v in kinds.items() if j >= 2)
        js = client.get("/static/explorer.js").text
        assert "kind-filter" in js and "?kind=" in js and "scaffold axis" in js
