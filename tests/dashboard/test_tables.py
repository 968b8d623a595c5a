"""Tables: human headers with definitions, formats by column, a full-precision CSV named after gene and table."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

import app  # noqa: F401  (registers pages and callbacks)
from dashboard.components.tables import COLUMNS, data_table, table_id
from dashboard.export.callbacks import build_table_download
from dashboard.services import connectivity
from dashboard.services import perturbation as tnet


def _grid(table):
    return table.children[-1]


def _app_tables() -> dict[str, list[str]]:
    from dashboard.pages import (essentiality, essentiality_new_samples, essentiality_sweep, genes,
                                 perturbation)

    return {"screen": essentiality.TABLE_COLUMNS, "modifiers": essentiality.MODIFIER_COLUMNS,
            "atlas": essentiality_sweep.COLUMNS, "groups": essentiality_new_samples.TABLE_COLUMNS,
            "connectivity": connectivity.COLUMNS, "genes": genes.TABLE_COLUMNS,
            "summary": perturbation.SUMMARY_COLUMNS, "similar": perturbation.SIMILAR_COLUMNS,
            "intervals": tnet.INTERVAL_TABLE_COLUMNS}


@pytest.mark.parametrize("name", list(_app_tables()))
def test_every_column_of_every_table_is_described(name):
    """A raw name (pearson_q, chi2_stat, top50_pearson) never reaches a header."""
    columns = _app_tables()[name]
    assert [c for c in columns if c not in COLUMNS] == []
    for spec in _grid(data_table(name, columns)).columnDefs:
        column = COLUMNS[spec["field"]]
        assert spec["headerName"] == column.header and "_" not in column.header
        assert spec["headerTooltip"].startswith(f"{column.header}: ") and len(spec["headerTooltip"]) > 15


def test_formats_follow_the_column():
    grid = _grid(data_table("t", ["gene", "pearson_r", "pearson_q", "n_modifiers"]))
    specs = {spec["field"]: spec for spec in grid.columnDefs}
    assert "d3.format('.1e')" in specs["pearson_q"]["valueFormatter"]["function"]  # 2 significant digits
    assert "d3.format('.3f')" in specs["pearson_r"]["valueFormatter"]["function"]
    assert "valueFormatter" not in specs["gene"] and specs["gene"]["pinned"] == "left"
    assert specs["pearson_q"]["filter"] == "agNumberColumnFilter" and specs["gene"]["filter"] == "agTextColumnFilter"
    assert grid.id == table_id("t") and grid.columnSize == "responsiveSizeToFit"
    tooltip = specs["pearson_q"]["headerTooltip"]
    assert tooltip == "Pearson q: Benjamini–Hochberg q over all tested genes"


def test_a_table_may_redefine_a_column():
    grid = _grid(data_table("t", ["group", "q"], definitions={"q": "over the groups"}))
    assert grid.columnDefs[1]["headerTooltip"] == "q: over the groups"


def test_csv_export_is_full_precision_named_after_gene_and_table():
    rows = [{"gene": "[RPP25](/gene?gene=RPP25)", "pearson_r": 0.123456789012345678, "pearson_q": 1.21315e-39,
             "extra": "not a column"},
            {"gene": "MYC", "pearson_r": None, "pearson_q": 0.5}]
    columns = [{"field": "gene"}, {"field": "pearson_r"}, {"field": "pearson_q"}]
    content, filename = build_table_download(rows, columns, "screen-top-genes", "?gene=RPP25L&perms=0")
    assert filename == f"RPP25L_screen-top-genes_{dt.date.today().isoformat()}.csv"
    assert not content.startswith("\ufeff") and content.splitlines()[0] == "gene,pearson_r,pearson_q"
    back = pd.read_csv(io.StringIO(content), float_precision="round_trip")
    assert back["gene"].tolist() == ["RPP25", "MYC"]
    assert back.loc[0, "pearson_r"] == 0.123456789012345678 and back.loc[0, "pearson_q"] == 1.21315e-39
    assert pd.isna(back.loc[1, "pearson_r"])
    assert build_table_download([], columns, "atlas", None)[1].startswith("atlas_")
