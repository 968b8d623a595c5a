"""A page's own gene picker, kept in step with the URL's ``gene`` parameter."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from dashboard.components.url_params import RENDER_ID


def gene_picker(picker_id: str, label: str, genes, chosen: str, fell_back: bool) -> html.Div:
    """Dropdown of the page's genes plus a store of the gene the page fell back to.

    ``fell_back`` is true when the URL's gene is not in this page's dataset: the
    page shows ``chosen``, which is not the user's choice, so the picker does not
    navigate for it (the page header corrects the address bar in place).
    """
    return html.Div(className="control", children=[
        dcc.Store(id=f"{picker_id}-shown", data=chosen if fell_back else None),
        html.Label(label, htmlFor=picker_id),
        dcc.Dropdown(id=picker_id, options=list(genes), value=chosen, clearable=False),
    ])


def register_gene_picker(picker_id: str) -> None:
    """Picking a gene navigates to ``?gene=...`` (the page re-renders from the URL)."""
    clientside_callback(
        ClientsideFunction(namespace="perturbscope", function_name="geneToSearch"),
        Output("url", "search", allow_duplicate=True),
        Input(picker_id, "value"),
        State(f"{picker_id}-shown", "data"),
        State(RENDER_ID, "data"),
        prevent_initial_call=True,
    )
