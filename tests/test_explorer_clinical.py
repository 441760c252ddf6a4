"""The explorer's course page and what-if endpoint (issue 29) against the real app: the same numbers
as the CLI's course, exact slider directions, toward healthy, and bad requests."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gaitsae.clinical import course as C
from gaitsae.clinical.pipeline import deviations, encode
from gaitsae.explorer.app import create_app
from gaitsae.explorer.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def store(explorer_runs):
    return open_store(explorer_runs["topk"], progress=False)


@pytest.fixture(scope="module")
def client(store):
    with TestClient(create_app([store])) as c:
        yield c


def _patient(store):
    st = store.stances
    return st[st["class_label"].ne("HC")].groupby("subject")["session"].nunique().idxmax()


def test_course_api__gives_the_same_course_as_the_cli(client, store, explorer_runs, tiny_patients_dir):
    subject = _patient(store)
    page = client.get(f"/runs/topk/subjects/{subject}/course")
    assert page.status_code == 200 and 'data-page="course"' in page.text
    d = client.get(f"/api/runs/topk/subjects/{subject}/course").json()
    assert d["available"] and d["run"]["synthetic"]
    enc = encode(explorer_runs["topk"], tiny_patients_dir)
    cli = C.course(C.inputs_from_run(enc, deviations(enc)), subject)
    assert [s["type"] for s in d["sessions"]] == cli.sessions["type"].tolist()
    assert np.allclose([s["index"] for s in d["sessions"]], cli.sessions["index"], atol=1e-3)
    assert np.allclose(d["band"], cli.band, atol=1e-3)
    assert [r["feature"] for r in d["features"]] == cli.features["feature"].tolist()


def test_course_api__a_single_session_subject_says_so_and_unknown_is_404(client, store):
    counts = store.stances.groupby("subject")["session"].nunique()
    single = counts[counts == 1].index[0]
    d = client.get(f"/api/runs/topk/subjects/{single}/course").json()
    assert len(d["sessions"]) == 1 and "one session only" in d["note"]
    r = client.get("/api/runs/topk/subjects/gaitrec:99999/course")
    assert r.status_code == 404 and "unknown subject" in r.json()["error"]


def test_whatif_api__sliders_carry_exact_directions_and_the_index_follows(client, store):
    stance = int(np.flatnonzero(store.stances["class_label"].ne("HC"))[0])
    d = client.get(f"/api/runs/topk/stances/{stance}/whatif").json()
    active = set(store.active(stance).tolist())
    assert {s["latent"] for s in d["sliders"]} == active  # no scaffold in a topk model: every active feature
    sae = store.sae()
    s = d["sliders"][0]
    j, value = s["latent"], s["value"]
    assert s["min"] <= value <= s["max"]
    latents = store.latents[stance].copy()
    latents[j] = value + 1.0
    # what the page draws (recorded + Δ × direction) is what the model reconstructs, shifted by the same Δ
    changed = sae.inverse_transform(latents[None])[0] - sae.inverse_transform(store.latents[stance][None])[0]
    assert np.allclose(np.array(s["direction"]), changed, atol=1e-4)
    r = client.get(f"/api/runs/topk/stances/{stance}/whatif", params={"set": f"{j}:{value}"}).json()
    assert abs(r["index"] - d["index"]) < 1e-3  # no change: the same index
    # silencing an active feature changes its z, and so the index, unless the reference cannot tell (rare)
    moved = [client.get(f"/api/runs/topk/stances/{stance}/whatif", params={"set": f"{f['latent']}:0"}).json()["index"]
             for f in d["sliders"]]
    assert any(abs(m - d["index"]) > 1e-3 for m in moved)
    th = d["toward_healthy"]
    assert th["index"] >= d["index"] - 1e-6
    shift = np.zeros_like(np.array(d["curves"]))
    for c in th["changes"]:
        shift += (c["to"] - c["from"]) * store.arrays["directions"][c["latent"]]
    assert np.allclose(np.array(th["curves"]), np.array(d["curves"]) + shift, atol=1e-4)


@pytest.mark.parametrize("query", ["set=abc", "set=1:nan", "set=999:1", "set=1:1e999", "other=1", "set=1:2;drop"])
def test_whatif_api__malformed_changes_are_400(client, query):
    r = client.get(f"/api/runs/topk/stances/0/whatif?{query}")
    assert r.status_code == 400, (query, r.text)


def test_course_page__a_run_without_patients_still_serves_its_pages(tiny_phantom_dir, tmp_path):
    from gaitsae.data import load_dataset
    from gaitsae.estimator import GaitSAE

    run = tmp_path / "healthy"
    GaitSAE(model="topk", k=4, n_latents=8, epochs=1, progress=False).fit(load_dataset(tiny_phantom_dir, cache=False),
                                                                          run_dir=run)
    store = open_store(run, progress=False)
    subject = store.stances["subject"].iloc[0]
    with TestClient(create_app([store])) as c:
        for url in ("/", f"/runs/healthy/subjects/{subject}", f"/runs/healthy/subjects/{subject}/course",
                    "/runs/healthy/stances/0"):
            assert c.get(url).status_code == 200
        d = c.get(f"/api/runs/healthy/subjects/{subject}/course").json()
        assert d["available"] and d["person"]["class_label"] == "HC"
        assert c.get("/api/runs/healthy/stances/0/whatif").json()["index"] is not None
