"""The essentiality-of-new-samples page in a real headless Chromium, on the demo's simulated tissues."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_new_samples_page_flags_the_planted_tissue(page, server):
    from core.datasets.new_samples_demo import PLANTED_GROUP, PLANTED_TARGET

    page.goto(server + f"/essentiality/new-samples?gene={PLANTED_TARGET}")
    page.wait_for_selector(".page-header h1")
    assert "Simulated demo data" in page.inner_text(".simulated-banner")
    page.wait_for_function(
        "() => { const g = document.querySelector('#card-new-samples .js-plotly-plot'); "
        "return g && g.data && g.data.length > 1; }", timeout=90_000)
    names = page.evaluate("() => document.querySelector('#card-new-samples .js-plotly-plot').data.map(t => t.name)")
    assert f"{PLANTED_GROUP} *" in names  # flagged groups carry a star (and are red)
    page.wait_for_selector("#ns-groups .ag-row .ag-cell")
    status = page.inner_text("#ns-status")
    assert f"Flagged groups (BH q < 0.05): {PLANTED_GROUP}" in status
    flagged = page.evaluate("""group => {
        const cells = Array.from(document.querySelectorAll('#ns-groups .ag-cell[col-id="group"]'));
        const row = cells.find(c => c.innerText.trim() === group).closest('.ag-row').getAttribute('row-index');
        return document.querySelector(`#ns-groups .ag-row[row-index="${row}"] .ag-cell[col-id="flagged"]`).innerText;
    }""", PLANTED_GROUP)
    assert flagged.strip() == "yes"
    assert page.locator("nav a", has_text="New samples").count() >= 1
    screenshot(page, "essentiality-new-samples")
    assert page.console_errors == []


def test_uploaded_samples_survive_the_page_render_and_name_missing_genes(page, server, tmp_path):
    from dashboard.services import new_samples as ns

    demo = ns.demo_samples()
    target = demo.truth["target"]
    dropped = [g for g in ns.reference_model(target).modifiers if g != demo.truth["driver"]][0]
    table = demo.to_table().iloc[::2].drop(columns=[dropped])
    upload = tmp_path / "my_tissues.csv"
    table.to_csv(upload)
    page.goto(server + f"/essentiality/new-samples?gene={target}")
    page.wait_for_selector("#ns-upload input[type=file]", state="attached")
    page.wait_for_function("() => document.querySelector('#ns-status').innerText.includes('Flagged')", timeout=90_000)
    page.set_input_files("#ns-upload input[type=file]", str(upload))
    page.wait_for_url("**samples=upload**", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#ns-status').innerText.includes('my_tissues.csv')",
                           timeout=90_000)
    assert f"{len(table)} samples from uploaded file my_tissues.csv" in page.inner_text("#ns-status")
    assert f"Flagged groups (BH q < 0.05): {demo.truth['group']}" in page.inner_text("#ns-status")
    missing = page.inner_text("#ns-missing")  # a modifier of the demo model, removed from the upload
    assert dropped in missing and "retrained" in missing
    assert "Simulated demo data" in page.inner_text(".simulated-banner")  # the reference is still the demo
    screenshot(page, "essentiality-new-samples-upload")
    assert page.console_errors == []
