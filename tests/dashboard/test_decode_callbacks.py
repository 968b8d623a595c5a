"""DEcode pages: services and callbacks called as plain functions (a quick 3-epoch model)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

import app  # noqa: E402,F401  (registers pages and callbacks)
from dashboard import exports  # noqa: E402
from dashboard.pages import decode as page  # noqa: E402
from dashboard.pages import decode_disruption as disruption  # noqa: E402
from dashboard.services import decode as svc  # noqa: E402

RESTARTS, EPOCHS = 1, 3


@pytest.fixture(scope="module")
def model():
    params = svc.training_params(RESTARTS, EPOCHS)
    progress = []
    outcome = svc.train_job(params, progress.append)
    assert outcome.error is None, outcome.error
    assert progress and progress[-1][0] == 100
    return {"params": params}


def test_training_params_clip_and_default():
    assert svc.training_params(None, None) == svc.DEFAULT_TRAINING
    assert svc.training_params("99", "-5")["n_restarts"] == 10
    assert svc.training_params("2", "abc")["max_epochs"] == svc.DEFAULT_TRAINING["max_epochs"]


def test_layouts_accept_url_parameters():
    assert page.layout(**{"gene": "SIM0001", "dec-restarts": "2", "dec-epochs": "5", "dec-tissue": "Liver", "dec-topk": "10"}) is not None
    assert page.layout(**{"gene": "nonexistent", "dec-tissue": "nowhere", "dec-topk": "x"}) is not None
    assert disruption.layout(**{"gene": "SIM0002", "dec-partner": "SIM0003", "dec-n": "500"}) is not None
    assert disruption.layout(**{"gene": "SIM0002", "dec-partner": "SIM0002"}) is not None


def test_pages_before_training_explain_what_to_do():
    params = svc.training_params(7, 77)
    assert page.load_cached_model(7, 77) is None and not svc.is_trained(params)
    fig, _, _, fig2, _, _, status = page.show_performance(None)
    assert "Train the model" in fig.layout.annotations[0].text and status.startswith("Idle")
    assert "Train the model" in disruption.show_edit(None, "SIM0001", "promoter", [15, 24], [0, 3], 1.0, [])[0] \
        .layout.annotations[0].text


def test_performance_cards_after_training(model):
    assert svc.is_trained(model["params"])
    assert page.load_cached_model(RESTARTS, EPOCHS) == {"params": model["params"], "cached": True}
    fig, config, methods, corr, _, corr_methods, status = page.show_performance({**model, "cached": True})
    fit = svc.load_fit(model["params"])
    assert [t.name for t in fig.data] == ["ridge baseline (binding totals)", "DEcode CNN"]
    cnn = dict(zip(fig.data[1].y, fig.data[1].x))
    assert cnn["Liver"] == pytest.approx(fit.performance.loc["Liver", "cnn"])
    assert "Spearman" in methods and "ridge" in methods and status == "Loaded the stored model."
    assert config["toImageButtonOptions"]["filename"].startswith("decode-tissue-performance")
    assert corr.data[0].zmid == 0 and np.asarray(corr.data[0].z).shape == fit.profile_corr.shape
    content, filename = exports.build_download(fig.to_plotly_json(), "csv")
    frame = pd.read_csv(io.StringIO(content))
    assert len(frame) == 2 * len(fit.tasks) and filename.endswith(".csv")


def test_gene_profile_and_attribution_map(model):
    gene = svc.default_gene()
    profile, _, methods, genemap, _, map_methods = page.show_gene(model, gene, "Liver")
    actual = dict(zip(profile.data[0].y, profile.data[0].x))
    assert actual["Liver"] == pytest.approx(float(svc.dataset("decode").targets.loc[gene, "Liver"]), abs=1e-5)
    assert gene in methods and "DeepLIFT" in map_methods
    assert all(t.zmid == 0 for t in genemap.data) and len(genemap.data) >= 1
    blank = page.show_gene(model, gene, "Atlantis")[0]
    assert "not a tissue" in blank.layout.annotations[0].text


def test_attribution_job_and_heatmap(model):
    assert page.load_cached_attribution(model) is None
    outcome = svc.attribution_job(model["params"])
    assert outcome.error is None
    assert page.load_cached_attribution(model) == {"params": model["params"], "cached": True}
    fig, _, methods, status = page.show_regulators({"params": model["params"], "cached": True}, 8)
    scores = svc.attribution_result(model["params"])
    assert np.asarray(fig.data[0].z).shape == (8, scores.shape[1]) and fig.data[0].zmid == 0
    top = scores.abs().max(axis=1).sort_values(ascending=False).index[:8]
    assert list(fig.data[0].y) == list(top)
    assert "Fig. 3d" in methods and status.startswith("Loaded")


def test_disruption_edit_and_binding_maps(model):
    gene = svc.default_gene()
    promoter, _, _, mrna, _, _ = disruption.show_binding(gene, "promoter", [15, 24], [0, 3])
    assert "HNF4A" in list(promoter.data[0].y)
    assert promoter.layout.shapes and not mrna.layout.shapes
    fig, _, methods = disruption.show_edit(model, gene, "none", [15, 24], [0, 3], 1.0, ["promoter:HNF4A"])
    before = dict(zip(fig.data[0].y, fig.data[0].x))
    after = dict(zip(fig.data[1].y, fig.data[1].x))
    frame = svc.edit_profile(model["params"], gene, "none", None, None, 1.0, ["promoter:HNF4A"])
    assert after["Liver"] == pytest.approx(frame.loc["Liver", "after"])
    assert before["Liver"] == pytest.approx(svc.load_fit(model["params"]).predictions.loc[gene, "Liver"], abs=1e-4)
    assert "knocking out promoter:HNF4A" in methods
    bad = disruption.show_edit(model, gene, "none", [15, 24], [0, 3], 1.0, ["NOPE"])[0]
    assert "unknown regulator" in bad.layout.annotations[0].text


def test_coexpression_job_and_effect_plots(model):
    gene, partner = svc.default_gene(), svc.default_partner()
    outcome = svc.coexpression_job(model["params"], gene, partner, 100)
    assert outcome.error is None
    stored = disruption.load_cached_coexpression(model, gene, partner, 100)
    assert stored["cached"]
    regions, _, methods, regulators, _, _, status = disruption.show_coexpression(stored)
    effects = svc.coexpression_result(model["params"], gene, partner, 100)["effects"]
    drawn = dict(zip(regulators.data[0].y, regulators.data[0].x))
    for term, effect in effects[effects["kind"] == "regulator"].set_index("term")["effect"].items():
        if term in drawn:
            assert drawn[term] == pytest.approx(effect)
    assert "Bonferroni" in methods and status.startswith("Loaded")
    error = svc.coexpression_job(model["params"], gene, gene, 100).error
    assert "two different genes" in error


def test_measured_profile_is_shown_before_training():
    gene = svc.default_gene()
    fig, _, methods, blank, _, _ = page.show_gene(None, gene, "Liver")
    measured = dict(zip(fig.data[0].y, fig.data[0].x))
    assert len(fig.data) == 1 and measured["Liver"] == pytest.approx(
        float(svc.dataset("decode").targets.loc[gene, "Liver"]), abs=1e-6)
    assert "Train the model" in blank.layout.annotations[0].text
