"""DEcode binding-site disruption: in-silico removal of binding sites, regulator knockout, co-expression."""

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
from dashboard.figures.decode import binding_map_figure, edit_profile_figure, effects_figure
from dashboard.services import decode as svc
from dashboard.services import decode_edit as edit

dash.register_page(__name__, path="/decode/disruption", name="DEcode disruption",
                   title="DEcode binding-site disruption · PerturbScope", order=3)

KIND = "decode"
PAGE = "decode-dis"
SECTIONS = (("/decode", "Tissues and attribution"), ("/decode/disruption", "Binding-site disruption"))
#: The in-silico edit's controls, all in the URL (region, fraction, promoter, mrna, knockout).
EDIT_CONTROLS = ("q-dis--region", "q-dis--fraction", "q-dis--promoter", "q-dis--mrna", "q-dis--knockout")
PROMOTER_MARKS = {bp: f"{bp:+d}" if bp else "TSS"
                  for bp in range(edit.PROMOTER_SPAN[0], edit.PROMOTER_SPAN[1] + 1, 500)}


def _stored_params(stored: dict | None, source: str) -> dict:
    """Training parameters from the page's ``dis-params`` store, cleaned for ``source``."""
    stored = stored or {}
    return svc.training_params(stored.get("n_restarts"), stored.get("max_epochs"), stored.get("test_chromosome"),
                               source=source)


def _partner(requested: str | None, chosen: str, genes, source: str) -> str:
    """The URL's partner gene when usable, else the dataset's default partner (never ``chosen``)."""
    partner = requested if requested in genes and requested != chosen else svc.default_partner(source)
    return partner if partner != chosen else next(g for g in genes if g != chosen)


def _coexpression_help(source: str) -> list:
    text = ("Disrupts the gene at random N times (each 500-bp promoter window and each fifth of the transcript "
            "removed with probability 0.3, each bound regulator knocked out with probability 0.3), "
            "correlates its predicted tissue profile with the partner's (Spearman), and regresses that "
            "correlation on what was removed (OLS, Bonferroni-corrected p-values; paper Fig. 6c-d).")
    caution = svc.few_tissues_note(source)
    return [html.P(text, className="card-help"),
            html.P(caution, className="card-help notice", id="dis-few-tissues") if caution else None]


def layout(gene: str | None = None, data: str | None = None, **query):
    """Query keys: data, the edit's region, fraction, promoter (bp edges from the TSS, ``-500,500``), mrna (nt
    edges), knockout (comma-separated regulators), the experiment's dec-partner, dec-n, and the model's
    dec-restarts, dec-epochs, dec-testchr."""
    source, data_notice = services.pick_source(KIND, data)
    chosen, gene_notice = services.pick_gene(KIND, gene, svc.default_gene(source), source)
    genes = services.genes_of(KIND, source)
    partner = _partner(query.get("dec-partner"), chosen, genes, source)
    n = query.get("dec-n")
    params = svc.training_params(query.get("dec-restarts"), query.get("dec-epochs"), query.get("dec-testchr"),
                                 source=source)
    length = svc.binding(chosen, source).length
    mrna_span = edit.mrna_span(length)
    mrna_marks = {nt: f"{nt:,}" for nt in range(0, mrna_span[1] + 1, 100 * max(1, length // 6))}
    regulators = svc.bound_regulators(chosen, source)
    return html.Div([
        method_header(
            "DEcode: binding-site disruption",
            "Remove binding sites or knock out regulators of a gene in silico and re-predict its expression in every "
            "tissue; then ask which sites and regulators keep two genes co-expressed (Tasaki et al. 2020, Fig. 6).",
            source, (data_notice, gene_notice), chosen),
        subnav(SECTIONS, "/decode/disruption", query=svc.page_query(source, chosen, params)),
        html.Div(className="controls", children=[
            dataset_picker(PAGE, KIND, source),
            gene_picker("dis-gene", "Gene", genes, chosen, gene_notice is not None),
            html.Span(f"Model: {plural(params['n_restarts'], 'restart')}, at most {params['max_epochs']} epochs, "
                      f"{svc.held_out_note(params, source)} (set on the Tissues page; the trained model is shared).",
                      className="control-note"),
        ]),
        dcc.Store(id="dis-params", data=params),
        job_card("dis-train", "Train model", "Model",
                 "Edits need a trained model (cached; the same settings load at once).", store="dis-model"),
        html.Div(className="card", children=[
            html.H3("In-silico edit", className="card-title"),
            html.Div(className="controls", children=[
                html.Label(["Region to disrupt", dcc.RadioItems(
                    id="q-dis--region", value=edit.pick_region(query.get("region")), inline=True,
                    options=[{"label": " promoter ", "value": "promoter"}, {"label": " mRNA ", "value": "mrna"},
                             {"label": " none ", "value": "none"}],
                )], className="control"),
                html.Label(["Fraction of binding removed", dcc.Slider(
                    id="q-dis--fraction", min=0, max=1, step=edit.FRACTION_STEP,
                    value=edit.pick_fraction(query.get("fraction")),
                    marks={0: "0", 0.5: "0.5", 1: "1"}, tooltip={"placement": "bottom"},
                )], className="control", style={"minWidth": "260px"}),
            ]),
            html.Label(["Promoter range (bp from the TSS, 100-bp bins)", dcc.RangeSlider(
                id="q-dis--promoter", min=edit.PROMOTER_SPAN[0], max=edit.PROMOTER_SPAN[1], step=100, pushable=100,
                value=list(edit.pick_span(query.get("promoter"), edit.PROMOTER_SPAN, edit.DEFAULT_PROMOTER)),
                marks=PROMOTER_MARKS, allowCross=False,
            )], className="control", style={"marginTop": "10px"}),
            html.Label([f"mRNA range (nt from the 5' end; {mrna_span[1]:,} nt in {length} 100-nt bins)",
                        dcc.RangeSlider(
                id="q-dis--mrna", min=0, max=mrna_span[1], step=100, pushable=100,
                value=list(edit.pick_span(query.get("mrna"), mrna_span, edit.default_mrna(length))),
                marks=mrna_marks, allowCross=False,
            )], className="control", style={"marginTop": "10px"}),
            html.Label(["Knock out regulators (binding removed everywhere)", dcc.Dropdown(
                id="q-dis--knockout", options=regulators, value=edit.pick_knockout(query.get("knockout"), regulators),
                multi=True, placeholder=f"{plural(len(regulators), 'regulator binds', 'regulators bind')} {chosen}",
            )], className="control", style={"marginTop": "10px"}),
        ]),
        figure_card("dis-profile", "Predicted profile before and after the edit", height=600),
        figure_row(("dis-promoter", "Promoter binding map"), ("dis-mrna", "mRNA binding map"), height=560),
        job_card("dis-coexp", "Run experiment", "Co-expression experiment",
                 *_coexpression_help(source),
                 html.Div(className="controls", children=[
                     html.Label(["Partner gene", dcc.Dropdown(id="q-dec-partner", options=list(genes), value=partner,
                                                              clearable=False)], className="control"),
                     html.Label(["Random disruptions (paper: 10,000)", dcc.Input(
                         id="q-dec-n", type="number", min=20, max=svc.MAX_DISRUPTIONS, step=10,
                         value=svc.disruptions_value(n), debounce=True,
                     )], className="control"),
                 ]), store="dis-coexp"),
        figure_row(("dis-regions", "Effect of each region on co-expression"),
                   ("dis-regulators", "Effect of each regulator on co-expression"), height=560),
    ])


register_dataset_picker(PAGE)
register_gene_picker("dis-gene")
register_url_params("q-dec-partner", "q-dec-n", *EDIT_CONTROLS)


def _bins(span, region: str) -> tuple[int, int]:
    """Inclusive bins of a slider's range of edges (bp from the TSS, or nt from the 5' end)."""
    return edit.bins_of(span, edit.PROMOTER_SPAN[0] if region == "promoter" else 0)


run_training, load_cached_model = register_cached_job(
    "dis-train", "dis-model", [("dis-params", "data"), (source_id(PAGE), "data")], svc.training,
    params=lambda stored, source: {"params": _stored_params(stored, source), "source": source},
)


@shows_job_result("dis-train", "dis-model")
def model_status(model):
    if not model:
        return "Idle: no model for these settings yet."
    return job_status(model, "Loaded the stored model.")


@callback(
    *figure_outputs("dis-promoter"),
    *figure_outputs("dis-mrna"),
    Input("dis-gene", "value"),
    Input("q-dis--region", "value"),
    Input("q-dis--promoter", "value"),
    Input("q-dis--mrna", "value"),
    source_state(PAGE),
)
def show_binding(gene, region, promoter_span, mrna_span, source):
    promoter, mrna = svc.binding(gene, source).frames()
    promoter = promoter.iloc[1:] if len(promoter) and promoter.index[0] == "promoter" else promoter
    mrna = mrna.drop(index="exon", errors="ignore")
    prov_p = services.provenance(KIND, "decode-promoter-binding", gene, source=source)
    prov_m = services.provenance(KIND, "decode-mrna-binding", gene, source=source)
    return (
        *render_card(binding_map_figure(promoter, gene, "promoter", "position relative to the TSS (bp, 100-bp bins)",
                                        _bins(promoter_span, "promoter") if region == "promoter" else None), prov_p,
                     f"Transcription-factor binding (covered fraction of each 100-bp bin, -2,000..+1,000 bp around the "
                     f"TSS) of {gene}; the red box is the region being disrupted."),
        *render_card(binding_map_figure(mrna, gene, "mRNA", "position along the transcript (nt, 100-nt bins)",
                                        _bins(mrna_span, "mrna") if region == "mrna" else None), prov_m,
                     f"RNA-binding-protein and miRNA binding along the {gene} transcript (covered fraction of each "
                     f"100-nt bin); the red box is the region being disrupted."),
    )


@callback(
    *figure_outputs("dis-profile"),
    Input("dis-model", "data"),
    Input("dis-gene", "value"),
    *[Input(control, "value") for control in EDIT_CONTROLS],
    source_state(PAGE),
    prevent_initial_call=True,
)
def show_edit(model, gene, region, fraction, promoter_span, mrna_span, knockout, source):
    if not model or svc.load_fit(model["params"], source) is None:
        return blank_card("Train the model to re-predict this gene after an edit.")
    try:
        frame = svc.edit_profile(model["params"], gene, region, _bins(promoter_span, "promoter"),
                                 _bins(mrna_span, "mrna"), fraction or 0.0, knockout or [], source)
    except services.InputError as exc:
        return blank_card(str(exc))
    parts = []
    if region == "promoter":
        parts.append(f"removing {float(fraction or 0):.0%} of promoter binding at "
                     f"{promoter_span[0]:+d}..{promoter_span[1]:+d} bp")
    elif region == "mrna":
        parts.append(f"removing {float(fraction or 0):.0%} of mRNA binding at nt {mrna_span[0]:,}-{mrna_span[1]:,}")
    if knockout:
        parts.append("knocking out " + ", ".join(knockout[:4]) + ("…" if len(knockout) > 4 else ""))
    description = " and ".join(parts) or "no edit"
    prov = services.provenance(KIND, "decode-edit", gene, source=source, region=region, promoter_bp=promoter_span,
                               mrna_nt=mrna_span, fraction=fraction, knockout=knockout or [], **model["params"])
    methods = (f"DEcode CNN prediction of {gene}'s log2 fold change per tissue before and after {description} "
               "(binding values in the range multiplied by 1 - fraction; knocked-out regulators set to 0 everywhere; "
               "the promoter mark and exon coverage are kept), re-predicted in one forward pass.")
    return render_card(edit_profile_figure(frame, gene, description), prov, methods)


def _coexpression_values(model, gene, partner, n, source) -> dict:
    if not model:
        raise InputError("Train the model first.")
    return {"params": model["params"], "gene": gene, "partner": partner, "n": svc.disruptions_value(n),
            "source": source}


run_coexpression, load_cached_coexpression = register_cached_job(
    "dis-coexp", "dis-coexp",
    [("dis-model", "data"), ("dis-gene", "value"), ("q-dec-partner", "value"), ("q-dec-n", "value"),
     (source_id(PAGE), "data")],
    svc.coexpression, params=_coexpression_values,
)


@shows_job_result("dis-coexp", "dis-coexp", cards=("dis-regions", "dis-regulators"), inputs=[source_state(PAGE)])
def show_coexpression(result, source):
    if not result:
        message = "Run the co-expression experiment to see which sites keep the two genes co-expressed."
        return *blank_card(message), *blank_card(message), "Idle."
    payload = svc.coexpression.result(params=result["params"], gene=result["gene"], partner=result["partner"],
                                      n=result["n"], source=source)
    if payload is None:
        message = "The stored result is gone; run the experiment again."
        return *blank_card(message), *blank_card(message), message
    gene, partner, n = result["gene"], result["partner"], result["n"]
    effects = payload["effects"]
    baseline = float(payload["baseline"])
    prov = services.provenance(KIND, f"decode-coexpression-{partner}", gene, source=source, partner=partner, n=n,
                               **result["params"])
    methods = (f"{n:,} random in-silico disruptions of {gene} (each of six 500-bp promoter windows and five fifths of "
               "the transcript removed with probability 0.3; each bound regulator the model uses knocked out with "
               f"probability 0.3); for each, the Spearman correlation between {gene}'s and {partner}'s predicted tissue "
               f"profiles (unedited: {baseline:.2f}) was regressed on the removal indicators by OLS; bars are "
               "coefficients ±1.96 SE, coloured when the Bonferroni-corrected p < 0.05 (Tasaki et al. Fig. 6c-d).")
    status = job_status(result)
    return (*render_card(effects_figure(effects, "region", gene, partner), prov, methods),
            *render_card(effects_figure(effects, "regulator", gene, partner),
                         services.provenance(KIND, f"decode-coexpression-regulators-{partner}", gene, source=source,
                                             partner=partner, n=n, **result["params"]), methods),
            status)
