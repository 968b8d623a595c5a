"""Connectivity query: which knockdowns, knockouts or overexpressions mimic or reverse a signature (CMap-style)."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard import services
from dashboard.services import InputError
from dashboard.components.dataset_picker import dataset_picker, register_dataset_picker, source_state
from dashboard.components.figure_card import blank_card, figure_card, render_card
from dashboard.components.job_panel import (
    cancellable, job_callback_kwargs, job_panel, job_status, register_cancel_message, shows_job_result,
)
from dashboard.components.shell import method_header
from dashboard.components.subnav import subnav
from dashboard.components.tables import data_table, table_id
from dashboard.components.url_params import record_in_url
from dashboard.figures.perturbation import connectivity_figure
from dashboard.services import connectivity as conn
from dashboard.services import perturbation as tnet

dash.register_page(__name__, path="/perturbation/connectivity", name="Connectivity query",
                   title="Connectivity query · PerturbScope", order=4)

KIND = "perturbation"
PAGE = "pconn"
MODES = [{"label": "Paste up / down gene lists", "value": "lists"},
         {"label": "Use a measured signature", "value": "signature"}]


def _set_options(source: str, epochs, width) -> tuple[list[dict], list[str], str]:
    """Checklist options (predicted sets disabled without stored models), the default choice, and a note."""
    available = conn.available(source, epochs, width)
    options = [{"label": name, "value": name, "disabled": name not in available} for name in conn.set_names(source)]
    note = ("" if len(available) == len(options) else
            f"Predicted signatures need stored TranscriptionNet models with {epochs} epochs and width {width}: "
            f"train them on the Signatures page (the demo ships the default settings).")
    return options, available, note


def layout(gene: str | None = None, type: str | None = None, epochs: str | None = None,  # noqa: A002 (URL name)
           width: str | None = None, data: str | None = None, mode: str | None = None, up: str | None = None,
           down: str | None = None, n: str | None = None, sets: str | None = None, center: str | None = None, **_):
    """Query keys: data, gene, type, epochs, width, and the search's mode, up, down, n, sets and center
    (written to the address bar when a search finishes; a stored result then shows at once)."""
    source, data_notice = services.pick_source(KIND, data)
    kind = tnet.pick_type(type, source)
    measured = services.dataset(KIND, source).signatures[kind]
    chosen = gene if gene in measured.index else str(measured.index[0])
    epochs = _int(epochs, tnet.DEFAULT_EPOCHS)
    width = _int(width, tnet.DEFAULT_WIDTH)
    options, value, note = _set_options(source, epochs, width)
    if sets is not None:
        value = [name for name in sets.split(",") if name in value]
    n_landmarks = len(services.dataset(KIND, source).landmarks)
    return html.Div([
        method_header(
            "Connectivity query",
            "Which knockdowns (RNAi), knockouts (CRISPR) or overexpressions (OE) mimic or reverse a signature? "
            "A CMap-style query of measured and TranscriptionNet-predicted signatures with the weighted "
            "Kolmogorov-Smirnov connectivity score.",
            source, (data_notice,), None),
        subnav(conn.SECTIONS, "/perturbation/connectivity", query={"data": None if services.is_demo(source)
                                                                   else source}),
        html.Div(className="controls", children=[
            dataset_picker(PAGE, KIND, source),
            html.Label(["Query", dcc.RadioItems(id="pconn-mode", options=MODES, inline=True,
                                                 value=mode if mode in {m["value"] for m in MODES} else "lists")],
                       className="control"),
            html.Label(["Predicted signatures from models with max. epochs", dcc.Input(
                id="pconn-epochs", type="number", min=1, max=tnet.MAX_EPOCHS, step=1, value=epochs, debounce=True,
            )], className="control"),
            html.Label(["and FunDNN width", dcc.Dropdown(
                id="pconn-width", options=list(tnet.WIDTHS), value=width, clearable=False,
            )], className="control"),
        ]),
        html.Div(className="grid-2", children=[
            html.Div(className="card", children=[
                html.H3("Pasted lists", className="card-title"),
                html.P(f"Symbols or Entrez ids, separated by spaces, commas or new lines; at least 5 per list. Only "
                       f"the {n_landmarks:,} landmark genes are scored; others are listed and left out.",
                       className="card-help"),
                html.Label(["Up-regulated genes", dcc.Textarea(id="pconn-up", style={"width": "100%", "height": 110}, value=up,
                                                               placeholder="e.g. pasted from a drug's signature")]),
                html.Label(["Down-regulated genes", dcc.Textarea(id="pconn-down", value=down,
                                                                 style={"width": "100%", "height": 110})]),
            ]),
            html.Div(className="card", children=[
                html.H3("A measured signature", className="card-title"),
                html.P("Its top and bottom landmark genes become the up and down lists.", className="card-help"),
                html.Label(["Perturbation type", dcc.RadioItems(
                    id="pconn-type", options=list(tnet.types_of(source)), value=kind, inline=True)]),
                html.Label(["Perturbed gene", dcc.Dropdown(
                    id="pconn-gene", options=sorted(map(str, measured.index)), value=chosen, clearable=False)]),
                html.Label(["Top and bottom genes", dcc.Input(
                    id="pconn-n", type="number", min=5, max=conn.MAX_N, step=1, value=_int(n, conn.DEFAULT_N))]),
            ]),
        ]),
        html.Div(className="card", children=[
            html.H3("Search", className="card-title"),
            html.Label(["Signature sets to search", dcc.Checklist(
                id="pconn-sets", options=options, value=value, inline=True)]),
            dcc.Checklist(id="pconn-center", options=[{
                "label": " Remove each set's average signature first (recommended: every signature shares a common "
                         "response, predictions most of all, and without removing it nearly every signature mimics a "
                         "query that carries it)", "value": "center"}], value=[] if center == "" else ["center"]),
            html.P(note, id="pconn-sets-note", className="card-help"),
            html.P(
                f"Score: CMap's weighted connectivity score (Subramanian et al. 2017): ES_up and ES_down are GSEA's "
                f"weighted Kolmogorov-Smirnov enrichment scores of the up and down genes in each signature's "
                f"ranking; score = (ES_up - ES_down) / 2 when they have opposite signs, else 0 (from +1, mimics, to "
                f"-1, reverses). Significance: {conn.N_PERMUTATIONS:,} random queries of the same sizes per "
                f"signature; the normalized score divides by the signature's mean null score of the same sign; "
                f"perm_p compares it with the pooled null of all searched signatures; q is Benjamini-Hochberg over "
                f"them.", className="card-help"),
            job_panel("pconn", "Search"),
            html.P(id="pconn-summary", className="card-help", style={"fontWeight": 600}),
        ]),
        dcc.Store(id="pconn-result"),
        figure_card("pconn-plot", "Most mimicking and most reversing signatures", height=720),
        html.Div(className="card", children=[
            html.H3("All searched signatures, ranked (click a gene for its card)", className="card-title"),
            data_table("pconn-table", conn.COLUMNS, page_size=20, markdown=("gene",), export="connectivity",
                       definitions={"q": "Benjamini–Hochberg q of the permutation p over all searched signatures",
                                    "gene": "Gene of the signature; opens its card"}),
        ]),
    ])


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


register_dataset_picker(PAGE)
#: The controls behind a search, by URL parameter.
QUERY_CONTROLS = {"mode": "pconn-mode", "up": "pconn-up", "down": "pconn-down", "gene": "pconn-gene",
                  "type": "pconn-type", "n": "pconn-n", "sets": "pconn-sets", "epochs": "pconn-epochs",
                  "width": "pconn-width", "center": "pconn-center"}
record_in_url("pconn-result", QUERY_CONTROLS)
register_cancel_message("pconn")


@callback(
    Output("pconn-sets", "options"),
    Output("pconn-sets", "value"),
    Output("pconn-sets-note", "children"),
    Input("pconn-epochs", "value"),
    Input("pconn-width", "value"),
    source_state(PAGE),
    prevent_initial_call=True,
)
def update_sets(epochs, width, source=services.DEFAULT_DATASET):
    return _set_options(source, _int(epochs, tnet.DEFAULT_EPOCHS), _int(width, tnet.DEFAULT_WIDTH))


@callback(
    Output("pconn-gene", "options"),
    Output("pconn-gene", "value"),
    Input("pconn-type", "value"),
    State("pconn-gene", "value"),
    source_state(PAGE),
    prevent_initial_call=True,
)
def update_genes(kind, gene, source=services.DEFAULT_DATASET):
    genes = sorted(map(str, services.dataset(KIND, source).signatures[tnet.pick_type(kind, source)].index))
    return genes, gene if gene in genes else genes[0]


@callback(
    Output("pconn-result", "data"),
    Output("pconn-error", "children"),
    Input("pconn-run", "n_clicks"),
    *[State(control, "value") for control in QUERY_CONTROLS.values()],
    source_state(PAGE),
    **job_callback_kwargs("pconn"),
)
@cancellable("pconn")
def run_search(set_progress, _n, mode, up, down, gene, kind, n, sets, epochs, width, center,
               source=services.DEFAULT_DATASET):
    center = bool(center)
    try:
        query = conn.build_query(source, mode, up, down, gene, kind, n, center=center)
    except InputError as exc:
        return no_update, str(exc)
    outcome = conn.search.run(set_progress, query=query, sets=sets, epochs=epochs, width=width, center=center,
                              source=source)
    if outcome.error:
        return no_update, outcome.error
    return {"params": conn.job_params(query, sets, epochs, width, center), "label": query["label"],
            "unknown": query["unknown"], "seconds": round(outcome.seconds, 2)}, ""


def _stored_table(params: dict, source: str):
    """The stored table of a search whose :func:`~dashboard.services.connectivity.job_params` the store holds."""
    return conn.search.result(query=params, sets=params["sets"], epochs=params["epochs"], width=params["width"],
                              center=params["center"], source=source)


@callback(
    Output("pconn-result", "data", allow_duplicate=True),
    Input("pconn-mode", "value"),
    *[State(control, "value") for key, control in QUERY_CONTROLS.items() if key != "mode"],
    source_state(PAGE),
    prevent_initial_call="initial_duplicate",
)
def load_stored_search(mode, up, down, gene, kind, n, sets, epochs, width, center, source=services.DEFAULT_DATASET):
    """A link's query shows its stored result when the page opens (searching again gives the same table)."""
    if dash.ctx.triggered_id is not None:
        return no_update
    return stored_search(mode, up, down, gene, kind, n, sets, epochs, width, center, source) or no_update


def stored_search(mode, up, down, gene, kind, n, sets, epochs, width, center, source) -> dict | None:
    """The ``pconn-result`` of a query already searched, or None."""
    try:
        query = conn.build_query(source, mode, up, down, gene, kind, n, center=bool(center))
        params = conn.job_params(query, sets or [], epochs, width, bool(center))
    except (InputError, TypeError, ValueError):
        return None
    if not params["sets"] or _stored_table(params, source) is None:
        return None
    return {"params": params, "label": query["label"], "unknown": query["unknown"], "cached": True}


@shows_job_result("pconn", "pconn-result", cards=("pconn-plot",),
                  outputs=[Output(table_id("pconn-table"), "rowData"), Output("pconn-summary", "children")],
                  inputs=[source_state(PAGE)])
def show_search(result, source=services.DEFAULT_DATASET):
    table = _stored_table(result["params"], source) if result else None
    if table is None:
        blank = blank_card("Search to see which signatures mimic or reverse the query.")
        return *blank, [], "", "The stored result is gone; search again." if result else "Idle."
    params = result["params"]
    shown = conn.display_table(table, params, source)
    prov = services.provenance(KIND, "connectivity", None, source=source, sets=params["sets"],
                               epochs=params["epochs"], width=params["width"], n_up=len(params["up"]),
                               n_down=len(params["down"]), n_permutations=params["n_permutations"])
    centred = "each set's average signature removed, " if params.get("center") else ""
    methods = (f"Query: {result['label']}. Searched {len(table):,} signatures ({', '.join(params['sets'])}; "
               f"{centred}predicted ones from TranscriptionNet with {params['epochs']} epochs, width "
               f"{params['width']}). "
               f"Weighted KS connectivity score with {params['n_permutations']:,} seeded random queries per "
               f"signature. Bars: the 15 highest and 15 lowest scores.")
    fig = render_card(connectivity_figure(shown, result["label"]), prov, methods)
    significant = int((table["q"] < 0.05).sum())
    unknown = result.get("unknown") or []
    summary = (f"{len(table):,} signatures searched; {significant:,} with q < 0.05 "
               f"({int(((table['q'] < 0.05) & (table['score'] > 0)).sum()):,} mimic, "
               f"{int(((table['q'] < 0.05) & (table['score'] < 0)).sum()):,} reverse).")
    if unknown:
        summary += (f" Not landmark genes, left out ({len(unknown)}): {', '.join(unknown[:12])}"
                    f"{' ...' if len(unknown) > 12 else ''}.")
    status = job_status(result)
    return *fig, shown.to_dict("records"), summary, status
