"""Decision tree of a target's essentiality (Rosenski et al. 2023, Fig. 5G)."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from core.errors import InputError
from dashboard import services
from dashboard.components.dataset_picker import dataset_picker, register_dataset_picker, source_id
from dashboard.components.essentiality_controls import (
    KIND, family_nav, models_choice, models_control, models_id, pick_target,
)
from dashboard.components.figure_card import PRIVATE_CONFIG, figure_card, figure_outputs, render_card
from dashboard.components.gene_picker import gene_picker, register_gene_picker
from dashboard.components.job_panel import job_panel, register_cached_job
from dashboard.components.shell import page_header
from dashboard.components.url_params import register_url_params
from dashboard.figures.common import empty_figure
from dashboard.figures.essentiality import tree_figure
from dashboard.services import essentiality as ess_service

dash.register_page(__name__, path="/essentiality/tree", name="Decision tree",
                   title="Decision tree · PerturbScope", order=5)


def layout(gene: str | None = None, models: str | None = None, cell: str | None = None, data: str | None = None,
           **_):
    source, data_notice = services.pick_source(KIND, data)
    target, notice = pick_target(gene, source)
    cells = services.dataset(KIND, source).expression.index
    return html.Div([
        page_header(
            "Decision tree",
            "A depth-4 regression tree on the target's modifier genes: which expression thresholds separate "
            "cell lines that depend on the target from those that do not.",
            simulated_note=services.simulated_note(source), notice=(data_notice, notice), shown_gene=target,
        ),
        family_nav("/essentiality/tree", target, source, models),
        html.Div(className="controls", children=[
            dataset_picker("ess-tree", KIND, source),
            gene_picker("tree-target", "Target gene", services.genes_of(KIND, source), target, notice is not None),
            models_control("tree", models),
            html.Label(["Highlight a cell line's path", dcc.Dropdown(
                id="q-tree--cell", options=_cell_options(services.dataset(KIND, source)),
                value=cell if cell in cells else None, clearable=True, placeholder="pick a cell line",
            )], className="control"),
        ]),
        dcc.Store(id="tree-result"),
        html.Div(className="card", children=[
            html.P("The tree is part of the target's analysis (modifier selection on training cell lines, then a "
                   "depth-4 tree on the modifiers); a stored analysis loads at once.", className="card-help"),
            job_panel("tree-analysis", "Run analysis"),
            html.P(id="tree-cell-text", className="card-help"),
        ]),
        figure_card("tree", "Decision tree", height=680),
    ])


def _cell_options(data) -> list[dict]:
    """Cell lines by id, with their name when the annotation gives one (DepMap ids alone are hard to recognise)."""
    names = data.cells["cell_line_name"].reindex(data.expression.index).fillna("").astype(str)
    return [{"label": f"{cell} · {name}" if name else str(cell), "value": cell} for cell, name in names.items()]


register_gene_picker("tree-target")
register_dataset_picker("ess-tree")
register_url_params(models_id("tree"), "q-tree--cell")


register_cached_job(
    "tree-analysis", "tree-result",
    [("tree-target", "value"), (models_id("tree"), "value"), (source_id("ess-tree"), "data")],
    params=lambda target, models, source: {"target": target, "models": models_choice(models), "source": source},
    run=lambda p, set_progress: ess_service.run_analysis(p["target"], p["models"], set_progress, source=p["source"]),
    stored=lambda p: ess_service.analysis_result(p["target"], p["models"], source=p["source"]) is not None,
    fallback=lambda p: {**p, "models": ess_service.ATLAS_SET, "requested": p["models"]},
)


@callback(
    *figure_outputs("tree"),
    Output("tree-cell-text", "children"),
    Output("tree-analysis-status", "children", allow_duplicate=True),
    Input("tree-result", "data"),
    Input("q-tree--cell", "value"),
    prevent_initial_call=True,
)
def show_tree(result, cell):
    if not result:
        return empty_figure("Run the analysis to grow the tree for this target."), PRIVATE_CONFIG, "", "", "Idle."
    target, models = result["target"], result["models"]
    source = result.get("source") or services.DEFAULT_DATASET
    try:
        analysis = ess_service.analysis_result(target, models, source=source)
    except InputError as exc:
        return empty_figure(str(exc)), PRIVATE_CONFIG, "", "", "Idle."
    if analysis is None:
        return empty_figure("The stored result is gone; run the analysis again."), PRIVATE_CONFIG, "", "", "Idle."
    data = services.dataset(KIND, source)
    tree = analysis.tree
    path, text = None, "Pick a cell line to highlight its path through the tree."
    if cell in data.expression.index:
        path = tree.decision_path(data.expression.loc[cell])
        leaf = tree.nodes.set_index("node_id").loc[path[-1]]
        text = (f"{cell} ({ess_service.lineages(data)[cell]}): predicted effect {leaf['mean_effect']:.2f}, "
                f"actual {_effect_text(data.effect.loc[cell, target])}; "
                f"path through nodes {' → '.join(map(str, path))}.")
    fig = tree_figure(tree.nodes, target, tree.test_pearson, tree.test_pearson_p, path=path, cell=cell)
    methods = (f"A regression tree of maximum depth 4 (scikit-learn DecisionTreeRegressor) was fitted to {target}'s "
               f"gene effect on the expression of its modifier genes in 75% of the cell lines; nodes show the split "
               f"(gene ≤ threshold), the number of training cell lines and their mean effect; test Pearson r on the "
               f"other 25% = {tree.test_pearson:.2f}. Data: {services.source_label(KIND, source)}.")
    prov = services.provenance(KIND, "decision-tree", target, source=source, models=models, cell=cell)
    if models == ess_service.ATLAS_SET:
        status = (f"Showing the atlas's tree (fast models on the dataset's split); Run analysis for "
                  f"{ess_service.MODEL_SETS.get(result.get('requested'), 'the full zoo')}.")
    else:
        status = "Loaded the stored result." if result.get("cached") else "Finished."
    return (*render_card(fig, prov, methods), text, status)


def _effect_text(value: float) -> str:
    """A cell line's measured effect, or that it was not screened (DepMap leaves gaps)."""
    return "not screened" if value != value else f"{value:.2f}"
