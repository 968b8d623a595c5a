"""App-level download callback serving every figure card's export buttons."""

from __future__ import annotations

import logging

from urllib.parse import parse_qs

from dash import ALL, Input, Output, State, callback, ctx, dcc, no_update

from dashboard.export import export_filename, figure_to_csv, figure_to_image
from dashboard.export.frames import rows_to_csv

log = logging.getLogger(__name__)

MIME = {"csv": "text/csv", "png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


def build_download(figure: dict, fmt: str) -> tuple[bytes | str, str]:
    """The file content and name for one export of one figure."""
    meta = (figure.get("layout") or {}).get("meta") or {}
    provenance = meta.get("provenance") or {}
    gene, view = provenance.get("gene"), provenance.get("view") or "figure"
    if fmt == "csv":
        return figure_to_csv(figure), export_filename(gene, view, "csv")
    if fmt in ("svg", "pdf"):
        return figure_to_image(figure, fmt=fmt, preset="print", provenance=provenance), export_filename(gene, view, fmt)
    preset = fmt.split("-", 1)[1]
    return (
        figure_to_image(figure, fmt="png", preset=preset, provenance=provenance),
        export_filename(gene, f"{view}-{preset}", "png"),
    )


@callback(
    Output("download", "data"),
    Output("global-notice", "children"),
    Input({"type": "export", "name": ALL, "format": ALL}, "n_clicks"),
    State({"type": "figure", "name": ALL}, "figure"),
    prevent_initial_call=True,
)
def export_figure(_clicks, _figures):
    """Send the clicked card's figure as CSV, PNG or SVG."""
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update, no_update
    figures = {item["id"]["name"]: item.get("value") for item in ctx.states_list[0]}
    figure = figures.get(trigger["name"])
    if not figure or not figure.get("data"):
        return no_update, "Nothing to export yet: the figure is empty."
    try:
        content, filename = build_download(figure, trigger["format"])
    except Exception as exc:  # the app stays up; the user sees why
        log.exception("export failed")
        return no_update, f"Export failed ({type(exc).__name__}: {exc})."
    if isinstance(content, str):
        return dcc.send_string(content, filename, type=MIME["csv"]), ""
    return dcc.send_bytes(content, filename, type=MIME.get(filename.rsplit(".", 1)[-1])), ""


def build_table_download(rows: list[dict], column_defs: list[dict], view: str, search: str | None) -> tuple[str, str]:
    """A table's CSV and its name ``<gene>_<table>_<date>.csv`` (the gene of the page's URL, if any)."""
    gene = (parse_qs((search or "").lstrip("?")).get("gene") or [None])[0]
    columns = [c["field"] for c in column_defs if c.get("field")]
    return rows_to_csv(rows, columns), export_filename(gene, view, "csv")


@callback(
    Output("download", "data", allow_duplicate=True),
    Input({"type": "table-export", "name": ALL, "view": ALL}, "n_clicks"),
    State({"type": "table", "name": ALL}, "virtualRowData"),
    State({"type": "table", "name": ALL}, "rowData"),
    State({"type": "table", "name": ALL}, "columnDefs"),
    State("url", "search"),
    prevent_initial_call=True,
)
def export_table(_clicks, _shown, _rows, _columns, search):
    """Send the clicked table's rows, as filtered and sorted, as CSV (UTF-8, no byte-order mark)."""
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    name = trigger["name"]
    shown, rows, columns = ({item["id"]["name"]: item.get("value") for item in states}
                            for states in ctx.states_list[:3])
    data = shown.get(name) if shown.get(name) is not None else rows.get(name)
    content, filename = build_table_download(data or [], columns.get(name) or [], trigger["view"], search)
    return dcc.send_string(content, filename, type=MIME["csv"])
