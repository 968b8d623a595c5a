"""DEcode (Tasaki et al. 2020): binding sites of a gene and its expression across tissues."""

from __future__ import annotations

import dash
from dash import Input, callback, html

from dashboard import services
from dashboard.services import overview
from dashboard.components.gene_picker import gene_picker, register_gene_picker
from dashboard.components.figure_card import figure_card, figure_outputs, render_card
from dashboard.components.shell import page_header
from dashboard.figures.overview import binding_map_figure, tissue_profile_figure

dash.register_page(__name__, path="/decode", name="DEcode", title="DEcode · PerturbScope", order=2)

KIND = "decode"


def layout(gene: str | None = None, **_):
    default = overview.decode_default_gene()
    chosen, notice = services.pick_gene(KIND, gene, default)
    return html.Div([
        page_header(
            "DEcode: binding sites and tissue expression",
            "Where regulators bind a gene's promoter and mRNA, and how the gene is expressed across tissues "
            "(Tasaki et al., Nat Mach Intell 2020).",
            simulated_note=services.SIMULATED_NOTE, notice=notice,
        ),
        html.Div(className="controls", children=[
            gene_picker("dec-gene", "Gene", services.genes_of(KIND), chosen, notice is not None),
        ]),
        figure_card("dec-profile", "Expression across tissues", height=620),
        html.Div(className="grid-2", children=[
            figure_card("dec-promoter", "Promoter binding map", height=520),
            figure_card("dec-mrna", "mRNA binding map", height=520),
        ]),
    ])


register_gene_picker("dec-gene")


@callback(*figure_outputs("dec-profile"), *figure_outputs("dec-promoter"), *figure_outputs("dec-mrna"),
          Input("dec-gene", "value"))
def show_gene(gene):
    profile, median = overview.decode_profile(gene)
    promoter, mrna = overview.decode_binding(gene)
    source = services.provenance(KIND, "tissue-profile", gene)["dataset"]
    return (
        *render_card(tissue_profile_figure(profile, gene, median), services.provenance(KIND, "tissue-profile", gene),
                     f"Measured expression of {gene} in {len(profile)} tissues as log fold change against the "
                     f"gene's median across tissues (DEcode's targets). Data: {source}."),
        *render_card(binding_map_figure(promoter, gene, "promoter", "position relative to the TSS (bp, 100-bp bins)"),
                     services.provenance(KIND, "promoter-binding", gene),
                     f"Transcription-factor binding in 100-bp bins from -2,000 to +1,000 bp around the {gene} "
                     f"transcription start site; rows are regulators with any binding. Data: {source}."),
        *render_card(binding_map_figure(mrna, gene, "mRNA", "position along the transcript (100-nt bins)"),
                     services.provenance(KIND, "mrna-binding", gene),
                     f"RNA-binding-protein and miRNA binding along the {gene} transcript in 100-nt bins; "
                     f"rows are regulators with any binding. Data: {source}."),
    )
