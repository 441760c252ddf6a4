"""The explorer in real headless Chromium (Debian's chromium + chromedriver, driven by Selenium) against
uvicorn on 127.0.0.1: overview → feature → stance → akin gait → subject, plots drawn, no console errors.

Screenshots for docs/explorer.md are written only on request:
    GAITSAE_SCREENSHOTS=docs [GAITSAE_EXPLORER_RUNS=runA:runB] pytest tests/test_explorer_browser.py
(with GAITSAE_EXPLORER_RUNS the tour runs over those runs instead of the tiny test runs).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from gaitsae.explorer.app import create_app
from gaitsae.explorer.store import open_store

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1400,2000"]
SHOTS = os.environ.get("GAITSAE_SCREENSHOTS")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _activation_bars(store, stance):
    active = store.active(stance)
    return {"title": "activations (extra section)", "note": "from a stance_sections hook",
            "bars": {"labels": [f"feature {j}" for j in active], "values": store.latents[stance, active].tolist()}}


@pytest.fixture(scope="module")
def server(explorer_runs):
    import uvicorn

    runs = os.environ.get("GAITSAE_EXPLORER_RUNS")
    # the tiny test runs also exercise the stance page's extra-section hook (a bar chart)
    sections = [] if runs else [_activation_bars]
    runs = runs.split(":") if runs else [explorer_runs["topk"], explorer_runs["sae"]]
    app = create_app([open_store(r, progress=False) for r in runs], stance_sections=sections)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", Path(runs[0]).name
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
                    ".ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(driver, url=None, click=None):
    """Load a page (by URL or by clicking a link) and wait until explorer.js has filled it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if url:
        driver.get(url)
    else:
        driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", click)
    WebDriverWait(driver, 60).until(
        lambda d: d.find_element(By.ID, "page").get_attribute("data-ready") == "true")
    return driver.find_element(By.ID, "page")


def _check(driver, page, name: str, min_plots: int) -> None:
    from selenium.webdriver.common.by import By

    assert not page.find_elements(By.CLASS_NAME, "warn") or "SYNTHETIC" in page.find_element(By.CLASS_NAME, "warn").text
    plots = page.find_elements(By.CSS_SELECTOR, "div.js-plotly-plot")
    drawn = [p for p in plots if p.find_elements(By.CSS_SELECTOR, "svg.main-svg")]
    assert len(drawn) >= min_plots and len(drawn) == len(plots), (name, len(plots), len(drawn))
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], (name, errors)
    if SHOTS:
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1400, min(max(height, 900), 3200))
        driver.save_screenshot(str(Path(SHOTS) / f"explorer_{name}.png"))
        driver.set_window_size(1400, 2000)


def test_browser__overview_feature_stance_akin_subject(server, browser):
    from selenium.webdriver.common.by import By

    base, run = server
    page = _open(browser, base + "/")
    _check(browser, page, "overview", 0)
    rows = page.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) >= 16
    # sort by firing rate (twice: descending) and open the most frequent feature
    header = [h for h in page.find_elements(By.TAG_NAME, "th") if h.text == "firing share"][0]
    header.click()
    header.click()
    link = page.find_element(By.CSS_SELECTOR, "tbody tr td a")
    latent = link.text
    page = _open(browser, click=link)
    assert browser.current_url.endswith(f"/runs/{run}/features/{latent}")
    _check(browser, page, "feature", 5)
    cards = page.find_elements(By.CSS_SELECTOR, "a.card")
    assert cards
    page = _open(browser, click=cards[0])
    assert "/stances/" in browser.current_url
    _check(browser, page, "stance", 8)
    assert "activations (extra section)" in page.text or os.environ.get("GAITSAE_EXPLORER_RUNS")
    akin = page.find_element(By.ID, "akin").find_elements(By.CSS_SELECTOR, "tbody tr td:first-child a")
    assert len(akin) == 10
    # leave out the same subject: the akin table is redrawn from the API
    subject = page.find_element(By.CSS_SELECTOR, "p a").text
    page.find_element(By.ID, "akin-leave-subject").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "akin").get_attribute("data-leave-out") == "subject")
    others = [r.text for r in page.find_elements(By.CSS_SELECTOR, "#akin tbody tr td:nth-child(2)")]
    assert len(others) == 10 and subject not in others
    first = page.find_element(By.ID, "akin").find_element(By.CSS_SELECTOR, "tbody tr td:first-child a")
    target = first.text
    page = _open(browser, click=first)
    assert browser.current_url.endswith(f"/stances/{target}")
    _check(browser, page, "akin", 8)
    page = _open(browser, click=page.find_element(By.CSS_SELECTOR, "p a"))
    assert "/subjects/" in browser.current_url
    _check(browser, page, "subject", 5)
    page = _open(browser, base + f"/runs/{run}/search?sex=female&age_min=20&feature={latent}&above=0")
    results = page.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    assert results and "stances match" in page.text
    _check(browser, page, "search", 0)


def test_browser__unknown_stance_shows_the_message(server, browser):
    base, run = server
    browser.get(base + f"/runs/{run}/stances/999999999")
    assert "stance must be from 0" in browser.find_element("tag name", "body").text
    assert "<h1>Not found</h1>" in browser.page_source  # a page, not raw JSON
    browser.get_log("browser")  # the 404 is expected here; clear it


def test_browser__feature_and_search_pages_fit_1280_px_and_search_offers_csv(server, browser):
    """At 1,280 px no table of the feature or search page reaches past the right edge; the search
    filtered on a feature lists the strongest activation first and links its CSV download."""
    from selenium.webdriver.common.by import By

    base, run = server
    browser.set_window_size(1280, 1000)
    try:
        for url in (f"/runs/{run}/features/0", f"/runs/{run}/search?feature=0&above=0"):
            page = _open(browser, base + url)
            width, over = browser.execute_script("""
              const w = document.documentElement.clientWidth;
              return [w, Array.from(document.querySelectorAll("table")).filter(t => t.getBoundingClientRect().right > w + 1)
                .map(t => t.getBoundingClientRect().right).concat(document.documentElement.scrollWidth > w ? ["page"] : [])];""")
            assert width <= 1280 and over == [], (url, width, over)
        link = page.find_element(By.ID, "csv-download")
        assert link.get_attribute("href").endswith(f"/api/runs/{run}/search.csv?feature=0&above=0")
        values = [float(td.text) for td in page.find_elements(By.CSS_SELECTOR, "#results tbody tr td:last-child")]
        assert values and values == sorted(values, reverse=True) and "strongest activation" in page.text
    finally:
        browser.set_window_size(1400, 2000)



def test_browser__plot_toolbar_leaves_panel_titles_free(server, browser):
    """The plot toolbar (shown on hover) never covers a panel's title."""
    base, run = server
    page = _open(browser, base + f"/runs/{run}/stances/3")
    overlaps = browser.execute_script("""
      const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      const out = [];
      for (const plot of document.querySelectorAll("div.js-plotly-plot")) {
        const bar = plot.querySelector(".modebar"), title = plot.querySelector(".gtitle");
        if (!bar || !title) continue;
        if (hit(bar.getBoundingClientRect(), title.getBoundingClientRect())) out.push(title.textContent);
      }
      return [out, document.querySelectorAll("div.js-plotly-plot .gtitle").length,
              document.querySelectorAll("div.js-plotly-plot .modebar").length];""")
    assert overlaps[1] > 0 and overlaps[2] > 0 and overlaps[0] == [], overlaps
    _check(browser, page, "stance-toolbar", 1)
