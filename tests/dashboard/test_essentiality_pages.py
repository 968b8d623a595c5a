"""Modifier-gene pages' callbacks, called as plain functions on the demo data."""

import pytest

import app  # noqa: F401  (registers pages and callbacks)
from dashboard.pages import essentiality, essentiality_sweep, essentiality_tree
from dashboard.services import essentiality as ess_service


@pytest.fixture(scope="module")
def analysis_result():
    outcome = ess_service.run_analysis("RPP25L", "fast")
    assert outcome.error is None, outcome.error
    return {"target": "RPP25L", "models": "fast"}


def test_analysis_views(analysis_result):
    outputs = essentiality.show_analysis(analysis_result, None)
    n_cards = len(essentiality.ANALYSIS_CARDS)
    figures = outputs[0: 3 * n_cards: 3]
    venn, effect_scatter, _, predicted, rmse, weights, heldout = figures
    assert "RPP25" in " ".join(venn.data[0].text)
    assert effect_scatter.layout.meta["provenance"]["view"] == "effect-vs-RPP25"
    assert {t.name.split(" ")[0] for t in predicted.data} == {"training", "validation", "test"}
    assert set(rmse.data[0].x) == set(ess_service._models("fast"))
    assert weights.data[0].zmid == 0
    assert "Global" in [t.name for t in heldout.data]
    table, options, summary, status = outputs[3 * n_cards:]
    assert table[0]["gene"] == "RPP25" and options[0] == "RPP25"
    assert status == "Loaded the stored result." or status.startswith("Finished")


def test_venn_click_lists_region(analysis_result):
    rows, text = essentiality.venn_region_clicked(
        {"points": [{"customdata": "pearson&spearman&chi2"}]}, analysis_result)
    assert "RPP25" in [r["gene"] for r in rows] and "all three tests" in text


def test_tree_highlights_a_cell_path(analysis_result):
    from dashboard import services

    cell = services.dataset("essentiality").expression.index[0]
    fig, config, methods, text, _ = essentiality_tree.show_tree(analysis_result, cell)
    assert any(t.name == f"path of {cell}" for t in fig.data)
    assert cell in text and "RPP25" in " ".join(fig.data[-2].text)


def test_sweep_service_and_figure():
    outcome = ess_service.run_sweep(4, "fast")
    assert outcome.error is None, outcome.error
    table = ess_service.sweep_result(4, "fast")
    assert len(table) == 4 and {"target", "chosen_model", "test_pearson", "q"} <= set(table.columns)
    from dashboard.figures.essentiality import sweep_histogram_figure

    fig = sweep_histogram_figure(table)
    assert sum(sum(t.y) for t in fig.data) == table["test_pearson"].notna().sum()
    assert essentiality_sweep.show_sweep(None)[-1] == "Idle."


def test_noise_target_without_modifiers_renders_honestly():
    """A target with no significant modifier falls back to the training mean, and every view says so."""
    outcome = ess_service.run_analysis("SIM0050", "fast")
    assert outcome.error is None, outcome.error
    result = {"target": "SIM0050", "models": "fast"}
    outputs = essentiality.show_analysis(result, None)
    n_cards = len(essentiality.ANALYSIS_CARDS)
    titles = [fig.layout.title.text or "" for fig in outputs[0: 3 * n_cards: 3]]
    assert all("nan" not in t for t in titles), titles
    fig, *_ = essentiality_tree.show_tree(result, None)
    assert fig.data  # a single-leaf tree is still drawn
