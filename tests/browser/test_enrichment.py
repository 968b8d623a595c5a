"""The modifier page's pathway-enrichment card in a real headless Chromium."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_enrichment_card_shows_the_planted_pathway_on_top(page, server):
    from core.datasets import load_demo
    from core.datasets.essentiality_pathways import PLANTED_PREFIX, planted_modifier_sets

    sets = planted_modifier_sets(load_demo("essentiality"))
    target = max(sets, key=lambda t: len(sets[t]))
    page.goto(server + f"/essentiality?gene={target}")
    page.wait_for_selector(".page-header h1")
    page.wait_for_function(
        "() => { const g = document.querySelector('#card-ess-enrichment .js-plotly-plot'); "
        "return g && g.data && g.data.length > 0; }", timeout=60_000)
    top = page.evaluate("() => { const y = document.querySelector('#card-ess-enrichment .js-plotly-plot').data[0].y; "
                        "return y[y.length - 1]; }")
    assert top == PLANTED_PREFIX + target
    assert "SIMULATED pathways" in page.inner_text("#card-ess-enrichment")
    page.locator("#card-ess-enrichment").scroll_into_view_if_needed()
    screenshot(page, "essentiality-enrichment")
    assert page.console_errors == []
