"""App-level callbacks: gene search, URL sync and navigation links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, no_update

from dashboard import services
from dashboard.components.shell import NAV, SHOWN_GENE_ID

CARRIED_PARAMS = ("gene", "dataset")


@callback(
    Output("gene-search", "options"),
    Input("gene-search", "search_value"),
    Input("gene-search", "value"),  # a gene set from the URL must be among the options to show
)
def gene_options(search_value, value):
    """Autocomplete: symbols (prefix matches first, then substring, any case), then matching gene ids."""
    options = services.search_options(search_value)
    if value and value not in {o["value"] for o in options}:
        options = [{"label": value, "value": value}, *options]
    return options


@callback(
    Output("gene-search", "value"),
    *[Output(f"nav-{path.strip('/') or 'home'}", "href") for path, _ in NAV],
    Input("url", "search"),
    State("gene-search", "value"),
)
def follow_url(search, current):
    """Show the URL's gene in the search box; links carry gene and dataset."""
    query = parse_qs((search or "").lstrip("?"))
    gene = (query.get("gene") or [None])[0]
    carried = {k: query[k][0] for k in CARRIED_PARAMS if query.get(k)}
    suffix = f"?{urlencode(carried)}" if carried else ""
    hrefs = [f"{path}{suffix}" for path, _ in NAV]
    return (gene if gene and gene != current else no_update), *hrefs


clientside_callback(
    ClientsideFunction(namespace="perturbscope", function_name="openGeneCard"),
    Output("url", "href"),
    Input("gene-search", "value"),
    State("url", "search"),
    prevent_initial_call=True,
)

clientside_callback(
    ClientsideFunction(namespace="perturbscope", function_name="correctGene"),
    Output(SHOWN_GENE_ID, "data"),
    Input(SHOWN_GENE_ID, "data"),
)
