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
  var target = document.getElementById(location.hash.slice(1));
  var open = true;
  for (var e = target; e; e = e.parentElement) if (e.tagName === "DETAILS" && !e.open) open = false;
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });  // measure every figure
  var figures = document.querySelectorAll("figure > svg");
  var sizes = Array.prototype.map.call(document.querySelectorAll("figure > svg text, .card svg text"), function (t) {
    var m = t.getScreenCTM();  // rendered font size in CSS px (rotation-free scale)
    return parseFloat(getComputedStyle(t).fontSize) * Math.sqrt(m.a * m.a + m.b * m.b);
  });
  var links = Array.prototype.map.call(document.querySelectorAll('a[href^="#"]'), function (a) { return a.getAttribute("href").slice(1); });
  var missing = links.filter(function (id) { return !document.getElementById(id); });
  var row = document.querySelector("table.features tbody a");
  var card = document.getElementById(row.getAttribute("href").slice(1));
  document.body.setAttribute("data-check", JSON.stringify({
    images: imgs.length, broken: broken, figures: figures.length, texts: sizes.length,
    feature_rows: document.querySelectorAll("table.features tbody tr").length,
    min_font_px: Math.min.apply(null, sizes), links: links.length, missing: missing,
    row_card_plots: card.querySelectorAll(".plots svg").length,
    target_plots: target ? target.querySelectorAll(".plots svg").length : -1, target_open: open,
    errors: window.__errors}));
});
</script>"""
MIN_FONT_PX = 11.5  # 9 pt figure text shown at natural size is 12 CSS px


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
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # opens with no network
    assert isinstance(comparison["runs"][0]["fvu"], float)  # numbers, not formatted strings
    assert comparison["runs"][0]["run"] == "topk"
    assert (demo / "report.html").stat().st_size < 5_000_000


@pytest.mark.slow
def test_analyze__feature_card_and_bad_feature(demo, capsys):
    assert main(["analyze", str(demo / "runs" / "sae"), "--out", str(demo / "one"), "--feature", "7"]) == 0
    assert (demo / "one" / "feature_7.html").is_file() and (demo / "one" / "report.html").is_file()
    assert main(["analyze", str(demo / "runs" / "sae"), "--out", str(demo / "bad"), "--feature", "400"]) == 2
    assert "--feature 400: the model has features 0 … 99" in capsys.readouterr().err


WIDTH_CHECK = """<script>
window.addEventListener("load", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });  // every table shown
  var width = document.documentElement.clientWidth;
  var tables = Array.prototype.filter.call(document.querySelectorAll("table"), function (t) { return t.offsetParent; });
  var over = tables.filter(function (t) { return t.getBoundingClientRect().right > width + 1; })
    .map(function (t) { return (t.id || t.className || "table") + " " + Math.round(t.getBoundingClientRect().right); });
  var boxes = Array.prototype.filter.call(document.querySelectorAll(".wide"), function (b) {
    return b.offsetParent && b.scrollWidth > b.clientWidth + 1; }).map(function (b) { return b.innerHTML.slice(0, 80); });
  var untitled = Array.prototype.filter.call(document.querySelectorAll("#comparison ~ * th, #comparison-table th"),
    function (th) { return !th.getAttribute("title"); }).length;
  document.body.setAttribute("data-width", JSON.stringify({width: width, page: document.documentElement.scrollWidth,
    tables: tables.length, over: over.concat(boxes), untitled_comparison_headers: untitled}));
});
</script>"""


@pytest.mark.slow
def test_report__no_table_overflows_at_1280_px_in_chromium(demo, tmp_path):
    """At a 1,280 px window, with every folded section open, no table reaches past the right edge
    (the comparison table is grouped, the rest folded into a second table) and every comparison
    header has a tooltip."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    probed = tmp_path / "report.html"
    probed.write_text((demo / "report.html").read_text().replace("</body>", WIDTH_CHECK + "</body>", 1))
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1000",
         "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120)
    match = re.search(r'data-width="([^"]*)"', proc.stdout)
    assert match, proc.stderr[-2000:]
    check = json.loads(match.group(1).replace("&quot;", '"'))
    assert check["tables"] >= 8 and check["width"] <= 1280
    assert check["over"] == [] and check["page"] <= check["width"], check
    assert check["untitled_comparison_headers"] == 0


@pytest.mark.slow
def test_report__figures_legible_and_navigation_works_in_chromium(demo, tmp_path):
    """Opened in real headless Chromium at a card's anchor: every figure renders, all figure
    text is at least MIN_FONT_PX at the size shown, every in-page link resolves, a feature row
    leads to a drawn card, and the console stays clean."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    html = (demo / "report.html").read_text()
    probed = tmp_path / "report.html"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1).replace("</body>", CHECK + "</body>", 1))
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--window-size=1400,1000", "--virtual-time-budget=10000", "--dump-dom", probed.as_uri() + "#sae-f7"],
        capture_output=True, text=True, timeout=120)
    match = re.search(r'data-check="([^"]*)"', proc.stdout)
    assert match, proc.stderr[-2000:]
    check = json.loads(match.group(1).replace("&quot;", '"'))
    assert check["figures"] >= 20 and check["broken"] == 0
    assert check["texts"] > 500 and check["min_font_px"] >= MIN_FONT_PX, check["min_font_px"]
    assert check["feature_rows"] > 0 and check["links"] > check["feature_rows"] and check["missing"] == []
    assert check["row_card_plots"] == 10  # per channel: on the mean stance, and the change alone
    assert check["target_plots"] == 10 and check["target_open"]
    assert check["errors"] == []
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line and "report.html" in line]
    assert console == []


@pytest.mark.slow
def test_demo_and_compare__reuse_finished_runs_and_current_analyses(demo, capsys):
    runs = [demo / "runs" / m for m in ("topk", "sae")]
    models = [(r / "model.safetensors").stat().st_mtime_ns for r in runs]
    capsys.readouterr()
    # --overwrite: other tests wrote report folders into the demo's directory
    assert main(["demo", "--out", str(demo), "--subjects", "14", "--epochs", "3", "--models", "topk,sae",
                 "--overwrite"]) == 0
    assert capsys.readouterr().out.count("reusing the finished run") == 2
    assert [(r / "model.safetensors").stat().st_mtime_ns for r in runs] == models
    analyses = [(r / "analysis.json").stat().st_mtime_ns for r in runs]  # current after the demo
    assert main(["compare", *map(str, runs), "--out", str(demo / "again")]) == 0
    assert [(r / "analysis.json").stat().st_mtime_ns for r in runs] == analyses
    assert main(["compare", str(runs[0]), "--out", str(demo / "forced"), "--force"]) == 0
    assert (runs[0] / "analysis.json").stat().st_mtime_ns != analyses[0]
