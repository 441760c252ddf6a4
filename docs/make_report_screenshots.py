"""Screenshots of a report for the docs, taken in real headless Chromium (Debian's chromium and
chromedriver, nothing downloaded):

    python docs/make_report_screenshots.py gaitsae-demo/report.html docs/
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1300,1100"]
VIEWS = {"top": "", "shapes": "#topk-shapes", "top_stances": "#topk-top-stances", "card": "#topk-features"}  # anchors of a demo report


def main(report: str, out: str) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [*FLAGS, f"--user-data-dir={tempfile.mkdtemp()}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        for name, fragment in VIEWS.items():
            driver.get(Path(report).resolve().as_uri() + fragment)
            time.sleep(1.0)
            if name == "card":  # follow the first feature row's link to its card
                driver.find_element("css selector", "#topk-features table.features tbody a").click()
                time.sleep(0.5)
            driver.save_screenshot(str(Path(out) / f"report_{name}.png"))
    finally:
        driver.quit()


if __name__ == "__main__":
    main(*sys.argv[1:3])
