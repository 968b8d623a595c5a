"""DEcode pages: services and callbacks called as plain functions (a quick 3-epoch model on the demo,
a 2-epoch one on a registered dataset)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

import plotly  # noqa: E402

import app  # noqa: E402,F401  (registers pages and callbacks)
from dashboard.export import callbacks as exports  # noqa: E402
from dashboard.pages import decode as page  # noqa: E402
from dashboard.pages import decode_disruption as disruption  # noqa: E402
from dashboard.services import decode as svc  # noqa: E402
from tests.dashboard.helpers import find_component, notice_text

RESTARTS, EPOCHS = 1, 3
DEMO = "demo"


@pytest.fixture(scope="module")
def model():
    params = svc.training_params(RESTARTS, EPOCHS)
    progress = []
    outcome = svc.training.run(progress.append, params=params)
    assert outcome.error is None, outcome.error
    assert progress and progress[-1][0] == 100
    return {"params": params}


def test_training_params_clip_and_default():
    assert svc.training_params(None, None) == {**svc.DEFAULT_TRAINING, "test_chromosome": "chr1"}
    assert svc.training_params(None, None, "chr19")["test_chromosome"] == "chr19"
    assert svc.training_params(None, None, "chrNowhere")["test_chromosome"] == "chr1"
    assert svc.training_params("99", "-5")["n_restarts"] == 10
    assert svc.training_params("2", "abc")["max_epochs"] == svc.DEFAULT_TRAINING["max_epochs"]


def test_layouts_accept_url_parameters():
    layout = page.layout(**{"gene": "SIM0001", "dec-restarts": "2", "dec-epochs": "5", "dec-testchr": "chr2",
                            "dec-tissue": "Liver", "dec-topk": "10"})
    chosen = {i: find_component(layout, i).value for i in ("dec-gene", "q-dec-restarts", "q-dec-epochs",
                                                           "q-dec-testchr", "q-dec-tissue", "q-dec-topk")}
    assert chosen == {"dec-gene": "SIM0001", "q-dec-restarts": 2, "q-dec-epochs": 5, "q-dec-testchr": "chr2",
                      "q-dec-tissue": "Liver", "q-dec-topk": 10}
    assert notice_text(layout) == ""
    fallback = page.layout(**{"gene": "nonexistent", "dec-tissue": "nowhere", "dec-topk": "x"})
    default = svc.default_gene()
    assert find_component(fallback, "dec-gene").value == default
    assert notice_text(fallback) == f"nonexistent is not in the DEcode demo dataset; showing {default}."
    assert find_component(fallback, "q-dec-tissue").value == "Liver"  # the default tissue
    assert find_component(fallback, "q-dec-topk").value == page.DEFAULT_TOPK
    edits = disruption.layout(**{"gene": "SIM0002", "dec-partner": "SIM0003", "dec-n": "500"})
    assert find_component(edits, "dis-gene").value == "SIM0002"
    assert find_component(edits, "q-dec-partner").value == "SIM0003" and find_component(edits, "q-dec-n").value == 500
    same = disruption.layout(**{"gene": default, "dec-partner": default, "dec-n": "many"})
    assert find_component(same, "q-dec-partner").value == svc.default_partner() != default  # never the gene
    assert find_component(same, "q-dec-n").value == svc.DEFAULT_DISRUPTIONS


def test_disruption_edit_is_read_from_the_url():
    bound = svc.bound_regulators("SIM0002")
    view = disruption.layout(**{"gene": "SIM0002", "region": "mrna", "fraction": "0.43", "promoter": "-720,310",
                                "mrna": "200,99999", "knockout": f"{bound[1]},NOPE,{bound[0]}"})
    value = {key: find_component(view, f"q-dis--{key}").value
             for key in ("region", "fraction", "promoter", "mrna", "knockout")}
    length = svc.binding("SIM0002").length
    assert value == {"region": "mrna", "fraction": 0.45, "promoter": [-700, 300], "mrna": [200, 100 * length],
                     "knockout": [bound[1], bound[0]]}
    junk = disruption.layout(**{"gene": "SIM0002", "region": "lung", "fraction": "x", "promoter": "5,5",
                                "mrna": "a,b", "knockout": ""})
    assert find_component(junk, "q-dis--region").value == "promoter"
    assert find_component(junk, "q-dis--fraction").value == 1.0
    assert find_component(junk, "q-dis--promoter").value == [-500, 500]
    assert find_component(junk, "q-dis--knockout").value == []


def test_edit_ranges_in_bp_and_nt_map_to_bins():
    assert disruption._bins([-500, 500], "promoter") == (15, 24)
    assert disruption._bins([-2000, 1000], "promoter") == (0, 29)
    assert disruption._bins([200, 500], "mrna") == (2, 4)


def test_pages_before_training_explain_what_to_do():
    params = svc.training_params(7, 77)
    assert page.load_cached_model(7, 77, None, DEMO) is None and svc.training.result(params=params) is None
    fig, _, _, fig2, _, _, status = page.show_performance(None, DEMO)
    assert "Train the model" in fig.layout.annotations[0].text and status.startswith("Idle")
    assert "Train the model" in disruption.show_edit(None, "SIM0001", "promoter", 1.0, [-500, 500], [0, 400], [], DEMO)[0] \
        .layout.annotations[0].text


def test_performance_cards_after_training(model):
    assert svc.training.result(params=model["params"]) is not None
    assert page.load_cached_model(RESTARTS, EPOCHS, "chr1", DEMO) == {"params": model["params"], "source": DEMO,
                                                                    "cached": True}
    fig, config, methods, corr, _, corr_methods, status = page.show_performance({**model, "cached": True}, DEMO)
    fit = svc.load_fit(model["params"])
    assert [t.name for t in fig.data] == ["ridge baseline (binding totals)", "DEcode CNN"]
    cnn = dict(zip(fig.data[1].y, fig.data[1].x))
    assert cnn["Liver"] == pytest.approx(fit.performance.loc["Liver", "cnn"])
    assert "Spearman" in methods and "ridge" in methods and status == "Loaded the stored model."
    assert config["toImageButtonOptions"]["filename"].startswith("decode-tissue-performance")
    assert corr.data[0].zmid == 0 and np.asarray(corr.data[0].z).shape == fit.profile_corr.shape
    content, filename = exports.build_download(fig.to_plotly_json(), "csv")
    frame = pd.read_csv(io.StringIO(content), comment="#")
    assert len(frame) == 2 * len(fit.tasks) and filename.endswith(".csv")


def test_gene_profile_and_attribution_map(model):
    gene = svc.default_gene()
    profile, _, methods, genemap, _, map_methods = page.show_gene(model, gene, "Liver", DEMO)
    actual = dict(zip(profile.data[0].y, profile.data[0].x))
    assert actual["Liver"] == pytest.approx(float(svc.dataset("decode").targets.loc[gene, "Liver"]), abs=1e-5)
    assert gene in methods and "DeepLIFT" in map_methods
    assert all(t.zmid == 0 for t in genemap.data) and len(genemap.data) >= 1
    blank = page.show_gene(model, gene, "Atlantis", DEMO)[0]
    assert "not a tissue" in blank.layout.annotations[0].text


def test_attribution_job_and_heatmap(model):
    assert page.load_cached_attribution(model, DEMO) is None
    outcome = svc.attribution.run(params=model["params"])
    assert outcome.error is None
    assert page.load_cached_attribution(model, DEMO) == {"params": model["params"], "source": DEMO, "cached": True}
    fig, _, methods, status = page.show_regulators({"params": model["params"], "cached": True}, 8, DEMO)
    scores = svc.attribution.result(params=model["params"])
    assert np.asarray(fig.data[0].z).shape == (8, scores.shape[1]) and fig.data[0].zmid == 0
    top = scores.abs().max(axis=1).sort_values(ascending=False).index[:8]
    assert list(fig.data[0].y) == list(top)
    assert "Fig. 3d" in methods and status.startswith("Loaded")


def test_disruption_edit_and_binding_maps(model):
    gene = svc.default_gene()
    promoter, _, _, mrna, _, _ = disruption.show_binding(gene, "promoter", [-500, 500], [0, 400], DEMO)
    assert "HNF4A" in list(promoter.data[0].y)
    assert promoter.layout.shapes and not mrna.layout.shapes
    fig, _, methods = disruption.show_edit(model, gene, "none", 1.0, [-500, 500], [0, 400], ["promoter:HNF4A"], DEMO)
    before = dict(zip(fig.data[0].y, fig.data[0].x))
    after = dict(zip(fig.data[1].y, fig.data[1].x))
    frame = svc.edit_profile(model["params"], gene, "none", None, None, 1.0, ["promoter:HNF4A"])
    assert after["Liver"] == pytest.approx(frame.loc["Liver", "after"])
    assert before["Liver"] == pytest.approx(svc.load_fit(model["params"]).predictions.loc[gene, "Liver"], abs=1e-4)
    assert "knocking out promoter:HNF4A" in methods
    bad = disruption.show_edit(model, gene, "none", 1.0, [-500, 500], [0, 400], ["NOPE"], DEMO)[0]
    assert "unknown regulator" in bad.layout.annotations[0].text


def test_coexpression_job_and_effect_plots(model):
    gene, partner = svc.default_gene(), svc.default_partner()
    outcome = svc.coexpression.run(params=model["params"], gene=gene, partner=partner, n=100)
    assert outcome.error is None
    stored = disruption.load_cached_coexpression(model, gene, partner, 100, DEMO)
    assert stored["cached"]
    regions, _, methods, regulators, _, _, status = disruption.show_coexpression(stored, DEMO)
    effects = svc.coexpression.result(params=model["params"], gene=gene, partner=partner, n=100)["effects"]
    drawn = dict(zip(regulators.data[0].y, regulators.data[0].x))
    for term, effect in effects[effects["kind"] == "regulator"].set_index("term")["effect"].items():
        if term in drawn:
            assert drawn[term] == pytest.approx(effect)
    assert "Bonferroni" in methods and status.startswith("Loaded")
    error = svc.coexpression.run(params=model["params"], gene=gene, partner=gene, n=100).error
    assert "two different genes" in error


def test_measured_profile_is_shown_before_training():
    gene = svc.default_gene()
    fig, _, methods, blank, _, _ = page.show_gene(None, gene, "Liver", DEMO)
    measured = dict(zip(fig.data[0].y, fig.data[0].x))
    assert len(fig.data) == 1 and measured["Liver"] == pytest.approx(
        float(svc.dataset("decode").targets.loc[gene, "Liver"]), abs=1e-6)
    assert "Train the model" in blank.layout.annotations[0].text


# --- a registered dataset (300 genes, 6 tissues + median, no planted truth) --------------------------

REG_EPOCHS = 2


def _text(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


@pytest.fixture
def registered_model(registered):
    source = registered["decode"]
    params = svc.training_params(1, REG_EPOCHS, source=source)
    outcome = svc.training.run(params=params, source=source)  # a cache hit after the first test
    assert outcome.error is None, outcome.error
    return source, {"params": params}


def test_layouts_on_registered_data_use_its_genes_and_hide_demo_notes(registered):
    source = registered["decode"]
    data = svc.dataset("decode", source)
    tissues = page.layout(data=source)
    edits = disruption.layout(data=source, **{"dec-partner": "nonexistent"})
    for layout in (tissues, edits):
        text = _text(layout)
        assert "Simulated" not in text and "planted" not in text
        assert f"data={source}" in text  # the tabs carry the dataset
    assert find_component(tissues, "decode-source").data == source and find_component(edits, "decode-dis-source").data == source
    assert find_component(tissues, "q-decode--data").value == source
    assert len(find_component(tissues, "dec-gene").options) == len(data.genes) == 300
    gene = find_component(tissues, "dec-gene").value
    assert gene == svc.default_gene(source) and data.chromosome[gene] == "chr1"
    spread = data.targets.loc[data.chromosome == "chr1", svc.tissues(source, with_median=False)].std(axis=1)
    assert gene == spread.idxmax()  # no planted regulator: the most tissue-specific test gene
    assert svc.planted_regulators(source) == [] and svc.planted_regulators(DEMO)
    partner = find_component(edits, "q-dec-partner").value
    assert partner == svc.default_partner(source) != gene
    assert find_component(tissues, "q-dec-tissue").options == svc.tissues(source) and len(svc.tissues(source)) == 7
    assert "6 tissues" in find_component(edits, "dis-few-tissues").children
    assert find_component(disruption.layout(), "dis-few-tissues") is None  # the demo has 24 tissues


def test_unknown_dataset_id_falls_back_to_the_demo_with_a_notice(registered):
    layout = page.layout(data="0123456789abcdef")
    assert find_component(layout, "decode-source").data == DEMO
    assert "showing the demo data" in _text(layout) and "Simulated demo data" in _text(layout)


def test_training_on_registered_data_is_its_own_model(registered_model):
    source, model = registered_model
    params = model["params"]
    data = svc.dataset("decode", source)
    assert svc.training.key(params=params, source=source) != svc.training.key(params=params, source=DEMO)
    assert svc.training.result(params=params, source=source) is not None
    assert svc.training.result(params=params, source=DEMO) is None
    fit = svc.load_fit(params, source)
    assert list(fit.predictions.index) == list(map(str, data.genes)) and fit.tasks == svc.tissues(source)
    assert set(fit.split.test) == set(data.chromosome.index[data.chromosome == "chr1"])
    assert svc.load_fit(params, DEMO) is None  # the in-memory model is not shared across datasets
    assert page.load_cached_model(1, REG_EPOCHS, None, source) == {"params": params, "source": source, "cached": True}
    fig, _, methods, corr, _, _, status = page.show_performance({**model, "cached": True}, source)
    assert set(fig.data[1].y) == set(svc.tissues(source)) and np.asarray(corr.data[0].z).shape == (6, 6)
    assert "registered:decode" in methods and "simulated" not in methods and status.startswith("Loaded")
    gene = svc.default_gene(source)
    profile, _, profile_methods, genemap, _, _ = page.show_gene(model, gene, "Liver", source)
    actual = dict(zip(profile.data[0].y, profile.data[0].x))
    assert actual["Liver"] == pytest.approx(float(data.targets.loc[gene, "Liver"]), abs=1e-5)
    assert "test gene" in profile_methods and len(genemap.data) >= 1


def test_edits_and_coexpression_on_registered_data(registered_model):
    source, model = registered_model
    gene, partner = svc.default_gene(source), svc.default_partner(source)
    promoter, _, methods, _, _, _ = disruption.show_binding(gene, "promoter", [-500, 500], [0, 400], source)
    assert "registered:decode" in methods
    regulator = svc.bound_regulators(gene, source)[0]
    fig, _, edit_methods = disruption.show_edit(model, gene, "none", 1.0, [-500, 500], [0, 400], [regulator], source)
    frame = svc.edit_profile(model["params"], gene, "none", None, None, 1.0, [regulator], source)
    assert list(frame.index) == svc.tissues(source) and f"knocking out {regulator}" in edit_methods
    outcome = svc.coexpression.run(params=model["params"], gene=gene, partner=partner, n=60, source=source)
    assert outcome.error is None, outcome.error
    assert svc.coexpression.result(params=model["params"], gene=gene, partner=partner, n=60, source=DEMO) is None
    stored = disruption.load_cached_coexpression(model, gene, partner, 60, source)
    regions, _, coexp_methods, _, _, _, status = disruption.show_coexpression(stored, source)
    assert "registered:decode" in coexp_methods and status.startswith("Loaded")


def test_dataset_without_chr1_tests_on_its_largest_chromosome(registered, tmp_path):
    from core.datasets import make_decode_demo, write_decode
    from dashboard import services

    data = make_decode_demo(seed=1, n_genes=150, n_tissues=4)
    data.chromosome = data.chromosome.replace("chr1", "chr2")
    bundle = write_decode(data, tmp_path / "b.npz")
    entry, report, _ = services.registry().register("decode", "No chr1", {"bundle": [bundle]})
    assert entry is not None, report.checks
    source = entry.ident
    params = svc.training_params(1, REG_EPOCHS, source=source)
    largest = data.chromosome.value_counts().index[0]
    assert params["test_chromosome"] == largest and "chr1" not in svc.chromosome_counts(source)
    assert set(svc.make_gene_split(params, source).test) == set(data.chromosome.index[data.chromosome == largest])
    layout = page.layout(data=source)
    assert find_component(layout, "q-dec-testchr").value == largest
    assert "no gene of this dataset is on chr1" in _text(layout)
    assert f"dec-testchr={largest}" in _text(layout)
