"""Perturbation signatures (TranscriptionNet 2024): predicted RNAi / CRISPR / OE signatures beside honest baselines."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from dashboard.text import plural
from dashboard import services
from dashboard.services import perturbation as tnet
from dashboard.services.connectivity import SECTIONS
from dashboard.components.dataset_picker import dataset_picker, register_dataset_picker, source_id, source_state
from dashboard.components.gene_picker import gene_picker, register_gene_picker
from dashboard.components.figure_card import blank_card, figure_card, figure_outputs, figure_row, render_card
from dashboard.components.job_panel import job_card, job_status, register_cached_job, shows_job_result
from dashboard.components.shell import method_header
from dashboard.components.subnav import subnav
from dashboard.components.tables import data_table, table_id
from dashboard.components.url_params import register_url_params
from dashboard.figures.perturbation import (
    model_comparison_figure, neighbourhood_figure, predicted_vs_measured_figure, signature_bars_figure,
)

dash.register_page(__name__, path="/perturbation", name="Perturbation signatures",
                   title="Perturbation signatures · PerturbScope", order=4)

KIND = "perturbation"
PAGE = "pert"
SUMMARY_COLUMNS = ["type", "model", "n_genes", "pearson", "pearson_delta", "cosine", "top50_pearson", "rmse"]
SIMILAR_COLUMNS = ["gene", "cosine", "status"]


def _network_name(source: str) -> str:
    """How methods texts name the network layers (simulated only for the demo)."""
    return "the simulated network layers" if services.is_demo(source) else "the dataset's network layers"


def layout(gene: str | None = None, type: str | None = None, epochs: str | None = None,  # noqa: A002 (URL name)
           width: str | None = None, data: str | None = None, **_):
    source, data_notice = services.pick_source(KIND, data)
    chosen, gene_notice = tnet.pick_gene(gene, source)
    dataset = services.dataset(KIND, source)
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in dataset.signatures.items())
    return html.Div([
        method_header(
            "Perturbation signatures",
            "Predict the L1000 landmark signature of knocking down (RNAi), knocking out (CRISPR) or overexpressing "
            "(OE) any gene from its place in integrated gene networks (TranscriptionNet, Zhan et al., arXiv 2024), "
            "always beside simple baselines.",
            source, (data_notice, gene_notice), chosen),
        subnav(SECTIONS, "/perturbation", query={"data": None if services.is_demo(source) else source}),
        html.Div(className="controls", children=[
            dataset_picker(PAGE, KIND, source),
            gene_picker("pert-gene", "Gene", tnet.all_genes(source), chosen, gene_notice is not None),
            html.Label(["Perturbation type", dcc.RadioItems(
                id="q-type", options=list(tnet.types_of(source)), value=tnet.pick_type(type, source), inline=True,
            )], className="control"),
            html.Label(["Max. epochs (early stopping)", dcc.Input(
                id="q-epochs", type="number", min=1, max=tnet.MAX_EPOCHS, step=1, value=tnet.epochs_value(epochs),
                debounce=True,
            )], className="control"),
            html.Label(["FunDNN width", dcc.Dropdown(
                id="q-width", options=[{"label": f"{w}{' (published)' if w == 1024 else ''}", "value": w}
                                       for w in tnet.WIDTHS], value=tnet.width_value(width), clearable=False,
            )], className="control"),
            html.Span(f"{len(dataset.genes):,} genes in {plural(len(dataset.layers), 'layer')} · "
                      f"{len(dataset.landmarks):,} landmarks · "
                      f"measured signatures: {sizes}", className="control-note"),
        ]),
        job_card("pert-train", "Train models", "Train TranscriptionNet",
                 "Embeds every gene by random walks with restart on each network layer, integrated by a low-rank "
                 "factorisation; trains FunDNN (embedding -> 3 x 1024 LeakyReLU -> 1024 tanh -> landmarks, loss "
                 "0.9 MSE + 0.1 (1 - centred cosine)) per type with early stopping on validation genes, a cross-type "
                 "attention refiner, and three baselines (training mean, ridge on the embedding, k nearest network "
                 "neighbours). Test genes (15% per type) are used only for the scores. Results are cached: a repeated "
                 "request is instant. The published width (1024) takes several minutes on a small CPU.",
                 "On real data the deep model does not beat the baselines. On TranscriptionNet's L1000 example "
                 "subset (given split and 512-d features; 60 / 76 / 45 held-out RNAi / CRISPR / OE genes; "
                 "`python -m core.transcriptionnet.validate`), the refined model minus the training-mean signature, "
                 "with paired bootstrap 95% intervals: raw Pearson RNAi -0.024 (-0.036 to -0.011), CRISPR -0.001 "
                 "(-0.004 to +0.002), OE -0.010 (-0.016 to -0.004); Pearson delta RNAi -0.044 (-0.108 to +0.024), "
                 "CRISPR +0.015 (-0.021 to +0.052), OE -0.034 (-0.112 to +0.037): the model predicts nothing "
                 "detectable beyond the average response on those genes.",
                 after=[html.P(id="pert-verdict", className="card-help", style={"fontWeight": 600})],
                 store="pert-result"),
        figure_row(("pert-signature", "Predicted and measured signature"),
                   ("pert-scatter", "Predicted against measured"), height=640),
        html.Div(className="grid-2", children=[
            figure_card("pert-models", "Model versus baselines on held-out genes", height=480),
            html.Div(className="card", children=[
                html.H3("Held-out scores per type and model", className="card-title"),
                html.P("Means over held-out (test) genes. Pearson delta correlates prediction and measurement after "
                       "subtracting the training-mean signature from both: raw Pearson mostly rewards predicting "
                       "the average response.", className="card-help"),
                data_table("pert-summary", SUMMARY_COLUMNS, export="held-out-scores", definitions={
                    "cosine": "Mean cosine similarity of predicted and measured signatures over held-out genes"}),
            ]),
        ]),
        html.Div(className="card", children=[
            html.H3("Model minus baseline, with 95% intervals", className="card-title"),
            html.P(f"For every type, metric and baseline: the mean over held-out genes of (model score - baseline "
                   f"score), and its percentile 95% interval from {tnet.BOOTSTRAP_RESAMPLES:,} paired bootstrap "
                   f"resamples of the held-out genes (seed 0). 'beats' only when the whole interval is on the "
                   f"better side of 0, 'worse' when it is on the other side, otherwise 'no detectable difference'. "
                   f"Models: refined = FunDNN + cross-type refiner, fundnn = FunDNN alone.", className="card-help"),
            data_table("pert-intervals", tnet.INTERVAL_TABLE_COLUMNS, page_size=12, export="model-vs-baselines"),
        ]),
        html.Div(className="grid-2", children=[
            html.Div(className="card", children=[
                html.H3("Genes with the most similar predicted signatures", className="card-title"),
                html.P("Cosine similarity of predicted signatures of the chosen type over all genes, after removing "
                       "the average predicted signature (the response every gene shares).",
                       className="card-help"),
                data_table("pert-similar", SIMILAR_COLUMNS, export="similar-signatures", definitions={
                    "cosine": "Cosine similarity of the gene's predicted signature with the chosen gene's, average "
                              "signature removed"}),
            ]),
            figure_card("pert-network", "Network neighbourhood across layers", height=560),
        ]),
    ])


register_gene_picker("pert-gene")
register_dataset_picker(PAGE)
register_url_params("q-type", "q-epochs", "q-width")


@callback(*figure_outputs("pert-network"), Input("pert-gene", "value"), source_state(PAGE))
def show_network(gene, source=services.DEFAULT_DATASET):
    edges = tnet.neighbourhood(gene, source=source)
    prov = services.provenance(KIND, "network-neighbourhood", gene, source=source)
    counts = edges.groupby("layer").size().to_dict() if len(edges) else {}
    methods = (f"Strongest neighbours (up to 12 per layer, by edge weight) of {gene} in each network layer, and the "
               f"edges among them; edges coloured by layer ({', '.join(f'{k}: {v}' for k, v in counts.items())}).")
    return render_card(neighbourhood_figure(edges, gene), prov, methods)


run_training, load_cached_training = register_cached_job(
    "pert-train", "pert-result", [("q-epochs", "value"), ("q-width", "value"), (source_id(PAGE), "data")],
    tnet.training, params=lambda epochs, width, source: {"epochs": epochs, "width": width, "source": source},
)


@shows_job_result("pert-train", "pert-result", cards=("pert-signature", "pert-scatter", "pert-models"),
                  outputs=[Output(table_id("pert-summary"), "rowData"), Output(table_id("pert-similar"), "rowData"),
                           Output("pert-verdict", "children"), Output(table_id("pert-intervals"), "rowData")],
                  inputs=[Input("pert-gene", "value"), Input("q-type", "value"), source_state(PAGE)], initial=True)
def show_results(result, gene, kind, source=services.DEFAULT_DATASET):
    kind = tnet.pick_type(kind, source)
    measured = tnet.measured(gene, kind, source)
    payload = tnet.training.result(epochs=result["epochs"], width=result["width"], source=source) if result else None
    params = {"type": kind, **({"epochs": result["epochs"], "width": result["width"]} if result else {})}
    prov = services.provenance(KIND, f"{kind}-signature", gene, source=source, **params)
    blank = blank_card("Train the models to see predictions.")
    if payload is None:
        status = "The stored result is gone; train again." if result else "Idle."
        if measured is None:
            sig = blank_card(f"{gene} has no measured {kind} signature; train the models to predict one.")
        else:
            sig = render_card(signature_bars_figure(None, measured, gene, kind), prov,
                              f"Measured {kind} signature of {gene}: the 12 most down- and up-regulated of "
                              f"{len(measured):,} landmark genes.")
        return *sig, *blank, *blank, [], [], "", [], status
    predicted, gene_status = tnet.predicted(payload, gene, kind)
    summary = payload["summary"]
    methods = (f"TranscriptionNet on {_network_name(source)}: RWR embedding (64 dimensions) -> FunDNN "
               f"(width {result['width']}, at most {result['epochs']} epochs, early stopping on validation genes) "
               f"-> cross-type attention refiner; the {kind} signature of {gene} is {gene_status}.")
    sig = render_card(signature_bars_figure(predicted, measured, gene, kind), prov,
                      "Top 12 down- and up-regulated landmarks by the prediction, measured values beside them. "
                      + methods)
    if measured is not None and predicted is not None:
        scatter = render_card(predicted_vs_measured_figure(predicted, measured, gene, kind, gene_status),
                              services.provenance(KIND, f"{kind}-predicted-vs-measured", gene, source=source,
                                                  **params),
                              "Every landmark's predicted against measured value (dotted: identity). " + methods)
    else:
        scatter = blank_card(f"{gene} has no measured {kind} signature to compare with (status: {gene_status}).")
    models = render_card(model_comparison_figure(summary),
                         services.provenance(KIND, "model-comparison", None, source=source, **params),
                         "Mean Pearson delta over held-out genes per type: the correlation of prediction and "
                         "measurement after subtracting the training-mean signature from both (the mean baseline "
                         "scores 0 by construction). " + methods)
    rows = summary[SUMMARY_COLUMNS].to_dict("records")
    similar = tnet.similar_genes(payload, gene, kind).to_dict("records")
    intervals = tnet.intervals(payload)
    status = job_status(result, "Loaded the stored models.")
    return (*sig, *scatter, *models, rows, similar, tnet.verdict(intervals), intervals.to_dict("records"),
            status)
