"""Slider redraw time of the explorer's what-if section and load time of a course page, in headless
Chromium (Debian's chromium + chromedriver) against `gaitsae serve`'s app on 127.0.0.1.

    python benchmarks/explorer_whatif.py RUN [--data DIR] [--drags 40] [--stances 5]

Per drag (Selenium moves the first slider of a patient's stance page by a random offset): the time
from the slider's input event until all five plots are restyled and the next frame is painted (the
page's own `data-update-ms`). Per course page (and, for comparison, the subject page): from the
navigation until the page's data-ready flag (its JSON fetched and plots drawn). Prints medians and p95 (targets: slider ≤ 100 ms,
course page ≤ 500 ms).
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--data")
    ap.add_argument("--drags", type=int, default=40)
    ap.add_argument("--stances", type=int, default=5)
    args = ap.parse_args()

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from gaitsae.explorer.app import create_app
    from gaitsae.explorer.clinical import clinic
    from gaitsae.explorer.store import open_store

    store = open_store(args.run, args.data, progress=False)
    store.sae()
    started = time.perf_counter()
    clinic(store)
    print(f"deviations of {store.n_stances} stances (once per served store): {time.perf_counter() - started:.1f} s")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app([store]), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}/runs/{store.name}"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,2000",
                 f"--user-data-dir={tempfile.mkdtemp()}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    rng = np.random.default_rng(0)
    patients = np.flatnonzero(store.stances["class_label"].ne("HC").to_numpy())
    ready = lambda d: d.find_element(By.ID, "page").get_attribute("data-ready") == "true"  # noqa: E731
    redraw = []
    try:
        for stance in rng.choice(patients, args.stances, replace=False):
            driver.get(f"{base}/stances/{stance}")
            WebDriverWait(driver, 60).until(ready)
            sliders = driver.find_elements(By.CSS_SELECTOR, "#whatif input[type=range]")
            if not sliders:
                continue
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", sliders[0])
            grid = driver.find_element(By.ID, "whatif-plots")
            for _ in range(args.drags // args.stances):
                n = int(grid.get_attribute("data-updates"))
                ActionChains(driver).click_and_hold(sliders[0]).move_by_offset(int(rng.integers(-80, 80)) or 5, 0) \
                    .release().perform()
                WebDriverWait(driver, 10).until(lambda d: int(grid.get_attribute("data-updates")) > n)
                redraw.append(float(grid.get_attribute("data-update-ms")))
        subjects = store.stances.loc[patients, "subject"].unique()
        loads, subject_loads = [], []
        for subject in rng.choice(subjects, min(10, len(subjects)), replace=False):
            for url, into in ((f"{base}/subjects/{subject}/course", loads), (f"{base}/subjects/{subject}", subject_loads)):
                t0 = time.perf_counter()
                driver.get(url)
                WebDriverWait(driver, 60).until(ready)
                into.append(1000 * (time.perf_counter() - t0))
    finally:
        driver.quit()
        srv.should_exit = True
    r = np.array(redraw)
    print(f"slider redraw: n {len(r)}, median {np.median(r):.1f} ms, p95 {np.percentile(r, 95):.1f} ms (target ≤ 100)")
    c = np.array(loads)
    print(f"course page until drawn (1 client): n {len(c)}, median {np.median(c):.0f} ms, "
          f"p95 {np.percentile(c, 95):.0f} ms (target ≤ 500 p99 at 8 clients: see benchmarks/explorer.py)")
    print(f"subject page until drawn, for comparison: median {np.median(subject_loads):.0f} ms, "
          f"p95 {np.percentile(subject_loads, 95):.0f} ms")


if __name__ == "__main__":
    main()
