"""The three modifier-gene pages in a real browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import card_csv, run_job, screenshot

pytestmark = pytest.mark.browser


def _wait_status(page, prefix: str, timeout: int = 240_000) -> None:
    page.wait_for_function(
        "p => /^(Finished|Loaded|Showing)/.test(document.querySelector(`#${p}-status`).innerText)", arg=prefix,
        timeout=timeout)


def test_modifier_page_analysis_venn_and_export(page, server):
    page.goto(server + "/essentiality?gene=RPP25L&models=fast")
    page.wait_for_selector("#ess-analysis-run")
    _wait_status(page, "ess-analysis")  # the instant view first
    run_job(page, "ess-analysis", timeout=240_000, status="^Finished")
    assert "Fast" not in page.inner_text("#ess-summary") or "instant view" not in page.inner_text("#ess-summary")
    page.wait_for_function("() => document.querySelector('#card-ess-venn .js-plotly-plot')?.data?.length > 0")
    assert "RPP25" in page.inner_text("#card-ess-venn")
    page.wait_for_timeout(800)
    screenshot(page, "essentiality-analysis")
    frame, _ = card_csv(page, "ess-rmse")
    drawn = page.evaluate("() => { const g = document.querySelector('#card-ess-rmse .js-plotly-plot'); "
                          "return {x: Array.from(g._fullData[0].x), y: Array.from(g._fullData[0].y)}; }")
    assert frame["model"].tolist() == drawn["x"]
    assert frame["validation_rmse_gene_effect"].to_numpy() == pytest.approx(drawn["y"])
    assert page.console_errors == []


def test_tree_page_uses_stored_analysis_and_highlights_path(page, server):
    page.goto(server + "/essentiality/tree?gene=RPP25L&models=fast")
    page.wait_for_selector("#tree-analysis-run")
    _wait_status(page, "tree-analysis", timeout=240_000)
    page.click("#q-tree--cell")
    page.keyboard.type("SIMCL-0001")
    page.keyboard.press("Enter")
    page.wait_for_function("() => /path through nodes/.test(document.querySelector('#tree-cell-text').innerText)")
    page.wait_for_timeout(800)
    screenshot(page, "essentiality-tree")
    assert page.console_errors == []
