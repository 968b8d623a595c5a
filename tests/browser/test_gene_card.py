"""One gene across the four methods in the browser: search, the card, its downloads and the gene list."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
import pytest

from tests.browser.conftest import follow_nav_with_gene, screenshot, search_gene
from tests.browser.test_instant_pages import HOLDS_DATA

pytestmark = pytest.mark.browser

SECTIONS = ("essentiality", "decode", "dko", "perturbation")


def test_home_search_lands_on_the_card_with_four_methods_and_the_paper(page, server):
    page.goto(server + "/")
    page.wait_for_selector(".method-card")
    search_gene(page, "rpp25", "RPP25L")
    page.wait_for_url(re.compile(r"/gene\?gene=RPP25L$"))
    page.wait_for_function(HOLDS_DATA, arg=["gene-card"], timeout=60_000)
    for method in SECTIONS:
        section = page.locator(f"#gene-{method}")
        assert "no-data" not in section.get_attribute("class"), method
        link = section.locator("a.card-link")
        assert link.get_attribute("href").endswith("?gene=RPP25L")
    assert "strongest RPP25" in page.inner_text("#gene-essentiality")
    published = page.inner_text("#gene-published")
    assert "test r 0.79" in published and "RPP25 (0.62)" in published and "CC BY 4.0" in published
    assert "4 of 4 methods" in page.inner_text("#gene-concordance")
    screenshot(page, "gene-card-RPP25L")
    follow_nav_with_gene(page, "RPP25L")
    assert page.console_errors == []


def test_a_modifier_gene_is_explained_as_a_modifier(page, server):
    page.goto(server + "/gene?gene=RPP25")
    page.wait_for_selector("#gene-concordance")
    text = page.inner_text("#gene-essentiality")
    assert "not a screened target" in text and "Modifier of 1 target: RPP25L" in text
    assert "modifier of 1 target in the atlas (RPP25L)" in page.inner_text("#gene-concordance")
    assert page.console_errors == []


def test_gene_in_the_url_is_corrected_in_the_url(page, server):
    page.goto(server + "/gene?gene=kras")
    page.wait_for_function("() => new URLSearchParams(location.search).get('gene') === 'KRAS'", timeout=90_000)
    assert "Showing KRAS (you asked for kras)" in page.inner_text(".notice")
    page.goto(server + "/perturbation?gene=NOTAGENE9")
    page.wait_for_selector(".notice")
    page.wait_for_function("() => new URLSearchParams(location.search).get('gene') !== 'NOTAGENE9'", timeout=90_000)
    shown = page.evaluate("() => new URLSearchParams(location.search).get('gene')")
    assert f"showing {shown}" in page.inner_text(".notice")
    page.wait_for_load_state("networkidle")  # leave no callback of this page in flight
    page.goto(server + "/dko?gene=kras")  # another letter case: no notice, but the URL shows the dataset's symbol
    page.wait_for_function("() => new URLSearchParams(location.search).get('gene') === 'KRAS'", timeout=90_000)
    page.wait_for_load_state("networkidle")
    page.goto(server + "/gene?gene=NOTAGENE9")
    page.wait_for_selector(".notice")
    assert "NOTAGENE9 is in none of the datasets" in page.inner_text(".notice")
    assert page.console_errors == []


def test_card_downloads_its_numbers_as_a_zip(page, server):
    page.goto(server + "/gene?gene=HNF4A")
    page.wait_for_selector("#gene-zip")
    with page.expect_download() as info:
        page.click("#gene-zip")
    download = info.value
    assert re.fullmatch(r"HNF4A_gene-card_\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    archive = zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read()))
    names = set(archive.namelist())
    assert {"provenance.json", "README.txt", "HNF4A_dko_impact_by_cell_type.csv", "HNF4A_decode_as_regulator.csv"} <= names
    by_type = pd.read_csv(archive.open("HNF4A_dko_impact_by_cell_type.csv"))
    assert list(by_type.columns) == ["cell_type", "n_cells", "mean_impact_bray_curtis", "median_impact_bray_curtis"]
    # HNF4A is a planted keystone of the DKO demo and a planted regulator of the DEcode demo
    text = page.inner_text("#gene-dko")
    assert "keystone" in text
    assert "is also a regulator in DEcode" in page.inner_text("#gene-concordance")
    assert page.console_errors == []


def test_gene_list_draws_its_matrix_and_lists_unknown_genes(page, server):
    page.goto(server + "/genes?genes=RPP25L,KRAS,MCL1,HNF4A,NOPE7")
    page.wait_for_function(HOLDS_DATA, arg=["gene-matrix"], timeout=60_000)
    assert "Not in any dataset (1): NOPE7" in page.inner_text(".notice")
    columns = page.evaluate("() => document.querySelector('#card-gene-matrix .js-plotly-plot')._fullData[0].x")
    assert list(columns) == ["RPP25L", "KRAS", "MCL1", "HNF4A"]
    assert page.locator("#genes-table a").count() == 4
    screenshot(page, "gene-list")
    with page.expect_download() as info:
        page.click("#genes-csv")
    frame = pd.read_csv(info.value.path(), comment="#")
    assert list(frame["gene"]) == ["RPP25L", "KRAS", "MCL1", "HNF4A"]
    assert "essentiality_test_pearson_r" in frame.columns
    # paste a new list
    page.fill("#genes-text", "MCL1\nTP53")
    page.click("#genes-go")
    page.wait_for_url(re.compile(r"/genes\?genes=MCL1,TP53$"))
    page.wait_for_function("() => document.querySelectorAll('#genes-table a').length === 2")
    assert page.console_errors == []
