"""DKO explorer (He, Klein, Levy & Wang 2025): assemblage -> profile model and all-gene virtual knockouts."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard import services
from dashboard.components.dataset_picker import dataset_picker, register_dataset_picker, source_id, source_state
from dashboard.components.figure_card import blank_card, figure_card, figure_outputs, figure_row, render_card
from dashboard.components.gene_picker import gene_picker, register_gene_picker
from dashboard.components.job_panel import job_card, job_status, register_cached_job, shows_job_result
from dashboard.components.shell import method_header
from dashboard.components.url_params import register_url_params
from dashboard.figures.dko import (
    cell_fit_figure, embedding_figure, epistasis_figure, heldout_figure, impact_heatmap_figure,
    impact_violin_figure, presence_figure, top_genes_figure,
)
from dashboard.services import dko as dko_service

dash.register_page(__name__, path="/dko", name="DKO", title="DKO · PerturbScope", order=3)

KIND = "dko"
PAGE = "dko"
DEFAULT_K = 15
CARDS = ("dko-heldout", "dko-cellfit", "dko-heatmap", "dko-violin", "dko-topk", "dko-embedding", "dko-double")


def _k(value) -> int:
    return services.clamp_int(value, DEFAULT_K, 3, 60)


def _gene_set(value, source: str = services.DEFAULT_DATASET) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    genes = set(services.genes_of(KIND, source))
    return [g.strip() for g in items if g and g.strip() in genes]


def _grouping(value, source: str) -> str:
    """A valid grouping for the controls (an unusable one falls back to the default)."""
    try:
        return dko_service.check_grouping(value, source)
    except services.InputError:
        return dko_service.default_grouping(source)


def _cluster_options(payload, source: str, grouping: str | None = None) -> list[dict]:
    grouping = _grouping(grouping, source)
    everything = "all clusters (means)" if grouping == dko_service.KMEANS else "all groups (means)"
    return [{"label": everything if c == "all" else f"drill down: cells of {c}", "value": c}
            for c in ["all"] + dko_service.group_names(payload, grouping, source)]


def _cell_options(payload, source: str, grouping: str | None = None) -> list:
    """The cell picker: cells named with their group (annotations need no sweep; k-means clusters do)."""
    cells = list(map(str, services.dataset(KIND, source).expression.columns))
    labels = dko_service.cell_labels(payload, _grouping(grouping, source), source)
    if labels.empty:
        return cells
    return [{"label": f"{c} · {labels.get(c, '')}", "value": c} for c in cells]


def layout(gene: str | None = None, cell: str | None = None, k: str | None = None, steps: str | None = None,
           cluster: str | None = None, set: str | None = None, data: str | None = None,  # noqa: A002 (URL name)
           group: str | None = None, embedding: str | None = None, **_):
    source, data_notice = services.pick_source(KIND, data)
    dataset = services.dataset(KIND, source)
    payload = dko_service.sweep.result(steps=dko_service.steps_value(steps), source=source)
    default_gene = dko_service.default_gene_set(payload, 1, source)[0]
    chosen, gene_notice = services.pick_gene(KIND, gene, default_gene, source)
    cells = list(map(str, dataset.expression.columns))
    heldout = payload["heldout_cells"] if payload else []
    chosen_cell = cell if cell in cells else (heldout[0] if heldout else cells[0])
    gene_set = _gene_set(set, source) or dko_service.default_gene_set(payload, source=source)
    grouping = _grouping(group, source)
    clusters = _cluster_options(payload, source, grouping)
    maps = dko_service.embedding_choices(source)
    chosen_map = embedding if embedding in [m["value"] for m in maps] else dko_service.default_embedding(source)
    dense = dataset.expression.memory_usage(index=False, deep=False).sum()
    n_genes, n_cells = dataset.expression.shape
    genes = services.genes_of(KIND, source)
    return html.Div([
        method_header(
            "DKO: single-cell virtual knockouts",
            "Learn, in each cell, the map from which genes are present to the expression profile; then knock out "
            "every present gene in every cell in silico and score the impact, without perturbation data "
            "(He, Klein, Levy & Wang, arXiv 2510.03359, 2025).",
            source, (data_notice, gene_notice), chosen),
        html.Div(className="controls", children=[
            dataset_picker(PAGE, KIND, source),
            gene_picker("dko-gene", "Gene", genes, chosen, gene_notice is not None),
            html.Div(className="control", children=[
                html.Label("Cell", htmlFor="q-cell"),
                dcc.Dropdown(id="q-cell", options=_cell_options(payload, source, grouping), value=chosen_cell,
                             clearable=False),
            ]),
            html.Label(["Top genes (k)", dcc.Input(id="q-k", type="number", min=3, max=60, step=1,
                                                   value=_k(k), debounce=True)],
                       className="control"),
            html.Label(["Training steps", dcc.Input(id="q-steps", type="number", min=dko_service.STEPS_RANGE[0],
                                                    max=dko_service.STEPS_RANGE[1], step=50,
                                                    value=dko_service.steps_value(steps), debounce=True)],
                       className="control"),
            html.Span(f"{n_genes:,} genes · {n_cells:,} cells · {int((dataset.expression > 0).to_numpy().sum()):,} "
                      f"present (gene, cell) pairs · {_megabytes(dense)} dense in memory", className="control-note"),
        ]),
        job_card("dko-sweep", "Train and knock out", "Train and knock out every present gene in every cell",
                 "Step 1 trains on 80 % of the cells and predicts the other 20 % (held-out error). Step 2 trains "
                 "on all cells (Adam, learning rate 0.01, minibatches of 20 cells, best parameters by validation "
                 "Bray-Curtis on a 20 % split, seed 0) and knocks out every present gene in every cell using the "
                 "model's affine structure (no forward pass per knockout). Results are cached: a repeat is "
                 "instant.",
                 after=[html.Div(className="export-bar", children=[
                     html.Button("Download full impact table (CSV)", id="dko-download-table",
                                 className="button-secondary", n_clicks=0,
                                 title="gene_id, cell_id (1-based, as DKO's Recorder), k_pred, names and the impact "
                                       "on the other genes"),
                 ]), html.Div(id="dko-summary", className="card-help")], store="dko-result"),
        figure_row(("dko-presence", "Dataset: assemblage sizes"),
                   ("dko-heldout", "Held-out prediction error"), height=420),
        figure_row(("dko-cellfit", "Predicted against true profile of the chosen cell"),
                   ("dko-topk", "The chosen cell's most impactful genes"), height=460),
        html.Div(className="card", children=[
            html.Div(className="controls", children=[
                html.Div(className="control", children=[
                    html.Label("Group cells by", htmlFor="q-group"),
                    dcc.Dropdown(id="q-group", options=dko_service.grouping_choices(source), value=grouping,
                                 clearable=False),
                ]),
                html.Div(className="control", children=[
                    html.Label("Heatmap: groups or one group's cells", htmlFor="q-cluster"),
                    dcc.Dropdown(id="q-cluster", options=clusters, clearable=False,
                                 value=cluster if cluster in [c["value"] for c in clusters] else "all"),
                ]),
            ]),
        ]),
        figure_card("dko-heatmap", "Cell x gene knockout impact", height=760,
                    help_text="Cells are grouped by k-means on their impact profiles, or by an annotation of the "
                              "file; genes are ordered by hierarchical clustering. Pick a group above to see its "
                              "cells."),
        html.Div(className="card", children=[
            html.Div(className="controls", children=[
                html.Div(className="control", children=[
                    html.Label("Cell map", htmlFor="q-embedding"),
                    dcc.Dropdown(id="q-embedding", options=maps, value=chosen_map, clearable=False),
                ]),
            ]),
        ]),
        figure_row(("dko-violin", "The chosen gene's impact by group"),
                   ("dko-embedding", "Cells coloured by the chosen gene's impact"), height=500),
        job_card("dko-double", "Run double knockouts", "Double knockouts of a gene set",
                 "Knocks out every pair of the chosen genes together in every cell expressing both, and compares "
                 "the double impact with the sum of the two single impacts (epistasis). Defaults to the genes with "
                 "the largest mean impact.",
                 html.Label("Genes (2-15)", htmlFor="q-set"),
                 dcc.Dropdown(id="q-set", options=list(genes), value=gene_set, multi=True), store="dko-double-result"),
        figure_card("dko-double", "Epistasis matrix", height=560),
    ])


register_gene_picker("dko-gene")
register_dataset_picker(PAGE)
register_url_params("q-cell", "q-k", "q-steps", "q-cluster", "q-set", "q-group", "q-embedding")


def _megabytes(n: float) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n / 2**10:,.0f} kB"


@callback(*figure_outputs("dko-presence"), Input("dko-gene", "value"), source_state(PAGE))
def show_presence(_gene, source=services.DEFAULT_DATASET):
    n_present = (services.dataset(KIND, source).expression > 0).sum(axis=0)
    groups = dko_service.cell_groups(source)
    prov = services.provenance(KIND, "dko-assemblage-sizes", None, source=source)
    methods = (f"Number of genes with expression > 0 in each of {len(n_present):,} cells"
               f"{', by cell type' if groups is not None else ''}. DKO's assemblage of a cell is this presence "
               f"vector divided by its size.")
    return render_card(presence_figure(n_present, groups), prov, methods)


# --- the sweep job ---------------------------------------------------------------------------

run_sweep, load_cached_sweep = register_cached_job(
    "dko-sweep", "dko-result", [("q-steps", "value"), (source_id(PAGE), "data")], dko_service.sweep,
    params=lambda steps, source: {"steps": dko_service.steps_value(steps), "source": source},
)


def _payload(result, source):
    if not result:
        return None
    return dko_service.sweep.result(steps=result["steps"], source=source)


@callback(Output("q-cluster", "options"), Input("dko-result", "data"), source_state(PAGE), Input("q-group", "value"))
def show_cluster_choices(result, source=services.DEFAULT_DATASET, grouping=None):
    """The drill-down choices are the groups: the shown sweep's clusters (small datasets get fewer) or annotations."""
    return _cluster_options(_payload(result, source), source, grouping)


@callback(Output("q-cell", "options"), Input("dko-result", "data"), source_state(PAGE), Input("q-group", "value"))
def show_cell_choices(result, source=services.DEFAULT_DATASET, grouping=None):
    """The cell picker names each cell's group under the chosen grouping."""
    return _cell_options(_payload(result, source), source, grouping)


@callback(
    Output("dko-summary", "children"),
    Output("dko-sweep-status", "children", allow_duplicate=True),
    *figure_outputs("dko-heldout"),
    Input("dko-result", "data"),
    source_state(PAGE),
    prevent_initial_call="initial_duplicate",
)
def show_training(result, source=services.DEFAULT_DATASET):
    payload = _payload(result, source)
    if payload is None:
        return ("No model yet: press Train and knock out.", "Idle.",
                *blank_card("Train the model to see the held-out error."))
    s = payload["summary"]
    steps = result["steps"]
    prov = services.provenance(KIND, "dko-heldout-error", None, source=source, n_steps=steps,
                               val_every=dko_service.VAL_EVERY, seed=dko_service.SEED)
    summary = (f"Model on all cells: best validation Bray-Curtis {s['best_val_loss']:.4f} at step {s['best_step']:,} "
               f"of {steps:,}; {s['n_knockouts']:,} single knockouts scored. Held-out cells: median Bray-Curtis "
               f"{s['heldout_median']:.4f}.")
    methods = (f"DKO (He et al. 2025) was trained on 80% of {len(payload['embedding']):,} cells ({steps:,} Adam steps, "
               f"learning rate 0.01, minibatches of 20, parameters with the lowest validation Bray-Curtis on a 20% "
               f"split, validated every {dko_service.VAL_EVERY} steps, seed {dko_service.SEED}) and predicted the "
               f"profiles of the {len(payload['per_cell'])} held-out cells from their gene assemblages; the histogram "
               f"shows the Bray-Curtis dissimilarity between predicted and true relative abundances per cell.")
    status = job_status(result)
    return summary, status, *render_card(heldout_figure(payload["per_cell"]), prov, methods)


@callback(*figure_outputs("dko-cellfit"), Input("dko-result", "data"), Input("q-cell", "value"), source_state(PAGE))
def show_cell_fit(result, cell, source=services.DEFAULT_DATASET):
    payload = _payload(result, source)
    if payload is None or not cell:
        return blank_card("Train the model to compare predicted and true profiles.")
    expr = services.dataset(KIND, source).expression
    if cell not in expr.columns:
        return blank_card(f"{cell} is not a cell of this dataset.")
    true = expr[cell] / expr[cell].sum()
    heldout = cell in payload["heldout_cells"]
    if heldout:
        pos = payload["heldout_cells"].index(cell)
        predicted = pd.Series(payload["heldout_predicted"][:, pos], index=expr.index)
    else:
        predicted = dko_service.model_from(payload, source).predict(expr[[cell]])[cell]
    prov = services.provenance(KIND, f"dko-cellfit-{cell}", None, source=source, cell=cell, n_steps=result["steps"])
    methods = (f"Relative abundance of each gene present in {cell}: true (x) against DKO's prediction from the cell's "
               f"assemblage alone (y); the cell was {'held out from' if heldout else 'part of'} training.")
    return render_card(cell_fit_figure(predicted, true, cell, heldout), prov, methods)


@callback(*figure_outputs("dko-heatmap"), Input("dko-result", "data"), Input("q-cluster", "value"),
          source_state(PAGE), Input("q-group", "value"))
def show_heatmap(result, cluster, source=services.DEFAULT_DATASET, grouping=None):
    payload = _payload(result, source)
    if payload is None:
        return blank_card("Train the model and run the knockouts to see the impact matrix.")
    try:
        grouping = dko_service.check_grouping(grouping, source)
        kmeans = grouping == dko_service.KMEANS
        labels = None if kmeans else dko_service.cell_labels(payload, grouping, source)
        matrix, kind, note = dko_service.heatmap_block(payload, cluster, labels=labels)
    except services.InputError as exc:
        return blank_card(str(exc))
    n_cells = len(payload["cell_cluster"])
    n_clusters = len(dko_service.cluster_names(payload))
    by = dko_service.grouping_title(grouping)
    if kind != "cell":
        title = (f"Mean knockout impact per cell cluster ({n_cells:,} cells, top {len(matrix)} genes)" if kmeans else
                 f"Mean knockout impact per {by} ({n_cells:,} cells, top {len(matrix)} genes)")
    else:
        title = f"Knockout impact in the cells of {cluster}{note} (blank: gene absent)"
    prov = services.provenance(KIND, f"dko-impact-heatmap-{cluster or 'all'}", None, source=source,
                               cluster=cluster or "all", n_steps=result["steps"], n_clusters=n_clusters,
                               grouping=grouping)
    grouped = (f"Cells were grouped by k-means (k = {n_clusters}) on their impact profiles (absent genes count as 0); "
               f"clusters, cells within a cluster and" if kmeans else
               f"Cells were grouped by the file's annotation {by!r} (groups largest first); cells within a group "
               f"are in the order of the k-means impact clusters, and")
    methods = (f"Impact of knocking out each gene in each cell: the Bray-Curtis dissimilarity between DKO's predicted "
               f"profile with the gene removed from the cell's assemblage and the predicted unperturbed profile "
               f"(He et al. 2025). {grouped} genes are in average-linkage "
               f"order; the {len(matrix)} genes with the largest mean impact are shown. "
               + ("Cells are cluster means." if kmeans and kind != "cell" else "Columns are group means."
                  if kind != "cell"
                  else "Columns are single cells; blank = absent."))
    return render_card(impact_heatmap_figure(matrix, kind, title, group_title=by if kind == "group" else None),
                       prov, methods)


@callback(
    *figure_outputs("dko-violin"),
    *figure_outputs("dko-embedding"),
    Input("dko-result", "data"),
    Input("dko-gene", "value"),
    source_state(PAGE),
    Input("q-group", "value"),
    Input("q-embedding", "value"),
)
def show_gene(result, gene, source=services.DEFAULT_DATASET, grouping=None, embedding=None):
    payload = _payload(result, source)
    if payload is None or not gene:
        blank = blank_card("Train the model to see this gene's knockout impact.")
        return *blank, *blank
    try:
        grouping = dko_service.check_grouping(grouping, source)
        labels = dko_service.cell_labels(payload, grouping, source)
        coords, axes = dko_service.embedding_frame(payload, embedding, source)
    except services.InputError as exc:
        blank = blank_card(str(exc))
        return *blank, *blank
    by = dko_service.grouping_title(grouping)
    table = payload["table"]
    part = table[table["gene"] == gene]
    values = part.assign(cluster=labels.reindex(part["cell"]).to_numpy())
    prov_v = services.provenance(KIND, "dko-gene-impact-by-cluster", gene, source=source, n_steps=result["steps"],
                                 grouping=grouping)
    prov_e = services.provenance(KIND, "dko-embedding-impact", gene, source=source, n_steps=result["steps"],
                                 embedding=embedding or dko_service.default_embedding(source))
    if part.empty:
        blank = blank_card(f"{gene} is present in no cell.")
        return *blank, *blank
    named = by if grouping == dko_service.KMEANS else f"the annotation {by!r}"
    methods_v = (f"Predicted impact (Bray-Curtis) of knocking out {gene} in each of the {len(part):,} cells where it is "
                 f"present, grouped by {named} "
                 f"(violins with box and mean).")
    placed = ("Cells placed by the first two principal components of their Hellinger-transformed profiles "
              "(square roots of relative abundance)" if axes[0].startswith("PC1 of Hellinger") else
              f"Cells placed by the file's own embedding ({axes[0][:-2]})")
    methods_e = (f"{placed} and coloured by the predicted impact of knocking out {gene}; "
                 f"grey cells do not express it; pointing at a cell shows its {by}.")
    impact = part.set_index("cell")["impact"]
    hover = dko_service.cell_hover(labels, grouping, source)
    return (*render_card(impact_violin_figure(values, gene, group_title=by), prov_v, methods_v),
            *render_card(embedding_figure(coords, impact, gene, axes=axes, hover=hover), prov_e, methods_e))


@callback(*figure_outputs("dko-topk"), Input("dko-result", "data"), Input("q-cell", "value"), Input("q-k", "value"),
          source_state(PAGE))
def show_top_genes(result, cell, k, source=services.DEFAULT_DATASET):
    payload = _payload(result, source)
    if payload is None or not cell:
        return blank_card("Train the model to rank this cell's knockouts.")
    table = payload["table"]
    part = table[table["cell"] == cell]
    if part.empty:
        return blank_card(f"No knockouts for {cell}.")
    k = _k(k)
    prov = services.provenance(KIND, f"dko-top-genes-{cell}", None, source=source, cell=cell, k=k,
                               n_steps=result["steps"])
    methods = (f"The {k} genes whose in-silico knockout changes the predicted profile of {cell} most (Bray-Curtis "
               f"between the predicted profiles after and before the knockout; the hover also gives the impact on the "
               f"other genes only, with the knocked-out gene removed from both profiles).")
    return render_card(top_genes_figure(part, cell, k), prov, methods)


# --- double knockouts -------------------------------------------------------------------------

run_double, load_cached_double = register_cached_job(
    "dko-double", "dko-double-result", [("q-steps", "value"), ("q-set", "value"), (source_id(PAGE), "data")],
    dko_service.double,
    params=lambda steps, genes, source: {"steps": dko_service.steps_value(steps), "genes": _gene_set(genes, source),
                                         "source": source},
)


@shows_job_result("dko-double", "dko-double-result", cards=("dko-double",), inputs=[source_state(PAGE)], initial=True)
def show_double(result, source=services.DEFAULT_DATASET):
    if not result:
        return *blank_card("Pick 2-15 genes and run the double knockouts."), "Idle."
    table = dko_service.double.result(steps=result["steps"], genes=result["genes"], source=source)
    if table is None:
        return *blank_card("The stored result is gone; run the double knockouts again."), "Idle."
    genes = [g for g in services.genes_of(KIND, source) if g in set(result["genes"])]
    mean, count = dko_service.epistasis_matrix(table, genes)
    prov = services.provenance(KIND, "dko-epistasis", None, source=source, genes=genes, n_steps=result["steps"])
    methods = (f"For every pair of {len(genes)} genes, both were removed together from the assemblage of each cell "
               f"expressing both ({len(table):,} double knockouts) and DKO predicted the profile. Epistasis = impact of "
               f"the double knockout - the sum of the two single impacts (Bray-Curtis against the predicted unperturbed "
               f"profile), averaged over cells: negative = redundant, positive = synergistic. Bray-Curtis is bounded, "
               f"so small negative values are expected for independent genes.")
    status = job_status(result)
    return *render_card(epistasis_figure(mean, count), prov, methods), status


@callback(
    Output("download", "data", allow_duplicate=True),
    Output("dko-sweep-error", "children", allow_duplicate=True),
    Input("dko-download-table", "n_clicks"),
    State("q-steps", "value"),
    source_state(PAGE),
    State("q-group", "value"),
    prevent_initial_call=True,
)
def download_table(n_clicks, steps, source=services.DEFAULT_DATASET, grouping=None):
    if not n_clicks:
        return no_update, no_update
    try:
        table = dko_service.full_impact_table(dko_service.steps_value(steps), source, _grouping(grouping, source))
    except services.InputError as exc:
        return no_update, str(exc)
    if table is None:
        return no_update, "Run Train and knock out first; the impact table comes from that job."
    return dcc.send_data_frame(table.to_csv, f"dko_impacts_steps{dko_service.steps_value(steps)}.csv", index=False), ""
