"""Perturbation page callbacks and services called directly (no browser): a tiny training job end to end."""

import io

import numpy as np
import pandas as pd
import pytest
import torch

import app  # noqa: F401  (registers pages and callbacks)
from dashboard.export import callbacks as exports
from dashboard.pages import perturbation as page
from dashboard.services import dataset
from dashboard.services import perturbation as tnet
from tests.dashboard.helpers import find_component, notice_text

torch.set_num_threads(1)
EPOCHS, WIDTH = 2, 128


@pytest.fixture(scope="module")
def trained():
    outcome = tnet.training.run(epochs=EPOCHS, width=WIDTH)
    assert outcome.error is None, outcome.error
    return tnet.training.result(epochs=EPOCHS, width=WIDTH)


def test_training_job_is_cached_and_covers_every_gene(trained):
    data = dataset("perturbation")
    for kind in tnet.TYPES:
        assert trained[f"predicted_{kind}"].shape == (len(data.genes), len(data.landmarks))
        counts = trained["status"][kind].value_counts()
        assert counts["measured"] + counts["held-out"] == len(data.signatures[kind])
    assert set(trained["summary"]["model"]) == {"fundnn", "refined", "mean", "ridge", "knn"}
    again = tnet.training.run(epochs=EPOCHS, width=WIDTH)  # served from the artifact store
    assert again.key is not None and again.seconds < 5


def test_bad_parameters_give_a_message_not_a_crash():
    assert "epochs" in tnet.training.run(epochs=0, width=WIDTH).error
    assert "width" in tnet.training.run(epochs=3, width=100).error
    assert tnet.training.result(epochs="x", width=WIDTH) is None


def test_results_callback_draws_the_stored_models(trained):
    gene = tnet.default_gene()
    out = page.show_results({"epochs": EPOCHS, "width": WIDTH, "seconds": 1.0}, gene, "RNAi")
    sig_fig, _, sig_methods, scatter_fig, _, _, models_fig, _, _, rows, similar, verdict, intervals, status = out
    assert {t.name for t in sig_fig.data} == {"predicted", "measured"}
    assert sig_fig.layout.meta["provenance"]["gene"] == gene
    assert len(scatter_fig.data[0].x) == len(dataset("perturbation").landmarks)
    assert len(rows) == 15 and len(similar) == 15 and gene not in {r["gene"] for r in similar}
    assert "Pearson delta" in verdict and "95% CI" in verdict and status.startswith("Finished")
    # one interval per type, model (refined, fundnn), baseline and reported metric, and the sentence follows them
    assert len(intervals) == 3 * 2 * 3 * 4
    for row in intervals:
        side = "beats" if row["low"] > 0 else "worse" if row["high"] < 0 else "no detectable difference"
        assert row["verdict"] == side and row["low"] <= row["difference"] <= row["high"]
    for row in (r for r in intervals if r["model"] == "refined" and r["metric"] == "pearson_delta"):
        word = {"beats": "beats the", "worse": "is worse than the",
                "no detectable difference": "no detectable difference from the"}[row["verdict"]]
        assert f"{word} {tnet_labels()[row['baseline']]}" in verdict
    # the bar CSV holds exactly the drawn numbers
    content, filename = exports.build_download(sig_fig.to_plotly_json(), "csv")
    frame = pd.read_csv(io.StringIO(content), comment="#")
    drawn = np.concatenate([np.asarray(t.x, float) for t in sig_fig.data])
    assert np.allclose(frame["signature_z_score"].to_numpy(), drawn)
    predicted = trained["predicted_RNAi"].loc[gene]
    assert np.allclose(np.asarray(sig_fig.data[0].x, float), predicted.reindex(sig_fig.data[0].y).to_numpy(),
                       atol=1e-6)


def tnet_labels():
    from core.transcriptionnet.pipeline import MODEL_LABELS

    return MODEL_LABELS


def test_verdict_says_beats_only_when_the_interval_excludes_zero():
    table = pd.DataFrame([
        ("RNAi", "refined", "mean", "pearson_delta", 60, 0.12, 0.05, 0.19, "beats"),
        ("RNAi", "refined", "knn", "pearson_delta", 60, 0.002, -0.03, 0.04, "no detectable difference"),
        ("RNAi", "refined", "ridge", "pearson_delta", 60, -0.1, -0.2, -0.01, "worse"),
        ("RNAi", "refined", "knn", "pearson", 60, 0.2, 0.1, 0.3, "beats"),
    ], columns=tnet.INTERVAL_TABLE_COLUMNS)
    text = tnet.verdict(table)
    assert "beats the training mean (+0.120, 95% CI +0.050 to +0.190)" in text
    assert "no detectable difference from the k nearest network neighbours (+0.002, 95% CI \u22120.030 to +0.040)" in text
    assert "is worse than the ridge on embedding" in text and "60 held-out genes" in text
    assert "beats the k nearest" not in text  # the raw-Pearson row is not the sentence's metric
    assert tnet.verdict(table.iloc[:0]) == "" and tnet.intervals(None).empty


def test_similar_genes_are_ranked_by_cosine(trained):
    gene = tnet.default_gene()
    table = tnet.similar_genes(trained, gene, "OE", n=5)
    values = trained["predicted_OE"] - trained["predicted_OE"].mean()
    target = values.loc[gene].to_numpy(float)
    ref = {g: float(values.loc[g].to_numpy(float) @ target / np.linalg.norm(values.loc[g]) / np.linalg.norm(target))
           for g in values.index if g != gene}
    best = sorted(ref, key=ref.get, reverse=True)[:5]
    assert list(table["gene"]) == best


def test_page_without_training_and_network_view():
    layout = page.layout(gene="nonexistent", type="OE", epochs="x", width="7")
    chosen = {i: find_component(layout, i).value for i in ("pert-gene", "q-type", "q-epochs", "q-width")}
    assert chosen == {"pert-gene": tnet.default_gene(), "q-type": "OE", "q-epochs": tnet.DEFAULT_EPOCHS,
                      "q-width": tnet.DEFAULT_WIDTH}
    assert "nonexistent is in none of the network layers" in notice_text(layout)
    assert find_component(page.layout(epochs="9999", width="256"), "q-epochs").value == tnet.MAX_EPOCHS
    out = page.show_results(None, "SIM0001", "CRISPR")
    assert out[-1] == "Idle." and out[-5] == [] and out[-2] == []
    fig, config, methods = page.show_network(tnet.default_gene())
    layers = {t.name.split(" (")[0] for t in fig.data if t.mode == "lines"}
    assert layers <= set(dataset("perturbation").layers) and layers
    assert "neighbours" in methods
    assert tnet.pick_gene("sim0002") == ("SIM0002", None)
    assert tnet.pick_gene("nope")[1] is not None


# --- a registered dataset (RNAi and OE only, 50 landmarks, layers named after their files) -------


def test_registered_dataset_trains_on_its_own_types_and_genes(registered, trained):
    source = registered["perturbation"]
    data = dataset("perturbation", source)
    assert tnet.types_of(source) == ("RNAi", "OE")
    view = page.layout(data=source, type="CRISPR", gene="nope")
    assert "simulated-banner" not in str(view) and find_component(view, "q-pert--data").value == source
    kinds = find_component(view, "q-type")
    assert kinds.options == ["RNAi", "OE"] and kinds.value == "RNAi"  # CRISPR is not in this dataset
    assert "nope is in none" in str(view) and "showing the demo data" not in str(view)
    assert "simulated-banner" in str(page.layout())
    gene = tnet.default_gene(source)
    fig, _config, methods = page.show_network(gene, source)
    layers = {t.name.split(" (")[0] for t in fig.data if t.mode == "lines"}
    assert layers and layers <= set(data.layers) and "My perturbation data" in methods

    outcome = tnet.training.run(epochs=EPOCHS, width=WIDTH, source=source)
    assert outcome.error is None, outcome.error
    demo = tnet.training.run(epochs=EPOCHS, width=WIDTH)
    assert outcome.key != demo.key  # the demo's stored models are another entry
    payload = tnet.training.result(epochs=EPOCHS, width=WIDTH, source=source)
    assert "predicted_CRISPR" not in payload
    assert payload["predicted_OE"].shape[1] == len(data.landmarks) == 50
    assert set(payload["predicted_OE"].index) <= set(data.genes.index)
    assert page.load_cached_training(EPOCHS, WIDTH, source)["cached"] is True
    out = page.show_results({"epochs": EPOCHS, "width": WIDTH, "cached": True}, gene, "CRISPR", source)
    sig_fig, _, sig_methods, scatter_fig, _, _, _models, _, _, rows, similar, verdict, intervals, status = out
    assert sig_fig.layout.meta["provenance"]["params"]["type"] == "RNAi"
    assert len(scatter_fig.data[0].x) == 50 and "simulated" not in sig_methods
    assert {r["type"] for r in rows} == {"RNAi", "OE"} and len(similar) == 15
    assert "CRISPR" not in verdict and status == "Loaded the stored models."
    assert {r["type"] for r in intervals} == {"RNAi", "OE"}
