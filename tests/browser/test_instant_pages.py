"""Every method page opens with its answer: a fresh server, no click, figures holding data.

The server has an empty cache of its own; what it shows comes from the demo's
precomputed results (``make demo-data``) and the instant atlas view.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from dashboard.services import essentiality as ess_service
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

#: page -> figure cards that must hold data on arrival
PAGES = {
    "/essentiality?gene=KRAS": ["ess-venn", "ess-predicted", "ess-counts", "ess-rmse", "ess-weights", "ess-mod-effect",
                                "ess-lineage"],
    "/essentiality/tree?gene=KRAS": ["tree"],
    "/essentiality/sweep": ["sweep-hist", "sweep-single", "sweep-published"],
    "/decode": ["dec-perf", "dec-corr", "dec-profile", "dec-regulators"],
    "/decode/disruption": ["dis-profile"],
    "/dko": ["dko-heldout", "dko-cellfit", "dko-heatmap", "dko-violin", "dko-topk", "dko-embedding"],
    "/perturbation": ["pert-signature", "pert-scatter", "pert-models"],
    "/gene?gene=RPP25L": ["gene-card"],
    "/genes?genes=RPP25L,KRAS,MCL1,HNF4A": ["gene-matrix"],
}

# _fullData holds the decoded arrays (numpy arrays reach the browser as typed-array blobs)
HOLDS_DATA = """cards => cards.every(name => {
    const g = document.querySelector(`#card-${name} .js-plotly-plot`);
    return g && g._fullData && g._fullData.some(t => ['x', 'y', 'z'].some(k => t[k] && t[k].length > 0));
})"""


@pytest.mark.parametrize("path", list(PAGES))
def test_page_opens_with_data_without_a_click(page, server, path):
    page.goto(server + path)
    page.wait_for_function(HOLDS_DATA, arg=PAGES[path], timeout=60_000)
    text = page.inner_text("body")
    assert "Run the analysis to" not in text and "No model yet" not in text
    # the modebar zooms and pans; it neither uploads (Plotly Cloud's "Share chart") nor makes a PNG without
    # provenance (the camera): the export bar's PNG is the one PNG
    buttons = page.evaluate("() => Array.from(document.querySelectorAll('.modebar-btn')).map(b => b.dataset.title)")
    assert "Zoom in" in buttons or "Zoom" in buttons, buttons
    assert not [title for title in buttons if "Share" in title or "Cloud" in title or title.startswith("Download plot")]
    if path.startswith("/essentiality?"):
        assert "instant view" in page.inner_text("#ess-summary")
        assert page.inner_text("#ess-analysis-status") == "Showing the instant atlas view."
    page.wait_for_timeout(500)
    screenshot(page, "instant" + path.split("?")[0].replace("/", "-"))
    assert page.console_errors == []


def test_atlas_browser_links_to_gene_pages(page, server):
    page.goto(server + "/essentiality/sweep")
    page.wait_for_selector("#sweep-table .ag-cell a", timeout=60_000)
    assert "Loaded the stored atlas" in page.inner_text("#sweep-status")
    page.hover("#sweep-table .ag-header-cell[col-id='q']")  # each header's tooltip defines its column
    assert "Benjamini–Hochberg" in page.inner_text(".ag-tooltip")
    page.fill("#sweep-table .ag-floating-filter[col-id='target'] input", "MCL1")
    page.wait_for_function("() => document.querySelectorAll('#sweep-table .ag-cell a').length === 1")
    with page.expect_download() as info:  # the filtered rows, full precision, no byte-order mark
        page.click("#sweep-table .table-export")
    raw = open(info.value.path(), "rb").read()
    assert re.fullmatch(r"atlas_\d{4}-\d{2}-\d{2}\.csv", info.value.suggested_filename)
    assert raw.startswith(b"target,chosen_model,test_pearson,") and raw.count(b"\n") == 2
    exported = pd.read_csv(io.BytesIO(raw), float_precision="round_trip")
    atlas = ess_service.atlas.result()
    assert exported.loc[0, "test_pearson"] == atlas.loc["MCL1", "test_pearson"]
    page.locator("#sweep-table .ag-cell a").first.click()
    page.wait_for_url("**/essentiality?gene=MCL1")
    page.wait_for_function(HOLDS_DATA, arg=["ess-venn", "ess-predicted"], timeout=120_000)  # a full page load
    assert page.console_errors == []
