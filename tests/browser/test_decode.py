"""DEcode pages in a real headless Chromium: training job, exports, attribution, live disruption."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

QUICK = "dec-restarts=1&dec-epochs=4"


def graphs_with_data(page, n: int, timeout: int = 60_000) -> None:
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(g => g._fullData && "
        "g._fullData.some(t => (t.x && t.x.length) || (t.z && t.z.length))).length >= n",
        arg=n, timeout=timeout,
    )


def test_decode_training_job_attribution_and_csv(page, server):
    page.goto(f"{server}/decode?{QUICK}")
    page.wait_for_selector("#dec-train-run")
    assert "Simulated demo data" in page.inner_text(".simulated-banner")
    page.click("#dec-train-run")
    page.wait_for_function("() => /^(Finished|Loaded)/.test(document.querySelector('#dec-train-status').innerText)",
                           timeout=180_000)
    graphs_with_data(page, 4)
    page.wait_for_timeout(500)
    screenshot(page, "decode-trained")

    with page.expect_download() as info:
        page.click("#card-dec-perf button:has-text('CSV')")
    frame = pd.read_csv(info.value.path())
    drawn = page.evaluate("() => { const g = document.querySelector('#card-dec-perf .js-plotly-plot'); "
                          "return g._fullData.map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)})); }")
    cnn = [t for t in drawn if t["name"] == "DEcode CNN"][0]
    exported = frame[frame["trace"] == "DEcode CNN"]
    assert exported["y"].tolist() == cnn["y"]
    assert exported["x"].to_numpy() == pytest.approx(cnn["x"])
    assert info.value.suggested_filename.startswith("decode-tissue-performance_")

    page.click("#dec-attr-run")
    page.wait_for_function("() => /^(Finished|Loaded)/.test(document.querySelector('#dec-attr-status').innerText)",
                           timeout=180_000)
    graphs_with_data(page, 5)
    page.wait_for_timeout(500)
    screenshot(page, "decode-attribution")
    assert page.console_errors == []


def test_decode_disruption_updates_live(page, server):
    page.goto(f"{server}/decode/disruption?{QUICK}")
    page.wait_for_selector("#dis-train-run")
    page.click("#dis-train-run")  # instant when the tissues test trained the same model
    page.wait_for_function("() => /^(Finished|Loaded)/.test(document.querySelector('#dis-train-status').innerText)",
                           timeout=180_000)
    graphs_with_data(page, 3)
    read_after = ("() => { const g = document.querySelector('#card-dis-profile .js-plotly-plot'); "
                  "return g && g._fullData.length > 1 ? Array.from(g._fullData[1].x) : null; }")
    page.wait_for_function(read_after)
    before = page.evaluate(read_after)
    page.click("#q-dis--knockout")
    page.keyboard.type("HNF4A")
    page.keyboard.press("Enter")
    page.wait_for_function(f"prev => JSON.stringify(({read_after})()) !== JSON.stringify(prev)", arg=before)
    page.wait_for_timeout(300)
    screenshot(page, "decode-disruption")

    page.fill("#q-dec-n", "100")
    page.keyboard.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('dec-n') === '100'")
    page.wait_for_function("() => document.querySelector('#q-dec-n') && document.querySelector('#q-dec-n').value === '100' "
                           "&& /^(Finished|Loaded)/.test(document.querySelector('#dis-train-status').innerText)")
    page.click("#dis-coexp-run")
    page.wait_for_function("() => /^(Finished|Loaded)/.test(document.querySelector('#dis-coexp-status').innerText)",
                           timeout=180_000)
    graphs_with_data(page, 5)
    page.wait_for_timeout(500)
    screenshot(page, "decode-coexpression")
    assert page.console_errors == []
