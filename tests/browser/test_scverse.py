"""A scanpy user's .h5ad in a real browser: matrix choice on the Datasets page, then DKO by their own cell types."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_datasets import _register, _upload
from tests.browser.test_dko import wait_for_graphs

pytestmark = pytest.mark.browser

STEPS = 200


@pytest.fixture
def pbmc():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("scanpy")
    if spec is None:
        pytest.skip("scanpy (a test dependency) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "10x_pbmc68k_reduced.h5ad"


def test_pbmc_h5ad_registers_with_raw_and_dko_groups_by_bulk_labels(page, server, pbmc):
    page.goto(server + "/datasets?kind=dko")
    page.wait_for_selector("#ds-sc-options")
    assert page.is_visible("#ds-sc-options")
    _upload(page, "matrix", [pbmc])
    page.wait_for_function("() => document.querySelector('#ds-sc-matrices').innerText.includes('.raw')",
                           timeout=60_000)
    listing = page.inner_text("#ds-sc-matrices")
    assert "values -2.03 to 28.4: negative" in listing and "309 highly variable genes" in listing
    assert ".raw (default)" in page.inner_text("#ds-sc-matrix")
    page.click("#ds-sc-genes")
    page.get_by_text("highly variable genes (the file's own flags", exact=False).click()
    report = _register(page, "PBMC 68k reduced")
    screenshot(page, "datasets-pbmc-h5ad")
    assert "Registered as" in report and "expression from .raw" in report and "309 genes x 700 cells" in report

    page.click("#ds-open-link")
    page.wait_for_url("**/dko?data=*")
    page.wait_for_selector("#dko-sweep-run")
    assert "bulk_labels" in page.inner_text("#q-group") and "UMAP" in page.inner_text("#q-embedding")
    page.fill("#q-steps", str(STEPS))
    page.press("#q-steps", "Enter")
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('steps') === '{STEPS}'")
    page.wait_for_selector("#dko-sweep-run")
    page.click("#dko-sweep-run")
    page.wait_for_function("() => document.querySelector('#dko-sweep-status').innerText.startsWith('Finished')",
                           timeout=300_000)
    wait_for_graphs(page, 7)
    page.wait_for_function(
        "() => { const g = document.querySelector('#card-dko-heatmap .js-plotly-plot');"
        " return g && g.data && g.data[0].x.some(x => String(x).startsWith('CD14+ Monocyte')); }", timeout=60_000)
    embedding = page.evaluate("() => document.querySelector('#card-dko-embedding .js-plotly-plot').layout"
                              ".xaxis.title.text")
    screenshot(page, "dko-pbmc-bulk-labels")
    assert embedding.startswith("UMAP")
    assert page.console_errors == []
