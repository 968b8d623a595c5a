"""A consistently styled, sortable, filterable table with its own CSV export."""

from __future__ import annotations

from dash import dash_table


def _column(name: str, markdown: tuple[str, ...]) -> dict:
    if name in markdown:
        return {"name": name, "id": name, "presentation": "markdown"}
    if name in ("p", "q") or name.endswith(("_p", "_q")) or name.startswith("perm_"):
        # p- and q-values: scientific notation, still sorted and filtered as numbers
        return {"name": name, "id": name, "type": "numeric", "format": {"specifier": ".2e"}}
    return {"name": name, "id": name, "type": "numeric", "format": {"specifier": ".4~r"}}


def data_table(table_id: str, columns: list[str], *, page_size: int = 15, markdown: tuple[str, ...] = (),
               text: tuple[str, ...] = (), data: list | None = None, **kwargs) -> dash_table.DataTable:
    """DataTable with native sort/filter, paging and a CSV export of its rows.

    Columns are numeric (p/q-values in scientific notation) unless listed in
    ``text`` or ``markdown``; the CSV export holds the full-precision numbers.
    """
    return dash_table.DataTable(
        id=table_id,
        columns=[{"name": c, "id": c} if c in text else _column(c, markdown) for c in columns],
        data=data or [], sort_action="native", filter_action="native", page_size=page_size,
        export_format=kwargs.pop("export_format", "csv"), export_headers="ids", style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px", "textAlign": "left"},
        style_header={"fontWeight": 600, "backgroundColor": "#f7fafc"},
        markdown_options={"link_target": "_self"},
        **kwargs,
    )
