"""The genome-wide atlas of modifier-gene models (Rosenski et al. 2023, Fig. 1A and 3A)."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard.text import plural
from dashboard import services
from dashboard.services import InputError
from dashboard.components.dataset_picker import dataset_picker, register_dataset_picker, source_id
from dashboard.components.essentiality_controls import KIND, family_header, target_href
from dashboard.components.figure_card import blank_card, figure_card, figure_row, render_card
from dashboard.components.job_panel import job_card, register_cached_job, shows_job_result
from dashboard.components.tables import data_table, table_id
from dashboard.figures.essentiality import published_comparison_figure, single_vs_model_figure, sweep_histogram_figure
from dashboard.services import essentiality as ess_service

dash.register_page(__name__, path="/essentiality/sweep", name="Genome-wide atlas",
                   title="Genome-wide atlas · PerturbScope", order=6)

COLUMNS = ["target", "chosen_model", "test_pearson", "test_pearson_p", "q", "test_rmse", "baseline_test_rmse",
           "single_best_modifier", "single_best_pearson", "n_modifiers", "top_term", "top_term_q", "modifiers"]


def layout(gene: str | None = None, models: str | None = None, data: str | None = None, **_):
    source, data_notice = services.pick_source(KIND, data)
    n_targets = services.dataset(KIND, source).effect.shape[1]
    return html.Div([
        *family_header("Genome-wide atlas", "Every target gene through the paper's protocol on one 75/25 split of "
                       "the cell lines: modifier selection on the training lines, fast models compared on a "
                       "validation split, Pearson r on the held-out lines, BH-FDR across targets. Click a target to "
                       "open its page.", "/essentiality/sweep", source, None, data_notice, models),
        html.Div(className="controls", children=[
            dataset_picker("ess-sweep", KIND, source),
            html.Span(f"{n_targets:,} target genes", className="control-note"),
        ]),
        dcc.Interval(id="sweep-poll", interval=3000, disabled=True),
        job_card("sweep", "Build atlas", None,
                 f"The atlas is built once per dataset ({ess_service.atlas_models_text()}; modifier selection for "
                 "all targets at once as matrix products) and stored; the demo's comes with it. A build resumes "
                 "where it stopped.",
                 after=[html.P(id="sweep-progress-note", className="card-help"),
                        html.Div(id="sweep-summary", className="kpi-row")], store="sweep-result"),
        figure_row(("sweep-hist", "Test Pearson r by chosen model"),
                   ("sweep-single", "Chosen model vs best single modifier"), height=480),
        figure_card("sweep-published", "This atlas vs the published results (Rosenski et al. 2023)", height=520,
                    help_text="Test Pearson r of each gene in both this atlas and the paper's genome-wide table "
                              "(real DepMap data, CC BY 4.0). Register a DepMap release on the Datasets page to "
                              "compare a real atlas; on simulated data the comparison is an illustration only."),
        html.Div(className="card", children=[
            html.H3("Targets (type in a column's filter box to search; click a name to open its page)",
                    className="card-title"),
            html.P(id="sweep-terms-note", className="card-help"),
            data_table("sweep-table", COLUMNS, page_size=20, markdown=("target",), export="atlas"),
        ]),
    ])


register_dataset_picker("ess-sweep")


register_cached_job(
    "sweep", "sweep-result", [(source_id("ess-sweep"), "data")], ess_service.atlas,
    params=lambda source: {"source": source or services.DEFAULT_DATASET},
)


@callback(
    Output("sweep-progress-note", "children"),
    Output("sweep-poll", "disabled"),
    Output("sweep-result", "data", allow_duplicate=True),
    Input("sweep-poll", "n_intervals"),
    Input("sweep-result", "data"),
    State(source_id("ess-sweep"), "data"),
    prevent_initial_call=True,
)
def atlas_progress(_n, result, source):
    """While no atlas is stored, say how far a build has come (it may run in another job) and look again."""
    source = source or services.DEFAULT_DATASET
    if result:
        return "", True, no_update
    if ess_service.atlas.result(source=source) is not None:  # finished in another job or process: show it
        return "", True, {"source": source, "cached": True}
    state = ess_service.atlas_state(source)
    note = "No atlas yet for this dataset: press Build atlas." if state == "no atlas yet" else \
        f"No stored atlas yet ({state}); press Build atlas to run or resume it here."
    return note, False, no_update


@shows_job_result("sweep", "sweep-result", cards=("sweep-hist", "sweep-single", "sweep-published"),
                  outputs=[Output("sweep-terms-note", "children"), Output(table_id("sweep-table"), "rowData"),
                           Output("sweep-summary", "children")])
def show_sweep(result):
    blank = blank_card("Build the atlas to see how well every target is predicted.")
    if not result:
        return *blank, *blank, *blank, "", [], [], "Idle."
    source = result.get("source") or services.DEFAULT_DATASET
    table = ess_service.atlas.result(source=source)
    if table is None:
        return *blank, *blank, *blank, "", [], [], "The stored atlas is gone; build it again."
    table, terms_note = _with_top_terms(table.reset_index(drop=True), source)
    n_sig = int(((table["q"] < 0.05) & (table["test_pearson"] > 0)).sum())
    rows = table[COLUMNS].copy()
    rows["target"] = [f"[{t}]({target_href(t, source)})" for t in rows["target"]]
    evaluated = table["test_pearson"].notna()
    summary = [html.Div([html.B(v), k], className="kpi") for k, v in (
        ("targets", f"{len(table):,}"), ("predictable at BH q < 0.05 (r > 0)", f"{n_sig:,}"),
        ("median test r", f"{table.loc[evaluated, 'test_pearson'].median():.2f}"),
        ("without any modifier", f"{int((table['n_modifiers'] == 0).sum()):,}"),
    )]
    prov = services.provenance(KIND, "atlas-test-pearson", None, source=source, **ess_service.atlas_params())
    methods = (f"Each of {len(table):,} target genes was modelled as in Rosenski et al. (2023) on one seeded 75/25 "
               f"split of the cell lines: modifier genes selected on the training lines (Pearson, Spearman and "
               f"chi-squared, BH-FDR < 0.05, top 20 per test), {ess_service.atlas_models_text()} compared by RMSE on "
               f"a 10% validation split, the chosen model's Pearson r on the held-out lines; BH-FDR across targets "
               f"({n_sig:,} with q < 0.05 and r > 0).")
    single_prov = services.provenance(KIND, "atlas-single-vs-model", None, source=source, **ess_service.atlas_params())
    single_methods = (f"For each target, the test Pearson r of a linear model on its single strongest modifier "
                      f"(|Pearson r| on the training lines) against the chosen model on all its modifiers (paper "
                      f"Fig. 1A). {methods}")
    status = "Loaded the stored atlas." if result.get("cached") else f"Built in {result.get('seconds', 0):.0f} s."

    published = ess_service.published_comparison(source)
    published_prov = services.provenance(KIND, "atlas-vs-published", None, source=source, **ess_service.atlas_params())
    published_methods = (f"Test Pearson r per gene of this atlas against the published genome-wide results on DepMap "
                         f"CRISPR data ({ess_service.published_citation()}, CC BY 4.0), for the {len(published):,} "
                         f"genes in both. {methods}")
    return (*render_card(sweep_histogram_figure(table), prov, methods),
            *render_card(single_vs_model_figure(table), single_prov, single_methods),
            *render_card(published_comparison_figure(published, services.is_demo(source)), published_prov,
                         published_methods),
            terms_note, rows.to_dict("records"), summary, status)


def _with_top_terms(table, source: str):
    """The atlas with each target's top enriched gene set and its q, and a sentence saying how they were made."""
    from dashboard.services import enrichment as enrichment_service

    try:
        terms, library = enrichment_service.atlas_top_terms(source)
    except InputError as exc:
        terms, library = None, str(exc)
    if terms is None:
        return table.assign(top_term="", top_term_q=float("nan")), f"Top enriched gene set: none ({library})"
    table = table.join(terms[["top_term", "top_term_q", "n_enriched"]], on="target")
    n_targets = int((table["top_term_q"] < 0.05).sum())
    note = (f"top_term, top_term_q: each target's modifier genes tested against every set of the {library} "
            f"(one-sided hypergeometric, background the {services.dataset(KIND, source).expression.shape[1]:,} "
            f"expression genes, BH over the sets); the set with the smallest p and its q. {n_targets:,} of "
            f"{plural(len(table), 'target has', 'targets have')} a set at q < 0.05 (Rosenski et al. 2023, Fig. 1B).")
    return table, note
