"""Screenshots of a report (and optionally of the explorer) for the docs, taken in real headless
Chromium at 1,280 px wide (Debian's chromium and chromedriver, nothing downloaded):

    python docs/make_report_screenshots.py gaitsae-demo/report.html docs/ [http://127.0.0.1:8765 RUN FEATURE]

Report: its top (the answer and what to try next) and a feature card. Explorer (when its URL is
given, with a served run and one of its features): that feature's page and a search filtered on
the feature. Every view is checked for horizontal overflow: no table may reach past the window's
right edge (each table's right edge and every scrolling box's content are measured); the script
prints what it measured and exits 1 when something overflows.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

WIDTH = 1280
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--window-size={WIDTH},1000"]
# What overflows: a table whose right edge passes the viewport, or a box whose content is wider than it.
OVERFLOW = """
const width = document.documentElement.clientWidth;
const tables = Array.from(document.querySelectorAll("table")).filter(t => t.offsetParent !== null);
const wide = tables.filter(t => t.getBoundingClientRect().right > width + 1)
  .map(t => (t.id || t.className || t.tagName) + " " + Math.round(t.getBoundingClientRect().right));
const boxes = Array.from(document.querySelectorAll(".wide, figure")).filter(b => b.offsetParent !== null)
  .filter(b => b.querySelector("table") && b.scrollWidth > b.clientWidth + 1).map(b => b.id || b.className);
return JSON.stringify({page: document.documentElement.scrollWidth, width: width, tables: tables.length,
                       overflowing: wide.concat(boxes)});
"""


def overflow(driver) -> dict:
    return json.loads(driver.execute_script(OVERFLOW))


def shoot(driver, path: Path, height: int = 1000) -> dict:
    driver.set_window_size(WIDTH, height)
    time.sleep(0.5)
    found = overflow(driver)
    driver.save_screenshot(str(path))
    print(f"{path.name}: {found}")
    return found


def report_views(driver, report: str, out: Path) -> list[dict]:
    uri = Path(report).resolve().as_uri()
    driver.get(uri)
    time.sleep(1.0)
    found = [shoot(driver, out / "report_top.png", 1100)]
    run = driver.find_element("css selector", "table.features").find_element("xpath", "./ancestor::details").get_attribute("id")
    row = driver.find_element("css selector", f"#{run} table.features tbody a")
    driver.get(uri + "#" + row.get_attribute("href").split("#", 1)[1])
    time.sleep(1.0)
    found.append(shoot(driver, out / "report_card.png", 700))
    driver.get(uri)  # every section open: no table of the whole report may overflow
    driver.execute_script('document.querySelectorAll("details").forEach(d => d.open = true)')
    time.sleep(0.5)
    whole = overflow(driver)
    print(f"report, every section open: {whole}")
    return found + [whole]


def explorer_views(driver, base: str, run: str, feature: str, out: Path) -> list[dict]:
    found = []
    for name, url in (("feature", f"{base}/runs/{run}/features/{feature}"),
                      ("search", f"{base}/runs/{run}/search?feature={feature}&above=0")):
        driver.get(url)
        for _ in range(120):
            if driver.find_element("id", "page").get_attribute("data-ready") == "true":
                break
            time.sleep(0.25)
        time.sleep(1.0)
        height = driver.execute_script("return document.body.scrollHeight")
        found.append(shoot(driver, out / f"explorer_{name}.png", min(max(height, 900), 2400)))
    return found


def main(report: str, out: str, base: str | None = None, run: str = "topk", feature: str = "0") -> int:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [*FLAGS, f"--user-data-dir={tempfile.mkdtemp()}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        found = report_views(driver, report, Path(out))
        if base:
            found += explorer_views(driver, base.rstrip("/"), run, feature, Path(out))
    finally:
        driver.quit()
    return 1 if any(f["overflowing"] or f["page"] > f["width"] for f in found) else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
