"""DKO page callbacks called as plain functions (no browser): job, figures, CSV, download, errors."""

import io

import numpy as np
import pandas as pd
import pytest
import torch

import app  # noqa: F401  (registers pages and callbacks)
from dashboard import services
from dashboard.export import callbacks as exports
from dashboard.pages import dko as page
from dashboard.services import dko as dko_service
from tests.dashboard.helpers import find_component, notice_text

torch.set_num_threads(1)
DEMO = "demo"
STEPS = 150
GENES = ["SIM0033", "SIM0061", "SIM0076", "SIM0001"]


@pytest.fixture(scope="module")
def result():
    outcome = dko_service.sweep.run(steps=STEPS)
    assert outcome.error is None, outcome.error
    return {"steps": STEPS, "seconds": outcome.seconds}


@pytest.fixture(scope="module")
def payload(result):
    return dko_service.sweep.result(steps=STEPS)


def _csv(fig):
    content, filename = exports.build_download(fig.to_plotly_json(), "csv")
    return pd.read_csv(io.StringIO(content), comment="#"), filename


def test_layout_reads_url_parameters():
    layout = page.layout(gene="nonexistent", cell="SIMCELL-0003", k="7", steps="abc", set="SIM0033,NOPE")
    chosen = {i: find_component(layout, i).value for i in ("dko-gene", "q-cell", "q-k", "q-steps", "q-set")}
    default = chosen.pop("dko-gene")
    assert chosen == {"q-cell": "SIMCELL-0003", "q-k": 7, "q-steps": dko_service.DEFAULT_STEPS, "q-set": ["SIM0033"]}
    assert notice_text(layout) == f"nonexistent is not in the DKO demo dataset; showing {default}."
    assert find_component(page.layout(k="1000", steps="10"), "q-k").value == 60
    assert page._gene_set("SIM0033,NOPE,SIM0061") == ["SIM0033", "SIM0061"]
    assert dko_service.steps_value("99999") == 20000 and dko_service.steps_value(None) == dko_service.DEFAULT_STEPS


def test_cached_sweep_is_found_and_missing_one_is_not(result):
    assert page.load_cached_sweep(STEPS, DEMO) == {"steps": STEPS, "source": DEMO, "cached": True}
    assert page.load_cached_sweep(STEPS + 50, DEMO) is None
    summary, status, fig, _config, methods = page.show_training({"steps": STEPS, "cached": True})
    n_present = int((services.dataset("dko").expression > 0).to_numpy().sum())  # every present gene in every cell
    assert status == "Loaded the stored result." and f"{n_present:,} single knockouts" in summary
    assert "held-out cells" in methods


def test_heldout_histogram_draws_the_per_cell_errors(result, payload):
    _summary, _status, fig, _config, _methods = page.show_training(result)
    np.testing.assert_allclose(np.sort(fig.data[0].x), np.sort(payload["per_cell"]["bray_curtis"]))
    frame, name = _csv(fig)
    assert len(frame) == len(payload["per_cell"]) == 160 and name.endswith(".csv")


def test_cell_fit_uses_the_heldout_prediction(result, payload):
    cell = payload["heldout_cells"][0]
    fig, _config, methods = page.show_cell_fit(result, cell)
    expr = services.dataset("dko").expression
    present = expr[cell] > 0
    np.testing.assert_allclose(fig.data[1].x, (expr[cell] / expr[cell].sum())[present])
    np.testing.assert_allclose(fig.data[1].y, payload["heldout_predicted"][:, 0][present.to_numpy()])
    assert "held out from" in methods


def test_heatmap_cluster_means_and_drill_down(result, payload):
    fig, _config, _methods = page.show_heatmap(result, "all")
    z = np.asarray(fig.data[0].z, dtype=float)
    table = payload["table"]
    clusters = payload["cell_cluster"].set_index("cell")["cluster"]
    gene = fig.data[0].y[0]
    members = clusters[clusters == "C1"].index
    expected = table[(table["gene"] == gene) & table["cell"].isin(members)]["impact"].sum() / len(members)
    assert z[0, 0] == pytest.approx(expected)
    frame, _ = _csv(fig)
    assert len(frame) == z.size
    drill, _c, _m = page.show_heatmap(result, "C2")
    assert set(drill.data[0].x) <= set(clusters[clusters == "C2"].index)
    assert page.show_heatmap(result, "C99")[0].layout.annotations  # an explained blank, not a crash


def test_gene_views_draw_its_impacts(result, payload):
    violin, _c, _m, emb, _c2, _m2 = page.show_gene(result, "SIM0033")
    part = payload["table"][payload["table"]["gene"] == "SIM0033"]
    assert sum(len(t.y) for t in violin.data) == len(part)
    colours = pd.Series(emb.data[1].marker.color, index=emb.data[1].text)
    np.testing.assert_allclose(colours.loc[part["cell"]].to_numpy(), part["impact"].to_numpy())
    assert len(emb.data[0].x) + len(emb.data[1].x) == 800


def test_top_genes_are_the_largest_impacts(result, payload):
    fig, _c, _m = page.show_top_genes(result, "SIMCELL-0005", 7)
    part = payload["table"][payload["table"]["cell"] == "SIMCELL-0005"].nlargest(7, "impact")
    assert list(fig.data[0].y[::-1]) == list(part["gene"])
    frame, _ = _csv(fig)
    np.testing.assert_allclose(np.sort(frame["knockout_impact_bray_curtis"]), np.sort(part["impact"]))


def test_double_knockout_job_and_matrix(result):
    outcome = dko_service.double.run(steps=STEPS, genes=GENES)
    assert outcome.error is None
    assert page.load_cached_double(STEPS, GENES, DEMO)["cached"] is True
    fig, _c, methods, status = page.show_double({"steps": STEPS, "genes": GENES})
    z = np.asarray(fig.data[0].z, dtype=float)
    np.testing.assert_allclose(z, z.T)
    table = dko_service.double.result(steps=STEPS, genes=GENES)
    genes = list(fig.data[0].x)
    pair = table[(table["gene1"] == genes[0]) & (table["gene2"] == genes[1])]
    assert z[0, 1] == pytest.approx(pair["epistasis"].mean())
    assert fig.data[0].zmid == 0 and "Epistasis" in methods


def test_bad_input_gives_messages_not_crashes(result):
    assert "at least 2 genes" in dko_service.double.run(steps=STEPS, genes=["SIM0033"]).error
    assert "between 50 and 20,000" in dko_service.double.run(steps=10, genes=GENES).error
    assert "train the model first" in dko_service.double.run(steps=STEPS + 50, genes=GENES).error.lower()
    _data, message = page.download_table(1, STEPS + 50)
    assert "Train and knock out first" in message


def test_full_impact_table_download(result):
    data, message = page.download_table(1, STEPS)
    assert message == "" and data["filename"] == f"dko_impacts_steps{STEPS}.csv"
    frame = pd.read_csv(io.StringIO(data["content"]))
    assert len(frame) == int((services.dataset("dko").expression > 0).to_numpy().sum())
    assert list(frame.columns[:3]) == ["gene_id", "cell_id", "k_pred"]
    assert frame["gene_id"].min() == 1 and frame["cell_id"].min() == 1


# --- a registered dataset (no planted truth, no cell types, 30 genes x 120 cells) ----------------


def test_n_clusters_fits_small_and_degenerate_datasets():
    same = pd.DataFrame(np.ones((3, 25)))
    assert dko_service.n_clusters(same) == 1  # identical impact profiles: one cluster, not 8 empty ones
    distinct = pd.DataFrame(np.random.default_rng(0).random((3, 35)))
    assert dko_service.n_clusters(distinct) == 3  # 35 cells: about 10 cells a cluster
    assert dko_service.max_clusters(800) == dko_service.N_CLUSTERS


def test_registered_dataset_before_a_sweep(registered):
    source = registered["dko"]
    data = services.dataset("dko", source)
    view = page.layout(data=source, gene="SIM0033", set="NOPE")
    assert "simulated-banner" not in str(view)
    assert find_component(view, "q-dko--data").value == source and find_component(view, "dko-source").data == source
    present = (data.expression > 0).sum(axis=1)
    default = dko_service.default_gene_set(None, source=source)
    assert len(default) == 6 and present[default].min() >= present.drop(default).max()
    assert find_component(view, "q-set").value == default
    assert find_component(view, "q-cell").value in data.expression.columns
    fig, _config, methods = page.show_presence(None, source)
    assert len(fig.data) == 1 and len(fig.data[0].x) == data.expression.shape[1]  # one group, not ""
    assert "by cell type" not in methods and "My dko data" in methods
    fallback = str(page.layout(data="0123456789abcdef"))
    assert "showing the demo data" in fallback and "simulated-banner" in fallback


def test_registered_dataset_sweep_and_double_knockouts(registered, result):
    source = registered["dko"]
    expr = services.dataset("dko", source).expression
    outcome = dko_service.sweep.run(steps=STEPS, source=source)
    assert outcome.error is None, outcome.error
    assert outcome.key != dko_service.sweep.run(steps=STEPS).key  # the demo's stored sweep, not this one
    payload = dko_service.sweep.result(steps=STEPS, source=source)
    assert len(payload["table"]) == int((expr > 0).to_numpy().sum())
    assert len(payload["cell_cluster"]) == expr.shape[1] and set(payload["table"]["gene"]) <= set(expr.index)
    mine = {"steps": STEPS, "source": source, "cached": True}
    assert page.load_cached_sweep(STEPS, source) == mine
    clusters = [o["value"] for o in page.show_cluster_choices(mine, source)]
    assert clusters[0] == "all" and 1 <= len(clusters) - 1 <= dko_service.max_clusters(expr.shape[1])
    heat, _c, methods = page.show_heatmap(mine, "all", source)
    assert len(heat.data[0].x) == len(clusters) - 1 and "My dko data" in methods
    drill, _c, _m = page.show_heatmap(mine, clusters[1], source)
    assert set(drill.data[0].x) <= set(expr.columns)
    cell = payload["heldout_cells"][0]
    assert len(page.show_cell_fit(mine, cell, source)[0].data[1].x) == int((expr[cell] > 0).sum())
    gene = dko_service.default_gene_set(payload, 1, source)[0]
    violin, *_rest = page.show_gene(mine, gene, source)
    assert sum(len(t.y) for t in violin.data) == int((expr.loc[gene] > 0).sum())
    data, message = page.download_table(1, STEPS, source)
    assert message == "" and len(pd.read_csv(io.StringIO(data["content"]))) == len(payload["table"])

    genes = dko_service.default_gene_set(payload, 3, source)
    assert dko_service.double.run(steps=STEPS, genes=genes, source=source).error is None
    assert dko_service.double.result(steps=STEPS, genes=genes) is None  # not the demo's
    fig, _c, methods, status = page.show_double({"steps": STEPS, "genes": genes}, source)
    assert sorted(fig.data[0].x) == sorted(genes) and "My dko data" in methods
