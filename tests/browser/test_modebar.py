"""No modebar on any page offers to send the figure to a third party (Plotly Cloud, Chart Studio), nor the
camera, whose PNG cannot carry the provenance the export bar's PNG has."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PAGES = ["/essentiality?gene=RPP25L", "/essentiality/tree", "/essentiality/sweep", "/essentiality/new-samples",
         "/decode", "/decode/disruption", "/dko", "/perturbation", "/perturbation/connectivity",
         "/gene?gene=RPP25L", "/genes?genes=RPP25L,FAM50A"]
FORBIDDEN = ("cloud", "chart studio", "share", "edit in", "download plot", "plotly.com", "plot.ly")

BUTTONS_JS = """() => Array.from(document.querySelectorAll('.modebar')).map(bar =>
  Array.from(bar.querySelectorAll('.modebar-btn, a')).map(b =>
    [b.getAttribute('data-title') || '', b.getAttribute('data-val') || '', b.getAttribute('href') || ''].join(' ')))"""


def test_no_modebar_has_a_share_cloud_or_camera_button(page, server):
    seen = 0
    page.set_default_timeout(120_000)  # eleven pages, some drawing several figures
    for path in PAGES:
        page.goto(server + path)
        page.wait_for_function("document.querySelectorAll('.modebar').length > 0")
        bars = page.evaluate(BUTTONS_JS)
        seen += len(bars)
        for buttons in bars:
            assert buttons, f"an empty modebar on {path}"
            bad = [b for b in buttons if any(word in b.lower() for word in FORBIDDEN)]
            assert not bad, f"{path}: {bad}"
    assert seen >= len(PAGES)
    assert page.console_errors == []
