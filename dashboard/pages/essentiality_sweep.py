"""Genome-wide sweep of modifier-gene models (Rosenski et al. 2023, Fig. 3A)."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import services
from dashboard.components.dataset_picker import dataset_picker, register_dataset_picker, source_id
from dashboard.components.essentiality_controls import (
    KIND, family_nav, models_choice, models_control, models_id, target_href,
)
from dashboard.components.figure_card import figure_card, figure_outputs, render_card
from dashboard.components.job_panel import job_panel, register_cached_job
from dashboard.components.shell import page_header
from dashboard.components.tables import data_table
from dashboard.components.url_params import register_url_params
from dashboard.figures.common import empty_figure
from dashboard.figures.essentiality import sweep_histogram_figure
from dashboard.services import essentiality as ess_service

dash.register_page(__name__, path="/essentiality/sweep", name="Genome-wide",
                   title="Genome-wide sweep · PerturbScope", order=6)

COLUMNS = ["target", "chosen_model", "test_pearson", "test_pearson_p", "q", "test_rmse", "n_modifiers", "modifiers"]
SIZES = {"20": 20, "50": 50, "all": 0}


def _size(value) -> str:
    return value if value in SIZES else "20"


def _size_options(n_targets: int) -> list[dict]:
    """The sweep sizes a dataset offers: the first 20 or 50 targets only when it has more."""
    options = [{"label": f" first {size}", "value": key} for key, size in SIZES.items() if 0 < size < n_targets]
    return options + [{"label": f" all {n_targets:,}", "value": "all"}]


def layout(gene: str | None = None, n: str | None = None, models: str | None = None, data: str | None = None, **_):
    source, data_notice = services.pick_source(KIND, data)
    n_targets = services.dataset(KIND, source).effect.shape[1]
    options = _size_options(n_targets)
    size = _size(n) if _size(n) in [o["value"] for o in options] else options[0]["value"]
    return html.Div([
        page_header(
            "Genome-wide sweep",
            "Every target gene through the same protocol: modifier selection on training cell lines, model zoo, "
            "choice by validation RMSE, Pearson r on held-out cell lines, BH-FDR across targets.",
            simulated_note=services.simulated_note(source), notice=data_notice,
        ),
        family_nav("/essentiality/sweep", gene, source, models),
        html.Div(className="controls", children=[
            dataset_picker("ess-sweep", KIND, source),
            html.Label(["Targets", dcc.RadioItems(id="q-sweep--n", value=size, inline=True, options=options)],
                       className="control"),
            models_control("sweep", models, default="fast"),
        ]),
        dcc.Store(id="sweep-result"),
        html.Div(className="card", children=[
            html.P("Runs in the background and writes each finished target to disk, so an interrupted sweep "
                   "resumes where it stopped; the paper's zoo with the MLP and Gaussian process takes much longer.",
                   className="card-help"),
            job_panel("sweep", "Run sweep"),
            html.Div(id="sweep-summary", className="kpi-row"),
        ]),
        figure_card("sweep-hist", "Test Pearson r by chosen model", height=480),
        html.Div(className="card", children=[
            html.H3("Targets (click a name to open its modifier genes)", className="card-title"),
            data_table("sweep-table", COLUMNS, page_size=20, markdown=("target",), text=("chosen_model", "modifiers")),
        ]),
    ])


register_dataset_picker("ess-sweep")
register_url_params("q-sweep--n", models_id("sweep"))


register_cached_job(
    "sweep", "sweep-result",
    [("q-sweep--n", "value"), (models_id("sweep"), "value"), (source_id("ess-sweep"), "data")],
    params=lambda size, models, source: {"n": _size(size), "models": models_choice(models, "fast"), "source": source},
    run=lambda p, set_progress: ess_service.run_sweep(SIZES[p["n"]], p["models"], set_progress, source=p["source"]),
    stored=lambda p: ess_service.sweep_result(SIZES[p["n"]], p["models"], source=p["source"]) is not None,
)


@callback(
    *figure_outputs("sweep-hist"),
    Output("sweep-table", "data"),
    Output("sweep-summary", "children"),
    Output("sweep-status", "children", allow_duplicate=True),
    Input("sweep-result", "data"),
    prevent_initial_call=True,
)
def show_sweep(result):
    blank = (empty_figure("Run the sweep to see how well each target is predicted."), {"displaylogo": False}, "")
    if not result:
        return *blank, [], [], "Idle."
    source = result.get("source") or services.DEFAULT_DATASET
    table = ess_service.sweep_result(SIZES[result["n"]], result["models"], source=source)
    if table is None:
        return *blank, [], [], "The stored result is gone; run the sweep again."
    n_sig = int((table["q"] < 0.05).sum())
    rows = table[COLUMNS].copy()
    rows["target"] = [f"[{t}]({target_href(t, source)})" for t in rows["target"]]
    summary = [html.Div([html.B(v), k], className="kpi") for k, v in (
        ("targets", f"{len(table):,}"), ("significant at BH q < 0.05", f"{n_sig:,}"),
        ("median test r", f"{table['test_pearson'].median():.2f}"),
    )]
    prov = services.provenance(KIND, "sweep-test-pearson", None, source=source, targets=result["n"],
                               models=result["models"])
    methods = (f"Each of {len(table):,} target genes was modelled as in Rosenski et al. (2023): modifier selection on "
               f"75% of cell lines, the {ess_service.MODEL_SETS[result['models']]} compared on a validation split, "
               f"Pearson r of the chosen model on the held-out 25%; BH-FDR across targets ({n_sig} with q < 0.05). "
               f"Bars are counts of targets in bins of width 0.05. Data: {prov['dataset']}.")
    status = "Loaded the stored result." if result.get("cached") else f"Finished in {result.get('seconds', 0):.0f} s."
    return (*render_card(sweep_histogram_figure(table), prov, methods),
            rows.to_dict("records"), summary, status)
