"""Essentiality of new samples (Rosenski et al. 2023): apply a target's model to unscreened profiles."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from dashboard.services import InputError
from dashboard.text import plural
from dashboard import security, services
from dashboard.components.dataset_picker import register_dataset_picker, source_state
from dashboard.components.essentiality_controls import KIND, family_header, pick_target, target_controls
from dashboard.components.figure_card import blank_card, figure_card, figure_outputs, render_card
from dashboard.components.gene_picker import register_gene_picker
from dashboard.components.tables import data_table, table_id
from dashboard.components.url_params import register_url_params
from dashboard.figures.essentiality import new_samples_figure
from dashboard.services import new_samples as ns_service

dash.register_page(__name__, path="/essentiality/new-samples", name="New samples",
                   title="Essentiality of new samples · PerturbScope", order=6)

PAGE = "ess-ns"
SAMPLES_ID = "q-ns--samples"
UPLOAD_STORE = "ns-upload-store"
TABLE_COLUMNS = ["group", "n", "mean_prediction", "t", "p", "q", "flagged"]
FDR = 0.05


def layout(gene: str | None = None, samples: str | None = None, data: str | None = None, **_):
    source, data_notice = services.pick_source(KIND, data)
    target, notice = pick_target(gene, source)
    sample_set = ns_service.pick_sample_set(samples, source)
    simulated = services.SIMULATED_NOTE if ns_service.is_simulated(source, sample_set) else None
    return html.Div([
        *family_header("Essentiality of new samples", "Train the target's model on the reference cell lines, "
                       "predict its gene effect in new expression profiles (tissues, tumours, pseudobulk) and flag "
                       "groups whose predictions differ from the mean.", "/essentiality/new-samples", source, target,
                       (data_notice, notice), simulated_note=simulated or ""),
        html.Div(className="controls", children=[
            *target_controls(PAGE, "ns-target", source, target, notice is not None),
            html.Label(["New samples", dcc.Dropdown(
                id=SAMPLES_ID, options=ns_service.sample_set_options(source), value=sample_set, clearable=False,
            )], className="control"),
            html.Div(className="control", children=[
                dcc.Upload(html.Button("Upload new samples (.csv, .tsv)", className="export-button"),
                           id="ns-upload", max_size=security.max_upload_bytes(), multiple=False),
                html.Span("samples in rows, gene symbols as columns, optional 'group' column; TPM or log2(TPM+1)",
                          className="control-note"),
            ]),
            dcc.Store(id=UPLOAD_STORE, storage_type="session"),
        ]),
        html.Div(className="card", children=[
            html.P(id="ns-status", className="card-help", role="status"),
            html.P(id="ns-missing", className="card-help", role="alert"),
        ]),
        figure_card("new-samples", "Predicted essentiality by group", height=540,
                    help_text="Each point is a new sample; red groups (*) differ from the other samples (Welch's "
                              f"t-test, BH q < {FDR:g}); the dashed line is the mean prediction over all samples."),
        html.Div(className="card", children=[
            html.H3("Groups", className="card-title"),
            data_table("ns-groups", TABLE_COLUMNS, export="new-sample-groups", definitions={
                "q": f"Benjamini–Hochberg q over the groups (flagged below {FDR:g})"}),
        ]),
    ])


register_gene_picker("ns-target")
register_dataset_picker(PAGE)
register_url_params(SAMPLES_ID)


@callback(
    Output(UPLOAD_STORE, "data"),
    Output(SAMPLES_ID, "value"),
    Output("ns-missing", "children", allow_duplicate=True),
    Input("ns-upload", "contents"),
    State("ns-upload", "filename"),
    prevent_initial_call=True,
)
def stage_upload(contents, filename):
    """Keep an upload on the server (the session remembers its token) and switch to it."""
    if not contents:
        return dash.no_update, dash.no_update, dash.no_update
    try:
        staged = ns_service.stage(contents, filename)
    except InputError as exc:
        return dash.no_update, dash.no_update, str(exc)
    except Exception as exc:  # an unreadable file must not become an HTTP 500
        return dash.no_update, dash.no_update, f"The file could not be read ({type(exc).__name__}: {exc})."
    return staged, ns_service.UPLOAD, ""


@callback(
    *figure_outputs("new-samples"),
    Output(table_id("ns-groups"), "rowData"),
    Output("ns-status", "children"),
    Output("ns-missing", "children"),
    Input("ns-target", "value"),
    Input(SAMPLES_ID, "value"),
    Input(UPLOAD_STORE, "data"),
    source_state(PAGE),
)
def show_predictions(target, sample_set, upload, source):
    source = source or services.DEFAULT_DATASET
    try:
        result, samples = ns_service.predict(target, source, sample_set, upload, fdr=FDR)
    except InputError as exc:
        return *blank_card(str(exc)), [], "", str(exc)
    except Exception as exc:  # shown to the user, never an HTTP 500
        message = (f"The prediction failed ({type(exc).__name__}: {exc}); check the new samples' values "
                   "or report this message.")
        return *blank_card(message), [], "", message
    model = result.model
    groups = samples.groups if samples.groups is not None else None
    labels = (groups.reindex(result.predictions.index).fillna("ungrouped") if groups is not None
              else result.predictions.map(lambda _: "all samples"))
    fig = new_samples_figure(result.predictions, labels, result.groups, result.target, result.mean_prediction, FDR)
    flagged = result.groups[result.groups["flagged"]]
    flagged_text = ("; ".join(f"{r.group} (mean {r.mean_prediction:.3f}, t {r.t:.2f}, q {r.q:.2e})"
                              for r in flagged.itertuples()) or "none")
    status = (f"{plural(len(result.predictions), 'sample')} from {samples.label}, "
              f"{plural(len(result.groups), 'group')}. Model: {model.chosen_model} on {plural(len(model.modifiers), 'modifier gene')} ({', '.join(model.modifiers[:8])}"
              f"{', …' if len(model.modifiers) > 8 else ''}), held-out test r = {model.report.test_pearson:.2f} "
              f"(p = {model.report.test_pearson_p:.1e}) on the reference, refitted on all {model.n_cells:,} cell lines. "
              f"Scale transform of the new samples: {result.transform}. Mean prediction "
              f"{result.mean_prediction:.3f}. Flagged groups (BH q < {FDR:g}): {flagged_text}.")
    untested = result.groups.loc[result.groups["p"].isna(), "group"].tolist()
    if untested:
        status += (f" Not tested (fewer than 2 samples in the group or the rest, or no spread): "
                   f"{', '.join(untested[:10])}{', …' if len(untested) > 10 else ''}.")
    missing = ""
    if result.missing_modifiers:
        missing = (f"The new samples lack {plural(len(result.missing_modifiers), 'modifier gene')} of the full model: "
                   f"{', '.join(result.missing_modifiers)}. The model was retrained on the genes they have.")
    if result.incomplete_samples:
        missing += (f" Left out for lacking a modifier gene's value: {plural(len(result.incomplete_samples), 'sample')}: "
                    f"{', '.join(result.incomplete_samples[:10])}{', …' if len(result.incomplete_samples) > 10 else ''}.")
    methods = (f"{result.target}'s gene effect was predicted in {len(result.predictions):,} new samples "
               f"({samples.label}). Model (Rosenski et al. 2023 protocol): modifier genes selected on 75% of the "
               f"reference cell lines (Pearson, Spearman, chi-squared; BH), model chosen among the fast models by "
               f"validation RMSE ({model.chosen_model}; held-out test Pearson r = {model.report.test_pearson:.2f}), "
               f"then refitted on all {model.n_cells:,} reference cell lines. New samples were aligned by gene symbol "
               f"and put on the reference scale ({result.transform}). Each group's predictions were compared with "
               f"those of all other samples by Welch's two-sided t-test (scipy.stats.ttest_ind, equal_var=False), "
               f"Benjamini-Hochberg over groups, flagged at q < {FDR:g} (mean prediction over all samples "
               f"{result.mean_prediction:.3f}). "
               f"Reference: {services.source_label(KIND, source)}.")
    prov = services.provenance(KIND, "new-samples", result.target, source=source, samples=sample_set,
                               upload=(upload or {}).get("name") if sample_set == ns_service.UPLOAD else None)
    rows = result.groups.assign(flagged=result.groups["flagged"].map({True: "yes", False: "no"})).to_dict("records")
    return (*render_card(fig, prov, methods), rows, status, missing)
