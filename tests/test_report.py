"""End to end: `gaitsae demo` on a tiny phantom, then the report in a real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from gaitsae.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message || e.type)); }, true);
</script>"""
CHECK = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length;
  document.body.setAttribute("data-check", JSON.stringify({images: imgs.length, broken: broken, errors: window.__errors}));
});
</script>"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--subjects", "14", "--epochs", "3", "--models", "topk,sae"]) == 0
    return out


@pytest.mark.slow
def test_demo__writes_report_analyses_and_comparison(demo):
    comparison = json.loads((demo / "comparison.json").read_text())
    assert comparison["synthetic"] is True
    assert [r["model"] for r in comparison["runs"]] == ["topk", "sae"]
    for model in ("topk", "sae"):
        analysis = json.loads((demo / "runs" / model / "analysis.json").read_text())
        for key in ("activations", "directions", "top_strides", "metadata", "tsne", "clusters", "importance",
                    "probes", "ground_truth"):
            assert key in analysis, key
    html = (demo / "report.html").read_text()
    assert "SYNTHETIC phantom data" in html
    assert "http://" not in html and "https://" not in html  # opens with no network
    assert (demo / "report.html").stat().st_size < 5_000_000


@pytest.mark.slow
def test_analyze__feature_card_and_bad_feature(demo, capsys):
    assert main(["analyze", str(demo / "runs" / "sae"), "--out", str(demo / "one"), "--feature", "7"]) == 0
    assert (demo / "one" / "feature_7.html").is_file() and (demo / "one" / "report.html").is_file()
    assert main(["analyze", str(demo / "runs" / "sae"), "--out", str(demo / "bad"), "--feature", "400"]) == 2
    assert "--feature 400: the model has features 0 … 99" in capsys.readouterr().err


@pytest.mark.slow
def test_report__every_figure_renders_in_chromium_without_console_errors(demo, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    html = (demo / "report.html").read_text()
    probed = tmp_path / "report.html"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1).replace("</body>", CHECK + "</body>", 1))
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120)
    match = re.search(r'data-check="([^"]*)"', proc.stdout)
    assert match, proc.stderr[-2000:]
    check = json.loads(match.group(1).replace("&quot;", '"'))
    assert check["images"] >= 20
    assert check["broken"] == 0
    assert check["errors"] == []
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line and "report.html" in line]
    assert console == []
