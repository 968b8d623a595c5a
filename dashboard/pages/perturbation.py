"""Perturbation signatures (TranscriptionNet 2024): measured L1000 signatures and network context."""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, callback, clientside_callback, dcc, html

from dashboard import services
from dashboard.services import overview
from dashboard.components.gene_picker import gene_picker, register_gene_picker
from dashboard.components.figure_card import figure_card, figure_outputs, render_card
from dashboard.components.shell import page_header
from dashboard.figures.common import empty_figure
from dashboard.figures.overview import layer_degree_figure, signature_bars_figure

dash.register_page(__name__, path="/perturbation", name="Perturbation signatures",
                   title="Perturbation signatures · PerturbScope", order=4)

KIND = "perturbation"
TYPES = ("RNAi", "CRISPR", "OE")


def layout(gene: str | None = None, type: str | None = None, **_):  # noqa: A002 (URL parameter name)
    chosen, notice = services.pick_gene(KIND, gene, overview.perturbation_default_gene())
    return html.Div([
        page_header(
            "Perturbation signatures",
            "Measured L1000 signatures of genetic perturbations (RNAi, CRISPR, overexpression) and each gene's "
            "place in the integrated gene networks (TranscriptionNet, arXiv 2024).",
            simulated_note=services.SIMULATED_NOTE, notice=notice,
        ),
        html.Div(className="controls", children=[
            gene_picker("pert-gene", "Gene", services.genes_of(KIND), chosen, notice is not None),
            html.Label(["Perturbation type", dcc.RadioItems(
                id="q-type", options=list(TYPES), value=type if type in TYPES else TYPES[0], inline=True,
            )], className="control"),
        ]),
        html.Div(className="grid-2", children=[
            figure_card("pert-signature", "Measured signature", height=640),
            figure_card("pert-layers", "Network neighbourhood", height=640),
        ]),
    ])


register_gene_picker("pert-gene")
clientside_callback(
    ClientsideFunction(namespace="perturbscope", function_name="paramsToSearch"),
    Output("url", "search", allow_duplicate=True),
    Input("q-type", "value"),
    prevent_initial_call=True,
)


@callback(*figure_outputs("pert-signature"), *figure_outputs("pert-layers"),
          Input("pert-gene", "value"), Input("q-type", "value"))
def show_gene(gene, kind):
    data = services.dataset(KIND)
    source = services.provenance(KIND, "signature", gene)["dataset"]
    signatures = data.signatures[kind]
    if gene in signatures.index:
        fig = signature_bars_figure(signatures.loc[gene], gene, kind)
        text = (f"Measured {kind} signature of {gene}: the 15 most down- and up-regulated of "
                f"{signatures.shape[1]:,} landmark genes (moderated z-scores). Data: {source}.")
    else:
        fig = empty_figure(f"{gene} has no measured {kind} signature in this dataset.")
        text = ""
    degrees = overview.perturbation_degrees(gene)
    return (
        *render_card(fig, services.provenance(KIND, f"{kind}-signature", gene, type=kind), text),
        *render_card(layer_degree_figure(degrees, gene), services.provenance(KIND, "network-degree", gene),
                     f"Number of neighbours of {gene} in each of {len(degrees)} network layers. Data: {source}."),
    )
