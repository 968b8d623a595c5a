"""A copied link reproduces the view: change several controls, open the address in a new browser context
(no shared storage), and the figures hold the same data."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

#: What a figure card draws: each trace's name and data, the title and the shapes (the disrupted range).
SNAPSHOT = """cards => JSON.stringify(cards.map(name => {
    const g = document.querySelector(`#card-${name} .js-plotly-plot`);
    if (!g || !g._fullData || !g._fullLayout) { return null; }
    const arr = v => v === undefined || v === null ? null
        : Array.from(v, row => (row && typeof row === 'object' && row.length !== undefined) ? Array.from(row) : row);
    return {title: g._fullLayout.title && g._fullLayout.title.text,
            shapes: (g.layout.shapes || []).map(s => [s.x0, s.x1, s.y0, s.y1]),
            traces: g._fullData.map(t => ({name: t.name, x: arr(t.x), y: arr(t.y), z: arr(t.z)}))};
}))"""
HOLDS_DATA = """cards => cards.every(name => {
    const g = document.querySelector(`#card-${name} .js-plotly-plot`);
    return g && g._fullData && g._fullData.some(t => ['x', 'y', 'z'].some(k => t[k] && t[k].length > 0));
})"""


def _wait_for_param(page, key: str, value: str | None = None) -> None:
    page.wait_for_function("([k, v]) => { const p = new URLSearchParams(location.search); "
                           "return v === null ? p.has(k) : p.get(k) === v; }", arg=[key, value], timeout=60_000)


def _reopen_and_compare(browser, page, cards: list[str], name: str, settled: str) -> None:
    """Open the page's URL in a new context and wait until its cards draw what ``page`` draws."""
    page.wait_for_function(settled, timeout=120_000)
    page.wait_for_function(HOLDS_DATA, arg=cards, timeout=120_000)
    page.wait_for_timeout(1000)  # no callback still on its way
    expected = page.evaluate(SNAPSHOT, cards)
    url = page.url
    screenshot(page, f"url-state-{name}-changed")
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        fresh = context.new_page()
        fresh.set_default_timeout(60_000)
        fresh.goto(url)
        fresh.wait_for_function(settled, timeout=120_000)
        try:
            fresh.wait_for_function(f"expected => ({SNAPSHOT})({cards!r}) === expected", arg=expected,
                                    timeout=120_000)
        finally:
            screenshot(fresh, f"url-state-{name}-reopened")
        assert fresh.evaluate(SNAPSHOT, cards) == expected
        assert fresh.url == url
    finally:
        context.close()


def _title_js(card: str, *texts: str) -> str:
    """A JS predicate: the card's figure title holds every one of ``texts``."""
    checks = " && ".join(f"t.textContent.includes({json.dumps(text)})" for text in texts)
    return f"() => {{ const t = document.querySelector('#card-{card} .gtitle'); return !!t && {checks}; }}"


def _title_has(page, card: str, text: str) -> None:
    """Wait until a card's figure title holds ``text`` (the page has re-rendered from the new URL)."""
    page.wait_for_function(_title_js(card, text), timeout=120_000)


def test_disruption_edit_survives_a_copied_link(browser, page, server):
    page.goto(f"{server}/decode/disruption")
    cards = ["dis-profile", "dis-promoter", "dis-mrna"]
    page.wait_for_function(HOLDS_DATA, arg=cards, timeout=120_000)
    page.click("#q-dis--region input[value='mrna']")
    _wait_for_param(page, "region", "mrna")
    _title_has(page, "dis-profile", "of mRNA binding at nt")
    page.fill("#q-dis--mrna .dash-range-slider-min-input", "1000")
    page.keyboard.press("Tab")  # a slider's box commits on blur
    _wait_for_param(page, "mrna")
    _title_has(page, "dis-profile", "at nt 1,000")
    page.focus("#q-dis--fraction [role=slider]")
    page.keyboard.press("PageDown")  # ten steps of 0.05
    _wait_for_param(page, "fraction", "0.5")
    _title_has(page, "dis-profile", "50% of mRNA binding at nt 1,000")
    page.click("#q-dis--knockout")
    page.keyboard.type("HNF4A")
    page.keyboard.press("Enter")
    _wait_for_param(page, "knockout")
    assert "mrna=1000," in page.url and "knockout=promoter:HNF4A" in page.url  # readable, not %2C / %3A
    assert page.input_value("#q-dis--mrna .dash-range-slider-min-input") == "1000"  # nt, not a bin index
    settled = _title_js("dis-profile", "50% of mRNA binding at nt 1,000", "HNF4A")
    _reopen_and_compare(browser, page, cards, "disruption", settled)
    assert page.console_errors == []


def test_dko_view_survives_a_copied_link(browser, page, server):
    page.goto(f"{server}/dko")
    cards = ["dko-cellfit", "dko-topk", "dko-heatmap", "dko-violin", "dko-embedding"]
    page.wait_for_function(HOLDS_DATA, arg=cards, timeout=120_000)
    page.fill("#q-k", "7")
    page.keyboard.press("Enter")
    _wait_for_param(page, "k", "7")
    _title_has(page, "dko-topk", "Top 7 knockouts")
    page.click("#q-cluster")
    page.get_by_text("drill down: cells of C2", exact=True).click()
    _wait_for_param(page, "cluster", "C2")
    drilled = ("() => { const g = document.querySelector('#card-dko-heatmap .js-plotly-plot'); "
               "return !!g && !!g.data && g.data.length > 0 && String(g.data[0].x[0]).startsWith('SIMCELL'); }")
    settled = f"() => ({_title_js('dko-topk', 'Top 7 knockouts')})() && ({drilled})()"
    _reopen_and_compare(browser, page, cards, "dko", settled)
    assert page.console_errors == []


def test_tree_highlight_survives_a_copied_link(browser, page, server):
    page.goto(f"{server}/essentiality/tree?gene=KRAS")
    page.wait_for_function(HOLDS_DATA, arg=["tree"], timeout=120_000)
    cell = "SIMCL-0003"
    page.click("#q-tree--cell")
    page.keyboard.type(cell)
    page.keyboard.press("Enter")
    _wait_for_param(page, "cell", cell)
    settled = ("() => !!document.querySelector('#card-tree .js-plotly-plot')?._fullData"
               f"?.some(t => t.name === 'path of {cell}')")
    _reopen_and_compare(browser, page, ["tree"], "tree", settled)
    assert page.console_errors == []
