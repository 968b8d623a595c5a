"""The modifier page's one-vs-many card (Fig. 3C-E) and its 5-fold cross-validation, and their agreement with the atlas."""

import time

import numpy as np
import pytest
from scipy.stats import pearsonr

import app  # noqa: F401  (registers pages and callbacks)
from dashboard import services
from dashboard.pages import essentiality as page
from dashboard.pages import essentiality_sweep
from dashboard.services import essentiality as ess_service
from tests.dashboard.helpers import find_component

INSTANT = ess_service.ATLAS_SET  # the view the page opens with


@pytest.fixture(scope="module")
def targets():
    """Targets of the demo atlas with at least 5 modifiers and a defined single-best r (no demo names hard-coded)."""
    atlas = ess_service.atlas.result()
    rich = atlas[(atlas["n_modifiers"] >= 5) & atlas["single_best_pearson"].notna()]
    assert len(rich) >= 2
    return list(rich.index[:3])


def test_top_one_panel_is_the_atlas_single_best_modifier(targets):
    """The first panel's r is the number of the atlas's Fig. 1A scatter for that target, to rounding."""
    atlas = ess_service.atlas.result()
    _, _, _, single, *_ = essentiality_sweep.show_sweep({"source": "demo", "cached": True})
    drawn = {t: x for trace in single.data for t, x in zip(trace.text, trace.x)}
    for target in targets:
        counts, _analysis = ess_service.modifier_counts(target, INSTANT)
        top1 = counts.summary.iloc[0]
        assert top1["genes"] == atlas.loc[target, "single_best_modifier"]
        assert top1["test_pearson"] == pytest.approx(atlas.loc[target, "single_best_pearson"], abs=1e-10)
        assert top1["test_pearson_p"] == pytest.approx(atlas.loc[target, "single_best_pearson_p"], rel=1e-6)
        assert drawn[target] == pytest.approx(top1["test_pearson"], abs=1e-10)


def test_card_draws_four_panels_with_their_test_r(targets):
    target = targets[0]
    started = time.perf_counter()
    fig, _config, methods = page.show_counts({"target": target, "models": INSTANT})
    seconds = time.perf_counter() - started
    counts, analysis = ess_service.modifier_counts(target, INSTANT)
    report = analysis.report
    assert len(fig.data) == 4
    titles = [a.text for a in fig.layout.annotations]
    for trace, row, title in zip(fig.data[:3], counts.summary.itertuples(), titles):
        assert f"r = {row.test_pearson:.2f}" in title
        assert trace.x.tolist() and len(trace.x) == row.n_test
        r, _ = pearsonr(trace.x, trace.y)
        assert r == pytest.approx(row.test_pearson)
    chosen = report.predictions[report.predictions["split"] == "test"]
    assert len(fig.data[3].x) == len(chosen) and f"r = {report.test_pearson:.2f}" in titles[3]
    assert "top 1 (1 gene)" in methods and "top 5 (5 genes)" in methods and report.chosen_model in methods
    assert fig.layout.meta["provenance"]["view"] == "modifier-counts"
    assert seconds < 5  # instant: least squares on the stored analysis


def test_cards_explain_what_is_missing():
    fig, _config, _text = page.show_counts(None)
    assert "Run the analysis" in fig.layout.annotations[0].text
    fig, _config, _text, status = page.show_cv(None)
    assert "Run 5-fold CV" in fig.layout.annotations[0].text and status == "Idle."
    fig, _config, text, _status = page.show_cv({"target": "not-a-target", "models": "fast"})
    assert "gone" in text


def test_five_fold_cv_shows_pooled_and_per_fold_r(targets):
    target = targets[0]
    outcome = ess_service.cv.run(target=target, models=INSTANT)
    assert outcome.error is None, outcome.error
    report, folds = ess_service.cv.result(target=target, models=INSTANT)
    fig, _config, methods, status = page.show_cv({"target": target, "models": INSTANT, "cached": True})
    test = report.predictions[report.predictions["split"] == "test"]
    assert len(test) == services.dataset("essentiality").effect[target].notna().sum()
    scatter = [t for t in fig.data if t.type.startswith("scatter")]
    assert sum(len(t.x) for t in scatter) == len(test) and len(scatter) == ess_service.CV_FOLDS
    bars = [t for t in fig.data if t.type == "bar"][0]
    assert np.allclose(bars.y, folds["test_pearson"])
    assert f"pooled r = {report.test_pearson:.2f}" in fig.layout.title.text
    assert "per-fold r: " + ", ".join(f"{r:.3f}" for r in folds["test_pearson"]) in methods
    assert status == "Loaded the stored result."


def test_layout_has_the_new_cards():
    layout = page.layout()
    for ident in ("ess-cv-run", "ess-cv-result", "ess-cv-status"):
        assert find_component(layout, ident) is not None
