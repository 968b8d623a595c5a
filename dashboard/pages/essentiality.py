"""Modifier genes (Rosenski, Shifman & Kaplan 2023): which genes' expression tracks a target's essentiality."""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dash_table, dcc, html, no_update

from dashboard import services
from dashboard.services import essentiality as screen_service
from dashboard.components.gene_picker import gene_picker, register_gene_picker
from dashboard.components.figure_card import figure_card, figure_outputs, render_card
from dashboard.components.job_panel import job_callback_kwargs, job_panel, register_cancel_message
from dashboard.components.shell import page_header
from dashboard.figures.common import empty_figure
from dashboard.figures.essentiality import effect_by_lineage_figure, effect_scatter_figure, top_correlates_figure

dash.register_page(__name__, path="/essentiality", name="Modifier genes", title="Modifier genes · PerturbScope", order=1)

KIND = "essentiality"
DEFAULT_TARGET = "RPP25L"
DEFAULT_PERMS = 200
TABLE_COLUMNS = ["gene", "pearson_r", "pearson_q", "spearman_rho", "spearman_q", "perm_fwer_p"]


def _perms(value) -> int:
    try:
        return max(0, min(100_000, int(value)))
    except (TypeError, ValueError):
        return DEFAULT_PERMS


def layout(gene: str | None = None, perms: str | None = None, **_):
    target, notice = services.pick_gene(KIND, gene, DEFAULT_TARGET)
    data = services.dataset(KIND)
    return html.Div([
        page_header(
            "Modifier genes",
            "Which genes' expression predicts a target gene's CRISPR essentiality across cancer cell lines "
            "(Rosenski, Shifman & Kaplan, BMC Med Genomics 2023).",
            simulated_note=services.SIMULATED_NOTE, notice=notice,
        ),
        html.Div(className="controls", children=[
            gene_picker("ess-target", "Target gene", services.genes_of(KIND), target, notice is not None),
            html.Label(["Permutations (family-wise error)", dcc.Input(
                id="q-perms", type="number", min=0, max=100000, step=50, value=_perms(perms), debounce=True,
            )], className="control"),
            html.Span(f"{data.expression.shape[0]:,} cell lines · {data.expression.shape[1]:,} expressed genes · "
                      f"{data.effect.shape[1]:,} target genes", className="control-note"),
        ]),
        dcc.Store(id="ess-result"),
        figure_card("ess-lineage", "Gene effect by lineage", height=420),
        html.Div(className="card", children=[
            html.H3("Genome-wide correlation screen", className="card-title"),
            html.P("Correlates the target's gene effect with every gene's expression (Pearson and Spearman, "
                   "Benjamini-Hochberg FDR per test) and, with permutations, controls the family-wise error "
                   "with a max-|r| permutation null. Results are cached: a repeated request is instant.",
                   className="card-help"),
            job_panel("ess-screen", "Run screen"),
        ]),
        html.Div(className="grid-2", children=[
            figure_card("ess-top", "Top correlated genes", height=560),
            figure_card("ess-scatter", "Effect against the top gene's expression", height=560),
        ]),
        html.Div(className="card", children=[
            html.H3("Screen results (top 200 genes)", className="card-title"),
            dash_table.DataTable(
                id="ess-table", columns=[{"name": c, "id": c} for c in TABLE_COLUMNS], data=[],
                sort_action="native", filter_action="native", page_size=15, export_format="csv",
                export_headers="ids", style_table={"overflowX": "auto"},
                style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px"},
            ),
        ]),
    ])


register_gene_picker("ess-target")
clientside_callback(
    ClientsideFunction(namespace="perturbscope", function_name="paramsToSearch"),
    Output("url", "search", allow_duplicate=True),
    Input("q-perms", "value"),
    prevent_initial_call=True,
)


@callback(*figure_outputs("ess-lineage"), Input("ess-target", "value"))
def show_lineages(target):
    data = services.dataset(KIND)
    fig = effect_by_lineage_figure(data.effect[target], data.cells["lineage"], target)
    prov = services.provenance(KIND, "effect-by-lineage", target)
    methods = (f"CRISPR gene effect of {target} across {data.effect[target].notna().sum():,} cell lines grouped by "
               f"lineage (boxes: median and interquartile range; whiskers 1.5 IQR). Data: {prov['dataset']}. "
               f"Figure from {prov['app']}.")
    return render_card(fig, prov, methods)


register_cancel_message("ess-screen")


@callback(
    Output("ess-result", "data"),
    Output("ess-screen-error", "children"),
    Input("ess-screen-run", "n_clicks"),
    State("ess-target", "value"),
    State("q-perms", "value"),
    **job_callback_kwargs("ess-screen"),
)
def run_screen(set_progress, _n, target, perms):
    outcome = screen_service.essentiality_screen(target, _perms(perms), set_progress)
    if outcome.error:
        return no_update, outcome.error
    return {"target": target, "perms": _perms(perms), "seconds": round(outcome.seconds, 2)}, ""


@callback(
    Output("ess-result", "data", allow_duplicate=True),
    Input("ess-target", "value"),
    Input("q-perms", "value"),
    prevent_initial_call="initial_duplicate",
)
def load_cached_screen(target, perms):
    """Show a stored screen for the current parameters at once, if there is one."""
    if screen_service.essentiality_screen_result(target, _perms(perms)) is None:
        return None
    return {"target": target, "perms": _perms(perms), "cached": True}


@callback(
    *figure_outputs("ess-top"),
    *figure_outputs("ess-scatter"),
    Output("ess-table", "data"),
    Output("ess-screen-status", "children", allow_duplicate=True),
    Input("ess-result", "data"),
    prevent_initial_call=True,
)
def show_screen(result):
    empty = empty_figure("Run the screen to see the genes that track this target.")
    if not result:
        blank = (empty, {"displaylogo": False}, "")
        return *blank, *blank, [], "Idle."
    target, perms = result["target"], result["perms"]
    table = screen_service.essentiality_screen_result(target, perms)
    if table is None:
        blank = (empty, {"displaylogo": False}, "")
        return *blank, *blank, [], "The stored result is gone; run the screen again."
    data = services.dataset(KIND)
    params = {"n_permutations": perms}
    top_prov = services.provenance(KIND, "screen-top-genes", target, **params)
    top_fig = top_correlates_figure(table, target)
    best = table.iloc[0]
    scatter_prov = services.provenance(KIND, f"scatter-{best['gene']}", target, **params)
    scatter_fig = effect_scatter_figure(
        data.expression[best["gene"]], data.effect[target], data.cells["lineage"], best["gene"], target,
        r=float(best["pearson_r"]), q=float(best["pearson_q"]),
    )
    n_sig = int((table["pearson_q"] < 0.05).sum())
    methods = (f"For {target}, the CRISPR gene effect was correlated with the expression of each of {len(table):,} "
               f"genes across cell lines (Pearson and Spearman; Benjamini-Hochberg FDR per test; {n_sig:,} genes at "
               f"q < 0.05)" + (f"; family-wise error from {perms:,} permutations of the effect (max-|r| null)"
                               if perms else "") + f". Data: {top_prov['dataset']}. {top_prov['app']}.")
    rows = table.head(200)[TABLE_COLUMNS].round(6).to_dict("records")
    status = ("Loaded the stored result." if result.get("cached")
              else f"Finished in {result.get('seconds', 0):.1f} s.")
    return (
        *render_card(top_fig, top_prov, methods),
        *render_card(scatter_fig, scatter_prov, methods),
        rows, status,
    )
