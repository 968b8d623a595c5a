"""Sortable, filterable tables (AG Grid) with human headers, column tooltips and a full-precision CSV export.

Each table is ``data_table(name, columns)``: an AG Grid with the id
:func:`table_id` ``(name)`` (page callbacks set its ``rowData``) inside a
``<div id=name>``, and an *Export CSV* button served by the app-level
callback in :mod:`dashboard.export.callbacks`: the rows as filtered and
sorted, every number as stored (the grid only formats what it shows), UTF-8
without a byte-order mark, named ``<gene>_<table>_<date>.csv``.

Columns are described once in :data:`COLUMNS` (header, number format,
definition shown as the header's tooltip); a table may override a column's
definition where the same name means something else (``q`` over targets, over
groups or over signatures).
"""

from __future__ import annotations

from typing import NamedTuple

import dash_ag_grid as dag
from dash import html


class Column(NamedTuple):
    """How a table shows one column."""

    header: str
    kind: str  # a key of FORMATS, "text", "markdown" (links) or "long" (long text)
    definition: str


#: d3-format specifiers by column kind: q- and p-values in scientific notation with 2 significant digits,
#: correlations to 3 decimals, test statistics to 2, other measures to 4 significant digits.
FORMATS = {"q": ".1e", "p": ".1e", "r": ".3f", "stat": ".2f", "measure": ".4~g", "int": ",d"}

BH_GENES = "Benjamini–Hochberg q over all tested genes"
COLUMNS: dict[str, Column] = {
    "gene": Column("Gene", "text", "Gene symbol"),
    "target": Column("Target", "markdown", "Target gene whose CRISPR gene effect is modelled; opens its page"),
    "pearson_r": Column("Pearson r", "r", "Pearson correlation of the gene's expression with the target's gene "
                                           "effect across cell lines"),
    "pearson_q": Column("Pearson q", "q", BH_GENES),
    "spearman_rho": Column("Spearman ρ", "r", "Spearman rank correlation of expression with gene effect"),
    "spearman_q": Column("Spearman q", "q", BH_GENES),
    "perm_fwer_p": Column("Permutation FWER p", "p", "Family-wise error rate p from permuting the gene effect "
                                                     "(max-statistic over all genes)"),
    "tests": Column("Tests", "text", "The tests in which the gene is a modifier (Pearson, Spearman, chi-squared)"),
    "chi2_stat": Column("χ²", "stat", "Chi-squared statistic of gene effect (6 equal-frequency bins) "
                                                 "× expression below/above its median"),
    "chi2_q": Column("χ² q", "q", BH_GENES),
    "chosen_model": Column("Chosen model", "text", "Model with the lowest validation RMSE"),
    "test_pearson": Column("Test r", "r", "Pearson r of predicted against actual gene effect on held-out cell lines"),
    "test_pearson_p": Column("Test p", "p", "Two-sided p of the test Pearson r"),
    "q": Column("q", "q", "Benjamini–Hochberg q of the test p over all targets"),
    "test_rmse": Column("Test RMSE", "measure", "Root mean squared error of the prediction on held-out cell lines "
                                                "(gene-effect units)"),
    "baseline_test_rmse": Column("Baseline RMSE", "measure", "Test RMSE of predicting the training mean"),
    "single_best_modifier": Column("Best single modifier", "text", "The modifier whose expression alone predicts best"),
    "single_best_pearson": Column("Best single r", "r", "Test Pearson r of a linear model on the best single modifier"),
    "n_modifiers": Column("Modifiers", "int", "Number of modifier genes selected"),
    "top_term": Column("Top gene set", "long", "Gene set most enriched in the modifiers (hypergeometric)"),
    "top_term_q": Column("Gene set q", "q", "Benjamini–Hochberg q of the top gene set over all sets tested"),
    "modifiers": Column("Modifier genes", "long", "The selected modifier genes"),
    "group": Column("Group", "text", "Group of new samples"),
    "n": Column("Samples", "int", "Number of samples in the group"),
    "mean_prediction": Column("Mean prediction", "measure", "Mean predicted gene effect of the group"),
    "t": Column("Welch t", "stat", "Welch t statistic of the group against all other samples"),
    "p": Column("p", "p", "Two-sided p of Welch's t-test"),
    "flagged": Column("Flagged", "text", "The group differs from the other samples (BH q below the threshold)"),
    "rank": Column("Rank", "int", "Rank by connectivity score (1 = most mimicking)"),
    "type": Column("Type", "text", "Perturbation type (RNAi, CRISPR, OE)"),
    "signature": Column("Signature", "text", "Measured or predicted (TranscriptionNet) signature"),
    "status": Column("Status", "text", "Whether the gene was seen in training or held out"),
    "score": Column("Connectivity", "r", "Weighted Kolmogorov–Smirnov connectivity score, -1 (reverses) to 1 "
                                         "(mimics)"),
    "normalized_score": Column("Normalized score", "stat", "Score divided by the mean of random queries' scores "
                                                           "of the same sign"),
    "perm_p": Column("Permutation p", "p", "p from seeded random queries of the same size"),
    "model": Column("Model", "text", "Model or baseline"),
    "n_genes": Column("Genes", "int", "Number of held-out genes scored"),
    "pearson": Column("Pearson r", "r", "Mean Pearson r of predicted against measured signature over held-out genes"),
    "pearson_delta": Column("Pearson Δ", "r", "Mean Pearson r after removing the training mean signature"),
    "cosine": Column("Cosine", "r", "Cosine similarity of the signatures"),
    "top50_pearson": Column("Top-50 r", "r", "Pearson r over each gene's 50 most changed landmarks"),
    "rmse": Column("RMSE", "measure", "Root mean squared error of the predicted signature (z-score units)"),
    "baseline": Column("Baseline", "text", "The baseline the model is compared with"),
    "metric": Column("Metric", "text", "The score compared"),
    "difference": Column("Difference", "measure", "Mean score of the model minus the baseline's, over held-out genes"),
    "low": Column("95% low", "measure", "Lower end of the paired bootstrap 95% interval of the difference"),
    "high": Column("95% high", "measure", "Upper end of the paired bootstrap 95% interval of the difference"),
    "verdict": Column("Verdict", "long", "beats / worse: the interval excludes 0; otherwise no detectable difference"),
    "essentiality_test_pearson_r": Column("Essentiality test r", "r", "Modifier-gene model: test Pearson r of "
                                                                      "predicted against actual gene effect"),
    "decode_tissue_profile_pearson_r": Column("DEcode profile r", "r", "DEcode: Pearson r of the predicted against "
                                                                      "measured tissue profile"),
    "dko_mean_knockout_impact_bray_curtis": Column("DKO mean impact", "measure", "DKO: mean knockout impact over "
                                                   "the cells where the gene is present (Bray–Curtis)"),
    "signature_pearson_r_mean_over_types": Column("Signature r", "r", "TranscriptionNet: Pearson r of predicted "
                                                                      "against measured signature, mean over types"),
}
_WIDTH = {"text": 80, "markdown": 90, "long": 140}
#: Pixels per character of a header word and for a cell's padding: a column is never narrower than its
#: longest header word (headers wrap between words, never inside one).
_CHAR_PX, _PAD_PX = 7.5, 26


def table_id(name: str) -> dict:
    """The grid's id: page callbacks set ``Output(table_id(name), "rowData")``."""
    return {"type": "table", "name": name}


def _value_formatter(kind: str) -> dict | None:
    spec = FORMATS.get(kind)
    if spec is None:
        return None
    return {"function": f"params.value == null ? '' : d3.format('{spec}')(params.value)"}


def column_def(name: str, column: Column, pinned: bool = False) -> dict:
    """AG Grid's definition of one column: header, tooltip, formatter, filter."""
    numeric = column.kind in FORMATS
    spec = {"field": name, "headerName": column.header, "headerTooltip": f"{column.header}: {column.definition}",
            "filter": "agNumberColumnFilter" if numeric else "agTextColumnFilter",
            "minWidth": max(_WIDTH.get(column.kind, 64),
                            round(_CHAR_PX * max(map(len, column.header.split())) + _PAD_PX))}
    if numeric:
        spec.update(type="rightAligned", valueFormatter=_value_formatter(column.kind))
    if column.kind == "markdown":
        spec.update(cellRenderer="markdown", linkTarget="_self")
    if column.kind in ("text", "long"):  # a value cut short by the column's width shows whole on hover
        spec["tooltipField"] = name
    if pinned:
        spec["pinned"] = "left"
    return spec


def data_table(name: str, columns: list[str], *, page_size: int = 15, data: list | None = None,
               export: str | None = None, definitions: dict[str, str] | None = None,
               markdown: tuple[str, ...] = ()) -> html.Div:
    """A grid of ``columns`` (names of :data:`COLUMNS`) with an *Export CSV* button.

    Parameters
    ----------
    name
        The table's name: the id of the wrapping ``div`` and the ``name`` of :func:`table_id`.
    columns
        Column names in order; the first is pinned on the left.
    page_size
        Rows per page.
    data
        Initial rows (records).
    export
        What the table holds, for the CSV's file name (default: ``name``); None-like empty string: no button.
    definitions
        Column name -> definition, where this table's column means something else than :data:`COLUMNS` says.
    markdown
        Columns whose values are markdown links.
    """
    definitions = definitions or {}
    defs = []
    for i, col in enumerate(columns):
        base = COLUMNS.get(col) or Column(col.replace("_", " "), "text", col.replace("_", " "))
        column = base._replace(definition=definitions.get(col, base.definition),
                               kind="markdown" if col in markdown else base.kind)
        defs.append(column_def(col, column, pinned=i == 0))
    button = html.Button("Export CSV", id={"type": "table-export", "name": name, "view": export or name},
                         className="export-button table-export", n_clicks=0,
                         title="The rows as filtered and sorted, full precision (UTF-8 CSV)")
    grid = dag.AgGrid(
        id=table_id(name), columnDefs=defs, rowData=data or [], columnSize="responsiveSizeToFit",
        defaultColDef={"sortable": True, "resizable": True, "floatingFilter": True, "wrapHeaderText": True,
                       "autoHeaderHeight": True, "suppressHeaderMenuButton": True,
                       "suppressHeaderFilterButton": True,
                       "suppressFloatingFilterButton": True},
        dashGridOptions={"pagination": True, "paginationPageSize": page_size, "paginationPageSizeSelector": False,
                         "domLayout": "autoHeight", "rowHeight": 30, "tooltipShowDelay": 300, "enableCellTextSelection": True,
                         "suppressMovableColumns": True},
        className="ag-theme-quartz data-grid", style={"width": "100%"},
    )
    return html.Div(id=name, className="data-table", children=[
        html.Div(button, className="table-toolbar") if export != "" else None, grid])
