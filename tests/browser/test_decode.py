"""DEcode pages in a real headless Chromium: training job, exports, attribution, live disruption."""

from __future__ import annotations

import pytest

from tests.browser.conftest import card_csv, run_job, screenshot, settle_and_shoot, wait_for_graphs

pytestmark = pytest.mark.browser

QUICK = "dec-restarts=1&dec-epochs=4"


def test_decode_training_job_attribution_and_csv(page, server):
    page.goto(f"{server}/decode?{QUICK}")
    page.wait_for_selector("#dec-train-run")
    assert "Simulated demo data" in page.inner_text(".simulated-banner")
    run_job(page, "dec-train")
    wait_for_graphs(page, 4, filled=True)
    settle_and_shoot(page, "decode-trained")

    frame, download = card_csv(page, "dec-perf")
    drawn = page.evaluate("() => { const g = document.querySelector('#card-dec-perf .js-plotly-plot'); "
                          "return g._fullData.map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)})); }")
    cnn = [t for t in drawn if t["name"] == "DEcode CNN"][0]
    exported = frame[frame["model"] == "cnn"]
    assert exported["tissue"].tolist() == cnn["y"]
    assert exported["test_spearman_rho"].to_numpy() == pytest.approx(cnn["x"])
    assert download.suggested_filename.startswith("decode-tissue-performance_")

    run_job(page, "dec-attr")
    wait_for_graphs(page, 5, filled=True)
    settle_and_shoot(page, "decode-attribution")


def test_decode_disruption_updates_live(page, server):
    page.goto(f"{server}/decode/disruption?{QUICK}")
    page.wait_for_selector("#dis-train-run")
    run_job(page, "dis-train")  # instant when the tissues test trained the same model
    wait_for_graphs(page, 3, filled=True)
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
    run_job(page, "dis-coexp")
    wait_for_graphs(page, 5, filled=True)
    settle_and_shoot(page, "decode-coexpression")
