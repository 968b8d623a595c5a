"""The gene card: one gene across the four methods, from stored results (instant)."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html, no_update

from dashboard.text import plural
from dashboard import services
from dashboard.components.figure_card import figure_card, render_card
from dashboard.components.shell import page_header, register_download
from dashboard.export import export_filename
from dashboard.figures.gene import card_figure
from dashboard.services import gene as gene_service

dash.register_page(__name__, path="/gene", name="Gene card", title="Gene card · PerturbScope", order=7)

EXAMPLES = ("RPP25L", "RPP25", "KRAS", "MCL1", "HNF4A", "SPI1")


def _facts(facts: list[tuple[str, str]]) -> html.Table | None:
    if not facts:
        return None
    return html.Table(className="facts", children=[
        html.Tbody([html.Tr([html.Th(name, scope="row"), html.Td(value)]) for name, value in facts])])


def _section(gene: str, section) -> html.Div:
    method = section.method
    link = dcc.Link(f"Open {gene} on the {gene_service.METHOD_TITLES[method].split(' (')[0]} page →",
                    href=f"{gene_service.METHOD_PAGES[method]}?gene={gene}", className="card-link")
    return html.Div(className=f"card gene-section{'' if section.available else ' no-data'}",
                    id=f"gene-{method}", children=[
        html.H2(gene_service.METHOD_TITLES[method], className="card-title"),
        html.P(section.summary, className="gene-summary"),
        _facts(section.facts),
        link,
    ])


def _published(gene: str, card) -> html.Div:
    from dashboard.services.essentiality import published_text

    children = [html.H2("Published (Rosenski et al. 2023, DepMap CRISPR): real data", className="card-title"),
                html.P(published_text(gene))]
    if len(card.published_modifier_of):
        top = card.published_modifier_of.head(8)
        listed = ", ".join(f"{t} ({v:.2f})" for t, v in zip(top["target"], top["importance"]))
        children.append(html.P(f"Published modifier of {plural(len(card.published_modifier_of), 'target')}, by XGBoost "
                               f"importance: {listed}."))
    return html.Div(className="card published", id="gene-published", children=children)


def _start(notice: str | None) -> html.Div:
    links = [dcc.Link(g, href=f"/gene?gene={g}", className="gene-chip") for g in EXAMPLES]
    return html.Div([
        page_header("Gene card", "One gene across the four methods: search a gene above, or start with one of "
                    "these genes shared by every demo dataset.", simulated_note=services.SIMULATED_NOTE,
                    notice=notice),
        html.Div(links, className="gene-chips"),
        html.P(dcc.Link("Compare a list of genes →", href="/genes"), className="card-link"),
    ])


def layout(gene: str | None = None, **_):
    symbol, notice = gene_service.resolve_gene(gene)
    if symbol is None:
        return _start(notice)
    card = gene_service.gene_card(symbol)
    sections = card.sections
    return html.Div([
        page_header(f"{symbol}: one gene, four methods",
                    "Each method's stored result on this gene (demo datasets, trained models and the atlas): "
                    "open a method to go deeper or to run it on other settings.",
                    simulated_note=services.SIMULATED_NOTE, notice=notice, shown_gene=symbol),
        dcc.Store(id="gene-card-gene", data=symbol),
        html.Div(className="card concordance", children=[
            html.H2("What the methods say together", className="card-title"),
            html.P(card.concordance, id="gene-concordance"),
            html.Div(className="controls", children=[
                html.Button("Download all numbers (CSV zip)", id="gene-zip", n_clicks=0, className="export-button"),
                dcc.Link("Compare with other genes →", href=f"/genes?genes={symbol}", className="card-link"),
            ]),
        ]),
        html.Div(className="grid-2", children=[_section(symbol, sections[m]) for m in gene_service.METHODS]),
        _published(symbol, card),
        # drawn once the words are on screen: a graph in the first render makes the page wait for plotly.js
        html.Div(id="gene-figure-slot", children=html.Div("Drawing the four-panel figure…", className="card")),
    ])


@callback(
    Output("gene-figure-slot", "children"),
    Input("gene-card-gene", "data"),
)
def draw_figure(gene):
    """The card's four-panel figure, with its export bar and methods text."""
    if not gene:
        return no_update
    card = gene_service.gene_card(gene)
    fig = card_figure(card)
    provenance = services.provenance("essentiality", "gene-card", gene,
                                     datasets={m: services.source_label(m) for m in gene_service.METHODS})
    return figure_card("gene-card", f"{gene} across four methods", height=870,
                       initial=render_card(fig, provenance, _methods_text(gene)))


def _methods_text(gene: str) -> str:
    return (f"Gene card of {gene}: each panel is read from the stored result of one method on its demo dataset "
            "(simulated): the modifier-gene atlas's chosen model on held-out cell lines (Rosenski et al. 2023), "
            "the DEcode CNN's tissue profile (Tasaki et al. 2020), DKO's in-silico knockout of the gene in every "
            "cell where it is present (He et al. 2025) and TranscriptionNet's predicted signature (2024).")


download_zip = register_download(  # all numbers of the card as CSV files in one zip
    "gene-zip", ("gene-card-gene", "data"),
    lambda gene: dcc.send_bytes(gene_service.card_zip(gene_service.gene_card(gene)),
                                export_filename(gene, "gene-card", "zip")))
