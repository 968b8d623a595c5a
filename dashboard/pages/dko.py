"""DKO (He et al. 2025): single-cell expression, the input of virtual knockouts."""

from __future__ import annotations

import dash
from dash import Input, callback, html

from dashboard import services
from dashboard.services import overview
from dashboard.components.gene_picker import gene_picker, register_gene_picker
from dashboard.components.figure_card import figure_card, figure_outputs, render_card
from dashboard.components.shell import page_header
from dashboard.figures.overview import expression_by_group_figure, group_mean_heatmap_figure

dash.register_page(__name__, path="/dko", name="DKO", title="DKO · PerturbScope", order=3)

KIND = "dko"


def layout(gene: str | None = None, **_):
    chosen, notice = services.pick_gene(KIND, gene, services.genes_of(KIND)[0])
    return html.Div([
        page_header(
            "DKO: single-cell virtual knockouts",
            "Each cell's expression profile and the set of genes present in it, the input from which DKO learns "
            "assemblage-to-profile maps (He, Klein, Levy & Wang, arXiv 2025).",
            simulated_note=services.SIMULATED_NOTE, notice=notice,
        ),
        html.Div(className="controls", children=[
            gene_picker("dko-gene", "Gene", services.genes_of(KIND), chosen, notice is not None),
        ]),
        html.Div(className="grid-2", children=[
            figure_card("dko-expression", "Expression per cell type", height=480),
            figure_card("dko-types", "Most variable genes by cell type", height=480),
        ]),
    ])


register_gene_picker("dko-gene")


@callback(*figure_outputs("dko-expression"), *figure_outputs("dko-types"), Input("dko-gene", "value"))
def show_gene(gene):
    data = services.dataset(KIND)
    values = data.expression.loc[gene]
    means = overview.dko_type_means(n_genes=30)
    source = services.provenance(KIND, "expression", gene)["dataset"]
    return (
        *render_card(expression_by_group_figure(values, data.cells["cell_type"], gene, "cell type"),
                     services.provenance(KIND, "expression-by-cell-type", gene),
                     f"Expression of {gene} in each of {len(values):,} cells grouped by cell type (violins with "
                     f"box and mean); the legend gives the fraction of cells expressing it. Data: {source}."),
        *render_card(group_mean_heatmap_figure(means, "Mean expression of the 30 most variable genes, z-scored per gene"),
                     services.provenance(KIND, "cell-type-means", None, n_genes=30),
                     f"Mean expression per cell type of the 30 genes with the largest variance across cells, "
                     f"z-scored per gene. Data: {source}."),
    )
