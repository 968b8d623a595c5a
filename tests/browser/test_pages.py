"""Every page in a real headless Chromium: renders, no console errors, jobs, exports."""

from __future__ import annotations

import re
import struct

import pandas as pd
import pytest

from dashboard.export import read_png_text
from tests.browser.conftest import follow_nav_with_gene, screenshot, search_gene

pytestmark = pytest.mark.browser

PAGES = [
    ("/", "home", 0),
    ("/essentiality?gene=RPP25L", "essentiality", 1),
    ("/decode", "decode", 1),
    ("/dko", "dko", 1),
    ("/perturbation", "perturbation", 1),
]


def wait_for_graphs(page, n: int) -> None:
    """Wait until at least n plotly graphs have drawn data."""
    if n:
        page.wait_for_function(
            "n => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(g => g.data && g.data.length).length >= n",
            arg=n, timeout=60_000,
        )


@pytest.mark.parametrize("path,name,n_graphs", PAGES, ids=[p[1] for p in PAGES])
def test_page_renders_without_console_errors(page, server, path, name, n_graphs):
    page.goto(server + path)
    page.wait_for_selector(".page-header h1")
    wait_for_graphs(page, n_graphs)
    page.wait_for_timeout(500)
    screenshot(page, f"page-{name}")
    if name != "home":
        assert "Simulated demo data" in page.inner_text(".simulated-banner")
    assert page.console_errors == []


def test_unknown_address_shows_404(page, server):
    page.goto(server + "/no/such/page")
    page.wait_for_selector(".not-found")
    assert "Page not found" in page.inner_text(".not-found")
    screenshot(page, "page-404")
    assert page.console_errors == []


def test_gene_search_autocompletes_opens_the_card_and_carries_gene(page, server):
    page.goto(server + "/essentiality")
    page.wait_for_selector(".page-header h1")
    search_gene(page, "pp25", "RPP25L")  # substring, lower case
    page.wait_for_url(re.compile(r"/gene\?gene=RPP25L$"))
    follow_nav_with_gene(page, "RPP25L")
    assert page.console_errors == []


def test_url_reproduces_view(page, server):
    page.goto(server + "/essentiality?gene=FAM50A&perms=300")
    page.wait_for_selector("#q-perms")
    wait_for_graphs(page, 1)
    assert page.input_value("#q-perms") == "300"
    assert page.inner_text("#ess-target") .strip().startswith("FAM50A")
    page.fill("#q-perms", "400")
    page.keyboard.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('perms') === '400'")
    assert page.console_errors == []


def test_opening_a_page_renders_it_once_and_keeps_the_address(page, server):
    """Controls drawn from the URL's defaults do not write them back (which would navigate and render again)."""
    renders = []
    page.on("request", lambda r: renders.append(r.url) if "_pages_content" in (r.post_data or "") else None)
    page.goto(server + "/essentiality?gene=MCL1")
    wait_for_graphs(page, 1)
    page.wait_for_timeout(1500)
    assert page.url.endswith("/essentiality?gene=MCL1")
    assert len(renders) == 1
    # A user's change enters the address bar: that parameter only, and one more render.
    page.check("#q-ess--models input[value='fast']")
    page.wait_for_url("**/essentiality?gene=MCL1&models=fast")
    # The sub-tabs carry the model set.
    page.wait_for_function("() => document.querySelector('#tab-essentiality-tree').getAttribute('href')"
                           " === '/essentiality/tree?gene=MCL1&models=fast'")
    page.wait_for_timeout(1500)
    assert len(renders) == 2
    assert page.console_errors == []


def test_background_job_runs_to_completion_then_csv_and_png(page, server):
    page.goto(server + "/essentiality?gene=RPP25L&perms=100")
    page.wait_for_selector("#ess-screen-run")
    wait_for_graphs(page, 1)
    page.click("#ess-screen-run")
    page.wait_for_function("() => document.querySelector('#ess-screen-status').innerText.startsWith('Finished')",
                           timeout=120_000)
    wait_for_graphs(page, 3)
    bars = page.locator("#card-ess-top .js-plotly-plot")
    assert "RPP25" in bars.inner_text()
    screenshot(page, "job-finished")

    with page.expect_download() as info:
        page.click("#card-ess-top button:has-text('CSV')")
    download = info.value
    assert download.suggested_filename.startswith("RPP25L_screen-top-genes_") and download.suggested_filename.endswith(".csv")
    frame = pd.read_csv(download.path(), comment="#")
    drawn = page.evaluate("() => { const g = document.querySelector('#card-ess-top .js-plotly-plot'); "
                          "return {x: Array.from(g._fullData[0].x), y: Array.from(g._fullData[0].y)}; }")
    assert frame["gene"].tolist() == [label.removesuffix(" (n.s.)") for label in drawn["y"]]
    assert frame["pearson_r"].to_numpy() == pytest.approx(drawn["x"])

    with page.expect_download() as info:
        page.click("#card-ess-top button:has-text('PNG slide')")
    png = open(info.value.path(), "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (2560, 1600)
    text = read_png_text(png)
    assert "RPP25L" in " ".join(text.values()) and "PerturbScope" in " ".join(text.values())
    assert page.console_errors == []


def test_background_job_can_be_cancelled(page, server):
    page.goto(server + "/essentiality?gene=FAM50A&perms=100000")
    page.wait_for_selector("#ess-screen-run")
    page.click("#ess-screen-run")
    page.wait_for_function("() => !document.querySelector('#ess-screen-cancel').disabled")
    page.wait_for_function("() => /permutation/.test(document.querySelector('#ess-screen-progress-text').innerText)",
                           timeout=60_000)
    page.click("#ess-screen-cancel")
    page.wait_for_function("() => document.querySelector('#ess-screen-status').innerText.startsWith('Cancelled')")
    page.wait_for_function("() => !document.querySelector('#ess-screen-run').disabled")
    page.wait_for_timeout(1500)
    # Progress polled after the cancel must not write over it.
    assert page.is_visible("#ess-screen-status") and not page.is_visible("#ess-screen-progress-text")
    assert page.inner_text("#ess-screen-status").startswith("Cancelled")
    screenshot(page, "job-cancelled")
    assert page.console_errors == []
