"""The course page and the what-if sliders in real headless Chromium (the fixtures of
test_explorer_browser.py): a slider dragged redraws the curves in the browser, the index follows,
"Toward healthy" draws the counterfactual; the course page draws its plots. Update times are printed
(run with -s), not asserted: timings belong to benchmarks (HELPERS.md)."""

from __future__ import annotations

import os

import pytest

from tests.test_explorer_browser import _check, _open, browser, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def _store(explorer_runs):
    from gaitsae.explorer.store import open_store

    return open_store(os.environ.get("GAITSAE_EXPLORER_RUNS", "").split(":")[0] or explorer_runs["topk"],
                      progress=False)


def test_browser__dragging_a_slider_redraws_the_curves_and_the_index(server, browser, explorer_runs):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, run = server
    store = _store(explorer_runs)
    import numpy as np

    stance = int(np.flatnonzero(store.stances["class_label"].ne("HC").to_numpy())[0])
    page = _open(browser, base + f"/runs/{run}/stances/{stance}")
    sliders = page.find_elements(By.CSS_SELECTOR, "#whatif input[type=range]")
    assert len(sliders) == len(store.active(stance))
    first_y = "return document.querySelector('#whatif-plots div.js-plotly-plot').data[1].y.slice();"
    before = browser.execute_script(first_y)
    slider = sliders[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
    times = []
    for offset in (60, -30, 45, -80, 25):
        n = int(browser.find_element(By.ID, "whatif-plots").get_attribute("data-updates"))
        ActionChains(browser).click_and_hold(slider).move_by_offset(offset, 0).release().perform()
        WebDriverWait(browser, 10).until(
            lambda d: int(d.find_element(By.ID, "whatif-plots").get_attribute("data-updates")) > n)
        times.append(float(browser.find_element(By.ID, "whatif-plots").get_attribute("data-update-ms")))
    after = browser.execute_script(first_y)
    assert len(after) == 101 and max(abs(a - b) for a, b in zip(after, before)) > 0
    # the page's curve is the recorded one plus (slider − activation) × the feature's direction
    latent = int(slider.get_attribute("data-latent"))
    value = float(slider.get_attribute("value"))
    expected = (np.asarray(store.curves[stance, 0], dtype=float)
                + (value - store.latents[stance, latent]) * store.arrays["directions"][latent, 0])
    assert np.allclose(after, expected, atol=1e-4)
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "whatif-index").get_attribute("data-set"))
    assert "with your changes" in browser.find_element(By.ID, "whatif-index").text
    print(f"\nslider redraw (input → 5 plots restyled and painted), ms: {', '.join(f'{t:.1f}' for t in times)}")
    browser.find_element(By.ID, "toward-healthy").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "toward-healthy-result").text)
    assert "toward healthy: index" in browser.find_element(By.ID, "toward-healthy-result").text
    visible = browser.execute_script(
        "return [...document.querySelectorAll('#whatif-plots div.js-plotly-plot')].map(p => p.data[2].visible);")
    assert visible and all(v is True for v in visible)
    _check(browser, page, "whatif", 10)


def test_browser__course_page_draws_the_index_over_sessions(server, browser, explorer_runs):
    from selenium.webdriver.common.by import By

    base, run = server
    store = _store(explorer_runs)
    st = store.stances
    subject = st[st["class_label"].ne("HC")].groupby("subject")["session"].nunique().idxmax()
    page = _open(browser, base + f"/runs/{run}/subjects/{subject}")
    page = _open(browser, click=page.find_element(By.ID, "course-link"))
    from urllib.parse import unquote

    assert unquote(browser.current_url).endswith(f"/subjects/{subject}/course")
    _check(browser, page, "course", 2)
    rows = page.find_elements(By.CSS_SELECTOR, "section table tbody tr")
    assert len(rows) == st.loc[st["subject"].eq(subject), "session"].nunique()
    timing = browser.execute_script(
        "const t = performance.getEntriesByType('navigation')[0]; return [t.responseEnd, t.loadEventEnd];")
    print(f"\ncourse page: HTML at {timing[0]:.0f} ms, load event at {timing[1]:.0f} ms")
