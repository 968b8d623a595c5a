"""The DKO explorer in a real headless Chromium: sweep job, figures, CSV exports, drill-down, double knockouts."""

from __future__ import annotations


import pandas as pd
import pytest

from core.datasets import load_demo
from tests.browser.conftest import card_csv, run_job, settle_and_shoot, wait_for_graphs

pytestmark = pytest.mark.browser

STEPS = 200  # a short training keeps the test fast; the page default is 2,000


def test_dko_sweep_figures_exports_and_double_knockouts(page, server):
    page.goto(server + f"/dko?steps={STEPS}&cell=SIMCELL-0007&k=12")
    page.wait_for_selector("#dko-sweep-run")
    wait_for_graphs(page, 1)  # the dataset card draws before any job
    assert "Simulated demo data" in page.inner_text(".simulated-banner")
    run_job(page, "dko-sweep", timeout=300_000, status="^Finished")
    wait_for_graphs(page, 7)
    settle_and_shoot(page, "dko-sweep-finished", pause_ms=800)
    assert "single knockouts scored" in page.inner_text("#dko-summary")

    # CSV of the top-k card is exactly what is drawn
    frame, _ = card_csv(page, "dko-topk")
    drawn = page.evaluate("() => { const g = document.querySelector('#card-dko-topk .js-plotly-plot'); "
                          "return {x: Array.from(g._fullData[0].x), y: Array.from(g._fullData[0].y)}; }")
    assert len(frame) == len(drawn["x"]) == 12
    assert frame["knocked_out_gene"].tolist() == drawn["y"]
    assert frame["knockout_impact_bray_curtis"].to_numpy() == pytest.approx(drawn["x"])

    # the full impact table as a file
    with page.expect_download() as info:
        page.click("#dko-download-table")
    assert info.value.suggested_filename == f"dko_impacts_steps{STEPS}.csv"
    table = pd.read_csv(info.value.path())
    n_present = int((load_demo("dko").expression > 0).to_numpy().sum())  # every present gene in every cell
    assert len(table) == n_present and {"gene_id", "cell_id", "k_pred"} <= set(table.columns)
    top_cell = table[table["cell"] == "SIMCELL-0007"].nlargest(12, "k_pred")
    assert sorted(top_cell["gene"]) == sorted(drawn["y"])

    # drill down into one cluster: the URL keeps it and the heatmap shows single cells
    page.click("#q-cluster")
    page.get_by_text("drill down: cells of C2", exact=True).click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('cluster') === 'C2'")
    page.wait_for_function(
        "() => { const g = document.querySelector('#card-dko-heatmap .js-plotly-plot');"
        " return g && g.data && g.data.length && String(g.data[0].x[0]).startsWith('SIMCELL'); }", timeout=60_000)

    # double knockouts of the default gene set
    run_job(page, "dko-double", timeout=120_000, status="^Finished")
    page.wait_for_function(
        "() => { const g = document.querySelector('#card-dko-double .js-plotly-plot');"
        " return g && g.data && g.data.length && g.data[0].type === 'heatmap'; }")
    settle_and_shoot(page, "dko-drilldown-double", pause_ms=800)

