"""Modifier-gene pages' callbacks, called as plain functions on the demo data and a registered one."""

import json

import plotly
import pytest

import app  # noqa: F401  (registers pages and callbacks)
from dashboard import services
from dashboard.pages import essentiality, essentiality_sweep, essentiality_tree
from dashboard.services import essentiality as ess_service
from tests.dashboard.helpers import find_component


@pytest.fixture(scope="module")
def analysis_result():
    outcome = ess_service.analysis.run(target="RPP25L", models="fast")
    assert outcome.error is None, outcome.error
    return {"target": "RPP25L", "models": "fast"}


def test_analysis_views(analysis_result):
    outputs = essentiality.show_analysis(analysis_result, None)
    n_cards = len(essentiality.ANALYSIS_CARDS)
    figures = outputs[0: 3 * n_cards: 3]
    venn, effect_scatter, _, predicted, rmse, weights, heldout = figures
    assert "RPP25" in " ".join(venn.data[-1].text)
    assert effect_scatter.layout.meta["provenance"]["view"] == "effect-vs-RPP25"
    assert {t.name.split(" ")[0] for t in predicted.data} == {"training", "validation", "test"}
    assert set(rmse.data[0].x) == set(ess_service._models("fast"))
    assert weights.data[0].zmid == 0
    assert "Global" in [t.name for t in heldout.data]
    table, options, summary, status = outputs[3 * n_cards:]
    assert table[0]["gene"] == "RPP25" and options[0] == "RPP25"
    assert status == "Loaded the stored result." or status.startswith("Finished")


def test_one_vs_many_card_on_a_full_analysis_uses_its_split(analysis_result):
    """Fig. 3C-E on the full analysis: the linear models test on that run's held-out lines."""
    counts, analysis = ess_service.modifier_counts(analysis_result["target"], analysis_result["models"])
    test_cells = set(analysis.report.predictions.query("split == 'test'")["cell"])
    assert set(counts.predictions["cell"]) <= test_cells
    assert counts.summary.iloc[0]["test_pearson"] == pytest.approx(analysis.report.single_best_pearson, abs=1e-10)
    fig, _config, methods = essentiality.show_counts(analysis_result)
    assert len(fig.data) == 4 and analysis.report.chosen_model in methods


def test_venn_click_lists_region(analysis_result):
    rows, text = essentiality.venn_region_clicked(
        {"points": [{"customdata": "pearson&spearman&chi2"}]}, analysis_result)
    assert "RPP25" in [r["gene"] for r in rows] and "all three tests" in text
    assert "the 1 gene found" in text if len(rows) == 1 else f"the {len(rows)} genes found" in text


def test_tree_highlights_a_cell_path(analysis_result):
    cell = services.dataset("essentiality").expression.index[0]
    fig, config, methods, text, _ = essentiality_tree.show_tree(analysis_result, cell)
    assert any(t.name == f"path of {cell}" for t in fig.data)
    assert cell in text and "RPP25" in " ".join(fig.data[-2].text)


def test_atlas_page_shows_the_prebuilt_demo_atlas():
    """The demo's atlas comes with `make demo-data`: the atlas browser draws it without a build."""
    assert ess_service.atlas.result() is not None
    (hist, _, methods, single, _, _, published, _, published_methods,
     terms_note, rows, summary, status) = essentiality_sweep.show_sweep({"source": "demo", "cached": True})
    table = ess_service.atlas.result()
    assert sum(sum(t.y) for t in hist.data) == table["test_pearson"].notna().sum()
    assert sum(len(t.x) for t in single.data) == (table["test_pearson"].notna() & table["single_best_pearson"].notna()).sum()
    assert len(rows) == len(table) and rows[0]["target"].startswith("[") and "/essentiality?gene=" in rows[0]["target"]
    n_sig = int(((table["q"] < 0.05) & (table["test_pearson"] > 0)).sum())
    assert f"{n_sig:,}" in _text(summary) and status == "Loaded the stored atlas."
    assert essentiality_sweep.show_sweep(None)[-1] == "Idle."
    assert essentiality_sweep.atlas_progress(0, None, "demo")[2] == {"source": "demo", "cached": True}
    # the demo's planted real symbols beside the paper's real results, said to be an illustration only
    both = ess_service.published_comparison()
    assert "RPP25L" in set(both["gene"]) and len(published.data[0].x) == len(both)
    assert "illustration only" in published.layout.title.text and "CC BY 4.0" in published_methods


def test_noise_target_without_modifiers_renders_honestly():
    """A target with no significant modifier falls back to the training mean, and every view says so."""
    atlas, truth = ess_service.atlas.result(), services.dataset("essentiality").truth.set_index("target")
    noise = next(g for g in atlas.index if truth.loc[g, "kind"] == "noise" and atlas.loc[g, "n_modifiers"] == 0)
    outcome = ess_service.analysis.run(target=noise, models="fast")
    assert outcome.error is None, outcome.error
    result = {"target": noise, "models": "fast"}
    outputs = essentiality.show_analysis(result, None)
    n_cards = len(essentiality.ANALYSIS_CARDS)
    titles = [fig.layout.title.text or "" for fig in outputs[0: 3 * n_cards: 3]]
    assert all("nan" not in t for t in titles), titles
    fig, *_ = essentiality_tree.show_tree(result, None)
    assert fig.data  # a single-leaf tree is still drawn
    fig, _config, text = essentiality.show_counts(result)
    assert not fig.data and "No modifier gene passed" in text and "nan" not in text


# --- a registered DepMap release (120 cell lines, 165 expressed genes, 70 targets, no planted truth) ----------

def _text(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def _figures(outputs, n_cards: int) -> list:
    return list(outputs[0: 3 * n_cards: 3])


def test_layouts_on_registered_data_use_its_genes_and_hide_demo_notes(registered):
    source = registered["essentiality"]
    data = services.dataset("essentiality", source)
    pages = {"ess": essentiality.layout(data=source), "ess-tree": essentiality_tree.layout(data=source),
             "ess-sweep": essentiality_sweep.layout(data=source)}
    for prefix, layout in pages.items():
        text = _text(layout)
        assert "Simulated demo data" not in text and "planted" not in text
        assert find_component(layout, f"{prefix}-source").data == source and find_component(layout, f"q-{prefix}--data").value == source
        assert f"data={source}" in text  # the tabs keep the dataset
    assert find_component(pages["ess"], "ess-target").options == sorted(data.effect.columns)
    assert f"{len(data.expression):,} cell lines · 165 expressed genes · 70 target genes" in _text(pages["ess"])
    cells = find_component(pages["ess-tree"], "q-tree--cell").options
    assert [o["value"] for o in cells] == list(data.expression.index) and cells[0]["label"] == "ACH-000001 · LINE0"
    assert "70 target genes" in _text(pages["ess-sweep"])
    # a gene the dataset lacks falls back to the default target, or to a widely screened one when that is absent too
    layout = essentiality.layout(gene="SIM0050", data=source)
    assert find_component(layout, "ess-target").value == "RPP25L"
    assert "SIM0050 is not in the My essentiality data dataset" in _text(layout)
    assert ess_service.default_target("NOT_SCREENED", source) == "AR"


def test_unknown_dataset_id_falls_back_to_the_demo_with_a_notice(registered):
    layout = essentiality_tree.layout(data="0123456789abcdef")
    assert find_component(layout, "ess-tree-source").data == "demo" and find_component(layout, "tree-target").value == "RPP25L"
    assert "showing the demo data" in _text(layout) and "Simulated demo data" in _text(layout)


def test_analysis_screen_and_tree_on_registered_data(registered, analysis_result):
    source = registered["essentiality"]
    data = services.dataset("essentiality", source)
    outcome = ess_service.analysis.run(target="RPP25L", models="fast", source=source)
    assert outcome.error is None, outcome.error
    demo = ess_service.analysis.run(target="RPP25L", models="fast")
    assert outcome.key != demo.key  # the demo's result is stored apart
    result = {"target": "RPP25L", "models": "fast", "source": source}
    outputs = essentiality.show_analysis(result, None)
    venn, effect_scatter, _, predicted, _, weights, heldout = _figures(outputs, len(essentiality.ANALYSIS_CARDS))
    lineages = set(data.cells["lineage"])
    assert {t.name for t in effect_scatter.data} <= lineages
    assert sum(len(t.x) for t in effect_scatter.data) == data.effect["RPP25L"].notna().sum()
    assert sum(len(t.x) for t in predicted.data) == data.effect["RPP25L"].notna().sum()
    assert {label.split(" (")[0] for label in weights.data[0].y} <= lineages
    assert {t.name for t in heldout.data} == {"Global", "Prostate"}  # the only lineage with 40 cell lines
    assert venn.layout.meta["provenance"]["dataset"].startswith("registered:essentiality")
    methods = outputs[2]
    assert "My essentiality data" in methods and "simulated" not in methods
    assert set(r["gene"] for r in outputs[-4]) <= set(data.expression.columns)
    cell = data.expression.index[0]
    fig, _, tree_methods, text, _ = essentiality_tree.show_tree(result, cell)
    assert any(t.name == f"path of {cell}" for t in fig.data) and data.cells.loc[cell, "lineage"] in text
    assert "registered:essentiality" in tree_methods
    # the correlation screen covers the registered genes only
    assert ess_service.screen.run(target="RPP25L", n_permutations=0, source=source).error is None
    top, _, _, scatter, _, _, rows, _ = essentiality.show_screen({"target": "RPP25L", "n_permutations": 0, "source": source})
    assert len(ess_service.screen.result(target="RPP25L", n_permutations=0, source=source)) == data.expression.shape[1]
    assert {r["gene"] for r in rows} <= set(data.expression.columns)
    assert ess_service.screen.result(target="RPP25L", n_permutations=0) is None or len(
        ess_service.screen.result(target="RPP25L", n_permutations=0)) != data.expression.shape[1]
    assert "RPP25L" in top["layout"]["title"]["text"]  # figures come back as their JSON (stored views)


def test_dataset_without_lineages_groups_all_cell_lines(registered, user_files):
    """No Model.csv: lineages are empty strings, shown as one group and never held out."""
    files = {k: v for k, v in user_files["essentiality"].items() if k != "models"}
    entry, report, _ = services.registry().register("essentiality", "No annotation", files)
    source = entry.ident
    fig, _, methods = essentiality.show_lineages("RPP25L", source)
    assert len(fig["data"]) == 1 and set(fig["data"][0]["x"]) == {"all cell lines"} and "no lineage annotation" in methods
    assert ess_service.analysis.run(target="RPP25L", models="fast", source=source).error is None
    outputs = essentiality.show_analysis({"target": "RPP25L", "models": "fast", "source": source}, None)
    *_, weights, heldout = _figures(outputs, len(essentiality.ANALYSIS_CARDS))
    screened = services.dataset("essentiality", source).effect["RPP25L"].notna().sum()
    assert list(weights.data[0].y) == [f"all cell lines (n = {screened})"]
    assert [t.name for t in heldout.data] == ["Global"] and "only the random split" in outputs[3 * 7 - 1]
    assert "unannotated" not in essentiality_tree.show_tree(
        {"target": "RPP25L", "models": "fast", "source": source}, "ACH-000001")[3]


def test_atlas_on_registered_data_builds_and_resumes(registered):
    source = registered["essentiality"]
    if ess_service.atlas.result(source=source) is None:  # the same files may have had their atlas built in another test
        note, polling, _ = essentiality_sweep.atlas_progress(0, None, source)
        assert "No atlas yet" in note and polling is False
    outcome = ess_service.atlas.run(source=source)
    assert outcome.error is None, outcome.error
    assert ess_service.atlas_folder(source) != ess_service.atlas_folder()
    assert ess_service.atlas_progress(source) == (70, 70) and ess_service.atlas_state(source) == "atlas built"
    fig, _, methods, *_, rows, summary, status = essentiality_sweep.show_sweep({"source": source, "cached": True})
    targets = list(services.dataset("essentiality", source).effect.columns)
    assert [r["target"] for r in rows] == [f"[{t}](/essentiality?gene={t}&data={source})" for t in targets]
    assert "registered:essentiality" in methods and status == "Loaded the stored atlas."
    # r against r per gene with the published table, for the genes of the release the paper has
    both = ess_service.published_comparison(source)
    atlas = ess_service.atlas.result(source=source)
    gene = both["gene"].iloc[0]
    assert both.set_index("gene").loc[gene, "atlas_test_pearson"] == pytest.approx(atlas.loc[gene, "test_pearson"])
    # the gene page's instant view equals the target's atlas row
    row = ess_service.atlas_row("RPP25L", source)
    report = ess_service.quick_analysis("RPP25L", source=source).report
    assert report.chosen_model == row["chosen_model"] and report.test_pearson == row["test_pearson"]


def test_published_result_sits_beside_the_demo():
    text = essentiality.show_published("RPP25L", "demo")
    assert "test r 0.79" in text and "XGBoost" in text and "RPP25 (0.62)" in text
    assert "real published results" in text and "CC BY 4.0" in text
    assert "no result for SIM0050" in essentiality.show_published("SIM0050", "demo")
