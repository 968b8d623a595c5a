"""A gene list at once: each method's headline number for up to 200 genes."""

from __future__ import annotations

import base64

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard import services
from dashboard.services import InputError
from dashboard.components.figure_card import figure_card, render_card
from dashboard.components.shell import page_header, register_download
from dashboard.components.tables import data_table
from dashboard.export import export_filename
from dashboard.figures.gene import gene_matrix_figure
from dashboard.services import gene as gene_service

dash.register_page(__name__, path="/genes", name="Gene list", title="Gene list · PerturbScope", order=8)

EXAMPLE = "RPP25L,KRAS,MCL1,HNF4A,FAM50A,SPI1,TP53,RPP25"
TABLE_COLUMNS = ["gene", *gene_service.HEADLINE_COLUMNS.values()]


def layout(genes: str | None = None, **_):
    text = genes or ""
    notice, body = None, []
    try:
        chosen = gene_service.parse_gene_list(text)
    except InputError as exc:
        chosen, notice = [], str(exc)
    if chosen:
        matrix, unknown = gene_service.gene_matrix(chosen)
        if unknown:
            notice = (f"Not in any dataset ({len(unknown)}): {', '.join(unknown[:30])}"
                      f"{' ...' if len(unknown) > 30 else ''}. Check the symbols (e.g. RPP25L).")
        body = _results(matrix) if len(matrix) else []
    return html.Div([
        page_header("Gene list", "Paste or upload up to 200 gene symbols: each method's headline number for each "
                    "gene, from stored results. Click a gene to open its card.",
                    simulated_note=services.SIMULATED_NOTE, notice=notice),
        html.Div(className="card", children=[
            html.Label("Genes (comma, space or one per line)", htmlFor="genes-text"),
            dcc.Textarea(id="genes-text", value=text.replace(",", ", "), placeholder=EXAMPLE,
                         style={"width": "100%", "height": "5em"}),
            html.Div(className="controls", children=[
                html.Button("Compare", id="genes-go", n_clicks=0, className="run-button"),
                dcc.Upload(html.Button("Upload a gene list (.txt, .csv)", className="export-button"),
                           id="genes-upload", accept=".txt,.csv,.tsv,text/plain", max_size=1_000_000),
                dcc.Link("Example list", href=f"/genes?genes={EXAMPLE}", className="card-link"),
            ]),
        ]),
        *body,
    ])


def _results(matrix) -> list:
    labels = gene_service.HEADLINES
    fig = gene_matrix_figure(matrix, labels)
    provenance = services.provenance("essentiality", "gene-list", None, genes=list(matrix.index),
                                     datasets={m: services.source_label(m) for m in gene_service.METHODS})
    methods = ("Each column is one method's headline number from its stored result on its demo dataset: "
               + "; ".join(f"{m}: {labels[m]}" for m in gene_service.METHODS)
               + ". Colours are scaled within each method (its lowest gene 0, highest 1); cells say the value.")
    initial = render_card(fig, provenance, methods)
    table = matrix.rename(columns=gene_service.HEADLINE_COLUMNS).reset_index()
    records = [{**{k: (None if v != v else float(v)) for k, v in row.items() if k != "gene"},
                "gene": f"[{row['gene']}](/gene?gene={row['gene']})"} for row in table.to_dict("records")]
    height = max(380, 140 + 28 * 4 + 8 * min(len(matrix), 60))
    return [
        figure_card("gene-matrix", "Methods x genes", height=height, initial=initial),
        html.Div(className="card", children=[
            html.Div(className="card-header", children=[
                html.H3("Headline numbers", className="card-title"),
                html.Button("Download CSV", id="genes-csv", n_clicks=0, className="export-button"),
            ]),
            html.Ul([html.Li(f"{gene_service.HEADLINE_COLUMNS[m]}: {labels[m]}") for m in gene_service.METHODS],
                    className="card-help"),
            dcc.Store(id="genes-chosen", data=list(matrix.index)),
            data_table("genes-table", TABLE_COLUMNS, page_size=25, markdown=("gene",), data=records, export="",
                       definitions={"gene": "Gene symbol; opens its card"}),
        ]),
    ]


@callback(
    Output("url", "search", allow_duplicate=True),
    Input("genes-go", "n_clicks"),
    Input("genes-upload", "contents"),
    State("genes-text", "value"),
    prevent_initial_call=True,
)
def compare(_clicks, upload, text):
    """Put the pasted or uploaded genes in the URL (the page re-renders from it)."""
    if dash.ctx.triggered_id == "genes-upload" and upload:
        try:
            text = base64.b64decode(upload.split(",", 1)[1]).decode("utf-8", errors="replace")
        except (ValueError, IndexError):
            return no_update
    genes = gene_service.split_genes(text)
    return f"?genes={','.join(genes)}" if genes else no_update


def _list_csv(genes):
    """The list's numbers as a tidy CSV with named columns and provenance."""
    matrix, _ = gene_service.gene_matrix(genes)
    return dcc.send_string(gene_service.matrix_csv(matrix), export_filename(None, "gene-list", "csv"),
                           type="text/csv")


download_csv = register_download("genes-csv", ("genes-chosen", "data"), _list_csv)
