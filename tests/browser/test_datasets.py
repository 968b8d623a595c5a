"""The Datasets page in a real browser: upload, validation report, registration, no-op re-upload, path safety."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"


def _slot(kind: str, role: str) -> str:
    return "[id='" + json.dumps({"role": role, "type": kind}, separators=(",", ":")) + "']"


def _upload(page, role: str, paths) -> None:
    page.set_input_files(_slot("ds-upload", role) + " input[type=file]", [str(p) for p in paths])
    names = [Path(p).name for p in paths]
    page.wait_for_function("([sel, name]) => document.querySelector(sel).innerText.includes(name)",
                           arg=[_slot("ds-file", role), names[-1]], timeout=30_000)


def _register(page, name: str) -> str:
    page.fill("#ds-name", name)
    clicks = int(page.evaluate("() => document.querySelector('#ds-register-run').dataset.clicks || '0'")) + 1
    page.evaluate(f"() => document.querySelector('#ds-register-run').dataset.clicks = '{clicks}'")
    page.click("#ds-register-run")
    page.wait_for_function("n => document.querySelector('#ds-register-status').innerText"
                           ".startsWith(`Finished check ${n}:`)", arg=clicks, timeout=120_000)
    return page.inner_text("#ds-report")


def _open_registered(page, path: str, picker: str, name: str) -> None:
    """Follow the report's link to the page at ``path``: its data picker shows ``name`` and no demo banner."""
    page.click("#ds-open-link")
    page.wait_for_url(f"**/{path}?data=*")
    page.wait_for_function("([sel, name]) => document.querySelector(sel) &&"
                           " document.querySelector(sel).innerText.includes(name)", arg=[picker, name])
    assert page.locator(".simulated-banner").count() == 0


def _stored() -> list[str]:
    root = Path(os.environ["PERTURBSCOPE_REGISTRY_DIR"]) / "essentiality"
    return sorted(p.name for p in root.glob("*") if not p.name.startswith(".")) if root.exists() else []


def test_upload_validate_register_and_reupload(page, server, user_files):
    depmap = user_files["essentiality"]
    page.goto(server + "/datasets")
    page.wait_for_selector(_slot("ds-upload", "effect"))

    # a malformed gene-effect file: a report naming the file, nothing stored, the app keeps serving
    _upload(page, "effect", [CORPUS / "depmap_effect_semicolon_delimiter.csv"])
    _upload(page, "expression", depmap["expression"])
    _upload(page, "models", depmap["models"])
    report = _register(page, "Broken release")
    screenshot(page, "datasets-bad-file")
    assert "Not registered" in report and "depmap_effect_semicolon_delimiter.csv" in report
    assert _stored() == []

    # the good file: registered, with the figures of the report and a link to the page that uses it
    _upload(page, "effect", depmap["effect"])
    report = _register(page, "My DepMap")
    screenshot(page, "datasets-registered")
    assert "Registered as" in report and "120" in report
    assert len(_stored()) == 1
    assert "My DepMap" in page.inner_text("#ds-list")
    href = page.get_attribute("#ds-open-link", "href")
    assert href.startswith("/essentiality?data=")

    # the same files again, under another name: a no-op
    report = _register(page, "Same files again")
    assert "Already registered" in report and "My DepMap" in report
    assert len(_stored()) == 1

    # the modifier-gene page offers and shows the registered release
    _open_registered(page, "essentiality", "#q-ess--data", "My DepMap")
    assert "120 cell lines" in page.inner_text(".controls")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0 && "
                           "Array.from(document.querySelectorAll('.js-plotly-plot')).some(g => g.data && g.data.length)",
                           timeout=60_000)
    screenshot(page, "essentiality-on-registered-data")
    assert page.console_errors == []


def test_server_paths_stay_inside_the_import_folder(page, server, user_files):
    root = Path(os.environ["PERTURBSCOPE_IMPORT_DIR"])
    (root / "sc").mkdir(parents=True, exist_ok=True)
    shutil.copy(user_files["dko"]["matrix"][0], root / "sc" / "cells.csv")
    page.goto(server + "/datasets?kind=dko")
    page.wait_for_selector(_slot("ds-path", "matrix"))

    page.fill(_slot("ds-path", "matrix"), "../../../etc/passwd")
    report = _register(page, "Escape attempt")
    assert "only paths inside the data folder" in report

    page.fill(_slot("ds-path", "matrix"), "sc/cells.csv")
    report = _register(page, "Cells from the server")
    screenshot(page, "datasets-server-path")
    assert "Registered as" in report and "30" in report
    _open_registered(page, "dko", "#q-dko--data", "Cells from the server")
    # the page settles its URL (defaults written back) and redraws: wait for the final title
    page.wait_for_function("() => { const g = document.querySelector('#card-dko-presence .js-plotly-plot');"
                           " return g && g._fullLayout && /120 cells/.test(g._fullLayout.title.text || ''); }",
                           timeout=60_000)
    screenshot(page, "dko-on-registered-data")
    assert page.console_errors == []
