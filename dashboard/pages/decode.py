"""DEcode tissues (Tasaki et al. 2020): train the binding-site CNN, its tissue performance and attributions."""

from __future__ import annotations

import dash
from dash import Input, callback, dcc, html

from dashboard.text import plural
from dashboard import services
from dashboard.services import InputError
from dashboard.components.dataset_picker import dataset_picker, register_dataset_picker, source_id, source_state
from dashboard.components.figure_card import blank_card, figure_card, figure_outputs, figure_row, render_card
from dashboard.components.gene_picker import gene_picker, register_gene_picker
from dashboard.components.job_panel import job_card, job_status, register_cached_job, shows_job_result
from dashboard.components.shell import method_header
from dashboard.components.subnav import subnav
from dashboard.components.url_params import register_url_params
from dashboard.figures.decode import (
    attribution_map_figure, gene_profile_figure, performance_figure, profile_corr_figure, regulator_heatmap_figure,
)
from dashboard.services import decode as svc

dash.register_page(__name__, path="/decode", name="DEcode", title="DEcode tissues · PerturbScope", order=2)

KIND = "decode"
PAGE = "decode"
SECTIONS = (("/decode", "Tissues and attribution"), ("/decode/disruption", "Binding-site disruption"))
DEFAULT_TISSUE = "Liver"
DEFAULT_TOPK = 20


def section_links(active: str, query: dict) -> html.Nav:
    """Tabs between the two DEcode pages, carrying dataset, gene and training settings."""
    return subnav(SECTIONS, active, query=query)


def training_controls(params: dict, source: str) -> list:
    options = svc.chromosome_options(source)
    return [
        html.Label(["Random restarts (paper: 10)", dcc.Input(
            id="q-dec-restarts", type="number", min=1, max=10, step=1, value=params["n_restarts"], debounce=True,
        )], className="control"),
        html.Label(["Max epochs (paper: 100; early stopping 10)", dcc.Input(
            id="q-dec-epochs", type="number", min=1, max=100, step=1, value=params["max_epochs"], debounce=True,
        )], className="control"),
        html.Label(["Test chromosome (paper: chr1)", dcc.Dropdown(
            id="q-dec-testchr", options=options, value=params["test_chromosome"] or None, clearable=False,
            disabled=not options, placeholder="published split",
        )], className="control"),
    ]


def _topk(value) -> int:
    return services.clamp_int(value, DEFAULT_TOPK, 3, 60)


def default_tissue(tissues: list[str]) -> str:
    """Liver when the dataset has it, else its first tissue."""
    return DEFAULT_TISSUE if DEFAULT_TISSUE in tissues else tissues[0]


def layout(gene: str | None = None, data: str | None = None, **query):
    """Query keys (controls ``q-dec-*``): data, dec-restarts, dec-epochs, dec-testchr, dec-tissue, dec-topk."""
    source, data_notice = services.pick_source(KIND, data)
    chosen, gene_notice = services.pick_gene(KIND, gene, svc.default_gene(source), source)
    params = svc.training_params(query.get("dec-restarts"), query.get("dec-epochs"), query.get("dec-testchr"),
                                 source=source)
    tissue, topk = query.get("dec-tissue"), query.get("dec-topk")
    tissues = svc.tissues(source)
    tissue = tissue if tissue in tissues else default_tissue(tissues)
    dataset = services.dataset(KIND, source)
    held_out = svc.held_out_note(params, source)
    return html.Div([
        method_header(
            "DEcode: tissue expression from regulator binding sites",
            "A convolutional network reads where transcription factors bind a gene's promoter and where RNA-binding "
            "proteins and miRNAs bind its mRNA, and predicts its expression across tissues; DeepLIFT explains "
            "which regulators drive each tissue (Tasaki et al., Nat Mach Intell 2020).",
            source, (data_notice, gene_notice), chosen),
        section_links("/decode", svc.page_query(source, chosen, params)),
        html.Div(className="controls", children=[
            dataset_picker(PAGE, KIND, source),
            gene_picker("dec-gene", "Gene", services.genes_of(KIND, source), chosen, gene_notice is not None),
            *training_controls(params, source),
            html.Label(["Tissue to explain", dcc.Dropdown(
                id="q-dec-tissue", options=tissues, value=tissue, clearable=False,
            )], className="control"),
            html.Label(["Regulators in the heatmap", dcc.Input(
                id="q-dec-topk", type="number", min=3, max=60, step=1, value=_topk(topk), debounce=True,
            )], className="control"),
            html.Span(f"{len(dataset.genes):,} genes · {len(dataset.promoter_features) - 1} promoter TFs · "
                      f"{len(dataset.mrna_features) - 1} RBPs and miRNAs · {len(dataset.tissues)} tissues · "
                      f"{held_out}", className="control-note"),
        ]),
        job_card("dec-train", "Train model", "1 · Train the model",
                 "Trains the DEcode CNN (MSE, Adam 1e-3, batch 128, early stopping on a 10% validation set, best of "
                 "the restarts) on the genes that are not test genes, and a ridge regression on per-feature "
                 f"binding totals as the baseline ({held_out}). Results are cached: the same settings and "
                 "dataset load at once.", store="dec-model"),
        figure_row(("dec-perf", "Tissue performance: CNN beside the ridge baseline"),
                   ("dec-corr", "Predicted against actual tissue profiles"), height=640),
        figure_row(("dec-profile", "The chosen gene across tissues"),
                   ("dec-genemap", "The chosen gene's attribution map"), height=640),
        job_card("dec-attr", "Run attribution", "2 · Attribution across genes",
                 "DeepLIFT (DeepSHAP with DEcode's single reference: no binding, exon coverage of the median "
                 "transcript) for every test gene and tissue; regulator scores are summed over positions and "
                 "averaged over genes (paper Fig. 3d).", store="dec-attr"),
        figure_card("dec-regulators", "Top regulators by tissue", height=680),
    ])


register_dataset_picker(PAGE)
register_gene_picker("dec-gene")
register_url_params("q-dec-restarts", "q-dec-epochs", "q-dec-testchr", "q-dec-tissue", "q-dec-topk")


run_training, load_cached_model = register_cached_job(
    "dec-train", "dec-model",
    [("q-dec-restarts", "value"), ("q-dec-epochs", "value"), ("q-dec-testchr", "value"), (source_id(PAGE), "data")],
    svc.training,
    params=lambda restarts, epochs, test_chromosome, source: {
        "params": svc.training_params(restarts, epochs, test_chromosome, source=source), "source": source},
)


@shows_job_result("dec-train", "dec-model", cards=("dec-perf", "dec-corr"), inputs=[source_state(PAGE)])
def show_performance(model, source):
    if not model:
        message = "Train the model to see how well it predicts held-out genes."
        return *blank_card(message), *blank_card(message), "Idle: no model for these settings yet."
    params = model["params"]
    fit = svc.load_fit(params, source)
    if fit is None:
        message = "The stored model is gone; train it again."
        return *blank_card(message), *blank_card(message), message
    prov = services.provenance(KIND, "decode-tissue-performance", None, source=source, **params)
    summary = fit.summary()
    methods = (f"DEcode CNN (Tasaki et al. 2020; mRNA branch 2 x Conv1d k=2, 160 channels; promoter branch 5 x "
               f"Conv1d k=1, 120 channels; masked sums; 2 x [Linear 160, ReLU, BatchNorm]) trained with MSE and Adam "
               f"(lr 1e-3, batch 128, at most {params['max_epochs']} epochs, early stopping 10 on validation loss, "
               f"best of {plural(params['n_restarts'], 'restart')}); features bound in fewer than {params['min_genes']} "
               f"training genes dropped and each scaled by its training maximum. Test: {len(fit.split.test):,} "
               f"{svc.split_label(params)} genes; Spearman per tissue, mean over tissues "
               f"{summary['cnn']['mean_tissue_spearman']:.3f} (CNN) vs {summary['ridge']['mean_tissue_spearman']:.3f} "
               "(ridge on per-feature binding totals).")
    corr_prov = services.provenance(KIND, "decode-profile-correlation", None, source=source, **params)
    status = job_status(model, "Loaded the stored model.")
    return (*render_card(performance_figure(fit.performance), prov, methods),
            *render_card(profile_corr_figure(fit.profile_corr), corr_prov,
                         "Spearman correlation over test genes between each tissue's predicted values (rows) and "
                         "each tissue's measured values (columns); a tissue-specific model is strongest on the "
                         f"diagonal (paper Fig. 2c). {methods}"),
            status)


@callback(
    *figure_outputs("dec-profile"),
    *figure_outputs("dec-genemap"),
    Input("dec-model", "data"),
    Input("dec-gene", "value"),
    Input("q-dec-tissue", "value"),
    source_state(PAGE),
)
def show_gene(model, gene, tissue, source):
    if not model or svc.load_fit(model["params"], source) is None:
        prov = services.provenance(KIND, "decode-gene-profile", gene, source=source)
        measured = gene_profile_figure(svc.measured_profile(gene, source), gene, "measured only: no model yet")
        return (*render_card(measured, prov, f"Measured log2 fold change of {gene} in each tissue against its "
                             f"across-tissue median (DEcode's targets)."),
                *blank_card("Train the model to see this gene's attribution map."))
    params = model["params"]
    try:
        profiles = svc.gene_profiles(params, gene, source)
        attribution = svc.gene_attribution(params, gene, tissue, source)
    except services.InputError as exc:
        return *blank_card(str(exc)), *blank_card(str(exc))
    split = svc.gene_split(params, gene, source)
    prov = services.provenance(KIND, "decode-gene-profile", gene, source=source, **params)
    map_prov = services.provenance(KIND, f"decode-attribution-{tissue}", gene, source=source, **params)
    return (
        *render_card(gene_profile_figure(profiles, gene, split), prov,
                     f"Measured and predicted (DEcode CNN and ridge baseline) log2 fold change of {gene} in each "
                     f"tissue against its across-tissue median; {gene} is a {split} gene."),
        *render_card(attribution_map_figure(attribution.promoter, attribution.mrna, gene, tissue), map_prov,
                     f"DeepLIFT (rescale rule) attribution of the predicted {tissue} value of {gene} to each regulator "
                     "and 100-bp / 100-nt bin, against DEcode's reference (no binding; exon coverage of the median "
                     "transcript); red raises, blue lowers the prediction (scaled target units). The 12 regulators "
                     f"with the largest total |attribution| per branch are shown."),
    )


def _attribution_values(model, source) -> dict:
    if not model:
        raise InputError("Train the model first (step 1).")
    return {"params": model["params"], "source": source}


run_attribution, load_cached_attribution = register_cached_job(
    "dec-attr", "dec-attr", [("dec-model", "data"), (source_id(PAGE), "data")], svc.attribution,
    params=_attribution_values)


@shows_job_result("dec-attr", "dec-attr", cards=("dec-regulators",),
                  inputs=[Input("q-dec-topk", "value"), source_state(PAGE)])
def show_regulators(result, topk, source):
    if not result:
        return *blank_card("Run the attribution to rank regulators per tissue."), "Idle."
    scores = svc.attribution.result(params=result["params"], source=source)
    if scores is None:
        return *blank_card("The stored attribution is gone; run it again."), "Idle."
    k = _topk(topk)
    prov = services.provenance(KIND, "decode-regulator-attribution", None, source=source, top_k=k,
                               **result["params"])
    fit = svc.load_fit(result["params"], source)
    n_genes = f"{len(fit.split.test):,}" if fit is not None else "the"
    methods = (f"Mean DeepLIFT attribution (summed over positions, averaged over {n_genes} "
               f"test genes) of each regulator to each tissue's prediction (paper Fig. 3d); the {k} regulators with "
               f"the largest |score| in any tissue, promoter TFs as promoter:NAME, RBPs / miRNAs as mrna:NAME. "
               f"Diverging scale centred at 0.")
    status = job_status(result, "Loaded the stored attribution.")
    return (*render_card(regulator_heatmap_figure(scores, k), prov, methods), status)
