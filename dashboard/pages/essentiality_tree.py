"""Decision tree of a target's essentiality (Rosenski et al. 2023, Fig. 5G)."""

from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

from dashboard import services
from dashboard.services import InputError
from dashboard.components.dataset_picker import register_dataset_picker
from dashboard.components.essentiality_controls import (
    KIND, family_header, models_control, models_id, pick_target, register_analysis_job, target_controls,
)
from dashboard.components.figure_card import blank_card, figure_card, render_card
from dashboard.components.gene_picker import register_gene_picker
from dashboard.components.job_panel import job_card, shows_job_result
from dashboard.components.url_params import register_url_params
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
        *family_header("Decision tree", "A depth-4 regression tree on the target's modifier genes: which "
                       "expression thresholds separate cell lines that depend on the target from those that do not.",
                       "/essentiality/tree", source, target, (data_notice, notice), models),
        html.Div(className="controls", children=[
            *target_controls("ess-tree", "tree-target", source, target, notice is not None),
            models_control("tree", models),
            html.Label(["Highlight a cell line's path", dcc.Dropdown(
                id="q-tree--cell", options=_cell_options(services.dataset(KIND, source)),
                value=cell if cell in cells else None, clearable=True, placeholder="pick a cell line",
            )], className="control"),
        ]),
        job_card("tree-analysis", "Run analysis", None,
                 "The tree is part of the target's analysis (modifier selection on training cell lines, then a "
                 "depth-4 tree on the modifiers); a stored analysis loads at once.",
                 after=[html.P(id="tree-cell-text", className="card-help")], store="tree-result"),
        figure_card("tree", "Decision tree", height=680),
    ])


def _cell_options(data) -> list[dict]:
    """Cell lines by id, with their name when the annotation gives one (DepMap ids alone are hard to recognise)."""
    names = data.cells["cell_line_name"].reindex(data.expression.index).fillna("").astype(str)
    return [{"label": f"{cell} · {name}" if name else str(cell), "value": cell} for cell, name in names.items()]


register_gene_picker("tree-target")
register_dataset_picker("ess-tree")
register_url_params(models_id("tree"), "q-tree--cell")


register_analysis_job("tree-analysis", "tree-result", "tree-target", "tree", "ess-tree")


@shows_job_result("tree-analysis", "tree-result", cards=("tree",), outputs=[Output("tree-cell-text", "children")],
                  inputs=[Input("q-tree--cell", "value")])
def show_tree(result, cell):
    if not result:
        return *blank_card("Run the analysis to grow the tree for this target."), "", "Idle."
    target, models = result["target"], result["models"]
    source = result.get("source") or services.DEFAULT_DATASET
    try:
        analysis = ess_service.analysis.result(target=target, models=models, source=source)
    except InputError as exc:
        return *blank_card(str(exc)), "", "Idle."
    if analysis is None:
        return *blank_card("The stored result is gone; run the analysis again."), "", "Idle."
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
               f"other 25% = {tree.test_pearson:.2f}.")
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
