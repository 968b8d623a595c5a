"""Callbacks called as plain functions: figures, URL sync, exports."""

import io

import pandas as pd
import pytest

import app  # noqa: F401  (registers pages and callbacks)
from dashboard import app_callbacks, services
from dashboard.export import callbacks as exports
from dashboard.export.frames import _decode_array
from dashboard.pages import essentiality, perturbation
from tests.dashboard.helpers import find_component, notice_text


def test_gene_options_keep_current_value():
    options = app_callbacks.gene_options("25l", "FAM50A")
    values = [o["value"] for o in options]
    assert values[0] == "FAM50A" and "RPP25L" in values


def test_follow_url_sets_gene_and_nav_links():
    gene, *hrefs = app_callbacks.follow_url("?gene=RPP25L&perms=10", None)
    assert gene == "RPP25L"
    assert "/dko?gene=RPP25L" in hrefs and all("perms" not in h for h in hrefs)


def test_lineage_figure_has_provenance_and_export_name():
    fig, config, methods = essentiality.show_lineages("RPP25L")  # the figure's JSON, as Dash sends it
    meta = fig["layout"]["meta"]["provenance"]
    assert meta["gene"] == "RPP25L" and meta["simulated"] is True
    assert config["toImageButtonOptions"]["filename"].startswith("RPP25L_effect-by-lineage_")
    assert config["toImageButtonOptions"]["scale"] >= 2
    assert "RPP25L" in methods and methods.endswith(f"Data: {meta['dataset']}. {meta['app']}.")
    assert methods.count("Data: ") == 1  # render_card adds the provenance sentence, once
    n = sum(len(_decode_array(t["y"])) for t in fig["data"])
    assert n > 900


def test_csv_export_is_exactly_the_numbers_drawn():
    fig, _, _ = essentiality.show_lineages("FAM50A")
    content, filename = exports.build_download(fig, "csv")
    frame = pd.read_csv(io.StringIO(content), comment="#")
    assert filename.startswith("FAM50A_effect-by-lineage_") and filename.endswith(".csv")
    drawn = pd.concat([pd.Series(_decode_array(t["y"])) for t in fig["data"]], ignore_index=True)
    assert len(frame) == len(drawn)
    assert list(frame.columns) == ["cell_line", "lineage", "FAM50A_gene_effect"]
    assert frame["FAM50A_gene_effect"].to_numpy() == pytest.approx(drawn.to_numpy())


def test_page_layouts_accept_url_parameters():
    layout = essentiality.layout(gene="FAM50A", perms="300")
    assert find_component(layout, "ess-target").value == "FAM50A" and find_component(layout, "q-perms").value == 300
    assert notice_text(layout) == ""
    layout = perturbation.layout(gene="nonexistent", type="OE")
    default = services.perturbation.default_gene()
    assert find_component(layout, "pert-gene").value == default and find_component(layout, "q-type").value == "OE"
    assert notice_text(layout) == f"nonexistent is in none of the network layers of this dataset; showing {default}."
    fallback = essentiality.layout(gene="FAM50A", perms="a lot")
    assert find_component(fallback, "q-perms").value == services.essentiality.DEFAULT_PERMUTATIONS
