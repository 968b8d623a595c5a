"""First useful paint of every method page: from navigation until the page's figures hold data.

Starts ``python app.py`` on a loopback port with an empty cache of its own
(the demo's precomputed results are read from the demo folder), opens each
page in headless Chromium (Debian's ``/usr/bin/chromium``) three times in a
fresh browser context, and reports the median seconds until every listed
figure holds data (:data:`tests.browser.test_instant_pages.PAGES`). The
reference is the home page's load in the same run (navigation until its
cards are drawn), so ``ratio`` says how many home-page loads a method page
costs; the goal is at most 1.5 s.

``PERTURBSCOPE_BENCH_PAGES=/gene,/genes`` measures only the pages whose path
starts with one of these (the home-page reference is always measured).
``PERTURBSCOPE_BENCH_DATASET=<id>`` adds a registered modifier-gene dataset's
gene page (``PERTURBSCOPE_REGISTRY_DIR`` must name its registry; build its
atlas first): a full-scale DepMap release's page is measured that way.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import measurement, register

CHROMIUM = "/usr/bin/chromium"
REPEAT = 3
#: Pages whose words come before their figures: seconds until this element holds text (the gene card's
#: four sections and the published result are drawn with the page; its four-panel figure follows).
TEXT_PAGES = {"/gene?gene=RPP25L": "#gene-published", "/gene?gene=RPP25": "#gene-published"}
HAS_TEXT = "selector => { const e = document.querySelector(selector); return e && e.innerText.length > 0; }"


def _seconds_until(browser, url: str, script: str, arg) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(script, arg=arg, timeout=120_000, polling=50)
    seconds = time.perf_counter() - start
    context.close()
    return seconds


@register("first_paint")
def bench_first_paint():
    from playwright.sync_api import sync_playwright

    from tests.browser.test_instant_pages import HOLDS_DATA, PAGES
    from tests.server import running_server

    pages = dict(PAGES)
    only = [p for p in os.environ.get("PERTURBSCOPE_BENCH_PAGES", "").split(",") if p]
    if only:
        pages = {path: cards for path, cards in pages.items() if path.split("?")[0] in only}
    source = os.environ.get("PERTURBSCOPE_BENCH_DATASET")
    if source:
        pages[f"/essentiality?data={source}"] = ["ess-venn", "ess-predicted", "ess-rmse", "ess-mod-effect"]
    with tempfile.TemporaryDirectory() as cache, running_server(Path(cache), Path(cache) / "server.log") as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        home = "() => document.querySelectorAll('.card').length > 0"
        _seconds_until(browser, url + "/", home, None)  # warm the server's imports and the page bundles
        reference = statistics.median(_seconds_until(browser, url + "/", home, None) for _ in range(REPEAT))
        for path, cards in pages.items():
            times = [_seconds_until(browser, url + path, HOLDS_DATA, cards) for _ in range(REPEAT)]
            name = "first_paint_" + path.strip("/").split("?")[0].replace("/", "_") + (
                "_registered" if "data=" in path else "")
            yield measurement(name, statistics.median(times), "s", reference)
            yield measurement(name + "_first_visit", times[0], "s", reference)
        for path, selector in TEXT_PAGES.items():
            if only and path.split("?")[0] not in only:
                continue
            times = [_seconds_until(browser, url + path, HAS_TEXT, selector) for _ in range(REPEAT)]
            name = "first_text_" + path.strip("/").replace("?gene=", "_")
            yield measurement(name, statistics.median(times), "s", reference)
            yield measurement(name + "_first_visit", times[0], "s", reference)
        browser.close()
