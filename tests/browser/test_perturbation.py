"""The perturbation-signature page in a real headless Chromium: renders, trains a small model, exports CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def wait_for_graphs(page, n: int) -> None:
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(g => g.data && g.data.length).length >= n",
        arg=n, timeout=60_000,
    )


def test_perturbation_page_trains_and_exports(page, server):
    page.goto(server + "/perturbation?type=CRISPR&epochs=2&width=128")
    page.wait_for_selector(".page-header h1")
    wait_for_graphs(page, 2)  # measured signature and the network neighbourhood, before any training
    assert "Simulated demo data" in page.inner_text(".simulated-banner")
    assert page.input_value("#q-epochs") == "2"
    screenshot(page, "perturbation-before-training")

    page.click("#pert-train-run")
    page.wait_for_function(
        "() => document.querySelector('#pert-train-status').innerText.startsWith('Finished')", timeout=300_000)
    wait_for_graphs(page, 4)
    assert "Pearson delta" in page.inner_text("#pert-verdict")
    assert page.locator("#pert-summary .ag-row").count() > 0 and page.locator("#pert-similar .ag-row").count() > 0
    page.wait_for_timeout(500)
    screenshot(page, "perturbation-trained")

    with page.expect_download() as info:
        page.click("#card-pert-signature button:has-text('CSV')")
    download = info.value
    assert download.suggested_filename.endswith(".csv") and "CRISPR-signature" in download.suggested_filename
    frame = pd.read_csv(download.path(), comment="#")
    drawn = page.evaluate(
        "() => { const g = document.querySelector('#card-pert-signature .js-plotly-plot'); "
        "return g._fullData.map(t => ({x: Array.from(t.x), y: Array.from(t.y)})); }")
    assert frame["signature_z_score"].to_numpy() == pytest.approx([v for t in drawn for v in t["x"]])
    assert frame["landmark"].tolist() == [v for t in drawn for v in t["y"]]
    assert page.console_errors == []


def test_connectivity_query_ranks_the_query_signature_first(page, server):
    from core.datasets import load_demo

    gene = sorted(map(str, load_demo("perturbation").signatures["CRISPR"].index))[3]
    page.goto(server + f"/perturbation/connectivity?type=CRISPR&gene={gene}")
    page.wait_for_selector(".page-header h1")
    assert "Simulated demo data" in page.inner_text(".simulated-banner")
    assert gene in page.inner_text("#pconn-gene")
    page.click("#pconn-mode input[value='signature']")
    for box in page.locator("#pconn-sets input[type=checkbox]").all():  # measured sets only: a quick search
        value = box.get_attribute("value")
        if ("predicted" in value) == box.is_checked():
            box.click()
    page.click("#pconn-run")
    page.wait_for_function(
        "() => document.querySelector('#pconn-status').innerText.startsWith('Finished')", timeout=300_000)
    page.wait_for_selector("#pconn-table .ag-row")
    link = page.locator("#pconn-table .ag-row[row-index='0'] .ag-cell[col-id='gene'] a")  # the rank-1 row
    assert link.inner_text() == gene and link.get_attribute("href") == f"/gene?gene={gene}"
    assert "signatures searched" in page.inner_text("#pconn-summary")
    page.wait_for_function(
        "() => { const g = document.querySelector('#card-pconn-plot .js-plotly-plot'); "
        "return g && g.data && g.data.length > 0; }", timeout=60_000)
    screenshot(page, "perturbation-connectivity")
    page.fill("#pconn-up", "NOT_A_GENE")  # an impossible pasted query gets a message, not a crash
    page.click("#pconn-mode input[value='lists']")
    page.click("#pconn-run")
    page.wait_for_function("() => document.querySelector('#pconn-error').innerText.length > 0", timeout=60_000)
    assert "paste both" in page.inner_text("#pconn-error")
    assert page.console_errors == []
