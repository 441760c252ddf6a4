"""The explorer's HTTP API against the real app (Starlette's ASGI test client), including hostile requests."""

from __future__ import annotations

import random
import urllib.parse
import warnings

import numpy as np
import pytest

from gaitsae.explorer.app import create_app
from gaitsae.explorer.retrieval import neighbours
from gaitsae.explorer.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def deviation_section(store, stance):
    """A stance-page hook like the clinical deviation profile would add."""
    return {"title": "test section", "rows": [{"stance": stance, "n_active": len(store.active(stance))}]}


@pytest.fixture(scope="module")
def stores(explorer_runs):
    return [open_store(explorer_runs["topk"], progress=False), open_store(explorer_runs["sae"], progress=False)]


@pytest.fixture(scope="module")
def client(stores):
    with TestClient(create_app(stores, stance_sections=[deviation_section])) as c:
        yield c


def test_pages__every_page_is_served_with_plotly_from_the_app(client, stores):
    subject = stores[0].stances["subject"].iloc[0]
    for url in ("/", "/runs/topk/features/3", "/runs/topk/stances/4", f"/runs/topk/subjects/{subject}",
                "/runs/sae/search"):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert '<script src="/static/plotly.min.js">' in r.text and "https://" not in r.text
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and "plotly.js" in js.text[:200]


def test_api_runs_and_features(client, stores):
    runs = client.get("/api/runs").json()["runs"]
    assert [r["name"] for r in runs] == ["topk", "sae"]
    assert runs[0]["synthetic"] is True and runs[0]["channels"][0] == {
        "name": "F_V", "unit": "BW", "colour": "#0072B2", "description": "vertical ground reaction force"}
    table = client.get("/api/runs/topk/features").json()["features"]
    assert len(table) == stores[0].n_latents
    assert table[2]["firing_rate"] == pytest.approx(stores[0].features["firing_rate"].iloc[2], rel=1e-5)


def test_api_feature__effect_histogram_examples_and_similar_features(client, stores):
    store = stores[0]
    j = int(store.features["firing_rate"].idxmax())
    d = client.get(f"/api/runs/topk/features/{j}").json()
    assert len(d["effect"]["mean"]) == len(store.channels) and len(d["effect"]["mean"][0]) == 101
    expected = store.arrays["mean"] + d["effect"]["typical_activation"] * store.arrays["directions"][j]
    np.testing.assert_allclose(d["effect"]["with_feature"], expected, rtol=1e-4, atol=1e-6)
    assert sum(d["histogram"]["counts"]) == d["histogram"]["n_active"] == (store.latents[:, j] > 0).sum()
    top = [t["value"] for t in d["top"]]
    assert top == sorted(top, reverse=True) and top[0] == pytest.approx(store.latents[:, j].max(), rel=1e-5)
    people = [t["subject"] for t in d["top"]]
    assert max(people.count(p) for p in people) <= d["per_subject"] == 2  # at most two stances of one person
    assert all("class" in t for t in d["top"])
    assert d["summary"]["name"] and "type" not in d["summary"]
    assert all(len(t["curve"]) == 101 for t in d["top"] + d["samples"])
    assert [g["run"] for g in d["similar"]] == ["topk", "sae"]
    assert j not in [f["latent"] for f in d["similar"][0]["features"]]


def test_api_stance__curves_norm_reconstruction_contributions_and_sections(client, stores):
    store = stores[0]
    d = client.get("/api/runs/topk/stances/7").json()
    np.testing.assert_allclose(d["curves"], store.curves[7], rtol=1e-5, atol=1e-6)
    recon = store.sae().inverse_transform(store.latents[7:8])[0]
    np.testing.assert_allclose(d["reconstruction"], recon, rtol=1e-4, atol=1e-5)
    assert [f["latent"] for f in d["features"]] == store.active(7).tolist()
    c = d["contributions"][0]
    expected = store.latents[7, c["latent"]] * store.arrays["directions"][c["latent"]]
    np.testing.assert_allclose(c["curves"], expected, rtol=1e-4, atol=1e-6)
    assert d["sections"] == [{"title": "test section", "rows": [{"stance": 7, "n_active": len(store.active(7))}]}]
    assert d["norm"]["reference"] == stores[0].meta["reference"]


def test_api_akin__same_results_as_python(client, stores):
    d = client.get("/api/runs/topk/stances/11/akin?k=6&leave_out=subject").json()
    expected = neighbours(stores[0], 11, k=6, leave_out="subject")
    assert [n["stance"] for n in d["neighbours"]] == expected["stance"].tolist()
    assert [n["shared_features"] for n in d["neighbours"]] == expected["shared_features"].tolist()


def test_api_subject_and_search(client, stores):
    store = stores[0]
    subject = store.stances["subject"].iloc[-1]
    d = client.get(f"/api/runs/topk/subjects/{subject}").json()
    rows = store.stances[store.stances["subject"] == subject]
    assert len(d["stances"]) == len(rows) and set(d["sides"]) == set(rows["side"])
    d = client.get("/api/runs/topk/search", params={"sex": "female", "age_min": "30", "side": "left"}).json()
    s = store.stances
    expected = s[(s["sex"] == "female") & (s["age_years"] >= 30) & (s["side"] == "left")]
    assert d["total"] == len(expected) and [r["stance"] for r in d["stances"]] == expected["stance"].tolist()[:100]
    j = int(store.features["firing_rate"].idxmax())
    x = float(np.quantile(store.latents[:, j], 0.8))
    d = client.get("/api/runs/topk/search", params={"feature": j, "above": x, "limit": 1000}).json()
    assert d["total"] == int((store.latents[:, j] > x).sum()) and all(r["activation"] > x for r in d["stances"])


# Values that must never be accepted anywhere (injection, traversal, markup, huge, control bytes).
ALWAYS_REFUSED = [
    "' OR 1=1 --", "1; DROP TABLE stances", "1 UNION SELECT * FROM latents", "\" OR \"\"=\"", "%00", "\x00",
    "../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "....//....//etc/passwd",
    "<script>alert(1)</script>", "${7*7}", "{{7*7}}", "A" * 5000, "☃",
]
# Values that are wrong for IDs, k and numbers but may be a valid search text (a subject "inf" finds nothing).
WRONG_TYPE = ["1e309", "nan", "inf", "-inf", "99999999999999999999", "-1", "999999999", "abc", " ", "3.5", "0x10", "--1", ""]


def hostile_requests(rng):
    q = urllib.parse.quote
    for v in ALWAYS_REFUSED + WRONG_TYPE:
        refused = v in ALWAYS_REFUSED
        given = v != ""  # an empty path part is another URL (…/features/ → …/features), an empty k the default
        yield f"/api/runs/topk/stances/{q(v, safe='')}", given
        yield f"/api/runs/topk/features/{q(v, safe='')}", given
        yield f"/api/runs/{q(v, safe='')}/features", given
        yield f"/api/runs/topk/subjects/{q(v, safe='')}", given
        yield f"/api/runs/topk/stances/3/akin?k={q(v)}", given
        yield f"/api/runs/topk/stances/3/akin?leave_out={q(v)}", given
        for name in rng.sample(["subject", "session", "trial", "side", "sex", "class", "age_min", "speed_max",
                                "feature", "limit"], 3):
            yield f"/api/runs/topk/search?{name}={q(v)}", refused
        yield f"/static/{q(v, safe='')}", given
        yield f"/runs/topk/stances/{q(v, safe='')}", given
    yield "/static/../../etc/passwd", True
    yield "/api/runs/topk/search?" + "&".join(f"x{i}=1" for i in range(50)), True


def test_hostile_requests__4xx_json_never_500_or_a_file_and_the_server_still_answers(client, stores):
    requests = list(hostile_requests(random.Random(0)))
    assert 250 <= len(requests) <= 400
    for url, must_refuse in requests:
        r = client.get(url)
        assert r.status_code < 500 and "root:" not in r.text, url
        if must_refuse:
            assert 400 <= r.status_code < 500, (url, r.status_code)
            if url.startswith("/api/"):
                assert "error" in r.json(), url
        elif r.status_code == 200 and "/search?" in url:
            assert r.json()["total"] <= stores[0].n_stances
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/api/runs").status_code == 405
    assert client.get("/api/runs/topk/stances/3/akin?k=5").json()["neighbours"][0]["stance"] == \
        int(neighbours(stores[0], 3, k=5)["stance"].iloc[0])
    assert client.get("/api/runs").status_code == 200


@pytest.mark.parametrize("url, status, message", [
    ("/api/runs/topk/stances/100000", 404, "stance must be from 0"),
    ("/api/runs/topk/stances/%D9%A3", 400, "stance must be an integer"),  # Arabic-Indic 3: ASCII digits only
    ("/api/runs/topk/features/%EF%BC%93", 400, "feature must be an integer"),  # fullwidth 3
    ("/api/runs/topk/features/16", 404, "feature must be from 0 to 15"),
    ("/api/runs/nope/features", 404, "unknown run 'nope'"),
    ("/api/runs/topk/subjects/gutenberg:999", 404, "unknown subject"),
    ("/api/runs/topk/stances/1/akin?k=0", 400, "k must be from 1 to 500"),
    ("/api/runs/topk/stances/1/akin?k=501", 400, "k must be from 1 to 500"),
    ("/api/runs/topk/stances/1/akin?k=ten", 400, "k must be an integer"),
    ("/api/runs/topk/search?subject=%27%3B%20DROP%20TABLE%20stances%3B--", 400, "subject: up to 100"),
    ("/api/runs/topk/search?age_min=old", 400, "age_min must be a finite number"),
    ("/api/runs/topk/search?where=1", 400, "unknown search parameter"),
])
def test_bad_input__json_message_naming_the_parameter(client, url, status, message):
    r = client.get(url)
    assert r.status_code == status and message in r.json()["error"]


def test_search__class_by_code_or_shown_name(client, stores):
    s = stores[0].stances
    expected = s[s["class_label"] == "HC"]["stance"].tolist()
    assert expected and set(s.loc[s["class_label"] == "HC", "class"]) == {"healthy control"}
    for value in ("HC", "healthy control", "Healthy Control"):
        d = client.get("/api/runs/topk/search", params={"class": value, "limit": 1000}).json()
        assert [r["stance"] for r in d["stances"]] == expected, value


def test_search__filter_on_a_missing_column_or_an_unknown_class_is_a_one_line_message(client, stores):
    from gaitsae.errors import GaitsaeError
    from gaitsae.explorer import payloads

    store = stores[0]
    saved = store.stances
    store.stances = saved.drop(columns=["walking_speed_m_per_s"], errors="ignore")
    try:
        with pytest.raises(GaitsaeError, match="speed_min: this data has no walking_speed_m_per_s column"):
            payloads.search(store, {"speed_min": 0.0}, None, 10)
    finally:
        store.stances = saved
    r = client.get("/api/runs/topk/search", params={"class": "HCX"})
    assert r.status_code == 400 and "\n" not in r.json()["error"]
    assert r.json()["error"].startswith("class 'HCX' is not in this data; its classes: ") and "HC (healthy control)" in r.json()["error"]


def test_search__sorted_by_activation_when_a_feature_is_filtered_and_csv_download(client, stores):
    import io

    import pandas as pd

    store = stores[0]
    j = int(store.features["firing_rate"].idxmax())
    d = client.get("/api/runs/topk/search", params={"feature": j, "above": 0, "limit": 50}).json()
    shown = [r["activation"] for r in d["stances"]]
    assert shown == sorted(shown, reverse=True) and shown[0] == pytest.approx(store.latents[:, j].max(), rel=1e-5)
    r = client.get("/api/runs/topk/search.csv", params={"feature": j, "above": 0})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="search-topk.csv"' in r.headers["content-disposition"]
    table = pd.read_csv(io.StringIO(r.text))
    assert len(table) == d["total"] == int((store.latents[:, j] > 0).sum())  # every match, not a page of them
    assert table["stance"].tolist()[:50] == [s["stance"] for s in d["stances"]]
    r = client.get("/api/runs/topk/search.csv", params={"class": "HCX"})
    assert r.status_code == 400 and "is not in this data" in r.json()["error"]


def test_unknown_ids__an_html_page_in_the_browser_and_json_when_asked(client):
    page = client.get("/runs/topk/features/99", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "feature must be from 0 to 15, got 99" in page.text and "<h1>Not found</h1>" in page.text
    asked = client.get("/runs/topk/features/99", headers={"accept": "application/json"})
    assert asked.status_code == 404 and "feature must be from 0" in asked.json()["error"]
    api = client.get("/api/runs/topk/features/99", headers={"accept": "text/html"})
    assert api.status_code == 404 and "feature must be from 0" in api.json()["error"]
    assert client.get("/no/such/page").headers["content-type"].startswith("text/html")


def test_search__negative_above_returns_inactive_stances(client, stores):
    store = stores[0]
    j = int(store.features["firing_rate"].idxmin())
    inactive = int((np.abs(store.latents[:, j]) <= store.threshold).sum())
    assert inactive > 0
    d = client.get("/api/runs/topk/search", params={"feature": j, "above": -1e-9, "limit": 1000}).json()
    assert d["total"] == int((store.latents[:, j] > -1e-9).sum()) >= inactive
