"""Modifier genes (Rosenski, Shifman & Kaplan 2023): which genes' expression tracks a target's essentiality."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard.text import plural
from dashboard import services
from dashboard.services import InputError
from dashboard.services import enrichment as enrichment_service
from dashboard.services import essentiality as screen_service
from dashboard.services.views import cached_view
from dashboard.components.dataset_picker import register_dataset_picker, source_id, source_state
from dashboard.components.gene_picker import register_gene_picker
from dashboard.components.essentiality_controls import (
    KIND, family_header, models_choice, models_control, models_id, pick_target, register_analysis_job, target_controls,
)
from dashboard.components.figure_card import blank_card, figure_card, figure_outputs, figure_row, render_card
from dashboard.components.job_panel import job_card, job_status, register_cached_job, shows_job_result
from dashboard.components.tables import data_table, table_id
from dashboard.components.url_params import register_url_params
from dashboard.figures.essentiality import (
    cv_figure, effect_by_lineage_figure, effect_scatter_figure, enrichment_figure, heldout_figure,
    lineage_scatter_figure, lineage_weights_figure, modifier_counts_figure, predicted_actual_figure,
    top_correlates_figure, validation_rmse_figure, venn_figure, venn_regions,
)

dash.register_page(__name__, path="/essentiality", name="Modifier genes", title="Modifier genes · PerturbScope", order=1)

TABLE_COLUMNS = ["gene", "pearson_r", "pearson_q", "spearman_rho", "spearman_q", "perm_fwer_p"]
MODIFIER_COLUMNS = ["gene", "tests", "pearson_r", "pearson_q", "spearman_rho", "spearman_q", "chi2_stat", "chi2_q"]
ANALYSIS_CARDS = ("ess-venn", "ess-mod-effect", "ess-mod-expr", "ess-predicted", "ess-rmse", "ess-weights",
                  "ess-heldout")


def _p(p: float) -> str:
    """A p-value for methods texts (below double precision: "< 1e-300")."""
    return "< 1e-300" if p == 0 else f"{p:.2e}"


def _library(requested: str | None, gene_sets: list[dict]) -> str | None:
    """The URL's gene-set library when offered, else the first one."""
    values = [option["value"] for option in gene_sets]
    return requested if requested in values else (values[0] if values else None)


def _source(result: dict) -> str:
    return result.get("source") or services.DEFAULT_DATASET


def layout(gene: str | None = None, perms: str | None = None, models: str | None = None,
           modifier: str | None = None, genesets: str | None = None, data: str | None = None, **_):
    source, data_notice = services.pick_source(KIND, data)
    target, notice = pick_target(gene, source)
    data = services.dataset(KIND, source)
    gene_sets = enrichment_service.libraries(source)
    return html.Div([
        *family_header("Modifier genes", "Which genes' expression predicts a target gene's CRISPR essentiality "
                       "across cancer cell lines (Rosenski, Shifman & Kaplan, BMC Med Genomics 2023).",
                       "/essentiality", source, target, (data_notice, notice), models),
        html.Div(className="controls", children=[
            *target_controls("ess", "ess-target", source, target, notice is not None),
            models_control("ess", models),
            html.Span(f"{data.expression.shape[0]:,} cell lines · {data.expression.shape[1]:,} expressed genes · "
                      f"{data.effect.shape[1]:,} target genes", className="control-note"),
        ]),
        job_card("ess-analysis", "Run analysis", "Modifier genes and model zoo",
                 "Splits cell lines 75/25, selects modifier genes on the training lines only (Pearson, Spearman "
                 "and chi-squared tests, BH-FDR < 0.05, top 20 per test), fits every model on a 90/10 "
                 "training/validation split, keeps the one with the lowest validation RMSE and reports it on "
                 "the held-out test lines; then per-lineage weights, a depth-4 tree and held-out-lineage errors.",
                 after=[html.Div(id="ess-summary", className="kpi-row"),
                        html.P(id="ess-published", className="card-help published-result")],
                 store="ess-analysis-result"),
        html.Div(className="grid-2", children=[
            figure_card("ess-venn", "Modifier genes by test", height=520),
            html.Div(className="card", children=[
                html.H3("Modifier genes", className="card-title"),
                html.P("Click a Venn region to list only its genes.", id="ess-venn-selection", className="card-help"),
                data_table("ess-modifier-table", MODIFIER_COLUMNS, page_size=12, export="modifier-genes"),
            ]),
        ]),
        html.Div(className="controls", children=[
            html.Label(["Gene sets for the enrichment", dcc.Dropdown(
                id="q-genesets", options=gene_sets, value=_library(genesets, gene_sets),
                clearable=False,
                placeholder="none: register a GMT file on the Datasets page",
            )], className="control"),
        ]),
        figure_card("ess-enrichment", "Pathway enrichment of the modifier genes", height=400,
                    help_text="Each gene set tested for more modifier genes than expected among the dataset's "
                              "expression genes: one-sided hypergeometric test, Benjamini-Hochberg FDR over the "
                              "sets (Rosenski et al. 2023, Fig. 1B)."
                              + (" The demo's own gene sets are SIMULATED pathways that contain its planted "
                                 "modifier sets." if services.is_demo(source) else "")
                              + " Gene-set libraries (GMT files) registered on the Datasets page are offered in "
                                "the menu above; none is downloaded."),
        html.Div(className="controls", children=[
            html.Label(["Modifier shown in the scatters", dcc.Dropdown(
                id="q-modifier", options=[modifier] if modifier else [], value=modifier, clearable=True,
                placeholder="the strongest modifier",
            )], className="control"),
        ]),
        figure_row(("ess-mod-effect", "Target effect against modifier expression"),
                   ("ess-mod-expr", "Modifier expression against target expression"), height=480),
        figure_row(("ess-predicted", "Predicted against actual (chosen model)"),
                   ("ess-rmse", "Validation RMSE of every model"), height=480),
        figure_card("ess-counts", "One modifier or many: predicted against actual on the test lines", height=420,
                    help_text="Linear regressions on the target's strongest modifier, its 5 strongest and all of "
                              "them (ranked by |Pearson r| on the training lines), fitted on the training lines of "
                              "the analysis shown and tested once on its held-out lines, beside the chosen model "
                              "(Rosenski et al. 2023, Fig. 3C-E). The first panel is the atlas's 'single best "
                              "modifier'."),
        job_card("ess-cv", "Run 5-fold CV", "5-fold cross-validation",
                 "The whole protocol five times, each fold's cell lines held out once: modifiers selected and "
                 "models chosen within each fold's training lines (the Models choice above; about five times "
                 "as long as Run analysis). Shows the pooled out-of-fold predictions and each fold's test r.",
                 store="ess-cv-result"),
        figure_card("ess-cv", "Cross-validated predictions", height=460),
        figure_row(("ess-weights", "Per-lineage modifier weights"),
                   ("ess-heldout", "Held-out-lineage error"), height=560),
        figure_card("ess-lineage", "Gene effect by lineage", height=420),
        job_card("ess-screen", "Run screen", "Genome-wide correlation screen",
                 html.Label(["Permutations (family-wise error) ", dcc.Input(
                     id="q-perms", type="number", min=0, max=screen_service.MAX_PERMUTATIONS, step=50, debounce=True,
                     value=screen_service.permutations_value(perms),
                 )], className="control"),
                 "Correlates the target's gene effect with every gene's expression (Pearson and Spearman, "
                 "Benjamini-Hochberg FDR per test) and, with permutations, controls the family-wise error "
                 "with a max-|r| permutation null. Results are cached: a repeated request is instant.",
                 store="ess-result"),
        figure_row(("ess-top", "Top correlated genes"),
                   ("ess-scatter", "Effect against the top gene's expression"), height=560),
        html.Div(className="card", children=[
            html.H3("Screen results (top 200 genes)", className="card-title"),
            data_table("ess-table", TABLE_COLUMNS, export="screen-top-genes"),
        ]),
    ])


register_gene_picker("ess-target")
register_dataset_picker("ess")
register_url_params("q-perms", models_id("ess"), "q-modifier", "q-genesets")


def _grouping_text(lineage) -> str:
    """How the cell lines were grouped, for methods texts."""
    if set(lineage) == {screen_service.ALL_LINES}:
        return "all cell lines as one group (the dataset has no lineage annotation)"
    extra = " (cell lines without one form the group 'unannotated')" if screen_service.UNANNOTATED in set(lineage) else ""
    return f"lineage{extra}"


@callback(Output("ess-published", "children"), Input("ess-target", "value"), source_state("ess"))
def show_published(target, source=services.DEFAULT_DATASET):
    """The paper's own result for this gene on DepMap, beside what the chosen dataset gives."""
    return screen_service.published_text(target, source or services.DEFAULT_DATASET)


@callback(*figure_outputs("ess-lineage"), Input("ess-target", "value"), source_state("ess"))
def show_lineages(target, source=services.DEFAULT_DATASET):
    source = source or services.DEFAULT_DATASET
    return cached_view(KIND, "effect-by-lineage", target, lambda: _lineage_card(target, source), source=source)


def _lineage_card(target: str, source: str) -> tuple:
    data = services.dataset(KIND, source)
    lineage = screen_service.lineages(data)
    fig = effect_by_lineage_figure(data.effect[target], lineage, target)
    prov = services.provenance(KIND, "effect-by-lineage", target, source=source)
    methods = (f"CRISPR gene effect of {target} across {data.effect[target].notna().sum():,} cell lines grouped by "
               f"{_grouping_text(lineage)} (boxes: median and interquartile range; whiskers 1.5 IQR).")
    return render_card(fig, prov, methods)


register_cached_job(
    "ess-screen", "ess-result", [("ess-target", "value"), ("q-perms", "value"), (source_id("ess"), "data")],
    screen_service.screen,
    params=lambda target, perms, source: {
        "target": target, "n_permutations": screen_service.permutations_value(perms), "source": source},
)


@shows_job_result("ess-screen", "ess-result", cards=("ess-top", "ess-scatter"), outputs=[Output(table_id("ess-table"), "rowData")])
def show_screen(result):
    blank = blank_card("Run the screen to see the genes that track this target.")
    if not result:
        return *blank, *blank, [], "Idle."
    target, perms, source = result["target"], result["n_permutations"], _source(result)
    table = screen_service.screen.result(target=target, n_permutations=perms, source=source)
    if table is None:
        return *blank, *blank, [], "The stored result is gone; run the screen again."
    view = cached_view(KIND, "screen", target, lambda: _screen_view(table, target, perms, source), source=source,
                       n_permutations=perms)
    return *view, job_status(result)


def _screen_view(table, target: str, perms: int, source: str) -> tuple:
    """The screen's two cards and its table rows."""
    data = services.dataset(KIND, source)
    params = {"n_permutations": perms}
    top_prov = services.provenance(KIND, "screen-top-genes", target, source=source, **params)
    top_fig = top_correlates_figure(table, target)
    best = table.iloc[0]
    scatter_prov = services.provenance(KIND, f"scatter-{best['gene']}", target, source=source, **params)
    scatter_fig = effect_scatter_figure(
        data.expression[best["gene"]], data.effect[target], screen_service.lineages(data), best["gene"], target,
        r=float(best["pearson_r"]), q=float(best["pearson_q"]),
    )
    n_sig = int((table["pearson_q"] < 0.05).sum())
    methods = (f"For {target}, the CRISPR gene effect was correlated with the expression of each of {len(table):,} "
               f"genes across cell lines (Pearson and Spearman; Benjamini-Hochberg FDR per test; {n_sig:,} genes at "
               f"q < 0.05)" + (f"; family-wise error from {perms:,} permutations of the effect (max-|r| null)"
                               if perms else "") + ".")
    rows = table.head(200)[TABLE_COLUMNS].to_dict("records")
    return *render_card(top_fig, top_prov, methods), *render_card(scatter_fig, scatter_prov, methods), rows


# --- per-target analysis ------------------------------------------------------------------

register_analysis_job("ess-analysis", "ess-analysis-result", "ess-target", "ess", "ess")


def _empty_analysis(message: str) -> list:
    blank = blank_card(message)
    return blank * len(ANALYSIS_CARDS)


def _shown_text(result: dict, models: str) -> str:
    """Which models the page shows, and how to get the paper's full analysis."""
    if models == screen_service.ATLAS_SET:
        zoo = screen_service.MODEL_SETS.get(result.get("requested"), "the paper's model zoo")
        return (f"instant view: the atlas's fast models ({screen_service.atlas_models_text()}) on "
                f"the dataset's 75/25 split · Run analysis for {zoo} and held-out lineages")
    if result.get("cached"):
        return f"{screen_service.MODEL_SETS[models]} · stored result"
    return f"{screen_service.MODEL_SETS[models]} · computed in {result.get('seconds', 0):.1f} s"


def _summary(report, result: dict) -> list:
    items = [
        ("chosen model", report.chosen_model),
        ("test Pearson r", "n/a" if report.test_pearson != report.test_pearson else f"{report.test_pearson:.2f}"),
        ("test RMSE", f"{report.test_rmse:.3f}"),
        ("training-mean RMSE", f"{report.baseline_test_rmse:.3f}"),
        ("modifier genes", str(len(report.modifiers))),
        ("best single modifier r", f"{report.single_best_pearson:.2f} ({report.single_best_modifier})"
         if report.single_best_modifier else "none"),
    ]
    return [html.Div([html.B(value), label], className="kpi") for label, value in items] + [
        html.P(["Shown: ", _shown_text(result, result["models"])], className="card-help kpi-note")]


@shows_job_result("ess-analysis", "ess-analysis-result", cards=ANALYSIS_CARDS,
                  outputs=[Output(table_id("ess-modifier-table"), "rowData"), Output("q-modifier", "options"),
                           Output("ess-summary", "children")],
                  inputs=[State("q-modifier", "value")])
def show_analysis(result, modifier):
    if not result:
        return *_empty_analysis("Run the analysis to fit the model zoo for this target."), [], [], [], "Idle."
    target, models, source = result["target"], result["models"], _source(result)
    try:
        analysis = screen_service.analysis.result(target=target, models=models, source=source)
    except InputError as exc:
        return *_empty_analysis(str(exc)), [], [], [], "Idle."
    if analysis is None:
        return *_empty_analysis("The stored result is gone; run the analysis again."), [], [], [], "Idle."
    data = services.dataset(KIND, source)
    report = analysis.report
    selection = report.selection
    shown = modifier if modifier in report.modifiers else (report.modifiers[0] if report.modifiers else None)
    prov = lambda view, **extra: services.provenance(KIND, view, target, source=source, models=models,  # noqa: E731
                                                     **extra)
    data_label = prov("x")["dataset"]
    n_train = int((report.predictions["split"] != "test").sum())
    select_text = (f"Modifier genes of {target} were selected on {n_train:,} training cell lines by Pearson and "
                   f"Spearman correlation and a chi-squared test (effect in 6 equal-frequency bins x expression "
                   f"below/above its median), Benjamini-Hochberg FDR < 0.05 per test, top 20 per test "
                   f"(Rosenski et al. 2023).")
    cards = [render_card(venn_figure(selection.sets, target), prov("modifier-venn"), select_text)]
    lineage = screen_service.lineages(data)
    if shown is not None:
        row = selection.table.loc[shown]
        cards.append(render_card(
            lineage_scatter_figure(data.expression[shown], data.effect[target], lineage,
                                   title=f"{target} effect against {shown} expression (r = {row['pearson_r']:.2f})",
                                   x_title=f"{shown} expression, log2(TPM + 1)", y_title=f"{target} gene effect",
                                   x_column=f"{shown}_expression_log2_tpm_plus_1",
                                   y_column=f"{target}_gene_effect"),
            prov(f"effect-vs-{shown}"), f"Each point is a cell line coloured by lineage. {select_text}"))
        if target in data.expression.columns:
            cards.append(render_card(
                lineage_scatter_figure(data.expression[shown], data.expression[target], lineage,
                                       title=f"{target} expression against {shown} expression",
                                       x_title=f"{shown} expression, log2(TPM + 1)",
                                       y_title=f"{target} expression, log2(TPM + 1)",
                                       x_column=f"{shown}_expression_log2_tpm_plus_1",
                                       y_column=f"{target}_expression_log2_tpm_plus_1"),
                prov(f"expression-{shown}-vs-{target}"),
                "Expression of the two genes across cell lines."))
        else:
            reason = f"{target}'s own expression is not in this dataset's expression table, so it cannot be drawn."
            cards.append(blank_card(reason, reason))
    else:
        cards += [blank_card(f"No modifier passed the FDR threshold for {target}.")] * 2
    n_test = int((report.predictions["split"] == "test").sum())
    if report.modifiers:
        zoo_text = (f"Models ({', '.join(report.validation_rmse)}) were trained on the modifier genes' expression "
                    f"of 90% of the training cell lines and compared by RMSE on the other 10%; {report.chosen_model} "
                    f"was refitted on all training lines and evaluated on {n_test} held-out lines (Pearson r = "
                    f"{report.test_pearson:.3f}, p = {report.test_pearson_p:.2e}; RMSE {report.test_rmse:.3f} vs "
                    f"{report.baseline_test_rmse:.3f} for the training mean).")
    else:
        zoo_text = (f"No modifier gene passed the FDR threshold on the training lines, so {target}'s effect on the "
                    f"{n_test} held-out lines is predicted by the training mean (RMSE {report.test_rmse:.3f}).")
    cards.append(render_card(
        predicted_actual_figure(report.predictions, target, report.chosen_model, report.test_pearson,
                                report.test_pearson_p), prov("predicted-vs-actual"), zoo_text))
    if not report.modifiers:
        reason = f"No modifier gene passed BH-FDR < 0.05 for {target}: predictions are the training mean."
        cards += [blank_card(reason, reason)] * 2
    else:
        cards.append(render_card(
            validation_rmse_figure(report.validation_rmse, report.chosen_model, report.baseline_test_rmse),
            prov("validation-rmse"), zoo_text))
        cards.append(_weights_card(analysis.weights, target, lineage, prov("lineage-weights"), data_label))
    if analysis.heldout is None:
        reason = "Held-out-lineage errors come with the paper's full analysis:<br>press Run analysis (about a minute)."
        cards.append(blank_card(reason, reason.replace("<br>", " ")))
    else:
        cards.append(_heldout_card(analysis.heldout, target, prov("heldout-lineages"), data_label))
    table = _modifier_rows(selection)
    options = list(report.modifiers)
    status = "Showing the instant atlas view." if models == screen_service.ATLAS_SET else job_status(result)
    return (*[value for card in cards for value in card], table, options, _summary(report, result), status)


def _heldout_card(heldout, target: str, provenance: dict, data_label: str) -> list:
    return render_card(
        heldout_figure(heldout, target), provenance,
        f"For each lineage with at least 40 cell lines, modifiers were selected and a model trained without that "
        f"lineage; violins show absolute errors on it, beside the errors of a random 75/25 split (Global)."
        f"{_heldout_note(heldout)}")


def _weights_card(weights, target: str, lineage, provenance: dict, data_label: str) -> list:
    """The per-lineage weights heatmap, or why no lineage is large enough for one."""
    if weights.empty:
        reason = (f"No lineage group has at least 15 cell lines with a gene effect for {target}, "
                  "so no per-lineage weights can be fitted.")
        return blank_card(reason, reason)
    return render_card(
        lineage_weights_figure(weights, target), provenance,
        f"For each group of at least 15 cell lines, grouped by {_grouping_text(lineage)}, a linear regression of "
        f"{target}'s effect on the standardised expression of its modifier genes; colours are the coefficients "
        f"(red positive, blue negative).")


def _heldout_note(heldout) -> str:
    """Say so when no lineage was large enough to be held out (only the random split is drawn)."""
    if set(heldout["group"]) <= {"Global"}:
        return (" No annotated lineage has 40 cell lines with a gene effect, so only the random split is shown "
                "(unannotated cell lines are never held out as a lineage).")
    return ""


def _modifier_rows(selection, genes: list[str] | None = None) -> list[dict]:
    regions = venn_regions(selection.sets)
    tests_of = {g: " + ".join(k) for k, members in regions.items() for g in members}
    genes = selection.modifiers if genes is None else genes
    frame = selection.table.loc[genes].copy()
    frame.insert(0, "tests", [tests_of.get(g, "") for g in genes])
    frame.insert(0, "gene", genes)
    return frame[MODIFIER_COLUMNS].to_dict("records")


@callback(
    Output(table_id("ess-modifier-table"), "rowData", allow_duplicate=True),
    Output("ess-venn-selection", "children"),
    Input({"type": "figure", "name": "ess-venn"}, "clickData"),
    State("ess-analysis-result", "data"),
    prevent_initial_call=True,
)
def venn_region_clicked(click, result):
    """List the genes of the clicked Venn region with their statistics."""
    if not click or not result or not click.get("points"):
        return no_update, no_update
    analysis = screen_service.analysis.result(target=result["target"], models=result["models"], source=_source(result))
    if analysis is None:
        return no_update, no_update
    key = tuple(str(click["points"][0].get("customdata", "")).split("&"))
    selection = analysis.report.selection
    genes = venn_regions(selection.sets).get(key, [])
    label = " and ".join(key) + " only" if len(key) < 3 else "all three tests"
    count = f"the {plural(len(genes), 'gene')}"
    return _modifier_rows(selection, genes), f"Showing {count} found by {label}. Click another region, or re-run to list all."


@callback(*figure_outputs("ess-enrichment"), Input("ess-analysis-result", "data"),
          Input("q-genesets", "value"), prevent_initial_call=True)
def show_enrichment(result, choice=None):
    """Fig. 1B for the shown analysis: the top gene sets of the target's modifier genes."""
    if not result:
        return blank_card("Run the analysis to test its modifier genes for pathway enrichment.")
    target, models, source = result["target"], result["models"], _source(result)
    try:
        analysis = screen_service.analysis.result(target=target, models=models, source=source)
        if analysis is None:
            raise InputError("The stored result is gone; run the analysis again.")
        table, library = enrichment_service.modifier_enrichment(analysis.report.modifiers, source, choice)
    except InputError as exc:
        return blank_card(str(exc), str(exc))
    prov = services.provenance(KIND, "modifier-enrichment", target, source=source, models=models,
                               gene_sets=choice or "default")
    n_sig = int((table["q"] < 0.05).sum())
    top = table.iloc[0]
    methods = (f"The {plural(table.attrs['n_modifiers'], 'modifier gene')} of {target} tested against {len(table):,} gene sets "
               f"({library}) with the {table.attrs['n_background']:,} expression genes as background: one-sided "
               f"hypergeometric test, Benjamini-Hochberg FDR over the sets; {plural(n_sig, 'set')} with q < 0.05; top: "
               f"{top['term']} ({top['overlap']} of {top['set_size']} genes, p = {top['p']:.2e}, q = {top['q']:.2e}).")
    return render_card(enrichment_figure(table, target), prov, methods)


# --- one vs many modifiers and cross-validation (Fig. 3C-E) --------------------------------

@callback(*figure_outputs("ess-counts"), Input("ess-analysis-result", "data"), prevent_initial_call=True)
def show_counts(result):
    """Fig. 3C-E for the shown analysis: linear models on the top 1, 5 and all modifiers beside the chosen model."""
    if not result:
        return blank_card("Run the analysis to compare one modifier with many.")
    target, models, source = result["target"], result["models"], _source(result)
    try:
        shown = screen_service.modifier_counts(target, models, source=source)
        if shown is None:
            raise InputError("The stored result is gone; run the analysis again.")
    except InputError as exc:
        return blank_card(str(exc), str(exc))
    counts, analysis = shown
    report = analysis.report
    if not report.modifiers:
        single = (f" The single most correlated gene, {report.single_best_modifier}, alone gives test r = "
                  f"{report.single_best_pearson:.2f} (p = {_p(report.single_best_pearson_p)})."
                  if report.single_best_modifier and report.single_best_pearson == report.single_best_pearson else "")
        reason = f"No modifier gene passed BH-FDR < 0.05 for {target}, so there are no modifiers to compare.{single}"
        return blank_card(reason, reason)
    chosen = report.predictions[report.predictions["split"] == "test"]
    fig = modifier_counts_figure(counts.summary, counts.predictions, chosen, target, report.chosen_model,
                                 report.test_pearson, report.test_pearson_p)
    prov = services.provenance(KIND, "modifier-counts", target, source=source, models=models)
    parts = "; ".join(
        f"{row.model} ({plural(row.n_modifiers, 'gene')}): test r = {row.test_pearson:.3f} "
        f"(95% CI {row.ci_low:.2f} to {row.ci_high:.2f}, p = {_p(row.test_pearson_p)}, n = {row.n_test})"
        for row in counts.summary.itertuples())
    methods = (f"Ordinary least squares of {target}'s gene effect on the expression of its top 1, top 5 and all "
               f"modifier genes (ranked by |Pearson r| on the {int(counts.summary['n_train'].iloc[0]):,} training "
               f"lines), each tested once on the held-out lines: {parts}; the chosen model ({report.chosen_model}) "
               f"has test r = {report.test_pearson:.3f} (p = {_p(report.test_pearson_p)}). Intervals: Fisher z.")
    return render_card(fig, prov, methods)


register_cached_job(
    "ess-cv", "ess-cv-result",
    [("ess-target", "value"), (models_id("ess"), "value"), (source_id("ess"), "data")],
    screen_service.cv,
    params=lambda target, models, source: {"target": target, "models": models_choice(models), "source": source},
)


@shows_job_result("ess-cv", "ess-cv-result", cards=("ess-cv",))
def show_cv(result):
    """Pooled out-of-fold predictions and the per-fold r of the stored 5-fold cross-validation."""
    if not result:
        message = "Press Run 5-fold CV to test every cell line once, out of fold."
        return *blank_card(message), "Idle."
    target, models, source = result["target"], result["models"], _source(result)
    try:
        stored = screen_service.cv.result(target=target, models=models, source=source)
        if stored is None:
            raise InputError("The stored cross-validation is gone; run it again.")
    except InputError as exc:
        return *blank_card(str(exc), str(exc)), "Idle."
    report, folds = stored
    n = int((report.predictions["split"] == "test").sum())
    ci = screen_service.pooled_interval(report)
    fig = cv_figure(report.predictions, folds, target, report.test_pearson, report.test_pearson_p, ci)
    prov = services.provenance(KIND, "cross-validation", target, source=source, models=models,
                               cv=screen_service.CV_FOLDS)
    per_fold = ", ".join(f"{r:.3f}" for r in folds["test_pearson"])
    chosen = ", ".join(f"{m} ({c})" for m, c in folds["chosen_model"].value_counts().items())
    methods = (f"{len(folds)}-fold cross-validation of {target} over {n:,} cell lines (seeded): in each fold, "
               f"modifier genes were selected on the training lines, models ({screen_service.MODEL_SETS.get(models, models)}) "
               f"compared on a 10% validation split and the chosen one tested on the fold's held-out lines. Pooled "
               f"out-of-fold test r = {report.test_pearson:.3f} (95% CI {ci[0]:.2f} to {ci[1]:.2f}, Fisher z; p = "
               f"{_p(report.test_pearson_p)}); per-fold r: {per_fold}; chosen models by fold: {chosen}.")
    status = job_status(result)
    return (*render_card(fig, prov, methods), status)
